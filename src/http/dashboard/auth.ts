/**
 * Basic authentication for the admin pages and endpoints (ADMIN_USER / ADMIN_PASSWORD). Both values
 * are compared as SHA-256 digests with timingSafeEqual, so neither the length nor the first differing
 * byte shows in the answer time. Always over HTTPS on Heroku (the router terminates TLS).
 *
 * Failed sign-ins are limited per client address (req.ip, so TRUST_PROXY decides what counts as the
 * client behind Heroku's router): after `SIGN_IN_LIMIT.attempts` failures within
 * `SIGN_IN_LIMIT.windowSeconds`, that client gets 429 with Retry-After until the window ends, even
 * with the right password. The counts live in Redis (rate-limiter-flexible) so every web dyno shares
 * them; when Redis does not answer, each dyno falls back to counting in memory.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** Failed admin sign-ins one client may make per window. */
export const SIGN_IN_LIMIT = Object.freeze({ attempts: 10, windowSeconds: 15 * 60 });

export class SignInLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(redis: Redis | undefined, prefix: string, private readonly limit: { attempts: number; windowSeconds: number } = SIGN_IN_LIMIT) {
    const options = { points: limit.attempts, duration: limit.windowSeconds, blockDuration: limit.windowSeconds };
    const memory = new RateLimiterMemory({ ...options, keyPrefix: 'admin-sign-in' });
    this.limiter = redis ? new RateLimiterRedis({ ...options, storeClient: redis, keyPrefix: `${prefix}:admin-sign-in`, insuranceLimiter: memory }) : memory;
  }

  /** Milliseconds until `client` may try again, or 0 when it may try now. */
  async retryAfterMs(client: string): Promise<number> {
    const state = await this.limiter.get(client).catch(() => null);
    return state && state.consumedPoints >= this.limit.attempts ? Math.max(1, state.msBeforeNext) : 0;
  }

  async failed(client: string): Promise<void> {
    // consume() rejects once the limit is passed; the rejection only says "now blocked".
    await this.limiter.consume(client).catch(() => undefined);
  }

  async succeeded(client: string): Promise<void> {
    await this.limiter.delete(client).catch(() => undefined);
  }
}

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

export interface RequireAdminOptions {
  /** Limits failed sign-ins per client; without it attempts are not limited. */
  limiter?: SignInLimiter;
  /** How refusals are written: plain text for the pages, JSON for the API. @defaultValue 'text' */
  respond?: 'text' | 'json';
}

export function requireAdmin(credentials: AdminCredentials, options: RequireAdminOptions = {}) {
  const { limiter } = options;
  const refuse = (res: Response, status: number, code: string, message: string) => {
    if (options.respond === 'json') res.status(status).json({ error: { code, message } });
    else res.status(status).type('text/plain').send(message);
  };
  return async (req: Request, res: Response, next: NextFunction) => {
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const waitMs = limiter ? await limiter.retryAfterMs(client) : 0;
    if (waitMs > 0) {
      res.setHeader('retry-after', String(Math.ceil(waitMs / 1000)));
      return refuse(res, 429, 'RATE_LIMITED', `Too many failed sign-ins from this address; try again in ${Math.ceil(waitMs / 60_000)} minute(s).`);
    }
    const given = parseBasic(req.headers.authorization);
    // Compare both parts every time (no early exit on the user name).
    const userOk = sameSecret(given?.user ?? '', credentials.user);
    const passwordOk = sameSecret(given?.password ?? '', credentials.password);
    if (given && userOk && passwordOk) {
      await limiter?.succeeded(client);
      return next();
    }
    // A request without credentials is a browser's first try, not a guess: only wrong ones count.
    if (given) await limiter?.failed(client);
    res.setHeader('www-authenticate', 'Basic realm="churn-worker admin", charset="UTF-8"');
    refuse(res, 401, 'UNAUTHORIZED', options.respond === 'json' ? 'Basic authentication required.' : 'Authentication required.');
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
