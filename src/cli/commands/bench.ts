import type { Command } from '../command.js';

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
      console.error(name ? `churn-worker bench: unknown benchmark "${name}"\n\n${usage}` : usage);
      return 2;
    }
    const bench = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(bench.usage);
      return 0;
    }
    return bench.run(rest);
  },
};
