/**
 * The instruments behind /metrics, fed by the real code paths: BullMQ queues and a worker on real
 * Redis (own prefix), the Salesforce client against the emulator, the scoring thread, and the
 * readiness checks' token caching.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceConfig } from '../../src/config/index.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { createApp } from '../../src/http/app.js';
import { modelReadiness, salesforceReadiness } from '../../src/http/health.js';
import { instrumentWorker, observeBatchOutcome, recordNightlyRun, registry, watchQueueDepth, watchRealtimeBacklog } from '../../src/observability/metrics.js';
import { startMetricsServer } from '../../src/observability/server.js';
import { countWrittenBands, StatusStore } from '../../src/observability/status-store.js';
import { QUEUES } from '../../src/queue/names.js';
import { RealtimeIntake } from '../../src/queue/realtime-intake.js';
import { realtimeQueue } from '../../src/queue/realtime-jobs.js';
import { SalesforceClient, TokenProvider } from '../../src/salesforce/index.js';
import { filesModel, ScoringThread } from '../../src/scoring/thread.js';
import { sampleAccount } from '../helpers/records.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });
let redis: Redis;
let prefix: string;
let org: RunningEmulator;
let sf: SalesforceConfig;

/** The value of one series in the registry's text output. */
async function value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => String((v.labels as Record<string, unknown>)[k]) === l) && (!('metricName' in v) || v.metricName === name || v.metricName === undefined));
  return match?.value;
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  prefix = `{test-${randomUUID()}}`;
  org = await startEmulator({ accounts: 20 });
  sf = { loginUrl: org.url, audience: org.url, clientId: org.consumerKey, username: org.username, privateKey: org.privateKey!, apiVersion: '66.0', tokenTimeoutMs: 5_000 };
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await org.close();
});

describe('queue metrics', () => {
  it('when jobs wait and the intake stream has entries, then a scrape reports the depths per queue and state', async () => {
    const queue = realtimeQueue(redis, prefix);
    const intake = new RealtimeIntake(redis, prefix);
    await queue.add('rescore', { accountIds: ['001000000000001AAA'], receivedAt: Date.now(), attempt: 1 });
    await queue.add('rescore', { accountIds: ['001000000000002AAA'], receivedAt: Date.now(), attempt: 1 });
    await queue.add('rescore', { accountIds: ['001000000000003AAA'], receivedAt: Date.now(), attempt: 2 }, { delay: 60_000 });
    await intake.enqueue([1, 2, 3].map((n) => ({ notificationId: `n-${n}-${randomUUID()}`, accountId: `00100000000000${n}AAA` })));
    const stops = [watchQueueDepth(queue), watchRealtimeBacklog(intake.keys.stream, () => redis.xlen(intake.keys.stream))];
    try {
      const app = createApp({ logger, readiness: [], isShuttingDown: () => false });
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();
      server.close();
      expect(text).toContain(`churn_queue_jobs{queue="${QUEUES.realtime}",state="waiting"} 2`);
      expect(text).toContain(`churn_queue_jobs{queue="${QUEUES.realtime}",state="delayed"} 1`);
      expect(text).toContain(`churn_queue_jobs{queue="${QUEUES.realtime}",state="failed"} 0`);
      expect(text).toContain(`churn_realtime_intake_backlog{stream="${intake.keys.stream}"} 3`);
    } finally {
      stops.forEach((stop) => stop());
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('when a worker completes and fails jobs, then their durations land in the histogram per queue and outcome', async () => {
    const name = `test-${randomUUID()}`;
    const queue = realtimeQueue(redis, prefix);
    const worker = new Worker(QUEUES.realtime, async (job) => {
      await new Promise((r) => setTimeout(r, 30));
      if (job.data.attempt === 9) throw new Error('boom');
    }, { connection: redis, prefix, autorun: true });
    instrumentWorker(worker, name);
    const done = new Promise<void>((resolve) => {
      let n = 0;
      const tick = () => ++n === 2 && resolve();
      worker.on('completed', tick);
      worker.on('failed', tick);
    });
    await queue.add('rescore', { accountIds: ['001000000000001AAA'], receivedAt: Date.now(), attempt: 1 });
    await queue.add('rescore', { accountIds: ['001000000000001AAA'], receivedAt: Date.now(), attempt: 9 }, { attempts: 1 });
    await done;
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    const text = await registry.getSingleMetricAsString('churn_job_duration_seconds');
    expect(text).toMatch(new RegExp(`churn_job_duration_seconds_count\\{queue="${name}",outcome="completed"\\} 1`));
    expect(text).toMatch(new RegExp(`churn_job_duration_seconds_count\\{queue="${name}",outcome="failed"\\} 1`));
    // The processor sleeps 30 ms: the recorded time is the job's, not zero.
    const sum = Number(new RegExp(`churn_job_duration_seconds_sum\\{queue="${name}",outcome="completed"\\} ([\\d.]+)`).exec(text)?.[1]);
    expect(sum).toBeGreaterThanOrEqual(0.025);
  });
});

describe('write-back, Salesforce and nightly metrics', () => {
  it('when a batch outcome is observed, then records are counted by result and Salesforce error code', async () => {
    const before = (await value('churn_writeback_records_total', { source: 'test', result: 'failed', code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION' })) ?? 0;
    observeBatchOutcome(
      {
        written: ['a', 'b'],
        unchanged: ['c'],
        retry: [{ code: 'UNABLE_TO_LOCK_ROW' }],
        failed: [{ code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION' }, { code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION' }, { code: 'NOT_FOUND' }],
      },
      'test',
    );
    expect(await value('churn_writeback_records_total', { source: 'test', result: 'failed', code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION' })).toBe(before + 2);
    expect(await value('churn_writeback_records_total', { source: 'test', result: 'retry', code: 'UNABLE_TO_LOCK_ROW' })).toBeGreaterThanOrEqual(1);
    expect(await value('churn_writeback_records_total', { source: 'test', result: 'written', code: 'none' })).toBeGreaterThanOrEqual(2);
  });

  it('when the client calls the emulator, then calls are counted by kind and the allowance gauge follows Sforce-Limit-Info', async () => {
    const before = (await value('churn_salesforce_api_calls_total', { kind: 'query' })) ?? 0;
    const client = await SalesforceClient.connect(sf);
    await client.query('SELECT Id FROM Account LIMIT 2');
    await client.describe('Account');
    expect(await value('churn_salesforce_api_calls_total', { kind: 'query' })).toBe(before + 1);
    expect(await value('churn_salesforce_api_calls_total', { kind: 'describe' })).toBeGreaterThanOrEqual(1);
    const usage = client.apiUsage!;
    expect(usage.limit).toBe(100_000);
    expect(await value('churn_salesforce_daily_api_requests', { measure: 'used' })).toBe(usage.used);
    expect(await value('churn_salesforce_daily_api_requests', { measure: 'remaining' })).toBe(usage.limit - usage.used);
  });

  it('when the scoring thread scores a batch, then the latency histogram and the record counter move', async () => {
    const scoring = await ScoringThread.open(filesModel({ modelPath: 'models/churn-gbt.onnx' }));
    try {
      const count = async () => Number(/churn_scoring_duration_seconds_count\{reasons="false",outcome="ok"\} (\d+)/.exec(await registry.getSingleMetricAsString('churn_scoring_duration_seconds'))?.[1] ?? 0);
      const before = await count();
      const records = (await value('churn_scoring_records_total')) ?? 0;
      await scoring.score([sampleAccount('001000000000001AAA'), sampleAccount('001000000000002AAA')], { reasons: false });
      expect(await count()).toBe(before + 1);
      expect(await value('churn_scoring_records_total')).toBe(records + 2);
      // The readiness probe is a round trip too, but an empty one is not a scoring call.
      expect(await modelReadiness(scoring).check()).toMatch(/^model .+ loaded$/);
      expect(await count()).toBe(before + 1);
    } finally {
      await scoring.close();
    }
  });

  it('when a nightly run ends, then recordNightlyRun counts it, its duration and its records', async () => {
    recordNightlyRun({ state: 'completed', startedAt: '2026-11-26T02:00:00.000Z', endedAt: '2026-11-26T02:30:00.000Z', counts: { read: 10, written: 7, failed: 1 } });
    expect(await value('churn_nightly_runs_total', { state: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(await value('churn_nightly_records_total', { count: 'written' })).toBeGreaterThanOrEqual(7);
    expect(await registry.getSingleMetricAsString('churn_nightly_run_duration_seconds')).toMatch(/churn_nightly_run_duration_seconds_sum\{state="completed"\} 1800/);
  });

  it('when records are written through the wrapped ports, then their risk bands are counted in Redis for the dashboard', async () => {
    const status = new StatusStore(redis, prefix);
    const ports = countWrittenBands(
      {
        comparedFields: [],
        read: async () => [],
        score: async () => [],
        write: async (updates) => updates.map((u, i) => (i === 2 ? { id: u.Id, success: false as const, statusCode: 'X', message: 'x', retryable: false } : { id: u.Id, success: true as const })),
      },
      'Churn_Risk__c',
      (counts) => status.recordBands(counts),
    );
    await ports.write([{ Id: 'a', Churn_Risk__c: 'High' }, { Id: 'b', Churn_Risk__c: 'Low' }, { Id: 'c', Churn_Risk__c: 'High' }]);
    expect(await status.bands()).toEqual({ High: 1, Low: 1 });
  });
});

describe('worker metrics endpoint and readiness', () => {
  it('when WORKER_METRICS_PORT is set, then the worker serves /metrics and nothing else', async () => {
    const server = await startMetricsServer(0, logger);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('churn_salesforce_api_calls_total');
      expect((await fetch(`http://127.0.0.1:${server.port}/admin`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('when probed repeatedly, then the Salesforce check signs in once and again only after 30 minutes', async () => {
    let now = Date.now();
    const tokens = new TokenProvider(sf);
    const check = salesforceReadiness(tokens, { now: () => now });
    expect(await check.check()).toBe('signed in');
    for (let i = 0; i < 5; i++) expect(await check.check()).toBe('token cached');
    expect(tokens.signIns).toBe(1);
    now += 31 * 60_000;
    expect(await check.check()).toBe('signed in');
    expect(tokens.signIns).toBe(2);
  });

  it('when the sign-in fails, then probes within a minute repeat the failure without signing in again', async () => {
    let now = Date.now();
    const tokens = new TokenProvider({ ...sf, username: 'nobody@emulator.local' });
    const check = salesforceReadiness(tokens, { now: () => now });
    await expect(check.check()).rejects.toThrow(/sign-in failed/);
    await expect(check.check()).rejects.toThrow(/sign-in failed/);
    expect(tokens.signIns).toBe(1);
    now += 61_000;
    await expect(check.check()).rejects.toThrow(/sign-in failed/);
    expect(tokens.signIns).toBe(2);
  });

  it('when Salesforce is not configured, then the check passes and says so', async () => {
    expect(await salesforceReadiness(undefined).check()).toMatch(/^not configured/);
  });
});
