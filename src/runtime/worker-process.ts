/**
 * The worker process: signs in to Salesforce, loads the model in a scoring thread, and runs the
 * real-time batcher and batch worker until stopped. Shutdown order: stop batching, close the BullMQ
 * worker (an active batch finishes or returns to the queue), close the scoring thread, close Redis.
 */
import type { Config } from '../config/index.js';
import type { BatchOutcome } from '../core/rescore.js';
import type { Logger } from '../log/logger.js';
import { FailureLog } from '../queue/failures.js';
import { RealtimeBatcher } from '../queue/realtime-batcher.js';
import type { RealtimeJobData } from '../queue/realtime-jobs.js';
import { startRealtimeWorker } from '../queue/realtime-worker.js';
import { createRedis } from '../queue/redis.js';
import { connectSalesforce, type SalesforceClient } from '../salesforce/index.js';
import { ScoringThread } from '../scoring/thread.js';
import { accountPorts } from './ports.js';
import type { ShutdownStep } from './shutdown.js';

export interface WorkerProcess {
  salesforce: SalesforceClient;
  scoring: ScoringThread;
  /** Ordered steps for createShutdown(). */
  shutdownSteps: ShutdownStep[];
}

export interface WorkerProcessOptions {
  onBatch?: (outcome: BatchOutcome, data: RealtimeJobData) => void;
}

export async function startWorkerProcess(config: Config, logger: Logger, options: WorkerProcessOptions = {}): Promise<WorkerProcess> {
  const connection = createRedis(config.redisUrl, 'worker');
  const batcherConnection = createRedis(config.redisUrl, 'worker');
  for (const c of [connection, batcherConnection]) c.on('error', (error) => logger.warn({ err: error.message }, 'redis error'));
  await connection.ping();

  const salesforce = await connectSalesforce(config.salesforce!, logger);
  const scoring = await ScoringThread.open(
    { modelPath: config.scoring.modelPath, specPath: config.scoring.specPath, threads: config.scoring.threads },
    logger.child({ module: 'scoring' }),
  );
  const failures = new FailureLog(connection, config.queue.prefix);
  const { worker, queue } = startRealtimeWorker({
    connection,
    prefix: config.queue.prefix,
    ports: accountPorts(salesforce, scoring),
    failures,
    concurrency: config.realtime.concurrency,
    maxAttempts: config.realtime.maxAttempts,
    limitPauseMs: config.realtime.limitPauseMs,
    retryBaseMs: config.realtime.retryBaseMs,
    lockDurationMs: config.queue.lockDurationMs,
    logger: logger.child({ module: 'realtime' }),
    onBatch: options.onBatch,
  });
  const batcher = new RealtimeBatcher({
    redis: batcherConnection,
    queue,
    prefix: config.queue.prefix,
    windowMs: config.realtime.windowMs,
    maxBatch: config.realtime.maxBatch,
    claimIdleMs: config.queue.lockDurationMs,
    logger: logger.child({ module: 'batcher' }),
  });
  await batcher.start();
  logger.info({ modelVersion: scoring.modelVersion, queuePrefix: config.queue.prefix }, 'worker ready');

  return {
    salesforce,
    scoring,
    shutdownSteps: [
      { name: 'batcher', run: () => batcher.stop() },
      { name: 'workers', run: () => worker.close() },
      { name: 'queue', run: () => queue.close() },
      { name: 'scoring', run: () => scoring.close() },
      { name: 'redis', run: () => Promise.all([connection.quit(), batcherConnection.quit()]) },
    ],
  };
}
