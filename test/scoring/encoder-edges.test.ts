/**
 * Every encoding's edge values (numbers as numbers and as text, checkbox forms, picklist case and
 * whitespace, dates), the messages a refused record gets, and the law that any record encodes to a
 * finite row of the spec's width.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEncoder, displayValue, newInputTally, summarizeTally, ValueState, type Encoder } from '../../src/scoring/encoder.js';
import { parseSpec, type SpecInput } from '../../src/scoring/spec.js';
import { tinySpec } from './helpers.js';

const NOW = Date.parse('2026-11-27T00:00:00Z');
const DAY = 86_400_000;

function encoderOf(spec: SpecInput = tinySpec()): Encoder {
  return createEncoder(parseSpec(spec));
}

function row(record: Record<string, unknown>, enc = encoderOf()) {
  const out = new Float32Array(enc.width);
  const problem = enc.encode(record, out, 0, NOW);
  return { row: [...out], problem };
}

/** One field's columns and read state, by writing the value through its group. */
function written(enc: Encoder, field: string, value: unknown, nowMs = NOW) {
  const g = enc.groups.find((x) => x.field === field)!;
  const out = new Float32Array(enc.width).fill(7);
  const state = g.write(value, out, 0, nowMs);
  return { cols: [...out.subarray(g.offset, g.offset + g.width)], state };
}

const TENURE = 'Tenure_Months__c';
const PAPERLESS = 'Paperless_Billing__c';
const CONTRACT = 'Contract_Type__c';

describe('numbers', () => {
  const enc = encoderOf();
  it('when a number arrives as a number, then it is used as is; a non-finite one is unusable', () => {
    for (const v of [0, -0.5, 3, 1e-7, 12345.25]) expect(written(enc, TENURE, v)).toEqual({ cols: [Math.fround(v)], state: ValueState.Ok });
    for (const v of [Number.NaN, Infinity, -Infinity]) expect(written(enc, TENURE, v)).toEqual({ cols: [24], state: ValueState.Unusable });
    // Past float32's range a finite double would be an infinity in the row: the record fails, as for a number out of range.
    for (const v of [3.5e38, -3.5e38, Number.MAX_VALUE, '1e39', '-1e39']) expect(written(enc, TENURE, v), String(v)).toEqual({ cols: [24], state: ValueState.OutOfRange });
    expect(written(enc, TENURE, 3.4e38).state).toBe(ValueState.Ok);
    expect(row({ Tenure_Months__c: '-1e39' }).problem).toEqual({ field: TENURE, message: 'Tenure_Months__c is -1e39, beyond the ±3.4e38 a model input can hold' });
    expect(row({ Tenure_Months__c: 1e39 }).problem).toEqual({ field: TENURE, message: 'Tenure_Months__c is 1e+39, beyond the ±3.4e38 a model input can hold' });
  });

  it('when a number arrives as text, then a plain decimal (sign, point, exponent) is read and anything else is unusable', () => {
    const ok: Array<[string, number]> = [['5', 5], ['+5', 5], ['-5', -5], ['5.', 5], ['.5', 0.5], ['5.25', 5.25], ['-0.5', -0.5], ['1e3', 1000], ['1E3', 1000], ['1e+3', 1000], ['1e-3', 0.001], ['2.5e1', 25], ['12', 12], ['  12\t', 12], ['007', 7]];
    for (const [text, value] of ok) expect(written(enc, TENURE, text), text).toEqual({ cols: [Math.fround(value)], state: ValueState.Ok });
    const bad = ['abc', '12abc', 'abc12', '1.2.3', '0x1f', '1e', 'e3', '1e3.5', '--5', '+-5', '.', '+', '1,000', '5 5', 'Infinity', 'NaN', '1_000', '١٢'];
    for (const text of bad) expect(written(enc, TENURE, text), text).toEqual({ cols: [24], state: ValueState.Unusable });
  });

  it('when a number is blank or of another type, then it is missing or unusable and imputed', () => {
    for (const v of [null, undefined, '', '   ']) expect(written(enc, TENURE, v)).toEqual({ cols: [24], state: ValueState.Missing });
    for (const v of [true, false, {}, [], new Date(NOW), Symbol('x')]) expect(written(enc, TENURE, v)).toEqual({ cols: [24], state: ValueState.Unusable });
  });

  it('when a number sits exactly on the plausible range\'s ends, then it is in range; just outside, it is not', () => {
    const spec = tinySpec();
    spec.features[1] = { ...spec.features[1]!, min: 0, max: 100 } as never;
    const bounded = encoderOf(spec);
    expect(written(bounded, TENURE, 0).state).toBe(ValueState.Ok);
    expect(written(bounded, TENURE, 100).state).toBe(ValueState.Ok);
    expect(written(bounded, TENURE, '100').state).toBe(ValueState.Ok);
    expect(written(bounded, TENURE, -0.001)).toEqual({ cols: [Math.fround(-0.001)], state: ValueState.OutOfRange });
    expect(written(bounded, TENURE, 100.001).state).toBe(ValueState.OutOfRange);
    // With only one end, the other is open.
    const lowOnly = tinySpec();
    lowOnly.features[1] = { ...lowOnly.features[1]!, min: 0 } as never;
    expect(written(encoderOf(lowOnly), TENURE, 1e30).state).toBe(ValueState.Ok);
    expect(written(encoderOf(lowOnly), TENURE, -1).state).toBe(ValueState.OutOfRange);
    const highOnly = tinySpec();
    highOnly.features[1] = { ...highOnly.features[1]!, max: 0 } as never;
    expect(written(encoderOf(highOnly), TENURE, -1e30).state).toBe(ValueState.Ok);
    expect(written(encoderOf(highOnly), TENURE, 1).state).toBe(ValueState.OutOfRange);
  });
});

describe('checkboxes', () => {
  const enc = encoderOf();
  it('when a checkbox is true in any form (boolean, number 1, "true", "yes", "1", any case and spacing), then it is 1', () => {
    for (const v of [true, 1, 'true', 'TRUE', ' True ', 'yes', 'Yes', 'YES', '1', ' 1 ']) expect(written(enc, PAPERLESS, v), String(v)).toEqual({ cols: [1], state: ValueState.Ok });
  });

  it('when a checkbox is false in any form (boolean, number 0, "false", "no", "0"), then it is 0 and read as given', () => {
    for (const v of [false, 0, 'false', 'FALSE', 'no', 'No', '0', ' 0 ']) expect(written(enc, PAPERLESS, v), String(v)).toEqual({ cols: [0], state: ValueState.Ok });
  });

  it('when a checkbox is blank, then it is missing; another number, word or type is unusable; both take the imputed value', () => {
    for (const v of [null, undefined, '', '  ']) expect(written(enc, PAPERLESS, v)).toEqual({ cols: [0], state: ValueState.Missing });
    for (const v of [2, -1, 0.5, Number.NaN, 'maybe', 'y', 't', '2', {}, []]) expect(written(enc, PAPERLESS, v), String(v)).toEqual({ cols: [0], state: ValueState.Unusable });
    const spec = tinySpec();
    spec.features[2] = { ...spec.features[2]!, impute: true } as never;
    const imputesTrue = encoderOf(spec);
    expect(written(imputesTrue, PAPERLESS, null)).toEqual({ cols: [1], state: ValueState.Missing });
    expect(written(imputesTrue, PAPERLESS, 'maybe')).toEqual({ cols: [1], state: ValueState.Unusable });
    expect(written(imputesTrue, PAPERLESS, 0)).toEqual({ cols: [0], state: ValueState.Ok });
  });
});

describe('picklists', () => {
  const enc = encoderOf();
  it('when a level arrives in another case or with spaces around it, then it is that level', () => {
    for (const v of ['Two year', 'two year', 'TWO YEAR', '  Two year\t']) expect(written(enc, CONTRACT, v), v).toEqual({ cols: [0, 1, 0], state: ValueState.Ok });
    expect(written(enc, CONTRACT, 'Month-to-month')).toEqual({ cols: [1, 0, 0], state: ValueState.Ok });
    // Inner spacing is part of the value.
    expect(written(enc, CONTRACT, 'Two  year')).toEqual({ cols: [1, 0, 1], state: ValueState.Unusable });
  });

  it('when a picklist value is blank, unseen or of another type, then the unknown column and the impute level are set', () => {
    for (const v of [null, undefined, '', ' ']) expect(written(enc, CONTRACT, v)).toEqual({ cols: [1, 0, 1], state: ValueState.Missing });
    for (const v of ['Weekly', 3, true, {}]) expect(written(enc, CONTRACT, v)).toEqual({ cols: [1, 0, 1], state: ValueState.Unusable });
  });

  it('when levels are numbers written as text, then a number value matches its level', () => {
    const spec = tinySpec({ features: [{ field: 'Seats__c', encoding: 'picklist', levels: ['1', '2'], unknownColumn: false, reference: [{ value: '1', weight: 1 }] }] });
    const numeric = encoderOf(spec);
    expect(numeric.width).toBe(2);
    expect(written(numeric, 'Seats__c', 2)).toEqual({ cols: [0, 1], state: ValueState.Ok });
    // Without an unknown column or an impute level, nothing is set.
    expect(written(numeric, 'Seats__c', 'x')).toEqual({ cols: [0, 0], state: ValueState.Unusable });
    expect(numeric.columns).toEqual(['Seats__c=1', 'Seats__c=2']);
  });

  it('when two levels differ only in case, then the exact one wins', () => {
    const spec = tinySpec({ features: [{ field: 'P__c', encoding: 'picklist', levels: ['abc', 'ABC'], reference: [{ value: 'abc', weight: 1 }] }] });
    const e = encoderOf(spec);
    expect(written(e, 'P__c', 'ABC').cols).toEqual([0, 1, 0]);
    expect(written(e, 'P__c', 'abc').cols).toEqual([1, 0, 0]);
    expect(e.columns).toEqual(['P__c=abc', 'P__c=ABC', 'P__c=(unknown)']);
  });
});

describe('dates', () => {
  const spec = tinySpec({ features: [{ field: 'Last_Order__c', encoding: 'date', impute: 30, reference: [{ value: 30, weight: 1 }] }] });
  const enc = encoderOf(spec);
  it('when a date is given as text or a Date, then it is the days before scoring; a future date is negative', () => {
    expect(written(enc, 'Last_Order__c', '2026-11-17')).toEqual({ cols: [10], state: ValueState.Ok });
    expect(written(enc, 'Last_Order__c', ' 2026-11-17 ')).toEqual({ cols: [10], state: ValueState.Ok });
    expect(written(enc, 'Last_Order__c', new Date(NOW - 2 * DAY))).toEqual({ cols: [2], state: ValueState.Ok });
    expect(written(enc, 'Last_Order__c', '2026-11-28')).toEqual({ cols: [-1], state: ValueState.Ok });
    expect(written(enc, 'Last_Order__c', '2026-11-27', NOW + DAY / 2)).toEqual({ cols: [0.5], state: ValueState.Ok });
  });

  it('when a date is blank, unparseable or of another type, then it is imputed', () => {
    for (const v of [null, undefined, '', '  ']) expect(written(enc, 'Last_Order__c', v)).toEqual({ cols: [30], state: ValueState.Missing });
    for (const v of ['not a date', new Date(Number.NaN), NOW, true]) expect(written(enc, 'Last_Order__c', v)).toEqual({ cols: [30], state: ValueState.Unusable });
  });
});

describe('whole records', () => {
  it('when rows are encoded at a row index, then only that row of the output is written', () => {
    const enc = encoderOf();
    const out = new Float32Array(enc.width * 3).fill(9);
    enc.encode({ Contract_Type__c: 'Two year', Tenure_Months__c: 5, Paperless_Billing__c: true }, out, 1, NOW);
    expect([...out]).toEqual([9, 9, 9, 9, 9, 0, 1, 0, 5, 1, 9, 9, 9, 9, 9]);
    const fromRow = new Float32Array(enc.width * 2).fill(9);
    const columnOf = enc.columnsIn(['Paperless_Billing__c', 'Id', 'Contract_Type__c']);
    expect([...columnOf]).toEqual([2, -1, 0]);
    // A field the row does not carry is missing.
    expect(enc.encodeRow(['true', '001', 'Two year'], columnOf, fromRow, 1, NOW)).toBeNull();
    expect([...fromRow]).toEqual([9, 9, 9, 9, 9, 0, 1, 0, 24, 1]);
  });

  it('when a required field of each encoding is blank or unusable, then the record fails with a message naming the field and the value', () => {
    const spec = tinySpec();
    spec.features = spec.features.map((f) => ({ ...f, required: true })) as never;
    const enc = encoderOf(spec);
    const full = { Contract_Type__c: 'Two year', Tenure_Months__c: 5, Paperless_Billing__c: true };
    expect(row(full, enc).problem).toBeNull();
    expect(row({ ...full, Contract_Type__c: '' }, enc).problem).toEqual({ field: CONTRACT, message: 'Contract_Type__c is blank and the spec marks it required' });
    expect(row({ ...full, Contract_Type__c: 'Weekly' }, enc).problem).toEqual({ field: CONTRACT, message: 'Contract_Type__c has an unusable value "Weekly"' });
    expect(row({ ...full, Paperless_Billing__c: 'maybe' }, enc).problem).toEqual({ field: PAPERLESS, message: 'Paperless_Billing__c has an unusable value "maybe"' });
    expect(row({ ...full, Tenure_Months__c: 'x'.repeat(100) }, enc).problem!.message).toBe(`Tenure_Months__c has an unusable value "${'x'.repeat(59)}`);
    expect(row({ ...full, Tenure_Months__c: Symbol('s') }, enc).problem!.message).toBe('Tenure_Months__c has an unusable value Symbol(s)');
    // The Bulk path says the same.
    const columnOf = enc.columnsIn([CONTRACT, TENURE, PAPERLESS]);
    const out = new Float32Array(enc.width);
    expect(enc.encodeRow(['Two year', '', 'true'], columnOf, out, 0, NOW)).toEqual({ field: TENURE, message: 'Tenure_Months__c is blank and the spec marks it required' });
    expect(enc.encodeRow(['Two year', '5', 'true'], columnOf, out, 0, NOW)).toBeNull();
  });

  it('when a number is out of range, then the message quotes it clipped and names the open ends', () => {
    const spec = tinySpec();
    spec.features[1] = { ...spec.features[1]!, max: 10 } as never;
    expect(row({ Tenure_Months__c: 11 }, encoderOf(spec)).problem).toEqual({ field: TENURE, message: "Tenure_Months__c is 11, outside the model's plausible range -∞ to 10" });
    const low = tinySpec();
    low.features[1] = { ...low.features[1]!, min: 10 } as never;
    expect(row({ Tenure_Months__c: `8.${'9'.repeat(40)}` }, encoderOf(low)).problem!.message).toBe(`Tenure_Months__c is 8.${'9'.repeat(28)}, outside the model's plausible range 10 to ∞`);
  });

  it('when the tally counts odd values, then only odd values of the encoded fields are counted, at the field\'s own place', () => {
    const enc = encoderOf();
    const tally = newInputTally(enc);
    expect(tally.counts).toHaveLength(12);
    const out = new Float32Array(enc.width);
    enc.encode({ Contract_Type__c: 'Two year', Tenure_Months__c: 'x', Paperless_Billing__c: true }, out, 0, NOW, tally);
    enc.encode({ Contract_Type__c: 'Two year', Tenure_Months__c: 3, Paperless_Billing__c: true }, out, 0, NOW, tally);
    expect([...tally.counts]).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(tally.records).toBe(2);
    expect(summarizeTally(enc, tally)).toEqual([{ field: TENURE, blank: 0, unusable: 1, outOfRange: 0 }]);
    // Encoding without a tally counts nothing anywhere.
    expect(() => enc.encode({}, out, 0, NOW)).not.toThrow();
    expect(enc.encodeRow([], enc.columnsIn([]), out, 0, NOW)).toBeNull();
  });

  it('when reference values are encoded, then each is its own slice and the weights are shares of their sum', () => {
    const spec = tinySpec();
    spec.features[0] = { ...spec.features[0]!, reference: [{ value: 'Two year', weight: 3 }, { value: null, weight: 1 }] } as never;
    spec.features[1] = { ...spec.features[1]!, reference: [{ value: 12, weight: 2 }] } as never;
    const enc = encoderOf(spec);
    expect(enc.groups[0]!.references.map((r) => [[...r.slice], r.weight])).toEqual([[[0, 1, 0], 0.75], [[1, 0, 1], 0.25]]);
    expect(enc.groups[1]!.references.map((r) => [[...r.slice], r.weight])).toEqual([[[12], 1]]);
    expect(enc.groups[2]!.references.map((r) => [[...r.slice], r.weight])).toEqual([[[0], 1]]);
    expect(enc.groups.map((g) => [g.offset, g.width])).toEqual([[0, 3], [3, 1], [4, 1]]);
    expect(enc.columns).toEqual(['Contract_Type__c=Month-to-month', 'Contract_Type__c=Two year', 'Contract_Type__c=(unknown)', TENURE, PAPERLESS]);
  });

  it('when a date field has a reference, then it is days ago as given', () => {
    const enc = encoderOf(tinySpec({ features: [{ field: 'D__c', encoding: 'date', impute: 30, reference: [{ value: 7, weight: 1 }] }] }));
    expect([...enc.groups[0]!.references[0]!.slice]).toEqual([7]);
  });
});

describe('values as the reasons show them', () => {
  it('when a value is shown, then it is trimmed text, a date\'s day, "(blank)" for nothing, clipped at 40 characters', () => {
    expect(displayValue(null)).toBe('(blank)');
    expect(displayValue(undefined)).toBe('(blank)');
    expect(displayValue('  ')).toBe('(blank)');
    expect(displayValue(' Two year ')).toBe('Two year');
    expect(displayValue(12.5)).toBe('12.5');
    expect(displayValue(false)).toBe('false');
    expect(displayValue(new Date('2026-11-17T13:00:00Z'))).toBe('2026-11-17');
    expect(displayValue('x'.repeat(40))).toBe('x'.repeat(40));
    expect(displayValue('x'.repeat(41))).toBe(`${'x'.repeat(39)}…`);
  });
});

describe('law: any record encodes to a finite row of the spec\'s width', () => {
  const spec = tinySpec({
    features: [
      ...tinySpec().features,
      { field: 'Last_Order__c', encoding: 'date', impute: 30, reference: [{ value: 30, weight: 1 }] },
      { field: 'Seats__c', encoding: 'picklist', levels: ['1', '2', '3'], unknownColumn: false, impute: '1', reference: [{ value: '1', weight: 1 }] },
    ],
  });
  const enc = encoderOf(spec);
  const anyValue = fc.oneof(
    fc.constantFrom(null, undefined, '', ' ', 'true', 'No', 'Two year', 'two YEAR ', '1e3', '0x1f', 'NaN', '2026-11-17', 0, 1, -0, Number.NaN, Infinity, -Infinity, Number.MAX_VALUE),
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.date({ noInvalidDate: false }),
    fc.object(),
  );
  const record = fc.record({
    Contract_Type__c: anyValue, Tenure_Months__c: anyValue, Paperless_Billing__c: anyValue, Last_Order__c: anyValue, Seats__c: anyValue,
  }, { requiredKeys: [] });

  it('holds for records of any shape and for the same values as a Bulk row', () => {
    fc.assert(
      fc.property(record, (r) => {
        const out = new Float32Array(enc.width * 2).fill(Number.NaN);
        const problem = enc.encode(r, out, 1, NOW);
        expect(enc.width).toBe(9);
        expect(out.subarray(0, enc.width).every(Number.isNaN)).toBe(true);
        if (problem === null) expect(out.subarray(enc.width).every(Number.isFinite)).toBe(true);
        const header = Object.keys(r);
        const values = header.map((h) => {
          const v = (r as Record<string, unknown>)[h];
          return typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' && !(v instanceof Date) ? '[object]' : String(v);
        });
        const fromRow = new Float32Array(enc.width).fill(Number.NaN);
        if (enc.encodeRow(values, enc.columnsIn(header), fromRow, 0, NOW) === null) expect(fromRow.every(Number.isFinite)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
