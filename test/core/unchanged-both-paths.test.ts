/**
 * One rule for "unchanged" (core/scored-fields.ts): the real-time batch (core/rescore.ts) and the
 * nightly rows path (scoring/rows.ts) decide the same records the same way, scored by the same engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rescoreAccounts, type AccountRow } from '../../src/core/rescore.js';
import { comparedFields } from '../../src/core/scored-fields.js';
import { ScoringEngine, isFailure } from '../../src/scoring/engine.js';
import { RowsRescorer } from '../../src/scoring/rows.js';
import { parseCsvRecords } from '../../src/wire/bulk-csv.js';
import { tempDir, tinyModel } from '../scoring/helpers.js';

const INPUTS = ['Contract_Type__c', 'Tenure_Months__c', 'Paperless_Billing__c'];
const OUT = { score: 'Churn_Score__c', risk: 'Churn_Risk__c', factors: 'Churn_Top_Factors__c', modelVersion: 'Churn_Model_Version__c', scoredAt: 'Churn_Scored_At__c' };
const now = new Date(Date.UTC(2026, 10, 27, 2));

/** How each record's stored outputs differ from what the model gives it now, and whether it must be written. */
const CASES: Array<{ name: string; change: (o: Record<string, string | number>) => Record<string, string | number | null>; written: boolean }> = [
  { name: 'the same outputs', change: (o) => o, written: false },
  { name: 'the same outputs, scored at another time', change: (o) => ({ ...o, [OUT.scoredAt]: '2020-01-01T00:00:00.000Z' }), written: false },
  { name: 'a score within the field\'s two decimals', change: (o) => ({ ...o, [OUT.score]: Number(o[OUT.score]) + 0.004 }), written: false },
  { name: 'the same score and band but other reasons', change: (o) => ({ ...o, [OUT.factors]: 'Tenure_Months__c=3 (+9.9)' }), written: true },
  { name: 'no reasons yet', change: (o) => ({ ...o, [OUT.factors]: null }), written: true },
  { name: 'a score that moved by a hundredth', change: (o) => ({ ...o, [OUT.score]: Number(o[OUT.score]) + 0.01 }), written: true },
  { name: 'another risk band', change: (o) => ({ ...o, [OUT.risk]: o[OUT.risk] === 'High' ? 'Low' : 'High' }), written: true },
  { name: 'another model version', change: (o) => ({ ...o, [OUT.modelVersion]: 'old-model' }), written: true },
  { name: 'never scored', change: () => ({ [OUT.score]: null, [OUT.risk]: null, [OUT.factors]: null, [OUT.modelVersion]: null }), written: true },
];

describe('one rule for "unchanged" on both paths', () => {
  let engine: ScoringEngine;
  beforeAll(async () => {
    engine = await ScoringEngine.open({ ...tinyModel(tempDir()), threads: 1 });
  });
  afterAll(() => engine.close());

  it('when records carry outputs that differ in each way that matters or not, then the real-time and the nightly path write exactly the same records', async () => {
    const inputs = CASES.map((_, i) => ({ Id: `001CASE${String(i).padStart(8, '0')}`, Contract_Type__c: i % 2 ? 'Two year' : 'Month-to-month', Tenure_Months__c: 3 + i * 7, Paperless_Billing__c: i % 3 === 0 }));
    const truth = await engine.score(inputs, { reasons: true, now });
    const rows: AccountRow[] = inputs.map((input, i) => {
      const t = truth[i]!;
      if (isFailure(t)) throw new Error(t.error.message);
      return { ...input, ...CASES[i]!.change(engine.toAccountFields(t, now)) } as AccountRow;
    });
    const expected = CASES.map((c, i) => (c.written ? rows[i]!.Id : undefined)).filter(Boolean);

    // Real-time: the core with ports that read these rows and score with the engine.
    const realtime: string[] = [];
    await rescoreAccounts(
      rows.map((r) => r.Id),
      {
        comparedFields: comparedFields(OUT),
        read: async () => rows,
        score: async (records) => (await engine.score(records, { reasons: true, now })).map((r) => (isFailure(r) ? { id: r.id, error: r.error } : { id: r.id, fields: engine.toAccountFields(r, now) })),
        write: async (updates) => updates.map((u) => (realtime.push(u.Id), { id: u.Id, success: true as const })),
      },
    );

    // Nightly: the same records as Bulk query rows (strings; blanks empty), scored in the rows path.
    const header = ['Id', ...INPUTS, OUT.score, OUT.risk, OUT.factors, OUT.modelVersion];
    const asRows = rows.map((r) => header.map((h) => (r[h] === null || r[h] === undefined ? '' : String(r[h]))));
    const result = await new RowsRescorer(engine).rescore({ header, rows: asRows, columns: [OUT.score, OUT.risk, OUT.factors, OUT.modelVersion, OUT.scoredAt], reasons: true, now: now.getTime() });
    const nightly = parseCsvRecords(result.lines).map((cells) => cells[0]!);

    expect(realtime).toEqual(expected);
    expect(nightly).toEqual(expected);
    expect(result.unchanged).toBe(CASES.filter((c) => !c.written).length);
  });
});
