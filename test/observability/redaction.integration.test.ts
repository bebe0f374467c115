/**
 * Secrets never reach the logs: a real outbound message carrying a SessionId goes through the real
 * receiver, and a real JWT sign-in (plus a session refresh) goes through the real Salesforce client
 * against the emulator, with loggers at trace level writing to memory. Then the shapes a careless
 * log call could produce are logged on purpose, to check REDACT_PATHS covers them.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceConfig } from '../../src/config/index.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { createApp } from '../../src/http/app.js';
import { salesforceReadiness } from '../../src/http/health.js';
import { outboundRouter } from '../../src/http/outbound/route.js';
import { createLogger } from '../../src/log/logger.js';
import { RealtimeIntake } from '../../src/queue/realtime-intake.js';
import { SalesforceClient } from '../../src/salesforce/index.js';
import { readFixture } from '../helpers/shared.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// The project's own fixture: a message with a SessionId, the secret that must never be logged.
const fixture = readFixture('outbound-messages/account-session-id.xml');

const lines: string[] = [];
const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
const output = () => lines.join('');

let org: RunningEmulator;
let redis: Redis;
let server: Server;
let prefix: string;
let pem: string;

beforeAll(async () => {
  org = await startEmulator({ accounts: 20, logger: logger.child({ module: 'emulator' }) });
  pem = org.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  prefix = `{test-${randomUUID()}}`;
});
afterAll(async () => {
  server?.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await org.close();
});

/** The base64 body lines of the PEM: any of them in a log would leak the key. */
function keyMaterial(): string[] {
  return pem.split('\n').filter((l) => l.length > 40 && !l.startsWith('-----'));
}

describe('log redaction', () => {
  it('when an outbound message with a SessionId is received, then the logs carry the request id but never the SessionId', async () => {
    const sessionId = /<SessionId>([^<]+)<\/SessionId>/.exec(fixture)![1]!;
    const orgId = /<OrganizationId>([^<]+)<\/OrganizationId>/.exec(fixture)![1]!;
    const app = createApp({
      logger,
      readiness: [],
      isShuttingDown: () => false,
      routers: [outboundRouter({ path: '/om', orgId, maxBodyBytes: 100_000, enqueueTimeoutMs: 2_000, intake: new RealtimeIntake(redis, prefix), logger: logger.child({ module: 'outbound' }) })],
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/om`;
    const ok = await fetch(url, { method: 'POST', body: fixture, headers: { 'content-type': 'text/xml', 'x-request-id': 'req-redaction-1', authorization: `Bearer ${sessionId}` } });
    expect(ok.status).toBe(200);
    const refused = await fetch(url, { method: 'POST', body: fixture.replace(orgId, '00D000000000001AAA'), headers: { 'content-type': 'text/xml' } });
    expect(refused.status).toBe(403);
    // What a careless call could log: the parsed envelope, the request headers.
    logger.debug({ message: { SessionId: sessionId, sessionId } }, 'envelope');
    logger.debug({ req: { headers: { authorization: `Bearer ${sessionId}` } } }, 'request');

    const out = output();
    expect(out).toContain('"reqId":"req-redaction-1"');
    expect(out).toContain('outbound message enqueued');
    expect(out).toContain('outbound message refused');
    expect(out).toContain('[redacted]');
    expect(out).not.toContain(sessionId);
    expect(out).not.toContain(sessionId.split('!')[1]);
  });

  it('when the client signs in, refreshes an expired session and the web checks readiness, then no access token or key material is logged', async () => {
    const config: SalesforceConfig = { loginUrl: org.url, audience: org.url, clientId: org.consumerKey, username: org.username, privateKey: org.privateKey!, apiVersion: '66.0', tokenTimeoutMs: 5_000 };
    const client = await SalesforceClient.connect(config, { logger: logger.child({ module: 'salesforce' }) });
    const first = client.tokens.cached!.accessToken;
    await client.query('SELECT Id FROM Account LIMIT 1');
    await fetch(`${org.url}/__admin/tokens/expire`, { method: 'POST' });
    await client.query('SELECT Id FROM Account LIMIT 1');
    const second = client.tokens.cached!.accessToken;
    expect(second).not.toBe(first);
    const ready = salesforceReadiness(client.tokens);
    expect(await ready.check()).toBe('signed in');
    const third = client.tokens.cached!.accessToken;

    // Careless shapes: the token object, the client's connection, the config, the PEM itself.
    logger.info({ token: client.tokens.cached }, 'token');
    logger.info({ session: client.tokens.cached }, 'session');
    logger.info({ client: { connection: { accessToken: third } } }, 'connection');
    logger.info({ headers: { Authorization: `Bearer ${third}` } }, 'headers');
    logger.info({ salesforce: config }, 'config');
    logger.info({ privateKey: pem, settings: { privateKey: pem } }, 'key');

    const out = output();
    expect(out).toContain('signed in to Salesforce with the JWT bearer flow');
    expect(out).toContain('Salesforce session expired; signing a new JWT assertion');
    for (const token of [first, second, third]) expect(out).not.toContain(token);
    for (const line of keyMaterial()) expect(out).not.toContain(line);
    expect(out).not.toContain('BEGIN PRIVATE KEY');
  });
});
