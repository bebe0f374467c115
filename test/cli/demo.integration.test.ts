import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { cleanEnv, runToEnd } from '../helpers/process.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('churn-worker demo', () => {
  it('when run, then it narrates the changes, the write-backs with scores and reasons, and a summary with API calls', async () => {
    const { code, output } = await runToEnd(['demo', '--accounts', '300', '--changes', '3'], cleanEnv({ REDIS_URL }));
    expect(code, output).toBe(0);
    expect(output).toContain('outbound message acked by the web process');
    expect(output).toMatch(/worker batch: 3 Accounts read with one SOQL query, scored, 3 written/);
    expect(output.match(/score +\d+(\.\d+)? +risk (High|Medium|Low)/g)).toHaveLength(3);
    expect(output).toMatch(/reasons: \w+__c=/);
    expect(output).toMatch(/Salesforce API calls used: \d+/);
    expect(output).toContain('triggered nothing');
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
});
