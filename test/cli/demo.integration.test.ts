import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { deleteKeysWithPrefix } from '../../src/queue/redis.js';
import { cleanEnv, runToEnd, start } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const privateRedisExpected = (url: string) => url !== REDIS_URL;

describe('churn-worker demo', () => {
  it('when run, then it narrates the changes, the write-backs with scores and reasons, and a summary with API calls', async () => {
    const { code, output } = await runToEnd(['demo', '--accounts', '300', '--changes', '3'], cleanEnv({ REDIS_URL }));
    expect(code, output).toBe(0);
    expect(output).toContain('outbound message acked by the web process');
    expect(output).toMatch(/worker batch: 3 Accounts read with one SOQL query, scored, 3 written/);
    expect(output.match(/score +\d+(\.\d+)? +risk (High|Medium|Low)/g)).toHaveLength(3);
    expect(output).toMatch(/reasons: \w+__c=/);
    // The figures add up: the calls by kind sum to the total, and the no-loop line is a checked count.
    const calls = /Salesforce API calls used: (\d+) \(([^)]*)\)/.exec(output);
    expect(calls, output).not.toBeNull();
    const byKind = calls![2]!.split(', ').map((part) => Number(part.split(' ')[1]));
    expect(byKind.reduce((a, b) => a + b, 0)).toBe(Number(calls![1]));
    // The system of record: the demo runs an embedded PostgreSQL when none is configured.
    expect(output).toContain('DATABASE_URL is not set: started an embedded PostgreSQL (PGlite)');
    expect(output).toMatch(/model registry: champion churn-gbt-[\w-]+ \(the shipped model, registered at first start/);
    expect(output).toMatch(/score history: 3 row\(s\) for these Accounts in table score_history of the embedded PostgreSQL/);
    expect(output).toMatch(/no loop: the [1-9]\d* write-back change\(s\) by the integration user triggered no outbound message \(checked: 3 triggered, all by the user's edits\)/);
  }, 60_000);

  it('when no Redis answers and none can be started, then it says how to get one', async () => {
    // A PATH with node and the shell tools bin/churn-worker needs, but no redis-server.
    const bin = mkdtempSync(join(tmpdir(), 'no-redis-'));
    onTestFinished(() => rmSync(bin, { recursive: true, force: true }));
    for (const tool of ['sh', 'readlink', 'dirname']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`]).toString().trim(), join(bin, tool));
    symlinkSync(process.execPath, join(bin, 'node'));
    const { code, output } = await runToEnd(['demo'], { ...cleanEnv({ REDIS_URL: 'redis://127.0.0.1:1' }), PATH: bin });
    expect(code).toBe(1);
    expect(output).toMatch(/no Redis answers at redis:\/\/127\.0\.0\.1:1 and no redis-server is installed/);
    expect(output).toMatch(/apt-get install -y redis-server/);
  }, 30_000);

  it.each([
    ['the shared Redis', REDIS_URL],
    ['a private redis-server it started', 'redis://127.0.0.1:1'],
  ])('when it is sent SIGTERM while it runs on %s, then it stops every process it started and removes its queues', async (_, redisUrl) => {
    if (privateRedisExpected(redisUrl) && spawnSync('redis-server', ['--version']).status !== 0) {
      console.warn('skipping the private-redis case: redis-server is not installed (apt-get install -y redis-server; .ci/run has it)');
      return;
    }
    const demo = start(['demo', '--accounts', '300', '--changes', '3'], cleanEnv({ REDIS_URL: redisUrl }));
    const ready = await demo.waitFor(/web on port \d+/, 60_000);
    const webPort = Number(/web on port (\d+)/.exec(ready)![1]);
    const prefix = /queues under (\{stack-[0-9a-f]+\})/.exec(ready)![1]!;
    const privateRedis = /started a private redis-server at (redis:\/\/[\d.:]+)/.exec(demo.output())?.[1];
    // The web and worker processes, and the private redis-server when there is one (not tsx's esbuild).
    const children = execFileSync('pgrep', ['-P', String(demo.child.pid)])
      .toString()
      .trim()
      .split('\n')
      .map(Number)
      .filter((pid) => /main\.[jt]s\0(web|worker)|redis-server/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    expect(children.length).toBe(privateRedisExpected(redisUrl) ? 3 : 2);

    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(143);
    expect(demo.output()).toContain('SIGTERM: stopping what this command started');
    for (const pid of children) expect(() => process.kill(pid, 0), `child ${pid} still runs`).toThrow();
    await expect(fetch(`http://127.0.0.1:${webPort}/healthz`)).rejects.toThrow();
    if (privateRedis) {
      expect(redisUrl).not.toBe(REDIS_URL);
      const probe = new Redis(privateRedis, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined);
      await expect(probe.connect()).rejects.toThrow();
      probe.disconnect();
    } else {
      const redis = new Redis(REDIS_URL);
      try {
        expect(await redis.keys(`${prefix}*`)).toEqual([]);
      } finally {
        redis.disconnect();
      }
    }
  }, 90_000);

  it('when rescore --wait finds no worker process, then it says so at once instead of waiting 30 s at 0 %', async () => {
    const prefix = `{test-${randomUUID().slice(0, 8)}}`;
    const rescore = start(['rescore', '--wait'], cleanEnv({ REDIS_URL, QUEUE_PREFIX: prefix }));
    try {
      // Only the immediate check words it this way; the 30-second fallback puts it in brackets.
      await rescore.waitFor(/^rescore: no worker process is running on this Redis and QUEUE_PREFIX/m, 20_000);
    } finally {
      rescore.child.kill('SIGTERM');
      await rescore.exited;
      const redis = new Redis(REDIS_URL);
      await deleteKeysWithPrefix(redis, prefix).finally(() => redis.disconnect());
    }
  }, 30_000);
});
