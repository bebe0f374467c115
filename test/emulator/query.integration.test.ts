import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { admin, API, call, query, signIn, startOrg, type QueryPage, type SfErrors } from './helpers.js';

describe('emulator: REST query', () => {
  let org: RunningEmulator;
  let token: string;

  beforeAll(async () => {
    org = await startOrg({ accounts: 4500, seed: 7 });
    token = await signIn(org);
  });
  afterAll(() => org.close());

  /** Every live Account's value of `field`, straight from the store, in row order. */
  function column(field: string): Array<{ id: string; value: unknown }> {
    const f = org.state.field(field)!;
    const out = [];
    for (let row = 0; row < org.state.store.size; row++) {
      if (!org.state.store.isDeleted(row)) out.push({ id: org.state.store.idOf(row), value: org.state.store.get(row, f) });
    }
    return out;
  }

  it('when a query matches 4,500 records, then it pages 2,000 at a time through nextRecordsUrl', async () => {
    const first = await query(org, token, 'SELECT Id, Name FROM Account');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ totalSize: 4500, done: false });
    expect(first.body.records).toHaveLength(2000);
    expect(first.body.nextRecordsUrl).toMatch(/^\/services\/data\/v68\.0\/query\/01g[A-Za-z0-9]{15}-2000$/);
    const second = await call<QueryPage>(org, token, first.body.nextRecordsUrl!);
    expect(second.body).toMatchObject({ totalSize: 4500, done: false });
    expect(second.body.nextRecordsUrl).toMatch(/-4000$/);
    const third = await call<QueryPage>(org, token, second.body.nextRecordsUrl!);
    expect(third.body.done).toBe(true);
    expect(third.body.nextRecordsUrl).toBeUndefined();
    expect(third.body.records).toHaveLength(500);
    const ids = [...first.body.records, ...second.body.records, ...third.body.records].map((r) => r.Id);
    expect(new Set(ids).size).toBe(4500);
    const counters = await admin<{ byKind: Record<string, number> }>(org, 'GET', '/counters');
    expect(counters.body.byKind.queryMore).toBeGreaterThanOrEqual(2);
  });

  it('when records are rendered, then they carry attributes, 18-char ids, typed values and nulls', async () => {
    const res = await query(org, token, 'SELECT Id, Name, Senior_Citizen__c, Tenure_Months__c, Monthly_Charges__c, Contract_Type__c, Churn_Score__c, LastModifiedDate FROM Account LIMIT 1');
    const [r] = res.body.records;
    expect(r!.attributes).toEqual({ type: 'Account', url: `/services/data/v68.0/sobjects/Account/${String(r!.Id)}` });
    expect(r!.Id).toMatch(/^001[A-Za-z0-9]{15}$/);
    expect(typeof r!.Senior_Citizen__c).toBe('boolean');
    expect(typeof r!.Tenure_Months__c).toBe('number');
    expect(typeof r!.Monthly_Charges__c).toBe('number');
    expect(r!.Churn_Score__c).toBeNull();
    expect(r!.LastModifiedDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    expect(Object.keys(r!)).toEqual(['attributes', 'Id', 'Name', 'Senior_Citizen__c', 'Tenure_Months__c', 'Monthly_Charges__c', 'Contract_Type__c', 'Churn_Score__c', 'LastModifiedDate']);
  });

  it('when WHERE combines AND, OR, NOT and comparisons, then it returns exactly the matching records', async () => {
    const soql = "SELECT Id FROM Account WHERE (Contract_Type__c = 'month-to-month' AND Tenure_Months__c <= 6) OR (NOT Internet_Service__c != 'No' AND Monthly_Charges__c > 25.5)";
    const res = await query(org, token, soql);
    const contract = column('Contract_Type__c');
    const tenure = column('Tenure_Months__c');
    const internet = column('Internet_Service__c');
    const monthly = column('Monthly_Charges__c');
    const expected = contract
      .filter((_, i) => (contract[i]!.value === 'Month-to-month' && (tenure[i]!.value as number) <= 6) || (internet[i]!.value === 'No' && (monthly[i]!.value as number) > 25.5))
      .map((r) => r.id);
    expect(expected.length).toBeGreaterThan(100);
    expect(res.body.totalSize).toBe(expected.length);
  });

  it('when WHERE uses Id IN with 15- and 18-character ids, then it returns those records', async () => {
    const ids = column('Id').slice(10, 13).map((r) => r.id);
    const res = await query(org, token, `SELECT Id FROM Account WHERE Id IN ('${ids[0]}', '${ids[1]!.slice(0, 15)}', '${ids[2]!.toLowerCase()}')`);
    expect(res.body.records.map((r) => r.Id)).toEqual(ids);
  });

  it('when ORDER BY and LIMIT are given, then records are sorted (nulls first ascending) and cut', async () => {
    const res = await query(org, token, 'SELECT Id, Total_Charges__c FROM Account ORDER BY Total_Charges__c DESC LIMIT 25');
    expect(res.body.totalSize).toBe(25);
    const values = res.body.records.map((r) => r.Total_Charges__c as number);
    const expected = column('Total_Charges__c').map((r) => r.value).filter((v): v is number => v !== null).sort((a, b) => b - a).slice(0, 25);
    expect(values).toEqual(expected);
    const asc = await query(org, token, 'SELECT Id, Total_Charges__c FROM Account WHERE Tenure_Months__c = 0 ORDER BY Total_Charges__c ASC, Name LIMIT 3');
    for (const r of asc.body.records) expect(r.Total_Charges__c).toBeNull();
  });

  it('when a picklist is sorted, then it follows the picklist order and text comparisons ignore case', async () => {
    const res = await query(org, token, "SELECT Id, Contract_Type__c FROM Account WHERE Name != 'x' ORDER BY Contract_Type__c DESC LIMIT 1");
    expect(res.body.records[0]!.Contract_Type__c).toBe('Two year');
    const name = column('Name')[0]!.value as string;
    const byName = await query(org, token, `SELECT Id, Name FROM Account WHERE Name = '${name.toUpperCase().replace(/'/g, "\\'")}'`);
    expect(byName.body.records.map((r) => r.Name)).toContain(name);
  });

  it('when a field is compared with null, then = null and != null split the records', async () => {
    const isNull = await query(org, token, 'SELECT Id FROM Account WHERE Churn_Score__c = null LIMIT 5');
    expect(isNull.body.totalSize).toBe(5);
    const notNull = await query(org, token, 'SELECT Id FROM Account WHERE Churn_Score__c != null');
    expect(notNull.body.totalSize).toBe(0);
  });

  it('when a datetime literal is used, then records compare on LastModifiedDate', async () => {
    const later = await query(org, token, 'SELECT Id FROM Account WHERE LastModifiedDate > 2026-01-01T00:00:00Z');
    const since = await query(org, token, 'SELECT Id FROM Account WHERE LastModifiedDate >= 2026-01-01T00:00:00.000+00:00 LIMIT 2');
    expect(later.body.totalSize).toBe(0);
    expect(since.body.totalSize).toBe(2);
  });

  it.each([
    ['SELECT COUNT() FROM Account', 'MALFORMED_QUERY'],
    ['SELECT Id, (SELECT Id FROM Contacts) FROM Account', 'MALFORMED_QUERY'],
    ["SELECT Id FROM Account WHERE Name LIKE 'A%'", 'MALFORMED_QUERY'],
    ['SELECT Id FROM Account WHERE Tenure_Months__c = 1 AND Senior_Citizen__c = true OR Has_Partner__c = true', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Account LIMIT 10 OFFSET 5', 'MALFORMED_QUERY'],
    ['SELECT Id FROM Account WHERE CreatedDate = TODAY', 'INVALID_FIELD'],
    ['SELECT Id FROM Account WHERE LastModifiedDate > TODAY', 'MALFORMED_QUERY'],
    ['SELECT Id, Id FROM Account', 'MALFORMED_QUERY'],
    ['SELECT Id FROM', 'MALFORMED_QUERY'],
    ["SELECT Id FROM Account WHERE Name = 'unterminated", 'MALFORMED_QUERY'],
    ['SELECT Id, Owner.Name FROM Account', 'INVALID_FIELD'],
    ['SELECT Id, Bogus__c FROM Account', 'INVALID_FIELD'],
    ['SELECT Id FROM Contact', 'INVALID_TYPE'],
    ["SELECT Id FROM Account WHERE Tenure_Months__c = '3'", 'INVALID_QUERY_FILTER_OPERATOR'],
    ["SELECT Id FROM Account WHERE Id = 'nope'", 'INVALID_QUERY_FILTER_OPERATOR'],
  ])('when the SOQL is %s, then it answers 400 %s', async (soql, errorCode) => {
    const res = await query<SfErrors>(org, token, soql);
    expect(res.status).toBe(400);
    expect(res.body[0]!.errorCode).toBe(errorCode);
    expect(res.body[0]!.message).toMatch(/ERROR at Row:1:Column:\d+/);
  });

  it('when another object is queried with Account-only fields, then it answers INVALID_TYPE for the object, not INVALID_FIELD', async () => {
    const res = await query<SfErrors>(org, token, 'SELECT Id FROM ScratchOrgInfo LIMIT 1');
    expect(res.status).toBe(400);
    expect(res.body[0]).toMatchObject({ errorCode: 'INVALID_TYPE', message: expect.stringContaining("sObject type 'ScratchOrgInfo' is not supported") });
    expect((await query<SfErrors>(org, token, 'SELECT Name, InstanceName FROM Contact')).body[0]!.errorCode).toBe('INVALID_TYPE');
  });

  it('when the Organization is queried as sf org login jwt does, then one record describes a production Enterprise org', async () => {
    const res = await query(org, token, 'SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ totalSize: 1, done: true });
    expect(res.body.records[0]).toEqual({
      attributes: { type: 'Organization', url: `${API}/sobjects/Organization/${org.orgId}` },
      Name: expect.any(String),
      InstanceName: expect.any(String),
      IsSandbox: false,
      TrialExpirationDate: null,
      NamespacePrefix: null,
      OrganizationType: 'Enterprise Edition',
    });
    const bad = await query<SfErrors>(org, token, 'SELECT Bogus FROM Organization');
    expect(bad.body[0]!.errorCode).toBe('INVALID_FIELD');
  });

  it('when the query locator is unknown, then it answers INVALID_QUERY_LOCATOR', async () => {
    const res = await call<SfErrors>(org, token, `${API}/query/01gAAAAAAAAAAAAAAA-2000`);
    expect(res.status).toBe(400);
    expect(res.body[0]!.errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it('when jsforce queries with autoFetch, then it follows every page', async () => {
    const conn = new jsforce.Connection({ instanceUrl: org.url, accessToken: token, version: '68.0' });
    const result = await conn.query('SELECT Id, Churned__c FROM Account', { autoFetch: true, maxFetch: 10_000 });
    expect(result.records).toHaveLength(4500);
    expect(conn.limitInfo?.apiUsage?.used).toBeGreaterThan(0);
  });
});
