/**
 * Drift statistics: how far the values a run scored have moved from the values the model was trained
 * on. The training reference is fixed when the model is trained and travels with it (the feature
 * spec's `monitoring` part): quantile bins for numbers and dates, the levels for picklists and
 * checkboxes, and for every field two more bins, "unusable" (an unseen picklist value, a number that
 * does not parse) and "blank". A run counts its rows into the same bins; this module turns the counts
 * into the population stability index (PSI), the Jensen–Shannon distance and the shares of blank,
 * unusable and out-of-range values, and says per field whether it is fine, to watch or an alert.
 *
 * Pure arithmetic on arrays: the counting sits beside the encoder (scoring/drift.ts), the storage at
 * the edges.
 */

/** A number or date field: `edges` cut the values into `edges.length + 1` bins (bin i holds edges[i-1] <= v < edges[i]). */
export interface NumericReference {
  field: string;
  kind: 'numeric';
  edges: number[];
  /** Smallest and largest value training saw: a value outside is out of range. */
  min: number;
  max: number;
  /** Training shares of the value bins, then "unusable", then "blank" (sum 1). */
  shares: number[];
}

/** A picklist or checkbox field: one bin per level (checkbox: "false", "true"). */
export interface LevelsReference {
  field: string;
  kind: 'levels';
  levels: string[];
  /** Training shares of the levels, then "unusable" (unseen), then "blank" (sum 1). */
  shares: number[];
}

export type FieldReference = NumericReference | LevelsReference;

/** The score (0–100) in quantile bins of the training scores. */
export interface ScoreReference {
  edges: number[];
  shares: number[];
}

export interface TrainingReference {
  /** Training rows the reference was measured on. */
  rows: number;
  fields: FieldReference[];
  score: ScoreReference;
}

/** Bins of a field: its value bins, then unusable, then blank. */
export function binCount(ref: FieldReference): number {
  return (ref.kind === 'numeric' ? ref.edges.length + 1 : ref.levels.length) + 2;
}

/** Index of the "unusable" bin; "blank" is the next one. */
export function unusableBin(ref: FieldReference): number {
  return binCount(ref) - 2;
}

/** The bin of `value` among `edges` (ascending): how many edges are <= value. */
export function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Cut points that split the values into about `bins` bins of equal count. Repeated values cannot be
 * split (a tenure of 1 month may be a tenth of all customers), so cut points that coincide are merged
 * and the bins are fewer.
 */
export function quantileEdges(values: readonly number[], bins = 10): number[] {
  if (values.length === 0) return [];
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  for (let q = 1; q < bins; q++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((q * sorted.length) / bins))]!;
    // The edge opens the bin that starts at v: it must lie above the smallest value and above the last edge.
    if (v > sorted[0]! && (edges.length === 0 || v > edges[edges.length - 1]!)) edges.push(v);
  }
  return edges;
}

/** Counts divided by their sum (all zeros when the sum is zero). */
export function toShares(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
}

/**
 * Population stability index: Σ (actual − expected) · ln(actual / expected). A bin empty on one side
 * would make it infinite, so both shares are floored at `floor` (the usual practice; 1e-4 keeps an
 * empty "unusable" bin in training from turning a handful of odd values into an alert by itself).
 */
export function psi(expected: readonly number[], actual: readonly number[], floor = 1e-4): number {
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(floor, expected[i]!);
    const a = Math.max(floor, actual[i] ?? 0);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Jensen–Shannon distance (the square root of the divergence, base 2): 0 identical, 1 disjoint. */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]!;
    const b = q[i] ?? 0;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log2(b / m);
  }
  return Math.sqrt(Math.max(0, divergence));
}

/** What a run (or a window of the real-time path) counted, bin for bin against a reference. */
export interface DriftCounts {
  /** Rows counted. */
  rows: number;
  /** Per reference field, its bins' counts (value bins, unusable, blank). */
  fields: number[][];
  /** Per reference field, values outside the range training saw (numbers and dates). */
  outOfRange: number[];
  /** The scores' bins. */
  score: number[];
}

export function emptyCounts(ref: TrainingReference): DriftCounts {
  return {
    rows: 0,
    fields: ref.fields.map((f) => new Array<number>(binCount(f)).fill(0)),
    outOfRange: ref.fields.map(() => 0),
    score: new Array<number>(ref.score.edges.length + 1).fill(0),
  };
}

/** Adds `b` into `a` (same reference); answers `a`. */
export function addCounts(a: DriftCounts, b: DriftCounts): DriftCounts {
  a.rows += b.rows;
  b.fields.forEach((bins, f) => bins.forEach((n, i) => (a.fields[f]![i]! += n)));
  b.outOfRange.forEach((n, f) => (a.outOfRange[f]! += n));
  b.score.forEach((n, i) => (a.score[i]! += n));
  return a;
}

/** Whether two count sets can be added: the same bins for the same fields. */
export function sameShape(a: DriftCounts, b: DriftCounts): boolean {
  return a.fields.length === b.fields.length && a.score.length === b.score.length && a.fields.every((bins, f) => bins.length === b.fields[f]!.length);
}

export interface DriftThresholds {
  /** PSI at or above which a field is to be watched. @defaultValue 0.1 */
  watch: number;
  /** PSI at or above which a field is an alert. @defaultValue 0.2 */
  alert: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = { watch: 0.1, alert: 0.2 };

export type DriftStatus = 'ok' | 'watch' | 'alert';

export interface FieldDrift {
  /** The field's API name, or `score` for the score. */
  field: string;
  psi: number;
  jsDistance: number;
  blankShare: number;
  unusableShare: number;
  outOfRangeShare: number;
  status: DriftStatus;
  /** Shares of the bins this time and in training, for charts. */
  shares: number[];
  reference: number[];
}

export interface DriftReport {
  rows: number;
  thresholds: DriftThresholds;
  fields: FieldDrift[];
  score: FieldDrift;
  /** Fields (and `score`) at or above the alert line. */
  alerts: string[];
}

export function statusOf(value: number, t: DriftThresholds): DriftStatus {
  return value >= t.alert ? 'alert' : value >= t.watch ? 'watch' : 'ok';
}

const round = (x: number) => Number(x.toFixed(6));

function fieldDrift(field: string, expected: readonly number[], counts: readonly number[], rows: number, extra: { blank: number; unusable: number; outOfRange: number }, t: DriftThresholds): FieldDrift {
  const actual = toShares(counts);
  const value = psi(expected, actual);
  const share = (n: number) => (rows > 0 ? round(n / rows) : 0);
  return {
    field,
    psi: round(value),
    jsDistance: round(jsDistance(expected, actual)),
    blankShare: share(extra.blank),
    unusableShare: share(extra.unusable),
    outOfRangeShare: share(extra.outOfRange),
    status: statusOf(value, t),
    shares: actual.map(round),
    reference: expected.map(round),
  };
}

/** The run's drift against the reference, per field and for the score. */
export function driftReport(ref: TrainingReference, counts: DriftCounts, thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS): DriftReport {
  const fields = ref.fields.map((f, k) => {
    const bins = counts.fields[k]!;
    const u = unusableBin(f);
    return fieldDrift(f.field, f.shares, bins, counts.rows, { unusable: bins[u]!, blank: bins[u + 1]!, outOfRange: counts.outOfRange[k]! }, thresholds);
  });
  const scored = counts.score.reduce((s, n) => s + n, 0);
  const score = fieldDrift('score', ref.score.shares, counts.score, scored, { blank: 0, unusable: 0, outOfRange: 0 }, thresholds);
  const alerts = [...fields, score].filter((f) => f.status === 'alert').map((f) => f.field);
  return { rows: counts.rows, thresholds, fields, score, alerts };
}
