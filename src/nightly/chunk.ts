/**
 * One chunk of a nightly run: one page of the Bulk query results, scored and written back with Bulk
 * ingest `update` jobs, driven through the phases of state.ts (reading → submitting → collecting →
 * retrying → done). Each phase is one method below; each transition is saved before the next step.
 *
 * - reading: with pages listed at once (run.ts) the page is read by its own locator; with chained
 *   pages its headers hand the next page to the queue (another worker starts it) or mark this one
 *   the last. The page streams in batches of whole CSV records to the scoring thread, which
 *   parses and scores them and returns the ingest lines of the records that are not unchanged; the
 *   lines go to part files of at most `ingestMaxBytes`. A large first or last page is cut in two parts
 *   (`splitPageFrom`, see cutPoint) so Salesforce starts writing while the rest is scored and the run
 *   does not end on a whole page. Scoring uses the run's fixed timestamp and model, the cut point
 *   depends only on the page, and whether to cut is kept in the state, so a second pass produces the
 *   very same parts and skips those already submitted.
 * - submitting: each part not yet submitted gets an ingest job: create, upload, close (a job a crash
 *   left `open` is aborted and replaced; a `closed` one is only waited for).
 * - collecting: while Salesforce processes the jobs and other chunks wait, the chunk hands its worker
 *   slot back (`yieldMs`: the caller delays the job) and looks once when it comes back; otherwise it
 *   polls. Each job's written and failed records are counted; locked and unprocessed records are noted
 *   for a retry job, the rest go to the failure sink with Salesforce's reason.
 * - retrying: when the retry job is due (back-off from core/retry-policy.ts; until then the slot is
 *   handed back, never slept in) the noted records are resubmitted, up to `retryAttempts` jobs; what is
 *   still failing after that is recorded as failed.
 * - done: the chunk's counts and API calls are added to the run, once.
 *
 * A page whose download breaks off or goes silent, or that ends short of its Sforce-NumberOfRecords,
 * fails the attempt with a retryable error once the parts already being submitted have settled; the
 * queue runs the chunk again, which reads the page again with the same locator (Salesforce keeps a
 * job's results while the job exists), so nothing is written twice and nothing is lost.
 */
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addCounts, sameShape, type DriftCounts } from '../core/drift.js';
import { AppError } from '../core/errors.js';
import { backoffMs, NIGHTLY_RECORD_BACKOFF, POLL_GROWTH } from '../core/retry-policy.js';
import type { Logger } from '../log/logger.js';
import { bulkCsvCell } from '../wire/bulk-csv.js';
import { pageQuota } from './budget.js';
import { MoveBands, PartWriter, TextFile, type PartFile } from './parts.js';
import type { BulkJobInfo, BulkPort, Failure, NightlyDeps, RecordResult, ResultPage } from './ports.js';
import * as S from './state.js';
import type { ChunkState, Counts, IngestRef, RunRecord } from './state.js';

export interface ChunkOutcome {
  skipped?: string;
  /** Salesforce is still processing, or a retry job is not due yet: run the chunk again after this long. */
  yieldMs?: number;
  counts?: Counts;
  finishedRun?: boolean;
}

const TERMINAL = new Set(['JobComplete', 'Failed', 'Aborted']);

/** Records kept between attempts in this process for a retry job, at most this many (beyond, they are read back). */
const RETAIN_MAX_RECORDS = 200_000;

/** The output columns written after Id, in order. */
export function outputColumns(outputs: { score: string; risk: string; factors: string; modelVersion: string; scoredAt: string }, reasons: boolean): string[] {
  return [outputs.score, outputs.risk, ...(reasons ? [outputs.factors] : []), outputs.modelVersion, outputs.scoredAt];
}

/**
 * Where the first or the last page is cut in two parts (at its middle record), or undefined. On the
 * first page Salesforce writes the first half while the second is scored; on the last one the run
 * ends when Salesforce has written the last part, so that part is half a page instead of a whole one.
 * (Cutting the last page later, at two thirds, measured slower: the first part was not written yet
 * when the second arrived.)
 */
export function cutPoint(splitPageFrom: number, index: number, page: { last: boolean; numberOfRecords: number }): number | undefined {
  const edge = index === 0 || page.last;
  if (splitPageFrom <= 0 || page.numberOfRecords < splitPageFrom || !edge) return undefined;
  return Math.ceil(page.numberOfRecords / 2);
}

/** Runs chunks for one process; keeps a chunk's retryable records between its attempts here. */
export class ChunkRunner {
  private readonly retained = new Map<string, RecordResult[]>();

  constructor(private readonly deps: NightlyDeps) {}

  async run(bulk: BulkPort, run: RunRecord, index: number, locator: string | null): Promise<ChunkOutcome> {
    const stored = await this.deps.log.chunk(run.id, index, locator);
    return new ChunkAttempt(this.deps, bulk, run, stored, this.retained).go();
  }
}

class ChunkAttempt {
  private state: ChunkState;
  private files: PartFile[] = [];
  private readonly temporary: string[] = [];
  private readonly log: Logger;
  private readonly columns: string[];
  private readonly header: string;
  private readonly tmpBase: string;
  /** Jobs seen finished when the chunk came back from handing its slot over. */
  private readonly finished = new Map<string, BulkJobInfo>();
  /** The chunk was done before this attempt began. */
  private readonly foundDone: boolean;

  constructor(
    private readonly deps: NightlyDeps,
    private readonly bulk: BulkPort,
    private readonly run: RunRecord,
    stored: ChunkState,
    private readonly retained: Map<string, RecordResult[]>,
  ) {
    this.state = S.startAttempt(stored);
    this.foundDone = stored.phase === 'done';
    this.log = deps.logger.child({ runId: run.id, chunk: stored.index });
    this.columns = outputColumns(deps.scorer.champion().spec.outputFields, deps.settings.reasons);
    this.header = ['Id', ...this.columns].join(',');
    this.tmpBase = join(deps.settings.tmpDir ?? tmpdir(), `churn-nightly-${run.id}-${stored.index}-${process.pid}`);
  }

  /** Part files (and their history companions) to delete when this attempt ends, each once. */
  private removeLater(files: ReadonlyArray<{ path: string; companion?: string }>): void {
    for (const f of files) {
      for (const path of f.companion ? [f.path, f.companion] : [f.path]) if (!this.temporary.includes(path)) this.temporary.push(path);
    }
  }

  private get index(): number {
    return this.state.index;
  }

  /** Applies a transition and saves the new state. */
  private async apply(transition: (state: ChunkState) => ChunkState): Promise<void> {
    this.state = transition(this.state);
    await this.deps.log.saveChunk(this.run.id, this.state);
  }

  async go(): Promise<ChunkOutcome> {
    try {
      for (;;) {
        switch (this.state.phase) {
          case 'reading':
            await this.read();
            break;
          case 'submitting':
            await this.submitParts();
            break;
          case 'collecting': {
            const wait = await this.collect();
            if (wait !== undefined) return { yieldMs: wait };
            break;
          }
          case 'retrying': {
            const wait = await this.retry();
            if (wait !== undefined) return { yieldMs: wait };
            break;
          }
          case 'done':
            return await this.finish();
        }
      }
    } finally {
      await Promise.all(this.temporary.map((p) => rm(p, { force: true })));
    }
  }

  // --- reading ---------------------------------------------------------------------------------

  private async read(): Promise<void> {
    const { deps, run } = this;
    // A listed page is read whole by its locator; a chained one by maxRecords, and it names the next.
    const parallel = run.pages === 'parallel';
    const page = await this.bulk.resultPage(run.queryJobId!, this.state.locator, parallel ? undefined : deps.settings.chunkSize);
    const last = parallel ? this.index === (run.chunksTotal ?? 0) - 1 : page.nextLocator === null;
    if (this.state.next === undefined) {
      if (parallel) {
        await this.apply((s) => S.nextHandedOn(s, last ? 'last' : 'enqueued'));
      } else if (page.nextLocator) {
        await deps.queue.enqueueChunk(run.id, this.index + 1, page.nextLocator);
        await this.apply((s) => S.nextHandedOn(s, 'enqueued'));
      } else {
        await deps.log.setChunksTotal(run.id, this.index + 1);
        await this.apply((s) => S.nextHandedOn(s, 'last'));
      }
    }
    const pass = await this.scorePage(page, last);
    // The shadow's rows of the page, once it is scored (a crash before the page's state is saved may
    // append them a second time; they are a comparison, not a record of what was written).
    if (pass.shadowFile) await this.keep('shadow scores', () => deps.shadowScores!.appendFile(pass.shadowFile!));
    // The page's drift counts (a page read again replaces its own, so a retry counts nothing twice) and
    // labels (a page read again appends them again; the accuracy counts each Account once).
    if (pass.drift && deps.monitoring) await this.keep('drift counts', () => deps.monitoring!.pageCounts(run.id, this.index, pass.drift!));
    if (pass.labelsFile) await this.keep('labels', () => deps.monitoring!.labels!.appendFile(pass.labelsFile!));
    // A page that ended early without a network error (a proxy that closed the body cleanly) must not
    // pass for a whole one: its missing records would never be scored.
    if (Number.isFinite(page.numberOfRecords) && pass.read !== page.numberOfRecords) {
      throw new AppError({
        code: 'SF_UNAVAILABLE',
        message: `The results page of chunk ${this.index} ended after ${pass.read} of its ${page.numberOfRecords} records; it will be read again with the same locator.`,
        retryable: true,
        details: { read: pass.read, expected: page.numberOfRecords },
      });
    }
    this.files = pass.files;
    await deps.failures.record(pass.failed, { runId: run.id });
    await this.apply((s) => S.pageScored(s, { read: pass.read, scored: pass.scored, unchanged: pass.unchanged, failed: pass.failed.length, parts: pass.files.length, deferred: pass.deferred }));
    if (pass.deferred > 0) this.log.info({ deferred: pass.deferred, written: pass.files.reduce((n, f) => n + f.records, 0) }, 'page over its share of the Bulk budget: the largest moves are written, the rest left for the next run');
  }

  private async scorePage(page: ResultPage, last: boolean) {
    const { deps, run } = this;
    const { settings } = deps;
    // Short of Bulk budget (budget.ts), the page writes its share of the run's limit, largest moves
    // first: its lines are kept in bands of how far they moved until the page is scored, and not cut.
    const quota = run.writeBatches === undefined ? undefined : pageQuota(run.writeBatches, this.index, run.chunksTotal ?? Math.max(1, Math.ceil((run.total ?? 0) / settings.chunkSize)));
    const bands = quota === undefined ? undefined : new MoveBands(`${this.tmpBase}-band`, deps.history !== undefined);
    if (bands) this.temporary.push(...bands.paths);
    const cutAt = quota === undefined ? cutPoint(settings.splitPageFrom, this.index, { last, numberOfRecords: page.numberOfRecords }) : undefined;
    const now = run.scoredAtMs ?? Date.now();
    // Parts complete before the page is are submitted while the rest is scored; awaited below.
    const early: Array<Promise<void>> = [];
    const writer = new PartWriter(
      this.tmpBase,
      this.header,
      settings.ingestMaxBytes,
      (file, part) => {
        const submitting = this.ensureSubmitted(file, part);
        submitting.catch(() => undefined);
        early.push(submitting);
      },
      deps.history !== undefined,
    );
    // The shadow's rows, when the run pinned a shadow and there is somewhere to keep them.
    const shadowVersion = deps.shadowScores ? run.shadowVersion : undefined;
    const shadow = new TextFile(`${this.tmpBase}-shadow.copy`);
    this.temporary.push(shadow.path);
    let shadowWarned = false;
    const history = deps.history ? { runId: run.id } : undefined;
    const monitoring = deps.monitoring !== undefined;
    let drift: DriftCounts | undefined;
    const labelField = deps.monitoring?.labels?.field;
    const labels = new TextFile(`${this.tmpBase}-labels.copy`);
    this.temporary.push(labels.path);
    const failed: Failure[] = [];
    let read = 0;
    let scored = 0;
    let unchanged = 0;
    let lines = 0;
    // The thread parses and scores one batch while the next one is read; this thread only finds where
    // records end and writes the lines of the records that change.
    let pending: Promise<void> | undefined;
    let lastSaved = Date.now();
    const flush = async (csv: NonNullable<Awaited<ReturnType<ResultPage['records']>>>, cut: boolean) => {
      const scoring = deps.scorer.rescoreRows({ header: page.header, csv, columns: this.columns, reasons: settings.reasons, now, history, ...(monitoring ? { drift: true } : {}), ...(labelField ? { labels: { field: labelField, runId: run.id } } : {}) }, run.modelVersion ?? deps.scorer.champion().version, shadowVersion);
      if (pending) await pending;
      pending = scoring.then(async (result) => {
        if (result.read !== csv.count) this.log.warn({ records: csv.count, parsed: result.read }, 'a batch of the query result parsed to a different number of rows than it holds records');
        scored += result.scored;
        unchanged += result.unchanged;
        failed.push(...result.failed);
        if (result.drift) drift = drift && sameShape(drift, result.drift) ? addCounts(drift, result.drift) : (drift ?? result.drift);
        if (result.labels) await labels.write(result.labels);
        if (bands) await bands.add(result.lines, result.moves ?? [], result.history);
        else await writer.write(result.lines, result.changed, result.history);
        lines += result.changed;
        if (result.shadowError && !shadowWarned) {
          shadowWarned = true;
          this.log.warn({ shadowVersion, reason: result.shadowError }, 'the shadow could not score a batch; the champion\'s scores are written as usual');
        }
        if (result.shadow) await shadow.write(result.shadow);
        if (cut) {
          // Cut only when at least a quarter of the rows so far are written: a night where few scores
          // move is not worth a second ingest job. Kept in the state, so a resumed pass cuts where the
          // first one did.
          if (this.state.cutPage === undefined) await this.apply((s) => S.cutDecided(s, lines * 4 >= (cutAt ?? 0)));
          if (this.state.cutPage) await writer.cut();
        }
      });
    };
    try {
      for (;;) {
        // A batch ends at the cut point, so the part before it holds exactly the first half.
        const max = cutAt !== undefined && read < cutAt ? Math.min(settings.scoreBatch, cutAt - read) : settings.scoreBatch;
        const batch = await page.records(max);
        if (!batch) break;
        read += batch.count;
        await flush(batch, read === cutAt);
        this.state = S.readProgress(this.state, read);
        // Progress for `rescore --wait` and the admin endpoint, every few seconds.
        if (Date.now() - lastSaved > 2_000) {
          lastSaved = Date.now();
          await deps.log.saveChunk(run.id, this.state);
        }
      }
    } catch (error) {
      // The page broke off: let the scoring in flight and the parts already being submitted settle
      // (their ingest jobs are recorded in the chunk state), so the next attempt starts from a state
      // no background call will overwrite, and skips what was submitted.
      await pending?.catch(() => undefined);
      await Promise.allSettled(early);
      await writer.finish().catch(() => undefined);
      shadow.abandon();
      labels.abandon();
      throw error;
    } finally {
      this.removeLater(writer.files);
    }
    if (pending) await pending;
    let deferred = 0;
    if (bands) deferred = lines - (await bands.drainInto(writer, quota!));
    await writer.finish();
    // Parts written from the budget's bands are made only now.
    this.removeLater(writer.files);
    await shadow.finish();
    await labels.finish();
    await Promise.all(early);
    const m = process.memoryUsage();
    const mb = (n: number) => Math.round(n / 1_048_576);
    this.log.info({ read, scored, unchanged, failed: failed.length, parts: writer.files.length, rssMb: mb(m.rss), heapMb: mb(m.heapUsed), externalMb: mb(m.external) }, 'page scored');
    return { files: writer.files, read, scored, unchanged, failed, deferred, shadowFile: shadow.written ? shadow.path : undefined, drift, labelsFile: labels.written ? labels.path : undefined };
  }

  // --- submitting ------------------------------------------------------------------------------

  private async submitParts(): Promise<void> {
    for (let part = 0; part < (this.state.parts ?? 0); part++) await this.ensureSubmitted(this.files[part]!, part);
    await this.apply(S.partsSubmitted);
  }

  /** Submits a main part unless it already was; an `open` job a crash left behind is replaced. */
  private async ensureSubmitted(file: PartFile, part: number): Promise<void> {
    if (!S.partPending(this.state, part)) return;
    const open = this.state.jobs.find((j) => j.part === part);
    if (open) {
      // A crash left it open: its upload may be partial. Abort it and submit the part again.
      await this.bulk.setState(open.id, 'Aborted').catch((error: unknown) => this.log.warn({ jobId: open.id, err: error }, 'could not abort an ingest job left open'));
      await this.apply((s) => S.jobAborted(s, open.id));
    }
    await this.submit(file, { part, attempt: 0 }, open !== undefined);
  }

  /**
   * Creates an ingest job for the file (recorded open before the upload), uploads and closes it. A
   * main part's score history rows are appended meanwhile, once its job exists: a part resubmitted
   * after a crash first removes what its earlier job may have appended, so no score counts twice.
   */
  private async submit(file: PartFile, job: { part: number; attempt: number; sources?: string[] }, replaced = false): Promise<void> {
    const info = await this.bulk.createIngestJob('Account');
    await this.apply((s) => S.jobOpened(s, { id: info.id, ...job, records: file.records }));
    const history = this.deps.history;
    const recording = history && file.companion ? this.recordHistory(history, file.companion, replaced) : undefined;
    await this.bulk.upload(info.id, file.path);
    await this.bulk.setState(info.id, 'UploadComplete');
    await this.apply((s) => S.jobClosed(s, info.id, Date.now()));
    await recording;
  }

  private recordHistory(history: NonNullable<NightlyDeps['history']>, companion: string, replaced: boolean): Promise<void> {
    return this.keep('score history', async () => {
      if (replaced) await history.remove(this.run.id, await idsIn(companion));
      await history.appendFile(companion);
    });
  }

  /** Records Salesforce refused for good: their history rows go again (they were appended with their part). */
  private async forgetHistory(ids: readonly string[]): Promise<void> {
    const history = this.deps.history;
    if (history && ids.length > 0) await this.keep('score history', () => history.remove(this.run.id, ids));
  }

  /**
   * The system of record is a record of what happened: failing to write to it is logged and never
   * fails a chunk whose scores Salesforce holds.
   */
  private async keep(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log.warn({ err: error }, `could not update the ${what} in the system of record`);
    }
  }

  // --- collecting ------------------------------------------------------------------------------

  /** Collects every closed job; answers a wait when the slot is handed back instead. */
  private async collect(): Promise<number | undefined> {
    const { settings, queue } = this.deps;
    // A retry job a crash left open: abort it; its sources wait for another.
    for (const open of this.state.jobs.filter((j) => j.part < 0 && j.status === 'open')) {
      await this.bulk.setState(open.id, 'Aborted').catch(() => undefined);
      await this.apply((s) => S.jobAborted(s, open.id));
    }
    const processing = () => this.state.jobs.filter((j) => j.status === 'closed' && !this.finished.has(j.id));
    if (processing().length > 0) {
      if (this.state.yieldedMs !== undefined) {
        for (const job of processing()) {
          const info = await this.bulk.jobInfo('ingest', job.id);
          if (TERMINAL.has(info.state)) this.finished.set(job.id, info);
        }
      }
      if (processing().length > 0 && (await queue.othersWaiting())) {
        await this.apply((s) => S.yielded(s, settings.pollInitialMs, settings.pollMaxMs, POLL_GROWTH));
        this.log.info({ waitMs: this.state.yieldedMs, jobs: processing().length }, 'ingest jobs processing; taking another chunk meanwhile');
        return this.state.yieldedMs;
      }
    }
    // The job closed last is awaited first: by the time it is done the earlier ones usually are too,
    // so each of those costs one status call instead of a poll series of its own.
    const closed = this.state.jobs.filter((j) => j.status === 'closed').sort((a, b) => (b.closedAt ?? 0) - (a.closedAt ?? 0));
    for (const job of closed) await this.collectJob(job);
    await this.apply((s) => S.afterCollecting(s, settings.retryAttempts, Date.now(), this.retryDelay));
    return undefined;
  }

  private retryDelay = (attempt: number): number => this.deps.settings.retryDelayMs?.(attempt) ?? backoffMs(attempt, NIGHTLY_RECORD_BACKOFF);

  /**
   * Before the first poll of a job: once an earlier job of the chunk finished, as long as this one
   * should still take at the pace Salesforce reported for that one (its totalProcessingTime); else the
   * first poll interval.
   */
  private firstWaitMs(job: IngestRef): number {
    const { pollInitialMs, pollMaxMs } = this.deps.settings;
    if (this.state.msPerRecord === undefined || job.closedAt === undefined) return pollInitialMs;
    const left = job.records * this.state.msPerRecord * 1.15 - (Date.now() - job.closedAt);
    return Math.min(pollMaxMs, Math.max(50, Math.round(left)));
  }

  /** Waits for an ingest job (unless its final info is already known) and counts its outcome. */
  private async collectJob(job: IngestRef): Promise<void> {
    const { settings, failures, log } = this.deps;
    const info =
      this.finished.get(job.id) ??
      (await this.bulk.waitForJob('ingest', job.id, {
        initialMs: this.firstWaitMs(job),
        maxMs: settings.pollMaxMs,
        ...(job.closedAt ? { progress: { records: job.records, since: job.closedAt } } : {}),
      }));
    const processed = info.numberRecordsProcessed ?? 0;
    const failedCount = info.numberRecordsFailed ?? 0;
    const took = Number(info.totalProcessingTime ?? 0);
    const permanent: Failure[] = [];
    const retry: RecordResult[] = [];
    if (failedCount > 0) {
      for await (const r of this.bulk.failedResults(job.id)) {
        if (r.retryable) retry.push(r);
        else permanent.push({ id: r.id, code: r.statusCode, message: r.message });
      }
    }
    const unprocessed = Math.max(0, job.records - processed);
    if (unprocessed > 0) for await (const r of this.bulk.unprocessedRecords(job.id)) retry.push(r);
    if (info.state !== 'JobComplete') {
      const why = info.errorMessage ?? info.state;
      // Salesforce retries an internal batch that runs over its time limit; `retries` says how often.
      const retries = Number(info.retries ?? 0);
      this.log.warn({ jobId: job.id, state: info.state, errorMessage: info.errorMessage, unprocessed, retries }, 'ingest job did not complete; its unprocessed records are resubmitted');
      await log.event(
        this.run.id,
        `chunk ${this.index}: ingest job ${job.id} ended ${info.state} (${why}); ${processed} processed, ${unprocessed} unprocessed records resubmitted${retries > 0 ? `; Salesforce had retried its batches ${retries} times` : ''}`,
      );
    }
    await failures.record(permanent, { runId: this.run.id });
    await this.forgetHistory(permanent.map((f) => f.id));
    if (retry.length > 0 && this.retainedRecords() + retry.length <= RETAIN_MAX_RECORDS) this.retained.set(job.id, retry);
    await this.apply((s) => S.jobCollected(s, job.id, { written: processed - failedCount, failed: permanent.length, retry: retry.length > 0, msPerRecord: processed > 0 && took > 0 ? took / processed : undefined }));
  }

  private retainedRecords(): number {
    let n = 0;
    for (const records of this.retained.values()) n += records.length;
    return n;
  }

  // --- retrying --------------------------------------------------------------------------------

  /** Submits the retry job when it is due (answers the wait until then), or records what is left as failed. */
  private async retry(): Promise<number | undefined> {
    const state = this.state;
    const { settings, failures, log } = this.deps;
    if (state.retryAt !== undefined && Date.now() < state.retryAt) return state.retryAt - Date.now();
    const file = `${this.tmpBase}-retry-${state.retryAttempt + 1}.csv`;
    this.temporary.push(file);
    const rows = await this.gatherRetries(file);
    if (rows.records === 0) {
      await this.apply((s) => S.retriesClosed(s, 0));
      return undefined;
    }
    if (S.retriesExhausted(state, settings.retryAttempts)) {
      const gaveUp: Failure[] = rows.failures.map((f) => ({ ...f, message: `${f.message} (gave up after ${state.retryAttempt + 1} ingest jobs)` }));
      await failures.record(gaveUp, { runId: this.run.id });
      await this.forgetHistory(gaveUp.map((f) => f.id));
      await this.apply((s) => S.retriesClosed(s, gaveUp.length));
      await log.event(this.run.id, `chunk ${this.index}: ${gaveUp.length} records still failing after ${state.retryAttempt + 1} ingest jobs were recorded as failed`);
      return undefined;
    }
    this.log.info({ records: rows.records, attempt: state.retryAttempt + 1 }, 'resubmitting records that may pass later');
    await this.submit({ path: file, records: rows.records }, { part: -1, attempt: state.retryAttempt + 1, sources: state.retryFrom });
    for (const source of state.retryFrom) this.retained.delete(source);
    return undefined;
  }

  /**
   * The records to resubmit, from the collected jobs' failed and unprocessed records (the columns sent
   * are echoed there), written to a new file. Kept in this process between attempts; read back from
   * Salesforce otherwise (after a crash, or on another worker), so a crash here loses nothing.
   */
  private async gatherRetries(path: string): Promise<{ records: number; failures: Failure[] }> {
    const stream = createWriteStream(path);
    stream.write(`${this.header}\n`);
    let records = 0;
    const failures: Failure[] = [];
    const add = async (r: RecordResult) => {
      const idKey = Object.keys(r.values).find((k) => k.toLowerCase() === 'id') ?? 'Id';
      let line = bulkCsvCell(r.values[idKey] ?? r.id);
      for (const c of this.columns) line += `,${bulkCsvCell(r.values[c])}`;
      records += 1;
      failures.push({ id: r.id || (r.values[idKey] ?? ''), code: r.statusCode || 'UNPROCESSED', message: r.message || 'not processed by the ingest job' });
      if (!stream.write(`${line}\n`)) await new Promise<void>((resolve) => stream.once('drain', resolve));
    };
    for (const jobId of this.state.retryFrom) {
      const known = this.retained.get(jobId);
      if (known) {
        for (const r of known) await add(r);
        continue;
      }
      const job = this.state.jobs.find((j) => j.id === jobId);
      for await (const r of this.bulk.failedResults(jobId)) if (r.retryable) await add(r);
      if (job && job.records > 0) {
        const info = await this.bulk.jobInfo('ingest', jobId);
        if ((info.numberRecordsProcessed ?? 0) < job.records) for await (const r of this.bulk.unprocessedRecords(jobId)) await add(r);
      }
    }
    await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    return { records, failures };
  }

  // --- done ------------------------------------------------------------------------------------

  private async finish(): Promise<ChunkOutcome> {
    const { counts, jobs } = this.state;
    // Adds the counts once: for a chunk found done (a duplicate delivery, or a crash between its last
    // save and this call) it adds nothing, but still finishes the run if that call was what was missing.
    const finishedRun = await this.deps.log.finishChunk(this.run.id, this.index, counts, this.bulk.takeCalls());
    for (const job of jobs) this.retained.delete(job.id);
    if (this.foundDone) return { skipped: 'already done', counts, finishedRun };
    this.log.info({ ...counts, ingestJobs: jobs.length }, 'chunk done');
    return { counts, finishedRun };
  }
}

/** The Account ids of a history file (the first field of each COPY text line). */
async function idsIn(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const ids: string[] = [];
  for (let at = 0; at < text.length; ) {
    const tab = text.indexOf('\t', at);
    const end = text.indexOf('\n', at);
    if (tab < 0 || end < 0) break;
    ids.push(text.slice(at, tab));
    at = end + 1;
  }
  return ids;
}
