import { describe, expect, it } from 'vitest';
import { accuracyReport, type ScoreGroup } from '../../src/core/accuracy.js';
import { metrics } from '../../src/training/metrics.js';

/** Deterministic labelled scores: higher scores churn more often. */
function sample(n: number): { p: number[]; y: number[]; groups: ScoreGroup[] } {
  const p: number[] = [];
  const y: number[] = [];
  const byScore = new Map<number, ScoreGroup>();
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % 2147483647;
    const score = Math.round((s % 10_000) / 5) / 20; // 0..100 in steps of 0.05: many ties
    s = (s * 48271) % 2147483647;
    const label = (s % 1000) / 1000 < score / 100 ? 1 : 0;
    p.push(score / 100);
    y.push(label);
    const g = byScore.get(score) ?? { score, positives: 0, negatives: 0 };
    if (label) g.positives++;
    else g.negatives++;
    byScore.set(score, g);
  }
  return { p, y, groups: [...byScore.values()] };
}

describe('realized accuracy from score groups', () => {
  it('when computed from groups, then AUC, log loss and Brier equal the per-record formulas', () => {
    const { p, y, groups } = sample(5_000);
    const report = accuracyReport(groups, 50);
    const direct = metrics(p, y);
    expect(report.enough).toBe(true);
    expect(report.n).toBe(5_000);
    expect(report.auc).toBeCloseTo(direct.auc, 6);
    expect(report.logloss).toBeCloseTo(direct.logloss, 5);
    expect(report.brier).toBeCloseTo(direct.brier, 6);
  });

  it('when the High band is read as an alarm, then precision and recall count the churned Accounts at or above its threshold', () => {
    const report = accuracyReport([{ score: 80, positives: 30, negatives: 10 }, { score: 50, positives: 10, negatives: 10 }, { score: 10, positives: 20, negatives: 180 }], 50);
    expect(report.high).toEqual({ threshold: 50, flagged: 60, truePositives: 40, precision: 0.666667, recall: 0.666667 });
    const total = report.calibration!.reduce((s, b) => s + b.n, 0);
    expect(total).toBe(260);
    // Equal scores stay in one bin (the one their middle falls in): the score-10 Accounts, predicted 0.1, observed 0.1.
    expect(report.calibration!.find((b) => b.n === 200)).toMatchObject({ meanPredicted: 0.1, observedRate: 0.1 });
    expect(report.calibration!.find((b) => b.n === 40)).toMatchObject({ meanPredicted: 0.8, observedRate: 0.75 });
  });

  it('when there are too few labels or one class only, then no metric is given, with the reason and the counts', () => {
    const few = accuracyReport([{ score: 70, positives: 5, negatives: 100 }], 50);
    expect(few).toEqual({ n: 105, positives: 5, negatives: 100, enough: false, reason: expect.stringContaining('not enough labels yet') });
    expect(few.auc).toBeUndefined();
    expect(accuracyReport([{ score: 70, positives: 0, negatives: 1000 }], 50).enough).toBe(false);
    expect(accuracyReport([], 50)).toMatchObject({ n: 0, enough: false });
  });
});
