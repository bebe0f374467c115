/**
 * Drift reports per nightly run in PostgreSQL (table run_drift): written by the run's finish step,
 * read by the dashboard and the tests. A run reported twice (a finish step that ran again) keeps the
 * last report.
 */
import type pg from 'pg';
import type { DriftReport } from '../core/drift.js';

export interface RunDriftRow {
  runId: string;
  at: string;
  modelVersion: string;
  report: DriftReport;
}

export async function saveRunDrift(pool: pg.Pool, runId: string, modelVersion: string, report: DriftReport): Promise<void> {
  await pool.query(
    `INSERT INTO run_drift (run_id, model_version, rows_counted, psi_watch, psi_alert, alerts, report)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (run_id) DO UPDATE SET at = now(), model_version = EXCLUDED.model_version, rows_counted = EXCLUDED.rows_counted,
       psi_watch = EXCLUDED.psi_watch, psi_alert = EXCLUDED.psi_alert, alerts = EXCLUDED.alerts, report = EXCLUDED.report`,
    [runId, modelVersion, report.rows, report.thresholds.watch, report.thresholds.alert, report.alerts, JSON.stringify(report)],
  );
}

/** The newest reports first. */
export async function recentRunDrift(pool: pg.Pool, limit = 30): Promise<RunDriftRow[]> {
  const { rows } = await pool.query<{ run_id: string; at: Date; model_version: string; report: DriftReport }>('SELECT run_id, at, model_version, report FROM run_drift ORDER BY at DESC LIMIT $1', [limit]);
  return rows.map((r) => ({ runId: r.run_id, at: r.at.toISOString(), modelVersion: r.model_version, report: r.report }));
}
