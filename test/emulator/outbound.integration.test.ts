import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_FIELDS } from '../../src/core/account-fields.js';
import type { DeliveredNotification, EmulatorOptions, NotificationStatus, OutboundStats, RunningEmulator } from '../../src/emulator/index.js';
import { canonicalId15, to18 } from '../../src/emulator/ids.js';
import { readAck } from '../../src/emulator/outbound/ack.js';
import { javaDouble } from '../../src/emulator/outbound/envelope.js';
import { firesOutboundMessage, WATCHED_FIELDS } from '../../src/emulator/outbound/rule.js';
import { createApp } from '../../src/http/app.js';
import { parseOutboundMessage, type OutboundMessage } from '../../src/http/outbound/envelope.js';
import { outboundRouter } from '../../src/http/outbound/route.js';
import { ACK_BODY, faultBody } from '../../src/http/outbound/soap.js';
import { RealtimeIntake } from '../../src/queue/realtime-intake.js';
import { deleteKeysWithPrefix } from '../../src/queue/redis.js';
import { registry } from '../../src/observability/metrics.js';
import { admin, API, call, signIn, startOrg } from './helpers.js';

const NACK_BODY = ACK_BODY.replace('<Ack>true</Ack>', '<Ack>false</Ack>');
type Reply = 'ack' | 'nack' | 'fault' | '500' | 'garbage' | 'hang';

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  message: OutboundMessage;
  /** Delivery status of the first notification as the emulator saw it when this attempt left. */
  statusBefore?: NotificationStatus;
}

/** A plain node:http endpoint that answers from a script of replies (then Acks), and records what it got. */
class TestReceiver {
  readonly received: Received[] = [];
  readonly script: Reply[] = [];
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;
  org?: RunningEmulator;
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const message = parseOutboundMessage(body);
        this.received.push({ at: Date.now(), headers: req.headers, body, message, statusBefore: this.org?.outbound.notification(message.notifications[0]?.id ?? message.withoutData[0]!) });
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const reply = this.script.shift() ?? 'ack';
        setTimeout(() => {
          this.inFlight -= 1;
          this.answer(res, reply);
        }, this.delayMs);
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/salesforce/outbound/account`;
    return this;
  }

  private answer(res: ServerResponse, reply: Reply): void {
    const xml = (status: number, body: string): void => void res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' }).end(body);
    switch (reply) {
      case 'ack':
        return xml(200, ACK_BODY);
      case 'nack':
        return xml(200, NACK_BODY);
      case 'fault':
        return xml(200, faultBody('Server', 'queue unavailable'));
      case '500':
        return xml(500, faultBody('Server', 'The receiver could not store the notifications'));
      case 'garbage':
        return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>OK</html> thanks');
      case 'hang':
        return; // never answers; the emulator's timeout ends it
    }
  }

  notificationIds(): string[] {
    return this.received.flatMap((r) => r.message.notifications.map((n) => n.id));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let tenure = 1000;
/** A tenure no generated record has, so every write changes the field. */
const nextTenure = () => ++tenure;

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function change(org: RunningEmulator, records: Array<Record<string, unknown>>, as?: string) {
  return admin<Array<{ success: boolean }>>(org, 'PATCH', '/accounts', { records, ...(as ? { as } : {}) });
}

const fast: EmulatorOptions = { outboundBatchMs: 10, outboundRetryBaseMs: 20, outboundRetryMaxMs: 200, outboundTimeoutMs: 2_000 };

describe('emulator outbound messages: the trigger rule', () => {
  it('when the rule is asked, then it mirrors the Flow: no integration user, and at least one input field changed', () => {
    expect([...WATCHED_FIELDS].sort()).toEqual(INPUT_FIELDS.map((f) => f.name).sort());
    expect(WATCHED_FIELDS.has('Churn_Score__c') || WATCHED_FIELDS.has('Churned__c') || WATCHED_FIELDS.has('Name')).toBe(false);
    expect(firesOutboundMessage({ userId: 'admin', changedFields: ['Tenure_Months__c'] }, 'integration')).toBe(true);
    expect(firesOutboundMessage({ userId: 'admin', changedFields: ['Churn_Score__c', 'Contract_Type__c'] }, 'integration')).toBe(true);
    expect(firesOutboundMessage({ userId: 'admin', changedFields: ['Churn_Score__c', 'Churn_Risk__c'] }, 'integration')).toBe(false);
    expect(firesOutboundMessage({ userId: 'admin', changedFields: ['Name'] }, 'integration')).toBe(false);
    expect(firesOutboundMessage({ userId: 'admin', changedFields: [] }, 'integration')).toBe(false);
    expect(firesOutboundMessage({ userId: 'integration', changedFields: ['Tenure_Months__c'] }, 'integration')).toBe(false);
  });

  it('when values are formatted and acks read, then they follow Salesforce (Java doubles, Ack true only)', () => {
    expect([12, 70.35, 0, 12345678.5, 0.0001, -3].map(javaDouble)).toEqual(['12.0', '70.35', '0.0', '1.23456785E7', '1.0E-4', '-3.0']);
    expect(readAck(200, ACK_BODY)).toEqual({ ok: true });
    expect(readAck(200, ACK_BODY.replace(/soapenv:/g, 'S:').replace(/xmlns:soapenv/, 'xmlns:S').replace('<notificationsResponse xmlns=', '<om:notificationsResponse xmlns:om=').replace('</notificationsResponse>', '</om:notificationsResponse>').replace(/<(\/?)Ack>/g, '<$1om:Ack>'))).toEqual({ ok: true });
    expect(readAck(200, `\uFEFF${ACK_BODY.replace('true', ' 1 ')}`)).toEqual({ ok: true });
    expect(readAck(200, NACK_BODY)).toMatchObject({ ok: false, kind: 'nack', error: 'SOAP response was a nack' });
    expect(readAck(500, ACK_BODY)).toMatchObject({ ok: false, kind: 'http-status' });
    expect(readAck(200, 'OK')).toMatchObject({ ok: false, kind: 'malformed', error: expect.stringMatching(/Content is not allowed in prolog/) });
    expect(readAck(200, '')).toMatchObject({ ok: false, kind: 'malformed' });
    expect(readAck(200, '<ok/>')).toMatchObject({ ok: false, kind: 'malformed' });
    expect(readAck(200, faultBody('Client', 'no'))).toMatchObject({ ok: false, kind: 'fault', error: expect.stringMatching(/Client: no/) });
  });
});

describe('emulator outbound messages: what is sent and when', () => {
  let org: RunningEmulator;
  let receiver: TestReceiver;
  let ids: string[];

  beforeAll(async () => {
    receiver = await new TestReceiver().start();
    org = await startOrg({ accounts: 600, ...fast, outboundUrl: receiver.url });
    receiver.org = org;
    ids = (await admin<{ ids: string[] }>(org, 'GET', '/accounts?limit=600')).body.ids;
  });
  afterEach(async () => {
    await org.outbound.idle(5_000);
    receiver.received.length = 0;
    receiver.script.length = 0;
    receiver.delayMs = 0;
  });
  afterAll(async () => {
    await org.close();
    await receiver.close();
  });

  it('when the admin changes an input field, then the envelope is the one Salesforce sends and the receiver parses it', async () => {
    const t = nextTenure();
    await change(org, [{ id: ids[0], Tenure_Months__c: t, Monthly_Charges__c: 70.35, Paperless_Billing__c: true, Online_Backup__c: null }]);
    await org.outbound.idle(5_000);
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    expect(got!.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(got!.headers.soapaction).toBe('""');
    const { message, body } = got!;
    expect(message.organizationId).toBe(org.orgId);
    expect(message.actionId).toMatch(/^04k[a-zA-Z0-9]{15}$/);
    expect(message.actionId).toBe(org.outbound.actionId);
    expect(message.hasSessionId).toBe(false);
    expect(body).toContain('<SessionId xsi:nil="true"/>');
    expect(body).toContain(`<EnterpriseUrl>${org.url}/services/Soap/c/66.0/${org.orgId.slice(0, 15)}</EnterpriseUrl>`);
    expect(body).toContain(`<PartnerUrl>${org.url}/services/Soap/u/66.0/${org.orgId.slice(0, 15)}</PartnerUrl>`);
    expect(message.notifications).toHaveLength(1);
    const n = message.notifications[0]!;
    expect(n).toMatchObject({ sObjectType: 'Account', recordId: ids[0] });
    expect(n.id).toMatch(/^04l[a-zA-Z0-9]{15}$/);
    expect(to18(canonicalId15(n.id)!)).toBe(n.id);

    const sObject = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: true }).parse(body).Envelope.Body.notifications.Notification.sObject as Record<string, string>;
    expect(sObject.Id).toBe(ids[0]);
    expect(sObject.Tenure_Months__c).toBe(`${t}.0`);
    expect(sObject.Monthly_Charges__c).toBe('70.35');
    expect(sObject.Paperless_Billing__c).toBe('true');
    expect(sObject).not.toHaveProperty('Online_Backup__c'); // null: omitted, as in real captures
    const names = Object.keys(sObject);
    expect(names[0]).toBe('Id');
    expect(names.slice(1)).toEqual([...names.slice(1)].sort()); // fields alphabetical, as captured
    for (const name of names.slice(1)) expect(WATCHED_FIELDS.has(name)).toBe(true); // only the deployed message's fields
    expect(names.length).toBe(INPUT_FIELDS.length); // Id + every non-null input (one of the inputs is now null)
  });

  it('when changes come from the admin API and from REST as the admin, then both fire; outputs, same values and the integration user do not', async () => {
    const before = org.outbound.stats();
    await change(org, [{ id: ids[1], Contract_Type__c: 'Two year' === org.state.store.get(1, org.state.field('Contract_Type__c')!) ? 'One year' : 'Two year' }]);
    const adminToken = await signIn(org, { sub: org.adminUsername });
    const rest = await call<Array<{ success: boolean }>>(org, adminToken, `${API}/composite/sobjects`, {
      method: 'PATCH',
      body: { records: [{ attributes: { type: 'Account' }, id: ids[2], Tenure_Months__c: nextTenure() }] },
    });
    expect(rest.body).toEqual([{ id: ids[2], success: true, errors: [] }]);
    // No fire: the worker's write-back (integration user, outputs), an admin output-only edit, a write that changes nothing.
    const token = await signIn(org);
    const writeBack = await call(org, token, `${API}/composite/sobjects`, {
      method: 'PATCH',
      body: { records: [{ attributes: { type: 'Account' }, id: ids[3], Churn_Score__c: 42, Churn_Risk__c: 'Medium' }] },
    });
    expect(writeBack.status).toBe(200);
    await change(org, [{ id: ids[4], Churn_Score__c: 10, Churn_Top_Factors__c: 'Tenure_Months__c' }]);
    const same = org.state.store.get(5, org.state.field('Gender__c')!);
    await change(org, [{ id: ids[5], Gender__c: same }]);
    await change(org, [{ id: ids[6], Name: 'Renamed Inc.' }]);
    // An input change by the integration user (FLS forbids it over the API; a direct store write does not).
    const tenureField = org.state.field('Tenure_Months__c')!;
    org.state.store.update(10, new Map([[tenureField, nextTenure()]]), org.state.integrationUser, Date.now());
    await org.outbound.idle(5_000);

    expect(receiver.received.flatMap((r) => r.message.notifications.map((n) => n.recordId)).sort()).toEqual([ids[1], ids[2]].sort());
    const after = org.outbound.stats();
    expect(after.triggered - before.triggered).toBe(2);
    expect(after.notTriggered - before.notTriggered).toBe(5);
    expect(after.delivered - before.delivered).toBe(2);
  });

  it('when 250 changes are made at once, then they go out in messages of at most 100, one notification each', async () => {
    receiver.delayMs = 20;
    const before = org.outbound.stats();
    const records = ids.slice(100, 350).map((id) => ({ id, Tenure_Months__c: nextTenure() }));
    expect((await change(org, records)).status).toBe(200);
    await org.outbound.idle(5_000);
    const sizes = receiver.received.map((r) => r.message.notifications.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
    expect(Math.max(...sizes)).toBe(100);
    expect(sizes.length).toBe(3);
    expect(new Set(receiver.notificationIds()).size).toBe(250);
    expect(receiver.received.flatMap((r) => r.message.notifications.map((n) => n.recordId)).sort()).toEqual(records.map((r) => r.id).sort());
    expect(receiver.maxInFlight).toBeLessThanOrEqual(org.outbound.config().concurrency);
    expect(org.outbound.stats().messagesDelivered - before.messagesDelivered).toBe(3);
  });

  it('when one record changes twice before sending, then two notifications with their own ids carry its values as of send time', async () => {
    org.outbound.pause();
    const first = nextTenure();
    const second = nextTenure();
    await change(org, [{ id: ids[7], Tenure_Months__c: first }]);
    await change(org, [{ id: ids[7], Tenure_Months__c: second, Contract_Type__c: 'Month-to-month' === org.state.store.get(7, org.state.field('Contract_Type__c')!) ? 'One year' : 'Month-to-month' }]);
    await new Promise((r) => setTimeout(r, 50));
    expect(receiver.received).toHaveLength(0);
    expect(org.outbound.stats()).toMatchObject({ paused: true, queued: 2, inFlight: 0 });
    org.outbound.resume();
    await org.outbound.idle(5_000);
    const notifications = receiver.received.flatMap((r) => r.message.notifications);
    expect(notifications.map((n) => n.recordId)).toEqual([ids[7], ids[7]]);
    expect(new Set(notifications.map((n) => n.id)).size).toBe(2);
    expect(receiver.received).toHaveLength(1); // batched into one message
    const values = [...receiver.received[0]!.body.matchAll(/<sf:Tenure_Months__c>([^<]*)</g)].map((m) => m[1]);
    expect(values).toEqual([`${second}.0`, `${second}.0`]);
  });

  it('when a record is deleted before its notification is sent, then that notification carries no record data and the others in the message keep theirs', async () => {
    const before = org.outbound.stats();
    org.outbound.pause();
    await change(org, [{ id: ids[8], Tenure_Months__c: nextTenure() }, { id: ids[10], Tenure_Months__c: nextTenure() }]);
    await admin(org, 'DELETE', `/accounts/${ids[8]}`);
    org.outbound.resume();
    await org.outbound.idle(5_000);
    const [sent] = receiver.received;
    expect(receiver.received).toHaveLength(1);
    expect(sent!.body).toContain('<sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"/>');
    expect(sent!.body).not.toContain(ids[8]);
    expect(sent!.message.withoutData).toHaveLength(1);
    expect(sent!.message.notifications.map((n) => n.recordId)).toEqual([ids[10]]);
    expect(org.outbound.stats()).toMatchObject({ delivered: before.delivered + 2, failedAttempts: before.failedAttempts });
  });

  it('when a change is delivered, then onDelivered reports the record and the change, send and ack times', async () => {
    const seen: DeliveredNotification[] = [];
    const off = org.outbound.onDelivered((d) => seen.push(d));
    const started = Date.now();
    await change(org, [{ id: ids[9], Tenure_Months__c: nextTenure() }]);
    await org.outbound.idle(5_000);
    off();
    expect(seen).toHaveLength(1);
    const d = seen[0]!;
    expect(d).toMatchObject({ recordId: ids[9], notificationId: receiver.notificationIds()[0], attempts: 1 });
    expect(d.changeAt).toBeGreaterThanOrEqual(started);
    expect(d.firstSentAt).toBeGreaterThanOrEqual(d.changeAt);
    expect(d.deliveredAt).toBeGreaterThanOrEqual(d.firstSentAt);
    expect(org.outbound.notification(d.notificationId)).toMatchObject({ state: 'delivered', attempts: 1, deliveredAt: d.deliveredAt, lastError: null });
    expect(org.outbound.notificationsFor(ids[9]!).map((s) => s.id)).toContain(d.notificationId);
  });
});

describe('emulator outbound messages: retries, drops and delivery status', () => {
  let receiver: TestReceiver;
  let org: RunningEmulator | undefined;

  beforeAll(async () => {
    receiver = await new TestReceiver().start();
  });
  afterEach(async () => {
    await org?.close();
    org = undefined;
    receiver.received.length = 0;
    receiver.script.length = 0;
    receiver.org = undefined;
  });
  afterAll(() => receiver.close());

  async function orgWith(options: EmulatorOptions): Promise<RunningEmulator> {
    org = await startOrg({ accounts: 50, ...fast, outboundUrl: receiver.url, ...options });
    receiver.org = org;
    return org;
  }

  it('when the endpoint answers 500, a fault, a nack, garbage and then times out, then the same message is retried with growing gaps until it is acked', async () => {
    const o = await orgWith({ outboundTimeoutMs: 300, outboundRetryBaseMs: 40, outboundRetryMaxMs: 10_000 });
    receiver.script.push('500', 'fault', 'nack', 'garbage', 'hang');
    const id = o.state.store.idOf(1);
    await change(o, [{ id, Tenure_Months__c: nextTenure() }, { id: o.state.store.idOf(2), Tenure_Months__c: nextTenure() }]);
    await o.outbound.idle(10_000);

    expect(receiver.received).toHaveLength(6);
    const idSets = receiver.received.map((r) => r.message.notifications.map((n) => n.id).join());
    expect(new Set(idSets).size).toBe(1); // every redelivery carries the same notification ids
    expect(receiver.received[0]!.message.notifications).toHaveLength(2);
    // What the delivery status said before each retry: the previous attempt's failure.
    expect(receiver.received.slice(1).map((r) => r.statusBefore?.lastErrorKind)).toEqual(['http-status', 'fault', 'nack', 'malformed', 'timeout']);
    expect(receiver.received[1]!.statusBefore).toMatchObject({ state: 'in-flight', attempts: 2, lastError: expect.stringMatching(/^\(500\)Internal Server Error/) });
    expect(receiver.received[3]!.statusBefore?.lastError).toBe('SOAP response was a nack');
    // Exponential back-off: 40, 80, 160, 320 ms after each failure (the timeout adds its 300 ms).
    const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i]!.at);
    for (const [i, expected] of [40, 80, 160, 320].entries()) expect(gaps[i]).toBeGreaterThanOrEqual(expected - 5);
    expect(gaps[4]).toBeGreaterThanOrEqual(300 + 640 - 5);

    const notificationId = receiver.received[0]!.message.notifications[0]!.id;
    expect(o.outbound.notification(notificationId)).toMatchObject({ state: 'delivered', attempts: 6, lastErrorKind: 'timeout' });
    expect(o.outbound.stats()).toMatchObject({ delivered: 2, failedAttempts: 5, messagesSent: 6, messagesDelivered: 1, queued: 0, retrying: 0, inFlight: 0, dropped: 0 });
  });

  it('when a message keeps failing, then the admin API shows it failing and it is dropped at the maximum age', async () => {
    const o = await orgWith({ outboundRetryBaseMs: 30, outboundMaxAgeMs: 400 });
    receiver.script.push(...Array<Reply>(100).fill('500'));
    const dropped: string[] = [];
    o.outbound.onDropped((d) => dropped.push(d.notificationId));
    const started = Date.now();
    await change(o, [{ id: o.state.store.idOf(3), Tenure_Months__c: nextTenure() }]);
    await waitFor(() => o.outbound.stats().failedAttempts >= 2 && o.outbound.stats().inFlight === 0);

    const status = await admin<OutboundStats & { failing: NotificationStatus[] }>(o, 'GET', '/outbound');
    // A retry may be on its way while the admin call runs: then the notification is in flight.
    expect(status.body).toMatchObject({ enabled: true, delivered: 0, dropped: 0 });
    expect(status.body.queued + status.body.inFlight).toBe(1);
    expect(status.body.failedAttempts).toBeGreaterThanOrEqual(1);
    expect(status.body.failing).toHaveLength(1);
    const failing = status.body.failing[0]!;
    expect(failing).toMatchObject({ recordId: o.state.store.idOf(3), lastErrorKind: 'http-status', lastError: expect.stringMatching(/^\(500\)/) });
    expect(['retrying', 'in-flight']).toContain(failing.state);
    if (failing.state === 'retrying') expect(failing.nextAttemptAt).toBeGreaterThan(failing.lastAttemptAt!);
    const one = await admin<NotificationStatus>(o, 'GET', `/outbound/notifications/${failing.id}`);
    expect(one.body.id).toBe(failing.id);

    await o.outbound.idle(5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(dropped).toEqual([failing.id]);
    expect(o.outbound.notification(failing.id)).toMatchObject({ state: 'dropped' });
    expect(o.outbound.stats()).toMatchObject({ queued: 0, dropped: 1, delivered: 0 });
    const attempts = receiver.received.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.received).toHaveLength(attempts); // nothing more after the drop
  });

  it('when the URL is changed, paused and flushed through the admin API, then sending follows', async () => {
    const o = await orgWith({ outboundUrl: undefined, outboundRetryBaseMs: 60_000 });
    expect((await admin<OutboundStats>(o, 'GET', '/outbound')).body).toMatchObject({ enabled: false, url: null });
    await change(o, [{ id: o.state.store.idOf(4), Tenure_Months__c: nextTenure() }]);
    expect(o.outbound.stats()).toMatchObject({ triggered: 0, queued: 0 }); // off: nothing queued

    expect((await admin(o, 'PUT', '/outbound', { url: 'ftp://nope' })).status).toBe(400);
    expect((await admin(o, 'PUT', '/outbound', { concurrency: 0 })).status).toBe(400);
    const put = await admin<{ settings: { url: string; paused: boolean } }>(o, 'PUT', '/outbound', { url: receiver.url, paused: true });
    expect(put.body.settings).toMatchObject({ url: receiver.url, paused: true });
    receiver.script.push('500');
    await change(o, [{ id: o.state.store.idOf(5), Tenure_Months__c: nextTenure() }]);
    await new Promise((r) => setTimeout(r, 50));
    expect(receiver.received).toHaveLength(0);

    await admin(o, 'PUT', '/outbound', { paused: false });
    await waitFor(() => o.outbound.stats().failedAttempts === 1);
    expect(receiver.received).toHaveLength(1); // failed; the next retry is a minute away
    const flushed = await admin<OutboundStats>(o, 'POST', '/outbound/flush', { wait: true, timeoutMs: 2_000 });
    expect(flushed.status).toBe(200);
    expect(flushed.body).toMatchObject({ delivered: 1, queued: 0, failedAttempts: 1 });
    expect(receiver.notificationIds()[0]).toBe(receiver.notificationIds()[1]);
  });

  it('when the emulator closes with a retry pending, then nothing more is sent and idle() rejects', async () => {
    const o = await orgWith({ outboundRetryBaseMs: 100 });
    receiver.script.push('500', '500', '500');
    await change(o, [{ id: o.state.store.idOf(6), Tenure_Months__c: nextTenure() }]);
    await waitFor(() => o.outbound.stats().failedAttempts >= 1);
    const waiting = o.outbound.idle();
    await o.close();
    await expect(waiting).rejects.toThrow(/closed/);
    const attempts = receiver.received.length;
    await new Promise((r) => setTimeout(r, 250));
    expect(receiver.received).toHaveLength(attempts);
    org = undefined;
  });

  it('when outbound options are invalid, then the emulator refuses to start', async () => {
    await expect(startOrg({ outboundUrl: 'not a url' })).rejects.toThrow(/outbound URL/);
    await expect(startOrg({ outboundBatchMs: -1 })).rejects.toThrow(/batch/);
    await expect(startOrg({ outboundConcurrency: 1.5 })).rejects.toThrow(/concurrency/);
  });
});

describe('emulator outbound messages: into the project receiver and Redis', () => {
  const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const PATH = '/salesforce/outbound/account';
  let redis: Redis;
  let org: RunningEmulator;
  let server: Server;
  let intake: RealtimeIntake;
  const prefix = `{test-${randomUUID()}}`;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    await redis.connect();
    intake = new RealtimeIntake(redis, prefix);
    org = await startOrg({ accounts: 200, ...fast });
    const logger = pino({ level: 'silent' });
    const app = createApp({
      logger,
      readiness: [],
      isShuttingDown: () => false,
      routers: [outboundRouter({ path: PATH, orgId: org.orgId, maxBodyBytes: 2_000_000, enqueueTimeoutMs: 1_000, intake, logger })],
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    org.outbound.configure({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}` });
  });
  afterAll(async () => {
    await org.close();
    server.closeAllConnections();
    server.close();
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it('when Accounts change, then the real receiver acks and every changed Account lands once in the stream', async () => {
    const records = Array.from({ length: 150 }, (_, i) => ({ id: org.state.store.idOf(i), Tenure_Months__c: nextTenure() }));
    await change(org, records);
    await org.outbound.idle(10_000);
    expect(org.outbound.stats()).toMatchObject({ delivered: 150, failedAttempts: 0, dropped: 0 });
    const entries = await redis.xrange(intake.keys.stream, '-', '+');
    const accounts = entries.map(([, fields]) => fields[fields.indexOf('a') + 1]!);
    expect(accounts.sort()).toEqual(records.map((r) => r.id).sort());
    // The worker's write-back (integration user, outputs only) sends nothing back: no loop.
    const token = await signIn(org);
    await call(org, token, `${API}/composite/sobjects`, {
      method: 'PATCH',
      body: { records: records.slice(0, 100).map((r) => ({ attributes: { type: 'Account' }, id: r.id, Churn_Score__c: 55, Churn_Risk__c: 'Medium' })) },
    });
    await org.outbound.idle(5_000);
    expect(org.outbound.stats().triggered).toBe(150);
  });

  it('when a changed record is deleted before delivery, then the real receiver acks the message, skips that notification and counts it, and stores the others', async () => {
    const without = async () => Number(/outcome="without-data"} (\d+)/.exec(await registry.getSingleMetricAsString('churn_outbound_notifications_total'))?.[1] ?? 0);
    const before = await without();
    const kept = [org.state.store.idOf(160), org.state.store.idOf(161)];
    const gone = org.state.store.idOf(162);
    const deliveredBefore = org.outbound.stats().delivered;
    org.outbound.pause();
    await change(org, [...kept, gone].map((id) => ({ id, Tenure_Months__c: nextTenure() })));
    await admin(org, 'DELETE', `/accounts/${gone}`);
    org.outbound.resume();
    await org.outbound.idle(5_000);
    expect(org.outbound.stats()).toMatchObject({ delivered: deliveredBefore + 3, failedAttempts: 0 });
    const accounts = (await redis.xrange(intake.keys.stream, '-', '+')).map(([, fields]) => fields[fields.indexOf('a') + 1]!);
    expect(accounts).toEqual(expect.arrayContaining(kept));
    expect(accounts).not.toContain(gone);
    expect((await without()) - before).toBe(1);
  });
});
