import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/core/errors.js';
import { chunkJobId } from '../../src/queue/nightly-jobs.js';
import { buildSoql, validateWhere } from '../../src/nightly/query.js';

describe('re-scoring filters (--where)', () => {
  it.each([
    "Contract_Type__c = 'Month-to-month'",
    "(Tenure_Months__c < 12 AND Has_Partner__c = false) OR Churn_Risk__c = null",
    "Churn_Top_Factors__c LIKE '%contract; or FROM%'",
    "Internet_Service__c IN ('DSL', 'Fiber optic')",
  ])('when the filter is one condition (%s), then it is accepted as is', (where) => {
    expect(validateWhere(`  ${where} `)).toBe(where);
  });

  it.each([
    ["Id != null; DELETE", /; ` or "/],
    ["Id != null FROM Contact", /FROM/],
    ["Id IN (SELECT AccountId FROM Contact)", /SELECT/],
    ["Id != null LIMIT 10", /LIMIT/],
    ["Id != null ORDER BY Name", /ORDER/],
    ["Name = 'unterminated", /not closed/],
    ["(Id != null", /parentheses/],
    ["Id != null -- comment", /comment/],
    ['', /empty/],
  ])('when the filter is %j, then it is refused with NIGHTLY_FILTER_INVALID', (where, why) => {
    try {
      validateWhere(where);
      expect.unreachable();
    } catch (error) {
      expect(isAppError(error, 'NIGHTLY_FILTER_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(why);
    }
  });

  it('when the query is built, then Id comes first, fields are not repeated and the filter is appended', () => {
    expect(buildSoql(['Tenure_Months__c', 'Id', 'Tenure_Months__c', 'Churn_Score__c'], "Has_Partner__c = true")).toBe(
      'SELECT Id, Tenure_Months__c, Churn_Score__c FROM Account WHERE Has_Partner__c = true',
    );
    expect(buildSoql(['Churn_Score__c'])).toBe('SELECT Id, Churn_Score__c FROM Account');
  });

  it('when chunk job ids are made, then they hold no colon and are never all digits (BullMQ custom ids)', () => {
    const id = chunkJobId('manual-20261127-abc123', 3);
    expect(id).not.toContain(':');
    expect(id).not.toMatch(/^\d+$/);
  });
});
