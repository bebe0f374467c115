/**
 * The real-time queue as producers see it (the batcher, the admin page): its job, a batch of Account
 * ids, and the queue with its job options. Job data holds ids only, never record data or tokens. Ids
 * are checked one by one when the job runs (a bad one is recorded as failed, the others are scored),
 * not by the schema, so one bad id cannot fail the whole job. The processor is in realtime-worker.ts,
 * which only worker processes load.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { JOB_RETRY } from '../core/retry-policy.js';
import { QUEUES } from './names.js';

export const realtimeJobSchema = z.object({
  accountIds: z.array(z.string().max(64)).min(1).max(200),
  /** When the earliest change in the batch reached the receiver (ms since epoch). */
  receivedAt: z.number(),
  /** 1 for a new batch; retries of locked records count up. */
  attempt: z.number().int().min(1),
  /** How many times these Accounts waited for another batch that held them (see account-locks.ts). */
  deferrals: z.number().int().min(0).optional(),
});

export type RealtimeJobData = z.infer<typeof realtimeJobSchema>;

/** Whole-batch retries as core/retry-policy.ts says (JOB_RETRY.realtime); bounded history in Redis. */
export const REALTIME_JOB_OPTIONS = {
  attempts: JOB_RETRY.realtime.attempts,
  backoff: { ...JOB_RETRY.realtime.backoff },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

export function realtimeQueue(connection: Redis, prefix: string): Queue<RealtimeJobData> {
  return new Queue<RealtimeJobData>(QUEUES.realtime, { connection, prefix, defaultJobOptions: REALTIME_JOB_OPTIONS });
}
