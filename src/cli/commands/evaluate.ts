import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildReference } from '../../scoring/drift.js';
import { defaultSpecPath, parseSpec } from '../../scoring/spec.js';
import { loadConfig } from '../../config/index.js';
import { ScoringEngine } from '../../scoring/engine.js';
import { readTrainingCsv } from '../../training/dataset.js';
import { evaluate } from '../../training/evaluate.js';
import { table } from '../../training/metrics.js';
import { describeTally } from '../../scoring/encoder.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';

const usage = `Usage: churn-worker evaluate --csv <file> [--model <path>] [--spec <path>] [--write-reference]

Scores a labelled file (Telco Customer Churn columns) with the scoring engine the worker uses and
prints a summary; the last line of stdout is one JSON object:
{"auc":…,"logloss":…,"brier":…,"accuracy":…,"n":…}

  --model <path>   ONNX model (default MODEL_PATH, else models/churn-gbt.onnx)
  --spec <path>    its spec (default MODEL_SPEC_PATH, else the model path with .spec.json)
  --write-reference
                   also measure the training reference drift is watched against (the file's
                   values in quantile bins or levels, and the model's scores) and write it into
                   the spec file as its "monitoring" part: for a model trained elsewhere, run it
                   on the model's training file`;

export const command: Command = {
  name: 'evaluate',
  summary: 'Score a labelled CSV with the worker\'s scoring engine and print metrics.',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { csv: { type: 'string' }, model: { type: 'string' }, spec: { type: 'string' }, 'write-reference': { type: 'boolean' } } });
    if (!values.csv) throw new UsageError('evaluate: --csv <file> is required');
    const scoring = loadConfig().scoring;
    const modelPath = values.model ?? scoring.modelPath;
    const specPath = values.spec ?? (values.model ? defaultSpecPath(modelPath) : (scoring.specPath ?? defaultSpecPath(modelPath)));
    const engine = await ScoringEngine.open({ modelPath, specPath, threads: scoring.threads });
    try {
      const data = readTrainingCsv(values.csv);
      const result = await evaluate(engine, data);
      const m = result.metrics;
      console.log(`Model ${engine.modelVersion} on ${values.csv} (${data.records.length} rows, ${result.failures.length} not scored)\n`);
      console.log(table(['ROC AUC', 'log loss', 'Brier', 'accuracy', 'n'], [[m.auc, m.logloss, m.brier, m.accuracy, String(m.n)]]));
      console.log('');
      console.log(table(['risk', 'accounts', 'churned', 'churn rate'], Object.entries(result.riskCounts).map(([risk, c]) => [risk, String(c.n), String(c.churned), c.n ? c.churned / c.n : 0])));
      console.log('');
      console.log(table(['decile', 'n', 'mean predicted', 'observed'], result.calibration.map((b) => [String(b.decile), String(b.n), b.meanPredicted, b.observedRate])));
      for (const f of result.failures.slice(0, 5)) console.log(`not scored: ${f.id}: ${f.message}`);
      console.log(`inputs: ${describeTally(result.inputQuality, data.records.length)}`);
      if (values['write-reference']) {
        const monitoring = buildReference(engine.spec, data.records, result.scores, new Date());
        const raw = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
        const next = { ...raw, monitoring };
        parseSpec(next, specPath);
        writeFileSync(specPath, `${JSON.stringify(next, null, 2)}\n`);
        console.log(`training reference (${monitoring.rows} rows, ${monitoring.fields.length} fields, ${monitoring.score.shares.length} score bins) written to ${specPath}`);
      }
      const round = (x: number) => Number(x.toFixed(6));
      console.log(JSON.stringify({ auc: round(m.auc), logloss: round(m.logloss), brier: round(m.brier), accuracy: round(m.accuracy), n: m.n, notScored: result.failures.length, inputQuality: result.inputQuality }));
      return 0;
    } finally {
      await engine.close();
    }
  },
};
