/**
 * The OAuth 2.0 JWT bearer assertion Salesforce expects: RS256 only, `iss` = consumer key,
 * `sub` = username, `aud` = the login host (never My Domain), `exp` in seconds, at most ~3 minutes out.
 * https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_jwt_flow.htm
 */
import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

/** Salesforce accepts an `exp` up to about three minutes ahead. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 180;

export interface AssertionClaims {
  clientId: string;
  username: string;
  audience: string;
  privateKey: KeyObject;
  /** Seconds the assertion stays valid. @defaultValue 180 */
  lifetimeSeconds?: number;
  /** Clock, for tests. @defaultValue Date.now */
  now?: () => number;
}

export function signAssertion(claims: AssertionClaims): string {
  const lifetime = Math.min(claims.lifetimeSeconds ?? MAX_ASSERTION_LIFETIME_SECONDS, MAX_ASSERTION_LIFETIME_SECONDS);
  const nowSeconds = Math.floor((claims.now ?? Date.now)() / 1000);
  return jwt.sign(
    { iss: claims.clientId, sub: claims.username, aud: claims.audience, exp: nowSeconds + lifetime },
    claims.privateKey,
    // noTimestamp: Salesforce ignores `iat`; leaving it out keeps the assertion to the documented claims.
    { algorithm: 'RS256', noTimestamp: true },
  );
}
