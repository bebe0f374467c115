/**
 * Scores a labelled file with the scoring engine, the same code path as the worker, so the figures
 * describe what production would write to Salesforce (encoder, imputation and ORT included).
 */
import type { ScoringEngine } from '../scoring/engine.js';
import { isFailure } from '../scoring/engine.js';
import { summarizeTally, type FieldInputCounts } from '../scoring/encoder.js';
import type { LabelledData } from './dataset.js';
import { calibrationDeciles, metrics, type CalibrationBin, type Metrics } from './metrics.js';

export interface Evaluation {
  metrics: Metrics;
  calibration: CalibrationBin[];
  /** Records the engine refused (each also counted out of `metrics.n`). */
  failures: { id: string; message: string }[];
  riskCounts: Record<string, { n: number; churned: number }>;
  /** Values the engine did not use as given, per field (blank and unusable imputed, out of range refused). */
  inputQuality: FieldInputCounts[];
  /** The scores (0–100, as written) of the records scored. */
  scores: number[];
}

export async function evaluate(engine: ScoringEngine, data: LabelledData): Promise<Evaluation> {
  // Reasons do not change the score; leave them out to evaluate quickly.
  const before = engine.inputs.counts.slice();
  const results = await engine.score(data.records, { reasons: false });
  const counts = engine.inputs.counts.map((n, i) => n - before[i]!);
  const p: number[] = [];
  const scores: number[] = [];
  const y: number[] = [];
  const failures: Evaluation['failures'] = [];
  const riskCounts: Evaluation['riskCounts'] = { High: { n: 0, churned: 0 }, Medium: { n: 0, churned: 0 }, Low: { n: 0, churned: 0 } };
  results.forEach((r, i) => {
    if (isFailure(r)) {
      failures.push({ id: r.id, message: r.error.message });
      return;
    }
    // The written score has two decimals; evaluate exactly what would be written.
    p.push(r.score / 100);
    scores.push(r.score);
    y.push(data.labels[i]!);
    riskCounts[r.risk]!.n++;
    riskCounts[r.risk]!.churned += data.labels[i]!;
  });
  return { metrics: metrics(p, y), calibration: calibrationDeciles(p, y), failures, riskCounts, inputQuality: summarizeTally(engine.encoder, { counts, records: data.records.length }), scores };
}
