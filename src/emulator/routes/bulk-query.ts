/**
 * Bulk API 2.0 query jobs (api_asynch `query_create_job.htm`, `query_get_one_job.htm`,
 * `query_get_job_results.htm`):
 * - `POST /jobs/query {operation: query|queryAll, query}` → job info, state UploadComplete;
 * - the job runs on its own clock: InProgress, then JobComplete (or Failed);
 * - `GET /jobs/query/{id}` job info; `GET /jobs/query/{id}/results?locator=&maxRecords=` one page
 *   of CSV with `Sforce-Locator` (the literal `null` on the last page) and `Sforce-NumberOfRecords`;
 * - `PATCH /jobs/query/{id} {state: Aborted}`, `DELETE /jobs/query/{id}`.
 * Pages are rendered on demand from the columnar store, a slice of rows at a time, so a million
 * Accounts never become one string; values are those of completion (bulk/snapshot.ts), so a page
 * read twice is the same page. Every call is metered.
 *
 * Fault injection (test-only `PUT /__admin/bulk`): `cutNextResults` closes a results response
 * mid-page, `stallNextResults` stops sending mid-page and holds the connection (a download that
 * times out); Salesforce warns that large result sets can time out before all the data arrives
 * (query_get_job_results.htm, maxRecords). `GET /__admin/bulk/results` lists the results requests
 * served and how each ended.
 */
import { Transform, type Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Request, Response } from 'express';
import { ApiError } from '../http/errors.js';
import { apiLocals, type RouteModule } from '../http/context.js';
import { PERMISSION_REFUSALS } from '../http/permissions.js';
import { executeQuery } from '../soql/execute.js';
import { SoqlError } from '../soql/errors.js';
import { parseSoql } from '../soql/parser.js';
import type { BulkBytes, EmulatorState } from '../state.js';
import { bulkOf, bulkValue, csvCell, decodeLocator, encodeLocator, jobInfoHead, type BulkJob, type BulkSettings, type IngestJob, type QueryJob, type ResultsRequest } from '../bulk/jobs.js';
import { ResultSnapshot } from '../bulk/snapshot.js';

export function queryJobInfo(job: QueryJob, full: boolean): Record<string, unknown> {
  return {
    ...jobInfoHead(job),
    ...(full
      ? {
          jobType: 'V2Query',
          numberRecordsProcessed: job.state === 'JobComplete' ? (job.rows?.length ?? 0) : 0,
          retries: 0,
          totalProcessingTime: job.state === 'JobComplete' ? Math.max(0, job.modifiedAt - job.createdAt) : 0,
          ...(job.errorMessage ? { errorMessage: job.errorMessage } : {}),
        }
      : {}),
  };
}

/** The job, checked against the caller's API version (Salesforce answers 409 for another version). */
export function findJob(state: EmulatorState, req: Request, res: Response, kind: 'query'): QueryJob;
export function findJob(state: EmulatorState, req: Request, res: Response, kind: 'ingest'): IngestJob;
export function findJob(state: EmulatorState, req: Request, res: Response, kind: 'query' | 'ingest'): BulkJob {
  const job = bulkOf(state).get(String(req.params.jobId));
  if (!job || job.kind !== kind) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
  const { apiVersion } = apiLocals(res);
  if (job.apiVersion !== apiVersion) {
    throw new ApiError(409, 'INVALIDJOBSTATE', `Job ${job.id} was created with API version ${job.apiVersion}; use the same version (v${job.apiVersion}) for this request.`);
  }
  return job;
}

function runJob(state: EmulatorState, job: QueryJob, parsed: ReturnType<typeof parseSoql>): void {
  const settings = bulkOf(state).settings;
  job.timers.push(
    setTimeout(() => {
      if (job.state !== 'UploadComplete') return;
      job.state = 'InProgress';
      job.modifiedAt = state.now();
      const failure = settings.failNextQuery;
      if (failure !== undefined) settings.failNextQuery = undefined;
      let rows: Int32Array | undefined;
      try {
        rows = executeQuery(state.store, parsed, job.query).slice();
      } catch (error) {
        job.errorMessage = error instanceof Error ? error.message : String(error);
      }
      const runMs = Math.round(((rows?.length ?? 0) / 1_000_000) * settings.queryMsPerMillionRows);
      job.timers.push(
        setTimeout(() => {
          if (job.state !== 'InProgress') return;
          job.modifiedAt = state.now();
          if (failure !== undefined || rows === undefined) {
            job.state = 'Failed';
            job.errorMessage = failure ?? job.errorMessage ?? 'InternalServerError';
            return;
          }
          job.rows = rows;
          job.snapshot = new ResultSnapshot(state.store, rows, job.fields);
          job.state = 'JobComplete';
          state.limits.bulkV2QueryFileStorageMBUsed += Math.ceil((rows.length * job.fields.length * 12) / 1e6);
        }, runMs).unref(),
      );
    }, settings.queryStartMs).unref(),
  );
}

type ResultsFault = { kind: 'cut'; afterRecords: number } | { kind: 'stall'; afterRecords: number; ms: number };

/** The fault armed for a results request starting at `offset`, if any (each fires once). */
function takeResultsFault(settings: BulkSettings, offset: number): ResultsFault | undefined {
  const cut = settings.cutNextResults;
  if (cut && (cut.offset === undefined || cut.offset === offset)) {
    settings.cutNextResults = undefined;
    return { kind: 'cut', afterRecords: cut.afterRecords };
  }
  const stall = settings.stallNextResults;
  if (stall && (stall.offset === undefined || stall.offset === offset)) {
    settings.stallNextResults = undefined;
    return { kind: 'stall', afterRecords: stall.afterRecords, ms: stall.ms };
  }
  return undefined;
}

/**
 * Where a results body goes: the response itself, or a gzip stream in front of it when the client
 * sent `Accept-Encoding: gzip` ("Use Compression for Bulk API 2.0 Query Responses"). Counts the CSV
 * bytes and the bytes that went on the wire.
 */
function resultsBody(req: Request, res: Response, bytes: BulkBytes): { out: Writable; flush: (then: () => void) => void } {
  const counted = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      bytes.resultsRaw += chunk.length;
      callback(null, chunk);
    },
  });
  if (!acceptsGzip(req)) {
    counted.on('data', (chunk: Buffer) => void (bytes.resultsWire += chunk.length));
    counted.pipe(res);
    return { out: counted, flush: (then) => counted.write('', () => setImmediate(then)) };
  }
  res.set('Content-Encoding', 'gzip');
  res.set('Vary', 'Accept-Encoding');
  // Level 1: the emulator shares the benchmark's cores with the workers; Salesforce's level is not documented.
  const gzip = createGzip({ level: 1 });
  gzip.on('data', (chunk: Buffer) => void (bytes.resultsWire += chunk.length));
  counted.pipe(gzip).pipe(res);
  // A cut page sends what it wrote before the connection closes: the gzip stream holds it until flushed.
  return { out: counted, flush: (then) => counted.write('', () => gzip.flush(() => setImmediate(then))) };
}

/** Whether the request accepts a gzip body (`Accept-Encoding: gzip`, not with q=0). */
export function acceptsGzip(req: Request): boolean {
  return (req.get('accept-encoding') ?? '').split(',').some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    return name === 'gzip' && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}

/**
 * Writes rows [from, to) of the job as CSV, a slice at a time, honouring back-pressure; a fault ends
 * the response after its number of records, by closing the connection or by going silent.
 */
async function writePage(req: Request, res: Response, state: EmulatorState, job: QueryJob, from: number, to: number, log: ResultsRequest, fault?: ResultsFault): Promise<void> {
  const snapshot = job.snapshot!;
  const fields = job.fields;
  const stopAt = fault ? Math.min(to, from + fault.afterRecords) : to;
  const { out, flush } = resultsBody(req, res, state.counters.bytes);
  out.write(`${fields.map((f) => csvCell(f.name)).join(',')}\n`);
  const SLICE = 2_000;
  for (let start = from; start < stopAt; start += SLICE) {
    const end = Math.min(stopAt, start + SLICE);
    let text = '';
    for (let i = start; i < end; i++) {
      let line = '';
      for (let k = 0; k < fields.length; k++) {
        const f = fields[k]!;
        if (k > 0) line += ',';
        line += csvCell(bulkValue(f, snapshot.value(i, f)));
      }
      text += `${line}\n`;
    }
    log.sent = end - from;
    if (!out.write(text)) {
      await new Promise<void>((resolve) => {
        const go = () => {
          out.off('drain', go);
          res.off('close', go);
          resolve();
        };
        out.on('drain', go);
        res.on('close', go);
      });
      if (res.destroyed) {
        log.outcome = 'client-closed';
        return;
      }
    }
  }
  if (!fault) {
    out.end();
    return;
  }
  log.outcome = fault.kind === 'cut' ? 'cut' : 'stalled';
  if (fault.kind === 'cut') {
    // Once what was written has left, close the connection without ending the body.
    flush(() => res.write('', () => res.destroy()));
    return;
  }
  flush(() => undefined);
  const timer = setTimeout(() => res.destroy(), fault.ms);
  res.once('close', () => clearTimeout(timer));
}

export const registerBulkQuery: RouteModule = ({ api, admin, state, metered }) => {
  const jobs = bulkOf(state);

  api.post('/jobs/query', metered('bulkQueryCreate'), (req, res) => {
    const body = (req.body ?? {}) as { operation?: unknown; query?: unknown };
    const operation = body.operation ?? 'query';
    if (operation !== 'query' && operation !== 'queryAll') {
      throw new ApiError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${String(operation)}`);
    }
    if (typeof body.query !== 'string' || body.query.trim() === '') throw new ApiError(400, 'INVALIDJOB', 'InvalidJob : query is required');
    if (!apiLocals(res).session.user.permissions.AccountRead) throw new ApiError(400, 'INVALIDJOB', `InvalidJob : ${PERMISSION_REFUSALS.AccountRead.message}`);
    let parsed;
    try {
      parsed = parseSoql(body.query, (name) => state.field(name));
    } catch (error) {
      if (error instanceof SoqlError) throw new ApiError(400, error.errorCode, error.message);
      throw error;
    }
    if (state.limits.bulkV2QueryJobsUsed >= state.limits.bulkV2QueryJobsMax) {
      throw new ApiError(400, 'LIMIT_EXCEEDED', 'Max number of Bulk API 2.0 query jobs per 24 hours exceeded.');
    }
    state.limits.bulkV2QueryJobsUsed += 1;
    const { session, apiVersion } = apiLocals(res);
    const now = state.now();
    const job: QueryJob = {
      kind: 'query',
      id: jobs.nextId(),
      operation,
      query: body.query,
      fields: parsed.fields,
      state: 'UploadComplete',
      apiVersion,
      createdBy: session.user,
      createdAt: now,
      modifiedAt: now,
      timers: [],
    };
    jobs.jobs.set(job.id, job);
    runJob(state, job, parsed);
    res.status(200).json(queryJobInfo(job, false));
  });

  api.get('/jobs/query/:jobId', metered('bulkQueryInfo'), (req, res) => {
    res.json(queryJobInfo(findJob(state, req, res, 'query'), true));
  });

  api.get('/jobs/query/:jobId/results', metered('bulkQueryResults'), async (req, res) => {
    const job = findJob(state, req, res, 'query');
    if (job.state !== 'JobComplete' || !job.rows) {
      throw new ApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is in state ${job.state}; results are available once it is JobComplete.`);
    }
    const locatorParam = typeof req.query.locator === 'string' && req.query.locator !== '' ? req.query.locator : undefined;
    const at = locatorParam === undefined ? { offset: 0 } : decodeLocator(locatorParam);
    if (at === undefined || at.offset > job.rows.length) throw new ApiError(400, 'INVALID_LOCATOR', `Invalid locator: ${locatorParam}`);
    const from = at.offset;
    const maxParam = req.query.maxRecords;
    // A page listed by resultPages has its size in its locator; maxRecords can still ask for less.
    const max = maxParam === undefined ? (at.size ?? jobs.settings.defaultPageRecords) : Number(maxParam);
    if (!Number.isInteger(max) || max < 1) throw new ApiError(400, 'INVALIDURL', `maxRecords must be a positive whole number, got ${String(maxParam)}`);
    const to = Math.min(job.rows.length, from + max);
    res.status(200);
    res.set('Content-Type', 'text/csv');
    res.set('Sforce-Locator', to >= job.rows.length ? 'null' : encodeLocator(to));
    res.set('Sforce-NumberOfRecords', String(to - from));
    const log: ResultsRequest = { jobId: job.id, locator: locatorParam ?? null, offset: from, maxRecords: max, records: to - from, sent: 0, outcome: 'complete' };
    jobs.resultsLog.push(log);
    if (jobs.resultsLog.length > 1_000) jobs.resultsLog.shift();
    await writePage(req, res, state, job, from, to, log, takeResultsFault(jobs.settings, from));
  });

  /**
   * Parallel results (query_get_parallel_job_results.htm, API 58.0+): up to five result URLs, each
   * with its page's locator, plus `nextRecordsUrl` for the next five and `done`. The page size is
   * Salesforce's choice (`parallelPageRecords` here); the same API version as the job, 409 otherwise
   * (findJob).
   */
  api.get('/jobs/query/:jobId/resultPages', metered('bulkQueryResultPages'), (req, res) => {
    const { apiVersion } = apiLocals(res);
    if (Number(apiVersion) < 58) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const job = findJob(state, req, res, 'query');
    if (job.state !== 'JobComplete' || !job.rows) {
      throw new ApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is in state ${job.state}; results are available once it is JobComplete.`);
    }
    const size = Math.max(1, jobs.settings.parallelPageRecords);
    const total = job.rows.length;
    const pagesParam = typeof req.query.locator === 'string' ? decodeLocator(req.query.locator) : { offset: 0 };
    if (pagesParam === undefined || pagesParam.offset > total) throw new ApiError(400, 'INVALID_LOCATOR', `Invalid locator: ${String(req.query.locator)}`);
    const base = `/services/data/v${apiVersion}/jobs/query/${job.id}`;
    const resultPages: Array<{ resultUrl: string }> = [];
    let offset = pagesParam.offset;
    // An empty result is one empty page, as /results answers it.
    do {
      resultPages.push({ resultUrl: `${base}/results?locator=${encodeLocator(offset, size)}` });
      offset += size;
    } while (offset < total && resultPages.length < 5);
    const done = offset >= total;
    res.json({ resultPages, nextRecordsUrl: done ? null : `${base}/resultPages?locator=${encodeLocator(offset)}`, done });
  });

  api.patch('/jobs/query/:jobId', metered('bulkQueryAbort'), (req, res) => {
    const job = findJob(state, req, res, 'query');
    const wanted = (req.body as { state?: unknown } | undefined)?.state;
    if (wanted !== 'Aborted') throw new ApiError(400, 'INVALIDJOBSTATE', `Query jobs can only be set to Aborted, not ${String(wanted)}.`);
    if (job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted') {
      throw new ApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is already ${job.state}.`);
    }
    job.state = 'Aborted';
    job.modifiedAt = state.now();
    res.json(queryJobInfo(job, false));
  });

  api.delete('/jobs/query/:jobId', metered('bulkQueryDelete'), (req, res) => {
    const job = findJob(state, req, res, 'query');
    if (job.state === 'UploadComplete' || job.state === 'InProgress') {
      throw new ApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is ${job.state}; abort it before deleting it.`);
    }
    jobs.delete(job.id);
    res.status(204).end();
  });

  // Test-only: which results pages were served, and how each ended.
  admin.get('/bulk/results', (_req, res) => res.json(jobs.resultsLog));
};
