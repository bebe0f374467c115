/**
 * `churn-worker history <accountId>`: an Account's score history from the system of record, newest
 * first: when, score, risk, model version, which path wrote it, and the reasons.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { to18 } from '../../core/record-id.js';
import { accountHistory } from '../../db/history.js';
import { checkDatabase, createPool } from '../../db/pool.js';
import type { Command } from '../command.js';
import { numberOption, UsageError } from '../errors.js';
import { requireDatabaseUrl } from './db.js';

const usage = `Usage: churn-worker history <accountId> [--limit 50] [--json]

Prints the scores written to an Account (15- or 18-character id), newest first, from the score
history in PostgreSQL (DATABASE_URL): time, score, risk band, model version, path (realtime, nightly,
manual) and reasons. History older than HISTORY_RETENTION_DAYS (400) is removed by the nightly run.`;

export const command: Command = {
  name: 'history',
  summary: "Print an Account's score history (time, score, risk, model version, path, reasons).",
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { limit: { type: 'string', default: '50' }, json: { type: 'boolean' } } });
    if (positionals.length !== 1) throw new UsageError('history takes one Account id', usage);
    const id = positionals[0]!;
    if (!/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(id)) throw new UsageError(`history: "${id}" is not a 15- or 18-character Salesforce id`, usage);
    const limit = numberOption('limit', values.limit, { min: 1, max: 10_000 });
    const database = requireDatabaseUrl(loadConfig());
    const pool = createPool(database, 1);
    try {
      await checkDatabase(pool, database);
      const ids = [...new Set([id, to18(id.slice(0, 15))])];
      const rows = await accountHistory(pool, ids, limit);
      if (values.json) {
        console.log(JSON.stringify(rows, null, 2));
        return 0;
      }
      if (rows.length === 0) {
        console.log(`No score history for ${id}.`);
        return 0;
      }
      for (const r of rows) {
        console.log(`${r.scoredAt.toISOString()}  ${r.score.toFixed(2).padStart(6)}  ${r.risk.padEnd(6)}  ${r.modelVersion}  ${r.path}${r.runId ? ` (${r.runId})` : ''}`);
        if (r.reasons) console.log(`    ${r.reasons}`);
      }
      return 0;
    } finally {
      await pool.end();
    }
  },
};
