/**
 * SIGTERM during a real-time batch loses nothing: a real worker process (bin/churn-worker worker)
 * scores Accounts from the emulator, which answers slowly (latencyMs), and is stopped while its
 * batches are in flight. It must finish them (or leave them to the queue) and exit within Heroku's
 * 30 s; a second worker then drains what is left, and every Account ends written.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { RealtimeIntake } from '../../src/queue/realtime-intake.js';
import { realtimeQueue } from '../../src/queue/realtime-jobs.js';
import { cleanEnv, start, type Started } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ACCOUNTS = 260;
let org: RunningEmulator;
let redis: Redis;
let prefix: string;
const workers: Started[] = [];

beforeAll(async () => {
  org = await startEmulator({ accounts: 400, latencyMs: 800 });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  prefix = `{test-${randomUUID()}}`;
});
afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await org.close();
});

function startWorker(): Started {
  const worker = start(
    ['worker'],
    cleanEnv({
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      SF_LOGIN_URL: org.url,
      SF_CLIENT_ID: org.consumerKey,
      SF_USERNAME: org.username,
      SF_PRIVATE_KEY: org.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString(),
      SF_API_VERSION: '66.0',
      WORKER_LOCK_DURATION_MS: '3000',
      REALTIME_WINDOW_MS: '100',
      NIGHTLY_ENABLED: 'false',
      LOG_LEVEL: 'debug',
    }),
  );
  workers.push(worker);
  return worker;
}

async function scoredSince(ids: string[], since: number): Promise<string[]> {
  const rows = await Promise.all(
    ids.map(async (id) => (await (await fetch(`${org.url}/__admin/accounts/${id}`)).json()) as { id: string; fields: Record<string, unknown> }),
  );
  return rows.filter((r) => typeof r.fields.Churn_Scored_At__c === 'string' && Date.parse(r.fields.Churn_Scored_At__c) >= since - 1_000).map((r) => r.id);
}

describe('graceful shutdown of the worker', () => {
  it('when SIGTERM arrives during a batch, then the worker exits within 30 s and a second worker leaves every Account written', async () => {
    const started = Date.now();
    const first = startWorker();
    await first.waitFor(/"worker ready"/, 20_000);

    const { ids } = (await (await fetch(`${org.url}/__admin/accounts?limit=${ACCOUNTS}`)).json()) as { ids: string[] };
    expect(ids).toHaveLength(ACCOUNTS);
    const intake = new RealtimeIntake(redis, prefix);
    const result = await intake.enqueue(ids.map((accountId) => ({ notificationId: `04l${randomUUID()}`, accountId })));
    expect(result.enqueued).toBe(ACCOUNTS);

    // A batch is active in the worker (its query is held by the emulator's latency).
    const queue = realtimeQueue(redis, prefix);
    await expect.poll(() => queue.getActiveCount(), { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(1);
    await queue.close();

    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const code = await first.exited;
    const shutdownMs = Date.now() - signalled;
    console.log(`worker shutdown under load: ${shutdownMs} ms (exit code ${code})`);
    expect(code).toBe(0);
    expect(shutdownMs).toBeLessThan(30_000);
    expect(first.output()).toContain('shut down');
    expect(first.output()).toContain('real-time batch done');

    const second = startWorker();
    await second.waitFor(/"worker ready"/, 20_000);
    let written: string[] = [];
    const deadline = Date.now() + 25_000;
    while (Date.now() < deadline) {
      written = await scoredSince(ids, started);
      if (written.length === ACCOUNTS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(ids.filter((id) => !written.includes(id))).toEqual([]);
  }, 90_000);
});
