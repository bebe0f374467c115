/**
 * Wires the nightly re-scoring into a worker process: the nightly core (src/nightly/) on its adapters
 * (Bulk API 2.0 through the process's Salesforce client, the run log in Redis, the scoring thread, the
 * failure log, the nightly queue, and with a system of record the score history, the shadow scores,
 * the run records and the failures in PostgreSQL), the BullMQ worker that runs its jobs, and the
 * schedule, upserted by every worker at start-up (idempotent: many dynos, one schedule).
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { appendScoreHistoryFile, removeRunHistory, trimScoreHistory } from '../db/history.js';
import { appendFailures, saveRun } from '../db/runs.js';
import { appendShadowScoresFile } from '../db/shadow.js';
import type { Logger } from '../log/logger.js';
import type { FailureSink, HistorySink, MonitoringSink, NightlyDeps, RowScorer, RunLog, ShadowSink } from '../nightly/ports.js';
import { DriftStore } from '../queue/drift-store.js';
import { monitoringSink, specLookup } from './monitoring.js';
import type { RunRecord } from '../nightly/state.js';
import { instrumentWorker, recordNightlyRun } from '../observability/metrics.js';
import type { FailureLog } from '../queue/failures.js';
import { QUEUES } from '../queue/names.js';
import { chunkQueue, nightlyQueue, registerNightlySchedule } from '../queue/nightly-jobs.js';
import { RunStore } from '../queue/nightly-store.js';
import { startNightlyWorker } from '../queue/nightly-worker.js';
import { BulkClient } from '../salesforce/bulk.js';
import type { SalesforceClient } from '../salesforce/client.js';
import type { ScoringThread } from '../scoring/thread.js';

export interface NightlyHandle {
  /** Stops taking chunks (an active one finishes or returns to the queue), then closes the queue. */
  close(): Promise<void>;
}

/** The scoring thread as the nightly core's scorer: the champion now, and rows scored by a pinned version. */
export function threadScorer(scoring: ScoringThread): RowScorer {
  return {
    champion: () => scoring.models.champion,
    shadow: () => scoring.models.shadow,
    rescoreRows: (request, version, shadow) => scoring.rescoreRows(request, version, shadow),
  };
}

/** PostgreSQL, for the nightly run's records: the pool, whether COPY works, and what to keep. */
export interface NightlyDatabase {
  pool: pg.Pool;
  copy: boolean;
  /** HISTORY_ENABLED. */
  history: boolean;
  /** HISTORY_RETENTION_DAYS. */
  retentionDays: number;
}

export function historySink(db: NightlyDatabase): HistorySink {
  return {
    appendFile: (file) => appendScoreHistoryFile(db.pool, file, db.copy),
    remove: async (runId, ids) => void (await removeRunHistory(db.pool, runId, ids)),
    trim: async () => ({ removed: await trimScoreHistory(db.pool, db.retentionDays), days: db.retentionDays }),
  };
}

export function shadowSink(db: NightlyDatabase): ShadowSink {
  return { appendFile: (file) => appendShadowScoresFile(db.pool, file, db.copy) };
}

/**
 * The run log in Redis (what the running job needs), copying each run record to PostgreSQL when it
 * changes (the record that stays, and what the dashboard lists). A copy that fails is logged; the run
 * goes on.
 */
export function archivedRunLog(store: RunLog, db: NightlyDatabase, logger: Logger): RunLog {
  const archive = async (id: string) => {
    const run = await store.get(id);
    if (!run) return;
    await saveRun(db.pool, toRunRow(run)).catch((error: unknown) => logger.warn({ runId: id, err: error }, 'could not copy the run record to PostgreSQL'));
  };
  return {
    ...bind(store),
    create: async (id, trigger, where) => {
      const run = await store.create(id, trigger, where);
      await archive(id);
      return run;
    },
    update: async (id, fields) => {
      await store.update(id, fields);
      if (fields.state !== undefined || fields.total !== undefined || fields.queryJobId !== undefined || (fields.message !== undefined && fields.message !== '')) await archive(id);
    },
    finishChunk: async (id, index, counts, apiCalls) => {
      const finished = await store.finishChunk(id, index, counts, apiCalls);
      await archive(id);
      return finished;
    },
    fail: async (id, message) => {
      await store.fail(id, message);
      await archive(id);
    },
  };
}

function bind(store: RunLog): RunLog {
  return {
    create: (...a) => store.create(...a),
    get: (...a) => store.get(...a),
    update: (...a) => store.update(...a),
    addCalls: (...a) => store.addCalls(...a),
    event: (...a) => store.event(...a),
    claimActive: (...a) => store.claimActive(...a),
    releaseActive: (...a) => store.releaseActive(...a),
    chunk: (...a) => store.chunk(...a),
    saveChunk: (...a) => store.saveChunk(...a),
    finishChunk: (...a) => store.finishChunk(...a),
    setChunksTotal: (...a) => store.setChunksTotal(...a),
    fail: (...a) => store.fail(...a),
    ...(store.addWorkerStats ? { addWorkerStats: (...a: Parameters<NonNullable<RunLog['addWorkerStats']>>) => store.addWorkerStats!(...a) } : {}),
  };
}

function toRunRow(run: RunRecord) {
  return { id: run.id, trigger: run.trigger, state: run.state, where: run.where, modelVersion: run.modelVersion, startedAt: run.startedAt, endedAt: run.endedAt, total: run.total, counts: run.counts, apiCalls: run.apiCalls, message: run.message };
}

/** Failures to the Redis log (the dashboard's list, the retry button) and, with a database, to PostgreSQL with the run. */
function failureSink(failures: FailureLog, db: NightlyDatabase | undefined, logger: Logger): FailureSink {
  return {
    record: async (list, context) => {
      await failures.record(list, 'nightly');
      if (db && list.length > 0) {
        await appendFailures(db.pool, list, { path: 'nightly', runId: context.runId }, db.copy).catch((error: unknown) => logger.warn({ runId: context.runId, err: error }, 'could not copy failures to PostgreSQL'));
      }
    },
  };
}

export interface NightlyWiring {
  connection: Redis;
  prefix: string;
  salesforce: SalesforceClient;
  scorer: RowScorer;
  failures: FailureLog;
  config: Config['nightly'];
  lockDurationMs: number;
  logger: Logger;
  /** The system of record, when there is one. */
  database?: NightlyDatabase;
  /** Tests shorten the wait before a retry ingest job. */
  retryDelayMs?: (attempt: number) => number;
  /** Drift monitoring (MONITORING_ENABLED). */
  monitoring?: MonitoringSink;
}

/** The nightly worker and its queue on these adapters (the worker process, and tests, use it). */
export function nightlyWorker(w: NightlyWiring) {
  const queue = nightlyQueue(w.connection, w.prefix);
  const store = new RunStore(w.connection, w.prefix);
  const { config } = w;
  const db = w.database;
  const deps: NightlyDeps = {
    openBulk: (logger) => new BulkClient(w.salesforce, { logger, poll: { initialMs: config.pollInitialMs, maxMs: config.pollMaxMs }, resultIdleTimeoutMs: config.resultIdleTimeoutMs }),
    log: db ? archivedRunLog(store, db, w.logger) : store,
    scorer: w.scorer,
    failures: failureSink(w.failures, db, w.logger),
    ...(db?.history ? { history: historySink(db) } : {}),
    ...(db ? { shadowScores: shadowSink(db) } : {}),
    ...(w.monitoring ? { monitoring: w.monitoring } : {}),
    queue: chunkQueue(queue),
    settings: { ...config, retryDelayMs: w.retryDelayMs },
    logger: w.logger,
    onRunEnded: recordNightlyRun,
    workerId: `${hostname()}-${process.pid}`,
  };
  const worker = startNightlyWorker({ connection: w.connection, prefix: w.prefix, deps, concurrency: config.concurrency, lockDurationMs: w.lockDurationMs, logger: w.logger });
  return { worker, queue, store };
}

export async function startNightly(config: Config, connection: Redis, salesforce: SalesforceClient, scoring: ScoringThread, failures: FailureLog, logger: Logger, database?: NightlyDatabase): Promise<NightlyHandle> {
  const { worker, queue } = nightlyWorker({
    database,
    connection,
    prefix: config.queue.prefix,
    salesforce,
    scorer: threadScorer(scoring),
    failures,
    config: config.nightly,
    lockDurationMs: config.queue.lockDurationMs,
    logger,
    ...(config.monitoring.enabled
      ? { monitoring: monitoringSink({ store: new DriftStore(connection, config.queue.prefix), config: database?.history ? config.monitoring : { ...config.monitoring, accuracy: undefined }, specOf: specLookup(scoring, database?.pool), pool: database?.pool, copy: database?.copy, logger: logger.child({ module: 'drift' }) }) }
      : {}),
  });
  instrumentWorker(worker, QUEUES.nightly);
  await registerNightlySchedule(queue, config.nightly, logger);
  let closing: Promise<void> | undefined;
  return {
    close: () => (closing ??= worker.close().then(() => queue.close())),
  };
}
