/**
 * Re-scoring of raw Bulk query rows inside the scoring thread, for the nightly run: whole CSV records
 * in (one transferable buffer, parsed here) or rows as string arrays, Bulk ingest CSV lines out (one
 * string), only for records that are not unchanged by the rule both paths share
 * (core/scored-fields.ts). Parsing, comparing with the current values and formatting stay beside the
 * engine, so the host thread only finds where records end and writes the upload, and per-record
 * objects never exist at all. The CSV wire format (parsing, cells, `#N/A`) comes from src/wire/.
 *
 * With reasons on, every record is scored with its reasons: the rule compares the reasons text, so
 * even a record whose score did not move needs them to be known unchanged.
 */
import { comparedFields, isUnchanged } from '../core/scored-fields.js';
import { bulkCsvCell, NULL_CELL, parseCsvRecords, type RecordBatch } from '../wire/bulk-csv.js';
import { copyLine } from '../wire/copy-text.js';
import { toScore, type ScoringEngine } from './engine.js';
import { formatFactors, topFactors } from './reasons.js';
import { driftTallyFor } from './drift.js';
import type { DriftCounts } from '../core/drift.js';

/** A record that could not be scored. */
export interface RowFailure {
  id: string;
  code: string;
  message: string;
}

export interface RowsRequest {
  /** Column names of the rows (the Bulk query CSV header). */
  header: readonly string[];
  /** The rows as string arrays in header order… */
  rows?: ReadonlyArray<readonly string[]>;
  /** …or as whole Bulk CSV records (UTF-8 bytes, parsed here; a transferable buffer between threads). */
  csv?: RecordBatch;
  /** Output fields written after Id, in this order. */
  columns: readonly string[];
  /** Compute and write reasons. */
  reasons: boolean;
  /** Scoring time (epoch ms): the same for every batch of a run, so a second pass gives the same lines. */
  now: number;
  /**
   * Also return the score history rows of the records to write (`history`, COPY text, one line per
   * line of `lines`, in the same order), for this run.
   */
  history?: { runId: string };
  /** Also return each scored record's score, risk and top reason (`scored`), for a shadow comparison. */
  keepScored?: boolean;
  /** Also count the rows and scores into the model's training reference bins (`drift`), when it has one. */
  drift?: boolean;
  /** Also return each row's label (`labels`, COPY text: run id, Account id, true/false) from this checkbox field. */
  labels?: { field: string; runId: string };
}

/**
 * One record in this many gets the shadow's top reason in the nightly run: on a 1,000,000-Account org
 * that is 100,000 records, enough to estimate the share whose top reason changes to within a few
 * tenths of a point, at a tenth of the cost of explaining every record.
 */
export const SHADOW_REASON_EVERY = 10;

/** What the champion said about every record it scored, for the shadow's rows. */
export interface ScoredRows {
  version: string;
  ids: string[];
  scores: number[];
  risks: string[];
  tops: Array<string | null>;
  /** Index of each scored record in the request's rows. */
  rowAt: number[];
}

export interface RowsResult {
  /** Rows read from the request. */
  read: number;
  /** Bulk ingest CSV lines (Id + columns), `\n`-terminated, for the records to write. */
  lines: string;
  /** Records in `lines`. */
  changed: number;
  /**
   * How far each record in `lines` moved, line for line: |new score − stored score| in score points
   * (100 when it had no score), so a run short of Bulk budget can write the largest moves first.
   */
  moves?: number[];
  scored: number;
  unchanged: number;
  failed: RowFailure[];
  /** Score history rows of the records in `lines` (COPY text), when asked for. */
  history?: string;
  scoredRows?: ScoredRows;
  /** Shadow score rows (COPY text) of the records both models scored, when a shadow compared. */
  shadow?: string;
  /** Why the shadow could not score the batch (the champion's result stands). */
  shadowError?: string;
  /** The rows' and scores' drift counts, when asked for and the model has a training reference. */
  drift?: DriftCounts;
  /** The labels of the rows that carry one (COPY text), when asked for. */
  labels?: string;
}

/** Re-scores rows with one engine (the thread keeps one per loaded model version). */
export class RowsRescorer {
  constructor(private readonly engine: ScoringEngine) {}

  async rescore(request: RowsRequest): Promise<RowsResult> {
    const { engine } = this;
    const { encoder, spec } = engine;
    const o = spec.outputFields;
    const { header } = request;
    const rows = request.csv ? parseCsvRecords(request.csv.bytes) : (request.rows ?? []);
    const nowMs = request.now;
    const width = encoder.width;
    const groups = encoder.groups.length;
    const columnOf = encoder.columnsIn(header);
    const at = (field: string) => header.indexOf(field);
    const idAt = at(spec.idField);
    const cell = (values: readonly string[], index: number) => (index < 0 ? '' : (values[index] ?? ''));

    // Encode straight from the row values: no record object per row.
    const x = new Float32Array(rows.length * width);
    const ok: number[] = [];
    const failed: RowFailure[] = [];
    const drift = request.drift ? driftTallyFor(spec, encoder) : undefined;
    const labelAt = request.labels ? at(request.labels.field) : -1;
    let labels = '';
    for (let i = 0; i < rows.length; i++) {
      const values = rows[i]!;
      const id = cell(values, idAt);
      if (labelAt >= 0 && id !== '') {
        // A Bulk CSV checkbox is "true" or "false"; anything else (blank) is no label.
        const label = values[labelAt];
        if (label === 'true' || label === 'false') labels += copyLine([request.labels!.runId, id, label]);
      }
      if (id === '') {
        failed.push({ id: `#${i}`, code: 'SCORING_FAILED', message: `record ${i} has no ${spec.idField}` });
        continue;
      }
      const problem = encoder.encodeRow(values, columnOf, x, ok.length, nowMs, engine.inputs, drift);
      if (problem) failed.push({ id, code: 'SCORING_FAILED', message: problem.message });
      else ok.push(i);
    }

    // Each output column read straight off the prediction, one ISO time for the batch.
    const scoredAt = new Date(nowMs).toISOString();
    const { top, maxLength } = spec.reasons;
    const modelCell = bulkCsvCell(spec.modelVersion);
    type Cell = (score: number, risk: string, factors: string | null) => string;
    const cells = request.columns.map((c): Cell => {
      if (c === o.score) return (score) => String(score);
      if (c === o.risk) return (_, risk) => risk;
      if (c === o.factors) return (_, __, factors) => (factors === null ? NULL_CELL : bulkCsvCell(factors));
      if (c === o.modelVersion) return () => modelCell;
      if (c === o.scoredAt) return () => scoredAt;
      return () => NULL_CELL;
    });
    // The rule both paths share, on the row's current values and what it would be written with.
    const compared = comparedFields(o, request.reasons);
    const currentAt = new Map(compared.map((f) => [f, at(f)]));

    let scored = 0;
    let unchanged = 0;
    let changed = 0;
    let lines = '';
    let history = '';
    const moves: number[] = [];
    const scoreAt = at(o.score);
    const keep: ScoredRows | undefined = request.keepScored ? { version: spec.modelVersion, ids: [], scores: [], risks: [], tops: [], rowAt: [] } : undefined;
    const { probability, points } = await engine.predictEncoded(x, ok.length, request.reasons);
    for (let k = 0; k < ok.length; k++) {
      const values = rows[ok[k]!]!;
      const p = probability[k]!;
      if (!Number.isFinite(p)) {
        failed.push({ id: cell(values, idAt), code: 'SCORING_FAILED', message: `the model returned ${p} for this record` });
        continue;
      }
      scored += 1;
      const score = toScore(p);
      drift?.score(score);
      const risk = engine.risk(score);
      const topList = points ? topFactors(encoder, (g) => (columnOf[g]! < 0 ? undefined : values[columnOf[g]!]), points, k * groups, top) : null;
      const factors = topList ? formatFactors(topList, maxLength) : null;
      if (keep) {
        keep.ids.push(cell(values, idAt));
        keep.scores.push(score);
        keep.risks.push(risk);
        keep.tops.push(topList?.[0]?.field ?? null);
        keep.rowAt.push(ok[k]!);
      }
      const next = (field: string): unknown =>
        field === o.score ? score : field === o.risk ? risk : field === o.modelVersion ? spec.modelVersion : field === o.factors ? (factors ?? undefined) : undefined;
      if (isUnchanged(compared, (field) => cell(values, currentAt.get(field) ?? -1), next)) {
        unchanged += 1;
        continue;
      }
      const before = scoreAt < 0 ? '' : (values[scoreAt] ?? '');
      const moved = before === '' ? 100 : Math.abs(score - Number(before));
      moves.push(Number.isFinite(moved) ? moved : 100);
      let line = bulkCsvCell(values[idAt]);
      for (const c of cells) line += `,${c(score, risk, factors)}`;
      lines += `${line}\n`;
      if (request.history) history += copyLine([values[idAt]!, scoredAt, score, risk, factors, spec.modelVersion, 'nightly', request.history.runId]);
      changed += 1;
    }
    return { read: rows.length, lines, changed, moves, scored, unchanged, failed, ...(request.history ? { history } : {}), ...(keep ? { scoredRows: keep } : {}), ...(drift ? { drift: drift.take() } : {}), ...(request.labels ? { labels } : {}) };
  }

  /**
   * This engine as the shadow: scores the rows the champion scored and returns the shadow rows (COPY
   * text, columns as db/shadow.ts's SHADOW_COLUMNS) of the records both scored. Nothing of it is
   * written to Salesforce. Scores and bands are compared for every record; the top reason (which costs
   * an explanation per record, most of the scoring time) for one record in `reasonEvery`, the others
   * carry none and `models compare` counts top reasons over the records that have both.
   */
  async compare(request: RowsRequest & { rows: ReadonlyArray<readonly string[]> }, champion: ScoredRows, path: string, reasonEvery = SHADOW_REASON_EVERY): Promise<string> {
    const { engine } = this;
    const { encoder, spec } = engine;
    const width = encoder.width;
    const columnOf = encoder.columnsIn(request.header);
    const groups = encoder.groups.length;
    const x = new Float32Array(champion.rowAt.length * width);
    const ok: number[] = [];
    for (let j = 0; j < champion.rowAt.length; j++) {
      if (!encoder.encodeRow(request.rows[champion.rowAt[j]!]!, columnOf, x, ok.length, request.now)) ok.push(j);
    }
    const { probability } = await engine.predictEncoded(x, ok.length, false);
    // The sampled records again, with their explanations.
    const sampled = request.reasons ? ok.map((_, k) => k).filter((k) => champion.rowAt[ok[k]!]! % reasonEvery === 0) : [];
    const tops = new Map<number, string | null>();
    if (sampled.length > 0) {
      const y = new Float32Array(sampled.length * width);
      sampled.forEach((k, i) => y.set(x.subarray(k * width, (k + 1) * width), i * width));
      const { points } = await engine.predictEncoded(y, sampled.length, true);
      sampled.forEach((k, i) => {
        const values = request.rows[champion.rowAt[ok[k]!]!]!;
        tops.set(k, topFactors(encoder, (g) => (columnOf[g]! < 0 ? undefined : values[columnOf[g]!]), points!, i * groups, 1)[0]?.field ?? null);
      });
    }
    const scoredAt = new Date(request.now).toISOString();
    let out = '';
    for (let k = 0; k < ok.length; k++) {
      const p = probability[k]!;
      if (!Number.isFinite(p)) continue;
      const j = ok[k]!;
      const score = toScore(p);
      const sampledTop = tops.has(k);
      out += copyLine([champion.ids[j]!, scoredAt, path, champion.version, spec.modelVersion, champion.scores[j]!, score, champion.risks[j]!, engine.risk(score), sampledTop ? champion.tops[j]! : null, sampledTop ? tops.get(k)! : null]);
    }
    return out;
  }
}
