/**
 * The whole system on one machine: the org emulator (in this process, sending outbound messages),
 * the web process and N worker processes (real child processes, as the Procfile runs them), one
 * Redis. The demo, the end-to-end tests and `bench realtime` start it; it is development tooling and
 * never part of the web or worker processes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { childEnv } from '../config/index.js';
import { migrate } from '../db/migrate.js';
import type { DatabaseConfig } from '../db/pool.js';
import { deleteKeysWithPrefix } from '../queue/redis.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../emulator/index.js';
import { startChild, type ChildServer } from './children.js';

export interface StackOptions {
  redisUrl: string;
  /** Accounts in the emulated org. @defaultValue 2000 */
  accounts?: number;
  /** Worker processes. @defaultValue 1 */
  workers?: number;
  /** Queue prefix; a fresh one per stack by default, removed on stop. */
  queuePrefix?: string;
  emulator?: EmulatorOptions;
  /** Extra environment for the web and worker processes (e.g. REALTIME_WINDOW_MS). */
  env?: Record<string, string>;
  /** PostgreSQL for the system of record (migrated here before the processes start); none by default. */
  database?: DatabaseConfig;
  logLevel?: string;
}

export interface Stack {
  org: RunningEmulator;
  web: ChildServer;
  workers: ChildServer[];
  redisUrl: string;
  queuePrefix: string;
  /** The web process's OUTBOUND_SECRET (fresh per stack); the emulator's outbound URL carries it. */
  outboundSecret: string;
  /** Where the emulator posts outbound messages: the receiver's URL with ?token=<outboundSecret>. */
  outboundUrl: string;
  /** The environment a worker process of this stack gets (to start more, or restart one). */
  workerEnv: NodeJS.ProcessEnv;
  startWorker(): Promise<ChildServer>;
  /** PATCHes Accounts through the emulator's admin API as the admin user (fires outbound messages). */
  change(records: Array<Record<string, unknown> & { id: string }>): Promise<void>;
  account(id: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const queuePrefix = options.queuePrefix ?? `{stack-${randomUUID().slice(0, 8)}}`;
  if (options.database) await migrate(options.database);
  const org = await startEmulator({ accounts: options.accounts ?? 2_000, ...options.emulator });
  const databaseEnv = options.database ? { DATABASE_URL: options.database.url, DATABASE_SCHEMA: options.database.schema, DATABASE_TLS: options.database.tls } : {};
  const common = { REDIS_URL: options.redisUrl, QUEUE_PREFIX: queuePrefix, LOG_LEVEL: options.logLevel ?? 'info', ...databaseEnv, ...options.env };
  const privateKeyPem = org.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString();
  const workerEnv = childEnv({
    ...common,
    SF_LOGIN_URL: org.url,
    SF_CLIENT_ID: org.consumerKey,
    SF_USERNAME: org.username,
    SF_PRIVATE_KEY: privateKeyPem,
    SF_API_VERSION: '66.0',
  });
  const children: ChildServer[] = [];
  // The emulator sends the secret the way Salesforce does: as part of the endpoint URL.
  const outboundSecret = randomBytes(24).toString('hex');
  try {
    const web = await startChild(['web'], childEnv({ ...common, PORT: '0', SF_ORG_ID: org.orgId, OUTBOUND_SECRET: outboundSecret }), /web process listening/);
    children.push(web);
    const outboundUrl = `http://127.0.0.1:${web.port}/salesforce/outbound/account?token=${outboundSecret}`;
    org.outbound.configure({ url: outboundUrl });
    const startWorker = async () => {
      const worker = await startChild(['worker'], workerEnv, /worker ready/, 60_000);
      children.push(worker);
      return worker;
    };
    const workers = await Promise.all(Array.from({ length: options.workers ?? 1 }, () => startWorker()));

    const admin = async (path: string, init: { method?: string; body?: unknown } = {}) => {
      const res = await fetch(`${org.url}/__admin${path}`, {
        method: init.method ?? 'GET',
        headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      if (!res.ok) throw new Error(`emulator admin ${init.method ?? 'GET'} ${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, unknown>>;
    };

    let stopped: Promise<void> | undefined;
    return {
      org,
      web,
      workers,
      redisUrl: options.redisUrl,
      queuePrefix,
      outboundSecret,
      outboundUrl,
      workerEnv,
      startWorker,
      change: async (records) => void (await admin('/accounts', { method: 'PATCH', body: { records } })),
      account: (id) => admin(`/accounts/${id}`),
      stop: () => {
        stopped ??= (async () => {
          org.outbound.pause();
          await Promise.all(children.map((c) => c.stop()));
          await org.close();
          const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
          await deleteKeysWithPrefix(redis, queuePrefix).finally(() => redis.disconnect());
        })();
        return stopped;
      },
    };
  } catch (error) {
    await Promise.all(children.map((c) => c.stop(2_000)));
    await org.close();
    throw error;
  }
}
