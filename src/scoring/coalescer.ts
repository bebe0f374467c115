/**
 * Coalesces concurrent score calls into fewer scoring-thread calls: while a call is in flight, the
 * requests that arrive wait and then go together as one call, and each gets back exactly the results
 * of its own records, in its own order. A call costs a fixed round trip between threads, an ORT run
 * and a structured clone each way whatever its size, so under load sixteen one-record requests cost
 * about what one sixteen-record request does.
 *
 * Bounds: a request never waits longer than `maxWaitMs` before its call is sent (even when the calls
 * in flight have not ended), and a call never holds more than `maxRecords` records unless a single
 * request is larger, which then goes alone. When nothing is in flight a request goes at once (on the
 * next turn of the event loop, together with whatever arrived in the same turn).
 *
 * Only requests for the same model version (and the same `reasons`) share a call: a request is
 * scored by the version it was validated for, whatever the champion is by then.
 *
 * Errors stay per request: a record's failure is in that record's result; a call that fails as a
 * whole (an ORT failure, the version is gone) is made again for each of its requests on its own, so
 * each request gets its own outcome and one request's failure is never another's. (A record that is
 * not an object or has no id is failed under its position in the call, `#n`, by the engine; the
 * prediction API's schema lets no such record through.)
 */

export interface CoalescerOptions {
  /**
   * Most records in one scoring-thread call; a larger request goes alone. One explanation chunk of the
   * engine (one ORT run): past it a call gains nothing from company, and its requests only wait longer.
   * @defaultValue 250
   */
  maxRecords?: number;
  /** Longest a request waits for the calls in flight before its own is sent anyway. @defaultValue 5 */
  maxWaitMs?: number;
  /** Calls in flight at once; more requests wait and are coalesced. @defaultValue 1 */
  maxInFlight?: number;
}

/** One call to the scoring thread (`ScoringThread.predict` or `score`): one result per record, in order. */
export type ScoreCall<R> = (records: readonly unknown[], options: { version?: string; reasons: boolean }) => Promise<R[]>;

interface Waiting<R> {
  records: readonly unknown[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

interface Group<R> {
  key: string;
  version?: string;
  reasons: boolean;
  waiting: Array<Waiting<R>>;
  records: number;
  /** Sends the group when its oldest request has waited maxWaitMs. */
  deadline?: NodeJS.Timeout;
  /** Sends the group at the end of this event-loop turn when a call slot is free. */
  soon?: NodeJS.Immediate;
}

export class ScoreCoalescer<R> {
  private readonly maxRecords: number;
  private readonly maxWaitMs: number;
  private readonly maxInFlight: number;
  /** Groups waiting to be sent, oldest first (Map keeps insertion order; a sent group is removed). */
  private readonly groups = new Map<string, Group<R>>();
  private inFlight = 0;
  /** Scoring-thread calls made, for metrics and tests. */
  calls = 0;
  /** Requests taken (each answered through one of those calls). */
  requests = 0;

  constructor(
    private readonly call: ScoreCall<R>,
    options: CoalescerOptions = {},
  ) {
    this.maxRecords = options.maxRecords ?? 250;
    this.maxWaitMs = options.maxWaitMs ?? 5;
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  /** Scores `records` with `version` (the champion when absent), alone or together with other requests. */
  score(records: readonly unknown[], options: { version?: string; reasons?: boolean } = {}): Promise<R[]> {
    if (records.length === 0) return Promise.resolve([]);
    const reasons = options.reasons ?? true;
    const key = `${reasons ? 'r' : '-'}:${options.version ?? ''}`;
    return new Promise<R[]>((resolve, reject) => {
      let group = this.groups.get(key);
      // A request that would take the waiting group past the bound sends the group first.
      if (group && group.records + records.length > this.maxRecords) {
        this.send(group);
        group = undefined;
      }
      if (!group) {
        group = { key, version: options.version, reasons, waiting: [], records: 0 };
        this.groups.set(key, group);
      }
      group.waiting.push({ records, resolve, reject });
      group.records += records.length;
      this.requests += 1;
      if (group.records >= this.maxRecords) this.send(group);
      else this.schedule(group);
    });
  }

  private schedule(group: Group<R>): void {
    group.deadline ??= setTimeout(() => this.send(group), this.maxWaitMs);
    if (this.inFlight < this.maxInFlight) {
      group.soon ??= setImmediate(() => {
        group.soon = undefined;
        if (this.inFlight < this.maxInFlight) this.send(group);
      });
    }
  }

  private send(group: Group<R>): void {
    if (this.groups.get(group.key) !== group) return; // already sent
    this.groups.delete(group.key);
    clearTimeout(group.deadline);
    if (group.soon) clearImmediate(group.soon);
    const { waiting } = group;
    const records = waiting.length === 1 ? waiting[0]!.records : waiting.flatMap((w) => w.records);
    this.inFlight += 1;
    this.calls += 1;
    this.attempt(records, group)
      .then((results) => {
        if (results.length !== records.length) throw new Error(`the scoring thread answered ${results.length} results for ${records.length} records`);
        let at = 0;
        for (const w of waiting) {
          w.resolve(waiting.length === 1 ? results : results.slice(at, at + w.records.length));
          at += w.records.length;
        }
      })
      .catch((error: unknown) => {
        if (waiting.length === 1) return waiting[0]!.reject(error);
        // Each request on its own, so each gets its own outcome.
        for (const w of waiting) {
          this.calls += 1;
          this.attempt(w.records, group).then(w.resolve, w.reject);
        }
      })
      .finally(() => {
        this.inFlight -= 1;
        this.next();
      });
  }

  private attempt(records: readonly unknown[], group: Group<R>): Promise<R[]> {
    try {
      return this.call(records, { version: group.version, reasons: group.reasons });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** After a call ends: the oldest waiting groups go while slots are free. */
  private next(): void {
    for (const group of this.groups.values()) {
      if (this.inFlight >= this.maxInFlight) return;
      this.send(group);
    }
  }
}
