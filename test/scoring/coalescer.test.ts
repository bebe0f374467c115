import { describe, expect, it } from 'vitest';
import { ScoreCoalescer, type CoalescerOptions } from '../../src/scoring/coalescer.js';

type Rec = { Id: string; bad?: boolean };
type Result = { id: string; version: string } | { id: string; error: string };

interface Call {
  records: Rec[];
  version?: string;
  reasons: boolean;
  finish: () => void;
  fail: (error: Error) => void;
}

/**
 * A scoring thread stand-in whose calls end when the test says: each record's result names the
 * record and the version that scored it; a record marked bad gets a per-record error.
 */
function fakeThread(options: CoalescerOptions = {}) {
  const calls: Call[] = [];
  const coalescer = new ScoreCoalescer<Result>((records, o) => {
    const recs = records as Rec[];
    return new Promise<Result[]>((resolve, reject) => {
      calls.push({
        records: recs,
        version: o.version,
        reasons: o.reasons,
        finish: () => resolve(recs.map((r) => (r.bad ? { id: r.Id, error: 'bad record' } : { id: r.Id, version: o.version ?? 'champion' }))),
        fail: reject,
      });
    });
  }, options);
  return { coalescer, calls };
}

const recs = (prefix: string, n: number): Rec[] => Array.from({ length: n }, (_, i) => ({ Id: `${prefix}${i}` }));
const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ScoreCoalescer', () => {
  it('when nothing is in flight, then a request goes at once, alone', async () => {
    const { coalescer, calls } = fakeThread();
    const answer = coalescer.score(recs('a', 3), { version: 'v1' });
    await turn();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.records.map((r) => r.Id)).toEqual(['a0', 'a1', 'a2']);
    expect(calls[0]!.reasons).toBe(true); // reasons unless asked otherwise
    calls[0]!.finish();
    expect(await answer).toEqual([
      { id: 'a0', version: 'v1' },
      { id: 'a1', version: 'v1' },
      { id: 'a2', version: 'v1' },
    ]);
  });

  it('when requests arrive while a call is in flight, then they go together in the next call and each gets exactly its own results', async () => {
    const { coalescer, calls } = fakeThread({ maxWaitMs: 60_000 });
    const first = coalescer.score(recs('first', 1), { version: 'v1' });
    await turn();
    const sizes = [1, 4, 2, 7, 1];
    const later = sizes.map((n, k) => coalescer.score([...recs(`r${k}-`, n), ...(k === 2 ? [{ Id: `r${k}-bad`, bad: true }] : [])], { version: 'v1' }));
    await turn();
    expect(calls).toHaveLength(1); // the others wait for the call in flight
    calls[0]!.finish();
    await first;
    await turn();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.records).toHaveLength(1 + 4 + 3 + 7 + 1);
    calls[1]!.finish();
    const answers = await Promise.all(later);
    answers.forEach((answer, k) => {
      const own = [...recs(`r${k}-`, sizes[k]!).map((r) => r.Id), ...(k === 2 ? [`r${k}-bad`] : [])];
      expect(answer.map((r) => r.id)).toEqual(own);
    });
    expect(answers[2]![2]).toEqual({ id: 'r2-bad', error: 'bad record' });
    expect(coalescer.calls).toBe(2);
    expect(coalescer.requests).toBe(6);
  });

  it('when requests for two versions arrive in the same turn with one call slot, then one goes and the other waits for it', async () => {
    const { coalescer, calls } = fakeThread({ maxWaitMs: 60_000 });
    const v1 = coalescer.score(recs('a', 1), { version: 'v1' });
    const v2 = coalescer.score(recs('b', 1), { version: 'v2' });
    await turn();
    await turn();
    expect(calls.map((c) => c.version)).toEqual(['v1']);
    calls[0]!.finish();
    await v1;
    await turn();
    expect(calls.map((c) => c.version)).toEqual(['v1', 'v2']);
    calls[1]!.finish();
    await v2;
  });

  it('when requests are for different model versions, then they never share a call and each call names its version', async () => {
    const { coalescer, calls } = fakeThread({ maxWaitMs: 60_000 });
    const first = coalescer.score(recs('x', 1), { version: 'v1' });
    await turn();
    const v1 = coalescer.score(recs('a', 2), { version: 'v1' });
    const v2 = coalescer.score(recs('b', 2), { version: 'v2' });
    const v1again = coalescer.score(recs('c', 1), { version: 'v1' });
    const champion = coalescer.score(recs('d', 1));
    calls[0]!.finish();
    await first;
    // One slot: the oldest group goes first, the others as slots free up.
    for (let i = 1; i <= 3; i++) {
      await turn();
      expect(calls).toHaveLength(i + 1);
      calls[i]!.finish();
    }
    expect(calls.slice(1).map((c) => [c.version, c.records.map((r) => r.Id)])).toEqual([
      ['v1', ['a0', 'a1', 'c0']],
      ['v2', ['b0', 'b1']],
      [undefined, ['d0']],
    ]);
    expect(await v1).toEqual([{ id: 'a0', version: 'v1' }, { id: 'a1', version: 'v1' }]);
    expect(await v2).toEqual([{ id: 'b0', version: 'v2' }, { id: 'b1', version: 'v2' }]);
    expect(await v1again).toEqual([{ id: 'c0', version: 'v1' }]);
    expect(await champion).toEqual([{ id: 'd0', version: 'champion' }]);
  });

  it('when requests with and without reasons wait together, then they go in separate calls', async () => {
    const { coalescer, calls } = fakeThread({ maxWaitMs: 60_000, maxInFlight: 2 });
    const a = coalescer.score(recs('a', 1), { version: 'v1', reasons: true });
    const b = coalescer.score(recs('b', 1), { version: 'v1', reasons: false });
    await turn();
    expect(calls.map((c) => [c.reasons, c.records[0]!.Id])).toEqual([
      [true, 'a0'],
      [false, 'b0'],
    ]);
    for (const c of calls) c.finish();
    await Promise.all([a, b]);
  });

  it('when the waiting records would pass maxRecords, then no call holds more than maxRecords, and a larger request goes alone', async () => {
    const { coalescer, calls } = fakeThread({ maxRecords: 10, maxWaitMs: 60_000, maxInFlight: 100 });
    const busy = coalescer.score(recs('busy', 1));
    await turn();
    const answers = [4, 4, 4, 3, 12, 2].map((n, k) => coalescer.score(recs(`r${k}-`, n)));
    await turn();
    // 4+4 goes when the next 4 would pass 10; 4+3 goes when 12 arrives; 12 is past the bound and goes
    // alone at once; 2 goes at the end of the turn.
    expect(calls.slice(1).map((c) => c.records.length)).toEqual([8, 7, 12, 2]);
    for (const c of calls) c.finish();
    const got = await Promise.all(answers);
    expect(got.map((a) => a.length)).toEqual([4, 4, 4, 3, 12, 2]);
    await busy;
  });

  it('when waiting requests reach maxRecords exactly, then they go at once as one call, busy or not', async () => {
    const { coalescer, calls } = fakeThread({ maxRecords: 10, maxWaitMs: 60_000 });
    void coalescer.score(recs('busy', 1));
    await turn();
    const four = coalescer.score(recs('f', 4));
    const six = coalescer.score(recs('s', 6));
    // No turn of the event loop: a full call does not wait for one, nor for the busy call.
    expect(calls.map((c) => c.records.length)).toEqual([1, 10]);
    calls[1]!.finish();
    expect((await four).map((r) => r.id)).toEqual(['f0', 'f1', 'f2', 'f3']);
    expect((await six).map((r) => r.id)).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    calls[0]!.finish();
  });

  it('when a call stays in flight longer than maxWaitMs, then the waiting requests are sent anyway', async () => {
    const { coalescer, calls } = fakeThread({ maxWaitMs: 10 });
    void coalescer.score(recs('slow', 1));
    await turn();
    const waiting = coalescer.score(recs('w', 2));
    await turn();
    expect(calls).toHaveLength(1);
    // The 10 ms deadline was set before this 50 ms sleep, so it has fired when the sleep ends.
    await sleep(50);
    expect(calls).toHaveLength(2);
    calls[1]!.finish();
    expect((await waiting).map((r) => r.id)).toEqual(['w0', 'w1']);
    calls[0]!.finish();
  });

  it('when a coalesced call fails as a whole, then each of its requests is made again alone and gets its own outcome', async () => {
    const { coalescer, calls } = fakeThread({ maxWaitMs: 60_000 });
    const first = coalescer.score(recs('x', 1));
    await turn();
    const good = coalescer.score(recs('good', 2));
    const doomed = coalescer.score(recs('doomed', 1));
    calls[0]!.finish();
    await first;
    await turn();
    expect(calls[1]!.records).toHaveLength(3);
    calls[1]!.fail(new Error('ORT failed'));
    await turn();
    await turn();
    expect(calls.slice(2).map((c) => c.records.map((r) => r.Id))).toEqual([['good0', 'good1'], ['doomed0']]);
    calls[2]!.finish();
    calls[3]!.fail(new Error('this request only'));
    expect(await good).toEqual([{ id: 'good0', version: 'champion' }, { id: 'good1', version: 'champion' }]);
    await expect(doomed).rejects.toThrow('this request only');
    expect(coalescer.calls).toBe(4);
  });

  it('when a request alone fails, then only it is rejected and the next request is served', async () => {
    const { coalescer, calls } = fakeThread();
    const doomed = coalescer.score(recs('d', 1));
    await turn();
    calls[0]!.fail(new Error('thread gone'));
    await expect(doomed).rejects.toThrow('thread gone');
    const next = coalescer.score(recs('n', 1));
    await turn();
    calls[1]!.finish();
    expect(await next).toEqual([{ id: 'n0', version: 'champion' }]);
  });

  it('when the thread answers a different number of results, then the request fails instead of getting another\'s', async () => {
    const coalescer = new ScoreCoalescer<Result>(async (records) => records.slice(1).map((r) => ({ id: (r as Rec).Id, version: 'v' })));
    await expect(coalescer.score(recs('a', 2))).rejects.toThrow('answered 1 results for 2 records');
  });

  it('when a request has no records, then it gets an empty answer without a call', async () => {
    const { coalescer, calls } = fakeThread();
    expect(await coalescer.score([])).toEqual([]);
    expect(calls).toHaveLength(0);
  });
});
