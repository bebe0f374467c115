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
import type { AccountRecord, Encoder } from './encoder.js';
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

/** Builds the rows for one ORT run that scores `n` encoded records and all their replacements. */
export function buildExplainBatch(encoder: Encoder, base: Float32Array, n: number): ExplainBatch {
  const width = encoder.width;
  const groups = encoder.groups;
  let refsPerRecord = 0;
  for (const g of groups) refsPerRecord += g.references.length;
  const refRow = new Int32Array(n * refsPerRecord);

  // Pass 1: which replacements differ from the record's own value (the rest need no row).
  let rows = n;
  for (let i = 0; i < n; i++) {
    const rowBase = i * width;
    let k = i * refsPerRecord;
    for (const g of groups) {
      for (const ref of g.references) {
        let same = true;
        for (let c = 0; c < g.width; c++) {
          if (base[rowBase + g.offset + c] !== ref.slice[c]) {
            same = false;
            break;
          }
        }
        refRow[k++] = same ? -1 : rows++;
      }
    }
  }

  // Pass 2: copy each record's row and overwrite the replaced group.
  const input = new Float32Array(rows * width);
  input.set(base.subarray(0, n * width), 0);
  for (let i = 0; i < n; i++) {
    const src = base.subarray(i * width, (i + 1) * width);
    let k = i * refsPerRecord;
    for (const g of groups) {
      for (const ref of g.references) {
        const r = refRow[k++]!;
        if (r < 0) continue;
        const at = r * width;
        input.set(src, at);
        input.set(ref.slice, at + g.offset);
      }
    }
  }
  return { input, rows, refRow, refsPerRecord };
}

/** Contribution of every group for record i, in score points. */
export function contributions(encoder: Encoder, batch: ExplainBatch, probability: (row: number) => number, i: number, out: Float64Array): Float64Array {
  const p = probability(i);
  let k = i * batch.refsPerRecord;
  encoder.groups.forEach((g, gi) => {
    let expected = 0;
    for (const ref of g.references) {
      const r = batch.refRow[k++]!;
      expected += ref.weight * (r < 0 ? p : probability(r));
    }
    out[gi] = 100 * (p - expected);
  });
  return out;
}

/** Below this many score points a field is not worth a line in the text. */
const MIN_POINTS = 0.05;

export function topFactors(encoder: Encoder, record: AccountRecord, points: Float64Array, top: number): Factor[] {
  const order: number[] = [];
  for (let g = 0; g < points.length; g++) if (Math.abs(points[g]!) >= MIN_POINTS) order.push(g);
  // Ties broken by spec order, so the text is stable.
  order.sort((a, b) => Math.abs(points[b]!) - Math.abs(points[a]!) || a - b);
  return order.slice(0, top).map((g) => {
    const field = encoder.groups[g]!.field;
    return { field, value: displayValue(record[field]), points: Math.round(points[g]! * 10) / 10 };
  });
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
