/**
 * Realized accuracy: how the scores Accounts had some time ago compare with what then happened (the
 * label). The system of record groups the labelled Accounts by the score they had at the horizon
 * (scores are written with two decimals, so at most 10,001 groups whatever the org's size); this
 * module turns the groups into ROC AUC, log loss, Brier score, a calibration table by score decile and
 * the High band's precision and recall. Below a minimum of labels it says so instead of a number.
 */

/** Accounts that had `score` (0–100) at the horizon: how many churned since, how many did not. */
export interface ScoreGroup {
  score: number;
  positives: number;
  negatives: number;
}

export interface CalibrationRow {
  decile: number;
  n: number;
  meanPredicted: number;
  observedRate: number;
}

export interface AccuracyReport {
  /** Labelled Accounts with a score at the horizon. */
  n: number;
  positives: number;
  negatives: number;
  /** False when there are too few labels (or only one class): no metric is given then. */
  enough: boolean;
  /** Why not, for a person. */
  reason?: string;
  auc?: number;
  logloss?: number;
  brier?: number;
  calibration?: CalibrationRow[];
  /** The High band (score ≥ `threshold`) as a churn alarm. */
  high?: { threshold: number; flagged: number; truePositives: number; precision: number | null; recall: number };
}

export interface AccuracyMinimum {
  /** Labelled Accounts needed. @defaultValue 200 */
  labels: number;
  /** Of each class (churned, not churned). @defaultValue 20 */
  perClass: number;
}

const EPS = 1e-15;
const round = (x: number) => Number(x.toFixed(6));

export function accuracyReport(groups: readonly ScoreGroup[], highThreshold: number, minimum: AccuracyMinimum = { labels: 200, perClass: 20 }): AccuracyReport {
  const sorted = [...groups].filter((g) => g.positives + g.negatives > 0).sort((a, b) => a.score - b.score);
  let positives = 0;
  let negatives = 0;
  for (const g of sorted) {
    positives += g.positives;
    negatives += g.negatives;
  }
  const n = positives + negatives;
  const base = { n, positives, negatives };
  if (n < minimum.labels || positives < minimum.perClass || negatives < minimum.perClass) {
    return { ...base, enough: false, reason: `not enough labels yet: ${n} labelled Accounts with a score at the horizon (${positives} churned, ${negatives} not); at least ${minimum.labels}, and ${minimum.perClass} of each, are needed` };
  }
  // AUC: the chance that a churned Account had the higher score (ties count half).
  let below = 0;
  let wins = 0;
  let logloss = 0;
  let brier = 0;
  let flagged = 0;
  let truePositives = 0;
  for (const g of sorted) {
    wins += g.positives * (below + g.negatives / 2);
    below += g.negatives;
    const p = Math.min(1 - EPS, Math.max(EPS, g.score / 100));
    logloss -= g.positives * Math.log(p) + g.negatives * Math.log(1 - p);
    brier += g.positives * (g.score / 100 - 1) ** 2 + g.negatives * (g.score / 100) ** 2;
    if (g.score >= highThreshold) {
      flagged += g.positives + g.negatives;
      truePositives += g.positives;
    }
  }
  return {
    ...base,
    enough: true,
    auc: round(wins / (positives * negatives)),
    logloss: round(logloss / n),
    brier: round(brier / n),
    calibration: deciles(sorted, n),
    high: { threshold: highThreshold, flagged, truePositives, precision: flagged > 0 ? round(truePositives / flagged) : null, recall: round(truePositives / positives) },
  };
}

/** Ten bins of equal count by score (a group of equal scores stays in the bin its middle falls in). */
function deciles(sorted: readonly ScoreGroup[], n: number): CalibrationRow[] {
  const bins = Array.from({ length: 10 }, (_, d) => ({ decile: d + 1, n: 0, predicted: 0, churned: 0 }));
  let seen = 0;
  for (const g of sorted) {
    const size = g.positives + g.negatives;
    const bin = bins[Math.min(9, Math.floor(((seen + size / 2) * 10) / n))]!;
    bin.n += size;
    bin.predicted += (size * g.score) / 100;
    bin.churned += g.positives;
    seen += size;
  }
  return bins.map((b) => ({ decile: b.decile, n: b.n, meanPredicted: b.n ? round(b.predicted / b.n) : 0, observedRate: b.n ? round(b.churned / b.n) : 0 }));
}
