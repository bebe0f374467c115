/** Shared set-up of the nightly tests: an emulated org, real Redis, a real scoring thread, in-process workers. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { NightlyConfig } from '../../src/config/index.js';
import { bulkOf } from '../../src/emulator/bulk/jobs.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { FailureLog } from '../../src/queue/failures.js';
import type { RunStore } from '../../src/queue/nightly-store.js';
import type { RunRecord } from '../../src/nightly/state.js';
import { nightlyWorker, threadScorer, type NightlyWiring } from '../../src/runtime/nightly.js';
import { SalesforceClient } from '../../src/salesforce/client.js';
import { filesModel, ScoringThread } from '../../src/scoring/thread.js';
import { ROOT } from '../helpers/process.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MODEL_PATH = `${ROOT}models/churn-gbt.onnx`;
export const logger = createLogger('silent');

export const TEST_NIGHTLY: NightlyConfig = {
  enabled: false,
  cron: '0 0 2 * * *',
  tz: 'UTC',
  chunkSize: 1_000,
  scoreBatch: 500,
  concurrency: 2,
  apiReserve: 100,
  bulkBatchReserve: 100,
  reserveWaitMs: 500,
  pollInitialMs: 50,
  pollMaxMs: 200,
  ingestMaxBytes: 100_000_000,
  retryAttempts: 5,
  resultIdleTimeoutMs: 120_000,
  splitPageFrom: 0,
  reasons: true,
};

export function testPrefix(): string {
  return `{test-${randomUUID()}}`;
}

export async function connectClient(org: RunningEmulator, apiVersion = '66.0'): Promise<SalesforceClient> {
  return SalesforceClient.connect(
    { loginUrl: org.url, audience: org.url, clientId: org.consumerKey, username: org.username, privateKey: org.privateKey!, apiVersion, tokenTimeoutMs: 5_000 },
    { retry: { maxRetries: 0 } },
  );
}

export interface Harness {
  org: RunningEmulator;
  redis: Redis;
  prefix: string;
  scoring: ScoringThread;
  failures: FailureLog;
  workers: Array<ReturnType<typeof nightlyWorker>>;
  startWorker(config?: Partial<NightlyConfig>, wiring?: Partial<NightlyWiring>): Promise<ReturnType<typeof nightlyWorker>>;
  close(): Promise<void>;
}

export async function harness(orgOptions: EmulatorOptions = {}): Promise<Harness> {
  const org = await startEmulator({ accounts: 3_000, ...orgOptions });
  // Result pages listed by resultPages hold as many records as the chained pages of TEST_NIGHTLY.
  bulkOf(org.state).settings.parallelPageRecords = TEST_NIGHTLY.chunkSize;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = testPrefix();
  const scoring = await ScoringThread.open(filesModel({ modelPath: MODEL_PATH, threads: 1 }));
  const failures = new FailureLog(redis, prefix);
  const workers: Harness['workers'] = [];
  return {
    org,
    redis,
    prefix,
    scoring,
    failures,
    workers,
    async startWorker(config = {}, wiring = {}) {
      // The pages resultPages lists are the size a test asks its chunks to be.
      if (config.chunkSize !== undefined) bulkOf(org.state).settings.parallelPageRecords = config.chunkSize;
      const salesforce = await connectClient(org);
      const w = nightlyWorker({
        connection: redis,
        prefix,
        salesforce,
        scorer: threadScorer(scoring),
        failures,
        config: { ...TEST_NIGHTLY, ...config },
        lockDurationMs: 5_000,
        logger,
        retryDelayMs: () => 50,
        ...wiring,
      });
      workers.push(w);
      return w;
    },
    async close() {
      for (const w of workers) {
        await w.worker.close();
        await w.queue.obliterate({ force: true }).catch(() => undefined);
        await w.queue.close();
      }
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await scoring.close();
      await org.close();
    },
  };
}

export async function waitForRun(store: RunStore, runId: string, timeoutMs = 30_000, until = (r: RunRecord) => ['completed', 'completed-with-failures', 'failed', 'skipped'].includes(r.state)): Promise<RunRecord> {
  const started = Date.now();
  for (;;) {
    const run = await store.get(runId);
    if (run && until(run)) return run;
    if (Date.now() - started > timeoutMs) throw new Error(`run ${runId} did not finish: ${JSON.stringify(run)}\nevents: ${(await store.events(runId)).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every live Account's output fields, from the emulator's store. */
export function scoredAccounts(org: RunningEmulator): { scored: number; total: number } {
  const store = org.state.store;
  const field = org.state.field('Churn_Score__c')!;
  let scored = 0;
  for (let row = 0; row < store.size; row++) if (!store.isDeleted(row) && store.get(row, field) !== null) scored += 1;
  return { scored, total: store.count };
}
