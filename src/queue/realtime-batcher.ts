/**
 * Turns the receiver's stream of changed Account ids into BullMQ batch jobs of up to 200 distinct
 * Accounts, closed by size or by a short window, so a burst of changes costs one query and one update
 * per batch instead of two calls per notification.
 *
 * Every worker process runs one batcher as a member of one consumer group, so entries spread over the
 * processes. An entry leaves the stream only after the batch job holding it is in the queue; entries
 * of a process that died before that are claimed by another batcher after `claimIdleMs`. The job id is
 * derived from the entry ids, so claiming the same entries twice adds the job once.
 */
import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { realtimeKeys } from './realtime-intake.js';
import type { RealtimeJobData } from './realtime-jobs.js';

export const BATCHER_GROUP = 'batchers';

export interface BatcherOptions {
  /** A connection of its own: the batcher blocks on it. */
  redis: Redis;
  queue: Queue<RealtimeJobData>;
  prefix: string;
  windowMs: number;
  maxBatch: number;
  /** Entries pending this long with a consumer are taken over. @defaultValue 30000 */
  claimIdleMs?: number;
  logger: Logger;
}

type Entry = { streamId: string; accountId: string; receivedAt: number };
type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

function toEntries(raw: Array<[string, string[] | null]>): Entry[] {
  const entries: Entry[] = [];
  for (const [streamId, fields] of raw) {
    if (!fields) continue; // deleted meanwhile
    const get = (name: string) => fields[fields.indexOf(name) + 1];
    entries.push({ streamId, accountId: get('a') ?? '', receivedAt: Number(get('t') ?? Date.now()) });
  }
  return entries;
}

export class RealtimeBatcher {
  private running = false;
  private loop?: Promise<void>;
  private readonly stream: string;
  private readonly consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly claimIdleMs: number;
  private lastClaim = 0;
  /** Batches handed to the queue, for tests and logs. */
  batches = 0;

  constructor(private readonly options: BatcherOptions) {
    this.stream = realtimeKeys(options.prefix).stream;
    this.claimIdleMs = options.claimIdleMs ?? 30_000;
  }

  async start(): Promise<void> {
    await this.ensureGroup();
    this.running = true;
    this.loop = this.run();
  }

  /** Creates the stream and the consumer group unless they exist. */
  private async ensureGroup(): Promise<void> {
    try {
      await this.options.redis.xgroup('CREATE', this.stream, BATCHER_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  /** Stops reading; a batch being formed is handed to the queue first. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.claimStale();
        const first = await this.read(this.options.maxBatch, 500);
        if (first.length === 0) continue;
        const batch = first;
        const deadline = Math.min(...batch.map((e) => e.receivedAt)) + this.options.windowMs;
        let distinct = new Set(batch.map((e) => e.accountId)).size;
        while (this.running && distinct < this.options.maxBatch && Date.now() < deadline) {
          const more = await this.read(this.options.maxBatch - distinct, Math.max(1, deadline - Date.now()));
          batch.push(...more);
          distinct = new Set(batch.map((e) => e.accountId)).size;
        }
        await this.flush(batch);
      } catch (error) {
        if (!this.running) break;
        const message = (error as Error).message;
        this.options.logger.error({ err: error }, 'real-time batcher error; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1_000));
        // A Redis that lost its data (restarted without persistence, failed over) has no group any more.
        if (message.includes('NOGROUP')) await this.ensureGroup().catch(() => undefined);
      }
    }
  }

  private async read(count: number, blockMs: number): Promise<Entry[]> {
    const reply = (await this.options.redis.xreadgroup(
      'GROUP', BATCHER_GROUP, this.consumer, 'COUNT', count, 'BLOCK', Math.round(blockMs), 'STREAMS', this.stream, '>',
    )) as StreamReply;
    return reply ? toEntries(reply[0]![1]) : [];
  }

  /** Entries a dead process read but never handed over are batched here. */
  private async claimStale(): Promise<void> {
    if (Date.now() - this.lastClaim < this.claimIdleMs / 2) return;
    this.lastClaim = Date.now();
    let cursor = '0-0';
    do {
      const [next, raw] = (await this.options.redis.xautoclaim(
        this.stream, BATCHER_GROUP, this.consumer, this.claimIdleMs, cursor, 'COUNT', this.options.maxBatch,
      )) as [string, Array<[string, string[] | null]>];
      const entries = toEntries(raw);
      if (entries.length > 0) {
        this.options.logger.warn({ entries: entries.length }, 'took over real-time entries a stopped worker had not batched');
        await this.flush(entries);
      }
      cursor = next;
    } while (cursor !== '0-0' && this.running);
  }

  private async flush(entries: Entry[]): Promise<void> {
    if (entries.length === 0) return;
    const ids = entries.map((e) => e.streamId);
    const accountIds = [...new Set(entries.map((e) => e.accountId))];
    const receivedAt = Math.min(...entries.map((e) => e.receivedAt));
    await this.options.queue.add('rescore', { accountIds, receivedAt, attempt: 1 }, { jobId: `rt-${ids[0]}-${ids[ids.length - 1]}-${ids.length}` });
    await this.options.redis.multi().xack(this.stream, BATCHER_GROUP, ...ids).xdel(this.stream, ...ids).exec();
    this.batches += 1;
    this.options.logger.debug({ accounts: accountIds.length, notifications: entries.length }, 'real-time batch queued');
  }
}
