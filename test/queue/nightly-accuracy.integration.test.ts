/**
 * Realized accuracy measured by the nightly run (real emulator, Redis, PostgreSQL, scoring thread):
 * the label (Churned__c) is read in the same query as the inputs; once labels arrive after the scores,
 * a run compares them with the scores the Accounts had at the horizon (from the score history).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { recentRunAccuracy } from '../../src/db/accuracy.js';
import { createLogger } from '../../src/log/logger.js';
import { DriftStore } from '../../src/queue/drift-store.js';
import { enqueueRun } from '../../src/queue/nightly-jobs.js';
import { monitoringSink, specLookup } from '../../src/runtime/monitoring.js';
import { metrics } from '../../src/training/metrics.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { harness, waitForRun, type Harness } from './nightly-helpers.js';

let h: Harness | undefined;
let db: TestDatabase | undefined;
afterEach(async () => {
  await h?.close();
  await db?.drop();
  h = undefined;
  db = undefined;
});

async function accuracyOf(t: TestDatabase, runId: string) {
  for (let i = 0; i < 300; i++) {
    const row = (await recentRunAccuracy(t.pool)).find((r) => r.runId === runId);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no accuracy report for run ${runId}`);
}

describe('realized accuracy in the nightly run', () => {
  it('when labels arrive after the scores, then the next run compares them with the scores of 30 days before: AUC, log loss, Brier, deciles and the High band, and "not enough labels yet" before that', async () => {
    const accounts = 4_000;
    h = await harness({ accounts });
    db = await testDatabase();
    const store = h.org.state.store;
    // The emulator's labels, held back: every Account starts not churned.
    const churned = store.codes('Churned__c');
    const truth = churned.slice();
    churned.fill(0);
    const config = { enabled: true, psiWatch: 0.1, psiAlert: 0.2, realtimeWindowMinutes: 60, accuracy: { labelField: 'Churned__c', horizonDays: 30, windowDays: 90, minLabels: 200 } };
    const sink = monitoringSink({ store: new DriftStore(h.redis, h.prefix), config, specOf: specLookup(h.scoring, db.pool), pool: db.pool, copy: true, logger: createLogger('silent') });
    const w = await h.startWorker({ chunkSize: 2_000, reasons: false }, { database: { pool: db.pool, copy: true, history: true, retentionDays: 400 }, monitoring: sink });

    const first = await waitForRun(w.store, await enqueueRun(w.queue, w.store, { trigger: 'manual' }), 120_000);
    expect(first.state).toBe('completed');
    const before = await accuracyOf(db, first.id);
    // No label has changed yet, and no score is 30 days old: no figure, the reason instead.
    expect(before.report).toMatchObject({ enough: false, n: 0 });
    expect(before.report.reason).toContain('not enough labels yet');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM account_labels WHERE NOT churned')).rows[0].n).toBe(accounts);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM run_labels')).rows[0].n).toBe(0);

    // Forty days pass; then the labels arrive.
    await db.pool.query(`UPDATE score_history SET scored_at = scored_at - interval '40 days'`);
    churned.set(truth);
    const second = await waitForRun(w.store, await enqueueRun(w.queue, w.store, { trigger: 'manual' }), 120_000);
    expect(second.state).toBe('completed');
    const { report } = await accuracyOf(db, second.id);

    // The same figures straight from the emulator's labels and the history's scores of 40 days ago.
    const { rows } = await db.pool.query<{ account_id: string; score: number }>(`SELECT account_id, score FROM score_history WHERE run_id = $1`, [first.id]);
    const rowOf = new Map(Array.from({ length: store.size }, (_, row) => [store.idOf(row), row]));
    const p: number[] = [];
    const y: number[] = [];
    for (const r of rows) {
      p.push(Math.round(r.score * 100) / 10_000);
      y.push(truth[rowOf.get(r.account_id)!]!);
    }
    const expected = metrics(p, y);
    const positives = y.reduce((s, v) => s + v, 0);
    console.log(`realized accuracy on ${report.n} labelled Accounts (${report.positives} churned): AUC ${report.auc}, log loss ${report.logloss}, Brier ${report.brier}; High band precision ${report.high?.precision}, recall ${report.high?.recall}\n${report.calibration?.map((b) => `decile ${b.decile}: n ${b.n}, predicted ${b.meanPredicted.toFixed(3)}, observed ${b.observedRate.toFixed(3)}`).join('\n')}`);
    expect(report).toMatchObject({ enough: true, n: accounts, positives, negatives: accounts - positives });
    expect(report.auc).toBeCloseTo(expected.auc, 4);
    expect(report.logloss).toBeCloseTo(expected.logloss, 4);
    expect(report.brier).toBeCloseTo(expected.brier, 4);
    expect(report.auc!).toBeGreaterThan(0.7);
    expect(report.calibration!.reduce((s, b) => s + b.n, 0)).toBe(accounts);
    const flagged = p.filter((v) => v >= 0.5).length;
    const hits = p.filter((v, i) => v >= 0.5 && y[i] === 1).length;
    expect(report.high).toMatchObject({ threshold: 50, flagged, truePositives: hits });
  }, 300_000);
});
