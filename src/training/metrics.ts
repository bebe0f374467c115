/** Classification metrics for churn probabilities; labels are 0/1. */

export interface Metrics {
  auc: number;
  logloss: number;
  brier: number;
  accuracy: number;
  n: number;
}

const EPS = 1e-15;

/** ROC AUC by the rank-sum formula; tied predictions share their average rank. */
export function rocAuc(p: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = p.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && p[order[j + 1]!] === p[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[order[k]!] === 1) {
        positives++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function metrics(p: ArrayLike<number>, y: ArrayLike<number>): Metrics {
  const n = p.length;
  let ll = 0;
  let brier = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(1 - EPS, Math.max(EPS, p[i]!));
    const t = y[i]!;
    ll -= t === 1 ? Math.log(q) : Math.log(1 - q);
    brier += (p[i]! - t) ** 2;
    if ((p[i]! >= 0.5 ? 1 : 0) === t) correct++;
  }
  return { auc: rocAuc(p, y), logloss: ll / n, brier: brier / n, accuracy: correct / n, n };
}

export function meanMetrics(list: readonly Metrics[]): Metrics {
  const avg = (k: keyof Metrics) => list.reduce((s, m) => s + m[k], 0) / list.length;
  return { auc: avg('auc'), logloss: avg('logloss'), brier: avg('brier'), accuracy: avg('accuracy'), n: list.reduce((s, m) => s + m.n, 0) };
}

export interface CalibrationBin {
  decile: number;
  n: number;
  meanPredicted: number;
  observedRate: number;
}

/** Predictions sorted into ten equal-count bins: does the predicted rate match the observed one? */
export function calibrationDeciles(p: ArrayLike<number>, y: ArrayLike<number>): CalibrationBin[] {
  const n = p.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[a]! - p[b]! || a - b);
  const bins: CalibrationBin[] = [];
  for (let d = 0; d < 10; d++) {
    const from = Math.floor((d * n) / 10);
    const to = Math.floor(((d + 1) * n) / 10);
    let sp = 0;
    let sy = 0;
    for (let k = from; k < to; k++) {
      sp += p[order[k]!]!;
      sy += y[order[k]!]!;
    }
    const count = to - from;
    bins.push({ decile: d + 1, n: count, meanPredicted: count ? sp / count : 0, observedRate: count ? sy / count : 0 });
  }
  return bins;
}

/** A fixed-width text table, for summaries printed by the CLI. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(4) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: readonly (string | number)[]) => r.map((c, i) => String(c).padStart(widths[i]!)).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
