/**
 * The web process's Express app. Routes are thin: validate, enqueue, answer. Later modules mount the
 * outbound-message receiver, the prediction API, metrics and the dashboard here.
 */
import express, { type Express, type Router } from 'express';
import { requestId, type Logger } from '../log/logger.js';
import { registry } from '../observability/metrics.js';

export interface ReadinessCheck {
  name: string;
  /** Throws when not ready; may return a note for the answer (e.g. "not configured: …"). */
  check: () => Promise<void | string>;
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

  // Every request gets an id (Heroku's router sends X-Request-ID; otherwise a new one), echoed in the
  // answer and carried by the logs written for it (see forRequest() in log/logger.ts).
  const access = deps.logger.child({ module: 'http' });
  app.use((req, res, next) => {
    const id = requestId(req.headers['x-request-id']);
    res.locals.requestId = id;
    res.setHeader('x-request-id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { reqId: id, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 };
      if (res.statusCode >= 500) access.warn(line, 'request answered');
      else access.debug(line, 'request answered');
    });
    next();
  });

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
          const note = await check();
          return { name, ok: true, ...(typeof note === 'string' ? { note } : {}) };
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
