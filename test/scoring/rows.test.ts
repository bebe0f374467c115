import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScoringEngine } from '../../src/scoring/engine.js';
import { RowsRescorer } from '../../src/scoring/rows.js';
import { tempDir, tinyModel } from './helpers.js';

const header = ['Id', 'Contract_Type__c', 'Tenure_Months__c', 'Paperless_Billing__c', 'Churn_Score__c', 'Churn_Risk__c', 'Churn_Top_Factors__c', 'Churn_Model_Version__c'];
const columns = ['Churn_Score__c', 'Churn_Risk__c', 'Churn_Top_Factors__c', 'Churn_Model_Version__c', 'Churn_Scored_At__c'];
const now = Date.UTC(2026, 10, 27, 2, 0, 0);

function rows(n: number): string[][] {
  return Array.from({ length: n }, (_, i) => [`001000000000${String(i).padStart(3, '0')}AAA`, i % 2 ? 'Two year' : 'Month-to-month', String(i % 60), i % 3 ? 'true' : 'false', '', '', '', '']);
}

/** Parses the lines back into records keyed by Id, for comparing and for feeding a second pass. */
function parse(lines: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of lines.split('\n').filter(Boolean)) {
    const cells: string[] = [];
    for (const m of line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)) {
      if (m.index === line.length && m[0] === '') break;
      cells.push(m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!);
    }
    out.set(cells[0]!, cells.slice(1));
  }
  return out;
}

describe('re-scoring raw query rows in the scoring thread', () => {
  let engine: ScoringEngine;
  beforeAll(async () => {
    engine = await ScoringEngine.open({ ...tinyModel(tempDir()), threads: 1 });
  });
  afterAll(() => engine.close());

  it('when every record is new, then both paths (reasons at once, or score first) write the same lines with reasons', async () => {
    const request = { header, rows: rows(40), columns, reasons: true, now };
    const twoPass = await new RowsRescorer(engine).rescore(request);
    const direct = new RowsRescorer(engine);
    await direct.rescore(request); // learns that most records change
    const onePass = await direct.rescore(request);
    expect(twoPass.changed).toBe(40);
    expect(onePass.lines).toBe(twoPass.lines);
    const parsed = parse(twoPass.lines);
    expect(parsed.size).toBe(40);
    for (const [, cells] of parsed) {
      expect(Number(cells[0])).toBeGreaterThanOrEqual(0);
      expect(['High', 'Medium', 'Low']).toContain(cells[1]);
      expect(cells[2]).toMatch(/=/);
      expect(cells[3]).toBe('test-model-1');
      expect(cells[4]).toBe(new Date(now).toISOString());
    }
  });

  it('when rows are re-scored, then each line carries what scoring the same record as an object gives', async () => {
    const input = rows(60);
    input[7]![2] = ''; // blank tenure: imputed on both paths
    input[8]![1] = 'Month-To-Month'; // another case of a level
    const result = await new RowsRescorer(engine).rescore({ header, rows: input, columns, reasons: true, now });
    const records = input.map((values) => Object.fromEntries(header.map((h, k) => [h, values[k]])));
    const expected = await engine.score(records, { reasons: true, now: new Date(now) });
    const parsed = parse(result.lines);
    expect(parsed.size).toBe(60);
    for (const p of expected) {
      if ('error' in p) throw new Error(p.error.message);
      const fields = engine.toAccountFields(p, new Date(now));
      expect(parsed.get(p.id)).toEqual([String(fields.Churn_Score__c), fields.Churn_Risk__c, fields.Churn_Top_Factors__c, fields.Churn_Model_Version__c, fields.Churn_Scored_At__c]);
    }
  });

  it('when the rows come as Bulk CSV bytes, then the lines are those of the same rows as arrays', async () => {
    const input = rows(25);
    input[4]![1] = 'Two year, "quoted"\nvalue'; // unusable picklist value with a comma, quotes and a line break
    const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
    const bytes = new TextEncoder().encode(input.map((r) => r.map(quote).join(',')).join('\n') + '\n');
    const fromCsv = await new RowsRescorer(engine).rescore({ header, csv: { bytes, count: input.length }, columns, reasons: true, now });
    const fromRows = await new RowsRescorer(engine).rescore({ header, rows: input, columns, reasons: true, now });
    expect(fromCsv.read).toBe(25);
    expect(fromCsv.lines).toBe(fromRows.lines);
    expect(fromCsv.changed).toBe(25);
  });

  it('when records already carry their score and reasons, then nothing is written; a blank value is written as #N/A', async () => {
    const first = parse((await new RowsRescorer(engine).rescore({ header, rows: rows(10), columns, reasons: true, now })).lines);
    const current = rows(10).map((r) => {
      const out = first.get(r[0]!)!;
      return [...r.slice(0, 4), out[0]!, out[1]!, out[2]!, out[3]!];
    });
    current[3]![6] = ''; // one record lost its reasons
    const second = await new RowsRescorer(engine).rescore({ header, rows: current, columns, reasons: true, now });
    expect(second.unchanged).toBe(9);
    expect(second.changed).toBe(1);
    expect(second.lines.startsWith(current[3]![0]!)).toBe(true);

    const withoutReasons = await new RowsRescorer(engine).rescore({ header, rows: rows(1), columns: ['Churn_Score__c', 'Churn_Top_Factors__c'], reasons: false, now });
    expect(withoutReasons.lines).toMatch(/,#N\/A\n$/);
  });

  it('when a record is unusable, then it is a failure naming the record and the others are still written', async () => {
    const bad = rows(3);
    bad[1]![0] = '';
    const result = await new RowsRescorer(engine).rescore({ header, rows: bad, columns, reasons: true, now });
    expect(result.changed).toBe(2);
    expect(result.scored).toBe(2);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.code).toBe('SCORING_FAILED');
  });
});
