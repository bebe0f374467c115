/** Starts `bin/churn-worker` subcommands as real child processes for integration tests. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}bin/churn-worker`;

export interface Started {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  /** Resolves with the first stdout/stderr line matching `pattern`. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  exited: Promise<number | null>;
}

/**
 * A clean environment: PATH and HOME only, plus what the test gives. The checkout's .env (a
 * developer's own settings) is not read unless the test sets ENV_FILE itself.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: 'none', ...extra };
}

export function start(args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): Started {
  const child = spawn(BIN, args, { cwd: options.cwd ?? ROOT, env });
  let out = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.pattern.test(l));
      if (line) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const line = out.split('\n').find((l) => pattern.test(l));
        if (line) return resolve(line);
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`)), timeoutMs);
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      }),
  };
}

/** Runs a subcommand to completion. */
export async function runToEnd(args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): Promise<{ code: number | null; output: string }> {
  const started = start(args, env, options);
  const code = await started.exited;
  return { code, output: started.output() };
}
