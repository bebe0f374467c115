/** The model card: what the model was trained on, how well it did, and how to reproduce it. */
import type { FieldInputCounts } from '../scoring/encoder.js';
import type { GbtParams } from './gbt.js';
import type { CalibrationBin, Metrics } from './metrics.js';

export interface TuningRow {
  maxDepth: number;
  learningRate: number;
  minLeaf: number;
  subsample: number;
  rounds: number;
  auc: number;
  logloss: number;
}

export interface ModelCard {
  modelVersion: string;
  createdAt: string;
  seed: number;
  algorithm: string;
  data: { source: string; sha256: string; rows: number; churned: number; retained: number };
  hyperParameters: GbtParams;
  model: { sha256: string; bytes: number; trees: number; nodes: number; rounds?: number; inputWidth: number; input: string; output: string };
  crossValidation: {
    folds: number;
    perFold: Metrics[];
    mean: Metrics;
    /** Reference models on the same folds: a logistic regression and a replica of scikit-learn's default GBM. */
    baselines: Array<{ name: string; perFold: Metrics[]; mean: Metrics }>;
  } | null;
  /** In-sample metrics of the final model (optimistic; for sanity only). */
  trainingMetrics: Metrics;
  /**
   * Values of the training data the spec could not use as given, per field: blank and unusable ones
   * were imputed (as scoring does), out-of-range ones (a negative amount) are data errors. Absent in
   * cards written before it was recorded.
   */
  inputQuality?: { records: number; fields: FieldInputCounts[] };
  /** Out-of-fold calibration, by decile of predicted probability. */
  calibration: CalibrationBin[];
  /** Share of total split gain, by field. */
  featureImportance: { field: string; label: string; share: number }[];
  tuning: TuningRow[];
}

const f4 = (x: number) => x.toFixed(4);

export function renderCardMarkdown(card: ModelCard): string {
  const lines: string[] = [];
  lines.push(`# Model card: ${card.modelVersion}`, '');
  lines.push(`- Algorithm: ${card.algorithm}`);
  lines.push(`- Trained: ${card.createdAt}, seed ${card.seed}`);
  lines.push(`- Data: \`${card.data.source}\`, ${card.data.rows} rows (${card.data.churned} churned, ${card.data.retained} retained), sha256 \`${card.data.sha256}\``);
  lines.push(`- Model: ${card.model.rounds !== undefined ? `${card.model.rounds} boosting rounds exported as ` : ''}${card.model.trees} trees, ${card.model.nodes} nodes, ${card.model.bytes} bytes, input \`${card.model.input}\` [N, ${card.model.inputWidth}], output \`${card.model.output}\` [N, 1], sha256 \`${card.model.sha256}\``);
  const hp = card.hyperParameters;
  lines.push(`- Hyper-parameters: rounds ${hp.rounds}, learning rate ${hp.learningRate}, max depth ${hp.maxDepth}, min leaf ${hp.minLeaf}, subsample ${hp.subsample}, λ ${hp.lambda}, max bins ${hp.maxBins}`, '');

  if (card.crossValidation) {
    const cv = card.crossValidation;
    lines.push(`## ${cv.folds}-fold cross-validation (stratified, seed ${card.seed})`, '');
    lines.push('| Model | Fold | ROC AUC | Log loss | Brier | Accuracy |', '|---|---|---|---|---|---|');
    cv.perFold.forEach((m, i) => lines.push(`| trees | ${i + 1} | ${f4(m.auc)} | ${f4(m.logloss)} | ${f4(m.brier)} | ${f4(m.accuracy)} |`));
    lines.push(`| **trees** | **mean** | **${f4(cv.mean.auc)}** | **${f4(cv.mean.logloss)}** | **${f4(cv.mean.brier)}** | **${f4(cv.mean.accuracy)}** |`);
    for (const baseline of cv.baselines) {
      const b = baseline.mean;
      lines.push(`| ${baseline.name} | mean | ${f4(b.auc)} | ${f4(b.logloss)} | ${f4(b.brier)} | ${f4(b.accuracy)} |`);
    }
    lines.push('');
  }
  const t = card.trainingMetrics;
  lines.push(`In-sample (all rows, optimistic): AUC ${f4(t.auc)}, log loss ${f4(t.logloss)}, Brier ${f4(t.brier)}, accuracy ${f4(t.accuracy)}.`, '');

  if (card.calibration.length > 0) {
    lines.push('## Calibration (out-of-fold, deciles of predicted probability)', '');
    lines.push('| Decile | Rows | Mean predicted | Observed churn |', '|---|---|---|---|');
    for (const b of card.calibration) lines.push(`| ${b.decile} | ${b.n} | ${f4(b.meanPredicted)} | ${f4(b.observedRate)} |`);
    lines.push('');
  }
  if (card.inputQuality) {
    lines.push('## Training inputs not used as given', '');
    if (card.inputQuality.fields.length === 0) lines.push(`Every value of the ${card.inputQuality.records} rows was used as given.`, '');
    else {
      lines.push(`Of ${card.inputQuality.records} rows. Blank and unusable values (not a number, a picklist value the spec does not know) are imputed as at scoring time; out-of-range ones (a negative amount) are data errors, and scoring refuses them.`, '');
      lines.push('| Field | Blank (imputed) | Unusable (imputed) | Out of range |', '|---|---|---|---|');
      for (const f of card.inputQuality.fields) lines.push(`| ${f.field} | ${f.blank} | ${f.unusable} | ${f.outOfRange} |`);
      lines.push('');
    }
  }
  lines.push('## Feature importance (share of split gain)', '');
  lines.push('| Field | Label | Share |', '|---|---|---|');
  for (const i of card.featureImportance) lines.push(`| ${i.field} | ${i.label} | ${(100 * i.share).toFixed(1)}% |`);
  lines.push('');
  if (card.tuning.length > 0) {
    lines.push('## Tuning grid (CV mean at the best round count per cell)', '');
    lines.push('| Depth | Learning rate | Min leaf | Subsample | Rounds | AUC | Log loss |', '|---|---|---|---|---|---|---|');
    for (const r of card.tuning) lines.push(`| ${r.maxDepth} | ${r.learningRate} | ${r.minLeaf} | ${r.subsample} | ${r.rounds} | ${f4(r.auc)} | ${f4(r.logloss)} |`);
    lines.push('');
  }
  lines.push('Reproduce: `bin/churn-worker train --csv <file> --seed ' + `${card.seed}` + '` with the same file (check its sha256) and the hyper-parameters above.', '');
  return lines.join('\n');
}
