/**
 * What a new user meets in their first hour, through the real binary: exit codes (0 success, 1
 * failure, 2 usage), messages that say what to fix, start-up failures that end the process instead of
 * hanging it, `.env` loading, and paths that do not depend on the current directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { cleanEnv, ROOT, runToEnd, start } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The fatal JSON log line a process writes when it cannot start. */
function fatalLine(output: string): { code?: string; msg: string; hint?: string } {
  const line = output.split('\n').find((l) => l.includes('"level":60'));
  expect(line, output).toBeDefined();
  return JSON.parse(line!) as { code?: string; msg: string; hint?: string };
}

describe('exit codes and usage errors', () => {
  it('when asked for --version, then it prints the package version and exits 0', async () => {
    const { code, output } = await runToEnd(['--version'], cleanEnv());
    expect(code).toBe(0);
    expect(output.trim()).toMatch(new RegExp(`^churn-worker ${pkg.version.replace(/\./g, '\\.')} \\(node v\\d+\\.`));
  });

  it('when run with no arguments, then it prints the usage and exits 2 like every usage error', async () => {
    const { code, output } = await runToEnd([], cleanEnv());
    expect(code).toBe(2);
    expect(output).toContain('Usage: churn-worker <subcommand>');
    expect(output).toContain('Exit codes: 0 success, 1 failure, 2 usage error.');
  });

  it('when a subcommand is misspelt, then it exits 2 and suggests the right one', async () => {
    const { code, output } = await runToEnd(['rescor'], cleanEnv());
    expect(code).toBe(2);
    expect(output).toContain('unknown subcommand "rescor" (did you mean "rescore"?)');
  });

  it('when an option is misspelt, then it is a usage error (exit 2) with a suggestion, not a configuration error', async () => {
    const { code, output } = await runToEnd(['rescore', '--wiat'], cleanEnv({ REDIS_URL }));
    expect(code).toBe(2);
    expect(output).toContain('unknown option --wiat (did you mean --wait?)');
    expect(output).toContain('Usage: churn-worker rescore');
    expect(output).not.toContain('CONFIG_INVALID');
  });

  it("when a benchmark's option value is bad or the benchmark unknown, then it exits 2 naming it", async () => {
    const bad = await runToEnd(['bench', 'nightly', '--accounts', 'many'], cleanEnv({ REDIS_URL }));
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('--accounts must be a number ≥ 0, got "many"');
    const unknown = await runToEnd(['bench', 'nope'], cleanEnv());
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('bench: unknown benchmark "nope"');
  });

  it('when PORT is not a number, then the message names it, quotes it and says what is expected', async () => {
    const { code, output } = await runToEnd(['web'], cleanEnv({ PORT: 'abc', REDIS_URL }));
    expect(code).toBe(1);
    expect(fatalLine(output).msg).toContain('PORT is invalid (got "abc"): expected a whole number');
    expect(output).not.toContain('NaN');
  });

  it('when a secret is malformed, then its value is not echoed', async () => {
    const { code, output } = await runToEnd(['web'], cleanEnv({ ADMIN_USER: 'admin', ADMIN_PASSWORD: 'short-pw', REDIS_URL }));
    expect(code).toBe(1);
    expect(output).toContain('ADMIN_PASSWORD is invalid: expected at least 12 characters');
    expect(output).not.toContain('short-pw');
  });

  it('when evaluate is given a CSV that does not exist, then it names the absolute path, not a "training file"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'churn-cli-'));
    try {
      const { code, output } = await runToEnd(['evaluate', '--csv', 'missing.csv'], cleanEnv(), { cwd: dir });
      expect(code).toBe(1);
      expect(output).toContain(`Labelled CSV ${join(dir, 'missing.csv')} does not exist.`);
      expect(output).not.toContain('Training file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the emulator port is taken, then it says so and suggests --port', async () => {
    const taken: Server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    try {
      const { code, output } = await runToEnd(['emulator', '--port', String((taken.address() as { port: number }).port), '--accounts', '10'], cleanEnv());
      expect(code).toBe(1);
      expect(output).toContain('EADDRINUSE');
      expect(output).toContain('pass --port <another port>, or --port 0 for a free one');
    } finally {
      taken.close();
    }
  });

  it('when the machine runs a Node.js older than 22.19, then it says which Node it needs and how to get it', () => {
    // The machines here ship Node 20 as /usr/bin/node; elsewhere there may be no old node to try.
    const old = spawnSync('/usr/bin/node', ['-p', 'process.versions.node']);
    const version = old.status === 0 ? old.stdout.toString().trim() : '';
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (!version || major > 22 || (major === 22 && minor >= 19)) {
      console.warn(`skipping the old-Node check: /usr/bin/node is ${version || 'absent'}, not older than 22.19`);
      return;
    }
    const run = spawnSync('/usr/bin/node', ['--import', `file://${ROOT}node_modules/tsx/dist/loader.mjs`, `${ROOT}src/cli/main.ts`, '--version'], { env: cleanEnv() });
    expect(run.status).toBe(1);
    expect(run.stderr.toString()).toContain(`churn-worker needs Node.js 22.19 or newer (24 LTS recommended); this is v${version}.`);
  });
});

describe('start-up failures end the process (exit 1, one fatal JSON line) instead of hanging it', () => {
  let org: RunningEmulator;
  let keyDir: string;
  let salesforce: Record<string, string>;

  beforeAll(async () => {
    org = await startEmulator({ accounts: 20 });
    keyDir = mkdtempSync(join(tmpdir(), 'churn-cli-'));
    writeFileSync(join(keyDir, 'key.pem'), org.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString());
    salesforce = { SF_LOGIN_URL: org.url, SF_CLIENT_ID: org.consumerKey, SF_USERNAME: org.username, SF_PRIVATE_KEY_FILE: join(keyDir, 'key.pem'), REDIS_URL };
  });
  afterAll(async () => {
    await org?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('when the consumer key is wrong, then the worker exits 1 with SF_AUTH_FAILED and the fix', async () => {
    const { code, output } = await runToEnd(['worker'], cleanEnv({ ...salesforce, SF_CLIENT_ID: 'wrong' }));
    expect(code).toBe(1);
    const fatal = fatalLine(output);
    expect(fatal.code).toBe('SF_AUTH_FAILED');
    expect(fatal.hint).toMatch(/Check SF_CLIENT_ID/);
  });

  it('when the login URL does not answer, then the worker exits 1 with SF_AUTH_UNAVAILABLE', async () => {
    const { code, output } = await runToEnd(['worker'], cleanEnv({ ...salesforce, SF_LOGIN_URL: `http://127.0.0.1:${await closedPort()}` }));
    expect(code).toBe(1);
    expect(fatalLine(output).code).toBe('SF_AUTH_UNAVAILABLE');
  });

  it('when Redis does not answer, then the worker exits 1 with one sentence saying where and what to do', async () => {
    const { code, output } = await runToEnd(['worker'], cleanEnv({ ...salesforce, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` }));
    expect(code).toBe(1);
    const fatal = fatalLine(output);
    expect(fatal.code).toBe('QUEUE_UNAVAILABLE');
    expect(fatal.msg).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ did not answer within 5 s \(ECONNREFUSED\)/);
    // Every line is a JSON log record: no multi-line error dumps between them.
    for (const line of output.trim().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
  });

  it.each(['worker', 'web'])('when the model file is missing, then %s exits 1 naming the model, not its spec', async (name) => {
    const { code, output } = await runToEnd([name], cleanEnv({ ...salesforce, MODEL_PATH: 'models/nope.onnx', PORT: '0' }));
    expect(code).toBe(1);
    const fatal = fatalLine(output);
    expect(fatal.code).toBe('MODEL_INVALID');
    expect(fatal.msg).toContain(`Model file ${ROOT}models/nope.onnx does not exist.`);
    expect(fatal.msg).not.toContain('spec');
  });

  it('when rescore cannot reach Redis, then it prints one sentence with the fix and no error dumps', async () => {
    const { code, output } = await runToEnd(['rescore'], cleanEnv({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` }));
    expect(code).toBe(1);
    expect(output.trim()).toMatch(/^churn-worker: \[QUEUE_UNAVAILABLE\] Redis at redis:\/\/127\.0\.0\.1:\d+ did not answer within 5 s \(ECONNREFUSED\)\. Start Redis \(redis-server\) or set REDIS_URL/);
    expect(output).not.toMatch(/errno|MaxRetriesPerRequestError|at TCPConnectWrap/);
  });
});

describe('configuration from .env and paths from the project root', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'churn-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when .env.example is read by Node or sourced by a POSIX shell, then both see the same values', () => {
    const parsed = parseEnv(readFileSync(`${ROOT}.env.example`, 'utf8'));
    expect(parsed.NIGHTLY_CRON).toBe('0 0 2 * * *');
    const shell = spawnSync('sh', ['-c', 'set -a; . ./.env.example; printf "%s|%s|%s" "$NIGHTLY_CRON" "$QUEUE_PREFIX" "$MODEL_PATH"'], { cwd: ROOT, env: { PATH: process.env.PATH } });
    expect(shell.status, shell.stderr.toString()).toBe(0);
    expect(shell.stdout.toString()).toBe(`${parsed.NIGHTLY_CRON}|${parsed.QUEUE_PREFIX}|${parsed.MODEL_PATH}`);
  });

  it('when an env file sets a variable, then the process reads it, and a real environment variable wins over it', async () => {
    const file = join(dir, 'test.env');
    writeFileSync(file, '# a local env file\nPORT=abc\nOUTBOUND_PATH=/from-the-file\n');
    const fromFile = await runToEnd(['web'], cleanEnv({ ENV_FILE: file, REDIS_URL }));
    expect(fromFile.code).toBe(1);
    expect(fatalLine(fromFile.output).msg).toContain('PORT is invalid (got "abc")');

    const web = start(['web'], cleanEnv({ ENV_FILE: file, PORT: '0', REDIS_URL }));
    try {
      const ready = JSON.parse(await web.waitFor(/web process listening/)) as { outboundPath: string };
      expect(ready.outboundPath).toBe('/from-the-file');
    } finally {
      web.child.kill('SIGTERM');
      await web.exited;
    }
  });

  it('when ENV_FILE names a file that does not exist, then the error names its absolute path', async () => {
    const { code, output } = await runToEnd(['doctor'], cleanEnv({ ENV_FILE: 'no-such.env' }));
    expect(code).toBe(1);
    expect(output).toContain(`ENV_FILE names ${ROOT}no-such.env, which does not exist`);
  });

  it('when started from another directory, then the default model and relative key paths resolve against the project root', async () => {
    const web = start(['web'], cleanEnv({ PORT: '0', REDIS_URL }), { cwd: dir });
    try {
      await web.waitFor(/web process listening/);
    } finally {
      web.child.kill('SIGTERM');
      await web.exited;
    }
    const { code, output } = await runToEnd(['accounts'], cleanEnv({ SF_CLIENT_ID: 'x', SF_USERNAME: 'a@b.c', SF_PRIVATE_KEY_FILE: 'keys/none.pem' }), { cwd: dir });
    expect(code).toBe(1);
    expect(output).toContain(`SF_PRIVATE_KEY_FILE points to ${ROOT}keys/none.pem, which does not exist (relative paths are taken from the project root)`);
    // Two process starts in a row: a bound for a loaded machine, not a speed requirement.
  }, 90_000);
});
