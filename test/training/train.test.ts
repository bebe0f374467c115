import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScoringEngine, isFailure, type Prediction } from '../../src/scoring/engine.js';
import { loadSpec } from '../../src/scoring/spec.js';
import { parseTrainingCsv, readTrainingCsv, type LabelledData } from '../../src/training/dataset.js';
import { evaluate } from '../../src/training/evaluate.js';
import { train } from '../../src/training/train.js';
import { tempDir } from '../scoring/helpers.js';
import { HAVE_TELCO, HEADER, REPO_ROOT, TELCO_CSV, row } from './data.js';

function subsample(data: LabelledData, every: number): LabelledData {
  const keep = data.records.map((_, i) => i).filter((i) => i % every === 0);
  return { ...data, records: keep.map((i) => data.records[i]!), labels: Uint8Array.from(keep.map((i) => data.labels[i]!)) };
}

describe('train → spec → engine', () => {
  const engines: ScoringEngine[] = [];
  afterAll(async () => {
    for (const e of engines) await e.close();
  });

  it('when trained on a tiny file, then model, spec and card are written, and the engine loads them', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 60; i++) lines.push(row(`C${i}`, String(i % 2 ? 2 : 50), i % 2 ? 'Month-to-month' : 'Two year', '70', i === 3 ? ' ' : '900', i % 2 ? 'Yes' : 'No'));
    const data = parseTrainingCsv(lines.join('\n'), 'tiny.csv');
    const out = join(tempDir(), 'tiny-gbt');
    const progress: string[] = [];
    const result = train(data, { out, seed: 1, folds: 2, params: { rounds: 10, minLeaf: 5 }, now: new Date('2026-11-27T00:00:00Z'), progress: (l) => progress.push(l) });
    expect(result.card.modelVersion).toMatch(/^tiny-gbt-2026-11-27-[0-9a-f]{8}$/);
    expect(progress.some((l) => l.startsWith('train: round 10/10'))).toBe(true);
    const spec = loadSpec(`${out}.spec.json`);
    expect(spec.modelVersion).toBe(result.card.modelVersion);
    expect(spec.features.map((f) => f.field)).toContain('Total_Charges__c');
    // The training reference drift is measured against travels in the spec (and so with the registered version).
    expect(spec.monitoring?.rows).toBe(60);
    expect(spec.monitoring?.fields.find((f) => f.field === 'Contract_Type__c')).toMatchObject({ kind: 'levels', levels: ['Month-to-month', 'One year', 'Two year'], shares: [0.5, 0, 0.5, 0, 0] });
    expect(spec.monitoring?.fields.find((f) => f.field === 'Total_Charges__c')?.shares.at(-1)).toBeCloseTo(1 / 60, 10);
    const card = JSON.parse(readFileSync(`${out}.card.json`, 'utf8'));
    expect(card).toMatchObject({ seed: 1, data: { rows: 60, churned: 30, sha256: data.sha256 }, crossValidation: { folds: 2 } });
    expect(readFileSync(`${out}.card.md`, 'utf8')).toContain('## 2-fold cross-validation');

    const engine = await ScoringEngine.open({ modelPath: `${out}.onnx` });
    engines.push(engine);
    const [churner, stayer] = await engine.score([data.records[1], data.records[0]]);
    expect((churner as Prediction).score).toBeGreaterThan((stayer as Prediction).score + 30);
    expect((churner as Prediction).factors!.map((f) => f.field)).toEqual(expect.arrayContaining(['Contract_Type__c']));
  });

  it('when trained twice with the same seed, then the ONNX bytes are identical', () => {
    const lines = [HEADER];
    for (let i = 0; i < 80; i++) lines.push(row(`C${i}`, String((i * 7) % 72), i % 3 ? 'Month-to-month' : 'One year', String(20 + (i % 50)), String(100 * i), i % 3 ? 'Yes' : 'No'));
    const data = parseTrainingCsv(lines.join('\n'), 'd.csv');
    const dir = tempDir();
    const opts = { seed: 5, folds: 0, params: { rounds: 15, minLeaf: 5, subsample: 0.7 } };
    train(data, { ...opts, out: join(dir, 'a') });
    train(data, { ...opts, out: join(dir, 'b'), now: new Date('2030-01-01') });
    expect(readFileSync(join(dir, 'a.onnx')).equals(readFileSync(join(dir, 'b.onnx')))).toBe(true);
  });

  describe.skipIf(!HAVE_TELCO)('on the shared Telco file', () => {
    it('when a quarter of it trains a small model, then the engine scores the rest with AUC above 0.80 and no failures', async () => {
      const all = readTrainingCsv(TELCO_CSV);
      const trainPart = subsample(all, 4);
      const holdout = { ...all, records: all.records.filter((_, i) => i % 4 !== 0), labels: Uint8Array.from([...all.labels].filter((_, i) => i % 4 !== 0)) };
      const out = join(tempDir(), 'quarter');
      train(trainPart, { out, seed: 3, folds: 0, params: { rounds: 40, learningRate: 0.1 } });
      const engine = await ScoringEngine.open({ modelPath: `${out}.onnx` });
      engines.push(engine);
      const result = await evaluate(engine, holdout);
      expect(result.failures).toEqual([]);
      expect(result.metrics.n).toBe(holdout.records.length);
      expect(result.metrics.auc).toBeGreaterThan(0.8);
    });

    it('when the shipped default model scores the training file, then it matches its model card and blank TotalCharges score', async () => {
      const modelPath = join(REPO_ROOT, 'models/churn-gbt.onnx');
      const card = JSON.parse(readFileSync(join(REPO_ROOT, 'models/churn-gbt.card.json'), 'utf8'));
      const data = readTrainingCsv(TELCO_CSV);
      expect(card.data.sha256).toBe(data.sha256);
      const engine = await ScoringEngine.open({ modelPath });
      engines.push(engine);
      const result = await evaluate(engine, data);
      // Scores are written with two decimals, so allow for that rounding.
      expect(result.metrics.auc).toBeCloseTo(card.trainingMetrics.auc, 3);
      expect(result.metrics.logloss).toBeCloseTo(card.trainingMetrics.logloss, 2);
      const blanks = data.records.filter((r) => String(r.Total_Charges__c).trim() === '');
      const scored = await engine.score(blanks);
      expect(scored.every((r) => !isFailure(r) && Number.isFinite(r.score))).toBe(true);
    });
  });
});
