/**
 * The nightly queue as producers see it (the web process, the CLI, the scheduler): its jobs, a `run`
 * (from the scheduler, the CLI or the admin endpoint) and the `chunk`s it fans out to, one per Bulk
 * result page; the queue itself, the schedule and the enqueueing of a run. Job data holds ids and
 * locators only: the chunk worker reads its page from Salesforce itself, so no Account values sit in
 * Redis. The processor is in nightly-worker.ts, which only worker processes load.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { NightlyConfig } from '../config/index.js';
import { JOB_RETRY } from '../core/retry-policy.js';
import type { Logger } from '../log/logger.js';
import { validateWhere } from '../nightly/query.js';
import { QUEUES } from './names.js';
import type { RunStore } from './nightly-store.js';

export const NIGHTLY_SCHEDULER_ID = 'nightly-rescore';

export const runJobSchema = z.object({
  /** Set for manual runs; scheduled runs take their job id. */
  runId: z.string().regex(/^[\w-]+$/).optional(),
  where: z.string().max(4_000).optional(),
  trigger: z.enum(['schedule', 'manual', 'admin', 'bench']).default('schedule'),
});
export type RunJobData = z.input<typeof runJobSchema>;

export const chunkJobSchema = z.object({
  runId: z.string().regex(/^[\w-]+$/),
  index: z.number().int().min(0),
  /** Locator of the page; null for the first page. */
  locator: z.string().nullable(),
});
export type ChunkJobData = z.infer<typeof chunkJobSchema>;

/** BullMQ custom ids may not contain ':' nor be all digits. */
export function chunkJobId(runId: string, index: number): string {
  return `${runId}__chunk-${index}`;
}

/** Retries as core/retry-policy.ts says (JOB_RETRY.nightly); bounded history in Redis. */
export const NIGHTLY_JOB_OPTIONS = {
  attempts: JOB_RETRY.nightly.attempts,
  backoff: { ...JOB_RETRY.nightly.backoff },
  removeOnComplete: { age: 7 * 24 * 3_600, count: 1_000 },
  removeOnFail: { age: 14 * 24 * 3_600 },
};

export type NightlyData = RunJobData | ChunkJobData;

export function nightlyQueue(connection: Redis, prefix: string): Queue<NightlyData> {
  return new Queue<NightlyData>(QUEUES.nightly, { connection, prefix, defaultJobOptions: NIGHTLY_JOB_OPTIONS });
}

/**
 * Registers (or updates) the one schedule every worker agrees on; upserting is idempotent, so many
 * dynos starting at once still make one schedule. With the schedule disabled it is removed.
 */
export async function registerNightlySchedule(queue: Queue<NightlyData>, config: NightlyConfig, logger: Logger): Promise<void> {
  if (!config.enabled) {
    if (await queue.removeJobScheduler(NIGHTLY_SCHEDULER_ID)) logger.info('nightly schedule removed (NIGHTLY_ENABLED=false)');
    return;
  }
  await queue.upsertJobScheduler(NIGHTLY_SCHEDULER_ID, { pattern: config.cron, tz: config.tz }, { name: 'run', data: { trigger: 'schedule' }, opts: NIGHTLY_JOB_OPTIONS });
  logger.info({ cron: config.cron, tz: config.tz }, 'nightly schedule registered');
}

/** Enqueues a run now; returns its id (follow it with RunStore.get). */
export async function enqueueRun(queue: Queue<NightlyData>, store: RunStore, options: { where?: string; trigger: 'manual' | 'admin' | 'bench' }): Promise<string> {
  const where = options.where === undefined ? undefined : validateWhere(options.where);
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const runId = `${options.trigger}-${stamp}-${randomBytes(3).toString('hex')}`;
  await store.create(runId, options.trigger, where);
  await queue.add('run', { runId, where, trigger: options.trigger }, { jobId: runId });
  return runId;
}

/** The queue as the nightly core sees it: pages handed on as chunk jobs, and whether others wait. */
export function chunkQueue(queue: Queue<NightlyData>): { enqueueChunk(runId: string, index: number, locator: string | null): Promise<void>; othersWaiting(): Promise<boolean> } {
  return {
    enqueueChunk: async (runId, index, locator) => {
      await queue.add('chunk', { runId, index, locator }, { jobId: chunkJobId(runId, index) });
    },
    othersWaiting: async () => (await queue.getWaitingCount()) > 0,
  };
}

