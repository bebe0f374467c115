/**
 * The nightly queue: its schedule, the enqueueing of manual runs, and the BullMQ processor of `run`
 * and `chunk` jobs. Retries are decided here, at the queue boundary:
 * - the org's API allowance below NIGHTLY_API_RESERVE (before a run, from /limits, or from the
 *   Sforce-Limit-Info header when the user may not read /limits) or used up (REQUEST_LIMIT_EXCEEDED
 *   during one): the job is delayed and the run record says why; the chunk resumes from its state;
 * - a failure that may pass (Salesforce unavailable, a job still queued after hours): thrown, so
 *   BullMQ retries the job with back-off; the run record gets an event;
 * - anything else (a query Salesforce refuses, a Bulk query job that failed): the run is marked
 *   failed with the reason and the job fails for good (UnrecoverableError).
 */
import { randomBytes } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { NightlyConfig } from '../config/index.js';
import { isAppError } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { recordNightlyRun } from '../observability/metrics.js';
import { BulkClient } from '../salesforce/bulk.js';
import type { SalesforceClient } from '../salesforce/client.js';
import type { FailureLog } from './failures.js';
import { processChunk, type Scorer } from './nightly-chunk.js';
import { buildSoql, chunkJobId, chunkJobSchema, NIGHTLY_JOB_OPTIONS, NIGHTLY_SCHEDULER_ID, runJobSchema, validateWhere, type ChunkJobData, type RunJobData } from './nightly-jobs.js';
import { FINISHED_STATES, RunStore } from './nightly-store.js';
import { QUEUES } from './names.js';

type NightlyData = RunJobData | ChunkJobData;

export function nightlyQueue(connection: Redis, prefix: string): Queue<NightlyData> {
  return new Queue<NightlyData>(QUEUES.nightly, { connection, prefix, defaultJobOptions: NIGHTLY_JOB_OPTIONS });
}

/**
 * Registers (or updates) the one schedule every worker agrees on; upserting is idempotent, so many
 * dynos starting at once still make one schedule. With the schedule disabled it is removed.
 */
export async function registerNightlySchedule(queue: Queue<NightlyData>, config: NightlyConfig, logger: Logger): Promise<void> {
  if (!config.enabled) {
    if (await queue.removeJobScheduler(NIGHTLY_SCHEDULER_ID)) logger.info('nightly schedule removed (NIGHTLY_ENABLED=false)');
    return;
  }
  await queue.upsertJobScheduler(NIGHTLY_SCHEDULER_ID, { pattern: config.cron, tz: config.tz }, { name: 'run', data: { trigger: 'schedule' }, opts: NIGHTLY_JOB_OPTIONS });
  logger.info({ cron: config.cron, tz: config.tz }, 'nightly schedule registered');
}

/** Enqueues a run now; returns its id (follow it with RunStore.get). */
export async function enqueueRun(queue: Queue<NightlyData>, store: RunStore, options: { where?: string; trigger: 'manual' | 'admin' | 'bench' }): Promise<string> {
  const where = options.where === undefined ? undefined : validateWhere(options.where);
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const runId = `${options.trigger}-${stamp}-${randomBytes(3).toString('hex')}`;
  await store.create(runId, options.trigger, where);
  await queue.add('run', { runId, where, trigger: options.trigger }, { jobId: runId });
  return runId;
}

export interface NightlyWorkerOptions {
  connection: Redis;
  prefix: string;
  salesforce: SalesforceClient;
  scorer: Scorer;
  failures: FailureLog;
  config: NightlyConfig;
  lockDurationMs: number;
  logger: Logger;
  /** Wait before a retry ingest job, by attempt; tests shorten it. */
  retryDelayMs?: (attempt: number) => number;
}

export function startNightlyWorker(options: NightlyWorkerOptions): { worker: Worker<NightlyData>; queue: Queue<NightlyData>; store: RunStore } {
  const { config, logger, salesforce } = options;
  const queue = nightlyQueue(options.connection, options.prefix);
  const store = new RunStore(options.connection, options.prefix);
  const spec = options.scorer.spec;
  const queryFields = [
    ...spec.features.map((f) => f.field),
    spec.outputFields.score,
    spec.outputFields.risk,
    spec.outputFields.factors,
    spec.outputFields.modelVersion,
  ];
  const poll = { initialMs: config.pollInitialMs, maxMs: config.pollMaxMs };
  const bulkOptions = { poll, resultIdleTimeoutMs: config.resultIdleTimeoutMs };
  /** Whether this process has already said that /limits is refused (once is enough). */
  let warnedLimits = false;

  /** Metrics of a run that ended, in the process that saw it end. */
  const ended = async (runId: string) => {
    const run = await store.get(runId);
    if (run && FINISHED_STATES.has(run.state)) recordNightlyRun(run);
  };

  const delay = async (job: Job, token: string | undefined, ms: number) => {
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError();
  };

  const runProcessor = async (job: Job<NightlyData>, token?: string) => {
    const parsed = runJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Job data is not a nightly run: ${parsed.error.issues[0]?.message}`);
    const data = parsed.data;
    const runId = data.runId ?? String(job.id).replace(/[^\w-]/g, '_');
    const log = logger.child({ runId });
    let run = await store.create(runId, data.trigger, data.where);
    if (FINISHED_STATES.has(run.state)) return { runId, state: run.state };

    const claim = await store.claimActive(runId);
    if (!claim.claimed) {
      const active = await store.get(claim.activeId);
      if (active && !FINISHED_STATES.has(active.state)) {
        const message = `skipped: run ${claim.activeId} is still ${active.state} (one run at a time)`;
        log.warn({ activeRunId: claim.activeId }, `nightly run ${message}`);
        await store.update(runId, { state: 'skipped', message, endedAt: new Date().toISOString() });
        await store.event(runId, message);
        await ended(runId);
        return { runId, state: 'skipped', activeRunId: claim.activeId };
      }
      // The slot is held by a run that ended without releasing it: take it over.
      log.warn({ staleRunId: claim.activeId }, 'freeing the active-run slot of a finished run');
      await store.releaseActive(claim.activeId);
      if (!(await store.claimActive(runId)).claimed) return runProcessor(job, token);
    }

    const bulk = new BulkClient(salesforce, { logger: log, ...bulkOptions });
    try {
      if (!run.queryJobId) {
        // /limits needs View Setup and Configuration; without it the usage header is read instead.
        const usage = await salesforce.dailyApiUsage();
        bulk.calls += usage.calls;
        if (usage.refusal && !warnedLimits) {
          warnedLimits = true;
          log.warn({ err: usage.refusal.message }, 'nightly run: /limits refused; reading the allowance from the Sforce-Limit-Info header');
          await store.event(runId, `allowance read from the Sforce-Limit-Info header (${usage.used}/${usage.limit}): ${usage.refusal.message}`);
        }
        const remaining = usage.remaining;
        if (remaining < config.apiReserve) {
          const message = `waiting: ${remaining} daily API calls left, below NIGHTLY_API_RESERVE=${config.apiReserve}; checking again in ${Math.round(config.reserveWaitMs / 1000)} s`;
          log.warn({ remaining, reserve: config.apiReserve }, `nightly run ${message}`);
          await store.update(runId, { state: 'waiting-api', message });
          await store.event(runId, message);
          await delay(job, token, config.reserveWaitMs);
        }
        const soql = buildSoql(queryFields, run.where);
        await store.update(runId, { state: 'querying', startedAt: new Date().toISOString(), scoredAtMs: Date.now(), message: '' });
        const created = await bulk.createQueryJob(soql);
        await store.update(runId, { queryJobId: created.id });
        await store.event(runId, `Bulk query job ${created.id} created`);
        log.info({ queryJobId: created.id, where: run.where }, 'nightly run started');
        run = (await store.get(runId))!;
      }
      const info = await bulk.waitForJob('query', run.queryJobId!, poll);
      if (info.state !== 'JobComplete') {
        const message = `Bulk query job ${run.queryJobId} ended ${info.state}${info.errorMessage ? `: ${info.errorMessage}` : ''}`;
        log.error({ queryJobId: run.queryJobId }, message);
        await store.fail(runId, message);
        await ended(runId);
        throw new UnrecoverableError(message);
      }
      await store.update(runId, { state: 'running', total: info.numberRecordsProcessed ?? 0, message: '' });
      // Counted before the chunks start, so the record of a finished run holds every call.
      await store.addCalls(runId, bulk.calls);
      bulk.calls = 0;
      await queue.add('chunk', { runId, index: 0, locator: null }, { jobId: chunkJobId(runId, 0) });
      log.info({ total: info.numberRecordsProcessed }, 'query job complete; chunks enqueued');
      return { runId, state: 'running', total: info.numberRecordsProcessed };
    } finally {
      await store.addCalls(runId, bulk.calls);
    }
  };

  const chunkProcessor = async (job: Job<NightlyData>, token?: string) => {
    const parsed = chunkJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Job data is not a nightly chunk: ${parsed.error.issues[0]?.message}`);
    const { runId, index, locator } = parsed.data;
    const run = await store.get(runId);
    if (!run || FINISHED_STATES.has(run.state)) return { skipped: run ? `run is ${run.state}` : 'unknown run' };
    const log = logger.child({ runId, chunk: index });
    const bulk = new BulkClient(salesforce, { logger: log, ...bulkOptions });
    try {
      if (run.message) await store.update(runId, { message: '' });
      const outcome = await processChunk(
        {
          bulk,
          scorer: options.scorer,
          store,
          failures: options.failures,
          logger,
          chunkSize: config.chunkSize,
          scoreBatch: config.scoreBatch,
          ingestMaxBytes: config.ingestMaxBytes,
          retryAttempts: config.retryAttempts,
          splitPageFrom: config.splitPageFrom,
          reasons: config.reasons,
          pollInitialMs: config.pollInitialMs,
          pollMaxMs: config.pollMaxMs,
          retryDelayMs: options.retryDelayMs,
          enqueueNext: async (next, nextLocator) => {
            await queue.add('chunk', { runId, index: next, locator: nextLocator }, { jobId: chunkJobId(runId, next) });
          },
          othersWaiting: async () => (await queue.getWaitingCount()) > 0,
        },
        run,
        index,
        locator,
      );
      if (outcome.yieldMs !== undefined) return await delay(job, token, outcome.yieldMs);
      if (outcome.finishedRun) {
        await ended(runId);
        const done = await store.get(runId);
        log.info({ state: done?.state, ...done?.counts }, 'nightly run finished');
      }
      return outcome;
    } finally {
      await store.addCalls(runId, bulk.calls);
    }
  };

  const processJob = async (job: Job<NightlyData>, token?: string) => {
    const runId = (job.data as { runId?: string }).runId ?? String(job.id).replace(/[^\w-]/g, '_');
    try {
      return job.name === 'chunk' ? await chunkProcessor(job, token) : await runProcessor(job, token);
    } catch (error) {
      if (error instanceof DelayedError || error instanceof UnrecoverableError) throw error;
      const what = job.name === 'chunk' ? `chunk ${(job.data as ChunkJobData).index}` : 'run';
      if (isAppError(error, 'SF_REQUEST_LIMIT')) {
        const message = `waiting: the org's daily API allowance is used up (${what}); resuming in ${Math.round(config.reserveWaitMs / 1000)} s`;
        logger.warn({ runId }, `nightly ${message}`);
        await store.update(runId, { message });
        await store.event(runId, message);
        return delay(job, token, config.reserveWaitMs);
      }
      const message = error instanceof Error ? error.message : String(error);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (isAppError(error) && error.retryable && !lastAttempt) {
        logger.warn({ runId, code: error.code, attempt: job.attemptsMade + 1 }, `nightly ${what} failed, will retry: ${message}`);
        await store.event(runId, `${what} failed (attempt ${job.attemptsMade + 1}), will retry: ${message}`);
        throw error;
      }
      logger.error({ runId, err: message }, `nightly ${what} failed for good`);
      await store.fail(runId, `${what}: ${message}`);
      await ended(runId);
      throw new UnrecoverableError(message);
    }
  };

  const worker = new Worker<NightlyData>(QUEUES.nightly, processJob, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: config.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.lockDurationMs,
    maxStalledCount: 3,
  });
  worker.on('error', (error) => logger.error({ err: error.message }, 'nightly worker error'));
  return { worker, queue, store };
}
