/** `churn-worker bench hostile` on a small scale: the whole stack, real processes, real Redis. */
import { describe, expect, it } from 'vitest';
import { cleanEnv, runToEnd } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('churn-worker bench hostile', () => {
  it('when run small, then its last line is one JSON object with the figures the issue names: no API call for spoofed notifications, every hostile body refused, no double write', async () => {
    const args = ['bench', 'hostile', '--spoofed', '300', '--deep-requests', '3', '--seconds', '1', '--connections', '2', '--race-accounts', '20', '--race-latency-ms', '300'];
    const { code, output } = await runToEnd(args, cleanEnv({ REDIS_URL }));
    expect(code, output).toBe(0);
    const figures = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(figures).toMatchObject({ spoofedNotifications: 300, spoofedRefused: 3, spoofedApiCalls: 0, deepStatus: [400], raceAccounts: 20, raceWritten: 20, raceDoubleWrites: 0 });
    for (const key of ['deepRefusalMs', 'healthzUnderFloodMs']) expect(figures[key], key).toMatchObject({ p50: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) });
    expect(Object.keys(figures.shapesMaxMs as object)).toEqual(expect.arrayContaining(['deep', 'wide', 'attributes', 'bigText']));
    expect(figures.floodRequests as number).toBeGreaterThan(0);
  }, 120_000);
});
