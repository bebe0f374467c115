/**
 * The system of record wired for a process: PostgreSQL (checked reachable and at the schema this code
 * expects), the model registry, and the watch that keeps the process's scoring thread on the
 * registry's champion and shadow. A promotion publishes on Redis so every process looks at once; each
 * also looks every MODEL_POLL_MS, so a missed message delays a switch by seconds, never forever.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { ACCOUNT_FIELDS } from '../core/account-fields.js';
import { AppError, isAppError } from '../core/errors.js';
import { backgroundAppend } from '../db/background.js';
import { appendScoreHistory, supportsCopy, type HistoryRow } from '../db/history.js';
import { PgModelStore } from '../db/models.js';
import { appendShadowScores, type ShadowRow } from '../db/shadow.js';
import { requireCurrentSchema } from '../db/migrate.js';
import { checkDatabase, createPool, type DatabaseConfig } from '../db/pool.js';
import { ModelRegistry } from '../lifecycle/registry.js';
import type { Logger } from '../log/logger.js';
import { modelSwitches, observeModels } from '../observability/metrics.js';
import { checkModelBundle } from '../scoring/check.js';
import { parseSpec, defaultSpecPath } from '../scoring/spec.js';
import { filesModel, ScoringThread, type ModelSlot } from '../scoring/thread.js';

export const modelsChannel = (prefix: string) => `${prefix}:models`;

/** Where written and shadow scores are kept (the system of record); absent without DATABASE_URL. */
export interface ScoreRecorder {
  recordScores(rows: readonly HistoryRow[]): Promise<void>;
  recordShadow(rows: readonly ShadowRow[]): Promise<void>;
}

export interface SystemOfRecord {
  pool: pg.Pool;
  registry: ModelRegistry;
  /** COPY works (a real server; the demo's embedded one takes batched INSERTs instead). */
  copy: boolean;
  /** Appends scores written to Salesforce to the score history. */
  recordScores(rows: readonly HistoryRow[]): Promise<void>;
  /** Appends what the shadow said beside the champion. */
  recordShadow(rows: readonly ShadowRow[]): Promise<void>;
  close(): Promise<void>;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The model in MODEL_PATH (models/ by default) with its spec and card: what a first start registers. */
export function readShippedModel(scoring: Config['scoring']): { onnx: Uint8Array; spec: unknown; card?: unknown } {
  const specPath = scoring.specPath ?? defaultSpecPath(scoring.modelPath);
  const cardPath = scoring.modelPath.replace(/\.onnx$/, '.card.json');
  let card: unknown;
  try {
    card = JSON.parse(readFileSync(cardPath, 'utf8'));
  } catch {
    card = undefined;
  }
  return { onnx: new Uint8Array(readFileSync(scoring.modelPath)), spec: JSON.parse(readFileSync(specPath, 'utf8')), card };
}

const PROJECT_FIELDS: ReadonlySet<string> = new Set(ACCOUNT_FIELDS.map((f) => f.name));

/**
 * PostgreSQL and the registry for `database`. `publisher` tells running processes to look again
 * after a change (a Redis connection that can publish); `accountFields` are the fields a model may
 * read (the org's describe when the caller has it, else the fields this project deploys).
 */
export async function openSystemOfRecord(
  database: DatabaseConfig,
  options: { publisher?: Redis; prefix: string; accountFields?: { names: ReadonlySet<string>; source: string } },
): Promise<SystemOfRecord> {
  const pool = createPool(database);
  pool.on('error', () => undefined);
  try {
    await checkDatabase(pool, database);
    await requireCurrentSchema(pool, database);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const fields = options.accountFields ?? { names: PROJECT_FIELDS, source: 'the Account fields this project deploys' };
  const registry = new ModelRegistry({
    store: new PgModelStore(pool),
    validate: (model) => checkModelBundle(model, fields.names, fields.source),
    notify: async () => {
      await options.publisher?.publish(modelsChannel(options.prefix), 'changed').catch(() => undefined);
    },
    sha256,
  });
  const copy = await supportsCopy(pool);
  return {
    pool,
    registry,
    copy,
    recordScores: (rows) => appendScoreHistory(pool, rows, copy),
    recordShadow: (rows) => appendShadowScores(pool, rows, copy),
    close: () => pool.end(),
  };
}

/** The registry's models as scoring-thread slots: versions the thread has loaded by name, others as bytes. */
async function slotFor(registry: ModelRegistry, version: string, thread?: ScoringThread): Promise<ModelSlot> {
  const loaded = thread && (thread.models.champion.version === version || thread.models.shadow?.version === version);
  if (loaded) return { kind: 'loaded', version };
  const bundle = await registry.bundleOf(version);
  return { kind: 'bundle', onnx: bundle.onnx, spec: parseSpec(bundle.spec, `of version ${version}`) };
}

/** The champion (registering the shipped model at first start) as the slot to open the scoring thread with. */
export async function championSlot(registry: ModelRegistry, scoring: Config['scoring']): Promise<ModelSlot> {
  const version = await registry.ensureChampion(async () => readShippedModel(scoring));
  return slotFor(registry, version);
}

export interface ModelWatch {
  /** Looks at the registry now; resolves when the thread matches it (or the switch failed and was logged). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps `scoring` on the registry's champion and shadow. A model that fails the start-up checks in
 * this process is not switched to: the process keeps scoring with what it has and says why, once
 * per version.
 */
export function watchModels(options: { registry: ModelRegistry; scoring: ScoringThread; subscriber?: Redis; prefix: string; pollMs: number; logger: Logger }): ModelWatch {
  const { registry, scoring, logger } = options;
  const refused = new Set<string>();
  let running: Promise<void> | undefined;
  let again = false;

  const sync = async () => {
    const roles = await registry.roles();
    const current = scoring.models;
    if (!roles.champion) return;
    const key = `${roles.champion}|${roles.shadow ?? ''}`;
    if (roles.champion === current.champion.version && roles.shadow === (current.shadow?.version ?? null)) return;
    if (refused.has(key)) return;
    try {
      const champion = await slotFor(registry, roles.champion, scoring);
      const shadow = roles.shadow ? await slotFor(registry, roles.shadow, scoring) : null;
      const before = current.champion.version;
      await scoring.setModels(champion, shadow);
      modelSwitches.inc({ outcome: 'switched' });
      observeModels(scoring.models);
      logger.info({ champion: roles.champion, shadow: roles.shadow, previousChampion: before }, 'scoring models switched');
    } catch (error) {
      refused.add(key);
      modelSwitches.inc({ outcome: 'refused' });
      logger.error({ champion: roles.champion, shadow: roles.shadow, code: isAppError(error) ? error.code : undefined, err: error }, 'the registry\'s models failed their start-up checks here; scoring goes on with the current ones');
    }
  };

  const check = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await sync().catch((error: unknown) => logger.warn({ err: error }, 'could not read the model registry; will try again'));
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => void check(), options.pollMs);
  timer.unref();
  const channel = modelsChannel(options.prefix);
  const onMessage = (ch: string) => {
    if (ch === channel) void check();
  };
  if (options.subscriber) {
    options.subscriber.on('message', onMessage);
    void options.subscriber.subscribe(channel).catch((error: unknown) => logger.warn({ err: error }, 'could not subscribe to model changes; polling only'));
  }
  return {
    check,
    stop: async () => {
      clearInterval(timer);
      options.subscriber?.off('message', onMessage);
      await running;
    },
  };
}

/** In production the system of record is required; elsewhere its absence is said once. */
export function requireDatabase(config: Config, logger: Logger): void {
  if (config.database) return;
  if (config.production) {
    throw new AppError({
      code: 'DB_UNAVAILABLE',
      message: 'DATABASE_URL is not set, and NODE_ENV is production: the model registry, score history and run records need PostgreSQL.',
      hint: 'Add Heroku Postgres (heroku addons:create heroku-postgresql:essential-0), which sets DATABASE_URL, then run bin/churn-worker db migrate.',
    });
  }
  logger.warn('DATABASE_URL is not set: scoring with the model files in MODEL_PATH; no registry, score history or run records (required when NODE_ENV=production)');
}

export interface ProcessScoring {
  scoring: ScoringThread;
  sor?: SystemOfRecord;
  watch?: ModelWatch;
  /** Where written and shadow scores go (undefined without a system of record). */
  recorder?: ScoreRecorder;
  /** Shutdown steps, after the process has stopped taking work: stop watching, close the thread, close PostgreSQL. */
  close(): Promise<void>;
}

/**
 * The scoring thread of a web or worker process. With DATABASE_URL it scores with the registry's
 * champion (registering the shipped model at first start) and follows promotions; without it (never
 * in production) it scores with the model files.
 */
export async function startProcessScoring(config: Config, logger: Logger, publisher: Redis): Promise<ProcessScoring> {
  requireDatabase(config, logger);
  const threads = config.scoring.threads;
  if (!config.database) {
    const scoring = await ScoringThread.open(filesModel({ ...config.scoring, threads }), logger.child({ module: 'scoring' }));
    observeModels(scoring.models);
    return { scoring, close: () => scoring.close() };
  }
  const sor = await openSystemOfRecord(config.database, { publisher, prefix: config.queue.prefix });
  let scoring: ScoringThread | undefined;
  let subscriber: Redis | undefined;
  try {
    scoring = await ScoringThread.open({ model: await championSlot(sor.registry, config.scoring), threads }, logger.child({ module: 'scoring' }));
    subscriber = publisher.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    const watch = watchModels({ registry: sor.registry, scoring, subscriber, prefix: config.queue.prefix, pollMs: config.lifecycle.modelPollMs, logger: logger.child({ module: 'models' }) });
    await watch.check();
    observeModels(scoring.models);
    // Score history and shadow rows are appended in the background: a real-time batch is done when
    // Salesforce holds its scores, not after a round trip to PostgreSQL (drained at shutdown).
    const log = logger.child({ module: 'system-of-record' });
    const dropped = (what: string) => (error: unknown, rows: number) => log.warn({ err: error, rows }, `could not append ${rows} row(s) to the ${what}`);
    const history = config.lifecycle.history ? backgroundAppend<HistoryRow>((rows) => sor.recordScores(rows), { onError: dropped('score history') }) : undefined;
    const shadows = backgroundAppend<ShadowRow>((rows) => sor.recordShadow(rows), { onError: dropped('shadow scores') });
    const recorder: ScoreRecorder = { recordScores: (rows) => history?.add(rows) ?? Promise.resolve(), recordShadow: (rows) => shadows.add(rows) };
    const thread = scoring;
    const sub = subscriber;
    return {
      scoring: thread,
      sor,
      watch,
      recorder,
      close: async () => {
        await watch.stop();
        sub.disconnect();
        await thread.close();
        await Promise.all([history?.drain(), shadows.drain()]);
        await sor.close();
      },
    };
  } catch (error) {
    subscriber?.disconnect();
    await scoring?.close();
    await sor.close();
    throw error;
  }
}
