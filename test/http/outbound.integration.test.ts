/**
 * The outbound-message receiver over real HTTP on real Redis: what it acks and stores, how it dedupes,
 * how it authenticates the sender. Hostile bodies are in hostile.integration.test.ts.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registry } from '../../src/observability/metrics.js';
import { accountId, envelope, notificationId } from '../helpers/outbound.js';
import { faultOf, isAck, ORG, post, startReceiver, type Receiver, type ReceiverOptions } from '../helpers/receiver.js';
import { readFixture, readShared } from '../helpers/shared.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuv';

let redis: Redis;
let receiver: Receiver;
const started: Receiver[] = [];

async function receiverWith(options: ReceiverOptions = {}, client = redis): Promise<Receiver> {
  const r = await startReceiver(client, options);
  started.push(r);
  return r;
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
});
beforeEach(async () => {
  receiver = await receiverWith();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await redis.quit();
});

async function counter(name: string, label: string): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  return Number(new RegExp(`${label}} (\\d+)`).exec(text)?.[1] ?? 0);
}

const xml = new XMLParser({ removeNSPrefix: true });

describe('outbound message receiver', () => {
  it('when a valid message arrives, then every notification is in Redis before the Ack', async () => {
    const body = envelope({ orgId: ORG, notifications: [1, 2, 3].map((n) => ({ id: notificationId(n), accountId: accountId(n) })) });
    const res = await post(receiver.url, body);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(isAck(await res.text())).toBe(true);
    expect(await receiver.enqueued()).toEqual([accountId(1), accountId(2), accountId(3)]);
  });

  // The project's own fixtures always run; the captures in ../shared are an extra check when present.
  const orgOf = (message: string) => /<OrganizationId>([^<]+)<\/OrganizationId>/.exec(message)![1]!;
  const accountId18 = (message: string) => /<sf:Id>([^<]+)<\/sf:Id>/.exec(message)![1]!;
  const sources = (own: string, shared: string) => [
    ['the project fixture', readFixture(`outbound-messages/${own}`)],
    ['the shared capture', readShared(`fixtures/outbound-messages/${shared}`)],
  ] as const;

  it.for(sources('account-session-id.xml', 'account-single.xml'))('when %s of an Account message arrives, then it is acked with the Ack Salesforce expects', async ([, message], ctx) => {
    if (!message) return ctx.skip();
    const ack = readFixture('outbound-messages/ack-response.xml');
    const r = await receiverWith({ orgId: orgOf(message) });
    const res = await post(r.url, message);
    expect(res.status).toBe(200);
    expect(xml.parse(await res.text())).toEqual(xml.parse(ack.replace(/^\uFEFF/, '')));
    expect(await r.enqueued()).toEqual([accountId18(message)]);
  });

  it.for(sources('opportunity-compact-nil-session.xml', 'opportunity-compact-nil-session.xml'))('when %s of an Opportunity message arrives, then it is refused with a fault and nothing is enqueued', async ([, message], ctx) => {
    if (!message) return ctx.skip();
    const r = await receiverWith({ orgId: orgOf(message) });
    const res = await post(r.url, message);
    expect(res.status).toBe(400);
    expect(await faultOf(res)).toMatch(/Opportunity.*Account notifications only/);
    expect(await r.enqueued()).toEqual([]);
  });

  it('when the Ack Salesforce expects is compared with the shared capture, then they are the same document', (ctx) => {
    const captured = readShared('fixtures/outbound-messages/ack-response.xml');
    if (!captured) return ctx.skip();
    const own = readFixture('outbound-messages/ack-response.xml');
    expect(own.startsWith('\uFEFF')).toBe(captured.startsWith('\uFEFF'));
    expect(xml.parse(own.replace(/^\uFEFF/, ''))).toEqual(xml.parse(captured.replace(/^\uFEFF/, '')));
  });

  it('when the message has a BOM, other prefixes, whitespace and xsi:nil, then it is read all the same', async () => {
    const body =
      '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">\n' +
      '  <S:Body>\n    <om:notifications xmlns:om="http://soap.sforce.com/2005/09/outbound">\n' +
      `      <om:OrganizationId> ${ORG.slice(0, 15)} </om:OrganizationId>\n      <om:ActionId>04k000000000001AAA</om:ActionId>\n` +
      '      <om:SessionId i:nil="true"/>\n' +
      `      <om:Notification>\n        <om:Id>${notificationId(7)}</om:Id>\n` +
      `        <om:sObject xmlns:e="urn:sobject.enterprise.soap.sforce.com" i:type="e:Account">\n          <e:Id>${accountId(7)}</e:Id>\n          <e:Phone i:nil="true"/>\n        </om:sObject>\n` +
      '      </om:Notification>\n    </om:notifications>\n  </S:Body>\n</S:Envelope>\n';
    const res = await post(receiver.url, body);
    expect(res.status).toBe(200);
    expect(await receiver.enqueued()).toEqual([accountId(7)]);
  });

  it('when an Account id comes in its 15-character form, then it is stored in its 18-character form', async () => {
    const res = await post(receiver.url, envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1).slice(0, 15) }] }));
    expect(res.status).toBe(200);
    expect(await receiver.enqueued()).toEqual([accountId(1)]);
  });

  it('when Salesforce redelivers a notification, then it is acked again but enqueued once', async () => {
    const body = envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] });
    const before = await counter('churn_outbound_notifications_total', 'outcome="deduplicated"');
    for (let i = 0; i < 3; i++) expect((await post(receiver.url, body)).status).toBe(200);
    expect(await receiver.enqueued()).toEqual([accountId(1)]);
    expect((await counter('churn_outbound_notifications_total', 'outcome="deduplicated"')) - before).toBe(2);
    expect(await redis.ttl(`${receiver.intake.keys.seen}${notificationId(1)}:${accountId(1)}`)).toBeGreaterThan(47 * 3600);
  });

  it('when two notifications share a notification id but name different Accounts, then both Accounts are enqueued', async () => {
    const body = envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }, { id: notificationId(1), accountId: accountId(2) }] });
    expect((await post(receiver.url, body)).status).toBe(200);
    expect(await receiver.enqueued()).toEqual([accountId(1), accountId(2)]);
  });

  it('when 100 notifications share one notification id, then all 100 Accounts are enqueued, and a redelivery adds none', async () => {
    const body = envelope({ orgId: ORG, notifications: Array.from({ length: 100 }, (_, i) => ({ id: notificationId(1), accountId: accountId(i + 1) })) });
    expect((await post(receiver.url, body)).status).toBe(200);
    expect((await post(receiver.url, body)).status).toBe(200);
    const enqueued = await receiver.enqueued();
    expect(enqueued).toHaveLength(100);
    expect(new Set(enqueued).size).toBe(100);
  });

  it('when some notifications carry no record data (deleted before sending), then the others are enqueued, the message is acked and the skipped ones are counted', async () => {
    const before = await counter('churn_outbound_notifications_total', 'outcome="without-data"');
    const body = envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }, { id: notificationId(2), accountId: accountId(2) }] })
      .replace(/<sObject[^>]*><sf:Id>001000000000002AAA<\/sf:Id><sf:Name>Acme<\/sf:Name><\/sObject>/, '<sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"/>');
    const res = await post(receiver.url, body);
    expect(res.status).toBe(200);
    expect(isAck(await res.text())).toBe(true);
    expect(await receiver.enqueued()).toEqual([accountId(1)]);
    expect((await counter('churn_outbound_notifications_total', 'outcome="without-data"')) - before).toBe(1);
  });

  it('when the org id is given in its 15-character form, then it matches the configured 18-character id', async () => {
    const body = envelope({ orgId: ORG.slice(0, 15), notifications: [{ id: notificationId(1), accountId: accountId(1) }] });
    expect((await post(receiver.url, body)).status).toBe(200);
  });

  it('when no org id is configured, then the receiver refuses and says to set SF_ORG_ID', async () => {
    const r = await receiverWith({ orgId: undefined });
    const res = await post(r.url, envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] }));
    expect(res.status).toBe(503);
    expect(await faultOf(res)).toContain('SF_ORG_ID');
  });

  it('when refusals happen, then they are counted by reason', async () => {
    await post(receiver.url, 'nope');
    expect(await counter('churn_outbound_refusals_total', 'reason="not-xml"')).toBeGreaterThan(0);
  });
});

describe('authenticating the sender', () => {
  const good = envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] });

  it('when the endpoint URL carries the shared secret, then the message is acked', async () => {
    const r = await receiverWith({ secret: SECRET });
    const res = await post(`${r.url}?token=${SECRET}`, good);
    expect(res.status).toBe(200);
    expect(await r.enqueued()).toEqual([accountId(1)]);
  });

  it.each([
    ['no token', ''],
    ['a wrong token', '?token=wrong'],
    ['the secret with one character changed', `?token=${SECRET.slice(0, -1)}X`],
    ['the token twice', `?token=${SECRET}&token=${SECRET}`],
    ['the secret in another parameter', `?secret=${SECRET}`],
  ])('when the URL carries %s, then the message is refused with 401 before its body is read, and nothing is stored', async (_name, query) => {
    const r = await receiverWith({ secret: SECRET });
    const before = await counter('churn_outbound_refusals_total', 'reason="unauthenticated"');
    // Not even XML: a refused sender's body is never parsed.
    const res = await post(`${r.url}${query}`, '<<< not parsed >>>');
    expect(res.status).toBe(401);
    expect(await faultOf(res)).toMatch(/no valid token.*OUTBOUND_SECRET/);
    expect(await r.enqueued()).toEqual([]);
    expect((await counter('churn_outbound_refusals_total', 'reason="unauthenticated"')) - before).toBe(1);
  });

  it('when an allowlist is set and the request comes from another network, then it is refused with 403 even with the secret', async () => {
    const r = await receiverWith({ secret: SECRET, allowedNetworks: ['10.0.0.0/8'] });
    const res = await post(`${r.url}?token=${SECRET}`, good);
    expect(res.status).toBe(403);
    expect(await faultOf(res)).toMatch(/OUTBOUND_ALLOWED_NETWORKS/);
  });

  it('when the proxy is trusted, then the client address is the one the proxy appended to X-Forwarded-For, and an address the client wrote before it does not count', async () => {
    const r = await receiverWith({ secret: SECRET, allowedNetworks: ['13.108.0.0/14'], trustProxy: 1 });
    // Heroku's router appends the address it saw: the last entry. The first one is the client's claim.
    expect((await post(`${r.url}?token=${SECRET}`, good, { 'x-forwarded-for': '203.0.113.9, 13.110.1.2' })).status).toBe(200);
    expect((await post(`${r.url}?token=${SECRET}`, good, { 'x-forwarded-for': '13.110.1.2, 203.0.113.9' })).status).toBe(403);
  });

  it('when the proxy is not trusted, then X-Forwarded-For is ignored and the socket address decides', async () => {
    const r = await receiverWith({ allowedNetworks: ['13.108.0.0/14'] });
    expect((await post(r.url, good, { 'x-forwarded-for': '13.110.1.2' })).status).toBe(403);
    const local = await receiverWith({ allowedNetworks: ['127.0.0.0/8', '::1/128'] });
    expect((await post(local.url, good, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(200);
  });
});

describe('when Redis is unavailable', () => {
  it('when Redis is down, then the receiver answers a fault (HTTP 500) quickly and never acks', async () => {
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    const r = await receiverWith({}, down);
    const res = await post(r.url, envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] }));
    expect(res.status).toBe(500);
    expect(await faultOf(res)).toMatch(/queue unavailable.*retry/);
    await r.close();
    started.splice(started.indexOf(r), 1);
    down.disconnect();
  });

  it('when Redis accepts the connection but never answers, then the fault comes after the enqueue timeout', async () => {
    const silent: Server = createServer(() => {
      // Accepts and never answers.
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const slow = new Redis({ port: (silent.address() as AddressInfo).port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: true });
    void slow.connect().catch(() => undefined);
    const r = await receiverWith({ enqueueTimeoutMs: 500 }, slow);
    const res = await post(r.url, envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] }));
    expect(res.status).toBe(500);
    expect(await faultOf(res)).toMatch(/queue unavailable/);
    r.server.closeAllConnections();
    r.server.close();
    started.splice(started.indexOf(r), 1);
    slow.disconnect();
    silent.close();
  });
});
