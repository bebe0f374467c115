/**
 * PostgreSQL, the system of record (model versions, score history, runs), through node-postgres.
 * Heroku Postgres needs TLS and presents a certificate Node cannot verify by default, so `auto`
 * encrypts without verifying the chain for any host that is not this machine (Heroku's own advice for
 * node-postgres); `verify` checks it, `off` is plain TCP. Every connection's search_path is the
 * configured schema, so tests and several apps can share one database.
 */
import pg from 'pg';
import { AppError } from '../core/errors.js';

export type DatabaseTls = 'auto' | 'off' | 'verify';

export interface DatabaseConfig {
  readonly url: string;
  /** Schema that holds the tables (created by the migrations). @defaultValue 'public' */
  readonly schema: string;
  readonly tls: DatabaseTls;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** The URL without its password, for messages and logs. */
export function databaseLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

function tlsOption(config: DatabaseConfig): pg.PoolConfig['ssl'] {
  if (config.tls === 'off') return false;
  if (config.tls === 'verify') return { rejectUnauthorized: true };
  return LOOPBACK.has(new URL(config.url).hostname) ? false : { rejectUnauthorized: false };
}

/** Connection settings for a pool or a single client (the migration runner takes the same). */
export function connectionConfig(config: DatabaseConfig): pg.ClientConfig {
  // sslmode in the URL would override `ssl`; TLS is decided by DATABASE_TLS alone.
  const url = new URL(config.url);
  url.searchParams.delete('sslmode');
  return {
    connectionString: url.toString(),
    ssl: tlsOption(config),
    options: `-c search_path=${quoteIdent(config.schema)}`,
    connectionTimeoutMillis: 5_000,
    application_name: 'churn-worker',
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function createPool(config: DatabaseConfig, max = 4): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(config), max, idleTimeoutMillis: 30_000 });
  return pool;
}

/** Runs `SELECT 1` within `timeoutMs`, or fails with one sentence naming the database and the fix. */
export async function checkDatabase(pool: pg.Pool, config: DatabaseConfig, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pool.query('SELECT 1'),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs))),
    ]);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new AppError({
      code: 'DB_UNAVAILABLE',
      message: `PostgreSQL at ${databaseLabel(config.url)} did not answer (${e.code ?? e.message}).`,
      hint: 'Start PostgreSQL or set DATABASE_URL to one that runs; on Heroku the Heroku Postgres add-on sets it.',
      retryable: true,
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}
