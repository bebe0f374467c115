/**
 * The model registry on real PostgreSQL with the real ONNX engine: first-start registration, refusals
 * (unreachable database, older schema, a model that does not match its spec or reads fields Account
 * does not have), and the hot swap: a promotion reaches a scoring thread through Redis while it
 * scores, with no request failing and work that started on the old model finishing on it.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { isAppError } from '../../src/core/errors.js';
import { compareShadow } from '../../src/db/shadow.js';
import { championSlot, openSystemOfRecord, watchModels, type SystemOfRecord } from '../../src/runtime/models.js';
import { shadowRows } from '../../src/runtime/ports.js';
import { createLogger } from '../../src/log/logger.js';
import { ScoringThread } from '../../src/scoring/thread.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const scoringConfig = { modelPath: `${ROOT}models/churn-gbt.onnx`, threads: 1 };
const onnx = new Uint8Array(readFileSync(`${ROOT}models/churn-gbt.onnx`));
const shippedSpec = JSON.parse(readFileSync(`${ROOT}models/churn-gbt.spec.json`, 'utf8')) as { modelVersion: string; features: Array<{ field: string }> };
const SHIPPED = shippedSpec.modelVersion;
/** The same trees under another version name: a model that passes every check. */
const specAs = (version: string) => ({ ...shippedSpec, modelVersion: version });
const who = { actor: 'test', reason: 'integration test' };
const logger = createLogger('silent');

let db: TestDatabase;
let sor: SystemOfRecord;
let publisher: Redis;

const code = async (promise: Promise<unknown>) => promise.then(() => 'no error', (error: unknown) => (isAppError(error) ? error.code : String(error)));

beforeAll(async () => {
  db = await testDatabase();
  publisher = new Redis(REDIS_URL);
  sor = await openSystemOfRecord(db.config, { publisher, prefix: `{test-models-${db.config.schema}}` });
});
afterAll(async () => {
  await sor?.close();
  publisher?.disconnect();
  await db?.drop();
});

describe('model registry on PostgreSQL', () => {
  it('when a process starts on an empty registry, then the shipped model is registered as the champion with its card metrics', async () => {
    expect(await sor.registry.ensureChampion(async () => ({ onnx, spec: shippedSpec, card: JSON.parse(readFileSync(`${ROOT}models/churn-gbt.card.json`, 'utf8')) }))).toBe(SHIPPED);
    const [model] = await sor.registry.list();
    expect(model).toMatchObject({ version: SHIPPED, status: 'champion', source: 'shipped' });
    expect(model!.features).toEqual(shippedSpec.features.map((f) => f.field));
    expect(model!.metrics).toMatchObject({ auc: expect.closeTo(0.849, 2) });
    const { rows } = await db.pool.query('SELECT length(onnx) AS bytes FROM model_versions WHERE version = $1', [SHIPPED]);
    expect(Number(rows[0].bytes)).toBe(onnx.length);
  });

  it('when PostgreSQL does not answer, then opening says so (DB_UNAVAILABLE)', async () => {
    expect(await code(openSystemOfRecord({ url: 'postgres://postgres@127.0.0.1:1/postgres', schema: 'public', tls: 'off' }, { prefix: '{x}' }))).toBe('DB_UNAVAILABLE');
  });

  it('when the schema was not migrated, then opening refuses and says to run db migrate (DB_SCHEMA_OUTDATED)', async () => {
    const empty = await testDatabase({ migrated: false });
    try {
      const error = await openSystemOfRecord(empty.config, { prefix: '{x}' }).then(() => undefined, (e: unknown) => e);
      expect(isAppError(error, 'DB_SCHEMA_OUTDATED')).toBe(true);
      expect(String((error as Error).message)).toContain('bin/churn-worker db migrate');
    } finally {
      await empty.drop();
    }
  });

  it('when a model reads a field Account does not have, or does not match its spec, then the import is refused and nothing is stored', async () => {
    const unknownField = { ...specAs('bad-field'), features: [...shippedSpec.features.slice(0, -1), { ...shippedSpec.features.at(-1)!, field: 'Shoe_Size__c' }] };
    expect(await code(sor.registry.register({ onnx, spec: unknownField, source: 'imported' }, who))).toBe('MODEL_INVALID');
    const narrower = { ...specAs('bad-width'), features: shippedSpec.features.slice(1) };
    expect(await code(sor.registry.register({ onnx, spec: narrower, source: 'imported' }, who))).toBe('MODEL_INVALID');
    expect(await code(sor.registry.register({ onnx: new TextEncoder().encode('not onnx'), spec: specAs('bad-bytes'), source: 'imported' }, who))).toBe('MODEL_INVALID');
    expect((await sor.registry.list()).map((m) => m.version)).toEqual([SHIPPED]);
  });

  it('when a promotion happens while a thread scores, then it switches within seconds, no request fails, and pinned work finishes on its model', async () => {
    await sor.registry.register({ onnx, spec: specAs('v2-hot'), source: 'imported' }, who);
    const scoring = await ScoringThread.open({ model: await championSlot(sor.registry, scoringConfig) });
    const subscriber = new Redis(REDIS_URL);
    const watch = watchModels({ registry: sor.registry, scoring, subscriber, prefix: `{test-models-${db.config.schema}}`, pollMs: 60_000, logger });
    const record = { Id: '001000000000001AAA', Tenure_Months__c: 3, Contract_Type__c: 'Month-to-month' };
    const seen: string[] = [];
    let failures = 0;
    let scoring_ = true;
    const loop = (async () => {
      while (scoring_) {
        try {
          const [r] = await scoring.score([record], { reasons: false });
          if (r && !('error' in r)) seen.push(r.modelVersion);
        } catch {
          failures += 1;
        }
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pinned = scoring.modelVersion;
      await sor.registry.promote('v2-hot', who);
      // Redis tells the watch at once (the poll is a minute away in this test).
      for (let i = 0; i < 100 && scoring.modelVersion !== 'v2-hot'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(scoring.modelVersion).toBe('v2-hot');
      const [old] = await scoring.score([record], { reasons: false, version: pinned });
      expect(old).toMatchObject({ modelVersion: SHIPPED });
      await new Promise((r) => setTimeout(r, 200));
      scoring_ = false;
      await loop;
      expect(failures).toBe(0);
      expect(seen[0]).toBe(SHIPPED);
      expect(seen.at(-1)).toBe('v2-hot');

      await sor.registry.rollback(who);
      await watch.check();
      expect(scoring.modelVersion).toBe(SHIPPED);
    } finally {
      scoring_ = false;
      await watch.stop();
      subscriber.disconnect();
      await scoring.close();
    }
  });

  it('when a shadow is set, then both models score each record, only the champion is returned for writing, and compare reports their agreement', async () => {
    await sor.registry.register({ onnx, spec: specAs('v3-shadow'), source: 'imported' }, who);
    await sor.registry.shadow('v3-shadow', who);
    const scoring = await ScoringThread.open({ model: await championSlot(sor.registry, scoringConfig) });
    const watch = watchModels({ registry: sor.registry, scoring, prefix: '{x}', pollMs: 60_000, logger });
    try {
      await watch.check();
      expect(scoring.models.shadow?.version).toBe('v3-shadow');
      const records = Array.from({ length: 20 }, (_, i) => ({ Id: `001000000000${String(i).padStart(3, '0')}AAA`, Tenure_Months__c: i * 3, Contract_Type__c: i % 2 ? 'One year' : 'Month-to-month' }));
      const { results, shadow } = await scoring.scoreWithShadow(records);
      expect(results.every((r) => !('error' in r) && r.modelVersion === SHIPPED)).toBe(true);
      expect(shadow?.every((r) => !('error' in r) && r.modelVersion === 'v3-shadow')).toBe(true);
      await sor.recordShadow(shadowRows(results, shadow!, 'realtime', new Date()));
      const report = await compareShadow(db.pool, 'v3-shadow');
      // Same trees under another name: full agreement, which the report must show as such.
      expect(report).toMatchObject({ records: 20, meanAbsScoreDifference: 0, bandAgreement: 1, topReasonChanged: 0, championVersions: [SHIPPED] });
      expect(Object.values(report.confusion).flatMap((row) => Object.values(row)).reduce((a, b) => a + b, 0)).toBe(20);
      expect(report.text).toContain('20 record(s) scored by both');
    } finally {
      await watch.stop();
      await scoring.close();
    }
  });
});
