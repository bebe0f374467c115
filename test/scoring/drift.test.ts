import { describe, expect, it } from 'vitest';
import { driftReport } from '../../src/core/drift.js';
import { buildReference, DriftTally } from '../../src/scoring/drift.js';
import { createEncoder } from '../../src/scoring/encoder.js';
import { parseSpec } from '../../src/scoring/spec.js';

const spec = parseSpec({
  specVersion: 1,
  modelVersion: 'drift-test',
  input: { name: 'features' },
  output: { name: 'probability' },
  riskBands: { high: 50, medium: 25 },
  features: [
    { field: 'Tenure__c', encoding: 'number', impute: 10, reference: [{ value: 10, weight: 1 }], min: 0, max: 1000 },
    { field: 'Contract__c', encoding: 'picklist', levels: ['M', 'Y'], impute: 'M', reference: [{ value: 'M', weight: 1 }] },
    { field: 'Paperless__c', encoding: 'checkbox', impute: false, reference: [{ value: false, weight: 1 }] },
  ],
});

const now = new Date('2026-11-29T00:00:00Z');

describe('drift counting beside the encoder', () => {
  const training = Array.from({ length: 100 }, (_, i) => ({ Tenure__c: i, Contract__c: i % 4 === 0 ? 'Y' : 'M', Paperless__c: i % 2 === 0 }));
  const scores = Array.from({ length: 100 }, (_, i) => i);
  const reference = buildReference(spec, training, scores, now);

  it('when measured on training rows, then numbers get decile bins, picklists and checkboxes their levels, each with unusable and blank', () => {
    const tenure = reference.fields[0]!;
    expect(tenure).toMatchObject({ kind: 'numeric', edges: [10, 20, 30, 40, 50, 60, 70, 80, 90], min: 0, max: 99 });
    expect(tenure.shares).toEqual([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0, 0]);
    expect(reference.fields[1]).toMatchObject({ kind: 'levels', levels: ['M', 'Y'], shares: [0.75, 0.25, 0, 0] });
    expect(reference.fields[2]).toMatchObject({ kind: 'levels', levels: ['false', 'true'], shares: [0.5, 0.5, 0, 0] });
    expect(reference.score.shares).toHaveLength(10);
    // The spec accepts it as its monitoring part.
    expect(parseSpec({ ...spec, monitoring: reference }).monitoring).toEqual(reference);
  });

  it('when the same rows are counted again, then every PSI is 0; when they shift, the shifted field moves and the others do not', () => {
    const encoder = createEncoder(spec);
    const count = (rows: Array<Record<string, unknown>>) => {
      const tally = new DriftTally(encoder, reference);
      const x = new Float32Array(rows.length * encoder.width);
      rows.forEach((r, i) => encoder.encode(r, x, i, now.getTime(), undefined, tally));
      for (const s of scores) tally.score(s);
      return driftReport(reference, tally.take());
    };
    const same = count(training);
    expect(same.fields.map((f) => f.psi)).toEqual([0, 0, 0]);
    expect(same.alerts).toEqual([]);

    // Contracts all yearly, a blank, an unseen value and an out-of-range tenure; paperless unchanged.
    const shifted = training.map((r, i) => ({ ...r, Contract__c: i === 0 ? '' : i === 1 ? 'Weekly' : 'Y', Tenure__c: i === 2 ? 5000 : r.Tenure__c }));
    const report = count(shifted);
    const [tenure, contract, paperless] = report.fields;
    expect(contract!.status).toBe('alert');
    expect(contract!.blankShare).toBe(0.01);
    expect(contract!.unusableShare).toBe(0.01);
    expect(tenure!.outOfRangeShare).toBe(0.01);
    expect(tenure!.status).toBe('ok');
    // The record with the out-of-range tenure is refused there, so its later fields are not counted: a
    // hundredth of a bin, far under the watch line.
    expect(paperless!.psi).toBeLessThan(0.001);
    expect(paperless!.status).toBe('ok');
    expect(report.alerts).toEqual(['Contract__c']);
  });
});
