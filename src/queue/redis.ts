/**
 * Redis connections. Heroku Redis hands out `rediss://` URLs whose certificate is self-signed, so TLS
 * is used without verifying the chain there (the connection is still encrypted).
 * BullMQ workers need `maxRetriesPerRequest: null`; producers in request handlers fail fast instead
 * (`enableOfflineQueue: false`) so a Redis outage becomes an error, not a hung request.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from '../core/errors.js';
import { redisReconnectMs } from '../core/retry-policy.js';

export type RedisRole = 'worker' | 'producer' | 'command';

export function redisOptions(url: string, role: RedisRole): RedisOptions {
  const options: RedisOptions = {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role !== 'producer',
    connectTimeout: 5_000,
    // Keep trying to reconnect with a capped back-off (core/retry-policy.ts); the caller decides what an outage means.
    retryStrategy: redisReconnectMs,
  };
  if (url.startsWith('rediss://')) options.tls = { rejectUnauthorized: false };
  return options;
}

export function createRedis(url: string, role: RedisRole): Redis {
  return new Redis(url, redisOptions(url, role));
}

/** Removes every key under `prefix` (a test run's or a benchmark's own queues), in batches. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** A Redis URL without its password, for messages and logs. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'REDIS_URL';
  }
}

/** How long a process or command waits for Redis at start before it gives up with a clear error. */
export const REDIS_START_TIMEOUT_MS = 5_000;

/**
 * Resolves when the connection is ready; rejects with one clear sentence (what did not answer, the
 * last error, what to do) after `timeoutMs`. Connection errors meanwhile are remembered, not printed:
 * ioredis prints a stack dump for an `error` event nobody listens to.
 */
export async function waitForRedis(redis: Redis, url: string, timeoutMs = REDIS_START_TIMEOUT_MS): Promise<void> {
  if (redis.status === 'ready') return;
  let lastError: Error | undefined;
  const remember = (error: Error) => {
    lastError = error;
  };
  redis.on('error', remember);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => redis.once('ready', () => resolve())),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const why = lastError ? ` (${(lastError as NodeJS.ErrnoException).code ?? lastError.message})` : '';
          reject(
            new AppError({
              code: 'QUEUE_UNAVAILABLE',
              message: `Redis at ${redisLabel(url)} did not answer within ${Math.round(timeoutMs / 1000)} s${why}.`,
              hint: 'Start Redis (redis-server) or set REDIS_URL to one that runs; on Heroku the Heroku Redis add-on sets it.',
              retryable: true,
              cause: lastError,
            }),
          );
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    redis.off('error', remember);
  }
}

/**
 * A connection for a command-line command: ready, or one clear error (QUEUE_UNAVAILABLE) within
 * `timeoutMs`, with the connection closed. Later connection errors are left to the command's calls.
 */
export async function connectRedis(url: string, role: RedisRole, timeoutMs = REDIS_START_TIMEOUT_MS): Promise<Redis> {
  const redis = createRedis(url, role);
  // Without a listener ioredis prints every reconnection error as a stack dump.
  redis.on('error', () => undefined);
  try {
    await waitForRedis(redis, url, timeoutMs);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return redis;
}
