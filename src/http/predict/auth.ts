/**
 * Bearer tokens for the prediction API: JWTs that Salesforce's Named Credential signs with an org
 * certificate. Verified against the configured public keys with the algorithm pinned to RSA (RS256,
 * Salesforce's default, or RS512, the other value its JWT claims allow; no `none`, no HS256 signed
 * with the public key), and `iss`, `aud`, `exp`, `nbf`, `iat` and the token's lifetime checked.
 *
 * What Salesforce sends (named-credentials reference, "OAuth 2.0 Bearer Flow JWT Claims",
 * https://developer.salesforce.com/docs/platform/named-credentials/references/named-credentials-reference/jwt-claims.html):
 * `iat` and `nbf` automatically, `exp` from the external credential's Expiration field (two minutes
 * after signing when it is left empty), and `iss`, `aud`, `sub` as set in its JWT claims. The
 * lifetime cap (exp − iat, or exp − now when there is no iat) refuses a stolen long-lived token even
 * when it is correctly signed.
 */
import type { KeyObject } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { canonicalId15 } from '../../core/record-id.js';

export interface TokenCheck {
  publicKeys: readonly KeyObject[];
  /** The `iss` tokens must carry. An org id (00D…) matches in its 15- and 18-character forms. */
  issuer: string;
  audience: string;
  /**
   * Longest accepted token lifetime in seconds: `exp − iat`, or `exp − now` when the token has no
   * `iat`. @defaultValue 300
   */
  maxLifetimeSeconds?: number;
}

export const DEFAULT_MAX_LIFETIME_SECONDS = 300;

/** Seconds of clock difference tolerated between Salesforce and this host. */
const CLOCK_TOLERANCE_SECONDS = 30;

const ORG_ID = /^00D[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/;

/**
 * Whether a token's `iss` is the configured issuer. When the issuer is an org id, the 15-character
 * form and the 18-character form (whose suffix must be the case checksum of the first 15) are the
 * same org, whichever of the two is configured and whichever the token carries.
 */
export function issuerMatches(expected: string, actual: unknown): boolean {
  if (typeof actual !== 'string') return false;
  if (!ORG_ID.test(expected)) return actual === expected;
  if (!ORG_ID.test(actual)) return false;
  const want = canonicalId15(expected);
  return want !== undefined && canonicalId15(actual) === want;
}

export function verifyBearer(header: string | undefined, check: TokenCheck, nowMs = Date.now()): { ok: true; claims: jwt.JwtPayload } | { ok: false; reason: string } {
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(header ?? '');
  if (!match) return { ok: false, reason: 'a bearer token is required (Authorization: Bearer <JWT>)' };
  const maxLifetime = check.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS;
  const now = Math.floor(nowMs / 1000);
  let last = 'the token was not signed by a configured key';
  for (const key of check.publicKeys) {
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(match[1]!, key, {
        algorithms: ['RS256', 'RS512'],
        audience: check.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        clockTimestamp: now,
      }) as jwt.JwtPayload;
    } catch (error) {
      const e = error as Error;
      // A signature mismatch may just mean another configured key signed it; anything else is final.
      if (e.message !== 'invalid signature') return { ok: false, reason: e.message };
      last = 'invalid signature';
      continue;
    }
    if (!issuerMatches(check.issuer, claims.iss)) {
      return { ok: false, reason: `jwt issuer invalid: expected ${check.issuer}${ORG_ID.test(check.issuer) ? ' (the org id, in its 15- or 18-character form)' : ''}` };
    }
    if (typeof claims.exp !== 'number') return { ok: false, reason: 'the token has no exp claim' };
    if (claims.iat !== undefined && typeof claims.iat !== 'number') return { ok: false, reason: 'the token\'s iat is not a number' };
    if (typeof claims.iat === 'number') {
      if (claims.iat > now + CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: 'jwt issued in the future (iat is ahead of this host\'s clock)' };
      const lifetime = claims.exp - claims.iat;
      if (lifetime > maxLifetime) {
        return { ok: false, reason: `jwt lifetime too long: exp is ${lifetime} s after iat, at most ${maxLifetime} s is accepted (PREDICT_JWT_MAX_LIFETIME_SECONDS)` };
      }
    } else if (claims.exp - now > maxLifetime + CLOCK_TOLERANCE_SECONDS) {
      return { ok: false, reason: `jwt lifetime too long: exp is ${claims.exp - now} s from now and there is no iat, at most ${maxLifetime} s is accepted (PREDICT_JWT_MAX_LIFETIME_SECONDS)` };
    }
    return { ok: true, claims };
  }
  return { ok: false, reason: last };
}

export function requireBearer(check: TokenCheck) {
  return (req: Request, res: Response, next: NextFunction) => {
    const result = verifyBearer(req.get('authorization'), check);
    if (!result.ok) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer error="invalid_token"')
        .json({ error: { code: 'UNAUTHORIZED', message: `Not authorized: ${result.reason}.` } });
      return;
    }
    next();
  };
}
