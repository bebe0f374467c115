import type { Worker } from 'node:worker_threads';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/core/errors.js';
import { ScoringThread } from '../../src/scoring/thread.js';
import { tempDir, tinyModel, tinySpec } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(): Promise<ScoringThread> {
  const files = tinyModel(dir, tinySpec());
  return ScoringThread.open({ model: { kind: 'files', modelPath: files.modelPath, specPath: files.specPath } });
}

describe('ScoringThread', () => {
  it('when records are scored for the prediction API, then each result carries the factor text the Account field would get, and nothing to write', async () => {
    const scoring = await open();
    try {
      const records = [{ Id: 'a', Contract_Type__c: 'Month-to-month', Tenure_Months__c: 1, Paperless_Billing__c: true }, { Id: 'b', Contract_Type__c: 'Two year' }];
      const [compact, full] = [await scoring.predict(records), await scoring.score(records)];
      expect(compact).toEqual(
        full.map((r) => ('error' in r ? r : { id: r.id, score: r.score, risk: r.risk, factors: r.fields.Churn_Top_Factors__c, modelVersion: r.modelVersion })),
      );
      expect(String((compact[0] as { factors: string }).factors)).toMatch(/^Contract_Type__c=Month-to-month \(\+/);
      expect((await scoring.predict(records, { reasons: false }))[0]).toMatchObject({ id: 'a', factors: '' });
      expect(scoring.calls).toBe(3);
    } finally {
      await scoring.close();
    }
  });

  it('when the thread ends by itself, then calls in flight and every later call fail with SCORING_FAILED instead of waiting for it', async () => {
    const scoring = await open();
    // The thread's Worker is private; ending it from outside stands in for a crash of the thread.
    const worker = (scoring as unknown as { worker: Worker }).worker;
    const inFlight = scoring.predict([{ Id: 'a' }]);
    await worker.terminate();
    await expect(inFlight).rejects.toThrow(/scoring thread exited/);
    const later = await scoring.predict([{ Id: 'b' }]).catch((error: unknown) => error);
    expect(isAppError(later, 'SCORING_FAILED')).toBe(true);
    await scoring.close();
  });
});
