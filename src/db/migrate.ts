/**
 * Schema changes are versioned SQL files in `migrations/`, applied by node-pg-migrate (never by hand):
 * on Heroku by the `release` phase (`bin/churn-worker db migrate`), locally by the same command or
 * by the demo. The web and worker processes only check that the schema is current and refuse to
 * start on an older one, so two versions of the code never write one schema at the same time.
 */
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { PROJECT_ROOT } from '../config/index.js';
import { AppError } from '../core/errors.js';
import { connectionConfig, databaseLabel, quoteIdent, type DatabaseConfig } from './pool.js';

export const MIGRATIONS_DIR = `${PROJECT_ROOT}migrations`;
const MIGRATIONS_TABLE = 'pgmigrations';

/** The migration names this code expects, oldest first (file names without `.sql`). */
export function expectedMigrations(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.slice(0, -'.sql'.length))
    .sort();
}

/** Applies every pending migration; returns the names applied now. */
export async function migrate(config: DatabaseConfig): Promise<string[]> {
  const client = new pg.Client(connectionConfig(config));
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(config.schema)}`);
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: MIGRATIONS_TABLE,
      schema: config.schema,
      checkOrder: true,
      singleTransaction: true,
      // The advisory lock is one per database, whatever the schema: a second migrate (another
      // schema's, or a second release) waits for the first instead of failing.
      advisoryLockMode: 'wait',
      log: () => undefined,
    });
    return applied.map((m) => m.name);
  } finally {
    await client.end();
  }
}

export interface SchemaStatus {
  applied: string[];
  expected: string[];
  /** Expected migrations not applied yet. */
  pending: string[];
  /** Applied migrations this code does not know (a newer release migrated the database). */
  unknown: string[];
}

export async function schemaStatus(pool: pg.Pool, config: DatabaseConfig): Promise<SchemaStatus> {
  const expected = expectedMigrations();
  const exists = await pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${quoteIdent(config.schema)}.${MIGRATIONS_TABLE}`]);
  const applied = exists.rows[0]!.t ? (await pool.query<{ name: string }>(`SELECT name FROM ${quoteIdent(config.schema)}.${MIGRATIONS_TABLE} ORDER BY run_on, id`)).rows.map((r) => r.name) : [];
  return { applied, expected, pending: expected.filter((m) => !applied.includes(m)), unknown: applied.filter((m) => !expected.includes(m)) };
}

/** Fails, saying what to run, unless the schema is exactly the one this code expects. */
export async function requireCurrentSchema(pool: pg.Pool, config: DatabaseConfig): Promise<void> {
  const status = await schemaStatus(pool, config);
  if (status.pending.length > 0) {
    throw new AppError({
      code: 'DB_SCHEMA_OUTDATED',
      message: `PostgreSQL at ${databaseLabel(config.url)} (schema ${config.schema}) is at an older schema version: ${status.pending.length} migration(s) not applied (${status.pending.join(', ')}).`,
      hint: 'Run bin/churn-worker db migrate (Heroku runs it in the release phase of every deploy).',
    });
  }
  if (status.unknown.length > 0) {
    throw new AppError({
      code: 'DB_SCHEMA_OUTDATED',
      message: `PostgreSQL at ${databaseLabel(config.url)} (schema ${config.schema}) was migrated by a newer release (${status.unknown.join(', ')}).`,
      hint: 'Deploy that release (or a later one) to this process as well.',
    });
  }
}
