/**
 * Redis goes away while Salesforce delivers: the receiver answers faults (never an Ack), the org keeps
 * retrying, and once Redis is back every notification is processed. Uses a private redis-server, so
 * the shared one is never stopped.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../src/cli/stack.js';
import { freePort, hasRedisServer, startRedisServer as startRedis, stopRedisServer } from '../helpers/redis-server.js';

if (!hasRedisServer) console.warn('skipping the Redis outage test: no redis-server binary on PATH');

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!hasRedisServer)('when Redis stops while messages arrive', () => {
  let port: number;
  let redis: ChildProcess;
  let stack: Stack;
  const writes = new Map<string, number>();

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    stack = await startStack({
      redisUrl: `redis://127.0.0.1:${port}`,
      accounts: 500,
      emulator: { outboundBatchMs: 20, outboundRetryBaseMs: 200, outboundRetryMaxMs: 1_000 },
      env: { REALTIME_WINDOW_MS: '100', WORKER_LOCK_DURATION_MS: '3000', OUTBOUND_ENQUEUE_TIMEOUT_MS: '1000' },
    });
    stack.org.state.store.onChange((c) => {
      if (c.username === stack.org.username) writes.set(c.id, (writes.get(c.id) ?? 0) + 1);
    });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop().catch(() => undefined);
    await stopRedisServer(redis);
  });

  it('then the receiver answers faults, never acks, and after Redis returns every notification is written', async () => {
    const ids = ((await (await fetch(`${stack.org.url}/__admin/accounts?offset=0&limit=10`)).json()) as { ids: string[] }).ids;
    redis.kill('SIGTERM');
    await once(redis, 'exit');

    const before = stack.org.outbound.stats();
    await stack.change(ids.map((id, i) => ({ id, Monthly_Charges__c: 150 + i / 100 })));
    await until(() => stack.org.outbound.stats().failedAttempts >= before.failedAttempts + 2, 15_000, 'refused deliveries');
    const during = stack.org.outbound.stats();
    expect(during.delivered).toBe(before.delivered);
    expect(stack.org.outbound.failing().some((n) => /HTTP 500|fault/i.test(String(n.lastError)))).toBe(true);
    expect(writes.size).toBe(0);

    redis = await startRedis(port);
    await until(() => ids.every((id) => writes.get(id) === 1), 45_000, 'every Account written once Redis is back');
    expect(stack.org.outbound.stats().delivered - before.delivered).toBe(10);
  }, 90_000);
});
