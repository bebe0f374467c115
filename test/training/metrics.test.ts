import { describe, expect, it } from 'vitest';
import { calibrationDeciles, metrics, rocAuc } from '../../src/training/metrics.js';

describe('metrics', () => {
  it('when predictions rank every positive above every negative, then AUC is 1; reversed, 0', () => {
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])).toBe(1);
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])).toBe(0);
  });

  it('when predictions tie across classes, then ties count half', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toBe(0.5);
    // One positive above one negative, one tie: (1 + 0.5 + 1 + 1) / 4.
    expect(rocAuc([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])).toBe(0.875);
  });

  it('when a prediction is exactly wrong, then log loss stays finite and accuracy counts it', () => {
    const m = metrics([1, 0, 0.5], [0, 0, 1]);
    expect(Number.isFinite(m.logloss)).toBe(true);
    expect(m.logloss).toBeGreaterThan(10);
    expect(m.brier).toBeCloseTo((1 + 0 + 0.25) / 3, 10);
    expect(m.accuracy).toBeCloseTo(2 / 3, 10);
  });

  it('when calibration is computed, then there are ten equal-count bins in rising order', () => {
    const p = Array.from({ length: 100 }, (_, i) => i / 100);
    const y = p.map((q) => (q >= 0.5 ? 1 : 0));
    const bins = calibrationDeciles(p, y);
    expect(bins.map((b) => b.n)).toEqual(new Array(10).fill(10));
    expect(bins[0]!.observedRate).toBe(0);
    expect(bins[9]!.observedRate).toBe(1);
    expect(bins[9]!.meanPredicted).toBeCloseTo(0.945, 10);
  });
});
