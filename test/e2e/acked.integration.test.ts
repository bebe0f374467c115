/**
 * "Acked" means "taken care of", end to end: the emulator, the real web process and a real worker on
 * real Redis. Every acked Account ends written, unchanged, or in the failure log with its reason; a
 * spoofed sender costs no API call and cannot push real failures out of the log; two batches never
 * hold the same Account at once, so a slow Salesforce does not lead to double or stale writes.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../src/cli/stack.js';
import { idSuffix } from '../../src/core/record-id.js';
import { FailureLog } from '../../src/queue/failures.js';
import { QUEUES } from '../../src/queue/names.js';
import type { RealtimeJobData } from '../../src/queue/realtime-jobs.js';
import { envelope } from '../helpers/outbound.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh notification id (04l…, 18 characters) per call. */
function noteId(): string {
  const body = `04lZZ${randomBytes(6).toString('hex').slice(0, 10)}`;
  return body + idSuffix(body);
}
function message(orgId: string, ids: string[]): string {
  return envelope({ orgId, notifications: ids.map((accountId) => ({ id: noteId(), accountId })) });
}

/** A random, well-formed Account id that no org holds. */
function strangerId(): string {
  const body = `001ZZ${randomBytes(8).toString('hex').slice(0, 10)}`;
  return body + idSuffix(body);
}

describe('acked means processed', () => {
  let stack: Stack;
  let redis: Redis;
  let queue: Queue<RealtimeJobData>;
  let failures: FailureLog;
  /** Integration-user reads and writes per Account, in order: 'R' or 'W'. */
  const events = new Map<string, string[]>();
  const writes = (id: string) => (events.get(id) ?? []).filter((e) => e === 'W').length;
  let next = 0;
  /** Accounts no other test touched. */
  const fresh = async (n: number): Promise<string[]> => {
    const res = await fetch(`${stack.org.url}/__admin/accounts?offset=${next}&limit=${n}`);
    next += n;
    return ((await res.json()) as { ids: string[] }).ids;
  };
  /** Posts to the receiver; `token` null sends no token at all. */
  const post = (body: string, token: string | null = stack.outboundSecret) =>
    fetch(`http://127.0.0.1:${stack.web.port}/salesforce/outbound/account${token === null ? '' : `?token=${token}`}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
      body,
    });
  const faults = (settings: Record<string, number>) =>
    fetch(`${stack.org.url}/__admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });

  beforeAll(async () => {
    stack = await startStack({
      redisUrl: REDIS_URL,
      accounts: 1_000,
      emulator: { outboundBatchMs: 20, outboundRetryBaseMs: 200 },
      env: { REALTIME_WINDOW_MS: '150', WORKER_LOCK_DURATION_MS: '5000', REALTIME_RETRY_BASE_MS: '100' },
    });
    const record = (id: string, e: string) => {
      const list = events.get(id) ?? [];
      list.push(e);
      events.set(id, list);
    };
    const integrationUser = stack.org.state.integrationUser.id;
    stack.org.state.store.onRead((read) => {
      if (read.userId === integrationUser) for (const id of read.ids) record(id, 'R');
    });
    stack.org.state.store.onChange((change) => {
      if (change.username === stack.org.username) record(change.id, 'W');
    });
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue<RealtimeJobData>(QUEUES.realtime, { connection: redis, prefix: stack.queuePrefix });
    failures = new FailureLog(redis, stack.queuePrefix);
  }, 90_000);
  afterAll(async () => {
    await faults({ latencyMs: 0 }).catch(() => undefined);
    await queue?.close();
    redis?.disconnect();
    await stack?.stop();
  });

  it('when five good Accounts come in one message and a poison id in the next, then the poison message is refused and the five are written once', async () => {
    const ids = await fresh(5);
    expect((await post(message(stack.org.orgId, ids))).status).toBe(200);
    const poison = await post(message(stack.org.orgId, ['001Ri00000m5tYv999']));
    expect(poison.status).toBe(400);
    expect(await poison.text()).toContain('is not a Salesforce record id');
    await until(() => ids.every((id) => writes(id) === 1), 20_000, 'the five write-backs');
  });

  it('when a queued batch holds ids Salesforce would refuse, then each bad id is recorded as failed with its reason and the good ones are written', async () => {
    const ids = await fresh(5);
    const bad = ['001Ri00000m5tYv999', '003000000000001AAA'];
    await queue.add('rescore', { accountIds: [...ids, ...bad], receivedAt: Date.now(), attempt: 1 });
    await until(() => ids.every((id) => writes(id) === 1), 20_000, 'the five write-backs');
    await until(async () => (await failures.recent(100)).filter((f) => bad.includes(f.id)).length === 2, 10_000, 'both bad ids recorded');
    const recorded = (await failures.recent(100)).filter((f) => bad.includes(f.id));
    expect(recorded.map((f) => [f.id, f.code]).sort()).toEqual(bad.map((b) => [b, 'INVALID_ID']).sort());
    expect(recorded.every((f) => /not a Salesforce record id|not an Account id/.test(f.message))).toBe(true);
    expect(await queue.getJobCounts('failed')).toMatchObject({ failed: 0 });
  });

  it('when Salesforce refuses a whole batch for good, then every Account of it is in the failure log with the reason, not only in the failed-jobs list', async () => {
    const ids = await fresh(3);
    await fetch(`${stack.org.url}/__admin/describe/fields/Tenure_Months__c`, { method: 'DELETE' });
    try {
      await queue.add('rescore', { accountIds: ids, receivedAt: Date.now(), attempt: 1 });
      await until(async () => (await failures.recent(200)).filter((f) => ids.includes(f.id)).length === 3, 20_000, 'the three failures');
    } finally {
      await fetch(`${stack.org.url}/__admin/describe/fields/Tenure_Months__c`, { method: 'PUT' });
    }
    const recorded = (await failures.recent(200)).filter((f) => ids.includes(f.id));
    expect(recorded.map((f) => f.code)).toEqual(['SF_MALFORMED_QUERY', 'SF_MALFORMED_QUERY', 'SF_MALFORMED_QUERY']);
    expect(recorded[0]!.message).toMatch(/Tenure_Months__c/);
    expect(ids.map(writes)).toEqual([0, 0, 0]);
  });

  it('when an Account holds a number outside the model\'s plausible range, then it is recorded as failed naming the field, not scored', async () => {
    const [id] = await fresh(1);
    await stack.change([{ id: id!, Monthly_Charges__c: 50_000 }]);
    await until(async () => (await failures.recent(200)).some((f) => f.id === id), 20_000, 'the failure recorded');
    const failure = (await failures.recent(200)).find((f) => f.id === id)!;
    expect(failure).toMatchObject({ code: 'SCORING_FAILED', message: expect.stringMatching(/Monthly_Charges__c is 50000, outside the model's plausible range 0 to 10000/) });
    expect(writes(id!)).toBe(0);
  });

  it('when a sender without the secret floods spoofed notifications, then every message is refused and no API call is spent', async () => {
    const apiBefore = stack.org.state.limits.apiUsed;
    const spoofed = Array.from({ length: 20 }, () => message(stack.org.orgId, Array.from({ length: 100 }, strangerId)));
    const answers = await Promise.all(spoofed.map((body, i) => post(body, i % 2 ? 'wrong-token' : null)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 401));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(stack.org.state.limits.apiUsed - apiBefore).toBe(0);
  });

  it('when notifications name Accounts that do not exist, then they are counted apart and real failures stay in the log', async () => {
    const real = { id: (await fresh(1))[0]!, code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'a real failure an operator must see' };
    await failures.record([real], 'realtime');
    const notFoundBefore = await failures.notFoundTotal();
    for (let i = 0; i < 3; i++) expect((await post(message(stack.org.orgId, Array.from({ length: 100 }, strangerId)))).status).toBe(200);
    await until(async () => (await failures.notFoundTotal()) - notFoundBefore >= 300, 20_000, 'the 300 unknown Accounts counted');
    await new Promise((r) => setTimeout(r, 500));
    expect((await failures.notFoundTotal()) - notFoundBefore).toBe(300);
    expect((await failures.recent(1_000)).map((f) => f.id)).toContain(real.id);
    expect((await failures.recent(1_000)).some((f) => f.code === 'NOT_FOUND')).toBe(false);
  });

  it('when two messages name the same 100 Accounts 400 ms apart and Salesforce answers slowly, then each Account is read, written once, and read again only after that write', async () => {
    const ids = await fresh(100);
    await faults({ latencyMs: 1_500 });
    try {
      expect((await post(message(stack.org.orgId, ids))).status).toBe(200);
      await new Promise((r) => setTimeout(r, 400));
      expect((await post(message(stack.org.orgId, ids))).status).toBe(200);
      // The second batch waits for the first, then reads what it wrote: nothing left to write.
      await until(() => ids.every((id) => (events.get(id) ?? []).length >= 3), 45_000, 'both batches done');
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      await faults({ latencyMs: 0 });
    }
    const doubles = ids.filter((id) => writes(id) !== 1);
    expect(doubles).toEqual([]);
    expect(new Set(ids.map((id) => events.get(id)!.join('')))).toEqual(new Set(['RWR']));
  }, 90_000);
});
