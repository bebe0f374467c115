/**
 * Reasons: which fields moved a record's score, in score points.
 *
 * Method (model-agnostic, needs nothing but the model's output): for each input group g (all the
 * columns of one field, e.g. the four one-hot columns of Payment_Method__c) and each of the spec's
 * reference values r for that field (weights w_r summing to 1), score a copy of the record's row with
 * group g replaced by r. The contribution of g is
 *
 *     c_g = 100 · ( p(x) − Σ_r w_r · p(x with g := r) )
 *
 * i.e. how much higher the score is than if this field held its reference value, all else equal. With
 * the trainer's specs the references of a picklist or checkbox are its levels weighted by training
 * frequency, so c_g compares with "the average customer" (a mode-only reference would give the most
 * common value, such as Month-to-month, a contribution of zero however much it drives churn); numbers
 * use their training median.
 *
 * Cost: every record needs 1 + Σ_g |refs_g| rows, minus the rows whose replacement equals the record's
 * own value (skipped, since they score p(x)). All rows of a chunk go through ONE ORT run. With the
 * shipped spec that is at most 47 and typically about 31 rows per record, so explaining costs about
 * 30× scoring alone in model time, plus copying rows in JS (about 45 floats per row).
 */
import type { Encoder } from './encoder.js';
import { displayValue } from './encoder.js';

export interface Factor {
  field: string;
  /** The record's value as shown in the text ("(blank)" for nothing). */
  value: string;
  /** Contribution in score points (0-100 scale), signed. */
  points: number;
}

export interface ExplainBatch {
  /** Rows 0..n-1 are the records themselves; the rest are the replaced copies. */
  input: Float32Array;
  rows: number;
  /** For record i and reference k (flattened over groups): the row that holds it, or -1 for "same as row i". */
  refRow: Int32Array;
  refsPerRecord: number;
}

/**
 * Builds the rows for one ORT run that scores `n` encoded records and all their replacements.
 * `scratch` is reused for the rows when it is large enough (the batch then views it), so a long run
 * does not allocate a new megabyte-sized array for every ORT run.
 */
export function buildExplainBatch(encoder: Encoder, base: Float32Array, n: number, scratch?: Float32Array): ExplainBatch {
  const width = encoder.width;
  const { offsets, starts, values } = flatReferences(encoder);
  const refsPerRecord = offsets.length;
  const refRow = new Int32Array(n * refsPerRecord);

  // Pass 1: which replacements differ from the record's own value (the rest need no row).
  let rows = n;
  for (let i = 0; i < n; i++) {
    const rowBase = i * width;
    const from = i * refsPerRecord;
    for (let k = 0; k < refsPerRecord; k++) {
      const at = rowBase + offsets[k]!;
      const end = starts[k + 1]!;
      let same = true;
      for (let v = starts[k]!; v < end; v++) {
        if (base[at + v - starts[k]!] !== values[v]) {
          same = false;
          break;
        }
      }
      refRow[from + k] = same ? -1 : rows++;
    }
  }

  // Pass 2: each record's replacement rows are consecutive; fill them with copies of its row
  // (doubling the copied block each time), then overwrite the replaced group.
  const input = scratch && scratch.length >= rows * width ? scratch.subarray(0, rows * width) : new Float32Array(rows * width);
  input.set(base.subarray(0, n * width), 0);
  let next = n;
  for (let i = 0; i < n; i++) {
    const from = i * refsPerRecord;
    let count = 0;
    for (let k = from; k < from + refsPerRecord; k++) if (refRow[k]! >= 0) count++;
    if (count === 0) continue;
    const first = next * width;
    input.copyWithin(first, i * width, (i + 1) * width);
    for (let have = 1; have < count; ) {
      const more = Math.min(have, count - have);
      input.copyWithin(first + have * width, first, first + more * width);
      have += more;
    }
    next += count;
    for (let k = 0; k < refsPerRecord; k++) {
      const r = refRow[from + k]!;
      if (r < 0) continue;
      const at = r * width + offsets[k]! - starts[k]!;
      for (let v = starts[k]!; v < starts[k + 1]!; v++) input[at + v] = values[v]!;
    }
  }
  return { input, rows, refRow, refsPerRecord };
}

interface FlatReferences {
  /** For reference k (flattened over groups): the first column of its group. */
  offsets: Int32Array;
  /** Its encoded values are values[starts[k] .. starts[k + 1]). */
  starts: Int32Array;
  values: Float32Array;
}

const flat = new WeakMap<Encoder, FlatReferences>();

/** The references of every group in flat arrays, built once per encoder. */
function flatReferences(encoder: Encoder): FlatReferences {
  let found = flat.get(encoder);
  if (!found) {
    const refs = encoder.groups.flatMap((g) => g.references.map((r) => ({ offset: g.offset, slice: r.slice })));
    const starts = new Int32Array(refs.length + 1);
    refs.forEach((r, k) => (starts[k + 1] = starts[k]! + r.slice.length));
    const values = new Float32Array(starts[refs.length]!);
    refs.forEach((r, k) => values.set(r.slice, starts[k]!));
    found = { offsets: Int32Array.from(refs, (r) => r.offset), starts, values };
    flat.set(encoder, found);
  }
  return found;
}

/** Contribution of every group for record i, in score points, written at `out[at + g]`. */
export function contributions(encoder: Encoder, batch: ExplainBatch, output: Float32Array, cols: number, column: number, i: number, out: Float64Array, at: number): void {
  const p = output[i * cols + column]!;
  const groups = encoder.groups;
  let k = i * batch.refsPerRecord;
  for (let gi = 0; gi < groups.length; gi++) {
    let expected = 0;
    for (const ref of groups[gi]!.references) {
      const r = batch.refRow[k++]!;
      expected += ref.weight * (r < 0 ? p : output[r * cols + column]!);
    }
    out[at + gi] = 100 * (p - expected);
  }
}

/** Below this many score points a field is not worth a line in the text. */
const MIN_POINTS = 0.05;

/**
 * The strongest `top` groups of one record: `points[at + g]` is group g's contribution, `valueOf(g)`
 * the record's value of group g's field.
 */
export function topFactors(encoder: Encoder, valueOf: (group: number) => unknown, points: Float64Array, at: number, top: number): Factor[] {
  const order: number[] = [];
  const groups = encoder.groups.length;
  for (let g = 0; g < groups; g++) if (Math.abs(points[at + g]!) >= MIN_POINTS) order.push(g);
  // Ties broken by spec order, so the text is stable.
  order.sort((a, b) => Math.abs(points[at + b]!) - Math.abs(points[at + a]!) || a - b);
  if (order.length > top) order.length = top;
  return order.map((g) => ({ field: encoder.groups[g]!.field, value: displayValue(valueOf(g)), points: Math.round(points[at + g]! * 10) / 10 }));
}

/** `Contract_Type__c=Month-to-month (+14.2); Tenure_Months__c=2 (+9.8)`, cut to whole factors that fit. */
export function formatFactors(factors: readonly Factor[], maxLength: number): string {
  let text = '';
  for (const f of factors) {
    const sign = f.points >= 0 ? '+' : '-';
    const item = `${f.field}=${f.value} (${sign}${Math.abs(f.points).toFixed(1)})`;
    const next = text === '' ? item : `${text}; ${item}`;
    if (next.length > maxLength) {
      if (text === '') text = `${item.slice(0, maxLength - 1)}…`;
      break;
    }
    text = next;
  }
  return text;
}
