/**
 * Labelled training data: Account-shaped records (keyed by Account field API names) and 0/1 labels.
 * The Telco CSV's columns map to Account fields through `csvColumn` in core/account-fields.ts, so the
 * trainer, the evaluator and the worker all see records in the same shape.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCsvWithHeader } from '../wire/bulk-csv.js';
import { ACCOUNT_FIELDS, INPUT_FIELDS, LABEL_FIELD } from '../core/account-fields.js';
import { AppError } from '../core/errors.js';
import type { AccountRecord } from '../scoring/encoder.js';

export interface LabelledData {
  records: AccountRecord[];
  labels: Uint8Array;
  /** Where the data came from (a file path or "salesforce"). */
  source: string;
  /** sha256 of the bytes the data was read from. */
  sha256: string;
}

function invalid(message: string, hint?: string, details?: Record<string, unknown>): AppError {
  return new AppError({ code: 'TRAINING_DATA_INVALID', message, hint, details });
}

const TRUE = new Set(['yes', 'true', '1']);
const FALSE = new Set(['no', 'false', '0']);

/** A label as Salesforce or the CSV spell it; undefined when it is neither. */
export function parseLabel(value: unknown): 0 | 1 | undefined {
  if (value === true || value === 1) return 1;
  if (value === false || value === 0) return 0;
  if (typeof value !== 'string') return undefined;
  const t = value.trim().toLowerCase();
  return TRUE.has(t) ? 1 : FALSE.has(t) ? 0 : undefined;
}

/** Checks the labels: both classes present, every one valid. */
export function checkLabels(raw: readonly unknown[], source: string, rowName: (i: number) => string): Uint8Array {
  if (raw.length === 0) throw invalid(`${source} has no data rows.`);
  const labels = new Uint8Array(raw.length);
  const bad: string[] = [];
  raw.forEach((v, i) => {
    const l = parseLabel(v);
    if (l === undefined) bad.push(`${rowName(i)}: ${JSON.stringify(v)}`);
    else labels[i] = l;
  });
  if (bad.length > 0) {
    throw invalid(
      `${source} has ${bad.length} label${bad.length === 1 ? '' : 's'} (${LABEL_FIELD.csvColumn} / ${LABEL_FIELD.name}) that are not Yes/No, true/false or 1/0: ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ', …' : ''}.`,
      'Fix or remove those rows.',
      { badLabels: bad.length },
    );
  }
  const positives = labels.reduce((s, l) => s + l, 0);
  if (positives === 0 || positives === labels.length) {
    throw invalid(
      `${source} has a single class: all ${labels.length} rows are ${positives === 0 ? 'not churned' : 'churned'}.`,
      'Training needs both churned and retained customers.',
    );
  }
  return labels;
}

export function parseTrainingCsv(bytes: Buffer | string, source: string): LabelledData {
  let rows: Record<string, string>[];
  let header: Set<string>;
  try {
    const parsed = parseCsvWithHeader(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
    // The header first, so a file with the wrong columns is reported as such, not as ragged rows.
    header = new Set(parsed.header);
    const needed = [...INPUT_FIELDS, LABEL_FIELD].map((f) => f.csvColumn!);
    const missing = needed.filter((c) => !header.has(c));
    if (missing.length > 0) {
      throw invalid(`${source} is missing column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}.`, 'The file must have the Telco Customer Churn columns (see models/README.md).', { missing });
    }
    rows = parsed.rows;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError({ code: 'TRAINING_DATA_INVALID', message: `${source} is not readable CSV: ${(error as Error).message}`, cause: error });
  }
  if (rows.length === 0) throw invalid(`${source} has no data rows.`);
  const mapped = ACCOUNT_FIELDS.filter((f) => f.csvColumn && header.has(f.csvColumn) && f.role !== 'label');
  const key = ACCOUNT_FIELDS.find((f) => f.role === 'key');
  const records = rows.map((row, i) => {
    const rec: Record<string, unknown> = {};
    for (const f of mapped) rec[f.name] = row[f.csvColumn!];
    // The scoring engine keys results by Id; the CSV's customer id stands in for it.
    rec.Id = (key?.csvColumn && row[key.csvColumn]) || `row-${i + 2}`;
    return rec;
  });
  const labels = checkLabels(rows.map((r) => r[LABEL_FIELD.csvColumn!]), source, (i) => `line ${i + 2}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { records, labels, source, sha256 };
}

export function readTrainingCsv(path: string): LabelledData {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new AppError({
      code: 'TRAINING_DATA_INVALID',
      message: `Labelled CSV ${resolve(path)} ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`}.`,
      hint: 'Give --csv the path of a CSV with the spec\'s fields and a Churn label column (models/README.md).',
      cause: error,
    });
  }
  return parseTrainingCsv(bytes, path);
}
