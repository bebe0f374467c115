/**
 * Bearer tokens for the prediction API: JWTs that Salesforce's Named Credential signs with an org
 * certificate. Verified against the configured public keys with the algorithm pinned to RS256 (no
 * `none`, no HS256 signed with the public key), and `iss`, `aud`, `exp` and `nbf` checked.
 */
import type { KeyObject } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';

export interface TokenCheck {
  publicKeys: readonly KeyObject[];
  /** Accepted `iss` values. */
  issuer: string | readonly string[];
  audience: string;
}

/** Seconds of clock difference tolerated between Salesforce and this host. */
const CLOCK_TOLERANCE_SECONDS = 30;

export function verifyBearer(header: string | undefined, check: TokenCheck): { ok: true; claims: jwt.JwtPayload } | { ok: false; reason: string } {
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(header ?? '');
  if (!match) return { ok: false, reason: 'a bearer token is required (Authorization: Bearer <JWT>)' };
  let last = 'the token was not signed by a configured key';
  for (const key of check.publicKeys) {
    try {
      const claims = jwt.verify(match[1]!, key, {
        algorithms: ['RS256'],
        issuer: typeof check.issuer === 'string' ? check.issuer : ([...check.issuer] as [string, ...string[]]),
        audience: check.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }) as jwt.JwtPayload;
      if (typeof claims.exp !== 'number') return { ok: false, reason: 'the token has no exp claim' };
      return { ok: true, claims };
    } catch (error) {
      const e = error as Error;
      // A signature mismatch may just mean another configured key signed it; anything else is final.
      if (e.message !== 'invalid signature') return { ok: false, reason: e.message };
      last = 'invalid signature';
    }
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
