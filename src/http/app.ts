/**
 * The web process's Express app. Routes are thin: validate, enqueue, answer. The outbound-message
 * receiver, the prediction API, the admin pages and the dashboard are mounted as routers; this module
 * owns what every answer shares:
 * - security headers (helmet) on every answer; the client address from `trust proxy` (TRUST_PROXY);
 * - `/healthz` (always public, never touches Redis), `/readyz` and `/metrics`, each answered within a
 *   fixed deadline (`probeDeadlineMs`): a stalled Redis gives 503 and the reason, never a hung probe;
 * - probe details (check notes, Redis errors, 170-odd metric series) only with the monitoring token
 *   (`Authorization: Bearer <MONITORING_TOKEN>`), or to anyone outside production when none is set;
 *   the public /readyz answer is the status and the names of failing checks;
 * - a JSON 404 and a JSON error handler last, so no answer is an HTML page or carries a stack trace,
 *   whatever NODE_ENV says (Express's own handler prints the stack outside production).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type Request, type Router } from 'express';
import helmet from 'helmet';
import { requestId, type Logger } from '../log/logger.js';
import { within } from './health.js';
import { scrapeMetrics } from '../observability/metrics.js';

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
  /** Express `trust proxy` (TRUST_PROXY): 1 behind Heroku's router. @defaultValue false */
  trustProxy?: false | number | string;
  /** Bearer token that unlocks /metrics and /readyz's details (MONITORING_TOKEN). */
  monitoringToken?: string;
  /**
   * Whether /metrics and /readyz's details are open to anyone when no token is set: true outside
   * production, false in production (where /metrics then answers 403). @defaultValue true
   */
  publicProbes?: boolean;
  /** Every probe answers within this long. @defaultValue 2000 */
  probeDeadlineMs?: number;
}

/** Paths written to the access log are clipped: the path comes from the client. */
const MAX_LOGGED_PATH = 200;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  const deadlineMs = deps.probeDeadlineMs ?? 2_000;
  const token = deps.monitoringToken === undefined ? undefined : digest(deps.monitoringToken);
  const publicProbes = deps.publicProbes ?? true;

  /** Whether this request may see probe details. */
  const mayInspect = (req: Request): boolean => {
    if (!token) return publicProbes;
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    // Compare digests so neither the length nor the first differing byte shows in the answer time.
    return timingSafeEqual(digest(m?.[1] ?? ''), token) && m !== null;
  };

  // APIs answer JSON and XML only: the strictest content policy; the admin pages set their own.
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'self'"] } },
      crossOriginEmbedderPolicy: false,
      // Not helmet's no-referrer: with it browsers send `Origin: null` on form posts, and the admin
      // retry form's same-origin check (dashboard/auth.ts) would refuse every one.
      referrerPolicy: { policy: 'same-origin' },
    }),
  );

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
      const path = req.path.length > MAX_LOGGED_PATH ? `${req.path.slice(0, MAX_LOGGED_PATH)}…` : req.path;
      const line = { reqId: id, method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 };
      if (res.statusCode >= 500) access.warn(line, 'request answered');
      else access.debug(line, 'request answered');
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (req, res) => {
    res.set('cache-control', 'no-store');
    if (deps.isShuttingDown()) {
      res.status(503).json({ status: 'shutting-down' });
      return;
    }
    const results = await Promise.all(
      deps.readiness.map(async ({ name, check }) => {
        try {
          const note = await within(check(), deadlineMs, name);
          return { name, ok: true, ...(typeof note === 'string' ? { note } : {}) };
        } catch (error) {
          return { name, ok: false, error: (error as Error).message };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    const status = ok ? 'ready' : 'not-ready';
    if (mayInspect(req)) res.status(ok ? 200 : 503).json({ status, checks: results });
    else res.status(ok ? 200 : 503).json({ status, ...(ok ? {} : { failing: results.filter((r) => !r.ok).map((r) => r.name) }) });
  });

  app.get('/metrics', async (req, res) => {
    res.set('cache-control', 'no-store');
    if (!mayInspect(req)) {
      if (token) res.set('www-authenticate', 'Bearer realm="churn-worker metrics"');
      res.status(token ? 401 : 403).type('text/plain').send(token ? 'Send Authorization: Bearer <MONITORING_TOKEN>.\n' : 'Metrics are off in production until MONITORING_TOKEN is set.\n');
      return;
    }
    const scrape = await scrapeMetrics(deadlineMs);
    res.status(scrape.status).type(scrape.contentType).send(scrape.body);
  });

  for (const router of deps.routers ?? []) app.use(router);

  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such route.' } });
  });

  // Last: whatever a route or a body parser throws becomes JSON without internals.
  const onError: ErrorRequestHandler = (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    const e = error as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown; expose?: unknown };
    const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
    if (status >= 400 && status < 500) {
      const message =
        e.type === 'entity.parse.failed' ? 'The request body is not valid JSON.'
        : e.type === 'entity.too.large' ? 'The request body is too large.'
        : e.type === 'charset.unsupported' || e.type === 'encoding.unsupported' ? 'The request body\'s charset or encoding is not supported.'
        : 'The request could not be read.';
      res.status(status).json({ error: { code: status === 413 ? 'TOO_LARGE' : 'INVALID_REQUEST', message } });
      return;
    }
    access.error({ reqId: res.locals.requestId, path: req.path.slice(0, MAX_LOGGED_PATH), err: String(e.message ?? error).slice(0, 500) }, 'request failed');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'The server failed to answer this request; it has been logged.', requestId: res.locals.requestId } });
  };
  app.use(onError);

  return app;
}
