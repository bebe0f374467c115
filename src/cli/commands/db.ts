/**
 * `churn-worker db migrate | status`: the system of record's schema. `migrate` applies every pending
 * migration (Heroku runs it in the release phase of each deploy, before new dynos start); `status`
 * says which are applied and which are pending.
 */
import { loadConfig } from '../../config/index.js';
import { AppError } from '../../core/errors.js';
import { expectedMigrations, migrate, schemaStatus } from '../../db/migrate.js';
import { checkDatabase, createPool, databaseLabel } from '../../db/pool.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';

const usage = `Usage: churn-worker db <migrate | status>

  migrate   Apply every pending schema migration to DATABASE_URL (schema DATABASE_SCHEMA).
            Heroku runs it in the release phase (Procfile: release).
  status    List the migrations applied and pending.

Configuration comes from the environment and .env (DATABASE_URL, DATABASE_SCHEMA, DATABASE_TLS).`;

export function requireDatabaseUrl(config: ReturnType<typeof loadConfig>) {
  if (!config.database) {
    throw new AppError({
      code: 'DB_UNAVAILABLE',
      message: 'DATABASE_URL is not set.',
      hint: 'Set it to a PostgreSQL URL (Heroku: the Heroku Postgres add-on sets it; locally, e.g. postgres://postgres@127.0.0.1:5432/postgres).',
    });
  }
  return config.database;
}

export const command: Command = {
  name: 'db',
  summary: 'Apply or list the system of record\'s schema migrations (PostgreSQL).',
  usage,
  handlesHelp: true,
  async run(argv) {
    const [action, ...rest] = argv;
    if (action === '--help' || action === '-h' || action === undefined) {
      if (action === undefined) throw new UsageError('db: migrate or status?', usage);
      console.log(usage);
      return 0;
    }
    if (rest.length > 0) throw new UsageError(`db ${action}: unexpected argument ${rest[0]}`, usage);
    const database = requireDatabaseUrl(loadConfig());
    const where = `${databaseLabel(database.url)} (schema ${database.schema})`;
    if (action === 'migrate') {
      const pool = createPool(database, 1);
      try {
        await checkDatabase(pool, database);
      } finally {
        await pool.end();
      }
      const applied = await migrate(database);
      console.log(applied.length > 0 ? `Applied ${applied.length} migration(s) to ${where}: ${applied.join(', ')}.` : `${where} is up to date (${expectedMigrations().length} migration(s)).`);
      return 0;
    }
    if (action === 'status') {
      const pool = createPool(database, 1);
      try {
        await checkDatabase(pool, database);
        const status = await schemaStatus(pool, database);
        for (const name of status.expected) console.log(`${status.applied.includes(name) ? 'applied' : 'PENDING'}  ${name}`);
        for (const name of status.unknown) console.log(`newer    ${name} (applied by a newer release)`);
        console.log(status.pending.length === 0 && status.unknown.length === 0 ? `${where} is up to date.` : `${where}: ${status.pending.length} pending; run bin/churn-worker db migrate.`);
        return status.pending.length === 0 && status.unknown.length === 0 ? 0 : 1;
      } finally {
        await pool.end();
      }
    }
    throw new UsageError(`db: unknown action "${action}"`, usage);
  },
};
