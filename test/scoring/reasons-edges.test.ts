/** The reasons' arithmetic without a model: the explanation rows, the contributions, the ranking and the text. */
import { describe, expect, it } from 'vitest';
import { createEncoder } from '../../src/scoring/encoder.js';
import { buildExplainBatch, contributions, formatFactors, topFactors } from '../../src/scoring/reasons.js';
import { parseSpec } from '../../src/scoring/spec.js';
import { tinySpec } from './helpers.js';

const enc = createEncoder(parseSpec(tinySpec()));
const values = ['Two year', 12, true];

describe('ranking the factors', () => {
  it('when contributions are below 0.05 points, then they are left out; at 0.05 either way they count', () => {
    const points = Float64Array.from([0.049, -0.05, 0.05]);
    expect(topFactors(enc, (g) => values[g], points, 0, 3)).toEqual([
      { field: 'Tenure_Months__c', value: '12', points: -0 },
      { field: 'Paperless_Billing__c', value: 'true', points: 0.1 },
    ]);
  });

  it('when factors are ranked, then by size whatever the sign, ties in spec order, cut to the top n, rounded to a tenth', () => {
    const points = Float64Array.from([9, 7, 1, -2.04, 2.04, 3.26]);
    // Record 1's groups start at 3.
    expect(topFactors(enc, (g) => values[g], points, 3, 2)).toEqual([
      { field: 'Paperless_Billing__c', value: 'true', points: 3.3 },
      { field: 'Contract_Type__c', value: 'Two year', points: -2 },
    ]);
    expect(topFactors(enc, (g) => values[g], points, 3, 3).map((f) => f.field)).toEqual(['Paperless_Billing__c', 'Contract_Type__c', 'Tenure_Months__c']);
    expect(topFactors(enc, (g) => values[g], points, 0, 0)).toEqual([]);
    expect(topFactors(enc, () => null, points, 0, 1)).toEqual([{ field: 'Contract_Type__c', value: '(blank)', points: 9 }]);
  });
});

describe('the factor text', () => {
  const f = (field: string, points: number, value = 'v') => ({ field, value, points });
  it('when factors are written, then each is field=value (±points to one decimal), joined by "; "', () => {
    expect(formatFactors([f('A', 14.25), f('B', -0.3), f('C', 0)], 255)).toBe('A=v (+14.3); B=v (-0.3); C=v (+0.0)');
    expect(formatFactors([], 255)).toBe('');
  });

  it('when the text would pass the length, then it stops at the last whole factor; exactly the length fits', () => {
    const one = 'A=v (+1.0)';
    expect(one).toHaveLength(10);
    expect(formatFactors([f('A', 1), f('B', 1)], 22)).toBe('A=v (+1.0); B=v (+1.0)');
    expect(formatFactors([f('A', 1), f('B', 1)], 21)).toBe('A=v (+1.0)');
    expect(formatFactors([f('A', 1), f('B', 1), f('C', 1)], 21)).toBe('A=v (+1.0)');
  });

  it('when even the first factor is too long, then it is cut to the length with an ellipsis', () => {
    expect(formatFactors([f('A', 1, 'x'.repeat(30))], 20)).toBe(`A=${'x'.repeat(17)}…`);
    expect(formatFactors([f('A', 1)], 10)).toBe('A=v (+1.0)');
    expect(formatFactors([f('A', 1)], 9)).toBe('A=v (+1.…');
  });
});

describe('the explanation rows', () => {
  it('when a scratch array is large enough, then the rows are a view of it; when too small, a new array', () => {
    const base = new Float32Array(enc.width);
    enc.encode({ Contract_Type__c: 'Month-to-month', Tenure_Months__c: 1, Paperless_Billing__c: true }, base, 0, 0);
    const exact = new Float32Array(4 * enc.width);
    const batch = buildExplainBatch(enc, base, 1, exact);
    expect(batch.rows).toBe(4);
    expect(batch.input.buffer).toBe(exact.buffer);
    expect(batch.input).toHaveLength(4 * enc.width);
    const small = new Float32Array(4 * enc.width - 1);
    expect(buildExplainBatch(enc, base, 1, small).input.buffer).not.toBe(small.buffer);
    expect([...batch.input]).toEqual([
      1, 0, 0, 1, 1,
      0, 1, 0, 1, 1, // contract at its reference
      1, 0, 0, 24, 1, // tenure at its reference
      1, 0, 0, 1, 0, // paperless at its reference
    ]);
    expect(batch.refsPerRecord).toBe(3);
  });

  it('when records need different numbers of rows, then each record\'s rows follow each other and hold that record', () => {
    const base = new Float32Array(3 * enc.width);
    enc.encode({ Contract_Type__c: 'Two year', Tenure_Months__c: 5, Paperless_Billing__c: false }, base, 0, 0);
    enc.encode({ Contract_Type__c: 'Two year', Tenure_Months__c: 24, Paperless_Billing__c: false }, base, 1, 0);
    enc.encode({ Contract_Type__c: 'Month-to-month', Tenure_Months__c: 7, Paperless_Billing__c: true }, base, 2, 0);
    const batch = buildExplainBatch(enc, base, 3);
    expect([...batch.refRow]).toEqual([-1, 3, -1, -1, -1, -1, 4, 5, 6]);
    const rowAt = (r: number) => [...batch.input.subarray(r * enc.width, (r + 1) * enc.width)];
    expect(rowAt(3)).toEqual([0, 1, 0, 24, 0]);
    expect(rowAt(4)).toEqual([0, 1, 0, 7, 1]);
    expect(rowAt(5)).toEqual([1, 0, 0, 24, 1]);
    expect(rowAt(6)).toEqual([1, 0, 0, 7, 0]);
    expect(batch.rows).toBe(7);
  });

  it('when contributions are computed, then each is 100 × (p − the weighted p of its replacements), a skipped row counting as p', () => {
    const spec = tinySpec();
    spec.features[0] = { ...spec.features[0]!, reference: [{ value: 'Month-to-month', weight: 1 }, { value: 'Two year', weight: 3 }] } as never;
    const e = createEncoder(parseSpec(spec));
    const base = new Float32Array(e.width);
    e.encode({ Contract_Type__c: 'Month-to-month', Tenure_Months__c: 24, Paperless_Billing__c: true }, base, 0, 0);
    const batch = buildExplainBatch(e, base, 1);
    // References: contract M2M (same: skipped), contract Two year (row 1), tenure 24 (same), paperless false (row 2).
    expect([...batch.refRow]).toEqual([-1, 1, -1, 2]);
    // Two output columns per row; the positive class is column 1.
    const output = Float32Array.from([0.5, 0.6, 0.9, 0.2, 0.1, 0.5]);
    const out = new Float64Array(5).fill(-1);
    contributions(e, batch, output, 2, 1, 0, out, 1);
    expect(out[0]).toBe(-1);
    expect(out[1]).toBeCloseTo(100 * (0.6 - (0.25 * 0.6 + 0.75 * 0.2)), 4);
    expect(out[2]).toBeCloseTo(0, 6);
    expect(out[3]).toBeCloseTo(100 * (0.6 - 0.5), 4);
    expect(out[4]).toBe(-1);
  });
});
