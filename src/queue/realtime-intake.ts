/**
 * The receiver's side of the real-time queue. Each new notification becomes one entry of a Redis
 * stream (account id + time received); the pair (notification id, Account id) is remembered for 48
 * hours so a redelivery (Salesforce retries for up to 24 hours, out of order) is acknowledged again
 * without being enqueued twice. The Account id is part of the key: two notifications that share an
 * id but name different Accounts are two Accounts to score, never one dropped as a "duplicate". Both
 * happen in one Lua script, so a notification is either remembered and enqueued, or neither: the web
 * process acknowledges only after the script returns.
 *
 * One script call per message keeps the receive path to a single Redis round trip; the worker turns
 * stream entries into BullMQ batch jobs (see realtime-batcher.ts).
 */
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from './names.js';

export const DEDUPE_TTL_SECONDS = 48 * 60 * 60;

/** Keys share the prefix's hash tag (`{churn}`) so the multi-key script runs on Redis Cluster too. */
export function realtimeKeys(prefix = QUEUE_PREFIX) {
  return { stream: `${prefix}:realtime:changes`, seen: `${prefix}:om:seen:` };
}

const INTAKE_SCRIPT = `
local stream = KEYS[#KEYS]
local added = 0
for i = 1, #KEYS - 1 do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', stream, '*', 'a', ARGV[i + 2], 't', ARGV[2])
    added = added + 1
  end
end
return added
`;

export interface IntakeItem {
  notificationId: string;
  accountId: string;
}

export interface IntakeResult {
  enqueued: number;
  duplicates: number;
}

type WithIntake = Redis & {
  churnIntake(...args: Array<string | number>): Promise<number>;
};

export class RealtimeIntake {
  private readonly redis: WithIntake;
  readonly keys: ReturnType<typeof realtimeKeys>;

  /** `prefix` is the queue prefix (tests use their own). */
  constructor(redis: Redis, prefix = QUEUE_PREFIX) {
    this.keys = realtimeKeys(prefix);
    if (!('churnIntake' in redis)) {
      redis.defineCommand('churnIntake', { lua: INTAKE_SCRIPT });
    }
    this.redis = redis as WithIntake;
  }

  /**
   * Remembers and enqueues the new notifications of one message, in one atomic script call. Account
   * ids should be in one form (the receiver passes 18-character ids) so a redelivery matches.
   */
  async enqueue(items: IntakeItem[], now = Date.now()): Promise<IntakeResult> {
    if (items.length === 0) return { enqueued: 0, duplicates: 0 };
    const keys = items.map((i) => `${this.keys.seen}${i.notificationId}:${i.accountId}`);
    const enqueued = await this.redis.churnIntake(keys.length + 1, ...keys, this.keys.stream, DEDUPE_TTL_SECONDS, now, ...items.map((i) => i.accountId));
    return { enqueued, duplicates: items.length - enqueued };
  }
}
