/**
 * The nightly run's Bulk budget against the emulator: when a full rewrite would cross the reserve of
 * the org's daily Bulk batches, the run writes the Accounts whose scores moved most, stops at the
 * reserve and says so; the next run (with the day's batches back) writes the rest, and every Account
 * whose score moved is written exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { enqueueRun } from '../../src/queue/nightly-jobs.js';
import { updateAccounts } from '../../src/emulator/writes.js';
import { admin } from '../emulator/helpers.js';
import { harness, waitForRun, type Harness } from './nightly-helpers.js';

let h: Harness | undefined;
let stopCounting: (() => void) | undefined;
afterEach(async () => {
  stopCounting?.();
  await h?.close();
  h = undefined;
});

describe('nightly run: the Bulk batch budget', () => {
  it('when a full rewrite would cross the reserve, then the run writes the largest moves first, stops at the reserve and says so, and the next run writes the rest, each Account once', async () => {
    h = await harness({ accounts: 20_000 });
    // One page of 20,000 records: a full rewrite is two batches of 10,000.
    const { queue, store } = await h.startWorker({ chunkSize: 20_000, bulkBatchReserve: 100 });
    const first = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }), 90_000);
    expect(first.counts.written).toBe(20_000);
    const { state } = h.org;
    const score = state.field('Churn_Score__c')!;
    const scored = Array.from({ length: 12_000 }, (_, row) => Number(state.store.get(row, score)));

    // 6,000 stored scores far off (40 points or more), 6,000 a little off (0.3 points).
    const records = scored.map((s, row) => ({
      id: state.store.idOf(row),
      Churn_Score__c: row < 6_000 ? (s + 40) % 100 : s > 99 ? s - 0.3 : s + 0.3,
    }));
    for (let i = 0; i < records.length; i += 5_000) updateAccounts(state, records.slice(i, i + 5_000), { allOrNone: false, user: state.adminUser });
    const writes = new Map<number, number>();
    stopCounting = state.store.onChange((change) => {
      if (change.username === h!.org.username) writes.set(change.row, (writes.get(change.row) ?? 0) + 1);
    });

    // 101 batches left today, 100 kept for other integrations: one batch of 10,000 records for the run.
    await admin(h.org, 'PUT', '/limits', { bulkApiBatchesMax: 15_000, bulkApiBatchesUsed: 15_000 - 101 });
    const partial = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }), 90_000);
    expect(partial.state, partial.message).toBe('completed');
    expect(partial.counts).toMatchObject({ read: 20_000, written: 10_000, deferred: 2_000, unchanged: 8_000, failed: 0 });
    expect(partial.message).toMatch(/^partial run: 2000 Accounts whose scores moved least were left for the next run \(a full rewrite of 20000 records may take 2 of the 101 Bulk batches .*over budget; writing at most 10000 records/);
    expect((await store.events(partial.id)).join('\n')).toMatch(/Bulk budget: .*over budget/);
    // It stopped at the reserve: one batch spent, 100 left.
    expect(state.limits.bulkApiBatchesMax - state.limits.bulkApiBatchesUsed).toBe(100);
    // Every large move was written; 4,000 of the small ones.
    const writtenRows = [...writes.keys()];
    expect(writtenRows.filter((r) => r < 6_000)).toHaveLength(6_000);
    expect(writtenRows.filter((r) => r >= 6_000 && r < 12_000)).toHaveLength(4_000);
    expect(writtenRows.filter((r) => r >= 12_000)).toHaveLength(0);

    // The next day: the batches are back; the next run writes the 2,000 left and nothing else.
    await admin(h.org, 'PUT', '/limits', { bulkApiBatchesUsed: 0 });
    const rest = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }), 90_000);
    expect(rest.counts).toMatchObject({ written: 2_000, deferred: 0, unchanged: 18_000 });
    expect(rest.message ?? '').not.toMatch(/partial/);
    expect(writes.size).toBe(12_000);
    expect([...writes.values()].every((n) => n === 1)).toBe(true);
    for (let row = 0; row < 12_000; row++) expect(Number(state.store.get(row, score))).toBe(scored[row]);
  }, 240_000);

  it('when no batch is left above the reserve, then the run writes nothing and waits, saying why', async () => {
    h = await harness({ accounts: 2_000 });
    const { queue, store } = await h.startWorker({ bulkBatchReserve: 100, reserveWaitMs: 60_000 });
    await admin(h.org, 'PUT', '/limits', { bulkApiBatchesMax: 15_000, bulkApiBatchesUsed: 15_000 - 100 });
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const waiting = await waitForRun(store, runId, 30_000, (r) => r.state === 'waiting-api' && (r.message ?? '').includes('Bulk'));
    expect(waiting.message).toMatch(/^waiting: a full rewrite of 2000 records may take 2 of the 100 Bulk batches .*no budget left above the reserve; checking again in 60 s/);
    expect(h.org.state.counters.byKind.bulkIngestCreate).toBeUndefined();
  });
});
