/**
 * Records that failed for good (a validation rule, a field the integration user cannot write, a lock
 * that never cleared, an id Salesforce refused, a value outside the model's range): kept in Redis with
 * their reason, newest first, so the dashboard can list them and an operator can retry them. Never
 * retried automatically.
 *
 * Accounts that do not exist (NOT_FOUND: deleted since the change, never visible to the integration
 * user, or named by a forged message) go to a bucket of their own with its own bound and counter.
 * However many arrive, they never push a real failure out of the list an operator reads.
 */
import type { Redis } from 'ioredis';
import type { Failure } from '../core/rescore.js';
import { QUEUE_PREFIX } from './names.js';

export interface RecordedFailure extends Failure {
  /** Which path failed it: realtime, nightly, predict. */
  source: string;
  at: string;
}

/** Each list keeps its newest entries only; the counters count them all. */
const KEEP = 1_000;
const KEEP_NOT_FOUND = 200;

/** Failure codes that say "no such Account" rather than "this Account could not be scored or written". */
export const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['NOT_FOUND', 'ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY']);

export class FailureLog {
  readonly key: string;
  readonly countKey: string;
  readonly notFoundKey: string;
  readonly notFoundCountKey: string;

  constructor(
    private readonly redis: Redis,
    prefix = QUEUE_PREFIX,
  ) {
    this.key = `${prefix}:failures`;
    this.countKey = `${prefix}:failures:count`;
    this.notFoundKey = `${prefix}:failures:not-found`;
    this.notFoundCountKey = `${prefix}:failures:not-found:count`;
  }

  async record(failures: readonly Failure[], source: string, at = new Date()): Promise<void> {
    if (failures.length === 0) return;
    const entry = (f: Failure) => JSON.stringify({ ...f, source, at: at.toISOString() } satisfies RecordedFailure);
    const missing = failures.filter((f) => NOT_FOUND_CODES.has(f.code));
    const real = failures.filter((f) => !NOT_FOUND_CODES.has(f.code));
    const multi = this.redis.multi();
    if (real.length > 0) multi.lpush(this.key, ...real.map(entry)).ltrim(this.key, 0, KEEP - 1).incrby(this.countKey, real.length);
    if (missing.length > 0) multi.lpush(this.notFoundKey, ...missing.map(entry)).ltrim(this.notFoundKey, 0, KEEP_NOT_FOUND - 1).incrby(this.notFoundCountKey, missing.length);
    await multi.exec();
  }

  /** The newest real failures (never the not-found ones). */
  async recent(limit = 50): Promise<RecordedFailure[]> {
    const raw = await this.redis.lrange(this.key, 0, limit - 1);
    return raw.map((r) => JSON.parse(r) as RecordedFailure);
  }

  async total(): Promise<number> {
    return Number((await this.redis.get(this.countKey)) ?? 0);
  }

  /** The newest notifications for Accounts that did not exist. */
  async recentNotFound(limit = 20): Promise<RecordedFailure[]> {
    const raw = await this.redis.lrange(this.notFoundKey, 0, limit - 1);
    return raw.map((r) => JSON.parse(r) as RecordedFailure);
  }

  async notFoundTotal(): Promise<number> {
    return Number((await this.redis.get(this.notFoundCountKey)) ?? 0);
  }
}
