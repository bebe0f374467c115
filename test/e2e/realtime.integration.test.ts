/**
 * The real-time path end to end: the emulator changes Accounts and sends outbound messages to the
 * real web process, the real worker process scores them and writes back over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTPUT } from '../../src/core/account-fields.js';
import { Redis } from 'ioredis';
import { startStack, type Stack } from '../../src/cli/stack.js';
import { FailureLog } from '../../src/queue/failures.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Integration-user writes per Account, from the emulator's change events. */
function watchWrites(stack: Stack) {
  const writes = new Map<string, number>();
  stack.org.state.store.onChange((change) => {
    if (change.username === stack.org.username) writes.set(change.id, (writes.get(change.id) ?? 0) + 1);
  });
  return writes;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sets Monthly_Charges__c to a value each Account does not have yet, so every change triggers. */
async function bump(stack: Stack, ids: string[]): Promise<void> {
  const records = await Promise.all(
    ids.map(async (id) => {
      const { fields } = (await stack.account(id)) as { fields: Record<string, number | null> };
      return { id, Monthly_Charges__c: Math.round(((fields.Monthly_Charges__c ?? 50) + 0.37) * 100) / 100 };
    }),
  );
  await stack.change(records);
}

async function accountIds(stack: Stack, offset: number, limit: number): Promise<string[]> {
  const res = await fetch(`${stack.org.url}/__admin/accounts?offset=${offset}&limit=${limit}`);
  return ((await res.json()) as { ids: string[] }).ids;
}

describe('real-time scoring, end to end', () => {
  let stack: Stack;
  let writes: Map<string, number>;

  beforeAll(async () => {
    stack = await startStack({
      redisUrl: REDIS_URL,
      accounts: 1_000,
      emulator: { outboundBatchMs: 20, outboundRetryBaseMs: 200 },
      env: { REALTIME_WINDOW_MS: '100', WORKER_LOCK_DURATION_MS: '3000', SF_LIMIT_PAUSE_MS: '500', REALTIME_RETRY_BASE_MS: '100' },
    });
    writes = watchWrites(stack);
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('when a user changes Accounts, then each one carries a score, risk, reasons and model version, written once, with no loop', async () => {
    const ids = await accountIds(stack, 0, 5);
    const deliveredBefore = stack.org.outbound.stats().delivered;
    await bump(stack, ids);
    await until(() => ids.every((id) => writes.get(id) === 1), 20_000, 'five write-backs');
    for (const id of ids) {
      const { fields } = (await stack.account(id)) as { fields: Record<string, unknown> };
      expect(fields[OUTPUT.score]).toEqual(expect.any(Number));
      expect(fields[OUTPUT.score] as number).toBeGreaterThanOrEqual(0);
      expect(fields[OUTPUT.score] as number).toBeLessThanOrEqual(100);
      expect(['High', 'Medium', 'Low']).toContain(fields[OUTPUT.risk]);
      expect(String(fields[OUTPUT.factors])).toMatch(/__c=/);
      expect(String(fields[OUTPUT.modelVersion])).toMatch(/^churn-gbt-/);
      expect(fields[OUTPUT.scoredAt]).toBeTruthy();
    }
    // The write-backs are the integration user's: they must not send another message.
    await new Promise((r) => setTimeout(r, 1_000));
    await stack.org.outbound.idle(5_000);
    expect(stack.org.outbound.stats().delivered - deliveredBefore).toBe(5);
    expect(ids.map((id) => writes.get(id))).toEqual([1, 1, 1, 1, 1]);
  });

  it('when the same Account changes twice in a burst, then it is read and written once', async () => {
    const [id] = await accountIds(stack, 10, 1);
    await bump(stack, [id!]);
    await bump(stack, [id!]);
    await until(() => (writes.get(id!) ?? 0) >= 1, 20_000, 'the write-back');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(writes.get(id!)).toBe(1);
  });

  it('when the session expires, then the next batch signs in again and is written', async () => {
    await fetch(`${stack.org.url}/__admin/tokens/expire`, { method: 'POST' });
    const ids = await accountIds(stack, 20, 3);
    await bump(stack, ids);
    await until(() => ids.every((id) => writes.get(id) === 1), 20_000, 'write-backs after expiry');
  });

  it('when the org is out of API calls, then the batch waits for the allowance instead of failing records', async () => {
    const { apiUsage } = (await (await fetch(`${stack.org.url}/__admin/counters`)).json()) as { apiUsage: { max: number } };
    await fetch(`${stack.org.url}/__admin/limits`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiUsed: apiUsage.max }) });
    const ids = await accountIds(stack, 30, 3);
    await bump(stack, ids);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ids.some((id) => writes.has(id))).toBe(false);
    await fetch(`${stack.org.url}/__admin/counters/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiUsage: true }) });
    await until(() => ids.every((id) => writes.get(id) === 1), 20_000, 'write-backs once the allowance is back');
  });

  it('when Salesforce cannot lock some records, then they are retried with back-off until written', async () => {
    const ids = await accountIds(stack, 200, 20);
    // The user's own edit must go through; only the worker's write-backs meet the locks.
    stack.org.outbound.pause();
    await bump(stack, ids);
    await fetch(`${stack.org.url}/__admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lockRate: 0.4 }) });
    stack.org.outbound.resume();
    try {
      await until(() => ids.every((id) => writes.get(id) === 1), 30_000, 'every locked record written on a later try');
    } finally {
      await fetch(`${stack.org.url}/__admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lockRate: 0 }) });
    }
  }, 40_000);

  it('when a validation rule refuses a record, then it is recorded with its reason and not retried', async () => {
    const ids = await accountIds(stack, 300, 2);
    // The rule is armed after the user's edit, so only the worker's write-back meets it.
    stack.org.outbound.pause();
    await bump(stack, ids);
    await fetch(`${stack.org.url}/__admin/validation-rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: [ids[0]], message: 'Scores are frozen for key accounts' }) });
    stack.org.outbound.resume();
    const redis = new Redis(REDIS_URL);
    try {
      const failures = new FailureLog(redis, stack.queuePrefix);
      await until(() => writes.get(ids[1]!) === 1, 20_000, 'the other record written');
      let recorded: Awaited<ReturnType<FailureLog['recent']>> = [];
      await until(async () => (recorded = await failures.recent()).some((f) => f.id === ids[0]), 10_000, 'the failure recorded');
      expect(recorded.find((f) => f.id === ids[0])).toMatchObject({ code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', source: 'realtime', message: expect.stringContaining('frozen') });
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await failures.recent()).filter((f) => f.id === ids[0])).toHaveLength(1);
      expect(writes.has(ids[0]!)).toBe(false);
    } finally {
      redis.disconnect();
      await fetch(`${stack.org.url}/__admin/validation-rules`, { method: 'DELETE' });
    }
  });

  it('when the worker is killed in the middle of a batch, then a new worker finishes it and every Account is written once', async () => {
    const ids = await accountIds(stack, 100, 50);
    await fetch(`${stack.org.url}/__admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 1_500 }) });
    const [worker] = stack.workers;
    const queriesBefore = stack.org.state.counters.snapshot().byKind.query ?? 0;
    await bump(stack, ids);
    await stack.org.outbound.idle(10_000);
    // The batch job is now running and waiting on the slow org: kill the process under it.
    await until(() => (stack.org.state.counters.snapshot().byKind.query ?? 0) > queriesBefore, 10_000, 'the batch to query the org');
    worker!.child.kill('SIGKILL');
    await worker!.exited;
    await fetch(`${stack.org.url}/__admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs: 0 }) });
    await stack.startWorker();
    await until(() => ids.every((id) => (writes.get(id) ?? 0) >= 1), 40_000, 'every Account written after the restart');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(ids.filter((id) => writes.get(id) !== 1)).toEqual([]);
  }, 90_000);
});
