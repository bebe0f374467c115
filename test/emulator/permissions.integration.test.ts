/** The emulator refuses what a real org refuses a user without a permission (src/emulator/http/permissions.ts). */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { admin, API, call, query, signIn, startOrg, type SfErrors } from './helpers.js';

describe('emulator: per-user permissions on the resources the worker uses', () => {
  let org: RunningEmulator;
  let token: string;
  const setPermissions = (permissions: Record<string, boolean>) => admin(org, 'PUT', `/users/${encodeURIComponent(org.username)}`, { permissions });

  beforeAll(async () => {
    org = await startOrg({ accounts: 50, apiLimit: 1_000 });
    token = await signIn(org);
  });
  afterEach(() => setPermissions({ ApiEnabled: true, ViewSetup: true, AccountRead: true, AccountEdit: true }));
  afterAll(() => org.close());

  it('when the integration user holds what Churn_Worker_Integration grants, then /limits, queries, describe and updates answer', async () => {
    expect((await call(org, token, `${API}/limits`)).status).toBe(200);
    expect((await query(org, token, 'SELECT Id FROM Account LIMIT 1')).status).toBe(200);
    expect((await call(org, token, `${API}/sobjects/Account/describe`)).status).toBe(200);
  });

  it('when the user lacks View Setup and Configuration, then /limits answers 403 API_DISABLED_FOR_ORG, still carrying Sforce-Limit-Info, and other calls work', async () => {
    await setPermissions({ ViewSetup: false });
    await admin(org, 'POST', '/counters/reset', { apiUsage: true });
    const res = await call<SfErrors>(org, token, `${API}/limits`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual([{ message: 'limits resource is not enabled', errorCode: 'API_DISABLED_FOR_ORG' }]);
    expect(res.headers.get('sforce-limit-info')).toBe('api-usage=1/1000');
    const q = await query(org, token, 'SELECT Id FROM Account LIMIT 1');
    expect(q.status).toBe(200);
    expect(q.headers.get('sforce-limit-info')).toBe('api-usage=2/1000');
  });

  it('when the user lacks API Enabled, then every REST call answers 403 API_CURRENTLY_DISABLED and costs nothing', async () => {
    await setPermissions({ ApiEnabled: false });
    const before = org.state.limits.apiUsed;
    for (const path of [`${API}/limits`, `${API}/query?q=${encodeURIComponent('SELECT Id FROM Account')}`, `${API}/jobs/query/750000000000000AAA`]) {
      const res = await call<SfErrors>(org, token, path);
      expect(res.status).toBe(403);
      expect(res.body).toEqual([{ message: 'API is disabled for this User', errorCode: 'API_CURRENTLY_DISABLED' }]);
    }
    expect(org.state.limits.apiUsed).toBe(before);
  });

  it('when the user may not read Account, then SOQL and Bulk query jobs answer INVALID_TYPE and describe answers NOT_FOUND', async () => {
    await setPermissions({ AccountRead: false });
    const q = await query<SfErrors>(org, token, 'SELECT Id FROM Account LIMIT 1');
    expect(q.status).toBe(400);
    expect(q.body[0]).toMatchObject({ errorCode: 'INVALID_TYPE', message: expect.stringMatching(/^sObject type 'Account' is not supported\./) });
    const job = await call<SfErrors>(org, token, `${API}/jobs/query`, { method: 'POST', body: { operation: 'query', query: 'SELECT Id FROM Account' } });
    expect(job.status).toBe(400);
    expect(job.body[0]).toMatchObject({ errorCode: 'INVALIDJOB', message: expect.stringContaining("sObject type 'Account' is not supported") });
    expect((await call<SfErrors>(org, token, `${API}/sobjects/Account/describe`)).body[0]!.errorCode).toBe('NOT_FOUND');
  });

  it('when the user may not edit Account, then each record of an update fails INSUFFICIENT_ACCESS_OR_READONLY and nothing is written', async () => {
    await setPermissions({ AccountEdit: false });
    const id = org.state.store.idOf(3);
    const res = await call<Array<{ id: string; success: boolean; errors: Array<{ statusCode: string; message: string }> }>>(org, token, `${API}/composite/sobjects`, {
      method: 'PATCH',
      body: { allOrNone: false, records: [{ attributes: { type: 'Account' }, id, Churn_Score__c: 12.5 }] },
    });
    expect(res.status).toBe(200);
    expect(res.body[0]).toMatchObject({ id, success: false, errors: [{ statusCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'insufficient access rights on object id' }] });
    expect(org.state.store.get(3, org.state.field('Churn_Score__c')!)).toBeNull();
  });

  it('when the admin API names an unknown permission, then it answers 400 listing the known ones', async () => {
    const res = await admin<{ error: string }>(org, 'PUT', `/users/${encodeURIComponent(org.username)}`, { permissions: { ModifyAllData: true } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/unknown permission ModifyAllData \(known: ApiEnabled, ViewSetup, AccountRead, AccountEdit\)/);
  });
});
