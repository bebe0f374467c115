/** The scoring boundary: feature spec, ONNX session and reasons. */
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { ScoringEngine } from './engine.js';

export { ScoringEngine, isFailure } from './engine.js';
export type { Prediction, RecordFailure, RiskLevel, ScoreOptions, ScoreResult, ScoringEngineOptions } from './engine.js';
export type { Factor } from './reasons.js';
export type { AccountRecord } from './encoder.js';
export { defaultSpecPath, loadSpec, parseSpec, type FeatureSpec, type FeatureDef } from './spec.js';

/** Opens the process's scoring engine from config (MODEL_PATH, MODEL_SPEC_PATH, SCORING_THREADS). */
export function openScoringEngine(scoring: Config['scoring'], logger?: Logger): Promise<ScoringEngine> {
  return ScoringEngine.open({ modelPath: scoring.modelPath, specPath: scoring.specPath, threads: scoring.threads, logger });
}
