import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import jwt from 'jsonwebtoken';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { to18 } from '../../src/core/record-id.js';
import { createApp } from '../../src/http/app.js';
import { predictRouter } from '../../src/http/predict/route.js';
import { registry } from '../../src/observability/metrics.js';
import { filesModel, ScoringThread } from '../../src/scoring/thread.js';
import { ROOT } from '../helpers/process.js';
import { sampleAccount } from '../helpers/records.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ISSUER = '00D5g000001AbCdEAK';
const AUDIENCE = 'churn-prediction-api';

let scoring: ScoringThread;
let base: string;
let server: ReturnType<ReturnType<typeof createApp>['listen']>;

beforeAll(async () => {
  scoring = await ScoringThread.open(filesModel({ modelPath: `${ROOT}models/churn-gbt.onnx` }));
  const app = createApp({
    logger: pino({ level: 'silent' }),
    readiness: [],
    isShuttingDown: () => false,
    routers: [predictRouter({ scoring, auth: { publicKeys: [other.publicKey, publicKey], issuer: ISSUER, audience: AUDIENCE, maxLifetimeSeconds: 300 } })],
  });
  server = app.listen(0);
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.close();
  await scoring.close();
});

function token(claims: Record<string, unknown> = {}, key = privateKey, options: jwt.SignOptions = { algorithm: 'RS256' }): string {
  return jwt.sign({ iss: ISSUER, aud: AUDIENCE, sub: 'salesforce', exp: Math.floor(Date.now() / 1000) + 60, ...claims }, key, options);
}

function predict(body: unknown, bearer = token(), raw = false) {
  return fetch(`${base}/v1/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: raw ? (body as string) : JSON.stringify(body),
  });
}

const ID = (n: number) => `001${String(n).padStart(12, '0')}AAA`;

describe('POST /v1/predict', () => {
  it('when one valid record is sent, then it gets a score, a risk band, reasons and the model version', async () => {
    const res = await predict({ records: [sampleAccount(ID(1))] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictions: Array<Record<string, unknown>> };
    expect(body.predictions).toHaveLength(1);
    const p = body.predictions[0]!;
    expect(p).toMatchObject({ id: ID(1), risk: expect.stringMatching(/^(High|Medium|Low)$/), modelVersion: scoring.modelVersion });
    expect(p.score).toBeGreaterThan(30); // a two-month, month-to-month fiber customer is a churn risk
    expect(String(p.factors)).toMatch(/^\w+__c=.+ \([+-]\d+\.\d\)/);
    expect(String(p.factors).length).toBeLessThanOrEqual(255);
  });

  it('when a record carries a picklist value the model does not know, then it is scored with the imputed value and /metrics counts it per field', async () => {
    const count = async () => Number(/churn_input_values_total\{field="Contract_Type__c",state="unusable"\} (\d+)/.exec(await registry.metrics())?.[1] ?? 0);
    const before = await count();
    const res = await predict({ records: [sampleAccount(ID(7), { Contract_Type__c: 'Weekly' }), sampleAccount(ID(8))] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictions: Array<{ score?: number }> };
    expect(body.predictions.every((p) => typeof p.score === 'number')).toBe(true);
    expect(await count()).toBe(before + 1);
  });

  it('when 200 records are sent, then 200 predictions come back in order', async () => {
    const records = Array.from({ length: 200 }, (_, i) => sampleAccount(ID(i), { Tenure_Months__c: i % 72 }));
    const body = (await (await predict({ records })).json()) as { predictions: Array<{ id: string }> };
    expect(body.predictions.map((p) => p.id)).toEqual(records.map((r) => r.Id));
  });

  it('when fields are null or left out, then the record is scored with the documented defaults', async () => {
    const res = await predict({ records: [{ Id: ID(5), Total_Charges__c: null, Contract_Type__c: null }] });
    const body = (await res.json()) as { predictions: Array<{ score: number }> };
    expect(Number.isFinite(body.predictions[0]!.score)).toBe(true);
  });
});

describe('POST /v1/predict refuses bad tokens with 401 and scores nothing', () => {
  const header = (alg: string) => Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
  const cases: Array<[string, () => string | undefined]> = [
    ['no token', () => undefined],
    ['alg none', () => `${header('none')}.${payload}.`],
    ['HS256 signed with the public key', () => jwt.sign({ iss: ISSUER, aud: AUDIENCE }, publicKey.export({ type: 'spki', format: 'pem' }).toString(), { algorithm: 'HS256', expiresIn: 60 })],
    ['a wrong issuer', () => token({ iss: '00D000000000099AAA' })],
    ['a wrong audience', () => token({ aud: 'another-api' })],
    ['an expired token', () => token({ exp: Math.floor(Date.now() / 1000) - 120 })],
    ['a token not yet valid', () => token({ nbf: Math.floor(Date.now() / 1000) + 600 })],
    ['another key', () => token({}, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)],
    ['no exp', () => jwt.sign({ iss: ISSUER, aud: AUDIENCE }, privateKey, { algorithm: 'RS256' })],
    ['an exp ten years after iat', () => token({ iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 10 * 365 * 86_400 })],
    ['an exp ten years out and no iat', () => token({ exp: Math.floor(Date.now() / 1000) + 10 * 365 * 86_400 }, privateKey, { algorithm: 'RS256', noTimestamp: true })],
    ['a lifetime one second over the cap', () => token({ iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 301 })],
    ['an iat an hour ahead', () => token({ iat: Math.floor(Date.now() / 1000) + 3_600, exp: Math.floor(Date.now() / 1000) + 3_660 })],
  ];
  it.each(cases)('when the token has %s, then 401', async (_name, make) => {
    const before = scoring.recordsScored;
    const res = await predict({ records: [sampleAccount(ID(1))] }, make() ?? '');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect(scoring.recordsScored).toBe(before);
  });

  it('when the token is signed by the second configured key (rotation), then it is accepted', async () => {
    expect((await predict({ records: [sampleAccount(ID(1))] }, token({}, other.privateKey))).status).toBe(200);
  });
});

describe('POST /v1/predict: token lifetime and what Salesforce sends', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('when a token lives ten years, then the 401 says the lifetime is too long and names the setting', async () => {
    const res = await predict({ records: [sampleAccount(ID(1))] }, token({ iat: now(), exp: now() + 10 * 365 * 86_400 }));
    expect(res.status).toBe(401);
    const { message } = ((await res.json()) as { error: { message: string } }).error;
    expect(message).toMatch(/lifetime too long: exp is 315360000 s after iat, at most 300 s is accepted \(PREDICT_JWT_MAX_LIFETIME_SECONDS\)/);
  });

  it('when a token lives exactly the cap, then it is accepted', async () => {
    expect((await predict({ records: [sampleAccount(ID(1))] }, token({ iat: now(), exp: now() + 300 }))).status).toBe(200);
  });

  it('when the token is shaped as the Named Credential documents it (typ, kid, iat, nbf, exp = iat + 120 s, iss = 18-character org id), then it is accepted', async () => {
    const iat = now();
    const salesforceToken = jwt.sign({ iss: ISSUER, aud: AUDIENCE, sub: 'salesforce-churn-score-refresh', iat, nbf: iat, exp: iat + 120 }, privateKey, {
      algorithm: 'RS256',
      header: { alg: 'RS256', typ: 'JWT', kid: 'Churn_Prediction_API_Signing' },
    });
    expect((await predict({ records: [sampleAccount(ID(1))] }, salesforceToken)).status).toBe(200);
  });

  it('when the token is signed with RS512 (the other algorithm the Named Credential offers), then it is accepted', async () => {
    expect((await predict({ records: [sampleAccount(ID(1))] }, token({}, privateKey, { algorithm: 'RS512' }))).status).toBe(200);
  });
});

describe('POST /v1/predict: PREDICT_JWT_ISSUER and the token\'s iss in their 15- and 18-character forms', () => {
  const ORG15 = '00D5g000001AbCd';
  const ORG18 = to18(ORG15);
  const OTHER18 = to18('00D5g000001AbCe');
  const servers: Array<{ close(): void }> = [];
  const bases = new Map<string, string>();

  beforeAll(async () => {
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const configured of [ORG15, ORG18]) {
      // Through the configuration, as the web process builds it.
      const auth = loadConfig({ PREDICT_JWT_PUBLIC_KEYS: pem, PREDICT_JWT_ISSUER: configured }).predict!;
      const app = createApp({ logger: pino({ level: 'silent' }), readiness: [], isShuttingDown: () => false, routers: [predictRouter({ scoring, auth })] });
      const s = app.listen(0);
      await once(s, 'listening');
      servers.push(s);
      bases.set(configured, `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
    }
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  const call = (configured: string, iss: string) =>
    fetch(`${bases.get(configured)}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token({ iss })}` },
      body: JSON.stringify({ records: [sampleAccount(ID(1))] }),
    });

  const accepted: Array<[string, string, string]> = [
    ['15', '15', ORG15],
    ['15', '18', ORG18],
    ['18', '15', ORG15],
    ['18', '18', ORG18],
    ['15', '18 in upper case (the suffix restores the case)', ORG18.toUpperCase()],
  ];
  it.each(accepted)('when the issuer is configured with %s characters and the token carries the %s-character id, then 200', async (configured, _form, iss) => {
    expect((await call(configured === '15' ? ORG15 : ORG18, iss)).status).toBe(200);
  });

  const refused: Array<[string, string, string]> = [
    ['15', 'another org\'s 18-character id', OTHER18],
    ['18', 'another org\'s 15-character id', OTHER18.slice(0, 15)],
    ['15', 'the 18-character id with a wrong suffix', `${ORG15}AAA`],
    ['18', 'the 15-character id in another case', ORG15.toLowerCase()],
    ['18', 'the id with a character too many', `${ORG18}A`],
  ];
  it.each(refused)('when the issuer is configured with %s characters and the token carries %s, then 401 jwt issuer invalid', async (configured, _what, iss) => {
    const res = await call(configured === '15' ? ORG15 : ORG18, iss);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/jwt issuer invalid: expected 00D5g000001AbCd/);
  });
});

describe('POST /v1/predict refuses bad bodies with 400 naming the problem', () => {
  const cases: Array<[string, unknown, RegExp, boolean?]> = [
    ['more than 200 records', { records: Array.from({ length: 201 }, (_, i) => sampleAccount(ID(i))) }, /at most 200 records/],
    ['no records', { records: [] }, /records/],
    ['a wrong type', { records: [sampleAccount(ID(1)), sampleAccount(ID(2), { Tenure_Months__c: 'twelve' })] }, /record 1, field Tenure_Months__c/],
    ['a checkbox as a string', { records: [sampleAccount(ID(1), { Senior_Citizen__c: 'yes' })] }, /record 0, field Senior_Citizen__c/],
    ['an unknown field', { records: [sampleAccount(ID(1), { Favourite_Colour__c: 'blue' })] }, /unknown field\(s\): Favourite_Colour__c/],
    ['a bad Id', { records: [sampleAccount('not-an-id')] }, /record 0, field Id/],
    ['an 18-character Id whose checksum does not match', { records: [sampleAccount('001Ri00000m5tYv999')] }, /record 0, field Id/],
    ['a charge of -1e308', { records: [sampleAccount(ID(1)), sampleAccount(ID(2), { Monthly_Charges__c: -1e308 })] }, /record 1, field Monthly_Charges__c: Monthly_Charges__c must be at least 0/],
    ['a tenure of 100,000 months', { records: [sampleAccount(ID(1), { Tenure_Months__c: 100_000 })] }, /record 0, field Tenure_Months__c: Tenure_Months__c must be at most 1000/],
    ['an empty body', '', /empty/, true],
    ['a body that is not JSON', '<xml/>', /not JSON/, true],
    ['a JSON array', [], /expected object|Invalid/],
  ];
  it.each(cases)('when the body has %s, then 400', async (_name, body, message, raw) => {
    const before = scoring.recordsScored;
    const res = await predict(body, token(), raw);
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(message);
    expect(scoring.recordsScored).toBe(before);
  });
});

describe('the OpenAPI document and the handler agree', () => {
  it('when requests and responses are checked against /openapi.json, then the document describes what the handler does', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, object> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths['/v1/predict']!.post!.responses)).toEqual(expect.arrayContaining(['200', '400', '401']));
    const ajv = new Ajv2020({ strict: false });
    const validRequest = ajv.compile(doc.components.schemas.PredictRequest!);
    const validResponse = ajv.compile(doc.components.schemas.PredictResponse!);
    const validError = ajv.compile(doc.components.schemas.Error!);

    const good = { records: [sampleAccount(ID(1)), { Id: ID(2) }] };
    expect(validRequest(good)).toBe(true);
    const res = await predict(good);
    expect(res.status).toBe(200);
    expect(validResponse(await res.json())).toBe(true);

    // What the document refuses, the handler refuses, and its error matches the Error schema.
    for (const bad of [{ records: [sampleAccount(ID(1), { Extra__c: 1 })] }, { records: [sampleAccount(ID(1), { Tenure_Months__c: '5' })] }, { records: [] }]) {
      expect(validRequest(bad)).toBe(false);
      const r = await predict(bad);
      expect(r.status).toBe(400);
      expect(validError(await r.json())).toBe(true);
    }
    // Every field of the spec is in the document.
    const props = (doc.components.schemas.PredictRequest as { properties: { records: { items: { properties: object } } } }).properties.records.items.properties;
    expect(Object.keys(props).sort()).toEqual(['Id', ...scoring.spec.features.map((f) => f.field)].sort());
  });
});
