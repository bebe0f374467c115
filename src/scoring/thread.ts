/**
 * The scoring engine behind a worker thread, with the same `score()` shape. The worker process uses
 * this, so CPU-bound scoring cannot stall BullMQ's lock renewal. One thread per process, with the
 * configured ORT thread count inside it.
 */
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { scoringDuration, scoringRecords } from '../observability/metrics.js';
import type { Prediction, RecordFailure, ScoringEngineOptions } from './engine.js';
import type { RowsRequest, RowsResult } from './rows.js';
import type { FeatureSpec } from './spec.js';

/** A prediction with the Account field values to write back, or a per-record failure. */
export type ThreadResult = (Prediction & { fields: Record<string, string | number> }) | RecordFailure;

export type ThreadRequest =
  | { type: 'score'; id: number; records: readonly unknown[]; reasons: boolean; now: number }
  | { type: 'rows'; id: number; request: RowsRequest }
  | { type: 'close' };

export type ThreadResponse =
  | { type: 'ready'; spec: FeatureSpec; width: number }
  | { type: 'scored'; id: number; results: ThreadResult[] }
  | { type: 'rows'; id: number; result: RowsResult }
  | { type: 'failed'; id: number; error: { code: ErrorCode; message: string; hint?: string } }
  | { type: 'closed' };

/** What the thread receives: the engine options, and how to load TypeScript when running from source. */
export interface ThreadData {
  options: Omit<ScoringEngineOptions, 'logger'>;
  boot?: { tsxApi: string; entry: string };
}

function startWorker(options: Omit<ScoringEngineOptions, 'logger'>): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Running from source (tsx or the test runner): see runtime/ts-worker.mjs.
    const boot = { tsxApi: import.meta.resolve('tsx/esm/api'), entry: new URL('./thread-worker.ts', here).href };
    return new Worker(new URL('../runtime/ts-worker.mjs', here), { workerData: { options, boot } satisfies ThreadData });
  }
  return new Worker(new URL('./thread-worker.js', here), { workerData: { options } satisfies ThreadData });
}

export class ScoringThread {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private closed?: Promise<void>;
  /** Records handed to the engine, for metrics and tests. */
  recordsScored = 0;

  private constructor(
    private readonly worker: Worker,
    readonly spec: FeatureSpec,
  ) {
    worker.on('message', (message: ThreadResponse) => {
      if (message.type !== 'scored' && message.type !== 'rows' && message.type !== 'failed') return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'scored') waiter.resolve(message.results);
      else if (message.type === 'rows') waiter.resolve(message.result);
      else waiter.reject(new AppError({ code: message.error.code, message: message.error.message, hint: message.error.hint }));
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`scoring thread exited (code ${code})`)));
  }

  get modelVersion(): string {
    return this.spec.modelVersion;
  }

  /** Starts the thread and waits until its engine has loaded and checked the model. */
  static open(options: Omit<ScoringEngineOptions, 'logger'>, logger?: Logger): Promise<ScoringThread> {
    const worker = startWorker(options);
    return new Promise((resolve, reject) => {
      const onMessage = (message: ThreadResponse) => {
        worker.off('error', onError);
        worker.off('message', onMessage);
        if (message.type === 'ready') {
          logger?.info({ modelVersion: message.spec.modelVersion, width: message.width }, 'scoring thread ready');
          resolve(new ScoringThread(worker, message.spec));
        } else if (message.type === 'failed') {
          void worker.terminate();
          reject(new AppError({ code: message.error.code, message: message.error.message, hint: message.error.hint }));
        }
      };
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        reject(error);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
  }

  /** Scores records in the thread; results come back in input order. */
  score(records: readonly unknown[], options: { reasons?: boolean; now?: Date } = {}): Promise<ThreadResult[]> {
    const reasons = options.reasons ?? true;
    return this.request<ThreadResult[]>(records.length, reasons, (id) => ({ type: 'score', id, records, reasons, now: (options.now ?? new Date()).getTime() }));
  }

  /**
   * Re-scores raw query rows in the thread and returns the Bulk ingest lines of the records that
   * change (see rows.ts): the nightly run's path, where per-record objects would cost more to pass
   * between threads than to score.
   */
  rescoreRows(request: RowsRequest): Promise<RowsResult> {
    const records = request.rows?.length ?? request.csv?.count ?? 0;
    // CSV bytes move to the thread instead of being copied (the caller must not reuse them).
    return this.request<RowsResult>(records, request.reasons, (id) => ({ type: 'rows', id, request }), request.csv ? [request.csv.bytes.buffer as ArrayBuffer] : []);
  }

  private request<T>(records: number, reasons: boolean, message: (id: number) => ThreadRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new AppError({ code: 'SCORING_FAILED', message: 'The scoring thread was closed.' }));
    const id = this.nextId++;
    this.recordsScored += records;
    scoringRecords.inc(records);
    const stop = records > 0 ? scoringDuration.startTimer({ reasons: String(reasons) }) : undefined;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (r) => {
          stop?.({ outcome: 'ok' });
          resolve(r as T);
        },
        reject: (e) => {
          stop?.({ outcome: 'error' });
          reject(e);
        },
      });
      this.worker.postMessage(message(id), transfer);
    });
  }

  /** Releases the ORT session and ends the thread; safe to call twice. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 5_000);
      this.worker.on('message', (message: ThreadResponse) => {
        if (message.type === 'closed') {
          clearTimeout(timer);
          void this.worker.terminate().then(() => resolve());
        }
      });
      this.worker.postMessage({ type: 'close' } satisfies ThreadRequest);
    });
    return this.closed;
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
