import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { predictProba, trainGbt, type Matrix } from '../../src/training/gbt.js';
import { predictLogistic, trainLogistic } from '../../src/training/logistic.js';
import { metrics } from '../../src/training/metrics.js';
import { treeEnsembleModel } from '../../src/training/onnx-builder.js';
import { seededRandom } from '../../src/training/random.js';

/** y depends on x0 (threshold) and x1 × x2 (an interaction a linear model cannot see); x3 is noise. */
function synthetic(n: number, seed: number): { m: Matrix; y: Uint8Array } {
  const random = seededRandom(seed);
  const data = new Float32Array(n * 4);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const x = [random() * 10, random() < 0.5 ? 1 : 0, random() < 0.5 ? 1 : 0, random()];
    data.set(x, i * 4);
    const z = (x[0]! > 6 ? 1.5 : -1) + (x[1]! === 1 && x[2]! === 1 ? 2 : -0.5);
    y[i] = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { m: { data, rows: n, width: 4 }, y };
}

const PARAMS = { rounds: 60, learningRate: 0.1, maxDepth: 2, minLeaf: 10, subsample: 0.8, lambda: 1, maxBins: 32 };

describe('gradient-boosted trees', () => {
  const train = synthetic(2_000, 1);
  const valid = synthetic(1_000, 2);

  it('when there is an interaction, then trees beat the logistic baseline on held-out rows', () => {
    const model = trainGbt(train.m, train.y, PARAMS, 42);
    const trees = metrics(predictProba(model, valid.m), valid.y);
    const linear = metrics(predictLogistic(trainLogistic(train.m, train.y), valid.m), valid.y);
    expect(trees.auc).toBeGreaterThan(linear.auc + 0.02);
    expect(trees.logloss).toBeLessThan(linear.logloss);
    // The noise column gets (almost) no gain.
    expect(model.gain[3]!).toBeLessThan(0.05 * (model.gain[0]! + model.gain[1]! + model.gain[2]!));
  });

  it('when exported to ONNX, then onnxruntime returns the trainer\'s own probabilities', async () => {
    const model = trainGbt(train.m, train.y, PARAMS, 42);
    const bytes = treeEnsembleModel({ trees: model.trees, baseValue: model.baseMargin, width: 4, inputName: 'features', outputName: 'probability' });
    const session = await ort.InferenceSession.create(bytes);
    try {
      const out = await session.run({ features: new ort.Tensor('float32', valid.m.data, [valid.m.rows, 4]) });
      const onnx = out.probability!.data as Float32Array;
      expect(out.probability!.dims).toEqual([valid.m.rows, 1]);
      const mine = predictProba(model, valid.m);
      let worst = 0;
      for (let i = 0; i < valid.m.rows; i++) worst = Math.max(worst, Math.abs(onnx[i]! - mine[i]!));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  });

  it('when trained twice with one seed, then the trees are identical; another seed subsamples differently', () => {
    const a = trainGbt(train.m, train.y, PARAMS, 7);
    const b = trainGbt(train.m, train.y, PARAMS, 7);
    const c = trainGbt(train.m, train.y, PARAMS, 8);
    expect(JSON.stringify(a.trees)).toBe(JSON.stringify(b.trees));
    expect(JSON.stringify(a.trees)).not.toBe(JSON.stringify(c.trees));
  });

  it('when a split is chosen, then its threshold is a value present in the float32 data', () => {
    const model = trainGbt(train.m, train.y, PARAMS, 42);
    const present = new Set(train.m.data);
    for (const t of model.trees) {
      t.featureIds.forEach((_, n) => {
        if (Number.isNaN(t.leafValues[n]!)) expect(present.has(t.thresholds[n]!)).toBe(true);
      });
    }
  });
});
