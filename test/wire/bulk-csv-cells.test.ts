/**
 * Bulk API 2.0 CSV cells: what is quoted, what `#N/A` stands for, and the law that a cell written and
 * read back is the same value. Also the header parse and the record reader's edge cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bulkCsvCell, CsvRecordReader, NULL_CELL, parseCsvRecords, parseCsvWithHeader } from '../../src/wire/bulk-csv.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

describe('writing a cell', () => {
  it('when a value is blank, then the cell is #N/A, which sets the field to null', () => {
    expect(NULL_CELL).toBe('#N/A');
    for (const v of [null, undefined, '']) expect(bulkCsvCell(v)).toBe('#N/A');
    // Zero and false are values, not blanks.
    expect(bulkCsvCell(0)).toBe('0');
    expect(bulkCsvCell(false)).toBe('false');
    expect(bulkCsvCell(' ')).toBe(' ');
  });

  it('when a value holds a quote, comma, line feed or carriage return, then it is quoted with quotes doubled; otherwise it is written as is', () => {
    expect(bulkCsvCell('plain')).toBe('plain');
    expect(bulkCsvCell(42.5)).toBe('42.5');
    expect(bulkCsvCell('a,b')).toBe('"a,b"');
    expect(bulkCsvCell('a\nb')).toBe('"a\nb"');
    expect(bulkCsvCell('a\rb')).toBe('"a\rb"');
    expect(bulkCsvCell('say "hi"')).toBe('"say ""hi"""');
    expect(bulkCsvCell('"')).toBe('""""');
    expect(bulkCsvCell("it's; fine")).toBe("it's; fine");
  });

  it('law: a cell written and read back is the same value, and #N/A for null', () => {
    const text = fc.string({ unit: fc.oneof(fc.constantFrom('"', ',', '\n', '\r', ' ', ';', '#', 'a', 'é', '…'), fc.string({ minLength: 1, maxLength: 1 })), minLength: 1 });
    fc.assert(
      fc.property(fc.array(fc.option(text, { nil: null }), { minLength: 1, maxLength: 6 }), (values) => {
        const line = values.map(bulkCsvCell).join(',');
        const parsed = parseCsvRecords(`"Id"\n${line}\n`);
        expect(parsed).toHaveLength(2);
        expect(parsed[1]).toEqual(values.map((v) => (v === null ? '#N/A' : v)));
      }),
      { numRuns: 400 },
    );
  });
});

describe('parsing', () => {
  it('when a CSV has a header, then rows are keyed by the trimmed column names and blank lines are skipped', () => {
    expect(parseCsvWithHeader(' Id ,Name\n001,Acme\n\n002,"B, Inc."\n')).toEqual({
      header: ['Id', 'Name'],
      rows: [{ Id: '001', Name: 'Acme' }, { Id: '002', Name: 'B, Inc.' }],
    });
    expect(parseCsvWithHeader('')).toEqual({ header: [], rows: [] });
  });

  it('when records are parsed, then semicolons and tabs are not delimiters and blank lines are skipped', () => {
    expect(parseCsvRecords('a;b,c\td\n\n"e"\n')).toEqual([['a;b', 'c\td'], ['e']]);
  });
});

describe('the record reader at its edges', () => {
  it('when the source yields empty chunks, then they are skipped', async () => {
    const reader = new CsvRecordReader(chunks('', '"a"\n', '', '"b"\n', ''));
    const first = await reader.next(1);
    expect(first && { text: new TextDecoder().decode(first.bytes), count: first.count }).toEqual({ text: '"a"\n', count: 1 });
    const second = await reader.next(1);
    expect(second && new TextDecoder().decode(second.bytes)).toBe('"b"\n');
    expect(await reader.next(1)).toBeNull();
    expect(await reader.next(1)).toBeNull();
  });

  it('when a batch ends inside a chunk, then the next batch starts right after it, across chunks', async () => {
    const reader = new CsvRecordReader(chunks('"a"\n"b"\n"c', '"\n"d"\n'));
    const texts: string[] = [];
    for (let b = await reader.next(2); b; b = await reader.next(2)) texts.push(`${b.count}:${new TextDecoder().decode(b.bytes)}`);
    expect(texts).toEqual(['2:"a"\n"b"\n', '2:"c"\n"d"\n']);
  });

  it('when a quoted value holds line feeds across chunks, then they do not end the record', async () => {
    const reader = new CsvRecordReader(chunks('"x\n', 'y"\n"z"'));
    const b = await reader.next(5);
    expect(b && [b.count, new TextDecoder().decode(b.bytes)]).toEqual([2, '"x\ny"\n"z"']);
  });

  it('when the page ends right after a line feed, then no extra record is counted', async () => {
    const reader = new CsvRecordReader(chunks('"a"\n', '"b"\n'));
    const b = await reader.next(10);
    expect(b?.count).toBe(2);
    expect(await reader.next(10)).toBeNull();
  });
});
