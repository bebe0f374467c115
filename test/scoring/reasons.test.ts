import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScoringEngine, isFailure, type Prediction } from '../../src/scoring/engine.js';
import { createEncoder } from '../../src/scoring/encoder.js';
import { buildExplainBatch, formatFactors } from '../../src/scoring/reasons.js';
import { parseSpec } from '../../src/scoring/spec.js';
import { TINY_BIAS, TINY_WEIGHTS, sigmoid, tempDir, tinyModel, tinySpec } from './helpers.js';

/** The logistic model's probability for a row of tinySpec's columns. */
function p(row: number[]): number {
  return sigmoid(row.reduce((s, v, i) => s + v * TINY_WEIGHTS[i]!, TINY_BIAS));
}

describe('reasons on a logistic regression whose effects are known', () => {
  let engine: ScoringEngine;
  beforeAll(async () => {
    engine = await ScoringEngine.open(tinyModel(tempDir()));
  });
  afterAll(() => engine.close());

  it('when a record differs from the reference in every field, then contributions equal p(x) − p(x with that field at its reference), ranked by size', async () => {
    const [result] = await engine.score([{ Id: 'a', Contract_Type__c: 'Month-to-month', Tenure_Months__c: 2, Paperless_Billing__c: true }]);
    const x = [1, 0, 0, 2, 1];
    const expected = {
      Contract_Type__c: 100 * (p(x) - p([0, 1, 0, 2, 1])),
      Tenure_Months__c: 100 * (p(x) - p([1, 0, 0, 24, 1])),
      Paperless_Billing__c: 100 * (p(x) - p([1, 0, 0, 2, 0])),
    };
    const pred = result as Prediction;
    expect(pred.score).toBeCloseTo(100 * p(x), 2);
    expect(pred.factors!.map((f) => f.field)).toEqual(['Contract_Type__c', 'Tenure_Months__c', 'Paperless_Billing__c']);
    for (const f of pred.factors!) expect(f.points).toBeCloseTo(expected[f.field as keyof typeof expected], 1);
    expect(pred.factors!.every((f) => f.points > 0)).toBe(true);
    expect(engine.toAccountFields(pred).Churn_Top_Factors__c).toBe(
      `Contract_Type__c=Month-to-month (+${expected.Contract_Type__c.toFixed(1)}); Tenure_Months__c=2 (+${expected.Tenure_Months__c.toFixed(1)}); Paperless_Billing__c=true (+${expected.Paperless_Billing__c.toFixed(1)})`,
    );
  });

  it('when a field already holds its reference value, then it contributes nothing, and a protective field shows a minus sign', async () => {
    const [result] = await engine.score([{ Id: 'b', Contract_Type__c: 'Two year', Tenure_Months__c: 60, Paperless_Billing__c: false }]);
    const pred = result as Prediction;
    const x = [0, 1, 0, 60, 0];
    expect(pred.factors).toEqual([{ field: 'Tenure_Months__c', value: '60', points: Math.round(100 * (p(x) - p([0, 1, 0, 24, 0])) * 10) / 10 }]);
    expect(pred.factors![0]!.points).toBeLessThan(0);
    expect(engine.toAccountFields(pred).Churn_Top_Factors__c).toMatch(/^Tenure_Months__c=60 \(-\d+\.\d\)$/);
  });

  it('when a field has several weighted references, then its contribution is measured against their weighted average', async () => {
    const spec = tinySpec();
    spec.features[0] = { ...spec.features[0]!, reference: [{ value: 'Month-to-month', weight: 3 }, { value: 'Two year', weight: 1 }] } as never;
    const weighted = await ScoringEngine.open(tinyModel(tempDir(), spec));
    try {
      const [result] = await weighted.score([{ Id: 'c', Contract_Type__c: 'Month-to-month', Tenure_Months__c: 24, Paperless_Billing__c: false }]);
      const x = [1, 0, 0, 24, 0];
      const expected = 100 * (p(x) - (0.75 * p(x) + 0.25 * p([0, 1, 0, 24, 0])));
      expect((result as Prediction).factors).toEqual([{ field: 'Contract_Type__c', value: 'Month-to-month', points: Math.round(expected * 10) / 10 }]);
    } finally {
      await weighted.close();
    }
  });

  it('when reasons are off, then factors are null and the write-back leaves the factors field alone', async () => {
    const [result] = await engine.score([{ Id: 'd', Contract_Type__c: 'Month-to-month' }], { reasons: false });
    expect(isFailure(result!)).toBe(false);
    expect((result as Prediction).factors).toBeNull();
    expect(engine.toAccountFields(result as Prediction)).not.toHaveProperty('Churn_Top_Factors__c');
  });
});

describe('explanation batch', () => {
  it('when n records differ from every reference, then one run holds n × (groups + 1) rows; equal values need no row', () => {
    const enc = createEncoder(parseSpec(tinySpec()));
    const base = new Float32Array(enc.width * 2);
    enc.encode({ Contract_Type__c: 'Month-to-month', Tenure_Months__c: 1, Paperless_Billing__c: true }, base, 0, 0);
    enc.encode({ Contract_Type__c: 'Two year', Tenure_Months__c: 24, Paperless_Billing__c: false }, base, 1, 0);
    const batch = buildExplainBatch(enc, base, 2);
    expect(batch.rows).toBe(2 + 3);
    expect([...batch.refRow]).toEqual([2, 3, 4, -1, -1, -1]);
    // Row 2 is record 0 with the contract swapped to "Two year".
    expect([...batch.input.subarray(2 * enc.width, 3 * enc.width)]).toEqual([0, 1, 0, 1, 1]);
  });
});

describe('factor text', () => {
  it('when factors are long, then whole factors are kept up to 255 characters', () => {
    const long = 'x'.repeat(39);
    const factors = Array.from({ length: 3 }, (_, i) => ({ field: `A_Very_Long_Custom_Field_Name_Number_${i}__c`, value: long, points: 12.3 }));
    const text = formatFactors(factors, 255);
    expect(text.length).toBeLessThanOrEqual(255);
    expect(text.split('; ')).toHaveLength(2);
    expect(formatFactors([{ field: 'F', value: 'y'.repeat(300), points: -1 }], 255)).toHaveLength(255);
  });
});
