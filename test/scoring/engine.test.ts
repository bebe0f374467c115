import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/core/errors.js';
import { ScoringEngine, isFailure, type Prediction } from '../../src/scoring/engine.js';
import { buildModel, floatMatrixInfo, logisticRegressionModel, zipMapModel } from '../../src/training/onnx-builder.js';
import { tempDir, tinyModel, tinySpec, writeModel } from './helpers.js';

async function openError(options: Parameters<typeof ScoringEngine.open>[0]): Promise<Error> {
  try {
    const engine = await ScoringEngine.open(options);
    await engine.close();
  } catch (error) {
    expect(isAppError(error, 'MODEL_INVALID')).toBe(true);
    return error as Error;
  }
  throw new Error('expected start-up to fail');
}

describe('scoring engine start-up', () => {
  const dir = tempDir();

  it('when the model file is missing, then start-up fails naming the path', async () => {
    const { specPath } = tinyModel(dir);
    const error = await openError({ modelPath: join(dir, 'absent.onnx'), specPath });
    expect(error.message).toContain(`Model file ${join(dir, 'absent.onnx')} does not exist.`);
  });

  it('when the model file is corrupt, then start-up fails saying onnxruntime cannot load it', async () => {
    const paths = writeModel(dir, 'corrupt', new Uint8Array([8, 1, 18, 0, 255, 255, 3]), tinySpec());
    const error = await openError(paths);
    expect(error.message).toMatch(/corrupt\.onnx is not a model onnxruntime can load: .*protobuf parsing failed/);
  });

  it('when the output the spec names is a ZipMap, then start-up fails and says to export without ZipMap', async () => {
    const paths = writeModel(dir, 'zipmap', zipMapModel('features', 5), tinySpec({ output: { name: 'output_probability' } }));
    const error = await openError(paths);
    expect(error.message).toContain('output "output_probability" is not a tensor (a ZipMap');
    expect(error.message).toContain("options={'zipmap': False}");
  });

  it('when the spec names an input the model does not have, then start-up lists the model\'s inputs', async () => {
    const spec = tinySpec({ input: { name: 'float_input' } });
    const paths = writeModel(dir, 'wrong-input', logisticRegressionModel({ weights: [0, 0, 0, 0, 0], bias: 0, inputName: 'features', outputName: 'probability' }), spec);
    const error = await openError(paths);
    expect(error.message).toContain('the spec\'s input "float_input" is not among the model\'s inputs ("features")');
  });

  it('when the model is narrower than the spec\'s encoding, then start-up gives both widths', async () => {
    const paths = writeModel(dir, 'narrow', logisticRegressionModel({ weights: [0, 0, 0, 0], bias: 0, inputName: 'features', outputName: 'probability' }), tinySpec());
    const error = await openError(paths);
    expect(error.message).toContain('input "features" is 4 wide in the model but the spec\'s features encode to 5 columns');
  });

  it('when the model leaves its width symbolic and it does not fit, then the probe row fails with a precise message', async () => {
    const paths = writeModel(dir, 'symbolic', logisticRegressionModel({ weights: [0, 0, 0, 0], bias: 0, inputName: 'features', outputName: 'probability', declareWidth: false }), tinySpec());
    const error = await openError(paths);
    expect(error.message).toContain('failed on a 5-column row built from its spec');
  });

  it('when the model outputs a margin instead of a probability, then start-up says to add a Sigmoid', async () => {
    const F = onnxProto.onnx.TensorProto.DataType.FLOAT;
    const bytes = buildModel({
      nodes: [
        { opType: 'MatMul', input: ['features', 'W'], output: ['xw'] },
        { opType: 'Add', input: ['xw', 'B'], output: ['probability'] },
      ],
      inputs: [floatMatrixInfo('features', 5)],
      outputs: [floatMatrixInfo('probability', 1)],
      initializers: [
        { name: 'W', dataType: F, dims: [5, 1], floatData: [0, 0, 0, 0, 0] },
        { name: 'B', dataType: F, dims: [1], floatData: [3] },
      ],
    });
    const error = await openError(writeModel(dir, 'margin', bytes, tinySpec()));
    expect(error.message).toContain('is not a probability');
    expect(error.message).toContain('add a Sigmoid');
  });

  it('when the spec is missing beside the model, then start-up names the spec path it looked for', async () => {
    const modelPath = join(dir, 'lonely.onnx');
    writeFileSync(modelPath, logisticRegressionModel({ weights: [0, 0, 0, 0, 0], bias: 0, inputName: 'features', outputName: 'probability' }));
    const error = await openError({ modelPath });
    expect(error.message).toContain(`Feature spec ${join(dir, 'lonely.spec.json')} does not exist.`);
  });
});

describe('scoring engine', () => {
  let engine: ScoringEngine;
  beforeAll(async () => {
    const spec = tinySpec();
    spec.features[1] = { ...spec.features[1]!, required: false } as never;
    engine = await ScoringEngine.open({ ...tinyModel(tempDir(), spec), threads: 1 });
  });
  afterAll(() => engine.close());

  it('when records are blank, wrong-typed or unseen, then each still gets a finite score with two decimals', async () => {
    const records = [
      { Id: '1', Contract_Type__c: '', Tenure_Months__c: ' ', Paperless_Billing__c: null },
      { Id: '2', Contract_Type__c: 'Weekly', Tenure_Months__c: 'twelve', Paperless_Billing__c: 'perhaps' },
      { Id: '3' },
      { Id: '4', Contract_Type__c: 'Two year', Tenure_Months__c: '60', Paperless_Billing__c: 'false' },
    ];
    const results = await engine.score(records);
    expect(results.map((r) => r.id)).toEqual(['1', '2', '3', '4']);
    for (const r of results) {
      expect(isFailure(r)).toBe(false);
      const p = r as Prediction;
      expect(Number.isFinite(p.score)).toBe(true);
      expect(p.score).toBeGreaterThanOrEqual(0);
      expect(p.score).toBeLessThanOrEqual(100);
      expect(Math.round(p.score * 100) / 100).toBe(p.score);
      expect(p.modelVersion).toBe('test-model-1');
    }
    // Blank and unusable values are imputed identically.
    expect((results[0] as Prediction).score).toBe((results[1] as Prediction).score);
    expect((results[3] as Prediction).risk).toBe('Low');
  });

  it('when a record has no Id or is not an object, then it gets a per-record error and the others are scored', async () => {
    const results = await engine.score([{ Contract_Type__c: 'Two year' }, 'nonsense', { Id: 'ok' }]);
    expect(results[0]).toEqual({ id: '#0', error: { code: 'SCORING_FAILED', message: 'record 0 has no Id', field: 'Id' } });
    expect(results[1]).toEqual({ id: '#1', error: { code: 'SCORING_FAILED', message: 'record 1 is not an object' } });
    expect(isFailure(results[2]!)).toBe(false);
  });

  it('when a required field is unusable, then the per-record error names the field', async () => {
    const spec = tinySpec();
    spec.features[1] = { ...spec.features[1]!, required: true } as never;
    const strict = await ScoringEngine.open(tinyModel(tempDir(), spec));
    try {
      const [r] = await strict.score([{ Id: 'x', Tenure_Months__c: 'n/a' }]);
      expect(r).toEqual({ id: 'x', error: { code: 'SCORING_FAILED', field: 'Tenure_Months__c', message: 'Tenure_Months__c has an unusable value "n/a"' } });
    } finally {
      await strict.close();
    }
  });

  it('when more records than one ORT chunk arrive, then results keep input order', async () => {
    const records = Array.from({ length: 2_600 }, (_, i) => ({ Id: `r${i}`, Tenure_Months__c: i % 72 }));
    const results = await engine.score(records, { reasons: false });
    expect(results).toHaveLength(2_600);
    expect(results[2_599]!.id).toBe('r2599');
    const withReasons = await engine.score(records.slice(0, 600));
    expect(withReasons.map((r) => r.id)).toEqual(records.slice(0, 600).map((r) => r.Id));
  });

  it('when calls with reasons overlap (each starts while another waits for its ORT run), then each gets what it gets alone', async () => {
    const batch = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ Id: `o${from + i}`, Contract_Type__c: i % 2 ? 'Two year' : 'Month-to-month', Tenure_Months__c: (from + i) % 72, Paperless_Billing__c: i % 3 === 0 }));
    const sets = [batch(300, 0), batch(1, 300), batch(40, 301), batch(1, 341), batch(260, 342)];
    const alone: unknown[] = [];
    for (const records of sets) alone.push(await engine.score(records));
    const together = await Promise.all(sets.map((records) => engine.score(records)));
    expect(together).toEqual(alone);
    // And the scratch the overlapping calls left behind still serves a later call.
    expect(await engine.score(sets[0]!)).toEqual(alone[0]);
  });

  it('when a prediction is turned into Account fields, then the output field names and shapes come from the spec', async () => {
    const [r] = await engine.score([{ Id: '001', Contract_Type__c: 'Month-to-month', Tenure_Months__c: 1, Paperless_Billing__c: true }]);
    const fields = engine.toAccountFields(r as Prediction, new Date('2026-11-27T10:00:00Z'));
    expect(Object.keys(fields).sort()).toEqual(['Churn_Model_Version__c', 'Churn_Risk__c', 'Churn_Score__c', 'Churn_Scored_At__c', 'Churn_Top_Factors__c']);
    expect(fields.Churn_Risk__c).toBe('High');
    expect(fields.Churn_Scored_At__c).toBe('2026-11-27T10:00:00.000Z');
    expect(String(fields.Churn_Top_Factors__c).length).toBeLessThanOrEqual(255);
  });

  it('when the engine is closed twice, then the second close is harmless and scoring refuses', async () => {
    const other = await ScoringEngine.open(tinyModel(tempDir()));
    await other.close();
    await other.close();
    await expect(other.score([{ Id: 'x' }])).rejects.toThrow('The scoring engine was closed.');
  });
});
