/**
 * The nightly run as a core: what a `run` job and a `chunk` job do, and what a failed job means for
 * the run, with every collaborator passed in (ports.ts). The BullMQ processor (queue/nightly-worker.ts)
 * only parses jobs and maps the outcomes below onto BullMQ (a delay, a retry, a failure for good).
 *
 * A run: reads the org's allowance (/limits, or the Sforce-Limit-Info header when the integration
 * user may not read /limits) and waits while it is below NIGHTLY_API_RESERVE; pins the champion model;
 * creates one Bulk query job for the fields both paths read (core/scored-fields.ts) and polls it;
 * then lists every result page (`resultPages`, API 58.0+) and hands them all to the queue as chunks
 * (chunk.ts), so any number of workers download their pages at once; before API 58.0 it hands the
 * first page on, and each chunk hands on the next. One run at a
 * time: a run that starts while another is going is recorded as skipped.
 */
import { isAppError } from '../core/errors.js';
import { fieldsToRead } from '../core/scored-fields.js';
import { ChunkRunner } from './chunk.js';
import { planWrites } from './budget.js';
import type { BulkPort, NightlyDeps } from './ports.js';
import { buildSoql } from './query.js';
import { FINISHED_STATES, type RunRecord } from './state.js';

/** `batchesLeft` when /limits could not be read, and when the budget must be read again (after a wait). */
const UNKNOWN = -1;
const RE_READ = -2;

/** What a job's processor does next. */
export type JobOutcome =
  /** The job is done; `result` is its return value. */
  | { kind: 'done'; result: Record<string, unknown> }
  /** Run it again after `ms`, without counting an attempt (the allowance, Salesforce still busy). */
  | { kind: 'wait'; ms: number }
  /** Let the queue retry it with back-off (a failure that may pass). */
  | { kind: 'retry' }
  /** It failed for good; the run is marked failed. */
  | { kind: 'fail'; message: string };

export class NightlyRun {
  private readonly chunks: ChunkRunner;
  /** Whether this process has already said that /limits is refused (once is enough). */
  private warnedLimits = false;
  /** Jobs in hand, and the time this process had any (per-worker figures). */
  private active = 0;
  private busySince = 0;
  private busyMs = 0;

  constructor(private readonly deps: NightlyDeps) {
    this.chunks = new ChunkRunner(deps);
  }

  private enter(): void {
    if (this.active++ === 0) this.busySince = Date.now();
  }

  /** Leaves a job; answers the busy time not yet reported. */
  private leave(): number {
    if (--this.active === 0) this.busyMs += Date.now() - this.busySince;
    let ms = this.busyMs;
    if (this.active > 0) {
      ms += Date.now() - this.busySince;
      this.busySince = Date.now();
    }
    this.busyMs = 0;
    return ms;
  }

  /** Adds a job attempt's calls, bytes and busy time to this worker's figures for the run. */
  private async report(runId: string, bulk: BulkPort, calls: number): Promise<void> {
    const busyMs = this.leave();
    const { log, workerId } = this.deps;
    if (!log.addWorkerStats || !workerId) return;
    const bytes = bulk.takeBytes?.() ?? { downloaded: 0, uploaded: 0, uploadedWire: 0 };
    await log.addWorkerStats(runId, workerId, { calls, ...bytes, busyMs, jobs: 1 }).catch((error: unknown) => this.deps.logger.warn({ runId, err: error }, 'could not record the worker figures'));
  }

  /** Tells `onRunEnded` about a run that has just ended. */
  private async ended(runId: string): Promise<void> {
    const run = await this.deps.log.get(runId);
    if (!run || !FINISHED_STATES.has(run.state)) return;
    this.deps.onRunEnded?.(run);
    // Drift is a report on the run, never a reason to fail it.
    await this.deps.monitoring?.runEnded(run).catch((error: unknown) => this.deps.logger.warn({ runId, err: error }, 'could not report the run\'s drift'));
  }

  /** A `run` job: start the run, or resume polling its query job. */
  async start(runId: string, data: { trigger: string; where?: string }): Promise<JobOutcome> {
    const { log: store, settings, scorer } = this.deps;
    const log = this.deps.logger.child({ runId });
    let run = await store.create(runId, data.trigger, data.where);
    if (FINISHED_STATES.has(run.state)) return { kind: 'done', result: { runId, state: run.state } };

    const claim = await store.claimActive(runId);
    if (!claim.claimed) {
      const active = await store.get(claim.activeId);
      if (active && !FINISHED_STATES.has(active.state)) {
        const message = `skipped: run ${claim.activeId} is still ${active.state} (one run at a time)`;
        log.warn({ activeRunId: claim.activeId }, `nightly run ${message}`);
        await store.update(runId, { state: 'skipped', message, endedAt: new Date().toISOString() });
        await store.event(runId, message);
        await this.ended(runId);
        return { kind: 'done', result: { runId, state: 'skipped', activeRunId: claim.activeId } };
      }
      // The slot is held by a run that ended without releasing it: take it over.
      log.warn({ staleRunId: claim.activeId }, 'freeing the active-run slot of a finished run');
      await store.releaseActive(claim.activeId);
      if (!(await store.claimActive(runId)).claimed) return this.start(runId, data);
    }

    const bulk = this.deps.openBulk(log);
    this.enter();
    let trimming: Promise<void> | undefined;
    try {
      if (!run.queryJobId) {
        const usage = await bulk.dailyApiUsage();
        if (usage.refusal && !this.warnedLimits) {
          this.warnedLimits = true;
          log.warn({ err: usage.refusal }, 'nightly run: /limits refused; reading the allowance from the Sforce-Limit-Info header');
          await store.event(runId, `allowance read from the Sforce-Limit-Info header (${usage.used}/${usage.limit}): ${usage.refusal.message}`);
        }
        if (usage.remaining < settings.apiReserve) {
          const message = `waiting: ${usage.remaining} daily API calls left, below NIGHTLY_API_RESERVE=${settings.apiReserve}; checking again in ${Math.round(settings.reserveWaitMs / 1000)} s`;
          log.warn({ remaining: usage.remaining, reserve: settings.apiReserve }, `nightly run ${message}`);
          await store.update(runId, { state: 'waiting-api', message });
          await store.event(runId, message);
          return { kind: 'wait', ms: settings.reserveWaitMs };
        }
        // The run pins the champion (and the shadow, when one is set) it starts with; the query reads
        // the fields of both, so the shadow can score the same rows.
        if (usage.queryJobs && usage.queryJobs.remaining < 1) {
          const message = `waiting: the org has no Bulk API 2.0 query jobs left today (DailyBulkV2QueryJobs ${usage.queryJobs.max}); checking again in ${Math.round(settings.reserveWaitMs / 1000)} s`;
          log.warn(`nightly run ${message}`);
          await store.update(runId, { state: 'waiting-api', message });
          await store.event(runId, message);
          return { kind: 'wait', ms: settings.reserveWaitMs };
        }
        // The org's Bulk batches left, for the budget once the query says how many records there are.
        await store.update(runId, usage.bulkBatches ? { batchesLeft: usage.bulkBatches.remaining, batchesMax: usage.bulkBatches.max } : { batchesLeft: UNKNOWN });
        const model = scorer.champion();
        const shadow = this.deps.shadowScores ? scorer.shadow() : null;
        // With realized accuracy on, the label is read in the same query.
        const label = this.deps.monitoring?.labels?.field;
        const fields = [...new Set([...fieldsToRead(model.spec), ...(shadow ? fieldsToRead(shadow.spec) : []), ...(label ? [label] : [])])];
        const soql = buildSoql(fields, run.where);
        await store.update(runId, { state: 'querying', startedAt: new Date().toISOString(), scoredAtMs: Date.now(), message: '', modelVersion: model.version, ...(shadow ? { shadowVersion: shadow.version } : {}) });
        const created = await bulk.createQueryJob(soql);
        await store.update(runId, { queryJobId: created.id });
        await store.event(runId, `Bulk query job ${created.id} created`);
        log.info({ queryJobId: created.id, where: run.where, modelVersion: model.version, shadowVersion: shadow?.version }, 'nightly run started');
        run = (await store.get(runId))!;
        // While Salesforce runs the query.
        trimming = this.trimHistory(runId);
      }
      const info = await bulk.waitForJob('query', run.queryJobId!, { initialMs: settings.pollInitialMs, maxMs: settings.pollMaxMs });
      await trimming;
      if (info.state !== 'JobComplete') {
        const message = `Bulk query job ${run.queryJobId} ended ${info.state}${info.errorMessage ? `: ${info.errorMessage}` : ''}`;
        log.error({ queryJobId: run.queryJobId }, message);
        await store.fail(runId, message);
        await this.ended(runId);
        return { kind: 'fail', message };
      }
      const total = info.numberRecordsProcessed ?? 0;
      if (bulk.parallelResults && bulk.resultPageLocators) {
        // Every page is listed at once, so each worker downloads its own page without waiting for
        // the previous page's locator. The count is set before the chunks start, so the last chunk
        // to finish ends the run.
        const locators = await bulk.resultPageLocators(run.queryJobId!);
        const wait = await this.budget(runId, run, bulk, total, locators.length);
        if (wait) return wait;
        await store.update(runId, { state: 'running', total, message: '', pages: 'parallel', chunksTotal: locators.length });
        await store.addCalls(runId, bulk.takeCalls());
        for (let i = 0; i < locators.length; i++) await this.deps.queue.enqueueChunk(runId, i, locators[i] || null);
        log.info({ total, pages: locators.length }, 'query job complete; every result page enqueued');
        return { kind: 'done', result: { runId, state: 'running', total, pages: locators.length } };
      }
      const wait = await this.budget(runId, run, bulk, total, Math.max(1, Math.ceil(total / settings.chunkSize)));
      if (wait) return wait;
      await store.update(runId, { state: 'running', total, message: '', pages: 'chained' });
      // Counted before the chunks start, so the record of a finished run holds every call.
      await store.addCalls(runId, bulk.takeCalls());
      await this.deps.queue.enqueueChunk(runId, 0, null);
      log.info({ total }, 'query job complete; chunks enqueued');
      return { kind: 'done', result: { runId, state: 'running', total } };
    } finally {
      await trimming;
      await store.addCalls(runId, bulk.takeCalls());
      await this.report(runId, bulk, bulk.calls ?? 0);
    }
  }

  /**
   * The Bulk budget (budget.ts): whether a full rewrite of `total` records fits the batches the org
   * had left above NIGHTLY_BULK_BATCH_RESERVE; if not, the batches the run may write (each page
   * writes its share, its largest moves first). With no batches left above the reserve, the run waits. Without /limits
   * the budget is unknown, and the run says so and writes everything.
   */
  private async budget(runId: string, run: RunRecord, bulk: BulkPort, total: number, pages: number): Promise<JobOutcome | undefined> {
    const { log: store, settings, logger } = this.deps;
    let left = run.batchesLeft;
    let max = run.batchesMax;
    if (left === undefined || left === RE_READ) {
      const usage = await bulk.dailyApiUsage();
      left = usage.bulkBatches?.remaining ?? UNKNOWN;
      max = usage.bulkBatches?.max;
    }
    if (left === UNKNOWN) {
      await store.update(runId, { budget: 'Bulk batches left unknown (/limits not readable): writing every record that moved' });
      return undefined;
    }
    const plan = planWrites({ total, pages, splitPageFrom: settings.splitPageFrom, remaining: left, max: max ?? left, reserve: settings.bulkBatchReserve ?? 0 });
    if (plan.writeBatches === 0) {
      const message = `waiting: ${plan.note}; checking again in ${Math.round(settings.reserveWaitMs / 1000)} s`;
      logger.warn({ runId, left, reserve: settings.bulkBatchReserve }, `nightly run ${message}`);
      await store.update(runId, { state: 'waiting-api', message, batchesLeft: RE_READ });
      await store.event(runId, message);
      return { kind: 'wait', ms: settings.reserveWaitMs };
    }
    await store.update(runId, { budget: plan.note, ...(plan.writeBatches !== undefined ? { writeBatches: plan.writeBatches } : {}) });
    await store.event(runId, `Bulk budget: ${plan.note}`);
    if (plan.writeBatches !== undefined) logger.warn({ runId, fullBatches: plan.fullBatches, available: plan.available, writeBatches: plan.writeBatches }, 'nightly run over its Bulk batch budget: writing the largest moves first');
    return undefined;
  }

  /** Each run enforces the score history's retention (HISTORY_RETENTION_DAYS); a failure is logged, not fatal. */
  private async trimHistory(runId: string): Promise<void> {
    const history = this.deps.history;
    if (!history) return;
    try {
      const { removed, days } = await history.trim();
      if (removed > 0) await this.deps.log.event(runId, `score history: ${removed} rows older than ${days} days removed`);
    } catch (error) {
      this.deps.logger.warn({ runId, err: error }, 'could not trim the score history; the next run tries again');
    }
  }

  /** A `chunk` job: one page, through its phases (chunk.ts). */
  async chunk(runId: string, index: number, locator: string | null): Promise<JobOutcome> {
    const { log: store } = this.deps;
    const run = await store.get(runId);
    if (!run || FINISHED_STATES.has(run.state)) return { kind: 'done', result: { skipped: run ? `run is ${run.state}` : 'unknown run' } };
    const log = this.deps.logger.child({ runId, chunk: index });
    const bulk = this.deps.openBulk(log);
    this.enter();
    try {
      if (run.message) await store.update(runId, { message: '' });
      const outcome = await this.chunks.run(bulk, run, index, locator);
      if (outcome.yieldMs !== undefined) return { kind: 'wait', ms: outcome.yieldMs };
      if (outcome.finishedRun) {
        const ending = await store.get(runId);
        if (ending && ending.counts.deferred > 0) {
          // Said before the run is reported ended, so the record and the dashboard carry it.
          const message = `partial run: ${ending.counts.deferred} Accounts whose scores moved least were left for the next run (${ending.budget ?? 'Bulk batch budget'})`;
          await store.update(runId, { message });
          await store.event(runId, message);
        }
        await this.ended(runId);
        const done = await store.get(runId);
        log.info({ state: done?.state, ...done?.counts }, 'nightly run finished');
      }
      return { kind: 'done', result: { ...outcome } };
    } finally {
      await store.addCalls(runId, bulk.takeCalls());
      await this.report(runId, bulk, bulk.calls ?? 0);
    }
  }

  /**
   * What a job's failure means for the run: the allowance used up → wait; a failure that may pass,
   * with attempts left → retry (an event says so); anything else → the run fails, with the reason.
   */
  async failed(runId: string, what: string, error: unknown, attempt: { made: number; last: boolean }): Promise<JobOutcome> {
    const { log: store, settings, logger } = this.deps;
    if (isAppError(error, 'SF_REQUEST_LIMIT')) {
      const message = `waiting: the org's daily API allowance is used up (${what}); resuming in ${Math.round(settings.reserveWaitMs / 1000)} s`;
      logger.warn({ runId }, `nightly ${message}`);
      await store.update(runId, { message });
      await store.event(runId, message);
      return { kind: 'wait', ms: settings.reserveWaitMs };
    }
    const message = error instanceof Error ? error.message : String(error);
    if (isAppError(error) && error.retryable && !attempt.last) {
      logger.warn({ runId, err: error, attempt: attempt.made + 1 }, `nightly ${what} failed, will retry`);
      await store.event(runId, `${what} failed (attempt ${attempt.made + 1}), will retry: ${message}`);
      return { kind: 'retry' };
    }
    logger.error({ runId, err: error }, `nightly ${what} failed for good`);
    await store.fail(runId, `${what}: ${message}`);
    await this.ended(runId);
    return { kind: 'fail', message };
  }
}
