/**
 * The real-time path's drift window: records scored one by one in the scoring thread (the real-time
 * batches and the prediction API) are counted against the champion's training reference, flushed to
 * Redis by minute, added up over the window and reported on /metrics with source="realtime".
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { scrapeMetrics } from '../../src/observability/metrics.js';
import { DriftStore } from '../../src/queue/drift-store.js';
import { realtimeDrift, specLookup, watchDriftMetrics, type MonitoringWiring } from '../../src/runtime/monitoring.js';
import { filesModel, ScoringThread } from '../../src/scoring/thread.js';
import { sampleAccount } from '../helpers/records.js';
import { ROOT } from '../helpers/process.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const prefix = `{test-${randomUUID()}}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('the real-time drift window', () => {
  it('when records are scored one batch at a time, then the window counts every one of them and /metrics reports its PSI per field', async () => {
    const scoring = await ScoringThread.open(filesModel({ modelPath: `${ROOT}models/churn-gbt.onnx` }));
    try {
      const wiring: MonitoringWiring = { store: new DriftStore(redis, prefix), config: { enabled: true, psiWatch: 0.1, psiAlert: 0.2, realtimeWindowMinutes: 60 }, specOf: specLookup(scoring), logger: createLogger('silent') };
      const window = realtimeDrift(wiring, scoring, 60_000);
      const unwatch = watchDriftMetrics(wiring, () => scoring.modelVersion);
      // Every Account month-to-month: the contract is far from the training mix, the gender is not.
      for (let b = 0; b < 3; b++) {
        await scoring.score(Array.from({ length: 100 }, (_, i) => sampleAccount(`001${b}${i}`, { Contract_Type__c: 'Month-to-month', Gender__c: i % 2 ? 'Male' : 'Female' })), { reasons: false });
      }
      await window.stop();
      const counts = await wiring.store.realtime(scoring.modelVersion, 60);
      expect(counts?.rows).toBe(300);
      expect(counts?.score.reduce((a, b) => a + b, 0)).toBe(300);
      const body = (await scrapeMetrics()).body;
      unwatch();
      expect(body).toContain('churn_drift_rows{source="realtime"} 300');
      expect(body).toContain('churn_drift_alert{source="realtime",field="Contract_Type__c"} 1');
      expect(body).toContain('churn_drift_alert{source="realtime",field="Gender__c"} 0');
    } finally {
      await scoring.close();
    }
  });
});
