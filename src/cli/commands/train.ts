import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log/logger.js';
import { readTrainingCsv } from '../../training/dataset.js';
import { DEFAULT_GBT } from '../../training/gbt.js';
import { train } from '../../training/train.js';
import { metricsFromCard } from '../../lifecycle/registry.js';
import { openSystemOfRecord } from '../../runtime/models.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { requireDatabaseUrl } from './db.js';

const usage = `Usage: churn-worker train (--csv <file> | --from-salesforce) [options]

Trains gradient-boosted trees on labelled customers and writes <out>.onnx, <out>.spec.json,
<out>.card.json and <out>.card.md. Progress goes to stderr.

  --csv <file>          Telco Customer Churn columns (customerID, gender, ..., TotalCharges, Churn)
  --from-salesforce     every Account with its input fields and Churned__c (SF_* variables)
  --out <path>          output path without extension (default models/churn-gbt)
  --seed <n>            seed for folds and subsampling (default 42)
  --folds <k>           cross-validation folds for the card (default 5; 0 skips)
  --tune                grid-search depth, learning rate, min leaf, subsample and rounds by CV first
  --rounds <n>          boosting rounds (default ${DEFAULT_GBT.rounds})
  --learning-rate <x>   shrinkage (default ${DEFAULT_GBT.learningRate})
  --depth <n>           maximum tree depth (default ${DEFAULT_GBT.maxDepth})
  --min-leaf <n>        fewest rows in a leaf (default ${DEFAULT_GBT.minLeaf})
  --subsample <x>       share of rows per tree (default ${DEFAULT_GBT.subsample})
  --register            also register the model as a candidate in the model registry (DATABASE_URL);
                        bin/churn-worker models shadow|promote <version> then puts it to work
  --reason <text>       why, for the promotion log (with --register; default: what it was trained on)`;

function num(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0) throw new UsageError(`--${name} takes a ${integer ? 'whole ' : ''}number ≥ 0, got "${value}"`);
  return n;
}

export const command: Command = {
  name: 'train',
  summary: 'Train the churn model.',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        csv: { type: 'string' },
        'from-salesforce': { type: 'boolean', default: false },
        out: { type: 'string', default: 'models/churn-gbt' },
        seed: { type: 'string', default: '42' },
        folds: { type: 'string', default: '5' },
        tune: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        'learning-rate': { type: 'string' },
        depth: { type: 'string' },
        'min-leaf': { type: 'string' },
        subsample: { type: 'string' },
        register: { type: 'boolean', default: false },
        reason: { type: 'string' },
      },
    });
    if (Boolean(values.csv) === values['from-salesforce']) throw new UsageError('train: give exactly one of --csv <file> or --from-salesforce');
    const seed = num('seed', values.seed, true)!;
    const folds = num('folds', values.folds, true)!;
    const picked = {
      rounds: num('rounds', values.rounds, true),
      learningRate: num('learning-rate', values['learning-rate'], false),
      maxDepth: num('depth', values.depth, true),
      minLeaf: num('min-leaf', values['min-leaf'], true),
      subsample: num('subsample', values.subsample, false),
    };
    const params = Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined));
    // Checked before the training, which can take minutes, not after it.
    const database = values.register ? requireDatabaseUrl(loadConfig()) : undefined;
    let data;
    if (values.csv) {
      data = readTrainingCsv(values.csv);
    } else {
      const config = loadConfig(undefined, { need: ['salesforce'] });
      const { readTrainingFromSalesforce } = await import('../../training/salesforce-source.js');
      data = await readTrainingFromSalesforce(config.salesforce!, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
    }
    const started = Date.now();
    const result = train(data, {
      out: values.out!,
      seed,
      folds,
      tune: values.tune,
      params,
      progress: (line) => process.stderr.write(`[train ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`),
    });
    const cv = result.card.crossValidation;
    console.log(`Model ${result.card.modelVersion} written to ${result.modelPath} and ${result.specPath}.`);
    if (cv) console.log(`CV (${cv.folds} folds): AUC ${cv.mean.auc.toFixed(4)}, log loss ${cv.mean.logloss.toFixed(4)}, Brier ${cv.mean.brier.toFixed(4)}, accuracy ${cv.mean.accuracy.toFixed(4)}.`);
    if (database) {
      const config = loadConfig();
      const sor = await openSystemOfRecord(database, { prefix: config.queue.prefix });
      try {
        const source = values.csv ? 'trained-csv' : 'trained-salesforce';
        const reason = values.reason?.trim() || (values.csv ? `trained on ${values.csv}` : "trained on the org's labelled Accounts");
        const { model, created } = await sor.registry.register(
          { onnx: new Uint8Array(readFileSync(result.modelPath)), spec: JSON.parse(readFileSync(result.specPath, 'utf8')), card: result.card, source, metrics: metricsFromCard(result.card) },
          { actor: `cli:${userInfo().username}@${hostname()}`, reason },
        );
        console.log(created ? `Registered ${model.version} as a candidate: bin/churn-worker models shadow ${model.version} --reason … compares it on live traffic; models promote makes it the champion.` : `${model.version} was already registered (${model.status}).`);
      } finally {
        await sor.close();
      }
    }
    return 0;
  },
};
