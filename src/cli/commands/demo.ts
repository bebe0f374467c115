/**
 * `churn-worker demo` (the README's `npm run demo`): the whole real-time path on this machine,
 * narrated. It starts the org emulator, the web process and a worker process, changes a handful of
 * Accounts as a user would, and shows the outbound message, the batch, and the scores and reasons
 * written back, then a summary with the API calls used. It needs nothing but `npm ci` and a Redis:
 * when none answers at REDIS_URL and `redis-server` is installed, it runs a private one for itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../../config/index.js';
import { OUTPUT } from '../../core/account-fields.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded.js';
import { accountHistory } from '../../db/history.js';
import { checkDatabase, createPool, databaseLabel, quoteIdent, type DatabaseConfig } from '../../db/pool.js';
import { PgModelStore } from '../../db/models.js';
import { deleteKeysWithPrefix } from '../../queue/redis.js';
import { stopAllChildren } from '../children.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { onInterrupt } from '../interrupt.js';
import { startStack, type Stack } from '../stack.js';

const usage = `Usage: churn-worker demo [--accounts 2000] [--changes 5]

Starts the local org emulator, the web process and a worker process; changes a few Accounts as a
user would and narrates what happens until their scores are written back; prints a summary.
Uses Redis at REDIS_URL (default redis://127.0.0.1:6379), or a private redis-server when none answers.`;

async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_500 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function privateRedis(): Promise<{ url: string; child: ChildProcess } | undefined> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the private redis-server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout!.resume();
        resolve();
      }
    });
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

/** The demo's own schema in a PostgreSQL the user points it at: their other data stays untouched. */
const DEMO_SCHEMA = 'churn_demo';

/**
 * PostgreSQL for the demo: the one at DATABASE_URL when it answers (in a fresh schema of its own),
 * else an embedded one in this process (PGlite, in memory), so the demo needs nothing installed.
 */
async function demoDatabase(configured: DatabaseConfig | undefined): Promise<{ database: DatabaseConfig; embedded?: EmbeddedPostgres; where: string; why?: string }> {
  if (configured) {
    const database = { ...configured, schema: DEMO_SCHEMA };
    const pool = createPool(database, 1);
    pool.on('error', () => undefined);
    try {
      await checkDatabase(pool, database, 3_000);
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(DEMO_SCHEMA)} CASCADE`);
      return { database, where: `PostgreSQL at ${databaseLabel(configured.url)}, schema ${DEMO_SCHEMA}` };
    } catch {
      // Falls through to the embedded one, saying why.
    } finally {
      await pool.end();
    }
  }
  const embedded = await startEmbeddedPostgres();
  return {
    database: { url: embedded.url, schema: 'public', tls: 'off' },
    embedded,
    where: 'the embedded PostgreSQL (PGlite, in memory: gone when the demo ends)',
    why: configured ? `no PostgreSQL answers at ${databaseLabel(configured.url)}` : 'DATABASE_URL is not set',
  };
}

const say = (text: string) => console.log(text);
const ms = (n: number) => `${Math.round(n)} ms`;

export const command: Command = {
  name: 'demo',
  summary: 'Run the real-time path end to end against the local org emulator, narrated.',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { accounts: { type: 'string', default: '2000' }, changes: { type: 'string', default: '5' } } });
    const accounts = Number(values.accounts);
    const changes = Number(values.changes);
    if (!Number.isInteger(accounts) || accounts < 10 || !Number.isInteger(changes) || changes < 1 || changes > Math.min(200, accounts)) {
      throw new UsageError('demo: --accounts takes a whole number ≥ 10 and --changes 1 to 200 (and no more than --accounts)');
    }
    const config = loadConfig();
    let redisUrl = config.redisUrl;
    let ownRedis: ChildProcess | undefined;
    if (await redisAnswers(redisUrl)) {
      say(`● Redis answers at ${redisUrl}.`);
    } else {
      const started = await privateRedis();
      if (!started) {
        console.error(
          `churn-worker demo: no Redis answers at ${redisUrl} and no redis-server is installed.\n` +
            'Start one (Debian/Ubuntu: `sudo apt-get install -y redis-server`; macOS: `brew install redis && redis-server`),\n' +
            'or point REDIS_URL at one, then run `npm run demo` again.',
        );
        return 1;
      }
      ownRedis = started.child;
      redisUrl = started.url;
      const child = ownRedis;
      onInterrupt(async () => {
        child.kill('SIGTERM');
        await once(child, 'exit');
      });
      say(`● No Redis at ${config.redisUrl}: started a private redis-server at ${redisUrl} for this run (no persistence; stopped at the end).`);
    }

    const db = await demoDatabase(config.database);
    const embedded = db.embedded;
    if (embedded) onInterrupt(() => embedded.stop());
    say(db.embedded ? `● ${db.why}: started an embedded PostgreSQL (PGlite) for the model registry and score history.` : `● System of record: ${db.where} (recreated for this run).`);
    const pool = createPool(db.database, 2);
    pool.on('error', () => undefined);

    let stack: Stack | undefined;
    const queuePrefix = `{stack-${randomUUID().slice(0, 8)}}`;
    // Interrupted (Ctrl-C, kill): stop the web and worker processes even if they are still starting,
    // then remove this run's queues.
    onInterrupt(async () => {
      await stopAllChildren(5_000);
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      await deleteKeysWithPrefix(redis, queuePrefix).finally(() => redis.disconnect());
    });
    try {
      say(`● Starting the org emulator with ${accounts.toLocaleString('en')} Accounts, the web process and a worker process…`);
      const t0 = performance.now();
      stack = await startStack({ redisUrl, accounts, queuePrefix, database: db.database, env: { REALTIME_WINDOW_MS: '250' } });
      const s = stack;
      const champion = (await new PgModelStore(pool).roles()).champion;
      say(`  org ${s.org.orgId} at ${s.org.url} · web on port ${s.web.port} · worker signed in as ${s.org.username} (JWT bearer) · queues under ${queuePrefix} · ready in ${ms(performance.now() - t0)}`);
      say(`  model registry: champion ${champion ?? '(none)'} (the shipped model, registered at first start; bin/churn-worker models promote <version> replaces it without a redeploy)`);

      const changedAt = new Map<string, number>();
      const writtenAt = new Map<string, number>();
      let delivered = 0;
      s.org.outbound.onDelivered((d) => {
        if (!changedAt.has(d.recordId)) return;
        delivered += 1;
        if (delivered === changedAt.size) {
          say(`  ↳ outbound message acked by the web process ${ms(d.deliveredAt - d.changeAt)} after the change: ${delivered} notifications stored in Redis`);
        }
      });
      s.org.state.store.onChange((c) => {
        if (c.username === s.org.username && changedAt.has(c.id) && !writtenAt.has(c.id)) writtenAt.set(c.id, c.at);
      });
      for (const w of s.workers) {
        w.onLine((record) => {
          if (record.msg === 'real-time batch done') {
            say(`  ↳ worker batch: ${record.accounts} Accounts read with one SOQL query, scored, ${record.written} written with one sObject Collections update (${record.unchanged} unchanged, ${record.failed} failed)`);
          }
        });
      }

      const callsBefore = s.org.state.counters.snapshot();
      const outboundBefore = s.org.outbound.stats();
      // Prefer customers on longer contracts: moving them to month-to-month shows the score react.
      const list = (await (await fetch(`${s.org.url}/__admin/accounts?offset=0&limit=${Math.min(accounts, changes * 20)}`)).json()) as { ids: string[] };
      const candidates = await Promise.all(list.ids.map(async (id) => ({ id, fields: ((await s.account(id)) as { fields: Record<string, unknown> }).fields })));
      candidates.sort((a, b) => Number(a.fields.Contract_Type__c === 'Month-to-month') - Number(b.fields.Contract_Type__c === 'Month-to-month'));
      say(`\n● A user (${s.org.adminUsername}) edits ${changes} Accounts: month-to-month contracts, higher monthly charges.`);
      const records = [];
      for (const { id, fields } of candidates.slice(0, changes)) {
        const charges = Math.round(((Number(fields.Monthly_Charges__c) || 50) + 10.5) * 100) / 100;
        say(`  ${id}  ${String(fields.Name ?? '').padEnd(28)} Contract ${String(fields.Contract_Type__c)} → Month-to-month, Monthly charges ${String(fields.Monthly_Charges__c)} → ${charges}`);
        records.push({ id, Contract_Type__c: 'Month-to-month', Monthly_Charges__c: charges });
      }
      const changeTime = Date.now();
      for (const r of records) changedAt.set(r.id, changeTime);
      await s.change(records);
      say('  Salesforce (the emulator) sends an outbound message to the web process, which stores the notifications in Redis and only then acks.');

      const deadline = Date.now() + 30_000;
      while (writtenAt.size < records.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (writtenAt.size < records.length) {
        console.error(`churn-worker demo: only ${writtenAt.size} of ${records.length} Accounts were written back within 30 s.\nWorker log:\n${s.workers[0]!.output().split('\n').slice(-20).join('\n')}`);
        return 1;
      }

      say('\n● Written back (read from the org):');
      for (const r of records) {
        const { fields } = (await s.account(r.id)) as { fields: Record<string, unknown> };
        say(`  ${r.id}  score ${String(fields[OUTPUT.score]).padStart(6)}  risk ${String(fields[OUTPUT.risk]).padEnd(6)}  after ${ms(writtenAt.get(r.id)! - changedAt.get(r.id)!)}`);
        say(`      reasons: ${String(fields[OUTPUT.factors])}`);
      }
      // Give a loop the chance to show itself: the write-backs are the integration user's and must not trigger.
      await new Promise((r) => setTimeout(r, 1_000));
      const stats = s.org.outbound.stats();
      const calls = s.org.state.counters.snapshot();
      const latencies = records.map((r) => writtenAt.get(r.id)! - changedAt.get(r.id)!).sort((a, b) => a - b);
      const triggered = stats.triggered - outboundBefore.triggered;
      const skipped = stats.notTriggered - outboundBefore.notTriggered;
      const byKind = Object.entries(calls.byKind)
        .map(([kind, n]) => [kind, n - (callsBefore.byKind[kind] ?? 0)] as const)
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => `${kind} ${n}`);
      say('\n● Summary');
      say(`  ${records.length} Accounts changed → ${stats.messagesDelivered - outboundBefore.messagesDelivered} outbound message(s), ${stats.delivered - outboundBefore.delivered} notification(s) delivered`);
      if (triggered > records.length) {
        console.error(`churn-worker demo: ${triggered - records.length} change(s) after the user's edits triggered an outbound message: the write-back loops.`);
        return 1;
      }
      say(`  no loop: the ${skipped} write-back change(s) by the integration user triggered no outbound message (checked: ${triggered} triggered, all by the user's edits)`);
      say(`  change → written back: median ${ms(latencies[Math.floor(latencies.length / 2)]!)}, slowest ${ms(latencies[latencies.length - 1]!)}`);
      say(`  Salesforce API calls used: ${calls.total - callsBefore.total}${byKind.length > 0 ? ` (${byKind.join(', ')})` : ''}; the worker's sign-in happened at start-up`);
      const first = records[0]!.id;
      const history = await accountHistory(pool, [first]);
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM score_history WHERE account_id = ANY($1)', [records.map((r) => r.id)]);
      say(`  score history: ${rows[0]!.n} row(s) for these Accounts in table score_history of ${db.where}`);
      for (const h of history) say(`    ${first}  ${h.scoredAt.toISOString()}  score ${h.score.toFixed(2)}  ${h.risk}  ${h.modelVersion}  ${h.path}`);
      if (!db.embedded) say(`  read it again any time: DATABASE_SCHEMA=${DEMO_SCHEMA} bin/churn-worker history ${first}`);
      return 0;
    } finally {
      await stack?.stop();
      await pool.end();
      await db.embedded?.stop();
      if (ownRedis) {
        ownRedis.kill('SIGTERM');
        await once(ownRedis, 'exit');
      }
    }
  },
};
