/**
 * The background appender: callers do not wait for PostgreSQL, rows that arrive meanwhile go in one
 * append, a full queue makes callers wait, drain waits for everything, failures are reported and
 * never thrown at the caller.
 */
import { describe, expect, it } from 'vitest';
import { backgroundAppend } from '../../src/db/background.js';

/** An append whose calls stay open until the test releases them. */
function gatedAppend() {
  const calls: number[][] = [];
  const gates: Array<(error?: Error) => void> = [];
  const append = (rows: readonly number[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push([...rows]);
      gates.push((error) => (error ? reject(error) : resolve()));
    });
  const release = async (error?: Error) => {
    gates.shift()!(error);
    await new Promise((r) => setImmediate(r));
  };
  return { calls, append, release };
}

describe('appending rows in the background', () => {
  it('when rows are added while an append is in flight, then add returns at once and the rows go in together in the next append', async () => {
    const g = gatedAppend();
    const errors: unknown[] = [];
    const bg = backgroundAppend(g.append, { onError: (e) => errors.push(e) });
    await bg.add([1, 2]);
    await bg.add([3]);
    await bg.add([4, 5]);
    expect(g.calls).toEqual([[1, 2]]);
    await g.release();
    expect(g.calls).toEqual([[1, 2], [3, 4, 5]]);
    const drained = bg.drain();
    await g.release();
    await drained;
    expect(errors).toEqual([]);
  });

  it('when more rows than the bound are waiting, then add waits for the append in flight', async () => {
    const g = gatedAppend();
    const bg = backgroundAppend(g.append, { maxPending: 2, onError: () => undefined });
    await bg.add([1]);
    await bg.add([2, 3]);
    let returned = false;
    const third = bg.add([4]).then(() => (returned = true));
    await new Promise((r) => setImmediate(r));
    expect(returned).toBe(false);
    await g.release();
    await third;
    expect(returned).toBe(true);
    await g.release();
    await bg.drain();
    expect(g.calls).toEqual([[1], [2, 3, 4]]);
  });

  it('when drain is called, then it resolves only after every added row was appended', async () => {
    const g = gatedAppend();
    const bg = backgroundAppend(g.append, { onError: () => undefined });
    await bg.add([1]);
    await bg.add([2]);
    let drained = false;
    const done = bg.drain().then(() => (drained = true));
    await g.release();
    expect(drained).toBe(false);
    await g.release();
    await done;
    expect(g.calls.flat()).toEqual([1, 2]);
  });

  it('when an append fails, then the error and its row count are reported, the caller is not failed and later rows still go in', async () => {
    const g = gatedAppend();
    const errors: Array<[string, number]> = [];
    const bg = backgroundAppend(g.append, { onError: (e, n) => errors.push([(e as Error).message, n]) });
    await bg.add([1, 2, 3]);
    await g.release(new Error('connection refused'));
    await bg.add([4]);
    await g.release();
    await bg.drain();
    expect(errors).toEqual([['connection refused', 3]]);
    expect(g.calls).toEqual([[1, 2, 3], [4]]);
  });

  it('when nothing was added, then drain resolves at once and no append is made', async () => {
    const g = gatedAppend();
    const bg = backgroundAppend(g.append, { onError: () => undefined });
    await bg.add([]);
    await bg.drain();
    expect(g.calls).toEqual([]);
  });
});
