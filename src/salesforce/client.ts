/**
 * The worker's Salesforce client: one jsforce Connection per process, reused across jobs, with an
 * explicit API version and a `refreshFn` that signs a fresh JWT assertion when Salesforce answers
 * 401 INVALID_SESSION_ID. Every call is counted by kind, and the org's allowance is read from the
 * `Sforce-Limit-Info` header of each response.
 */
import { Connection } from 'jsforce';
import type { SalesforceConfig } from '../config/index.js';
import { AppError, isAppError } from '../core/errors.js';
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
}

export interface RetryOptions {
  /** jsforce retries GETs on 429/5xx and network errors. @defaultValue 5 */
  maxRetries?: number;
  /** First back-off in ms, doubled each try. @defaultValue 500 */
  minTimeout?: number;
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

  constructor(
    readonly config: Pick<SalesforceConfig, 'apiVersion'>,
    readonly tokens: TokenProvider,
    token: Token,
    private readonly options: ClientOptions = {},
  ) {
    this.retry = { maxRetries: options.retry?.maxRetries ?? 5, minTimeout: options.retry?.minTimeout ?? 500 };
    const maxRefreshes = options.maxConsecutiveRefreshes ?? 3;
    this.connection = new Connection({
      instanceUrl: token.instanceUrl,
      accessToken: token.accessToken,
      version: config.apiVersion,
      // jsforce calls this on a 401 and shares one refresh between concurrent requests.
      refreshFn: (_conn, callback) => {
        if (this.consecutiveRefreshes >= maxRefreshes) {
          callback(new Error(`Salesforce refused ${maxRefreshes} fresh sessions in a row`));
          return;
        }
        this.consecutiveRefreshes += 1;
        this.options.logger?.info('Salesforce session expired; signing a new JWT assertion');
        this.tokens.signIn().then(
          (fresh) => {
            if (fresh.instanceUrl !== this.connection.instanceUrl) this.connection.instanceUrl = fresh.instanceUrl;
            callback(null, fresh.accessToken);
          },
          (error: unknown) => {
            this.lastRefreshError = error;
            callback(error as Error);
          },
        );
      },
    });
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

  /** Sends one REST request through jsforce (session refresh, GET retries) and counts it. */
  async request<T>(kind: CallKind, action: string, request: HttpRequest): Promise<T> {
    this.calls.set(kind, (this.calls.get(kind) ?? 0) + 1);
    salesforceCalls.inc({ kind });
    try {
      const result = (await this.connection.request<T>(request, { retry: this.retry })) as T;
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
  limits(): Promise<OrgLimits> {
    return this.request<OrgLimits>('limits', 'Read org limits', { method: 'GET', url: `${this.basePath()}/limits` });
  }

  /**
   * Today's API usage. Reads /limits, which needs the View Setup and Configuration permission
   * (REST API Developer Guide, "Limits"); when Salesforce refuses it for that reason, falls back to the
   * `Sforce-Limit-Info: api-usage=used/limit` header every REST response carries
   * (headers_api_usage.htm), from the refused response itself or, when it had none, from the
   * version's resource list (which needs only API Enabled). Other failures are thrown as they are.
   */
  async dailyApiUsage(): Promise<DailyApiUsage> {
    this.connection.limitInfo = {};
    try {
      const limits = await this.limits();
      const daily = limits.DailyApiRequests;
      if (daily) return { used: daily.Max - daily.Remaining, limit: daily.Max, remaining: daily.Remaining, source: 'limits', calls: 1 };
      const usage = this.apiUsage;
      if (!usage) throw new AppError({ code: 'SF_API_ERROR', message: 'Read org limits: the org reported no DailyApiRequests and no Sforce-Limit-Info header.' });
      return { ...usage, remaining: usage.limit - usage.used, source: 'header', calls: 1 };
    } catch (error) {
      if (!isAppError(error, 'SF_PERMISSION_DENIED')) throw error;
      let calls = 1;
      let usage = this.apiUsage;
      if (!usage) {
        await this.resources();
        calls += 1;
        usage = this.apiUsage;
      }
      if (!usage) throw error;
      return { ...usage, remaining: usage.limit - usage.used, source: 'header', calls, refusal: error };
    }
  }

  /** The API version's resource list (`GET /services/data/vXX.X`); needs no permission beyond API Enabled. */
  resources(): Promise<Record<string, string>> {
    return this.request('other', 'Read the API resource list', { method: 'GET', url: this.basePath() });
  }

  describe(sobject: string): Promise<{ fields: Array<{ name: string; type: string; updateable: boolean }> }> {
    return this.request('describe', `Describe ${sobject}`, { method: 'GET', url: `${this.basePath()}/sobjects/${sobject}/describe` });
  }
}
