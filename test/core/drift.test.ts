import { describe, expect, it } from 'vitest';
import { addCounts, binOf, DEFAULT_DRIFT_THRESHOLDS, driftReport, emptyCounts, jsDistance, psi, quantileEdges, statusOf, toShares, type TrainingReference } from '../../src/core/drift.js';

describe('drift statistics', () => {
  it('when the distributions are equal, then PSI and the Jensen–Shannon distance are 0', () => {
    const p = [0.2, 0.3, 0.5];
    expect(psi(p, p)).toBe(0);
    expect(jsDistance(p, p)).toBe(0);
  });

  it('when shares move, then PSI is Σ (a − e) ln(a / e), worked by hand', () => {
    // (0.3−0.5)ln(0.3/0.5) + (0.7−0.5)ln(0.7/0.5) = 0.1022 + 0.0673 = 0.16946…
    expect(psi([0.5, 0.5], [0.3, 0.7])).toBeCloseTo(0.2 * Math.log(0.5 / 0.3) + 0.2 * Math.log(0.7 / 0.5), 12);
    expect(psi([0.5, 0.5], [0.3, 0.7])).toBeCloseTo(0.16946, 4);
  });

  it('when a bin is empty on one side, then PSI stays finite (shares floored at 1e-4)', () => {
    const value = psi([0.5, 0.5, 0], [0.45, 0.45, 0.1]);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeCloseTo(2 * 0.05 * Math.log(0.5 / 0.45) + (0.1 - 1e-4) * Math.log(0.1 / 1e-4), 10);
  });

  it('when the distributions are disjoint, then the Jensen–Shannon distance is 1; half overlapping gives sqrt(0.5)', () => {
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(1, 12);
    // p = (1, 0), q = (0.5, 0.5): JSD = 0.5·log2(1/0.75) + 0.5·(0.5·log2(0.5/0.75) + 0.5·log2(0.5/0.25)) = 0.311278
    expect(jsDistance([1, 0], [0.5, 0.5]) ** 2).toBeCloseTo(0.311278, 5);
  });

  it('when values repeat, then quantile edges are merged; a value equal to an edge opens the next bin', () => {
    const values = [1, 1, 1, 1, 1, 2, 3, 4, 5, 6];
    const edges = quantileEdges(values, 10);
    expect(edges).toEqual([2, 3, 4, 5, 6]);
    expect(binOf(edges, 1)).toBe(0);
    expect(binOf(edges, 2)).toBe(1);
    expect(binOf(edges, 2.5)).toBe(1);
    expect(binOf(edges, 6)).toBe(5);
    expect(binOf(edges, 99)).toBe(5);
    expect(quantileEdges([], 10)).toEqual([]);
    expect(quantileEdges([7, 7, 7], 10)).toEqual([]);
  });

  it('when counts are added and reported, then shares, PSI, statuses and the alert list follow', () => {
    const ref: TrainingReference = {
      rows: 100,
      fields: [
        { field: 'A__c', kind: 'numeric', edges: [10], min: 0, max: 20, shares: [0.5, 0.5, 0, 0] },
        { field: 'B__c', kind: 'levels', levels: ['x', 'y'], shares: [0.5, 0.5, 0, 0] },
      ],
      score: { edges: [50], shares: [0.5, 0.5] },
    };
    const a = emptyCounts(ref);
    a.rows = 100;
    a.fields[0] = [20, 60, 5, 15];
    a.outOfRange[0] = 7;
    a.fields[1] = [49, 51, 0, 0];
    a.score = [50, 50];
    const b = emptyCounts(ref);
    addCounts(b, a);
    expect(b).toEqual(a);
    const report = driftReport(ref, b, DEFAULT_DRIFT_THRESHOLDS);
    expect(report.fields[0]).toMatchObject({ field: 'A__c', blankShare: 0.15, unusableShare: 0.05, outOfRangeShare: 0.07, status: 'alert', shares: [0.2, 0.6, 0.05, 0.15] });
    expect(report.fields[0]!.psi).toBeCloseTo(psi([0.5, 0.5, 0, 0], [0.2, 0.6, 0.05, 0.15]), 6);
    expect(report.fields[1]!.status).toBe('ok');
    expect(report.score.status).toBe('ok');
    expect(report.alerts).toEqual(['A__c']);
    expect(toShares([0, 0])).toEqual([0, 0]);
  });

  it('when a value sits exactly on a threshold, then it takes the higher status', () => {
    expect(statusOf(0.0999, DEFAULT_DRIFT_THRESHOLDS)).toBe('ok');
    expect(statusOf(0.1, DEFAULT_DRIFT_THRESHOLDS)).toBe('watch');
    expect(statusOf(0.2, DEFAULT_DRIFT_THRESHOLDS)).toBe('alert');
  });
});
