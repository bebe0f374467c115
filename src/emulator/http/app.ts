/**
 * The emulator's Express app: request logging, added latency, the versioned and signed-in
 * `/services/data/vXX.X` router, the admin API, and Salesforce-shaped 404s and errors.
 */
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmulatorState } from '../state.js';
import { ApiError, notFound, sendApiError } from './errors.js';
import type { RouteContext, RouteModule } from './context.js';
import { PERMISSION_REFUSALS } from './permissions.js';

/** Oldest version served; Salesforce retired 21.0–30.0 in 2025. */
export const MIN_API_VERSION = 31;

function bearerToken(header: string | undefined): string | undefined {
  // Salesforce accepts both "Bearer <token>" and the older "OAuth <token>".
  const m = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

export function createApp(state: EmulatorState, modules: readonly RouteModule[]): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const log = state.logger;
  const latest = Number(state.options.latestApiVersion);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // Path only: the query string may carry SOQL but never a token; headers are not logged.
      log?.info({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
    });
    next();
  });

  const latency: RequestHandler = async (_req, _res, next) => {
    if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
    next();
  };
  app.use('/services', latency);

  const root = express.Router();
  const admin = express.Router();
  const api = express.Router({ mergeParams: true });

  const versioned: RequestHandler = (req, res, next) => {
    const m = /^v(\d{2,3})\.0$/.exec(String(req.params.version));
    const version = m ? Number(m[1]) : 0;
    if (version < MIN_API_VERSION || version > latest) return notFound(res);
    res.locals.apiVersion = `${version}.0`;
    next();
  };

  const signedIn: RequestHandler = (req, res, next) => {
    const session = state.tokens.resolve(bearerToken(req.get('authorization')));
    if (!session) {
      state.counters.count('unauthorized', false);
      res.set('WWW-Authenticate', 'Token');
      return sendApiError(res, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    }
    res.locals.session = session;
    if (!session.user.permissions.ApiEnabled) {
      const refusal = PERMISSION_REFUSALS.ApiEnabled;
      return sendApiError(res, refusal.status, refusal.errorCode, refusal.message);
    }
    next();
  };

  const metered = (kind: string): RequestHandler => (_req, res, next) => {
    const { limits } = state;
    if (limits.apiUsed >= limits.apiMax) {
      state.counters.count(kind, false);
      res.set('Sforce-Limit-Info', limits.usageHeader);
      return sendApiError(res, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    }
    limits.apiUsed += 1;
    state.counters.count(kind, true);
    res.set('Sforce-Limit-Info', limits.usageHeader);
    if (state.faults.failCall()) {
      return sendApiError(res, 503, 'SERVER_UNAVAILABLE', 'The server is temporarily unable to handle the request. Try again later.');
    }
    next();
  };

  const ctx: RouteContext = { state, root, api, admin, metered };
  for (const register of modules) register(ctx);

  app.use(root);
  app.use('/services/data/:version', versioned, signedIn, express.json({ limit: '50mb' }), api, metered('other'), (_req, res) => notFound(res));
  app.use('/__admin', express.json({ limit: '50mb' }), admin, (_req, res) => {
    res.status(404).json({ error: 'no such admin route' });
  });
  app.use((_req, res) => notFound(res));

  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof ApiError) return sendApiError(res, err.status, err.errorCode, err.message);
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') return sendApiError(res, 400, 'JSON_PARSER_ERROR', `Unexpected character: ${e.message ?? 'malformed JSON'}`);
    if (e.type === 'entity.too.large') return sendApiError(res, 413, 'REQUEST_ENTITY_TOO_LARGE', 'Request body too large');
    log?.error({ err, path: req.originalUrl.split('?')[0] }, 'emulator route failed');
    sendApiError(res, 500, 'UNKNOWN_EXCEPTION', 'An unexpected error occurred. Please include this ErrorId if you contact support: emulator');
  };
  app.use(onError);
  return app;
}
