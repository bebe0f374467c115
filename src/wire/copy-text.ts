/**
 * PostgreSQL's COPY text format, the rows the score history and the shadow scores are appended in
 * (src/db/append.ts sends them). Here, a leaf, so the scoring thread can write the rows of the
 * records it scores without importing the database code.
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */

export type CopyCell = string | number | Date | null;

/** One field: \N for null; backslash, tab, newline and carriage return escaped. */
export function copyField(value: CopyCell): string {
  if (value === null) return '\\N';
  const text = value instanceof Date ? value.toISOString() : String(value);
  return text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** One row, newline-terminated. */
export function copyLine(cells: readonly CopyCell[]): string {
  let line = '';
  for (let i = 0; i < cells.length; i++) line += (i ? '\t' : '') + copyField(cells[i]!);
  return `${line}\n`;
}

/** The fields of one COPY text row (the inverse of copyLine, without its newline). */
export function parseCopyLine(line: string): Array<string | null> {
  return line.split('\t').map((field) => (field === '\\N' ? null : field.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c))));
}
