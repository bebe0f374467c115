import { describe, expect, it } from 'vitest';
import { decide, DEFAULT_GATE, type EvaluatedModel } from '../../src/lifecycle/gate.js';

const calibrated = Array.from({ length: 10 }, (_, d) => ({ n: 100, meanPredicted: (d + 0.5) / 10, observedRate: (d + 0.5) / 10 + 0.02 }));
const model = (version: string, auc: number, logloss: number, calibration = calibrated): EvaluatedModel => ({ version, auc, logloss, brier: 0.13, n: 1000, calibration });

describe('the promotion gate', () => {
  const champion = model('champ', 0.85, 0.41);

  it('when the candidate is better, or worse only within the margins, then it is promoted', () => {
    expect(decide(model('better', 0.87, 0.39), champion, 0).promote).toBe(true);
    const close = decide(model('close', 0.845, 0.415), champion, 0.01);
    expect(close.promote).toBe(true);
    expect(close.reason).toMatch(/^gate passed on 1000 labelled Accounts/);
  });

  it('when the candidate is worse beyond a margin, then it is kept as a candidate and the reason names the failed check', () => {
    const worse = decide(model('worse', 0.8, 0.41), champion, 0);
    expect(worse.promote).toBe(false);
    expect(worse.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['auc']);
    expect(worse.reason).toBe('kept as a candidate: AUC 0.8000 vs champion 0.8500 (at least 0.8400)');
    expect(decide(model('lossy', 0.86, 0.43), champion, 0).checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['logloss']);
  });

  it('when the candidate is miscalibrated or the data is out of bounds, then it is not promoted even if it ranks better', () => {
    const skewed = calibrated.map((b, d) => (d === 9 ? { ...b, observedRate: b.meanPredicted - 0.2 } : b));
    expect(decide(model('skewed', 0.9, 0.35, skewed), champion, 0).checks.find((c) => !c.passed)?.name).toBe('calibration');
    const odd = decide(model('fine', 0.9, 0.35), champion, DEFAULT_GATE.maxOutOfBounds + 0.001);
    expect(odd.promote).toBe(false);
    expect(odd.checks.find((c) => !c.passed)?.name).toBe('out-of-bounds');
  });

  it('when there is no champion yet, then only calibration and the data are checked', () => {
    const first = decide(model('first', 0.7, 0.5), null, 0);
    expect(first.checks.map((c) => c.name)).toEqual(['calibration', 'out-of-bounds']);
    expect(first.promote).toBe(true);
  });
});
