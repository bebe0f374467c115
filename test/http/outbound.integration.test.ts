import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { outboundRouter } from '../../src/http/outbound/route.js';
import { registry } from '../../src/observability/metrics.js';
import { RealtimeIntake } from '../../src/queue/realtime-intake.js';
import { accountId, envelope, notificationId } from '../helpers/outbound.js';
import { readFixture, readShared } from '../helpers/shared.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ORG = '00D5g000001AbCdEAF';
const PATH = '/salesforce/outbound/account';
const logger = pino({ level: 'silent' });

interface Receiver {
  url: string;
  server: ReturnType<ReturnType<typeof createApp>['listen']>;
  intake: RealtimeIntake;
}

async function startReceiver(redis: Redis, options: { orgId?: string; enqueueTimeoutMs?: number; maxBodyBytes?: number } = {}): Promise<Receiver> {
  const intake = new RealtimeIntake(redis, `{test-${randomUUID()}}`);
  const app = createApp({
    logger,
    readiness: [],
    isShuttingDown: () => false,
    routers: [
      outboundRouter({
        path: PATH,
        orgId: 'orgId' in options ? options.orgId : ORG,
        maxBodyBytes: options.maxBodyBytes ?? 200_000,
        enqueueTimeoutMs: options.enqueueTimeoutMs ?? 1_000,
        intake,
        logger,
      }),
    ],
  });
  const server = app.listen(0);
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`, server, intake };
}

function post(url: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return fetch(url, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""', ...headers } });
}

const xml = new XMLParser({ removeNSPrefix: true });
async function faultOf(res: Response): Promise<string> {
  const body = xml.parse(await res.text());
  return String(body.Envelope.Body.Fault.faultstring);
}

let redis: Redis;
let receiver: Receiver;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
});
beforeEach(async () => {
  receiver?.server.close();
  receiver = await startReceiver(redis);
});
afterAll(async () => {
  receiver?.server.close();
  await redis.quit();
});

async function enqueuedAccounts(r: Receiver): Promise<string[]> {
  const entries = await redis.xrange(r.intake.keys.stream, '-', '+');
  return entries.map(([, fields]) => fields[fields.indexOf('a') + 1]!);
}

describe('outbound message receiver', () => {
  it('when a valid message arrives, then every notification is in Redis before the Ack', async () => {
    const body = envelope({ orgId: ORG, notifications: [1, 2, 3].map((n) => ({ id: notificationId(n), accountId: accountId(n) })) });
    const res = await post(receiver.url, body);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(xml.parse(await res.text()).Envelope.Body.notificationsResponse.Ack).toBe(true);
    expect(await enqueuedAccounts(receiver)).toEqual([accountId(1), accountId(2), accountId(3)]);
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
    const r = await startReceiver(redis, { orgId: orgOf(message) });
    const res = await post(r.url, message);
    expect(res.status).toBe(200);
    expect(xml.parse(await res.text())).toEqual(xml.parse(ack.replace(/^\uFEFF/, '')));
    expect(await enqueuedAccounts(r)).toEqual([accountId18(message)]);
    r.server.close();
  });

  it.for(sources('opportunity-compact-nil-session.xml', 'opportunity-compact-nil-session.xml'))('when %s of an Opportunity message arrives, then it is refused with a fault and nothing is enqueued', async ([, message], ctx) => {
    if (!message) return ctx.skip();
    const r = await startReceiver(redis, { orgId: orgOf(message) });
    const res = await post(r.url, message);
    expect(res.status).toBe(400);
    expect(await faultOf(res)).toMatch(/Opportunity.*Account notifications only/);
    expect(await enqueuedAccounts(r)).toEqual([]);
    r.server.close();
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
    expect(await enqueuedAccounts(receiver)).toEqual([accountId(7)]);
  });

  it('when Salesforce redelivers a notification, then it is acked again but enqueued once', async () => {
    const body = envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] });
    const before = await registry.getSingleMetricAsString('churn_outbound_notifications_total');
    for (let i = 0; i < 3; i++) expect((await post(receiver.url, body)).status).toBe(200);
    expect(await enqueuedAccounts(receiver)).toEqual([accountId(1)]);
    const after = await registry.getSingleMetricAsString('churn_outbound_notifications_total');
    const dedup = (s: string) => Number(/outcome="deduplicated"} (\d+)/.exec(s)?.[1] ?? 0);
    expect(dedup(after) - dedup(before)).toBe(2);
    expect(await redis.ttl(`${receiver.intake.keys.seen}${notificationId(1)}`)).toBeGreaterThan(47 * 3600);
  });

  it('when the org id is given in its 15-character form, then it matches the configured 18-character id', async () => {
    const body = envelope({ orgId: ORG.slice(0, 15), notifications: [{ id: notificationId(1), accountId: accountId(1) }] });
    expect((await post(receiver.url, body)).status).toBe(200);
  });

  it('when no org id is configured, then the receiver refuses and says to set SF_ORG_ID', async () => {
    const r = await startReceiver(redis, { orgId: undefined });
    const res = await post(r.url, envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] }));
    expect(res.status).toBe(503);
    expect(await faultOf(res)).toContain('SF_ORG_ID');
    r.server.close();
  });
});

const n1 = `<Notification><Id>${notificationId(1)}</Id><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>${accountId(1)}</sf:Id></sObject></Notification>`;
const wrap = (inner: string, ns = 'http://soap.sforce.com/2005/09/outbound', envNs = 'http://schemas.xmlsoap.org/soap/envelope/') =>
  `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="${envNs}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="${ns}">${inner}</notifications></soapenv:Body></soapenv:Envelope>`;
const orgPart = `<OrganizationId>${ORG}</OrganizationId><ActionId>04k000000000001AAA</ActionId>`;

const hostile: Array<[string, string | Buffer, number, RegExp, Record<string, string>?]> = [
  ['not XML', 'hello, world', 400, /not well-formed XML|no Envelope/],
  ['an empty body', '', 400, /empty/],
  ['JSON', '{"notifications":[]}', 400, /not well-formed XML|no Envelope/],
  ['truncated XML', envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] }).slice(0, 300), 400, /not well-formed XML/],
  ['an XXE external entity', `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${wrap(orgPart + n1).replace('<?xml version="1.0"?>', '').replace(`<Id>${notificationId(1)}</Id>`, '<Id>&xxe;</Id>')}`, 400, /DOCTYPE or ENTITY/],
  ['a billion-laughs entity expansion', `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>`, 400, /DOCTYPE or ENTITY/],
  ['a SOAP 1.2 envelope namespace', wrap(orgPart + n1, undefined, 'http://www.w3.org/2003/05/soap-envelope'), 400, /no Envelope element/],
  ['a wrong notifications namespace', wrap(orgPart + n1, 'http://soap.sforce.com/2005/09/inbound'), 400, /not in the http:\/\/soap\.sforce\.com\/2005\/09\/outbound namespace/],
  ['101 notifications', wrap(orgPart + Array.from({ length: 101 }, (_, i) => n1.replace(notificationId(1), notificationId(i))).join('')), 400, /more than 100 Notification elements; at most 100/],
  ['a notification without Id', wrap(orgPart + n1.replace(`<Id>${notificationId(1)}</Id>`, '')), 400, /Notification 1 has no Id/],
  ['a notification id that is not 04l…', wrap(orgPart + n1.replace(notificationId(1), '001000000000001AAA')), 400, /not a notification id/],
  ['a notification without sObject', wrap(orgPart + `<Notification><Id>${notificationId(1)}</Id></Notification>`), 400, /no sObject/],
  ['an sObject without Id', wrap(orgPart + n1.replace(`<sf:Id>${accountId(1)}</sf:Id>`, '')), 400, /sObject has no valid Id/],
  ['an sObject without xsi:type', wrap(orgPart + n1.replace(' xsi:type="sf:Account"', '')), 400, /no xsi:type/],
  ['no Notification at all', wrap(orgPart), 400, /no Notification/],
  ['no OrganizationId', wrap(n1), 400, /no valid OrganizationId/],
  ['another org', wrap(orgPart.replace(ORG, '00D000000000099AAA') + n1), 403, /not the org this receiver serves/],
  ['a Contact notification', wrap(orgPart + n1.replace('sf:Account', 'sf:Contact')), 400, /carries a Contact/],
  ['Accounts mixed with an Opportunity', wrap(orgPart + n1 + n1.replace('sf:Account', 'sf:Opportunity').replace(notificationId(1), notificationId(2))), 400, /carries a Opportunity/],
  ['two notifications elements', `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">${orgPart}${n1}</notifications><notifications xmlns="http://soap.sforce.com/2005/09/outbound">${orgPart}${n1}</notifications></soapenv:Body></soapenv:Envelope>`, 400, /more than one notifications/],
  ['a huge body', wrap(orgPart + n1 + `<Padding>${'x'.repeat(300_000)}</Padding>`), 413, /larger than 200000 bytes/],
  ['a corrupt gzip body', Buffer.from('definitely not gzip'), 400, /could not be read/, { 'content-encoding': 'gzip' }],
  ['an undeclared namespace prefix', wrap(orgPart + n1.replace('xsi:type', 'zz:type')), 400, /not well-formed XML.*unbound namespace prefix/],
  ['an unknown entity reference', wrap(orgPart + n1.replace('<sf:Id>', '<sf:Id>&bogus;')), 400, /not well-formed XML/],
  ['a gzip bomb', gzipSync(Buffer.alloc(5_000_000, 0x20)), 413, /larger than/, { 'content-encoding': 'gzip' }],
];

describe('hostile and malformed outbound messages', () => {
  it.each(hostile)('when the body is %s, then the fault says so, with the right status, and nothing is enqueued', async (_name, body, status, fault, headers) => {
    const res = await post(receiver.url, body, headers);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await faultOf(res)).toMatch(fault);
    expect(await enqueuedAccounts(receiver)).toEqual([]);
    // The server is still up and still acks a good message.
    expect((await post(receiver.url, envelope({ orgId: ORG, notifications: [{ id: notificationId(9, 'Z'), accountId: accountId(9) }] }))).status).toBe(200);
  });

  it('when refusals happen, then they are counted by reason', async () => {
    await post(receiver.url, 'nope');
    const metric = await registry.getSingleMetricAsString('churn_outbound_refusals_total');
    expect(metric).toMatch(/reason="not-xml"} [1-9]/);
  });
});

describe('when Redis is unavailable', () => {
  it('when Redis is down, then the receiver answers a fault (HTTP 500) quickly and never acks', async () => {
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    const r = await startReceiver(down);
    const started = Date.now();
    const res = await post(r.url, envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] }));
    expect(res.status).toBe(500);
    expect(await faultOf(res)).toMatch(/queue unavailable.*retry/);
    expect(Date.now() - started).toBeLessThan(3_000);
    r.server.close();
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
    const r = await startReceiver(slow, { enqueueTimeoutMs: 500 });
    const started = Date.now();
    const res = await post(r.url, envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] }));
    const elapsed = Date.now() - started;
    expect(res.status).toBe(500);
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(3_000);
    r.server.close();
    slow.disconnect();
    silent.close();
  });
});
