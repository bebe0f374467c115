/**
 * Every retry and back-off decision of the project, in one place, each with its reason. The numbers
 * that an operator may want to change are configuration (REALTIME_MAX_ATTEMPTS, REALTIME_RETRY_BASE_MS,
 * NIGHTLY_RETRY_ATTEMPTS, NIGHTLY_POLL_*); their defaults live in src/config, the rest live here.
 *
 * There are four kinds of retry, and they are deliberately different:
 * 1. **A safe HTTP request** (GET/HEAD to Salesforce) that failed on the network or with 429/5xx is
 *    sent again by the Salesforce client itself, a few times within seconds: the request has no
 *    effect, and a blip should not cost a whole job.
 * 2. **A whole job** (a real-time batch, a nightly run or chunk) that failed with a retryable error
 *    (Salesforce unavailable, a page that broke off) is retried by BullMQ with exponential back-off,
 *    for long enough to ride out an outage of half an hour or more; nothing is lost meanwhile because
 *    the job holds only ids and its state is recorded.
 * 3. **A record** Salesforce could not lock (UNABLE_TO_LOCK_ROW) or left unprocessed is resubmitted on
 *    its own (a smaller real-time batch, or a later nightly ingest job), a bounded number of times,
 *    because another process holds the row for seconds, not hours; past that it goes to the failure log.
 * 4. **Waiting on Salesforce** (a Bulk job's state) is polled with growing intervals, and a job that
 *    would only wait hands its worker slot back (a delayed job) instead of sleeping in it.
 * Errors that retrying will not fix are never retried: they fail the job for good or go to the
 * failure log with Salesforce's reason.
 */

export interface Backoff {
  /** Delay before the first retry. */
  readonly baseMs: number;
  /** Growth per retry. */
  readonly factor: number;
  /** Longest delay. */
  readonly capMs: number;
  /** Random extra of up to this share of the delay, so many retries do not arrive at once… */
  readonly jitter?: number;
  /** …or of up to this many milliseconds. */
  readonly jitterMs?: number;
}

/** The delay before retry number `attempt` (1-based): base · factor^(attempt−1), capped, plus jitter. */
export function backoffMs(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const delay = Math.min(backoff.capMs, backoff.baseMs * backoff.factor ** Math.max(0, attempt - 1));
  const extra = backoff.jitter ? random() * backoff.jitter * delay : backoff.jitterMs ? random() * backoff.jitterMs : 0;
  return Math.round(delay + extra);
}

/**
 * 1. Safe requests to Salesforce: GET and HEAD, on network errors, 420, 429 and 5xx; 0.5, 1, 2, 4 and
 * 8 s apart (jsforce's formula, which the REST calls go through, and the Bulk calls use the same).
 */
export const SAFE_REQUEST_RETRY = Object.freeze({
  methods: Object.freeze(['GET', 'HEAD']) as readonly string[],
  statuses: Object.freeze([420, 429, 500, 502, 503, 504]) as readonly number[],
  maxRetries: 5,
  backoff: Object.freeze({ baseMs: 500, factor: 2, capMs: 8_000 }) satisfies Backoff,
});

/**
 * 2. Whole jobs, by BullMQ's exponential back-off (delay · 2^(attempt−1), the same formula as
 * `backoffMs` with factor 2 and no cap):
 * - a real-time batch: 12 attempts 1 s apart and doubling, about 34 minutes in all, so an outage of
 *   Salesforce or of the network delays the scores instead of losing them;
 * - a nightly run or chunk: 10 attempts from 5 s, about 43 minutes in all; a chunk resumes from its
 *   recorded state, so a retry repeats no finished step.
 * The org's daily API allowance running out is not a failure: the real-time queue pauses
 * (SF_LIMIT_PAUSE_MS) and a nightly job waits (NIGHTLY_RESERVE_WAIT_MS); neither counts as an attempt.
 */
export const JOB_RETRY = Object.freeze({
  realtime: Object.freeze({ attempts: 12, backoff: Object.freeze({ type: 'exponential' as const, delay: 1_000 }) }),
  nightly: Object.freeze({ attempts: 10, backoff: Object.freeze({ type: 'exponential' as const, delay: 5_000 }) }),
});

/**
 * 3. Records that may pass later. Real-time: REALTIME_MAX_ATTEMPTS tries, REALTIME_RETRY_BASE_MS
 * doubling, at most a minute apart, plus up to a quarter of the base at random (locks held by a data
 * load clear in seconds to minutes). Nightly: NIGHTLY_RETRY_ATTEMPTS later ingest jobs, 1 s doubling
 * up to 30 s (each is a whole ingest job, and Salesforce needs seconds to release a lock).
 * An Account another real-time batch is scoring right now waits for it: its id goes back as a delayed
 * batch, the base doubling up to 5 s (the other batch takes about a second), up to MAX_DEFERRALS
 * times, about 10 minutes at the cap, before it is recorded as failed.
 */
export function realtimeRecordBackoff(baseMs: number): Backoff {
  return { baseMs, factor: 2, capMs: 60_000, jitterMs: baseMs / 4 };
}
export function accountDeferBackoff(baseMs: number): Backoff {
  return { baseMs, factor: 2, capMs: 5_000, jitterMs: baseMs / 2 };
}
export const MAX_DEFERRALS = 120;
export const NIGHTLY_RECORD_BACKOFF: Backoff = Object.freeze({ baseMs: 1_000, factor: 2, capMs: 30_000 });

/**
 * 4. Polling a Bulk job: NIGHTLY_POLL_INITIAL_MS first, growing 1.6× up to NIGHTLY_POLL_MAX_MS, with
 * no give-up for hours (a busy org can queue a job for many minutes; jsforce's helpers give up after
 * 30 s, which is why the Bulk client polls itself). 1.6 keeps the number of status calls for a job of
 * a few minutes near ten while a job done in seconds is seen within a second or two.
 */
export const POLL_GROWTH = 1.6;
export const POLL_GIVE_UP_MS = 6 * 3_600_000;
export function pollBackoff(initialMs: number, maxMs: number): Backoff {
  return { baseMs: initialMs, factor: POLL_GROWTH, capMs: maxMs };
}

/** Redis reconnects: 200 ms more per try, at most 2 s apart, for ever (the caller decides what an outage means). */
export function redisReconnectMs(times: number): number {
  return Math.min(times * 200, 2_000);
}
