import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { apexIntegerConstants, checkCalloutLimits, copyProject, paths, SALESFORCE_ROOT } from './checks.js';

const CLASS = `${paths.classes}/ChurnScoreRefresh.cls`;
const TEST = `${paths.classes}/ChurnScoreRefresh_Test.cls`;

describe('ChurnScoreRefresh and Apex\'s callout limits (offline: no org is reachable from CI)', () => {
  const copies: string[] = [];
  afterEach(() => {
    for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const edited = (rel: string, edit: (text: string) => string) => {
    const root = copyProject();
    copies.push(root);
    const file = join(root, rel);
    const before = readFileSync(file, 'utf8');
    const after = edit(before);
    expect(after).not.toBe(before);
    writeFileSync(file, after);
    return root;
  };

  it('when the constants are evaluated, then the maximum run is 6 callouts of 200 Accounts with 20 s each: exactly the 120 s Apex allows', () => {
    const c = apexIntegerConstants(readFileSync(join(SALESFORCE_ROOT, CLASS), 'utf8'));
    expect(Object.fromEntries(['CALLOUT_TIME_LIMIT_MS', 'TIMEOUT_MS', 'MAX_CALLOUTS', 'MAX_RECORDS_PER_CALLOUT', 'MAX_ACCOUNTS'].map((n) => [n, c.get(n)]))).toEqual({
      CALLOUT_TIME_LIMIT_MS: 120_000,
      TIMEOUT_MS: 20_000,
      MAX_CALLOUTS: 6,
      MAX_RECORDS_PER_CALLOUT: 200,
      MAX_ACCOUNTS: 1_200,
    });
    expect(checkCalloutLimits(SALESFORCE_ROOT)).toEqual([]);
  });

  it('when MAX_ACCOUNTS goes back to 2000 (ten callouts of 20 s), then the check says it passes the limit', () => {
    const root = edited(CLASS, (t) => t.replace('MAX_ACCOUNTS = MAX_CALLOUTS * MAX_RECORDS_PER_CALLOUT', 'MAX_ACCOUNTS = 2000'));
    expect(checkCalloutLimits(root)).toEqual([`${CLASS}: MAX_ACCOUNTS 2000 needs 10 callouts of 20000 ms = 200 s, over Apex's 120 s of callout time per transaction`]);
  });

  it('when one more Account fits a callout than the limit allows (1,201), then the check reports the seventh callout', () => {
    const root = edited(CLASS, (t) => t.replace('MAX_ACCOUNTS = MAX_CALLOUTS * MAX_RECORDS_PER_CALLOUT', 'MAX_ACCOUNTS = MAX_CALLOUTS * MAX_RECORDS_PER_CALLOUT + 1'));
    expect(checkCalloutLimits(root)).toEqual([`${CLASS}: MAX_ACCOUNTS 1201 needs 7 callouts of 20000 ms = 140 s, over Apex's 120 s of callout time per transaction`]);
  });

  it('when the callout timeout is the constant instead of the time left, or the test class looks the profile up by name, then each is reported', () => {
    const root = edited(CLASS, (t) => t.replace('request.setTimeout(timeout);', 'request.setTimeout(TIMEOUT_MS);'));
    const test = join(root, TEST);
    writeFileSync(test, readFileSync(test, 'utf8').replace(/SELECT Id\s+FROM Profile\s+WHERE [^\]]+/, "SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1"));
    expect(checkCalloutLimits(root)).toEqual([
      `${CLASS}: the callout timeout is not taken from the callout time left (CALLOUT_TIME_LIMIT_MS - calloutTimeCommittedMs)`,
      `${TEST}: looks a profile up by its name, which is translated in orgs with another language`,
    ]);
  });
});
