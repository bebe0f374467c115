/**
 * The admin dashboard on the real Express app, real Redis (own prefix) and, for the page itself, a
 * real headless Chromium (Debian's /usr/bin/chromium; that one test is skipped when it is absent).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { csrfToken } from '../../src/http/dashboard/auth.js';
import { dashboardRouter } from '../../src/http/dashboard/route.js';
import { StatusStore } from '../../src/observability/status-store.js';
import { FailureLog } from '../../src/queue/failures.js';
import { QUEUES } from '../../src/queue/names.js';
import { RunStore } from '../../src/queue/nightly-store.js';
import { realtimeQueue } from '../../src/queue/realtime-jobs.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHROMIUM = '/usr/bin/chromium';
const ADMIN = { user: 'ops', password: 'correct horse battery' };
const FAILED_ID = '001000000000042AAA';
const logger = pino({ level: 'silent' });

let redis: Redis;
let prefix: string;
const servers: Server[] = [];
const queues: Queue[] = [];

async function startDashboard(admin: typeof ADMIN | undefined): Promise<{ base: string; realtime: Queue }> {
  const realtime = realtimeQueue(redis, prefix);
  const nightly = new Queue(QUEUES.nightly, { connection: redis, prefix });
  queues.push(realtime, nightly);
  const runs = new RunStore(redis, prefix);
  const app = createApp({
    logger,
    readiness: [],
    isShuttingDown: () => false,
    routers: [
      dashboardRouter({
        admin,
        realtimeQueue: realtime,
        queues: [realtime, nightly],
        failures: new FailureLog(redis, prefix),
        status: new StatusStore(redis, prefix),
        lastNightlyRun: async () => {
          const [id] = await runs.recentIds(1);
          return id ? runs.get(id) : undefined;
        },
        logger,
      }),
    ],
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, realtime };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  prefix = `{test-${randomUUID()}}`;
  await new FailureLog(redis, prefix).record([{ id: FAILED_ID, code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Region is required' }], 'realtime');
  const status = new StatusStore(redis, prefix);
  await status.recordBands({ High: 5, Medium: 3, Low: 12 });
  await status.recordApiUsage({ used: 2_345, limit: 100_000 });
  const runs = new RunStore(redis, prefix);
  await runs.create('nightly-2026-11-26', 'schedule');
  await runs.update('nightly-2026-11-26', { state: 'completed', startedAt: '2026-11-26T02:00:00.000Z', endedAt: '2026-11-26T02:41:00.000Z', total: 4_500 });
});

afterAll(async () => {
  for (const s of servers) s.close();
  await Promise.all(queues.map((q) => q.obliterate({ force: true }).catch(() => undefined).then(() => q.close())));
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('admin dashboard access', () => {
  it('when ADMIN_USER/ADMIN_PASSWORD are unset, then /admin and /admin/queues answer 404', async () => {
    const { base } = await startDashboard(undefined);
    expect((await fetch(`${base}/admin`)).status).toBe(404);
    expect((await fetch(`${base}/admin/queues`, { headers: { authorization: basic(ADMIN.user, ADMIN.password) } })).status).toBe(404);
  });

  it('when the credentials are missing or wrong, then 401 with a basic-auth challenge; right ones get the page', async () => {
    const { base } = await startDashboard(ADMIN);
    const none = await fetch(`${base}/admin`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect((await fetch(`${base}/admin`, { headers: { authorization: basic(ADMIN.user, 'wrong password!!') } })).status).toBe(401);
    expect((await fetch(`${base}/admin`, { headers: { authorization: basic('someone', ADMIN.password) } })).status).toBe(401);
    expect((await fetch(`${base}/admin/queues/api/queues`)).status).toBe(401);
    const ok = await fetch(`${base}/admin`, { headers: { authorization: basic(ADMIN.user, ADMIN.password) } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain(FAILED_ID);
  });

  it('when Bull Board is asked for its queues, then it lists the real-time and nightly queues under the prefix', async () => {
    const { base } = await startDashboard(ADMIN);
    const res = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic(ADMIN.user, ADMIN.password) } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual([QUEUES.realtime, QUEUES.nightly].sort());
  });

  it('when a retry is posted without the form token or from another site, then it is refused and nothing is queued', async () => {
    const { base, realtime } = await startDashboard(ADMIN);
    const auth = { authorization: basic(ADMIN.user, ADMIN.password), 'content-type': 'application/x-www-form-urlencoded' };
    const noToken = await fetch(`${base}/admin/failures/retry`, { method: 'POST', headers: auth, body: `ids=${FAILED_ID}` });
    expect(noToken.status).toBe(403);
    const crossSite = await fetch(`${base}/admin/failures/retry`, {
      method: 'POST',
      headers: { ...auth, origin: 'https://evil.example' },
      body: `csrf=${csrfToken(ADMIN)}&ids=${FAILED_ID}`,
      redirect: 'manual',
    });
    expect(crossSite.status).toBe(403);
    const badId = await fetch(`${base}/admin/failures/retry`, { method: 'POST', headers: auth, body: `csrf=${csrfToken(ADMIN)}&ids=not-an-id` });
    expect(badId.status).toBe(400);
    expect(await realtime.count()).toBe(0);
  });
});

describe('admin status page in a real browser', () => {
  it('when an admin logs in, then the chart, the failure and the allowance show, and Retry queues the account', async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      console.warn(`skipping the browser test: ${CHROMIUM} is absent (apt-get install -y chromium; .ci/run does it)`);
      return ctx.skip();
    }
    const { base, realtime } = await startDashboard(ADMIN);
    const profile = mkdtempSync(join(tmpdir(), 'churn-chromium-'));
    const shots = mkdtempSync(join(tmpdir(), 'churn-dashboard-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      httpCredentials: { username: ADMIN.user, password: ADMIN.password },
      viewport: { width: 1100, height: 1000 },
    });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${base}/admin`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('churn-worker admin');

      const bars = await page.locator('svg.chart g.bar').evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('data-label'), Number(n.getAttribute('data-value')), Math.round(n.querySelector('rect')!.getBoundingClientRect().height)]));
      expect(bars.map(([label, value]) => [label, value])).toEqual([['High', 5], ['Medium', 3], ['Low', 12]]);
      // Drawn to scale: the tallest bar is Low, and High is taller than Medium.
      const heights = bars.map(([, , h]) => h as number);
      expect(heights[2]).toBeGreaterThan(heights[0]!);
      expect(heights[0]).toBeGreaterThan(heights[1]!);

      await expect.poll(() => page.locator('#api-usage').innerText()).toContain('2,345 of 100,000');
      expect(await page.locator('#nightly').innerText()).toContain('completed');
      const row = page.locator('#failures tr.failure');
      expect(await row.count()).toBe(1);
      expect(await row.innerText()).toContain(FAILED_ID);
      expect(await row.innerText()).toContain('FIELD_CUSTOM_VALIDATION_EXCEPTION');

      const screenshot = join(shots, 'admin.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(statSync(screenshot).size).toBeGreaterThan(10_000);

      await Promise.all([page.waitForURL(/\/admin\?retried=1$/), page.click('#retry')]);
      expect(await page.locator('#notice').innerText()).toContain('Queued 1 account(s)');
      const jobs = await realtime.getJobs(['waiting']);
      expect(jobs.map((j) => j.data.accountIds)).toEqual([[FAILED_ID]]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      rmSync(shots, { recursive: true, force: true });
    }
  });
});
