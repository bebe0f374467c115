/**
 * `churn-worker bench predict`: POST /v1/predict against the real web process (scoring thread,
 * RS256 token check) with one record and with 200 records per request, by autocannon on loopback,
 * each next to the bare-Express baseline of predict-baseline.ts (same token check, same body parser,
 * the same answer bytes) measured in the same run, so the ratio holds on a busy machine where the
 * absolute figures do not.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { Redis } from 'ioredis';
import { childEnv, loadConfig, type Config } from '../../config/index.js';
import { toId18 } from '../../core/record-id.js';
import type { DatabaseConfig } from '../../db/pool.js';
import { deleteKeysWithPrefix } from '../../queue/redis.js';
import { openSystemOfRecord } from '../../runtime/models.js';
import { loadSpec, defaultSpecPath } from '../../scoring/spec.js';
import type { Benchmark } from '../commands/bench.js';
import { UsageError } from '../errors.js';
import { benchDatabase } from './database.js';
import { load, startChild, type ChildServer, type LoadResult } from './http-load.js';
import { serveBaseline, startBaseline } from './predict-baseline.js';
import { syntheticAccounts } from './scoring.js';

const usage = `Usage: churn-worker bench predict [--seconds 10] [--connections 16] [--only 1|200] [--promote] [--cpu-prof <dir>]

For 1 and for 200 records per request: the bare-Express baseline and the API, each warmed up for 1 s,
then loaded for --seconds each in halves ordered baseline, API, API, baseline (so a change in the
machine's load weighs on both alike; p99 is the worse half's). Prints both, then (last stdout line)
one JSON object:
  requestsPerSec, p50Ms, p99Ms                    the API, 1 record per request
  requestsPerSec200, p99Ms200, recordsPerSec200   the API, 200 records per request
  baseline: { requestsPerSec, p99Ms, requestsPerSec200, p99Ms200 }
  ratioToBaseline, ratioToBaseline200             requests/s of the API over the baseline's
  p99ToBaseline, p99ToBaseline200                 p99 of the API over the baseline's
  recordsPerThreadCall, recordsPerThreadCall200   records per scoring-thread call (from /metrics)
  cpuMsPerRequest: { api, apiScoringThread, baseline, api200, … }
                                                  CPU time of each server process per request (from
                                                  /proc; moves far less with the machine's other load
                                                  than requests/s do)
The baseline is a bare Express route in its own process that checks the same JWT with the same code
and key, parses the body with the same parser, and answers the API's own answer, captured once.
  --only <n>     only the 1-record or only the 200-record runs (to profile one of them)
  --promote      the web process follows a model registry in PostgreSQL (DATABASE_URL, a schema of the
                 benchmark's own); halfway through the one-record run another version is promoted.
                 Adds promotion: failed requests during the run, and how long after the promotion the
                 answers carried the new version (switchMs).
  --cpu-prof     writes V8 CPU profiles of the web process (main thread and scoring thread) to <dir>
                 when it stops (open them in Chrome DevTools or VS Code).`;

const ISSUER = '00D000000000001EAA';
const WARM_UP_SECONDS = 1;

/** Two halves of one measurement: requests/s over both, p50 their mean, p99 the larger (the worse half). */
function merge(...parts: LoadResult[]): LoadResult {
  if (parts.length === 0) return { requestsPerSec: 0, p50Ms: 0, p99Ms: 0, non2xx: 0, errors: 0, total: 0 };
  const sum = (f: (r: LoadResult) => number) => parts.reduce((s, r) => s + f(r), 0);
  return {
    requestsPerSec: Math.round(sum((r) => r.requestsPerSec) / parts.length),
    p50Ms: Math.round((sum((r) => r.p50Ms) / parts.length) * 10) / 10,
    p99Ms: Math.max(...parts.map((r) => r.p99Ms)),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    total: sum((r) => r.total),
  };
}

/**
 * CPU milliseconds a process has used so far (user + system, all its threads), and those of its
 * worker threads (the scoring thread), from /proc; undefined where there is no /proc. CPU time per
 * request moves far less than requests/s with what else runs on the machine.
 */
function cpuTime(pid: number | undefined): { total: number; worker: number } | undefined {
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (USER_HZ, 100 on Linux).
  const ms = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  };
  if (pid === undefined) return undefined;
  try {
    const total = ms(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    let worker = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        if (readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim() === 'WorkerThread') worker += ms(readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8'));
      } catch {
        // The thread ended meanwhile.
      }
    }
    return { total, worker };
  } catch {
    return undefined;
  }
}

/** Scoring-thread calls so far, from the web process's /metrics (the duration histogram counts calls). */
async function threadCalls(port: number): Promise<{ calls: number; records: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, m) => total + Number(m[1]), 0);
  return { calls: sum(/^churn_scoring_duration_seconds_count\{[^}]*\} (\d+)$/gm), records: sum(/^churn_scoring_records_total (\d+)$/gm) };
}

export const benchmark: Benchmark = {
  summary: 'Prediction API requests/s and latency, 1 and 200 records per request, against a bare-Express baseline.',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        seconds: { type: 'string', default: '10' },
        connections: { type: 'string', default: '16' },
        promote: { type: 'boolean', default: false },
        only: { type: 'string' },
        'cpu-prof': { type: 'string' },
        // Internal: the baseline's own process (see predict-baseline.ts).
        'serve-baseline': { type: 'string' },
      },
    });
    if (values['serve-baseline']) return serveBaseline(values['serve-baseline']);
    const seconds = Number(values.seconds);
    const connections = Number(values.connections);
    if (values.only !== undefined && values.only !== '1' && values.only !== '200') throw new UsageError('bench predict: --only takes 1 or 200', usage);
    const sizes = values.only ? [Number(values.only)] : [1, 200];
    const config = loadConfig();
    const queuePrefix = `{bench-${randomUUID().slice(0, 8)}}`;
    const database = values.promote ? await benchDatabase(config) : undefined;
    const spec = loadSpec(config.scoring.specPath ?? defaultSpecPath(config.scoring.modelPath));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const token = jwt.sign({ iss: ISSUER, aud: 'churn-prediction-api', sub: 'bench' }, privateKey, { algorithm: 'RS256', expiresIn: 3600 });
    // One token for the whole run, however long it lasts (real tokens live two minutes).
    const maxLifetimeSeconds = '3600';
    const cpuProf = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
    const web = await startChild(
      ['web'],
      childEnv({
        PORT: '0',
        REDIS_URL: config.redisUrl,
        LOG_LEVEL: 'info',
        MODEL_PATH: config.scoring.modelPath,
        PREDICT_JWT_PUBLIC_KEYS: publicKeyPem,
        PREDICT_JWT_ISSUER: ISSUER,
        PREDICT_JWT_MAX_LIFETIME_SECONDS: maxLifetimeSeconds,
        QUEUE_PREFIX: queuePrefix,
        ...(cpuProf ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProf}` } : {}),
        ...(database ? { DATABASE_URL: database.config.url, DATABASE_SCHEMA: database.config.schema, DATABASE_TLS: database.config.tls } : {}),
      }),
      /web process listening/,
    );
    const scratch = mkdtempSync(join(tmpdir(), 'bench-predict-'));
    let baseline: ChildServer | undefined;
    try {
      const clean = (records: Record<string, unknown>[]) =>
        records.map((r) => {
          // The API takes JSON types (REST shapes); the synthetic set mixes in Bulk CSV strings.
          // 18 characters with a valid case checksum: the API refuses any other (core/record-id.ts).
          const out: Record<string, unknown> = { Id: toId18(`001${String(r.Id).slice(-12).padStart(12, '0')}`) };
          for (const f of spec.features) {
            const v = r[f.field];
            out[f.field] = v === '' || v === undefined ? null : f.encoding === 'number' ? Number(v) : f.encoding === 'checkbox' ? v === true || v === 'true' : v;
          }
          return out;
        });
      const pool = clean(syntheticAccounts(spec, 2_000));
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
      const bodies = new Map(sizes.map((size) => [size, JSON.stringify({ records: pool.slice(0, size) })]));
      // The baseline answers what the API answers, byte for byte.
      const answers: Record<string, string> = {};
      for (const [size, body] of bodies) {
        const res = await fetch(`http://127.0.0.1:${web.port}/v1/predict`, { method: 'POST', headers, body });
        if (!res.ok) throw new Error(`the API answered ${res.status} to the benchmark's ${size}-record request: ${(await res.text()).slice(0, 500)}`);
        answers[size] = await res.text();
      }
      const answersPath = join(scratch, 'answers.json');
      writeFileSync(answersPath, JSON.stringify(answers));
      baseline = await startBaseline({ publicKeyPem, issuer: ISSUER, maxLifetimeSeconds }, answersPath);
      const slice = (port: number, size: number, duration: number) =>
        load({ url: `http://127.0.0.1:${port}/v1/predict`, method: 'POST', connections, duration, headers, body: bodies.get(size)! });
      /** A measured half: its load figures and the CPU time the server (and its scoring thread) used. */
      const timed = async (server: ChildServer, size: number) => {
        const before = cpuTime(server.child.pid);
        const result = await slice(server.port, size, seconds / 2);
        const after = cpuTime(server.child.pid);
        return { result, cpu: before && after ? { total: after.total - before.total, worker: after.worker - before.worker } : undefined };
      };
      /**
       * Baseline and API in the order baseline, API, API, baseline (half of --seconds each), so a
       * change in the machine's load during the run weighs on both alike; both warmed up first.
       */
      const measure = async (size: number, duringApi?: () => Promise<Awaited<ReturnType<typeof promoteDuring>>>) => {
        await slice(baseline!.port, size, WARM_UP_SECONDS);
        await slice(web.port, size, WARM_UP_SECONDS);
        const before = await threadCalls(web.port);
        const b1 = await timed(baseline!, size);
        const promotion = duringApi?.();
        const a1 = await timed(web, size);
        const a2 = await timed(web, size);
        const b2 = await timed(baseline!, size);
        // Calls still in flight when the load stopped are counted at their start and at their end.
        await new Promise((r) => setTimeout(r, 500));
        const after = await threadCalls(web.port);
        const base = merge(b1.result, b2.result);
        const api = merge(a1.result, a2.result);
        const perRequest = (ms: number | undefined, requests: number) => (ms === undefined || requests === 0 ? null : Math.round((ms / requests) * 1000) / 1000);
        const cpu = {
          api: perRequest(a1.cpu && a2.cpu ? a1.cpu.total + a2.cpu.total : undefined, api.total),
          apiScoringThread: perRequest(a1.cpu && a2.cpu ? a1.cpu.worker + a2.cpu.worker : undefined, api.total),
          baseline: perRequest(b1.cpu && b2.cpu ? b1.cpu.total + b2.cpu.total : undefined, base.total),
        };
        return { base, api, cpu, calls: after.calls - before.calls, records: after.records - before.records, promoted: await promotion };
      };

      const none = { base: merge(), api: merge(), cpu: { api: null, apiScoringThread: null, baseline: null }, calls: 0, records: 0, promoted: undefined };
      let [one, many]: Array<Awaited<ReturnType<typeof measure>>> = [none, none];
      if (sizes.includes(1)) {
        console.error(`1 record per request, ${connections} connections, ${seconds} s each: baseline, API, API, baseline${database ? ' (a promotion in the first API half)' : ''}`);
        // The promotion lands halfway through the first API half.
        one = await measure(1, database ? () => promoteDuring(config, database.config, queuePrefix, `http://127.0.0.1:${web.port}/v1/predict`, token, pool[0]!, seconds / 2) : undefined);
      }
      if (sizes.includes(200)) {
        console.error(`200 records per request, ${connections} connections, ${seconds} s each: baseline, API, API, baseline`);
        many = await measure(200);
      }
      const promoted = one.promoted;
      const [base1, base200] = [one.base, many.base];

      const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : null);
      const perCall = (r: { calls: number; records: number }) => (r.calls > 0 ? Math.round((r.records / r.calls) * 10) / 10 : null);
      const cpuText = (ms: number | null, scoring?: number | null) => (ms === null ? '' : `  CPU ${ms} ms/request${scoring != null ? ` (scoring thread ${scoring})` : ''}`);
      const line = (name: string, r: LoadResult, extra = '') => console.log(`${name.padEnd(22)} ${String(r.requestsPerSec).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  non-2xx ${r.non2xx}  errors ${r.errors}${extra}`);
      if (sizes.includes(1)) {
        line('baseline, 1 record', base1, cpuText(one.cpu.baseline));
        line('API, 1 record', one.api, `${cpuText(one.cpu.api, one.cpu.apiScoringThread)}  ${perCall(one) ?? '-'} records per thread call`);
      }
      if (sizes.includes(200)) {
        line('baseline, 200 records', base200, cpuText(many.cpu.baseline));
        line('API, 200 records', many.api, `${cpuText(many.cpu.api, many.cpu.apiScoringThread)}  ${perCall(many) ?? '-'} records per thread call`);
      }
      console.log(
        JSON.stringify({
          requestsPerSec: one.api.requestsPerSec,
          p50Ms: one.api.p50Ms,
          p99Ms: one.api.p99Ms,
          requestsPerSec200: many.api.requestsPerSec,
          p99Ms200: many.api.p99Ms,
          recordsPerSec200: many.api.requestsPerSec * 200,
          baseline: { requestsPerSec: base1.requestsPerSec, p99Ms: base1.p99Ms, requestsPerSec200: base200.requestsPerSec, p99Ms200: base200.p99Ms },
          ratioToBaseline: ratio(one.api.requestsPerSec, base1.requestsPerSec),
          ratioToBaseline200: ratio(many.api.requestsPerSec, base200.requestsPerSec),
          p99ToBaseline: ratio(one.api.p99Ms, base1.p99Ms),
          p99ToBaseline200: ratio(many.api.p99Ms, base200.p99Ms),
          recordsPerThreadCall: perCall(one),
          recordsPerThreadCall200: perCall(many),
          cpuMsPerRequest: { ...one.cpu, ...Object.fromEntries(Object.entries(many.cpu).map(([k, v]) => [`${k}200`, v])) },
          non2xx: one.api.non2xx + many.api.non2xx,
          baselineNon2xx: base1.non2xx + base200.non2xx,
          connections,
          seconds,
          ...(promoted ? { promotion: { ...promoted, failedRequests: one.api.non2xx + one.api.errors } } : {}),
        }),
      );
      const failures = one.api.non2xx + many.api.non2xx + one.api.errors + many.api.errors + base1.non2xx + base200.non2xx + base1.errors + base200.errors;
      return failures === 0 && (!promoted || promoted.switchMs !== null) ? 0 : 1;
    } finally {
      await Promise.all([web.stop(), baseline?.stop()]);
      rmSync(scratch, { recursive: true, force: true });
      await database?.drop();
      const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
      await deleteKeysWithPrefix(redis, queuePrefix).finally(() => redis.disconnect());
      if (cpuProf) console.error(`CPU profiles of the web process in ${cpuProf}`);
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
