/**
 * One batch at a time per Account. Two real-time batches that hold the same Account (two messages
 * for it close together, a retry, a manual re-queue) would both read it before either wrote, write it
 * twice, and an older read could land last and overwrite a newer score. A batch therefore takes a
 * Redis lock on each of its Accounts before it reads them and gives them up after it wrote them; an
 * Account another batch holds is handed to a later batch, which then reads what the first one wrote.
 *
 * - The owner is the BullMQ job id, so a job retried or taken over after its worker died holds its
 *   own locks again instead of waiting for itself.
 * - Locks expire after `ttlMs` (the queue's job lock duration) so a dead worker frees them about when
 *   BullMQ hands its job to another worker; a running batch extends them while it works.
 * - Keys share the queue prefix's hash tag, so the scripts run on Redis Cluster too.
 */
import type { Redis } from 'ioredis';

const ACQUIRE = `
local got = {}
for i = 1, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder == false then
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
    got[#got + 1] = i
  elseif holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    got[#got + 1] = i
  end
end
return got
`;

const EXTEND = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
return 1
`;

const RELEASE = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 1
`;

type WithLocks = Redis & {
  churnLockAcquire(...args: Array<string | number>): Promise<number[]>;
  churnLockExtend(...args: Array<string | number>): Promise<number>;
  churnLockRelease(...args: Array<string | number>): Promise<number>;
};

export class AccountLocks {
  private readonly redis: WithLocks;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    readonly ttlMs: number,
  ) {
    if (!('churnLockAcquire' in redis)) {
      redis.defineCommand('churnLockAcquire', { lua: ACQUIRE });
      redis.defineCommand('churnLockExtend', { lua: EXTEND });
      redis.defineCommand('churnLockRelease', { lua: RELEASE });
    }
    this.redis = redis as WithLocks;
  }

  key(accountId: string): string {
    return `${this.prefix}:lock:account:${accountId}`;
  }

  /** Takes every free lock (and the ones `owner` already holds); the others are `busy`. One round trip. */
  async acquire(ids: readonly string[], owner: string): Promise<{ acquired: string[]; busy: string[] }> {
    if (ids.length === 0) return { acquired: [], busy: [] };
    const got = new Set(await this.redis.churnLockAcquire(ids.length, ...ids.map((id) => this.key(id)), owner, this.ttlMs));
    const acquired: string[] = [];
    const busy: string[] = [];
    ids.forEach((id, i) => (got.has(i + 1) ? acquired : busy).push(id));
    return { acquired, busy };
  }

  async extend(ids: readonly string[], owner: string): Promise<void> {
    if (ids.length > 0) await this.redis.churnLockExtend(ids.length, ...ids.map((id) => this.key(id)), owner, this.ttlMs);
  }

  async release(ids: readonly string[], owner: string): Promise<void> {
    if (ids.length > 0) await this.redis.churnLockRelease(ids.length, ...ids.map((id) => this.key(id)), owner);
  }
}
