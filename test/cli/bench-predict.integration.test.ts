/** `churn-worker bench predict` on a small scale: the real web process and the baseline's own process. */
import { describe, expect, it } from 'vitest';
import { cleanEnv, runToEnd } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('churn-worker bench predict', () => {
  it('when run briefly, then both servers answer every request with 200 and the last line carries the ratios to the bare-Express baseline', async () => {
    const { code, output } = await runToEnd(['bench', 'predict', '--seconds', '1', '--connections', '4'], cleanEnv({ REDIS_URL }));
    expect(code, output).toBe(0);
    const figures = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown> & { baseline: Record<string, number>; cpuMsPerRequest: Record<string, number | null> };
    expect(figures).toMatchObject({ non2xx: 0, baselineNon2xx: 0, connections: 4 });
    for (const key of ['requestsPerSec', 'requestsPerSec200', 'ratioToBaseline', 'ratioToBaseline200', 'p99ToBaseline', 'p99ToBaseline200']) {
      expect(figures[key], key).toBeGreaterThan(0);
    }
    for (const key of ['requestsPerSec', 'p99Ms', 'requestsPerSec200', 'p99Ms200']) expect(figures.baseline[key], key).toBeGreaterThan(0);
    expect(figures.ratioToBaseline).toBe(Math.round(((figures.requestsPerSec as number) / figures.baseline.requestsPerSec!) * 100) / 100);
    // Two hundred records per request go to the thread as one call each.
    expect(figures.recordsPerThreadCall200).toBeGreaterThan(150);
    expect(figures.cpuMsPerRequest.api200).toBeGreaterThan(0);
  }, 120_000);
});
