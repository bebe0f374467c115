import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT_FIELDS } from '../../src/core/account-fields.js';
import { INTEGRATION_PERMISSIONS } from '../../src/emulator/auth/tokens.js';
import { checkDescriptionLengths, checkPermissionSets, copyProject, grantedPermissions, loadFieldFiles, paths, SALESFORCE_ROOT } from './checks.js';

describe('the integration user\'s permissions: the permission set, and the emulator that stands in for the org', () => {
  const copies: string[] = [];
  afterEach(() => {
    for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('when Churn_Worker_Integration is read, then it grants API Enabled, View Setup and Configuration, and read and edit on Account', () => {
    expect(grantedPermissions(SALESFORCE_ROOT, paths.workerPermissionSet)).toEqual({ ApiEnabled: true, ViewSetup: true, AccountRead: true, AccountEdit: true });
  });

  it('when the emulator signs in the integration user, then it holds exactly what the permission set grants', () => {
    expect({ ...INTEGRATION_PERMISSIONS }).toEqual(grantedPermissions(SALESFORCE_ROOT, paths.workerPermissionSet));
  });

  it('when ViewSetup is taken out of the permission set, then the check says /limits needs it', () => {
    const root = copyProject();
    copies.push(root);
    const file = join(root, paths.workerPermissionSet);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/<userPermissions>\s*<enabled>true<\/enabled>\s*<name>ViewSetup<\/name>\s*<\/userPermissions>/, ''));
    expect(checkPermissionSets(root, loadFieldFiles(root), ACCOUNT_FIELDS)).toEqual([`${paths.workerPermissionSet}: no ViewSetup user permission (/limits needs View Setup and Configuration)`]);
  });

  it('when descriptions are read, then none is longer than the 255 characters a permission set or named credential allows', () => {
    expect(checkDescriptionLengths(SALESFORCE_ROOT)).toEqual([]);
    const root = copyProject();
    copies.push(root);
    const file = join(root, paths.refreshPermissionSet);
    writeFileSync(file, readFileSync(file, 'utf8').replace('<description>', `<description>${'x'.repeat(200)}`));
    expect(checkDescriptionLengths(root)).toEqual([expect.stringMatching(/Churn_Score_Refresh_User\.permissionset-meta\.xml: description is \d+ characters, at most 255 deploy/)]);
  });
});
