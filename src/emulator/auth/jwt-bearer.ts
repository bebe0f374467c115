/**
 * Checks an OAuth 2.0 JWT bearer assertion the way Salesforce does and answers with its error
 * texts (RFC 7523; help article remoteaccess_oauth_jwt_flow and public reports of its errors):
 *   malformed / not RS256 / bad signature → invalid_grant "invalid assertion"
 *   unknown iss (consumer key)            → invalid_client_id "client identifier invalid"
 *   aud not a login host                  → invalid_grant "audience is invalid"
 *   exp missing, past or too far ahead    → invalid_grant "expired authorization code"
 *   sub not an approved user              → invalid_grant "user hasn't approved this consumer"
 * Salesforce gives the same answer for an unknown username as for an unapproved one (a wrong
 * sandbox suffix shows up as "user hasn't approved this consumer"); the emulator logs which it was.
 */
import { verify, type KeyObject } from 'node:crypto';
import type { OrgUser } from './tokens.js';

export interface GrantRefusal {
  error: 'invalid_grant' | 'invalid_client_id';
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
  maxLifetimeSeconds: number;
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

export function checkAssertion(assertion: unknown, check: AssertionCheck): { user: OrgUser } | GrantRefusal {
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
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds || claims.exp > nowSeconds + check.maxLifetimeSeconds) {
    return { error: 'invalid_grant', description: 'expired authorization code', reason: `exp ${String(claims.exp)} outside (now, now + ${check.maxLifetimeSeconds}s]` };
  }
  const user = typeof claims.sub === 'string' ? check.users.get(claims.sub.toLowerCase()) : undefined;
  if (!user) return { error: 'invalid_grant', description: "user hasn't approved this consumer", reason: 'unknown username' };
  if (!user.approved) return { error: 'invalid_grant', description: "user hasn't approved this consumer", reason: 'user has not approved the app' };
  return { user };
}
