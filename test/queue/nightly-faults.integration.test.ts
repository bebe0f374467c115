import { afterEach, describe, expect, it } from 'vitest';
import { enqueueRun } from '../../src/queue/nightly-jobs.js';
import { admin } from '../emulator/helpers.js';
import { harness, scoredAccounts, waitForRun, type Harness } from './nightly-helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('nightly run faults', () => {
  it('when 5% of ingest records are locked, then they are retried in later ingest jobs and every Account ends scored', async () => {
    h = await harness({ accounts: 2_000, lockRate: 0.05 });
    const { queue, store } = await h.startWorker();
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const run = await waitForRun(store, runId);
    expect(run.state).toBe('completed');
    expect(run.counts.retried).toBeGreaterThan(50);
    expect(run.counts.written).toBe(2_000);
    expect(scoredAccounts(h.org).scored).toBe(2_000);
  });

  it('when a record fails for good (validation rule), then it is recorded with its reason and the run completes with failures', async () => {
    h = await harness({ accounts: 1_500 });
    const id = h.org.state.store.idOf(7);
    await admin(h.org, 'PUT', '/validation-rules', { ids: [id], message: 'Score locked by finance' });
    const { queue, store } = await h.startWorker();
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(run.state).toBe('completed-with-failures');
    expect(run.counts.failed).toBe(1);
    const [failure] = await h.failures.recent(5);
    expect(failure).toMatchObject({ id, code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', source: 'nightly' });
    expect(failure!.message).toContain('Score locked by finance');
  });

  it('when the Bulk query job fails, then the run is marked failed with Salesforce\'s message and the next run may start', async () => {
    h = await harness({ accounts: 500 });
    await admin(h.org, 'PUT', '/bulk', { failNextQuery: 'InternalServerError: query timed out' });
    const { queue, store } = await h.startWorker();
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(run.state).toBe('failed');
    expect(run.message).toContain('query timed out');
    // The run is recorded failed, then its claim released: wait for the release, not for a moment.
    await expect.poll(() => store.activeId(), { timeout: 20_000, interval: 20 }).toBeUndefined();
    const next = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(next.state).toBe('completed');
  });

  it('when an ingest job fails part-way, then its unprocessed records go into a new job and the run completes, saying what happened', async () => {
    h = await harness({ accounts: 1_000 });
    await admin(h.org, 'PUT', '/bulk', { failNextIngest: { message: 'InternalServerError', afterRecords: 300 }, ingestSlice: 100 });
    const { queue, store } = await h.startWorker({ chunkSize: 5_000 });
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const run = await waitForRun(store, runId);
    expect(run.state).toBe('completed');
    expect(run.counts.written).toBe(1_000);
    expect(run.counts.retried).toBe(700);
    expect((await store.events(runId)).join('\n')).toMatch(/ended Failed \(InternalServerError\); 300 processed, 700 unprocessed/);
    expect(scoredAccounts(h.org).scored).toBe(1_000);
  });

  it('when an internal ingest batch times out past 20 retries, then the job fails part way, its unprocessed records go into a new job and every Account is scored', async () => {
    h = await harness({ accounts: 1_000 });
    await admin(h.org, 'PUT', '/bulk', { ingestBatchRecords: 100, ingestSlice: 50, ingestBatchTimeouts: { batches: [{ batch: 2, times: 3 }, { batch: 6, times: 21 }] } });
    const { queue, store } = await h.startWorker({ chunkSize: 5_000 });
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const run = await waitForRun(store, runId);
    expect(run.state).toBe('completed');
    expect(run.counts).toMatchObject({ read: 1_000, written: 1_000, retried: 400, failed: 0 });
    expect(scoredAccounts(h.org).scored).toBe(1_000);
    const ingest = (await admin<Array<Record<string, unknown>>>(h.org, 'GET', '/bulk/jobs')).body.filter((j) => j.kind === 'ingest');
    expect(ingest.map((j) => [j.state, j.numberRecordsProcessed, j.retries])).toEqual([
      ['Failed', 600, 23],
      ['JobComplete', 400, 0],
    ]);
    expect((await store.events(runId)).join('\n')).toMatch(/ended Failed \(InternalServerError : batch 7 could not be processed within 5 minutes after 20 retries.*\); 600 processed, 400 unprocessed records resubmitted; Salesforce had retried its batches 23 times/);
  });

  it('when ingest batches keep timing out in every job, then what cannot be written ends in the failure log with the reason, and every Account is either scored or there', async () => {
    h = await harness({ accounts: 300 });
    // Every job's second internal batch of 100 never finishes: each job writes 100 records and fails.
    await admin(h.org, 'PUT', '/bulk', { ingestBatchRecords: 100, ingestBatchTimeouts: { batches: [{ batch: 1, times: 21 }], jobs: 100 } });
    const { queue, store } = await h.startWorker({ chunkSize: 5_000, retryAttempts: 1 });
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(run.state).toBe('completed-with-failures');
    expect(run.counts).toMatchObject({ read: 300, written: 200, failed: 100 });
    const failures = await h.failures.recent(1_000);
    const failed = new Set(failures.filter((f) => f.source === 'nightly').map((f) => f.id));
    expect(failed.size).toBe(100);
    for (const f of failures) expect(f).toMatchObject({ code: 'UNPROCESSED', message: expect.stringMatching(/not processed by the ingest job \(gave up after 2 ingest jobs\)/) });
    const score = h.org.state.field('Churn_Score__c')!;
    for (let row = 0; row < 300; row++) {
      const id = h.org.state.store.idOf(row);
      const scored = h.org.state.store.get(row, score) !== null;
      expect(scored !== failed.has(id), `${id} is ${scored ? 'scored and in the failure log' : 'neither scored nor in the failure log'}`).toBe(true);
    }
  });

  it('when every token expires while the query job is polled, then the worker signs in again and the run completes', async () => {
    h = await harness({ accounts: 800 });
    await admin(h.org, 'PUT', '/bulk', { queryStartMs: 600 });
    const { queue, store } = await h.startWorker();
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    await waitForRun(store, runId, 10_000, (r) => r.state === 'querying');
    await admin(h.org, 'POST', '/tokens/expire');
    const run = await waitForRun(store, runId);
    expect(run.state).toBe('completed');
    expect(h.org.state.counters.byKind.unauthorized).toBeGreaterThanOrEqual(1);
    expect(h.org.state.counters.byKind.token).toBeGreaterThanOrEqual(2);
  });

  it('when the allowance is below the reserve, or used up mid-run, then the run waits, says why, and resumes', async () => {
    h = await harness({ accounts: 3_000, apiLimit: 1_000 });
    await admin(h.org, 'PUT', '/limits', { apiUsed: 995 });
    const { queue, store } = await h.startWorker({ apiReserve: 10, reserveWaitMs: 300, chunkSize: 1_000 });
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const waiting = await waitForRun(store, runId, 10_000, (r) => r.state === 'waiting-api');
    expect(waiting.message).toMatch(/daily API calls left, below NIGHTLY_API_RESERVE=10/);
    // Free the allowance but only a little: the run starts, then runs out mid-run.
    await admin(h.org, 'PUT', '/limits', { apiUsed: 985 });
    await waitForRun(store, runId, 15_000, (r) => r.state === 'running' || r.state === 'failed');
    await waitForRun(store, runId, 15_000, (r) => /used up/.test(r.message ?? '') || r.state !== 'running');
    await admin(h.org, 'PUT', '/limits', { apiUsed: 0 });
    const run = await waitForRun(store, runId, 20_000);
    expect(run.state).toBe('completed');
    expect((await store.events(runId)).join('\n')).toMatch(/allowance is used up/);
    expect(scoredAccounts(h.org).scored).toBe(3_000);
  });

  it('when the integration user lacks View Setup and Configuration, then the run reads the allowance from Sforce-Limit-Info, waits below the reserve, says why, and completes', async () => {
    h = await harness({ accounts: 1_000, apiLimit: 1_000 });
    await admin(h.org, 'PUT', `/users/${encodeURIComponent(h.org.username)}`, { permissions: { ViewSetup: false } });
    await admin(h.org, 'PUT', '/limits', { apiUsed: 995 });
    const { queue, store } = await h.startWorker({ apiReserve: 10, reserveWaitMs: 300 });
    const runId = await enqueueRun(queue, store, { trigger: 'manual' });
    const waiting = await waitForRun(store, runId, 10_000, (r) => r.state === 'waiting-api');
    expect(waiting.message).toMatch(/^waiting: 4 daily API calls left, below NIGHTLY_API_RESERVE=10/);
    await admin(h.org, 'PUT', '/limits', { apiUsed: 0 });
    const run = await waitForRun(store, runId);
    expect(run.state).toBe('completed');
    expect(scoredAccounts(h.org).scored).toBe(1_000);
    const events = (await store.events(runId)).join('\n');
    expect(events).toMatch(/allowance read from the Sforce-Limit-Info header \(\d+\/1000\): .*API_DISABLED_FOR_ORG: limits resource is not enabled/);
    expect(h.org.state.counters.byKind.limits).toBeGreaterThanOrEqual(2);
  });

  it('when a run is still going, then the next one is skipped and says which run holds the slot', async () => {
    h = await harness({ accounts: 500 });
    await admin(h.org, 'PUT', '/bulk', { queryStartMs: 800 });
    const { queue, store } = await h.startWorker();
    const first = await enqueueRun(queue, store, { trigger: 'manual' });
    await waitForRun(store, first, 10_000, (r) => r.state === 'querying');
    const second = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));
    expect(second.state).toBe('skipped');
    expect(second.message).toContain(first);
    expect((await waitForRun(store, first)).state).toBe('completed');
  });
});
