/**
 * `churn-worker bench nightly`: one whole-org re-scoring run against the emulator, with K real worker
 * processes (`bin/churn-worker worker`), and, in the same session, the I/O floor: the same Bulk query
 * download and ingest upload with no scoring. Prints a summary, then (last stdout line) one JSON object.
 *
 * Order: start the emulator (N accounts) → floor (query, download every page, write Id + placeholder
 * outputs, ingest, wait) → reset the emulator's counters → start the workers → enqueue a run → wait,
 * sampling each worker's peak RSS (VmHWM) → check that every Account carries the model's version.
 * The floor writes placeholder values, so the run afterwards must rewrite every Account.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childEnv, loadConfig } from '../../config/index.js';
import { bulkOf } from '../../emulator/bulk/jobs.js';
import { startEmulator, type RunningEmulator } from '../../emulator/index.js';
import type { BulkBytes } from '../../emulator/state.js';
import { connectRedis } from '../../queue/redis.js';
import { enqueueRun, nightlyQueue } from '../../queue/nightly-jobs.js';
import { RunStore } from '../../queue/nightly-store.js';
import { DriftStore } from '../../queue/drift-store.js';
import { fieldsToRead } from '../../core/scored-fields.js';
import { buildSoql } from '../../nightly/query.js';
import { FINISHED_STATES } from '../../nightly/state.js';
import { BulkClient } from '../../salesforce/bulk.js';
import { SalesforceClient } from '../../salesforce/client.js';
import { loadSpec, defaultSpecPath } from '../../scoring/spec.js';
import type { DatabaseConfig } from '../../db/pool.js';
import { openSystemOfRecord, readShippedModel } from '../../runtime/models.js';
import type { Benchmark } from '../commands/bench.js';
import { UsageError } from '../errors.js';
import { benchDatabase } from './database.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin/churn-worker');

const usage = `Usage: churn-worker bench nightly [--accounts N] [--workers K] [--lock-rate R] [--chunk-size C] [--no-reasons] [--no-floor]
                                  [--history off|on|compare] [--shadow off|on|compare] [--monitoring on|off|compare]

Starts the emulator with N accounts, measures the I/O floor (Bulk query download + ingest upload, no
scoring), starts K worker processes, runs one full re-scoring and reports seconds, accounts/s,
Salesforce API calls, ingest batches, bytes on the wire and uncompressed, each worker's share (jobs,
calls, bytes, busy and idle time, peak RSS, CPU) and the ratio to the floor. The workers share nothing
but Redis. Last stdout line: JSON with accounts, workers, seconds, apiCalls, peakRssMb, floorSeconds,
accountsPerSec, ratioToFloor, ingestBatches, bytes, perWorker, loadAverage, …

  --accounts N     Accounts in the emulated org (default 100000)
  --workers K      Worker processes (default 1)
  --lock-rate R    Share of ingest records failed with UNABLE_TO_LOCK_ROW, 0..1 (default 0)
  --chunk-size C   Records per chunk / result page (default NIGHTLY_CHUNK_SIZE, 500000)
  --no-reasons     Score without reasons (top factors), to see their cost
  --no-floor       Skip the floor measurement
  --verbose        Print the workers' logs at the end (stderr)
  --node-options S NODE_OPTIONS of the worker processes, e.g. "--max-old-space-size=256"
  --steady P       Then change the inputs of P% of the Accounts and time a second run (the nightly
                   steady state: only moved scores are written, with reasons)
  --history on     The workers keep the system of record in PostgreSQL at DATABASE_URL (in a schema of
                   the benchmark's own, dropped at the end) and append every written score to the
                   score history; off (the default): no DATABASE_URL, as outside production
  --history compare  The same run without and then with the score history: both times and the ratio
  --shadow on      With the system of record, a shadow model (the shipped model under another
                   version) is set, so every page is scored twice; the history follows --history
  --shadow compare The same run without and then with the shadow: both times and the ratio
  --monitoring off The workers count no drift (MONITORING_ENABLED=false); on (the default, as the
                   workers' own default) they do, and the run's drift report is in the figures
  --monitoring compare  The same run without and then with drift monitoring: both times and the ratio
The comparisons start a new emulator (and floor) for each run, so both rewrite every Account.`;

function num(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number ≥ 0, got "${raw}"`);
  return n;
}

/** Peak and current resident set of a process, from /proc (Linux), in MB. */
function rssOf(pid: number): { hwm: number; rss: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return hwm ? { hwm: Number(hwm) / 1024, rss: Number(rss ?? 0) / 1024 } : undefined;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: Linux reports process times in hundredths of a second on every common platform. */
const CLOCK_TICKS = 100;

/**
 * The I/O floor: what the run reads and writes, without scoring. Every result page is listed at once
 * (resultPages) and `parallel` pages at a time are each downloaded, written as Id + placeholder
 * outputs and uploaded as an ingest job, as the run's workers do; then every ingest job is awaited.
 */
async function measureFloor(client: SalesforceClient, soql: string, modelFields: string[], parallel: number): Promise<{ seconds: number; calls: number }> {
  const bulk = new BulkClient(client, { poll: { initialMs: 200, maxMs: 2_000 } });
  const started = performance.now();
  const job = await bulk.createQueryJob(soql);
  await bulk.waitForJob('query', job.id, { initialMs: 200, maxMs: 2_000 });
  const locators = await bulk.resultPageLocators(job.id);
  const ingestJobs: string[] = [];
  const scoredAt = new Date().toISOString();
  let next = 0;
  const lane = async () => {
    for (let n = next++; n < locators.length; n = next++) {
      const page = await bulk.resultPage(job.id, locators[n] || null);
      const file = join(tmpdir(), `churn-floor-${process.pid}-${n}.csv`);
      const out = createWriteStream(file);
      out.write(`Id,${modelFields.join(',')}\n`);
      const idIndex = page.header.indexOf('Id');
      for await (const row of page.rows) {
        if (!out.write(`${row[idIndex]},1,Low,floor,floor,${scoredAt}\n`)) await new Promise<void>((r) => out.once('drain', r));
      }
      await new Promise<void>((r) => out.end(r));
      const ingest = await bulk.createIngestJob('Account');
      await bulk.upload(ingest.id, file);
      await bulk.setState(ingest.id, 'UploadComplete');
      ingestJobs.push(ingest.id);
      await rm(file, { force: true });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  for (const id of ingestJobs) await bulk.waitForJob('ingest', id, { initialMs: 500, maxMs: 2_000 });
  return { seconds: (performance.now() - started) / 1000, calls: bulk.calls };
}

function startWorker(org: RunningEmulator, prefix: string, pem: string, chunkSize: number, reasons: boolean, redisUrl: string, modelPath: string, scoreBatch: number, nodeOptions?: string, scoringThreads = 1, concurrency = 2, extra: Record<string, string> = {}): { child: ChildProcess; ready: Promise<void>; output: () => string } {
  const env = childEnv({
    ...extra,
    LOG_LEVEL: 'info',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    SF_LOGIN_URL: org.url,
    SF_CLIENT_ID: org.consumerKey,
    SF_USERNAME: org.username,
    SF_PRIVATE_KEY: pem,
    SF_API_VERSION: '66.0',
    MODEL_PATH: modelPath,
    NIGHTLY_ENABLED: 'false',
    NIGHTLY_CHUNK_SIZE: String(chunkSize),
    NIGHTLY_REASONS: String(reasons),
    NIGHTLY_SCORE_BATCH: String(scoreBatch),
    SCORING_THREADS: String(scoringThreads),
    NIGHTLY_CONCURRENCY: String(concurrency),
    NIGHTLY_API_RESERVE: '0',
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  });
  const child = spawn(BIN, ['worker'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
      if (out.includes('worker ready')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (code ${code}) before it was ready:\n${out.slice(-4000)}`)));
  });
  return { child, ready, output: () => out };
}

function cpuOf(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      accounts: { type: 'string' },
      workers: { type: 'string' },
      'lock-rate': { type: 'string' },
      'chunk-size': { type: 'string' },
      'no-reasons': { type: 'boolean' },
      'no-floor': { type: 'boolean' },
      verbose: { type: 'boolean' },
      'node-options': { type: 'string' },
      steady: { type: 'string' },
      history: { type: 'string', default: 'off' },
      shadow: { type: 'string', default: 'off' },
      monitoring: { type: 'string', default: 'on' },
    },
  });
  const config = loadConfig();
  for (const flag of ['history', 'shadow', 'monitoring'] as const) {
    if (!['off', 'on', 'compare'].includes(values[flag]!)) throw new UsageError(`bench nightly: --${flag} takes off, on or compare, got "${values[flag]}"`);
  }
  if ([values.history, values.shadow, values.monitoring].filter((v) => v === 'compare').length > 1) throw new UsageError('bench nightly: compare one of --history, --shadow and --monitoring at a time');
  const accounts = num('accounts', values.accounts, 100_000);
  const workers = Math.max(1, Math.floor(num('workers', values.workers, 1)));
  const lockRate = num('lock-rate', values['lock-rate'], 0);
  const chunkSize = Math.floor(num('chunk-size', values['chunk-size'], config.nightly.chunkSize));
  const reasons = !values['no-reasons'];
  const modelPath = config.scoring.modelPath;
  const spec = loadSpec(config.scoring.specPath ?? defaultSpecPath(modelPath));
  const settings: RunSettings = { accounts, workers, lockRate, chunkSize, reasons, modelPath, spec, config, values };

  // The configurations to run: one, or the pair a comparison needs.
  const shadowOn = values.shadow === 'on';
  const historyOn = values.history === 'on';
  const monitoringOn = values.monitoring !== 'off';
  const runs: Array<{ label: string; history: boolean; shadow: boolean; monitoring: boolean }> =
    values.history === 'compare'
      ? [{ label: 'history off', history: false, shadow: shadowOn, monitoring: monitoringOn }, { label: 'history on', history: true, shadow: shadowOn, monitoring: monitoringOn }]
      : values.shadow === 'compare'
        ? [{ label: 'shadow off', history: historyOn, shadow: false, monitoring: monitoringOn }, { label: 'shadow on', history: historyOn, shadow: true, monitoring: monitoringOn }]
        : values.monitoring === 'compare'
          ? [{ label: 'monitoring off', history: historyOn, shadow: shadowOn, monitoring: false }, { label: 'monitoring on', history: historyOn, shadow: shadowOn, monitoring: true }]
          : [{ label: '', history: historyOn, shadow: shadowOn, monitoring: monitoringOn }];
  const results: Array<Record<string, unknown> & { seconds: number; ok: boolean }> = [];
  for (const r of runs) {
    if (r.label) console.error(`--- ${r.label}`);
    // The system of record when the run keeps history or compares a shadow; for a shadow comparison
    // both runs have it, so the ratio is the shadow's alone.
    const needsDatabase = r.history || r.shadow || values.shadow === 'compare';
    const database = needsDatabase ? await benchDatabase(config) : undefined;
    try {
      if (database && r.shadow) await setShadow(database.config, config, spec.modelVersion);
      const result = await runOnce(settings, database && { config: database.config, history: r.history }, r.monitoring);
      if (database) Object.assign(result, { historyRows: await database.count('score_history'), shadowRows: await database.count('shadow_scores'), runRecords: await database.count('runs') });
      results.push({ ...(r.label ? { configuration: r.label } : {}), ...result });
    } finally {
      await database?.drop();
    }
  }
  const ok = results.every((r) => r.ok);
  for (const r of results) delete (r as Record<string, unknown>).ok;
  const last = results.at(-1)!;
  const [off, on] = results;
  const what = values.history === 'compare' ? 'history' : values.shadow === 'compare' ? 'shadow' : values.monitoring === 'compare' ? 'monitoring' : undefined;
  const figures = what ? { ...last, [`${what}Off`]: off, [`secondsRatioTo${what[0]!.toUpperCase()}${what.slice(1)}Off`]: Math.round((on!.seconds / off!.seconds) * 100) / 100 } : last;
  if (what) console.log(`${what} off: ${off!.seconds} s; ${what} on: ${on!.seconds} s (ratio ${Math.round((on!.seconds / off!.seconds) * 100) / 100})`);
  console.log(JSON.stringify(figures));
  return ok ? 0 : 1;
}

interface RunSettings {
  accounts: number;
  workers: number;
  lockRate: number;
  chunkSize: number;
  reasons: boolean;
  modelPath: string;
  spec: ReturnType<typeof loadSpec>;
  config: ReturnType<typeof loadConfig>;
  values: { 'no-floor'?: boolean; verbose?: boolean; 'node-options'?: string; steady?: string };
}

/** The shipped model under another version, as the registry's shadow (scores alike, costs alike). */
async function setShadow(database: DatabaseConfig, config: ReturnType<typeof loadConfig>, version: string): Promise<void> {
  const sor = await openSystemOfRecord(database, { prefix: 'bench' });
  try {
    await sor.registry.ensureChampion(async () => readShippedModel(config.scoring));
    const shipped = readShippedModel(config.scoring);
    const who = { actor: 'bench', reason: 'bench nightly --shadow' };
    const { model } = await sor.registry.register({ onnx: shipped.onnx, spec: { ...(shipped.spec as Record<string, unknown>), modelVersion: `${version}-shadow` }, source: 'imported' }, who);
    await sor.registry.shadow(model.version, who);
  } finally {
    await sor.close();
  }
}

/** One whole run: the emulator, the floor, K workers, the run; its figures. */
async function runOnce(settings: RunSettings, database: { config: DatabaseConfig; history: boolean } | undefined, monitoring: boolean): Promise<Record<string, unknown> & { seconds: number; ok: boolean }> {
  const { accounts, workers, lockRate, chunkSize, reasons, modelPath, spec, config, values } = settings;
  console.error(`starting the emulator with ${accounts.toLocaleString('en')} accounts…`);
  const org = await startEmulator({ accounts, lockRate: 0 });
  const pem = org.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString();
  const redis = await connectRedis(config.redisUrl, 'command');
  const prefix = `{bench-${randomUUID().slice(0, 8)}}`;
  const children: ReturnType<typeof startWorker>[] = [];
  try {
    const o = spec.outputFields;
    const modelFields = [o.score, o.risk, o.factors, o.modelVersion, o.scoredAt];
    // The floor reads what the run reads (core/scored-fields.ts).
    const soql = buildSoql(fieldsToRead(spec));

    // Result pages as resultPages lists them: Salesforce chooses their size; here, the chunk size.
    bulkOf(org.state).settings.parallelPageRecords = chunkSize;
    let floor: { seconds: number; calls: number; cpuSeconds: number; bytes: BulkBytes } | undefined;
    if (!values['no-floor']) {
      console.error('measuring the I/O floor (Bulk query download + ingest upload, no scoring)…');
      const client = await SalesforceClient.connect({ loginUrl: org.url, audience: org.url, clientId: org.consumerKey, username: org.username, privateKey: org.privateKey!, apiVersion: '66.0', tokenTimeoutMs: 10_000 });
      const cpuBefore = process.cpuUsage();
      floor = { ...(await measureFloor(client, soql, modelFields, workers * config.nightly.concurrency)), cpuSeconds: cpuOf(process.cpuUsage(cpuBefore)), bytes: org.state.counters.snapshot().bytes };
      console.error(`floor: ${floor.seconds.toFixed(1)} s, ${floor.calls} calls`);
    }
    org.state.faults.set({ lockRate });
    org.state.counters.reset();
    const batchesBefore = org.state.limits.bulkApiBatchesUsed;

    console.error(`starting ${workers} worker process(es)…`);
    const dbEnv: Record<string, string> = {
      MONITORING_ENABLED: String(monitoring),
      ...(database ? { DATABASE_URL: database.config.url, DATABASE_SCHEMA: database.config.schema, DATABASE_TLS: database.config.tls, HISTORY_ENABLED: String(database.history) } : {}),
    };
    for (let i = 0; i < workers; i++) children.push(startWorker(org, prefix, pem, chunkSize, reasons, config.redisUrl, modelPath, config.nightly.scoreBatch, values['node-options'], config.scoring.threads, config.nightly.concurrency, dbEnv));
    await Promise.all(children.map((c) => c.ready));
    const peak = new Map<number, number>();
    const sample = () => {
      for (const c of children) {
        const s = c.child.pid ? rssOf(c.child.pid) : undefined;
        if (s) peak.set(c.child.pid!, Math.max(peak.get(c.child.pid!) ?? 0, s.hwm));
      }
    };
    const sampler = setInterval(sample, 250).unref();

    const queue = nightlyQueue(redis, prefix);
    const store = new RunStore(redis, prefix);
    const cpuAtStart = children.map((c) => (c.child.pid ? cpuSecondsOf(c.child.pid) : undefined));
    const emulatorCpu = process.cpuUsage();
    const started = performance.now();
    const runId = await enqueueRun(queue, store, { trigger: 'bench' });
    let record = await store.get(runId);
    let lastLine = 0;
    while (!record || !FINISHED_STATES.has(record.state)) {
      await new Promise((r) => setTimeout(r, 250));
      record = await store.get(runId);
      if (performance.now() - lastLine > 5_000 && record) {
        lastLine = performance.now();
        const chunks = await store.chunks(runId);
        const read = chunks.reduce((s, c) => s + c.counts.read, 0);
        console.error(`  ${((performance.now() - started) / 1000).toFixed(0)} s: ${record.state}, read ${read.toLocaleString('en')} / ${(record.total ?? 0).toLocaleString('en')}, chunks done ${record.chunksDone}/${record.chunksTotal ?? '?'}`);
      }
      for (const c of children) if (c.child.exitCode !== null) throw new Error(`a worker exited during the run:\n${c.output().slice(-4000)}`);
    }
    const seconds = (performance.now() - started) / 1000;
    // The drift report the run's finish step wrote (just after the run record said it ended).
    let drift: { rows: number; alerts: string[]; watch: string[] } | undefined;
    for (let i = 0; monitoring && i < 100 && !drift; i++) {
      const last = await new DriftStore(redis, prefix).last();
      if (last) drift = { rows: last.report.rows, alerts: last.report.alerts, watch: [...last.report.fields, last.report.score].filter((f) => f.status === 'watch').map((f) => f.field) };
      else await new Promise((r) => setTimeout(r, 100));
    }
    const emulatorCpuSeconds = cpuOf(process.cpuUsage(emulatorCpu));
    const workerCpuSeconds = children.map((c, i) => {
      const now = c.child.pid ? cpuSecondsOf(c.child.pid) : undefined;
      return now === undefined || cpuAtStart[i] === undefined ? null : Number((now - cpuAtStart[i]!).toFixed(1));
    });
    const counters = org.state.counters.snapshot();
    sample();
    const peaks = [...peak.values()].map((v) => Math.round(v));
    // Each worker's share, as it reported it through Redis (calls, bytes, time with a job in hand);
    // the worker that finished the run adds its share just after, so wait for it (2 s at most).
    let reported = await store.workerStats(runId);
    for (let i = 0; i < 20 && Object.values(reported).reduce((n, w) => n + w.calls, 0) < record.apiCalls; i++) {
      await new Promise((r) => setTimeout(r, 100));
      reported = await store.workerStats(runId);
    }
    const mb = (n: number) => Math.round((n / 1e6) * 10) / 10;
    const perWorker = children.map((c, i) => {
      const r = Object.entries(reported).find(([id]) => id.endsWith(`-${c.child.pid}`))?.[1];
      return {
        pid: c.child.pid,
        jobs: r?.jobs ?? 0,
        apiCalls: r?.calls ?? 0,
        downloadedMb: mb(r?.downloaded ?? 0),
        uploadedMb: mb(r?.uploaded ?? 0),
        uploadedWireMb: mb(r?.uploadedWire ?? 0),
        busySeconds: Number(((r?.busyMs ?? 0) / 1000).toFixed(1)),
        idleSeconds: Number(Math.max(0, seconds - (r?.busyMs ?? 0) / 1000).toFixed(1)),
        peakRssMb: c.child.pid ? Math.round(peak.get(c.child.pid) ?? 0) : null,
        cpuSeconds: workerCpuSeconds[i] ?? null,
      };
    });
    const b = counters.bytes;
    const bytes = {
      resultsWireMb: mb(b.resultsWire),
      resultsCsvMb: mb(b.resultsRaw),
      uploadWireMb: mb(b.uploadWire),
      uploadCsvMb: mb(b.uploadRaw),
      wireMb: mb(b.resultsWire + b.uploadWire),
      uncompressedMb: mb(b.resultsRaw + b.uploadRaw),
      compressionRatio: b.resultsWire + b.uploadWire > 0 ? Number(((b.resultsRaw + b.uploadRaw) / (b.resultsWire + b.uploadWire)).toFixed(2)) : null,
    };

    // The steady state: a second run after P% of the Accounts changed.
    let steady: Record<string, unknown> | undefined;
    if (values.steady !== undefined) {
      const share = num('steady', values.steady, 1) / 100;
      const tenure = org.state.field('Tenure_Months__c')!;
      const records: Array<{ id: string; Tenure_Months__c: number }> = [];
      for (let row = 0; row < org.state.store.size; row++) {
        if ((row * 2654435761) % 1000 < share * 1000) records.push({ id: org.state.store.idOf(row), Tenure_Months__c: ((Number(org.state.store.get(row, tenure) ?? 0) + 37) % 72) + 1 });
      }
      const { updateAccounts } = await import('../../emulator/writes.js');
      for (let i = 0; i < records.length; i += 10_000) updateAccounts(org.state, records.slice(i, i + 10_000), { allOrNone: false, user: org.state.adminUser });
      const callsBefore = org.state.counters.total;
      const steadyStarted = performance.now();
      const steadyId = await enqueueRun(queue, store, { trigger: 'bench' });
      let r = await store.get(steadyId);
      while (!r || !FINISHED_STATES.has(r.state)) {
        await new Promise((res) => setTimeout(res, 250));
        r = await store.get(steadyId);
      }
      steady = { peakRssMb: Math.round(Math.max(0, ...peak.values())), changedAccounts: records.length, seconds: Number(((performance.now() - steadyStarted) / 1000).toFixed(2)), apiCalls: org.state.counters.total - callsBefore, state: r.state, counts: r.counts };
      console.error(`steady-state run: ${JSON.stringify(steady)}`);
    }
    clearInterval(sampler);
    await queue.close();

    const versionField = org.state.field(o.modelVersion)!;
    let current = 0;
    for (let row = 0; row < org.state.store.size; row++) if (org.state.store.get(row, versionField) === spec.modelVersion) current += 1;
    const result = {
      accounts,
      workers,
      seconds: Number(seconds.toFixed(2)),
      apiCalls: counters.total,
      peakRssMb: Math.max(0, ...peaks),
      floorSeconds: floor ? Number(floor.seconds.toFixed(2)) : null,
      accountsPerSec: Math.round(accounts / seconds),
      ratioToFloor: floor ? Number((seconds / floor.seconds).toFixed(2)) : null,
      workerPeakRssMb: peaks,
      // CPU seconds during the run: each worker process (all its threads), and this process (the
      // emulator); during the floor, this process (emulator and the floor's client).
      workerCpuSeconds,
      emulatorCpuSeconds: Number(emulatorCpuSeconds.toFixed(1)),
      floorCpuSeconds: floor ? Number(floor.cpuSeconds.toFixed(1)) : null,
      runState: record.state,
      runApiCalls: record.apiCalls,
      counts: record.counts,
      chunks: record.chunksTotal,
      scoredWithModel: current,
      allScored: current === org.state.store.count,
      lockRate,
      reasons,
      chunkSize,
      floorApiCalls: floor?.calls ?? null,
      callsByKind: counters.byKind,
      ingestBatches: org.state.limits.bulkApiBatchesUsed - batchesBefore,
      bytes,
      floorBytes: floor ? { wireMb: mb(floor.bytes.resultsWire + floor.bytes.uploadWire), uncompressedMb: mb(floor.bytes.resultsRaw + floor.bytes.uploadRaw) } : null,
      perWorker,
      loadAverage: loadavg().map((n) => Number(n.toFixed(2))),
      monitoring,
      ...(drift ? { drift } : {}),
      ...(steady ? { steady } : {}),
    };
    console.log(`Nightly run of ${accounts.toLocaleString('en')} accounts with ${workers} worker(s): ${result.seconds} s (${result.accountsPerSec.toLocaleString('en')} accounts/s), ${result.apiCalls} API calls`);
    console.log(`  state ${record.state}; read ${record.counts.read}, written ${record.counts.written}, unchanged ${record.counts.unchanged}, retried ${record.counts.retried}, failed ${record.counts.failed}`);
    console.log(`  peak RSS per worker: ${peaks.join(', ')} MB; I/O floor ${result.floorSeconds ?? '-'} s (ratio ${result.ratioToFloor ?? '-'})`);
    console.log(`  on the wire ${bytes.wireMb} MB (results ${bytes.resultsWireMb}, uploads ${bytes.uploadWireMb}); uncompressed ${bytes.uncompressedMb} MB (results ${bytes.resultsCsvMb}, uploads ${bytes.uploadCsvMb}); ratio ${bytes.compressionRatio}`);
    for (const w of perWorker) console.log(`  worker ${w.pid}: ${w.jobs} jobs, ${w.apiCalls} calls, ${w.downloadedMb} MB read, ${w.uploadedMb} MB uploaded (${w.uploadedWireMb} MB on the wire), busy ${w.busySeconds} s, idle ${w.idleSeconds} s, peak RSS ${w.peakRssMb} MB, CPU ${w.cpuSeconds} s`);
    console.log(`  Accounts carrying model ${spec.modelVersion}: ${current.toLocaleString('en')} of ${org.state.store.count.toLocaleString('en')}`);
    if (values.verbose) for (const c of children) console.error(c.output().slice(-20_000));
    return { ...result, ...(database ? { history: database.history } : {}), ok: record.state === 'completed' || record.state === 'completed-with-failures' };
  } finally {
    for (const c of children) c.child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.child.exitCode === null ? new Promise((r) => c.child.once('exit', r)) : undefined)));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await org.close();
  }
}

export const benchmark: Benchmark = {
  summary: 'Whole-org re-scoring through Bulk API 2.0 with K worker processes, against its I/O floor.',
  usage,
  run,
};
