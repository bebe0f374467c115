/**
 * Salesforce record ids: 15 characters, case-sensitive, or 18 with a 3-character suffix that encodes
 * the case of the first 15 (so the id survives case-insensitive systems). Both forms name one record.
 * The suffix: for each 5-character chunk, a 5-bit number whose bit i is set when character i is an
 * upper-case letter, as a character of A–Z0–5.
 */
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export function idChecksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX[bits];
  }
  return suffix;
}

/** The 18-character form of a 15- or 18-character id (an 18-character id is returned as given). */
export function toId18(id: string): string {
  return id.length === 15 ? id + idChecksum(id) : id;
}
