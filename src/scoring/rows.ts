/**
 * Re-scoring of raw Bulk query rows inside the scoring thread, for the nightly run: whole CSV records
 * in (one transferable buffer, parsed here) or rows as string arrays, Bulk ingest CSV lines out (one
 * string), only for records whose score, risk, model or reasons change. Parsing, comparing with the
 * current values and formatting stay beside the engine, so the host thread only finds where records
 * end and writes the upload, and per-record objects never exist at all.
 *
 * Reasons cost several times the score alone and only changed records need them. When most of the
 * previous batch changed (a new model, a first run) every record is scored with reasons at once;
 * otherwise the batch is scored without reasons first and only the changed records again with them.
 * Both paths give the same lines.
 */
import { bulkCsvCell, sameValue, type Failure } from '../core/rescore.js';
import { parseCsvRecords, type RecordBatch } from '../salesforce/csv-records.js';
import { toScore, type ScoringEngine } from './engine.js';
import { formatFactors, topFactors } from './reasons.js';

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
}

export interface RowsResult {
  /** Rows read from the request. */
  read: number;
  /** Bulk ingest CSV lines (Id + columns), `\n`-terminated, for the records to write. */
  lines: string;
  /** Records in `lines`. */
  changed: number;
  scored: number;
  unchanged: number;
  failed: Failure[];
}

/** Keeps what the previous batch looked like, to pick the cheaper path for the next one. */
export class RowsRescorer {
  private changedShare = 0;

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
    const scoreAt = at(o.score);
    const riskAt = at(o.risk);
    const modelAt = at(o.modelVersion);
    const factorsAt = at(o.factors);
    const cell = (values: readonly string[], index: number) => (index < 0 ? '' : (values[index] ?? ''));

    // Encode straight from the row values: no record object per row.
    const x = new Float32Array(rows.length * width);
    const ok: number[] = [];
    const failed: Failure[] = [];
    for (let i = 0; i < rows.length; i++) {
      const values = rows[i]!;
      const id = cell(values, idAt);
      if (id === '') {
        failed.push({ id: `#${i}`, code: 'SCORING_FAILED', message: `record ${i} has no ${spec.idField}` });
        continue;
      }
      const problem = encoder.encodeRow(values, columnOf, x, ok.length, nowMs);
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
      if (c === o.factors) return (_, __, factors) => (factors === null ? '#N/A' : bulkCsvCell(factors));
      if (c === o.modelVersion) return () => modelCell;
      if (c === o.scoredAt) return () => scoredAt;
      return () => '#N/A';
    });
    // Same score, risk and model (compared as the real-time path does): unchanged, unless reasons are
    // wanted and the record has none yet.
    const isUnchanged = (values: readonly string[], score: number, risk: string) =>
      sameValue(cell(values, scoreAt), score) &&
      sameValue(cell(values, riskAt), risk) &&
      sameValue(cell(values, modelAt), spec.modelVersion) &&
      (!request.reasons || cell(values, factorsAt) !== '');

    let scored = 0;
    let unchanged = 0;
    let changed = 0;
    let lines = '';
    const emit = (values: readonly string[], score: number, risk: string, factors: string | null) => {
      let line = bulkCsvCell(values[idAt]);
      for (const c of cells) line += `,${c(score, risk, factors)}`;
      lines += `${line}\n`;
      changed += 1;
    };
    const factorText = (values: readonly string[], points: Float64Array, k: number) =>
      formatFactors(topFactors(encoder, (g) => (columnOf[g]! < 0 ? undefined : values[columnOf[g]!]), points, k * groups, top), maxLength);
    const fail = (values: readonly string[], p: number) =>
      failed.push({ id: cell(values, idAt), code: 'SCORING_FAILED', message: `the model returned ${p} for this record` });

    const direct = request.reasons && this.changedShare > 0.5;
    const first = await engine.predictEncoded(x, ok.length, direct);
    const again: number[] = [];
    for (let k = 0; k < ok.length; k++) {
      const values = rows[ok[k]!]!;
      const p = first.probability[k]!;
      if (!Number.isFinite(p)) {
        fail(values, p);
        continue;
      }
      scored += 1;
      const score = toScore(p);
      const risk = engine.risk(score);
      if (isUnchanged(values, score, risk)) unchanged += 1;
      else if (request.reasons && !direct) again.push(k);
      else emit(values, score, risk, first.points ? factorText(values, first.points, k) : null);
    }
    if (again.length > 0) {
      // The changed rows again, with reasons, from their encodings.
      const y = new Float32Array(again.length * width);
      again.forEach((k, j) => y.set(x.subarray(k * width, (k + 1) * width), j * width));
      const second = await engine.predictEncoded(y, again.length, true);
      for (let j = 0; j < again.length; j++) {
        const values = rows[ok[again[j]!]!]!;
        const score = toScore(second.probability[j]!);
        emit(values, score, engine.risk(score), factorText(values, second.points!, j));
      }
    }
    if (rows.length > 0) this.changedShare = (rows.length - unchanged) / rows.length;
    return { read: rows.length, lines, changed, scored, unchanged, failed };
  }
}
