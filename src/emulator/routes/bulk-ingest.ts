/**
 * Bulk API 2.0 ingest jobs, `update` on Account (api_asynch `create_job.htm`, `upload_job_data.htm`,
 * `close_job.htm`, `get_job_info.htm`, `get_job_successful_results.htm`,
 * `get_job_failed_results.htm`, `get_job_unprocessed_results.htm`):
 * - `POST /jobs/ingest {object, operation: "update", contentType: "CSV", lineEnding}` → state Open;
 * - `PUT /jobs/ingest/{id}/batches` text/csv, once, at most 150 MB once base64-encoded
 *   (`maxUploadBase64Bytes`; 112.5 MB raw), 413 beyond;
 * - `PATCH /jobs/ingest/{id} {state: "UploadComplete" | "Aborted"}`;
 * - processing runs on its own, in internal batches of 10,000 records that can run over their time
 *   limit and be retried (processJob), a slice of records per event-loop turn, through
 *   `updateAccounts` (the store's one write path) as the user who created the job, so change events
 *   name the integration user and injected lock faults apply;
 * - `GET /jobs/ingest/{id}` (numberRecordsProcessed/Failed), `successfulResults`, `failedResults`
 *   (`sf__Error` = `CODE:message:fields`, `--` for no fields), `unprocessedrecords`; `DELETE`.
 * Also the test-only `GET`/`PUT /__admin/bulk` (settings and fault injection) and `GET /__admin/bulk/jobs`.
 * In CSV, an empty cell leaves the field unchanged and `#N/A` sets it to null, as in Salesforce.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import Papa from 'papaparse';
import type { Request, Response } from 'express';
import { ApiError } from '../http/errors.js';
import { apiLocals, type RouteModule } from '../http/context.js';
import type { BulkBytes, EmulatorState } from '../state.js';
import { RequestError, updateAccounts, type RecordInput } from '../writes.js';
import { bulkOf, bulkValue, csvCell, jobInfoHead, type BulkSettings, type IngestJob } from '../bulk/jobs.js';
import { findJob, queryJobInfo } from './bulk-query.js';

const TERMINAL = new Set(['JobComplete', 'Failed', 'Aborted']);
/** A function, so TypeScript does not narrow away an abort that arrives while processing awaits. */
const isAborted = (job: IngestJob) => job.state === 'Aborted';

function ingestJobInfo(job: IngestJob, full: boolean): Record<string, unknown> {
  return {
    ...jobInfoHead(job),
    ...(job.state === 'Open' ? { contentUrl: `services/data/v${job.apiVersion}/jobs/ingest/${job.id}/batches` } : {}),
    ...(full
      ? {
          jobType: 'V2Ingest',
          numberRecordsProcessed: job.processed,
          numberRecordsFailed: job.failedCount,
          retries: job.retries,
          totalProcessingTime: job.startedAt ? (job.finishedAt ?? Date.now()) - job.startedAt : 0,
          apiActiveProcessingTime: job.startedAt ? (job.finishedAt ?? Date.now()) - job.startedAt : 0,
          apexProcessingTime: 0,
          ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
        }
      : {}),
  };
}

/** Length of `bytes` bytes once base64-encoded (padded), which is how Salesforce counts an upload. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/**
 * The body, or its size when its base64 form would exceed `limit` (the rest is read and dropped). A
 * body sent with `Content-Encoding: gzip` is decompressed first: the REST framework Bulk API 2.0 runs
 * on "decompresses any requests before processing" (REST API Developer Guide, "Compression Headers");
 * the limit applies to the CSV. Counts the bytes received and the CSV bytes.
 */
async function readBody(req: Request, limit: number, bytes: BulkBytes): Promise<Buffer | { tooLarge: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => void (bytes.uploadWire += chunk.length));
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    req.resume();
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${encoding} is not supported; use gzip or none.`);
  }
  const source: AsyncIterable<Buffer> = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
  try {
    for await (const chunk of source) {
      bytes.uploadRaw += chunk.length;
    size += chunk.length;
    if (base64Length(size) > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    }
  } catch (error) {
    req.resume();
    throw new ApiError(400, 'INVALIDBATCH', `InvalidBatch : the gzip body could not be decompressed (${(error as Error).message})`);
  }
  return tooLarge ? { tooLarge: size } : Buffer.concat(chunks);
}

function toRecord(header: string[], values: string[]): RecordInput {
  const record: RecordInput = {};
  header.forEach((name, i) => {
    const v = values[i] ?? '';
    if (v === '') return;
    record[name] = v === '#N/A' ? null : v;
  });
  return record;
}

/** The timeouts planned for the next ingest job, taken from the settings (one job's worth). */
function takeTimeoutPlan(settings: BulkSettings): ReadonlyMap<number, number> | undefined {
  const plan = settings.ingestBatchTimeouts;
  if (!plan) return undefined;
  settings.ingestBatchTimeouts = plan.jobs > 1 ? { ...plan, jobs: plan.jobs - 1 } : undefined;
  return new Map(plan.batches.map((b) => [b.batch, b.times]));
}

/**
 * Processes an ingest job as Salesforce does (api_asynch datafiles_understanding_bulk2_ingest.htm):
 * the data is split into internal batches of `ingestBatchRecords` (10,000) records; a batch that runs
 * over its 5-minute limit is retried, up to `ingestBatchMaxRetries` (20) times, each retry counted in
 * the job's `retries`; past that the job is Failed and the rest of its data unprocessed. Which batches
 * run over the limit is injected (`ingestBatchTimeouts`); the 5 minutes are simulated. A timed-out
 * attempt writes nothing (an assumption: the documentation does not say whether part of it stays).
 * Within a batch, records are written a slice (`ingestSlice`) per event-loop turn.
 */
async function processJob(state: EmulatorState, job: IngestJob): Promise<void> {
  const settings = bulkOf(state).settings;
  const failure = settings.failNextIngest;
  if (failure) settings.failNextIngest = undefined;
  const timeouts = takeTimeoutPlan(settings);
  const batchSize = Math.max(1, settings.ingestBatchRecords);
  job.state = 'InProgress';
  job.startedAt = state.now();
  job.modifiedAt = job.startedAt;
  // Fed to the parser in small pieces: one 100 MB piece would be parsed in a single turn and hold up
  // every other request the org answers meanwhile (Salesforce processes jobs beside the API).
  // Decoded as one text (a BOM dropped), then handed over 64 KB at a time; the job's line ending is
  // given, since the parser would guess it from the first piece alone.
  const text = new TextDecoder().decode(job.data ?? Buffer.alloc(0));
  const pieces = function* () {
    for (let at = 0; at < text.length; at += 64 * 1024) yield text.slice(at, at + 64 * 1024);
  };
  const parser = Readable.from(pieces()).pipe(Papa.parse(Papa.NODE_STREAM_INPUT, { delimiter: ',', newline: job.lineEnding === 'CRLF' ? '\r\n' : '\n', skipEmptyLines: true }));
  let header: string[] | undefined;
  let batch: string[][] = [];
  let batches = 0;
  let failedAfter: string | undefined;

  const apply = async (records: string[][]) => {
    if (failure && job.processed + records.length > failure.afterRecords) {
      const fit = Math.max(0, failure.afterRecords - job.processed);
      if (fit > 0) await apply(records.slice(0, fit));
      job.unprocessed.push(...records.slice(fit));
      failedAfter = failure.message;
      return;
    }
    const inputs = records.map((r) => toRecord(header!, r));
    const results = updateAccounts(state, inputs, { allOrNone: false, user: job.createdBy });
    results.forEach((result, i) => {
      job.processed += 1;
      if (result.success) {
        const found = state.store.locate(inputs[i]!.Id ?? inputs[i]!.id);
        if (found.kind === 'found') job.succeeded.push(found.row);
      } else {
        job.failedCount += 1;
        const e = result.errors[0]!;
        job.failed.push({ id: result.id ?? '', error: `${e.statusCode}:${e.message}:${e.fields.length ? e.fields.join(',') : '--'}`, values: records[i]! });
      }
    });
    if (settings.ingestSliceDelayMs > 0) await sleep(settings.ingestSliceDelayMs);
    else await nextTurn();
  };

  /** One internal batch: its timed-out attempts and retries, then its records a slice at a time. */
  const runBatch = async (records: string[][]) => {
    const index = batches++;
    const overLimit = timeouts?.get(index) ?? 0;
    for (let attempt = 1; attempt <= overLimit; attempt++) {
      if (settings.ingestBatchTimeoutMs > 0) await sleep(settings.ingestBatchTimeoutMs);
      if (isAborted(job)) return;
      if (attempt > settings.ingestBatchMaxRetries) {
        // The error text is an assumption; the documented behaviour is the Failed state and the rest unprocessed.
        failedAfter = `InternalServerError : batch ${index + 1} could not be processed within 5 minutes after ${settings.ingestBatchMaxRetries} retries; the rest of the job data was not processed`;
        job.unprocessed.push(...records);
        return;
      }
      job.retries += 1;
      job.modifiedAt = state.now();
    }
    for (let at = 0; at < records.length && !isAborted(job); at += settings.ingestSlice) {
      const slice = records.slice(at, at + settings.ingestSlice);
      if (failedAfter === undefined) await apply(slice);
      else job.unprocessed.push(...slice);
    }
  };

  try {
    for await (const values of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = values;
        if (!header.some((h) => h.toLowerCase() === 'id')) throw new RequestError('INVALIDBATCH', 'InvalidBatch : Field name not found : Id');
        for (const h of header) if (h.toLowerCase() !== 'id' && !state.field(h)) throw new RequestError('INVALIDBATCH', `InvalidBatch : Field name not found : ${h}`);
        continue;
      }
      if (failedAfter !== undefined) {
        job.unprocessed.push(values);
        continue;
      }
      batch.push(values);
      if (batch.length >= batchSize) {
        await runBatch(batch);
        batch = [];
        if (isAborted(job)) break;
      }
    }
    if (batch.length > 0 && failedAfter === undefined && !isAborted(job)) await runBatch(batch);
  } catch (error) {
    failedAfter = error instanceof RequestError ? error.message : error instanceof Error ? error.message : String(error);
  }
  state.limits.bulkApiBatchesUsed += Math.max(1, batches);
  job.finishedAt = state.now();
  job.modifiedAt = job.finishedAt;
  job.data = undefined;
  if (isAborted(job)) return;
  if (failedAfter !== undefined) {
    job.state = 'Failed';
    job.errorMessage = failedAfter;
  } else {
    job.state = 'JobComplete';
  }
}

async function streamCsv(res: Response, header: string[], lines: Iterable<string>): Promise<void> {
  res.status(200).set('Content-Type', 'text/csv');
  let text = `${header.map((h) => csvCell(h)).join(',')}\n`;
  for (const line of lines) {
    text += `${line}\n`;
    if (text.length > 1 << 20) {
      if (!res.write(text)) await new Promise<void>((resolve) => res.once('drain', resolve));
      text = '';
    }
  }
  res.end(text);
}

function* successLines(state: EmulatorState, job: IngestJob): Iterable<string> {
  const fields = job.header!.map((h) => (h.toLowerCase() === 'id' ? undefined : state.field(h)));
  for (const row of job.succeeded) {
    const id = state.store.idOf(row);
    const cells = [csvCell(id), csvCell('false')];
    fields.forEach((f) => cells.push(f ? csvCell(bulkValue(f, state.store.get(row, f))) : csvCell(id)));
    yield cells.join(',');
  }
}

function resultsReady(job: IngestJob): void {
  if (!TERMINAL.has(job.state)) {
    throw new ApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is ${job.state}; results are available once processing has finished.`);
  }
}

export const registerBulkIngest: RouteModule = ({ api, admin, state, metered }) => {
  const jobs = bulkOf(state);

  api.post('/jobs/ingest', metered('bulkIngestCreate'), (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.object !== 'string' || b.object.toLowerCase() !== 'account') {
      throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Unable to find object: ${String(b.object)}`);
    }
    if (b.operation !== 'update') throw new ApiError(400, 'INVALIDJOB', `InvalidJob : The emulator supports operation "update" only, not ${String(b.operation)}`);
    if (b.contentType !== undefined && b.contentType !== 'CSV') throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Invalid content type: ${String(b.contentType)}`);
    if (b.columnDelimiter !== undefined && b.columnDelimiter !== 'COMMA') throw new ApiError(400, 'INVALIDJOB', 'InvalidJob : the emulator supports columnDelimiter COMMA only');
    const lineEnding = b.lineEnding ?? 'LF';
    if (lineEnding !== 'LF' && lineEnding !== 'CRLF') throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Invalid line ending: ${String(lineEnding)}`);
    const { session, apiVersion } = apiLocals(res);
    const now = state.now();
    const job: IngestJob = {
      kind: 'ingest',
      id: jobs.nextId(),
      object: 'Account',
      operation: 'update',
      lineEnding,
      state: 'Open',
      apiVersion,
      createdBy: session.user,
      createdAt: now,
      modifiedAt: now,
      processed: 0,
      failedCount: 0,
      succeeded: [],
      failed: [],
      unprocessed: [],
      retries: 0,
    };
    jobs.jobs.set(job.id, job);
    res.status(200).json(ingestJobInfo(job, false));
  });

  api.put('/jobs/ingest/:jobId/batches', metered('bulkIngestUpload'), async (req, res) => {
    const job = findJob(state, req, res, 'ingest');
    if (!/^text\/csv\b/i.test(req.get('content-type') ?? '')) {
      throw new ApiError(400, 'INVALIDCONTENTTYPE', 'Content-Type must be text/csv for ingest job data.');
    }
    if (job.state !== 'Open' || job.data !== undefined) {
      // Drain the body so the client sees the answer rather than a reset connection.
      req.resume();
      throw new ApiError(409, 'INVALIDJOBSTATE', `Job ${job.id} is ${job.state === 'Open' ? 'already holding its data (one upload per job)' : job.state}; data can be uploaded once, while it is Open.`);
    }
    const limit = jobs.settings.maxUploadBase64Bytes;
    const body = await readBody(req, limit, state.counters.bytes);
    if (!Buffer.isBuffer(body)) {
      // The status and code are an assumption: the documentation states the limit, not the refusal.
      throw new ApiError(
        413,
        'REQUEST_ENTITY_TOO_LARGE',
        `Job data of ${body.tooLarge} bytes is ${base64Length(body.tooLarge)} bytes base64-encoded, over the limit of ${limit}; upload at most 100 MB per job and split the rest into several jobs.`,
      );
    }
    job.data = body;
    const firstLine = body.subarray(0, Math.min(body.length, 64 * 1024)).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
    job.header = firstLine.replace(/^\uFEFF/, '').split(',').map((h) => h.replace(/^"|"$/g, ''));
    job.modifiedAt = state.now();
    res.status(201).end();
  });

  api.patch('/jobs/ingest/:jobId', metered('bulkIngestClose'), (req, res) => {
    const job = findJob(state, req, res, 'ingest');
    const wanted = (req.body as { state?: unknown } | undefined)?.state;
    if (wanted === 'UploadComplete') {
      if (job.state !== 'Open') throw new ApiError(409, 'INVALIDJOBSTATE', `Job ${job.id} is ${job.state}; only an Open job can be closed.`);
      // The org's daily batches are spent: the job cannot run (the code and text are an assumption;
      // the documented fact is the limit of 15,000 batches per rolling 24 hours).
      if (state.limits.bulkApiBatchesUsed >= state.limits.bulkApiBatchesMax) {
        throw new ApiError(400, 'LIMIT_EXCEEDED', `Exceeded the limit of ${state.limits.bulkApiBatchesMax} Bulk API batches per 24 hours.`);
      }
      job.state = 'UploadComplete';
      job.modifiedAt = state.now();
      if (job.data === undefined) {
        job.state = 'Failed';
        job.errorMessage = 'InvalidBatch : No data was uploaded for this job.';
      } else {
        void processJob(state, job).catch((error: unknown) => {
          job.state = 'Failed';
          job.errorMessage = error instanceof Error ? error.message : String(error);
        });
      }
    } else if (wanted === 'Aborted') {
      if (TERMINAL.has(job.state)) throw new ApiError(409, 'INVALIDJOBSTATE', `Job ${job.id} is already ${job.state}.`);
      job.state = 'Aborted';
      job.modifiedAt = state.now();
    } else {
      throw new ApiError(400, 'INVALIDJOBSTATE', `Invalid state ${String(wanted)}: use UploadComplete or Aborted.`);
    }
    res.json(ingestJobInfo(job, false));
  });

  api.get('/jobs/ingest/:jobId', metered('bulkIngestInfo'), (req, res) => {
    res.json(ingestJobInfo(findJob(state, req, res, 'ingest'), true));
  });

  api.get('/jobs/ingest/:jobId/successfulResults', metered('bulkIngestResults'), async (req, res) => {
    const job = findJob(state, req, res, 'ingest');
    resultsReady(job);
    await streamCsv(res, ['sf__Id', 'sf__Created', ...(job.header ?? [])], job.header ? successLines(state, job) : []);
  });

  api.get('/jobs/ingest/:jobId/failedResults', metered('bulkIngestResults'), async (req, res) => {
    const job = findJob(state, req, res, 'ingest');
    resultsReady(job);
    const lines = job.failed.map((f) => [csvCell(f.id), csvCell(f.error), ...f.values.map((v) => csvCell(v))].join(','));
    await streamCsv(res, ['sf__Id', 'sf__Error', ...(job.header ?? [])], lines);
  });

  api.get('/jobs/ingest/:jobId/unprocessedrecords', metered('bulkIngestResults'), async (req, res) => {
    const job = findJob(state, req, res, 'ingest');
    resultsReady(job);
    await streamCsv(res, job.header ?? [], job.unprocessed.map((values) => values.map((v) => csvCell(v)).join(',')));
  });

  api.delete('/jobs/ingest/:jobId', metered('bulkIngestDelete'), (req, res) => {
    const job = findJob(state, req, res, 'ingest');
    if (!TERMINAL.has(job.state)) throw new ApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is ${job.state}; abort it before deleting it.`);
    jobs.delete(job.id);
    res.status(204).end();
  });

  // Test-only: fault injection and timing of Bulk jobs.
  admin.get('/bulk', (_req, res) => res.json(jobs.settings));
  admin.put('/bulk', (req, res) => {
    const b = (req.body ?? {}) as Partial<Record<keyof BulkSettings, unknown>>;
    const next = { ...jobs.settings };
    const count = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 0;
    for (const key of ['queryStartMs', 'queryMsPerMillionRows', 'ingestSlice', 'ingestSliceDelayMs', 'maxUploadBase64Bytes', 'defaultPageRecords', 'parallelPageRecords', 'ingestBatchRecords', 'ingestBatchMaxRetries', 'ingestBatchTimeoutMs'] as const) {
      if (b[key] !== undefined) {
        if (!(typeof b[key] === 'number' && b[key] >= 0)) return void res.status(400).json({ error: `${key} must be a number ≥ 0` });
        next[key] = b[key];
      }
    }
    if (b.failNextQuery !== undefined) next.failNextQuery = b.failNextQuery === null ? undefined : String(b.failNextQuery);
    if (b.failNextIngest !== undefined) {
      const f = b.failNextIngest as { message?: unknown; afterRecords?: unknown } | null;
      next.failNextIngest = f === null ? undefined : { message: String(f.message ?? 'InternalServerError'), afterRecords: Number(f.afterRecords ?? 0) };
    }
    if (b.ingestBatchTimeouts !== undefined) {
      const t = b.ingestBatchTimeouts as { batches?: Array<{ batch?: unknown; times?: unknown }>; jobs?: unknown } | null;
      if (t !== null && !(Array.isArray(t.batches) && t.batches.every((x) => count(x?.batch) && count(x?.times)) && (t.jobs === undefined || count(t.jobs)))) {
        return void res.status(400).json({ error: 'ingestBatchTimeouts must be {batches: [{batch, times}…], jobs?: n}' });
      }
      next.ingestBatchTimeouts = t === null ? undefined : { batches: t.batches as Array<{ batch: number; times: number }>, jobs: (t.jobs as number | undefined) ?? 1 };
    }
    for (const key of ['cutNextResults', 'stallNextResults'] as const) {
      if (b[key] === undefined) continue;
      const f = b[key] as { afterRecords?: unknown; offset?: unknown; ms?: unknown } | null;
      if (f !== null && !(count(f.afterRecords) && (f.offset === undefined || count(f.offset)) && (f.ms === undefined || count(f.ms)))) {
        return void res.status(400).json({ error: `${key} must be {afterRecords: n, offset?: n${key === 'stallNextResults' ? ', ms?: n' : ''}}` });
      }
      if (f === null) next[key] = undefined;
      else if (key === 'cutNextResults') next.cutNextResults = { afterRecords: f.afterRecords as number, offset: f.offset as number | undefined };
      else next.stallNextResults = { afterRecords: f.afterRecords as number, offset: f.offset as number | undefined, ms: (f.ms as number | undefined) ?? 120_000 };
    }
    jobs.settings = next;
    res.json(next);
  });
  admin.get('/bulk/jobs', (_req, res) => {
    res.json([...jobs.jobs.values()].map((j) => (j.kind === 'query' ? { kind: j.kind, ...queryJobInfo(j, true) } : { kind: j.kind, ...ingestJobInfo(j, true) })));
  });
};
