/**
 * Builds a feature spec from training records: one feature per input field of core/account-fields.ts,
 * with imputation defaults and reason references measured on the training rows.
 *
 * Documented defaults:
 * - number/currency/percent: blank or unusable → the training median; reference: the median;
 *   plausible range 0 (or below, when training saw negatives) to ten times the next power of ten
 *   above the largest value seen: a value outside it fails the record instead of being scored.
 * - checkbox: blank or unusable → the more common value; references: true and false, weighted by
 *   their training frequency.
 * - picklist: one column per declared value plus "unknown"; blank or unseen → the unknown column and
 *   the most common level (the trees never saw an unknown); references: every level seen, weighted by
 *   frequency.
 * - datetime: days since the value at scoring time; blank → the training median.
 */
import { INPUT_FIELDS, OUTPUT, type AccountField } from '../core/account-fields.js';
import { ValueState, createEncoder, type AccountRecord } from '../scoring/encoder.js';
import { parseSpec, type FeatureSpec, type SpecInput } from '../scoring/spec.js';

type FeatureInput = SpecInput['features'][number];

/**
 * A plausible range for a number: from 0 up to ten times the power of ten above the largest value
 * seen. Telco tenure of up to 72 months gives 0..1000; monthly charges up to 118.75 give 0..10000.
 * Amounts (currency) and counts (tenure) are never negative: a negative one in the training data is a
 * data-entry error, counted and reported as out of range (train's output, the model card), not a
 * reason to widen the range. Other numbers that training saw below zero start at ten times the
 * largest negative power of ten.
 */
function plausibleRange(values: readonly number[], neverNegative: boolean): { min: number; max: number } | Record<string, never> {
  if (values.length === 0) return {};
  const decade = (x: number) => 10 ** (Math.ceil(Math.log10(Math.max(1, Math.abs(x)))) + 1);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { min: lo >= 0 || neverNegative ? 0 : -decade(lo), max: decade(hi) };
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Reads each record's value through the same encoder code the scoring engine uses. */
function probe(def: FeatureInput, records: readonly AccountRecord[], nowMs: number): { values: number[]; missing: number } {
  const enc = createEncoder(parseSpec({ ...PLACEHOLDER, features: [def] }, 'probe'));
  const g = enc.groups[0]!;
  const out = new Float32Array(g.width);
  const values: number[] = [];
  let missing = 0;
  for (const r of records) {
    const state = g.write(r[g.field], out, 0, nowMs);
    if (state === ValueState.Ok) values.push(g.width === 1 ? out[0]! : out.indexOf(1));
    else missing++;
  }
  return { values, missing };
}

const PLACEHOLDER = {
  specVersion: 1 as const,
  modelVersion: 'unfitted',
  input: { name: 'features' },
  output: { name: 'probability' },
  riskBands: { high: 50, medium: 25 },
};

function fitFeature(field: AccountField, records: readonly AccountRecord[], nowMs: number): FeatureInput {
  const name = field.name;
  switch (field.type) {
    case 'checkbox': {
      const { values } = probe({ field: name, encoding: 'checkbox', impute: false, reference: [{ value: false, weight: 1 }] }, records, nowMs);
      const share = values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0;
      const reference = [
        { value: true, weight: share },
        { value: false, weight: 1 - share },
      ].filter((r) => r.weight > 0);
      return { field: name, encoding: 'checkbox', impute: share > 0.5, reference };
    }
    case 'picklist': {
      const levels = [...(field.values ?? [])];
      const stub: FeatureInput = { field: name, encoding: 'picklist', levels, reference: [{ value: null, weight: 1 }] };
      const { values } = probe(stub, records, nowMs);
      const counts = levels.map((_, i) => values.filter((v) => v === i).length);
      const mode = counts.indexOf(Math.max(...counts));
      const reference = levels.map((value, i) => ({ value, weight: counts[i]! / Math.max(1, values.length) })).filter((r) => r.weight > 0);
      return { field: name, encoding: 'picklist', levels, unknownColumn: true, impute: levels[mode], reference: reference.length ? reference : [{ value: null, weight: 1 }] };
    }
    case 'datetime': {
      const { values } = probe({ field: name, encoding: 'date', impute: 0, reference: [{ value: 0, weight: 1 }] }, records, nowMs);
      const m = Math.round(median(values));
      return { field: name, encoding: 'date', impute: m, reference: [{ value: m, weight: 1 }] };
    }
    default: {
      const { values } = probe({ field: name, encoding: 'number', impute: 0, reference: [{ value: 0, weight: 1 }] }, records, nowMs);
      const m = median(values);
      return { field: name, encoding: 'number', impute: m, reference: [{ value: m, weight: 1 }], ...plausibleRange(values, field.type === 'currency' || (field.type === 'number' && field.scale === 0)) };
    }
  }
}

export interface FitSpecOptions {
  modelVersion?: string;
  inputName?: string;
  outputName?: string;
  fields?: readonly AccountField[];
  now?: Date;
}

export function fitSpec(records: readonly AccountRecord[], options: FitSpecOptions = {}): FeatureSpec {
  const nowMs = (options.now ?? new Date()).getTime();
  const fields = options.fields ?? INPUT_FIELDS;
  return parseSpec({
    ...PLACEHOLDER,
    modelVersion: options.modelVersion ?? 'unfitted',
    idField: 'Id',
    input: { name: options.inputName ?? 'features' },
    output: { name: options.outputName ?? 'probability' },
    features: fields.map((f) => fitFeature(f, records, nowMs)),
    // High: more likely than not to churn. Medium: at or above roughly the base churn rate (26.7%).
    riskBands: { high: 50, medium: 25 },
    outputFields: { ...OUTPUT },
    reasons: { top: 3, maxLength: 255 },
  }, 'fitted spec');
}
