/**
 * The worker process: signs in to Salesforce, loads the model in a scoring thread, and runs the
 * real-time batcher and batch worker and the nightly worker (nightly.ts) until stopped. Shutdown
 * order: stop batching, close the BullMQ workers (an active batch or chunk finishes or returns to the
 * queue), close the scoring thread, close Redis.
 */
import type { Config } from '../config/index.js';
import type { BatchOutcome } from '../core/rescore.js';
import type { Logger } from '../log/logger.js';
import { instrumentWorker, observeBatchOutcome, watchQueueDepth, watchRealtimeBacklog } from '../observability/metrics.js';
import { startMetricsServer } from '../observability/server.js';
import { countWrittenBands, StatusStore } from '../observability/status-store.js';
import { FailureLog } from '../queue/failures.js';
import { QUEUES } from '../queue/names.js';
import { realtimeKeys } from '../queue/realtime-intake.js';
import { RealtimeBatcher } from '../queue/realtime-batcher.js';
import type { RealtimeJobData } from '../queue/realtime-jobs.js';
import { startRealtimeWorker } from '../queue/realtime-worker.js';
import { createRedis, waitForRedis } from '../queue/redis.js';
import { connectSalesforce, type SalesforceClient } from '../salesforce/index.js';
import type { ScoringThread } from '../scoring/thread.js';
import { appendFailures } from '../db/runs.js';
import { startProcessScoring, type SystemOfRecord } from './models.js';
import { accountPorts } from './ports.js';
import { startNightly } from './nightly.js';
import { processDrift } from './monitoring.js';
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

/**
 * The real-time path's failures: the Redis log (the dashboard's list and its retry button) and the
 * system of record's `failures` table. Failing to copy is logged; the Redis log already holds them.
 */
function copiedToPostgres(log: FailureLog, sor: SystemOfRecord, logger: Logger): Pick<FailureLog, 'record'> {
  return {
    record: async (list, source, at) => {
      await log.record(list, source, at);
      if (list.length === 0) return;
      await appendFailures(sor.pool, list, { path: source, at }, sor.copy).catch((error: unknown) => logger.warn({ err: error }, 'could not copy failures to PostgreSQL'));
    },
  };
}

export async function startWorkerProcess(config: Config, logger: Logger, options: WorkerProcessOptions = {}): Promise<WorkerProcess> {
  const connection = createRedis(config.redisUrl, 'worker');
  const batcherConnection = createRedis(config.redisUrl, 'worker');
  for (const c of [connection, batcherConnection]) c.on('error', (error) => logger.warn({ err: error }, 'redis error'));
  await waitForRedis(connection, config.redisUrl);

  const salesforce = await connectSalesforce(config.salesforce!, logger);
  const models = await startProcessScoring(config, logger, connection);
  const { scoring } = models;
  const failures = new FailureLog(connection, config.queue.prefix);
  // What the admin page shows: records written per risk band, and the org's API allowance.
  const status = new StatusStore(connection, config.queue.prefix);
  const { worker, queue } = startRealtimeWorker({
    connection,
    prefix: config.queue.prefix,
    ports: countWrittenBands(
      accountPorts(salesforce, scoring, { recorder: models.recorder, path: 'realtime', logger: logger.child({ module: 'realtime' }) }),
      scoring.spec.outputFields.risk,
      (counts) => status.recordBands(counts),
    ),
    failures: models.sor ? copiedToPostgres(failures, models.sor, logger) : failures,
    concurrency: config.realtime.concurrency,
    maxAttempts: config.realtime.maxAttempts,
    limitPauseMs: config.realtime.limitPauseMs,
    retryBaseMs: config.realtime.retryBaseMs,
    lockDurationMs: config.queue.lockDurationMs,
    logger: logger.child({ module: 'realtime' }),
    onBatch: (outcome, data) => {
      observeBatchOutcome(outcome, 'realtime');
      status.recordApiUsage(salesforce.apiUsage).catch((error: unknown) => logger.debug({ err: error }, 'could not store the API usage'));
      options.onBatch?.(outcome, data);
    },
  });
  instrumentWorker(worker, QUEUES.realtime);
  const changes = realtimeKeys(config.queue.prefix).stream;
  const unwatch = [watchQueueDepth(queue), watchRealtimeBacklog(changes, () => connection.xlen(changes))];
  const drift = config.monitoring.enabled ? processDrift(config, connection, scoring, models.sor?.pool, logger) : undefined;
  const metrics = config.workerMetricsPort === undefined ? undefined : await startMetricsServer(config.workerMetricsPort, logger.child({ module: 'metrics' }));
  const batcher = new RealtimeBatcher({
    redis: batcherConnection,
    queue,
    prefix: config.queue.prefix,
    windowMs: config.realtime.windowMs,
    maxBatch: config.realtime.maxBatch,
    claimIdleMs: config.queue.lockDurationMs,
    logger: logger.child({ module: 'batcher' }),
  });
  const database = models.sor && { pool: models.sor.pool, copy: models.sor.copy, history: config.lifecycle.history, retentionDays: config.lifecycle.historyRetentionDays };
  const nightly = await startNightly(config, connection, salesforce, scoring, failures, logger.child({ module: 'nightly' }), database);
  await batcher.start();
  logger.info({ modelVersion: scoring.modelVersion, queuePrefix: config.queue.prefix }, 'worker ready');

  return {
    salesforce,
    scoring,
    shutdownSteps: [
      { name: 'batcher', run: () => batcher.stop() },
      // Both queues' workers close together: each waits for its active jobs. Past the deadline the
      // process exits without closing anything else; the jobs' locks expire and another worker takes
      // them (BullMQ stalled-job check), so nothing is lost and the scoring thread is not pulled from
      // under a running batch.
      { name: 'workers', run: () => Promise.all([worker.close(), nightly.close()]), exitOnTimeout: true },
      { name: 'queue', run: () => queue.close() },
      { name: 'drift', run: () => drift?.stop() },
      { name: 'scoring', run: () => models.close() },
      { name: 'redis', run: () => Promise.all([...unwatch.map((stop) => stop()), connection.quit(), batcherConnection.quit()]) },
      { name: 'metrics', run: () => metrics?.close() },
    ],
  };
}
