/**
 * Resuming a chunk from its recorded state: an ingest job a crash left open (created, upload not
 * closed) is aborted and replaced; finished steps are not redone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkRunner } from '../../src/nightly/chunk.js';
import type { NightlyDeps } from '../../src/nightly/ports.js';
import { buildSoql } from '../../src/nightly/query.js';
import { RunStore } from '../../src/queue/nightly-store.js';
import { threadScorer } from '../../src/runtime/nightly.js';
import { BulkClient } from '../../src/salesforce/bulk.js';
import { admin } from '../emulator/helpers.js';
import { connectClient, harness, logger, scoredAccounts, TEST_NIGHTLY, type Harness } from './nightly-helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A Bulk client whose process "dies" right after creating an ingest job, before uploading. */
class DyingAfterCreate extends BulkClient {
  override async upload(): Promise<void> {
    throw new Error('worker died');
  }
}

describe('resuming a nightly chunk', () => {
  it('when a crash left an ingest job open, then the next attempt aborts it, submits the part again and counts it once', async () => {
    h = await harness({ accounts: 1_000 });
    const client = await connectClient(h.org);
    const store = new RunStore(h.redis, h.prefix);
    const spec = h.scoring.spec;
    const soql = buildSoql(['Tenure_Months__c', ...spec.features.map((f) => f.field), spec.outputFields.score, spec.outputFields.risk, spec.outputFields.factors, spec.outputFields.modelVersion]);
    const bulk = new BulkClient(client);
    const query = await bulk.createQueryJob(soql);
    await bulk.waitForJob('query', query.id, { initialMs: 50, maxMs: 100 });
    await store.create('resume-test', 'manual');
    await store.update('resume-test', { state: 'running', queryJobId: query.id, scoredAtMs: Date.now() });
    const run = (await store.get('resume-test'))!;
    const deps: NightlyDeps = {
      openBulk: () => new BulkClient(client),
      log: store,
      scorer: threadScorer(h.scoring),
      failures: { record: (failures) => h!.failures.record(failures, 'nightly') },
      queue: {
        enqueueChunk: async () => {
          throw new Error('a single page has no next page');
        },
        othersWaiting: async () => false,
      },
      settings: { ...TEST_NIGHTLY, chunkSize: 5_000 },
      logger,
    };
    const processChunk = (bulk: BulkClient, ...args: [typeof run, number, null]) => new ChunkRunner(deps).run(bulk, ...args);

    await expect(processChunk(new DyingAfterCreate(client), run, 0, null)).rejects.toThrow('worker died');
    const [crashed] = await store.chunks('resume-test');
    expect(crashed!.jobs).toEqual([expect.objectContaining({ part: 0, status: 'open' })]);
    const openJobId = crashed!.jobs[0]!.id;

    const outcome = await processChunk(new BulkClient(client), run, 0, null);
    expect(outcome.finishedRun).toBe(true);
    expect(outcome.counts).toMatchObject({ read: 1_000, written: 1_000 });
    const jobs = (await admin<Array<{ id: string; kind: string; state: string }>>(h.org, 'GET', '/bulk/jobs')).body.filter((j) => j.kind === 'ingest');
    expect(jobs.find((j) => j.id === openJobId)?.state).toBe('Aborted');
    expect(jobs.filter((j) => j.state === 'JobComplete')).toHaveLength(1);
    expect(scoredAccounts(h.org).scored).toBe(1_000);
    expect((await store.get('resume-test'))!.state).toBe('completed');

    // A third attempt (a duplicate job delivery) finds the chunk done and does nothing.
    expect(await processChunk(new BulkClient(client), run, 0, null)).toMatchObject({ skipped: 'already done' });
  });
});
