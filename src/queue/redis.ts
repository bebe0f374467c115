/**
 * Redis connections. Heroku Redis hands out `rediss://` URLs whose certificate is self-signed, so TLS
 * is used without verifying the chain there (the connection is still encrypted).
 * BullMQ workers need `maxRetriesPerRequest: null`; producers in request handlers fail fast instead
 * (`enableOfflineQueue: false`) so a Redis outage becomes an error, not a hung request.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'worker' | 'producer' | 'command';

export function redisOptions(url: string, role: RedisRole): RedisOptions {
  const options: RedisOptions = {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role !== 'producer',
    connectTimeout: 5_000,
    // Keep trying to reconnect with a capped back-off; the caller decides what an outage means.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
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
