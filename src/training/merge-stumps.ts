/**
 * Exact compaction of an ensemble of single-split trees (stumps), the shape the tuned default model
 * has. Stumps on the same column add up to one step function of that column, which one balanced tree
 * holds: 250 stumps on ~30 columns become ~30 trees of depth 2–4. Predictions are the same (up to
 * float rounding of the leaf sums), and ONNX Runtime walks about a third of the nodes per row, which
 * matters most for reasons (about 31 model rows per account). Ensembles with deeper trees are
 * returned unchanged.
 */
import type { FlatTree } from './onnx-builder.js';

interface Stump {
  column: number;
  threshold: number;
  /** Value when x <= threshold. */
  left: number;
  right: number;
}

function asStump(tree: FlatTree): Stump | undefined {
  if (tree.featureIds.length !== 3 || !Number.isNaN(tree.leafValues[0]!)) return undefined;
  const t = tree.trueIds[0]!;
  const f = tree.falseIds[0]!;
  if (Number.isNaN(tree.leafValues[t]!) || Number.isNaN(tree.leafValues[f]!)) return undefined;
  return { column: tree.featureIds[0]!, threshold: tree.thresholds[0]!, left: tree.leafValues[t]!, right: tree.leafValues[f]! };
}

/** One balanced tree for a step function: `thresholds` ascending, `values` one per region (length + 1). */
function stepTree(column: number, thresholds: number[], values: number[]): FlatTree {
  const tree: FlatTree = { featureIds: [], thresholds: [], trueIds: [], falseIds: [], leafValues: [] };
  const add = (): number => {
    tree.featureIds.push(0);
    tree.thresholds.push(0);
    tree.trueIds.push(0);
    tree.falseIds.push(0);
    tree.leafValues.push(Number.NaN);
    return tree.featureIds.length - 1;
  };
  // Regions lo..hi (inclusive) separated by thresholds lo..hi-1.
  const build = (lo: number, hi: number): number => {
    const node = add();
    if (lo === hi) {
      tree.leafValues[node] = values[lo]!;
      return node;
    }
    const mid = (lo + hi) >> 1; // region mid is the last one with x <= thresholds[mid]
    tree.featureIds[node] = column;
    tree.thresholds[node] = thresholds[mid]!;
    tree.trueIds[node] = build(lo, mid);
    tree.falseIds[node] = build(mid + 1, hi);
    return node;
  };
  build(0, thresholds.length);
  return tree;
}

export function mergeStumps(trees: readonly FlatTree[]): FlatTree[] {
  const stumps = trees.map(asStump);
  if (stumps.some((s) => s === undefined)) return [...trees];
  const byColumn = new Map<number, Stump[]>();
  for (const s of stumps as Stump[]) byColumn.set(s.column, [...(byColumn.get(s.column) ?? []), s]);
  return [...byColumn.entries()]
    .sort(([a], [b]) => a - b)
    .map(([column, list]) => {
      const thresholds = [...new Set(list.map((s) => s.threshold))].sort((a, b) => a - b);
      // Region r holds x with thresholds[r-1] < x <= thresholds[r]; x <= t exactly when t >= thresholds[r].
      const values = thresholds.map((upper) => list.reduce((sum, s) => sum + (s.threshold >= upper ? s.left : s.right), 0));
      values.push(list.reduce((sum, s) => sum + s.right, 0));
      return stepTree(column, thresholds, values);
    });
}
