import jsforce from 'jsforce';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountChange, RunningEmulator } from '../../src/emulator/index.js';
import { admin, API, call, signIn, startOrg, type SfErrors } from './helpers.js';

interface SaveResult {
  id?: string;
  success: boolean;
  errors: Array<{ statusCode: string; message: string; fields: string[] }>;
}

describe('emulator: sObject Collections update', () => {
  let org: RunningEmulator;
  let token: string;
  let ids: string[];
  const changes: AccountChange[] = [];
  const PATH = `${API}/composite/sobjects`;

  const update = (records: Array<Record<string, unknown>>, allOrNone = false) =>
    call<SaveResult[]>(org, token, PATH, { method: 'PATCH', body: { allOrNone, records: records.map((r) => ({ attributes: { type: 'Account' }, ...r })) } });

  beforeAll(async () => {
    org = await startOrg({ accounts: 300 });
    token = await signIn(org);
    ids = (await admin<{ ids: string[] }>(org, 'GET', '/accounts?limit=300')).body.ids;
    org.state.store.onChange((c) => changes.push(c));
  });
  beforeEach(() => {
    changes.length = 0;
  });
  afterAll(() => org.close());

  it('when outputs are written, then each record succeeds in order and records who changed it', async () => {
    const res = await update([
      { id: ids[0], Churn_Score__c: 81.456, Churn_Risk__c: 'High', Churn_Scored_At__c: '2026-11-27T10:00:00.000+0000' },
      { id: ids[1], Churn_Score__c: 12, Churn_Risk__c: 'Low', Churn_Top_Factors__c: 'Contract_Type__c; Tenure_Months__c' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { id: ids[0], success: true, errors: [] },
      { id: ids[1], success: true, errors: [] },
    ]);
    const record = await admin<{ fields: Record<string, unknown>; lastModifiedBy: { username: string } }>(org, 'GET', `/accounts/${ids[0]}`);
    expect(record.body.fields).toMatchObject({ Churn_Score__c: 81.46, Churn_Risk__c: 'High', Churn_Scored_At__c: '2026-11-27T10:00:00.000+0000' });
    expect(record.body.lastModifiedBy.username).toBe('integration@emulator.local');
    expect(record.body.fields.LastModifiedDate).toBe(record.body.fields.SystemModstamp);
    expect(changes.map((c) => [c.id, c.username, c.changedFields])).toEqual([
      [ids[0], 'integration@emulator.local', ['Churn_Score__c', 'Churn_Risk__c', 'Churn_Scored_At__c']],
      [ids[1], 'integration@emulator.local', ['Churn_Score__c', 'Churn_Risk__c', 'Churn_Top_Factors__c']],
    ]);
  });

  it('when records fail one by one, then each gets its own Salesforce error and the rest are saved', async () => {
    await admin(org, 'DELETE', `/accounts/${ids[10]}`);
    await admin(org, 'PUT', '/validation-rules', { ids: [ids[11]], message: 'Score locked for review' });
    const res = await update([
      { id: ids[2], Churn_Score__c: 50 },
      { id: 'garbage', Churn_Score__c: 50 },
      { id: '001000000000000AAA', Churn_Score__c: 50 },
      { id: ids[10], Churn_Score__c: 50 },
      { id: ids[3], Churn_Risk__c: 'Extreme' },
      { id: ids[11], Churn_Score__c: 50 },
      { id: ids[4], Tenure_Months__c: 3 },
      { id: ids[5], Churn_Score__c: 5000 },
    ]);
    expect(res.status).toBe(200);
    const codes = res.body.map((r) => (r.success ? 'OK' : r.errors[0]!.statusCode));
    expect(codes).toEqual([
      'OK',
      'MALFORMED_ID',
      'INVALID_CROSS_REFERENCE_KEY',
      'ENTITY_IS_DELETED',
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      'NUMBER_OUTSIDE_VALID_RANGE',
    ]);
    expect(res.body[1]).toEqual({ success: false, errors: [{ statusCode: 'MALFORMED_ID', message: 'Account ID: id value of incorrect type: garbage', fields: ['Id'] }] });
    expect(res.body[4]!.errors[0]).toMatchObject({ message: 'Churn Risk: bad value for restricted picklist field: Extreme', fields: ['Churn_Risk__c'] });
    expect(res.body[5]!.errors[0]!.message).toBe('Score locked for review');
    expect(res.body[6]!.errors[0]!.fields).toEqual(['Tenure_Months__c']);
    expect(changes.map((c) => c.id)).toEqual([ids[2]]);
    await admin(org, 'DELETE', '/validation-rules');
  });

  it('when allOrNone is true and one record fails, then nothing is saved and the others are rolled back', async () => {
    const res = await update(
      [
        { id: ids[20], Churn_Score__c: 33 },
        { id: ids[21], Churn_Risk__c: 'Nope' },
        { id: ids[22], Churn_Score__c: 44 },
      ],
      true,
    );
    expect(res.status).toBe(200);
    expect(res.body[1]!.errors[0]!.statusCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
    for (const i of [0, 2]) {
      expect(res.body[i]).toEqual({
        id: ids[20 + i],
        success: false,
        errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'Record rolled back because not all records were valid and the request was using AllOrNone header', fields: [] }],
      });
    }
    const record = await admin<{ fields: Record<string, unknown> }>(org, 'GET', `/accounts/${ids[20]}`);
    expect(record.body.fields.Churn_Score__c).toBeNull();
    expect(changes).toHaveLength(0);
  });

  it('when a field name is unknown, then the whole request answers 400 INVALID_FIELD', async () => {
    const res = await call<SfErrors>(org, token, PATH, { method: 'PATCH', body: { records: [{ attributes: { type: 'Account' }, id: ids[0], Bogus__c: 1 }] } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual([{ message: "No such column 'Bogus__c' on sobject of type Account", errorCode: 'INVALID_FIELD' }]);
  });

  it('when more than 200 records are sent, then it answers 400 EXCEEDED_ID_LIMIT', async () => {
    const res = await call<SfErrors>(org, token, PATH, { method: 'PATCH', body: { records: ids.slice(0, 201).map((id) => ({ attributes: { type: 'Account' }, id, Churn_Score__c: 1 })) } });
    expect(res.status).toBe(400);
    expect(res.body[0]!.errorCode).toBe('EXCEEDED_ID_LIMIT');
  });

  it('when the body is not JSON, then it answers 400 JSON_PARSER_ERROR', async () => {
    const res = await fetch(`${org.url}${PATH}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{oops' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as SfErrors)[0]!.errorCode).toBe('JSON_PARSER_ERROR');
  });

  it('when the lock rate is 1, then every record fails UNABLE_TO_LOCK_ROW naming its id', async () => {
    await admin(org, 'PUT', '/faults', { lockRate: 1 });
    const res = await update([{ id: ids[30], Churn_Score__c: 1 }]);
    expect(res.body[0]!.errors[0]).toEqual({ statusCode: 'UNABLE_TO_LOCK_ROW', message: `unable to obtain exclusive access to this record or 1 records: ${ids[30]}`, fields: [] });
    await admin(org, 'PUT', '/faults', { lockRate: 0 });
  });

  it('when the admin changes inputs, then the change goes through the same path and names the admin', async () => {
    const res = await admin<SaveResult[]>(org, 'PATCH', '/accounts', { records: [{ id: ids[40], Tenure_Months__c: 13, Contract_Type__c: 'Two year' }] });
    expect(res.body[0]!.success).toBe(true);
    expect(changes[0]).toMatchObject({ id: ids[40], username: 'admin@emulator.local', writtenFields: ['Tenure_Months__c', 'Contract_Type__c'] });
  });

  it('when jsforce updates records with allOrNone false, then failures come back as SaveResults', async () => {
    const conn = new jsforce.Connection({ instanceUrl: org.url, accessToken: token, version: '68.0' });
    const results = await conn.sobject('Account').update(
      [
        { Id: ids[50], Churn_Score__c: 10 },
        { Id: ids[51], Churn_Risk__c: 'Bad' },
      ],
      { allOrNone: false },
    );
    expect(results.map((r) => r.success)).toEqual([true, false]);
  });
});
