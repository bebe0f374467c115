/**
 * The system of record from the command line, through the real binary against real PostgreSQL:
 * db migrate/status, the models actions with their promotion log, history, and the refusals a
 * newcomer meets (no DATABASE_URL, an older schema, production without a database).
 */
import { expectedMigrations } from '../../src/db/migrate.js';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { cleanEnv, ROOT, runToEnd } from '../helpers/process.js';
import { to18 } from '../../src/core/record-id.js';
import { appendScoreHistory } from '../../src/db/history.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const spec = JSON.parse(readFileSync(`${ROOT}models/churn-gbt.spec.json`, 'utf8')) as { modelVersion: string };

let db: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;
const run = (...args: string[]) => runToEnd(args, env);

beforeAll(async () => {
  db = await testDatabase({ migrated: false });
  dir = mkdtempSync(join(tmpdir(), 'churn-models-'));
  writeFileSync(join(dir, 'v2.spec.json'), JSON.stringify({ ...spec, modelVersion: 'cli-v2' }));
  env = cleanEnv({ ...db.env, REDIS_URL, QUEUE_PREFIX: `{test-${db.config.schema}}` });
});
afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('churn-worker db, models and history', () => {
  it('when the schema is new, then status says what is pending (exit 1), migrate applies it, and status is then clean', async () => {
    const before = await run('db', 'status');
    expect(before.code).toBe(1);
    expect(before.output).toMatch(/PENDING +\d+_system-of-record/);
    const migrated = await run('db', 'migrate');
    expect(migrated.code, migrated.output).toBe(0);
    expect(migrated.output).toContain(`Applied ${expectedMigrations().length} migration(s)`);
    expect((await run('db', 'migrate')).output).toContain('is up to date');
    const after = await run('db', 'status');
    expect(after.code).toBe(0);
    expect(after.output).toMatch(/applied +\d+_system-of-record/);
  });

  it('when a model is imported without a reason, then it is a usage error and nothing is registered', async () => {
    const { code, output } = await run('models', 'import', `${ROOT}models/churn-gbt.onnx`, join(dir, 'v2.spec.json'));
    expect(code).toBe(2);
    expect(output).toContain('--reason is required');
    expect((await run('models', 'list')).output).toContain('No model is registered yet');
  });

  it('when models are imported, promoted and rolled back, then list, show and log tell the story with who and why', async () => {
    // The shipped model as the champion, as a first start would register it.
    const shipped = await run('models', 'import', `${ROOT}models/churn-gbt.onnx`, `${ROOT}models/churn-gbt.spec.json`, '--card', `${ROOT}models/churn-gbt.card.json`, '--reason', 'the shipped model');
    expect(shipped.code, shipped.output).toBe(0);
    expect((await run('models', 'promote', spec.modelVersion, '--reason', 'first champion', '--by', 'ana')).code).toBe(0);
    const imported = await run('models', 'import', `${ROOT}models/churn-gbt.onnx`, join(dir, 'v2.spec.json'), '--reason', 'retrained on Q3');
    expect(imported.output).toContain('Registered cli-v2 as a candidate');
    expect((await run('models', 'promote', 'cli-v2', '--reason', 'better on Q3', '--by', 'ben')).output).toContain(`cli-v2 is the champion (was ${spec.modelVersion})`);
    const list = await run('models', 'list');
    expect(list.output).toMatch(/^champion +cli-v2 /m);
    expect(list.output).toMatch(new RegExp(`^retired +${spec.modelVersion} .*auc 0\\.84`, 'm'));
    expect((await run('models', 'rollback', '--reason', 'complaints from sales', '--by', 'ana')).output).toContain(`${spec.modelVersion} is the champion again (was cli-v2)`);
    const show = await run('models', 'show', 'cli-v2');
    expect(show.output).toMatch(/cli-v2: retired/);
    expect(show.output).toMatch(/promote +cli-v2 .*by ben: better on Q3/);
    expect(show.output).toMatch(/rollback .*\(was cli-v2\) +by ana: complaints from sales/);
    const log = JSON.parse((await run('models', 'log', '--json')).output) as Array<{ action: string; actor: string }>;
    expect(log.map((e) => e.action)).toEqual(['rollback', 'promote', 'register', 'promote', 'register']);
  });

  it('when an unknown version is promoted, then it exits 1 with MODEL_NOT_FOUND and the champion stays', async () => {
    const { code, output } = await run('models', 'promote', 'nope', '--reason', 'typo');
    expect(code).toBe(1);
    expect(output).toContain('[MODEL_NOT_FOUND] Model version nope is not in the registry.');
    expect((await run('models', 'list')).output).toMatch(new RegExp(`^champion +${spec.modelVersion} `, 'm'));
  });

  it("when an Account has score history, then history prints it newest first, for its 15- or 18-character id", async () => {
    const id15 = '001Ri00000m5tYq';
    const id18 = to18(id15);
    await appendScoreHistory(db.pool, [
      { accountId: id18, scoredAt: new Date('2026-03-01T02:00:00Z'), score: 41.5, risk: 'Medium', reasons: 'Contract_Type__c=Month-to-month (+9.0)', modelVersion: 'old-model', path: 'nightly', runId: 'nightly-1' },
      { accountId: id18, scoredAt: new Date('2026-03-05T10:00:00Z'), score: 63.25, risk: 'High', reasons: 'Tenure_Months__c=2 (+12.0)', modelVersion: spec.modelVersion, path: 'realtime' },
    ], true);
    for (const id of [id15, id18]) {
      const { code, output } = await run('history', id);
      expect(code).toBe(0);
      const lines = output.trim().split('\n');
      expect(lines[0]).toMatch(/^2026-03-05T10:00:00\.000Z +63\.25 +High +churn-gbt-[\w-]+ +realtime$/);
      expect(lines[2]).toMatch(/^2026-03-01T02:00:00\.000Z +41\.50 +Medium +old-model +nightly \(nightly-1\)$/);
    }
    expect((await run('history', 'not-an-id')).code).toBe(2);
  });

  it('when DATABASE_URL is not set, then the commands say so (exit 1)', async () => {
    const { code, output } = await runToEnd(['models', 'list'], cleanEnv({ REDIS_URL }));
    expect(code).toBe(1);
    expect(output).toContain('[DB_UNAVAILABLE] DATABASE_URL is not set.');
  });

  it('when a process starts on an older schema, or in production without a database, then it exits 1 saying what to do', async () => {
    const old = await testDatabase({ migrated: false });
    try {
      const web = await runToEnd(['web'], cleanEnv({ ...old.env, REDIS_URL, PORT: '0' }));
      expect(web.code).toBe(1);
      expect(web.output).toContain('"code":"DB_SCHEMA_OUTDATED"');
      expect(web.output).toContain('Run bin/churn-worker db migrate');
    } finally {
      await old.drop();
    }
    // Everything else production asks for is there, so the missing database is what stops it.
    const production = await runToEnd(['web'], cleanEnv({ REDIS_URL, PORT: '0', NODE_ENV: 'production', OUTBOUND_SECRET: 'a-secret-of-enough-length-0123456789abcdef', MONITORING_TOKEN: 'a-monitoring-token-0123456789abcdef' }));
    expect(production.code).toBe(1);
    expect(production.output).toContain('"code":"DB_UNAVAILABLE"');
    expect(production.output).toContain('DATABASE_URL is not set, and NODE_ENV is production');
  });
});
