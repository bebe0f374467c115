/**
 * The BullMQ processor of real-time batches: parse the job, check its ids, lock its Accounts, run the
 * rescoring core, and decide retries here, at the queue boundary. Every Account of a job ends in
 * exactly one place: written, unchanged, or the failure log with its reason (never only in BullMQ's
 * failed list, which nobody reads):
 * - an id that is not an Account id (bad checksum, other key prefix) is recorded as failed, the
 *   others go on;
 * - an Account another running batch holds is handed to a later job (see account-locks.ts), so two
 *   batches never read and write the same Account at once and the last write reflects the last read;
 * - records Salesforce could not lock go back as a smaller delayed batch, with back-off, up to
 *   `maxAttempts`, then are recorded as failed;
 * - records that failed for good are recorded with their reason (FailureLog) and not retried;
 * - a whole-batch failure that may pass (Salesforce down) is thrown, so BullMQ retries the job with
 *   back-off; on its last attempt, and for a failure that will not pass, every Account of the batch is
 *   recorded as failed with the reason; the org's API limit pauses the queue instead of failing records.
 */
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isAppError } from '../core/errors.js';
import { describeBadId, hasKeyPrefix, KEY_PREFIXES, toId18 } from '../core/record-id.js';
import { rescoreAccounts, type BatchOutcome, type Failure, type RescorePorts } from '../core/rescore.js';
import { accountDeferBackoff, backoffMs, MAX_DEFERRALS, realtimeRecordBackoff } from '../core/retry-policy.js';
import type { Logger } from '../log/logger.js';
import { AccountLocks } from './account-locks.js';
import type { FailureLog } from './failures.js';
import { QUEUES } from './names.js';
import { realtimeJobSchema, realtimeQueue, type RealtimeJobData } from './realtime-jobs.js';

export interface RealtimeWorkerOptions {
  connection: Redis;
  prefix: string;
  ports: RescorePorts;
  /** Where records that failed for good go (the Redis log, and PostgreSQL when there is one). */
  failures: Pick<FailureLog, 'record'>;
  concurrency: number;
  maxAttempts: number;
  lockDurationMs: number;
  /** How long the queue pauses when the org is out of API calls. @defaultValue 60000 */
  limitPauseMs?: number;
  /** First back-off for records Salesforce could not lock, doubled per try (capped at 60 s). @defaultValue 1000 */
  retryBaseMs?: number;
  /** First wait of Accounts another batch holds, doubled per wait (capped at 5 s). @defaultValue 200 */
  deferBaseMs?: number;
  logger: Logger;
  /** Called after each batch, for metrics, the demo's narration and benchmarks. */
  onBatch?: (outcome: BatchOutcome, data: RealtimeJobData) => void;
}

const emptyOutcome = (): BatchOutcome => ({ written: [], unchanged: [], retry: [], failed: [] });

export function startRealtimeWorker(options: RealtimeWorkerOptions): { worker: Worker<RealtimeJobData>; queue: Queue<RealtimeJobData> } {
  const { logger, failures } = options;
  const queue = realtimeQueue(options.connection, options.prefix);
  const locks = new AccountLocks(options.connection, options.prefix, options.lockDurationMs);
  const deferBaseMs = options.deferBaseMs ?? 200;

  const processBatch = async (job: Job<RealtimeJobData>) => {
    const parsed = realtimeJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Job data is not a real-time batch: ${parsed.error.issues[0]?.message}`);
    const data = parsed.data;
    const log = logger.child({ jobId: job.id, accounts: data.accountIds.length });
    const owner = `rt:${job.id}`;

    // Ids enter the queue from messages, the admin page and old jobs: check each one here.
    const invalid: Failure[] = [];
    const ids = new Set<string>();
    for (const raw of data.accountIds) {
      const id = hasKeyPrefix(raw, KEY_PREFIXES.account) ? toId18(raw)! : undefined;
      if (id) ids.add(id);
      else invalid.push({ id: raw.slice(0, 40), code: 'INVALID_ID', message: `${describeBadId(raw)}, or not an Account id (key prefix 001); it was never sent to Salesforce.` });
    }
    await failures.record(invalid, 'realtime');

    const { acquired, busy } = await locks.acquire([...ids], owner);
    if (busy.length > 0) {
      const deferrals = (data.deferrals ?? 0) + 1;
      if (deferrals > MAX_DEFERRALS) {
        await failures.record(busy.map((id) => ({ id, code: 'ACCOUNT_BUSY', message: `Another batch held the Account for over ${MAX_DEFERRALS} waits; retry it from the admin page.` })), 'realtime');
      } else {
        await queue.add('rescore', { accountIds: busy, receivedAt: data.receivedAt, attempt: data.attempt, deferrals }, { delay: backoffMs(deferrals, accountDeferBackoff(deferBaseMs)) });
        log.debug({ busy: busy.length, deferrals }, 'Accounts held by another batch; they wait for it');
      }
    }
    if (acquired.length === 0) {
      const outcome = { ...emptyOutcome(), failed: invalid };
      options.onBatch?.(outcome, data);
      return { written: 0, unchanged: 0, retry: 0, failed: invalid.length, deferred: busy.length };
    }

    // A slow Salesforce can take longer than the lock's lifetime: keep the locks while working.
    const renew = setInterval(() => {
      locks.extend(acquired, owner).catch((error: unknown) => log.warn({ err: error }, 'could not extend the Account locks'));
    }, Math.max(1_000, Math.floor(options.lockDurationMs / 3)));
    let outcome: BatchOutcome;
    try {
      outcome = await rescoreAccounts(acquired, options.ports);
    } catch (error) {
      if (isAppError(error, 'SF_REQUEST_LIMIT')) {
        const pause = options.limitPauseMs ?? 60_000;
        log.warn({ pauseMs: pause }, 'the org is out of API calls; the batch waits for the allowance');
        await worker.rateLimit(pause);
        throw Worker.RateLimitError();
      }
      const message = error instanceof Error ? error.message : String(error);
      const attempts = job.opts.attempts ?? 1;
      const lastAttempt = job.attemptsMade + 1 >= attempts;
      if (isAppError(error) && error.retryable && !lastAttempt) {
        log.warn({ code: error.code, attempt: job.attemptsMade + 1 }, `batch failed, will retry: ${message}`);
        throw error;
      }
      // It will not pass, or it did not in `attempts` tries: every Account goes to the failure log.
      const code = isAppError(error) ? error.code : 'BATCH_FAILED';
      const reason = isAppError(error) && error.retryable ? `${message} (gave up after ${attempts} tries)` : message;
      log.error({ code, accounts: acquired.length, err: error }, `batch failed for good; its Accounts are recorded as failed: ${message}`);
      outcome = { ...emptyOutcome(), failed: acquired.map((id) => ({ id, code, message: reason.slice(0, 500) })) };
    } finally {
      clearInterval(renew);
      await locks.release(acquired, owner).catch((error: unknown) => log.warn({ err: error }, 'could not release the Account locks; they expire on their own'));
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
    outcome.failed.unshift(...invalid);
    log.info(
      { written: outcome.written.length, unchanged: outcome.unchanged.length, retry: outcome.retry.length, failed: outcome.failed.length, deferred: busy.length, attempt: data.attempt },
      'real-time batch done',
    );
    options.onBatch?.(outcome, data);
    return { written: outcome.written.length, unchanged: outcome.unchanged.length, retry: outcome.retry.length, failed: outcome.failed.length, deferred: busy.length };
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
