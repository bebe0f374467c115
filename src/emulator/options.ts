/** Options of `startEmulator()` and the `churn-worker emulator` command. */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { checkOutboundOptions, OUTBOUND_DEFAULTS, type OutboundOptions } from './outbound/options.js';

export interface EmulatorOptions extends OutboundOptions {
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Interface to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** Synthetic Accounts to seed (up to a few million; the store is columnar). @defaultValue 5000 */
  accounts?: number;
  /** Seed of the data generator, the ids and the fault draws. @defaultValue 1 */
  seed?: number;
  /**
   * How far the Accounts have drifted from the training sample, 0..1 (data/generator.ts
   * DRIFT_AT_FULL: contract mix, tenure and churn rate shift by this fraction). @defaultValue 0
   */
  drift?: number;
  /** Daily API request allowance (`DailyApiRequests.Max`). @defaultValue 100000 */
  apiLimit?: number;
  /** Lifetime of an access token, like the org's session timeout. @defaultValue 7200 */
  tokenTtlSeconds?: number;
  /** Share of API calls answered 503 SERVER_UNAVAILABLE, 0..1. @defaultValue 0 */
  failRate?: number;
  /** Share of records in a collections update failed with UNABLE_TO_LOCK_ROW, 0..1. @defaultValue 0 */
  lockRate?: number;
  /** Delay added to every /services call, in ms. @defaultValue 0 */
  latencyMs?: number;
  /** The app's consumer key (JWT `iss`). @defaultValue a fixed `3MVG9…` value derived from the seed */
  consumerKey?: string;
  /** The integration user (JWT `sub`); may edit only the Churn_* output fields. @defaultValue 'integration@emulator.local' */
  username?: string;
  /** A second, administrator user that may edit every updateable field (used by test changes). @defaultValue 'admin@emulator.local' */
  adminUsername?: string;
  /**
   * Users who may use the app: pre-authorized by the admin (or, with `permittedUsers`
   * 'AllSelfAuthorize', who approved it themselves). The others are refused with
   * `invalid_app_access` "user is not admin approved to access this app" (or `invalid_grant` "user
   * hasn't approved this consumer" when users self-authorize). @defaultValue [username, adminUsername]
   */
  approvedUsers?: string[];
  /**
   * The app's OAuth policy "Permitted Users", as in the shipped `.ecaOauthPlcy`
   * (`permittedUsersPolicyType`). @defaultValue 'AdminApprovedPreAuthorized'
   */
  permittedUsers?: PermittedUsers;
  /**
   * The certificate uploaded to the app, to verify assertions: an X.509 PEM, a public key PEM or a
   * KeyObject. When absent an RSA key pair is generated and its private key returned by
   * `startEmulator()` (for tests). */
  certificate?: string | KeyObject;
  /** 18-character organization id. @defaultValue an `00D…` id derived from the seed */
  orgId?: string;
  /**
   * Accepted JWT `aud` values besides the defaults: https://login.salesforce.com,
   * https://test.salesforce.com and the emulator's own base URL (127.0.0.1 and localhost forms).
   */
  audiences?: string[];
  /** Latest API version served; versions 31.0 up to it are listed. @defaultValue '68.0' */
  latestApiVersion?: string;
  /**
   * When set, refuses assertions whose `exp` is further ahead than this. Off by default because
   * Salesforce accepts them: its help asks for an `exp` within 3 minutes, but its own CLI (`sf org
   * login jwt`) sends `exp` in milliseconds, tens of thousands of years ahead, and real orgs accept
   * it. Only an `exp` that is missing or past is refused. @defaultValue undefined (no upper bound)
   */
  maxAssertionLifetimeSeconds?: number;
  /** Records per query page (Salesforce's default and maximum is 2000). @defaultValue 2000 */
  queryPageSize?: number;
  /** Where request and auth logs go. @defaultValue no logging */
  logger?: Logger;
  /** Clock, for tests. @defaultValue Date.now */
  now?: () => number;
}

export type PermittedUsers = 'AdminApprovedPreAuthorized' | 'AllSelfAuthorize';

export type ResolvedOptions = Required<Omit<EmulatorOptions, 'certificate' | 'logger' | 'orgId' | 'consumerKey' | 'maxAssertionLifetimeSeconds'>> &
  Pick<EmulatorOptions, 'certificate' | 'logger' | 'orgId' | 'consumerKey' | 'maxAssertionLifetimeSeconds'>;

export const DEFAULT_OPTIONS = {
  port: 0,
  host: '127.0.0.1',
  accounts: 5000,
  seed: 1,
  drift: 0,
  apiLimit: 100_000,
  tokenTtlSeconds: 7200,
  failRate: 0,
  lockRate: 0,
  latencyMs: 0,
  username: 'integration@emulator.local',
  adminUsername: 'admin@emulator.local',
  latestApiVersion: '68.0',
  permittedUsers: 'AdminApprovedPreAuthorized',
  queryPageSize: 2000,
  ...OUTBOUND_DEFAULTS,
} as const;

function check(condition: boolean, message: string): void {
  if (!condition) throw new RangeError(message);
}

export function resolveOptions(options: EmulatorOptions): ResolvedOptions {
  const o = {
    ...DEFAULT_OPTIONS,
    approvedUsers: [options.username ?? DEFAULT_OPTIONS.username, options.adminUsername ?? DEFAULT_OPTIONS.adminUsername],
    audiences: [],
    now: Date.now,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as ResolvedOptions;
  check(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535, `port must be 0..65535, got ${o.port}`);
  check(Number.isInteger(o.accounts) && o.accounts >= 0 && o.accounts <= 20_000_000, `accounts must be an integer 0..20,000,000, got ${o.accounts}`);
  check(Number.isInteger(o.seed), `seed must be an integer, got ${o.seed}`);
  check(o.drift >= 0 && o.drift <= 1, `drift must be between 0 and 1, got ${o.drift}`);
  check(Number.isInteger(o.apiLimit) && o.apiLimit >= 0, `api limit must be a whole number, got ${o.apiLimit}`);
  check(o.tokenTtlSeconds > 0, `token TTL must be above 0 seconds, got ${o.tokenTtlSeconds}`);
  for (const [name, rate] of [['fail rate', o.failRate], ['lock rate', o.lockRate]] as const) {
    check(rate >= 0 && rate <= 1, `${name} must be between 0 and 1, got ${rate}`);
  }
  check(o.latencyMs >= 0, `latency must be 0 ms or more, got ${o.latencyMs}`);
  check(/^\d{2}\.0$/.test(o.latestApiVersion), `latest API version must look like 68.0, got ${o.latestApiVersion}`);
  check(Number.isInteger(o.queryPageSize) && o.queryPageSize >= 200 && o.queryPageSize <= 2000, 'query page size must be 200..2000');
  check(o.orgId === undefined || /^00D[a-zA-Z0-9]{15}$/.test(o.orgId), `org id must be an 18-character 00D… id, got ${o.orgId}`);
  check(o.username.includes('@') && o.adminUsername.includes('@'), 'usernames look like email addresses');
  check(o.permittedUsers === 'AdminApprovedPreAuthorized' || o.permittedUsers === 'AllSelfAuthorize', `permitted users must be AdminApprovedPreAuthorized or AllSelfAuthorize, got ${String(o.permittedUsers)}`);
  check(o.maxAssertionLifetimeSeconds === undefined || o.maxAssertionLifetimeSeconds > 0, 'max assertion lifetime must be above 0 seconds');
  checkOutboundOptions(o);
  return o;
}
