/**
 * Queue names and the Redis key prefix. The prefix is a hash tag (`{churn}`), so every key of every
 * queue lands in one Redis Cluster slot and BullMQ's multi-key scripts keep working on a cluster.
 */
export const QUEUE_PREFIX = '{churn}';

export const QUEUES = Object.freeze({
  /** Account ids from outbound messages, scored in micro-batches. */
  realtime: 'account-realtime',
  /** Nightly and manual whole-org re-scoring runs and their chunks. */
  nightly: 'account-nightly',
} as const);
