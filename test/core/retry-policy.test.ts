/** The back-off arithmetic of core/retry-policy.ts, with a fixed random source. */
import { describe, expect, it } from 'vitest';
import { accountDeferBackoff, backoffMs, JOB_RETRY, MAX_DEFERRALS, NIGHTLY_RECORD_BACKOFF, pollBackoff, POLL_GROWTH, realtimeRecordBackoff, redisReconnectMs, SAFE_REQUEST_RETRY } from '../../src/core/retry-policy.js';

describe('back-off', () => {
  it('when retries follow each other, then the delay grows by the factor from the base up to the cap', () => {
    const b = { baseMs: 500, factor: 2, capMs: 8_000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, b))).toEqual([500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    // Attempt 0 or below counts as the first.
    expect(backoffMs(0, b)).toBe(500);
    expect(backoffMs(-3, b)).toBe(500);
  });

  it('when jitter is a share, then up to that share of the delay is added; in milliseconds, up to that many', () => {
    const b = { baseMs: 1_000, factor: 2, capMs: 60_000 };
    expect(backoffMs(2, { ...b, jitter: 0.5 }, () => 1)).toBe(3_000);
    expect(backoffMs(2, { ...b, jitter: 0.5 }, () => 0)).toBe(2_000);
    expect(backoffMs(2, { ...b, jitterMs: 300 }, () => 0.5)).toBe(2_150);
    // A share wins over milliseconds when both are given; none gives no jitter.
    expect(backoffMs(2, { ...b, jitter: 0.1, jitterMs: 300 }, () => 1)).toBe(2_200);
    expect(backoffMs(2, b, () => 1)).toBe(2_000);
    expect(backoffMs(1, { baseMs: 1, factor: 1, capMs: 10, jitterMs: 0.4 }, () => 1)).toBe(1);
  });

  it('when the policies are read, then each has its documented numbers', () => {
    expect(realtimeRecordBackoff(2_000)).toEqual({ baseMs: 2_000, factor: 2, capMs: 60_000, jitterMs: 500 });
    expect(accountDeferBackoff(1_000)).toEqual({ baseMs: 1_000, factor: 2, capMs: 5_000, jitterMs: 500 });
    expect(pollBackoff(1_000, 30_000)).toEqual({ baseMs: 1_000, factor: POLL_GROWTH, capMs: 30_000 });
    expect(POLL_GROWTH).toBe(1.6);
    expect(NIGHTLY_RECORD_BACKOFF).toEqual({ baseMs: 1_000, factor: 2, capMs: 30_000 });
    expect(MAX_DEFERRALS).toBe(120);
    expect(JOB_RETRY.realtime).toEqual({ attempts: 12, backoff: { type: 'exponential', delay: 1_000 } });
    expect(JOB_RETRY.nightly).toEqual({ attempts: 10, backoff: { type: 'exponential', delay: 5_000 } });
    expect(SAFE_REQUEST_RETRY.maxRetries).toBe(5);
  });

  it('when Redis reconnects, then each try waits 200 ms more, at most 2 s', () => {
    expect([1, 2, 9, 10, 11, 100].map(redisReconnectMs)).toEqual([200, 400, 1_800, 2_000, 2_000, 2_000]);
  });
});
