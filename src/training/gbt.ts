/**
 * Gradient-boosted trees with logistic loss, in plain TypeScript.
 *
 * Each round fits a depth-limited regression tree to the gradients of the log loss with Newton leaf
 * values (−G / (H + λ), shrunk by the learning rate), on a seeded row subsample. Splits are searched
 * over histograms: every column is cut into at most `maxBins` bins whose upper edges are values that
 * occur in the (float32) data, and a split "x ≤ edge" sends exactly the same rows left here as it does
 * in onnxruntime's BRANCH_LEQ, because the thresholds are those float32 values.
 */
import type { FlatTree } from './onnx-builder.js';
import { seededRandom } from './random.js';

export interface GbtParams {
  rounds: number;
  learningRate: number;
  maxDepth: number;
  /** Fewest training rows in a leaf. */
  minLeaf: number;
  /** Share of rows each tree sees (drawn without replacement). */
  subsample: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  maxBins: number;
}

/**
 * Chosen by `train --tune` (5-fold CV on the Telco training file, seed 42; see models/churn-gbt.card.md):
 * stumps won, as the data is close to additive in log-odds. `train` without `--tune` reproduces the
 * shipped model.
 */
export const DEFAULT_GBT: GbtParams = {
  rounds: 250,
  learningRate: 0.1,
  maxDepth: 1,
  minLeaf: 50,
  subsample: 0.5,
  lambda: 1,
  maxBins: 64,
};

export interface Matrix {
  data: Float32Array;
  rows: number;
  width: number;
}

export interface GbtModel {
  baseMargin: number;
  trees: FlatTree[];
  /** Total split gain per column. */
  gain: Float64Array;
}

interface Binned {
  /** Column-major bin index per row. */
  bins: Uint8Array[];
  /** Upper edge of each bin, per column. */
  edges: Float32Array[];
}

function binColumns(m: Matrix, maxBins: number): Binned {
  const bins: Uint8Array[] = [];
  const edges: Float32Array[] = [];
  const col = new Float32Array(m.rows);
  for (let f = 0; f < m.width; f++) {
    for (let i = 0; i < m.rows; i++) col[i] = m.data[i * m.width + f]!;
    const sorted = Float32Array.from(col).sort();
    const unique: number[] = [];
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) unique.push(sorted[i]!);
    let e: number[];
    if (unique.length <= maxBins) {
      e = unique;
    } else {
      const cut = new Set<number>();
      for (let q = 1; q < maxBins; q++) cut.add(sorted[Math.floor((q * sorted.length) / maxBins)]!);
      cut.add(sorted[sorted.length - 1]!);
      e = [...cut].sort((a, b) => a - b);
    }
    const edge = Float32Array.from(e);
    const b = new Uint8Array(m.rows);
    for (let i = 0; i < m.rows; i++) {
      const v = col[i]!;
      let lo = 0;
      let hi = edge.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (edge[mid]! >= v) hi = mid;
        else lo = mid + 1;
      }
      b[i] = lo;
    }
    bins.push(b);
    edges.push(edge);
  }
  return { bins, edges };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export function predictTreeMargin(tree: FlatTree, x: Float32Array, width: number, row: number): number {
  let node = 0;
  while (Number.isNaN(tree.leafValues[node]!)) {
    node = x[row * width + tree.featureIds[node]!]! <= tree.thresholds[node]! ? tree.trueIds[node]! : tree.falseIds[node]!;
  }
  return tree.leafValues[node]!;
}

/** Adds one tree's output to every row's margin. */
export function addTree(tree: FlatTree, m: Matrix, margins: Float64Array): void {
  for (let i = 0; i < m.rows; i++) margins[i]! += predictTreeMargin(tree, m.data, m.width, i);
}

export function predictProba(model: GbtModel, m: Matrix): Float64Array {
  const margins = new Float64Array(m.rows).fill(model.baseMargin);
  for (const tree of model.trees) addTree(tree, m, margins);
  return margins.map(sigmoid);
}

export interface TrainHooks {
  /** Called once with the initial log-odds, before the first round. */
  onStart?(baseMargin: number): void;
  /** Called after every round with the tree just added. */
  onTree?(round: number, tree: FlatTree): void;
}

export function trainGbt(m: Matrix, y: Uint8Array, params: GbtParams, seed: number, hooks: TrainHooks = {}): GbtModel {
  const n = m.rows;
  const { bins, edges } = binColumns(m, params.maxBins);
  const random = seededRandom(seed);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i]!;
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / n));
  const baseMargin = Math.log(rate / (1 - rate));
  const margins = new Float64Array(n).fill(baseMargin);
  hooks.onStart?.(baseMargin);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const gain = new Float64Array(m.width);
  const trees: FlatTree[] = [];
  // Columns with one value (e.g. an "unknown" column never set in training) cannot split.
  const splittable = edges.map((e, f) => (e.length > 1 ? f : -1)).filter((f) => f >= 0);
  const histG = new Float64Array(params.maxBins);
  const histH = new Float64Array(params.maxBins);
  const histC = new Int32Array(params.maxBins);
  const sampleSize = Math.max(1, Math.round(params.subsample * n));
  const all = Uint32Array.from({ length: n }, (_, i) => i);

  for (let round = 0; round < params.rounds; round++) {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(margins[i]!);
      g[i] = p - y[i]!;
      h[i] = Math.max(p * (1 - p), 1e-12);
    }
    let idx: Uint32Array;
    if (sampleSize < n) {
      const pool = all.slice();
      for (let i = 0; i < sampleSize; i++) {
        const j = i + Math.floor(random() * (n - i));
        const t = pool[i]!;
        pool[i] = pool[j]!;
        pool[j] = t;
      }
      idx = pool.subarray(0, sampleSize).sort();
    } else {
      idx = all.slice();
    }

    const tree: FlatTree = { featureIds: [], thresholds: [], trueIds: [], falseIds: [], leafValues: [] };
    const grow = (rows: Uint32Array, depth: number): number => {
      const id = tree.featureIds.length;
      tree.featureIds.push(0);
      tree.thresholds.push(0);
      tree.trueIds.push(0);
      tree.falseIds.push(0);
      tree.leafValues.push(Number.NaN);
      let G = 0;
      let H = 0;
      for (let k = 0; k < rows.length; k++) {
        G += g[rows[k]!]!;
        H += h[rows[k]!]!;
      }
      const leaf = () => {
        tree.leafValues[id] = (-G / (H + params.lambda)) * params.learningRate;
        return id;
      };
      if (depth >= params.maxDepth || rows.length < 2 * params.minLeaf) return leaf();

      const parentScore = (G * G) / (H + params.lambda);
      let bestGain = 1e-9;
      let bestF = -1;
      let bestBin = -1;
      for (const f of splittable) {
        const nb = edges[f]!.length;
        const b = bins[f]!;
        histG.fill(0, 0, nb);
        histH.fill(0, 0, nb);
        histC.fill(0, 0, nb);
        for (let k = 0; k < rows.length; k++) {
          const r = rows[k]!;
          const bin = b[r]!;
          histG[bin]! += g[r]!;
          histH[bin]! += h[r]!;
          histC[bin]!++;
        }
        let gl = 0;
        let hl = 0;
        let cl = 0;
        for (let bin = 0; bin < nb - 1; bin++) {
          gl += histG[bin]!;
          hl += histH[bin]!;
          cl += histC[bin]!;
          const cr = rows.length - cl;
          if (cl < params.minLeaf) continue;
          if (cr < params.minLeaf) break;
          const gr = G - gl;
          const hr = H - hl;
          const splitGain = (gl * gl) / (hl + params.lambda) + (gr * gr) / (hr + params.lambda) - parentScore;
          if (splitGain > bestGain) {
            bestGain = splitGain;
            bestF = f;
            bestBin = bin;
          }
        }
      }
      if (bestF < 0) return leaf();

      const b = bins[bestF]!;
      let nl = 0;
      for (let k = 0; k < rows.length; k++) if (b[rows[k]!]! <= bestBin) nl++;
      const left = new Uint32Array(nl);
      const right = new Uint32Array(rows.length - nl);
      let li = 0;
      let ri = 0;
      for (let k = 0; k < rows.length; k++) {
        const r = rows[k]!;
        if (b[r]! <= bestBin) left[li++] = r;
        else right[ri++] = r;
      }
      tree.featureIds[id] = bestF;
      tree.thresholds[id] = edges[bestF]![bestBin]!;
      gain[bestF]! += bestGain;
      tree.trueIds[id] = grow(left, depth + 1);
      tree.falseIds[id] = grow(right, depth + 1);
      return id;
    };
    grow(idx, 0);
    trees.push(tree);
    addTree(tree, m, margins);
    hooks.onTree?.(round, tree);
  }
  return { baseMargin, trees, gain };
}
