import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { checkExternalCredential, copyProject, EXTERNAL_CREDENTIAL, SALESFORCE_ROOT } from './checks.js';

/** The audience the prediction API accepts when PREDICT_JWT_AUDIENCE is not set. */
const DEFAULT_AUDIENCE = loadConfig({
  PREDICT_JWT_PUBLIC_KEYS: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  PREDICT_JWT_ISSUER: 'x',
}).predict!.audience;

describe('the External Credential behind the prediction API callout', () => {
  const copies: string[] = [];
  afterEach(() => {
    for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const edited = (edit: (xml: string) => string) => {
    const root = copyProject();
    copies.push(root);
    const file = join(root, EXTERNAL_CREDENTIAL);
    const before = readFileSync(file, 'utf8');
    const after = edit(before);
    expect(after).not.toBe(before);
    writeFileSync(file, after);
    return root;
  };

  it('when the shipped credential is read, then Salesforce sets exp/iat/nbf, iss is the deploy-time org id and aud is what the API accepts', () => {
    expect(DEFAULT_AUDIENCE).toBe('churn-prediction-api');
    expect(checkExternalCredential(SALESFORCE_ROOT, DEFAULT_AUDIENCE)).toEqual([]);
  });

  it('when exp is written as a hand-made formula claim, then the check reports it', () => {
    const root = edited((xml) =>
      xml.replace(
        '    <label>',
        '    <externalCredentialParameters>\n        <parameterGroup>DefaultGroup</parameterGroup>\n        <parameterName>exp</parameterName>\n        <parameterType>JwtBodyClaim</parameterType>\n        <parameterValue>{!TEXT(FLOOR((NOW() - DATETIMEVALUE("1970-01-01 00:00:00")) * 86400 + 60))}</parameterValue>\n    </externalCredentialParameters>\n    <label>',
      ),
    );
    const problems = checkExternalCredential(root, DEFAULT_AUDIENCE);
    expect(problems).toContainEqual(expect.stringContaining('sets the exp claim by hand'));
    expect(problems).toContainEqual(expect.stringContaining('the exp claim is a formula'));
  });

  it('when iss is the {!$Organization.Id} formula, or aud is not what the API accepts, then the check reports both', () => {
    const root = edited((xml) => xml.replace('REPLACE_WITH_ORG_ID', '{!$Organization.Id}').replace('<parameterValue>churn-prediction-api</parameterValue>', '<parameterValue>churn-api</parameterValue>'));
    const problems = checkExternalCredential(root, DEFAULT_AUDIENCE);
    expect(problems).toContainEqual(expect.stringContaining('the iss claim is a formula'));
    expect(problems).toContainEqual(expect.stringContaining('aud is "churn-api", the prediction API expects churn-prediction-api'));
  });
});
