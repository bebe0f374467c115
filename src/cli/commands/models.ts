/**
 * `churn-worker models …`: the model registry from the command line. Every change is recorded in the
 * promotion log with who (`--by`, default the OS user) and why (`--reason`, required), and running
 * processes switch within seconds (Redis tells them at once; they also look every MODEL_POLL_MS).
 */
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../config/index.js';
import { AppError } from '../../core/errors.js';
import { compareShadow } from '../../db/shadow.js';
import { metricsFromCard, type Actor, type ModelVersionInfo, type PromotionEntry } from '../../lifecycle/registry.js';
import { connectRedis } from '../../queue/redis.js';
import { DEFAULT_GATE } from '../../lifecycle/gate.js';
import { evaluateCandidate } from '../../runtime/evaluate-model.js';
import { readTrainingCsv } from '../../training/dataset.js';
import { openSystemOfRecord, type SystemOfRecord } from '../../runtime/models.js';
import { SalesforceClient } from '../../salesforce/client.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { requireDatabaseUrl } from './db.js';

const usage = `Usage: churn-worker models <action> [options]

Actions:
  list                                 every registered version with its status and metrics
  show <version>                       one version: source, metrics, features, its promotion log
  import <model.onnx> <spec.json> [--card <card.json>] --reason <why>
                                       register a model as a candidate after the start-up checks
  shadow <version> --reason <why>      score live traffic with it too, without writing its scores
  unshadow --reason <why>              stop shadow scoring
  promote <version> --reason <why>     make it the champion (the current one is retired)
  rollback --reason <why>              go back to the champion the last promotion replaced
  compare <version>                    how a shadow's scores agree with the champion's so far
  evaluate <version> --csv <file> [--apply]
                                       score it and the champion on the same labelled file and
                                       say what the promotion gate decides; --apply records the
                                       decision in the promotion log and promotes when it passed
  log                                  the promotion log, newest first

Options:
  --reason <text>   why (recorded in the promotion log; required for every change)
  --by <name>       who (default: the OS user and host)
  --json            list, show, compare, log, evaluate: print JSON
  --auc-margin, --logloss-margin, --calibration-max-gap, --max-out-of-bounds
                    the gate's bounds for evaluate (defaults 0.01, 0.01, 0.1, 0.05)

Needs DATABASE_URL; changes reach running processes through Redis (REDIS_URL) at once, or within
MODEL_POLL_MS without it.`;

function who(values: { reason?: string; by?: string }, action: string): Actor {
  if (!values.reason?.trim()) throw new UsageError(`models ${action}: --reason is required (the promotion log records why)`, usage);
  return { actor: values.by?.trim() || `cli:${userInfo().username}@${hostname()}`, reason: values.reason.trim() };
}

function formatMetrics(m: ModelVersionInfo): string {
  const metrics = m.metrics ?? {};
  const pick = (k: string) => (typeof metrics[k] === 'number' ? `${k} ${(metrics[k] as number).toFixed(4)}` : undefined);
  return [pick('auc'), pick('logloss'), pick('brier')].filter(Boolean).join(', ') || '—';
}

function formatEntry(e: PromotionEntry): string {
  return `${e.at.toISOString()}  ${e.action.padEnd(8)} ${e.version}${e.previous ? ` (was ${e.previous})` : ''}  by ${e.actor}: ${e.reason}`;
}

/** The fields a model may read: the org's Account fields when Salesforce settings are present. */
async function accountFields(config: Config): Promise<{ names: ReadonlySet<string>; source: string } | undefined> {
  if (!config.salesforce) return undefined;
  const client = await SalesforceClient.connect(config.salesforce, { retry: { maxRetries: 0 } });
  const { fields } = await client.describe('Account');
  return { names: new Set(fields.map((f) => f.name)), source: `the org's Account fields (describe)` };
}

async function open(config: Config, withFields = false): Promise<{ sor: SystemOfRecord; redis?: Redis }> {
  const database = requireDatabaseUrl(config);
  let redis: Redis | undefined;
  try {
    redis = await connectRedis(config.redisUrl, 'command', 2_000);
  } catch {
    console.error(`models: Redis does not answer; running processes will see the change within ${config.lifecycle.modelPollMs} ms instead of at once.`);
  }
  const sor = await openSystemOfRecord(database, { publisher: redis, prefix: config.queue.prefix, accountFields: withFields ? await accountFields(config) : undefined });
  return { sor, redis };
}

export const command: Command = {
  name: 'models',
  summary: 'The model registry: list, show, import, shadow, promote, roll back, compare.',
  usage,
  handlesHelp: true,
  async run(argv) {
    const [action, ...rest] = argv;
    if (action === undefined) throw new UsageError('models: which action?', usage);
    if (action === '--help' || action === '-h') {
      console.log(usage);
      return 0;
    }
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        reason: { type: 'string' },
        by: { type: 'string' },
        card: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        csv: { type: 'string' },
        apply: { type: 'boolean' },
        'auc-margin': { type: 'string' },
        'logloss-margin': { type: 'string' },
        'calibration-max-gap': { type: 'string' },
        'max-out-of-bounds': { type: 'string' },
      },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    const arity: Record<string, number> = { list: 0, show: 1, import: 2, shadow: 1, unshadow: 0, promote: 1, rollback: 0, compare: 1, log: 0, evaluate: 1 };
    if (!(action in arity)) throw new UsageError(`models: unknown action "${action}"`, usage);
    if (positionals.length !== arity[action]) throw new UsageError(`models ${action} takes ${arity[action]} argument(s), got ${positionals.length}`, usage);
    if (action === 'evaluate' && !values.csv) throw new UsageError('models evaluate: --csv <labelled file> is required', usage);
    const bound = (name: 'auc-margin' | 'logloss-margin' | 'calibration-max-gap' | 'max-out-of-bounds', fallback: number) => {
      const raw = values[name];
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`models evaluate: --${name} must be a number ≥ 0, got "${raw}"`, usage);
      return n;
    };
    const gate = { aucMargin: bound('auc-margin', DEFAULT_GATE.aucMargin), loglossMargin: bound('logloss-margin', DEFAULT_GATE.loglossMargin), calibrationMaxGap: bound('calibration-max-gap', DEFAULT_GATE.calibrationMaxGap), maxOutOfBounds: bound('max-out-of-bounds', DEFAULT_GATE.maxOutOfBounds) };
    const config = loadConfig();
    const { sor, redis } = await open(config, action === 'import');
    const { registry } = sor;
    const print = (value: unknown, text: () => string) => console.log(values.json ? JSON.stringify(value, null, 2) : text());
    try {
      switch (action) {
        case 'list': {
          const models = await registry.list();
          print(models, () =>
            models.length === 0
              ? 'No model is registered yet (the first web or worker start registers the shipped one).'
              : models.map((m) => `${m.status.padEnd(9)} ${m.version}  ${m.source.padEnd(18)} ${m.createdAt.toISOString()}  ${formatMetrics(m)}`).join('\n'),
          );
          return 0;
        }
        case 'show': {
          const { model, log } = await registry.show(positionals[0]!);
          print({ ...model, log }, () =>
            [
              `${model.version}: ${model.status} (since ${model.statusAt.toISOString()}), ${model.source}, registered ${model.createdAt.toISOString()}`,
              `  sha256 ${model.sha256}`,
              `  metrics: ${formatMetrics(model)}`,
              `  features (${model.features.length}): ${model.features.join(', ')}`,
              ...(model.note ? [`  note: ${model.note}`] : []),
              '  log:',
              ...log.map((e) => `    ${formatEntry(e)}`),
            ].join('\n'),
          );
          return 0;
        }
        case 'import': {
          const actor = who(values, 'import');
          const [onnxPath, specPath] = positionals as [string, string];
          const read = (path: string, what: string) => {
            try {
              return readFileSync(path);
            } catch (error) {
              throw new AppError({ code: 'MODEL_INVALID', message: `The ${what} ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, cause: error });
            }
          };
          const parseJson = (path: string, what: string) => {
            try {
              return JSON.parse(read(path, what).toString('utf8')) as unknown;
            } catch (error) {
              if (error instanceof AppError) throw error;
              throw new AppError({ code: 'MODEL_INVALID', message: `The ${what} ${path} is not JSON: ${(error as Error).message}.`, cause: error });
            }
          };
          const card = values.card ? parseJson(values.card, 'model card') : undefined;
          const metrics = metricsFromCard(card);
          const { model, created } = await registry.register({ onnx: new Uint8Array(read(onnxPath, 'model file')), spec: parseJson(specPath, 'spec'), card, source: 'imported', metrics }, actor);
          console.log(created ? `Registered ${model.version} as a candidate (sha256 ${model.sha256.slice(0, 12)}…).` : `${model.version} is already registered with the same bytes (${model.status}).`);
          return 0;
        }
        case 'shadow':
          await registry.shadow(positionals[0]!, who(values, 'shadow'));
          console.log(`${positionals[0]} is the shadow: every process scores with it too, without writing its scores.`);
          return 0;
        case 'unshadow': {
          const was = await registry.unshadow(who(values, 'unshadow'));
          console.log(was ? `${was} is no longer the shadow.` : 'There was no shadow.');
          return 0;
        }
        case 'promote': {
          const { previous } = await registry.promote(positionals[0]!, who(values, 'promote'));
          console.log(previous === null ? `${positionals[0]} is already the champion.` : `${positionals[0]} is the champion (was ${previous}); processes switch within seconds.`);
          return 0;
        }
        case 'rollback': {
          const { from, to } = await registry.rollback(who(values, 'rollback'));
          console.log(`Rolled back: ${to} is the champion again (was ${from}).`);
          return 0;
        }
        case 'compare': {
          const comparison = await compareShadow(sor.pool, positionals[0]!);
          print(comparison, () => comparison.text);
          return 0;
        }
        case 'evaluate': {
          const data = readTrainingCsv(values.csv!);
          const decision = await evaluateCandidate(registry, positionals[0]!, data, gate, config.scoring.threads);
          const line = (m: { version: string; auc: number; logloss: number; brier: number; n: number }) => `${m.version}: AUC ${m.auc.toFixed(4)}, log loss ${m.logloss.toFixed(4)}, Brier ${m.brier.toFixed(4)} on ${m.n} Accounts`;
          console.log([`candidate ${line(decision.candidate)}`, ...(decision.champion ? [`champion  ${line(decision.champion)}`] : []), ...decision.checks.map((c) => `  ${c.passed ? 'pass' : 'FAIL'} ${c.name}: ${c.detail}`), decision.promote ? 'The gate would promote it.' : 'The gate keeps it a candidate.'].join('\n'));
          let applied: { promoted: boolean; previous: string | null } | undefined;
          if (values.apply) {
            applied = await registry.gate(decision, { actor: values.by?.trim() || `cli:${userInfo().username}@${hostname()}` });
            console.log(applied.promoted ? `${decision.candidate.version} is the champion (was ${applied.previous}); the decision is in the promotion log.` : `${decision.candidate.version} stays a candidate; the decision is in the promotion log.`);
          }
          console.log(JSON.stringify({ version: decision.candidate.version, promote: decision.promote, applied: applied?.promoted ?? null, reason: decision.reason, candidate: decision.candidate, champion: decision.champion, outOfBoundsShare: decision.outOfBoundsShare, checks: decision.checks }));
          return 0;
        }
        case 'log': {
          const log = await registry.log(50);
          print(log, () => log.map(formatEntry).join('\n') || 'The promotion log is empty.');
          return 0;
        }
      }
      return 0;
    } finally {
      await sor.close();
      redis?.disconnect();
    }
  },
};
