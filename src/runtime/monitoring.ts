/**
 * Drift monitoring wired for a process: the nightly run's MonitoringSink (page counts to Redis, the
 * finish step's report to PostgreSQL, Redis and the log), the real-time path's rolling window (the
 * scoring thread's counts, flushed to Redis every few seconds), and the `/metrics` source that reads
 * both back, so any process that reaches Redis reports them.
 */
import type pg from 'pg';
import type { MonitoringConfig } from '../config/index.js';
import { driftReport, type DriftCounts, type DriftReport, type DriftThresholds } from '../core/drift.js';
import { saveRunDrift } from '../db/drift.js';
import { PgModelStore } from '../db/models.js';
import type { Logger } from '../log/logger.js';
import type { MonitoringSink } from '../nightly/ports.js';
import { watchDrift } from '../observability/metrics.js';
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { DriftStore } from '../queue/drift-store.js';
import { parseSpec, type FeatureSpec } from '../scoring/spec.js';
import { appendLabelsFile, evaluateRun } from '../db/accuracy.js';
import type { AccuracyReport } from '../core/accuracy.js';
import type { ScoringThread } from '../scoring/thread.js';

export function thresholdsOf(config: MonitoringConfig): DriftThresholds {
  return { watch: config.psiWatch, alert: config.psiAlert };
}

/** A model version's spec: from the scoring thread when loaded, else from the registry. */
export function specLookup(scoring: Pick<ScoringThread, 'models'>, pool?: pg.Pool): (version: string) => Promise<FeatureSpec | undefined> {
  const store = pool ? new PgModelStore(pool) : undefined;
  return async (version) => {
    const { champion, shadow } = scoring.models;
    for (const m of [champion, shadow]) if (m && m.version === version) return m.spec;
    const bundle = await store?.bundle(version);
    return bundle ? parseSpec(bundle.spec, `registry version ${version}`) : undefined;
  };
}

export interface MonitoringWiring {
  store: DriftStore;
  config: MonitoringConfig;
  specOf(version: string): Promise<FeatureSpec | undefined>;
  pool?: pg.Pool;
  /** COPY works on the pool (not on the demo's embedded server). */
  copy?: boolean;
  logger: Logger;
}

/** Says in the log what a report means: an alert per field at warn, the rest in one line. */
export function logReport(logger: Logger, context: Record<string, unknown>, report: DriftReport, previousAlerts: readonly string[]): void {
  const all = [...report.fields, report.score];
  for (const f of all.filter((x) => x.status === 'alert')) {
    logger.warn({ ...context, field: f.field, psi: f.psi, jsDistance: f.jsDistance, blankShare: f.blankShare, unusableShare: f.unusableShare, outOfRangeShare: f.outOfRangeShare, alertAt: report.thresholds.alert }, `drift alert: ${f.field} PSI ${f.psi.toFixed(3)} is at or above ${report.thresholds.alert}`);
  }
  const cleared = previousAlerts.filter((field) => !report.alerts.includes(field));
  const watch = all.filter((x) => x.status === 'watch').map((x) => `${x.field} ${x.psi.toFixed(3)}`);
  logger.info({ ...context, rows: report.rows, alerts: report.alerts, watch, cleared, scorePsi: report.score.psi }, `drift: ${report.alerts.length} field(s) at or above the alert line, ${watch.length} to watch${cleared.length ? `; back under the line: ${cleared.join(', ')}` : ''}`);
}

/** Says in the log what the realized accuracy is, or that there are not enough labels yet. */
function logAccuracy(logger: Logger, context: Record<string, unknown>, report: AccuracyReport): void {
  if (!report.enough) {
    logger.info({ ...context, n: report.n, positives: report.positives, negatives: report.negatives }, `realized accuracy: ${report.reason}`);
    return;
  }
  logger.info({ ...context, n: report.n, positives: report.positives, auc: report.auc, logloss: report.logloss, brier: report.brier, high: report.high }, `realized accuracy: AUC ${report.auc}, log loss ${report.logloss}, Brier ${report.brier} over ${report.n} labelled Accounts`);
}

export function monitoringSink(w: MonitoringWiring): MonitoringSink {
  const pool = w.pool;
  const accuracy = pool ? w.config.accuracy : undefined;
  return {
    pageCounts: (runId, index, counts) => w.store.savePage(runId, index, counts),
    ...(accuracy && pool ? { labels: { field: accuracy.labelField, appendFile: (file: string) => appendLabelsFile(pool, file, w.copy ?? true) } } : {}),
    async runEnded(run) {
      if (run.state !== 'completed' && run.state !== 'completed-with-failures') return;
      const spec = run.modelVersion ? await w.specOf(run.modelVersion) : undefined;
      if (accuracy && pool && run.startedAt) {
        const report = await evaluateRun(pool, run.id, new Date(run.startedAt), {
          labelField: accuracy.labelField,
          horizonDays: accuracy.horizonDays,
          windowDays: accuracy.windowDays,
          minimum: { labels: accuracy.minLabels, perClass: 20 },
          highThreshold: spec?.riskBands.high ?? 50,
        });
        logAccuracy(w.logger, { runId: run.id, horizonDays: accuracy.horizonDays, windowDays: accuracy.windowDays }, report);
      }
      const counts = await w.store.runCounts(run.id);
      if (!counts || counts.rows === 0 || !run.modelVersion) return;
      const reference = spec?.monitoring;
      if (!reference) {
        w.logger.info({ runId: run.id, modelVersion: run.modelVersion }, 'drift: the model carries no training reference (see models/README.md, "monitoring"); none reported');
        return;
      }
      const report = driftReport(reference, counts, thresholdsOf(w.config));
      const previous = await w.store.last();
      await w.store.saveLast({ runId: run.id, modelVersion: run.modelVersion, at: new Date().toISOString(), report });
      logReport(w.logger, { runId: run.id, modelVersion: run.modelVersion, ...(run.where ? { where: run.where } : {}) }, report, previous?.report.alerts ?? []);
      // Last: a run's row in run_drift means its report is out everywhere (/metrics, the log).
      if (w.pool) await saveRunDrift(w.pool, run.id, run.modelVersion, report);
    },
  };
}

/**
 * The real-time path's counts: the scoring thread reports what its engines counted, this adds them up
 * per model version and writes them to Redis every `flushMs`, into the rolling window.
 */
export function realtimeDrift(w: MonitoringWiring, scoring: Pick<ScoringThread, 'onDrift'>, flushMs = 5_000): { stop(): Promise<void> } {
  const pending = new Map<string, DriftCounts[]>();
  scoring.onDrift((version, counts) => {
    const list = pending.get(version) ?? [];
    list.push(counts);
    pending.set(version, list);
  });
  const flush = async () => {
    const batches = [...pending.entries()];
    pending.clear();
    for (const [version, list] of batches) {
      for (const counts of list) await w.store.addRealtime(version, counts, w.config.realtimeWindowMinutes).catch((error: unknown) => w.logger.debug({ err: error }, 'could not store real-time drift counts'));
    }
  };
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}

/** `/metrics` reads the last nightly report and the real-time window (for the champion) from Redis. */
export function watchDriftMetrics(w: MonitoringWiring, champion: () => string): () => void {
  return watchDrift(async () => {
    const out: Array<{ source: 'nightly' | 'realtime'; report: DriftReport }> = [];
    const last = await w.store.last();
    if (last) out.push({ source: 'nightly', report: last.report });
    const version = champion();
    const counts = await w.store.realtime(version, w.config.realtimeWindowMinutes);
    if (counts && counts.rows > 0) {
      const reference = (await w.specOf(version))?.monitoring;
      if (reference) out.push({ source: 'realtime', report: driftReport(reference, counts, thresholdsOf(w.config)) });
    }
    return out;
  });
}

/** A process's real-time drift window and its /metrics source; `stop()` flushes what is pending. */
export function processDrift(config: Config, redis: Redis, scoring: ScoringThread, pool: pg.Pool | undefined, logger: Logger): { stop(): Promise<void> } {
  const wiring: MonitoringWiring = { store: new DriftStore(redis, config.queue.prefix), config: config.monitoring, specOf: specLookup(scoring, pool), pool, logger: logger.child({ module: 'drift' }) };
  const window = realtimeDrift(wiring, scoring);
  const unwatch = watchDriftMetrics(wiring, () => scoring.modelVersion);
  return {
    async stop() {
      unwatch();
      await window.stop();
    },
  };
}
