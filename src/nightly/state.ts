/**
 * The nightly run's records and the chunk's phase machine, as data and pure functions.
 *
 * A chunk (one Bulk results page) moves through explicit, stored phases:
 *
 *   reading ──▶ submitting ──▶ collecting ──▶ done
 *                                 │   ▲
 *                                 ▼   │
 *                               retrying
 *
 * - reading: the page is downloaded, scored and written to part files; a part complete before the
 *   page is (a cut, the size limit) is submitted at once. The next page is handed on first.
 * - submitting: the page is scored; the parts not yet submitted are. Part files live only as long as
 *   the job attempt, so a new attempt that finds this phase goes back to reading (the same page, the
 *   same parts, and the parts already submitted are skipped).
 * - collecting: every ingest job is waited for and counted; records that may pass later are noted
 *   for a retry job, the rest of the failures go to the failure sink.
 * - retrying: a retry ingest job is due at `retryAt`; until then the chunk hands its worker slot back.
 * - done: the chunk's counts are added to the run once.
 * Every transition returns a new state; the runner (chunk.ts) saves it before the next step, so a
 * worker that dies anywhere leaves a chunk that the next attempt finishes without writing anything
 * twice in effect.
 */

export type RunState = 'queued' | 'waiting-api' | 'querying' | 'running' | 'completed' | 'completed-with-failures' | 'failed' | 'skipped';
export const FINISHED_STATES: ReadonlySet<RunState> = new Set(['completed', 'completed-with-failures', 'failed', 'skipped']);

/** `deferred`: records that moved but were left for the next run, because the Bulk budget ran short. */
export const COUNT_FIELDS = ['read', 'scored', 'unchanged', 'written', 'failed', 'retried', 'deferred'] as const;
export type CountField = (typeof COUNT_FIELDS)[number];
export type Counts = Record<CountField, number>;
export const emptyCounts = (): Counts => ({ read: 0, scored: 0, unchanged: 0, written: 0, failed: 0, retried: 0, deferred: 0 });

export interface RunRecord {
  id: string;
  state: RunState;
  trigger: string;
  where?: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  queryJobId?: string;
  /** The champion the run started with: every chunk scores with it, even after a promotion. */
  modelVersion?: string;
  /** The shadow set when the run started, compared on every page while it stays the shadow. */
  shadowVersion?: string;
  /** Records the query job found. */
  total?: number;
  /** Known once the last result page has been seen (or, with parallel pages, once they are listed). */
  chunksTotal?: number;
  /**
   * How pages are found: `parallel`, every page listed at once by `resultPages` and handed to the
   * queue together; `chained` (API before 58.0), each page's locator read from the previous page.
   */
  pages?: 'parallel' | 'chained';
  /** Bulk batches the org had left when the run started (DailyBulkApiBatches), when /limits said. */
  batchesLeft?: number;
  /** DailyBulkApiBatches.Max. */
  batchesMax?: number;
  /**
   * Bulk batches the run may write, when a full rewrite would cross the reserve (budget.ts): each
   * page writes its share, its largest moves first; the next run writes the rest.
   */
  writeBatches?: number;
  /** What the budget check found (budget.ts planWrites). */
  budget?: string;
  chunksDone: number;
  /** Scoring time of the run (epoch ms): every chunk, and a resumed chunk, writes the same values. */
  scoredAtMs?: number;
  message?: string;
  apiCalls: number;
  counts: Counts;
}

export type RunUpdate = Partial<Record<'state' | 'startedAt' | 'endedAt' | 'queryJobId' | 'message' | 'total' | 'chunksTotal' | 'scoredAtMs' | 'modelVersion' | 'shadowVersion' | 'pages' | 'batchesLeft' | 'batchesMax' | 'writeBatches' | 'budget', string | number>>;

export interface IngestRef {
  id: string;
  /** Main part number, or -1 for a retry job. */
  part: number;
  attempt: number;
  status: 'open' | 'closed' | 'collected';
  records: number;
  /** When it was closed (UploadComplete), epoch ms: paces the polls by the job's progress. */
  closedAt?: number;
  /** For a retry job: the collected jobs whose records it resubmits. */
  sources?: string[];
}

export type ChunkPhase = 'reading' | 'submitting' | 'collecting' | 'retrying' | 'done';

export interface ChunkState {
  index: number;
  locator: string | null;
  phase: ChunkPhase;
  /** The next page was handed to the queue, or this is the last page. */
  next?: 'enqueued' | 'last';
  /** Main ingest parts the scoring pass produced (known once the page is scored). */
  parts?: number;
  /**
   * Whether the page was cut in two parts at its cut point (decided once, when the first part was
   * complete: a page where few scores change is not worth a second ingest job).
   */
  cutPage?: boolean;
  jobs: IngestRef[];
  /** Collected ingest jobs whose retryable records are not resubmitted yet. */
  retryFrom: string[];
  retryAttempt: number;
  /** When the next retry ingest job may be submitted (epoch ms). */
  retryAt?: number;
  counts: Counts;
  /** Salesforce's processing time per record in this chunk's last finished job (totalProcessingTime). */
  msPerRecord?: number;
  /** The wait before the chunk last handed its worker slot back while Salesforce processed its jobs. */
  yieldedMs?: number;
}

export function newChunk(index: number, locator: string | null): ChunkState {
  return { index, locator, phase: 'reading', jobs: [], retryFrom: [], retryAttempt: 0, counts: emptyCounts() };
}

/** A new attempt: part files do not outlive the attempt that wrote them, so a chunk still submitting reads its page again. */
export function startAttempt(state: ChunkState): ChunkState {
  return state.phase === 'submitting' ? { ...state, phase: 'reading' } : state;
}

/** The page's headers were read: the next page was handed on, or this is the last one. */
export function nextHandedOn(state: ChunkState, next: 'enqueued' | 'last'): ChunkState {
  return { ...state, next };
}

/** Progress while reading (for `rescore --wait` and the admin endpoint). */
export function readProgress(state: ChunkState, read: number): ChunkState {
  return { ...state, counts: { ...state.counts, read } };
}

export function cutDecided(state: ChunkState, cutPage: boolean): ChunkState {
  return state.cutPage === undefined ? { ...state, cutPage } : state;
}

/** An ingest job was created for a part (or a retry job for `sources`): recorded open before its upload. */
export function jobOpened(state: ChunkState, job: Omit<IngestRef, 'status'>): ChunkState {
  const ref: IngestRef = { ...job, status: 'open' };
  if (job.part >= 0) return { ...state, jobs: [...state.jobs, ref] };
  // A retry job replaces its sources: once it is recorded, their retryable rows are handled.
  return { ...state, phase: 'collecting', jobs: [...state.jobs, ref], retryFrom: [], retryAttempt: job.attempt, retryAt: undefined, counts: { ...state.counts, retried: state.counts.retried + job.records } };
}

export function jobClosed(state: ChunkState, jobId: string, closedAt: number): ChunkState {
  return { ...state, jobs: state.jobs.map((j) => (j.id === jobId ? { ...j, status: 'closed', closedAt } : j)) };
}

/** A job a crash left open was aborted: a part is submitted again; a retry job's sources wait for another. */
export function jobAborted(state: ChunkState, jobId: string): ChunkState {
  const job = state.jobs.find((j) => j.id === jobId);
  if (!job) return state;
  const jobs = state.jobs.filter((j) => j.id !== jobId);
  if (job.part >= 0) return { ...state, jobs };
  return { ...state, jobs, retryFrom: [...new Set([...state.retryFrom, ...(job.sources ?? [])])], counts: { ...state.counts, retried: state.counts.retried - job.records } };
}

/** The page is scored: its counts, its parts; the scoring failures went to the failure sink. */
export function pageScored(state: ChunkState, pass: { read: number; scored: number; unchanged: number; failed: number; parts: number; deferred?: number }): ChunkState {
  return {
    ...state,
    phase: 'submitting',
    parts: pass.parts,
    counts: { ...state.counts, read: pass.read, scored: pass.scored, unchanged: pass.unchanged, failed: state.counts.failed + pass.failed, deferred: pass.deferred ?? 0 },
  };
}

/** Every main part is submitted. */
export function partsSubmitted(state: ChunkState): ChunkState {
  return { ...state, phase: 'collecting' };
}

/** Whether part `part` still needs an ingest job (none yet, or one a crash left open). */
export function partPending(state: ChunkState, part: number): boolean {
  const job = state.jobs.find((j) => j.part === part);
  return !job || job.status === 'open';
}

/** The handing back of the worker slot while Salesforce processes: first the initial poll, then 1.6× longer, capped. */
export function yielded(state: ChunkState, initialMs: number, maxMs: number, growth: number): ChunkState {
  const yieldedMs = state.yieldedMs === undefined ? initialMs : Math.min(maxMs, Math.round(state.yieldedMs * growth));
  return { ...state, yieldedMs };
}

/** A job's outcome: written records, those failed for good, whether some may pass later; Salesforce's pace. */
export function jobCollected(state: ChunkState, jobId: string, outcome: { written: number; failed: number; retry: boolean; msPerRecord?: number }): ChunkState {
  return {
    ...state,
    jobs: state.jobs.map((j) => (j.id === jobId ? { ...j, status: 'collected' } : j)),
    retryFrom: outcome.retry ? [...state.retryFrom, jobId] : state.retryFrom,
    msPerRecord: outcome.msPerRecord ?? state.msPerRecord,
    counts: { ...state.counts, written: state.counts.written + outcome.written, failed: state.counts.failed + outcome.failed },
  };
}

/** After collecting: done, or a retry job due after `delayMs`, or (no attempts left) give up. */
export function afterCollecting(state: ChunkState, retryAttempts: number, now: number, delayMs: (attempt: number) => number): ChunkState {
  if (state.retryFrom.length === 0) return { ...state, phase: 'done' };
  if (state.retryAttempt >= retryAttempts) return { ...state, phase: 'retrying', retryAt: undefined };
  return { ...state, phase: 'retrying', retryAt: now + delayMs(state.retryAttempt + 1) };
}

/** Whether the chunk has used every retry ingest job and must record what is left as failed. */
export function retriesExhausted(state: ChunkState, retryAttempts: number): boolean {
  return state.phase === 'retrying' && state.retryAttempt >= retryAttempts;
}

/** Nothing was left to resubmit, or what was left is recorded as failed (`failed` records). */
export function retriesClosed(state: ChunkState, failed: number): ChunkState {
  return { ...state, phase: 'done', retryFrom: [], retryAt: undefined, counts: { ...state.counts, failed: state.counts.failed + failed } };
}

/** A chunk state stored before phases were recorded (an upgrade during a run), read as its phase. */
export function withPhase(raw: ChunkState & { done?: boolean; failuresLogged?: boolean }): ChunkState {
  if (raw.phase) return raw;
  const { done, failuresLogged, ...rest } = raw;
  const phase: ChunkPhase = done ? 'done' : !failuresLogged ? 'reading' : rest.jobs.some((j) => j.part >= 0 && j.status !== 'open') && rest.jobs.filter((j) => j.part >= 0 && j.status !== 'open').length >= (rest.parts ?? 0) ? 'collecting' : 'submitting';
  return { ...rest, phase };
}
