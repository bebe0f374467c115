import { describe, expect, it } from 'vitest';
import { predictTreeMargin } from '../../src/training/gbt.js';
import { mergeStumps } from '../../src/training/merge-stumps.js';
import type { FlatTree } from '../../src/training/onnx-builder.js';
import { seededRandom } from '../../src/training/random.js';

function stump(column: number, threshold: number, left: number, right: number): FlatTree {
  return { featureIds: [column, 0, 0], thresholds: [threshold, 0, 0], trueIds: [1, 0, 0], falseIds: [2, 0, 0], leafValues: [Number.NaN, left, right] };
}

const margin = (trees: readonly FlatTree[], x: Float32Array, width: number, row: number) => trees.reduce((s, t) => s + predictTreeMargin(t, x, width, row), 0);

describe('merging stumps into one tree per column', () => {
  it('when stumps share columns, then the merged trees give the same margin on every input, with fewer trees', () => {
    const random = seededRandom(3);
    const width = 5;
    const trees = Array.from({ length: 120 }, () => stump(Math.floor(random() * width), Math.round(random() * 20) / 2, random() - 0.5, random() - 0.5));
    const merged = mergeStumps(trees);
    expect(merged.length).toBeLessThanOrEqual(width);
    const rows = 2_000;
    const x = new Float32Array(rows * width);
    for (let i = 0; i < x.length; i++) x[i] = Math.round(random() * 24 - 2) / 2; // hits every threshold exactly too
    for (let r = 0; r < rows; r++) expect(margin(merged, x, width, r)).toBeCloseTo(margin(trees, x, width, r), 9);
  });

  it('when a tree is deeper than one split, then the ensemble is left as it is', () => {
    const deep: FlatTree = {
      featureIds: [0, 1, 0, 0, 0],
      thresholds: [1, 2, 0, 0, 0],
      trueIds: [1, 3, 0, 0, 0],
      falseIds: [2, 4, 0, 0, 0],
      leafValues: [Number.NaN, Number.NaN, 0.5, 0.1, 0.2],
    };
    const trees = [stump(0, 1, 1, 2), deep];
    expect(mergeStumps(trees)).toEqual(trees);
  });
});
