/**
 * The web process's Express app. Routes are thin: validate, enqueue, answer. Later modules mount the
 * outbound-message receiver, the prediction API, metrics and the dashboard here.
 */
import express, { type Express } from 'express';
import type { Logger } from '../log/logger.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface AppDeps {
  logger: Logger;
  readiness: ReadinessCheck[];
  /** True once shutdown has begun: /readyz answers 503 from then on. */
  isShuttingDown: () => boolean;
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

  return app;
}
