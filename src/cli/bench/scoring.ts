/**
 * `churn-worker bench scoring`: throughput of the scoring engine, alone and with reasons, at batch
 * sizes 1, 200 and 10,000 on one ORT thread; the latency of one account with reasons; and the longest
 * event-loop stall while 10,000 accounts are scored (what a web process sharing the loop would feel).
 *
 * The accounts are synthetic, drawn from the spec (every level of every picklist, numbers around
 * their training median, some blanks, REST and Bulk value shapes mixed), so the bench runs without
 * the dataset and exercises the imputation paths too.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { ScoringEngine } from '../../scoring/engine.js';
import type { FeatureSpec } from '../../scoring/spec.js';
import { table } from '../../training/metrics.js';
import { seededRandom } from '../../training/random.js';
import type { Benchmark } from '../commands/bench.js';

const usage = `Usage: churn-worker bench scoring [--model <path>] [--spec <path>] [--threads <n>] [--seconds <s>]

Prints a table, then (last stdout line) one JSON object with scoreOnlyPerSec and withReasonsPerSec
(batch 10,000), singleWithReasonsMs (median) and maxEventLoopStallMs.

  --model <path>    ONNX model (default MODEL_PATH, else models/churn-gbt.onnx)
  --spec <path>     its spec (default: beside the model)
  --threads <n>     ORT intra-op threads (default 1)
  --seconds <s>     minimum time per measurement (default 1)`;

export function syntheticAccounts(spec: FeatureSpec, n: number, seed = 7): Record<string, unknown>[] {
  const random = seededRandom(seed);
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const rec: Record<string, unknown> = { Id: `001BENCH${String(i).padStart(10, '0')}` };
    const bulk = random() < 0.5; // Bulk API CSV shapes (strings) or REST JSON shapes
    for (const f of spec.features) {
      if (random() < 0.01) {
        rec[f.field] = bulk ? '' : null;
        continue;
      }
      switch (f.encoding) {
        case 'picklist':
          rec[f.field] = f.levels[Math.floor(random() * f.levels.length)];
          break;
        case 'checkbox': {
          const v = random() < 0.5;
          rec[f.field] = bulk ? String(v) : v;
          break;
        }
        case 'number': {
          const v = Math.round(f.impute * 2 * random() * 100) / 100;
          rec[f.field] = bulk ? String(v) : v;
          break;
        }
        case 'date':
          rec[f.field] = new Date(now - random() * 3 * 365 * 86_400_000).toISOString();
          break;
      }
    }
    return rec;
  });
}

async function timeIt(seconds: number, once: () => Promise<unknown>): Promise<{ perCallMs: number; calls: number }> {
  await once(); // warm-up
  let calls = 0;
  const start = performance.now();
  do {
    await once();
    calls++;
  } while (performance.now() - start < seconds * 1000 || calls < 3);
  return { perCallMs: (performance.now() - start) / calls, calls };
}

export const benchmark: Benchmark = {
  summary: 'Scoring throughput, single-account latency and event-loop stall.',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { model: { type: 'string' }, spec: { type: 'string' }, threads: { type: 'string', default: '1' }, seconds: { type: 'string', default: '1' } },
    });
    const scoring = loadConfig().scoring;
    const modelPath = values.model ?? scoring.modelPath;
    const engine = await ScoringEngine.open({ modelPath, specPath: values.spec ?? (values.model ? undefined : scoring.specPath), threads: Number(values.threads) });
    try {
      const seconds = Number(values.seconds);
      const accounts = syntheticAccounts(engine.spec, 10_000);
      const rows: (string | number)[][] = [];
      const perSec: Record<string, number> = {};
      for (const batch of [1, 200, 10_000]) {
        for (const reasons of [false, true]) {
          let offset = 0;
          const t = await timeIt(seconds, () => {
            const slice = accounts.slice(offset, offset + batch);
            offset = (offset + batch) % accounts.length;
            return engine.score(slice, { reasons });
          });
          const rate = (batch * 1000) / t.perCallMs;
          perSec[`${batch}/${reasons}`] = rate;
          rows.push([String(batch), reasons ? 'yes' : 'no', Math.round(rate).toLocaleString('en-US'), t.perCallMs.toFixed(3), String(t.calls)]);
        }
      }

      const singles: number[] = [];
      for (let i = 0; i < 1000; i++) {
        const t0 = performance.now();
        await engine.score([accounts[i]!], { reasons: true });
        singles.push(performance.now() - t0);
      }
      singles.sort((a, b) => a - b);
      const singleMedian = singles[Math.floor(singles.length / 2)]!;
      const singleP99 = singles[Math.floor(singles.length * 0.99)]!;

      // Stall: the event-loop delay histogram and a 1 ms timer's drift, while 10,000 are scored.
      const stall: Record<string, number> = {};
      for (const reasons of [false, true]) {
        const histogram = monitorEventLoopDelay({ resolution: 1 });
        let last = performance.now();
        let drift = 0;
        const timer = setInterval(() => {
          const t = performance.now();
          drift = Math.max(drift, t - last - 1);
          last = t;
        }, 1);
        histogram.enable();
        await engine.score(accounts, { reasons });
        await new Promise((r) => setTimeout(r, 5));
        histogram.disable();
        clearInterval(timer);
        stall[reasons ? 'reasons' : 'scoreOnly'] = Math.max(histogram.max / 1e6, drift);
      }

      console.log(`Model ${engine.modelVersion}, ${engine.encoder.width} columns, ${engine.encoder.groups.length} fields, ORT threads ${values.threads}\n`);
      console.log(table(['batch', 'reasons', 'accounts/s', 'ms/call', 'calls'], rows));
      console.log(`\nOne account with reasons: median ${singleMedian.toFixed(3)} ms, p99 ${singleP99.toFixed(3)} ms`);
      console.log(`Longest event-loop stall while scoring 10,000: ${stall.scoreOnly!.toFixed(1)} ms alone, ${stall.reasons!.toFixed(1)} ms with reasons`);
      const r = (x: number) => Math.round(x);
      console.log(
        JSON.stringify({
          scoreOnlyPerSec: r(perSec['10000/false']!),
          withReasonsPerSec: r(perSec['10000/true']!),
          scoreOnlyBatch200PerSec: r(perSec['200/false']!),
          withReasonsBatch200PerSec: r(perSec['200/true']!),
          scoreOnlyBatch1PerSec: r(perSec['1/false']!),
          withReasonsBatch1PerSec: r(perSec['1/true']!),
          singleWithReasonsMs: Number(singleMedian.toFixed(3)),
          singleWithReasonsP99Ms: Number(singleP99.toFixed(3)),
          maxEventLoopStallMs: Number(Math.max(stall.scoreOnly!, stall.reasons!).toFixed(1)),
          modelVersion: engine.modelVersion,
        }),
      );
      return 0;
    } finally {
      await engine.close();
    }
  },
};
