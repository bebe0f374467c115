import { afterEach, describe, expect, it } from 'vitest';
import { enqueueRun } from '../../src/queue/nightly-jobs.js';
import { admin } from '../emulator/helpers.js';
import { connectClient, harness, scoredAccounts, waitForRun, type Harness } from './nightly-helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('nightly re-scoring through Bulk API 2.0', () => {
  it('when a run is enqueued, then every Account is scored through query and ingest jobs, in chunks', async () => {
    h = await harness({ accounts: 3_000 });
    const { queue, store } = await h.startWorker();
    await h.startWorker();
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const run = await waitForRun(store, runId);
    expect(run.state).toBe('completed');
    expect(run.total).toBe(3_000);
    expect(run.chunksTotal).toBe(3);
    expect(run.counts.read).toBe(3_000);
    expect(run.counts.written + run.counts.unchanged).toBe(3_000);
    expect(scoredAccounts(h.org)).toEqual({ scored: 3_000, total: 3_000 });
    // Every metered call of the run is in its record (the emulator also counts the token requests apart).
    expect(run.apiCalls).toBe(h.org.state.counters.total);
    const counters = (await admin<{ byKind: Record<string, number> }>(h.org, 'GET', '/counters')).body;
    expect(counters.byKind.bulkIngestCreate).toBe(3);
  });

  it('when the API version is 58.0 or later, then every result page is listed at once and each chunk reads its own page by locator, compressed both ways', async () => {
    h = await harness({ accounts: 3_000 });
    const { queue, store } = await h.startWorker();
    await h.startWorker();
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(run).toMatchObject({ state: 'completed', pages: 'parallel', chunksTotal: 3 });
    expect(scoredAccounts(h.org)).toEqual({ scored: 3_000, total: 3_000 });
    // One resultPages call lists the three pages; each page is read once, by its own listed locator.
    expect(h.org.state.counters.byKind.bulkQueryResultPages).toBe(1);
    const served = (await admin<Array<{ locator: string | null; offset: number; records: number }>>(h.org, 'GET', '/bulk/results')).body;
    expect(served.map((r) => r.offset).sort((a, b) => a - b)).toEqual([0, 1_000, 2_000]);
    expect(served.every((r) => r.locator !== null && r.records === 1_000)).toBe(true);
    const bytes = h.org.state.counters.snapshot().bytes;
    expect(bytes.resultsWire).toBeLessThan(bytes.resultsRaw / 2);
    expect(bytes.uploadWire).toBeLessThan(bytes.uploadRaw / 2);
    expect(run.apiCalls).toBe(h.org.state.counters.total);
    // Each worker's figures, reported through Redis, add up to the run's and to what the org saw.
    // The last chunk's worker adds its figures just after it finished the run: wait for them.
    let workers = Object.values(await store.workerStats(run.id));
    for (let i = 0; i < 50 && workers.reduce((n, w) => n + w.calls, 0) < run.apiCalls; i++) {
      await new Promise((r) => setTimeout(r, 100));
      workers = Object.values(await store.workerStats(run.id));
    }
    const sum = (k: 'calls' | 'downloaded' | 'uploaded' | 'uploadedWire' | 'jobs') => workers.reduce((n, w) => n + w[k], 0);
    expect(sum('calls')).toBe(run.apiCalls);
    expect(sum('jobs')).toBeGreaterThanOrEqual(4);
    expect(sum('downloaded')).toBe(bytes.resultsRaw);
    expect(sum('uploaded')).toBe(bytes.uploadRaw);
    expect(sum('uploadedWire')).toBe(bytes.uploadWire);
  });

  it('when the API version is before 58.0, then each page\'s locator comes from the previous page, as before', async () => {
    h = await harness({ accounts: 2_500 });
    const { queue, store } = await h.startWorker({}, { salesforce: await connectClient(h.org, '57.0') });
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(run).toMatchObject({ state: 'completed', pages: 'chained', chunksTotal: 3 });
    expect(h.org.state.counters.byKind.bulkQueryResultPages).toBeUndefined();
    const served = (await admin<Array<{ locator: string | null; maxRecords: number }>>(h.org, 'GET', '/bulk/results')).body;
    expect(served.map((r) => r.maxRecords)).toEqual([1_000, 1_000, 1_000]);
    expect(served[0]!.locator).toBeNull();
    expect(scoredAccounts(h.org)).toEqual({ scored: 2_500, total: 2_500 });
  });

  it('when nothing changed since the last run, then the next run writes nothing: every score is unchanged and no ingest job is created', async () => {
    h = await harness({ accounts: 1_500 });
    const { queue, store } = await h.startWorker();
    expect((await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }))).counts.written).toBe(1_500);
    const creates = h.org.state.counters.byKind.bulkIngestCreate;
    const again = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(again.state).toBe('completed');
    expect(again.counts).toMatchObject({ read: 1_500, unchanged: 1_500, written: 0 });
    expect(h.org.state.counters.byKind.bulkIngestCreate).toBe(creates);
  });

  it('when a few Accounts changed since the last run, then only those whose score moved are written, with their reasons', async () => {
    h = await harness({ accounts: 1_500 });
    const { queue, store } = await h.startWorker();
    await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    const contract = h.org.state.field('Contract_Type__c')!;
    const changed = Array.from({ length: 1_500 }, (_, row) => row).filter((row) => h!.org.state.store.get(row, contract) !== 'Two year').slice(0, 20);
    await admin(h.org, 'PATCH', '/accounts', { records: changed.map((row) => ({ id: h!.org.state.store.idOf(row), Contract_Type__c: 'Two year', Tenure_Months__c: 70 })) });
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(run.counts.written).toBeGreaterThan(0);
    expect(run.counts.written).toBeLessThanOrEqual(20);
    expect(run.counts.unchanged).toBeGreaterThanOrEqual(1_480);
    const factors = h.org.state.field('Churn_Top_Factors__c')!;
    for (const row of changed) expect(String(h.org.state.store.get(row, factors))).not.toBe('');
  });

  it('when a chunk\'s CSV would pass the upload limit, then it is split over several ingest jobs', async () => {
    h = await harness({ accounts: 1_200 });
    const { queue, store } = await h.startWorker({ chunkSize: 5_000, ingestMaxBytes: 60_000 });
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(run.state).toBe('completed');
    expect(run.chunksTotal).toBe(1);
    expect(h.org.state.counters.byKind.bulkIngestCreate).toBeGreaterThanOrEqual(3);
    expect(scoredAccounts(h.org).scored).toBe(1_200);
    const [chunk] = await store.chunks(run.id);
    expect(chunk!.parts).toBe(h.org.state.counters.byKind.bulkIngestCreate);
  });

  it('when the first and last pages are large, then each is cut in two ingest jobs at its middle record and every Account is written once', async () => {
    h = await harness({ accounts: 5_000 });
    const { queue, store } = await h.startWorker({ chunkSize: 2_000, splitPageFrom: 1_000 });
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(run.state).toBe('completed');
    expect(run.chunksTotal).toBe(3);
    expect(run.counts).toMatchObject({ read: 5_000, written: 5_000, failed: 0 });
    expect(scoredAccounts(h.org)).toEqual({ scored: 5_000, total: 5_000 });
    const [first, middle, last] = await store.chunks(run.id);
    expect(middle!.jobs.map((j) => [j.part, j.records])).toEqual([[0, 2_000]]);
    expect([first!.cutPage, middle!.cutPage, last!.cutPage]).toEqual([true, undefined, true]);
    expect(first!.jobs.map((j) => [j.part, j.records])).toEqual([
      [0, 1_000],
      [1, 1_000],
    ]);
    expect(last!.parts).toBe(2);
    expect(last!.jobs.map((j) => [j.part, j.records])).toEqual([
      [0, 500],
      [1, 500],
    ]);
    expect(h.org.state.counters.byKind.bulkIngestCreate).toBe(5);

    // The next night few scores move: no page is worth a second ingest job.
    const contract = h.org.state.field('Contract_Type__c')!;
    const changed = Array.from({ length: 5_000 }, (_, row) => row).filter((row) => h!.org.state.store.get(row, contract) !== 'Two year').slice(0, 30);
    await admin(h.org, 'PATCH', '/accounts', { records: changed.map((row) => ({ id: h!.org.state.store.idOf(row), Contract_Type__c: 'Two year', Tenure_Months__c: 70 })) });
    const quiet = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(quiet.state).toBe('completed');
    expect(quiet.counts.written).toBeGreaterThan(0);
    const pages = await store.chunks(quiet.id);
    expect(pages.map((c) => c.cutPage)).toEqual([false, undefined, false]);
    for (const page of pages) expect(page.jobs.length).toBeLessThanOrEqual(1);
  });
});
