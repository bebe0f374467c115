import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Readable } from 'node:stream';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceConfig } from '../../src/config/index.js';
import { AppError } from '../../src/core/errors.js';
import { BulkClient } from '../../src/salesforce/bulk.js';
import { SalesforceClient, TokenProvider, signAssertion } from '../../src/salesforce/index.js';

const LOGIN = 'https://login.salesforce.com';
const INSTANCE = 'https://acme.my.salesforce.com';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const config: SalesforceConfig = Object.freeze({
  loginUrl: LOGIN,
  audience: LOGIN,
  clientId: '3MVG9_consumer_key',
  username: 'integration@acme.example',
  privateKey,
  apiVersion: '66.0',
  tokenTimeoutMs: 5000,
});

function tokenBody(n: number) {
  return {
    access_token: `00DXX0000000001!token-${n}`,
    instance_url: INSTANCE,
    id: `${LOGIN}/id/00DXX0000000001EAA/005XX0000000001AAA`,
    token_type: 'Bearer',
    scope: 'api',
    issued_at: String(Date.now()),
  };
}

/** Intercepts token requests, checks each assertion and answers with numbered tokens. */
function tokenEndpoint(times = 1) {
  const assertions: jwt.JwtPayload[] = [];
  let n = 0;
  const scope = nock(LOGIN)
    .post('/services/oauth2/token', (body: Record<string, string>) => {
      if (body.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return false;
      assertions.push(jwt.verify(body.assertion!, publicKey, { algorithms: ['RS256'] }) as jwt.JwtPayload);
      return true;
    })
    .times(times)
    .reply(200, () => tokenBody(++n));
  return { scope, assertions };
}

const sessionExpired = [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe('JWT bearer assertion', () => {
  it('when signed, then it carries iss, sub, aud and an exp in seconds at most 3 minutes out, RS256', () => {
    const now = 1_800_000_000_000;
    const assertion = signAssertion({ ...config, now: () => now });
    const header = JSON.parse(Buffer.from(assertion.split('.')[0]!, 'base64url').toString());
    expect(header.alg).toBe('RS256');
    const claims = jwt.verify(assertion, publicKey, { algorithms: ['RS256'], clockTimestamp: now / 1000 }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ iss: config.clientId, sub: config.username, aud: LOGIN });
    expect(claims.exp).toBe(now / 1000 + 180);
  });

  it('when a longer lifetime is asked for, then it is capped at 3 minutes', () => {
    const now = 1_800_000_000_000;
    const claims = jwt.decode(signAssertion({ ...config, lifetimeSeconds: 3600, now: () => now })) as jwt.JwtPayload;
    expect(claims.exp! - now / 1000).toBe(180);
  });
});

describe('sign-in', () => {
  it('when Salesforce answers a token, then the client uses its instance URL and access token', async () => {
    const { scope, assertions } = tokenEndpoint();
    const client = await SalesforceClient.connect(config);
    expect(client.connection.instanceUrl).toBe(INSTANCE);
    expect(client.connection.accessToken).toBe('00DXX0000000001!token-1');
    expect(client.connection.version).toBe('66.0');
    expect(assertions[0]).toMatchObject({ iss: config.clientId, sub: config.username, aud: LOGIN });
    expect(client.tokens.cached?.organizationId).toBe('00DXX0000000001EAA');
    scope.done();
  });

  it.each([
    ["user hasn't approved this consumer", /permission set/],
    ['audience is invalid', /never the My Domain URL/],
    ['expired authorization code', /clock/],
    ['invalid assertion', /private key of the certificate/],
  ])('when Salesforce answers invalid_grant "%s", then the error says what to fix', async (description, hint) => {
    nock(LOGIN).post('/services/oauth2/token').reply(400, { error: 'invalid_grant', error_description: description });
    const error = await SalesforceClient.connect(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('SF_AUTH_FAILED');
    expect((error as AppError).message).toContain(description);
    expect((error as AppError).message).toMatch(hint);
  });

  it('when Salesforce answers invalid_app_access "user is not admin approved to access this app", then the hint is about pre-authorization, not SF_USERNAME', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(400, { error: 'invalid_app_access', error_description: 'user is not admin approved to access this app' });
    const error = (await SalesforceClient.connect(config).catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_AUTH_FAILED');
    expect(error.message).toContain('invalid_app_access: user is not admin approved to access this app');
    expect(error.hint).toMatch(/Admin approved users are pre-authorized.*assign the Churn_Worker_Integration permission set to SF_USERNAME.*Selected Permission Sets/);
    expect(error.hint).not.toMatch(/Check SF_USERNAME/);
  });

  it('when the consumer key is unknown, then the error names SF_CLIENT_ID', async () => {
    nock(LOGIN).post('/services/oauth2/token').reply(400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
    await expect(SalesforceClient.connect(config)).rejects.toThrow(/SF_CLIENT_ID/);
  });

  it('when several callers sign in at once, then one token request is sent', async () => {
    const { scope } = tokenEndpoint(1);
    const tokens = new TokenProvider(config);
    const results = await Promise.all([tokens.signIn(), tokens.signIn(), tokens.token()]);
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    expect(tokens.signIns).toBe(1);
    scope.done();
  });

  it('when the token endpoint cannot be reached, then the error is retryable and names the URL', async () => {
    nock(LOGIN).post('/services/oauth2/token').replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });
    const error = (await SalesforceClient.connect(config).catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_AUTH_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`${LOGIN}/services/oauth2/token`);
  });
});

describe('session refresh', () => {
  it('when the session expires, then the next call re-signs once and succeeds', async () => {
    const { scope: tokenScope, assertions } = tokenEndpoint(2);
    const client = await SalesforceClient.connect(config);
    const api = nock(INSTANCE)
      .get('/services/data/v66.0/limits')
      .matchHeader('authorization', 'Bearer 00DXX0000000001!token-1')
      .reply(401, sessionExpired)
      .get('/services/data/v66.0/limits')
      .matchHeader('authorization', 'Bearer 00DXX0000000001!token-2')
      .reply(200, { DailyApiRequests: { Max: 100000, Remaining: 99990 } }, { 'Sforce-Limit-Info': 'api-usage=10/100000' });
    const limits = await client.limits();
    expect(limits.DailyApiRequests?.Remaining).toBe(99990);
    expect(client.apiUsage).toEqual({ used: 10, limit: 100000 });
    expect(assertions).toHaveLength(2);
    api.done();
    tokenScope.done();
  });

  it('when many calls hit an expired session at once, then they share one token request', async () => {
    const { scope: tokenScope } = tokenEndpoint(2);
    const client = await SalesforceClient.connect(config);
    nock(INSTANCE)
      .get('/services/data/v66.0/limits')
      .matchHeader('authorization', 'Bearer 00DXX0000000001!token-1')
      .times(5)
      .reply(401, sessionExpired)
      .get('/services/data/v66.0/limits')
      .matchHeader('authorization', 'Bearer 00DXX0000000001!token-2')
      .times(5)
      .reply(200, { DailyApiRequests: { Max: 1, Remaining: 1 } });
    await Promise.all(Array.from({ length: 5 }, () => client.limits()));
    expect(client.tokens.signIns).toBe(2);
    tokenScope.done();
  });

  it('when signing in again fails, then the call fails with the auth error instead of looping', async () => {
    tokenEndpoint(1);
    const client = await SalesforceClient.connect(config);
    nock(LOGIN).post('/services/oauth2/token').reply(400, { error: 'invalid_grant', error_description: "user hasn't approved this consumer" });
    nock(INSTANCE).get('/services/data/v66.0/limits').reply(401, sessionExpired);
    const error = (await client.limits().catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_AUTH_FAILED');
    expect(error.message).toMatch(/approved this consumer/);
  });

  it('when Salesforce keeps refusing fresh tokens, then the client gives up after a few refreshes', async () => {
    tokenEndpoint(10);
    const client = await SalesforceClient.connect(config, { maxConsecutiveRefreshes: 2 });
    nock(INSTANCE).get('/services/data/v66.0/limits').times(10).reply(401, sessionExpired);
    const error = (await client.limits().catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_SESSION_EXPIRED');
    expect(client.tokens.signIns).toBe(3);
  });
});

describe('REST calls', () => {
  async function connected() {
    tokenEndpoint(1);
    return SalesforceClient.connect(config, { retry: { maxRetries: 0 } });
  }

  it('when /limits answers, then the daily usage comes from it in one call', async () => {
    const client = await connected();
    nock(INSTANCE).get('/services/data/v66.0/limits').reply(200, { DailyApiRequests: { Max: 1000, Remaining: 900 } }, { 'Sforce-Limit-Info': 'api-usage=100/1000' });
    expect(await client.dailyApiUsage()).toEqual({ used: 100, limit: 1000, remaining: 900, source: 'limits', calls: 1 });
  });

  it('when /limits is refused for View Setup and carries no usage header, then the usage is read from the resource list\'s header', async () => {
    const client = await connected();
    const api = nock(INSTANCE)
      .get('/services/data/v66.0/limits')
      .reply(403, [{ errorCode: 'API_DISABLED_FOR_ORG', message: 'limits resource is not enabled' }])
      .get('/services/data/v66.0')
      .reply(200, { limits: '/services/data/v66.0/limits', query: '/services/data/v66.0/query' }, { 'Sforce-Limit-Info': 'api-usage=250/1000' });
    const usage = await client.dailyApiUsage();
    expect(usage).toMatchObject({ used: 250, limit: 1000, remaining: 750, source: 'header', calls: 2 });
    expect(usage.refusal?.code).toBe('SF_PERMISSION_DENIED');
    expect(usage.refusal?.hint).toMatch(/View Setup and Configuration.*Churn_Worker_Integration/);
    api.done();
  });

  it('when every call is refused because the user lacks API Enabled, then dailyApiUsage throws SF_PERMISSION_DENIED naming the permission', async () => {
    const client = await connected();
    const refused = [{ errorCode: 'API_CURRENTLY_DISABLED', message: 'API is disabled for this User' }];
    nock(INSTANCE).get('/services/data/v66.0/limits').reply(403, refused).get('/services/data/v66.0').reply(403, refused);
    const error = (await client.dailyApiUsage().catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_PERMISSION_DENIED');
    expect(error.hint).toMatch(/API Enabled/);
  });

  it('when a query has several pages, then every page is read through nextRecordsUrl', async () => {
    const client = await connected();
    const soql = 'SELECT Id FROM Account';
    nock(INSTANCE)
      .get('/services/data/v66.0/query')
      .query({ q: soql })
      .reply(200, { totalSize: 3, done: false, nextRecordsUrl: '/services/data/v66.0/query/01gXX-2', records: [{ Id: 'a' }, { Id: 'b' }] })
      .get('/services/data/v66.0/query/01gXX-2')
      .reply(200, { totalSize: 3, done: true, records: [{ Id: 'c' }] });
    const records = await client.query<{ Id: string }>(soql);
    expect(records.map((r) => r.Id)).toEqual(['a', 'b', 'c']);
    expect(client.calls.get('query')).toBe(1);
    expect(client.calls.get('queryMore')).toBe(1);
  });

  it('when a collections update has a per-record failure, then the others succeed and the failure keeps its code', async () => {
    const client = await connected();
    let sent: { allOrNone: boolean; records: Array<Record<string, unknown>> } | undefined;
    nock(INSTANCE)
      .patch('/services/data/v66.0/composite/sobjects', (body) => {
        sent = body;
        return true;
      })
      .reply(200, [
        { id: '001A', success: true, errors: [] },
        { success: false, errors: [{ statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record', fields: [] }] },
      ]);
    const results = await client.updateRecords('Account', [
      { Id: '001A', Churn_Score__c: 12.5 },
      { Id: '001B', Churn_Score__c: 80 },
    ]);
    expect(sent?.allOrNone).toBe(false);
    expect(sent?.records[0]).toEqual({ attributes: { type: 'Account' }, id: '001A', Churn_Score__c: 12.5 });
    expect(results[1]).toEqual({ id: '001B', success: false, errors: [expect.objectContaining({ statusCode: 'UNABLE_TO_LOCK_ROW' })] });
  });

  it('when more than 200 records are given, then the client refuses before calling Salesforce', async () => {
    const client = await connected();
    const records = Array.from({ length: 201 }, (_, i) => ({ Id: `001${i}` }));
    await expect(client.updateRecords('Account', records)).rejects.toThrow(/at most 200/);
    expect(client.totalCalls).toBe(0);
  });

  it('when the org is out of API calls, then the error is SF_REQUEST_LIMIT and retryable', async () => {
    const client = await connected();
    nock(INSTANCE).get('/services/data/v66.0/limits').reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    const error = (await client.limits().catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_REQUEST_LIMIT');
    expect(error.retryable).toBe(true);
  });

  it('when Salesforce answers 503, then the error is SF_UNAVAILABLE and retryable', async () => {
    const client = await connected();
    nock(INSTANCE).get('/services/data/v66.0/limits').reply(503, [{ message: 'Server unavailable', errorCode: 'SERVER_UNAVAILABLE' }]);
    const error = (await client.limits().catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  it('when a query is malformed, then the error is SF_MALFORMED_QUERY and not retryable', async () => {
    const client = await connected();
    nock(INSTANCE).get('/services/data/v66.0/query').query(true).reply(400, [{ message: "unexpected token: 'FORM'", errorCode: 'MALFORMED_QUERY' }]);
    const error = (await client.query('SELECT Id FORM Account').catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_MALFORMED_QUERY');
    expect(error.retryable).toBe(false);
  });

  it('when a query filter holds an id Salesforce refuses, then the error is SF_INVALID_ID naming that id, not retryable', async () => {
    const client = await connected();
    nock(INSTANCE)
      .get('/services/data/v66.0/query')
      .query(true)
      .reply(400, [{ message: "\nWHERE Id IN ('001Ri00000m5tYv999')\n ^\nERROR at Row:1:Column:40\ninvalid ID field: 001Ri00000m5tYv999", errorCode: 'INVALID_QUERY_FILTER_OPERATOR' }]);
    const error = (await client.query("SELECT Id FROM Account WHERE Id IN ('001Ri00000m5tYv999')").catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('SF_INVALID_ID');
    expect(error.details?.id).toBe('001Ri00000m5tYv999');
    expect(error.retryable).toBe(false);
  });

  it('when a Bulk result page has a byte-order mark, quoted commas, quotes, newlines and multi-byte text split across network chunks, then every cell comes back whole', async () => {
    const client = await connected();
    const csv = Buffer.from('\ufeff"Id","Churn_Top_Factors__c"\n"001A","Contract_Type__c=Month-to-month (+14.2); Tenure_Months__c=2 (+9.8)"\n"001B","a ""quoted"" word, a new\nline and …"\n');
    const cut = csv.indexOf(Buffer.from('…')) + 1;
    nock(INSTANCE)
      .get('/services/data/v66.0/jobs/query/750XX/results')
      .query({ maxRecords: '10' })
      // Two network chunks, the second starting inside the three bytes of '…'.
      .reply(200, () => Readable.from([csv.subarray(0, cut), csv.subarray(cut)]), { 'content-type': 'text/csv', 'sforce-locator': 'null', 'sforce-numberofrecords': '2' });
    const page = await new BulkClient(client).resultPage('750XX', null, 10);
    const rows: string[][] = [];
    for await (const row of page.rows) rows.push(row);
    expect(page.header).toEqual(['Id', 'Churn_Top_Factors__c']);
    expect(page.nextLocator).toBeNull();
    expect(page.numberOfRecords).toBe(2);
    expect(rows).toEqual([
      ['001A', 'Contract_Type__c=Month-to-month (+14.2); Tenure_Months__c=2 (+9.8)'],
      ['001B', 'a "quoted" word, a new\nline and …'],
    ]);
  });

  it('when an ingest job reports progress, then the next poll is timed for its end, and once every record is processed it comes at once', async () => {
    const client = await connected();
    const polls: number[] = [];
    const answers = [
      { state: 'InProgress', numberRecordsProcessed: 100 },
      { state: 'InProgress', numberRecordsProcessed: 1000 },
      { state: 'JobComplete', numberRecordsProcessed: 1000 },
    ];
    nock(INSTANCE)
      .get('/services/data/v66.0/jobs/ingest/750IN')
      .times(3)
      .reply(200, () => {
        polls.push(Date.now());
        return { id: '750IN', object: 'Account', operation: 'update', ...answers[polls.length - 1] };
      });
    const since = Date.now();
    const info = await new BulkClient(client).waitForJob('ingest', '750IN', { initialMs: 20, maxMs: 5_000, progress: { records: 1000, since } });
    expect(info.state).toBe('JobComplete');
    expect(polls).toHaveLength(3);
    // A tenth done after ~20 ms: the rest should take about nine times as long (~300 ms with the
    // margin), not the 1.6× growth (32 ms) and not the 5 s cap.
    const second = polls[1]! - polls[0]!;
    expect(second).toBeGreaterThanOrEqual(150);
    expect(second).toBeLessThan(2_000);
    // All processed but not closed yet: polled again after the initial wait (20 ms), not a grown one (~500 ms).
    expect(polls[2]! - polls[1]!).toBeLessThan(250);
  });
});
