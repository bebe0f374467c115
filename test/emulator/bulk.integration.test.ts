import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { admin, API, call, signIn, startOrg, type SfErrors } from './helpers.js';

let org: RunningEmulator | undefined;
afterEach(async () => {
  await org?.close();
  org = undefined;
});

async function raw(o: RunningEmulator, token: string, path: string, init: { method?: string; body?: string; contentType?: string } = {}) {
  const res = await fetch(`${o.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.contentType ? { 'content-type': init.contentType } : {}) },
    body: init.body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function waitState(o: RunningEmulator, token: string, path: string, states: string[]): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const info = (await call<Record<string, unknown>>(o, token, path)).body;
    if (states.includes(String(info.state))) return info;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} never reached ${states.join('|')}`);
}

describe('emulator Bulk API 2.0 query jobs', () => {
  it('when a query job completes, then its results come back as CSV pages chained by Sforce-Locator, ending with "null"', async () => {
    org = await startOrg({ accounts: 250 });
    const token = await signIn(org);
    const created = await call<Record<string, unknown>>(org, token, `${API}/jobs/query`, { method: 'POST', body: { operation: 'query', query: 'SELECT Id, Tenure_Months__c, Has_Partner__c FROM Account' } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ operation: 'query', object: 'Account', state: 'UploadComplete', contentType: 'CSV', apiVersion: 68 });
    const id = String(created.body.id);
    expect(id).toMatch(/^750[A-Za-z0-9]{15}$/);
    const early = await raw(org, token, `${API}/jobs/query/${id}/results`);
    expect(early.status).toBe(400);
    const info = await waitState(org, token, `${API}/jobs/query/${id}`, ['JobComplete']);
    expect(info).toMatchObject({ jobType: 'V2Query', numberRecordsProcessed: 250 });

    let locator: string | null = null;
    const ids: string[] = [];
    let pages = 0;
    do {
      const res = await raw(org, token, `${API}/jobs/query/${id}/results?maxRecords=100${locator ? `&locator=${locator}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/csv/);
      const lines = res.text.trim().split('\n');
      expect(lines[0]).toBe('"Id","Tenure_Months__c","Has_Partner__c"');
      expect(Number(res.headers.get('sforce-numberofrecords'))).toBe(lines.length - 1);
      ids.push(...lines.slice(1).map((l) => l.split(',')[0]!.replace(/"/g, '')));
      expect(lines[1]).toMatch(/^"001\w{15}",("\d+(\.\d+)?")?,"(true|false)"$/);
      const next = res.headers.get('sforce-locator');
      locator = next === 'null' ? null : next;
      pages += 1;
    } while (locator);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(250);
    expect(org.state.counters.byKind.bulkQueryResults).toBe(4);
  });

  it('when a job is unknown, asked with another API version, or set to fail, then Salesforce-shaped errors and a Failed state come back', async () => {
    org = await startOrg({ accounts: 10 });
    const token = await signIn(org);
    const missing = await call<SfErrors>(org, token, `${API}/jobs/query/750000000000000AAA`);
    expect(missing.status).toBe(404);
    expect(missing.body[0]!.errorCode).toBe('NOT_FOUND');
    const bad = await call<SfErrors>(org, token, `${API}/jobs/query`, { method: 'POST', body: { operation: 'query', query: 'SELECT Nope__c FROM Account' } });
    expect(bad.status).toBe(400);
    const created = await call<{ id: string }>(org, token, `${API}/jobs/query`, { method: 'POST', body: { operation: 'query', query: 'SELECT Id FROM Account' } });
    const other = await call<SfErrors>(org, token, `/services/data/v66.0/jobs/query/${created.body.id}`);
    expect(other.status).toBe(409);
    await admin(org, 'PUT', '/bulk', { failNextQuery: 'InternalServerError: query timed out' });
    const doomed = await call<{ id: string }>(org, token, `${API}/jobs/query`, { method: 'POST', body: { operation: 'query', query: 'SELECT Id FROM Account' } });
    const info = await waitState(org, token, `${API}/jobs/query/${doomed.body.id}`, ['JobComplete', 'Failed']);
    expect(info).toMatchObject({ state: 'Failed', errorMessage: 'InternalServerError: query timed out' });
  });
});

describe('emulator Bulk API 2.0 parallel results and compression', () => {
  async function completedQuery(o: RunningEmulator, token: string, version = API): Promise<string> {
    const created = await call<{ id: string }>(o, token, `${version}/jobs/query`, { method: 'POST', body: { operation: 'query', query: 'SELECT Id, Tenure_Months__c FROM Account' } });
    await waitState(o, token, `${version}/jobs/query/${created.body.id}`, ['JobComplete']);
    return created.body.id;
  }

  it('when resultPages is asked for, then it lists up to five result URLs at a time with nextRecordsUrl until done, and the pages read in any order hold every record once', async () => {
    org = await startOrg({ accounts: 1_250 });
    const token = await signIn(org);
    await admin(org, 'PUT', '/bulk', { parallelPageRecords: 100 });
    const id = await completedQuery(org, token);
    type Pages = { resultPages: Array<{ resultUrl: string }>; nextRecordsUrl: string | null; done: boolean };
    const first = await call<Pages>(org, token, `${API}/jobs/query/${id}/resultPages`);
    expect(first.status).toBe(200);
    expect(first.body.resultPages).toHaveLength(5);
    expect(first.body.done).toBe(false);
    expect(first.body.resultPages[0]!.resultUrl).toMatch(new RegExp(`^${API}/jobs/query/${id}/results\\?locator=\\S+$`));
    const urls = first.body.resultPages.map((p) => p.resultUrl);
    let next = first.body.nextRecordsUrl;
    let listings = 1;
    while (next) {
      const more = await call<Pages>(org, token, next);
      urls.push(...more.body.resultPages.map((p) => p.resultUrl));
      next = more.body.done ? null : more.body.nextRecordsUrl;
      listings += 1;
    }
    expect(listings).toBe(3);
    expect(urls).toHaveLength(13);
    // Read from the last to the first, all at once: each page is the slice it was listed as.
    const pages = await Promise.all([...urls].reverse().map((u) => raw(org!, token, u)));
    const ids = pages.flatMap((p) => p.text.trim().split('\n').slice(1).map((l) => l.split(',')[0]));
    expect(pages.map((p) => Number(p.headers.get('sforce-numberofrecords'))).reverse()).toEqual([...Array(12).fill(100), 50]);
    expect(ids).toHaveLength(1_250);
    expect(new Set(ids).size).toBe(1_250);
  });

  it('when resultPages is asked with another API version than the job was created with, then 409; before API 58.0 the resource does not exist', async () => {
    org = await startOrg({ accounts: 20 });
    const token = await signIn(org);
    const id = await completedQuery(org, token);
    const other = await call<SfErrors>(org, token, `/services/data/v66.0/jobs/query/${id}/resultPages`);
    expect(other.status).toBe(409);
    expect(other.body[0]!.errorCode).toBe('INVALIDJOBSTATE');
    const oldId = await completedQuery(org, token, '/services/data/v57.0');
    expect((await call(org, token, `/services/data/v57.0/jobs/query/${oldId}/resultPages`)).status).toBe(404);
  });

  it('when results are asked with Accept-Encoding gzip and an upload is sent gzip, then both cross the wire compressed and the counters show the bytes saved', async () => {
    org = await startOrg({ accounts: 2_000 });
    const token = await signIn(org);
    const id = await completedQuery(org, token);
    const url = `${org.url}${API}/jobs/query/${id}/results`;
    const plain = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'identity' } });
    const plainText = await plain.text();
    expect(plain.headers.get('content-encoding')).toBeNull();
    const afterPlain = org.state.counters.snapshot().bytes;
    expect(afterPlain.resultsWire).toBe(afterPlain.resultsRaw);
    expect(afterPlain.resultsRaw).toBe(Buffer.byteLength(plainText));
    // Read the compressed body as it came (node:http does not decompress).
    const { request } = await import('node:http');
    const compressed = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      request(url, { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(parts) }));
      }).on('error', reject).end();
    });
    expect(compressed.encoding).toBe('gzip');
    expect(gunzipSync(compressed.body).toString()).toBe(plainText);
    const bytes = org.state.counters.snapshot().bytes;
    expect(bytes.resultsRaw - afterPlain.resultsRaw).toBe(Buffer.byteLength(plainText));
    expect(bytes.resultsWire - afterPlain.resultsWire).toBe(compressed.body.length);
    expect(compressed.body.length).toBeLessThan(Buffer.byteLength(plainText) / 2);

    const job = await call<{ id: string }>(org, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update' } });
    const csv = `Id,Churn_Risk__c\n${Array.from({ length: 2_000 }, (_, r) => `${org!.state.store.idOf(r)},Low`).join('\n')}\n`;
    const body = gzipSync(csv);
    const upload = await fetch(`${org.url}${API}/jobs/ingest/${job.body.id}/batches`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'content-encoding': 'gzip' }, body });
    expect(upload.status).toBe(201);
    await call(org, token, `${API}/jobs/ingest/${job.body.id}`, { method: 'PATCH', body: { state: 'UploadComplete' } });
    expect(await waitState(org, token, `${API}/jobs/ingest/${job.body.id}`, ['JobComplete', 'Failed'])).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 2_000, numberRecordsFailed: 0 });
    expect(org.state.counters.snapshot().bytes).toMatchObject({ uploadWire: body.length, uploadRaw: Buffer.byteLength(csv) });
    const broken = await call<{ id: string }>(org, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update' } });
    const bad = await fetch(`${org.url}${API}/jobs/ingest/${broken.body.id}/batches`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'content-encoding': 'gzip' }, body: 'not gzip' });
    expect(bad.status).toBe(400);
  });

  it('when the org has spent its daily Bulk batches, then /limits says so and an ingest job cannot be closed', async () => {
    org = await startOrg({ accounts: 20 });
    const token = await signIn(org);
    await admin(org, 'PUT', '/limits', { bulkApiBatchesMax: 3, bulkApiBatchesUsed: 3 });
    const limits = await call<Record<string, { Max: number; Remaining: number }>>(org, token, `${API}/limits`);
    expect(limits.body.DailyBulkApiBatches).toEqual({ Max: 3, Remaining: 0 });
    const job = await call<{ id: string }>(org, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update' } });
    await raw(org, token, `${API}/jobs/ingest/${job.body.id}/batches`, { method: 'PUT', body: `Id,Churn_Risk__c\n${org.state.store.idOf(0)},Low\n`, contentType: 'text/csv' });
    const close = await call<SfErrors>(org, token, `${API}/jobs/ingest/${job.body.id}`, { method: 'PATCH', body: { state: 'UploadComplete' } });
    expect(close.status).toBe(400);
    expect(close.body[0]!.errorCode).toBe('LIMIT_EXCEEDED');
  });
});

describe('emulator Bulk API 2.0 ingest jobs', () => {
  it('when an update job runs as the integration user with lock faults, then successes, sf__Error failures and change events say so', async () => {
    org = await startOrg({ accounts: 400, lockRate: 0.1 });
    const token = await signIn(org);
    const changes: string[] = [];
    org.state.store.onChange((c) => changes.push(c.username));
    const created = await call<Record<string, unknown>>(org, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update', contentType: 'CSV', lineEnding: 'LF' } });
    expect(created.body).toMatchObject({ state: 'Open', operation: 'update', object: 'Account' });
    const id = String(created.body.id);
    const rows = Array.from({ length: 400 }, (_, row) => `${org!.state.store.idOf(row)},42.5,High,"Tenure, contract",m1`);
    const csv = `Id,Churn_Score__c,Churn_Risk__c,Churn_Top_Factors__c,Churn_Model_Version__c\n${rows.join('\n')}\n`;
    const wrongType = await raw(org, token, `${API}/jobs/ingest/${id}/batches`, { method: 'PUT', body: csv, contentType: 'application/json' });
    expect(wrongType.status).toBe(400);
    expect((await raw(org, token, `${API}/jobs/ingest/${id}/batches`, { method: 'PUT', body: csv, contentType: 'text/csv' })).status).toBe(201);
    const again = await raw(org, token, `${API}/jobs/ingest/${id}/batches`, { method: 'PUT', body: csv, contentType: 'text/csv' });
    expect(again.status).toBe(409);
    expect(JSON.parse(again.text)[0].errorCode).toBe('INVALIDJOBSTATE');
    await call(org, token, `${API}/jobs/ingest/${id}`, { method: 'PATCH', body: { state: 'UploadComplete' } });
    const info = await waitState(org, token, `${API}/jobs/ingest/${id}`, ['JobComplete']);
    const failed = Number(info.numberRecordsFailed);
    expect(info.numberRecordsProcessed).toBe(400);
    expect(failed).toBeGreaterThan(10);
    expect(failed).toBeLessThan(80);
    const failures = await raw(org, token, `${API}/jobs/ingest/${id}/failedResults`);
    const lines = failures.text.trim().split('\n');
    expect(lines[0]).toBe('"sf__Id","sf__Error","Id","Churn_Score__c","Churn_Risk__c","Churn_Top_Factors__c","Churn_Model_Version__c"');
    expect(lines).toHaveLength(failed + 1);
    expect(lines[1]).toMatch(/^"001\w{15}","UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record[^"]*:--","001\w{15}","42.5","High","Tenure, contract","m1"$/);
    const successes = (await raw(org, token, `${API}/jobs/ingest/${id}/successfulResults`)).text.trim().split('\n');
    expect(successes).toHaveLength(400 - failed + 1);
    expect(successes[1]).toMatch(/^"001\w{15}","false","001\w{15}","42.5","High","Tenure, contract","m1"$/);
    expect(changes).toHaveLength(400 - failed);
    expect(new Set(changes)).toEqual(new Set([org.username]));
  });

  it('when an ingest job is set to fail part-way or an upload is too large, then the rest is unprocessed and the upload is refused', async () => {
    org = await startOrg({ accounts: 100 });
    const token = await signIn(org);
    await admin(org, 'PUT', '/bulk', { failNextIngest: { message: 'InternalServerError', afterRecords: 30 }, ingestSlice: 10, maxUploadBase64Bytes: 5_000 });
    const { body } = await call<{ id: string }>(org, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update' } });
    const csv = `Id,Churn_Risk__c\n${Array.from({ length: 100 }, (_, r) => `${org!.state.store.idOf(r)},Low`).join('\n')}\n`;
    expect((await raw(org, token, `${API}/jobs/ingest/${body.id}/batches`, { method: 'PUT', body: csv, contentType: 'text/csv' })).status).toBe(201);
    await call(org, token, `${API}/jobs/ingest/${body.id}`, { method: 'PATCH', body: { state: 'UploadComplete' } });
    const info = await waitState(org, token, `${API}/jobs/ingest/${body.id}`, ['JobComplete', 'Failed']);
    expect(info).toMatchObject({ state: 'Failed', errorMessage: 'InternalServerError', numberRecordsProcessed: 30 });
    const unprocessed = (await raw(org, token, `${API}/jobs/ingest/${body.id}/unprocessedrecords`)).text.trim().split('\n');
    expect(unprocessed[0]).toBe('"Id","Churn_Risk__c"');
    expect(unprocessed).toHaveLength(71);

    const big = await call<{ id: string }>(org, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update' } });
    const tooLarge = await raw(org, token, `${API}/jobs/ingest/${big.body.id}/batches`, { method: 'PUT', body: 'Id,Churn_Risk__c\n'.padEnd(6_000, 'x'), contentType: 'text/csv' });
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.text)).toEqual([{ errorCode: 'REQUEST_ENTITY_TOO_LARGE', message: expect.stringMatching(/^Job data of 6000 bytes is 8000 bytes base64-encoded, over the limit of 5000; upload at most 100 MB per job/) }]);
    const counters = (await admin<{ byKind: Record<string, number> }>(org, 'GET', '/counters')).body;
    expect(counters.byKind.bulkIngestUpload).toBe(2);
    expect(counters.byKind.bulkIngestCreate).toBe(2);
  });

  it('when an upload is measured, then the limit applies after base64 encoding (150 MB by default, 112.5 MB raw), not to the raw bytes', async () => {
    org = await startOrg({ accounts: 10 });
    const token = await signIn(org);
    expect((await admin<{ maxUploadBase64Bytes: number }>(org, 'GET', '/bulk')).body.maxUploadBase64Bytes).toBe(150_000_000);
    // 3,000 raw bytes are exactly 4,000 base64 characters; one byte more is 4,004.
    await admin(org, 'PUT', '/bulk', { maxUploadBase64Bytes: 4_000 });
    const upload = async (size: number) => {
      const job = await call<{ id: string }>(org!, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update' } });
      return (await raw(org!, token, `${API}/jobs/ingest/${job.body.id}/batches`, { method: 'PUT', body: 'Id,Churn_Risk__c\n'.padEnd(size, 'x'), contentType: 'text/csv' })).status;
    };
    expect(await upload(3_000)).toBe(201);
    expect(await upload(3_001)).toBe(413);
  });

  it('when internal batches run over their time limit, then they are retried (retries counts up) and a batch past 20 retries fails the job with the rest unprocessed', async () => {
    org = await startOrg({ accounts: 1_000 });
    const token = await signIn(org);
    expect((await admin<Record<string, number>>(org, 'GET', '/bulk')).body).toMatchObject({ ingestBatchRecords: 10_000, ingestBatchMaxRetries: 20 });
    // Batches of 100 records: batch 2 runs over its limit 3 times and then passes, batch 5 never does.
    await admin(org, 'PUT', '/bulk', { ingestBatchRecords: 100, ingestSlice: 25, ingestBatchTimeouts: { batches: [{ batch: 2, times: 3 }, { batch: 5, times: 21 }] } });
    const { body } = await call<{ id: string }>(org, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update' } });
    const csv = `Id,Churn_Risk__c\n${Array.from({ length: 1_000 }, (_, r) => `${org!.state.store.idOf(r)},Medium`).join('\n')}\n`;
    expect((await raw(org, token, `${API}/jobs/ingest/${body.id}/batches`, { method: 'PUT', body: csv, contentType: 'text/csv' })).status).toBe(201);
    await call(org, token, `${API}/jobs/ingest/${body.id}`, { method: 'PATCH', body: { state: 'UploadComplete' } });
    const info = await waitState(org, token, `${API}/jobs/ingest/${body.id}`, ['JobComplete', 'Failed']);
    expect(info).toMatchObject({ state: 'Failed', numberRecordsProcessed: 500, numberRecordsFailed: 0, retries: 23 });
    expect(String(info.errorMessage)).toMatch(/batch 6 could not be processed within 5 minutes after 20 retries/);
    const unprocessed = (await raw(org, token, `${API}/jobs/ingest/${body.id}/unprocessedrecords`)).text.trim().split('\n').slice(1);
    expect(unprocessed).toHaveLength(500);
    expect(unprocessed[0]).toBe(`"${org.state.store.idOf(500)}","Medium"`);
    const risk = org.state.field('Churn_Risk__c')!;
    expect([org.state.store.get(499, risk), org.state.store.get(500, risk)]).toEqual(['Medium', null]);

    // The plan applied to one job: the next one runs clean.
    const next = await call<{ id: string }>(org, token, `${API}/jobs/ingest`, { method: 'POST', body: { object: 'Account', operation: 'update' } });
    await raw(org, token, `${API}/jobs/ingest/${next.body.id}/batches`, { method: 'PUT', body: csv, contentType: 'text/csv' });
    await call(org, token, `${API}/jobs/ingest/${next.body.id}`, { method: 'PATCH', body: { state: 'UploadComplete' } });
    expect(await waitState(org, token, `${API}/jobs/ingest/${next.body.id}`, ['JobComplete', 'Failed'])).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 1_000, retries: 0 });
  });
});
