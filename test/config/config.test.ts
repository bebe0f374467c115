import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultAudience, loadConfig } from '../../src/config/index.js';
import { AppError } from '../../src/core/errors.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const base = { SF_CLIENT_ID: 'key', SF_USERNAME: 'integration@acme.example' };

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    return error as AppError;
  }
  throw new Error('expected an error');
}

describe('configuration', () => {
  it('when nothing is set, then defaults apply and the object is frozen', () => {
    const config = loadConfig({});
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.port).toBe(3000);
    expect(config.salesforce).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.scoring)).toBe(true);
  });

  it('when the private key is inline with \\n escapes, then it is parsed', () => {
    const config = loadConfig({ ...base, SF_PRIVATE_KEY: pem.replace(/\n/g, '\\n') });
    expect(config.salesforce?.privateKey.asymmetricKeyType).toBe('rsa');
    expect(config.salesforce?.audience).toBe('https://login.salesforce.com');
    expect(Object.isFrozen(config.salesforce)).toBe(true);
  });

  it('when the private key is a file, then it is read from there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    try {
      writeFileSync(join(dir, 'key.pem'), pem);
      const config = loadConfig({ ...base, SF_PRIVATE_KEY_FILE: join(dir, 'key.pem') }, { need: ['salesforce'] });
      expect(config.salesforce?.username).toBe(base.SF_USERNAME);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the private key is not a PEM, then the error names the variable and does not quote the value', () => {
    const error = errorOf(() => loadConfig({ ...base, SF_PRIVATE_KEY: 'not-a-key-secret-material' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('SF_PRIVATE_KEY');
    expect(error.message).not.toContain('secret-material');
  });

  it('when Salesforce is needed and a variable is missing, then the error names it', () => {
    const error = errorOf(() => loadConfig({ SF_CLIENT_ID: 'key', SF_PRIVATE_KEY: pem }, { need: ['salesforce'] }));
    expect(error.message).toContain('SF_USERNAME');
  });

  it.each([
    ['PORT', 'eighty', /PORT/],
    ['REDIS_URL', 'http://x', /REDIS_URL.*redis:\/\//],
    ['SF_API_VERSION', '50.0', /SF_API_VERSION.*66\.0/],
    ['SF_LOGIN_URL', 'login.salesforce.com', /SF_LOGIN_URL/],
    ['SF_AUDIENCE', 'https://acme.my.salesforce.com', /SF_AUDIENCE.*My Domain/],
    ['SF_ORG_ID', '001000000000001', /SF_ORG_ID/],
    ['SCORING_THREADS', '0', /SCORING_THREADS/],
  ])('when %s is malformed, then the error names it and what is expected', (variable, value, message) => {
    const error = errorOf(() => loadConfig({ [variable]: value }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(message);
  });

  it('when the login URL is a My Domain or sandbox host, then the audience is the login host', () => {
    expect(defaultAudience('https://acme.my.salesforce.com')).toBe('https://login.salesforce.com');
    expect(defaultAudience('https://acme--uat.sandbox.my.salesforce.com')).toBe('https://test.salesforce.com');
    expect(defaultAudience('https://test.salesforce.com')).toBe('https://test.salesforce.com');
    expect(defaultAudience('http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787');
  });
});

describe('prediction API token settings', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('when keys and an org-id issuer are set, then the issuer, audience and the default lifetime cap are kept', () => {
    const config = loadConfig({ PREDICT_JWT_PUBLIC_KEYS: spki.replace(/\n/g, '\\n'), PREDICT_JWT_ISSUER: '00D5g000001AbCdEAK' });
    expect(config.predict?.issuer).toBe('00D5g000001AbCdEAK');
    expect(config.predict?.audience).toBe('churn-prediction-api');
    expect(config.predict?.maxLifetimeSeconds).toBe(300);
    expect(config.predict?.publicKeys).toHaveLength(1);
  });

  it('when the issuer is an 18-character org id whose suffix is not its checksum, then the error says so', () => {
    expect(() => loadConfig({ PREDICT_JWT_PUBLIC_KEYS: spki, PREDICT_JWT_ISSUER: '00D5g000001AbCdEAF' })).toThrow(/PREDICT_JWT_ISSUER is not a valid 18-character org id/);
  });

  it('when the lifetime cap is out of range, then the error names PREDICT_JWT_MAX_LIFETIME_SECONDS', () => {
    expect(() => loadConfig({ PREDICT_JWT_MAX_LIFETIME_SECONDS: '86400' })).toThrow(/PREDICT_JWT_MAX_LIFETIME_SECONDS.*3600/);
    expect(loadConfig({ PREDICT_JWT_PUBLIC_KEYS: spki, PREDICT_JWT_ISSUER: 'x', PREDICT_JWT_MAX_LIFETIME_SECONDS: '120' }).predict?.maxLifetimeSeconds).toBe(120);
  });

  it('when keys are set without an issuer, then the error names PREDICT_JWT_ISSUER', () => {
    expect(() => loadConfig({ PREDICT_JWT_PUBLIC_KEYS: spki })).toThrow(/PREDICT_JWT_ISSUER/);
  });

  it('when the keys are not PEM, then the error names the variable', () => {
    expect(() => loadConfig({ PREDICT_JWT_PUBLIC_KEYS: 'nope', PREDICT_JWT_ISSUER: 'x' })).toThrow(/PREDICT_JWT_PUBLIC_KEYS.*PEM/);
  });
});
