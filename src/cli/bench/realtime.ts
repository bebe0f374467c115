/**
 * `churn-worker bench realtime`: the whole real-time path under a burst. The emulator changes N
 * Accounts in bursts of outbound messages (100 notifications each) to the real web process; the real
 * worker processes score and write back. Reports how many were written, the org's API calls, change →
 * write-back latency and duplicate writes; then, on the idle system, single changes one at a time.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import type { DatabaseConfig } from '../../db/pool.js';
import type { Benchmark } from '../commands/bench.js';
import { UsageError } from '../errors.js';
import { benchDatabase } from './database.js';
import { startStack } from '../stack.js';

const usage = `Usage: churn-worker bench realtime [--notifications 10000] [--workers 1] [--singles 20] [--history off|on|compare]

Prints a summary, then (last stdout line) one JSON object with notifications, written, apiCalls,
p50Ms, p95Ms, duplicateWrites, and singleP50Ms (one change at a time on an idle system).
  --history on       the processes keep the system of record (score history) in PostgreSQL at
                     DATABASE_URL, in a schema of the benchmark's own (dropped at the end)
  --history compare  the same run without, with, with and without it (in that order, so a load
                     that rises or falls during the command weighs on both sides), and the ratio
                     of the mean p95 with it to the mean p95 without it
Needs Redis at REDIS_URL (and PostgreSQL at DATABASE_URL for --history).`;

interface RunFigures {
  notifications: number;
  written: number;
  apiCalls: number;
  p50Ms: number;
  p95Ms: number;
  duplicateWrites: number;
  seconds: number;
  messages: number;
  workers: number;
  singleP50Ms: number;
  singleP95Ms: number;
  historyRows?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const benchmark: Benchmark = {
  summary: 'Burst of outbound messages → written back: API calls, latency, duplicates.',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { notifications: { type: 'string', default: '10000' }, workers: { type: 'string', default: '1' }, singles: { type: 'string', default: '20' }, history: { type: 'string', default: 'off' } },
    });
    const n = Number(values.notifications);
    const workers = Number(values.workers);
    const singles = Number(values.singles);
    if (!(n >= 100 && n % 100 === 0) || !(workers >= 1) || !(singles >= 0)) {
      throw new UsageError('bench realtime: --notifications takes a multiple of 100; --workers ≥ 1; --singles ≥ 0');
    }
    if (!['off', 'on', 'compare'].includes(values.history!)) throw new UsageError(`bench realtime: --history takes off, on or compare, got "${values.history}"`);
    const config = loadConfig();
    const runs: RunFigures[] = [];
    for (const history of values.history === 'compare' ? [false, true, true, false] : [values.history === 'on']) {
      const database = history ? await benchDatabase(config) : undefined;
      try {
        if (values.history === 'compare') console.error(`--- history ${history ? 'on' : 'off'}`);
        const run = await runOnce(config.redisUrl, n, workers, singles, database?.config);
        if (database) run.historyRows = await database.count('score_history');
        runs.push(run);
      } finally {
        await database?.drop();
      }
    }
    let figures: object = runs[0]!;
    if (values.history === 'compare') {
      const on = runs.filter((r) => r.historyRows !== undefined);
      const off = runs.filter((r) => r.historyRows === undefined);
      const mean = (rs: RunFigures[]) => rs.reduce((sum, r) => sum + r.p95Ms, 0) / rs.length;
      figures = {
        ...on.at(-1)!,
        historyOn: on,
        historyOff: off,
        p95OnMs: mean(on),
        p95OffMs: mean(off),
        p95RatioToHistoryOff: Math.round((mean(on) / mean(off)) * 100) / 100,
      };
      console.error(`p95 with the score history ${mean(on).toFixed(0)} ms, without ${mean(off).toFixed(0)} ms (mean of two runs each): ratio ${(mean(on) / mean(off)).toFixed(2)}`);
    }
    console.log(JSON.stringify(figures));
    return runs.every((r) => r.written === n && r.duplicateWrites === 0) ? 0 : 1;
  },
};

async function runOnce(redisUrl: string, n: number, workers: number, singles: number, database?: DatabaseConfig): Promise<RunFigures> {
  const stack = await startStack({ redisUrl, accounts: n + singles + 10, workers, database });
  try {
    const { org } = stack;
    const changedAt = new Map<string, number>();
    const writtenAt = new Map<string, number>();
    const writes = new Map<string, number>();
    org.state.store.onChange((c) => {
      if (c.username === org.username) {
        writes.set(c.id, (writes.get(c.id) ?? 0) + 1);
        if (!writtenAt.has(c.id)) writtenAt.set(c.id, c.at);
      } else if (c.changedFields.length > 0 && !changedAt.has(c.id)) {
        changedAt.set(c.id, c.at);
      }
    });
    const ids: string[] = [];
    while (ids.length < n + singles) {
      // The admin API lists at most 10,000 ids per call.
      const page = ((await (await fetch(`${org.url}/__admin/accounts?offset=${ids.length}&limit=${Math.min(10_000, n + singles - ids.length)}`)).json()) as { ids: string[] }).ids;
      ids.push(...page);
    }
    const change = async (batch: string[]) => {
      const records = [];
      for (const id of batch) {
        const { fields } = (await stack.account(id)) as { fields: Record<string, number | null> };
        records.push({ id, Monthly_Charges__c: Math.round(((fields.Monthly_Charges__c ?? 50) + 1.11) * 100) / 100 });
      }
      await stack.change(records);
    };

    const apiBefore = org.state.limits.apiUsed;
    const started = performance.now();
    console.error(`changing ${n} Accounts in bursts of 100 (${workers} worker process${workers > 1 ? 'es' : ''})…`);
    for (let i = 0; i < n; i += 100) {
      await change(ids.slice(i, i + 100));
      // Each PATCH of 100 records becomes one message of 100 notifications.
      org.outbound.flush();
    }
    const burst = ids.slice(0, n);
    const deadline = Date.now() + 5 * 60_000;
    let last = -1;
    while (burst.some((id) => !writtenAt.has(id)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      if (writtenAt.size !== last && writtenAt.size % 1000 < 100) console.error(`  written ${writtenAt.size}/${n}`);
      last = writtenAt.size;
    }
    const seconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 1_000));
    const apiCalls = org.state.limits.apiUsed - apiBefore;
    const written = burst.filter((id) => writtenAt.has(id)).length;
    const latencies = burst.filter((id) => writtenAt.has(id)).map((id) => writtenAt.get(id)! - changedAt.get(id)!).sort((a, b) => a - b);
    const duplicateWrites = burst.reduce((sum, id) => sum + Math.max(0, (writes.get(id) ?? 0) - 1), 0);
    const stats = org.outbound.stats();

    // Idle system: one change at a time, each waited for.
    const singleLatencies: number[] = [];
    for (const id of ids.slice(n, n + singles)) {
      await change([id]);
      const until = Date.now() + 10_000;
      while (!writtenAt.has(id) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      if (writtenAt.has(id)) singleLatencies.push(writtenAt.get(id)! - changedAt.get(id)!);
      await new Promise((r) => setTimeout(r, 100));
    }
    singleLatencies.sort((a, b) => a - b);

    console.log(`burst: ${written}/${n} written in ${seconds.toFixed(1)} s, ${stats.messagesDelivered} messages, ${apiCalls} API calls (naive: ${2 * n}), duplicates ${duplicateWrites}`);
    console.log(`change → written back: p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, max ${latencies[latencies.length - 1]} ms`);
    console.log(`idle, one change at a time (${singleLatencies.length}): p50 ${percentile(singleLatencies, 50)} ms, p95 ${percentile(singleLatencies, 95)} ms`);
    return {
      notifications: n,
      written,
      apiCalls,
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
      duplicateWrites,
      seconds: Math.round(seconds * 10) / 10,
      messages: stats.messagesDelivered,
      workers,
      singleP50Ms: percentile(singleLatencies, 50),
      singleP95Ms: percentile(singleLatencies, 95),
    };
  } finally {
    await stack.stop();
  }
}
