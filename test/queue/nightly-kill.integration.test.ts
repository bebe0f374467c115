/**
 * A worker process killed (SIGKILL) in the middle of a run: the chunk it held is picked up by
 * another worker once its lock lapses, and the run completes with every Account written exactly
 * once in effect (the ingest jobs that completed processed each Account once).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { RunStore } from '../../src/queue/nightly-store.js';
import { enqueueRun, nightlyQueue } from '../../src/queue/nightly-jobs.js';
import { admin } from '../emulator/helpers.js';
import { cleanEnv, start, type Started } from '../helpers/process.js';
import { REDIS_URL, scoredAccounts, testPrefix, waitForRun } from './nightly-helpers.js';

let org: RunningEmulator | undefined;
let redis: Redis | undefined;
const children: Started[] = [];
let prefix = '';

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) {
      c.child.kill('SIGKILL');
      await c.exited;
    }
  }
  if (redis) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
  await org?.close();
  org = undefined;
  redis = undefined;
});

function worker(o: RunningEmulator): Started {
  const pem = o.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString();
  const started = start(
    ['worker'],
    cleanEnv({
      LOG_LEVEL: 'info',
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      SF_LOGIN_URL: o.url,
      SF_CLIENT_ID: o.consumerKey,
      SF_USERNAME: o.username,
      SF_PRIVATE_KEY: pem,
      NIGHTLY_ENABLED: 'false',
      NIGHTLY_CHUNK_SIZE: '2000',
      NIGHTLY_SCORE_BATCH: '500',
      NIGHTLY_CONCURRENCY: '1',
      NIGHTLY_POLL_INITIAL_MS: '100',
      NIGHTLY_POLL_MAX_MS: '300',
      NIGHTLY_API_RESERVE: '0',
      WORKER_LOCK_DURATION_MS: '2000',
    }),
  );
  children.push(started);
  return started;
}

/** An org with these Bulk settings, a worker process (the victim) and a run it has started. */
async function startRun(accounts: number, bulk: Record<string, number>) {
  const emulator = await startEmulator({ accounts });
  org = emulator;
  // The pages resultPages lists hold NIGHTLY_CHUNK_SIZE records, like chained pages would.
  await admin(emulator, 'PUT', '/bulk', { parallelPageRecords: 2_000, ...bulk });
  prefix = testPrefix();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = nightlyQueue(redis, prefix);
  const store = new RunStore(redis, prefix);
  const victim = worker(emulator);
  await victim.waitFor(/worker ready/, 30_000);
  const runId = await enqueueRun(queue, store, { trigger: 'manual' });
  return { emulator, queue, store, victim, runId };
}

describe('a worker killed in the middle of a nightly run', () => {
  it('when the worker holding a chunk is SIGKILLed after submitting its ingest job, then another worker finishes the run without writing any Account twice', async () => {
    // Ingest processing slowed to about 10 s a job, so the victim cannot finish chunk 0 before the kill.
    const { emulator, queue, store, victim, runId } = await startRun(6_000, { ingestSlice: 100, ingestSliceDelayMs: 500 });
    // Killed once its chunk state records the ingest job as closed (submitted): decided by that state,
    // never by a pause, so a loaded machine cannot move the kill before the submission is recorded.
    await expect
      .poll(async () => (await store.chunks(runId)).some((c) => c.index === 0 && c.jobs.some((j) => j.part >= 0 && j.status === 'closed')), { timeout: 40_000, interval: 20 })
      .toBe(true);
    victim.child.kill('SIGKILL');
    await victim.exited;
    await admin(emulator, 'PUT', '/bulk', { ingestSliceDelayMs: 0 });

    const rescuer = worker(emulator);
    await rescuer.waitFor(/worker ready/, 30_000);
    const run = await waitForRun(store, runId, 40_000);
    await queue.close();

    expect(run.state).toBe('completed');
    expect(run.chunksTotal).toBe(3);
    expect(run.counts.read).toBe(6_000);
    expect(scoredAccounts(emulator)).toEqual({ scored: 6_000, total: 6_000 });
    const jobs = (await admin<Array<{ kind: string; state: string; numberRecordsProcessed: number }>>(emulator, 'GET', '/bulk/jobs')).body;
    const ingest = jobs.filter((j) => j.kind === 'ingest');
    // One completed ingest job per chunk, together processing every Account once; the victim's job
    // for chunk 0 is that chunk's, so no second one processed any record.
    expect(ingest.filter((j) => j.state === 'JobComplete')).toHaveLength(3);
    expect(ingest.reduce((s, j) => s + j.numberRecordsProcessed, 0)).toBe(6_000);
    // The victim held chunk 0 (its first page): the rescuer finished it.
    expect(victim.output()).not.toMatch(/"chunk":0,[^\n]*"msg":"chunk done"/);
    expect(rescuer.output()).toMatch(/"chunk":0,[^\n]*"msg":"chunk done"/);
  }, 90_000);

  it('when the worker is SIGKILLed while it polls the query job, then another worker resumes the same query job and the run completes', async () => {
    // A query job that takes about 8 s, so the kill (right after the run starts) lands while it is polled.
    const { emulator, queue, store, victim, runId } = await startRun(3_000, { queryStartMs: 8_000 });
    await victim.waitFor(/"msg":"nightly run started"/, 30_000);
    const queryJobId = (await store.get(runId))!.queryJobId;
    expect(queryJobId).toBeDefined();
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect((await store.get(runId))!.state).toBe('querying');

    const rescuer = worker(emulator);
    await rescuer.waitFor(/worker ready/, 30_000);
    const run = await waitForRun(store, runId, 40_000);
    await queue.close();

    expect(run).toMatchObject({ state: 'completed', queryJobId });
    expect(run.counts.written).toBe(3_000);
    expect(scoredAccounts(emulator)).toEqual({ scored: 3_000, total: 3_000 });
    // One query job in all: the rescuer polled the victim's instead of starting another.
    expect(emulator.state.counters.byKind.bulkQueryCreate).toBe(1);
  }, 60_000);
});
