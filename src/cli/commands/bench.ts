import type { Command } from '../command.js';
import { asUsageError, UsageError } from '../errors.js';

/**
 * Named benchmarks: `churn-worker bench <name> [options]`. Add one by adding an entry; each is loaded
 * only when asked for. Benchmarks print figures (last stdout line: one JSON object); they are never
 * timed tests.
 */
export interface Benchmark {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  scoring: async () => (await import('../bench/scoring.js')).benchmark,
  nightly: async () => (await import('../bench/nightly.js')).benchmark,
  webhook: async () => (await import('../bench/webhook.js')).benchmark,
  predict: async () => (await import('../bench/predict.js')).benchmark,
  realtime: async () => (await import('../bench/realtime.js')).benchmark,
  hostile: async () => (await import('../bench/hostile.js')).benchmark,
};

function list(): string {
  return Object.keys(BENCHMARKS).map((n) => `  ${n}`).join('\n');
}

const usage = `Usage: churn-worker bench <name> [options]

Benchmarks:
${list()}

Run \`churn-worker bench <name> --help\` for its options.`;

export const command: Command = {
  name: 'bench',
  summary: 'Run a named benchmark (scoring, ...).',
  usage,
  handlesHelp: true,
  async run(argv) {
    const [name, ...rest] = argv;
    if (name === '--help' || name === '-h') {
      console.log(usage);
      return 0;
    }
    const load = name ? BENCHMARKS[name] : undefined;
    if (!load) {
      throw new UsageError(name ? `bench: unknown benchmark "${name}"` : 'bench: which benchmark?', usage);
    }
    const bench = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(bench.usage);
      return 0;
    }
    try {
      return await bench.run(rest);
    } catch (error) {
      // Usage errors name the benchmark's own options, not the list of benchmarks.
      throw asUsageError(error, bench.usage) ?? error;
    }
  },
};
