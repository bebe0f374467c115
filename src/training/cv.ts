/**
 * k-fold cross-validation: the spec (imputation medians, level frequencies) and the model are fitted
 * on the training folds only, so the held-out fold is scored the way unseen customers would be.
 */
import { createEncoder, type InputTally, type AccountRecord } from '../scoring/encoder.js';
import type { FeatureSpec } from '../scoring/spec.js';
import { fitSpec } from './fit-spec.js';
import { addTree, trainGbt, type GbtParams, type Matrix } from './gbt.js';
import { predictLogistic, trainLogistic } from './logistic.js';
import { metrics, type Metrics } from './metrics.js';
import { seededRandom, shuffle } from './random.js';

/** Encodes every record (values the spec cannot use are imputed, as in production); `tally` counts them. */
export function encodeAll(spec: FeatureSpec, records: readonly AccountRecord[], now = new Date(), tally?: InputTally): Matrix {
  const encoder = createEncoder(spec);
  const data = new Float32Array(records.length * encoder.width);
  records.forEach((r, i) => encoder.encode(r, data, i, now.getTime(), tally));
  return { data, rows: records.length, width: encoder.width };
}

/** Stratified folds: each fold gets its share of churned and retained rows; seeded. */
export function stratifiedFolds(labels: Uint8Array, k: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const fold = new Uint8Array(labels.length);
  for (const cls of [0, 1]) {
    const idx = shuffle([...labels.keys()].filter((i) => labels[i] === cls), random);
    idx.forEach((row, j) => (fold[row] = j % k));
  }
  return fold;
}

function pick<T>(items: readonly T[], mask: (i: number) => boolean): T[] {
  return items.filter((_, i) => mask(i));
}

export interface FoldSplit {
  trainRecords: AccountRecord[];
  trainLabels: Uint8Array;
  validRecords: AccountRecord[];
  validLabels: Uint8Array;
  validIndex: number[];
}

export function split(records: readonly AccountRecord[], labels: Uint8Array, folds: Uint8Array, f: number): FoldSplit {
  const validIndex = [...folds.keys()].filter((i) => folds[i] === f);
  return {
    trainRecords: pick(records, (i) => folds[i] !== f),
    trainLabels: Uint8Array.from(pick([...labels], (i) => folds[i] !== f)),
    validRecords: pick(records, (i) => folds[i] === f),
    validLabels: Uint8Array.from(pick([...labels], (i) => folds[i] === f)),
    validIndex,
  };
}

export interface CvResult {
  /** Per fold, metrics at each checkpoint round count. */
  byRounds: Map<number, Metrics[]>;
  /** Out-of-fold probabilities at the last round. */
  oof: Float64Array;
}

/**
 * Trains once per fold for `params.rounds` rounds and records held-out metrics at every checkpoint,
 * so one run answers "how many rounds" for every count up to the maximum.
 */
export function crossValidateGbt(
  records: readonly AccountRecord[],
  labels: Uint8Array,
  params: GbtParams,
  options: { folds: number; seed: number; checkpoints: readonly number[]; onFold?: (fold: number) => void },
): CvResult {
  const folds = stratifiedFolds(labels, options.folds, options.seed);
  const byRounds = new Map<number, Metrics[]>(options.checkpoints.map((c) => [c, []]));
  const oof = new Float64Array(records.length);
  for (let f = 0; f < options.folds; f++) {
    const s = split(records, labels, folds, f);
    const spec = fitSpec(s.trainRecords);
    const train = encodeAll(spec, s.trainRecords);
    const valid = encodeAll(spec, s.validRecords);
    const margins = new Float64Array(valid.rows);
    trainGbt(train, s.trainLabels, params, options.seed + f, {
      onStart(baseMargin) {
        margins.fill(baseMargin);
      },
      onTree(round, tree) {
        addTree(tree, valid, margins);
        const count = round + 1;
        const list = byRounds.get(count);
        if (list) {
          const p = margins.map((z) => 1 / (1 + Math.exp(-z)));
          list.push(metrics(p, s.validLabels));
          if (count === params.rounds) s.validIndex.forEach((row, j) => (oof[row] = p[j]!));
        }
      },
    });
    options.onFold?.(f);
  }
  return { byRounds, oof };
}

export function crossValidateLogistic(records: readonly AccountRecord[], labels: Uint8Array, options: { folds: number; seed: number }): Metrics[] {
  const folds = stratifiedFolds(labels, options.folds, options.seed);
  const out: Metrics[] = [];
  for (let f = 0; f < options.folds; f++) {
    const s = split(records, labels, folds, f);
    const spec = fitSpec(s.trainRecords);
    const model = trainLogistic(encodeAll(spec, s.trainRecords), s.trainLabels);
    out.push(metrics(predictLogistic(model, encodeAll(spec, s.validRecords)), s.validLabels));
  }
  return out;
}
