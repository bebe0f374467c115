/**
 * Runs a parsed query over the columnar store: conditions compile to closures over the typed
 * arrays, `Id = / Id IN` filters jump straight to their rows, ORDER BY sorts row numbers.
 * Semantics follow SOQL: `=` on text is case-insensitive, `!=` matches nulls, range operators
 * never match nulls, picklists sort in their defined order.
 */
import { canonicalId15 } from '../ids.js';
import type { EmulatedField } from '../schema.js';
import type { AccountStore } from '../store.js';
import { located, SoqlError } from './errors.js';
import type { CompareOp, Condition, Literal, ParsedQuery } from './parser.js';

type Predicate = (row: number) => boolean;

export function executeQuery(store: AccountStore, query: ParsedQuery, soql: string): Int32Array {
  const predicate = query.where ? compile(store, query.where, soql) : () => true;
  const candidates = query.where ? idCandidates(store, query.where) : undefined;
  const stopAt = query.orderBy.length === 0 && query.limit !== undefined ? query.limit : Number.POSITIVE_INFINITY;
  let rows: Int32Array;
  if (candidates) {
    rows = Int32Array.from(candidates.filter((row) => !store.isDeleted(row) && predicate(row)));
  } else {
    const out = new Int32Array(Math.min(store.size, Number.isFinite(stopAt) ? stopAt : store.size));
    let n = 0;
    const buffer = out;
    for (let row = 0; row < store.size && n < stopAt; row++) {
      if (!store.isDeleted(row) && predicate(row)) buffer[n++] = row;
    }
    rows = buffer.subarray(0, n);
  }
  if (query.orderBy.length > 0) rows = sortRows(store, rows, query);
  if (query.limit !== undefined && rows.length > query.limit) rows = rows.subarray(0, query.limit);
  return rows;
}

/** Rows named by a top-level `Id = …` / `Id IN (…)` (alone or inside an AND), in id order. */
function idCandidates(store: AccountStore, where: Condition): number[] | undefined {
  const fromCondition = (c: Condition): number[] | undefined => {
    if (c.kind === 'cmp' && c.field.storage === 'id' && c.op === '=' && c.value.type === 'string') return rowsOf(store, [c.value]);
    if (c.kind === 'in' && c.field.storage === 'id' && !c.negate) return rowsOf(store, c.values);
    return undefined;
  };
  if (where.kind === 'and') {
    for (const part of where.parts) {
      const rows = fromCondition(part);
      if (rows) return rows;
    }
    return undefined;
  }
  return fromCondition(where);
}

function rowsOf(store: AccountStore, values: Literal[]): number[] {
  const rows = new Set<number>();
  for (const v of values) {
    if (v.type !== 'string') continue;
    const found = store.locate(v.value);
    if (found.kind === 'found') rows.add(found.row);
  }
  return [...rows].sort((a, b) => a - b);
}

function compile(store: AccountStore, c: Condition, soql: string): Predicate {
  switch (c.kind) {
    case 'and': {
      const parts = c.parts.map((p) => compile(store, p, soql));
      return (row) => parts.every((p) => p(row));
    }
    case 'or': {
      const parts = c.parts.map((p) => compile(store, p, soql));
      return (row) => parts.some((p) => p(row));
    }
    case 'not': {
      const part = compile(store, c.part, soql);
      return (row) => !part(row);
    }
    case 'cmp':
      return comparison(store, c.field, c.op, c.value, soql);
    case 'in': {
      if (c.values.some((v) => v.type === 'null')) {
        throw new SoqlError('MALFORMED_QUERY', located(soql, c.values.find((v) => v.type === 'null')!.at, 'unexpected token: null'));
      }
      const parts = c.values.map((v) => comparison(store, c.field, '=', v, soql));
      return c.negate ? (row) => !parts.some((p) => p(row)) : (row) => parts.some((p) => p(row));
    }
  }
}

function typeError(soql: string, field: EmulatedField, value: Literal, expected: string, quoted: boolean): never {
  throw new SoqlError(
    'INVALID_QUERY_FILTER_OPERATOR',
    located(soql, value.at, `value of filter criterion for field '${field.name}' must be of type ${expected} and should ${quoted ? '' : 'not '}be enclosed in quotes`),
  );
}

function operatorError(soql: string, field: EmulatedField, value: Literal, op: CompareOp): never {
  throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', located(soql, value.at, `invalid operator on ${field.sfType} field: ${op} (${field.name})`));
}

function ordered(op: CompareOp, cmp: number): boolean {
  switch (op) {
    case '=':
      return cmp === 0;
    case '!=':
      return cmp !== 0;
    case '<':
      return cmp < 0;
    case '<=':
      return cmp <= 0;
    case '>':
      return cmp > 0;
    case '>=':
      return cmp >= 0;
  }
}

function comparison(store: AccountStore, field: EmulatedField, op: CompareOp, value: Literal, soql: string): Predicate {
  const isNull = value.type === 'null';
  if (isNull && op !== '=' && op !== '!=') operatorError(soql, field, value, op);
  switch (field.storage) {
    case 'id':
    case 'user': {
      if (op !== '=' && op !== '!=') operatorError(soql, field, value, op);
      if (isNull) return () => op === '!=';
      if (value.type !== 'string') typeError(soql, field, value, 'id', true);
      const id15 = canonicalId15(value.value);
      if (!id15) throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', located(soql, value.at, `invalid ID field: ${value.value}`));
      if (field.storage === 'id') {
        const found = store.locate(id15);
        const target = found.kind === 'found' ? found.row : -1;
        return op === '=' ? (row) => row === target : (row) => row !== target;
      }
      const users = store.codes(field.name);
      const matches = (row: number) => canonicalId15(store.userAt(users[row]!).id) === id15;
      return op === '=' ? matches : (row) => !matches(row);
    }
    case 'checkbox': {
      if (op !== '=' && op !== '!=') operatorError(soql, field, value, op);
      if (isNull) return () => op === '!=';
      if (value.type !== 'boolean') typeError(soql, field, value, 'boolean', false);
      const flags = store.codes(field.name);
      const want = value.value ? 1 : 0;
      return op === '=' ? (row) => flags[row] === want : (row) => flags[row] !== want;
    }
    case 'picklist': {
      const codes = store.codes(field.name);
      if (isNull) return op === '=' ? (row) => codes[row] === 0 : (row) => codes[row] !== 0;
      if (value.type !== 'string') typeError(soql, field, value, 'string', true);
      const wanted = value.value.toLowerCase();
      const lower = ['', ...field.values!.map((v) => v.toLowerCase())];
      if (op === '=' || op === '!=') {
        const code = lower.indexOf(wanted, 1);
        return op === '=' ? (row) => codes[row] === code : (row) => codes[row] !== code;
      }
      return (row) => codes[row] !== 0 && ordered(op, lower[codes[row]!]!.localeCompare(wanted));
    }
    case 'number':
    case 'datetime': {
      const nums = store.numbers(field.name);
      if (isNull) return op === '=' ? (row) => Number.isNaN(nums[row]!) : (row) => !Number.isNaN(nums[row]!);
      if (field.storage === 'number' && value.type !== 'number') typeError(soql, field, value, field.sfType === 'double' ? 'double' : field.sfType, false);
      if (field.storage === 'datetime' && value.type !== 'datetime') typeError(soql, field, value, 'dateTime', false);
      const x = (value as { value: number }).value;
      switch (op) {
        case '=':
          return (row) => nums[row] === x;
        case '!=':
          return (row) => nums[row] !== x;
        case '<':
          return (row) => nums[row]! < x;
        case '<=':
          return (row) => nums[row]! <= x;
        case '>':
          return (row) => nums[row]! > x;
        case '>=':
          return (row) => nums[row]! >= x;
      }
      break;
    }
    case 'text': {
      const column = store.text(field.name);
      if (isNull) return op === '=' ? (row) => column.get(row) === null : (row) => column.get(row) !== null;
      if (value.type !== 'string') typeError(soql, field, value, 'string', true);
      const wanted = value.value.toLowerCase();
      if (op === '!=') return (row) => column.get(row)?.toLowerCase() !== wanted;
      return (row) => {
        const v = column.get(row);
        return v !== null && ordered(op, v.toLowerCase() < wanted ? -1 : v.toLowerCase() > wanted ? 1 : 0);
      };
    }
  }
  throw new Error(`no comparison for ${field.name}`);
}

function sortRows(store: AccountStore, rows: Int32Array, query: ParsedQuery): Int32Array {
  // Materialise one key array per ORDER BY term (indexed by position in `rows`) so the comparator
  // reads arrays instead of re-deriving text values.
  const keys = query.orderBy.map((term) => {
    const { field } = term;
    const n = rows.length;
    if (field.storage === 'number' || field.storage === 'datetime') {
      const src = store.numbers(field.name);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = src[rows[i]!]!;
      return { term, nums: out };
    }
    if (field.storage === 'checkbox' || field.storage === 'picklist') {
      const src = store.codes(field.name);
      const out = new Float64Array(n);
      // Picklists sort by their defined order; 0 (null) becomes NaN so the null rule applies.
      for (let i = 0; i < n; i++) out[i] = field.storage === 'picklist' && src[rows[i]!] === 0 ? Number.NaN : src[rows[i]!]!;
      return { term, nums: out };
    }
    if (field.storage === 'id') {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = rows[i]!;
      return { term, nums: out };
    }
    const texts: (string | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = store.get(rows[i]!, field);
      texts[i] = v === null ? null : String(v).toLowerCase();
    }
    return { term, texts };
  });
  const compare = (a: number, b: number): number => {
    for (const key of keys) {
      const { descending, nullsLast } = key.term;
      let av: number | string | null;
      let bv: number | string | null;
      if (key.nums) {
        av = Number.isNaN(key.nums[a]!) ? null : key.nums[a]!;
        bv = Number.isNaN(key.nums[b]!) ? null : key.nums[b]!;
      } else {
        av = key.texts![a]!;
        bv = key.texts![b]!;
      }
      if (av === bv) continue;
      if (av === null) return nullsLast ? 1 : -1;
      if (bv === null) return nullsLast ? -1 : 1;
      const cmp = av < bv ? -1 : 1;
      return descending ? -cmp : cmp;
    }
    return a - b;
  };
  const order = query.limit !== undefined && query.limit < rows.length / 8 ? topK(rows.length, query.limit, compare) : fullSort(rows.length, compare);
  const out = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) out[i] = rows[order[i]!]!;
  return out;
}

function fullSort(n: number, compare: (a: number, b: number) => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort(compare);
}

/**
 * The first `k` positions in `compare` order without sorting everything (ORDER BY … LIMIT k over
 * a million rows): a max-heap of the best k seen; most rows lose to its root in one comparison.
 */
function topK(n: number, k: number, compare: (a: number, b: number) => number): Int32Array {
  if (k === 0) return new Int32Array(0);
  const heap = new Int32Array(k);
  let size = 0;
  const siftUp = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(heap[i]!, heap[parent]!) <= 0) return;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let largest = i;
      if (l < size && compare(heap[l]!, heap[largest]!) > 0) largest = l;
      if (r < size && compare(heap[r]!, heap[largest]!) > 0) largest = r;
      if (largest === i) return;
      [heap[i], heap[largest]] = [heap[largest]!, heap[i]!];
      i = largest;
    }
  };
  for (let i = 0; i < n; i++) {
    if (size < k) {
      heap[size++] = i;
      siftUp(size - 1);
    } else if (compare(i, heap[0]!) < 0) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.subarray(0, size).sort(compare);
}
