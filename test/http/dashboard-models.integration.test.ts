/**
 * The model registry on the admin dashboard: the real Express app, the registry on real PostgreSQL,
 * and a real headless Chromium that promotes a version with a reason through the form.
 */
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { csrfToken } from '../../src/http/dashboard/auth.js';
import { modelsRouter } from '../../src/http/dashboard/models.js';
import { openSystemOfRecord, type SystemOfRecord } from '../../src/runtime/models.js';
import { testDatabase, type TestDatabase } from '../helpers/database.js';
import { ROOT } from '../helpers/process.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = { user: 'ops', password: 'correct horse battery' };
const logger = pino({ level: 'silent' });
const onnx = new Uint8Array(readFileSync(`${ROOT}models/churn-gbt.onnx`));
const spec = JSON.parse(readFileSync(`${ROOT}models/churn-gbt.spec.json`, 'utf8')) as { modelVersion: string };

let db: TestDatabase;
let sor: SystemOfRecord;
const servers: Server[] = [];

async function start(registry: SystemOfRecord['registry'] | undefined): Promise<string> {
  const app = createApp({ logger, readiness: [], isShuttingDown: () => false, routers: [modelsRouter({ admin: ADMIN, registry, logger })] });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const auth = { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` };

beforeAll(async () => {
  db = await testDatabase();
  sor = await openSystemOfRecord(db.config, { prefix: '{test-dashboard-models}' });
  await sor.registry.ensureChampion(async () => ({ onnx, spec }));
  await sor.registry.register({ onnx, spec: { ...spec, modelVersion: 'dash-v2' }, source: 'imported' }, { actor: 'test', reason: 'a candidate' });
});
afterAll(async () => {
  for (const s of servers) s.close();
  await sor?.close();
  await db?.drop();
});

describe('models on the admin dashboard', () => {
  it('when no registry is configured, then the page says how to turn it on', async () => {
    const base = await start(undefined);
    const res = await fetch(`${base}/admin/models`, { headers: auth });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('The model registry is off: set DATABASE_URL');
  });

  it('when an action comes without the form token, from another site or without a reason, then it is refused and nothing changes', async () => {
    const base = await start(sor.registry);
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${base}/admin/models`, { method: 'POST', redirect: 'manual', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded', origin: base, ...headers }, body: new URLSearchParams(body) });
    expect((await post({ action: 'promote', version: 'dash-v2', reason: 'x' })).status).toBe(403);
    expect((await post({ action: 'promote', version: 'dash-v2', reason: 'x', csrf: csrfToken(ADMIN) }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ action: 'promote', version: 'dash-v2', reason: ' ', csrf: csrfToken(ADMIN) })).status).toBe(400);
    expect((await fetch(`${base}/admin/models`)).status).toBe(401);
    expect(await sor.registry.roles()).toEqual({ champion: spec.modelVersion, shadow: null });
  });

  it('when an admin promotes a candidate with a reason in the browser, then it is the champion and the log says who and why', async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      console.warn(`skipping the browser test: ${CHROMIUM} is absent (apt-get install -y chromium; .ci/run does it)`);
      return ctx.skip();
    }
    const base = await start(sor.registry);
    const profile = mkdtempSync(join(tmpdir(), 'churn-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      httpCredentials: { username: ADMIN.user, password: ADMIN.password },
    });
    try {
      const page = await context.newPage();
      await page.goto(`${base}/admin/models`);
      expect(await page.locator(`#models tr[data-status="champion"]`).getAttribute('data-version')).toBe(spec.modelVersion);
      expect(await page.locator('#models tr[data-version="dash-v2"] td.status').innerText()).toBe('candidate');
      const candidate = page.locator('#models tr[data-version="dash-v2"] form:has(input[value="promote"])');
      await candidate.locator('input[name="reason"]').fill('better on last quarter');
      await Promise.all([page.waitForURL(/\/admin\/models\?done=/), candidate.locator('button').click()]);
      expect(await page.locator('#notice').innerText()).toContain(`dash-v2 is the champion (was ${spec.modelVersion})`);
      expect(await page.locator(`#models tr[data-status="champion"]`).getAttribute('data-version')).toBe('dash-v2');
      expect(await page.locator('#log tr').nth(1).innerText()).toMatch(/promote\s+dash-v2\s+\S+\s+admin:ops\s+better on last quarter/);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
    expect(await sor.registry.roles()).toEqual({ champion: 'dash-v2', shadow: null });
    const [entry] = await sor.registry.log(1);
    expect(entry).toMatchObject({ action: 'promote', version: 'dash-v2', previous: spec.modelVersion, actor: 'admin:ops', reason: 'better on last quarter' });
  });
});
