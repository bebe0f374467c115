import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { admin, API, call, query, signIn, startOrg, type SfErrors } from './helpers.js';

interface Limits {
  [name: string]: { Max: number; Remaining: number };
}

describe('emulator: limits, allowance, faults, describe and routing', () => {
  let org: RunningEmulator;
  let token: string;

  beforeAll(async () => {
    org = await startOrg({ accounts: 100, apiLimit: 50 });
    token = await signIn(org);
  });
  afterAll(() => org.close());

  it('when limits are read, then they have Salesforce names and DailyApiRequests matches the header', async () => {
    await admin(org, 'POST', '/counters/reset', { apiUsage: true });
    await query(org, token, 'SELECT Id FROM Account LIMIT 1');
    const res = await call<Limits>(org, token, `${API}/limits`);
    expect(res.status).toBe(200);
    expect(res.headers.get('sforce-limit-info')).toBe('api-usage=2/50');
    expect(res.body.DailyApiRequests).toEqual({ Max: 50, Remaining: 48 });
    for (const name of ['DailyBulkV2QueryJobs', 'DailyBulkV2QueryFileStorageMB', 'DailyBulkApiBatches']) {
      expect(res.body[name]).toEqual({ Max: expect.any(Number), Remaining: expect.any(Number) });
    }
    const counters = await admin<{ total: number; byKind: Record<string, number> }>(org, 'GET', '/counters');
    expect(counters.body).toMatchObject({ total: 2, byKind: { query: 1, limits: 1 } });
  });

  it('when the daily allowance is used up, then calls answer 403 REQUEST_LIMIT_EXCEEDED until reset', async () => {
    await admin(org, 'PUT', '/limits', { apiUsed: 49 });
    expect((await call(org, token, `${API}/limits`)).status).toBe(200);
    const refused = await call<SfErrors>(org, token, `${API}/limits`);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    expect(refused.headers.get('sforce-limit-info')).toBe('api-usage=50/50');
    await admin(org, 'POST', '/counters/reset', { apiUsage: true });
    expect((await call(org, token, `${API}/limits`)).status).toBe(200);
  });

  it('when the fail rate is set, then that share of calls answers 503 SERVER_UNAVAILABLE, the same way each run', async () => {
    const run = async () => {
      await admin(org, 'PUT', '/faults', { failRate: 0.3 });
      await admin(org, 'POST', '/counters/reset', { apiUsage: true });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await call(org, token, `${API}/limits`)).status);
      return statuses;
    };
    const first = await run();
    const second = await run();
    await admin(org, 'PUT', '/faults', { failRate: 0 });
    expect(first).toEqual(second);
    const failures = first.filter((s) => s === 503).length;
    expect(failures).toBeGreaterThan(4);
    expect(failures).toBeLessThan(24);
    expect(first.every((s) => s === 200 || s === 503)).toBe(true);
  });

  it('when a 503 is injected, then the body is a Salesforce error array', async () => {
    await admin(org, 'PUT', '/faults', { failRate: 1 });
    const res = await call<SfErrors>(org, token, `${API}/limits`);
    await admin(org, 'PUT', '/faults', { failRate: 0 });
    expect(res.status).toBe(503);
    expect(res.body[0]!.errorCode).toBe('SERVER_UNAVAILABLE');
  });

  it('when latency is set, then each call takes at least that long', async () => {
    await admin(org, 'PUT', '/faults', { latencyMs: 120 });
    const started = performance.now();
    await call(org, token, `${API}/limits`);
    const elapsed = performance.now() - started;
    await admin(org, 'PUT', '/faults', { latencyMs: 0 });
    expect(elapsed).toBeGreaterThanOrEqual(115);
  });

  it('when Account is described, then fields have Salesforce types, lengths and picklist values', async () => {
    await admin(org, 'POST', '/counters/reset', { apiUsage: true });
    const res = await call<{ name: string; fields: Array<Record<string, unknown>> }>(org, token, `${API}/sobjects/Account/describe`);
    expect(res.status).toBe(200);
    const byName = new Map(res.body.fields.map((f) => [f.name, f]));
    expect(byName.get('Id')).toMatchObject({ type: 'id', updateable: false });
    expect(byName.get('Senior_Citizen__c')).toMatchObject({ type: 'boolean', updateable: false });
    expect(byName.get('Tenure_Months__c')).toMatchObject({ type: 'double', precision: 4, scale: 0 });
    expect(byName.get('Monthly_Charges__c')).toMatchObject({ type: 'currency', precision: 16, scale: 2 });
    expect(byName.get('Churn_Score__c')).toMatchObject({ type: 'percent', updateable: true, precision: 5, scale: 2 });
    expect(byName.get('Churn_Top_Factors__c')).toMatchObject({ type: 'string', length: 255, updateable: true });
    expect(byName.get('Churn_Scored_At__c')).toMatchObject({ type: 'datetime' });
    expect(byName.get('Churn_Risk__c')).toMatchObject({ type: 'picklist', restrictedPicklist: true });
    expect((byName.get('Churn_Risk__c')!.picklistValues as Array<{ value: string }>).map((v) => v.value)).toEqual(['High', 'Medium', 'Low']);
  });

  it('when the admin removes a field, then describe omits it and queries refuse it until restored', async () => {
    await admin(org, 'DELETE', '/describe/fields/Churn_Top_Factors__c');
    const described = await call<{ fields: Array<{ name: string }> }>(org, token, `${API}/sobjects/Account/describe`);
    expect(described.body.fields.map((f) => f.name)).not.toContain('Churn_Top_Factors__c');
    const q = await query<SfErrors>(org, token, 'SELECT Churn_Top_Factors__c FROM Account');
    expect(q.body[0]!.errorCode).toBe('INVALID_FIELD');
    await admin(org, 'PUT', '/describe/fields/Churn_Top_Factors__c');
    expect((await query(org, token, 'SELECT Churn_Top_Factors__c FROM Account LIMIT 1')).status).toBe(200);
  });

  it('when a version\'s resource list is read (what jsforce and the sf CLI call to refresh a session), then it lists the resources the org serves and is metered', async () => {
    const before = org.state.limits.apiUsed;
    for (const path of [API, `${API}/`]) {
      const res = await call<Record<string, string>>(org, token, path);
      expect(res.status, path).toBe(200);
      expect(res.body).toMatchObject({ sobjects: `${API}/sobjects`, query: `${API}/query`, limits: `${API}/limits`, jobs: `${API}/jobs` });
      expect(res.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/50$/);
    }
    expect(org.state.limits.apiUsed).toBe(before + 2);
    expect((await call(org, undefined, API)).status).toBe(401);
  });

  it('when versions are listed, then the latest is v68.0 and unknown versions or paths answer NOT_FOUND', async () => {
    const versions = await call<Array<{ version: string; label: string; url: string }>>(org, undefined, '/services/data/');
    expect(versions.body.at(-1)).toEqual({ label: "Winter '27", url: '/services/data/v68.0', version: '68.0' });
    const notFound = [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }];
    for (const path of ['/services/data/v99.0/limits', `${API}/nope`, '/services/apexrest/x', `${API}/sobjects/Contact/describe`]) {
      const res = await call(org, token, path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).toEqual(notFound);
    }
  });
});

describe('emulator: start-up options', () => {
  it('when given a certificate PEM, then it verifies assertions with it and exposes no private key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const org = await startEmulator({ accounts: 0, certificate: publicKey.export({ type: 'spki', format: 'pem' }) as string, consumerKey: 'CK', username: 'int@example.com' });
    try {
      expect(org.privateKey).toBeUndefined();
      expect(org.orgId).toMatch(/^00D[A-Za-z0-9]{15}$/);
      await expect(signIn(org, { key: privateKey })).resolves.toMatch(/!AQ/);
    } finally {
      await org.close();
      await org.close();
    }
  });

  it('when an option is out of range, then start-up fails with a message naming it', async () => {
    await expect(startEmulator({ failRate: 2 })).rejects.toThrow(/fail rate/);
  });
});
