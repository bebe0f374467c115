/**
 * Admin endpoints of the web process, behind HTTP basic auth (ADMIN_USER / ADMIN_PASSWORD, failed
 * sign-ins limited per client: dashboard/auth.ts; every route answers 404 while they are unset):
 * - `POST /admin/rescore` JSON `{where?: "<SOQL condition>"}` → 202 `{runId, statusUrl}`: enqueues a run
 *   (JSON only, 415 otherwise, which also keeps cross-site form posts out);
 * - `GET /admin/rescore/:runId` → the run record and its latest events.
 */
import express, { Router } from 'express';
import type { Queue } from 'bullmq';
import { isAppError } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import type { RunStore } from '../../queue/nightly-store.js';
import { enqueueRun } from '../../queue/nightly-jobs.js';
import { requireAdmin, type SignInLimiter } from '../dashboard/auth.js';

export interface AdminRouteOptions {
  auth?: { user: string; password: string };
  // The queue's data type does not matter to the router.
  queue: Queue;
  store: RunStore;
  /** Limits failed sign-ins per client (shared with the dashboard). */
  limiter?: SignInLimiter;
  logger: Logger;
}

export function adminRouter(options: AdminRouteOptions): Router {
  const router = Router();
  const { auth } = options;
  if (!auth) {
    router.use('/admin', (_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Admin endpoints are off: set ADMIN_USER and ADMIN_PASSWORD.' } }));
    return router;
  }
  const basicAuth = requireAdmin(auth, { limiter: options.limiter, respond: 'json' });

  router.post('/admin/rescore', basicAuth, express.json({ limit: '16kb' }), async (req, res) => {
    // A JSON body only: a cross-site form cannot send one without a CORS preflight, so a browser's
    // saved basic-auth credentials cannot be used to start runs from another site.
    if (!req.is('application/json')) {
      res.status(415).json({ error: { code: 'INVALID_REQUEST', message: 'Send a JSON body ({} or {"where": "<SOQL condition>"}) with Content-Type: application/json.' } });
      return;
    }
    const where = (req.body as { where?: unknown } | undefined)?.where;
    if (where !== undefined && typeof where !== 'string') {
      res.status(400).json({ error: { code: 'NIGHTLY_FILTER_INVALID', message: 'where must be a string (one SOQL condition).' } });
      return;
    }
    try {
      const runId = await enqueueRun(options.queue, options.store, { where, trigger: 'admin' });
      options.logger.info({ runId, where }, 're-scoring run enqueued from the admin endpoint');
      res.status(202).json({ runId, statusUrl: `/admin/rescore/${runId}` });
    } catch (error) {
      if (isAppError(error, 'NIGHTLY_FILTER_INVALID')) {
        res.status(400).json({ error: { code: error.code, message: error.message } });
        return;
      }
      throw error;
    }
  });

  router.get('/admin/rescore/:runId', basicAuth, async (req, res) => {
    const run = await options.store.get(String(req.params.runId));
    if (!run) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such run.' } });
      return;
    }
    res.json({ ...run, events: await options.store.events(run.id, 20) });
  });
  return router;
}
