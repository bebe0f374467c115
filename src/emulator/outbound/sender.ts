/**
 * The emulated org's Outbound Message queue: the Churn_Account_Changed message, sent like Salesforce
 * sends it (sforce_api_om_outboundmessaging_notifications.htm, help `platform.workflow_om_considerations.htm`):
 *
 * - every triggering change (rule.ts) queues one notification with its own 04l… id;
 * - changes that arrive within `batchMs` of each other travel together, at most 100 a message;
 * - the record's values are read when the message is sent, not when the change happened; a record
 *   deleted by then goes out as a notification without data (an sObject with no fields);
 * - a message counts as delivered only on HTTP 200 with `Ack` true (ack.ts); otherwise the whole
 *   message is retried later with the same notification ids, at exponentially growing intervals
 *   capped at `retryMaxMs`, independently of the other messages (so out of order);
 * - notifications still undelivered `maxAgeMs` after their change are dropped.
 *
 * Timers run on the wall clock (Date.now); `changeAt` is the write's SystemModstamp.
 */
import { EventEmitter } from 'node:events';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { INPUT_FIELDS } from '../../core/account-fields.js';
import { makeId } from '../ids.js';
import { hash32 } from '../random.js';
import { findField, type EmulatedField } from '../schema.js';
import type { AccountChange } from '../store.js';
import type { EmulatorState } from '../state.js';
import { readAck, type AckResult, type FailureKind } from './ack.js';
import { buildEnvelope, type EnvelopeNotification } from './envelope.js';
import { checkOutboundOptions, MAX_NOTIFICATIONS_PER_MESSAGE, type OutboundSettings } from './options.js';
import { firesOutboundMessage } from './rule.js';

/** API version of the deployed outbound message (Account.workflow-meta.xml), used in its URLs. */
export const OUTBOUND_API_VERSION = '66.0';
/** Key prefixes of workflow outbound message actions and their notifications. */
export const ACTION_ID_PREFIX = '04k';
export const NOTIFICATION_ID_PREFIX = '04l';
/** Delivered and dropped notifications kept for status queries (the oldest are forgotten first). */
export const STATUS_HISTORY = 10_000;
const MAX_RESPONSE_BYTES = 1 << 20;

export type NotificationState = 'queued' | 'in-flight' | 'retrying' | 'delivered' | 'dropped';

/** One notification's delivery status, like a row of Setup → Outbound Messages. Times are epoch ms. */
export interface NotificationStatus {
  /** The notification id (04l…, 18 characters), the same on every redelivery. */
  id: string;
  recordId: string;
  state: NotificationState;
  /** POSTs that carried this notification. */
  attempts: number;
  /** When the triggering write happened (its SystemModstamp). */
  changeAt: number;
  queuedAt: number;
  firstSentAt: number | null;
  lastAttemptAt: number | null;
  /** When the next attempt is due (retrying only). */
  nextAttemptAt: number | null;
  deliveredAt: number | null;
  droppedAt: number | null;
  /** The last failed attempt's reason, e.g. "(500)Internal Server Error" or "SOAP response was a nack". */
  lastError: string | null;
  lastErrorKind: FailureKind | null;
}

/** Passed to `onDelivered` listeners once per notification, when its message is acknowledged. */
export interface DeliveredNotification {
  notificationId: string;
  recordId: string;
  changeAt: number;
  queuedAt: number;
  firstSentAt: number;
  deliveredAt: number;
  attempts: number;
}

export interface DroppedNotification {
  notificationId: string;
  recordId: string;
  changeAt: number;
  droppedAt: number;
  attempts: number;
  lastError: string | null;
}

export interface OutboundStats {
  /** False when no URL is set: changes queue nothing. */
  enabled: boolean;
  url: string | null;
  paused: boolean;
  /** Changes that matched the trigger rule (each queued one notification). */
  triggered: number;
  /** Changes the rule let pass (made by the integration user, or no input field changed). */
  notTriggered: number;
  /** Notifications waiting to be sent, new or for a retry. */
  queued: number;
  /** Of `queued`, those whose message already failed at least once. */
  retrying: number;
  /** Notifications in messages being POSTed now. */
  inFlight: number;
  delivered: number;
  dropped: number;
  /** POSTs made (each carries one message of up to 100 notifications). */
  messagesSent: number;
  messagesDelivered: number;
  /** POSTs that failed (non-200, fault, nack, malformed, timeout, connection error). */
  failedAttempts: number;
}

/** Runtime settings (admin `PUT /__admin/outbound`, `org.outbound.configure()`). */
export interface OutboundConfig {
  /** Endpoint; null or '' turns the sender off (queued messages wait until a URL is set). */
  url?: string | null;
  paused?: boolean;
  batchMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  maxAgeMs?: number;
  timeoutMs?: number;
  concurrency?: number;
}

interface Note {
  status: NotificationStatus;
  row: number;
}

interface Message {
  seq: number;
  notes: Note[];
  /** Failed attempts so far. */
  failures: number;
  /** Due time of the next attempt (wall clock). */
  dueAt: number;
  /** The oldest notification's queue time + maxAge. */
  expiresAt: number;
  abort?: () => void;
}

/** First in, first out, with O(1) removal from the front (Array#shift and splice(0, n) copy the rest). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}

type Org = Pick<EmulatorState, 'store' | 'integrationUser' | 'orgId' | 'instance' | 'baseUrl' | 'logger' | 'field'> & {
  options: Pick<EmulatorState['options'], 'seed'> & OutboundSettings;
};

const CONFIG_KEYS = {
  batchMs: 'outboundBatchMs',
  retryBaseMs: 'outboundRetryBaseMs',
  retryMaxMs: 'outboundRetryMaxMs',
  maxAgeMs: 'outboundMaxAgeMs',
  timeoutMs: 'outboundTimeoutMs',
  concurrency: 'outboundConcurrency',
} as const;

export class OutboundSender {
  /** The outbound message action's id (04k…), fixed by the seed. */
  readonly actionId: string;
  private readonly settings: OutboundSettings;
  private paused = false;
  private closed = false;
  private readonly clock: () => number;
  private readonly unsubscribe: () => void;
  private readonly events = new EventEmitter();
  private readonly fields: readonly EmulatedField[];

  private readonly pending = new Fifo<Note>();
  private readonly waiting: Message[] = [];
  private readonly inFlight = new Set<Message>();
  private readonly notes = new Map<string, Note>();
  private readonly finished = new Set<string>();
  private batchTimer?: NodeJS.Timeout;
  private batchOpen = false;
  private wakeTimer?: NodeJS.Timeout;
  private wakeAt = Number.POSITIVE_INFINITY;
  private idleWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly counts = { triggered: 0, notTriggered: 0, delivered: 0, dropped: 0, messagesSent: 0, messagesDelivered: 0, failedAttempts: 0 };
  private messageSeq = 0;
  private noteSeq = 0;
  /**
   * Notification ids must not repeat across runs: the receiver remembers ids for 48 hours and would
   * take a second run's notifications for redeliveries. So the number part starts from the wall
   * clock (1,024 ids a millisecond before two runs could overlap).
   */
  private readonly noteBase = Date.now() * 1024;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });

  constructor(
    private readonly org: Org,
    clock: () => number = Date.now,
  ) {
    this.clock = clock;
    this.settings = {
      outboundUrl: org.options.outboundUrl,
      outboundBatchMs: org.options.outboundBatchMs,
      outboundRetryBaseMs: org.options.outboundRetryBaseMs,
      outboundRetryMaxMs: org.options.outboundRetryMaxMs,
      outboundMaxAgeMs: org.options.outboundMaxAgeMs,
      outboundTimeoutMs: org.options.outboundTimeoutMs,
      outboundConcurrency: org.options.outboundConcurrency,
    };
    this.actionId = makeId(ACTION_ID_PREFIX, org.instance, hash32(org.options.seed, 0x04c) % 1_000_000_000);
    // The deployed message's fields besides Id: the model inputs, alphabetical as in Salesforce's captures.
    this.fields = INPUT_FIELDS.map((f) => findField(f.name)!).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.unsubscribe = org.store.onChange((change) => this.onChange(change));
  }

  // ── Programmatic API ───────────────────────────────────────────────────────────────────────────

  stats(): OutboundStats {
    let queued = this.pending.length;
    let retrying = 0;
    for (const m of this.waiting) {
      queued += m.notes.length;
      if (m.failures > 0) retrying += m.notes.length;
    }
    let inFlight = 0;
    for (const m of this.inFlight) inFlight += m.notes.length;
    return { enabled: this.settings.outboundUrl !== '', url: this.settings.outboundUrl || null, paused: this.paused, queued, retrying, inFlight, ...this.counts };
  }

  /** Current settings, in `configure()` form. */
  config(): Required<OutboundConfig> {
    const s = this.settings;
    return {
      url: s.outboundUrl || null,
      paused: this.paused,
      batchMs: s.outboundBatchMs,
      retryBaseMs: s.outboundRetryBaseMs,
      retryMaxMs: s.outboundRetryMaxMs,
      maxAgeMs: s.outboundMaxAgeMs,
      timeoutMs: s.outboundTimeoutMs,
      concurrency: s.outboundConcurrency,
    };
  }

  /** Changes settings at run time; throws RangeError (and changes nothing) when one is invalid. */
  configure(config: OutboundConfig): Required<OutboundConfig> {
    const next: Partial<OutboundSettings> = {};
    if (config.url !== undefined) next.outboundUrl = config.url ?? '';
    for (const [key, option] of Object.entries(CONFIG_KEYS) as Array<[keyof typeof CONFIG_KEYS, (typeof CONFIG_KEYS)[keyof typeof CONFIG_KEYS]]>) {
      if (config[key] !== undefined) next[option] = config[key];
    }
    checkOutboundOptions(next);
    if (config.paused !== undefined && typeof config.paused !== 'boolean') throw new RangeError('paused must be a boolean');
    Object.assign(this.settings, next);
    if (config.paused !== undefined) this.paused = config.paused;
    this.wake();
    return this.config();
  }

  pause(): void {
    this.configure({ paused: true });
  }

  resume(): void {
    this.configure({ paused: false });
  }

  /** Sends what is waiting now: closes the current batch and makes every retry due. */
  flush(): void {
    if (this.closed) return;
    this.openBatch();
    const now = this.clock();
    for (const m of this.waiting) m.dueAt = Math.min(m.dueAt, now);
    this.wake();
  }

  /** Nothing queued and nothing in flight (with no URL or while paused, queued messages keep it busy). */
  isIdle(): boolean {
    return this.pending.length === 0 && this.waiting.length === 0 && this.inFlight.size === 0;
  }

  /**
   * Resolves when nothing is queued or in flight: every notification delivered or dropped. Rejects
   * after `timeoutMs` (when given) or when the emulator closes first.
   */
  idle(timeoutMs?: number): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('the outbound sender is closed'));
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.idleWaiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
          const s = this.stats();
          reject(new Error(`outbound messages not idle after ${timeoutMs} ms (queued ${s.queued}, in flight ${s.inFlight}, retrying ${s.retrying})`));
        }, timeoutMs);
      }
    });
  }

  /** A notification's status, while it is queued and for the last STATUS_HISTORY finished ones. */
  notification(id: string): NotificationStatus | undefined {
    const note = this.notes.get(id);
    return note ? { ...note.status } : undefined;
  }

  /** Statuses of the notifications of one record, oldest first (see `notification()` for retention). */
  notificationsFor(recordId: string): NotificationStatus[] {
    const id15 = recordId.slice(0, 15);
    return [...this.notes.values()].filter((n) => n.status.recordId.slice(0, 15) === id15).map((n) => ({ ...n.status }));
  }

  /** Undelivered notifications whose message failed at least once, oldest first. */
  failing(limit = 100): NotificationStatus[] {
    const out: NotificationStatus[] = [];
    for (const m of [...this.waiting, ...this.inFlight]) {
      if (m.failures === 0) continue;
      for (const n of m.notes) out.push({ ...n.status });
    }
    return out.sort((a, b) => a.queuedAt - b.queuedAt).slice(0, limit);
  }

  /** Called once per notification when its message is acknowledged; returns the unsubscribe function. */
  onDelivered(listener: (delivered: DeliveredNotification) => void): () => void {
    this.events.on('delivered', listener);
    return () => this.events.off('delivered', listener);
  }

  onDropped(listener: (dropped: DroppedNotification) => void): () => void {
    this.events.on('dropped', listener);
    return () => this.events.off('dropped', listener);
  }

  /** Stops sending: aborts POSTs in flight, clears every timer, rejects `idle()` waiters. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    clearTimeout(this.batchTimer);
    clearTimeout(this.wakeTimer);
    for (const m of this.inFlight) m.abort?.();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w.reject(new Error('the outbound sender is closed'));
    this.events.removeAllListeners();
  }

  // ── Queueing ───────────────────────────────────────────────────────────────────────────────────

  private onChange(change: AccountChange): void {
    if (this.closed || this.settings.outboundUrl === '') return;
    if (!firesOutboundMessage(change, this.org.integrationUser.id)) {
      this.counts.notTriggered += 1;
      return;
    }
    this.counts.triggered += 1;
    const now = this.clock();
    const id = makeId(NOTIFICATION_ID_PREFIX, this.org.instance, this.noteBase + ++this.noteSeq);
    const note: Note = {
      row: change.row,
      status: {
        id,
        recordId: change.id,
        state: 'queued',
        attempts: 0,
        changeAt: change.at,
        queuedAt: now,
        firstSentAt: null,
        lastAttemptAt: null,
        nextAttemptAt: null,
        deliveredAt: null,
        droppedAt: null,
        lastError: null,
        lastErrorKind: null,
      },
    };
    this.notes.set(id, note);
    this.pending.push(note);
    // Only the oldest pending notification's expiry matters to the wake timer.
    if (this.pending.length === 1) this.scheduleWake();
    if (this.pending.length >= MAX_NOTIFICATIONS_PER_MESSAGE) {
      this.pump();
    } else if (!this.batchTimer && !this.batchOpen) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = undefined;
        this.openBatch();
        this.wake();
      }, this.settings.outboundBatchMs);
    }
  }

  /** The batch window is over: what is pending may go out (in messages of up to 100). */
  private openBatch(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.pending.length > 0) this.batchOpen = true;
  }

  private canSend(): boolean {
    return !this.closed && !this.paused && this.settings.outboundUrl !== '' && this.inFlight.size < this.settings.outboundConcurrency;
  }

  /** Starts as many due messages as the concurrency allows: due retries first, then new notifications. */
  private pump(): void {
    const now = this.clock();
    while (this.canSend()) {
      const due = this.waiting.findIndex((m) => m.dueAt <= now);
      if (due >= 0) {
        void this.send(this.waiting.splice(due, 1)[0]!);
        continue;
      }
      if (this.pending.length >= MAX_NOTIFICATIONS_PER_MESSAGE || (this.batchOpen && this.pending.length > 0)) {
        const notes = this.pending.take(MAX_NOTIFICATIONS_PER_MESSAGE);
        if (this.pending.length === 0) this.batchOpen = false;
        void this.send({ seq: ++this.messageSeq, notes, failures: 0, dueAt: now, expiresAt: notes[0]!.status.queuedAt + this.settings.outboundMaxAgeMs });
        continue;
      }
      break;
    }
    if (this.pending.length === 0) this.batchOpen = false;
  }

  /** Drops what is too old, starts what is due, and arms the timer for the next due time or expiry. */
  private wake(): void {
    if (this.closed) return;
    this.dropExpired();
    this.pump();
    this.scheduleWake();
    this.checkIdle();
  }

  private scheduleWake(): void {
    if (this.closed) return;
    const maxAge = this.settings.outboundMaxAgeMs;
    const oldest = this.pending.peek();
    let next = oldest ? oldest.status.queuedAt + maxAge : Number.POSITIVE_INFINITY;
    // A due message that cannot start (paused, no URL, no free slot) waits for resume/configure or
    // for a message to finish, not for a timer; only its expiry matters then.
    const blocked = !this.canSend();
    for (const m of this.waiting) next = Math.min(next, m.expiresAt, blocked ? Number.POSITIVE_INFINITY : m.dueAt);
    if (next === this.wakeAt && this.wakeTimer) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    // setTimeout fires at once past 2^31-1 ms (about 24.8 days), so longer waits wake early and re-arm.
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.wake();
    }, Math.min(2_147_483_647, Math.max(0, next - this.clock())));
  }

  private dropExpired(): void {
    const now = this.clock();
    const maxAge = this.settings.outboundMaxAgeMs;
    for (let n = this.pending.peek(); n && n.status.queuedAt + maxAge <= now; n = this.pending.peek()) this.drop(this.pending.take(1)[0]!, now);
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const m = this.waiting[i]!;
      if (m.expiresAt <= now) {
        this.waiting.splice(i, 1);
        for (const n of m.notes) this.drop(n, now);
        this.org.logger?.warn({ messageSeq: m.seq, notifications: m.notes.length, attempts: m.failures, lastError: m.notes[0]?.status.lastError }, 'outbound message dropped: undelivered after the maximum age');
      }
    }
  }

  private drop(note: Note, now: number): void {
    const s = note.status;
    s.state = 'dropped';
    s.droppedAt = now;
    s.nextAttemptAt = null;
    this.counts.dropped += 1;
    this.finish(note);
    this.events.emit('dropped', { notificationId: s.id, recordId: s.recordId, changeAt: s.changeAt, droppedAt: now, attempts: s.attempts, lastError: s.lastError } satisfies DroppedNotification);
  }

  private finish(note: Note): void {
    this.finished.add(note.status.id);
    if (this.finished.size > STATUS_HISTORY) {
      const oldest = this.finished.values().next().value!;
      this.finished.delete(oldest);
      this.notes.delete(oldest);
    }
  }

  private checkIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w.resolve();
  }

  // ── Sending ────────────────────────────────────────────────────────────────────────────────────

  /** The message as of now: Salesforce reads the record when it sends, not when the change happened. */
  private body(message: Message): string {
    const { store } = this.org;
    const fields = this.fields.filter((f) => this.org.field(f.name));
    const org15 = this.org.orgId.slice(0, 15);
    const notifications: EnvelopeNotification[] = message.notes.map((n) => {
      // A record deleted before delivery: "the notification doesn't contain any data" (workflow_om_considerations).
      const deleted = store.isDeleted(n.row);
      return { id: n.status.id, recordId: n.status.recordId, deleted, fields: deleted ? [] : fields.map((f) => [f, store.get(n.row, f)] as const) };
    });
    return buildEnvelope({
      orgId: this.org.orgId,
      actionId: this.actionId,
      sessionId: null,
      enterpriseUrl: `${this.org.baseUrl}/services/Soap/c/${OUTBOUND_API_VERSION}/${org15}`,
      partnerUrl: `${this.org.baseUrl}/services/Soap/u/${OUTBOUND_API_VERSION}/${org15}`,
      sObjectType: 'Account',
      notifications,
    });
  }

  private async send(message: Message): Promise<void> {
    this.inFlight.add(message);
    const sentAt = this.clock();
    for (const n of message.notes) {
      const s = n.status;
      s.state = 'in-flight';
      s.attempts += 1;
      s.firstSentAt ??= sentAt;
      s.lastAttemptAt = sentAt;
      s.nextAttemptAt = null;
    }
    this.counts.messagesSent += 1;
    const result = await this.post(message, this.settings.outboundUrl, this.body(message));
    this.inFlight.delete(message);
    message.abort = undefined;
    if (this.closed) return;
    const now = this.clock();
    if (result.ok) {
      this.counts.messagesDelivered += 1;
      for (const n of message.notes) {
        const s = n.status;
        s.state = 'delivered';
        s.deliveredAt = now;
        this.counts.delivered += 1;
        this.finish(n);
        this.events.emit('delivered', {
          notificationId: s.id,
          recordId: s.recordId,
          changeAt: s.changeAt,
          queuedAt: s.queuedAt,
          firstSentAt: s.firstSentAt!,
          deliveredAt: now,
          attempts: s.attempts,
        } satisfies DeliveredNotification);
      }
    } else {
      this.counts.failedAttempts += 1;
      message.failures += 1;
      const { outboundRetryBaseMs: base, outboundRetryMaxMs: max } = this.settings;
      const delay = Math.min(max, base * 2 ** Math.min(message.failures - 1, 40));
      message.dueAt = Math.min(now + delay, message.expiresAt);
      for (const n of message.notes) {
        const s = n.status;
        s.state = 'retrying';
        s.lastError = result.error;
        s.lastErrorKind = result.kind;
        s.nextAttemptAt = message.dueAt;
      }
      this.waiting.push(message);
      this.org.logger?.warn({ messageSeq: message.seq, notifications: message.notes.length, attempt: message.failures, retryInMs: message.dueAt - now, error: result.error }, 'outbound message not acknowledged; will retry');
    }
    this.wake();
  }

  /** One POST with Salesforce's headers; every outcome becomes an AckResult, never a throw. */
  private post(message: Message, url: string, body: string): Promise<AckResult> {
    if (url === '') return Promise.resolve({ ok: false, kind: 'connection', error: 'No endpoint URL is set.' });
    return new Promise<AckResult>((resolve) => {
      const target = new URL(url);
      const https = target.protocol === 'https:';
      const payload = Buffer.from(body, 'utf8');
      const timeoutMs = this.settings.outboundTimeoutMs;
      let req: ClientRequest;
      try {
        req = (https ? httpsRequest : httpRequest)(target, {
          method: 'POST',
          agent: https ? this.httpsAgent : this.httpAgent,
          headers: {
            'Content-Type': 'text/xml; charset=utf-8',
            // The outbound WSDL binds soapAction="".
            SOAPAction: '""',
            // What a captured Salesforce request showed.
            'User-Agent': 'Jakarta Commons-HttpClient/3.1',
            'Content-Length': payload.length,
          },
        });
      } catch (error) {
        return resolve({ ok: false, kind: 'connection', error: (error as Error).message });
      }
      let settled = false;
      const done = (result: AckResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const timer = setTimeout(() => {
        req.destroy();
        done({ ok: false, kind: 'timeout', error: `java.net.SocketTimeoutException: Read timed out (no answer within ${timeoutMs} ms)` });
      }, timeoutMs);
      message.abort = () => {
        req.destroy();
        done({ ok: false, kind: 'connection', error: 'The emulator stopped before the endpoint answered.' });
      };
      req.on('error', (error: NodeJS.ErrnoException) => {
        const reason = error.code === 'ECONNREFUSED' ? 'java.net.ConnectException: Connection refused' : `${error.code ?? 'Error'}: ${error.message}`;
        done({ ok: false, kind: 'connection', error: reason });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy();
            done({ ok: false, kind: 'malformed', error: `The response is larger than ${MAX_RESPONSE_BYTES} bytes.` });
          } else chunks.push(chunk);
        });
        res.on('end', () => done(readAck(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', (error) => done({ ok: false, kind: 'connection', error: error.message }));
      });
      req.end(payload);
    });
  }
}
