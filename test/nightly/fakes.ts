/** In-memory fakes of the nightly core's ports: Bulk API 2.0, the run log, the scorer, the failure sink, the queue. */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log/logger.js';
import type { BulkJobInfo, BulkPort, Failure, NightlyDeps, RecordResult, ResultPage, RowsRequest, RowsResult, RunLog } from '../../src/nightly/ports.js';
import { COUNT_FIELDS, emptyCounts, newChunk, type ChunkState, type Counts, type RunRecord, type RunUpdate } from '../../src/nightly/state.js';
import { bulkCsvCell, parseCsvRecords } from '../../src/wire/bulk-csv.js';
import { copyLine, parseCopyLine } from '../../src/wire/copy-text.js';

export const OUTPUTS = { score: 'Churn_Score__c', risk: 'Churn_Risk__c', factors: 'Churn_Top_Factors__c', modelVersion: 'Churn_Model_Version__c', scoredAt: 'Churn_Scored_At__c' };
export const HEADER = ['Id', 'Tenure_Months__c', 'Churn_Score__c'];

export function accountId(i: number): string {
  return `001${String(i).padStart(12, '0')}`;
}

/** A Bulk API 2.0 org in memory: one query job of `records` Accounts; ingest jobs applied on close. */
export class FakeBulk implements BulkPort {
  calls = 0;
  private taken = 0;
  readonly written = new Map<string, number>();
  readonly jobs = new Map<string, { state: BulkJobInfo['state']; lines: string[][]; header: string[]; failed: RecordResult[] }>();
  /** Ids Salesforce cannot lock this many more times. */
  readonly locked = new Map<string, number>();
  /** Ids refused for good (a validation rule). */
  readonly refused = new Set<string>();
  remaining = 1_000_000;
  queryState: BulkJobInfo['state'] = 'JobComplete';
  /** Makes the next upload throw (a worker that dies after creating its job). */
  dieOnUpload = false;
  /** Sends this many records fewer than the page says it holds. */
  shortBy = 0;
  private next = 1;

  constructor(readonly records: number) {}

  private count(): void {
    this.calls += 1;
  }

  takeCalls(): number {
    const n = this.calls - this.taken;
    this.taken = this.calls;
    return n;
  }

  async dailyApiUsage() {
    this.count();
    return { used: 1_000_000 - this.remaining, limit: 1_000_000, remaining: this.remaining };
  }

  async createQueryJob(_soql?: string): Promise<{ id: string }> {
    this.count();
    return { id: '750Q' };
  }

  async waitForJob(kind: 'query' | 'ingest', id: string): Promise<BulkJobInfo> {
    return this.jobInfo(kind, id);
  }

  async jobInfo(kind: 'query' | 'ingest', id: string): Promise<BulkJobInfo> {
    this.count();
    if (kind === 'query') return { id, state: this.queryState, numberRecordsProcessed: this.records, ...(this.queryState === 'Failed' ? { errorMessage: 'query timed out' } : {}) };
    const job = this.jobs.get(id)!;
    return { id, state: job.state, numberRecordsProcessed: job.lines.length, numberRecordsFailed: job.failed.length, totalProcessingTime: job.lines.length };
  }

  async resultPage(_jobId: string, locator: string | null, maxRecords: number): Promise<ResultPage> {
    this.count();
    const from = locator === null ? 0 : Number(locator);
    const to = Math.min(this.records, from + maxRecords);
    let at = from;
    const sent = to - this.shortBy;
    return {
      nextLocator: to < this.records ? String(to) : null,
      numberOfRecords: to - from,
      header: HEADER,
      records: async (max) => {
        if (at >= sent) return null;
        const end = Math.min(sent, at + max);
        const text = Array.from({ length: end - at }, (_, k) => `"${accountId(at + k)}","${(at + k) % 72}",""\n`).join('');
        const count = end - at;
        at = end;
        return { bytes: new TextEncoder().encode(text), count };
      },
      cancel: async () => undefined,
    };
  }

  async createIngestJob(): Promise<{ id: string }> {
    this.count();
    const id = `750I${this.next++}`;
    this.jobs.set(id, { state: 'Open', lines: [], header: [], failed: [] });
    return { id };
  }

  async upload(jobId: string, csvFile: string): Promise<void> {
    this.count();
    if (this.dieOnUpload) {
      this.dieOnUpload = false;
      throw new Error('worker died');
    }
    const [header, ...lines] = parseCsvRecords(readFileSync(csvFile));
    Object.assign(this.jobs.get(jobId)!, { header, lines });
  }

  async setState(jobId: string, state: 'UploadComplete' | 'Aborted'): Promise<unknown> {
    this.count();
    const job = this.jobs.get(jobId)!;
    if (state === 'Aborted') {
      job.state = 'Aborted';
      job.lines = [];
      return {};
    }
    // Processed at once: each line written, or failed (locked: retryable; refused: for good).
    for (const line of job.lines) {
      const id = line[0]!;
      const locks = this.locked.get(id) ?? 0;
      const values = Object.fromEntries(job.header.map((h, i) => [h, line[i] ?? '']));
      if (locks > 0) {
        this.locked.set(id, locks - 1);
        job.failed.push({ id, statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record', retryable: true, values });
      } else if (this.refused.has(id)) {
        job.failed.push({ id, statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Score locked by finance', retryable: false, values });
      } else {
        this.written.set(id, (this.written.get(id) ?? 0) + 1);
      }
    }
    job.state = 'JobComplete';
    return {};
  }

  async *failedResults(jobId: string): AsyncIterable<RecordResult> {
    this.count();
    yield* this.jobs.get(jobId)!.failed;
  }

  // eslint-disable-next-line require-yield
  async *unprocessedRecords(): AsyncIterable<RecordResult> {
    this.count();
  }
}

/** The run log in memory. */
export class FakeLog implements RunLog {
  readonly runs = new Map<string, RunRecord>();
  readonly chunks = new Map<string, ChunkState>();
  readonly done = new Map<string, Set<number>>();
  readonly events: string[] = [];
  active: string | undefined;

  async create(id: string, trigger: string, where?: string): Promise<RunRecord> {
    if (!this.runs.has(id)) this.runs.set(id, { id, state: 'queued', trigger, where, createdAt: new Date().toISOString(), chunksDone: 0, apiCalls: 0, counts: emptyCounts() });
    return { ...this.runs.get(id)! };
  }
  async get(id: string) {
    const run = this.runs.get(id);
    return run ? { ...run, counts: { ...run.counts } } : undefined;
  }
  async update(id: string, fields: RunUpdate) {
    Object.assign(this.runs.get(id)!, fields);
  }
  async addCalls(id: string, calls: number) {
    this.runs.get(id)!.apiCalls += calls;
  }
  async event(_id: string, message: string) {
    this.events.push(message);
  }
  async claimActive(id: string) {
    if (!this.active || this.active === id) {
      this.active = id;
      return { claimed: true as const };
    }
    return { claimed: false as const, activeId: this.active };
  }
  async releaseActive(id: string) {
    if (this.active === id) this.active = undefined;
  }
  async chunk(id: string, index: number, locator: string | null) {
    const stored = this.chunks.get(`${id}:${index}`);
    return stored ? structuredClone(stored) : newChunk(index, locator);
  }
  async saveChunk(id: string, state: ChunkState) {
    this.chunks.set(`${id}:${state.index}`, structuredClone(state));
  }
  async finishChunk(id: string, index: number, counts: Counts, apiCalls: number) {
    const run = this.runs.get(id)!;
    const done = this.done.get(id) ?? new Set<number>();
    this.done.set(id, done);
    if (!done.has(index)) {
      done.add(index);
      for (const f of COUNT_FIELDS) run.counts[f] += counts[f];
      run.apiCalls += apiCalls;
    }
    run.chunksDone = done.size;
    if (run.chunksTotal !== undefined && done.size >= run.chunksTotal && run.state === 'running') {
      run.state = run.counts.failed > 0 ? 'completed-with-failures' : 'completed';
      if (this.active === id) this.active = undefined;
      return true;
    }
    return false;
  }
  async setChunksTotal(id: string, total: number) {
    this.runs.get(id)!.chunksTotal = total;
  }
  async fail(id: string, message: string) {
    Object.assign(this.runs.get(id)!, { state: 'failed', message });
    await this.releaseActive(id);
  }
}

/** Scores every record 42.5 / Medium; a record whose current score is already 42.5 is unchanged. */
export async function fakeRescoreRows(request: RowsRequest): Promise<RowsResult> {
  const rows = parseCsvRecords(request.csv.bytes);
  let lines = '';
  let history = '';
  let unchanged = 0;
  for (const row of rows) {
    if (row[2] === '42.5') {
      unchanged += 1;
      continue;
    }
    lines += `${bulkCsvCell(row[0])},42.5,Medium,${request.columns.includes(OUTPUTS.factors) ? 'Tenure_Months__c=1 (+2.0),' : ''}fake-1,${new Date(request.now).toISOString()}\n`;
    if (request.history) history += copyLine([row[0]!, new Date(request.now), 42.5, 'Medium', null, 'fake-1', 'nightly', request.history.runId]);
  }
  return { read: rows.length, lines, changed: rows.length - unchanged, scored: rows.length, unchanged, failed: [], ...(request.history ? { history } : {}) };
}

export interface Fakes {
  bulk: FakeBulk;
  log: FakeLog;
  failures: Failure[];
  enqueued: Array<{ index: number; locator: string | null }>;
  deps: NightlyDeps;
  cleanup(): void;
}

export function fakes(records: number, settings: Partial<NightlyDeps['settings']> = {}): Fakes {
  const dir = mkdtempSync(join(tmpdir(), 'churn-nightly-test-'));
  const bulk = new FakeBulk(records);
  const log = new FakeLog();
  const failures: Failure[] = [];
  const enqueued: Fakes['enqueued'] = [];
  const deps: NightlyDeps = {
    openBulk: () => bulk,
    log,
    scorer: { champion: () => ({ version: 'fake-1', spec: { features: [{ field: 'Tenure_Months__c' }], outputFields: OUTPUTS } }), shadow: () => null, rescoreRows: fakeRescoreRows },
    failures: { record: async (f) => void failures.push(...f) },
    queue: { enqueueChunk: async (_runId, index, locator) => void enqueued.push({ index, locator }), othersWaiting: async () => false },
    settings: {
      chunkSize: 1_000,
      scoreBatch: 100,
      ingestMaxBytes: 100_000_000,
      retryAttempts: 3,
      splitPageFrom: 0,
      reasons: false,
      pollInitialMs: 10,
      pollMaxMs: 50,
      apiReserve: 100,
      reserveWaitMs: 1_000,
      tmpDir: dir,
      ...settings,
    },
    logger: createLogger('silent'),
  };
  return { bulk, log, failures, enqueued, deps, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A run already querying done: running, its query job known, scored at a fixed time. */
export async function runningRun(log: FakeLog, id = 'run-1'): Promise<RunRecord> {
  await log.create(id, 'manual');
  await log.update(id, { state: 'running', queryJobId: '750Q', scoredAtMs: Date.UTC(2026, 0, 1), modelVersion: 'fake-1' });
  return (await log.get(id))!;
}

/** The score history in memory: rows appended from files, removed by run and Account. */
export class FakeHistory {
  rows: Array<{ id: string; runId: string }> = [];
  async appendFile(file: string): Promise<void> {
    for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
      const cells = parseCopyLine(line);
      this.rows.push({ id: cells[0]!, runId: cells[7]! });
    }
  }
  async remove(runId: string, ids: readonly string[]): Promise<void> {
    const gone = new Set(ids);
    this.rows = this.rows.filter((r) => r.runId !== runId || !gone.has(r.id));
  }
  async trim() {
    return { removed: 0, days: 400 };
  }
}
