/**
 * Counting values into the training reference's bins (core/drift.ts) as the encoder reads them, and
 * measuring that reference on the training rows. The count happens where the value is already read
 * (the encoder's loop hands over each field's state and encoded value), so drift costs a bin lookup
 * per field and row and no second parse.
 */
import { emptyCounts, quantileEdges, toShares, unusableBin, binOf, type DriftCounts, type FieldReference, type TrainingReference } from '../core/drift.js';
import { ValueState, createEncoder, type AccountRecord, type Encoder } from './encoder.js';
import type { FeatureSpec } from './spec.js';

const CHECKBOX_LEVELS = ['false', 'true'];

/** How group k's encoded value maps onto its reference field. */
type Slot =
  | { kind: 'none' }
  | { kind: 'numeric'; f: number; edges: readonly number[]; min: number; max: number; unusable: number }
  | { kind: 'checkbox'; f: number; unusable: number }
  /** `level[i]`: the reference bin of the group's level column i (-1: not in the reference, counted unusable). */
  | { kind: 'picklist'; f: number; level: Int32Array; unusable: number };

/** Counts a stream of encoded rows (and their scores) against a reference. */
export class DriftTally {
  private readonly slots: Slot[];
  private counts: DriftCounts;

  constructor(
    encoder: Pick<Encoder, 'groups'>,
    readonly reference: TrainingReference,
  ) {
    const at = new Map(reference.fields.map((f, i) => [f.field, i]));
    this.slots = encoder.groups.map((g): Slot => {
      const f = at.get(g.field);
      if (f === undefined) return { kind: 'none' };
      const ref = reference.fields[f]!;
      const unusable = unusableBin(ref);
      if ((g.def.encoding === 'number' || g.def.encoding === 'date') && ref.kind === 'numeric') return { kind: 'numeric', f, edges: ref.edges, min: ref.min, max: ref.max, unusable };
      if (g.def.encoding === 'checkbox' && ref.kind === 'levels' && ref.levels.join() === CHECKBOX_LEVELS.join()) return { kind: 'checkbox', f, unusable };
      if (g.def.encoding === 'picklist' && ref.kind === 'levels') return { kind: 'picklist', f, level: Int32Array.from(g.def.levels, (l) => ref.levels.indexOf(l)), unusable };
      return { kind: 'none' };
    });
    this.counts = emptyCounts(reference);
  }

  /** One field of one row: how the encoder read it, and where it wrote it (`out[at…]`). */
  add(group: number, state: ValueState, out: Float32Array, at: number): void {
    const slot = this.slots[group]!;
    if (slot.kind === 'none') return;
    const bins = this.counts.fields[slot.f]!;
    if (state === ValueState.Missing) {
      bins[slot.unusable + 1]!++;
      return;
    }
    if (state === ValueState.Unusable) {
      bins[slot.unusable]!++;
      return;
    }
    if (slot.kind === 'numeric') {
      const v = out[at]!;
      bins[binOf(slot.edges, v)]!++;
      if (v < slot.min || v > slot.max) this.counts.outOfRange[slot.f]!++;
    } else if (slot.kind === 'checkbox') {
      bins[out[at] === 1 ? 1 : 0]!++;
    } else {
      const level = slot.level;
      for (let i = 0; i < level.length; i++) {
        if (out[at + i] === 1) {
          bins[level[i]! < 0 ? slot.unusable : level[i]!]!++;
          return;
        }
      }
    }
  }

  /** One row counted (call once per row, whatever its fields). */
  row(): void {
    this.counts.rows++;
  }

  /** One score (0–100). */
  score(score: number): void {
    this.counts.score[binOf(this.reference.score.edges, score)]!++;
  }

  /** The counts so far, and a fresh start. */
  take(): DriftCounts {
    const taken = this.counts;
    this.counts = emptyCounts(this.reference);
    return taken;
  }
}

/** The tally for a spec, or undefined when its model carries no training reference. */
export function driftTallyFor(spec: FeatureSpec, encoder: Pick<Encoder, 'groups'>): DriftTally | undefined {
  return spec.monitoring ? new DriftTally(encoder, spec.monitoring) : undefined;
}

/**
 * The training reference of a spec, measured on the rows it was trained on (read through the same
 * encoder the engine uses) and the model's scores of those rows (0–100): deciles of each number and
 * date (fewer bins where values repeat), the levels of each picklist and checkbox, and deciles of the
 * score.
 */
export function buildReference(spec: FeatureSpec, records: readonly AccountRecord[], scores: readonly number[], now: Date, bins = 10): TrainingReference {
  const encoder = createEncoder(spec);
  const nowMs = now.getTime();
  const row = new Float32Array(encoder.width);
  const fields: FieldReference[] = encoder.groups.map((g) => {
    if (g.def.encoding === 'picklist') return { field: g.field, kind: 'levels', levels: [...g.def.levels], shares: [] };
    if (g.def.encoding === 'checkbox') return { field: g.field, kind: 'levels', levels: [...CHECKBOX_LEVELS], shares: [] };
    // Numbers and dates: the values as the encoder wrote them (float32, as scoring will see them).
    const values: number[] = [];
    for (const r of records) {
      const state = g.write(r[g.field], row, 0, nowMs);
      if (state === ValueState.Ok || state === ValueState.OutOfRange) values.push(row[g.offset]!);
    }
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { field: g.field, kind: 'numeric', edges: quantileEdges(values, bins), min: values.length ? min : 0, max: values.length ? max : 0, shares: [] };
  });
  const scoreEdges = quantileEdges(scores, bins);
  const draft: TrainingReference = { rows: records.length, fields, score: { edges: scoreEdges, shares: new Array<number>(scoreEdges.length + 1).fill(0) } };
  const tally = new DriftTally(encoder, draft);
  const x = new Float32Array(encoder.width);
  for (const r of records) {
    tally.row();
    encoder.groups.forEach((g, k) => tally.add(k, g.write(r[g.field], x, 0, nowMs), x, g.offset));
  }
  for (const s of scores) tally.score(s);
  const counts = tally.take();
  return {
    rows: records.length,
    fields: fields.map((f, k) => ({ ...f, shares: toShares(counts.fields[k]!) })),
    score: { edges: scoreEdges, shares: toShares(counts.score) },
  };
}
