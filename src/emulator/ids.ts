/**
 * Salesforce record ids: 3-character key prefix, 2-character instance, 1 reserved character and a
 * 9-character base-62 number, plus a 3-character suffix that encodes the case of the first 15
 * characters so the 18-character form can be compared case-insensitively (the suffix arithmetic is
 * core's, shared with the production code that compares org ids).
 * https://help.salesforce.com/s/articleView?id=000385008 (15 vs 18 character ids)
 */
import { canonicalId15, idSuffix, to18 } from '../core/record-id.js';

export { canonicalId15, idSuffix, to18 };

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const KEY_PREFIX = { account: '001', user: '005', org: '00D', queryLocator: '01g' } as const;

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
