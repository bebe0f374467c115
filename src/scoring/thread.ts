/**
 * The scoring engine behind a worker thread, with the same `score()` shape, and `predict()` for the
 * prediction API (results in its shape, nothing it would drop). The worker process uses
 * this, so CPU-bound scoring cannot stall BullMQ's lock renewal. One thread per process, with the
 * configured ORT thread count inside it.
 */
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { inputValues, scoringDuration, scoringRecords } from '../observability/metrics.js';
import type { Prediction, RecordFailure, RiskLevel } from './engine.js';
import type { RowsRequest, RowsResult } from './rows.js';
import type { FeatureSpec } from './spec.js';
import type { DriftCounts } from '../core/drift.js';

/** A prediction with the Account field values to write back, or a per-record failure. */
export type ThreadResult = (Prediction & { fields: Record<string, string | number> }) | RecordFailure;

/**
 * A prediction as the prediction API answers it: the factors as their text (what the Account's
 * factors field would hold; empty without reasons), no field values to write. A fifth of what a
 * ThreadResult costs to copy between threads, and nothing built that the API would drop.
 */
export interface CompactPrediction {
  id: string;
  score: number;
  risk: RiskLevel;
  factors: string;
  modelVersion: string;
}

export type CompactResult = CompactPrediction | RecordFailure;

/** A model for the thread: files (the shipped model, MODEL_PATH), registry bytes, or one already loaded. */
export type ModelSlot =
  | { kind: 'files'; modelPath: string; specPath?: string }
  | { kind: 'bundle'; onnx: Uint8Array; spec: FeatureSpec }
  | { kind: 'loaded'; version: string };

export interface LoadedModel {
  version: string;
  spec: FeatureSpec;
}

export interface ThreadModels {
  champion: LoadedModel;
  shadow: LoadedModel | null;
  /** Encoded width of the champion's rows. */
  width: number;
}

export type ThreadRequest =
  | { type: 'score'; id: number; records: readonly unknown[]; reasons: boolean; now: number; version?: string; withShadow?: boolean }
  | { type: 'predict'; id: number; records: readonly unknown[]; reasons: boolean; now: number; version?: string }
  | { type: 'rows'; id: number; request: RowsRequest; version?: string; shadow?: string }
  | { type: 'models'; id: number; champion: ModelSlot; shadow: ModelSlot | null }
  | { type: 'close' };

export type ThreadResponse =
  | { type: 'ready'; models: ThreadModels }
  | { type: 'models'; id: number; models: ThreadModels }
  | { type: 'scored'; id: number; results: ThreadResult[]; shadow?: ThreadResult[] }
  | { type: 'predicted'; id: number; results: CompactResult[] }
  | { type: 'rows'; id: number; result: RowsResult }
  | { type: 'failed'; id: number; error: { code: ErrorCode; message: string; hint?: string } }
  | { type: 'closed' }
  /** Field values the engine could not use as given since the last report: [field, state, count]. */
  | { type: 'inputs'; changes: Array<[field: string, state: string, count: number]> }
  /** Drift counts of the records a model version scored one by one since the last report. */
  | { type: 'drift'; version: string; counts: DriftCounts };

/** What the thread receives: the first champion, the ORT thread count, and how to load TypeScript from source. */
export interface ThreadData {
  initial: ModelSlot;
  threads: number;
  boot?: { tsxApi: string; entry: string };
}

function startWorker(data: Omit<ThreadData, 'boot'>): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Running from source (tsx or the test runner): see runtime/ts-worker.mjs.
    const boot = { tsxApi: import.meta.resolve('tsx/esm/api'), entry: new URL('./thread-worker.ts', here).href };
    return new Worker(new URL('../runtime/ts-worker.mjs', here), { workerData: { ...data, boot } satisfies ThreadData });
  }
  return new Worker(new URL('./thread-worker.js', here), { workerData: data satisfies ThreadData });
}

export interface ScoringThreadOptions {
  /** The first champion: files, or a registry bundle. */
  model: ModelSlot;
  /** ORT intra-op threads. @defaultValue 1 */
  threads?: number;
}

/** Files as the first model (the shipped model, MODEL_PATH), the options every caller had before the registry. */
export function filesModel(options: { modelPath: string; specPath?: string; threads?: number }): ScoringThreadOptions {
  return { model: { kind: 'files', modelPath: options.modelPath, specPath: options.specPath }, threads: options.threads };
}

export interface ScoreRequestOptions {
  reasons?: boolean;
  now?: Date;
  /** The model version to score with (the one whose fields were read); the champion when absent. */
  version?: string;
}

export class ScoringThread {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private closed?: Promise<void>;
  /** Records handed to the engine, for metrics and tests. */
  recordsScored = 0;
  /** Score and row calls made to the thread, for tests. */
  calls = 0;
  /** Set when the thread ended by itself: later calls fail at once instead of waiting for it. */
  private ended?: Error;
  private current: ThreadModels;
  private driftListener?: (version: string, counts: DriftCounts) => void;

  private constructor(
    private readonly worker: Worker,
    models: ThreadModels,
  ) {
    this.current = models;
    worker.on('message', (message: ThreadResponse) => {
      if (message.type === 'inputs') {
        for (const [field, state, count] of message.changes) inputValues.inc({ field, state }, count);
        return;
      }
      if (message.type === 'drift') {
        this.driftListener?.(message.version, message.counts);
        return;
      }
      if (message.type !== 'scored' && message.type !== 'predicted' && message.type !== 'rows' && message.type !== 'failed' && message.type !== 'models') return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'scored') waiter.resolve(message);
      else if (message.type === 'predicted') waiter.resolve(message.results);
      else if (message.type === 'rows') waiter.resolve(message.result);
      else if (message.type === 'models') waiter.resolve(message.models);
      else waiter.reject(new AppError({ code: message.error.code, message: message.error.message, hint: message.error.hint }));
    });
    worker.on('error', (error) => {
      this.ended ??= error;
      this.failAll(error);
    });
    worker.on('exit', (code) => {
      this.ended ??= new AppError({ code: 'SCORING_FAILED', message: `The scoring thread exited (code ${code}).` });
      this.failAll(this.ended);
    });
  }

  /** Receives the drift counts of records scored one by one (the real-time path and the API). */
  onDrift(listener: (version: string, counts: DriftCounts) => void): void {
    this.driftListener = listener;
  }

  /** The champion's spec: the fields to read and write now. */
  get spec(): FeatureSpec {
    return this.current.champion.spec;
  }

  get modelVersion(): string {
    return this.current.champion.version;
  }

  get models(): ThreadModels {
    return this.current;
  }

  /** Starts the thread and waits until its engine has loaded and checked the model. */
  static open(options: ScoringThreadOptions, logger?: Logger): Promise<ScoringThread> {
    const worker = startWorker({ initial: options.model, threads: options.threads ?? 1 });
    return new Promise((resolve, reject) => {
      const onMessage = (message: ThreadResponse) => {
        worker.off('error', onError);
        worker.off('message', onMessage);
        if (message.type === 'ready') {
          logger?.info({ modelVersion: message.models.champion.version, width: message.models.width }, 'scoring thread ready');
          resolve(new ScoringThread(worker, message.models));
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

  /**
   * Makes `champion` (and `shadow`, or none) the models the thread scores with. New ones are loaded
   * and checked first; if any fails its start-up checks, nothing changes and the error is thrown.
   * Requests already running finish on the model they started with.
   */
  async setModels(champion: ModelSlot, shadow: ModelSlot | null): Promise<ThreadModels> {
    const models = await this.request<ThreadModels>(0, false, (id) => ({ type: 'models', id, champion, shadow }));
    this.current = models;
    return models;
  }

  /** Scores records in the thread; results come back in input order. */
  async score(records: readonly unknown[], options: ScoreRequestOptions = {}): Promise<ThreadResult[]> {
    return (await this.scoreWithShadow(records, { ...options, withShadow: false })).results;
  }

  /**
   * Scores with the champion (or `version`, the model the caller read its fields for) and, when a
   * shadow is set and `withShadow` is not false, with the shadow too (its results are not written).
   */
  async scoreWithShadow(records: readonly unknown[], options: ScoreRequestOptions & { withShadow?: boolean } = {}): Promise<{ results: ThreadResult[]; shadow?: ThreadResult[] }> {
    const reasons = options.reasons ?? true;
    const withShadow = options.withShadow ?? true;
    const reply = await this.request<Extract<ThreadResponse, { type: 'scored' }>>(records.length, reasons, (id) => ({
      type: 'score',
      id,
      records,
      reasons,
      now: (options.now ?? new Date()).getTime(),
      version: options.version,
      withShadow,
    }));
    return { results: reply.results, shadow: reply.shadow };
  }

  /**
   * Scores records as the prediction API answers them (CompactResult), with `version` (the model the
   * caller validated them for) or the champion; results in input order.
   */
  predict(records: readonly unknown[], options: ScoreRequestOptions = {}): Promise<CompactResult[]> {
    const reasons = options.reasons ?? true;
    return this.request<CompactResult[]>(records.length, reasons, (id) => ({ type: 'predict', id, records, reasons, now: (options.now ?? new Date()).getTime(), version: options.version }));
  }

  /**
   * Re-scores raw query rows in the thread and returns the Bulk ingest lines of the records that
   * change (see rows.ts): the nightly run's path, where per-record objects would cost more to pass
   * between threads than to score. With `shadow` (the shadow version the run pinned) and that shadow
   * still loaded, the shadow scores the same rows and its rows come back in `shadow`.
   */
  rescoreRows(request: RowsRequest, version?: string, shadow?: string): Promise<RowsResult> {
    const records = request.rows?.length ?? request.csv?.count ?? 0;
    // CSV bytes move to the thread instead of being copied (the caller must not reuse them).
    return this.request<RowsResult>(records, request.reasons, (id) => ({ type: 'rows', id, request, version, shadow }), request.csv ? [request.csv.bytes.buffer as ArrayBuffer] : []);
  }

  private request<T>(records: number, reasons: boolean, message: (id: number) => ThreadRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new AppError({ code: 'SCORING_FAILED', message: 'The scoring thread was closed.' }));
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    if (records > 0) this.calls += 1;
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
    if (this.ended) this.closed ??= Promise.resolve();
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
