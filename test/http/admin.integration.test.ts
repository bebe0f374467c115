import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { adminRouter } from '../../src/http/admin/route.js';
import { createLogger } from '../../src/log/logger.js';
import { RunStore } from '../../src/queue/nightly-store.js';
import { nightlyQueue } from '../../src/queue/nightly-jobs.js';
import { REDIS_URL, testPrefix } from '../queue/nightly-helpers.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

async function serve(auth?: { user: string; password: string }) {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = testPrefix();
  const queue = nightlyQueue(redis, prefix);
  const store = new RunStore(redis, prefix);
  const app = express();
  app.use(adminRouter({ auth, queue, store, logger: createLogger('silent') }));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  cleanup = async () => {
    await new Promise((r) => server.close(r));
    await queue.obliterate({ force: true });
    await queue.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queue, store };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('POST /admin/rescore', () => {
  it('when called with the admin credentials, then a run is enqueued and its record can be read; without them, 401', async () => {
    const { url, queue } = await serve({ user: 'ops', password: 'correct horse battery' });
    const anonymous = await fetch(`${url}/admin/rescore`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
    const wrong = await fetch(`${url}/admin/rescore`, { method: 'POST', headers: { authorization: basic('ops', 'wrong password!!') } });
    expect(wrong.status).toBe(401);

    const form = await fetch(`${url}/admin/rescore`, { method: 'POST', headers: { authorization: basic('ops', 'correct horse battery'), 'content-type': 'text/plain' }, body: '{}' });
    expect(form.status).toBe(415);
    const res = await fetch(`${url}/admin/rescore`, {
      method: 'POST',
      headers: { authorization: basic('ops', 'correct horse battery'), 'content-type': 'application/json' },
      body: JSON.stringify({ where: "Contract_Type__c = 'Month-to-month'" }),
    });
    expect(res.status).toBe(202);
    const { runId, statusUrl } = (await res.json()) as { runId: string; statusUrl: string };
    expect(runId).toMatch(/^admin-\d{14}-[0-9a-f]{6}$/);
    const job = await queue.getJob(runId);
    expect(job?.data).toMatchObject({ runId, trigger: 'admin', where: "Contract_Type__c = 'Month-to-month'" });
    const status = await fetch(`${url}${statusUrl}`, { headers: { authorization: basic('ops', 'correct horse battery') } });
    expect(await status.json()).toMatchObject({ id: runId, state: 'queued', where: "Contract_Type__c = 'Month-to-month'" });

    const injected = await fetch(`${url}/admin/rescore`, {
      method: 'POST',
      headers: { authorization: basic('ops', 'correct horse battery'), 'content-type': 'application/json' },
      body: JSON.stringify({ where: 'Id != null; DELETE FROM Account' }),
    });
    expect(injected.status).toBe(400);
    expect(((await injected.json()) as { error: { code: string } }).error.code).toBe('NIGHTLY_FILTER_INVALID');
  });

  it('when no admin credentials are configured, then the endpoints answer 404', async () => {
    const { url } = await serve(undefined);
    expect((await fetch(`${url}/admin/rescore`, { method: 'POST' })).status).toBe(404);
  });
});
