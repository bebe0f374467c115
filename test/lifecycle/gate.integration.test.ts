/**
 * The promotion gate on the registry in PostgreSQL: a candidate and the champion scored by the real
 * engine on the same labelled Accounts (the emulator's, with their Churned__c labels); a worse
 * candidate stays a candidate, a better one becomes the champion, and both decisions are in the
 * promotion log with the metrics that made them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_FIELDS } from '../../src/core/account-fields.js';
import { startEmulator } from '../../src/emulator/index.js';
import { DEFAULT_GATE, type GateDecision } from '../../src/lifecycle/gate.js';
import { evaluateCandidate } from '../../src/runtime/evaluate-model.js';
import { openSystemOfRecord, readShippedModel, type SystemOfRecord } from '../../src/runtime/models.js';
import type { LabelledData } from '../../src/training/dataset.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { ROOT } from '../helpers/process.js';

let db: TestDatabase;
let sor: SystemOfRecord;
let data: LabelledData;
const shipped = readShippedModel({ modelPath: `${ROOT}models/churn-gbt.onnx`, threads: 1 });
const spec = shipped.spec as { modelVersion: string; features: Array<Record<string, unknown>> };
const who = { actor: 'test', reason: 'gate test' };

/** The shipped model with its contract levels in the wrong order: the same trees read the wrong columns. */
function scrambled(version: string) {
  const features = spec.features.map((f) => (f.field === 'Contract_Type__c' ? { ...f, levels: ['Two year', 'One year', 'Month-to-month'], impute: 'Two year' } : f));
  return { onnx: shipped.onnx, spec: { ...spec, modelVersion: version, features }, source: 'imported' as const };
}

beforeAll(async () => {
  db = await testDatabase();
  sor = await openSystemOfRecord(db.config, { prefix: 'gate-test' });
  const org = await startEmulator({ accounts: 3_000 });
  try {
    const store = org.state.store;
    const fields = INPUT_FIELDS.map((f) => org.state.field(f.name)!);
    const label = org.state.field('Churned__c')!;
    const records = Array.from({ length: store.size }, (_, row) => Object.fromEntries([['Id', store.idOf(row)], ...fields.map((f) => [f.name, store.get(row, f)])]));
    data = { records, labels: Uint8Array.from({ length: store.size }, (_, row) => (store.get(row, label) ? 1 : 0)), source: 'emulator', sha256: 'emulator' };
  } finally {
    await org.close();
  }
}, 120_000);

afterAll(async () => {
  await sor?.close();
  await db?.drop();
});

const summary = (d: GateDecision) => `${d.candidate.version}: AUC ${d.candidate.auc.toFixed(4)} vs ${d.champion?.auc.toFixed(4)}, log loss ${d.candidate.logloss.toFixed(4)} vs ${d.champion?.logloss.toFixed(4)} → ${d.promote ? 'promote' : 'keep'}`;

describe('the promotion gate on the registry', () => {
  it('when the candidate is worse than the champion, then it is not promoted and the log says why; when a better one comes, it is promoted', async () => {
    const { registry } = sor;
    await registry.ensureChampion(async () => shipped);
    await registry.register(scrambled('gate-worse'), who);

    const worse = await evaluateCandidate(registry, 'gate-worse', data, DEFAULT_GATE);
    console.log(summary(worse));
    expect(worse.promote).toBe(false);
    expect(worse.checks.find((c) => c.name === 'auc')?.passed).toBe(false);
    expect(await registry.gate(worse, { actor: 'test' })).toEqual({ promoted: false, previous: spec.modelVersion });
    expect((await registry.roles()).champion).toBe(spec.modelVersion);
    const [rejected] = await registry.log(1, 'gate-worse');
    expect(rejected).toMatchObject({ action: 'reject', version: 'gate-worse', previous: spec.modelVersion, actor: 'test' });
    expect(rejected!.reason).toMatch(/^kept as a candidate: AUC /);
    expect((rejected!.details as { gate: GateDecision }).gate.candidate.auc).toBeCloseTo(worse.candidate.auc, 10);

    // The scrambled model is made the champion by hand; the shipped model comes back as a candidate.
    await registry.promote('gate-worse', who);
    await registry.register({ onnx: shipped.onnx, spec: { ...spec, modelVersion: 'gate-better' }, source: 'imported' }, who);
    const better = await evaluateCandidate(registry, 'gate-better', data, DEFAULT_GATE);
    console.log(summary(better));
    expect(better.promote).toBe(true);
    expect(better.candidate.auc).toBeGreaterThan(better.champion!.auc);
    expect(await registry.gate(better, { actor: 'test' })).toEqual({ promoted: true, previous: 'gate-worse' });
    expect((await registry.roles()).champion).toBe('gate-better');
    const [promoted] = await registry.log(1, 'gate-better');
    expect(promoted).toMatchObject({ action: 'promote', version: 'gate-better', previous: 'gate-worse' });
    expect(promoted!.reason).toMatch(/^gate passed on 3000 labelled Accounts/);
  }, 180_000);
});
