/**
 * PostgreSQL for integration tests: the server at TEST_DATABASE_URL (.ci/run makes sure one answers),
 * a schema of the test's own, migrated, and dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import type { DatabaseConfig } from '../../src/db/pool.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  config: DatabaseConfig;
  /** DATABASE_* variables for a child process. */
  env: Record<string, string>;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A fresh schema (migrated unless `migrated: false`) and a pool whose search_path is it. */
export async function testDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const schema = `test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const config: DatabaseConfig = { url: TEST_DATABASE_URL, schema, tls: 'off' };
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  if (options.migrated ?? true) await migrate(config);
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}`, max: 4 });
  return {
    config,
    env: { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, DATABASE_TLS: 'off' },
    pool,
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}
