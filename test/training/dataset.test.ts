import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/core/errors.js';
import { parseTrainingCsv, readTrainingCsv } from '../../src/training/dataset.js';
import { HAVE_TELCO, HEADER, TELCO_CSV, row } from './data.js';

function error(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(isAppError(e, 'TRAINING_DATA_INVALID')).toBe(true);
    return e as Error;
  }
  throw new Error('expected TRAINING_DATA_INVALID');
}

describe('training data', () => {
  it('when rows are in the dataset format, then records carry Account field names and 0/1 labels', () => {
    const data = parseTrainingCsv([HEADER, row('A-1', '2', 'Month-to-month', '70.5', ' ', 'Yes'), row('B-2', '60', 'Two year', '20', '1200', 'No')].join('\n'), 'mem.csv');
    expect(data.records[0]).toMatchObject({ Id: 'A-1', Customer_Id__c: 'A-1', Tenure_Months__c: '2', Contract_Type__c: 'Month-to-month', Total_Charges__c: ' ', Senior_Citizen__c: '0' });
    expect([...data.labels]).toEqual([1, 0]);
    expect(data.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when columns are missing, then the error names every one of them', () => {
    const header = HEADER.replace(',tenure', '').replace(',Contract', '');
    const e = error(() => parseTrainingCsv(`${header}\nx`, 'cut.csv'));
    expect(e.message).toContain('cut.csv is missing columns tenure, Contract.');
  });

  it('when labels are not Yes/No, then the error gives the lines and values', () => {
    const e = error(() => parseTrainingCsv([HEADER, row('A', '1', 'Two year', '1', '1', 'Yes'), row('B', '1', 'Two year', '1', '1', 'Maybe'), row('C', '1', 'Two year', '1', '1', '')].join('\n'), 'bad.csv'));
    expect(e.message).toContain('bad.csv has 2 labels (Churn / Churned__c) that are not Yes/No, true/false or 1/0: line 3: "Maybe", line 4: ""');
  });

  it('when every row has the same label, then the error says the data has a single class', () => {
    const e = error(() => parseTrainingCsv([HEADER, row('A', '1', 'Two year', '1', '1', 'No'), row('B', '2', 'Two year', '1', '1', 'No')].join('\n'), 'one.csv'));
    expect(e.message).toContain('one.csv has a single class: all 2 rows are not churned.');
  });

  it('when the file is empty or absent, then the error says so', () => {
    expect(error(() => parseTrainingCsv(HEADER, 'empty.csv')).message).toContain('empty.csv has no data rows');
    expect(error(() => readTrainingCsv('/nonexistent/telco.csv')).message).toContain('Labelled CSV /nonexistent/telco.csv does not exist.');
  });

  describe.skipIf(!HAVE_TELCO)('the shared Telco file', () => {
    it('when it is read, then it has 5,624 rows, 26.7% churn and 9 blank TotalCharges', () => {
      const data = readTrainingCsv(TELCO_CSV);
      expect(data.records).toHaveLength(5_624);
      expect(data.labels.reduce((s, l) => s + l, 0) / 5_624).toBeCloseTo(0.267, 3);
      expect(data.records.filter((r) => String(r.Total_Charges__c).trim() === '')).toHaveLength(9);
    });
  });
});
