/**
 * Drift counts in Redis, shared by every process:
 * - `<prefix>:drift:run:<id>`: hash, one field per page of a nightly run (its counts, JSON), so a page
 *   read again replaces its own and the run's finish step adds them up whatever worker scored them;
 * - `<prefix>:drift:nightly:last`: the last finished run's report (what `/metrics` shows until a
 *   later run replaces it);
 * - `<prefix>:drift:rt:<minute>`: the real-time path's counts, one list entry per flush of a process,
 *   by minute; the rolling window adds up its last N minutes. Each key expires after the window.
 * Only bin counts and statistics are stored: never Account field values.
 */
import type { Redis } from 'ioredis';
import { addCounts, sameShape, type DriftCounts, type DriftReport } from '../core/drift.js';
import { QUEUE_PREFIX } from './names.js';

const RUN_TTL_SECONDS = 30 * 86_400;
const MINUTE_MS = 60_000;

export interface StoredReport {
  runId: string;
  modelVersion: string;
  at: string;
  report: DriftReport;
}

export class DriftStore {
  private readonly base: string;

  constructor(
    private readonly redis: Redis,
    prefix = QUEUE_PREFIX,
  ) {
    this.base = `${prefix}:drift`;
  }

  private runKey(runId: string): string {
    return `${this.base}:run:${runId}`;
  }

  async savePage(runId: string, index: number, counts: DriftCounts): Promise<void> {
    const key = this.runKey(runId);
    await this.redis.multi().hset(key, String(index), JSON.stringify(counts)).expire(key, RUN_TTL_SECONDS).exec();
  }

  /** The run's pages added up (pages of another shape, from a different reference, are left out). */
  async runCounts(runId: string): Promise<DriftCounts | undefined> {
    const pages = Object.values(await this.redis.hgetall(this.runKey(runId))).map((v) => JSON.parse(v) as DriftCounts);
    return merge(pages);
  }

  async saveLast(report: StoredReport): Promise<void> {
    await this.redis.set(`${this.base}:nightly:last`, JSON.stringify(report));
  }

  async last(): Promise<StoredReport | undefined> {
    const raw = await this.redis.get(`${this.base}:nightly:last`);
    return raw ? (JSON.parse(raw) as StoredReport) : undefined;
  }

  /** Adds a process's real-time counts for `version` to the current minute. */
  async addRealtime(version: string, counts: DriftCounts, windowMinutes: number, nowMs = Date.now()): Promise<void> {
    const key = `${this.base}:rt:${Math.floor(nowMs / MINUTE_MS)}`;
    await this.redis.multi().rpush(key, JSON.stringify({ version, counts })).expire(key, (windowMinutes + 1) * 60).exec();
  }

  /** The real-time counts of `version` over the last `windowMinutes`. */
  async realtime(version: string, windowMinutes: number, nowMs = Date.now()): Promise<DriftCounts | undefined> {
    const now = Math.floor(nowMs / MINUTE_MS);
    const pipeline = this.redis.pipeline();
    for (let m = now - windowMinutes + 1; m <= now; m++) pipeline.lrange(`${this.base}:rt:${m}`, 0, -1);
    const replies = (await pipeline.exec()) ?? [];
    const entries: DriftCounts[] = [];
    for (const [error, list] of replies) {
      if (error) throw error;
      for (const raw of list as string[]) {
        const entry = JSON.parse(raw) as { version: string; counts: DriftCounts };
        if (entry.version === version) entries.push(entry.counts);
      }
    }
    return merge(entries);
  }
}

function merge(list: readonly DriftCounts[]): DriftCounts | undefined {
  let total: DriftCounts | undefined;
  for (const c of list) {
    if (!total) total = structuredClone(c);
    else if (sameShape(total, c)) addCounts(total, c);
  }
  return total;
}
