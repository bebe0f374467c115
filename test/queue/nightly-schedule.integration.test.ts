import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger.js';
import { NIGHTLY_SCHEDULER_ID } from '../../src/queue/nightly-jobs.js';
import { nightlyQueue, registerNightlySchedule } from '../../src/queue/nightly-jobs.js';
import { REDIS_URL, TEST_NIGHTLY, harness, scoredAccounts, testPrefix, waitForRun } from './nightly-helpers.js';

const logger = createLogger('silent');
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('the nightly schedule', () => {
  it('when several workers register it at start-up, then one scheduler exists with the cron pattern and time zone, and one delayed run', async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const prefix = testPrefix();
    const queues = [nightlyQueue(redis, prefix), nightlyQueue(redis, prefix), nightlyQueue(redis, prefix)];
    cleanup = async () => {
      await queues[0]!.obliterate({ force: true });
      for (const q of queues) await q.close();
      await redis.quit();
    };
    const config = { ...TEST_NIGHTLY, enabled: true, cron: '0 0 2 * * *', tz: 'Europe/Paris' };
    await Promise.all(queues.map((q) => registerNightlySchedule(q, config, logger)));
    await registerNightlySchedule(queues[0]!, config, logger);
    const schedulers = await queues[0]!.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: NIGHTLY_SCHEDULER_ID, pattern: '0 0 2 * * *', tz: 'Europe/Paris' });
    const delayed = await queues[0]!.getDelayed();
    expect(delayed).toHaveLength(1);
    expect(delayed[0]!.name).toBe('run');
    const next = new Date(delayed[0]!.timestamp + delayed[0]!.delay);
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hour12: false }).format(next)).toBe('02:00');

    await registerNightlySchedule(queues[1]!, { ...config, enabled: false }, logger);
    expect(await queues[0]!.getJobSchedulers()).toHaveLength(0);
  });

  it('when the schedule comes due, then a worker runs it like any run: every Account is scored and the run is recorded as scheduled', async () => {
    const h = await harness({ accounts: 400 });
    cleanup = () => h.close();
    const w = await h.startWorker();
    // Every second, so the test sees it fire; removed once the first run exists.
    await registerNightlySchedule(w.queue, { ...TEST_NIGHTLY, enabled: true, cron: '* * * * * *' }, logger);
    let runId: string | undefined;
    for (const started = Date.now(); !runId && Date.now() - started < 15_000; ) {
      runId = (await w.store.recentIds(1))[0];
      if (!runId) await new Promise((r) => setTimeout(r, 100));
    }
    await registerNightlySchedule(w.queue, { ...TEST_NIGHTLY, enabled: false }, logger);
    expect(runId).toBeDefined();
    const run = await waitForRun(w.store, runId!);
    expect(run).toMatchObject({ trigger: 'schedule', state: 'completed' });
    expect(run.counts.written).toBe(400);
    expect(scoredAccounts(h.org)).toEqual({ scored: 400, total: 400 });
  });
});
