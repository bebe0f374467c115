import { describe, expect, it } from 'vitest';
import { batchesFor, moveBand, pageQuota, planWrites, plannedJobs } from '../../src/nightly/budget.js';

describe('the nightly Bulk budget', () => {
  it('when jobs are counted in batches, then each job is rounded up to 10,000 records on its own', () => {
    expect(batchesFor([10_000, 10_001, 1, 25_000])).toBe(1 + 2 + 1 + 3);
    expect(plannedJobs(1_000_000, 2, 200_000)).toEqual([250_000, 250_000, 250_000, 250_000]);
    expect(plannedJobs(1_050_000, 3, 0)).toEqual([350_000, 350_000, 350_000]);
    // 21 pages of 476,191 records: 48 batches each, cut in two or not.
    expect(batchesFor(plannedJobs(10_000_001, 21, 200_000))).toBe(21 * 48);
  });

  it('when a full rewrite fits above the reserve, then there is no limit; when it does not, then whole batches are shared by the pages', () => {
    const fits = planWrites({ total: 1_000_000, pages: 2, splitPageFrom: 200_000, remaining: 15_000, max: 15_000, reserve: 1_500 });
    expect(fits).toMatchObject({ fullBatches: 100, note: expect.stringMatching(/within budget$/) });
    expect(fits.writeBatches).toBeUndefined();
    const over = planWrites({ total: 100_000_000, pages: 200, splitPageFrom: 200_000, remaining: 9_000, max: 15_000, reserve: 1_500 });
    expect(over).toMatchObject({ fullBatches: 10_000, available: 7_500, writeBatches: 7_300 });
    expect(over.note).toMatch(/over budget; writing at most 73000000 records in 7300 batches/);
    expect(planWrites({ total: 30_000, pages: 3, splitPageFrom: 0, remaining: 1_502, max: 15_000, reserve: 1_500 }).writeBatches).toBe(2);
    expect(planWrites({ total: 30_000, pages: 3, splitPageFrom: 0, remaining: 1_400, max: 15_000, reserve: 1_500 }).writeBatches).toBe(0);
    expect([0, 1, 2].map((i) => pageQuota(7, i, 3))).toEqual([30_000, 20_000, 20_000]);
  });

  it('when moves are banded, then larger moves fall in earlier bands', () => {
    expect([100, 49, 12, 0.3, 0.05, 0].map(moveBand)).toEqual([0, 1, 2, 7, 8, 8]);
  });
});
