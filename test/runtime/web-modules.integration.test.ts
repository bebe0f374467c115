/**
 * The web process loads no worker-only module: a real `bin/churn-worker web`, with a resolve hook
 * that records every module it loads, started, asked for its health and stopped.
 * (.dependency-cruiser.cjs checks the same on the import graph; this checks what really loads.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv, ROOT, start, type Started } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER_ONLY = [
  /\/src\/queue\/(nightly|realtime)-worker\.ts$/,
  /\/src\/queue\/realtime-batcher\.ts$/,
  /\/src\/nightly\/(chunk|run|parts)\.ts$/,
  /\/src\/runtime\/(nightly|worker-process|ports)\.ts$/,
  /\/src\/salesforce\/(client|bulk|accounts)\.ts$/,
  /\/node_modules\/jsforce\//,
];

let web: Started | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (web && web.child.exitCode === null) {
    web.child.kill('SIGKILL');
    await web.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  web = undefined;
  dir = undefined;
});

describe('what the web process loads', () => {
  it('when the web process starts and serves, then none of the modules it loaded is worker-only (processors, the nightly core, the Salesforce client, jsforce)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'churn-web-modules-'));
    const file = join(dir, 'modules.txt');
    web = start(['web'], cleanEnv({ PORT: '0', REDIS_URL, LOG_LEVEL: 'info', RECORD_MODULES_FILE: file, NODE_OPTIONS: `--import ${ROOT}test/helpers/record-modules.mjs` }));
    const line = await web.waitFor(/web process listening/, 30_000);
    const port = (JSON.parse(line) as { port: number }).port;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    web.child.kill('SIGTERM');
    expect(await web.exited).toBe(0);

    const loaded = readFileSync(file, 'utf8').split('\n');
    // The record is real: the web process's own modules are in it.
    expect(loaded.some((u) => u.endsWith('/src/runtime/web-process.ts'))).toBe(true);
    expect(loaded.some((u) => u.endsWith('/src/queue/nightly-jobs.ts'))).toBe(true);
    expect(loaded.filter((u) => WORKER_ONLY.some((p) => p.test(u)))).toEqual([]);
  }, 60_000);
});
