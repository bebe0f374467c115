/**
 * Shared pieces of the HTTP benchmarks: start the real web process as a child (so the load generator
 * and the server do not share an event loop), run autocannon against it on loopback, and read the
 * figures. Every run is bounded in time and stops by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface ChildServer {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Starts `bin/churn-worker <args>` and waits for its JSON log line carrying `port`. */
export function startChild(args: string[], env: NodeJS.ProcessEnv, readyMessage: RegExp, timeoutMs = 30_000): Promise<ChildServer> {
  const child = spawn(`${ROOT}bin/churn-worker`, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!readyMessage.test(line)) continue;
        try {
          const port = Number(JSON.parse(line).port);
          if (port > 0) {
            clearTimeout(timer);
            child.stdout!.off('data', onData);
            // Keep draining so the child never blocks on a full pipe.
            child.stdout!.resume();
            child.stderr!.resume();
            resolve({
              child,
              port,
              stop: () =>
                new Promise<void>((done) => {
                  if (child.exitCode !== null) return done();
                  child.once('exit', () => done());
                  child.kill('SIGTERM');
                  setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
                }),
            });
            return;
          }
        } catch {
          // not JSON; keep waiting
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code} before it was ready:\n${output.slice(-2000)}`));
    });
  });
}

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  total: number;
}

export async function load(options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon({ ...options, timeout: 10 });
  return {
    requestsPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
  };
}
