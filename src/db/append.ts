/**
 * Appends many rows to a table at once: PostgreSQL's COPY (pg-copy-streams) on a real server, one
 * INSERT … SELECT FROM unnest(…) otherwise. The embedded PostgreSQL of the demo (PGlite behind its
 * socket server) loses protocol sync on COPY, so it takes the unnest form; both are one round trip per
 * batch, never a statement per row.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent } from './pool.js';

export type Cell = string | number | Date | null;

/** One field in COPY's text format: \N for null; backslash, tab, newline and carriage return escaped. */
export function copyField(value: Cell): string {
  if (value === null) return '\\N';
  const text = value instanceof Date ? value.toISOString() : String(value);
  return text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export async function appendRows(pool: pg.Pool, table: string, columns: readonly string[], types: readonly string[], rows: ReadonlyArray<readonly Cell[]>, copy: boolean): Promise<void> {
  if (rows.length === 0) return;
  const target = `${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')})`;
  if (!copy) {
    const arrays = columns.map((_, c) => rows.map((r) => (r[c] instanceof Date ? (r[c] as Date).toISOString() : r[c])));
    await pool.query(`INSERT INTO ${target} SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`, arrays);
    return;
  }
  const client = await pool.connect();
  try {
    const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
    // One chunk per 1,000 rows keeps the strings short-lived and the socket busy.
    async function* lines() {
      let chunk = '';
      for (let i = 0; i < rows.length; i++) {
        chunk += `${rows[i]!.map(copyField).join('\t')}\n`;
        if (i % 1_000 === 999) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
    await pipeline(Readable.from(lines()), stream);
  } finally {
    client.release();
  }
}
