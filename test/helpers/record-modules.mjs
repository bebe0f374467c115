/**
 * Loaded with `--import` into a child process: records every module URL the process resolves and,
 * when it exits, writes them (one a line) to RECORD_MODULES_FILE. Lets a test say which modules a
 * real process loaded.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    loaded.add(resolved.url);
    return resolved;
  },
});
process.on('exit', () => writeFileSync(process.env.RECORD_MODULES_FILE, [...loaded].join('\n')));
