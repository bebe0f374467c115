/**
 * The admin dashboard, behind basic auth (ADMIN_USER / ADMIN_PASSWORD; every /admin path answers
 * 404 when they are unset):
 * - `/admin`: the status page (last nightly run, the last 30 runs when PostgreSQL keeps them, risk
 *   bands, API allowance, queues, failures);
 * - `/admin/queues`: Bull Board on the real-time and nightly queues;
 * - `POST /admin/failures/retry`: re-enqueues the chosen failed Accounts as real-time batches
 *   (same-origin check + a form token against cross-site requests).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { Router, type Request, type Response } from 'express';
import { hasKeyPrefix, KEY_PREFIXES, toId18 } from '../../core/record-id.js';
import { forRequest, type Logger } from '../../log/logger.js';
import type { StatusStore } from '../../observability/status-store.js';
import type { FailureLog } from '../../queue/failures.js';
import type { RealtimeJobData } from '../../queue/realtime-jobs.js';
import { csrfToken, isSameOrigin, requireAdmin, sameCsrfToken, type AdminCredentials, type SignInLimiter } from './auth.js';
import { renderStatusPage, type RunSummary } from './page.js';

export const ADMIN_PATH = '/admin';
const QUEUES_PATH = `${ADMIN_PATH}/queues`;
const RETRY_PATH = `${ADMIN_PATH}/failures/retry`;
const MAX_BATCH = 200;

export interface DashboardOptions {
  /** Without credentials the dashboard is off. */
  admin?: AdminCredentials;
  realtimeQueue: Queue<RealtimeJobData>;
  /** Every queue Bull Board shows (the real-time one included). */
  queues: readonly Queue[];
  failures: FailureLog;
  status: StatusStore;
  /**
   * The newest nightly run, from the nightly run store. Absent when this deployment does not record
   * runs; the page then says so.
   */
  lastNightlyRun?: () => Promise<RunSummary | undefined>;
  /** The last 30 runs from the system of record (PostgreSQL); absent without one. */
  recentRuns?: () => Promise<RunSummary[]>;
  /** Limits failed sign-ins per client (shared with the admin endpoints). */
  limiter?: SignInLimiter;
  /** Days of risk-band counts the chart sums. @defaultValue 7 */
  bandDays?: number;
  logger: Logger;
}

export function dashboardRouter(options: DashboardOptions): Router {
  const router = Router();
  const { admin, logger } = options;
  if (!admin) return router;

  const board = new ExpressAdapter();
  board.setBasePath(QUEUES_PATH);
  createBullBoard({ queues: options.queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });

  router.use(ADMIN_PATH, requireAdmin(admin, { limiter: options.limiter }));
  // Bull Board's UI loads its scripts and styles from here and fonts from Google; the API's strict
  // content policy (http/app.ts) would leave it blank.
  router.use(QUEUES_PATH, (_req, res, next) => {
    res.setHeader('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; font-src 'self' https://fonts.gstatic.com data:; img-src 'self' data:; frame-ancestors 'none'");
    next();
  });
  router.use(QUEUES_PATH, board.getRouter() as Router);

  router.get(ADMIN_PATH, async (req: Request, res: Response) => {
    const bandDays = options.bandDays ?? 7;
    const [lastRun, recentRuns, bands, apiUsage, failures, failuresTotal, notFoundTotal, queues] = await Promise.all([
      options.lastNightlyRun?.(),
      options.recentRuns?.(),
      options.status.bands(bandDays),
      options.status.apiUsage(),
      options.failures.recent(50),
      options.failures.total(),
      options.failures.notFoundTotal(),
      Promise.all(options.queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts('waiting', 'active', 'delayed', 'failed') }))),
    ]);
    const retried = Number(req.query.retried);
    res
      .set('cache-control', 'no-store')
      .set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
      .type('html')
      .send(
        renderStatusPage({
          lastRun,
          recentRuns,
          nightlyAvailable: options.lastNightlyRun !== undefined,
          bands,
          bandDays,
          apiUsage,
          failures,
          failuresTotal,
          notFoundTotal,
          queues,
          csrf: csrfToken(admin),
          notice: Number.isInteger(retried) && retried > 0 ? `Queued ${retried} account(s) for another try.` : undefined,
          queuesPath: QUEUES_PATH,
          retryPath: RETRY_PATH,
        }),
      );
  });

  router.post(RETRY_PATH, express.urlencoded({ extended: false, limit: '100kb' }), async (req: Request, res: Response) => {
    const log = forRequest(logger, res);
    const body = (req.body ?? {}) as { csrf?: unknown; ids?: unknown };
    if (!isSameOrigin(req) || !sameCsrfToken(body.csrf, admin)) {
      log.warn('admin retry refused: cross-site request or missing form token');
      res.status(403).type('text/plain').send('Refused: the form must be sent from the admin page.');
      return;
    }
    const given = Array.isArray(body.ids) ? body.ids : body.ids === undefined ? [] : [body.ids];
    const valid = given.filter((id): id is string => hasKeyPrefix(id, KEY_PREFIXES.account));
    const ids = [...new Set(valid.map((id) => toId18(id)!))];
    if (valid.length !== given.length) {
      res.status(400).type('text/plain').send('Every id must be a 15- or 18-character Salesforce Account id (key prefix 001, with a valid case checksum).');
      return;
    }
    for (let i = 0; i < ids.length; i += MAX_BATCH) {
      await options.realtimeQueue.add('rescore', { accountIds: ids.slice(i, i + MAX_BATCH), receivedAt: Date.now(), attempt: 1 });
    }
    log.info({ accounts: ids.length }, 'failed accounts queued again from the admin page');
    res.redirect(303, `${ADMIN_PATH}?retried=${ids.length}`);
  });

  return router;
}
