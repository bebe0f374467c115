import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv, runToEnd } from '../helpers/process.js';
import { harness, REDIS_URL, type Harness } from '../queue/nightly-helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('churn-worker rescore', () => {
  it('when run with --where and --wait, then the filtered Accounts are re-scored and a summary is printed', async () => {
    h = await harness({ accounts: 2_000 });
    await h.startWorker();
    const { code, output } = await runToEnd(['rescore', '--where', "Contract_Type__c = 'Month-to-month'", '--wait'], cleanEnv({ REDIS_URL, QUEUE_PREFIX: h.prefix }));
    expect(output).toMatch(/^manual-\d{14}-[0-9a-f]{6}$/m);
    expect(output).toMatch(/Run manual-\S+: completed/);
    expect(code).toBe(0);
    const read = Number(/accounts \d+, read (\d+)/.exec(output)![1]);
    expect(read).toBeGreaterThan(500);
    expect(read).toBeLessThan(2_000);
    const field = h.org.state.field('Contract_Type__c')!;
    let monthToMonth = 0;
    for (let row = 0; row < 2_000; row++) if (h.org.state.store.get(row, field) === 'Month-to-month') monthToMonth += 1;
    expect(read).toBe(monthToMonth);
  });

  it('when the filter carries a second statement, then nothing is enqueued and the exit code is not 0', async () => {
    const { code, output } = await runToEnd(['rescore', '--where', 'Id != null; DELETE FROM Account'], cleanEnv({ REDIS_URL, QUEUE_PREFIX: '{test-rescore-refused}' }));
    expect(code).not.toBe(0);
    expect(output).toMatch(/NIGHTLY_FILTER_INVALID|is refused/);
  });
});
