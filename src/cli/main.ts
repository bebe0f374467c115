/**
 * `churn-worker <subcommand>`: reads `.env` (real environment variables win), dispatches to the
 * registered subcommands and ends the process with the command's exit code: 0 success, 1 runtime
 * failure, 2 usage error. The process exits as soon as the command ends, so a connection a failed
 * start-up left open (Redis, the scoring thread) never keeps it alive.
 */
import { readFileSync } from 'node:fs';
import { applyEnvFile, PROJECT_ROOT } from '../config/index.js';
import { COMMANDS } from './commands/index.js';
import { isInterrupted } from './interrupt.js';
import { asUsageError, closest, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeFor, formatFatal } from './errors.js';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: churn-worker <subcommand> [options]',
    '',
    'Subcommands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `churn-worker <subcommand> --help` for its options, `churn-worker --version` for the version.',
    'Exit codes: 0 success, 1 failure, 2 usage error.',
  ].join('\n');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(`${PROJECT_ROOT}package.json`, 'utf8')) as { version: string };
  return `churn-worker ${pkg.version} (node ${process.version})`;
}

/** The oldest Node.js the dependencies run on (jsforce's HTTP client, undici 8, needs 22.19). */
const MIN_NODE = [22, 19] as const;

function nodeTooOld(): string | undefined {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return undefined;
  return `churn-worker needs Node.js ${MIN_NODE.join('.')} or newer (24 LTS recommended); this is ${process.version}. Install Node 24 (nvm install 24; nvm use reads .nvmrc), or without a version manager: npm install --prefix ~/.node24 node@24 && export PATH=~/.node24/node_modules/.bin:$PATH`;
}

async function main(argv: string[]): Promise<number> {
  const tooOld = nodeTooOld();
  if (tooOld) {
    console.error(tooOld);
    return EXIT_FAILURE;
  }
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(version());
    return EXIT_OK;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return EXIT_OK;
  }
  if (!name) {
    console.error(help());
    return EXIT_USAGE;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const guess = closest(name, COMMANDS.map((c) => c.name));
    console.error(`churn-worker: unknown subcommand "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}\n\n${help()}`);
    return EXIT_USAGE;
  }
  applyEnvFile();
  const command = await entry.load();
  if (!command.handlesHelp && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(command.usage);
    return EXIT_OK;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    throw asUsageError(error, command.usage) ?? error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (!isInterrupted()) process.exit(code);
  },
  (error: unknown) => {
    // An interrupted command fails as its children stop; the clean-up reports and exits instead.
    if (isInterrupted()) return;
    console.error(formatFatal(error));
    process.exit(exitCodeFor(error));
  },
);
