/**
 * Nightly run records and the permanent-failure log in PostgreSQL, beside the Redis copies the
 * running job needs: the record of every run (upserted at each change of state, so the last 30 stay
 * listable after Redis forgets them) and every record that failed for good, with the run it failed in.
 */
import type pg from 'pg';
import { appendRows } from './append.js';

export interface RunRow {
  id: string;
  trigger: string;
  state: string;
  where?: string;
  modelVersion?: string;
  startedAt?: string;
  endedAt?: string;
  total?: number;
  counts: Readonly<Record<string, number>>;
  apiCalls: number;
  message?: string;
}

export async function saveRun(pool: pg.Pool, run: RunRow): Promise<void> {
  await pool.query(
    `INSERT INTO runs (id, trigger, state, where_clause, model_version, started_at, finished_at, total, counts, api_calls, message, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
     ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, where_clause = EXCLUDED.where_clause, model_version = EXCLUDED.model_version,
       started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, total = EXCLUDED.total, counts = EXCLUDED.counts,
       api_calls = EXCLUDED.api_calls, message = EXCLUDED.message, updated_at = now()`,
    [run.id, run.trigger, run.state, run.where ?? null, run.modelVersion ?? null, run.startedAt ?? null, run.endedAt ?? null, run.total ?? null, JSON.stringify(run.counts), run.apiCalls, run.message || null],
  );
}

/** The newest runs first (started, or else last changed). */
export async function recentRuns(pool: pg.Pool, limit = 30): Promise<RunRow[]> {
  const { rows } = await pool.query<{ id: string; trigger: string; state: string; where_clause: string | null; model_version: string | null; started_at: Date | null; finished_at: Date | null; total: string | null; counts: Record<string, number>; api_calls: number; message: string | null }>(
    'SELECT * FROM runs ORDER BY coalesce(started_at, updated_at) DESC LIMIT $1',
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    trigger: r.trigger,
    state: r.state,
    where: r.where_clause ?? undefined,
    modelVersion: r.model_version ?? undefined,
    startedAt: r.started_at?.toISOString(),
    endedAt: r.finished_at?.toISOString(),
    total: r.total === null ? undefined : Number(r.total),
    counts: r.counts,
    apiCalls: r.api_calls,
    message: r.message ?? undefined,
  }));
}

export interface FailureRow {
  id: string;
  code: string;
  message: string;
}

export function appendFailures(pool: pg.Pool, failures: readonly FailureRow[], context: { path: string; runId?: string; at?: Date }, copy: boolean): Promise<void> {
  const at = context.at ?? new Date();
  return appendRows(pool, 'failures', ['at', 'account_id', 'code', 'message', 'path', 'run_id'], ['timestamptz', 'text', 'text', 'text', 'text', 'text'], failures.map((f) => [at, f.id, f.code, f.message, context.path, context.runId ?? null]), copy);
}
