/**
 * The scoring engine: one onnxruntime-node session, the spec that feeds it, and the reasons.
 *
 * Start-up checks the model against the spec (input name, width and type; output name, that it is a
 * tensor, and that it answers with probabilities) and refuses to start with MODEL_INVALID naming what
 * does not match, so a wrong model never reaches the first job.
 */
import { driftTallyFor, type DriftTally } from './drift.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { createEncoder, newInputTally, type AccountRecord, type Encoder, type InputTally } from './encoder.js';
import { buildExplainBatch, contributions, formatFactors, topFactors, type Factor } from './reasons.js';
import { defaultSpecPath, loadSpec, type FeatureSpec } from './spec.js';

export type RiskLevel = 'High' | 'Medium' | 'Low';

export interface Prediction {
  id: string;
  /** Churn probability in percent, 0-100, two decimals. */
  score: number;
  risk: RiskLevel;
  /** Top factors, strongest first; null when reasons were not asked for. */
  factors: Factor[] | null;
  modelVersion: string;
}

export interface RecordFailure {
  id: string;
  error: { code: 'SCORING_FAILED'; message: string; field?: string };
}

export type ScoreResult = Prediction | RecordFailure;

export function isFailure(result: ScoreResult): result is RecordFailure {
  return 'error' in result;
}

/** A model and its spec, from files or from the model registry. */
export interface ModelBundle {
  onnx: Uint8Array;
  spec: FeatureSpec;
  /** How messages name it: a file path or a registry version. */
  label: string;
}

export interface ScoringEngineOptions {
  modelPath: string;
  /** @defaultValue the model path with `.onnx` replaced by `.spec.json` */
  specPath?: string;
  /** ORT intra-op threads. @defaultValue 1 */
  threads?: number;
  logger?: Logger;
}

export interface ScoreOptions {
  /** Compute the top factors (about 30× the model work). @defaultValue true */
  reasons?: boolean;
  /** The moment date fields are measured from. @defaultValue now */
  now?: Date;
}

/** Records per ORT run when scoring only; bounds memory and the time between event-loop turns. */
const SCORE_CHUNK = 2_000;
/** Records per ORT run with reasons (each expands to ~30 rows). */
const EXPLAIN_CHUNK = 250;

function invalid(message: string, hint?: string, cause?: unknown): AppError {
  return new AppError({ code: 'MODEL_INVALID', message, hint, cause });
}

export class ScoringEngine {
  readonly spec: FeatureSpec;
  readonly encoder: Encoder;
  /** The model's file path or registry version, as messages name it. */
  readonly label: string;
  /** Values of every record this engine encoded that were not used as given (blank, unusable, out of range), since it loaded. */
  readonly inputs: InputTally;
  /** Drift counts of the records scored one by one (the real-time path and the API), when the spec has a training reference. */
  readonly drift: DriftTally | undefined;
  private session: ort.InferenceSession | null;
  private readonly column: number;
  private readonly outputWidth: number;
  /** Rows for explanation batches, reused from one ORT run to the next (made at the first). */
  private scratch: Float32Array | null = null;
  /** A run in flight holds the scratch; an overlapping call builds rows of its own size meanwhile. */
  private scratchTaken = false;

  private constructor(session: ort.InferenceSession, spec: FeatureSpec, encoder: Encoder, label: string, outputWidth: number) {
    this.session = session;
    this.spec = spec;
    this.encoder = encoder;
    this.label = label;
    this.inputs = newInputTally(encoder);
    this.drift = driftTallyFor(spec, encoder);
    this.outputWidth = outputWidth;
    this.column = spec.output.column ?? outputWidth - 1;
  }

  get modelVersion(): string {
    return this.spec.modelVersion;
  }

  /** Loads the spec and the model from files and checks that they agree. */
  static async open(options: ScoringEngineOptions): Promise<ScoringEngine> {
    // The model first: a wrong MODEL_PATH should be reported as such, not as its missing spec.
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(options.modelPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw invalid(
        `Model file ${resolve(options.modelPath)} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}.`,
        'Set MODEL_PATH to an .onnx file; the default model is models/churn-gbt.onnx.',
        error,
      );
    }
    const specPath = options.specPath ?? defaultSpecPath(options.modelPath);
    const spec = loadSpec(specPath);
    const engine = await ScoringEngine.load({ onnx: bytes, spec, label: options.modelPath }, options.threads);
    options.logger?.info({ modelPath: options.modelPath, specPath, modelVersion: spec.modelVersion, width: engine.encoder.width }, 'scoring model loaded');
    return engine;
  }

  /**
   * Loads a model from its bytes and parsed spec (a registry version, or files read by `open`) and
   * runs the start-up checks: the model loads, its input and output match the spec, and a row built
   * from the spec gives a probability. A bundle that fails them never becomes an engine.
   */
  static async load(bundle: ModelBundle, threads = 1): Promise<ScoringEngine> {
    const { spec, label } = bundle;
    const encoder = createEncoder(spec);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bundle.onnx, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (error) {
      throw invalid(`Model ${label} is not a model onnxruntime can load: ${(error as Error).message}`, 'Re-export the model (ONNX opset ≤ 21).', error);
    }
    try {
      const outputWidth = await checkModel(session, spec, encoder, label);
      return new ScoringEngine(session, spec, encoder, label, outputWidth);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /**
   * Scores records in chunks. Every record gets a prediction or a per-record failure, in input order;
   * no score is ever NaN.
   */
  async score(records: readonly unknown[], options: ScoreOptions = {}): Promise<ScoreResult[]> {
    const reasons = options.reasons ?? true;
    const nowMs = (options.now ?? new Date()).getTime();
    const chunk = reasons ? EXPLAIN_CHUNK : SCORE_CHUNK;
    const results: ScoreResult[] = [];
    for (let start = 0; start < records.length; start += chunk) {
      const part = records.slice(start, start + chunk);
      results.push(...(await this.scoreChunk(part, start, reasons, nowMs)));
    }
    return results;
  }

  private async scoreChunk(records: readonly unknown[], offset: number, reasons: boolean, nowMs: number): Promise<ScoreResult[]> {
    const width = this.encoder.width;
    const idField = this.spec.idField;
    const results: ScoreResult[] = new Array(records.length);
    const okIndex: number[] = [];
    const x = new Float32Array(records.length * width);
    records.forEach((record, i) => {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        results[i] = failure(`#${offset + i}`, `record ${offset + i} is not an object`);
        return;
      }
      const rec = record as AccountRecord;
      const rawId = rec[idField];
      const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : '';
      if (id === '') {
        results[i] = failure(`#${offset + i}`, `record ${offset + i} has no ${idField}`, idField);
        return;
      }
      const problem = this.encoder.encode(rec, x, okIndex.length, nowMs, this.inputs, this.drift);
      if (problem) {
        results[i] = failure(id, problem.message, problem.field);
        return;
      }
      okIndex.push(i);
    });
    const n = okIndex.length;
    if (n === 0) return results;

    const { probability, points } = await this.predictEncoded(x, n, reasons);
    const groups = this.encoder.groups;
    const { top, maxLength } = this.spec.reasons;
    for (let k = 0; k < n; k++) {
      const i = okIndex[k]!;
      const rec = records[i] as AccountRecord;
      const id = String(rec[idField]);
      const p = probability[k]!;
      if (!Number.isFinite(p)) {
        results[i] = failure(id, `the model returned ${p} for this record`);
        continue;
      }
      const score = toScore(p);
      this.drift?.score(score);
      let factors: Factor[] | null = null;
      if (points) {
        factors = topFactors(this.encoder, (g) => rec[groups[g]!.field], points, k * groups.length, top);
        // Keep only what fits the text field, so the structured list and the text agree.
        const text = formatFactors(factors, maxLength);
        factors = factors.filter((f) => text.includes(`${f.field}=`));
      }
      results[i] = { id, score, risk: this.risk(score), factors, modelVersion: this.spec.modelVersion };
    }
    return results;
  }

  /**
   * Scores `n` rows already encoded into `x` (see Encoder): the probability of each row and, with
   * reasons, every group's contribution to it in score points (row k's at `k * groups + g`). Rows go
   * through ORT in chunks, explanation rows included.
   */
  async predictEncoded(x: Float32Array, n: number, reasons: boolean): Promise<{ probability: Float32Array; points: Float64Array | null }> {
    const width = this.encoder.width;
    const groupCount = this.encoder.groups.length;
    const probability = new Float32Array(n);
    const points = reasons ? new Float64Array(n * groupCount) : null;
    const chunk = reasons ? EXPLAIN_CHUNK : SCORE_CHUNK;
    const cols = this.outputWidth;
    const column = this.column;
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      const base = x.subarray(start * width, (start + m) * width);
      // Taken while this chunk's run is in flight, so overlapping calls never share the rows. An
      // overlapping call (a second request arriving while a run waits for its turn) gets rows of
      // exactly its size: a full-size scratch each time cost a 2.5 MB allocation per one-record call.
      let scratch: Float32Array | undefined;
      if (reasons && !this.scratchTaken) {
        scratch = this.scratch ??= this.newScratch();
        this.scratchTaken = true;
      }
      const batch = reasons ? buildExplainBatch(this.encoder, base, m, scratch) : null;
      let output: Float32Array;
      try {
        output = await this.run(batch ? batch.input : base, batch ? batch.rows : m);
      } finally {
        if (scratch) this.scratchTaken = false;
      }
      for (let k = 0; k < m; k++) probability[start + k] = output[k * cols + column]!;
      if (batch && points) for (let k = 0; k < m; k++) contributions(this.encoder, batch, output, cols, column, k, points, (start + k) * groupCount);
    }
    return { probability, points };
  }

  /** Room for the largest explanation batch: every record with a row per reference value. */
  private newScratch(): Float32Array {
    let refs = 0;
    for (const g of this.encoder.groups) refs += g.references.length;
    return new Float32Array(EXPLAIN_CHUNK * (1 + refs) * this.encoder.width);
  }

  private async run(input: Float32Array, rows: number): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new AppError({ code: 'SCORING_FAILED', message: 'The scoring engine was closed.' });
    const tensor = new ort.Tensor('float32', input, [rows, this.encoder.width]);
    const out = await session.run({ [this.spec.input.name]: tensor }, [this.spec.output.name]);
    return out[this.spec.output.name]!.data as Float32Array;
  }

  risk(score: number): RiskLevel {
    const bands = this.spec.riskBands;
    return score >= bands.high ? 'High' : score >= bands.medium ? 'Medium' : 'Low';
  }

  /**
   * The Account field values to write back for a prediction (not the record key, which the caller
   * adds as Id or an external id). Churn_Top_Factors__c is left out when reasons were not computed,
   * so scoring without reasons does not erase earlier ones.
   */
  toAccountFields(prediction: Prediction, scoredAt: Date = new Date()): Record<string, string | number> {
    const f = this.spec.outputFields;
    const fields: Record<string, string | number> = {
      [f.score]: prediction.score,
      [f.risk]: prediction.risk,
      [f.modelVersion]: prediction.modelVersion,
      [f.scoredAt]: scoredAt.toISOString(),
    };
    if (prediction.factors) fields[f.factors] = formatFactors(prediction.factors, this.spec.reasons.maxLength);
    return fields;
  }

  /** Releases the ORT session; safe to call twice. */
  async close(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await session.release();
  }
}

/** Churn probability → score in percent with two decimals. */
export function toScore(p: number): number {
  return Math.round(Math.min(1, Math.max(0, p)) * 10_000) / 100;
}

function failure(id: string, message: string, field?: string): RecordFailure {
  return { id, error: { code: 'SCORING_FAILED', message, ...(field ? { field } : {}) } };
}

/** Checks the loaded session against the spec; returns the output's column count. */
async function checkModel(session: ort.InferenceSession, spec: FeatureSpec, encoder: Encoder, modelPath: string): Promise<number> {
  const problems: string[] = [];
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  const input = inputs.find((m) => m.name === spec.input.name);
  if (!input) {
    problems.push(`the spec's input "${spec.input.name}" is not among the model's inputs (${inputs.map((m) => `"${m.name}"`).join(', ')})`);
  } else if (!input.isTensor || input.type !== 'float32') {
    problems.push(`input "${input.name}" must be a float32 tensor, the model declares ${input.isTensor ? input.type : 'a non-tensor'}`);
  } else {
    const last = input.shape[input.shape.length - 1];
    if (input.shape.length !== 2) {
      problems.push(`input "${input.name}" must be [N, ${encoder.width}], the model declares [${input.shape.join(', ')}]`);
    } else if (typeof last === 'number' && last !== encoder.width) {
      problems.push(`input "${input.name}" is ${last} wide in the model but the spec's features encode to ${encoder.width} columns`);
    }
  }
  const extraInputs = inputs.filter((m) => m.name !== spec.input.name);
  if (extraInputs.length > 0) problems.push(`the model has inputs the spec does not feed: ${extraInputs.map((m) => `"${m.name}"`).join(', ')}`);

  const output = outputs.find((m) => m.name === spec.output.name);
  const nonTensor = outputs.filter((m) => !m.isTensor).map((m) => `"${m.name}"`);
  if (!output) {
    problems.push(`the spec's output "${spec.output.name}" is not among the model's outputs (${outputs.map((m) => `"${m.name}"${m.isTensor ? '' : ' (not a tensor)'}`).join(', ')})`);
  } else if (!output.isTensor) {
    problems.push(`output "${output.name}" is not a tensor (a ZipMap or sequence of maps, which onnxruntime-node cannot return)`);
  } else if (output.type !== 'float32') {
    problems.push(`output "${output.name}" must be float32 probabilities, the model declares ${output.type}`);
  }
  if (problems.length > 0) {
    throw invalid(
      `Model ${modelPath} does not match its spec: ${problems.join('; ')}.`,
      nonTensor.length > 0
        ? `Non-tensor outputs ${nonTensor.join(', ')}: export without ZipMap (skl2onnx options={'zipmap': False}) and name a float tensor output in the spec.`
        : 'Fix the spec (input.name, output.name, features) or bring the model it was written for.',
    );
  }

  // One probe row (every field imputed) proves the width and that the output is a probability.
  const probe = new Float32Array(encoder.width);
  encoder.encode({}, probe, 0, Date.now());
  let result: ort.Tensor;
  try {
    const out = await session.run({ [spec.input.name]: new ort.Tensor('float32', probe, [1, encoder.width]) }, [spec.output.name]);
    result = out[spec.output.name]!;
  } catch (error) {
    throw invalid(`Model ${modelPath} failed on a ${encoder.width}-column row built from its spec: ${(error as Error).message}`, 'The spec\'s features must encode to the width the model was trained on.', error);
  }
  const cols = result.dims.length === 1 ? 1 : Number(result.dims[result.dims.length - 1]);
  const column = spec.output.column ?? cols - 1;
  const p = (result.data as Float32Array)[column];
  if (result.dims.length > 2 || column >= cols || p === undefined || !(p >= 0 && p <= 1)) {
    throw invalid(
      `Model ${modelPath} output "${spec.output.name}" is not a probability: shape [${result.dims.join(', ')}], column ${column} = ${p}.`,
      'The output must be [N] or [N, k] probabilities in 0..1; add a Sigmoid to a model that outputs a margin.',
    );
  }
  return cols;
}
