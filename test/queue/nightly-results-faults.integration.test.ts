/**
 * Bulk query results that break off mid-page or go silent: the chunk reads the page again with the
 * same locator and every Account is written exactly once (no double write, no loss), also when parts
 * of the page were already submitted when the download failed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultsRequest } from '../../src/emulator/bulk/jobs.js';
import { enqueueRun } from '../../src/queue/nightly-jobs.js';
import { admin } from '../emulator/helpers.js';
import { harness, scoredAccounts, waitForRun, type Harness } from './nightly-helpers.js';

let h: Harness | undefined;
let stopCounting: (() => void) | undefined;
afterEach(async () => {
  stopCounting?.();
  await h?.close();
  h = undefined;
});

/** Counts the integration user's writes per Account (row), from the emulator's change events. */
function countWrites(harness: Harness): Map<number, number> {
  const writes = new Map<number, number>();
  stopCounting = harness.org.state.store.onChange((change) => {
    if (change.username === harness.org.username) writes.set(change.row, (writes.get(change.row) ?? 0) + 1);
  });
  return writes;
}

describe('nightly run: a results page that breaks off or times out', () => {
  it('when the first page\'s download is cut mid-page after its first half was submitted, then the page is read again and every Account is written exactly once', async () => {
    h = await harness({ accounts: 3_000 });
    const writes = countWrites(h);
    // Page 0 holds 1,000 records and is cut in two parts at record 500; the download breaks at 700.
    await admin(h.org, 'PUT', '/bulk', { cutNextResults: { afterRecords: 700, offset: 0 } });
    const { queue, store } = await h.startWorker({ chunkSize: 1_000, splitPageFrom: 400 });
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const run = await waitForRun(store, runId, 60_000);

    expect(run.state).toBe('completed');
    expect(run.counts).toMatchObject({ read: 3_000, written: 3_000, unchanged: 0, failed: 0 });
    expect(scoredAccounts(h.org)).toEqual({ scored: 3_000, total: 3_000 });
    expect(writes.size).toBe(3_000);
    expect([...writes.values()].every((n) => n === 1)).toBe(true);

    const served = (await admin<ResultsRequest[]>(h.org, 'GET', '/bulk/results')).body.filter((r) => r.offset === 0);
    // The page listed by resultPages, read twice by its own locator.
    expect(served.map((r) => [r.outcome, r.sent])).toEqual([
      ['cut', 700],
      ['complete', 1_000],
    ]);
    expect(served[1]!.locator).toBe(served[0]!.locator);
    const [first] = await store.chunks(runId);
    expect(first!.jobs.map((j) => [j.part, j.records])).toEqual([
      [0, 500],
      [1, 500],
    ]);
    // A gzip body cut short fails as a broken stream or, when the decompressor reports a clean end,
    // by its record count: either way the same locator is read again.
    expect((await store.events(runId)).join('\n')).toMatch(/chunk 0 failed \(attempt 1\), will retry: The results page (of Bulk query job \w+ \(locator \S+\) broke off|of chunk 0 ended after 700 of its 1000 records).*same locator/);
  });

  it('when a later page goes silent mid-page after two of its parts were submitted, then the idle timeout gives it up, the same locator is read again and every Account is written exactly once', async () => {
    h = await harness({ accounts: 3_000 });
    const writes = countWrites(h);
    // Page 1 (offset 1,000) is written in parts of at most 60 kB (about 400 records each); its
    // download stops after 900 records and holds the connection, as a download that times out.
    await admin(h.org, 'PUT', '/bulk', { stallNextResults: { afterRecords: 900, offset: 1_000, ms: 60_000 } });
    const { queue, store } = await h.startWorker({ chunkSize: 1_000, ingestMaxBytes: 60_000, resultIdleTimeoutMs: 1_000 });
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const run = await waitForRun(store, runId, 60_000);

    expect(run.state).toBe('completed');
    expect(run.counts).toMatchObject({ read: 3_000, written: 3_000, unchanged: 0, failed: 0 });
    expect(writes.size).toBe(3_000);
    expect([...writes.values()].every((n) => n === 1)).toBe(true);

    const served = (await admin<ResultsRequest[]>(h.org, 'GET', '/bulk/results')).body.filter((r) => r.offset === 1_000);
    expect(served).toHaveLength(2);
    expect(served[0]).toMatchObject({ outcome: 'stalled', sent: 900 });
    expect(served[1]).toMatchObject({ outcome: 'complete', sent: 1_000 });
    expect(served[1]!.locator).toBe(served[0]!.locator);
    const chunk = (await store.chunks(runId))[1]!;
    expect(chunk.parts).toBeGreaterThanOrEqual(3);
    expect(chunk.jobs.reduce((sum, j) => sum + j.records, 0)).toBe(1_000);
    expect((await store.events(runId)).join('\n')).toMatch(/chunk 1 failed \(attempt 1\), will retry: The results page .* sent nothing for 1 s/);
  });
});
