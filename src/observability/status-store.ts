/**
 * Small facts the admin status page shows, kept in Redis by the worker processes (the web process
 * has no Salesforce session and no scores of its own):
 * - `<prefix>:status:bands:<YYYY-MM-DD>`: records written per risk band that UTC day (kept 8 days);
 * - `<prefix>:status:api`: the last `Sforce-Limit-Info` allowance seen (used, limit, when).
 * Counts and numbers only, never Account values.
 */
import type { Redis } from 'ioredis';
import type { RescorePorts } from '../core/rescore.js';

const DAY_TTL_SECONDS = 8 * 24 * 3_600;

export interface ApiUsageSnapshot {
  used: number;
  limit: number;
  at: string;
}

function day(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export class StatusStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private bandsKey(date: string): string {
    return `${this.prefix}:status:bands:${date}`;
  }

  get apiKey(): string {
    return `${this.prefix}:status:api`;
  }

  async recordBands(counts: Readonly<Record<string, number>>, at = new Date()): Promise<void> {
    const entries = Object.entries(counts).filter(([, n]) => n > 0);
    if (entries.length === 0) return;
    const key = this.bandsKey(day(at));
    const multi = this.redis.multi();
    for (const [band, n] of entries) multi.hincrby(key, band, n);
    await multi.expire(key, DAY_TTL_SECONDS).exec();
  }

  /** Records written per band over the last `days` UTC days, today included. */
  async bands(days = 7, now = new Date()): Promise<Record<string, number>> {
    const totals: Record<string, number> = {};
    const keys = Array.from({ length: days }, (_, i) => this.bandsKey(day(new Date(now.getTime() - i * 86_400_000))));
    const replies = await Promise.all(keys.map((k) => this.redis.hgetall(k)));
    for (const reply of replies) for (const [band, n] of Object.entries(reply)) totals[band] = (totals[band] ?? 0) + Number(n);
    return totals;
  }

  async recordApiUsage(usage: { used: number; limit: number } | undefined, at = new Date()): Promise<void> {
    if (!usage) return;
    await this.redis.hset(this.apiKey, { used: usage.used, limit: usage.limit, at: at.toISOString() });
  }

  async apiUsage(): Promise<ApiUsageSnapshot | undefined> {
    const h = await this.redis.hgetall(this.apiKey);
    if (!h.at) return undefined;
    return { used: Number(h.used), limit: Number(h.limit), at: h.at };
  }
}

/**
 * Wraps the rescoring ports so every record Salesforce accepted counts towards its risk band
 * (`riskField` of the update). The core stays unaware; counting failures never fail a batch.
 */
export function countWrittenBands(ports: RescorePorts, riskField: string, record: (counts: Record<string, number>) => Promise<void>): RescorePorts {
  return {
    // A getter, not a copy: the compared fields follow the champion's spec.
    get comparedFields() {
      return ports.comparedFields;
    },
    read: (ids) => ports.read(ids),
    score: (rows) => ports.score(rows),
    write: async (updates) => {
      const outcomes = await ports.write(updates);
      const counts: Record<string, number> = {};
      outcomes.forEach((o, i) => {
        const band = updates[i]?.[riskField];
        if (o.success && typeof band === 'string') counts[band] = (counts[band] ?? 0) + 1;
      });
      await record(counts).catch(() => undefined);
      return outcomes;
    },
  };
}
