import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { deleteKeysWithPrefix } from '../../src/queue/redis.js';
import { cleanEnv, runToEnd, start } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('churn-worker command line', () => {
  it('when asked for help, then it lists the subcommands', async () => {
    const { code, output } = await runToEnd(['--help'], cleanEnv());
    expect(code).toBe(0);
    for (const name of ['web', 'worker', 'emulator']) expect(output).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('when the subcommand is unknown, then it exits 2 and says so', async () => {
    const { code, output } = await runToEnd(['nope'], cleanEnv());
    expect(code).toBe(2);
    expect(output).toContain('unknown subcommand "nope"');
  });

  it('when the worker starts without Salesforce settings, then it exits non-zero naming the variable', async () => {
    const { code, output } = await runToEnd(['worker'], cleanEnv({ REDIS_URL }));
    expect(code).not.toBe(0);
    expect(output).toMatch(/CONFIG_INVALID.*SF_CLIENT_ID/);
  });

  it('when the web process starts with NODE_ENV=production but no OUTBOUND_SECRET, then it exits non-zero saying what to set', async () => {
    const { code, output } = await runToEnd(['web'], cleanEnv({ NODE_ENV: 'production', PORT: '0', REDIS_URL, SF_ORG_ID: '00D5g000001AbCdEAF' }));
    expect(code).not.toBe(0);
    expect(output).toMatch(/OUTBOUND_SECRET is required when NODE_ENV=production/);
  });

  it('when a variable is malformed, then the process exits non-zero naming it', async () => {
    const { code, output } = await runToEnd(['web'], cleanEnv({ PORT: 'eighty' }));
    expect(code).not.toBe(0);
    expect(output).toMatch(/PORT/);
  });
});

describe('web process', () => {
  it('when started, then it answers health and readiness, and on SIGTERM it stops cleanly', async () => {
    const prefix = `{test-${randomUUID()}}`;
    onTestFinished(async () => {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      await deleteKeysWithPrefix(redis, prefix).finally(() => redis.disconnect());
    });
    const web = start(['web'], cleanEnv({ PORT: '0', REDIS_URL, LOG_LEVEL: 'info', QUEUE_PREFIX: prefix }));
    const line = await web.waitFor(/web process listening/);
    const port = JSON.parse(line).port as number;
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    const readiness = (await ready.json()) as { status: string; checks: Array<{ name: string; ok: boolean; note?: string }> };
    expect(readiness.status).toBe('ready');
    expect(readiness.checks.map((c) => [c.name, c.ok])).toEqual([['redis', true], ['model', true], ['salesforce', true]]);
    expect(readiness.checks[2]!.note).toMatch(/not configured/);
    web.child.kill('SIGTERM');
    expect(await web.exited).toBe(0);
    expect(web.output()).toContain('shut down');
  });
});
