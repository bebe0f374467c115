/**
 * Everything the emulated org holds: its identity and users, the Accounts, sessions, the API
 * allowance and call counters, injected faults, armed validation rules, describe overrides and
 * open query cursors. Route modules receive this object; the admin API changes it at run time.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { base62, KEY_PREFIX, makeId, to18 } from './ids.js';
import { accountName, customerId, populateAccounts } from './data/generator.js';
import { hash32, Rng } from './random.js';
import { EMULATED_FIELDS, findField, type EmulatedField } from './schema.js';
import { AccountStore } from './store.js';
import { OutboundSender } from './outbound/sender.js';
import { INTEGRATION_PERMISSIONS, TokenStore, type OrgUser } from './auth/tokens.js';
import type { PermittedUsers, ResolvedOptions } from './options.js';
import type { Logger } from '../log/logger.js';

/** Initial LastModifiedDate of generated records: fixed so data is the same run to run. */
const SEEDED_AT = Date.UTC(2026, 0, 1, 0, 0, 0);

/** Daily API allowance and the other `/limits` counters later modules consume. */
export class OrgLimits {
  apiUsed = 0;
  bulkV2QueryJobsUsed = 0;
  bulkV2QueryFileStorageMBUsed = 0;
  bulkApiBatchesUsed = 0;
  /** Bulk API 2.0 query jobs per rolling 24 hours (Salesforce: 10,000). */
  bulkV2QueryJobsMax = 10_000;
  /** Query results per 24 hours, in MB (Salesforce: 1 TB). */
  bulkV2QueryFileStorageMBMax = 976_562;
  /** Bulk API batches per rolling 24 hours, shared by Bulk API 1.0 and 2.0 ingest (Salesforce: 15,000). */
  bulkApiBatchesMax = 15_000;

  constructor(public apiMax: number) {}

  get usageHeader(): string {
    return `api-usage=${this.apiUsed}/${this.apiMax}`;
  }
}

/** Bytes of Bulk bodies: as they crossed the wire (compressed when gzip was used) and as CSV. */
export interface BulkBytes {
  /** Query results sent. */
  resultsWire: number;
  resultsRaw: number;
  /** Ingest uploads received. */
  uploadWire: number;
  uploadRaw: number;
}

const noBytes = (): BulkBytes => ({ resultsWire: 0, resultsRaw: 0, uploadWire: 0, uploadRaw: 0 });

/** Calls seen, by kind (query, queryMore, collections, limits, describe, token, …), and Bulk bytes. */
export class CallCounters {
  total = 0;
  byKind: Record<string, number> = {};
  bytes: BulkBytes = noBytes();

  count(kind: string, countsAgainstAllowance: boolean): void {
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    if (countsAgainstAllowance) this.total += 1;
  }

  reset(): void {
    this.total = 0;
    this.byKind = {};
    this.bytes = noBytes();
  }

  snapshot(): { total: number; byKind: Record<string, number>; bytes: BulkBytes } {
    return { total: this.total, byKind: { ...this.byKind }, bytes: { ...this.bytes } };
  }
}

export interface FaultSettings {
  failRate: number;
  lockRate: number;
  latencyMs: number;
}

/** Injected faults, drawn from a seeded stream so a run with the same calls fails the same way. */
export class Faults implements FaultSettings {
  failRate: number;
  lockRate: number;
  latencyMs: number;
  private rng: Rng;

  constructor(settings: FaultSettings, private readonly seed: number) {
    this.failRate = settings.failRate;
    this.lockRate = settings.lockRate;
    this.latencyMs = settings.latencyMs;
    this.rng = new Rng(seed, 0xfa017);
  }

  set(settings: Partial<FaultSettings>): void {
    for (const key of ['failRate', 'lockRate'] as const) {
      const v = settings[key];
      if (v !== undefined) {
        if (!(v >= 0 && v <= 1)) throw new RangeError(`${key} must be between 0 and 1`);
        this[key] = v;
      }
    }
    if (settings.latencyMs !== undefined) {
      if (!(settings.latencyMs >= 0)) throw new RangeError('latencyMs must be 0 or more');
      this.latencyMs = settings.latencyMs;
    }
    this.rng = new Rng(this.seed, 0xfa017);
  }

  failCall(): boolean {
    return this.failRate > 0 && this.rng.next() < this.failRate;
  }

  lockRecord(): boolean {
    return this.lockRate > 0 && this.rng.next() < this.lockRate;
  }

  settings(): FaultSettings {
    return { failRate: this.failRate, lockRate: this.lockRate, latencyMs: this.latencyMs };
  }
}

export interface QueryCursor {
  rows: Int32Array;
  fields: EmulatedField[];
  lastUsed: number;
}

/** Open query locators; Salesforce drops idle ones after about 15 minutes. */
export class QueryCursors {
  private readonly cursors = new Map<string, QueryCursor>();
  private counter = 0;
  private openRows = 0;
  static readonly IDLE_MS = 15 * 60_000;
  /** Row numbers held by all open cursors (4 bytes each); the oldest are dropped beyond it. */
  static readonly MAX_OPEN_ROWS = 20_000_000;

  constructor(
    private readonly instance: string,
    private readonly now: () => number,
  ) {}

  open(rows: Int32Array, fields: EmulatedField[]): string {
    this.sweep();
    for (const oldest of this.cursors.keys()) {
      if (this.openRows + rows.length <= QueryCursors.MAX_OPEN_ROWS) break;
      this.close(oldest);
    }
    this.openRows += rows.length;
    const locator = to18(`${KEY_PREFIX.queryLocator}${this.instance}0${base62(++this.counter, 9)}`);
    this.cursors.set(locator, { rows, fields, lastUsed: this.now() });
    return locator;
  }

  get(locator: string): QueryCursor | undefined {
    const cursor = this.cursors.get(locator);
    if (!cursor) return undefined;
    if (this.now() - cursor.lastUsed > QueryCursors.IDLE_MS) {
      this.close(locator);
      return undefined;
    }
    cursor.lastUsed = this.now();
    return cursor;
  }

  close(locator: string): void {
    const cursor = this.cursors.get(locator);
    if (!cursor) return;
    this.openRows -= cursor.rows.length;
    this.cursors.delete(locator);
  }

  private sweep(): void {
    const now = this.now();
    for (const [locator, cursor] of this.cursors) if (now - cursor.lastUsed > QueryCursors.IDLE_MS) this.close(locator);
  }
}

export interface ValidationRule {
  message: string;
  /** Fields the error names (empty: a record-level error, shown at the top of the page). */
  fields: string[];
}

export class EmulatorState {
  readonly orgId: string;
  readonly instance: string;
  readonly consumerKey: string;
  readonly publicKey: KeyObject;
  /** The private key, only when the emulator generated the key pair itself. */
  readonly generatedPrivateKey?: KeyObject;
  readonly users = new Map<string, OrgUser>();
  readonly integrationUser: OrgUser;
  readonly adminUser: OrgUser;
  readonly store: AccountStore;
  readonly tokens: TokenStore;
  readonly limits: OrgLimits;
  readonly counters = new CallCounters();
  readonly faults: Faults;
  readonly cursors: QueryCursors;
  /** The Churn_Account_Changed outbound message queue (off unless `outboundUrl` is set). */
  readonly outbound: OutboundSender;
  /** Rows with an armed validation rule: any update to them fails FIELD_CUSTOM_VALIDATION_EXCEPTION. */
  readonly validationRules = new Map<number, ValidationRule>();
  /** Fields removed from the org (describe omits them; queries and updates refuse them). */
  readonly removedFields = new Set<string>();
  /** The app's "Permitted Users" OAuth policy (changed through the admin API). */
  permittedUsers: PermittedUsers;
  /** Accepted JWT audiences; the server adds its own URL once listening. */
  readonly audiences = new Set(['https://login.salesforce.com', 'https://test.salesforce.com']);
  baseUrl = '';
  readonly now: () => number;
  readonly logger?: Logger;

  constructor(readonly options: ResolvedOptions) {
    const seed = options.seed;
    this.now = options.now;
    this.logger = options.logger;
    this.permittedUsers = options.permittedUsers;
    // Instance part of every id: two base-62 characters fixed by the seed (e.g. "Dn").
    this.instance = base62(62 + (hash32(seed, 0x1d) % (62 * 61)), 2);
    this.orgId = options.orgId ?? makeId(KEY_PREFIX.org, this.instance, hash32(seed, 0x0a9) % 1_000_000_000);
    // Consumer keys are 85 characters starting 3MVG9.
    this.consumerKey = options.consumerKey ?? `3MVG9${Array.from({ length: 14 }, (_, k) => base62(hash32(seed, 0xc0 + k), 6)).join('')}`;
    if (options.certificate === undefined) {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      this.publicKey = pair.publicKey;
      this.generatedPrivateKey = pair.privateKey;
    } else {
      this.publicKey = typeof options.certificate === 'string' ? createPublicKey(options.certificate) : options.certificate;
      if (this.publicKey.asymmetricKeyType !== 'rsa') throw new RangeError('the certificate must hold an RSA public key (RS256)');
    }
    const approved = new Set(options.approvedUsers.map((u) => u.toLowerCase()));
    const addUser = (username: string, role: OrgUser['role'], n: number): OrgUser => {
      const permissions = role === 'integration' ? { ...INTEGRATION_PERMISSIONS } : { ApiEnabled: true, ViewSetup: true, AccountRead: true, AccountEdit: true };
      const user: OrgUser = { id: makeId(KEY_PREFIX.user, this.instance, n), username, role, approved: approved.has(username.toLowerCase()), permissions };
      this.users.set(username.toLowerCase(), user);
      return user;
    };
    this.adminUser = addUser(options.adminUsername, 'admin', 1);
    this.integrationUser = addUser(options.username, 'integration', 2);
    this.tokens = new TokenStore(this.orgId.slice(0, 15), options.tokenTtlSeconds * 1000, this.now);
    this.limits = new OrgLimits(options.apiLimit);
    this.faults = new Faults(options, seed);
    this.cursors = new QueryCursors(this.instance, this.now);
    this.store = new AccountStore({
      count: options.accounts,
      instance: this.instance,
      idBase: 1_000_000 + (hash32(seed, 0x1b) % 1_000_000_000),
      createdAt: SEEDED_AT,
      createdBy: this.adminUser,
      derivedText: {
        Name: (row) => accountName(seed, row),
        Customer_Id__c: (row) => customerId(seed, row),
      },
    });
    populateAccounts(this.store, seed, options.drift);
    this.outbound = new OutboundSender(this);
  }

  /** A field of the org by case-insensitive name, unless it was removed. */
  field(name: string): EmulatedField | undefined {
    const field = findField(name);
    return field && !this.removedFields.has(field.name) ? field : undefined;
  }

  /** The fields describe lists, in order. */
  describedFields(): EmulatedField[] {
    return EMULATED_FIELDS.filter((f) => !this.removedFields.has(f.name));
  }

  userByName(username: string): OrgUser | undefined {
    return this.users.get(username.toLowerCase());
  }
}

