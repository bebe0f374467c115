import { describe, expect, it } from 'vitest';
import * as S from '../../src/nightly/state.js';

const at = (phase: S.ChunkPhase, more: Partial<S.ChunkState> = {}): S.ChunkState => ({ ...S.newChunk(0, null), phase, ...more });

describe('the chunk phase machine', () => {
  it('when a new attempt finds a chunk still submitting, then it reads the page again (part files do not outlive an attempt); other phases stay', () => {
    expect(S.startAttempt(at('submitting')).phase).toBe('reading');
    for (const phase of ['reading', 'collecting', 'retrying', 'done'] as const) expect(S.startAttempt(at(phase)).phase).toBe(phase);
  });

  it('when the page is scored, then the chunk is submitting with its parts and counts, and the state before is untouched', () => {
    const before = at('reading', { counts: { ...S.emptyCounts(), failed: 1 } });
    const after = S.pageScored(before, { read: 10, scored: 9, unchanged: 2, failed: 1, parts: 2 });
    expect(after).toMatchObject({ phase: 'submitting', parts: 2, counts: { read: 10, scored: 9, unchanged: 2, failed: 2 } });
    expect(before.phase).toBe('reading');
  });

  it('when a part job is opened and closed, then it is pending until closed', () => {
    let s = S.jobOpened(at('submitting'), { id: 'J1', part: 0, attempt: 0, records: 5 });
    expect(S.partPending(s, 0)).toBe(true);
    s = S.jobClosed(s, 'J1', 123);
    expect(S.partPending(s, 0)).toBe(false);
    expect(s.jobs).toEqual([{ id: 'J1', part: 0, attempt: 0, records: 5, status: 'closed', closedAt: 123 }]);
  });

  it('when a retry job is opened and then aborted after a crash, then its sources and its count come back', () => {
    const waiting = at('retrying', { retryFrom: ['J1', 'J2'], retryAt: 5 });
    const opened = S.jobOpened(waiting, { id: 'R1', part: -1, attempt: 1, records: 3, sources: ['J1', 'J2'] });
    expect(opened).toMatchObject({ phase: 'collecting', retryFrom: [], retryAttempt: 1, retryAt: undefined, counts: { retried: 3 } });
    const aborted = S.jobAborted(opened, 'R1');
    expect(aborted).toMatchObject({ retryFrom: ['J1', 'J2'], counts: { retried: 0 } });
    expect(aborted.jobs).toEqual([]);
  });

  it('when collecting ends, then the chunk is done, or a retry is due after the back-off, or (no attempts left) it must give up', () => {
    expect(S.afterCollecting(at('collecting'), 3, 1_000, () => 500).phase).toBe('done');
    const due = S.afterCollecting(at('collecting', { retryFrom: ['J1'], retryAttempt: 1 }), 3, 1_000, (n) => n * 100);
    expect(due).toMatchObject({ phase: 'retrying', retryAt: 1_200 });
    expect(S.retriesExhausted(due, 3)).toBe(false);
    const last = S.afterCollecting(at('collecting', { retryFrom: ['J1'], retryAttempt: 3 }), 3, 1_000, () => 500);
    expect(last).toMatchObject({ phase: 'retrying', retryAt: undefined });
    expect(S.retriesExhausted(last, 3)).toBe(true);
    expect(S.retriesClosed(last, 2)).toMatchObject({ phase: 'done', retryFrom: [], counts: { failed: 2 } });
  });

  it('when the slot is handed back again and again, then the wait grows 1.6× up to the longest poll', () => {
    let s = at('collecting');
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) waits.push((s = S.yielded(s, 1_000, 3_000, 1.6)).yieldedMs!);
    expect(waits).toEqual([1_000, 1_600, 2_560, 3_000, 3_000]);
  });

  it('when a chunk state was stored before phases were (an upgrade during a run), then its phase is read from its fields', () => {
    const legacy = (fields: Record<string, unknown>) => S.withPhase({ ...S.newChunk(0, null), phase: undefined as unknown as S.ChunkPhase, ...fields });
    expect(legacy({ done: true }).phase).toBe('done');
    expect(legacy({ failuresLogged: false }).phase).toBe('reading');
    expect(legacy({ failuresLogged: true, parts: 1, jobs: [{ id: 'J', part: 0, attempt: 0, status: 'open', records: 1 }] }).phase).toBe('submitting');
    expect(legacy({ failuresLogged: true, parts: 1, jobs: [{ id: 'J', part: 0, attempt: 0, status: 'closed', records: 1 }] }).phase).toBe('collecting');
  });
});
