/**
 * Training end to end: labelled records → 5-fold CV (boosted trees and the logistic baseline, same
 * folds) → the final model on all rows → `<out>.onnx`, `<out>.spec.json`, `<out>.card.json`,
 * `<out>.card.md`. Deterministic for a given seed: the ONNX bytes depend only on the data, the
 * hyper-parameters and the seed (the date lives in the spec and card, not the model).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ACCOUNT_FIELDS } from '../core/account-fields.js';
import { createEncoder, describeTally, newInputTally, summarizeTally } from '../scoring/encoder.js';
import { parseSpec, type FeatureSpec } from '../scoring/spec.js';
import { buildReference } from '../scoring/drift.js';
import { toScore } from '../scoring/engine.js';
import { renderCardMarkdown, type ModelCard, type TuningRow } from './card.js';
import { crossValidateGbt, crossValidateLogistic, encodeAll } from './cv.js';
import type { LabelledData } from './dataset.js';
import { fitSpec } from './fit-spec.js';
import { DEFAULT_GBT, predictProba, trainGbt, type GbtParams } from './gbt.js';
import { calibrationDeciles, meanMetrics, metrics, type Metrics } from './metrics.js';
import { mergeStumps } from './merge-stumps.js';
import { treeEnsembleModel } from './onnx-builder.js';

export interface TrainOptions {
  /** Output path without extension, e.g. models/churn-gbt. */
  out: string;
  seed: number;
  params?: Partial<GbtParams>;
  /** Cross-validation folds; 0 skips CV (tests). @defaultValue 5 */
  folds?: number;
  /** Also cross-validate the reference models (logistic regression, scikit-learn-default GBM). @defaultValue true */
  baseline?: boolean;
  /** Grid-search depth / learning rate / min leaf / subsample / rounds by CV before the final fit. */
  tune?: boolean;
  now?: Date;
  progress?: (line: string) => void;
}

export interface TrainResult {
  modelPath: string;
  specPath: string;
  card: ModelCard;
}

export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'probability';

/**
 * The grid `--tune` searches; rounds are chosen per cell from CV checkpoints (every 10). Rounds are
 * capped at 300 because ORT's cost grows with the tree count and reasons score ~30 rows per account:
 * the cap keeps reasons above 10,000 accounts/s on one thread, at a CV cost below 0.001 AUC here.
 */
export const TUNING_GRID = {
  maxDepth: [1, 2, 3],
  learningRate: [0.05, 0.1],
  minLeaf: [50, 100],
  subsample: [0.5, 0.8],
  maxRounds: 300,
};

/**
 * The published reference on the held-back customers is scikit-learn's GradientBoostingClassifier with
 * its defaults; this replica (Newton leaves, no penalty, every row, leaves of one row allowed) scored on
 * the same folds tells how our CV relates to that reference (models/README.md).
 */
export const SKLEARN_GBM_DEFAULTS: GbtParams = { rounds: 100, learningRate: 0.1, maxDepth: 3, minLeaf: 1, subsample: 1, lambda: 0, maxBins: 255 };

function tune(data: LabelledData, base: GbtParams, folds: number, seed: number, progress: (l: string) => void): { best: GbtParams; rows: TuningRow[] } {
  const rows: TuningRow[] = [];
  const checkpoints = Array.from({ length: TUNING_GRID.maxRounds / 10 }, (_, i) => (i + 1) * 10);
  for (const maxDepth of TUNING_GRID.maxDepth) {
    for (const learningRate of TUNING_GRID.learningRate) {
      for (const minLeaf of TUNING_GRID.minLeaf) {
        for (const subsample of TUNING_GRID.subsample) {
          const params = { ...base, maxDepth, learningRate, minLeaf, subsample, rounds: TUNING_GRID.maxRounds };
          const cv = crossValidateGbt(data.records, data.labels, params, { folds, seed, checkpoints });
          let best: TuningRow | undefined;
          for (const [rounds, list] of cv.byRounds) {
            const m = meanMetrics(list);
            if (!best || m.logloss < best.logloss) best = { maxDepth, learningRate, minLeaf, subsample, rounds, auc: m.auc, logloss: m.logloss };
          }
          rows.push(best!);
          progress(`tune depth=${maxDepth} lr=${learningRate} minLeaf=${minLeaf} subsample=${subsample}: best ${best!.rounds} rounds, CV AUC ${best!.auc.toFixed(4)}, log loss ${best!.logloss.toFixed(4)}`);
        }
      }
    }
  }
  const top = [...rows].sort((a, b) => a.logloss - b.logloss)[0]!;
  return { best: { ...base, maxDepth: top.maxDepth, learningRate: top.learningRate, minLeaf: top.minLeaf, subsample: top.subsample, rounds: top.rounds }, rows };
}

/** `churn-gbt-2026-11-27-1a2b3c4d`: the output name, the training date and the model's hash, ≤ 40 chars. */
export function modelVersion(out: string, now: Date, modelSha256: string): string {
  const suffix = `-${now.toISOString().slice(0, 10)}-${modelSha256.slice(0, 8)}`;
  return `${basename(out).slice(0, 40 - suffix.length)}${suffix}`;
}

export function train(data: LabelledData, options: TrainOptions): TrainResult {
  const progress = options.progress ?? (() => {});
  const now = options.now ?? new Date();
  const folds = options.folds ?? 5;
  let params: GbtParams = { ...DEFAULT_GBT, ...options.params };
  const positives = data.labels.reduce((s, l) => s + l, 0);
  progress(`data: ${data.records.length} rows, ${positives} churned (${((100 * positives) / data.records.length).toFixed(1)}%), sha256 ${data.sha256.slice(0, 12)}…`);

  let tuning: TuningRow[] = [];
  if (options.tune && folds > 1) {
    const t = tune(data, params, folds, options.seed, progress);
    params = t.best;
    tuning = t.rows;
    progress(`tune: chose depth=${params.maxDepth} lr=${params.learningRate} minLeaf=${params.minLeaf} subsample=${params.subsample} rounds=${params.rounds}`);
  }

  let cv: ModelCard['crossValidation'] = null;
  let calibration: ModelCard['calibration'] = [];
  if (folds > 1) {
    const result = crossValidateGbt(data.records, data.labels, params, {
      folds,
      seed: options.seed,
      checkpoints: [params.rounds],
      onFold: (f) => progress(`cv: fold ${f + 1}/${folds} done`),
    });
    const perFold = result.byRounds.get(params.rounds)!;
    const baselines: NonNullable<ModelCard['crossValidation']>['baselines'] = [];
    if (options.baseline !== false) {
      const logistic = crossValidateLogistic(data.records, data.labels, { folds, seed: options.seed });
      baselines.push({ name: 'logistic regression (L2, λ=1, standardised)', perFold: logistic, mean: meanMetrics(logistic) });
      const gbm = crossValidateGbt(data.records, data.labels, SKLEARN_GBM_DEFAULTS, { folds, seed: options.seed, checkpoints: [SKLEARN_GBM_DEFAULTS.rounds] }).byRounds.get(SKLEARN_GBM_DEFAULTS.rounds)!;
      baselines.push({ name: "trees with scikit-learn GradientBoostingClassifier's defaults (depth 3, 100 rounds, lr 0.1, no subsample)", perFold: gbm, mean: meanMetrics(gbm) });
    }
    cv = { folds, perFold, mean: meanMetrics(perFold), baselines };
    calibration = calibrationDeciles(result.oof, data.labels);
    progress(`cv: AUC ${cv.mean.auc.toFixed(4)}, log loss ${cv.mean.logloss.toFixed(4)}, Brier ${cv.mean.brier.toFixed(4)}, accuracy ${cv.mean.accuracy.toFixed(4)}` + cv.baselines.map((b) => ` (${b.name.split(' (')[0]}: AUC ${b.mean.auc.toFixed(4)}, log loss ${b.mean.logloss.toFixed(4)})`).join(''));
  }

  // Final model on every row.
  const fitted = fitSpec(data.records, { inputName: INPUT_NAME, outputName: OUTPUT_NAME, now });
  const tally = newInputTally(createEncoder(fitted));
  const matrix = encodeAll(fitted, data.records, now, tally);
  const inputQuality = summarizeTally(createEncoder(fitted), tally);
  progress(`inputs: ${describeTally(inputQuality, data.records.length)}`);
  const step = Math.max(1, Math.round(params.rounds / 10));
  const model = trainGbt(matrix, data.labels, params, options.seed, {
    onTree: (round) => {
      if ((round + 1) % step === 0 || round + 1 === params.rounds) progress(`train: round ${round + 1}/${params.rounds}`);
    },
  });
  const inSampleP = predictProba(model, matrix);
  const inSample = metrics(inSampleP, data.labels);
  // Boosting rounds stay in the card; the exported ensemble merges stumps on a column (same predictions).
  const exported = mergeStumps(model.trees);
  const onnx = treeEnsembleModel({ trees: exported, baseValue: model.baseMargin, width: matrix.width, inputName: INPUT_NAME, outputName: OUTPUT_NAME, docString: 'Churn probability: gradient-boosted trees trained by churn-worker.' });
  const modelSha = createHash('sha256').update(onnx).digest('hex');
  const version = modelVersion(options.out, now, modelSha);
  // The training reference drift is measured against: the training rows' values and the model's scores of them.
  const monitoring = buildReference(fitted, data.records, Array.from(inSampleP, toScore), now);
  const spec: FeatureSpec = parseSpec({ ...fitted, modelVersion: version, monitoring }, 'fitted spec');

  const encoder = createEncoder(spec);
  const byField = new Map<string, number>();
  encoder.groups.forEach((g) => {
    let s = 0;
    for (let c = 0; c < g.width; c++) s += model.gain[g.offset + c]!;
    byField.set(g.field, s);
  });
  const totalGain = [...byField.values()].reduce((a, b) => a + b, 0) || 1;
  const importance = [...byField.entries()]
    .map(([field, gain]) => ({ field, label: ACCOUNT_FIELDS.find((f) => f.name === field)?.label ?? field, share: gain / totalGain }))
    .sort((a, b) => b.share - a.share);

  const card: ModelCard = {
    modelVersion: version,
    createdAt: now.toISOString(),
    seed: options.seed,
    algorithm: 'gradient-boosted trees, logistic loss (ai.onnx.ml TreeEnsembleRegressor + Sigmoid)',
    data: { source: data.source, sha256: data.sha256, rows: data.records.length, churned: positives, retained: data.records.length - positives },
    hyperParameters: params,
    model: { sha256: modelSha, bytes: onnx.length, trees: exported.length, nodes: exported.reduce((s, t) => s + t.featureIds.length, 0), rounds: model.trees.length, inputWidth: encoder.width, input: INPUT_NAME, output: OUTPUT_NAME },
    crossValidation: cv,
    trainingMetrics: inSample,
    calibration,
    featureImportance: importance,
    tuning,
    inputQuality: { records: data.records.length, fields: inputQuality },
  };

  mkdirSync(dirname(options.out) || '.', { recursive: true });
  const modelPath = `${options.out}.onnx`;
  const specPath = `${options.out}.spec.json`;
  writeFileSync(modelPath, onnx);
  writeFileSync(specPath, `${JSON.stringify(spec, null, 2)}\n`);
  writeFileSync(`${options.out}.card.json`, `${JSON.stringify(card, roundNumbers, 2)}\n`);
  writeFileSync(`${options.out}.card.md`, renderCardMarkdown(card));
  progress(`wrote ${modelPath} (${onnx.length} bytes, ${model.trees.length} rounds in ${exported.length} trees), ${specPath}, ${options.out}.card.json, ${options.out}.card.md`);
  return { modelPath, specPath, card };
}

function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;
}

export type { Metrics };
