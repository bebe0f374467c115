import { describe, expect, it } from 'vitest';
import { createEncoder, describeTally, newInputTally, summarizeTally } from '../../src/scoring/encoder.js';
import { parseSpec } from '../../src/scoring/spec.js';
import { tinySpec } from './helpers.js';

const NOW = Date.parse('2026-11-27T00:00:00Z');

function encode(record: Record<string, unknown>, spec = tinySpec()) {
  const enc = createEncoder(parseSpec(spec));
  const out = new Float32Array(enc.width);
  const problem = enc.encode(record, out, 0, NOW);
  return { row: [...out], problem };
}

describe('encoder', () => {
  it('when a record comes from REST JSON (booleans, numbers), then it is one-hot / numeric encoded', () => {
    expect(encode({ Contract_Type__c: 'Two year', Tenure_Months__c: 5, Paperless_Billing__c: true }).row).toEqual([0, 1, 0, 5, 1]);
  });

  it('when a record comes from Bulk CSV ("true"/"false", numeric strings), then it encodes the same', () => {
    expect(encode({ Contract_Type__c: 'Two year', Tenure_Months__c: ' 5 ', Paperless_Billing__c: 'true' }).row).toEqual([0, 1, 0, 5, 1]);
    expect(encode({ Contract_Type__c: 'two YEAR', Tenure_Months__c: '5.0', Paperless_Billing__c: 'No' }).row).toEqual([0, 1, 0, 5, 0]);
    expect(encode({ Paperless_Billing__c: '1' }).row[4]).toBe(1);
    expect(encode({ Paperless_Billing__c: 0 }).row[4]).toBe(0);
    // Small numbers are values, not "missing" markers.
    expect([0, 1, 2, '1', '2'].map((v) => encode({ Tenure_Months__c: v }).row[3])).toEqual([0, 1, 2, 1, 2]);
  });

  it('when values are blank, missing or null, then the documented defaults are used and the unknown column is set', () => {
    expect(encode({}).row).toEqual([1, 0, 1, 24, 0]);
    expect(encode({ Contract_Type__c: '', Tenure_Months__c: ' ', Paperless_Billing__c: null }).row).toEqual([1, 0, 1, 24, 0]);
  });

  it('when values are wrong-typed or unseen, then they are imputed and nothing is NaN', () => {
    const { row, problem } = encode({ Contract_Type__c: 'Three year', Tenure_Months__c: '12abc', Paperless_Billing__c: 'maybe' });
    expect(row).toEqual([1, 0, 1, 24, 0]);
    expect(problem).toBeNull();
    for (const v of [Number.NaN, Infinity, true, {}, [], '0x1f']) {
      expect(encode({ Tenure_Months__c: v }).row[3]).toBe(24);
    }
    expect(encode({ Contract_Type__c: { x: 1 } }).row.slice(0, 3)).toEqual([1, 0, 1]);
  });

  it('when a picklist has no impute level, then a blank sets only the unknown column', () => {
    const spec = tinySpec();
    const features = spec.features.map((f) => (f.field === 'Contract_Type__c' ? { ...f, impute: undefined } : f)) as typeof spec.features;
    expect(encode({}, { ...spec, features }).row.slice(0, 3)).toEqual([0, 0, 1]);
  });

  it('when a required field is blank or unusable, then the record gets a problem naming the field', () => {
    const spec = tinySpec();
    const features = spec.features.map((f) => (f.field === 'Tenure_Months__c' ? { ...f, required: true } : f));
    expect(encode({ Tenure_Months__c: '' }, { ...spec, features }).problem).toEqual({ field: 'Tenure_Months__c', message: expect.stringContaining('Tenure_Months__c is blank') });
    expect(encode({ Tenure_Months__c: 'ten' }, { ...spec, features }).problem?.message).toContain('unusable value "ten"');
  });

  it('when a number is outside the spec\'s plausible range, then the record gets a problem naming the field, required or not', () => {
    const spec = tinySpec();
    const features = spec.features.map((f) => (f.field === 'Tenure_Months__c' ? { ...f, min: 0, max: 1000 } : f));
    const bounded = { ...spec, features };
    for (const value of [-1e308, -1, 1000.5, 1e6, '-5']) {
      expect(encode({ Tenure_Months__c: value }, bounded).problem).toEqual({ field: 'Tenure_Months__c', message: expect.stringMatching(/^Tenure_Months__c is .*, outside the model's plausible range 0 to 1000$/) });
    }
    for (const value of [0, 12, 1000, null, '']) expect(encode({ Tenure_Months__c: value }, bounded).problem).toBeNull();
    // The same rule on the Bulk path (rows of CSV text).
    const enc = createEncoder(parseSpec(bounded));
    const out = new Float32Array(enc.width);
    expect(enc.encodeRow(['-1e308'], enc.columnsIn(['Tenure_Months__c']), out, 0, NOW)?.field).toBe('Tenure_Months__c');
  });

  it('when a spec gives min above max, then it is refused', () => {
    const spec = tinySpec();
    const features = spec.features.map((f) => (f.field === 'Tenure_Months__c' ? { ...f, min: 10, max: 1 } : f));
    expect(() => parseSpec({ ...spec, features })).toThrow(/min must not exceed max/);
  });

  it('when a date field is given, then it becomes days before the scoring moment', () => {
    const spec = tinySpec({
      features: [{ field: 'Last_Order__c', encoding: 'date', impute: 30, reference: [{ value: 30, weight: 1 }] }],
    });
    expect(encode({ Last_Order__c: '2026-11-17' }, spec).row).toEqual([10]);
    expect(encode({ Last_Order__c: '2026-11-17T12:00:00.000+0000' }, spec).row).toEqual([9.5]);
    expect(encode({ Last_Order__c: 'not a date' }, spec).row).toEqual([30]);
  });

  it('when records carry blank, unusable, unseen and out-of-range values, then the tally counts each per field and says what happened to them', () => {
    const spec = parseSpec(tinySpec({ features: [...tinySpec().features.slice(0, 1), { field: 'Tenure_Months__c', encoding: 'number', impute: 24, reference: [{ value: 24, weight: 1 }], min: 0, max: 1000 }, tinySpec().features[2]!] }));
    const enc = createEncoder(spec);
    const tally = newInputTally(enc);
    const out = new Float32Array(enc.width);
    const records = [
      { Contract_Type__c: 'Weekly', Tenure_Months__c: 'abc', Paperless_Billing__c: 'maybe' },
      // The out-of-range tenure fails the record: the fields after it are not read, nor counted.
      { Contract_Type__c: '', Tenure_Months__c: -3, Paperless_Billing__c: 'maybe' },
      { Contract_Type__c: 'Two year', Tenure_Months__c: 5, Paperless_Billing__c: false },
      {},
    ];
    records.forEach((r) => enc.encode(r, out, 0, NOW, tally));
    expect(tally.records).toBe(4);
    expect(summarizeTally(enc, tally)).toEqual([
      { field: 'Contract_Type__c', blank: 2, unusable: 1, outOfRange: 0 },
      { field: 'Tenure_Months__c', blank: 1, unusable: 1, outOfRange: 1 },
      { field: 'Paperless_Billing__c', blank: 1, unusable: 1, outOfRange: 0 },
    ]);
    expect(describeTally(summarizeTally(enc, tally), 4)).toBe(
      'Contract_Type__c: 2 blank, 1 unusable; Tenure_Months__c: 1 blank, 1 unusable, 1 out of range; Paperless_Billing__c: 1 blank, 1 unusable (of 4 records; blank and unusable values are imputed, out-of-range ones are data errors that scoring refuses)',
    );
    // The same counts from Bulk CSV rows, and nothing counted for values used as given.
    const rowTally = newInputTally(enc);
    const header = ['Contract_Type__c', 'Tenure_Months__c', 'Paperless_Billing__c'];
    enc.encodeRow(['Weekly', 'abc', 'true'], enc.columnsIn(header), out, 0, NOW, rowTally);
    enc.encodeRow(['Two year', '5', 'false'], enc.columnsIn(header), out, 0, NOW, rowTally);
    expect(summarizeTally(enc, rowTally)).toEqual([
      { field: 'Contract_Type__c', blank: 0, unusable: 1, outOfRange: 0 },
      { field: 'Tenure_Months__c', blank: 0, unusable: 1, outOfRange: 0 },
    ]);
    expect(describeTally([], 2)).toBe("all 2 records' values were used as given");
  });
});
