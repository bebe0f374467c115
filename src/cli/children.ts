/**
 * Starts `bin/churn-worker <subcommand>` as a real child process (the web and worker processes of the
 * Procfile) and waits for the log line that says it is ready. Used by the demo, end-to-end tests and
 * benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Lines kept for error messages; older ones are dropped. */
const KEEP_LINES = 2_000;

export interface ChildServer {
  child: ChildProcess;
  /** The `port` field of the ready line, or 0. */
  port: number;
  /** The last lines the child wrote (stdout and stderr). */
  output: () => string;
  /** Calls `listener` with every later line (parsed JSON log records; other lines as `{ msg }`). */
  onLine: (listener: (record: Record<string, unknown>) => void) => void;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves with the exit code when it has exited. */
  stop: (killAfterMs?: number) => Promise<number | null>;
  exited: Promise<number | null>;
}

/** Every child this process started that has not exited yet, ready or not. */
const live = new Set<ChildProcess>();

/**
 * SIGTERM to every live child (ready or still starting), SIGKILL to those still running after
 * `killAfterMs`; resolves when all have exited. For a parent that is itself interrupted.
 */
export async function stopAllChildren(killAfterMs = 10_000): Promise<void> {
  await Promise.all(
    [...live].map(async (child) => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exited;
      clearTimeout(timer);
    }),
  );
}

export function startChild(args: string[], env: NodeJS.ProcessEnv, readyMessage: RegExp, timeoutMs = 30_000): Promise<ChildServer> {
  const child = spawn(`${ROOT}bin/churn-worker`, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const lines: string[] = [];
  const listeners: Array<(record: Record<string, unknown>) => void> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  let ready: ((port: number) => void) | undefined;

  const onLine = (line: string) => {
    lines.push(line);
    if (lines.length > KEEP_LINES) lines.shift();
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      record = { msg: line };
    }
    if (ready && readyMessage.test(String(record.msg ?? line))) {
      ready(Number(record.port ?? 0));
      ready = undefined;
    }
    for (const l of listeners) l(record);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);

  const server = (port: number): ChildServer => ({
    child,
    port,
    output: () => lines.join('\n'),
    onLine: (listener) => listeners.push(listener),
    exited,
    stop: (killAfterMs = 10_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        void exited.then(() => clearTimeout(timer));
      }
      return exited;
    },
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`churn-worker ${args.join(' ')} was not ready within ${timeoutMs} ms:\n${lines.slice(-40).join('\n')}`));
    }, timeoutMs);
    ready = (port) => {
      clearTimeout(timer);
      resolve(server(port));
    };
    void exited.then((code) => {
      if (!ready) return;
      clearTimeout(timer);
      reject(new Error(`churn-worker ${args.join(' ')} exited with ${code} before it was ready:\n${lines.slice(-40).join('\n')}`));
    });
  });
}
