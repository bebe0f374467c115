/**
 * The standing hostile-input suite at the HTTP level: the real receiver on real Redis is sent what an
 * attacker or an unlucky network would send: deep, wide and huge bodies, odd encodings, duplicate and
 * poison ids, spoofed senders. Each is refused with a SOAP fault that says why, nothing is stored,
 * what is echoed or logged is bounded, and the receiver still acks a good message afterwards. Then
 * Redis is paused (SIGSTOP on a private redis-server): the probes answer 503 with the reason within
 * their deadline instead of hanging. Timing targets are measured by `churn-worker bench hostile`.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { idSuffix } from '../../src/core/record-id.js';
import { createApp } from '../../src/http/app.js';
import { redisReadiness } from '../../src/http/health.js';
import { watchQueueDepth, watchRealtimeBacklog } from '../../src/observability/metrics.js';
import { RealtimeIntake } from '../../src/queue/realtime-intake.js';
import { realtimeQueue } from '../../src/queue/realtime-jobs.js';
import { accountId, envelope, notificationId } from '../helpers/outbound.js';
import { faultOf, ORG, post, startReceiver, type Receiver, type ReceiverOptions } from '../helpers/receiver.js';
import { freePort, hasRedisServer, startRedisServer, stopRedisServer } from '../helpers/redis-server.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'hostile-secret-0123456789abcdefghijklmnopq';

let redis: Redis;
const started: Receiver[] = [];
/** Every log line the receivers wrote, as text. */
const lines: string[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  }),
);

/**
 * A receiver whose parse time budget is wide, so each hostile body meets the limit it is meant for
 * however loaded the machine (envelope.test.ts checks the budget itself on a clock of its own).
 */
async function receiverWith(options: ReceiverOptions = {}): Promise<Receiver> {
  const r = await startReceiver(redis, { logger, maxBodyBytes: 2_000_000, ...options, limits: { timeBudgetMs: 5_000, ...options.limits } });
  started.push(r);
  return r;
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await redis.quit();
});

const n1 = `<Notification><Id>${notificationId(1)}</Id><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>${accountId(1)}</sf:Id><sf:Name>Acme</sf:Name></sObject></Notification>`;
const wrap = (inner: string, ns = 'http://soap.sforce.com/2005/09/outbound', envNs = 'http://schemas.xmlsoap.org/soap/envelope/') =>
  `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="${envNs}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="${ns}">${inner}</notifications></soapenv:Body></soapenv:Envelope>`;
const orgPart = `<OrganizationId>${ORG}</OrganizationId><ActionId>04k000000000001AAA</ActionId>`;
const good = (n = 9) => envelope({ orgId: ORG, notifications: [{ id: notificationId(n, 'Z'), accountId: accountId(n) }] });
const deepBody = (levels: number) => `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>${'<a>'.repeat(levels)}${'</a>'.repeat(levels)}</soapenv:Body></soapenv:Envelope>`;
const inSObject = (extra: string) => wrap(orgPart + n1.replace('<sf:Name>', `${extra}<sf:Name>`));
const MIXED = `001Ri00000m5tYv${idSuffix('001Ri00000m5tYv')}`;

type Case = [name: string, body: string | Buffer, status: number, fault: RegExp, headers?: Record<string, string>];

const classes: Record<string, Case[]> = {
  'malformed and foreign': [
    ['not XML', 'hello, world', 400, /not well-formed XML|no Envelope/],
    ['an empty body', '', 400, /empty/],
    ['JSON', '{"notifications":[]}', 400, /not well-formed XML|no Envelope/],
    ['truncated XML', good().slice(0, 300), 400, /not well-formed XML/],
    ['an XXE external entity', `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${wrap(orgPart + n1).replace('<?xml version="1.0"?>', '').replace(`<Id>${notificationId(1)}</Id>`, '<Id>&xxe;</Id>')}`, 400, /DOCTYPE or ENTITY/],
    ['a billion-laughs entity expansion', '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>', 400, /DOCTYPE or ENTITY/],
    ['a SOAP 1.2 envelope namespace', wrap(orgPart + n1, undefined, 'http://www.w3.org/2003/05/soap-envelope'), 400, /no Envelope element/],
    ['a wrong notifications namespace', wrap(orgPart + n1, 'http://soap.sforce.com/2005/09/inbound'), 400, /not in the http:\/\/soap\.sforce\.com\/2005\/09\/outbound namespace/],
    ['a notification without Id', wrap(orgPart + n1.replace(`<Id>${notificationId(1)}</Id>`, '')), 400, /Notification 1 has no Id/],
    ['a notification id that is not 04l…', wrap(orgPart + n1.replace(notificationId(1), '001000000000001AAA')), 400, /not a notification id/],
    ['an sObject without xsi:type', wrap(orgPart + n1.replace(' xsi:type="sf:Account"', '')), 400, /no xsi:type/],
    ['no Notification at all', wrap(orgPart), 400, /no Notification/],
    ['no OrganizationId', wrap(n1), 400, /no valid OrganizationId/],
    ['a Contact notification', wrap(orgPart + n1.replace('sf:Account', 'sf:Contact')), 400, /carries a Contact/],
    ['Accounts mixed with an Opportunity', wrap(orgPart + n1 + n1.replace('sf:Account', 'sf:Opportunity').replace(notificationId(1), notificationId(2))), 400, /carries a Opportunity/],
    ['two notifications elements', `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">${orgPart}${n1}</notifications><notifications xmlns="http://soap.sforce.com/2005/09/outbound">${orgPart}${n1}</notifications></soapenv:Body></soapenv:Envelope>`, 400, /more than one notifications/],
    ['an undeclared namespace prefix', wrap(orgPart + n1.replace('xsi:type', 'zz:type')), 400, /not well-formed XML.*unbound namespace prefix/],
    ['an unknown entity reference', wrap(orgPart + n1.replace('<sf:Id>', '<sf:Id>&bogus;')), 400, /not well-formed XML/],
  ],
  depth: [
    ['40,000 nested elements inside the Body', deepBody(40_000), 400, /unexpected element|more than 16 levels|more than 20000 elements/],
    ['a 2 MB body of nested elements', deepBody(285_000), 400, /more than 20000 elements/],
    ['nesting 1,000 deep inside an sObject field', inSObject('<sf:X>'.repeat(1_000) + '</sf:X>'.repeat(1_000)), 400, /more than 16 levels deep/],
  ],
  breadth: [
    ['101 notifications', wrap(orgPart + Array.from({ length: 101 }, (_, i) => n1.replace(notificationId(1), notificationId(i))).join('')), 400, /more than 100 Notification elements; at most 100/],
    ['a 2 MB flood of empty elements', inSObject('<sf:X/>'.repeat(250_000)), 400, /more than 20000 elements/],
    ['an sObject with 1,500 fields', inSObject('<sf:X/>'.repeat(1_500)), 400, /more than 1000 fields/],
    ['an element with 2,000 attributes', inSObject(`<sf:X ${Array.from({ length: 2_000 }, (_, i) => `a${i}="1"`).join(' ')}/>`), 400, /more than 32 attributes/],
    ['an element with 1,000 namespace declarations', inSObject(`<sf:X ${Array.from({ length: 1_000 }, (_, i) => `xmlns:p${i}="urn:p${i}"`).join(' ')}/>`), 400, /more than 32 attributes/],
  ],
  size: [
    ['a body over the size limit', wrap(orgPart + n1 + `<Padding>${'x'.repeat(2_100_000)}</Padding>`), 413, /larger than 2000000 bytes/],
    ['a 1.9 MB field value', inSObject(`<sf:X>${'x'.repeat(1_900_000)}</sf:X>`), 400, /more than 65536 characters between two tags/],
    ['a 1.9 MB xsi:type value', wrap(orgPart + n1.replace('sf:Account', `sf:${'A'.repeat(1_900_000)}`)), 400, /more than 65536 characters between two tags/],
    ['a 60 KB xsi:type value', wrap(orgPart + n1.replace('sf:Account', `sf:${'A'.repeat(60_000)}`)), 400, /attribute value is longer than 1024/],
    ['a 1 MB comment', inSObject(`<!--${'x'.repeat(1_000_000)}-->`), 400, /between two tags/],
    ['a record id of 100,000 entity references', wrap(orgPart + n1.replace(accountId(1), '&#48;'.repeat(100_000))), 400, /between two tags/],
    ['a gzip bomb', gzipSync(Buffer.alloc(5_000_000, 0x20)), 413, /larger than/, { 'content-encoding': 'gzip' }],
  ],
  encodings: [
    ['a corrupt gzip body', Buffer.from('definitely not gzip'), 400, /could not be read/, { 'content-encoding': 'gzip' }],
    ['an unsupported charset', good(), 400, /could not be read/, { 'content-type': 'text/xml; charset=x-bogus' }],
    ['an unknown content encoding', good(), 400, /could not be read/, { 'content-encoding': 'x-squash' }],
    ['invalid UTF-8 in the record id', Buffer.concat([Buffer.from(wrap(orgPart + n1).split(accountId(1))[0]!), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(wrap(orgPart + n1).split(accountId(1))[1]!)]), 400, /not a Salesforce record id/],
    ['a NUL character', wrap(orgPart + n1.replace('Acme', 'Ac\u0000me')), 400, /not well-formed XML/],
  ],
  'duplicate ids': [
    ['two sf:Id in one sObject', inSObject(`<sf:Id>${accountId(2)}</sf:Id>`), 400, /sObject has 2 Id elements/],
    ['two Id in one Notification', wrap(orgPart + n1.replace('</Id>', `</Id><Id>${notificationId(2)}</Id>`)), 400, /Notification 1 has 2 Id elements/],
    ['two OrganizationId elements', wrap(orgPart + orgPart.replace(/<ActionId>.*<\/ActionId>/, '') + n1), 400, /more than one OrganizationId/],
  ],
  'poison ids': [
    ['an id whose checksum does not match', wrap(orgPart + n1.replace(accountId(1), '001Ri00000m5tYv999')), 400, /"001Ri00000m5tYv999" is not a Salesforce record id/],
    ['an id with a wrong but well-formed checksum', wrap(orgPart + n1.replace(accountId(1), `${MIXED.slice(0, 15)}ZZZ`)), 400, /case checksum/],
    ['a Contact id', wrap(orgPart + n1.replace(accountId(1), '003000000000001AAA')), 400, /key prefix "003", not Account's 001/],
    ['an id with SOQL in it', wrap(orgPart + n1.replace(accountId(1), "001' OR Name != '")), 400, /not a Salesforce record id/],
  ],
  'spoofed senders': [
    ['another org', wrap(orgPart.replace(ORG, '00D000000000099AAA') + n1), 403, /not the org this receiver serves/],
  ],
};

describe('hostile bodies at the receiver', () => {
  for (const [kind, cases] of Object.entries(classes)) {
    describe(kind, () => {
      it.each(cases.map(([name, ...rest]) => [name, ...rest] as const))('when the body is %s, then the fault says so, with the right status, nothing is stored and the receiver still acks a good message', async (_name, body, status, fault, headers) => {
        const r = await receiverWith();
        const res = await post(r.url, body, headers);
        expect(res.status).toBe(status);
        expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
        const text = await faultOf(res);
        expect(text).toMatch(fault);
        // What comes back from the input is bounded, whatever its size.
        expect(text.length).toBeLessThan(400);
        expect(await r.enqueued()).toEqual([]);
        const after = await post(r.url, good());
        expect(after.status).toBe(200);
      });
    });
  }

  it('when refusals are logged, then no log line carries more than a few hundred characters of the input', async () => {
    const r = await receiverWith();
    lines.length = 0;
    await post(r.url, wrap(orgPart + n1.replace('sf:Account', `sf:${'A'.repeat(60_000)}`)));
    await post(r.url, wrap(orgPart + n1.replace(accountId(1), `001${'x'.repeat(50_000)}`)));
    await post(`${r.url}/${'p'.repeat(10_000)}`, good());
    expect(lines.length).toBeGreaterThan(1);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(1_000);
  });

  it('when a spoofed sender without the secret floods messages, then none is parsed or stored, and a real one still gets through', async () => {
    const r = await receiverWith({ secret: SECRET });
    const spoofed = envelope({ orgId: ORG, notifications: Array.from({ length: 100 }, (_, i) => ({ id: notificationId(i), accountId: accountId(i + 1) })) });
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(r.url, spoofed)));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 50 }, () => 401));
    expect(await r.enqueued()).toEqual([]);
    expect((await post(`${r.url}?token=${SECRET}`, good())).status).toBe(200);
  });

  it('when a spoofed sender forges X-Forwarded-For behind a trusted proxy, then only the address the proxy appended counts', async () => {
    const r = await receiverWith({ allowedNetworks: ['13.108.0.0/14'], trustProxy: 1 });
    // The attacker writes Salesforce addresses; the router appends the attacker's own (the last entry).
    expect((await post(r.url, good(), { 'x-forwarded-for': '13.108.0.1, 198.51.100.7' })).status).toBe(403);
    expect((await post(r.url, good(), { 'x-forwarded-for': '13.108.0.1, 13.108.0.2, 198.51.100.7' })).status).toBe(403);
    expect((await post(r.url, good(), { 'x-forwarded-for': 'garbage, 198.51.100.7' })).status).toBe(403);
  });

  it('when deep and wide bodies arrive concurrently, then every one is refused and /healthz answers between them', async () => {
    const r = await receiverWith();
    const bodies = Array.from({ length: 20 }, (_, i) => (i % 2 ? deepBody(280_000) : inSObject('<sf:X/>'.repeat(250_000))));
    const refusals = Promise.all(bodies.map((b) => post(r.url, b)));
    const health = await fetch(`${r.base}/healthz`);
    expect(health.status).toBe(200);
    expect((await refusals).map((a) => a.status)).toEqual(Array.from({ length: 20 }, () => 400));
  });
});

describe.skipIf(!hasRedisServer)('when Redis stalls (SIGSTOP)', () => {
  let server: ChildProcess | undefined;
  let stalled: Redis;
  let app: ReturnType<ReturnType<typeof createApp>['listen']>;
  let base: string;
  let receiver: Receiver;
  const stops: Array<() => void> = [];

  beforeAll(async () => {
    const port = await freePort();
    server = await startRedisServer(port);
    stalled = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    await stalled.connect();
    const queue = realtimeQueue(stalled, '{test-stall}');
    queue.on('error', () => undefined);
    const intake = new RealtimeIntake(stalled, '{test-stall}');
    stops.push(watchQueueDepth(queue), watchRealtimeBacklog(intake.keys.stream, () => stalled.xlen(intake.keys.stream)));
    const web = createApp({ logger: pino({ level: 'silent' }), readiness: [redisReadiness(stalled)], isShuttingDown: () => false, probeDeadlineMs: 1_500 });
    app = web.listen(0, '127.0.0.1');
    await once(app, 'listening');
    base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    receiver = await startReceiver(stalled, { enqueueTimeoutMs: 1_000 });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    server.kill('SIGSTOP');
  });
  afterAll(async () => {
    stops.forEach((stop) => stop());
    app?.closeAllConnections();
    app?.close();
    receiver?.server.closeAllConnections();
    receiver?.server.close();
    stalled?.disconnect();
    await stopRedisServer(server);
  });

  it('then /readyz answers 503 naming Redis instead of hanging', async () => {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: Array<{ name: string; ok: boolean; error?: string }> };
    expect(body.status).toBe('not-ready');
    expect(body.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: false, error: expect.stringMatching(/redis did not answer within 1500 ms/) });
  });

  it('then /metrics answers 503 with the reason instead of hanging', async () => {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/unavailable: .*Redis did not answer within \d+ ms/);
  });

  it('then /healthz still answers 200, and the receiver answers a fault rather than an Ack', async () => {
    expect((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);
    const res = await post(receiver.url, good(), {});
    expect(res.status).toBe(500);
    expect(await faultOf(res)).toMatch(/queue unavailable/);
  });
});
