import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { admin, API, assertion, call, requestToken, signIn, startOrg, type SfErrors } from './helpers.js';

describe('emulator: OAuth 2.0 JWT bearer sign-in', () => {
  let org: RunningEmulator;
  let now = Date.now();

  beforeAll(async () => {
    org = await startOrg({ accounts: 50, approvedUsers: ['integration@emulator.local'], now: () => now });
  });
  afterAll(() => org.close());

  it('when the assertion is valid, then it answers a Salesforce token response', async () => {
    const { status, body } = await requestToken(org, assertion(org));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', instance_url: org.url, scope: 'api' });
    expect(String(body.access_token)).toMatch(new RegExp(`^${org.orgId.slice(0, 15)}!AQ[A-Za-z0-9._]{60,}$`));
    expect(String(body.id)).toMatch(new RegExp(`^${org.url}/id/${org.orgId}/005[A-Za-z0-9]{15}$`));
    expect(Number(body.issued_at)).toBeGreaterThan(0);
    expect(typeof body.issued_at).toBe('string');
  });

  it('when aud is login.salesforce.com or test.salesforce.com, then it is accepted too', async () => {
    expect((await requestToken(org, assertion(org, { aud: 'https://login.salesforce.com' }))).status).toBe(200);
    expect((await requestToken(org, assertion(org, { aud: 'https://test.salesforce.com' }))).status).toBe(200);
  });

  it.each([
    ['signed with another key', () => assertion(org, { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }), 'invalid_grant', 'invalid assertion'],
    ['signed with HS256', () => assertion(org, { key: 'secret' as never, algorithm: 'HS256' }), 'invalid_grant', 'invalid assertion'],
    ['not a JWT', () => 'not-a-jwt', 'invalid_grant', 'invalid assertion'],
    ['for an unknown consumer key', () => assertion(org, { iss: '3MVG9unknown' }), 'invalid_client_id', 'client identifier invalid'],
    ['for the My Domain audience', () => assertion(org, { aud: 'https://acme.my.salesforce.com' }), 'invalid_grant', 'audience is invalid'],
    ['expired', () => assertion(org, { exp: Math.floor(now / 1000) - 10 }), 'invalid_grant', 'expired authorization code'],
    ['without exp', () => assertion(org, { exp: Number.NaN }), 'invalid_grant', 'expired authorization code'],
    ['for an unknown user', () => assertion(org, { sub: 'nobody@example.com' }), 'invalid_grant', "user hasn't approved this consumer"],
    ['for a user the admin-approved app does not pre-authorize', () => assertion(org, { sub: 'admin@emulator.local' }), 'invalid_app_access', 'user is not admin approved to access this app'],
  ])('when the assertion is %s, then it answers 400 %s "%s"', async (_case, make, error, description) => {
    const { status, body } = await requestToken(org, make());
    expect(status).toBe(400);
    expect(body).toEqual({ error, error_description: description });
  });

  it('when exp is in milliseconds, as Salesforce\'s CLI sends it (Date.now() + 300), or an hour ahead, then the assertion is accepted as real orgs accept it', async () => {
    expect((await requestToken(org, assertion(org, { exp: now + 300 }))).status).toBe(200);
    expect((await requestToken(org, assertion(org, { exp: Math.floor(now / 1000) + 3600 }))).status).toBe(200);
  });

  it('when the emulator is told to be stricter than Salesforce (maxAssertionLifetimeSeconds), then an exp too far ahead is refused', async () => {
    const strict = await startOrg({ accounts: 1, maxAssertionLifetimeSeconds: 300 });
    try {
      const { status, body } = await requestToken(strict, assertion(strict, { exp: Math.floor(Date.now() / 1000) + 3600 }));
      expect(status).toBe(400);
      expect(body).toEqual({ error: 'invalid_grant', error_description: 'expired authorization code' });
    } finally {
      await strict.close();
    }
  });

  it('when the app lets users self-authorize and the user never approved it, then it answers invalid_grant "user hasn\'t approved this consumer"', async () => {
    await admin(org, 'PUT', '/app', { permittedUsers: 'AllSelfAuthorize' });
    try {
      const { status, body } = await requestToken(org, assertion(org, { sub: 'admin@emulator.local' }));
      expect(status).toBe(400);
      expect(body).toEqual({ error: 'invalid_grant', error_description: "user hasn't approved this consumer" });
    } finally {
      await admin(org, 'PUT', '/app', { permittedUsers: 'AdminApprovedPreAuthorized' });
    }
  });

  it('when the grant type is not the JWT bearer grant, then it answers unsupported_grant_type', async () => {
    const res = await fetch(`${org.url}/services/oauth2/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('when the admin pre-authorizes the user, then the same assertion signs in', async () => {
    await admin(org, 'PUT', '/users/admin@emulator.local', { approved: true });
    expect((await requestToken(org, assertion(org, { sub: 'admin@emulator.local' }))).status).toBe(200);
  });

  it('when token requests are made, then they do not count against the API allowance', async () => {
    const before = org.state.limits.apiUsed;
    await signIn(org);
    expect(org.state.limits.apiUsed).toBe(before);
  });

  it('when the token is missing or unknown, then API calls answer 401 INVALID_SESSION_ID', async () => {
    for (const token of [undefined, 'bogus']) {
      const res = await call<SfErrors>(org, token, `${API}/limits`);
      expect(res.status).toBe(401);
      expect(res.body).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    }
  });

  it('when the session timeout passes, then the token answers 401 and a new sign-in works', async () => {
    const token = await signIn(org);
    expect((await call(org, token, `${API}/limits`)).status).toBe(200);
    now += 7200 * 1000;
    const expired = await call<SfErrors>(org, token, `${API}/limits`);
    expect(expired.status).toBe(401);
    expect(expired.body[0]!.errorCode).toBe('INVALID_SESSION_ID');
    expect((await call(org, await signIn(org), `${API}/limits`)).status).toBe(200);
  });

  it('when the admin expires all tokens, then existing tokens answer 401', async () => {
    const token = await signIn(org);
    const res = await admin<{ expired: number }>(org, 'POST', '/tokens/expire');
    expect(res.body.expired).toBeGreaterThanOrEqual(1);
    expect((await call(org, token, `${API}/limits`)).status).toBe(401);
  });
});
