/**
 * Checks an OAuth 2.0 JWT bearer assertion the way Salesforce does and answers with its error
 * texts (RFC 7523; help article remoteaccess_oauth_jwt_flow and public reports of its errors):
 *   malformed / not RS256 / bad signature → invalid_grant "invalid assertion"
 *   unknown iss (consumer key)            → invalid_client_id "client identifier invalid"
 *   aud not a login host                  → invalid_grant "audience is invalid"
 *   exp missing or past                   → invalid_grant "expired authorization code"
 *   sub unknown                           → invalid_grant "user hasn't approved this consumer"
 *   sub not pre-authorized, with the app's
 *   Permitted Users "Admin approved users
 *   are pre-authorized"                   → invalid_app_access "user is not admin approved to access this app"
 *   sub has not approved the app, with
 *   "All users may self-authorize"        → invalid_grant "user hasn't approved this consumer"
 *
 * `exp` has no upper bound, as in Salesforce: its help asks for an `exp` within three minutes, but its
 * own CLI (`sf org login jwt`, @salesforce/core authInfo.js: `exp: Date.now() + 300`) sends
 * milliseconds and real orgs accept that (an `exp` tens of thousands of years ahead). The emulator
 * logs an `exp` more than five minutes ahead, and refuses it only when `maxLifetimeSeconds` is set.
 *
 * The two pre-authorization answers are not in Salesforce's reference; they are what integrators
 * report for External Client Apps and Connected Apps whose policy is admin-approved and whose user
 * holds neither the assigned profile nor permission set (e.g. help.salesforce.com
 * xcloud.preauth_user_app_access_through_eca.htm for the setting; the error text from public setup
 * guides). Salesforce gives the self-authorize answer for an unknown username too (a wrong sandbox
 * suffix shows up as "user hasn't approved this consumer"); the emulator logs which it was.
 */
import { verify, type KeyObject } from 'node:crypto';
import type { OrgUser } from './tokens.js';

export interface GrantRefusal {
  error: 'invalid_grant' | 'invalid_client_id' | 'invalid_app_access';
  description: string;
  /** Why, for the emulator's log; never sent. */
  reason: string;
}

export interface AssertionCheck {
  consumerKey: string;
  publicKey: KeyObject;
  audiences: ReadonlySet<string>;
  users: ReadonlyMap<string, OrgUser>;
  nowMs: number;
  /** The app's Permitted Users policy. */
  permittedUsers: 'AdminApprovedPreAuthorized' | 'AllSelfAuthorize';
  /** Refuse an `exp` further ahead than this (off by default, as in Salesforce). */
  maxLifetimeSeconds?: number;
}

const INVALID_ASSERTION = (reason: string): GrantRefusal => ({ error: 'invalid_grant', description: 'invalid assertion', reason });

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function checkAssertion(assertion: unknown, check: AssertionCheck): { user: OrgUser; expAheadSeconds: number } | GrantRefusal {
  if (typeof assertion !== 'string' || assertion.length === 0) return INVALID_ASSERTION('no assertion');
  const parts = assertion.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return INVALID_ASSERTION('not a compact JWS');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart);
  const claims = decodeJson(payloadPart);
  if (!header || !claims) return INVALID_ASSERTION('header or claims are not JSON');
  if (header.alg !== 'RS256') return INVALID_ASSERTION(`alg ${String(header.alg)} is not RS256`);
  if (claims.iss !== check.consumerKey) {
    return { error: 'invalid_client_id', description: 'client identifier invalid', reason: 'unknown consumer key' };
  }
  const signed = verify('RSA-SHA256', Buffer.from(`${headerPart}.${payloadPart}`), check.publicKey, Buffer.from(signaturePart, 'base64url'));
  if (!signed) return INVALID_ASSERTION('signature does not verify with the app certificate');
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((a) => typeof a === 'string' && check.audiences.has(a.replace(/\/+$/, '')))) {
    return { error: 'invalid_grant', description: 'audience is invalid', reason: `aud ${JSON.stringify(claims.aud)} not accepted` };
  }
  const nowSeconds = check.nowMs / 1000;
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp) || claims.exp <= nowSeconds) {
    return { error: 'invalid_grant', description: 'expired authorization code', reason: `exp ${String(claims.exp)} is missing or not after now (${Math.floor(nowSeconds)})` };
  }
  if (check.maxLifetimeSeconds !== undefined && claims.exp > nowSeconds + check.maxLifetimeSeconds) {
    return { error: 'invalid_grant', description: 'expired authorization code', reason: `exp ${claims.exp} more than ${check.maxLifetimeSeconds}s ahead (maxAssertionLifetimeSeconds)` };
  }
  const user = typeof claims.sub === 'string' ? check.users.get(claims.sub.toLowerCase()) : undefined;
  if (!user) return { error: 'invalid_grant', description: "user hasn't approved this consumer", reason: 'unknown username' };
  if (!user.approved) {
    return check.permittedUsers === 'AdminApprovedPreAuthorized'
      ? { error: 'invalid_app_access', description: 'user is not admin approved to access this app', reason: 'the user holds neither a profile nor a permission set the app pre-authorizes' }
      : { error: 'invalid_grant', description: "user hasn't approved this consumer", reason: 'user has not approved the app (self-authorize policy)' };
  }
  return { user, expAheadSeconds: claims.exp - nowSeconds };
}
