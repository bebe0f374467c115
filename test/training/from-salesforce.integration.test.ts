/** `churn-worker train --from-salesforce` against the emulator: the org's labelled Accounts become a model. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.js';
import { ScoringEngine } from '../../src/scoring/engine.js';
import { cleanEnv, runToEnd } from '../helpers/process.js';

let org: RunningEmulator;
beforeAll(async () => {
  org = await startEmulator({ accounts: 3_000 });
});
afterAll(async () => {
  await org?.close();
});

describe('training from the org', () => {
  it('when the org has labelled Accounts, then train --from-salesforce writes a model, spec and card that score', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-train-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'org-model');
    const env = cleanEnv({
      SF_LOGIN_URL: org.url,
      SF_CLIENT_ID: org.consumerKey,
      SF_USERNAME: org.username,
      SF_PRIVATE_KEY: org.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString(),
      SF_API_VERSION: '66.0',
    });
    const { code, output } = await runToEnd(['train', '--from-salesforce', '--out', out, '--folds', '0', '--rounds', '60'], env);
    expect(code, output).toBe(0);
    for (const ext of ['.onnx', '.spec.json', '.card.json', '.card.md']) expect(existsSync(out + ext), ext).toBe(true);
    const card = JSON.parse(readFileSync(`${out}.card.json`, 'utf8')) as { data: Record<string, unknown> };
    expect(JSON.stringify(card.data)).toMatch(/3000|3,000/);

    const engine = await ScoringEngine.open({ modelPath: `${out}.onnx` });
    try {
      const [prediction] = await engine.score([{ Id: '001000000000001AAA', Contract_Type__c: 'Month-to-month', Tenure_Months__c: 2, Internet_Service__c: 'Fiber optic' }]);
      expect(prediction).toMatchObject({ id: '001000000000001AAA', risk: expect.stringMatching(/High|Medium|Low/) });
    } finally {
      await engine.close();
    }
  }, 60_000);
});
