/**
 * What every answer of the web app shares, over real HTTP: security headers, JSON errors without
 * internals whatever NODE_ENV says, probe details behind the monitoring token, and admin sign-in
 * attempts limited per client with the count in Redis, shared by every web dyno.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminRouter } from '../../src/http/admin/route.js';
import { createApp, type AppDeps } from '../../src/http/app.js';
import { SignInLimiter, SIGN_IN_LIMIT } from '../../src/http/dashboard/auth.js';
import { RunStore } from '../../src/queue/nightly-store.js';
import { nightlyQueue } from '../../src/queue/nightly-jobs.js';
import { deleteKeysWithPrefix } from '../../src/queue/redis.js';
import { REDIS_URL, testPrefix } from '../queue/nightly-helpers.js';

const logger = pino({ level: 'silent' });
const ADMIN = { user: 'ops', password: 'correct horse battery' };
const TOKEN = 'monitoring-token-0123456789abcdef';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let redis: Redis;
const prefix = testPrefix();
const servers: Server[] = [];
const closers: Array<() => Promise<unknown>> = [];

async function serve(deps: Partial<AppDeps> & { withAdmin?: boolean; limiter?: SignInLimiter }): Promise<string> {
  const routers: Router[] = [...(deps.routers ?? [])];
  if (deps.withAdmin) {
    const queue = nightlyQueue(redis, prefix);
    closers.push(() => queue.close());
    routers.push(adminRouter({ auth: ADMIN, queue, store: new RunStore(redis, prefix), limiter: deps.limiter, logger }));
  }
  const app = createApp({ logger, readiness: [], isShuttingDown: () => false, ...deps, routers });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  await Promise.all(closers.splice(0).map((c) => c()));
  await deleteKeysWithPrefix(redis, prefix);
});
afterAll(async () => {
  await redis.quit();
});

describe('errors are JSON, never an HTML page or a stack trace', () => {
  it.each(['development', 'test', 'production'])('when NODE_ENV is %s and /admin/rescore gets a body that is not JSON, then the answer is a JSON 400 with no stack trace', async (env) => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = env;
    try {
      const base = await serve({ withAdmin: true });
      const res = await fetch(`${base}/admin/rescore`, { method: 'POST', headers: { authorization: basic(ADMIN.user, ADMIN.password), 'content-type': 'application/json' }, body: '{"where": ' });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'INVALID_REQUEST', message: 'The request body is not valid JSON.' } });
      expect(text).not.toMatch(/<html|<pre|at .*\.(js|ts):\d+|node_modules|\/work\//i);
    } finally {
      process.env.NODE_ENV = saved;
    }
  });

  it('when a route throws, then the answer is a JSON 500 naming the request id, without the error text or a stack', async () => {
    const boom = Router();
    boom.get('/boom', () => {
      throw new Error('secret internals at /work/app/src/thing.ts:12');
    });
    const base = await serve({ routers: [boom] });
    const res = await fetch(`${base}/boom`, { headers: { 'x-request-id': 'req-42' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'INTERNAL', message: expect.stringContaining('logged'), requestId: 'req-42' } });
  });

  it('when a path does not exist, then the answer is a JSON 404', async () => {
    const base = await serve({});
    const res = await fetch(`${base}/no/such/route`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No such route.' } });
  });
});

describe('security headers', () => {
  it('when anything is answered, then it carries nosniff, HSTS, a frame policy, a referrer policy and a strict content policy, and no X-Powered-By', async () => {
    const base = await serve({});
    for (const path of ['/healthz', '/no/such/route']) {
      const res = await fetch(`${base}${path}`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });
});

describe('probe details behind the monitoring token', () => {
  const readiness = [{ name: 'redis', check: async () => 'pong from 10.0.0.7' }, { name: 'model', check: async () => { throw new Error('the model file /app/models/x.onnx is missing'); } }];

  it('when a token is set, then /metrics needs it and /readyz shows details only with it', async () => {
    const base = await serve({ monitoringToken: TOKEN, readiness });
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/process_cpu_user_seconds_total/);

    const anonymous = await fetch(`${base}/readyz`);
    expect(anonymous.status).toBe(503);
    expect(await anonymous.json()).toEqual({ status: 'not-ready', failing: ['model'] });
    const detailed = await fetch(`${base}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await detailed.json()) as { checks: unknown[] }).checks).toEqual([
      { name: 'redis', ok: true, note: 'pong from 10.0.0.7' },
      { name: 'model', ok: false, error: 'the model file /app/models/x.onnx is missing' },
    ]);
  });

  it('when in production without a token, then /metrics is refused and /readyz answers only its status', async () => {
    const base = await serve({ publicProbes: false, readiness: readiness.slice(0, 1) });
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(403);
    expect(await metrics.text()).toMatch(/MONITORING_TOKEN/);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });
  });
});

describe('admin sign-in attempts', () => {
  it('when one client fails more than the limit, then it gets 429 with Retry-After on every web dyno, even with the right password, and another client can still sign in', async () => {
    // Two web dynos: two apps, each with its own limiter, on the same Redis.
    const one = await serve({ withAdmin: true, limiter: new SignInLimiter(redis, prefix), trustProxy: 1 });
    const two = await serve({ withAdmin: true, limiter: new SignInLimiter(redis, prefix), trustProxy: 1 });
    const attempt = (base: string, password: string, client: string) =>
      fetch(`${base}/admin/rescore/none`, { headers: { authorization: basic(ADMIN.user, password), 'x-forwarded-for': client } });

    for (let i = 0; i < SIGN_IN_LIMIT.attempts; i++) expect((await attempt(i % 2 ? one : two, `wrong password ${i}`, '198.51.100.7')).status).toBe(401);
    for (const base of [one, two]) {
      const blocked = await attempt(base, ADMIN.password, '198.51.100.7');
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    }
    expect((await attempt(one, ADMIN.password, '203.0.113.20')).status).toBe(404);
  });

  it('when a client signs in after a few failures, then its count starts again', async () => {
    const base = await serve({ withAdmin: true, limiter: new SignInLimiter(redis, prefix, { attempts: 3, windowSeconds: 60 }) });
    const attempt = (password: string) => fetch(`${base}/admin/rescore/none`, { headers: { authorization: basic(ADMIN.user, password) } });
    expect((await attempt('wrong 1')).status).toBe(401);
    expect((await attempt('wrong 2')).status).toBe(401);
    expect((await attempt(ADMIN.password)).status).toBe(404);
    expect((await attempt('wrong 3')).status).toBe(401);
    expect((await attempt('wrong 4')).status).toBe(401);
    expect((await attempt(ADMIN.password)).status).toBe(404);
  });
});
