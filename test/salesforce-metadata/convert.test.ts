import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT_FIELDS } from '../../src/core/account-fields.js';
import { checkApiVersions, checkComponents, convertProject, copyProject, paths, SALESFORCE_ROOT } from './checks.js';

const ENV = { CHURN_APP_URL: 'https://churn.example.test', CHURN_INTEGRATION_USERNAME: 'churn-int@example.test', CHURN_ORG_ID: '00D5g000001AbCdEAK', CHURN_OUTBOUND_SECRET: 'deploy-time-secret-0123456789abcdef' };

/** Everything force-app must contain; the connected-app package directory adds the ConnectedApp. */
const EXPECTED_FORCE_APP = [
  ...ACCOUNT_FIELDS.map((f) => `CustomField:Account.${f.name}`),
  'ApexClass:ChurnScoreRefresh',
  'ApexClass:ChurnScoreRefresh_Test',
  'CustomPermission:Churn_Integration_User',
  'ExternalClientApplication:Churn_Worker',
  'ExtlClntAppOauthSettings:Churn_Worker_oauth',
  'ExtlClntAppOauthConfigurablePolicies:Churn_Worker_oauthPlcy',
  'ExternalCredential:Churn_Prediction_API',
  'NamedCredential:Churn_Prediction_API',
  'Flow:Churn_Account_Changed',
  'PermissionSet:Churn_Score_Refresh_User',
  'PermissionSet:Churn_Worker_Integration',
  'Workflow:Account',
].sort();

describe('salesforce/ conversion to Metadata API format', () => {
  const copies: string[] = [];
  const made: string[] = [];
  afterEach(() => {
    for (const dir of copies.splice(0)) {
      made.push(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  // A failed conversion may still write a file or two after it rejected: sweep again at the end.
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 100));
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  /** Converts and remembers the output folder for cleanup. */
  const convert = async (...args: Parameters<typeof convertProject>) => {
    const result = await convertProject(...args);
    if (result.workDir) copies.push(result.workDir);
    return result;
  };

  it('when force-app is converted with the deploy-time values set, then every component is there and the placeholders are replaced', async () => {
    const result = await convert(SALESFORCE_ROOT, ['force-app'], ENV);
    expect(result.problems).toEqual([]);
    expect(checkComponents(result.components, EXPECTED_FORCE_APP)).toEqual([]);

    const pkg = readFileSync(join(result.packagePath!, 'package.xml'), 'utf8');
    expect(pkg).toMatch(/<name>ExternalClientApplication<\/name>/);
    expect(pkg).toMatch(/<version>66\.0<\/version>/);
    const workflow = readFileSync(join(result.packagePath!, 'workflows/Account.workflow'), 'utf8');
    expect(workflow).toContain('<endpointUrl>https://churn.example.test/salesforce/outbound/account?token=deploy-time-secret-0123456789abcdef</endpointUrl>');
    expect(workflow).toContain('<integrationUser>churn-int@example.test</integrationUser>');
    const namedCredential = readFileSync(join(result.packagePath!, 'namedCredentials/Churn_Prediction_API.namedCredential'), 'utf8');
    expect(namedCredential).toContain('<parameterValue>https://churn.example.test</parameterValue>');
    const externalCredential = readFileSync(join(result.packagePath!, 'externalCredentials/Churn_Prediction_API.externalCredential'), 'utf8');
    expect(externalCredential).toContain('<parameterValue>00D5g000001AbCdEAK</parameterValue>');
    expect(externalCredential).not.toContain('REPLACE_WITH_ORG_ID');
    expect(readFileSync(join(result.packagePath!, 'classes/ChurnScoreRefresh.cls'), 'utf8')).toContain('with sharing class ChurnScoreRefresh');
  });

  it('when the connected-app package directory is converted, then it holds only the Churn_Worker connected app', async () => {
    const result = await convert(SALESFORCE_ROOT, ['connected-app'], ENV);
    expect(result.problems).toEqual([]);
    expect(result.components).toEqual(['ConnectedApp:Churn_Worker']);
  });

  it('when a component is missing, then checkComponents names it', async () => {
    const root = copyProject();
    copies.push(root);
    unlinkSync(join(root, paths.flow));
    const result = await convert(root, ['force-app'], ENV);
    expect(result.problems).toEqual([]);
    expect(checkComponents(result.components, EXPECTED_FORCE_APP)).toEqual(['missing component Flow:Churn_Account_Changed']);
  });

  it('when a file is not recognisable metadata, then the conversion reports it', async () => {
    const root = copyProject();
    copies.push(root);
    writeFileSync(join(root, 'force-app/main/default/flows/Churn_Account_Changed.flwo-meta.xml'), '<?xml version="1.0"?><Flow/>');
    const result = await convert(root, ['force-app'], ENV);
    expect(result.problems).toEqual([expect.stringMatching(/conversion failed: .*Churn_Account_Changed\.flwo-meta\.xml/)]);
  });

  it('when a deploy-time value is not set, then the conversion refuses to ship the placeholder', async () => {
    const result = await convert(SALESFORCE_ROOT, ['force-app'], { ...ENV, CHURN_APP_URL: undefined });
    expect(result.problems).toEqual([expect.stringContaining('"CHURN_APP_URL" is in sfdx-project.json')]);
    const noSecret = await convert(SALESFORCE_ROOT, ['force-app'], { ...ENV, CHURN_OUTBOUND_SECRET: undefined });
    expect(noSecret.problems).toEqual([expect.stringContaining('"CHURN_OUTBOUND_SECRET" is in sfdx-project.json')]);
  });
});

describe('salesforce/ API version', () => {
  it('when sfdx-project.json and the metadata are read, then they all use API 66.0', () => {
    expect(JSON.parse(readFileSync(join(SALESFORCE_ROOT, 'sfdx-project.json'), 'utf8')).sourceApiVersion).toBe('66.0');
    expect(checkApiVersions(SALESFORCE_ROOT)).toEqual([]);
  });

  it('when one file uses another API version, then the check reports it', () => {
    const root = copyProject();
    try {
      const meta = join(root, paths.classes, 'ChurnScoreRefresh.cls-meta.xml');
      writeFileSync(meta, readFileSync(meta, 'utf8').replace('<apiVersion>66.0</apiVersion>', '<apiVersion>58.0</apiVersion>'));
      expect(checkApiVersions(root)).toEqual([`${paths.classes}/ChurnScoreRefresh.cls-meta.xml: apiVersion 58.0, sfdx-project.json says 66.0`]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
