/**
 * Realized accuracy in PostgreSQL. Each nightly run appends the labels it read (run_labels, COPY);
 * its finish step folds them into account_labels (remembering when each label last changed), groups
 * the labelled Accounts by the score they had at the horizon (score_history), and stores the report.
 *
 * Who counts, for a run at time t with horizon H and window W:
 * - churned: Accounts whose label turned true within (t − W, t], with the last score they had at or
 *   before (the moment it turned) − H;
 * - not churned: Accounts whose label is false, with the last score they had at or before t − H.
 * An Account first seen already churned is left out (when it churned is not known), as is one with no
 * score old enough.
 */
import type pg from 'pg';
import { accuracyReport, type AccuracyMinimum, type AccuracyReport, type ScoreGroup } from '../core/accuracy.js';
import { appendCopyText } from './append.js';

export function appendLabelsFile(pool: pg.Pool, file: string, copy: boolean): Promise<void> {
  return appendCopyText(pool, 'run_labels', ['run_id', 'account_id', 'churned'], ['text', 'text', 'boolean'], file, copy);
}

export interface AccuracySettings {
  labelField: string;
  horizonDays: number;
  windowDays: number;
  minimum: AccuracyMinimum;
  /** The High band's lower score. */
  highThreshold: number;
}

/** Folds the run's labels into account_labels and empties its staging rows. */
export async function foldRunLabels(pool: pg.Pool, runId: string, at: Date): Promise<number> {
  const { rowCount } = await pool.query(
    `INSERT INTO account_labels AS a (account_id, churned, changed_at, seen_at)
     SELECT DISTINCT ON (account_id) account_id, churned, CASE WHEN churned THEN NULL::timestamptz ELSE $2::timestamptz END, $2::timestamptz
       FROM run_labels WHERE run_id = $1 ORDER BY account_id
     ON CONFLICT (account_id) DO UPDATE SET
       changed_at = CASE WHEN a.churned IS DISTINCT FROM EXCLUDED.churned THEN EXCLUDED.seen_at ELSE a.changed_at END,
       churned = EXCLUDED.churned, seen_at = EXCLUDED.seen_at`,
    [runId, at],
  );
  await pool.query('DELETE FROM run_labels WHERE run_id = $1', [runId]);
  return rowCount ?? 0;
}

/** The labelled Accounts grouped by the score they had at the horizon. */
export async function scoreGroups(pool: pg.Pool, at: Date, horizonDays: number, windowDays: number): Promise<ScoreGroup[]> {
  const { rows } = await pool.query<{ score: number; positives: string; negatives: string }>(
    `WITH labelled AS (
       SELECT account_id, churned, CASE WHEN churned THEN changed_at ELSE $1::timestamptz END AS at
         FROM account_labels
        WHERE (churned AND changed_at IS NOT NULL AND changed_at > $1::timestamptz - make_interval(days => $3) AND changed_at <= $1::timestamptz) OR NOT churned
     ), scored AS (
       SELECT l.churned,
              (SELECT h.score FROM score_history h WHERE h.account_id = l.account_id AND h.scored_at <= l.at - make_interval(days => $2)
                ORDER BY h.scored_at DESC LIMIT 1) AS score
         FROM labelled l
     )
     SELECT round(score::numeric, 2)::float8 AS score, count(*) FILTER (WHERE churned) AS positives, count(*) FILTER (WHERE NOT churned) AS negatives
       FROM scored WHERE score IS NOT NULL GROUP BY 1`,
    [at, horizonDays, windowDays],
  );
  return rows.map((r) => ({ score: r.score, positives: Number(r.positives), negatives: Number(r.negatives) }));
}

/** The run's realized accuracy: labels folded in, groups read, report computed and stored. */
export async function evaluateRun(pool: pg.Pool, runId: string, at: Date, s: AccuracySettings): Promise<AccuracyReport> {
  await foldRunLabels(pool, runId, at);
  const report = accuracyReport(await scoreGroups(pool, at, s.horizonDays, s.windowDays), s.highThreshold, s.minimum);
  await pool.query(
    `INSERT INTO run_accuracy (run_id, label_field, horizon_days, window_days, enough, report) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (run_id) DO UPDATE SET at = now(), label_field = EXCLUDED.label_field, horizon_days = EXCLUDED.horizon_days,
       window_days = EXCLUDED.window_days, enough = EXCLUDED.enough, report = EXCLUDED.report`,
    [runId, s.labelField, s.horizonDays, s.windowDays, report.enough, JSON.stringify(report)],
  );
  return report;
}

export interface RunAccuracyRow {
  runId: string;
  at: string;
  horizonDays: number;
  windowDays: number;
  report: AccuracyReport;
}

export async function recentRunAccuracy(pool: pg.Pool, limit = 30): Promise<RunAccuracyRow[]> {
  const { rows } = await pool.query<{ run_id: string; at: Date; horizon_days: number; window_days: number; report: AccuracyReport }>('SELECT run_id, at, horizon_days, window_days, report FROM run_accuracy ORDER BY at DESC LIMIT $1', [limit]);
  return rows.map((r) => ({ runId: r.run_id, at: r.at.toISOString(), horizonDays: r.horizon_days, windowDays: r.window_days, report: r.report }));
}
