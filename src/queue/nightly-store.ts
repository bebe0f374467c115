/**
 * The nightly core's run log (nightly/ports.ts RunLog) in Redis: the record of each nightly (or
 * manual) re-scoring run, so it survives a worker crash and a restarted worker resumes without redoing
 * finished chunks:
 * - `<prefix>:nightly:run:<id>`: hash with state, counts, API calls, start and end;
 * - `<prefix>:nightly:run:<id>:chunk:<n>`: the chunk's progress (ingest job ids, parts, retries), JSON;
 * - `<prefix>:nightly:run:<id>:done`: finished chunk numbers; `…:events`: what happened, newest first;
 * - `<prefix>:nightly:active`: the run in progress (one at a time).
 * Only ids, locators, counts and messages are stored: never Account field values.
 * Every key carries the queue prefix's hash tag, so the Lua script's keys share one cluster slot.
 */
import type { Redis } from 'ioredis';
import type { RunLog, WorkerStats } from '../nightly/ports.js';
import { COUNT_FIELDS, emptyCounts, newChunk, withPhase, type ChunkState, type Counts, type RunRecord, type RunState, type RunUpdate } from '../nightly/state.js';
import { QUEUE_PREFIX } from './names.js';


const FINISH_CHUNK = `
local added = redis.call('SADD', KEYS[2], ARGV[1])
if added == 1 then
  for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
local total = tonumber(redis.call('HGET', KEYS[1], 'chunksTotal') or '-1')
local done = redis.call('SCARD', KEYS[2])
redis.call('HSET', KEYS[1], 'chunksDone', done)
if total > 0 and done >= total and redis.call('HGET', KEYS[1], 'state') == 'running' then
  local failed = tonumber(redis.call('HGET', KEYS[1], 'failed') or '0')
  local state = 'completed'
  if failed > 0 then state = 'completed-with-failures' end
  redis.call('HSET', KEYS[1], 'state', state, 'endedAt', ARGV[2])
  if redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('DEL', KEYS[3]) end
  return 1
end
return 0
`;

export class RunStore implements RunLog {
  private readonly base: string;

  constructor(
    private readonly redis: Redis,
    prefix = QUEUE_PREFIX,
  ) {
    this.base = `${prefix}:nightly`;
  }

  get activeKey(): string {
    return `${this.base}:active`;
  }

  runKey(id: string): string {
    return `${this.base}:run:${id}`;
  }

  private chunkKey(id: string, index: number): string {
    return `${this.runKey(id)}:chunk:${index}`;
  }

  async create(id: string, trigger: string, where?: string): Promise<RunRecord> {
    const key = this.runKey(id);
    const created = await this.redis.hsetnx(key, 'id', id);
    if (created === 1) {
      await this.redis
        .multi()
        .hset(key, { state: 'queued', trigger, createdAt: new Date().toISOString(), apiCalls: 0, chunksDone: 0, ...(where ? { where } : {}) })
        .lpush(`${this.base}:runs`, id)
        .ltrim(`${this.base}:runs`, 0, 49)
        .exec();
    }
    return (await this.get(id))!;
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const h = await this.redis.hgetall(this.runKey(id));
    if (!h.id) return undefined;
    const n = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const counts = emptyCounts();
    for (const f of COUNT_FIELDS) counts[f] = Number(h[f] ?? 0);
    return {
      id: h.id,
      state: h.state as RunState,
      trigger: h.trigger ?? 'manual',
      where: h.where,
      createdAt: h.createdAt!,
      startedAt: h.startedAt,
      endedAt: h.endedAt,
      queryJobId: h.queryJobId,
      modelVersion: h.modelVersion,
      shadowVersion: h.shadowVersion,
      total: n(h.total),
      chunksTotal: n(h.chunksTotal),
      pages: h.pages === 'parallel' || h.pages === 'chained' ? h.pages : undefined,
      batchesLeft: n(h.batchesLeft),
      batchesMax: n(h.batchesMax),
      writeBatches: n(h.writeBatches),
      budget: h.budget,
      chunksDone: Number(h.chunksDone ?? 0),
      scoredAtMs: n(h.scoredAtMs),
      message: h.message,
      apiCalls: Number(h.apiCalls ?? 0),
      counts,
    };
  }

  async update(id: string, fields: RunUpdate): Promise<void> {
    await this.redis.hset(this.runKey(id), fields as Record<string, string | number>);
  }

  async addCalls(id: string, calls: number): Promise<void> {
    if (calls > 0) await this.redis.hincrby(this.runKey(id), 'apiCalls', calls);
  }

  async event(id: string, message: string): Promise<void> {
    const key = `${this.runKey(id)}:events`;
    await this.redis.multi().lpush(key, `${new Date().toISOString()} ${message}`).ltrim(key, 0, 199).exec();
  }

  async events(id: string, limit = 50): Promise<string[]> {
    return this.redis.lrange(`${this.runKey(id)}:events`, 0, limit - 1);
  }

  /** Claims the single active-run slot; returns the run already holding it otherwise. */
  async claimActive(id: string): Promise<{ claimed: true } | { claimed: false; activeId: string }> {
    const set = await this.redis.set(this.activeKey, id, 'NX');
    if (set === 'OK') return { claimed: true };
    const activeId = await this.redis.get(this.activeKey);
    if (activeId === null) return this.claimActive(id);
    if (activeId === id) return { claimed: true };
    return { claimed: false, activeId };
  }

  /** Frees the slot if this run holds it. */
  async releaseActive(id: string): Promise<void> {
    if ((await this.redis.get(this.activeKey)) === id) await this.redis.del(this.activeKey);
  }

  async activeId(): Promise<string | undefined> {
    return (await this.redis.get(this.activeKey)) ?? undefined;
  }

  async recentIds(limit = 10): Promise<string[]> {
    return this.redis.lrange(`${this.base}:runs`, 0, limit - 1);
  }

  async chunk(id: string, index: number, locator: string | null): Promise<ChunkState> {
    const raw = await this.redis.get(this.chunkKey(id, index));
    if (raw) return withPhase(JSON.parse(raw) as ChunkState);
    return newChunk(index, locator);
  }

  async saveChunk(id: string, state: ChunkState): Promise<void> {
    await this.redis.set(this.chunkKey(id, state.index), JSON.stringify(state));
  }

  /** Every chunk's state (for progress). */
  async chunks(id: string): Promise<ChunkState[]> {
    const out: ChunkState[] = [];
    for (let i = 0; ; i++) {
      const raw = await this.redis.get(this.chunkKey(id, i));
      if (!raw) break;
      out.push(withPhase(JSON.parse(raw) as ChunkState));
    }
    return out;
  }

  /**
   * Marks a chunk finished and adds its counts and API calls to the run, once (a repeated call adds nothing).
   * Finishes the run when every chunk is done. Returns true when this call finished the run.
   */
  async finishChunk(id: string, index: number, counts: Counts, apiCalls = 0): Promise<boolean> {
    const args = [String(index), new Date().toISOString(), id];
    for (const f of COUNT_FIELDS) args.push(f, String(counts[f] ?? 0));
    // Added in the same step as the chunk's counts, so a finished run's record already holds them.
    args.push('apiCalls', String(apiCalls));
    const result = await this.redis.eval(FINISH_CHUNK, 3, this.runKey(id), `${this.runKey(id)}:done`, this.activeKey, ...args);
    return result === 1;
  }

  /** The number of the last chunk is known: finishes the run if every chunk is already done. */
  async setChunksTotal(id: string, total: number): Promise<void> {
    await this.update(id, { chunksTotal: total });
  }

  /** Adds to a worker's figures for the run (`…:workers`, fields `<worker>|<figure>`). */
  async addWorkerStats(id: string, worker: string, stats: WorkerStats): Promise<void> {
    const key = `${this.runKey(id)}:workers`;
    const multi = this.redis.multi();
    for (const [name, value] of Object.entries(stats)) if (value) multi.hincrby(key, `${worker}|${name}`, Math.round(value));
    await multi.expire(key, 30 * 24 * 3_600).exec();
  }

  /** Each worker's figures for the run. */
  async workerStats(id: string): Promise<Record<string, WorkerStats>> {
    const raw = await this.redis.hgetall(`${this.runKey(id)}:workers`);
    const out: Record<string, WorkerStats> = {};
    for (const [field, value] of Object.entries(raw)) {
      const at = field.lastIndexOf('|');
      const worker = field.slice(0, at);
      out[worker] ??= { calls: 0, downloaded: 0, uploaded: 0, uploadedWire: 0, busyMs: 0, jobs: 0 };
      (out[worker] as unknown as Record<string, number>)[field.slice(at + 1)] = Number(value);
    }
    return out;
  }

  async fail(id: string, message: string): Promise<void> {
    await this.update(id, { state: 'failed', message, endedAt: new Date().toISOString() });
    await this.event(id, `run failed: ${message}`);
    await this.releaseActive(id);
  }
}
