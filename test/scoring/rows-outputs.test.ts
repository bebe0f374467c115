/**
 * The nightly rows path's outputs beyond the lines: the failures it names, the columns it does not
 * know, the score history and the shadow comparison rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScoringEngine } from '../../src/scoring/engine.js';
import { RowsRescorer, SHADOW_REASON_EVERY } from '../../src/scoring/rows.js';
import { parseCopyLine } from '../../src/wire/copy-text.js';
import { tempDir, tinyModel, tinySpec } from './helpers.js';

const header = ['Id', 'Contract_Type__c', 'Tenure_Months__c', 'Paperless_Billing__c', 'Churn_Score__c', 'Churn_Risk__c', 'Churn_Top_Factors__c', 'Churn_Model_Version__c'];
const now = Date.UTC(2026, 10, 27, 2, 0, 0);
const iso = new Date(now).toISOString();
const row = (i: number, tenure = String(i)) => [`001000000000${String(i).padStart(3, '0')}AAA`, i % 2 ? 'Two year' : 'Month-to-month', tenure, 'true', '', '', '', ''];

describe('the rows path\'s other outputs', () => {
  let engine: ScoringEngine;
  beforeAll(async () => {
    engine = await ScoringEngine.open({ ...tinyModel(tempDir()), threads: 1 });
  });
  afterAll(() => engine.close());

  it('when a row has no Id, then it fails naming its position and the field; a row with an unusable required value names its id', async () => {
    const rows = [row(0), ['', 'Two year', '3', 'true', '', '', '', ''], row(2)];
    const result = await new RowsRescorer(engine).rescore({ header, rows, columns: ['Churn_Score__c'], reasons: false, now });
    expect(result).toMatchObject({ read: 3, scored: 2, changed: 2, unchanged: 0, failed: [{ id: '#1', code: 'SCORING_FAILED', message: 'record 1 has no Id' }] });
    // A header without the id column: every row fails.
    const noId = await new RowsRescorer(engine).rescore({ header: header.slice(1), rows: rows.map((r) => r.slice(1)), columns: ['Churn_Score__c'], reasons: false, now });
    expect(noId.failed.map((f) => f.id)).toEqual(['#0', '#1', '#2']);
    expect(noId).toMatchObject({ scored: 0, changed: 0, lines: '' });
  });

  it('when the columns include one the path does not produce, then its cell is #N/A; each known column carries its value', async () => {
    const result = await new RowsRescorer(engine).rescore({ header, rows: [row(1)], columns: ['Churn_Model_Version__c', 'Other__c', 'Churn_Scored_At__c', 'Churn_Risk__c'], reasons: false, now });
    const [line] = result.lines.split('\n');
    const [id, model, other, at, risk] = line!.split(',');
    expect([id, model, other, at]).toEqual([row(1)[0], 'test-model-1', '#N/A', iso]);
    expect(['High', 'Medium', 'Low']).toContain(risk);
  });

  it('when history is asked for, then each written record has one COPY row with the same score, in the same order', async () => {
    const rows = [row(1), row(2), row(3)];
    const result = await new RowsRescorer(engine).rescore({ header, rows, columns: ['Churn_Score__c', 'Churn_Risk__c', 'Churn_Top_Factors__c', 'Churn_Model_Version__c'], reasons: true, now, history: { runId: 'run-7' } });
    const lines = result.lines.trim().split('\n');
    const history = result.history!.trim().split('\n').map(parseCopyLine);
    expect(history).toHaveLength(3);
    history.forEach((h, k) => {
      const cells = lines[k]!.split(',');
      expect(h[0]).toBe(rows[k]![0]);
      expect(h[1]).toBe(iso);
      expect(h[2]).toBe(cells[1]);
      expect(h[3]).toBe(cells[2]);
      expect(h.slice(5)).toEqual(['test-model-1', 'nightly', 'run-7']);
    });
    const without = await new RowsRescorer(engine).rescore({ header, rows, columns: ['Churn_Score__c'], reasons: false, now });
    expect(without).not.toHaveProperty('history');
    expect(without).not.toHaveProperty('scoredRows');
  });

  it('when labels are asked for, then each row with an Id and a true or false label gives one COPY row, blank labels and rows without an Id none', async () => {
    const labelled = [...header, 'Churned__c'];
    const rows = [[...row(1), 'true'], [...row(2), 'false'], [...row(3), ''], ['', 'Two year', '3', 'true', '', '', '', '', 'true'], [...row(5), 'TRUE']];
    const result = await new RowsRescorer(engine).rescore({ header: labelled, rows, columns: ['Churn_Score__c'], reasons: false, now, labels: { field: 'Churned__c', runId: 'run-9' } });
    expect(result.labels!.trim().split('\n').map(parseCopyLine)).toEqual([
      ['run-9', row(1)[0], 'true'],
      ['run-9', row(2)[0], 'false'],
    ]);
    // Labels do not change what is scored or written.
    expect(result).toMatchObject({ read: 5, scored: 4, changed: 4 });
    // A label field the query did not read gives no rows; no labels asked, no labels property.
    const missing = await new RowsRescorer(engine).rescore({ header, rows: [row(1)], columns: ['Churn_Score__c'], reasons: false, now, labels: { field: 'Churned__c', runId: 'r' } });
    expect(missing.labels).toBe('');
    const without = await new RowsRescorer(engine).rescore({ header: labelled, rows, columns: ['Churn_Score__c'], reasons: false, now });
    expect(without).not.toHaveProperty('labels');
  });

  it('when records are written, then each line\'s move is how far its score moved from the stored one, 100 without a stored score', async () => {
    const first = await new RowsRescorer(engine).rescore({ header, rows: [row(1), row(2)], columns: ['Churn_Score__c'], reasons: false, now });
    const scores = first.lines.trim().split('\n').map((l) => Number(l.split(',')[1]));
    expect(first.moves).toEqual([100, 100]);
    // Stored scores 10 points below and 0.5 above what the model says now; the third has none.
    const stored = [row(1), row(2), row(3)];
    stored[0]![4] = (scores[0]! - 10).toFixed(2);
    stored[1]![4] = (scores[1]! + 0.5).toFixed(2);
    const second = await new RowsRescorer(engine).rescore({ header, rows: stored, columns: ['Churn_Score__c'], reasons: false, now });
    expect(second.changed).toBe(3);
    expect(second.moves![0]).toBeCloseTo(10, 6);
    expect(second.moves![1]).toBeCloseTo(0.5, 6);
    expect(second.moves![2]).toBe(100);
    // A stored score that is not a number counts as the largest move.
    const junk = [row(1)];
    junk[0]![4] = 'n/a';
    expect((await new RowsRescorer(engine).rescore({ header, rows: junk, columns: ['Churn_Score__c'], reasons: false, now })).moves).toEqual([100]);
    // Without a score column every written record moved the most.
    const noScore = header.filter((h) => h !== 'Churn_Score__c');
    const bare = await new RowsRescorer(engine).rescore({ header: noScore, rows: [row(1)].map((r) => r.filter((_, i) => i !== 4)), columns: ['Churn_Score__c'], reasons: false, now });
    expect(bare.moves).toEqual([100]);
  });

  it('when reasons are off, then history carries no reasons', async () => {
    const result = await new RowsRescorer(engine).rescore({ header, rows: [row(1)], columns: ['Churn_Score__c'], reasons: false, now, history: { runId: 'r' } });
    expect(parseCopyLine(result.history!.trim())[4]).toBeNull();
  });

  it('when scored rows are kept, then each scored record\'s id, score, risk, top reason and row are there, and the shadow compares the same records', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => row(i));
    rows[4] = ['', 'Two year', '3', 'true', '', '', '', ''];
    const request = { header, rows, columns: ['Churn_Score__c', 'Churn_Risk__c', 'Churn_Top_Factors__c', 'Churn_Model_Version__c'], reasons: true, now, keepScored: true };
    const result = await new RowsRescorer(engine).rescore(request);
    const kept = result.scoredRows!;
    expect(kept.version).toBe('test-model-1');
    expect(kept.rowAt).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11]);
    expect(kept.ids).toEqual(kept.rowAt.map((i) => rows[i]![0]));
    const lines = result.lines.trim().split('\n').map((l) => l.split(','));
    expect(kept.scores.map(String)).toEqual(lines.map((l) => l[1]));
    expect(kept.risks).toEqual(lines.map((l) => l[2]));
    expect(kept.tops).toEqual(lines.map((l) => l[3]!.split('=')[0]));

    const shadow = (await new RowsRescorer(engine).compare(request, kept, 'nightly', 5)).trim().split('\n').map(parseCopyLine);
    expect(shadow).toHaveLength(11);
    shadow.forEach((s, j) => {
      expect(s.slice(0, 5)).toEqual([kept.ids[j], iso, 'nightly', 'test-model-1', 'test-model-1']);
      // The same model as its own shadow: the same scores and bands.
      expect(s[5]).toBe(String(kept.scores[j]));
      expect(s[6]).toBe(String(kept.scores[j]));
      expect(s[7]).toBe(kept.risks[j]);
      expect(s[8]).toBe(kept.risks[j]);
      // Top reasons only for the sampled rows (row index a multiple of 5), the same on both sides.
      const sampled = kept.rowAt[j]! % 5 === 0;
      expect([s[9], s[10]]).toEqual(sampled ? [kept.tops[j], kept.tops[j]] : [null, null]);
    });
    expect(SHADOW_REASON_EVERY).toBe(10);
    const noReasons = (await new RowsRescorer(engine).compare({ ...request, reasons: false }, kept, 'realtime')).trim().split('\n').map(parseCopyLine);
    expect(noReasons.every((s) => s[2] === 'realtime' && s[9] === null && s[10] === null)).toBe(true);
  });

  it('when a record holds only reference values, then it has no top reason: null in the kept rows and in the shadow\'s sampled row; without reasons every top is null', async () => {
    // Two year, 24 months, not paperless: every field at its reference, so no factor reaches 0.05 points.
    const typical = ['001000000000900AAA', 'Two year', '24', 'false', '', '', '', ''];
    const request = { header, rows: [typical, row(1)], columns: ['Churn_Score__c', 'Churn_Top_Factors__c'], reasons: true, now, keepScored: true };
    const result = await new RowsRescorer(engine).rescore(request);
    expect(result.scoredRows!.tops).toEqual([null, 'Tenure_Months__c']);
    expect(result.lines.split('\n')[0]).toMatch(/,#N\/A$/);
    const shadow = (await new RowsRescorer(engine).compare(request, result.scoredRows!, 'nightly', 1)).trim().split('\n').map(parseCopyLine);
    expect(shadow.map((s) => [s[9], s[10]])).toEqual([[null, null], ['Tenure_Months__c', 'Tenure_Months__c']]);
    const without = await new RowsRescorer(engine).rescore({ ...request, reasons: false });
    expect(without.scoredRows!.tops).toEqual([null, null]);
  });
});

describe('the rows path with a bounded spec', () => {
  let bounded: ScoringEngine;
  beforeAll(async () => {
    const spec = tinySpec();
    spec.features[1] = { ...spec.features[1]!, min: 0, max: 100 } as never;
    bounded = await ScoringEngine.open({ ...tinyModel(tempDir(), spec), threads: 1 });
  });
  afterAll(() => bounded.close());

  it('when a row\'s value is out of the plausible range, then that record fails with its id and the reason, and the others are written', async () => {
    const result = await new RowsRescorer(bounded).rescore({ header, rows: [row(1), row(2, '500'), row(3)], columns: ['Churn_Score__c'], reasons: false, now });
    expect(result.failed).toEqual([{ id: row(2)[0], code: 'SCORING_FAILED', message: "Tenure_Months__c is 500, outside the model's plausible range 0 to 100" }]);
    expect(result).toMatchObject({ read: 3, scored: 2, changed: 2 });
    expect(result.lines.split('\n').filter(Boolean).map((l) => l.split(',')[0])).toEqual([row(1)[0], row(3)[0]]);
  });
});

