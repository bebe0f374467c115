/**
 * Bulk API 2.0 jobs of the emulated org: query jobs (the matching rows and, copy-on-write, their
 * values as of completion, rendered as CSV page by page on demand) and ingest jobs (the uploaded CSV
 * kept as bytes, processed in internal batches through the store's one write path). Kept beside the org state in a WeakMap so the shared
 * EmulatorState needs no Bulk fields.
 *
 * States: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/bulk_api_2_job_states.htm
 */
import { base62, to18 } from '../ids.js';
import type { EmulatedField } from '../schema.js';
import type { EmulatorState } from '../state.js';
import type { OrgUser } from '../auth/tokens.js';
import type { ResultSnapshot } from './snapshot.js';

export type QueryState = 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
export type IngestState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';

export interface QueryJob {
  kind: 'query';
  id: string;
  operation: 'query' | 'queryAll';
  query: string;
  fields: EmulatedField[];
  /** Matching rows, fixed when the job runs. */
  rows?: Int32Array;
  /** Their values as of completion, kept while the job exists (pages render through it). */
  snapshot?: ResultSnapshot;
  state: QueryState;
  errorMessage?: string;
  apiVersion: string;
  createdBy: OrgUser;
  createdAt: number;
  modifiedAt: number;
  timers: NodeJS.Timeout[];
}

export interface FailedRecord {
  id: string;
  error: string;
  values: string[];
}

export interface IngestJob {
  kind: 'ingest';
  id: string;
  object: string;
  operation: 'update';
  lineEnding: 'LF' | 'CRLF';
  state: IngestState;
  errorMessage?: string;
  apiVersion: string;
  createdBy: OrgUser;
  createdAt: number;
  modifiedAt: number;
  /** The uploaded CSV (at most one upload per job). */
  data?: Buffer;
  header?: string[];
  processed: number;
  failedCount: number;
  /** Rows written successfully; results re-render their current values. */
  succeeded: number[];
  failed: FailedRecord[];
  /** Records never processed because the job failed or was aborted. */
  unprocessed: string[][];
  /** Times an internal batch was retried after running over its time limit (job info `retries`). */
  retries: number;
  startedAt?: number;
  finishedAt?: number;
}

export type BulkJob = QueryJob | IngestJob;

/** Salesforce's date-time format in job info (`2026-11-27T02:00:00.000+0000`). */
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

/** The fields every Bulk API 2.0 job info carries, query or ingest. */
export function jobInfoHead(job: BulkJob): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.kind === 'ingest' ? job.object : 'Account',
    createdById: job.createdBy.id,
    createdDate: iso(job.createdAt),
    systemModstamp: iso(job.modifiedAt),
    state: job.state,
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: Number(job.apiVersion),
    lineEnding: job.kind === 'ingest' ? job.lineEnding : 'LF',
    columnDelimiter: 'COMMA',
  };
}

/** Knobs the admin API changes at run time (tests and benchmarks). */
export interface BulkSettings {
  /** Delay before a query job starts, then its run time per 1,000,000 rows. */
  queryStartMs: number;
  queryMsPerMillionRows: number;
  /** Ingest records processed per event-loop slice. */
  ingestSlice: number;
  /** Pause between two slices (tests slow processing down to act while a job runs). */
  ingestSliceDelayMs: number;
  /**
   * Largest upload accepted, measured after base64 encoding as Salesforce measures it: "A request can
   * provide CSV data that does not in total exceed 150 MB of base64 encoded content … upload data that
   * does not exceed 100 MB" (api_asynch upload_job_data.htm). 150,000,000 (MB taken as 10^6 bytes,
   * the stricter reading) admits 112,500,000 raw bytes.
   */
  maxUploadBase64Bytes: number;
  /** Default `maxRecords` of a results page when the client gives none. */
  defaultPageRecords: number;
  /**
   * Records per page listed by `resultPages` (parallel results). Salesforce chooses this size and does
   * not document it; tests and benchmarks set it.
   */
  parallelPageRecords: number;
  /** The next query job fails with this message. */
  failNextQuery?: string;
  /** The next ingest job fails with this message after processing `afterRecords` records. */
  failNextIngest?: { message: string; afterRecords: number };
  /**
   * Records per internal batch of an ingest job: "Salesforce creates a separate batch for every
   * 10,000 records in your job data" (api_asynch datafiles_understanding_bulk2_ingest.htm).
   */
  ingestBatchRecords: number;
  /** Retries of an internal batch that runs over its time limit before the job fails (Salesforce: 20). */
  ingestBatchMaxRetries: number;
  /**
   * Internal batches (0-based, per job) that run over their 5-minute limit `times` times in a row, in
   * each of the next `jobs` ingest jobs (default 1). A batch over its limit is retried; past
   * `ingestBatchMaxRetries` retries the job fails and the rest of its data is unprocessed.
   */
  ingestBatchTimeouts?: { batches: Array<{ batch: number; times: number }>; jobs: number };
  /** Wall time a timed-out attempt takes in the emulator (the 5 minutes are simulated). */
  ingestBatchTimeoutMs: number;
  /**
   * The next request for query results (or the next one for the page at `offset`) breaks off after
   * `afterRecords` records: the connection closes mid-page.
   */
  cutNextResults?: { afterRecords: number; offset?: number };
  /**
   * The next request for query results (or the next one for the page at `offset`) stops sending after
   * `afterRecords` records and holds the connection open for `ms` before closing it, like a download
   * that times out.
   */
  stallNextResults?: { afterRecords: number; offset?: number; ms: number };
}

/** One results request as served (tests check which locators were read and how each ended). */
export interface ResultsRequest {
  jobId: string;
  locator: string | null;
  offset: number;
  maxRecords: number;
  /** Records in the page, and how many were sent before a fault ended it. */
  records: number;
  sent: number;
  outcome: 'complete' | 'cut' | 'stalled' | 'client-closed';
}

export const DEFAULT_BULK_SETTINGS: BulkSettings = {
  queryStartMs: 50,
  queryMsPerMillionRows: 500,
  ingestSlice: 5_000,
  ingestSliceDelayMs: 0,
  maxUploadBase64Bytes: 150_000_000,
  defaultPageRecords: 100_000,
  parallelPageRecords: 100_000,
  ingestBatchRecords: 10_000,
  ingestBatchMaxRetries: 20,
  ingestBatchTimeoutMs: 0,
};

export class BulkJobs {
  readonly jobs = new Map<string, BulkJob>();
  settings: BulkSettings = { ...DEFAULT_BULK_SETTINGS };
  /** The last 1,000 results requests. */
  readonly resultsLog: ResultsRequest[] = [];
  private counter = 0;

  constructor(private readonly state: EmulatorState) {}

  /** Job ids are 18-character `750…` ids, as Salesforce's AsyncApexJob-like job records. */
  nextId(): string {
    return to18(`750${this.state.instance}0${base62(++this.counter, 9)}`);
  }

  get(id: string): BulkJob | undefined {
    if (id.length !== 15 && id.length !== 18) return undefined;
    return this.jobs.get(id) ?? [...this.jobs.values()].find((j) => j.id.slice(0, 15) === id.slice(0, 15));
  }

  delete(id: string): void {
    const job = this.jobs.get(id);
    if (job?.kind === 'query') {
      for (const t of job.timers) clearTimeout(t);
      job.snapshot?.release();
    }
    this.jobs.delete(id);
  }
}

const registry = new WeakMap<EmulatorState, BulkJobs>();

export function bulkOf(state: EmulatorState): BulkJobs {
  let jobs = registry.get(state);
  if (!jobs) {
    jobs = new BulkJobs(state);
    registry.set(state, jobs);
  }
  return jobs;
}

/** CSV of Bulk API 2.0 results: every value in double quotes, nulls empty. */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  const s = String(value);
  return `"${s.includes('"') ? s.replace(/"/g, '""') : s}"`;
}

/** Datetimes in Bulk CSV: `2026-01-01T00:00:00.000Z`. */
export function bulkValue(field: EmulatedField, value: string | number | boolean | null): string | number | boolean | null {
  if (value !== null && field.storage === 'datetime') return new Date(value as number).toISOString();
  return value;
}

/**
 * Locators are opaque to clients; Salesforce's look like base64 of a number, so do these. A locator
 * handed out by `resultPages` also fixes the page's size (`offset-size`), so each parallel page is
 * the slice it was listed as, whoever reads it and in whatever order.
 */
export function encodeLocator(offset: number, size?: number): string {
  return Buffer.from(size === undefined ? String(offset) : `${offset}-${size}`).toString('base64url');
}

export function decodeLocator(locator: string): { offset: number; size?: number } | undefined {
  const [o, z, ...rest] = Buffer.from(locator, 'base64url').toString().split('-');
  const offset = Number(o);
  const size = z === undefined ? undefined : Number(z);
  if (rest.length > 0 || !Number.isInteger(offset) || offset < 0) return undefined;
  if (size !== undefined && !(Number.isInteger(size) && size > 0)) return undefined;
  return { offset, size };
}
