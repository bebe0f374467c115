/**
 * Graceful shutdown in a fixed order: the steps are passed in by the entry point, run one after the
 * other, each bounded by what is left of the overall deadline (Heroku allows 30 s after SIGTERM).
 * Calling it twice returns the first run.
 */
import type { Logger } from '../log/logger.js';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
  /**
   * When the step is still running at the deadline, skip the remaining steps and let the process
   * exit (for workers: a job that cannot finish goes back to the queue when its lock expires).
   * @defaultValue false
   */
  exitOnTimeout?: boolean;
}

export function createShutdown(steps: ShutdownStep[], logger: Logger, deadlineMs = 25_000): (reason: string) => Promise<void> {
  let running: Promise<void> | undefined;
  return (reason: string) => {
    running ??= (async () => {
      const started = Date.now();
      logger.info({ reason }, 'shutting down');
      for (const step of steps) {
        const left = deadlineMs - (Date.now() - started);
        let timer: NodeJS.Timeout | undefined;
        let timedOut = false;
        try {
          await Promise.race([
            Promise.resolve().then(step.run),
            new Promise((_, reject) => {
              timer = setTimeout(() => {
                timedOut = true;
                reject(new Error(`did not finish within ${Math.max(left, 0)} ms`));
              }, Math.max(left, 0));
            }),
          ]);
          logger.debug({ step: step.name }, 'shutdown step done');
        } catch (error) {
          logger.warn({ step: step.name, err: error }, 'shutdown step failed');
        } finally {
          clearTimeout(timer);
        }
        if (timedOut && step.exitOnTimeout) {
          logger.warn({ step: step.name, skipped: steps.slice(steps.indexOf(step) + 1).map((s) => s.name) }, 'shutdown deadline reached; exiting without the remaining steps');
          break;
        }
      }
      logger.info({ ms: Date.now() - started }, 'shut down');
    })();
    return running;
  };
}

/** Runs `shutdown` on SIGTERM/SIGINT, then lets the process exit. */
export function onSignals(shutdown: (reason: string) => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void shutdown(signal).finally(() => {
        process.exitCode ??= 0;
        // Anything left open past the ordered steps must not keep the dyno alive.
        setTimeout(() => process.exit(), 100).unref();
      });
    });
  }
}
