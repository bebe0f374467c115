/**
 * Readiness checks of the web process, for GET /readyz (app.ts runs them on each probe, each within
 * the probe deadline, so a stalled Redis makes the probe answer 503 rather than hang). None of them
 * costs a Salesforce call per probe: the Salesforce check keeps one token and signs in again only
 * when it has none or it is older than `maxAgeMs`; a failed sign-in is remembered for `retryAfterMs`.
 */
import type { Redis } from 'ioredis';
import type { TokenProvider } from '../salesforce/auth.js';
import type { ReadinessCheck } from './app.js';

export function redisReadiness(redis: Pick<Redis, 'ping'>): ReadinessCheck {
  return { name: 'redis', check: async () => void (await redis.ping()) };
}

/** `promise`, or an error naming `what` once `ms` have passed (the timer never outlives the race). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The scoring thread answers (an empty batch is a round trip to the thread and back). */
export function modelReadiness(scoring: { modelVersion: string; score(records: readonly unknown[], options?: { reasons?: boolean }): Promise<unknown[]> }, timeoutMs = 2_000): ReadinessCheck {
  return {
    name: 'model',
    check: async () => {
      await within(scoring.score([], { reasons: false }), timeoutMs, 'the scoring thread');
      return `model ${scoring.modelVersion} loaded`;
    },
  };
}

export interface SalesforceReadinessOptions {
  /** Sign in again when the token is older than this. @defaultValue 30 minutes */
  maxAgeMs?: number;
  /** After a failed sign-in, answer with the same failure for this long. @defaultValue 60 s */
  retryAfterMs?: number;
  now?: () => number;
}

/**
 * A Salesforce token can be had. Without SF_* settings (`tokens` undefined) the check passes and says
 * so: the web process does not need Salesforce to receive messages.
 */
export function salesforceReadiness(tokens: Pick<TokenProvider, 'signIn'> | undefined, options: SalesforceReadinessOptions = {}): ReadinessCheck {
  const maxAgeMs = options.maxAgeMs ?? 30 * 60_000;
  const retryAfterMs = options.retryAfterMs ?? 60_000;
  const now = options.now ?? Date.now;
  let signedInAt: number | undefined;
  let failure: { at: number; message: string } | undefined;
  return {
    name: 'salesforce',
    check: async () => {
      if (!tokens) return 'not configured (SF_CLIENT_ID, SF_USERNAME, SF_PRIVATE_KEY unset): the worker signs in, this process does not need to';
      if (signedInAt !== undefined && now() - signedInAt < maxAgeMs) return 'token cached';
      if (failure && now() - failure.at < retryAfterMs) throw new Error(failure.message);
      try {
        await tokens.signIn();
        signedInAt = now();
        failure = undefined;
        return 'signed in';
      } catch (error) {
        failure = { at: now(), message: `sign-in failed: ${(error as Error).message}` };
        throw new Error(failure.message, { cause: error });
      }
    },
  };
}
