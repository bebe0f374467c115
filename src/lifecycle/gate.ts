/**
 * The promotion gate: whether a candidate may replace the champion, decided on the same labelled
 * Accounts for both. A candidate is promoted only when it is not worse than the champion beyond the
 * margins (AUC, log loss), its calibration is within bounds (no score decile whose mean prediction is
 * further than `calibrationMaxGap` from the churn rate observed in it), and the share of out-of-bounds
 * input values in the evaluation data stays under the interruption threshold (data that looks unlike
 * what any model was built for stops an automatic promotion). Otherwise it stays a candidate, and the
 * decision says which check failed. Pure: the registry records the decision (registry.ts `gate`).
 */

export interface GateSettings {
  /** How much lower the candidate's AUC may be. @defaultValue 0.01 */
  aucMargin: number;
  /** How much higher its log loss may be. @defaultValue 0.01 */
  loglossMargin: number;
  /** Largest |mean predicted − observed| in a score decile. @defaultValue 0.1 */
  calibrationMaxGap: number;
  /** Largest share of input values that are unusable or out of range (the interruption threshold). @defaultValue 0.05 */
  maxOutOfBounds: number;
}

export const DEFAULT_GATE: GateSettings = { aucMargin: 0.01, loglossMargin: 0.01, calibrationMaxGap: 0.1, maxOutOfBounds: 0.05 };

export interface EvaluatedModel {
  version: string;
  auc: number;
  logloss: number;
  brier: number;
  n: number;
  calibration: ReadonlyArray<{ n: number; meanPredicted: number; observedRate: number }>;
}

export interface GateCheck {
  name: 'auc' | 'logloss' | 'calibration' | 'out-of-bounds';
  passed: boolean;
  detail: string;
}

export interface GateDecision {
  candidate: EvaluatedModel;
  champion: EvaluatedModel | null;
  /** Share of the evaluation data's input values that were unusable or out of range. */
  outOfBoundsShare: number;
  settings: GateSettings;
  checks: GateCheck[];
  promote: boolean;
  /** One line for the promotion log. */
  reason: string;
}

const f4 = (x: number) => x.toFixed(4);

export function calibrationGap(model: Pick<EvaluatedModel, 'calibration'>): number {
  let gap = 0;
  for (const b of model.calibration) if (b.n > 0) gap = Math.max(gap, Math.abs(b.meanPredicted - b.observedRate));
  return gap;
}

export function decide(candidate: EvaluatedModel, champion: EvaluatedModel | null, outOfBoundsShare: number, settings: GateSettings = DEFAULT_GATE): GateDecision {
  const checks: GateCheck[] = [];
  if (champion) {
    const aucFloor = champion.auc - settings.aucMargin;
    checks.push({ name: 'auc', passed: candidate.auc >= aucFloor, detail: `AUC ${f4(candidate.auc)} vs champion ${f4(champion.auc)} (at least ${f4(aucFloor)})` });
    const loglossCeiling = champion.logloss + settings.loglossMargin;
    checks.push({ name: 'logloss', passed: candidate.logloss <= loglossCeiling, detail: `log loss ${f4(candidate.logloss)} vs champion ${f4(champion.logloss)} (at most ${f4(loglossCeiling)})` });
  }
  const gap = calibrationGap(candidate);
  checks.push({ name: 'calibration', passed: gap <= settings.calibrationMaxGap, detail: `largest decile gap between predicted and observed ${f4(gap)} (at most ${settings.calibrationMaxGap})` });
  checks.push({ name: 'out-of-bounds', passed: outOfBoundsShare <= settings.maxOutOfBounds, detail: `out-of-bounds input values ${(outOfBoundsShare * 100).toFixed(2)} % (at most ${(settings.maxOutOfBounds * 100).toFixed(2)} %)` });
  const failed = checks.filter((c) => !c.passed);
  const promote = failed.length === 0;
  const reason = promote
    ? `gate passed on ${candidate.n} labelled Accounts: ${checks.map((c) => c.detail).join('; ')}`
    : `kept as a candidate: ${failed.map((c) => c.detail).join('; ')}`;
  return { candidate, champion, outOfBoundsShare, settings, checks, promote, reason };
}
