/**
 * Salesforce record ids, checked where they enter: 15 characters (case-sensitive) or 18, where the
 * last three encode the case of the first fifteen so the id survives case-insensitive tools. Each
 * suffix character is five bits, one per character of a five-character chunk, set when that
 * character is an upper-case letter, and indexes "A…Z0…5" (SOAP API Developer Guide, "ID Field
 * Type"; help.salesforce.com article 000385008 on 15- and 18-character ids).
 *
 * An 18-character id whose suffix does not match its first fifteen characters was not produced by
 * Salesforce: a SOQL filter on it fails with INVALID_QUERY_FILTER_OPERATOR ("invalid ID field"), so it
 * is refused here, before it can cost an API call or sink a batch.
 */

const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID_SHAPE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** Key prefixes this project meets. */
export const KEY_PREFIXES = Object.freeze({ account: '001', organization: '00D', notification: '04l' } as const);

/** The three-character case suffix of a 15-character id. */
export function idSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_CHARS[bits];
  }
  return suffix;
}

/**
 * True for a 15-character id and for an 18-character id whose suffix matches its first fifteen
 * characters (the suffix itself compared case-insensitively, as Salesforce does).
 */
export function isRecordId(value: unknown): value is string {
  if (typeof value !== 'string' || !ID_SHAPE.test(value)) return false;
  if (value.length === 15) return true;
  return value.slice(15).toUpperCase() === idSuffix(value.slice(0, 15));
}

/** The 18-character form of a valid id (15-character ids get their suffix); undefined when invalid. */
export function toId18(value: unknown): string | undefined {
  if (!isRecordId(value)) return undefined;
  return value.length === 18 ? value.slice(0, 15) + value.slice(15).toUpperCase() : value + idSuffix(value);
}

/** True when `value` is a valid id whose key prefix is `prefix` (e.g. `001` for Account). */
export function hasKeyPrefix(value: unknown, prefix: string): value is string {
  return isRecordId(value) && value.startsWith(prefix);
}

/** Why `value` is not a valid id, in one sentence (for faults and failure records); the value is clipped. */
export function describeBadId(value: string): string {
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (!ID_SHAPE.test(value)) return `${shown} is not a Salesforce record id (15 or 18 letters and digits)`;
  return `${shown} is not a Salesforce record id: its last three characters are not the case checksum of the first fifteen (expected ${idSuffix(value.slice(0, 15))})`;
}

/** The 18-character form of a 15-character id. */
export function to18(id15: string): string {
  return id15 + idSuffix(id15);
}

/**
 * The canonical (case-correct) 15-character form of a 15- or 18-character id, or undefined when the
 * value does not have an id's shape. An 18-character id's suffix restores the case of its first 15
 * characters, so `001abc…` and `001ABC…` with the same valid suffix are the same id. Salesforce shows
 * the 15-character form in Setup (Company Information) and sends the 18-character one in the API, in
 * outbound messages and in `{!$Organization.Id}`: a configured id compared with one Salesforce sent
 * goes through here.
 */
export function canonicalId15(value: string): string | undefined {
  if (!ID_SHAPE.test(value)) return undefined;
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

/** Whether two ids, each in its 15- or 18-character form, name the same record. */
export function sameId(a: string, b: string): boolean {
  const x = canonicalId15(a);
  return x !== undefined && x === canonicalId15(b);
}
