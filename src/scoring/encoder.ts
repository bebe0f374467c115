/**
 * Turns Account records into the model's float rows, as the spec says. Records come in the shapes
 * Salesforce produces: REST JSON has real booleans and numbers (or null); Bulk API CSV has
 * "true"/"false" and numeric strings (or ""); the Telco CSV has "Yes"/"No" and "0"/"1". All are
 * accepted. A blank or unusable value is imputed with the spec's documented default, so no row ever
 * holds NaN; only a field marked `required` turns it into a per-record error. A number outside the
 * spec's plausible range (`min`/`max`) always does: scoring it would be scoring junk. So does a finite
 * number past float32's ±3.4e38, which the model's row cannot hold (it would become an infinity).
 */
import type { FeatureDef, FeatureSpec } from './spec.js';

/** Receives each field's state and encoded position as a record is encoded (drift counting, scoring/drift.ts). */
export interface FieldObserver {
  add(group: number, state: ValueState, out: Float32Array, at: number): void;
  row(): void;
}

export type AccountRecord = Readonly<Record<string, unknown>>;

/** How a field's value was read. */
export enum ValueState {
  Ok = 0,
  /** null, undefined or a blank string. */
  Missing = 1,
  /** Present but not usable for this encoding (wrong type, not a number, unseen picklist value). */
  Unusable = 2,
  /** A number outside the spec's plausible range: the record fails, whether or not the field is required. */
  OutOfRange = 3,
}

export interface Group {
  readonly field: string;
  readonly def: FeatureDef;
  /** First column of this field in a row. */
  readonly offset: number;
  readonly width: number;
  readonly columns: readonly string[];
  /** Reference encodings the explainer swaps in, each with its weight (weights sum to 1). */
  readonly references: readonly { slice: Float32Array; weight: number }[];
  /** Writes the value's columns at `out[base + offset ...]`; returns how the value was read. */
  write(value: unknown, out: Float32Array, base: number, nowMs: number): ValueState;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * How many values of each field were not read as given: blank (imputed), unusable (imputed: not a
 * number, an unseen picklist value, a wrong type) and out of range (the record failed). Counts sit at
 * `counts[group * 4 + state]`, so encoding adds one increment per odd value and nothing otherwise.
 */
export interface InputTally {
  readonly counts: Uint32Array;
  /** Records encoded into it. */
  records: number;
}

export function newInputTally(encoder: Pick<Encoder, 'groups'>): InputTally {
  return { counts: new Uint32Array(encoder.groups.length * 4), records: 0 };
}

export interface FieldInputCounts {
  field: string;
  blank: number;
  unusable: number;
  outOfRange: number;
}

/** The fields with at least one odd value, in spec order. */
export function summarizeTally(encoder: Pick<Encoder, 'groups'>, tally: InputTally): FieldInputCounts[] {
  const out: FieldInputCounts[] = [];
  encoder.groups.forEach((g, k) => {
    const blank = tally.counts[k * 4 + ValueState.Missing]!;
    const unusable = tally.counts[k * 4 + ValueState.Unusable]!;
    const outOfRange = tally.counts[k * 4 + ValueState.OutOfRange]!;
    if (blank + unusable + outOfRange > 0) out.push({ field: g.field, blank, unusable, outOfRange });
  });
  return out;
}

/**
 * One line for a person: "Tenure_Months__c: 3 unusable; Monthly_Charges__c: 2 out of range", and what
 * happens to each kind (blank and unusable values are imputed; scoring refuses out-of-range ones).
 */
export function describeTally(summary: readonly FieldInputCounts[], records: number): string {
  if (summary.length === 0) return `all ${records} records' values were used as given`;
  const part = (n: number, what: string) => (n > 0 ? `${n} ${what}` : '');
  const fields = summary.map((f) => `${f.field}: ${[part(f.blank, 'blank'), part(f.unusable, 'unusable'), part(f.outOfRange, 'out of range')].filter(Boolean).join(', ')}`).join('; ');
  return `${fields} (of ${records} records; blank and unusable values are imputed, out-of-range ones are data errors that scoring refuses)`;
}

const DAY_MS = 86_400_000;

/** A number the model's float32 row can hold: a finite double past ±3.4e38 becomes ±Infinity there. */
const fitsRow = (n: number): boolean => Number.isFinite(Math.fround(n));

// Readers return the value or one of these markers; markers cannot collide with a real value (the
// enum's numbers could: a tenure of 1 or 2 months).
const MISSING: unique symbol = Symbol('missing');
const UNUSABLE: unique symbol = Symbol('unusable');
type Marker = typeof MISSING | typeof UNUSABLE;
const stateOf = (m: Marker): ValueState => (m === MISSING ? ValueState.Missing : ValueState.Unusable);

function readNumber(value: unknown): number | Marker {
  if (typeof value === 'number') return Number.isFinite(value) ? value : UNUSABLE;
  if (value === null || value === undefined) return MISSING;
  if (typeof value === 'string') {
    const t = value.trim();
    if (t === '') return MISSING;
    // Number() accepts "", "0x1f" and "1e3"; a plain decimal pattern keeps "12abc" and hex out.
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return UNUSABLE;
    return Number(t);
  }
  return UNUSABLE;
}

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);

function readCheckbox(value: unknown): boolean | Marker {
  if (typeof value === 'boolean') return value;
  if (value === null || value === undefined) return MISSING;
  if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : UNUSABLE;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    if (t === '') return MISSING;
    if (TRUE_WORDS.has(t)) return true;
    if (FALSE_WORDS.has(t)) return false;
  }
  return UNUSABLE;
}

function readDateMs(value: unknown): number | Marker {
  if (value === null || value === undefined) return MISSING;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? UNUSABLE : value.getTime();
  if (typeof value === 'string') {
    if (value.trim() === '') return MISSING;
    const ms = Date.parse(value.trim());
    return Number.isNaN(ms) ? UNUSABLE : ms;
  }
  return UNUSABLE;
}

function numericGroup(def: Extract<FeatureDef, { encoding: 'number' | 'date' }>, offset: number): Omit<Group, 'references'> {
  const columns = [def.field];
  if (def.encoding === 'number') {
    const min = def.min ?? Number.NEGATIVE_INFINITY;
    const max = def.max ?? Number.POSITIVE_INFINITY;
    return {
      field: def.field, def, offset, width: 1, columns,
      write(value, out, base) {
        const v = readNumber(value);
        if (typeof v === 'symbol') {
          out[base + offset] = def.impute;
          return stateOf(v);
        }
        if (!fitsRow(v)) {
          out[base + offset] = def.impute;
          return ValueState.OutOfRange;
        }
        out[base + offset] = v;
        return v < min || v > max ? ValueState.OutOfRange : ValueState.Ok;
      },
    };
  }
  return {
    field: def.field, def, offset, width: 1, columns,
    write(value, out, base, nowMs) {
      const ms = readDateMs(value);
      if (typeof ms === 'symbol') {
        out[base + offset] = def.impute;
        return stateOf(ms);
      }
      out[base + offset] = (nowMs - ms) / DAY_MS;
      return ValueState.Ok;
    },
  };
}

function checkboxGroup(def: Extract<FeatureDef, { encoding: 'checkbox' }>, offset: number): Omit<Group, 'references'> {
  const imputed = def.impute ? 1 : 0;
  return {
    field: def.field, def, offset, width: 1, columns: [def.field],
    write(value, out, base) {
      const v = readCheckbox(value);
      if (typeof v === 'symbol') {
        out[base + offset] = imputed;
        return stateOf(v);
      }
      out[base + offset] = v ? 1 : 0;
      return ValueState.Ok;
    },
  };
}

function picklistGroup(def: Extract<FeatureDef, { encoding: 'picklist' }>, offset: number): Omit<Group, 'references'> {
  const index = new Map(def.levels.map((l, i) => [l, i]));
  // Salesforce compares picklist values case-insensitively on save; accept a different case here too.
  const folded = new Map(def.levels.map((l, i) => [l.toLowerCase(), i]));
  const width = def.levels.length + (def.unknownColumn ? 1 : 0);
  const imputeIndex = def.impute === undefined ? -1 : index.get(def.impute)!;
  const columns = [...def.levels.map((l) => `${def.field}=${l}`), ...(def.unknownColumn ? [`${def.field}=(unknown)`] : [])];
  return {
    field: def.field, def, offset, width, columns,
    write(value, out, base) {
      const start = base + offset;
      out.fill(0, start, start + width);
      let state: ValueState;
      let i: number | undefined;
      if (value === null || value === undefined || (typeof value === 'string' && value.trim() === '')) {
        state = ValueState.Missing;
      } else if (typeof value === 'string' || typeof value === 'number') {
        const s = String(value).trim();
        i = index.get(s) ?? folded.get(s.toLowerCase());
        state = i === undefined ? ValueState.Unusable : ValueState.Ok;
      } else {
        state = ValueState.Unusable;
      }
      if (i !== undefined) {
        out[start + i] = 1;
        return state;
      }
      if (def.unknownColumn) out[start + def.levels.length] = 1;
      if (imputeIndex >= 0) out[start + imputeIndex] = 1;
      return state;
    },
  };
}

export interface Encoder {
  readonly width: number;
  readonly groups: readonly Group[];
  readonly columns: readonly string[];
  /**
   * Encodes one record into row `row` of `out`. Returns a problem for a number outside its plausible
   * range and for a `required` field that is blank or unusable; every other field is imputed.
   */
  encode(record: AccountRecord, out: Float32Array, row: number, nowMs: number, tally?: InputTally, observer?: FieldObserver): FieldProblem | null;
  /**
   * The same for a row of values (a Bulk query CSV row), without building a record: `columnOf[g]` is
   * the index in `values` of group g's field, or -1 when the row does not carry it.
   */
  encodeRow(values: readonly string[], columnOf: Int32Array, out: Float32Array, row: number, nowMs: number, tally?: InputTally, observer?: FieldObserver): FieldProblem | null;
  /** `columnOf` for `encodeRow`, from a header of field names. */
  columnsIn(header: readonly string[]): Int32Array;
}

function referenceSlices(group: Omit<Group, 'references'>): Group['references'] {
  const def = group.def;
  const items: { value: unknown; weight: number }[] = def.reference.map((r) => ({
    // A date reference is already "days ago"; encode it through the number path.
    value: r.value === null ? undefined : r.value,
    weight: r.weight,
  }));
  const total = items.reduce((s, r) => s + r.weight, 0);
  // The writers close over their offset, so build a fresh one at offset 0 for the slice.
  const writer =
    def.encoding === 'picklist' ? picklistGroup(def, 0)
    : def.encoding === 'checkbox' ? checkboxGroup(def, 0)
    : numericGroup({ ...def, encoding: 'number' }, 0);
  return items.map((r) => {
    const slice = new Float32Array(group.width);
    writer.write(r.value, slice, 0, 0);
    return { slice, weight: r.weight / total };
  });
}

export function createEncoder(spec: FeatureSpec): Encoder {
  const groups: Group[] = [];
  let offset = 0;
  for (const def of spec.features) {
    const g =
      def.encoding === 'picklist' ? picklistGroup(def, offset)
      : def.encoding === 'checkbox' ? checkboxGroup(def, offset)
      : numericGroup(def, offset);
    groups.push({ ...g, references: referenceSlices(g) });
    offset += g.width;
  }
  const width = offset;
  return {
    width,
    groups,
    columns: groups.flatMap((g) => g.columns),
    encode(record, out, row, nowMs, tally, observer) {
      const base = row * width;
      if (tally) tally.records++;
      observer?.row();
      for (let k = 0; k < groups.length; k++) {
        const g = groups[k]!;
        const state = g.write(record[g.field], out, base, nowMs);
        if (state !== ValueState.Ok && tally) tally.counts[k * 4 + state]!++;
        observer?.add(k, state, out, base + g.offset);
        if (state === ValueState.OutOfRange || (state !== ValueState.Ok && g.def.required)) {
          return { field: g.field, message: describeProblem(g, state, record[g.field]) };
        }
      }
      return null;
    },
    encodeRow(values, columnOf, out, row, nowMs, tally, observer) {
      const base = row * width;
      if (tally) tally.records++;
      observer?.row();
      for (let k = 0; k < groups.length; k++) {
        const g = groups[k]!;
        const at = columnOf[k]!;
        const value = at < 0 ? undefined : values[at];
        const state = g.write(value, out, base, nowMs);
        if (state !== ValueState.Ok && tally) tally.counts[k * 4 + state]!++;
        observer?.add(k, state, out, base + g.offset);
        if (state === ValueState.OutOfRange || (state !== ValueState.Ok && g.def.required)) return { field: g.field, message: describeProblem(g, state, value) };
      }
      return null;
    },
    columnsIn(header) {
      return Int32Array.from(groups, (g) => header.indexOf(g.field));
    },
  };
}

function describeProblem(group: Pick<Group, 'field' | 'def'>, state: ValueState, value: unknown): string {
  const { field, def } = group;
  if (state === ValueState.Missing) return `${field} is blank and the spec marks it required`;
  if (state === ValueState.OutOfRange && def.encoding === 'number') {
    const n = typeof value === 'number' ? value : Number(String(value).trim());
    if (!fitsRow(n) && (def.min ?? -Infinity) <= n && n <= (def.max ?? Infinity)) {
      return `${field} is ${String(value).slice(0, 30)}, beyond the ±3.4e38 a model input can hold`;
    }
    return `${field} is ${String(value).slice(0, 30)}, outside the model's plausible range ${def.min ?? '-∞'} to ${def.max ?? '∞'}`;
  }
  return `${field} has an unusable value ${JSON.stringify(value)?.slice(0, 60) ?? String(value)}`;
}

/** The value as the factor text shows it: short, and "(blank)" for nothing. */
export function displayValue(value: unknown): string {
  if (value === null || value === undefined || (typeof value === 'string' && value.trim() === '')) return '(blank)';
  const s = typeof value === 'string' ? value.trim() : value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}
