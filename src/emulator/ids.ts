/**
 * Salesforce record ids: 3-character key prefix, 2-character instance, 1 reserved character and a
 * 9-character base-62 number, plus a 3-character suffix that encodes the case of the first 15
 * characters so the 18-character form can be compared case-insensitively.
 * https://help.salesforce.com/s/articleView?id=000385008 (15 vs 18 character ids)
 */

import { idSuffix } from '../core/record-id.js';

export { idSuffix };

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID_CHARS = /^[a-zA-Z0-9]+$/;

export const KEY_PREFIX = { account: '001', user: '005', org: '00D', queryLocator: '01g' } as const;

export function to18(id15: string): string {
  return id15 + idSuffix(id15);
}

export function base62(n: number, width: number): string {
  let s = '';
  let v = Math.floor(n);
  while (v > 0) {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s.padStart(width, '0');
}

export function fromBase62(s: string): number {
  let n = 0;
  for (const ch of s) {
    const d = BASE62.indexOf(ch);
    if (d < 0) return Number.NaN;
    n = n * 62 + d;
  }
  return n;
}

/** Builds an 18-character id from a key prefix, a 2-character instance code and a record number. */
export function makeId(prefix: string, instance: string, n: number): string {
  return to18(`${prefix}${instance}0${base62(n, 9)}`);
}

/**
 * The canonical 15-character form of a 15- or 18-character id, or undefined when it is not an id.
 * An 18-character id is case-insensitive: its suffix restores the case of the first 15 characters.
 */
export function canonicalId15(value: string): string | undefined {
  if ((value.length !== 15 && value.length !== 18) || !ID_CHARS.test(value)) return undefined;
  if (value.length === 15) return value;
  const suffix = value.slice(15).toUpperCase();
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = SUFFIX_CHARS.indexOf(suffix[chunk]!);
    if (bits < 0) return undefined;
    for (let i = 0; i < 5; i++) {
      const ch = value[chunk * 5 + i]!;
      out += bits & (1 << i) ? ch.toUpperCase() : ch.toLowerCase();
    }
  }
  return out;
}
