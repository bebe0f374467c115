import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createShutdown } from '../../src/runtime/shutdown.js';

const logger = pino({ level: 'silent' });
const never = () => new Promise<void>(() => undefined);

describe('createShutdown', () => {
  it('when a step overruns the deadline, then the next steps still run unless it says to exit', async () => {
    const ran: string[] = [];
    const shutdown = createShutdown(
      [
        { name: 'slow', run: never },
        { name: 'after', run: () => void ran.push('after') },
      ],
      logger,
      80,
    );
    await shutdown('SIGTERM');
    expect(ran).toEqual(['after']);
  });

  it('when the workers step overruns with exitOnTimeout, then the remaining steps are skipped and it ends at the deadline', async () => {
    const ran: string[] = [];
    const shutdown = createShutdown(
      [
        { name: 'not-ready', run: () => void ran.push('not-ready') },
        { name: 'workers', run: never, exitOnTimeout: true },
        { name: 'scoring', run: () => void ran.push('scoring') },
        { name: 'redis', run: () => void ran.push('redis') },
      ],
      logger,
      100,
    );
    // On a clock the test moves: it ends exactly at the deadline, however loaded the machine.
    vi.useFakeTimers();
    try {
      let ended = false;
      const done = shutdown('SIGTERM').then(() => void (ended = true));
      await vi.advanceTimersByTimeAsync(99);
      expect(ended).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await done;
      expect(ended).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect(ran).toEqual(['not-ready']);
  });

  it('when called twice, then the steps run once', async () => {
    let runs = 0;
    const shutdown = createShutdown([{ name: 'one', run: () => void (runs += 1) }], logger);
    await Promise.all([shutdown('SIGTERM'), shutdown('SIGINT')]);
    expect(runs).toBe(1);
  });
});
