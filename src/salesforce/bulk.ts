/**
 * Bulk API 2.0 for the nightly run: query jobs (create, poll, result pages by `Sforce-Locator`) and
 * `update` ingest jobs (create, upload one CSV file, close, poll, failed and unprocessed records).
 *
 * jsforce's bulk2 helpers give up polling after 30 s and do not pass `maxRecords`, and its generic
 * request parses JSON, so these calls go through the client's raw `send` (the same seam as every
 * other call: session renewal, safe-request retries, call counting and `Sforce-Limit-Info` live
 * there). This module only knows Bulk API 2.0's resources, its job states and how a results body is
 * read; the CSV format is src/wire/bulk-csv.ts. Each instance meters its own calls (`takeCalls`), so a
 * nightly run can record what it cost.
 * https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../core/errors.js';
import { backoffMs, POLL_GIVE_UP_MS, pollBackoff } from '../core/retry-policy.js';
import type { Logger } from '../log/logger.js';
import { CsvRecordReader, parseCsvRecords, type RecordBatch } from '../wire/bulk-csv.js';
import { CallMeter, type BodyBytes, type CallKind, type DailyApiUsage, type RawRequest, type SalesforceClient } from './client.js';
import { isRetryableRecordError } from './errors.js';

export type BulkJobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
const TERMINAL: ReadonlySet<BulkJobState> = new Set(['JobComplete', 'Failed', 'Aborted']);

/** JobComplete, Failed or Aborted: the job will not change any more. */
export function isTerminalState(state: BulkJobState): boolean {
  return TERMINAL.has(state);
}

export interface BulkJobInfo {
  id: string;
  state: BulkJobState;
  numberRecordsProcessed?: number;
  numberRecordsFailed?: number;
  errorMessage?: string;
  [key: string]: unknown;
}

export interface PollOptions {
  /** First wait before asking again. @defaultValue 1000 */
  initialMs?: number;
  /** Longest wait between two polls; the wait grows 1.6× per poll up to it. @defaultValue 30000 */
  maxMs?: number;
  /** Give up (retryable SF_UNAVAILABLE) after this long; Bulk jobs can queue for a long time. @defaultValue 6 hours */
  timeoutMs?: number;
  /** Called after each poll (progress, logs). */
  onPoll?: (info: BulkJobInfo) => void;
  /**
   * An ingest job's record count and when it was closed: once Salesforce reports progress, the next
   * poll is timed for when the job should be done at the rate seen so far, instead of guessing.
   */
  progress?: { records: number; since: number };
}

export interface ResultPage {
  /** Locator of the next page, or null after the last page (Salesforce sends the literal "null"). */
  nextLocator: string | null;
  numberOfRecords: number;
  /** Column names of the CSV. */
  header: string[];
  /** The page's records as string arrays in header order, parsed while they stream in. */
  rows: AsyncIterable<string[]>;
  /**
   * Or the same records unparsed, in batches of at most `max` whole records (for a thread that parses
   * them itself). Read a page one way only.
   */
  records(max: number): Promise<RecordBatch | null>;
  /** Stops reading the page (its body is discarded). */
  cancel(): Promise<void>;
}

export interface RecordResult {
  id: string;
  /** `sf__Error` split into Salesforce's status code and message (empty for unprocessed records). */
  statusCode: string;
  message: string;
  /** May pass in a later job: an unprocessed record, or a failure such as UNABLE_TO_LOCK_ROW (errors.ts). */
  retryable: boolean;
  /** The columns that were sent, by name (without the sf__ columns). */
  values: Record<string, string>;
}

/** How a results body that stops short is reported; the caller reads the same page again. */
interface BodyGuard {
  /** Give up when no bytes arrive for this long. */
  idleMs: number;
  abort: AbortController;
  /** e.g. "results page of Bulk query job 750… (locator …)" */
  what: string;
}

/**
 * The body of a CSV response as a record reader; `stop` discards the rest of it. With a guard, a body
 * that breaks off (connection closed mid-page) or goes silent for `idleMs` ends in a retryable
 * SF_UNAVAILABLE instead of an unclassified stream error or a wait of minutes: Salesforce warns that
 * large result sets can time out before all the data arrives (query_get_job_results.htm).
 */
function csvRecords(response: Response, guard?: BodyGuard, counted?: { downloaded: number }): { reader: CsvRecordReader; stop: () => Promise<void> } {
  const body = response.body as unknown as AsyncIterable<Uint8Array> | null;
  const raw = body ? body[Symbol.asyncIterator]() : (async function* () {})();
  const inner: AsyncIterator<Uint8Array> = counted
    ? {
        next: async () => {
          const step = await raw.next();
          if (!step.done) counted.downloaded += step.value.length;
          return step;
        },
        return: async () => (await raw.return?.()) ?? { done: true, value: undefined },
      }
    : raw;
  if (!guard) return { reader: new CsvRecordReader(inner), stop: async () => void (await inner.return?.()) };
  let received = 0;
  const broke = (why: string, cause?: unknown) =>
    new AppError({
      code: 'SF_UNAVAILABLE',
      message: `The ${guard.what} ${why} after ${received} bytes; the page will be read again with the same locator.`,
      retryable: true,
      details: { bytes: received },
      cause,
    });
  const source: AsyncIterator<Uint8Array> = {
    next: async () => {
      let timer: NodeJS.Timeout | undefined;
      const silent = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Settle the race first, then abort: the aborted read's own failure must not win it.
          reject(broke(`sent nothing for ${Math.round(guard.idleMs / 1000)} s`));
          guard.abort.abort();
        }, guard.idleMs);
      });
      try {
        const reading = inner.next();
        // When the silence wins, the abort makes this read fail later: that failure is expected.
        reading.catch(() => undefined);
        const step = await Promise.race([reading, silent]);
        if (!step.done) received += step.value.length;
        return step;
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw broke(`broke off (${(error as Error).message}${(error as { cause?: Error }).cause?.message ? `: ${(error as { cause: Error }).cause.message}` : ''})`, error);
      } finally {
        clearTimeout(timer);
      }
    },
    return: async () => {
      guard.abort.abort();
      return (await inner.return?.().catch(() => undefined)) ?? { done: true, value: undefined };
    },
  };
  return { reader: new CsvRecordReader(source), stop: async () => void (await source.return?.()) };
}

/** Records of a CSV reader as string arrays, parsed a batch at a time. */
async function* csvRows(reader: CsvRecordReader): AsyncIterable<string[]> {
  for (let batch = await reader.next(ROWS_PER_PARSE); batch; batch = await reader.next(ROWS_PER_PARSE)) yield* parseCsvRecords(batch.bytes);
}

/** Records parsed at once when a page is read as rows. */
const ROWS_PER_PARSE = 1_000;

export class BulkClient {
  private readonly meter = new CallMeter();

  constructor(
    readonly client: SalesforceClient,
    private readonly options: {
      logger?: Logger;
      poll?: PollOptions;
      /** A results page that sends nothing for this long is given up (and read again). @defaultValue 120000 */
      resultIdleTimeoutMs?: number;
      /** Ask for gzip query results and send gzip uploads. @defaultValue true */
      compress?: boolean;
    } = {},
  ) {}

  /** Calls made through this object so far. */
  get calls(): number {
    return this.meter.calls;
  }

  /** Calls made through this object since the last `takeCalls()`. */
  takeCalls(): number {
    return this.meter.take();
  }

  /** Bytes of bodies moved through this object since the last `takeBytes()`. */
  takeBytes(): BodyBytes {
    return this.meter.takeBytes();
  }

  /** Whether result pages can be listed for parallel download (`resultPages`, API 58.0 and later). */
  get parallelResults(): boolean {
    return Number(this.client.config.apiVersion) >= 58;
  }

  private get compress(): boolean {
    return this.options.compress ?? true;
  }

  private get base(): string {
    return `/services/data/v${this.client.config.apiVersion}/jobs`;
  }

  private send(kind: CallKind, action: string, request: RawRequest): Promise<Response> {
    return this.client.send(kind, action, request, { meter: this.meter });
  }

  private async json<T>(kind: CallKind, action: string, request: RawRequest): Promise<T> {
    const response = await this.send(kind, action, request);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The org's daily API allowance (counted with this object's calls); see SalesforceClient.dailyApiUsage. */
  dailyApiUsage(): Promise<DailyApiUsage> {
    return this.client.dailyApiUsage({ meter: this.meter });
  }

  // --- Query jobs -----------------------------------------------------------------------------

  createQueryJob(soql: string, operation: 'query' | 'queryAll' = 'query'): Promise<BulkJobInfo> {
    return this.json('bulkCreate', 'Create Bulk query job', { method: 'POST', path: `${this.base}/query`, json: { operation, query: soql, columnDelimiter: 'COMMA', lineEnding: 'LF' } });
  }

  jobInfo(kind: 'query' | 'ingest', id: string): Promise<BulkJobInfo> {
    return this.json('bulkPoll', `Read Bulk ${kind} job ${id}`, { method: 'GET', path: `${this.base}/${kind}/${id}` });
  }

  /**
   * Polls until the job is JobComplete, Failed or Aborted, waiting longer each time (no 30-second
   * give-up: a busy org can queue a job for many minutes).
   */
  async waitForJob(kind: 'query' | 'ingest', id: string, options: PollOptions = {}): Promise<BulkJobInfo> {
    const o = { initialMs: 1_000, maxMs: 30_000, timeoutMs: POLL_GIVE_UP_MS, ...this.options.poll, ...options };
    const started = Date.now();
    let wait = o.initialMs;
    for (let poll = 1; ; poll++) {
      await sleep(wait);
      const info = await this.jobInfo(kind, id);
      o.onPoll?.(info);
      if (TERMINAL.has(info.state)) return info;
      if (Date.now() - started > o.timeoutMs) {
        throw new AppError({
          code: 'SF_UNAVAILABLE',
          message: `Bulk ${kind} job ${id} is still ${info.state} after ${Math.round((Date.now() - started) / 1000)} s.`,
          retryable: true,
          details: { jobId: id, state: info.state },
        });
      }
      wait = backoffMs(poll + 1, pollBackoff(o.initialMs, o.maxMs));
      const processed = info.numberRecordsProcessed ?? 0;
      if (o.progress && processed >= o.progress.records) {
        // Every record is processed and the job is only being closed: it is done in a moment.
        wait = o.initialMs;
      } else if (o.progress && processed > 0) {
        const elapsed = Date.now() - o.progress.since;
        const remaining = ((o.progress.records - processed) * elapsed) / processed;
        wait = Math.min(o.maxMs, Math.max(o.initialMs, Math.round(remaining * 1.1) + 100));
      }
    }
  }

  /**
   * The locators of every result page of a completed query job, for parallel download
   * (query_get_parallel_job_results.htm, API 58.0+): each `resultPages` answer lists up to five
   * result URLs and, until `done`, the URL of the next five. Salesforce chooses the pages' size.
   * Costs one call per five pages.
   */
  async resultPageLocators(jobId: string): Promise<string[]> {
    const locators: string[] = [];
    let path: string | null = `${this.base}/query/${jobId}/resultPages`;
    for (let calls = 0; path; calls++) {
      if (calls > 100_000) throw new AppError({ code: 'SF_API_ERROR', message: `Bulk query job ${jobId}: resultPages did not end after ${calls} calls.` });
      const answer: { resultPages?: Array<{ resultUrl?: string }>; nextRecordsUrl?: string | null; nextRecordUrl?: string | null; done?: boolean } = await this.json('bulkResultPages', `List result pages of Bulk query job ${jobId}`, { method: 'GET', path });
      for (const page of answer.resultPages ?? []) {
        const url = page.resultUrl ?? '';
        const locator = new URL(url, 'https://salesforce.invalid').searchParams.get('locator');
        if (!url.includes(`/jobs/query/${jobId}/results`)) throw new AppError({ code: 'SF_API_ERROR', message: `Bulk query job ${jobId}: resultPages listed an unexpected URL ${url.slice(0, 200)}.` });
        // The first page may be listed without a locator.
        locators.push(locator ?? '');
      }
      // The documentation's table says nextRecordUrl, its example nextRecordsUrl: accept both.
      const next = answer.nextRecordsUrl ?? answer.nextRecordUrl ?? null;
      path = answer.done === false && next ? next : null;
    }
    return locators;
  }

  /**
   * One page of a completed query job's results. The response headers (next locator, record count)
   * are known before the body is read, so the caller can hand the next page to another worker first.
   * Without `maxRecords` the page is the one its locator names (a page listed by `resultPages`).
   */
  async resultPage(jobId: string, locator: string | null, maxRecords?: number): Promise<ResultPage> {
    const params = new URLSearchParams();
    if (maxRecords !== undefined) params.set('maxRecords', String(maxRecords));
    if (locator) params.set('locator', locator);
    const abort = new AbortController();
    const query = params.size > 0 ? `?${params}` : '';
    const response = await this.send('bulkResults', `Read Bulk query results of ${jobId}`, {
      method: 'GET',
      path: `${this.base}/query/${jobId}/results${query}`,
      accept: 'text/csv',
      acceptGzip: this.compress,
      signal: abort.signal,
    });
    const next = response.headers.get('sforce-locator');
    const numberOfRecords = Number(response.headers.get('sforce-numberofrecords') ?? 'NaN');
    const { reader, stop } = csvRecords(response, {
      idleMs: this.options.resultIdleTimeoutMs ?? 120_000,
      abort,
      what: `results page of Bulk query job ${jobId} (${locator ? `locator ${locator}` : 'first page'})`,
    }, this.meter.bytes);
    const first = await reader.next(1);
    const header = first ? (parseCsvRecords(first.bytes)[0] ?? []) : [];
    return {
      nextLocator: next === null || next === '' || next === 'null' ? null : next,
      numberOfRecords,
      header,
      rows: csvRows(reader),
      records: (max) => reader.next(max),
      cancel: stop,
    };
  }

  // --- Ingest jobs ----------------------------------------------------------------------------

  createIngestJob(object: string): Promise<BulkJobInfo> {
    return this.json('bulkCreate', `Create Bulk update job on ${object}`, {
      method: 'POST',
      path: `${this.base}/ingest`,
      json: { object, operation: 'update', contentType: 'CSV', lineEnding: 'LF', columnDelimiter: 'COMMA' },
    });
  }

  /** Uploads one CSV file (the caller keeps it at most 100 MB raw: Salesforce's 150 MB counts base64). */
  async upload(jobId: string, csvFile: string): Promise<void> {
    await this.send('bulkUpload', `Upload data to Bulk job ${jobId}`, { method: 'PUT', path: `${this.base}/ingest/${jobId}/batches`, csvFile, gzip: this.compress });
  }

  /** UploadComplete starts processing; Aborted discards the job. */
  setState(jobId: string, state: 'UploadComplete' | 'Aborted'): Promise<BulkJobInfo> {
    return this.json('bulkClose', `Set Bulk job ${jobId} to ${state}`, { method: 'PATCH', path: `${this.base}/ingest/${jobId}`, json: { state } });
  }

  /** Failed records with their `sf__Error`, streamed. */
  failedResults(jobId: string): AsyncIterable<RecordResult> {
    return this.recordResults(jobId, 'failedResults');
  }

  /** Records a failed or aborted job never processed. */
  unprocessedRecords(jobId: string): AsyncIterable<RecordResult> {
    return this.recordResults(jobId, 'unprocessedrecords');
  }

  private async *recordResults(jobId: string, which: 'failedResults' | 'unprocessedrecords'): AsyncIterable<RecordResult> {
    const response = await this.send('bulkRecordResults', `Read ${which} of Bulk job ${jobId}`, {
      method: 'GET',
      path: `${this.base}/ingest/${jobId}/${which}`,
      accept: 'text/csv',
      acceptGzip: this.compress,
    });
    if (!response.body) return;
    let header: string[] | undefined;
    for await (const row of csvRows(csvRecords(response).reader)) {
      if (!header) {
        header = row;
        continue;
      }
      const values: Record<string, string> = {};
      let id = '';
      let error = '';
      header.forEach((name, i) => {
        const v = row[i] ?? '';
        if (name === 'sf__Id') id = v;
        else if (name === 'sf__Error') error = v;
        else values[name] = v;
      });
      const idKey = Object.keys(values).find((k) => k.toLowerCase() === 'id');
      if (!id && idKey) id = values[idKey]!;
      // sf__Error is "STATUS_CODE:message:fields".
      const colon = error.indexOf(':');
      const statusCode = colon > 0 ? error.slice(0, colon) : error;
      const message = colon > 0 ? error.slice(colon + 1).replace(/:[^:]*$/, '') : '';
      yield { id, statusCode, message, retryable: which === 'unprocessedrecords' || isRetryableRecordError(statusCode), values };
    }
  }
}
