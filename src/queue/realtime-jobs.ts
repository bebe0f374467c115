/** The real-time queue's job: a batch of Account ids. Job data holds ids only, never record data or tokens. */
import { z } from 'zod';

export const realtimeJobSchema = z.object({
  accountIds: z.array(z.string().regex(/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/)).min(1).max(200),
  /** When the earliest change in the batch reached the receiver (ms since epoch). */
  receivedAt: z.number(),
  /** 1 for a new batch; retries of locked records count up. */
  attempt: z.number().int().min(1),
});

export type RealtimeJobData = z.infer<typeof realtimeJobSchema>;
