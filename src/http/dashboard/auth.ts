/**
 * Basic authentication for the admin pages (ADMIN_USER / ADMIN_PASSWORD). Both values are compared
 * as SHA-256 digests with timingSafeEqual, so neither the length nor the first differing byte shows
 * in the answer time. Always over HTTPS on Heroku (the router terminates TLS).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export interface AdminCredentials {
  readonly user: string;
  readonly password: string;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Parses `Authorization: Basic base64(user:password)`; undefined when absent or malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function requireAdmin(credentials: AdminCredentials) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = parseBasic(req.headers.authorization);
    // Compare both parts every time (no early exit on the user name).
    const userOk = sameSecret(given?.user ?? '', credentials.user);
    const passwordOk = sameSecret(given?.password ?? '', credentials.password);
    if (given && userOk && passwordOk) return next();
    res.setHeader('www-authenticate', 'Basic realm="churn-worker admin", charset="UTF-8"');
    res.status(401).type('text/plain').send('Authentication required.');
  };
}

/**
 * The token the retry form carries. Derived from the password, so every web dyno computes the same
 * one and a page from another site cannot know it; together with the same-origin check it stops a
 * cross-site POST that rides on the browser's saved basic-auth credentials.
 */
export function csrfToken(credentials: AdminCredentials): string {
  return createHmac('sha256', credentials.password).update(`churn-admin-form:${credentials.user}`).digest('base64url');
}

export function sameCsrfToken(given: unknown, credentials: AdminCredentials): boolean {
  return typeof given === 'string' && sameSecret(given, csrfToken(credentials));
}

/**
 * A state-changing request must come from this site: browsers send `Origin` on POSTs (and
 * `Sec-Fetch-Site`); when present, they must name this host.
 */
export function isSameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
