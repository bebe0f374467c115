/**
 * Prometheus metrics (prom-client), one registry per process. Modules import the instruments they
 * update; `/metrics` serves the registry (the web process on its port, the worker on
 * WORKER_METRICS_PORT when set). Gauges that describe shared state (queue depths) are read from Redis
 * when scraped, so any process that can reach Redis reports them.
 *
 * Nothing here imports a boundary: callers pass plain shapes (a BullMQ worker's events, a batch
 * outcome, an API-usage pair), so the instruments stay usable from the nightly path and the tests.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/**
 * What went wrong while the Redis-backed gauges were read for the current scrape. Each read waits at
 * most `sourceTimeoutMs`, so a stalled Redis cannot hold a scrape past its deadline.
 */
const scrape = { problems: new Set<string>(), sourceTimeoutMs: 1_500 };

async function readSource<T>(read: () => Promise<T>, what: string): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${scrape.sourceTimeoutMs} ms`)), scrape.sourceTimeoutMs);
      }),
    ]);
  } catch (error) {
    scrape.problems.add(`${what}: ${String((error as Error).message).slice(0, 200)}`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

export interface Scrape {
  status: number;
  contentType: string;
  body: string;
}

/**
 * The registry's text for `/metrics`, within `deadlineMs`. When Redis cannot be read (down, or
 * stalled past the deadline) the answer is 503 with the reason instead of series that silently miss
 * the queue depths: a scraper then records the target as down and says why.
 */
export async function scrapeMetrics(deadlineMs = 2_000): Promise<Scrape> {
  scrape.problems.clear();
  scrape.sourceTimeoutMs = Math.max(1, Math.floor(deadlineMs * 0.75));
  let timer: NodeJS.Timeout | undefined;
  let text: string;
  try {
    text = await Promise.race([
      registry.metrics(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`metrics were not collected within ${deadlineMs} ms`)), deadlineMs);
      }),
    ]);
  } catch (error) {
    return { status: 503, contentType: 'text/plain; charset=utf-8', body: `# unavailable: ${(error as Error).message}\n` };
  } finally {
    clearTimeout(timer);
  }
  if (scrape.problems.size > 0) {
    return { status: 503, contentType: 'text/plain; charset=utf-8', body: [...scrape.problems].map((p) => `# unavailable: ${p}`).join('\n') + '\n' };
  }
  return { status: 200, contentType: registry.contentType, body: text };
}

// --- Outbound messages (web) ------------------------------------------------------------------

export const outboundNotifications = new Counter({
  name: 'churn_outbound_notifications_total',
  help: 'Outbound message notifications by outcome: received, acked (enqueued), deduplicated.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const outboundRefusals = new Counter({
  name: 'churn_outbound_refusals_total',
  help: 'Outbound messages answered with a SOAP fault, by reason.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

// --- Queues ----------------------------------------------------------------------------------

/** Something whose depth can be read on scrape: a BullMQ Queue fits (`name` + `getJobCounts`). */
export interface QueueDepthSource {
  readonly name: string;
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children'] as const;
const depthSources = new Set<QueueDepthSource>();
const backlogSources = new Map<string, () => Promise<number>>();

export const queueDepth = new Gauge({
  name: 'churn_queue_jobs',
  help: 'Jobs in each queue by state (waiting, active, delayed, failed, …), read from Redis when scraped.',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    await Promise.all(
      [...depthSources].map(async (source) => {
        const counts = await readSource(() => source.getJobCounts(...DEPTH_STATES), `queue ${source.name}`);
        if (counts) for (const state of DEPTH_STATES) this.set({ queue: source.name, state }, counts[state] ?? 0);
      }),
    );
  },
});

export const realtimeBacklog = new Gauge({
  name: 'churn_realtime_intake_backlog',
  help: 'Changed Accounts received but not yet grouped into a batch job (entries in the intake stream).',
  labelNames: ['stream'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    await Promise.all(
      [...backlogSources].map(async ([stream, read]) => {
        const length = await readSource(read, `stream ${stream}`);
        if (length !== undefined) this.set({ stream }, length);
      }),
    );
  },
});

/** Reports a queue's depths on every scrape until the returned function is called. */
export function watchQueueDepth(source: QueueDepthSource): () => void {
  depthSources.add(source);
  return () => void depthSources.delete(source);
}

/** Reports the intake stream's length (XLEN) on every scrape until the returned function is called. */
export function watchRealtimeBacklog(stream: string, length: () => Promise<number>): () => void {
  backlogSources.set(stream, length);
  return () => void backlogSources.delete(stream);
}

export const jobDuration = new Histogram({
  name: 'churn_job_duration_seconds',
  help: 'Time a worker spent on a job, from start to completion or failure, per queue.',
  labelNames: ['queue', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  registers: [registry],
});

interface TimedJob {
  processedOn?: number;
  finishedOn?: number;
}

/** The part of a BullMQ Worker the instruments listen to. */
export interface WorkerEvents {
  on(event: 'completed', listener: (job: TimedJob) => void): unknown;
  on(event: 'failed', listener: (job: TimedJob | undefined) => void): unknown;
}

/** Records every job's duration on `queue` from the worker's completed/failed events. */
export function instrumentWorker(worker: WorkerEvents, queue: string): void {
  const observe = (job: TimedJob | undefined, outcome: 'completed' | 'failed') => {
    if (!job?.processedOn) return;
    jobDuration.observe({ queue, outcome }, Math.max(0, (job.finishedOn ?? Date.now()) - job.processedOn) / 1000);
  };
  worker.on('completed', (job) => observe(job, 'completed'));
  worker.on('failed', (job) => observe(job, 'failed'));
}

// --- Scoring ---------------------------------------------------------------------------------

export const scoringDuration = new Histogram({
  name: 'churn_scoring_duration_seconds',
  help: 'Time of one call to the scoring thread (a batch of records), with or without reasons.',
  labelNames: ['reasons', 'outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  registers: [registry],
});

export const scoringRecords = new Counter({
  name: 'churn_scoring_records_total',
  help: 'Records handed to the scoring thread.',
  registers: [registry],
});

// --- Write-back ------------------------------------------------------------------------------

export const writebackRecords = new Counter({
  name: 'churn_writeback_records_total',
  help: 'Records after a batch, by result (written, unchanged, retry, failed) and Salesforce error code ("none" on success).',
  labelNames: ['source', 'result', 'code'] as const,
  registers: [registry],
});

/** The counts of one rescoring batch (core/rescore.ts BatchOutcome has this shape). */
export interface OutcomeCounts {
  written: readonly unknown[];
  unchanged: readonly unknown[];
  retry: ReadonlyArray<{ code: string }>;
  failed: ReadonlyArray<{ code: string }>;
}

export function observeBatchOutcome(outcome: OutcomeCounts, source = 'realtime'): void {
  if (outcome.written.length > 0) writebackRecords.inc({ source, result: 'written', code: 'none' }, outcome.written.length);
  if (outcome.unchanged.length > 0) writebackRecords.inc({ source, result: 'unchanged', code: 'none' }, outcome.unchanged.length);
  for (const result of ['retry', 'failed'] as const) {
    const byCode = new Map<string, number>();
    for (const f of outcome[result]) byCode.set(f.code, (byCode.get(f.code) ?? 0) + 1);
    for (const [code, n] of byCode) writebackRecords.inc({ source, result, code }, n);
  }
}

// --- Salesforce API --------------------------------------------------------------------------

export const salesforceCalls = new Counter({
  name: 'churn_salesforce_api_calls_total',
  help: 'REST calls to Salesforce by kind (query, collectionsUpdate, describe, limits, bulk…), sign-ins excluded.',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const salesforceApiUsage = new Gauge({
  name: 'churn_salesforce_daily_api_requests',
  help: 'The org\'s daily API allowance as last seen in a Sforce-Limit-Info header: used, limit and remaining.',
  labelNames: ['measure'] as const,
  registers: [registry],
});

export function observeApiUsage(usage: { used: number; limit: number } | undefined): void {
  if (!usage) return;
  salesforceApiUsage.set({ measure: 'used' }, usage.used);
  salesforceApiUsage.set({ measure: 'limit' }, usage.limit);
  salesforceApiUsage.set({ measure: 'remaining' }, Math.max(0, usage.limit - usage.used));
}

// --- Nightly runs ----------------------------------------------------------------------------

export const nightlyRuns = new Counter({
  name: 'churn_nightly_runs_total',
  help: 'Nightly (or manual) re-scoring runs that ended, by final state.',
  labelNames: ['state'] as const,
  registers: [registry],
});

export const nightlyRunDuration = new Histogram({
  name: 'churn_nightly_run_duration_seconds',
  help: 'Wall time of a finished re-scoring run, from start to end.',
  labelNames: ['state'] as const,
  buckets: [60, 300, 600, 1_800, 3_600, 7_200, 14_400, 28_800],
  registers: [registry],
});

export const nightlyRecords = new Counter({
  name: 'churn_nightly_records_total',
  help: 'Records of finished re-scoring runs by count (read, scored, unchanged, written, failed, retried).',
  labelNames: ['count'] as const,
  registers: [registry],
});

export const nightlyLastRun = new Gauge({
  name: 'churn_nightly_last_run_end_seconds',
  help: 'When the last re-scoring run ended (Unix time), by state.',
  labelNames: ['state'] as const,
  registers: [registry],
});

/** What the nightly code knows when a run ends (queue/nightly-store.ts RunRecord has this shape). */
export interface FinishedRun {
  state: string;
  startedAt?: string;
  endedAt?: string;
  counts: Readonly<Record<string, number>>;
}

/** Call once per run, in the process that saw it end. */
export function recordNightlyRun(run: FinishedRun): void {
  nightlyRuns.inc({ state: run.state });
  const end = run.endedAt ? Date.parse(run.endedAt) : Date.now();
  if (run.startedAt) nightlyRunDuration.observe({ state: run.state }, Math.max(0, end - Date.parse(run.startedAt)) / 1000);
  for (const [count, n] of Object.entries(run.counts)) if (n > 0) nightlyRecords.inc({ count }, n);
  nightlyLastRun.set({ state: run.state }, end / 1000);
}

export const inputValues = new Counter({
  name: 'churn_input_values_total',
  help: 'Field values of scored records not used as given, by field and state: blank and unusable (not a number, an unseen picklist value: imputed), out_of_range (the record is refused).',
  labelNames: ['field', 'state'] as const,
  registers: [registry],
});

// --- Model registry (both processes) ---------------------------------------------------------

export const modelSwitches = new Counter({
  name: 'churn_model_switches_total',
  help: 'Times this process changed its champion or shadow to follow the registry (switched), or refused to because the model failed its start-up checks here (refused).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const modelInfo = new Gauge({
  name: 'churn_model_info',
  help: 'The model versions this process scores with: 1 for the champion and for the shadow, by version.',
  labelNames: ['role', 'version'] as const,
  registers: [registry],
});

/** Sets churn_model_info to the champion and shadow now loaded. */
export function observeModels(models: { champion: { version: string }; shadow: { version: string } | null }): void {
  modelInfo.reset();
  modelInfo.set({ role: 'champion', version: models.champion.version }, 1);
  if (models.shadow) modelInfo.set({ role: 'shadow', version: models.shadow.version }, 1);
}

// --- Drift (both processes, read from Redis when scraped) ------------------------------------

/** A drift report as the gauges need it (core/drift.ts DriftReport has this shape). */
export interface DriftGaugeReport {
  rows: number;
  thresholds: { alert: number };
  fields: ReadonlyArray<{ field: string; psi: number; jsDistance: number; blankShare: number; unusableShare: number; outOfRangeShare: number }>;
  score: { field: string; psi: number; jsDistance: number };
}

type DriftSource = () => Promise<Array<{ source: 'nightly' | 'realtime'; report: DriftGaugeReport }>>;
const driftSources = new Set<DriftSource>();
/** One read of the sources per scrape, shared by the drift gauges. */
let driftRead: { at: number; value: Promise<Array<{ source: string; report: DriftGaugeReport }>> } | undefined;

function readDrift(): Promise<Array<{ source: string; report: DriftGaugeReport }>> {
  if (driftRead && Date.now() - driftRead.at < 1_000) return driftRead.value;
  const value = Promise.all([...driftSources].map((s) => readSource(s, 'drift reports'))).then((lists) => lists.flatMap((l) => l ?? []));
  driftRead = { at: Date.now(), value };
  return value;
}

function driftGauge<L extends string>(name: string, help: string, labelNames: readonly L[], fill: (gauge: Gauge<L>, source: string, report: DriftGaugeReport) => void): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      if (driftSources.size === 0) return;
      for (const { source, report } of await readDrift()) fill(this, source, report);
    },
  });
}

export const driftPsi = driftGauge('churn_drift_psi', 'Population stability index of each field and of the score (field="score") against the champion\'s training reference: the last nightly run (source="nightly") and the real-time rolling window (source="realtime").', ['source', 'field'], (g, source, r) => {
  for (const f of [...r.fields, r.score]) g.set({ source, field: f.field }, f.psi);
});

export const driftJsDistance = driftGauge('churn_drift_js_distance', 'Jensen-Shannon distance (base 2, 0 to 1) of each field and of the score against the training reference.', ['source', 'field'], (g, source, r) => {
  for (const f of [...r.fields, r.score]) g.set({ source, field: f.field }, f.jsDistance);
});

export const driftShare = driftGauge('churn_drift_value_share', 'Share of the values counted that were blank, unusable (unseen picklist value, not a number) or outside the range training saw, by field.', ['source', 'field', 'kind'], (g, source, r) => {
  for (const f of r.fields) {
    g.set({ source, field: f.field, kind: 'blank' }, f.blankShare);
    g.set({ source, field: f.field, kind: 'unusable' }, f.unusableShare);
    g.set({ source, field: f.field, kind: 'out_of_range' }, f.outOfRangeShare);
  }
});

export const driftAlert = driftGauge('churn_drift_alert', 'Whether a field (or the score) is at or above DRIFT_PSI_ALERT: 1 from the run that crossed the line until a later run is back under it.', ['source', 'field'], (g, source, r) => {
  for (const f of [...r.fields, r.score]) g.set({ source, field: f.field }, f.psi >= r.thresholds.alert ? 1 : 0);
});

export const driftRows = driftGauge('churn_drift_rows', 'Rows the drift figures were counted over (the last nightly run, the real-time window).', ['source'], (g, source, r) => {
  g.set({ source }, r.rows);
});

/** Reports drift on every scrape until the returned function is called. */
export function watchDrift(source: DriftSource): () => void {
  driftSources.add(source);
  driftRead = undefined;
  return () => void driftSources.delete(source);
}
