/**
 * Values that cannot be used as given are counted and reported, never imputed silently: by `train`
 * (its output and the model card), by `evaluate` (its output and JSON line) and, on the live paths,
 * on /metrics (the prediction API here; the worker's paths report through the same scoring thread).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER, row } from '../training/data.js';
import { cleanEnv, runToEnd } from '../helpers/process.js';

let dir: string;
let csv: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'churn-inputs-'));
  const rows = [HEADER];
  for (let i = 0; i < 240; i++) {
    const churn = i % 3 === 0 ? 'Yes' : 'No';
    const tenure = i < 3 ? 'abc' : String(1 + (i % 60));
    const contract = i >= 3 && i < 5 ? 'Weekly' : i % 3 === 0 ? 'Month-to-month' : 'Two year';
    const monthly = i >= 5 && i < 7 ? '-12.5' : (20 + (i % 80)).toFixed(2);
    rows.push(row(`C${String(i).padStart(4, '0')}`, tenure, contract, monthly, (100 + i * 10).toFixed(2), churn));
  }
  csv = join(dir, 'odd.csv');
  writeFileSync(csv, `${rows.join('\n')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('odd input values are counted and reported', () => {
  it('when train reads a tenure of "abc", a contract of "Weekly" and negative charges, then its output and the model card count each per field', async () => {
    const out = join(dir, 'model');
    const { code, output } = await runToEnd(['train', '--csv', csv, '--out', out, '--folds', '0', '--rounds', '20'], cleanEnv());
    expect(code, output).toBe(0);
    expect(output).toContain('inputs: Tenure_Months__c: 3 unusable; Contract_Type__c: 2 unusable; Monthly_Charges__c: 2 out of range (of 240 records;');
    const card = JSON.parse(readFileSync(`${out}.card.json`, 'utf8')) as { inputQuality: { records: number; fields: unknown[] } };
    expect(card.inputQuality).toEqual({
      records: 240,
      fields: [
        { field: 'Tenure_Months__c', blank: 0, unusable: 3, outOfRange: 0 },
        { field: 'Contract_Type__c', blank: 0, unusable: 2, outOfRange: 0 },
        { field: 'Monthly_Charges__c', blank: 0, unusable: 0, outOfRange: 2 },
      ],
    });
    expect(readFileSync(`${out}.card.md`, 'utf8')).toMatch(/## Training inputs not used as given[\s\S]*\| Contract_Type__c \| 0 \| 2 \| 0 \|/);
  }, 60_000);

  it('when evaluate scores the same file with the shipped model, then the counts are in its output and its JSON line, and the negative charges are refused', async () => {
    const { code, output } = await runToEnd(['evaluate', '--csv', csv], cleanEnv());
    expect(code, output).toBe(0);
    expect(output).toContain('inputs: Tenure_Months__c: 3 unusable; Contract_Type__c: 2 unusable; Monthly_Charges__c: 2 out of range');
    const json = JSON.parse(output.trim().split('\n').at(-1)!) as { n: number; notScored: number; inputQuality: Array<{ field: string; outOfRange: number }> };
    expect(json.notScored).toBe(2);
    expect(json.n).toBe(238);
    expect(json.inputQuality.find((f) => f.field === 'Monthly_Charges__c')?.outOfRange).toBe(2);
  }, 60_000);
});
