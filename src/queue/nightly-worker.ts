/**
 * The BullMQ processor of the nightly queue, thin like realtime-worker.ts: it parses `run` and `chunk`
 * jobs, calls the nightly core (src/nightly/run.ts), and maps its outcomes onto BullMQ: a wait becomes
 * a delayed job (the worker slot is handed back; no attempt is counted), a retry rethrows the error so
 * BullMQ retries with the back-off of core/retry-policy.ts, a failure for good becomes
 * UnrecoverableError. What an error means for the run is decided by the core (`NightlyRun.failed`).
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { NightlyDeps } from '../nightly/ports.js';
import { NightlyRun, type JobOutcome } from '../nightly/run.js';
import type { Logger } from '../log/logger.js';
import { QUEUES } from './names.js';
import { chunkJobSchema, runJobSchema, type NightlyData } from './nightly-jobs.js';

export interface NightlyWorkerOptions {
  connection: Redis;
  prefix: string;
  /** The core's collaborators. */
  deps: NightlyDeps;
  /** Chunk jobs one process works on at once. */
  concurrency: number;
  lockDurationMs: number;
  logger: Logger;
}

export function startNightlyWorker(options: NightlyWorkerOptions): Worker<NightlyData> {
  const nightly = new NightlyRun(options.deps);

  const apply = async (job: Job<NightlyData>, token: string | undefined, outcome: JobOutcome, error?: unknown) => {
    switch (outcome.kind) {
      case 'done':
        return outcome.result;
      case 'wait':
        await job.moveToDelayed(Date.now() + outcome.ms, token);
        throw new DelayedError();
      case 'retry':
        throw error;
      case 'fail':
        throw new UnrecoverableError(outcome.message);
    }
  };

  const processJob = async (job: Job<NightlyData>, token?: string) => {
    const chunk = job.name === 'chunk';
    const parsed = chunk ? chunkJobSchema.safeParse(job.data) : runJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`Job data is not a nightly ${chunk ? 'chunk' : 'run'}: ${parsed.error.issues[0]?.message}`);
    const data = parsed.data as Record<string, unknown>;
    const runId = typeof data.runId === 'string' ? data.runId : String(job.id).replace(/[^\w-]/g, '_');
    let outcome: JobOutcome;
    try {
      outcome = chunk
        ? await nightly.chunk(runId, data.index as number, data.locator as string | null)
        : await nightly.start(runId, { trigger: data.trigger as string, where: data.where as string | undefined });
    } catch (error) {
      const what = chunk ? `chunk ${data.index as number}` : 'run';
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      return apply(job, token, await nightly.failed(runId, what, error, { made: job.attemptsMade, last: lastAttempt }), error);
    }
    return apply(job, token, outcome);
  };

  const worker = new Worker<NightlyData>(QUEUES.nightly, processJob, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.lockDurationMs,
    maxStalledCount: 3,
  });
  worker.on('error', (error) => options.logger.error({ err: error }, 'nightly worker error'));
  return worker;
}
