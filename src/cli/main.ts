/** `churn-worker <subcommand>`: dispatches to the registered subcommands. */
import { COMMANDS } from './commands/index.js';
import { formatFatal } from './errors.js';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: churn-worker <subcommand> [options]',
    '',
    'Subcommands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `churn-worker <subcommand> --help` for its options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`churn-worker: unknown subcommand "${name}"\n\n${help()}`);
    return 2;
  }
  const command = await entry.load();
  if (!command.handlesHelp && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(command.usage);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(formatFatal(error));
    process.exitCode = 1;
  },
);
