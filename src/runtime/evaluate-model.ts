/**
 * `models evaluate`: a registered version and the champion scored by the worker's engine on the same
 * labelled Accounts, and the promotion gate's decision (lifecycle/gate.ts) on the result.
 */
import { AppError } from '../core/errors.js';
import { decide, type EvaluatedModel, type GateDecision, type GateSettings } from '../lifecycle/gate.js';
import type { ModelRegistry } from '../lifecycle/registry.js';
import { ScoringEngine } from '../scoring/engine.js';
import { parseSpec } from '../scoring/spec.js';
import type { LabelledData } from '../training/dataset.js';
import { evaluate, type Evaluation } from '../training/evaluate.js';

async function evaluateVersion(registry: ModelRegistry, version: string, data: LabelledData, threads: number): Promise<{ model: EvaluatedModel; evaluation: Evaluation; fields: number }> {
  const bundle = await registry.bundleOf(version);
  const engine = await ScoringEngine.load({ onnx: bundle.onnx, spec: parseSpec(bundle.spec, `registry version ${version}`), label: `version ${version}` }, threads);
  try {
    const evaluation = await evaluate(engine, data);
    const m = evaluation.metrics;
    return { model: { version, auc: m.auc, logloss: m.logloss, brier: m.brier, n: m.n, calibration: evaluation.calibration }, evaluation, fields: engine.spec.features.length };
  } finally {
    await engine.close();
  }
}

/** Scores the candidate and the champion on `data` and decides; records nothing (see registry.gate). */
export async function evaluateCandidate(registry: ModelRegistry, version: string, data: LabelledData, settings: GateSettings, threads = 1): Promise<GateDecision> {
  const { champion } = await registry.roles();
  if (champion === version) throw new AppError({ code: 'MODEL_TRANSITION_INVALID', message: `Model version ${version} is the champion already; evaluate a candidate against it.` });
  const candidate = await evaluateVersion(registry, version, data, threads);
  const current = champion ? (await evaluateVersion(registry, champion, data, threads)).model : null;
  // Values the candidate could not use as given (unusable, out of range), per value read.
  let odd = 0;
  for (const f of candidate.evaluation.inputQuality) odd += f.unusable + f.outOfRange;
  const share = data.records.length > 0 ? odd / (data.records.length * candidate.fields) : 0;
  return decide(candidate.model, current, share, settings);
}
