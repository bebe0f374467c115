/**
 * The system of record on the whole stack: real web and worker processes on real PostgreSQL and
 * Redis, the emulator over HTTP. Written scores land in the score history; a shadow set with the
 * registry is scored beside the champion without being written; a promotion reaches both processes
 * and the next write-backs carry the new version, with no redeploy.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../src/cli/stack.js';
import { OUTPUT } from '../../src/core/account-fields.js';
import { openSystemOfRecord, type SystemOfRecord } from '../../src/runtime/models.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { ROOT } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const onnx = new Uint8Array(readFileSync(`${ROOT}models/churn-gbt.onnx`));
const shippedSpec = JSON.parse(readFileSync(`${ROOT}models/churn-gbt.spec.json`, 'utf8')) as { modelVersion: string };
const who = { actor: 'e2e', reason: 'system of record test' };

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('system of record, end to end', () => {
  let db: TestDatabase;
  let stack: Stack;
  let sor: SystemOfRecord;
  let publisher: Redis;
  let offset = 0;

  /** Changes `n` Accounts (a new monthly charge each) and waits until every one is written back. */
  async function changeAndWait(n: number): Promise<string[]> {
    const ids = ((await (await fetch(`${stack.org.url}/__admin/accounts?offset=${offset}&limit=${n}`)).json()) as { ids: string[] }).ids;
    offset += n;
    const before = new Map<string, unknown>();
    for (const id of ids) before.set(id, ((await stack.account(id)) as { fields: Record<string, unknown> }).fields[OUTPUT.scoredAt]);
    await stack.change(ids.map((id, i) => ({ id, Monthly_Charges__c: 20 + offset + i + 0.25, Contract_Type__c: 'Month-to-month' })));
    await until(
      async () => {
        for (const id of ids) if (((await stack.account(id)) as { fields: Record<string, unknown> }).fields[OUTPUT.scoredAt] === before.get(id)) return false;
        return true;
      },
      30_000,
      `${n} write-backs`,
    );
    return ids;
  }

  /** Waits until every Account in `ids` has a history row. */
  const historyFor = (ids: string[]) =>
    until(async () => Number((await db.pool.query<{ n: string }>('SELECT count(DISTINCT account_id) AS n FROM score_history WHERE account_id = ANY($1)', [ids])).rows[0]!.n) === ids.length, 10_000, 'history rows');

  beforeAll(async () => {
    db = await testDatabase();
    stack = await startStack({ redisUrl: REDIS_URL, accounts: 300, database: db.config, emulator: { outboundBatchMs: 20 }, env: { REALTIME_WINDOW_MS: '100', MODEL_POLL_MS: '1000' } });
    publisher = new Redis(REDIS_URL);
    sor = await openSystemOfRecord(db.config, { publisher, prefix: stack.queuePrefix });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    await sor?.close();
    publisher?.disconnect();
    await db?.drop();
  });

  it('when the processes start on an empty registry, then the shipped model is the champion and written scores are in the history', async () => {
    expect(await sor.registry.roles()).toEqual({ champion: shippedSpec.modelVersion, shadow: null });
    const ids = await changeAndWait(5);
    // The worker appends to the history once Salesforce has answered the write, a moment after the write lands.
    await historyFor(ids);
    const { rows } = await db.pool.query<{ account_id: string; model_version: string; path: string; score: number }>('SELECT account_id, model_version, path, score FROM score_history WHERE account_id = ANY($1)', [ids]);
    expect(rows.map((r) => r.account_id).sort()).toEqual([...ids].sort());
    for (const row of rows) {
      expect(row).toMatchObject({ model_version: shippedSpec.modelVersion, path: 'realtime' });
      const written = ((await stack.account(row.account_id)) as { fields: Record<string, unknown> }).fields[OUTPUT.score];
      expect(row.score).toBeCloseTo(Number(written), 2);
    }
  }, 60_000);

  it('when a shadow is set, then the worker scores with both, writes only the champion, and stores the shadow beside it', async () => {
    await sor.registry.register({ onnx, spec: { ...shippedSpec, modelVersion: 'e2e-shadow' }, source: 'imported' }, who);
    await sor.registry.shadow('e2e-shadow', who);
    await until(async () => /"msg":"scoring models switched"/.test(stack.workers[0]!.output()) && /"shadow":"e2e-shadow"/.test(stack.workers[0]!.output()), 10_000, 'the worker to load the shadow');
    const ids = await changeAndWait(4);
    for (const id of ids) expect(((await stack.account(id)) as { fields: Record<string, unknown> }).fields[OUTPUT.modelVersion]).toBe(shippedSpec.modelVersion);
    await historyFor(ids);
    const { rows } = await db.pool.query('SELECT champion_version, shadow_version FROM shadow_scores WHERE account_id = ANY($1)', [ids]);
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.champion_version === shippedSpec.modelVersion && r.shadow_version === 'e2e-shadow')).toBe(true);
  }, 60_000);

  it('when a version is promoted, then both processes switch and the next write-backs carry it, with its history rows', async () => {
    await sor.registry.promote('e2e-shadow', who);
    // The web process reports the models it scores with on /metrics.
    await until(async () => /churn_model_info\{role="champion",version="e2e-shadow"\} 1/.test(await (await fetch(`http://127.0.0.1:${stack.web.port}/metrics`)).text()), 10_000, 'the web process to switch');
    await until(async () => /"champion":"e2e-shadow"/.test(stack.workers[0]!.output()), 10_000, 'the worker to switch');
    const ids = await changeAndWait(3);
    for (const id of ids) expect(((await stack.account(id)) as { fields: Record<string, unknown> }).fields[OUTPUT.modelVersion]).toBe('e2e-shadow');
    await historyFor(ids);
    const { rows } = await db.pool.query('SELECT DISTINCT model_version FROM score_history WHERE account_id = ANY($1)', [ids]);
    expect(rows).toEqual([{ model_version: 'e2e-shadow' }]);
  }, 60_000);

  it('when Salesforce refuses a record for good, then the failure is in PostgreSQL with its path, beside the Redis log', async () => {
    const [id] = ((await (await fetch(`${stack.org.url}/__admin/accounts?offset=${offset}&limit=1`)).json()) as { ids: string[] }).ids;
    offset += 1;
    // The rule is armed after the user's edit, so only the worker's write-back meets it.
    stack.org.outbound.pause();
    await stack.change([{ id: id!, Monthly_Charges__c: 99.5, Contract_Type__c: 'Month-to-month' }]);
    await fetch(`${stack.org.url}/__admin/validation-rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: [id], message: 'Scores are frozen for key accounts' }) });
    stack.org.outbound.resume();
    try {
      await until(async () => (await db.pool.query('SELECT 1 FROM failures WHERE account_id = $1', [id])).rowCount === 1, 20_000, 'the failure in PostgreSQL');
      const { rows } = await db.pool.query('SELECT code, path, message FROM failures WHERE account_id = $1', [id]);
      expect(rows).toEqual([{ code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', path: 'realtime', message: expect.stringContaining('frozen') }]);
    } finally {
      await fetch(`${stack.org.url}/__admin/validation-rules`, { method: 'DELETE' });
    }
  }, 60_000);
});
