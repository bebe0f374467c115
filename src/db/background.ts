/**
 * Appends rows to the system of record off the caller's path: `add` returns at once and the rows go
 * in with whatever else arrived meanwhile, one append at a time. The real-time worker's job ends when
 * Salesforce holds the scores; the history row follows within one append (a few ms), instead of
 * every batch waiting for its own round trip to PostgreSQL. Bounded: past `maxPending` rows, `add`
 * waits for the append in flight, so a slow database slows the worker instead of filling its memory.
 * `drain` (at shutdown) waits until everything added is appended. An append that fails is reported to
 * `onError` with the number of rows it carried, and those rows are dropped: the history is a record of
 * what Salesforce holds, never a reason to fail a batch it already holds.
 */
export interface BackgroundAppend<T> {
  add(rows: readonly T[]): Promise<void>;
  drain(): Promise<void>;
}

export function backgroundAppend<T>(append: (rows: readonly T[]) => Promise<void>, options: { maxPending?: number; onError: (error: unknown, rows: number) => void }): BackgroundAppend<T> {
  const maxPending = options.maxPending ?? 50_000;
  let pending: T[] = [];
  let flushing: Promise<void> | undefined;
  /** The append in flight (settles when it does, never rejects). */
  let current: Promise<void> = Promise.resolve();

  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const rows = pending;
      pending = [];
      current = append(rows).catch((error: unknown) => options.onError(error, rows.length));
      await current;
    }
  };
  const start = (): Promise<void> =>
    (flushing ??= flush().finally(() => {
      flushing = undefined;
    }));

  return {
    async add(rows) {
      if (rows.length === 0) return;
      const full = pending.length >= maxPending;
      for (const row of rows) pending.push(row);
      void start();
      if (full) await current;
    },
    async drain() {
      while (flushing || pending.length > 0) await start();
    },
  };
}
