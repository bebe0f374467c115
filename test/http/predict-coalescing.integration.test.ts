import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { predictRouter } from '../../src/http/predict/route.js';
import { parseSpec } from '../../src/scoring/spec.js';
import { ScoringThread, type CompactResult } from '../../src/scoring/thread.js';
import { logisticRegressionModel } from '../../src/training/onnx-builder.js';
import { tempDir, tinyModel, tinySpec } from '../scoring/helpers.js';

// Concurrent requests to the real app over HTTP, scored by a real scoring thread that coalesces them.
// The model's Tenure field is required, so a record without it gets a per-record error.

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ISSUER = '00D5g000001AbCdEAK';
const AUDIENCE = 'churn-prediction-api';
const dir = tempDir();
const specV1 = tinySpec({ modelVersion: 'coalesce-v1' });
specV1.features[1] = { ...specV1.features[1]!, required: true } as never;

let scoring: ScoringThread;
let server: ReturnType<ReturnType<typeof createApp>['listen']>;
let url: string;

beforeAll(async () => {
  const files = tinyModel(dir, specV1);
  scoring = await ScoringThread.open({ model: { kind: 'files', modelPath: files.modelPath, specPath: files.specPath } });
  const app = createApp({
    logger: pino({ level: 'silent' }),
    readiness: [],
    isShuttingDown: () => false,
    routers: [predictRouter({ scoring, auth: { publicKeys: [publicKey], issuer: ISSUER, audience: AUDIENCE } })],
  });
  server = app.listen(0);
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/predict`;
});
afterAll(async () => {
  server.close();
  await scoring.close();
  rmSync(dir, { recursive: true, force: true });
});

const token = () => jwt.sign({ iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 }, privateKey, { algorithm: 'RS256' });

async function post(body: unknown): Promise<{ status: number; body: { predictions?: Array<Record<string, unknown>>; error?: { code: string; message: string } } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token()}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as never };
}

let serial = 0;
/** A record with an id used nowhere else; `k` varies its values so scores differ. */
function record(k: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  serial += 1;
  return {
    Id: `001${String(serial).padStart(12, '0')}AAA`,
    Contract_Type__c: k % 3 === 0 ? 'Two year' : 'Month-to-month',
    Tenure_Months__c: k % 72,
    Paperless_Billing__c: k % 2 === 0,
    ...overrides,
  };
}

/** What the API answers for one record, from the thread's own results. */
function asAnswer(r: CompactResult): Record<string, unknown> {
  return 'error' in r ? { id: r.id, error: { code: r.error.code, message: r.error.message } } : { ...r };
}

/** Every valid record's expected answer, scored in one call with `version` (records are scored independently). */
async function expectedAnswers(records: Array<Record<string, unknown>>, version: string): Promise<Map<string, Record<string, unknown>>> {
  const results = await scoring.predict(records, { version });
  return new Map(results.map((r) => [r.id, asAnswer(r)]));
}

describe('POST /v1/predict under concurrent requests', () => {
  it('when 50 requests of different sizes arrive at once, some invalid and some with per-record errors, then each answer is exactly its own records\' results and the thread is called fewer times than there are requests', async () => {
    const sizes = [1, 3, 1, 17, 200, 1, 2, 40, 1, 5];
    const bodies: Array<{ records: Array<Record<string, unknown>>; invalid?: RegExp }> = [];
    for (let i = 0; i < 50; i++) {
      const records = Array.from({ length: sizes[i % sizes.length]! }, (_, k) => record(i + k));
      // Every seventh request has a record with a blank required field: a per-record error.
      if (i % 7 === 3) records[records.length - 1] = record(i, { Tenure_Months__c: null });
      if (i % 11 === 5) bodies.push({ records: [...records, record(i, { Tenure_Months__c: 'twelve' })], invalid: new RegExp(`record ${records.length}, field Tenure_Months__c`) });
      else if (i % 13 === 8) bodies.push({ records: [record(i, { Id: 'not-an-id' }), ...records.slice(0, 10)], invalid: /record 0, field Id/ });
      else if (i === 44) bodies.push({ records: [...records, record(i)], invalid: /at most 200 records/ });
      else bodies.push({ records });
    }
    const valid = bodies.filter((b) => !b.invalid);
    const expected = await expectedAnswers(valid.flatMap((b) => b.records), 'coalesce-v1');
    const callsBefore = scoring.calls;

    const answers = await Promise.all(bodies.map((b) => post({ records: b.records })));

    const callsDuring = scoring.calls - callsBefore;
    answers.forEach((answer, i) => {
      const { records, invalid } = bodies[i]!;
      if (invalid) {
        expect(answer.status).toBe(400);
        expect(answer.body.error!.message).toMatch(invalid);
        return;
      }
      expect(answer.status).toBe(200);
      expect(answer.body.predictions).toEqual(records.map((r) => expected.get(r.Id as string)));
    });
    // The per-record errors are where their records are, and only there.
    const failed = answers.flatMap((a) => a.body.predictions ?? []).filter((p) => 'error' in p);
    expect(failed.length).toBe(valid.filter((b) => b.records.some((r) => r.Tenure_Months__c === null)).length);
    expect(failed[0]).toMatchObject({ error: { code: 'SCORING_FAILED', message: 'Tenure_Months__c is blank and the spec marks it required' } });
    expect(callsDuring).toBeGreaterThan(0);
    expect(callsDuring).toBeLessThan(valid.length);
  });

  it('when the champion changes while requests are in flight, then each request is scored whole by the version it was validated for', async () => {
    const specV2 = parseSpec({ ...specV1, modelVersion: 'coalesce-v2' }, 'of version coalesce-v2');
    const onnxV2 = logisticRegressionModel({ weights: [-1, 1, 0, 0.04, -0.6], bias: 0.3, inputName: 'features', outputName: 'probability' });
    expect(readFileSync(tinyModel(tempDir(), specV1).modelPath)).not.toEqual(Buffer.from(onnxV2));

    const before = Array.from({ length: 25 }, (_, i) => Array.from({ length: 1 + (i % 6) * 7 }, (_, k) => record(i * 5 + k)));
    const after = Array.from({ length: 25 }, (_, i) => Array.from({ length: 1 + (i % 4) * 9 }, (_, k) => record(i * 3 + k)));
    const early = before.map((records) => post({ records }));
    await scoring.setModels({ kind: 'bundle', onnx: onnxV2, spec: specV2 }, null);
    const late = after.map((records) => post({ records }));
    const [earlyAnswers, lateAnswers] = await Promise.all([Promise.all(early), Promise.all(late)]);

    // The thread keeps the previous champion for work validated before the switch.
    const all = [...before, ...after].flat();
    const byVersion = { 'coalesce-v1': await expectedAnswers(all, 'coalesce-v1'), 'coalesce-v2': await expectedAnswers(all, 'coalesce-v2') };
    const check = (records: Array<Record<string, unknown>>, answer: Awaited<ReturnType<typeof post>>) => {
      expect(answer.status).toBe(200);
      const versions = new Set(answer.body.predictions!.map((p) => p.modelVersion));
      expect(versions.size).toBe(1);
      const version = [...versions][0] as keyof typeof byVersion;
      expect(answer.body.predictions).toEqual(records.map((r) => byVersion[version].get(r.Id as string)));
      return version;
    };
    earlyAnswers.forEach((answer, i) => check(before[i]!, answer));
    // Validated after the switch: the new champion, every one.
    expect(new Set(lateAnswers.map((answer, i) => check(after[i]!, answer)))).toEqual(new Set(['coalesce-v2']));
    // The two versions really score differently, so the checks above tell them apart.
    const probe = after[0]![0]!.Id as string;
    expect(byVersion['coalesce-v1'].get(probe)).not.toEqual(byVersion['coalesce-v2'].get(probe));
  });
});
