/**
 * `churn-worker bench predict`: POST /v1/predict against the real web process (scoring thread,
 * RS256 token check) with one record and with 200 records per request, by autocannon on loopback.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { Redis } from 'ioredis';
import { childEnv, loadConfig, type Config } from '../../config/index.js';
import type { DatabaseConfig } from '../../db/pool.js';
import { deleteKeysWithPrefix } from '../../queue/redis.js';
import { openSystemOfRecord } from '../../runtime/models.js';
import { loadSpec, defaultSpecPath } from '../../scoring/spec.js';
import type { Benchmark } from '../commands/bench.js';
import { benchDatabase } from './database.js';
import { load, startChild } from './http-load.js';
import { syntheticAccounts } from './scoring.js';

const usage = `Usage: churn-worker bench predict [--seconds 10] [--connections 16] [--promote]

Prints both runs, then (last stdout line) one JSON object with requestsPerSec and p99Ms for one record
per request and requestsPerSec200 / p99Ms200 for 200 records per request.
  --promote   the web process follows a model registry in PostgreSQL (DATABASE_URL, a schema of the
              benchmark's own); halfway through the one-record run another version is promoted.
              Adds promotion: failed requests during the run, and how long after the promotion the
              answers carried the new version (switchMs).`;

const ISSUER = '00D000000000001EAA';

export const benchmark: Benchmark = {
  summary: 'Prediction API requests/s and latency, 1 and 200 records per request.',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '16' }, promote: { type: 'boolean', default: false } } });
    const seconds = Number(values.seconds);
    const connections = Number(values.connections);
    const config = loadConfig();
    const queuePrefix = `{bench-${randomUUID().slice(0, 8)}}`;
    const database = values.promote ? await benchDatabase(config) : undefined;
    const spec = loadSpec(config.scoring.specPath ?? defaultSpecPath(config.scoring.modelPath));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = jwt.sign({ iss: ISSUER, aud: 'churn-prediction-api', sub: 'bench' }, privateKey, { algorithm: 'RS256', expiresIn: 3600 });
    const web = await startChild(
      ['web'],
      childEnv({
        PORT: '0',
        REDIS_URL: config.redisUrl,
        LOG_LEVEL: 'info',
        MODEL_PATH: config.scoring.modelPath,
        PREDICT_JWT_PUBLIC_KEYS: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        PREDICT_JWT_ISSUER: ISSUER,
        // One token for the whole run, however long it lasts (real tokens live two minutes).
        PREDICT_JWT_MAX_LIFETIME_SECONDS: '3600',
        QUEUE_PREFIX: queuePrefix,
        ...(database ? { DATABASE_URL: database.config.url, DATABASE_SCHEMA: database.config.schema, DATABASE_TLS: database.config.tls } : {}),
      }),
      /web process listening/,
    );
    try {
      const clean = (records: Record<string, unknown>[]) =>
        records.map((r) => {
          // The API takes JSON types (REST shapes); the synthetic set mixes in Bulk CSV strings.
          const out: Record<string, unknown> = { Id: `001${String(r.Id).slice(-12).padStart(12, '0')}AAA` };
          for (const f of spec.features) {
            const v = r[f.field];
            out[f.field] = v === '' || v === undefined ? null : f.encoding === 'number' ? Number(v) : f.encoding === 'checkbox' ? v === true || v === 'true' : v;
          }
          return out;
        });
      const pool = clean(syntheticAccounts(spec, 2_000));
      const request = (size: number) => ({
        url: `http://127.0.0.1:${web.port}/v1/predict`,
        method: 'POST' as const,
        connections,
        duration: seconds,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ records: pool.slice(0, size) }),
      });
      console.error(`1 record per request, ${connections} connections, ${seconds} s${database ? ', a promotion halfway' : ''}`);
      const promotion = database ? promoteDuring(config, database.config, queuePrefix, `http://127.0.0.1:${web.port}/v1/predict`, token, pool[0]!, seconds) : undefined;
      const one = await load(request(1));
      const promoted = await promotion;
      console.error(`200 records per request, ${connections} connections, ${seconds} s`);
      const many = await load(request(200));
      console.log(`1 record     ${one.requestsPerSec} req/s  p50 ${one.p50Ms} ms  p99 ${one.p99Ms} ms  non-2xx ${one.non2xx}`);
      console.log(`200 records  ${many.requestsPerSec} req/s (${many.requestsPerSec * 200} records/s)  p50 ${many.p50Ms} ms  p99 ${many.p99Ms} ms  non-2xx ${many.non2xx}`);
      console.log(
        JSON.stringify({
          requestsPerSec: one.requestsPerSec,
          p50Ms: one.p50Ms,
          p99Ms: one.p99Ms,
          requestsPerSec200: many.requestsPerSec,
          p99Ms200: many.p99Ms,
          recordsPerSec200: many.requestsPerSec * 200,
          non2xx: one.non2xx + many.non2xx,
          connections,
          seconds,
          ...(promoted ? { promotion: { ...promoted, failedRequests: one.non2xx + one.errors } } : {}),
        }),
      );
      return one.non2xx + many.non2xx + one.errors + many.errors === 0 && (!promoted || promoted.switchMs !== null) ? 0 : 1;
    } finally {
      await web.stop();
      await database?.drop();
      const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
      await deleteKeysWithPrefix(redis, queuePrefix).finally(() => redis.disconnect());
    }
  },
};

/**
 * Halfway through the run, registers the champion's bytes under another version and promotes it;
 * meanwhile asks the API every 20 ms which version answers, to time the switch as a client sees it.
 */
async function promoteDuring(config: Config, database: DatabaseConfig, prefix: string, url: string, token: string, record: Record<string, unknown>, seconds: number) {
  const publisher = new Redis(config.redisUrl);
  const sor = await openSystemOfRecord(database, { publisher, prefix });
  const versionNow = async (): Promise<string | undefined> => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ records: [record] }) });
    return res.ok ? ((await res.json()) as { predictions: Array<{ modelVersion?: string }> }).predictions[0]?.modelVersion : undefined;
  };
  try {
    const champion = (await sor.registry.roles()).champion!;
    const bundle = await sor.registry.bundleOf(champion);
    const next = `${champion}-promoted`;
    await sor.registry.register({ onnx: bundle.onnx, spec: { ...(bundle.spec as object), modelVersion: next }, source: 'imported' }, { actor: 'bench', reason: 'bench predict --promote' });
    await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
    const promotedAt = performance.now();
    await sor.registry.promote(next, { actor: 'bench', reason: 'bench predict --promote' });
    let switchMs: number | null = null;
    const seen = new Set<string>();
    while (performance.now() - promotedAt < 15_000) {
      const version = await versionNow();
      if (version) seen.add(version);
      if (version === next) {
        switchMs = Math.round(performance.now() - promotedAt);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return { from: champion, to: next, switchMs, versionsSeen: [...seen] };
  } finally {
    await sor.close();
    publisher.disconnect();
  }
}
