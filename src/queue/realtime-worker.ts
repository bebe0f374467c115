/**
 * The BullMQ processor of real-time batches: parse the job, run the rescoring core, and decide retries
 * here, at the queue boundary:
 * - records Salesforce could not lock go back as a smaller delayed batch, with back-off, up to
 *   `maxAttempts`, then are recorded as failed;
 * - records that failed for good are recorded with their reason (FailureLog) and not retried;
 * - a whole-batch failure that may pass (Salesforce down) is thrown, so BullMQ retries the job with
 *   back-off; the org's API limit pauses the queue instead of failing records;
 * - anything else fails the job for good (UnrecoverableError), visible in the failed list.
 */
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isAppError } from '../core/errors.js';
import { rescoreAccounts, type BatchOutcome, type RescorePorts } from '../core/rescore.js';
import { backoffMs, realtimeRecordBackoff } from '../core/retry-policy.js';
import type { Logger } from '../log/logger.js';
import type { FailureLog } from './failures.js';
import { QUEUES } from './names.js';
import { realtimeJobSchema, realtimeQueue, type RealtimeJobData } from './realtime-jobs.js';

export interface RealtimeWorkerOptions {
  connection: Redis;
  prefix: string;
  ports: RescorePorts;
  failures: FailureLog;
  concurrency: number;
  maxAttempts: number;
  lockDurationMs: number;
  /** How long the queue pauses when the org is out of API calls. @defaultValue 60000 */
  limitPauseMs?: number;
  /** First back-off for records Salesforce could not lock, doubled per try (capped at 60 s). @defaultValue 1000 */
  retryBaseMs?: number;
  logger: Logger;
  /** Called after each batch, for metrics, the demo's narration and benchmarks. */
  onBatch?: (outcome: BatchOutcome, data: RealtimeJobData) => void;
}


export function startRealtimeWorker(options: RealtimeWorkerOptions): { worker: Worker<RealtimeJobData>; queue: Queue<RealtimeJobData> } {
  const { logger, failures } = options;
  const queue = realtimeQueue(options.connection, options.prefix);

  const processBatch = async (job: Job<RealtimeJobData>) => {
    const parsed = realtimeJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Job data is not a real-time batch: ${parsed.error.issues[0]?.message}`);
    const data = parsed.data;
    const log = logger.child({ jobId: job.id, accounts: data.accountIds.length });
    let outcome: BatchOutcome;
    try {
      outcome = await rescoreAccounts(data.accountIds, options.ports);
    } catch (error) {
      if (isAppError(error, 'SF_REQUEST_LIMIT')) {
        const pause = options.limitPauseMs ?? 60_000;
        log.warn({ pauseMs: pause }, 'the org is out of API calls; the batch waits for the allowance');
        await worker.rateLimit(pause);
        throw Worker.RateLimitError();
      }
      if (isAppError(error) && error.retryable) {
        log.warn({ code: error.code, attempt: job.attemptsMade + 1 }, `batch failed, will retry: ${error.message}`);
        throw error;
      }
      log.error({ err: error }, 'batch failed for good');
      // BullMQ keeps only the message as the job's failed reason: keep the code in it, and the cause.
      const message = error instanceof Error ? error.message : String(error);
      throw Object.assign(new UnrecoverableError(isAppError(error) ? `${error.code}: ${message}` : message), { cause: error });
    }

    await failures.record(outcome.failed, 'realtime');
    if (outcome.retry.length > 0) {
      if (data.attempt >= options.maxAttempts) {
        await failures.record(
          outcome.retry.map((r) => ({ ...r, message: `${r.message} (gave up after ${data.attempt} tries)` })),
          'realtime',
        );
      } else {
        const accountIds = outcome.retry.map((r) => r.id);
        await queue.add('rescore', { accountIds, receivedAt: data.receivedAt, attempt: data.attempt + 1 }, { delay: backoffMs(data.attempt, realtimeRecordBackoff(options.retryBaseMs ?? 1_000)) });
      }
    }
    log.info(
      { written: outcome.written.length, unchanged: outcome.unchanged.length, retry: outcome.retry.length, failed: outcome.failed.length, attempt: data.attempt },
      'real-time batch done',
    );
    options.onBatch?.(outcome, data);
    return { written: outcome.written.length, unchanged: outcome.unchanged.length, retry: outcome.retry.length, failed: outcome.failed.length };
  };

  const worker: Worker<RealtimeJobData> = new Worker<RealtimeJobData>(QUEUES.realtime, processBatch, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.lockDurationMs,
    maxStalledCount: 3,
    autorun: true,
  });
  worker.on('error', (error) => logger.error({ err: error }, 'real-time worker error'));
  return { worker, queue };
}
