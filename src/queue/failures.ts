/**
 * Records that failed for good (a validation rule, a deleted record, a field the integration user
 * cannot write, a lock that never cleared): kept in Redis with their reason, newest first, so the
 * dashboard can list them and an operator can retry them. Never retried automatically.
 */
import type { Redis } from 'ioredis';
import type { Failure } from '../core/rescore.js';
import { QUEUE_PREFIX } from './names.js';

export interface RecordedFailure extends Failure {
  /** Which path failed it: realtime, nightly, predict. */
  source: string;
  at: string;
}

/** The list keeps the newest entries only; the counter counts them all. */
const KEEP = 1_000;

export class FailureLog {
  readonly key: string;
  readonly countKey: string;

  constructor(
    private readonly redis: Redis,
    prefix = QUEUE_PREFIX,
  ) {
    this.key = `${prefix}:failures`;
    this.countKey = `${prefix}:failures:count`;
  }

  async record(failures: readonly Failure[], source: string, at = new Date()): Promise<void> {
    if (failures.length === 0) return;
    const entries = failures.map((f) => JSON.stringify({ ...f, source, at: at.toISOString() } satisfies RecordedFailure));
    await this.redis.multi().lpush(this.key, ...entries).ltrim(this.key, 0, KEEP - 1).incrby(this.countKey, failures.length).exec();
  }

  async recent(limit = 50): Promise<RecordedFailure[]> {
    const raw = await this.redis.lrange(this.key, 0, limit - 1);
    return raw.map((r) => JSON.parse(r) as RecordedFailure);
  }

  async total(): Promise<number> {
    return Number((await this.redis.get(this.countKey)) ?? 0);
  }
}
