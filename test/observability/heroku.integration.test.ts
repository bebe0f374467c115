/**
 * What a Heroku deploy relies on: app.json's shape and coverage of the configuration, the build
 * scripts, the prune script, `rediss://` with a self-signed certificate (a real TLS Redis when the
 * installed redis-server supports TLS), and the web process listening on PORT.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, redisOptions } from '../../src/queue/redis.js';
import { cleanEnv, ROOT, start } from '../helpers/process.js';

const appJson = JSON.parse(readFileSync(`${ROOT}app.json`, 'utf8')) as {
  name: string;
  buildpacks: Array<{ url: string }>;
  formation: Record<string, { quantity: number }>;
  addons: Array<string | { plan: string }>;
  env: Record<string, { description?: string; required?: boolean; value?: string; generator?: string }>;
};
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { engines: { node: string }; scripts: Record<string, string> };

/** Every variable the config schema reads (the keys of `envSchema` in src/config/index.ts). */
function configVariables(): string[] {
  const source = readFileSync(`${ROOT}src/config/index.ts`, 'utf8');
  const schema = source.slice(source.indexOf('const envSchema = z.object({'), source.indexOf('type Env ='));
  return [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('app.json', () => {
  it('when read, then it declares the Node buildpack, Heroku Redis and one web and one worker dyno', () => {
    expect(appJson.buildpacks).toEqual([{ url: 'heroku/nodejs' }]);
    expect(appJson.formation.web?.quantity).toBe(1);
    expect(appJson.formation.worker?.quantity).toBe(1);
    expect(appJson.addons.map((a) => (typeof a === 'string' ? a : a.plan)).some((p) => p.startsWith('heroku-redis'))).toBe(true);
    expect(appJson.addons.map((a) => (typeof a === 'string' ? a : a.plan)).some((p) => p.startsWith('heroku-postgresql'))).toBe(true);
    // Schema migrations run once per deploy, before the new dynos start.
    expect(readFileSync(`${ROOT}Procfile`, 'utf8')).toMatch(/^release: bin\/churn-worker db migrate$/m);
    expect(readFileSync(`${ROOT}Procfile`, 'utf8')).toMatch(/^web: bin\/churn-worker web$/m);
    expect(readFileSync(`${ROOT}Procfile`, 'utf8')).toMatch(/^worker: bin\/churn-worker worker$/m);
  });

  it('when compared with the config schema, then every variable but PORT, REDIS_URL and DATABASE_URL (set by Heroku) is described with a required flag', () => {
    const variables = configVariables();
    expect(variables.length).toBeGreaterThan(30);
    const expected = variables.filter((v) => v !== 'PORT' && v !== 'REDIS_URL' && v !== 'DATABASE_URL');
    const missing = expected.filter((v) => !(v in appJson.env));
    expect(missing).toEqual([]);
    for (const [name, entry] of Object.entries(appJson.env)) {
      expect(entry.description, name).toMatch(/\w{3,}/);
      expect(typeof entry.required, name).toBe('boolean');
    }
    expect(appJson.env).not.toHaveProperty('PORT');
    expect(appJson.env).not.toHaveProperty('REDIS_URL');
    expect(appJson.env).not.toHaveProperty('DATABASE_URL');
    // Secrets never get a value in the manifest.
    for (const secret of ['SF_PRIVATE_KEY', 'ADMIN_PASSWORD']) expect(appJson.env[secret]?.value).toBeUndefined();
  });

  it('when read with package.json, then Heroku resolves Node 24, 22.19 is the floor, and the build compiles and prunes', () => {
    // Heroku picks the newest release that satisfies engines: it must be 24.x, never 20 (end of life).
    expect(pkg.engines.node).toBe('24.x || ^22.19.0');
    expect(readFileSync(`${ROOT}.nvmrc`, 'utf8').trim()).toBe('24');
    expect(pkg.scripts['heroku-postbuild']).toContain('npm run build');
    expect(pkg.scripts['heroku-postbuild']).toContain('scripts/heroku-prune.mjs');
    expect(pkg.scripts.build).toContain('tsc -p tsconfig.build.json');
  });
});

describe('scripts/heroku-prune.mjs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'churn-prune-'));
    mkdirSync(join(dir, 'scripts'));
    cpSync(`${ROOT}scripts/heroku-prune.mjs`, join(dir, 'scripts/heroku-prune.mjs'));
    for (const target of ['darwin/arm64', 'linux/arm64', 'linux/x64', 'win32/x64']) {
      const d = join(dir, 'node_modules/onnxruntime-node/bin/napi-v6', target);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'onnxruntime_binding.node'), 'x'.repeat(1000));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when run for linux/x64, then only the linux/x64 binaries remain', () => {
    const run = spawnSync(process.execPath, [join(dir, 'scripts/heroku-prune.mjs'), '--platform=linux', '--arch=x64'], { env: cleanEnv(), encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const napi = join(dir, 'node_modules/onnxruntime-node/bin/napi-v6');
    expect(readdirSync(napi).sort()).toEqual(['linux']);
    expect(readdirSync(join(napi, 'linux'))).toEqual(['x64']);
  });

  it('when the build to keep is missing, then it refuses and removes nothing', () => {
    const run = spawnSync(process.execPath, [join(dir, 'scripts/heroku-prune.mjs'), '--platform=darwin', '--arch=x64'], { env: cleanEnv(), encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('refusing to prune');
    expect(existsSync(join(dir, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64'))).toBe(true);
  });
});

describe('Redis over TLS (Heroku Redis: rediss:// with a self-signed certificate)', () => {
  it('when the URL is rediss://, then TLS is on without verifying the chain; plain redis:// has no TLS', () => {
    expect(redisOptions('rediss://:pw@ec2-1-2-3-4.compute-1.amazonaws.com:25070', 'producer').tls).toEqual({ rejectUnauthorized: false });
    expect(redisOptions('redis://127.0.0.1:6379', 'producer').tls).toBeUndefined();
    expect(redisOptions('rediss://h:1', 'worker').maxRetriesPerRequest).toBeNull();
    expect(redisOptions('rediss://h:1', 'producer').enableOfflineQueue).toBe(false);
  });

  const tlsSupported = spawnSync('redis-server', ['--version']).status === 0 && spawnSync('openssl', ['version']).status === 0;
  let server: ChildProcess | undefined;
  let tlsUrl = '';
  let certDir = '';

  beforeAll(async () => {
    if (!tlsSupported) return;
    certDir = mkdtempSync(join(tmpdir(), 'churn-tls-'));
    const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=redis.test'], { cwd: certDir });
    if (cert.status !== 0) return;
    const port = await freePort();
    server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--tls-cert-file', 'cert.pem', '--tls-key-file', 'key.pem', '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { cwd: certDir });
    let out = '';
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      server!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (/Ready to accept connections/.test(out)) done();
      });
      server!.on('exit', done);
      setTimeout(done, 5_000);
    });
    if (server.exitCode === null && /Ready to accept/.test(out)) tlsUrl = `rediss://127.0.0.1:${port}`;
    else console.warn(`skipping the TLS Redis tests: redis-server did not start with --tls-port (no TLS support in this build?)\n${out}`);
  });
  afterAll(() => {
    server?.kill('SIGTERM');
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  it('when Redis serves TLS with a self-signed certificate, then createRedis() connects and a verifying client is refused', async (ctx) => {
    if (!tlsUrl) return ctx.skip();
    const redis = createRedis(tlsUrl, 'command');
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
    const strict = new Redis(tlsUrl, { tls: {}, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    const errors: string[] = [];
    strict.on('error', (error: Error) => errors.push(error.message));
    await expect(strict.connect()).rejects.toThrow();
    expect(errors.join(' ')).toMatch(/self[- ]signed|certificate/i);
    strict.disconnect();
  });

  it('when the web process gets PORT and a rediss:// REDIS_URL, then it listens on that port and is ready', async (ctx) => {
    if (!tlsUrl) return ctx.skip();
    const port = await freePort();
    const web = start(['web'], cleanEnv({ PORT: String(port), REDIS_URL: tlsUrl, LOG_LEVEL: 'info' }));
    try {
      const line = await web.waitFor(/web process listening/);
      expect(JSON.parse(line).port).toBe(port);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      const body = (await ready.json()) as { status: string; checks: Array<{ name: string; ok: boolean }> };
      expect(body.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: true });
      expect(ready.status).toBe(200);
    } finally {
      web.child.kill('SIGTERM');
      await web.exited;
    }
  });
});
