/**
 * `churn-worker bench predict`: POST /v1/predict against the real web process (scoring thread,
 * RS256 token check) with one record and with 200 records per request, by autocannon on loopback.
 */
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { childEnv, loadConfig } from '../../config/index.js';
import { loadSpec, defaultSpecPath } from '../../scoring/spec.js';
import type { Benchmark } from '../commands/bench.js';
import { load, startChild } from './http-load.js';
import { syntheticAccounts } from './scoring.js';

const usage = `Usage: churn-worker bench predict [--seconds 10] [--connections 16]

Prints both runs, then (last stdout line) one JSON object with requestsPerSec and p99Ms for one record
per request and requestsPerSec200 / p99Ms200 for 200 records per request.`;

const ISSUER = '00D000000000001EAA';

export const benchmark: Benchmark = {
  summary: 'Prediction API requests/s and latency, 1 and 200 records per request.',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '16' } } });
    const seconds = Number(values.seconds);
    const connections = Number(values.connections);
    const config = loadConfig();
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
      console.error(`1 record per request, ${connections} connections, ${seconds} s`);
      const one = await load(request(1));
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
        }),
      );
      return one.non2xx + many.non2xx + one.errors + many.errors === 0 ? 0 : 1;
    } finally {
      await web.stop();
    }
  },
};
