/** The worker's Salesforce client against the local org emulator, over real HTTP. */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceConfig } from '../../src/config/index.js';
import { AppError } from '../../src/core/errors.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { readAccounts, writeAccounts } from '../../src/salesforce/accounts.js';
import { SalesforceClient } from '../../src/salesforce/index.js';

let org: RunningEmulator;
let config: SalesforceConfig;

beforeAll(async () => {
  org = await startEmulator({ accounts: 4_500 });
  config = {
    loginUrl: org.url,
    audience: org.url,
    clientId: org.consumerKey,
    username: org.username,
    privateKey: org.privateKey!,
    apiVersion: '66.0',
    tokenTimeoutMs: 5_000,
  };
});
afterAll(async () => {
  await org.close();
});

async function admin(path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${org.url}/__admin${path}`, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return res.json() as Promise<Record<string, unknown>>;
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('signing in to the emulator with the JWT bearer flow', () => {
  it('when the settings are right, then the client gets a session on the org', async () => {
    const client = await SalesforceClient.connect(config);
    expect(client.tokens.cached?.organizationId).toBe(org.orgId);
    expect(client.connection.instanceUrl).toBe(org.url);
  });

  it('when the key is not the certificate\'s, then the error says to check the private key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const error = await failure(SalesforceClient.connect({ ...config, privateKey }));
    expect(error.code).toBe('SF_AUTH_FAILED');
    expect(error.message).toMatch(/invalid assertion.*private key of the certificate/i);
  });

  it('when the user is unknown, then the error names the user problem', async () => {
    const error = await failure(SalesforceClient.connect({ ...config, username: 'nobody@emulator.local' }));
    expect(error.code).toBe('SF_AUTH_FAILED');
    expect(error.message).toMatch(/approved this consumer|SF_USERNAME/);
  });

  it('when the audience is wrong, then the error says which audience to use', async () => {
    const error = await failure(SalesforceClient.connect({ ...config, audience: 'https://acme.example.com' }));
    expect(error.message).toMatch(/audience is invalid.*login\.salesforce\.com/i);
  });

  it('when the assertion has expired (clock skew), then the error says to check the clock', async () => {
    const skewed = { ...config };
    const realNow = Date.now;
    Date.now = () => realNow() - 10 * 60_000;
    try {
      const error = await failure(SalesforceClient.connect(skewed));
      expect(error.message).toMatch(/expired authorization code.*clock/i);
    } finally {
      Date.now = realNow;
    }
  });

  it('when the consumer key is unknown, then the error names SF_CLIENT_ID', async () => {
    const error = await failure(SalesforceClient.connect({ ...config, clientId: '3MVG9unknownkey' }));
    expect(error.message).toMatch(/SF_CLIENT_ID/);
  });
});

describe('reading and writing Accounts on the emulator', () => {
  it('when a query has more than 2,000 rows, then every page is read', async () => {
    const client = await SalesforceClient.connect(config);
    const rows = await client.query<{ Id: string }>('SELECT Id, Tenure_Months__c FROM Account');
    expect(rows).toHaveLength(4_500);
    expect(new Set(rows.map((r) => r.Id)).size).toBe(4_500);
    expect(client.calls.get('query')).toBe(1);
    expect(client.calls.get('queryMore')).toBe(2);
  });

  it('when a collections update has a record with a validation rule, then the others are written and it fails with its code', async () => {
    const client = await SalesforceClient.connect(config);
    const [a, b, c] = await client.query<{ Id: string }>('SELECT Id FROM Account ORDER BY Id LIMIT 3');
    await admin('/validation-rules', { method: 'PUT', body: { ids: [b!.Id], message: 'Churn fields are locked for this Account' } });
    const outcomes = await writeAccounts(client, [a!, b!, c!].map((r) => ({ Id: r.Id, Churn_Score__c: 55.55, Churn_Risk__c: 'Medium' })));
    expect(outcomes.map((o) => o.success)).toEqual([true, false, true]);
    expect(outcomes[1]).toMatchObject({ statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', retryable: false });
    const [read] = await readAccounts(client, ['Churn_Score__c', 'Churn_Risk__c'], [a!.Id]);
    expect(read).toMatchObject({ Id: a!.Id, Churn_Score__c: 55.55, Churn_Risk__c: 'Medium' });
    await admin('/validation-rules', { method: 'DELETE' });
  });

  it('when the session expires mid-run, then the next call signs in again once and succeeds', async () => {
    const client = await SalesforceClient.connect(config);
    await client.limits();
    await admin('/tokens/expire', { method: 'POST' });
    const limits = await client.limits();
    expect(limits.DailyApiRequests?.Max).toBeGreaterThan(0);
    expect(client.tokens.signIns).toBe(2);
  });

  it('when signing in again fails after expiry, then the call fails with the auth error, not a loop', async () => {
    const client = await SalesforceClient.connect(config);
    await admin(`/users/${encodeURIComponent(org.username)}`, { method: 'PUT', body: { approved: false } });
    await admin('/tokens/expire', { method: 'POST' });
    try {
      const error = await failure(client.limits());
      expect(error.code).toBe('SF_AUTH_FAILED');
      expect(client.tokens.signIns).toBe(2);
    } finally {
      await admin(`/users/${encodeURIComponent(org.username)}`, { method: 'PUT', body: { approved: true } });
    }
  });

  it('when the org runs out of API calls, then calls fail with SF_REQUEST_LIMIT and the header shows the usage', async () => {
    const client = await SalesforceClient.connect(config);
    const limits = await client.limits();
    const max = limits.DailyApiRequests!.Max;
    await admin('/limits', { method: 'PUT', body: { apiUsed: max } });
    try {
      const error = await failure(client.limits());
      expect(error.code).toBe('SF_REQUEST_LIMIT');
      expect(error.retryable).toBe(true);
    } finally {
      await admin('/counters/reset', { method: 'POST', body: { apiUsage: true } });
    }
    await client.limits();
    expect(client.apiUsage).toEqual({ used: 1, limit: max });
  });
});
