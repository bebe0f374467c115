/**
 * PostgreSQL for a benchmark: the server at DATABASE_URL, in a fresh schema of the benchmark's own,
 * migrated, and dropped at the end, so a benchmark measures the system of record without touching
 * the data it holds.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/index.js';
import { AppError } from '../../core/errors.js';
import { migrate } from '../../db/migrate.js';
import { checkDatabase, createPool, quoteIdent, type DatabaseConfig } from '../../db/pool.js';

export interface BenchDatabase {
  config: DatabaseConfig;
  count(table: string): Promise<number>;
  drop(): Promise<void>;
}

export async function benchDatabase(config: Config): Promise<BenchDatabase> {
  if (!config.database) {
    throw new AppError({ code: 'DB_UNAVAILABLE', message: 'This benchmark measures the system of record and needs DATABASE_URL.', hint: 'Set DATABASE_URL to a PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/postgres).' });
  }
  const database: DatabaseConfig = { ...config.database, schema: `bench_${randomUUID().replace(/-/g, '').slice(0, 12)}` };
  const pool = createPool(database, 2);
  pool.on('error', () => undefined);
  await checkDatabase(pool, database);
  await migrate(database);
  return {
    config: database,
    count: async (table) => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(table)}`)).rows[0]!.n),
    drop: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(database.schema)} CASCADE`);
      await pool.end();
    },
  };
}
