/** The emulator's outbound trigger rule (src/emulator/outbound/rule.ts) is what the shipped flow does. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firesOutboundMessage, SKIPPED_PERMISSION, WATCHED_FIELDS } from '../../src/emulator/outbound/rule.js';
import { copyProject, paths, readFlowRule, SALESFORCE_ROOT } from './checks.js';

describe('the emulator\'s trigger rule and the Churn_Account_Changed flow agree', () => {
  const copies: string[] = [];
  afterEach(() => {
    for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('when the flow is read, then it watches exactly the fields the emulator watches and drops exactly the permission the emulator skips', () => {
    const flow = readFlowRule(SALESFORCE_ROOT);
    expect(new Set(flow.changedFields)).toEqual(WATCHED_FIELDS);
    expect(flow.changedFields).toHaveLength(WATCHED_FIELDS.size);
    expect(flow.skippedPermissions).toEqual([SKIPPED_PERMISSION]);
    expect(flow.onCreate).toBe(true);
  });

  it('when changes are judged, then only another user\'s change of an input sends a message', () => {
    const input = [...WATCHED_FIELDS][0]!;
    expect(firesOutboundMessage({ userId: 'U-admin', changedFields: [input] }, 'U-int')).toBe(true);
    expect(firesOutboundMessage({ userId: 'U-int', changedFields: [input] }, 'U-int')).toBe(false);
    expect(firesOutboundMessage({ userId: 'U-admin', changedFields: ['Churn_Score__c', 'Name'] }, 'U-int')).toBe(false);
    expect(firesOutboundMessage({ userId: 'U-admin', changedFields: [] }, 'U-int')).toBe(false);
  });

  it('when the flow stops watching an input, then the comparison fails', () => {
    const root = copyProject();
    copies.push(root);
    const file = join(root, paths.flow);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\s*ISCHANGED\(\{!\$Record\.Tenure_Months__c\}\),/, ''));
    expect(new Set(readFlowRule(root).changedFields)).not.toEqual(WATCHED_FIELDS);
  });
});
