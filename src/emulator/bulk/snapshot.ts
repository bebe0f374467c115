/**
 * The results of a completed Bulk query job, fixed as they were when it completed. Salesforce keeps
 * a query job's results as stored data ("When a job is deleted, job data stored by Salesforce is
 * deleted", api_asynch query_delete_job.htm) and a locator "does not change … you can use the locator
 * to retrieve a set of results multiple times" as long as the job exists (query_get_job_results.htm),
 * so a page read again, say after its download broke off, holds the same values even when the
 * records were updated meanwhile (by the caller's own ingest jobs, typically).
 *
 * Copy-on-write, so a job nobody writes to costs nothing: the store reports each value about to be
 * overwritten, and the first one per (record, field) of the job's results is kept. A position index
 * (row → position in the results, 4 bytes per Account) and one array per written field are allocated
 * on the first write.
 */
import type { EmulatedField } from '../schema.js';
import type { AccountStore, FieldValue } from '../store.js';

interface FieldPriors {
  captured: Uint8Array;
  values: Float64Array | FieldValue[];
}

export class ResultSnapshot {
  private positions?: Int32Array;
  private readonly priors = new Map<string, FieldPriors>();
  private readonly selected: ReadonlySet<string>;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: AccountStore,
    private readonly rows: Int32Array,
    fields: readonly EmulatedField[],
  ) {
    this.selected = new Set(fields.map((f) => f.name));
    this.unsubscribe = store.onBeforeWrite((row, field, previous) => this.capture(row, field, previous));
  }

  /** Stops keeping values (the job was deleted). */
  release(): void {
    this.unsubscribe();
    this.priors.clear();
    this.positions = undefined;
  }

  /** The value the job saw for the record at `position` of its results. */
  value(position: number, field: EmulatedField): FieldValue {
    const kept = this.priors.get(field.name);
    if (kept && kept.captured[position] === 1) {
      const v = kept.values[position]!;
      return typeof v === 'number' && Number.isNaN(v) ? null : v;
    }
    return this.store.get(this.rows[position]!, field);
  }

  private capture(row: number, field: EmulatedField, previous: FieldValue): void {
    if (!this.selected.has(field.name)) return;
    if (!this.positions) {
      this.positions = new Int32Array(this.store.size).fill(-1);
      this.rows.forEach((r, i) => (this.positions![r] = i));
    }
    const position = this.positions[row]!;
    if (position < 0) return;
    let kept = this.priors.get(field.name);
    if (!kept) {
      const numeric = field.storage === 'number' || field.storage === 'datetime';
      kept = { captured: new Uint8Array(this.rows.length), values: numeric ? new Float64Array(this.rows.length) : new Array<FieldValue>(this.rows.length) };
      this.priors.set(field.name, kept);
    }
    if (kept.captured[position] === 1) return;
    kept.captured[position] = 1;
    if (kept.values instanceof Float64Array) kept.values[position] = previous === null ? Number.NaN : Number(previous);
    else kept.values[position] = previous;
  }
}
