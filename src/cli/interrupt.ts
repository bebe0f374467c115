/**
 * Clean-up for commands that start other processes (the demo): on SIGINT or SIGTERM the registered
 * steps run once, newest first, each bounded in time, and the process exits 130 / 143 like a shell
 * reports an interrupted command. Without it a `kill` of the demo left its web process listening,
 * its private redis-server running and its queues in Redis.
 */
type Step = () => Promise<unknown> | unknown;

const steps: Step[] = [];
let installed = false;
let interrupted = false;

/** True once a signal started the clean-up: the command's own ending must leave the exit to it. */
export function isInterrupted(): boolean {
  return interrupted;
}

async function bounded(step: Step, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([Promise.resolve().then(step), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } catch {
    // A failed clean-up step must not stop the others.
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `step` if the process is interrupted; the returned function unregisters it. */
export function onInterrupt(step: Step, timeoutMs = 15_000): () => void {
  const entry: Step = () => bounded(step, timeoutMs);
  steps.push(entry);
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        interrupted = true;
        console.error(`\nchurn-worker: ${signal}: stopping what this command started…`);
        void (async () => {
          for (const s of [...steps].reverse()) await s();
          process.exit(signal === 'SIGINT' ? 130 : 143);
        })();
      });
    }
  }
  return () => {
    const i = steps.indexOf(entry);
    if (i >= 0) steps.splice(i, 1);
  };
}
