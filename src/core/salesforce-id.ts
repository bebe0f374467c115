/**
 * Salesforce ids in their two forms. The 15-character form is case-sensitive; the 18-character form
 * adds a 3-character suffix that encodes which of the first 15 characters are upper case, so it
 * survives case-insensitive handling. Salesforce shows the 15-character form in Setup (Company
 * Information) and sends the 18-character one in the API, in outbound messages and in
 * `{!$Organization.Id}`, so wherever a configured id is compared with one Salesforce sent, both
 * forms must name the same record.
 * https://help.salesforce.com/s/articleView?id=000385008 ("What are Salesforce IDs composed of?")
 */

const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID_SHAPE = /^(?:[a-zA-Z0-9]{15}|[a-zA-Z0-9]{18})$/;

/** The 3-character case-checksum suffix of a 15-character id. */
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

/** The 18-character form of a 15-character id. */
export function to18(id15: string): string {
  return id15 + idSuffix(id15);
}

/**
 * The canonical (case-correct) 15-character form of a 15- or 18-character id, or undefined when the
 * value does not have an id's shape. An 18-character id's suffix restores the case of its first 15
 * characters, so `001abc…` and `001ABC…` with the same valid suffix are the same id.
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

/**
 * Whether an 18-character id's suffix is the checksum of its first 15 characters as written (an id
 * copied with its case intact). A 15-character id has no checksum and passes.
 */
export function hasValidChecksum(id: string): boolean {
  if (id.length === 15) return /^[a-zA-Z0-9]{15}$/.test(id);
  return /^[a-zA-Z0-9]{18}$/.test(id) && idSuffix(id.slice(0, 15)) === id.slice(15);
}

/** Whether two ids, each in its 15- or 18-character form, name the same record. */
export function sameId(a: string, b: string): boolean {
  const x = canonicalId15(a);
  return x !== undefined && x === canonicalId15(b);
}
