/**
 * The score history in PostgreSQL: one row per score written to Salesforce, from either path, with
 * the model version that gave it. Appended in batches (COPY), read per Account, trimmed to the
 * retention by the nightly run.
 */
import type pg from 'pg';
import { appendCopyText, appendRows } from './append.js';

export type ScorePath = 'realtime' | 'nightly' | 'manual';

export interface HistoryRow {
  accountId: string;
  scoredAt: Date;
  score: number;
  risk: string;
  reasons: string | null;
  modelVersion: string;
  path: ScorePath;
  runId?: string | null;
}

/** The columns of a history row, in the order `appendScoreHistoryFile` expects them in a COPY text line. */
export const HISTORY_COLUMNS = ['account_id', 'scored_at', 'score', 'risk', 'reasons', 'model_version', 'path', 'run_id'] as const;
const COLUMNS = HISTORY_COLUMNS;
const TYPES = ['text', 'timestamptz', 'real', 'text', 'text', 'text', 'text', 'text'] as const;

export function appendScoreHistory(pool: pg.Pool, rows: readonly HistoryRow[], copy: boolean): Promise<void> {
  return appendRows(pool, 'score_history', COLUMNS, TYPES, rows.map((r) => [r.accountId, r.scoredAt, r.score, r.risk, r.reasons, r.modelVersion, r.path, r.runId ?? null]), copy);
}

/** Appends history rows from a file in COPY text format (columns as HISTORY_COLUMNS), streamed from disk. */
export function appendScoreHistoryFile(pool: pg.Pool, file: string, copy: boolean): Promise<void> {
  return appendCopyText(pool, 'score_history', COLUMNS, TYPES, file, copy);
}

/**
 * Removes a run's rows for these Accounts (records Salesforce refused after their rows were appended,
 * or a part appended and then resubmitted): one statement per 10,000 ids.
 */
export async function removeRunHistory(pool: pg.Pool, runId: string, accountIds: readonly string[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < accountIds.length; i += 10_000) {
    const { rowCount } = await pool.query('DELETE FROM score_history WHERE run_id = $1 AND account_id = ANY($2)', [runId, accountIds.slice(i, i + 10_000)]);
    removed += rowCount ?? 0;
  }
  return removed;
}

/** Newest first; `ids` are the forms one Account may be stored under (its 15- and 18-character ids). */
export async function accountHistory(pool: pg.Pool, ids: readonly string[], limit = 100): Promise<HistoryRow[]> {
  const { rows } = await pool.query<{ account_id: string; scored_at: Date; score: number; risk: string; reasons: string | null; model_version: string; path: ScorePath; run_id: string | null }>(
    'SELECT account_id, scored_at, score, risk, reasons, model_version, path, run_id FROM score_history WHERE account_id = ANY($1) ORDER BY scored_at DESC LIMIT $2',
    [ids, limit],
  );
  return rows.map((r) => ({ accountId: r.account_id, scoredAt: r.scored_at, score: r.score, risk: r.risk, reasons: r.reasons, modelVersion: r.model_version, path: r.path, runId: r.run_id }));
}

/** Deletes history older than `days` in batches (short transactions); returns the rows deleted. */
export async function trimScoreHistory(pool: pg.Pool, days: number, batch = 50_000): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM score_history WHERE ctid = ANY (ARRAY(SELECT ctid FROM score_history WHERE scored_at < now() - make_interval(days => $1) LIMIT $2))`,
      [days, batch],
    );
    total += rowCount ?? 0;
    if (!rowCount || rowCount < batch) return total;
  }
}

/** True when the server is a real PostgreSQL that takes COPY (the demo's embedded one does not). */
export async function supportsCopy(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ version: string }>('SELECT version()');
  return !/PGlite/i.test(rows[0]!.version);
}
