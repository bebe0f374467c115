/** `churn-worker doctor` against the local org emulator and the real Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose, formatChecklist, type CheckResult } from '../../src/cli/commands/doctor.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { cleanEnv, runToEnd } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let org: RunningEmulator;
let env: Record<string, string>;

beforeAll(async () => {
  org = await startEmulator({ accounts: 50 });
  env = {
    REDIS_URL,
    SF_LOGIN_URL: org.url,
    SF_CLIENT_ID: org.consumerKey,
    SF_USERNAME: org.username,
    SF_PRIVATE_KEY: org.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString(),
    SF_API_VERSION: '66.0',
    SF_ORG_ID: org.orgId,
  };
});
afterAll(async () => {
  await org.close();
});

const byName = (results: CheckResult[], name: string) => results.find((r) => r.name === name)!;

/** Changes the integration user through the emulator's admin API (permissions, pre-authorization). */
async function setUser(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${org.url}/__admin/users/${encodeURIComponent(org.username)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.ok).toBe(true);
}

describe('churn-worker doctor', () => {
  it('when the org, Redis and the model are right, then every check passes and the process exits 0', async () => {
    const { code, output } = await runToEnd(['doctor'], cleanEnv(env));
    expect(output).toContain('All checks passed.');
    for (const name of ['configuration', 'redis', 'model', 'salesforce sign-in', 'account fields', 'api allowance', 'permissions']) expect(output).toMatch(new RegExp(`^\\[(ok|warn)\\]\\s+${name}:`, 'm'));
    expect(output).toMatch(/api allowance: [\d,]+ of 100,000 daily API requests left/);
    expect(code).toBe(0);
  });

  it('when a field the spec writes is missing from Account, then the field check fails with a fix and the checklist counts the failure', async () => {
    const removed = await fetch(`${org.url}/__admin/describe/fields/Churn_Score__c`, { method: 'DELETE' });
    expect(removed.ok).toBe(true);
    try {
      const results = await diagnose(env);
      const fields = byName(results, 'account fields');
      expect(fields.status).toBe('fail');
      expect(fields.detail).toContain('Churn_Score__c is missing');
      expect(fields.fix).toMatch(/Deploy the salesforce\/ project/);
      expect(byName(results, 'salesforce sign-in').status).toBe('ok');
      expect(formatChecklist(results)).toMatch(/\[FAIL\] account fields: .*\n\s+fix: /);
      expect(formatChecklist(results)).toMatch(/1 check\(s\) failed\.$/);
    } finally {
      await fetch(`${org.url}/__admin/describe/fields/Churn_Score__c`, { method: 'PUT' });
    }
  });

  it('when SF_ORG_ID names another org than the one signed in to, then the sign-in check fails saying so', async () => {
    const results = await diagnose({ ...env, SF_ORG_ID: '00D000000000001AAA' });
    expect(byName(results, 'salesforce sign-in')).toMatchObject({ status: 'fail' });
    expect(byName(results, 'salesforce sign-in').detail).toContain(`signed in to org ${org.orgId}`);
  });

  it('when the private key is not the certificate\'s and Redis is unreachable, then both fail with fixes and later checks are skipped', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const results = await diagnose({ ...env, SF_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), REDIS_URL: 'redis://127.0.0.1:1' });
    expect(byName(results, 'redis')).toMatchObject({ status: 'fail' });
    expect(byName(results, 'redis').fix).toContain('REDIS_URL');
    expect(byName(results, 'salesforce sign-in')).toMatchObject({ status: 'fail' });
    expect(byName(results, 'salesforce sign-in').detail).toContain('invalid assertion');
    expect(byName(results, 'salesforce sign-in').fix).toMatch(/private key/i);
    expect(byName(results, 'account fields').status).toBe('skip');
  });

  it('when the integration user lacks View Setup and Configuration, then the allowance is read from the header and the permissions check warns with the fix', async () => {
    await setUser({ permissions: { ViewSetup: false } });
    try {
      const results = await diagnose(env);
      expect(byName(results, 'api allowance')).toMatchObject({ status: 'ok' });
      expect(byName(results, 'api allowance').detail).toMatch(/^[\d,]+ of 100,000 daily API requests left \(from the Sforce-Limit-Info header\)$/);
      const permissions = byName(results, 'permissions');
      expect(permissions.status).toBe('warn');
      expect(permissions.detail).toMatch(/\/limits is refused .*API_DISABLED_FOR_ORG.*lacks View Setup and Configuration/);
      expect(permissions.fix).toMatch(/Churn_Worker_Integration.*View Setup and Configuration/);
      expect(formatChecklist(results)).toMatch(/All checks passed\.$/);
    } finally {
      await setUser({ permissions: { ViewSetup: true } });
    }
  });

  it('when the integration user lacks API Enabled, then the field and allowance checks fail and say which permission set grants it', async () => {
    await setUser({ permissions: { ApiEnabled: false } });
    try {
      const results = await diagnose(env);
      expect(byName(results, 'salesforce sign-in').status).toBe('ok');
      expect(byName(results, 'account fields')).toMatchObject({ status: 'fail' });
      expect(byName(results, 'account fields').detail).toContain('API_CURRENTLY_DISABLED');
      expect(byName(results, 'api allowance')).toMatchObject({ status: 'fail' });
      expect(byName(results, 'api allowance').fix).toMatch(/Churn_Worker_Integration.*API Enabled/);
      expect(byName(results, 'permissions').status).toBe('fail');
    } finally {
      await setUser({ permissions: { ApiEnabled: true } });
    }
  });

  it('when the integration user is not pre-authorized for the app, then the sign-in fails with invalid_app_access and the permission-set fix, not SF_USERNAME', async () => {
    await setUser({ approved: false });
    try {
      const results = await diagnose(env);
      const signIn = byName(results, 'salesforce sign-in');
      expect(signIn.status).toBe('fail');
      expect(signIn.detail).toContain('invalid_app_access: user is not admin approved to access this app');
      // The error's own hint leads the fix line.
      expect(signIn.fix).toMatch(/assign the Churn_Worker_Integration permission set to SF_USERNAME/);
      expect(`${signIn.detail} ${signIn.fix}`).not.toMatch(/Check SF_USERNAME/);
    } finally {
      await setUser({ approved: true });
    }
  });

  it('when a variable is malformed, then only the configuration check runs, and fails naming it', async () => {
    const results = await diagnose({ ...env, SF_API_VERSION: '42.0' });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ name: 'configuration', status: 'fail' });
    expect(results[0]!.detail).toContain('SF_API_VERSION');
  });
});
