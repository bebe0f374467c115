/**
 * The real-time queue's job: a batch of Account ids. Job data holds ids only, never record data or
 * tokens. Ids are checked one by one when the job runs (a bad one is recorded as failed, the others
 * are scored), not by the schema, so one bad id cannot fail the whole job.
 */
import { z } from 'zod';

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
