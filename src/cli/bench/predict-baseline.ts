/**
 * The line `bench predict` measures the prediction API against: a bare Express app, in a child process
 * of its own as the web process is, whose POST /v1/predict checks the bearer token exactly as the API
 * does (the same `requireBearer`, the same key read by the same configuration code, RS256/RS512,
 * issuer, audience, lifetime cap), reads the body with the same JSON parser and limit, and answers a
 * fixed JSON body: the API's own answer to the benchmark's request, captured once before the run, so
 * both send the same bytes. What the API costs above it is validation, scoring and serialization.
 *
 * Benchmark code only: the production app never mounts this route.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { childEnv, loadConfig } from '../../config/index.js';
import { requireBearer } from '../../http/predict/auth.js';
import { startChild, type ChildServer } from './http-load.js';

/** The log line (JSON, like the web process's) that says the baseline is listening. */
const READY = 'predict baseline listening';

/**
 * Runs the baseline server until SIGTERM or SIGINT (the child side of `startBaseline`).
 * `answersPath` holds `{ "<record count>": "<answer body>" }`.
 */
export async function serveBaseline(answersPath: string): Promise<number> {
  const config = loadConfig();
  if (!config.predict) throw new Error('the baseline needs PREDICT_JWT_PUBLIC_KEYS and PREDICT_JWT_ISSUER, like the API');
  const answers = new Map(Object.entries(JSON.parse(readFileSync(answersPath, 'utf8')) as Record<string, string>).map(([n, body]) => [Number(n), body]));
  const app = express();
  app.disable('x-powered-by');
  app.post('/v1/predict', requireBearer(config.predict), express.json({ limit: '1mb', type: () => true, strict: true }), (req, res) => {
    const count = (req.body as { records?: unknown[] } | undefined)?.records?.length ?? 0;
    res.type('application/json').send(answers.get(count) ?? '{"predictions":[]}');
  });
  const server = app.listen(config.port, '127.0.0.1');
  await once(server, 'listening');
  console.log(JSON.stringify({ msg: READY, port: (server.address() as AddressInfo).port, pid: process.pid }));
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

/** Starts the baseline as `churn-worker bench predict --serve-baseline <answers>` with the API's key settings. */
export function startBaseline(env: { publicKeyPem: string; issuer: string; maxLifetimeSeconds: string }, answersPath: string): Promise<ChildServer> {
  return startChild(
    ['bench', 'predict', '--serve-baseline', answersPath],
    childEnv({
      PORT: '0',
      PREDICT_JWT_PUBLIC_KEYS: env.publicKeyPem,
      PREDICT_JWT_ISSUER: env.issuer,
      PREDICT_JWT_MAX_LIFETIME_SECONDS: env.maxLifetimeSeconds,
    }),
    new RegExp(READY),
  );
}
