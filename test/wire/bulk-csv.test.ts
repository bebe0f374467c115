import { describe, expect, it } from 'vitest';
import { CsvRecordReader, parseCsvRecords } from '../../src/wire/bulk-csv.js';

const CSV = '"Id","Name","Churn_Top_Factors__c"\n"001A","Acme, Inc.","Contract_Type__c=Month-to-month (+14.2)"\n"001B","a ""quoted""\nname","…é"\n"001C","",""\n"001D","plain","x"\n';
const ROWS = [
  ['Id', 'Name', 'Churn_Top_Factors__c'],
  ['001A', 'Acme, Inc.', 'Contract_Type__c=Month-to-month (+14.2)'],
  ['001B', 'a "quoted"\nname', '…é'],
  ['001C', '', ''],
  ['001D', 'plain', 'x'],
];

async function* pieces(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    yield bytes.subarray(from, cut);
    from = cut;
  }
}

async function readAll(reader: CsvRecordReader, max: number) {
  const batches: { text: string; count: number }[] = [];
  for (let b = await reader.next(max); b; b = await reader.next(max)) batches.push({ text: new TextDecoder().decode(b.bytes), count: b.count });
  return batches;
}

describe('reading Bulk CSV as batches of whole records', () => {
  it('when the bytes arrive cut at any position, then every batch holds whole records and together they parse to the same rows', async () => {
    const bytes = new TextEncoder().encode(CSV);
    for (let cut = 1; cut < bytes.length; cut++) {
      for (const max of [1, 2, 3, 10]) {
        const batches = await readAll(new CsvRecordReader(pieces(bytes, [cut, Math.min(bytes.length, cut + 7)])), max);
        expect(batches.map((b) => b.text).join('')).toBe(CSV);
        expect(batches.every((b) => b.count <= max && parseCsvRecords(b.text).length === b.count)).toBe(true);
        expect(batches.flatMap((b) => parseCsvRecords(b.text))).toEqual(ROWS);
      }
    }
  });

  it('when the last record has no line feed, then it is still counted and returned', async () => {
    const bytes = new TextEncoder().encode('"Id"\n"001A"\n"001B"');
    const batches = await readAll(new CsvRecordReader(pieces(bytes, [])), 10);
    expect(batches).toEqual([{ text: '"Id"\n"001A"\n"001B"', count: 3 }]);
  });

  it('when the body is empty, then there is no batch', async () => {
    expect(await new CsvRecordReader(pieces(new Uint8Array(0), [])).next(5)).toBeNull();
  });

  it('when the text starts with a byte-order mark, then the parsed header does not carry it', () => {
    expect(parseCsvRecords(new TextEncoder().encode('\ufeff"Id","Name"\n'))).toEqual([['Id', 'Name']]);
  });
});
