/**
 * The nightly run with a system of record (real PostgreSQL, each test in its own schema): every score
 * it writes is one score-history row, refused records have none and retried ones one; retention is
 * enforced by the run; the run record and the failures are in PostgreSQL; a shadow scores every page
 * beside the champion without writing anything to Salesforce.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { recentRuns } from '../../src/db/runs.js';
import { renderStatusPage } from '../../src/http/dashboard/page.js';
import { enqueueRun } from '../../src/queue/nightly-jobs.js';
import type { NightlyDatabase } from '../../src/runtime/nightly.js';
import { parseSpec } from '../../src/scoring/spec.js';
import { admin } from '../emulator/helpers.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { harness, MODEL_PATH, scoredAccounts, waitForRun, type Harness } from './nightly-helpers.js';

let h: Harness | undefined;
let db: TestDatabase | undefined;
afterEach(async () => {
  await h?.close();
  await db?.drop();
  h = undefined;
  db = undefined;
});

const database = (t: TestDatabase, history = true): NightlyDatabase => ({ pool: t.pool, copy: true, history, retentionDays: 400 });

describe('the nightly run and the system of record', () => {
  it('when a run writes scores, some locked for a while and one refused, then each written score is one history row, the refused one has none, old history is trimmed, and the run and its failure are in PostgreSQL', async () => {
    h = await harness({ accounts: 1_500, lockRate: 0.05 });
    db = await testDatabase();
    const refused = h.org.state.store.idOf(7);
    await admin(h.org, 'PUT', '/validation-rules', { ids: [refused], message: 'Score locked by finance' });
    await db.pool.query(`INSERT INTO score_history (account_id, scored_at, score, risk, model_version, path) VALUES ('001OLD', now() - interval '500 days', 1, 'Low', 'm0', 'realtime'), ('001RECENT', now() - interval '10 days', 1, 'Low', 'm0', 'realtime')`);
    const { queue, store } = await h.startWorker({}, { database: database(db) });
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));

    expect(run.state).toBe('completed-with-failures');
    expect(run.counts).toMatchObject({ read: 1_500, written: 1_499, failed: 1 });
    expect(run.counts.retried).toBeGreaterThan(0);
    const { rows } = await db.pool.query<{ n: string; ids: string; versions: string[]; paths: string[]; times: string }>(
      'SELECT count(*) AS n, count(DISTINCT account_id) AS ids, array_agg(DISTINCT model_version) AS versions, array_agg(DISTINCT path) AS paths, count(DISTINCT scored_at) AS times FROM score_history WHERE run_id = $1',
      [run.id],
    );
    expect(rows[0]).toEqual({ n: '1499', ids: '1499', versions: [h.scoring.modelVersion], paths: ['nightly'], times: '1' });
    expect((await db.pool.query('SELECT 1 FROM score_history WHERE account_id = $1', [refused])).rowCount).toBe(0);
    expect((await db.pool.query(`SELECT account_id FROM score_history WHERE path = 'realtime'`)).rows).toEqual([{ account_id: '001RECENT' }]);

    const [record] = await recentRuns(db.pool);
    expect(record).toMatchObject({ id: run.id, state: 'completed-with-failures', modelVersion: h.scoring.modelVersion, total: 1_500, apiCalls: run.apiCalls, counts: { written: 1_499, failed: 1 } });
    const failures = await db.pool.query('SELECT account_id, code, path, run_id FROM failures');
    expect(failures.rows).toEqual([{ account_id: refused, code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', path: 'nightly', run_id: run.id }]);
    const page = renderStatusPage({ recentRuns: await recentRuns(db.pool), nightlyAvailable: true, bands: {}, bandDays: 7, failures: [], failuresTotal: 0, notFoundTotal: 0, queues: [], csrf: 'x', queuesPath: '/q', retryPath: '/r' });
    expect(page).toContain(`<td>${run.id}</td><td>completed-with-failures</td>`);
  });

  it('when a shadow is set, then the run scores every page with it too: its scores are in shadow_scores and only the champion\'s reach Salesforce', async () => {
    h = await harness({ accounts: 1_200 });
    db = await testDatabase();
    const champion = h.scoring.modelVersion;
    const spec = JSON.parse(readFileSync(MODEL_PATH.replace(/\.onnx$/, '.spec.json'), 'utf8')) as Record<string, unknown>;
    await h.scoring.setModels({ kind: 'loaded', version: champion }, { kind: 'bundle', onnx: new Uint8Array(readFileSync(MODEL_PATH)), spec: parseSpec({ ...spec, modelVersion: 'shadow-test' }, 'shadow') });
    const { queue, store } = await h.startWorker({}, { database: database(db, false) });
    const run = await waitForRun(store, await enqueueRun(queue, store, { trigger: 'manual' }));

    expect(run).toMatchObject({ state: 'completed', modelVersion: champion, shadowVersion: 'shadow-test', counts: { written: 1_200 } });
    const { rows } = await db.pool.query<{ n: string; ids: string; champions: string[]; shadows: string[]; paths: string[]; same: number; explained: string; reasonsAgree: number }>(
      `SELECT count(*) AS n, count(DISTINCT account_id) AS ids, array_agg(DISTINCT champion_version) AS champions, array_agg(DISTINCT shadow_version) AS shadows,
              array_agg(DISTINCT path) AS paths, avg((champion_score = shadow_score AND champion_risk = shadow_risk)::int)::float8 AS same,
              count(*) FILTER (WHERE shadow_top_reason IS NOT NULL) AS explained,
              avg((champion_top_reason = shadow_top_reason)::int) FILTER (WHERE shadow_top_reason IS NOT NULL)::float8 AS "reasonsAgree"
         FROM shadow_scores`,
    );
    // The same model under another name: every record scored alike; one in ten explained, alike too.
    expect(rows[0]).toEqual({ n: '1200', ids: '1200', champions: [champion], shadows: ['shadow-test'], paths: ['nightly'], same: 1, explained: '120', reasonsAgree: 1 });
    // HISTORY_ENABLED=false: no history rows; only the champion's version reached the org.
    expect((await db.pool.query('SELECT 1 FROM score_history')).rowCount).toBe(0);
    const version = h.org.state.field('Churn_Model_Version__c')!;
    for (let row = 0; row < 1_200; row++) expect(h.org.state.store.get(row, version)).toBe(champion);
    expect(scoredAccounts(h.org).scored).toBe(1_200);
  });
});
