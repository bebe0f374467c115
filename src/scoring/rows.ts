/**
 * Re-scoring of raw Bulk query rows inside the scoring thread, for the nightly run: rows in (the CSV
 * header and string arrays, cheap to pass between threads), Bulk ingest CSV lines out (one string),
 * only for records whose score, risk, model or reasons change. Building record objects, comparing with
 * the current values and formatting stay beside the engine, so the host thread only parses the
 * download and writes the upload, and per-record objects never cross the thread boundary.
 *
 * Reasons cost several times the score alone and only changed records need them. When most of the
 * previous batch changed (a new model, a first run) every record is scored with reasons at once;
 * otherwise the batch is scored without reasons first and only the changed records again with them.
 * Both paths give the same lines.
 */
import { bulkCsvCell, isNoOp, type Failure } from '../core/rescore.js';
import { isFailure, type Prediction, type ScoringEngine } from './engine.js';
import { formatFactors } from './reasons.js';

export interface RowsRequest {
  /** Column names of the rows (the Bulk query CSV header). */
  header: readonly string[];
  rows: ReadonlyArray<readonly string[]>;
  /** Output fields written after Id, in this order. */
  columns: readonly string[];
  /** Compute and write reasons. */
  reasons: boolean;
  /** Scoring time (epoch ms): the same for every batch of a run, so a second pass gives the same lines. */
  now: number;
}

export interface RowsResult {
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
    const o = engine.spec.outputFields;
    const compared = [o.score, o.risk, o.modelVersion];
    const now = new Date(request.now);
    const records: Array<Record<string, string>> = request.rows.map((values) => {
      const record: Record<string, string> = {};
      for (let k = 0; k < request.header.length; k++) record[request.header[k]!] = values[k] ?? '';
      return record;
    });
    const failed: Failure[] = [];
    let scored = 0;
    let unchanged = 0;
    let changed = 0;
    let lines = '';

    // Each output column read straight off the prediction: no field object per record, one ISO time.
    const scoredAt = now.toISOString();
    const maxLength = engine.spec.reasons.maxLength;
    const cells = request.columns.map((c): ((p: Prediction) => string) => {
      if (c === o.score) return (p) => String(p.score);
      if (c === o.risk) return (p) => p.risk;
      if (c === o.factors) return (p) => (p.factors ? bulkCsvCell(formatFactors(p.factors, maxLength)) : '#N/A');
      if (c === o.modelVersion) return (p) => bulkCsvCell(p.modelVersion);
      if (c === o.scoredAt) return () => scoredAt;
      return () => '#N/A';
    });
    const isUnchanged = (record: Record<string, string>, p: Prediction) =>
      // Same score, risk and model: unchanged, unless reasons are wanted and the record has none yet.
      isNoOp(record, { [o.score]: p.score, [o.risk]: p.risk, [o.modelVersion]: p.modelVersion }, compared) && (!request.reasons || (record[o.factors] ?? '') !== '');
    const emit = (record: Record<string, string>, p: Prediction) => {
      let line = bulkCsvCell(record.Id);
      for (const cell of cells) line += `,${cell(p)}`;
      lines += `${line}\n`;
      changed += 1;
    };

    const direct = request.reasons && this.changedShare > 0.5;
    const first = await engine.score(records, { reasons: direct, now });
    const again: number[] = [];
    for (let i = 0; i < first.length; i++) {
      const r = first[i]!;
      const record = records[i]!;
      if (isFailure(r)) {
        failed.push({ id: record.Id ?? r.id, code: r.error.code, message: r.error.message });
        continue;
      }
      scored += 1;
      if (isUnchanged(record, r)) unchanged += 1;
      else if (request.reasons && !direct) again.push(i);
      else emit(record, r);
    }
    if (again.length > 0) {
      const second = await engine.score(
        again.map((i) => records[i]!),
        { reasons: true, now },
      );
      for (let k = 0; k < again.length; k++) {
        const r = second[k]!;
        const record = records[again[k]!]!;
        if (isFailure(r)) {
          scored -= 1;
          failed.push({ id: record.Id ?? r.id, code: r.error.code, message: r.error.message });
        } else emit(record, r);
      }
    }
    if (records.length > 0) this.changedShare = (records.length - unchanged) / records.length;
    return { lines, changed, scored, unchanged, failed };
  }
}
