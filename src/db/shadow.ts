/**
 * Shadow scores in PostgreSQL: what the shadow model said about the records the champion scored, and
 * how the two agree (risk-band confusion table, mean absolute score difference, share of Accounts
 * whose top reason changes).
 */
import type pg from 'pg';
import { appendCopyText, appendRows } from './append.js';

export interface ShadowRow {
  accountId: string;
  scoredAt: Date;
  path: 'realtime' | 'nightly' | 'manual';
  championVersion: string;
  shadowVersion: string;
  championScore: number;
  shadowScore: number;
  championRisk: string;
  shadowRisk: string;
  championTopReason: string | null;
  shadowTopReason: string | null;
}

/** The columns of a shadow row, in the order `appendShadowScoresFile` expects them in a COPY text line. */
export const SHADOW_COLUMNS = ['account_id', 'scored_at', 'path', 'champion_version', 'shadow_version', 'champion_score', 'shadow_score', 'champion_risk', 'shadow_risk', 'champion_top_reason', 'shadow_top_reason'] as const;
const COLUMNS = SHADOW_COLUMNS;
const TYPES = ['text', 'timestamptz', 'text', 'text', 'text', 'real', 'real', 'text', 'text', 'text', 'text'] as const;

/** Appends shadow rows from a file in COPY text format (columns as SHADOW_COLUMNS), streamed from disk. */
export function appendShadowScoresFile(pool: pg.Pool, file: string, copy: boolean): Promise<void> {
  return appendCopyText(pool, 'shadow_scores', COLUMNS, TYPES, file, copy);
}

export function appendShadowScores(pool: pg.Pool, rows: readonly ShadowRow[], copy: boolean): Promise<void> {
  return appendRows(pool, 'shadow_scores', COLUMNS, TYPES, rows.map((r) => [
    r.accountId,
    r.scoredAt,
    r.path,
    r.championVersion,
    r.shadowVersion,
    r.championScore,
    r.shadowScore,
    r.championRisk,
    r.shadowRisk,
    r.championTopReason,
    r.shadowTopReason,
  ]), copy);
}

export interface ShadowComparisonReport {
  shadowVersion: string;
  records: number;
  championVersions: string[];
  meanAbsScoreDifference: number | null;
  /** Share of records whose risk band is the same under both models. */
  bandAgreement: number | null;
  /** Share of records whose first reason differs, among those with both (the nightly run explains a sample). */
  topReasonChanged: number | null;
  /** confusion[championBand][shadowBand] = records. */
  confusion: Record<string, Record<string, number>>;
  text: string;
}

const BANDS = ['High', 'Medium', 'Low'];

export async function compareShadow(pool: pg.Pool, shadowVersion: string): Promise<ShadowComparisonReport> {
  const summary = await pool.query<{ n: string; mad: number | null; agree: number | null; changed: number | null; champions: string[] | null }>(
    `SELECT count(*) AS n,
            avg(abs(champion_score - shadow_score)) AS mad,
            avg((champion_risk = shadow_risk)::int) AS agree,
            avg((champion_top_reason IS DISTINCT FROM shadow_top_reason)::int) FILTER (WHERE champion_top_reason IS NOT NULL AND shadow_top_reason IS NOT NULL) AS changed,
            array_agg(DISTINCT champion_version) AS champions
       FROM shadow_scores WHERE shadow_version = $1`,
    [shadowVersion],
  );
  const cells = await pool.query<{ champion_risk: string; shadow_risk: string; n: string }>(
    'SELECT champion_risk, shadow_risk, count(*) AS n FROM shadow_scores WHERE shadow_version = $1 GROUP BY 1, 2',
    [shadowVersion],
  );
  const s = summary.rows[0]!;
  const records = Number(s.n);
  const confusion: Record<string, Record<string, number>> = Object.fromEntries(BANDS.map((c) => [c, Object.fromEntries(BANDS.map((b) => [b, 0]))]));
  for (const cell of cells.rows) {
    confusion[cell.champion_risk] ??= {};
    confusion[cell.champion_risk]![cell.shadow_risk] = Number(cell.n);
  }
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
  const mad = s.mad === null ? null : Number(s.mad);
  const text =
    records === 0
      ? `No shadow scores for ${shadowVersion} yet: make it the shadow (models shadow ${shadowVersion}) and let traffic or a nightly run pass.`
      : [
          `Shadow ${shadowVersion} against champion ${(s.champions ?? []).join(', ')}: ${records} record(s) scored by both.`,
          `  mean absolute score difference: ${mad === null ? '—' : mad.toFixed(2)} points`,
          `  same risk band: ${pct(s.agree === null ? null : Number(s.agree))}; top reason changed: ${pct(s.changed === null ? null : Number(s.changed))}`,
          '  risk bands (rows: champion, columns: shadow):',
          `    ${''.padEnd(8)}${BANDS.map((b) => b.padStart(9)).join('')}`,
          ...BANDS.map((c) => `    ${c.padEnd(8)}${BANDS.map((b) => String(confusion[c]?.[b] ?? 0).padStart(9)).join('')}`),
        ].join('\n');
  return {
    shadowVersion,
    records,
    championVersions: s.champions ?? [],
    meanAbsScoreDifference: mad,
    bandAgreement: s.agree === null ? null : Number(s.agree),
    topReasonChanged: s.changed === null ? null : Number(s.changed),
    confusion,
    text,
  };
}
