/**
 * Appends many rows to a table at once: PostgreSQL's COPY (pg-copy-streams) on a real server, one
 * INSERT … SELECT FROM unnest(…) per batch otherwise. The embedded PostgreSQL of the demo (PGlite behind
 * its socket server) loses protocol sync on COPY, so it takes the unnest form; both are one round trip
 * per batch, never a statement per row. Rows come as values (`appendRows`) or already in COPY's text
 * format (`appendCopyText`: a file the nightly run's scoring thread wrote, streamed from disk).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyLine, parseCopyLine, type CopyCell } from '../wire/copy-text.js';
import { quoteIdent } from './pool.js';

export type Cell = CopyCell;

/** Rows per INSERT … unnest when COPY is not available. */
const INSERT_BATCH = 5_000;

function target(table: string, columns: readonly string[]): string {
  return `${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')})`;
}

async function insertBatch(pool: pg.Pool, table: string, columns: readonly string[], types: readonly string[], rows: ReadonlyArray<readonly Cell[]>): Promise<void> {
  const arrays = columns.map((_, c) => rows.map((r) => (r[c] instanceof Date ? (r[c] as Date).toISOString() : r[c])));
  await pool.query(`INSERT INTO ${target(table, columns)} SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`, arrays);
}

async function copyIn(pool: pg.Pool, table: string, columns: readonly string[], source: Readable): Promise<void> {
  const client = await pool.connect();
  try {
    await pipeline(source, client.query(copyFrom(`COPY ${target(table, columns)} FROM STDIN`)));
  } finally {
    client.release();
  }
}

export async function appendRows(pool: pg.Pool, table: string, columns: readonly string[], types: readonly string[], rows: ReadonlyArray<readonly Cell[]>, copy: boolean): Promise<void> {
  if (rows.length === 0) return;
  if (!copy) {
    for (let i = 0; i < rows.length; i += INSERT_BATCH) await insertBatch(pool, table, columns, types, rows.slice(i, i + INSERT_BATCH));
    return;
  }
  // One chunk per 1,000 rows keeps the strings short-lived and the socket busy.
  async function* lines() {
    let chunk = '';
    for (let i = 0; i < rows.length; i++) {
      chunk += copyLine(rows[i]!);
      if (i % 1_000 === 999) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await copyIn(pool, table, columns, Readable.from(lines()));
}

/** Appends a file of rows in COPY text format (as wire/copy-text.ts writes them), streamed from disk. */
export async function appendCopyText(pool: pg.Pool, table: string, columns: readonly string[], types: readonly string[], file: string, copy: boolean): Promise<void> {
  if (copy) {
    await copyIn(pool, table, columns, createReadStream(file, { highWaterMark: 1 << 20 }));
    return;
  }
  let batch: Array<Array<string | null>> = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    batch.push(parseCopyLine(line));
    if (batch.length >= INSERT_BATCH) {
      await insertBatch(pool, table, columns, types, batch);
      batch = [];
    }
  }
  if (batch.length > 0) await insertBatch(pool, table, columns, types, batch);
}
