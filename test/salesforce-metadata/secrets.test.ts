import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkNoSecrets, copyProject, paths, SALESFORCE_ROOT } from './checks.js';

describe('salesforce/ holds no secrets', () => {
  const copies: string[] = [];
  afterEach(() => {
    for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('when every file is scanned, then there is no private key, no consumer secret, and the consumer key is a placeholder', () => {
    expect(checkNoSecrets(SALESFORCE_ROOT)).toEqual([]);
    expect(readFileSync(join(SALESFORCE_ROOT, paths.connectedApp), 'utf8')).toMatch(/<consumerKey>REPLACE_WITH_CONSUMER_KEY<\/consumerKey>/);
  });

  it('when a private key, a consumer secret, a real consumer key and global OAuth settings are added, then each is reported', () => {
    const root = copyProject();
    copies.push(root);
    writeFileSync(join(root, 'certs-notes.txt'), '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n');
    const app = join(root, paths.connectedApp);
    writeFileSync(
      app,
      readFileSync(app, 'utf8').replace(
        '<consumerKey>REPLACE_WITH_CONSUMER_KEY</consumerKey>',
        '<consumerKey>3MVG9abcdefghijklmnopqrstuvwxyz012345</consumerKey>\n        <consumerSecret>ABC123</consumerSecret>',
      ),
    );
    mkdirSync(join(root, 'force-app/main/default/extlClntAppGlobalOauthSets'));
    writeFileSync(
      join(root, 'force-app/main/default/extlClntAppGlobalOauthSets/Churn_Worker_glbloauth.ecaGlblOauth-meta.xml'),
      '<?xml version="1.0"?><ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata"/>',
    );
    const problems = checkNoSecrets(root);
    expect(problems).toEqual(
      expect.arrayContaining([
        'certs-notes.txt: contains a private key',
        `${paths.connectedApp}: has a consumerSecret element with a value; consumer secrets never go in the repository`,
        `${paths.connectedApp}: consumerKey "3MVG9abc…" is not a placeholder`,
        `${paths.connectedApp}: contains what looks like a Salesforce consumer key (3MVG…)`,
        expect.stringMatching(/Churn_Worker_glbloauth\.ecaGlblOauth-meta\.xml: External Client App global OAuth settings/),
      ]),
    );
  });

  it('when the outbound message URL carries a real token instead of the placeholder, then the check reports it', () => {
    const root = copyProject();
    copies.push(root);
    const workflow = join(root, 'force-app/main/default/workflows/Account.workflow-meta.xml');
    writeFileSync(workflow, readFileSync(workflow, 'utf8').replace('?token=REPLACE_WITH_OUTBOUND_SECRET', '?token=4f9a1c0e7b2d'));
    expect(checkNoSecrets(root)).toEqual(['force-app/main/default/workflows/Account.workflow-meta.xml: an endpoint URL carries a token that is not the placeholder; secrets never go in the repository']);
  });

  it('when .forceignore stops ignoring the global OAuth settings, then the check reports it', () => {
    const root = copyProject();
    copies.push(root);
    writeFileSync(join(root, '.forceignore'), 'package.xml\n');
    expect(checkNoSecrets(root)).toEqual(['.forceignore: does not keep *.ecaGlblOauth files out of retrieves']);
  });
});
