/**
 * Wires the nightly re-scoring into a worker process: the nightly core (src/nightly/) on its adapters
 * (Bulk API 2.0 through the process's Salesforce client, the run log in Redis, the scoring thread, the
 * failure log, the nightly queue), the BullMQ worker that runs its jobs, and the schedule, upserted by
 * every worker at start-up (idempotent: many dynos, one schedule).
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { NightlyDeps, RowScorer } from '../nightly/ports.js';
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
    rescoreRows: (request, version) => scoring.rescoreRows(request, version),
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
  /** Tests shorten the wait before a retry ingest job. */
  retryDelayMs?: (attempt: number) => number;
}

/** The nightly worker and its queue on these adapters (the worker process, and tests, use it). */
export function nightlyWorker(w: NightlyWiring) {
  const queue = nightlyQueue(w.connection, w.prefix);
  const store = new RunStore(w.connection, w.prefix);
  const { config } = w;
  const deps: NightlyDeps = {
    openBulk: (logger) => new BulkClient(w.salesforce, { logger, poll: { initialMs: config.pollInitialMs, maxMs: config.pollMaxMs }, resultIdleTimeoutMs: config.resultIdleTimeoutMs }),
    log: store,
    scorer: w.scorer,
    failures: { record: (failures) => w.failures.record(failures, 'nightly') },
    queue: chunkQueue(queue),
    settings: { ...config, retryDelayMs: w.retryDelayMs },
    logger: w.logger,
    onRunEnded: recordNightlyRun,
  };
  const worker = startNightlyWorker({ connection: w.connection, prefix: w.prefix, deps, concurrency: config.concurrency, lockDurationMs: w.lockDurationMs, logger: w.logger });
  return { worker, queue, store };
}

export async function startNightly(config: Config, connection: Redis, salesforce: SalesforceClient, scoring: ScoringThread, failures: FailureLog, logger: Logger): Promise<NightlyHandle> {
  const { worker, queue } = nightlyWorker({
    connection,
    prefix: config.queue.prefix,
    salesforce,
    scorer: threadScorer(scoring),
    failures,
    config: config.nightly,
    lockDurationMs: config.queue.lockDurationMs,
    logger,
  });
  instrumentWorker(worker, QUEUES.nightly);
  await registerNightlySchedule(queue, config.nightly, logger);
  let closing: Promise<void> | undefined;
  return {
    close: () => (closing ??= worker.close().then(() => queue.close())),
  };
}
