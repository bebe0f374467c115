/**
 * One chunk of a nightly run: one page of the Bulk query results, scored and written back with
 * Bulk ingest `update` jobs. Steps, each recorded in the chunk's state in Redis before the next
 * begins, so a worker that dies anywhere leaves a chunk the next worker finishes without writing
 * anything twice in effect:
 *
 * 1. read the page's headers; hand the next page's locator to the queue (another worker starts it)
 *    or mark this page the last;
 * 2. stream the page: batches of whole CSV records (unparsed) → scoring thread, which parses and
 *    scores them → unchanged scores are dropped
 *    → CSV lines (Id + output fields) into temporary files of at most `ingestMaxBytes` (parts); a
 *    large first or last page is cut in two parts (`splitPageFrom`, see cutPoint), so Salesforce
 *    starts writing while the rest is scored and the run does not end on a whole page; scoring uses
 *    the run's fixed timestamp, the cut point depends only on the page and whether to cut is kept
 *    in the chunk state, so a second pass produces the very same parts;
 * 3. each part not yet submitted: create an ingest job, upload, close (an `open` job left by a
 *    crash is aborted and replaced; a `closed` one is only waited for). A part that is complete
 *    before the page is (a cut, the size limit) is submitted at once, while the rest is scored;
 * 4. while Salesforce processes the closed jobs and other chunks wait in the queue, hand the worker
 *    slot back (the caller delays this job) and look once when it comes back; otherwise wait here.
 *    Then count written and failed records of each job; failed records that may pass
 *    later (UNABLE_TO_LOCK_ROW, …) and unprocessed records go into a retry job, the rest to the
 *    failure log with Salesforce's reason;
 * 5. retry jobs up to `retryAttempts`, then record what is left as failed;
 * 6. add the chunk's counts to the run, once.
 *
 * A page whose download breaks off or goes silent (BulkClient's idle timeout), or that ends short of
 * its Sforce-NumberOfRecords, fails the attempt with a retryable error once the parts already being
 * submitted have settled; the queue runs the chunk again, which reads the page again with the same
 * locator (Salesforce keeps a job's results and its locators while the job exists) and skips the
 * parts already submitted, so nothing is written twice and nothing is lost.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../core/errors.js';
import { bulkCsvCell, type Failure } from '../core/rescore.js';
import type { Logger } from '../log/logger.js';
import { isTerminalState, type BulkClient, type BulkJobInfo, type RecordResult } from '../salesforce/bulk.js';
import { isRetryableRecordError } from '../salesforce/errors.js';
import type { RecordBatch } from '../salesforce/csv-records.js';
import type { FeatureSpec } from '../scoring/spec.js';
import type { RowsRequest, RowsResult } from '../scoring/rows.js';
import type { FailureLog } from './failures.js';
import type { ChunkState, RunRecord, RunStore } from './nightly-store.js';

export interface Scorer {
  readonly spec: FeatureSpec;
  rescoreRows(request: RowsRequest): Promise<RowsResult>;
}

export interface ChunkContext {
  bulk: BulkClient;
  scorer: Scorer;
  store: RunStore;
  failures: FailureLog;
  logger: Logger;
  chunkSize: number;
  scoreBatch: number;
  ingestMaxBytes: number;
  retryAttempts: number;
  /** Cut the first and the last page in two parts when they hold at least this many records (0: never). */
  splitPageFrom: number;
  reasons: boolean;
  pollInitialMs: number;
  pollMaxMs: number;
  /** Hands the next page to the queue (idempotent: same job id for the same page). */
  enqueueNext(index: number, locator: string): Promise<void>;
  /** Wait before a retry ingest job, by attempt (1-based). */
  retryDelayMs?: (attempt: number) => number;
  /** Called after each scored batch (progress). */
  onProgress?: () => void;
  /**
   * Whether other chunks wait for a worker slot. When they do, a chunk whose ingest jobs are still
   * processing returns `yieldMs` instead of polling, so this worker scores the next page meanwhile.
   */
  othersWaiting?: () => Promise<boolean>;
}

/** Output columns in the order written. */
function outputColumns(spec: FeatureSpec, reasons: boolean): string[] {
  const o = spec.outputFields;
  return [o.score, o.risk, ...(reasons ? [o.factors] : []), o.modelVersion, o.scoredAt];
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n += 1;
  return n;
}

class PartWriter {
  private stream?: WriteStream;
  private bytes = 0;
  private lines = 0;
  readonly files: Array<{ path: string; records: number }> = [];

  constructor(
    private readonly base: string,
    private readonly header: string,
    private readonly maxBytes: number,
    /** Called with each part completed before the page ends (the last one is left to the caller). */
    private readonly onPart: (file: { path: string; records: number }, part: number) => void = () => undefined,
  ) {}

  /** Appends `\n`-terminated lines; a new part starts when the next line would not fit. */
  async write(lines: string, count: number): Promise<void> {
    if (count === 0) return;
    const size = Buffer.byteLength(lines);
    const used = this.stream ? this.bytes : Buffer.byteLength(this.header) + 1;
    if (used + size > this.maxBytes && count > 1) {
      // Too much for the current part: split between lines so no part exceeds the limit.
      let cut = lines.indexOf('\n', lines.length >> 1) + 1;
      if (cut >= lines.length) cut = lines.lastIndexOf('\n', lines.length - 2) + 1;
      const first = lines.slice(0, cut);
      const firstCount = countLines(first);
      await this.write(first, firstCount);
      await this.write(lines.slice(cut), count - firstCount);
      return;
    }
    if (this.stream && this.bytes + size > this.maxBytes) await this.cut();
    if (!this.stream) {
      const path = `${this.base}-${this.files.length}.csv`;
      this.stream = createWriteStream(path);
      this.files.push({ path, records: 0 });
      this.bytes = Buffer.byteLength(this.header) + 1;
      this.lines = 0;
      this.stream.write(`${this.header}\n`);
    }
    this.bytes += size;
    this.lines += count;
    this.files[this.files.length - 1]!.records = this.lines;
    if (!this.stream.write(lines)) await new Promise<void>((resolve) => this.stream!.once('drain', resolve));
  }

  /** Ends the current part (if any) and hands it to `onPart`; the next line starts a new part. */
  async cut(): Promise<void> {
    if (!this.stream) return;
    await this.finish();
    this.onPart(this.files[this.files.length - 1]!, this.files.length - 1);
  }

  /** Ends the current part. */
  async finish(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve, reject) => s.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}

export interface ChunkOutcome {
  skipped?: string;
  /** Salesforce is still processing this chunk's ingest jobs: run it again after this long. */
  yieldMs?: number;
  counts?: ChunkState['counts'];
  finishedRun?: boolean;
}

export async function processChunk(ctx: ChunkContext, run: RunRecord, index: number, locator: string | null): Promise<ChunkOutcome> {
  const { bulk, store, logger } = ctx;
  const log = logger.child({ runId: run.id, chunk: index });
  const state = await store.chunk(run.id, index, locator);
  if (state.done) return { skipped: 'already done', counts: state.counts };
  const save = () => store.saveChunk(run.id, state);
  const columns = outputColumns(ctx.scorer.spec, ctx.reasons);
  const header = ['Id', ...columns].join(',');
  const tmpBase = join(tmpdir(), `churn-nightly-${run.id}-${index}-${process.pid}`);
  const temporary: string[] = [];

  try {
    const mainSubmitted = state.parts !== undefined && state.jobs.filter((j) => j.part >= 0 && j.status !== 'open').length >= state.parts;
    // 1-2. Read the page when the next page is not handed on yet or parts remain to be submitted.
    let files: Array<{ path: string; records: number }> = [];
    if (state.next === undefined || !mainSubmitted) {
      const page = await bulk.resultPage(run.queryJobId!, locator, ctx.chunkSize);
      if (state.next === undefined) {
        if (page.nextLocator) {
          await ctx.enqueueNext(index + 1, page.nextLocator);
          state.next = 'enqueued';
        } else {
          await store.setChunksTotal(run.id, index + 1);
          state.next = 'last';
        }
        await save();
      }
      if (mainSubmitted) {
        await page.cancel();
      } else {
        const cutAt = cutPoint(ctx, index, page);
        const pass = await scorePage(ctx, run, state, { header: page.header, records: page.records, cutAt }, columns, header, tmpBase, log, (file, part) =>
          ensureSubmitted(ctx, state, save, file, part, log),
        );
        temporary.push(...pass.files.map((f) => f.path));
        // A page that ended early without a network error (a proxy that closed the body cleanly)
        // must not pass for a whole one: its missing records would never be scored.
        if (Number.isFinite(page.numberOfRecords) && pass.read !== page.numberOfRecords) {
          throw new AppError({
            code: 'SF_UNAVAILABLE',
            message: `The results page of chunk ${index} ended after ${pass.read} of its ${page.numberOfRecords} records; it will be read again with the same locator.`,
            retryable: true,
            details: { read: pass.read, expected: page.numberOfRecords },
          });
        }
        files = pass.files;
        state.parts = files.length;
        state.counts.read = pass.read;
        state.counts.scored = pass.scored;
        state.counts.unchanged = pass.unchanged;
        if (!state.failuresLogged) {
          await ctx.failures.record(pass.failed, 'nightly');
          state.counts.failed += pass.failed.length;
          state.failuresLogged = true;
        }
        await save();
      }
    }

    // 3. Submit the parts not submitted yet.
    for (let part = 0; part < (state.parts ?? 0); part++) await ensureSubmitted(ctx, state, save, files[part]!, part, log);

    // A retry job a crash left open: abort it; its sources are resubmitted again below.
    for (const open of state.jobs.filter((j) => j.part < 0 && j.status === 'open')) {
      await bulk.setState(open.id, 'Aborted').catch(() => undefined);
      state.jobs = state.jobs.filter((j) => j !== open);
      state.retryFrom = [...new Set([...state.retryFrom, ...(open.sources ?? [])])];
      await save();
    }

    // 4. While Salesforce processes the jobs, let this worker take a waiting chunk.
    const finished = new Map<string, BulkJobInfo>();
    const processing = () => state.jobs.filter((j) => j.status === 'closed' && !finished.has(j.id));
    if (ctx.othersWaiting && processing().length > 0) {
      if (state.yieldedMs !== undefined) {
        for (const job of processing()) {
          const info = await bulk.jobInfo('ingest', job.id);
          if (isTerminalState(info.state)) finished.set(job.id, info);
        }
      }
      if (processing().length > 0 && (await ctx.othersWaiting())) {
        const records = processing().reduce((sum, j) => sum + j.records, 0);
        state.yieldedMs = state.yieldedMs === undefined ? firstPollMs(ctx, records) : Math.min(ctx.pollMaxMs, Math.round(state.yieldedMs * 1.6));
        await save();
        log.info({ waitMs: state.yieldedMs, jobs: processing().length }, 'ingest jobs processing; taking another chunk meanwhile');
        return { yieldMs: state.yieldedMs };
      }
    }

    // 4-5. Collect closed jobs; resubmit what may pass later.
    const captured = new Map<string, RecordResult[]>();
    for (;;) {
      // The job closed last is awaited first: by the time it is done the earlier ones usually are
      // too, so each of those costs one status call instead of a poll series of its own.
      const closed = state.jobs.filter((j) => j.status === 'closed').sort((a, b) => (b.closedAt ?? 0) - (a.closedAt ?? 0));
      for (const job of closed) {
        captured.set(job.id, await collect(ctx, run, state, job, log, finished.get(job.id)));
        await save();
      }
      if (state.retryFrom.length === 0) break;
      const retryFile = `${tmpBase}-retry-${state.retryAttempt + 1}.csv`;
      temporary.push(retryFile);
      const retryRows = await gatherRetries(ctx, state, header, columns, retryFile, captured);
      if (retryRows.records === 0) {
        state.retryFrom = [];
        await save();
        break;
      }
      if (state.retryAttempt >= ctx.retryAttempts) {
        const gaveUp: Failure[] = retryRows.failures.map((f) => ({ ...f, message: `${f.message} (gave up after ${state.retryAttempt + 1} ingest jobs)` }));
        await ctx.failures.record(gaveUp, 'nightly');
        state.counts.failed += gaveUp.length;
        state.retryFrom = [];
        await save();
        await store.event(run.id, `chunk ${index}: ${gaveUp.length} records still failing after ${state.retryAttempt + 1} ingest jobs were recorded as failed`);
        break;
      }
      state.retryAttempt += 1;
      const delay = ctx.retryDelayMs?.(state.retryAttempt) ?? Math.min(1_000 * 2 ** (state.retryAttempt - 1), 30_000);
      log.info({ records: retryRows.records, attempt: state.retryAttempt, delayMs: delay }, 'resubmitting records that may pass later');
      await sleep(delay);
      state.counts.retried += retryRows.records;
      // The retry job replaces the sources: once it is recorded, their retryable rows are handled.
      const sources = state.retryFrom;
      await submit(ctx, state, save, { path: retryFile, records: retryRows.records }, -1, state.retryAttempt, sources, () => {
        state.retryFrom = [];
      });
    }

    state.done = true;
    await save();
    const finishedRun = await store.finishChunk(run.id, index, state.counts, bulk.calls);
    // Counted with the chunk; the caller adds only calls of attempts that did not finish.
    bulk.calls = 0;
    log.info({ ...state.counts, ingestJobs: state.jobs.length }, 'chunk done');
    return { counts: state.counts, finishedRun };
  } finally {
    await Promise.all(temporary.map((p) => rm(p, { force: true })));
  }
}

/**
 * Where the first or the last page is cut in two parts (at its middle record), or undefined. On the
 * first page Salesforce writes the first half while the second is scored; on the last one the run
 * ends when Salesforce has written the last part, so that part is half a page instead of a whole one.
 * (Cutting the last page later, at two thirds, measured slower: the first part was not written yet
 * when the second arrived.)
 */
function cutPoint(ctx: ChunkContext, index: number, page: { nextLocator: string | null; numberOfRecords: number }): number | undefined {
  const edge = index === 0 || page.nextLocator === null;
  if (ctx.splitPageFrom <= 0 || page.numberOfRecords < ctx.splitPageFrom || !edge) return undefined;
  return Math.ceil(page.numberOfRecords / 2);
}

async function scorePage(
  ctx: ChunkContext,
  run: RunRecord,
  state: ChunkState,
  page: { header: string[]; records: (max: number) => Promise<RecordBatch | null>; cutAt?: number },
  columns: string[],
  csvHeader: string,
  tmpBase: string,
  log: Logger,
  submitEarly: (file: { path: string; records: number }, part: number) => Promise<void>,
) {
  const { header, records, cutAt } = page;
  const now = run.scoredAtMs ?? Date.now();
  // Parts complete before the page is are submitted while the rest is scored; awaited below.
  const early: Array<Promise<void>> = [];
  const writer = new PartWriter(tmpBase, csvHeader, ctx.ingestMaxBytes, (file, part) => {
    const submitting = submitEarly(file, part);
    submitting.catch(() => undefined);
    early.push(submitting);
  });
  const failed: Failure[] = [];
  let read = 0;
  let scored = 0;
  let unchanged = 0;
  let lines = 0;

  // The thread parses and scores one batch of records while the next one is read; this thread only
  // finds where records end. It returns the ingest lines of the records that change (unchanged
  // scores are not rewritten).
  let pending: Promise<void> | undefined;
  let lastSaved = Date.now();
  const flush = async (csv: RecordBatch, cut: boolean) => {
    const scoring = ctx.scorer.rescoreRows({ header, csv, columns, reasons: ctx.reasons, now });
    if (pending) await pending;
    pending = scoring.then(async (result) => {
      if (result.read !== csv.count) log.warn({ records: csv.count, parsed: result.read }, 'a batch of the query result parsed to a different number of rows than it holds records');
      scored += result.scored;
      unchanged += result.unchanged;
      failed.push(...result.failed);
      await writer.write(result.lines, result.changed);
      lines += result.changed;
      if (cut) {
        // Cut only when at least a quarter of the rows so far are written: a nightly run where few
        // scores move is not worth a second ingest job. Kept in the state, so a resumed pass cuts
        // exactly where the first one did.
        if (state.cutPage === undefined) {
          state.cutPage = lines * 4 >= (cutAt ?? 0);
          await ctx.store.saveChunk(run.id, state);
        }
        if (state.cutPage) await writer.cut();
      }
      ctx.onProgress?.();
    });
  };
  try {
    for (;;) {
      // A batch ends at the cut point, so the part before it holds exactly the first half.
      const max = cutAt !== undefined && read < cutAt ? Math.min(ctx.scoreBatch, cutAt - read) : ctx.scoreBatch;
      const batch = await records(max);
      if (!batch) break;
      read += batch.count;
      await flush(batch, read === cutAt);
      state.counts.read = read;
      // Progress for `rescore --wait` and the admin endpoint, a few times a second at most.
      if (Date.now() - lastSaved > 2_000) {
        lastSaved = Date.now();
        await ctx.store.saveChunk(run.id, state);
      }
    }
  } catch (error) {
    // The page broke off: let the scoring in flight and the parts already being submitted settle
    // (their ingest jobs are recorded in the chunk state), so the next attempt starts from a state
    // no background call will overwrite, and skips what was submitted.
    await pending?.catch(() => undefined);
    await Promise.allSettled(early);
    await writer.finish().catch(() => undefined);
    throw error;
  }
  if (pending) await pending;
  await writer.finish();
  await Promise.all(early);
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round(n / 1_048_576);
  log.info({ read, scored, unchanged, failed: failed.length, parts: writer.files.length, rssMb: mb(m.rss), heapMb: mb(m.heapUsed), externalMb: mb(m.external) }, 'page scored');
  return { files: writer.files, read, scored, unchanged, failed };
}

/** Submits a main part unless it already was; an `open` job a crash left behind is replaced. */
async function ensureSubmitted(ctx: ChunkContext, state: ChunkState, save: () => Promise<void>, file: { path: string; records: number }, part: number, log: Logger): Promise<void> {
  const existing = state.jobs.find((j) => j.part === part);
  if (existing && existing.status !== 'open') return;
  if (existing) {
    // A crash left it open: its upload may be partial. Abort it and submit the part again.
    await ctx.bulk.setState(existing.id, 'Aborted').catch((error: unknown) => log.warn({ jobId: existing.id, err: (error as Error).message }, 'could not abort an ingest job left open'));
    state.jobs = state.jobs.filter((j) => j !== existing);
  }
  await submit(ctx, state, save, file, part, 0);
}

async function submit(
  ctx: ChunkContext,
  state: ChunkState,
  save: () => Promise<void>,
  file: { path: string; records: number },
  part: number,
  attempt: number,
  sources?: string[],
  onRecorded?: () => void,
): Promise<void> {
  const info = await ctx.bulk.createIngestJob('Account');
  const ref = { id: info.id, part, attempt, status: 'open' as const, records: file.records, ...(sources ? { sources } : {}) };
  state.jobs.push(ref);
  onRecorded?.();
  await save();
  await ctx.bulk.upload(info.id, file.path);
  await ctx.bulk.setState(info.id, 'UploadComplete');
  state.jobs[state.jobs.indexOf(ref)] = { ...ref, status: 'closed', closedAt: Date.now() };
  await save();
}

/** The first poll waits about as long as the emulator or a quiet org needs for this many records. */
function firstPollMs(ctx: ChunkContext, records: number): number {
  return Math.max(ctx.pollInitialMs, Math.min(ctx.pollMaxMs, Math.round(records / 400)));
}

/**
 * Before the first poll of a job: once an earlier job of the chunk finished, as long as this one
 * should still take at the pace Salesforce reported for that one (its totalProcessingTime), else the
 * default first wait.
 */
function firstWaitMs(ctx: ChunkContext, state: ChunkState, job: ChunkState['jobs'][number]): number {
  if (state.msPerRecord === undefined || job.closedAt === undefined) return firstPollMs(ctx, job.records);
  const left = job.records * state.msPerRecord * 1.15 - (Date.now() - job.closedAt);
  return Math.min(ctx.pollMaxMs, Math.max(50, Math.round(left)));
}

/**
 * Waits for an ingest job (unless its final info is already known) and counts its outcome; returns
 * the records worth resubmitting.
 */
async function collect(ctx: ChunkContext, run: RunRecord, state: ChunkState, job: ChunkState['jobs'][number], log: Logger, known?: BulkJobInfo): Promise<RecordResult[]> {
  const info: BulkJobInfo = known ?? (await ctx.bulk.waitForJob('ingest', job.id, {
      initialMs: firstWaitMs(ctx, state, job),
      maxMs: ctx.pollMaxMs,
      ...(job.closedAt ? { progress: { records: job.records, since: job.closedAt } } : {}),
    }));
  const processed = info.numberRecordsProcessed ?? 0;
  const failedCount = info.numberRecordsFailed ?? 0;
  const took = Number(info.totalProcessingTime ?? 0);
  if (processed > 0 && took > 0) state.msPerRecord = took / processed;
  const permanent: Failure[] = [];
  const retry: RecordResult[] = [];
  if (failedCount > 0) {
    for await (const r of ctx.bulk.failedResults(job.id)) {
      if (isRetryableRecordError(r.statusCode)) retry.push(r);
      else permanent.push({ id: r.id, code: r.statusCode, message: r.message });
    }
  }
  const unprocessed = Math.max(0, job.records - processed);
  if (unprocessed > 0) for await (const r of ctx.bulk.unprocessedRecords(job.id)) retry.push(r);
  if (info.state !== 'JobComplete') {
    const why = info.errorMessage ?? info.state;
    // Salesforce retries an internal batch that runs over its time limit; `retries` says how often.
    const retries = Number(info.retries ?? 0);
    log.warn({ jobId: job.id, state: info.state, errorMessage: info.errorMessage, unprocessed, retries }, 'ingest job did not complete; its unprocessed records are resubmitted');
    await ctx.store.event(
      run.id,
      `chunk ${state.index}: ingest job ${job.id} ended ${info.state} (${why}); ${processed} processed, ${unprocessed} unprocessed records resubmitted${retries > 0 ? `; Salesforce had retried its batches ${retries} times` : ''}`,
    );
  }
  await ctx.failures.record(permanent, 'nightly');
  state.counts.written += processed - failedCount;
  state.counts.failed += permanent.length;
  job.status = 'collected';
  if (retry.length > 0) state.retryFrom.push(job.id);
  return retry;
}

/**
 * The records to resubmit, from the collected jobs' failed and unprocessed records (the columns
 * sent are echoed there), written to a new file. Between steps only Salesforce holds them (read
 * back after a crash), so a crash here loses nothing.
 */
async function gatherRetries(ctx: ChunkContext, state: ChunkState, header: string, columns: string[], path: string, captured: Map<string, RecordResult[]>) {
  const stream = createWriteStream(path);
  stream.write(`${header}\n`);
  let records = 0;
  const failures: Failure[] = [];
  const add = async (r: RecordResult) => {
    const idKey = Object.keys(r.values).find((k) => k.toLowerCase() === 'id') ?? 'Id';
    let line = bulkCsvCell(r.values[idKey] ?? r.id);
    for (const c of columns) line += `,${bulkCsvCell(r.values[c])}`;
    records += 1;
    failures.push({ id: r.id || (r.values[idKey] ?? ''), code: r.statusCode || 'UNPROCESSED', message: r.message || 'not processed by the ingest job' });
    if (!stream.write(`${line}\n`)) await new Promise<void>((resolve) => stream.once('drain', resolve));
  };
  for (const jobId of state.retryFrom) {
    const known = captured.get(jobId);
    if (known) {
      for (const r of known) await add(r);
      continue;
    }
    // Resuming after a crash: read them back from Salesforce.
    const job = state.jobs.find((j) => j.id === jobId);
    for await (const r of ctx.bulk.failedResults(jobId)) if (isRetryableRecordError(r.statusCode)) await add(r);
    if (job && job.records > 0) {
      const info = await ctx.bulk.jobInfo('ingest', jobId);
      if ((info.numberRecordsProcessed ?? 0) < job.records) for await (const r of ctx.bulk.unprocessedRecords(jobId)) await add(r);
    }
  }
  await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { records, failures };
}
