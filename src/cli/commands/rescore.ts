/**
 * `churn-worker rescore [--where "<SOQL condition>"] [--wait]`: enqueues a whole-org (or filtered)
 * re-scoring run now; the worker processes do it. With --wait, follows the run with a progress bar on
 * stderr and prints a summary; the exit code says how it ended.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { FINISHED_STATES, type RunRecord } from '../../nightly/state.js';
import { enqueueRun, nightlyQueue } from '../../queue/nightly-jobs.js';
import { RunStore } from '../../queue/nightly-store.js';
import { connectRedis } from '../../queue/redis.js';
import type { Command } from '../command.js';

const usage = `Usage: churn-worker rescore [--where "<SOQL condition>"] [--wait]

Enqueues a re-scoring run of every Account (Bulk API 2.0 query → score → Bulk ingest), done by the
running worker processes. Prints the run id on stdout.

  --where <cond>   Only Accounts matching one SOQL condition, e.g. "Contract_Type__c = 'Month-to-month'"
  --wait           Follow the run (progress bar on stderr) and print a summary; exit 0 when it
                   completed, 1 when it failed or was skipped because another run is going

Configuration comes from the environment (REDIS_URL, QUEUE_PREFIX).`;

function bar(done: number, total: number, width = 30): string {
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%`;
}

export function summary(run: RunRecord, seconds: number): string {
  const c = run.counts;
  return [
    `Run ${run.id}: ${run.state}${run.message ? ` (${run.message})` : ''}`,
    `  accounts ${run.total ?? 0}, read ${c.read}, scored ${c.scored}, written ${c.written}, unchanged ${c.unchanged}, retried ${c.retried}, failed ${c.failed}`,
    `  chunks ${run.chunksDone}/${run.chunksTotal ?? '?'}, Salesforce API calls ${run.apiCalls}, ${seconds.toFixed(1)} s`,
  ].join('\n');
}

export const command: Command = {
  name: 'rescore',
  summary: 'Enqueue a re-scoring run of every Account now (Bulk API 2.0), optionally filtered and followed.',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, strict: true, options: { where: { type: 'string' }, wait: { type: 'boolean' } } });
    const config = loadConfig();
    const redis = await connectRedis(config.redisUrl, 'command');
    const queue = nightlyQueue(redis, config.queue.prefix);
    const store = new RunStore(redis, config.queue.prefix);
    try {
      const runId = await enqueueRun(queue, store, { where: values.where, trigger: 'manual' });
      console.log(runId);
      if (!values.wait) return 0;
      const started = Date.now();
      const tty = process.stderr.isTTY;
      const noWorker = 'no worker process is running on this Redis and QUEUE_PREFIX: start one (bin/churn-worker worker, or heroku ps:scale worker=1); the run waits in the queue until then';
      // BullMQ names its workers' connections, so CLIENT LIST says whether one is running; a Redis
      // that refuses CLIENT LIST leaves the hint to the 30-second fallback below.
      if ((await queue.getWorkersCount().catch(() => undefined)) === 0) console.error(`rescore: ${noWorker}.`);
      let last = '';
      for (;;) {
        const run = (await store.get(runId))!;
        if (FINISHED_STATES.has(run.state)) {
          if (tty) process.stderr.write('\n');
          console.error(summary(run, (Date.now() - started) / 1000));
          if (run.state !== 'completed') for (const e of await store.events(runId, 10)) console.error(`  ${e}`);
          return run.state === 'completed' || run.state === 'completed-with-failures' ? 0 : 1;
        }
        const chunks = await store.chunks(runId);
        const read = chunks.reduce((s, c) => s + c.counts.read, 0);
        const written = chunks.reduce((s, c) => s + c.counts.written + c.counts.unchanged, 0);
        const total = run.total ?? 0;
        const hint = run.state === 'queued' && Date.now() - started > 30_000 ? ` (${noWorker}?)` : '';
        const line = `${bar((read + written) / 2, total)} ${run.state}: read ${read}/${total}, written or unchanged ${written}${run.message ? ` — ${run.message}` : ''}${hint}`;
        if (tty) process.stderr.write(`\r${line.padEnd(last.length)}`);
        else if (line !== last) console.error(line);
        last = line;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    } finally {
      await queue.close();
      await redis.quit();
    }
  },
};
