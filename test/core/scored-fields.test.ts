/**
 * The one rule for "unchanged" (core/scored-fields.ts) at its edges: two decimals, blanks, numbers
 * that arrive as text, fields a path does not write.
 */
import { describe, expect, it } from 'vitest';
import { comparedFields, fieldsToRead, isUnchanged, sameValue } from '../../src/core/scored-fields.js';

const OUT = { score: 'S', risk: 'R', factors: 'F', modelVersion: 'V', scoredAt: 'T' };

describe('the unchanged rule', () => {
  it('when a score moves by less than half a hundredth, then it is the same value; by exactly half a hundredth or more, it is not', () => {
    expect(sameValue(0, 0.004)).toBe(true);
    expect(sameValue(0, 0.0049)).toBe(true);
    // 0.005 rounds to 0.01 in a two-decimal field: a change.
    expect(sameValue(0, 0.005)).toBe(false);
    expect(sameValue(0.005, 0)).toBe(false);
    expect(sameValue(0, -0.005)).toBe(false);
    expect(sameValue(0, -0.0049)).toBe(true);
    expect(sameValue(42.5, 42.51)).toBe(false);
    expect(sameValue(42.51, 42.5)).toBe(false);
  });

  it('when the current value is the text Salesforce stored (Bulk CSV), then it is compared as a number with the new score', () => {
    expect(sameValue('42.5', 42.5)).toBe(true);
    expect(sameValue('42.50', 42.5)).toBe(true);
    expect(sameValue('42.5', 42.52)).toBe(false);
    expect(sameValue('abc', 42.5)).toBe(false);
  });

  it('when values are text, then they are compared exactly (case and spacing count)', () => {
    expect(sameValue('High', 'High')).toBe(true);
    expect(sameValue('High', 'high')).toBe(false);
    expect(sameValue('High', 'High ')).toBe(false);
    // A number stored as text against a text next value: compared as text.
    expect(sameValue(1, '1')).toBe(true);
    expect(sameValue('1.0', '1')).toBe(false);
  });

  it('when either side is blank (null, undefined or empty), then they are the same only when both are', () => {
    for (const a of [null, undefined, '']) {
      for (const b of [null, undefined, '']) expect(sameValue(a, b)).toBe(true);
      expect(sameValue(a, 0)).toBe(false);
      expect(sameValue(a, 'x')).toBe(false);
      expect(sameValue(0, a)).toBe(false);
      expect(sameValue('x', a)).toBe(false);
    }
  });

  it('when a path does not write a field (its value is undefined), then that field does not decide', () => {
    const current = { S: 10, R: 'Low', F: 'old reasons', V: 'm1' };
    const next = { S: 10, R: 'Low', V: 'm1' } as Record<string, unknown>;
    expect(isUnchanged(['S', 'R', 'F', 'V'], (f) => current[f as keyof typeof current], (f) => next[f])).toBe(true);
    expect(isUnchanged(['S', 'R', 'F', 'V'], (f) => current[f as keyof typeof current], (f) => ({ ...next, F: 'new reasons' })[f])).toBe(false);
    // Each compared field alone can make a record changed, whichever its position.
    for (const field of ['S', 'R', 'F', 'V']) {
      const moved = { S: 11, R: 'High', F: 'other', V: 'm2' }[field];
      expect(isUnchanged(['S', 'R', 'F', 'V'], (f) => current[f as keyof typeof current], (f) => (f === field ? moved : current[f as keyof typeof current]))).toBe(false);
    }
    expect(isUnchanged([], () => 1, () => 2)).toBe(true);
  });

  it('when the fields are listed, then the timestamp is never compared and the reasons only when written', () => {
    expect(comparedFields(OUT)).toEqual(['S', 'R', 'F', 'V']);
    expect(comparedFields(OUT, true)).toEqual(['S', 'R', 'F', 'V']);
    expect(comparedFields(OUT, false)).toEqual(['S', 'R', 'V']);
  });

  it('when the fields to read are listed, then they are the inputs and the compared outputs, each once', () => {
    const spec = { features: [{ field: 'A' }, { field: 'B' }, { field: 'S' }], outputFields: OUT };
    expect(fieldsToRead(spec)).toEqual(['A', 'B', 'S', 'R', 'F', 'V']);
  });
});
