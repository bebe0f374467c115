import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger.js';
import { NIGHTLY_SCHEDULER_ID } from '../../src/queue/nightly-jobs.js';
import { nightlyQueue, registerNightlySchedule } from '../../src/queue/nightly-worker.js';
import { REDIS_URL, TEST_NIGHTLY, testPrefix } from './nightly-helpers.js';

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
});
