/**
 * The worker's Salesforce client, the one HTTP seam to the org: one jsforce Connection per process,
 * reused across jobs, with an explicit API version. Every call, REST through jsforce (`request`) or
 * raw through fetch (`send`, for Bulk API 2.0's CSV bodies, which jsforce cannot stream), goes through
 * here, so in one place:
 * - the session: a 401 INVALID_SESSION_ID signs a fresh JWT assertion (one sign-in shared by every
 *   caller) and repeats the call, a bounded number of times in a row;
 * - safe requests (GET, HEAD) that failed on the network or with 429/5xx are sent again with
 *   back-off (core/retry-policy.ts);
 * - every call is counted, by kind, in the process's counters and, when the caller passes one, in a
 *   CallMeter of its own (a nightly run's record of its calls);
 * - the org's allowance is read from the `Sforce-Limit-Info` header of each response.
 * Nothing outside src/salesforce/ touches the token or the counters.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGzip } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from 'jsforce';
import type { SalesforceConfig } from '../config/index.js';
import { AppError, isAppError } from '../core/errors.js';
import { backoffMs, SAFE_REQUEST_RETRY } from '../core/retry-policy.js';
import type { Logger } from '../log/logger.js';
import { observeApiUsage, salesforceCalls } from '../observability/metrics.js';
import { TokenProvider, type Token } from './auth.js';
import { classifySalesforceError } from './errors.js';

export type CallKind =
  | 'query'
  | 'queryMore'
  | 'collectionsUpdate'
  | 'limits'
  | 'describe'
  | 'other'
  // Bulk API 2.0 (salesforce/bulk.ts): job create, status polls, result pages, CSV upload, close/abort, record results.
  | 'bulkCreate'
  | 'bulkPoll'
  | 'bulkResults'
  | 'bulkResultPages'
  | 'bulkUpload'
  | 'bulkClose'
  | 'bulkRecordResults';

export interface QueryPage<T> {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: T[];
}

export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

export interface SaveResult {
  id: string;
  success: boolean;
  errors: RecordError[];
}

export interface RecordUpdate {
  Id: string;
  [field: string]: unknown;
}

export interface ApiUsage {
  used: number;
  limit: number;
}

export interface OrgLimits {
  [name: string]: { Max: number; Remaining: number };
}

/** The org's daily API allowance and where it was read. */
export interface DailyApiUsage {
  used: number;
  limit: number;
  remaining: number;
  /**
   * `limits`: the /limits resource; `header`: the Sforce-Limit-Info header, because the user may not
   * read /limits (it needs View Setup and Configuration).
   */
  source: 'limits' | 'header';
  /** Calls this reading cost (1, or 2 when /limits was refused and carried no usage header). */
  calls: number;
  /** Why /limits was not used, when it was not. */
  refusal?: AppError;
  /** Bulk API batches left today (DailyBulkApiBatches), when /limits was read. */
  bulkBatches?: { max: number; remaining: number };
  /** Bulk API 2.0 query jobs left today (DailyBulkV2QueryJobs), when /limits was read. */
  queryJobs?: { max: number; remaining: number };
}

export interface RetryOptions {
  /** Retries of a safe request (GET, HEAD) on 429/5xx and network errors. @defaultValue SAFE_REQUEST_RETRY.maxRetries (5) */
  maxRetries?: number;
  /** First back-off in ms, doubled each try. @defaultValue SAFE_REQUEST_RETRY.backoff.baseMs (500) */
  minTimeout?: number;
}

/** Bytes of Bulk bodies one caller moved: CSV read, CSV uploaded, and what the uploads took on the wire. */
export interface BodyBytes {
  /** Query results read, as CSV (after decompression). */
  downloaded: number;
  /** Ingest CSV uploaded, before compression. */
  uploaded: number;
  /** The same uploads as sent (gzip). */
  uploadedWire: number;
}

/** Counts the calls made on behalf of one caller (e.g. one attempt of a nightly chunk), and the bytes. */
export class CallMeter {
  private count = 0;
  private taken = 0;
  readonly bytes: BodyBytes = { downloaded: 0, uploaded: 0, uploadedWire: 0 };
  private bytesTaken: BodyBytes = { downloaded: 0, uploaded: 0, uploadedWire: 0 };

  /** Bytes since the last `takeBytes()`. */
  takeBytes(): BodyBytes {
    const b = this.bytes;
    const t = this.bytesTaken;
    const out = { downloaded: b.downloaded - t.downloaded, uploaded: b.uploaded - t.uploaded, uploadedWire: b.uploadedWire - t.uploadedWire };
    this.bytesTaken = { ...b };
    return out;
  }

  /** Called by the client for each HTTP call it sends for the meter's owner. */
  add(): void {
    this.count += 1;
  }

  /** Calls so far. */
  get calls(): number {
    return this.count;
  }

  /** Calls since the last `take()` (so a caller can add them to a record once). */
  take(): number {
    const n = this.count - this.taken;
    this.taken = this.count;
    return n;
  }
}

/** One call's options: the meter of the caller it is made for. */
export interface CallOptions {
  meter?: CallMeter;
}

/** A raw request (Bulk API 2.0): a JSON body, or a CSV file streamed from disk; the response is returned unread. */
export interface RawRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path from the instance URL, e.g. `/services/data/v66.0/jobs/query`. */
  path: string;
  json?: unknown;
  csvFile?: string;
  /**
   * Send `csvFile` gzip-compressed (`Content-Encoding: gzip`): Salesforce's REST framework decompresses
   * any request before processing it (REST API Developer Guide, "Compression Headers").
   */
  gzip?: boolean;
  accept?: string;
  /** Ask for a gzip body (`Accept-Encoding: gzip`); fetch decompresses it as it streams in. */
  acceptGzip?: boolean;
  /** Aborts the request and its body (a results download that went silent). */
  signal?: AbortSignal;
}

export interface ClientOptions {
  logger?: Logger;
  retry?: RetryOptions;
  /**
   * Refreshes allowed in a row without a successful call between them; past it a 401 surfaces as
   * SF_SESSION_EXPIRED instead of looping. @defaultValue 3
   */
  maxConsecutiveRefreshes?: number;
}

/** Collections accept at most 200 records per request. */
export const COLLECTIONS_MAX = 200;

interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  body?: string;
  headers?: Record<string, string>;
}

export class SalesforceClient {
  readonly connection: Connection;
  readonly calls = new Map<CallKind, number>();
  private consecutiveRefreshes = 0;
  private lastRefreshError?: unknown;
  private readonly retry: Required<RetryOptions>;

  private readonly maxRefreshes: number;

  constructor(
    readonly config: Pick<SalesforceConfig, 'apiVersion'>,
    readonly tokens: TokenProvider,
    token: Token,
    private readonly options: ClientOptions = {},
  ) {
    this.retry = { maxRetries: options.retry?.maxRetries ?? SAFE_REQUEST_RETRY.maxRetries, minTimeout: options.retry?.minTimeout ?? SAFE_REQUEST_RETRY.backoff.baseMs };
    this.maxRefreshes = options.maxConsecutiveRefreshes ?? 3;
    this.connection = new Connection({
      instanceUrl: token.instanceUrl,
      accessToken: token.accessToken,
      version: config.apiVersion,
      // jsforce calls this on a 401 and shares one refresh between concurrent requests.
      refreshFn: (_conn, callback) => {
        this.renewSession().then(
          (accessToken) => callback(null, accessToken),
          (error: unknown) => {
            this.lastRefreshError = error;
            callback(error as Error);
          },
        );
      },
    });
  }

  /**
   * A fresh session after a 401, for REST (jsforce's refreshFn) and raw calls alike: one sign-in shared
   * by concurrent callers, at most `maxConsecutiveRefreshes` in a row without a successful call.
   */
  private async renewSession(): Promise<string> {
    if (this.consecutiveRefreshes >= this.maxRefreshes) throw new Error(`Salesforce refused ${this.maxRefreshes} fresh sessions in a row`);
    this.consecutiveRefreshes += 1;
    this.options.logger?.info('Salesforce session expired; signing a new JWT assertion');
    const fresh = await this.tokens.signIn();
    if (fresh.instanceUrl !== this.connection.instanceUrl) this.connection.instanceUrl = fresh.instanceUrl;
    this.connection.accessToken = fresh.accessToken;
    return fresh.accessToken;
  }

  private count(kind: CallKind, meter?: CallMeter): void {
    this.calls.set(kind, (this.calls.get(kind) ?? 0) + 1);
    meter?.add();
    salesforceCalls.inc({ kind });
  }

  /** `Sforce-Limit-Info: api-usage=used/limit`, as on every REST response (headers_api_usage.htm). */
  private readLimitInfo(header: string | null): void {
    const usage = /api-usage=(\d+)\/(\d+)/.exec(header ?? '');
    if (!usage) return;
    this.connection.limitInfo = { ...this.connection.limitInfo, apiUsage: { used: Number(usage[1]), limit: Number(usage[2]) } };
    observeApiUsage(this.apiUsage);
  }

  /** Signs in and returns a client whose connection is ready for use. */
  static async connect(config: SalesforceConfig, options: ClientOptions = {}): Promise<SalesforceClient> {
    const tokens = new TokenProvider(config, options.logger);
    const token = await tokens.token();
    return new SalesforceClient(config, tokens, token, options);
  }

  get apiUsage(): ApiUsage | undefined {
    return this.connection.limitInfo?.apiUsage;
  }

  get totalCalls(): number {
    let total = 0;
    for (const n of this.calls.values()) total += n;
    return total;
  }

  private basePath(): string {
    return `/services/data/v${this.config.apiVersion}`;
  }

  /** Sends one REST request through jsforce (session refresh, safe-request retries) and counts it. */
  async request<T>(kind: CallKind, action: string, request: HttpRequest, options: CallOptions = {}): Promise<T> {
    this.count(kind, options.meter);
    try {
      const retry = { ...this.retry, methods: [...SAFE_REQUEST_RETRY.methods], statusCodes: [...SAFE_REQUEST_RETRY.statuses] };
      const result = (await this.connection.request<T>(request, { retry })) as T;
      this.consecutiveRefreshes = 0;
      observeApiUsage(this.apiUsage);
      return result;
    } catch (error) {
      observeApiUsage(this.apiUsage);
      // jsforce wraps a failed refresh in a plain Error; surface our own auth error instead.
      if (this.lastRefreshError !== undefined && error instanceof Error && error.message.startsWith('Unable to refresh session')) {
        const cause = this.lastRefreshError;
        this.lastRefreshError = undefined;
        throw cause instanceof AppError
          ? cause
          : new AppError({ code: 'SF_SESSION_EXPIRED', message: `${action}: the session expired and signing in again failed.`, cause });
      }
      if (error instanceof Error && error.message.startsWith('Unable to refresh session')) {
        throw new AppError({
          code: 'SF_SESSION_EXPIRED',
          message: `${action}: ${error.message}.`,
          hint: 'Salesforce keeps refusing fresh tokens for REST calls: check the app\'s session policies and the user\'s API access.',
          cause: error,
        });
      }
      throw classifySalesforceError(error, action);
    }
  }

  /**
   * Sends one raw request (Bulk API 2.0) with the session's token and returns the response, unread,
   * when it is 2xx; throws a classified AppError otherwise. A 401 INVALID_SESSION_ID renews the session
   * and repeats the call; a safe request that failed on the network or with 429/5xx is repeated with
   * back-off. Each HTTP call is counted.
   */
  async send(kind: CallKind, action: string, request: RawRequest, options: CallOptions = {}): Promise<Response> {
    const safe = SAFE_REQUEST_RETRY.methods.includes(request.method);
    const retries = safe ? this.retry.maxRetries : 0;
    const backoff = { ...SAFE_REQUEST_RETRY.backoff, baseMs: this.retry.minTimeout };
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      this.count(kind, options.meter);
      const headers: Record<string, string> = { authorization: `Bearer ${this.connection.accessToken}`, accept: request.accept ?? 'application/json' };
      // fetch asks for gzip, deflate and br by default; say exactly what is wanted.
      headers['accept-encoding'] = request.acceptGzip ? 'gzip' : 'identity';
      let body: BodyInit | undefined;
      if (request.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(request.json);
      } else if (request.csvFile !== undefined) {
        headers['content-type'] = 'text/csv';
        const size = (await stat(request.csvFile)).size;
        // Streamed from disk as the socket takes it, so a 100 MB part is never held in memory: a Blob
        // body is read whole, and Readable.toWeb() reads the file ahead without limit.
        const file = createReadStream(request.csvFile, { highWaterMark: 1 << 20 });
        if (request.gzip) {
          headers['content-encoding'] = 'gzip';
          // Level 1: most of the saving for a fraction of the CPU (the worker scores on the same cores).
          const gzip = createGzip({ level: 1 });
          gzip.on('data', (chunk: Buffer) => {
            if (options.meter) options.meter.bytes.uploadedWire += chunk.length;
          });
          body = file.pipe(gzip) as unknown as BodyInit;
        } else {
          headers['content-length'] = String(size);
          body = file as unknown as BodyInit;
          if (options.meter) options.meter.bytes.uploadedWire += size;
        }
        if (options.meter) options.meter.bytes.uploaded += size;
      }
      let response: Response;
      try {
        response = await fetch(`${this.connection.instanceUrl}${request.path}`, {
          method: request.method,
          headers,
          body,
          signal: request.signal,
          ...(request.csvFile ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (error) {
        if (attempt < retries && !request.signal?.aborted) {
          await sleep(backoffMs(attempt + 1, backoff));
          continue;
        }
        throw classifySalesforceError(Object.assign(new Error((error as Error).message, { cause: error }), { name: 'FetchError', code: (error as { cause?: { code?: string } }).cause?.code }), action);
      }
      this.readLimitInfo(response.headers.get('sforce-limit-info'));
      if (response.ok) {
        this.consecutiveRefreshes = 0;
        return response;
      }
      const text = await response.text();
      let errorCode = `ERROR_HTTP_${response.status}`;
      let message = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as Array<{ errorCode?: string; message?: string }> | { errorCode?: string; message?: string };
        const first = Array.isArray(parsed) ? parsed[0] : parsed;
        if (first?.errorCode) errorCode = first.errorCode;
        if (first?.message) message = first.message;
      } catch {
        // Not JSON: keep the status code.
      }
      if (response.status === 401 && errorCode === 'INVALID_SESSION_ID' && !renewed) {
        renewed = true;
        try {
          await this.renewSession();
        } catch (cause) {
          throw cause instanceof AppError ? cause : new AppError({ code: 'SF_SESSION_EXPIRED', message: `${action}: the session expired and signing in again failed.`, cause });
        }
        attempt -= 1;
        continue;
      }
      if (SAFE_REQUEST_RETRY.statuses.includes(response.status) && attempt < retries) {
        await sleep(backoffMs(attempt + 1, backoff));
        continue;
      }
      throw classifySalesforceError(Object.assign(new Error(message), { name: errorCode, errorCode, status: response.status }), action);
    }
  }

  /** One page of a SOQL query (at most 2,000 records); follow `nextRecordsUrl` with `queryMore`. */
  queryPage<T>(soql: string): Promise<QueryPage<T>> {
    return this.request<QueryPage<T>>('query', 'SOQL query', { method: 'GET', url: `${this.basePath()}/query?q=${encodeURIComponent(soql)}` });
  }

  queryMore<T>(nextRecordsUrl: string): Promise<QueryPage<T>> {
    return this.request<QueryPage<T>>('queryMore', 'SOQL query (next page)', { method: 'GET', url: nextRecordsUrl });
  }

  /** Every page of a query, one at a time, so callers can stream large results. */
  async *queryPages<T>(soql: string): AsyncGenerator<T[]> {
    let page = await this.queryPage<T>(soql);
    yield page.records;
    while (!page.done && page.nextRecordsUrl) {
      page = await this.queryMore<T>(page.nextRecordsUrl);
      yield page.records;
    }
  }

  /** All records of a query. For results that may be large, use `queryPages`. */
  async query<T>(soql: string): Promise<T[]> {
    const records: T[] = [];
    for await (const page of this.queryPages<T>(soql)) records.push(...page);
    return records;
  }

  /**
   * sObject Collections update: at most 200 records, one result per record in request order.
   * With `allOrNone: false` a failed record does not fail the others and the call does not throw.
   * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
   */
  async updateRecords(sobject: string, records: RecordUpdate[], options: { allOrNone?: boolean } = {}): Promise<SaveResult[]> {
    if (records.length === 0) return [];
    if (records.length > COLLECTIONS_MAX) {
      throw new AppError({ code: 'SF_API_ERROR', message: `sObject Collections take at most ${COLLECTIONS_MAX} records; got ${records.length}.` });
    }
    const body = {
      allOrNone: options.allOrNone ?? false,
      records: records.map(({ Id, ...fields }) => ({ attributes: { type: sobject }, id: Id, ...fields })),
    };
    const results = await this.request<Array<{ id?: string | null; success: boolean; errors?: Partial<RecordError>[] }>>(
      'collectionsUpdate',
      `Update ${records.length} ${sobject} records`,
      {
        method: 'PATCH',
        url: `${this.basePath()}/composite/sobjects`,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      },
    );
    // A failed record may come back without an id; results are in request order.
    return results.map((r, i) => ({
      id: r.id ?? records[i]!.Id,
      success: r.success,
      errors: (r.errors ?? []).map((e) => ({ statusCode: e.statusCode ?? 'UNKNOWN', message: e.message ?? '', fields: e.fields ?? [] })),
    }));
  }

  /** The org's limits; `DailyApiRequests.Remaining` is the allowance left today. */
  limits(options: CallOptions = {}): Promise<OrgLimits> {
    return this.request<OrgLimits>('limits', 'Read org limits', { method: 'GET', url: `${this.basePath()}/limits` }, options);
  }

  /**
   * Today's API usage. Reads /limits, which needs the View Setup and Configuration permission
   * (REST API Developer Guide, "Limits"); when Salesforce refuses it for that reason, falls back to the
   * `Sforce-Limit-Info: api-usage=used/limit` header every REST response carries
   * (headers_api_usage.htm), from the refused response itself or, when it had none, from the
   * version's resource list (which needs only API Enabled). Other failures are thrown as they are.
   */
  async dailyApiUsage(options: CallOptions = {}): Promise<DailyApiUsage> {
    this.connection.limitInfo = {};
    try {
      const limits = await this.limits(options);
      const daily = limits.DailyApiRequests;
      const pair = (l?: { Max: number; Remaining: number }) => (l ? { max: l.Max, remaining: l.Remaining } : undefined);
      const bulk = { bulkBatches: pair(limits.DailyBulkApiBatches), queryJobs: pair(limits.DailyBulkV2QueryJobs) };
      if (daily) return { used: daily.Max - daily.Remaining, limit: daily.Max, remaining: daily.Remaining, source: 'limits', calls: 1, ...bulk };
      const usage = this.apiUsage;
      if (!usage) throw new AppError({ code: 'SF_API_ERROR', message: 'Read org limits: the org reported no DailyApiRequests and no Sforce-Limit-Info header.' });
      return { ...usage, remaining: usage.limit - usage.used, source: 'header', calls: 1 };
    } catch (error) {
      if (!isAppError(error, 'SF_PERMISSION_DENIED')) throw error;
      let calls = 1;
      let usage = this.apiUsage;
      if (!usage) {
        await this.resources(options);
        calls += 1;
        usage = this.apiUsage;
      }
      if (!usage) throw error;
      return { ...usage, remaining: usage.limit - usage.used, source: 'header', calls, refusal: error };
    }
  }

  /** The API version's resource list (`GET /services/data/vXX.X`); needs no permission beyond API Enabled. */
  resources(options: CallOptions = {}): Promise<Record<string, string>> {
    return this.request('other', 'Read the API resource list', { method: 'GET', url: this.basePath() }, options);
  }

  describe(sobject: string): Promise<{ fields: Array<{ name: string; type: string; updateable: boolean }> }> {
    return this.request('describe', `Describe ${sobject}`, { method: 'GET', url: `${this.basePath()}/sobjects/${sobject}/describe` });
  }
}
