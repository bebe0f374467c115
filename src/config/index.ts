/**
 * The only module that reads `process.env`. It parses the environment once, with a schema, into a
 * typed and frozen object; a missing or malformed variable becomes an AppError naming the variable
 * and what it should look like.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { isIP } from 'node:net';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import type { DatabaseConfig } from '../db/pool.js';
import { isRecordId } from '../core/record-id.js';

const MY_DOMAIN = /\.my\.salesforce\.com$/i;

/**
 * The project's root directory (the folder with package.json), from this module's place in `src/` or
 * `dist/`. Relative paths in the configuration resolve against it, not against the current directory,
 * so `bin/churn-worker` behaves the same wherever it is started from.
 */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** An absolute path for a configured one: relative paths are taken from the project root. */
export function projectPath(path: string): string {
  return isAbsolute(path) ? path : resolve(PROJECT_ROOT, path);
}

/**
 * Reads `.env` in the project root (or the file `ENV_FILE` names; `ENV_FILE=none` reads none) into
 * `process.env`, like Node's `--env-file-if-exists`: variables already set in the environment win, a
 * missing file is not an error (Heroku has none and needs none). Returns the file read, if any.
 */
export function applyEnvFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.ENV_FILE;
  if (named === 'none') return undefined;
  const file = projectPath(named || '.env');
  if (!existsSync(file)) {
    if (named) fail('ENV_FILE', `names ${file}, which does not exist (ENV_FILE=none reads no file)`);
    return undefined;
  }
  let values: Record<string, string>;
  try {
    values = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (error) {
    fail('ENV_FILE', `names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, error);
  }
  for (const [key, value] of Object.entries(values)) if (env[key] === undefined) env[key] = value;
  return file;
}

const apiVersion = z
  .string()
  .regex(/^\d{2,3}\.0$/, 'a Salesforce API version such as 66.0')
  .refine((v) => Number(v) >= 66, 'API version 66.0 or newer');

const httpUrl = z
  .string()
  .url('an absolute URL such as https://login.salesforce.com')
  .refine((v) => /^https?:\/\//.test(v), 'an http(s) URL')
  .transform((v) => v.replace(/\/+$/, ''));

/** A whole number from an environment string; `abc` reads "a whole number", not "received NaN". */
const wholeNumber = z.coerce.number({ error: 'a whole number' }).int('a whole number');
const positiveInt = wholeNumber.positive('a number above 0');

/** An IPv4 or IPv6 address with an optional prefix length: 13.108.0.0/14, 2001:db8::/32, 10.1.2.3. */
function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const cidrList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
  .refine((list) => list.every(isCidr), 'a comma-separated list of IP networks such as 13.108.0.0/14, 2001:db8::/32');

/** Express `trust proxy`: a hop count, or proxy addresses / networks / loopback, linklocal, uniquelocal. */
const trustProxy = z
  .string()
  .refine(
    (v) => v === 'false' || /^\d{1,2}$/.test(v) || v.split(',').every((s) => ['loopback', 'linklocal', 'uniquelocal'].includes(s.trim()) || isCidr(s.trim())),
    'false, the number of proxies in front of the app (1 on Heroku), or a comma-separated list of proxy addresses or networks; never true, which would let any client choose its address',
  )
  .transform((v): false | number | string => (v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v));

/** Every variable the project reads, with its default. `.env.example` documents each one. */
const envSchema = z.object({
  NODE_ENV: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: wholeNumber.min(0, 'a port from 0 to 65535').max(65535, 'a port from 0 to 65535').default(3000),
  REDIS_URL: z
    .string()
    .refine((v) => /^rediss?:\/\//.test(v), 'a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  SF_LOGIN_URL: httpUrl.default('https://login.salesforce.com'),
  SF_AUDIENCE: httpUrl
    .refine((v) => !MY_DOMAIN.test(new URL(v).hostname), 'https://login.salesforce.com or https://test.salesforce.com, never a My Domain URL')
    .optional(),
  SF_CLIENT_ID: z.string().min(1).optional(),
  SF_USERNAME: z.string().min(3).includes('@', { message: 'a Salesforce username (it looks like an email address)' }).optional(),
  SF_PRIVATE_KEY: z.string().min(1).optional(),
  SF_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  SF_API_VERSION: apiVersion.default('66.0'),
  SF_ORG_ID: z
    .string()
    .regex(/^00D[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$/, 'a 15- or 18-character organization id starting with 00D')
    .optional(),
  SF_TOKEN_TIMEOUT_MS: positiveInt.default(15_000),
  QUEUE_PREFIX: z.string().regex(/^\{[\w-]+\}$/, 'a Redis hash tag such as {churn}').default('{churn}'),
  REALTIME_WINDOW_MS: positiveInt.default(250),
  REALTIME_MAX_BATCH: wholeNumber.min(1).max(200, 'at most 200 (one sObject Collections call)').default(200),
  REALTIME_CONCURRENCY: positiveInt.default(4),
  REALTIME_MAX_ATTEMPTS: positiveInt.default(8),
  REALTIME_RETRY_BASE_MS: positiveInt.default(1_000),
  WORKER_LOCK_DURATION_MS: positiveInt.default(30_000),
  SF_LIMIT_PAUSE_MS: positiveInt.default(60_000),
  OUTBOUND_PATH: z.string().regex(/^\/[\w\-./]*$/, 'a URL path starting with /').default('/salesforce/outbound/account'),
  OUTBOUND_MAX_BODY_BYTES: positiveInt.default(2_000_000),
  OUTBOUND_ENQUEUE_TIMEOUT_MS: positiveInt.default(3_000),
  OUTBOUND_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{32,256}$/, 'at least 32 letters, digits, - or _ (it is part of a URL), e.g. the output of openssl rand -hex 32')
    .optional(),
  OUTBOUND_ALLOWED_NETWORKS: cidrList.optional(),
  TRUST_PROXY: trustProxy.default(false),
  MONITORING_TOKEN: z.string().min(24, 'at least 24 characters').optional(),
  PREDICT_JWT_PUBLIC_KEYS: z.string().min(1).optional(),
  PREDICT_JWT_PUBLIC_KEYS_FILE: z.string().min(1).optional(),
  PREDICT_JWT_ISSUER: z.string().min(1).optional(),
  PREDICT_JWT_AUDIENCE: z.string().min(1).default('churn-prediction-api'),
  ENV_FILE: z.string().min(1).optional(),
  PREDICT_JWT_MAX_LIFETIME_SECONDS: wholeNumber.min(10, 'at least 10').max(3_600, 'at most 3600 (one hour)').default(300),
  MODEL_PATH: z.string().min(1).default('models/churn-gbt.onnx'),
  MODEL_SPEC_PATH: z.string().min(1).optional(),
  SCORING_THREADS: positiveInt.default(1),
  NIGHTLY_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  NIGHTLY_CRON: z
    .string()
    .regex(/^\S+(\s+\S+){4,5}$/, 'a cron pattern with 5 or 6 fields, e.g. "0 0 2 * * *"')
    .default('0 0 2 * * *'),
  NIGHTLY_TZ: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'an IANA time zone such as UTC or Europe/Paris')
    .default('UTC'),
  NIGHTLY_CHUNK_SIZE: wholeNumber.min(1_000, 'at least 1000').default(500_000),
  NIGHTLY_SCORE_BATCH: wholeNumber.min(100).max(100_000).default(2_000),
  NIGHTLY_CONCURRENCY: positiveInt.default(1),
  NIGHTLY_API_RESERVE: wholeNumber.min(0).default(5_000),
  NIGHTLY_BULK_BATCH_RESERVE: wholeNumber.min(0).default(1_500),
  NIGHTLY_RESERVE_WAIT_MS: positiveInt.default(15 * 60_000),
  NIGHTLY_POLL_INITIAL_MS: positiveInt.default(1_000),
  NIGHTLY_POLL_MAX_MS: positiveInt.default(30_000),
  // Bulk API 2.0 counts 150 MB after base64 encoding and asks for raw uploads of at most 100 MB.
  NIGHTLY_INGEST_MAX_BYTES: wholeNumber.min(1_000).max(100_000_000, 'at most 100000000 (Bulk API 2.0 asks for uploads of at most 100 MB: its 150 MB limit is after base64 encoding)').default(100_000_000),
  NIGHTLY_RETRY_ATTEMPTS: positiveInt.default(5),
  NIGHTLY_RESULT_IDLE_TIMEOUT_MS: wholeNumber.min(1_000, 'at least 1000').default(120_000),
  NIGHTLY_SPLIT_PAGE_FROM: wholeNumber.min(0).default(200_000),
  NIGHTLY_REASONS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'a postgres:// URL (Heroku Postgres sets it)')
    .optional(),
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case PostgreSQL schema name such as public').default('public'),
  DATABASE_TLS: z.enum(['auto', 'off', 'verify']).default('auto'),
  MODEL_POLL_MS: wholeNumber.min(500, 'at least 500').default(5_000),
  HISTORY_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  HISTORY_RETENTION_DAYS: wholeNumber.min(1, 'at least 1').default(400),
  MONITORING_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  DRIFT_PSI_WATCH: z.coerce.number({ error: 'a number' }).min(0).max(10).default(0.1),
  DRIFT_PSI_ALERT: z.coerce.number({ error: 'a number' }).min(0).max(10).default(0.2),
  DRIFT_REALTIME_WINDOW_MINUTES: positiveInt.max(10_080, 'at most 10080 (a week)').default(60),
  LABEL_FIELD: z.union([z.literal(''), z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'an Account checkbox field API name such as Churned__c, or empty (off)')]).default('Churned__c'),
  ACCURACY_HORIZON_DAYS: positiveInt.max(3_650).default(30),
  ACCURACY_WINDOW_DAYS: positiveInt.max(3_650).default(90),
  ACCURACY_MIN_LABELS: positiveInt.default(200),
  ADMIN_USER: z.string().min(1).optional(),
  ADMIN_PASSWORD: z.string().min(12, 'at least 12 characters').optional(),
  WORKER_METRICS_PORT: wholeNumber.min(0, 'a port from 0 to 65535').max(65535, 'a port from 0 to 65535').optional(),
});

type Env = z.infer<typeof envSchema>;

export interface SalesforceConfig {
  /** Where the token request is POSTed (login, test, My Domain or the local emulator). */
  readonly loginUrl: string;
  /** The JWT `aud`: login.salesforce.com, test.salesforce.com or a configured URL, never My Domain. */
  readonly audience: string;
  readonly clientId: string;
  readonly username: string;
  /** Parsed once; a KeyObject prints no key material if it is ever logged. */
  readonly privateKey: KeyObject;
  readonly apiVersion: string;
  readonly orgId?: string;
  readonly tokenTimeoutMs: number;
}

export interface Config {
  /**
   * NODE_ENV=production (Heroku's Node.js buildpack sets it). In production the outbound receiver
   * needs OUTBOUND_SECRET, /metrics and /readyz's details need MONITORING_TOKEN, and the processes
   * need DATABASE_URL (the system of record).
   */
  readonly production: boolean;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly port: number;
  readonly redisUrl: string;
  readonly outbound: {
    /** Where Salesforce POSTs outbound messages. */
    readonly path: string;
    readonly maxBodyBytes: number;
    /** How long the receiver waits for Redis before answering a fault (so Salesforce retries). */
    readonly enqueueTimeoutMs: number;
    /**
     * The shared secret Salesforce sends as the `token` query parameter of the endpoint URL; messages
     * without it are refused before their body is read. Required in production.
     */
    readonly secret?: string;
    /** Source networks messages may come from (Salesforce's published ranges); empty: any. */
    readonly allowedNetworks: readonly string[];
  };
  /** Express `trust proxy`: which X-Forwarded-For hops give the client address (1 behind Heroku's router). */
  readonly trustProxy: false | number | string;
  /** Bearer token for /metrics and the detailed /readyz; without it they are public outside production. */
  readonly monitoringToken?: string;
  readonly queue: {
    /** Hash-tagged prefix of every queue key, so the queues work on Redis Cluster. */
    readonly prefix: string;
    /** BullMQ lock duration; a job whose worker died is picked up again after about this long. */
    readonly lockDurationMs: number;
  };
  readonly realtime: {
    /** How long the worker waits for more changed Accounts before it closes a batch. */
    readonly windowMs: number;
    readonly maxBatch: number;
    /** Batches one worker process works on at once. */
    readonly concurrency: number;
    /** Tries for a record Salesforce could not lock before it is recorded as failed. */
    readonly maxAttempts: number;
    /** First back-off before a locked record is tried again; doubled per try. */
    readonly retryBaseMs: number;
    /** How long the queue waits when the org is out of API calls before trying again. */
    readonly limitPauseMs: number;
  };
  /** The org whose outbound messages are accepted (SF_ORG_ID); none are accepted without it. */
  readonly orgId?: string;
  /** The prediction API's token check; absent (API off) until keys and an issuer are configured. */
  readonly predict?: {
    /** Certificates' public keys that may sign tokens (several during a rotation). */
    readonly publicKeys: readonly KeyObject[];
    /** The `iss` tokens must carry; an org id matches in its 15- and 18-character forms. */
    readonly issuer: string;
    readonly audience: string;
    /** Longest accepted token lifetime (exp − iat, or exp − now without iat), in seconds. */
    readonly maxLifetimeSeconds: number;
  };
  /** Present when the process was asked to need it (`need: ['salesforce']`) or every variable is set. */
  readonly salesforce?: SalesforceConfig;
  readonly scoring: {
    readonly modelPath: string;
    readonly specPath?: string;
    readonly threads: number;
  };
  /** The nightly re-scoring of every Account through Bulk API 2.0. */
  readonly nightly: NightlyConfig;
  /** Basic-auth credentials of the admin endpoints; absent (endpoints off) until both are set. */
  readonly admin?: { readonly user: string; readonly password: string };
  /** Port of the worker process's own /metrics endpoint; absent (no endpoint) unless WORKER_METRICS_PORT is set. */
  readonly workerMetricsPort?: number;
  /** PostgreSQL, the system of record; absent (registry, history and run records off) without DATABASE_URL. */
  readonly database?: DatabaseConfig;
  readonly lifecycle: {
    /** How often each process checks the registry for a new champion or shadow (Redis also tells it at once). */
    readonly modelPollMs: number;
    /** Append every score written to Salesforce to the score history. */
    readonly history: boolean;
    /** Score history older than this is deleted by the nightly run. */
    readonly historyRetentionDays: number;
  };
  /** Drift monitoring against the champion's training reference. */
  readonly monitoring: MonitoringConfig;
}

export interface MonitoringConfig {
  /** Count drift in every nightly run and on the real-time path. @defaultValue true */
  readonly enabled: boolean;
  /** PSI at or above which a field is to be watched. @defaultValue 0.1 */
  readonly psiWatch: number;
  /** PSI at or above which a field is an alert (a warn log line, churn_drift_alert 1). @defaultValue 0.2 */
  readonly psiAlert: number;
  /** The real-time path's rolling window. @defaultValue 60 */
  readonly realtimeWindowMinutes: number;
  /** Realized accuracy (needs the system of record's score history); absent when LABEL_FIELD is empty. */
  readonly accuracy?: {
    /** The Account checkbox that says an Account churned. @defaultValue 'Churned__c' */
    readonly labelField: string;
    /** How long before the label changed the score is taken. @defaultValue 30 */
    readonly horizonDays: number;
    /** Labels that changed within this many days count. @defaultValue 90 */
    readonly windowDays: number;
    /** Labelled Accounts needed before a figure is given. @defaultValue 200 */
    readonly minLabels: number;
  };
}

export interface NightlyConfig {
  /** Whether workers register the schedule (manual runs work either way). */
  readonly enabled: boolean;
  /** Cron pattern (5 or 6 fields, seconds first when 6). @defaultValue '0 0 2 * * *' */
  readonly cron: string;
  readonly tz: string;
  /** Records per chunk: one Bulk result page, scored and written by one ingest job. */
  readonly chunkSize: number;
  /** Records per call to the scoring thread. */
  readonly scoreBatch: number;
  /** Chunk jobs one worker process works on at once. */
  readonly concurrency: number;
  /** Remaining daily API calls below which a run waits. */
  readonly apiReserve: number;
  /** Bulk API batches (DailyBulkApiBatches) a run leaves for the org's other integrations. @defaultValue 1500 */
  readonly bulkBatchReserve: number;
  /** How long a run waits before checking the allowance again. */
  readonly reserveWaitMs: number;
  readonly pollInitialMs: number;
  readonly pollMaxMs: number;
  /** Largest CSV file per ingest job, at most 100 MB raw (Salesforce's limit is 150 MB after base64). */
  readonly ingestMaxBytes: number;
  /** Ingest jobs a locked record is tried in before it is recorded as failed. */
  readonly retryAttempts: number;
  /** A Bulk results page that sends nothing for this long is given up and read again (same locator). */
  readonly resultIdleTimeoutMs: number;
  /**
   * The first and the last page of a run, when they hold at least this many records, are written
   * with two ingest jobs each, the first submitted while the second half is scored: Salesforce starts
   * writing sooner and the run does not end with a whole page waiting on it (0: never).
   */
  readonly splitPageFrom: number;
  /** Write the top factors (reasons) too; they cost most of the scoring time. */
  readonly reasons: boolean;
}

export type Need = 'salesforce';

export interface LoadOptions {
  /** Sections the calling process cannot run without; their variables become required. */
  need?: readonly Need[];
}

/** Default audience for a login URL: production and sandbox hosts map to their login host. */
export function defaultAudience(loginUrl: string): string {
  const host = new URL(loginUrl).hostname.toLowerCase();
  if (host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com')) return 'https://test.salesforce.com';
  if (host === 'login.salesforce.com' || MY_DOMAIN.test(host)) return 'https://login.salesforce.com';
  return loginUrl;
}

function fail(variable: string, expected: string, cause?: unknown): never {
  throw new AppError({
    code: 'CONFIG_INVALID',
    message: `Configuration: ${variable} ${expected}.`,
    hint: 'See .env.example for every variable.',
    details: { variable },
    cause,
  });
}

/** A file a variable names, read as text; the error names the variable and the absolute path. */
function readConfiguredFile(variable: string, path: string): string {
  const file = projectPath(path);
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`;
    fail(variable, `points to ${file}, which ${why}${isAbsolute(path) ? '' : ' (relative paths are taken from the project root)'}`);
  }
}

function readPrivateKey(env: Env): KeyObject | undefined {
  if (env.SF_PRIVATE_KEY && env.SF_PRIVATE_KEY_FILE) {
    fail('SF_PRIVATE_KEY', 'and SF_PRIVATE_KEY_FILE are both set; set only one');
  }
  let pem: string;
  let variable: string;
  if (env.SF_PRIVATE_KEY) {
    variable = 'SF_PRIVATE_KEY';
    // Heroku config vars and .env files often carry the PEM on one line with literal "\n".
    pem = env.SF_PRIVATE_KEY.replace(/\\n/g, '\n');
  } else if (env.SF_PRIVATE_KEY_FILE) {
    variable = 'SF_PRIVATE_KEY_FILE';
    pem = readConfiguredFile(variable, env.SF_PRIVATE_KEY_FILE);
  } else {
    return undefined;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The parser's message can quote the input; do not pass it on.
    fail(variable, 'is not a PEM private key (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----")');
  }
  if (key.asymmetricKeyType !== 'rsa') fail(variable, `is a ${key.asymmetricKeyType} key; the JWT bearer flow needs an RSA key (RS256)`);
  return key;
}

/** Every PEM block (certificate or public key) in the text, as public keys. */
function readPublicKeys(env: Env): KeyObject[] | undefined {
  if (env.PREDICT_JWT_PUBLIC_KEYS && env.PREDICT_JWT_PUBLIC_KEYS_FILE) {
    fail('PREDICT_JWT_PUBLIC_KEYS', 'and PREDICT_JWT_PUBLIC_KEYS_FILE are both set; set only one');
  }
  const variable = env.PREDICT_JWT_PUBLIC_KEYS ? 'PREDICT_JWT_PUBLIC_KEYS' : 'PREDICT_JWT_PUBLIC_KEYS_FILE';
  let text: string;
  if (env.PREDICT_JWT_PUBLIC_KEYS) text = env.PREDICT_JWT_PUBLIC_KEYS.replace(/\\n/g, '\n');
  else if (env.PREDICT_JWT_PUBLIC_KEYS_FILE) text = readConfiguredFile(variable, env.PREDICT_JWT_PUBLIC_KEYS_FILE);
  else return undefined;
  const blocks = text.match(/-----BEGIN (CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY)-----[\s\S]+?-----END \1-----/g);
  if (!blocks) fail(variable, 'holds no PEM certificate or public key ("-----BEGIN CERTIFICATE-----")');
  return blocks.map((pem) => {
    try {
      const key = pem.includes('CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
      if (key.asymmetricKeyType !== 'rsa') fail(variable, `holds a ${key.asymmetricKeyType} key; tokens are verified with RS256 only`);
      return key;
    } catch (error) {
      if (error instanceof AppError) throw error;
      fail(variable, 'holds a PEM block that is not a valid certificate or public key');
    }
  });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  // Blank values count as unset, as in most .env tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const given = present[variable];
    // Echo what was given, unless it may be a secret or is too long to be useful in one line.
    const shown = given !== undefined && !/KEY|PASSWORD|SECRET|TOKEN/.test(variable) && given.length <= 80 ? ` (got "${given}")` : '';
    fail(variable, `is invalid${shown}: expected ${issue.message}`);
  }
  const e = parsed.data;
  const privateKey = readPrivateKey(e);

  const publicKeys = readPublicKeys(e);
  if (publicKeys && !e.PREDICT_JWT_ISSUER) fail('PREDICT_JWT_ISSUER', 'is required with PREDICT_JWT_PUBLIC_KEYS (the iss claim Salesforce puts in its tokens)');
  const issuer = e.PREDICT_JWT_ISSUER;
  // An org id is compared in its canonical 15-character form (http/predict/auth.ts): an 18-character
  // one must carry a valid case-checksum suffix, or no token would ever match it.
  if (issuer && /^00D[a-zA-Z0-9]{15}$/.test(issuer) && !isRecordId(issuer)) {
    fail('PREDICT_JWT_ISSUER', `is not a valid 18-character org id (its last three characters are not the case checksum of the first 15); copy it again, or use the 15-character id from Setup → Company Information`);
  }
  const predict = publicKeys
    ? Object.freeze({ publicKeys: Object.freeze(publicKeys), issuer: issuer!, audience: e.PREDICT_JWT_AUDIENCE, maxLifetimeSeconds: e.PREDICT_JWT_MAX_LIFETIME_SECONDS })
    : undefined;

  if ((e.ADMIN_USER === undefined) !== (e.ADMIN_PASSWORD === undefined)) {
    fail(e.ADMIN_USER === undefined ? 'ADMIN_USER' : 'ADMIN_PASSWORD', 'must be set together with its pair (ADMIN_USER and ADMIN_PASSWORD), or neither');
  }
  const admin = e.ADMIN_USER && e.ADMIN_PASSWORD ? Object.freeze({ user: e.ADMIN_USER, password: e.ADMIN_PASSWORD }) : undefined;

  const needSalesforce = options.need?.includes('salesforce') ?? false;
  const missing = [
    ['SF_CLIENT_ID', e.SF_CLIENT_ID],
    ['SF_USERNAME', e.SF_USERNAME],
    ['SF_PRIVATE_KEY or SF_PRIVATE_KEY_FILE', privateKey],
  ].filter(([, v]) => v === undefined).map(([k]) => k as string);

  let salesforce: SalesforceConfig | undefined;
  if (missing.length === 0) {
    salesforce = Object.freeze({
      loginUrl: e.SF_LOGIN_URL,
      audience: e.SF_AUDIENCE ?? defaultAudience(e.SF_LOGIN_URL),
      clientId: e.SF_CLIENT_ID!,
      username: e.SF_USERNAME!,
      privateKey: privateKey!,
      apiVersion: e.SF_API_VERSION,
      orgId: e.SF_ORG_ID,
      tokenTimeoutMs: e.SF_TOKEN_TIMEOUT_MS,
    });
  } else if (needSalesforce) {
    fail(missing[0]!, `is required to sign in to Salesforce (missing: ${missing.join(', ')})`);
  }

  return Object.freeze({
    production: e.NODE_ENV === 'production',
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    redisUrl: e.REDIS_URL,
    salesforce,
    predict,
    orgId: e.SF_ORG_ID,
    queue: Object.freeze({ prefix: e.QUEUE_PREFIX, lockDurationMs: e.WORKER_LOCK_DURATION_MS }),
    realtime: Object.freeze({
      windowMs: e.REALTIME_WINDOW_MS,
      maxBatch: e.REALTIME_MAX_BATCH,
      concurrency: e.REALTIME_CONCURRENCY,
      maxAttempts: e.REALTIME_MAX_ATTEMPTS,
      retryBaseMs: e.REALTIME_RETRY_BASE_MS,
      limitPauseMs: e.SF_LIMIT_PAUSE_MS,
    }),
    outbound: Object.freeze({
      path: e.OUTBOUND_PATH,
      maxBodyBytes: e.OUTBOUND_MAX_BODY_BYTES,
      enqueueTimeoutMs: e.OUTBOUND_ENQUEUE_TIMEOUT_MS,
      secret: e.OUTBOUND_SECRET,
      allowedNetworks: Object.freeze(e.OUTBOUND_ALLOWED_NETWORKS ?? []),
    }),
    trustProxy: e.TRUST_PROXY,
    monitoringToken: e.MONITORING_TOKEN,
    scoring: Object.freeze({
      modelPath: projectPath(e.MODEL_PATH),
      specPath: e.MODEL_SPEC_PATH === undefined ? undefined : projectPath(e.MODEL_SPEC_PATH),
      threads: e.SCORING_THREADS,
    }),
    nightly: Object.freeze({
      enabled: e.NIGHTLY_ENABLED,
      cron: e.NIGHTLY_CRON,
      tz: e.NIGHTLY_TZ,
      chunkSize: e.NIGHTLY_CHUNK_SIZE,
      scoreBatch: e.NIGHTLY_SCORE_BATCH,
      concurrency: e.NIGHTLY_CONCURRENCY,
      apiReserve: e.NIGHTLY_API_RESERVE,
      bulkBatchReserve: e.NIGHTLY_BULK_BATCH_RESERVE,
      reserveWaitMs: e.NIGHTLY_RESERVE_WAIT_MS,
      pollInitialMs: e.NIGHTLY_POLL_INITIAL_MS,
      pollMaxMs: e.NIGHTLY_POLL_MAX_MS,
      ingestMaxBytes: e.NIGHTLY_INGEST_MAX_BYTES,
      retryAttempts: e.NIGHTLY_RETRY_ATTEMPTS,
      resultIdleTimeoutMs: e.NIGHTLY_RESULT_IDLE_TIMEOUT_MS,
      splitPageFrom: e.NIGHTLY_SPLIT_PAGE_FROM,
      reasons: e.NIGHTLY_REASONS,
    }),
    admin: admin,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    database: e.DATABASE_URL ? Object.freeze({ url: e.DATABASE_URL, schema: e.DATABASE_SCHEMA, tls: e.DATABASE_TLS }) : undefined,
    lifecycle: Object.freeze({ modelPollMs: e.MODEL_POLL_MS, history: e.HISTORY_ENABLED, historyRetentionDays: e.HISTORY_RETENTION_DAYS }),
    monitoring: Object.freeze({
      enabled: e.MONITORING_ENABLED,
      psiWatch: e.DRIFT_PSI_WATCH,
      psiAlert: e.DRIFT_PSI_ALERT >= e.DRIFT_PSI_WATCH ? e.DRIFT_PSI_ALERT : fail('DRIFT_PSI_ALERT', `must be at least DRIFT_PSI_WATCH (${e.DRIFT_PSI_WATCH})`),
      realtimeWindowMinutes: e.DRIFT_REALTIME_WINDOW_MINUTES,
      accuracy: e.LABEL_FIELD ? Object.freeze({ labelField: e.LABEL_FIELD, horizonDays: e.ACCURACY_HORIZON_DAYS, windowDays: e.ACCURACY_WINDOW_DAYS, minLabels: e.ACCURACY_MIN_LABELS }) : undefined,
    }),
  });
}

/**
 * The environment for a child process this one starts (benchmarks, the demo): only PATH and HOME
 * are passed on, plus what the caller sets, so a parent's secrets never leak into a child by accident.
 */
export function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  // The child gets its whole configuration here; the project's .env (a real org's settings) is not for it.
  return { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: 'none', ...extra };
}
