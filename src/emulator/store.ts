/**
 * The org's Accounts, held column by column so a million records fit in a few tens of megabytes:
 * checkboxes and picklists are byte arrays (a picklist holds the 1-based index of its value, 0 for
 * null), numbers and datetimes are Float64Arrays (NaN for null), text is derived from the row
 * number (names, customer ids) with a sparse map of values written since. Ids are derived from the
 * row number too, so looking up an id is arithmetic, not a hash map of a million strings.
 *
 * Every write goes through `update()`, which stamps LastModifiedDate / SystemModstamp /
 * LastModifiedById and emits a `change` event; later modules (outbound messages, Bulk API) listen
 * to it.
 */
import { EventEmitter } from 'node:events';
import { canonicalId15, fromBase62, KEY_PREFIX, makeId } from './ids.js';
import { EMULATED_FIELDS, type EmulatedField } from './schema.js';

export type FieldValue = string | number | boolean | null;

/** Emitted after a record is written. */
export interface AccountChange {
  id: string;
  row: number;
  /** Fields whose value differs from before the write (empty when the write changed nothing). */
  changedFields: string[];
  /** Fields the writer sent. */
  writtenFields: string[];
  userId: string;
  username: string;
  /** Epoch milliseconds of the write (the new SystemModstamp). */
  at: number;
}

export interface AccountDelete {
  id: string;
  row: number;
  userId: string;
  username: string;
  at: number;
}

/** Emitted when a SOQL query returns records. */
export interface AccountRead {
  ids: string[];
  userId: string;
  /** Epoch milliseconds of the query. */
  at: number;
}

export type IdLookup =
  | { kind: 'found'; row: number }
  | { kind: 'malformed' }
  /** A well-formed id of another object type (another key prefix). */
  | { kind: 'wrongType' }
  /** A well-formed Account id that does not exist in this org. */
  | { kind: 'missing' };

export interface StoreUser {
  id: string;
  username: string;
}

export class TextColumn {
  private readonly overrides = new Map<number, string | null>();

  constructor(private readonly derive: (row: number) => string | null) {}

  get(row: number): string | null {
    const v = this.overrides.get(row);
    return v === undefined ? this.derive(row) : v;
  }

  set(row: number, value: string | null): void {
    this.overrides.set(row, value);
  }
}

export interface StoreOptions {
  count: number;
  /** Two characters of the ids' instance part, e.g. `Dn`. */
  instance: string;
  /** Record number of row 0; ids are `001` + instance + `0` + base62(idBase + row). */
  idBase: number;
  /** Initial LastModifiedDate / SystemModstamp of every record (epoch ms). */
  createdAt: number;
  /** The user every record was last modified by at start. */
  createdBy: StoreUser;
  /** Derived values for text fields by name (e.g. Name, Customer_Id__c); other text starts null. */
  derivedText?: Record<string, (row: number) => string | null>;
}

type Column = Uint8Array | Float64Array | TextColumn;

export class AccountStore {
  readonly size: number;
  readonly instance: string;
  readonly idBase: number;
  private readonly deleted: Uint8Array;
  private readonly columns = new Map<string, Column>();
  private readonly users: StoreUser[] = [];
  private readonly userIndex = new Map<string, number>();
  private readonly events = new EventEmitter();
  private readonly beforeWrite: Array<(row: number, field: EmulatedField, previous: FieldValue) => void> = [];
  private liveCount: number;

  constructor(options: StoreOptions) {
    if (!Number.isInteger(options.count) || options.count < 0 || options.count > 50_000_000) {
      throw new RangeError(`account count must be an integer between 0 and 50,000,000, got ${options.count}`);
    }
    this.size = options.count;
    this.liveCount = options.count;
    this.instance = options.instance;
    this.idBase = options.idBase;
    this.deleted = new Uint8Array(options.count);
    this.events.setMaxListeners(100);
    const creator = this.userIndexOf(options.createdBy);
    for (const field of EMULATED_FIELDS) {
      switch (field.storage) {
        case 'checkbox':
        case 'picklist':
          this.columns.set(field.name, new Uint8Array(options.count));
          break;
        case 'number':
        case 'datetime': {
          const column = new Float64Array(options.count);
          column.fill(field.name === 'LastModifiedDate' || field.name === 'SystemModstamp' ? options.createdAt : Number.NaN);
          this.columns.set(field.name, column);
          break;
        }
        case 'user':
          this.columns.set(field.name, new Uint8Array(options.count).fill(creator));
          break;
        case 'text':
          this.columns.set(field.name, new TextColumn(options.derivedText?.[field.name] ?? (() => null)));
          break;
        case 'id':
          break;
      }
    }
  }

  /** Records not deleted. */
  get count(): number {
    return this.liveCount;
  }

  idOf(row: number): string {
    return makeId(KEY_PREFIX.account, this.instance, this.idBase + row);
  }

  /** Resolves a 15- or 18-character id to a row. */
  locate(id: unknown): IdLookup {
    if (typeof id !== 'string') return { kind: 'malformed' };
    const id15 = canonicalId15(id);
    if (!id15) return { kind: 'malformed' };
    if (id15.slice(0, 3) !== KEY_PREFIX.account) return { kind: 'wrongType' };
    if (id15.slice(3, 5) !== this.instance || id15[5] !== '0') return { kind: 'missing' };
    const row = fromBase62(id15.slice(6)) - this.idBase;
    if (!Number.isInteger(row) || row < 0 || row >= this.size) return { kind: 'missing' };
    return { kind: 'found', row };
  }

  isDeleted(row: number): boolean {
    return this.deleted[row] === 1;
  }

  /** Raw typed-array column for fast scans (checkbox/picklist: Uint8Array; number/datetime: Float64Array). */
  column(name: string): Column | undefined {
    return this.columns.get(name);
  }

  codes(name: string): Uint8Array {
    const c = this.columns.get(name);
    if (!(c instanceof Uint8Array)) throw new TypeError(`${name} is not a byte column`);
    return c;
  }

  numbers(name: string): Float64Array {
    const c = this.columns.get(name);
    if (!(c instanceof Float64Array)) throw new TypeError(`${name} is not a number column`);
    return c;
  }

  text(name: string): TextColumn {
    const c = this.columns.get(name);
    if (!(c instanceof TextColumn)) throw new TypeError(`${name} is not a text column`);
    return c;
  }

  userAt(index: number): StoreUser {
    return this.users[index]!;
  }

  userIndexOf(user: StoreUser): number {
    let index = this.userIndex.get(user.id);
    if (index === undefined) {
      if (this.users.length >= 255) throw new RangeError('the emulator supports at most 255 users');
      index = this.users.length;
      this.users.push(user);
      this.userIndex.set(user.id, index);
    }
    return index;
  }

  /** A field's value in API form: strings, numbers, booleans or null; datetimes as epoch ms. */
  get(row: number, field: EmulatedField): FieldValue {
    switch (field.storage) {
      case 'id':
        return this.idOf(row);
      case 'checkbox':
        return this.codes(field.name)[row] === 1;
      case 'picklist': {
        const code = this.codes(field.name)[row]!;
        return code === 0 ? null : field.values![code - 1]!;
      }
      case 'number':
      case 'datetime': {
        const v = this.numbers(field.name)[row]!;
        return Number.isNaN(v) ? null : v;
      }
      case 'user':
        return this.users[this.codes(field.name)[row]!]!.id;
      case 'text':
        return this.text(field.name).get(row);
    }
  }

  /** Stores a value already validated by the caller; no audit stamps, no event (generator, rollback). */
  setRaw(row: number, field: EmulatedField, value: FieldValue): void {
    switch (field.storage) {
      case 'checkbox':
        this.codes(field.name)[row] = value === true ? 1 : 0;
        return;
      case 'picklist': {
        const code = value === null ? 0 : field.values!.indexOf(String(value)) + 1;
        if (value !== null && code === 0) throw new RangeError(`${String(value)} is not a value of ${field.name}`);
        this.codes(field.name)[row] = code;
        return;
      }
      case 'number':
      case 'datetime':
        this.numbers(field.name)[row] = value === null ? Number.NaN : Number(value);
        return;
      case 'text':
        this.text(field.name).set(row, value === null ? null : String(value));
        return;
      case 'user':
      case 'id':
        throw new TypeError(`${field.name} is not writable`);
    }
  }

  /**
   * Writes validated values as `user`, stamps the audit fields and emits `change`.
   * Returns the names of the fields whose value changed.
   */
  update(row: number, values: ReadonlyMap<EmulatedField, FieldValue>, user: StoreUser, at: number): AccountChange {
    const changedFields: string[] = [];
    for (const [field, value] of values) {
      const previous = this.get(row, field);
      if (previous !== value) {
        changedFields.push(field.name);
        for (const listener of this.beforeWrite) listener(row, field, previous);
      }
      this.setRaw(row, field, value);
    }
    this.numbers('LastModifiedDate')[row] = at;
    this.numbers('SystemModstamp')[row] = at;
    this.codes('LastModifiedById')[row] = this.userIndexOf(user);
    const change: AccountChange = {
      id: this.idOf(row),
      row,
      changedFields,
      writtenFields: [...values.keys()].map((f) => f.name),
      userId: user.id,
      username: user.username,
      at,
    };
    this.events.emit('change', change);
    return change;
  }

  /** Moves a record to the recycle bin: queries no longer see it, updates answer ENTITY_IS_DELETED. */
  delete(row: number, user: StoreUser, at: number): boolean {
    if (this.deleted[row] === 1) return false;
    this.deleted[row] = 1;
    this.liveCount -= 1;
    this.numbers('SystemModstamp')[row] = at;
    const event: AccountDelete = { id: this.idOf(row), row, userId: user.id, username: user.username, at };
    this.events.emit('delete', event);
    return true;
  }

  /**
   * Subscribes to each field value about to be overwritten (Bulk query results keep the values their
   * job saw); returns the unsubscribe function. Called synchronously, before the new value is stored.
   */
  onBeforeWrite(listener: (row: number, field: EmulatedField, previous: FieldValue) => void): () => void {
    this.beforeWrite.push(listener);
    return () => {
      const i = this.beforeWrite.indexOf(listener);
      if (i >= 0) this.beforeWrite.splice(i, 1);
    };
  }

  /** Subscribes to writes; returns the unsubscribe function. */
  onChange(listener: (change: AccountChange) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  onDelete(listener: (event: AccountDelete) => void): () => void {
    this.events.on('delete', listener);
    return () => this.events.off('delete', listener);
  }

  /**
   * Tells read listeners which records a SOQL query returned (tests and benchmarks use it to see the
   * order of reads and writes per record). Nothing is built when no one listens.
   */
  noteRead(rows: ArrayLike<number>, userId: string, at: number): void {
    if (this.events.listenerCount('read') === 0) return;
    this.events.emit('read', { ids: Array.from(rows, (row) => this.idOf(row)), userId, at } satisfies AccountRead);
  }

  /** Subscribes to SOQL reads (REST query and queryMore); returns the unsubscribe function. */
  onRead(listener: (read: AccountRead) => void): () => void {
    this.events.on('read', listener);
    return () => this.events.off('read', listener);
  }
}
