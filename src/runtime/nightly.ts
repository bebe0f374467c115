/**
 * Wires the nightly re-scoring into a worker process: the BullMQ worker of the nightly queue (runs and
 * chunks) on the process's Salesforce client and scoring thread, and the schedule, upserted by every
 * worker at start-up (idempotent: many dynos, one schedule).
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { instrumentWorker } from '../observability/metrics.js';
import { QUEUES } from '../queue/names.js';
import type { FailureLog } from '../queue/failures.js';
import { registerNightlySchedule, startNightlyWorker } from '../queue/nightly-worker.js';
import type { SalesforceClient } from '../salesforce/client.js';
import type { ScoringThread } from '../scoring/thread.js';

export interface NightlyHandle {
  /** Stops taking chunks (an active one finishes or returns to the queue), then closes the queue. */
  close(): Promise<void>;
}

export async function startNightly(config: Config, connection: Redis, salesforce: SalesforceClient, scoring: ScoringThread, failures: FailureLog, logger: Logger): Promise<NightlyHandle> {
  const { worker, queue } = startNightlyWorker({
    connection,
    prefix: config.queue.prefix,
    salesforce,
    scorer: scoring,
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
