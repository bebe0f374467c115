/**
 * The real outbound-message receiver (the web app with the outbound router) on port 0, on real Redis,
 * each under its own `{test-…}` prefix. `close()` stops the server and removes every key it made.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import type { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { createApp, type ReadinessCheck } from '../../src/http/app.js';
import type { ParseLimits } from '../../src/http/outbound/envelope.js';
import { outboundRouter } from '../../src/http/outbound/route.js';
import { RealtimeIntake } from '../../src/queue/realtime-intake.js';
import { deleteKeysWithPrefix } from '../../src/queue/redis.js';

export const ORG = '00D5g000001AbCdEAF';
export const PATH = '/salesforce/outbound/account';

export interface ReceiverOptions {
  orgId?: string;
  secret?: string;
  allowedNetworks?: string[];
  trustProxy?: false | number | string;
  enqueueTimeoutMs?: number;
  maxBodyBytes?: number;
  limits?: Partial<ParseLimits>;
  logger?: Logger;
  readiness?: ReadinessCheck[];
}

export interface Receiver {
  /** The endpoint URL, without a token. */
  url: string;
  base: string;
  server: Server;
  intake: RealtimeIntake;
  prefix: string;
  /** Account ids in the intake stream, oldest first. */
  enqueued(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startReceiver(redis: Redis, options: ReceiverOptions = {}): Promise<Receiver> {
  const prefix = `{test-${randomUUID()}}`;
  const intake = new RealtimeIntake(redis, prefix);
  const logger = options.logger ?? pino({ level: 'silent' });
  const app = createApp({
    logger,
    readiness: options.readiness ?? [],
    isShuttingDown: () => false,
    trustProxy: options.trustProxy,
    routers: [
      outboundRouter({
        path: PATH,
        orgId: 'orgId' in options ? options.orgId : ORG,
        secret: options.secret,
        allowedNetworks: options.allowedNetworks,
        maxBodyBytes: options.maxBodyBytes ?? 200_000,
        enqueueTimeoutMs: options.enqueueTimeoutMs ?? 1_000,
        limits: options.limits,
        intake,
        logger,
      }),
    ],
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}${PATH}`,
    base,
    server,
    intake,
    prefix,
    enqueued: async () => {
      const entries = await redis.xrange(intake.keys.stream, '-', '+');
      return entries.map(([, fields]) => fields[fields.indexOf('a') + 1]!);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (redis.status === 'ready') await deleteKeysWithPrefix(redis, prefix);
    },
  };
}

export function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""', ...headers },
  });
}

const xml = new XMLParser({ removeNSPrefix: true });

export async function faultOf(res: Response): Promise<string> {
  const body = xml.parse(await res.text());
  return String(body.Envelope.Body.Fault.faultstring);
}

export function isAck(text: string): boolean {
  return xml.parse(text).Envelope?.Body?.notificationsResponse?.Ack === true;
}
