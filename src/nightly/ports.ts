/**
 * What the nightly run needs from the world, as interfaces: Bulk API 2.0 (salesforce/bulk.ts), the
 * run log that survives a crash (queue/nightly-store.ts, in Redis), the scorer (the scoring thread),
 * the failure sink, and the queue that runs the next page. The adapters are wired in
 * runtime/nightly.ts; tests pass fakes. Nothing here imports bullmq, ioredis, pg or jsforce.
 */
import type { DriftCounts } from '../core/drift.js';
import type { Logger } from '../log/logger.js';
import type { RecordBatch } from '../wire/bulk-csv.js';
import type { ChunkState, Counts, RunRecord, RunUpdate } from './state.js';

export type BulkJobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

export interface BulkJobInfo {
  id: string;
  state: BulkJobState;
  numberRecordsProcessed?: number;
  numberRecordsFailed?: number;
  errorMessage?: string;
  [key: string]: unknown;
}

export interface PollOptions {
  initialMs?: number;
  maxMs?: number;
  /** An ingest job's record count and when it was closed: polls are timed by the progress seen. */
  progress?: { records: number; since: number };
}

export interface ResultPage {
  /** Locator of the next page, or null after the last page. */
  nextLocator: string | null;
  /** Records the page holds (Sforce-NumberOfRecords), NaN when not said. */
  numberOfRecords: number;
  header: string[];
  /** The page's records, unparsed, in batches of at most `max` whole records. */
  records(max: number): Promise<RecordBatch | null>;
  cancel(): Promise<void>;
}

/** A record an ingest job failed or did not process, with the columns that were sent. */
export interface RecordResult {
  id: string;
  /** Salesforce's status code (empty for an unprocessed record). */
  statusCode: string;
  message: string;
  /** Whether it may pass in a later job (a lock, an unprocessed record); decided by the Salesforce boundary. */
  retryable: boolean;
  values: Record<string, string>;
}

export interface AllowanceReading {
  used: number;
  limit: number;
  remaining: number;
  /** Why /limits could not be read (the usage header was used instead). */
  refusal?: { message: string };
  /** Bulk API batches left today (DailyBulkApiBatches), when /limits was read. */
  bulkBatches?: { max: number; remaining: number };
  /** Bulk API 2.0 query jobs left today (DailyBulkV2QueryJobs), when /limits was read. */
  queryJobs?: { max: number; remaining: number };
}

/** Bulk API 2.0, metered: `takeCalls()` answers the calls made since it was last asked. */
export interface BulkPort {
  dailyApiUsage(): Promise<AllowanceReading>;
  createQueryJob(soql: string): Promise<{ id: string }>;
  waitForJob(kind: 'query' | 'ingest', id: string, poll?: PollOptions): Promise<BulkJobInfo>;
  jobInfo(kind: 'query' | 'ingest', id: string): Promise<BulkJobInfo>;
  /** One page: by `maxRecords` from a chained locator, or (no maxRecords) the page a listed locator names. */
  resultPage(jobId: string, locator: string | null, maxRecords?: number): Promise<ResultPage>;
  /** Whether `resultPageLocators` may be used (Salesforce lists result pages from API 58.0). */
  readonly parallelResults?: boolean;
  /** The locators of every result page, for parallel download (`resultPages`). */
  resultPageLocators?(jobId: string): Promise<string[]>;
  /** Bytes of bodies moved since last asked: CSV read, CSV uploaded, uploads as sent (compressed). */
  takeBytes?(): { downloaded: number; uploaded: number; uploadedWire: number };
  createIngestJob(object: string): Promise<{ id: string }>;
  upload(jobId: string, csvFile: string): Promise<void>;
  setState(jobId: string, state: 'UploadComplete' | 'Aborted'): Promise<unknown>;
  failedResults(jobId: string): AsyncIterable<RecordResult>;
  unprocessedRecords(jobId: string): AsyncIterable<RecordResult>;
  takeCalls(): number;
  /** Calls made through this object so far. */
  readonly calls?: number;
}

/** What one worker process spent on a run: calls, bytes, time with a job of the run in hand. */
export interface WorkerStats {
  calls: number;
  /** Query results read (CSV bytes). */
  downloaded: number;
  /** Ingest CSV uploaded, and what it took on the wire. */
  uploaded: number;
  uploadedWire: number;
  /** Time this process had at least one of the run's jobs in hand. */
  busyMs: number;
  jobs: number;
}

/** The run record and the chunks' states, kept where a crash does not lose them. */
export interface RunLog {
  create(id: string, trigger: string, where?: string): Promise<RunRecord>;
  get(id: string): Promise<RunRecord | undefined>;
  update(id: string, fields: RunUpdate): Promise<void>;
  addCalls(id: string, calls: number): Promise<void>;
  event(id: string, message: string): Promise<void>;
  /** Claims the one active-run slot; answers the run holding it otherwise. */
  claimActive(id: string): Promise<{ claimed: true } | { claimed: false; activeId: string }>;
  releaseActive(id: string): Promise<void>;
  chunk(id: string, index: number, locator: string | null): Promise<ChunkState>;
  saveChunk(id: string, state: ChunkState): Promise<void>;
  /** Adds a finished chunk's counts and calls to the run, once; answers true when that finished the run. */
  finishChunk(id: string, index: number, counts: Counts, apiCalls: number): Promise<boolean>;
  setChunksTotal(id: string, total: number): Promise<void>;
  fail(id: string, message: string): Promise<void>;
  /** Adds to what worker `worker` spent on the run (per-worker figures). */
  addWorkerStats?(id: string, worker: string, stats: WorkerStats): Promise<void>;
}

/** What the scorer returns for a batch of rows (scoring/rows.ts). */
export interface RowsResult {
  read: number;
  /** Bulk ingest CSV lines (Id + columns) of the records to write. */
  lines: string;
  changed: number;
  /** How far each record in `lines` moved (score points; 100 when it had none), line for line. */
  moves?: number[];
  scored: number;
  unchanged: number;
  failed: Array<{ id: string; code: string; message: string }>;
  /** Score history rows of the records in `lines` (COPY text, line for line), when asked for. */
  history?: string;
  /** Shadow rows (COPY text) of the records champion and shadow both scored, when a shadow compared. */
  shadow?: string;
  /** Why the shadow could not score the batch (the champion's result stands). */
  shadowError?: string;
  /** The batch's drift counts against the model's training reference, when asked for and it has one. */
  drift?: DriftCounts;
  /** The rows' labels (COPY text: run id, Account id, true/false), when asked for. */
  labels?: string;
}

export interface RowsRequest {
  header: readonly string[];
  csv: RecordBatch;
  columns: readonly string[];
  reasons: boolean;
  now: number;
  /** Ask for the history rows of the records to write, for this run. */
  history?: { runId: string };
  /** Ask for the batch's drift counts. */
  drift?: boolean;
  /** Ask for the rows' labels from this field. */
  labels?: { field: string; runId: string };
}

export interface OutputFields {
  score: string;
  risk: string;
  factors: string;
  modelVersion: string;
  scoredAt: string;
}

/** The model the run scores with. */
export interface ScorerModel {
  version: string;
  spec: { features: ReadonlyArray<{ field: string }>; outputFields: OutputFields };
}

export interface RowScorer {
  /** The champion now (a run pins it when it starts). */
  champion(): ScorerModel;
  /** The shadow now, if one is set (a run pins it too). */
  shadow(): ScorerModel | null;
  /** Scores rows with `version` (the run's pinned model) and, when `shadow` is still loaded, with the shadow too. */
  rescoreRows(request: RowsRequest, version: string, shadow?: string): Promise<RowsResult>;
}

/**
 * The score history (the system of record): every score the run writes is one row, appended in bulk
 * when its part is submitted and removed again if Salesforce refuses the record for good.
 */
export interface HistorySink {
  /** Appends a file of history rows (COPY text, as the scorer returns them). */
  appendFile(file: string): Promise<void>;
  /** Removes the run's rows of these Accounts. */
  remove(runId: string, accountIds: readonly string[]): Promise<void>;
  /** Deletes rows past the retention; answers how many. */
  trim(): Promise<{ removed: number; days: number }>;
}

/**
 * Drift monitoring: each page's counts are kept (a page read again replaces its own), and when the
 * run ends they are added up, compared with the model's training reference, stored and reported.
 */
export interface MonitoringSink {
  pageCounts(runId: string, index: number, counts: DriftCounts): Promise<void>;
  /**
   * Realized accuracy: the label field the run reads beside the inputs, and where each page's labels
   * go (a file of COPY text); absent when it is off.
   */
  labels?: { field: string; appendFile(file: string): Promise<void> };
  /** The run has ended (any state; only a finished scoring run reports). */
  runEnded(run: RunRecord): Promise<void>;
}

/** Where the shadow's scores go (the system of record). */
export interface ShadowSink {
  appendFile(file: string): Promise<void>;
}

export interface Failure {
  id: string;
  code: string;
  message: string;
}

/** Where records that failed for good go. */
export interface FailureSink {
  record(failures: readonly Failure[], context: { runId: string }): Promise<void>;
}

/** The queue, as the run sees it. */
export interface ChunkQueue {
  /** Hands page `index` to the queue (idempotent: the same page gets the same job). */
  enqueueChunk(runId: string, index: number, locator: string | null): Promise<void>;
  /** Whether other chunks wait for a worker slot. */
  othersWaiting(): Promise<boolean>;
}

export interface NightlySettings {
  chunkSize: number;
  scoreBatch: number;
  ingestMaxBytes: number;
  retryAttempts: number;
  splitPageFrom: number;
  reasons: boolean;
  pollInitialMs: number;
  pollMaxMs: number;
  apiReserve: number;
  reserveWaitMs: number;
  /** Bulk API batches a run leaves for the org's other integrations (NIGHTLY_BULK_BATCH_RESERVE). */
  bulkBatchReserve?: number;
  /** Where part files are written. @defaultValue os.tmpdir() */
  tmpDir?: string;
  /** Delay before retry ingest job `attempt` (1-based); the retry policy's by default (tests shorten it). */
  retryDelayMs?: (attempt: number) => number;
}

/** Everything the nightly core is given. */
export interface NightlyDeps {
  /** A metered Bulk client for one job attempt. */
  openBulk(logger: Logger): BulkPort;
  log: RunLog;
  scorer: RowScorer;
  failures: FailureSink;
  queue: ChunkQueue;
  settings: NightlySettings;
  /** The score history; absent without a system of record or with HISTORY_ENABLED=false. */
  history?: HistorySink;
  /** The shadow scores; absent without a system of record. */
  shadowScores?: ShadowSink;
  /** Drift monitoring; absent when it is turned off. */
  monitoring?: MonitoringSink;
  logger: Logger;
  /** Told once a run has ended (metrics). */
  onRunEnded?(run: RunRecord): void;
  /** This process, as named in the per-worker figures (host and pid). */
  workerId?: string;
}
