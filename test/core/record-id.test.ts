/**
 * Salesforce record ids (core/record-id.ts): the case checksum, the 15/18-character forms, and the
 * law that an 18-character id and its 15-character prefix name the same record.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalId15, describeBadId, hasKeyPrefix, idSuffix, isRecordId, KEY_PREFIXES, sameId, to18, toId18 } from '../../src/core/record-id.js';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const id15 = fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 15, maxLength: 15 });

describe('record ids', () => {
  it('when the suffix is computed, then each character has one bit per upper-case letter of its five', () => {
    expect(idSuffix('000000000000000')).toBe('AAA');
    expect(idSuffix('aaaaazzzzz00000')).toBe('AAA');
    expect(idSuffix('A0000000000000Z')).toBe('BAQ');
    expect(idSuffix('0000A0000000000')).toBe('QAA');
    expect(idSuffix('ZZZZZZZZZZZZZZZ')).toBe('555');
    // Letters just outside A–Z ('@' is 64, '[' is 91) are not upper-case letters.
    expect(idSuffix('@[@[@@[@[@@[@[@')).toBe('AAA');
    expect(idSuffix('AZAZAZAZAZAZAZA')).toBe('555');
    expect(to18('001Ri00000m5tYv')).toBe(`001Ri00000m5tYv${idSuffix('001Ri00000m5tYv')}`);
    expect(idSuffix('001Ri00000m5tYv')).toBe('IAI');
  });

  it('when a value is checked, then 15 characters pass, 18 pass only with the matching suffix (any case), anything else fails', () => {
    expect(isRecordId('001Ri00000m5tYv')).toBe(true);
    expect(isRecordId('001Ri00000m5tYvIAI')).toBe(true);
    expect(isRecordId('001Ri00000m5tYviai')).toBe(true);
    expect(isRecordId('001Ri00000m5tYvAAA')).toBe(false);
    for (const bad of ['', '001Ri00000m5tY', '001Ri00000m5tYvI', '001Ri00000m5tYvIA', '001Ri00000m5tYvIAIX', '001Ri00000m5tY-', ' 001Ri00000m5tYv', '001Ri00000m5tYv ', 'x001Ri00000m5tYv', 15, null, undefined, {}]) {
      expect(isRecordId(bad), String(bad)).toBe(false);
    }
  });

  it('when the 18-character form is asked for, then a 15-character id gets its suffix, an 18 gets its suffix upper-cased, an invalid one nothing', () => {
    expect(toId18('001Ri00000m5tYv')).toBe('001Ri00000m5tYvIAI');
    expect(toId18('001Ri00000m5tYviai')).toBe('001Ri00000m5tYvIAI');
    expect(toId18('001Ri00000m5tYvAAA')).toBeUndefined();
    expect(toId18(42)).toBeUndefined();
  });

  it('when a key prefix is checked, then the id must be valid and start with it', () => {
    expect(hasKeyPrefix('001Ri00000m5tYv', KEY_PREFIXES.account)).toBe(true);
    expect(hasKeyPrefix('003Ri00000m5tYv', KEY_PREFIXES.account)).toBe(false);
    expect(hasKeyPrefix('001Ri00000m5tYvAAA', '001')).toBe(false);
    expect(KEY_PREFIXES).toEqual({ account: '001', organization: '00D', notification: '04l' });
  });

  it('when an id is refused, then the sentence says why, quoting a clipped value', () => {
    expect(describeBadId('abc')).toBe('"abc" is not a Salesforce record id (15 or 18 letters and digits)');
    expect(describeBadId('001Ri00000m5tYvAAA')).toBe('"001Ri00000m5tYvAAA" is not a Salesforce record id: its last three characters are not the case checksum of the first fifteen (expected IAI)');
    expect(describeBadId('x'.repeat(40))).toBe(`"${'x'.repeat(40)}" is not a Salesforce record id (15 or 18 letters and digits)`);
    expect(describeBadId('x'.repeat(41))).toBe(`"${'x'.repeat(40)}…" is not a Salesforce record id (15 or 18 letters and digits)`);
  });

  it('when ids are canonicalised, then the 18-character suffix restores the case of the first fifteen', () => {
    expect(canonicalId15('001Ri00000m5tYv')).toBe('001Ri00000m5tYv');
    expect(canonicalId15('001RI00000M5TYVIAI')).toBe('001Ri00000m5tYv');
    expect(canonicalId15('001ri00000m5tyviai')).toBe('001Ri00000m5tYv');
    expect(canonicalId15('001Ri00000m5tYv999')).toBeUndefined();
    expect(canonicalId15('001Ri00000m5tYv-')).toBeUndefined();
    expect(canonicalId15('')).toBeUndefined();
    expect(sameId('00D5g000001AbCd', to18('00D5g000001AbCd').toUpperCase())).toBe(true);
    expect(to18('00D5g000001AbCd')).toBe('00D5g000001AbCdEAK');
    expect(sameId('00D5g000001AbCd', '00D5g000001AbCe')).toBe(false);
    expect(sameId('not an id', 'not an id')).toBe(false);
  });

  it('law: an 18-character id and its 15-character prefix name the same record, in any letter case of the 18', () => {
    fc.assert(
      fc.property(id15, fc.boolean(), (id, upper) => {
        const long = to18(id);
        expect(long).toHaveLength(18);
        expect(isRecordId(long)).toBe(true);
        expect(toId18(id)).toBe(long);
        expect(toId18(long)).toBe(long);
        expect(sameId(long, id)).toBe(true);
        expect(sameId(id, long)).toBe(true);
        const recased = upper ? long.toUpperCase() : long.toLowerCase();
        expect(canonicalId15(recased)).toBe(id);
        expect(sameId(recased, id)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('law: two different 15-character ids never name the same record', () => {
    fc.assert(
      fc.property(id15, id15, (a, b) => {
        fc.pre(a !== b);
        expect(sameId(a, b)).toBe(false);
        expect(sameId(to18(a), to18(b))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
