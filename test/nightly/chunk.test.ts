/**
 * The nightly core with fakes (no Redis, no Salesforce, no scoring thread): a chunk through its phases,
 * and what a run and a failed job come to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { ChunkRunner } from '../../src/nightly/chunk.js';
import { NightlyRun } from '../../src/nightly/run.js';
import { accountId, fakes, FakeHistory, runningRun, type Fakes } from './fakes.js';

let f: Fakes | undefined;
afterEach(() => {
  f?.cleanup();
  f = undefined;
});

describe('a nightly chunk through its phases', () => {
  it('when every record changes, then its parts are submitted, collected and counted once, and the run finishes', async () => {
    f = fakes(250, { ingestMaxBytes: 4_000 });
    const run = await runningRun(f.log);
    const outcome = await new ChunkRunner(f.deps).run(f.bulk, run, 0, null);
    expect(outcome).toMatchObject({ finishedRun: true, counts: { read: 250, scored: 250, written: 250, failed: 0 } });
    const state = await f.log.chunk(run.id, 0, null);
    expect(state.phase).toBe('done');
    expect(state.parts).toBeGreaterThan(1);
    expect(state.jobs.map((j) => j.status)).toEqual(Array(state.parts).fill('collected'));
    expect(f.bulk.written.size).toBe(250);
    expect([...f.bulk.written.values()].every((n) => n === 1)).toBe(true);
    expect(f.log.runs.get(run.id)).toMatchObject({ state: 'completed', chunksTotal: 1, apiCalls: f.bulk.calls });
  });

  it('when the page has a next page, then the next page is handed to the queue before this one is scored', async () => {
    f = fakes(2_500);
    const run = await runningRun(f.log);
    await new ChunkRunner(f.deps).run(f.bulk, run, 0, null);
    expect(f.enqueued).toEqual([{ index: 1, locator: '1000' }]);
    expect(f.log.runs.get(run.id)!.chunksTotal).toBeUndefined();
  });

  it('when records are locked, then the chunk hands its slot back until the retry job is due, and the retry job resubmits exactly those records', async () => {
    f = fakes(100, { retryDelayMs: () => 60_000 });
    for (const i of [3, 50, 77]) f.bulk.locked.set(accountId(i), 1);
    const run = await runningRun(f.log);
    const runner = new ChunkRunner(f.deps);
    const first = await runner.run(f.bulk, run, 0, null);
    expect(first.yieldMs).toBeGreaterThan(59_000);
    const waiting = await f.log.chunk(run.id, 0, null);
    expect(waiting).toMatchObject({ phase: 'retrying', retryAttempt: 0, counts: { written: 97 } });
    expect(waiting.retryFrom).toHaveLength(1);

    // Due now: the next attempt submits the retry job with the three records and collects it.
    await f.log.saveChunk(run.id, { ...waiting, retryAt: Date.now() - 1 });
    const second = await runner.run(f.bulk, run, 0, null);
    expect(second).toMatchObject({ finishedRun: true, counts: { written: 100, retried: 3, failed: 0 } });
    const retryJob = [...f.bulk.jobs.values()].at(-1)!;
    expect(retryJob.lines.map((l) => l[0])).toEqual([accountId(3), accountId(50), accountId(77)]);
    expect([...f.bulk.written.values()].every((n) => n === 1)).toBe(true);
  });

  it('when records stay locked past every retry job, then they go to the failure sink, saying so, and the chunk is done', async () => {
    f = fakes(20, { retryAttempts: 1, retryDelayMs: () => 0 });
    f.bulk.locked.set(accountId(5), 10);
    const run = await runningRun(f.log);
    const runner = new ChunkRunner(f.deps);
    let outcome = await runner.run(f.bulk, run, 0, null);
    for (let i = 0; outcome.yieldMs !== undefined && i < 5; i++) outcome = await runner.run(f.bulk, run, 0, null);
    expect(outcome).toMatchObject({ finishedRun: true, counts: { written: 19, failed: 1, retried: 1 } });
    expect(f.failures).toEqual([{ id: accountId(5), code: 'UNABLE_TO_LOCK_ROW', message: expect.stringContaining('(gave up after 2 ingest jobs)') }]);
    expect(f.log.events.join('\n')).toMatch(/chunk 0: 1 records still failing after 2 ingest jobs/);
  });

  it('when a record fails for good, then it goes to the failure sink with Salesforce\'s reason and is not retried', async () => {
    f = fakes(30);
    f.bulk.refused.add(accountId(7));
    const run = await runningRun(f.log);
    const outcome = await new ChunkRunner(f.deps).run(f.bulk, run, 0, null);
    expect(outcome.counts).toMatchObject({ written: 29, failed: 1, retried: 0 });
    expect(f.failures).toEqual([{ id: accountId(7), code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Score locked by finance' }]);
    expect(f.bulk.jobs.size).toBe(1);
  });

  it('when the attempt dies after creating an ingest job, then the next attempt aborts it, reads the page again and writes every record once', async () => {
    f = fakes(40);
    f.bulk.dieOnUpload = true;
    const run = await runningRun(f.log);
    const runner = new ChunkRunner(f.deps);
    await expect(runner.run(f.bulk, run, 0, null)).rejects.toThrow('worker died');
    const crashed = await f.log.chunk(run.id, 0, null);
    expect(crashed.phase).toBe('submitting');
    expect(crashed.jobs).toEqual([expect.objectContaining({ part: 0, status: 'open' })]);
    const outcome = await runner.run(f.bulk, run, 0, null);
    expect(outcome).toMatchObject({ finishedRun: true, counts: { read: 40, written: 40 } });
    expect(f.bulk.jobs.get(crashed.jobs[0]!.id)!.state).toBe('Aborted');
    expect([...f.bulk.written.values()]).toEqual(Array(40).fill(1));
    // Delivered once more: nothing is added.
    expect(await runner.run(f.bulk, run, 0, null)).toMatchObject({ skipped: 'already done' });
    expect(f.log.runs.get(run.id)!.counts.written).toBe(40);
  });

  it('when the page ends short of the records it announced, then the attempt fails with a retryable error and nothing is counted', async () => {
    f = fakes(50);
    f.bulk.shortBy = 5;
    const run = await runningRun(f.log);
    const error = await new ChunkRunner(f.deps).run(f.bulk, run, 0, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'SF_UNAVAILABLE', retryable: true });
    expect((await f.log.chunk(run.id, 0, null)).phase).toBe('reading');
    expect(f.log.runs.get(run.id)!.counts.written).toBe(0);
  });

  it('when Salesforce still processes the jobs and other chunks wait, then the chunk hands its slot back, longer each time', async () => {
    f = fakes(30);
    f.deps.queue.othersWaiting = async () => true;
    const bulk = f.bulk;
    // Jobs stay in progress until told otherwise.
    const close = bulk.setState.bind(bulk);
    bulk.setState = async (id, state) => {
      const result = await close(id, state);
      if (state === 'UploadComplete') bulk.jobs.get(id)!.state = 'InProgress';
      return result;
    };
    const run = await runningRun(f.log);
    const runner = new ChunkRunner(f.deps);
    expect(await runner.run(bulk, run, 0, null)).toEqual({ yieldMs: 10 });
    expect(await runner.run(bulk, run, 0, null)).toEqual({ yieldMs: 16 });
    for (const job of bulk.jobs.values()) job.state = 'JobComplete';
    expect(await runner.run(bulk, run, 0, null)).toMatchObject({ finishedRun: true, counts: { written: 30 } });
  });
});

describe('a nightly chunk and the score history', () => {
  it('when parts are written, one refused and one retried, and an attempt dies after creating a job, then every written score has exactly one history row and the refused one none', async () => {
    f = fakes(60, { ingestMaxBytes: 2_000, retryDelayMs: () => 0 });
    const history = new FakeHistory();
    f.deps.history = history;
    f.bulk.refused.add(accountId(11));
    f.bulk.locked.set(accountId(42), 1);
    f.bulk.dieOnUpload = true;
    const run = await runningRun(f.log);
    const runner = new ChunkRunner(f.deps);
    await expect(runner.run(f.bulk, run, 0, null)).rejects.toThrow('worker died');
    // The dead attempt's part had its history appended before the upload failed.
    expect(history.rows.length).toBeGreaterThan(0);
    let outcome = await runner.run(f.bulk, run, 0, null);
    for (let i = 0; outcome.yieldMs !== undefined && i < 5; i++) outcome = await runner.run(f.bulk, run, 0, null);
    expect(outcome).toMatchObject({ finishedRun: true, counts: { written: 59, failed: 1, retried: 1 } });
    const ids = history.rows.map((r) => r.id).sort();
    expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => accountId(i)).filter((id) => id !== accountId(11)));
    expect(new Set(history.rows.map((r) => r.runId))).toEqual(new Set([run.id]));
  });
});

describe('a nightly run', () => {
  it('when the allowance is below the reserve, then the run waits, says why, and creates no query job', async () => {
    f = fakes(10);
    f.bulk.remaining = 50;
    const outcome = await new NightlyRun(f.deps).start('run-1', { trigger: 'manual' });
    expect(outcome).toEqual({ kind: 'wait', ms: 1_000 });
    expect(f.log.runs.get('run-1')).toMatchObject({ state: 'waiting-api', message: expect.stringContaining('50 daily API calls left, below NIGHTLY_API_RESERVE=100') });
    expect(f.log.runs.get('run-1')!.queryJobId).toBeUndefined();
  });

  it('when it starts, then it pins the champion, queries the fields both paths read and hands the first page on', async () => {
    f = fakes(10);
    let soql = '';
    const create = f.bulk.createQueryJob.bind(f.bulk);
    f.bulk.createQueryJob = async (q: string) => ((soql = q), create());
    const outcome = await new NightlyRun(f.deps).start('run-1', { trigger: 'manual' });
    expect(outcome).toMatchObject({ kind: 'done', result: { state: 'running', total: 10 } });
    expect(soql).toBe('SELECT Id, Tenure_Months__c, Churn_Score__c, Churn_Risk__c, Churn_Top_Factors__c, Churn_Model_Version__c FROM Account');
    expect(f.log.runs.get('run-1')).toMatchObject({ state: 'running', modelVersion: 'fake-1', queryJobId: '750Q', apiCalls: f.bulk.calls });
    expect(f.enqueued).toEqual([{ index: 0, locator: null }]);
  });

  it('when the query job fails, then the run fails with Salesforce\'s message and frees the slot', async () => {
    f = fakes(10);
    f.bulk.queryState = 'Failed';
    const outcome = await new NightlyRun(f.deps).start('run-1', { trigger: 'manual' });
    expect(outcome).toEqual({ kind: 'fail', message: 'Bulk query job 750Q ended Failed: query timed out' });
    expect(f.log.runs.get('run-1')!.state).toBe('failed');
    expect(f.log.active).toBeUndefined();
  });

  it('when another run holds the slot, then this one is skipped and names it', async () => {
    f = fakes(10);
    await f.log.create('run-0', 'manual');
    await f.log.update('run-0', { state: 'running' });
    f.log.active = 'run-0';
    const outcome = await new NightlyRun(f.deps).start('run-1', { trigger: 'manual' });
    expect(outcome).toMatchObject({ kind: 'done', result: { state: 'skipped', activeRunId: 'run-0' } });
    expect(f.log.runs.get('run-1')!.message).toContain('run-0');
  });

  it('when a job fails, then the allowance used up waits, a retryable failure is retried while attempts last, and anything else fails the run', async () => {
    f = fakes(10);
    await f.log.create('run-1', 'manual');
    const nightly = new NightlyRun(f.deps);
    const limit = new AppError({ code: 'SF_REQUEST_LIMIT', message: 'REQUEST_LIMIT_EXCEEDED' });
    expect(await nightly.failed('run-1', 'chunk 2', limit, { made: 0, last: false })).toEqual({ kind: 'wait', ms: 1_000 });
    const down = new AppError({ code: 'SF_UNAVAILABLE', message: 'Salesforce answered 503.', retryable: true });
    expect(await nightly.failed('run-1', 'chunk 2', down, { made: 1, last: false })).toEqual({ kind: 'retry' });
    expect(f.log.events).toContain('chunk 2 failed (attempt 2), will retry: Salesforce answered 503.');
    expect(await nightly.failed('run-1', 'chunk 2', down, { made: 9, last: true })).toEqual({ kind: 'fail', message: 'Salesforce answered 503.' });
    expect(f.log.runs.get('run-1')).toMatchObject({ state: 'failed', message: 'chunk 2: Salesforce answered 503.' });
  });
});
