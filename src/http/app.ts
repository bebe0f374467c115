/**
 * The web process's Express app. Routes are thin: validate, enqueue, answer. Later modules mount the
 * outbound-message receiver, the prediction API, metrics and the dashboard here.
 */
import express, { type Express, type Router } from 'express';
import type { Logger } from '../log/logger.js';
import { registry } from '../observability/metrics.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface AppDeps {
  logger: Logger;
  readiness: ReadinessCheck[];
  /** True once shutdown has begun: /readyz answers 503 from then on. */
  isShuttingDown: () => boolean;
  /** Routers of the features this process serves (outbound receiver, prediction API, …). */
  routers?: Router[];
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    if (deps.isShuttingDown()) {
      res.status(503).json({ status: 'shutting-down' });
      return;
    }
    const results = await Promise.all(
      deps.readiness.map(async ({ name, check }) => {
        try {
          await check();
          return { name, ok: true };
        } catch (error) {
          return { name, ok: false, error: (error as Error).message };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not-ready', checks: results });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  for (const router of deps.routers ?? []) app.use(router);

  return app;
}
