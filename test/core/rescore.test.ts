import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { isNoOp, rescoreAccounts, type AccountRow, type RescorePorts, type WriteOutcome } from '../../src/core/rescore.js';

const compared = ['Churn_Score__c', 'Churn_Risk__c', 'Churn_Top_Factors__c', 'Churn_Model_Version__c'];

function ports(rows: AccountRow[], overrides: Partial<RescorePorts> = {}) {
  const calls = { read: 0, score: 0, write: 0, written: [] as Array<Record<string, unknown>> };
  const p: RescorePorts = {
    comparedFields: compared,
    read: async (ids) => {
      calls.read += 1;
      // Like Salesforce: a 15-character id matches its 18-character form.
      return rows.filter((r) => ids.some((id) => id.slice(0, 15) === r.Id.slice(0, 15)));
    },
    score: async (records) => {
      calls.score += 1;
      return records.map((r) =>
        r.Tenure_Months__c === 'bad'
          ? { id: r.Id, error: { code: 'SCORING_FAILED', message: 'Tenure_Months__c is not a number' } }
          : { id: r.Id, fields: { Churn_Score__c: 42.5, Churn_Risk__c: 'Medium', Churn_Top_Factors__c: 'x (+1.0)', Churn_Model_Version__c: 'm1', Churn_Scored_At__c: '2026-11-27T00:00:00.000Z' } },
      );
    },
    write: async (updates) => {
      calls.write += 1;
      calls.written.push(...updates);
      return updates.map((u): WriteOutcome =>
        u.Id === '001LOCKED000001'
          ? { id: u.Id, success: false, statusCode: 'UNABLE_TO_LOCK_ROW', message: 'locked', retryable: true }
          : u.Id === '001RULE00000001'
            ? { id: u.Id, success: false, statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'rule', retryable: false }
            : { id: u.Id, success: true },
      );
    },
    ...overrides,
  };
  return { p, calls };
}

describe('rescoring a batch of Accounts', () => {
  it('when the same Account appears twice, then it is read, scored and written once', async () => {
    const { p, calls } = ports([{ Id: '001A00000000001' }]);
    const outcome = await rescoreAccounts(['001A00000000001', '001A00000000001'], p);
    expect(outcome.written).toEqual(['001A00000000001']);
    expect(calls.written).toHaveLength(1);
    expect(calls).toMatchObject({ read: 1, score: 1, write: 1 });
  });

  it('when the record already carries the same score, risk, reasons and model, then nothing is written', async () => {
    const same = { Id: '001A00000000001', Churn_Score__c: 42.5, Churn_Risk__c: 'Medium', Churn_Top_Factors__c: 'x (+1.0)', Churn_Model_Version__c: 'm1' };
    const { p, calls } = ports([same]);
    const outcome = await rescoreAccounts([same.Id], p);
    expect(outcome.unchanged).toEqual([same.Id]);
    expect(calls.write).toBe(0);
  });

  it('when only the model version differs, then the record is written', async () => {
    const older = { Id: '001A00000000001', Churn_Score__c: 42.5, Churn_Risk__c: 'Medium', Churn_Top_Factors__c: 'x (+1.0)', Churn_Model_Version__c: 'm0' };
    const { p } = ports([older]);
    expect((await rescoreAccounts([older.Id], p)).written).toEqual([older.Id]);
  });

  it('when records fail, then locks are retryable, rules, deleted records and unusable fields are not', async () => {
    const rows = ['001LOCKED000001', '001RULE00000001', '001OK0000000001'].map((Id) => ({ Id }));
    const { p } = ports([...rows, { Id: '001BAD000000001', Tenure_Months__c: 'bad' }]);
    const outcome = await rescoreAccounts([...rows.map((r) => r.Id), '001GONE00000001', '001BAD000000001'], p);
    expect(outcome.written).toEqual(['001OK0000000001']);
    expect(outcome.retry.map((r) => r.id)).toEqual(['001LOCKED000001']);
    expect(outcome.failed.map((f) => [f.id, f.code])).toEqual([
      ['001GONE00000001', 'NOT_FOUND'],
      ['001BAD000000001', 'SCORING_FAILED'],
      ['001RULE00000001', 'FIELD_CUSTOM_VALIDATION_EXCEPTION'],
    ]);
  });

  it('when Salesforce refuses one id of the read and names it, then that id alone is failed and the others are read again and written', async () => {
    const good = ['001A00000000001', '001A00000000002', '001A00000000003', '001A00000000004', '001A00000000005'];
    const poison = '001Ri00000m5tYv';
    const { p, calls } = ports(good.map((Id) => ({ Id })));
    const read = p.read;
    p.read = async (ids) => {
      if (ids.includes(poison)) throw new AppError({ code: 'SF_INVALID_ID', message: `SOQL query: INVALID_QUERY_FILTER_OPERATOR: invalid ID field: ${poison}`, details: { id: poison } });
      return read(ids);
    };
    const outcome = await rescoreAccounts([...good, poison], p);
    expect(outcome.written).toEqual(good);
    expect(outcome.failed).toEqual([{ id: poison, code: 'INVALID_ID', message: expect.stringContaining('invalid ID field') }]);
    expect(calls.read).toBe(1);
  });

  it('when Salesforce refuses ids without naming them, then the batch is halved until each bad id stands alone, and every other id is written', async () => {
    const ids = Array.from({ length: 16 }, (_, i) => `001A0000000${String(i).padStart(4, '0')}`);
    const bad = new Set([ids[3], ids[12]]);
    const { p } = ports(ids.filter((id) => !bad.has(id)).map((Id) => ({ Id })));
    const read = p.read;
    let reads = 0;
    p.read = async (batch) => {
      reads += 1;
      if (batch.some((id) => bad.has(id))) throw new AppError({ code: 'SF_INVALID_ID', message: 'MALFORMED_ID: bad id' });
      return read(batch);
    };
    const outcome = await rescoreAccounts(ids, p);
    expect(outcome.failed.map((f) => f.id).sort()).toEqual([...bad].sort());
    expect(outcome.written.sort()).toEqual(ids.filter((id) => !bad.has(id)).sort());
    expect(outcome.written.length + outcome.failed.length).toBe(ids.length);
    expect(reads).toBeLessThan(2 * ids.length);
  });

  it('when the read fails for another reason, then the error is the whole batch\'s', async () => {
    const { p } = ports([]);
    p.read = async () => {
      throw new AppError({ code: 'SF_UNAVAILABLE', message: 'down', retryable: true });
    };
    await expect(rescoreAccounts(['001A00000000001'], p)).rejects.toMatchObject({ code: 'SF_UNAVAILABLE' });
  });

  it('when a 15-character id comes back as 18 characters, then it is matched', async () => {
    const { p } = ports([{ Id: '001A00000000001AAA' }]);
    expect((await rescoreAccounts(['001A00000000001'], p)).written).toEqual(['001A00000000001AAA']);
  });
});

describe('no-op detection', () => {
  it('compares numbers at two decimals and blanks as equal', () => {
    expect(isNoOp({ s: 42.5 }, { s: 42.504 }, ['s'])).toBe(true);
    expect(isNoOp({ s: 42.5 }, { s: 42.51 }, ['s'])).toBe(false);
    expect(isNoOp({ s: null }, { s: '' }, ['s'])).toBe(true);
    expect(isNoOp({ s: null }, { s: 0 }, ['s'])).toBe(false);
    expect(isNoOp({ r: 'High' }, {}, ['r'])).toBe(true);
  });
});

describe('rescoring: what is called, and what each outcome says', () => {
  it('when there are no ids, then nothing is read, scored or written', async () => {
    const { p, calls } = ports([{ Id: '001A00000000001' }]);
    expect(await rescoreAccounts([], p)).toEqual({ written: [], unchanged: [], retry: [], failed: [] });
    expect(calls).toMatchObject({ read: 0, score: 0, write: 0 });
  });

  it('when none of the Accounts exists any more, then nothing is scored and each is failed as not found', async () => {
    const { p, calls } = ports([]);
    const outcome = await rescoreAccounts(['001A00000000001'], p);
    expect(outcome.failed).toEqual([{ id: '001A00000000001', code: 'NOT_FOUND', message: 'The Account does not exist any more (deleted, or not visible to the integration user).' }]);
    expect(calls).toMatchObject({ read: 1, score: 0, write: 0 });
  });

  it('when every record is unchanged or failed to score, then nothing is written', async () => {
    const same = { Id: '001A00000000001', Churn_Score__c: 42.5, Churn_Risk__c: 'Medium', Churn_Top_Factors__c: 'x (+1.0)', Churn_Model_Version__c: 'm1' };
    const { p, calls } = ports([same, { Id: '001BAD000000001', Tenure_Months__c: 'bad' }]);
    const outcome = await rescoreAccounts([same.Id, '001BAD000000001'], p);
    expect(outcome).toEqual({ written: [], unchanged: [same.Id], retry: [], failed: [{ id: '001BAD000000001', code: 'SCORING_FAILED', message: 'Tenure_Months__c is not a number' }] });
    expect(calls.write).toBe(0);
  });

  it('when a write fails, then the outcome carries Salesforce\'s status code and message', async () => {
    const { p, calls } = ports(['001LOCKED000001', '001RULE00000001'].map((Id) => ({ Id })));
    const outcome = await rescoreAccounts(['001LOCKED000001', '001RULE00000001'], p);
    expect(outcome.retry).toEqual([{ id: '001LOCKED000001', code: 'UNABLE_TO_LOCK_ROW', message: 'locked' }]);
    expect(outcome.failed).toEqual([{ id: '001RULE00000001', code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'rule' }]);
    // The update is the row's id and every scored field.
    expect(calls.written[0]).toEqual({ Id: '001LOCKED000001', Churn_Score__c: 42.5, Churn_Risk__c: 'Medium', Churn_Top_Factors__c: 'x (+1.0)', Churn_Model_Version__c: 'm1', Churn_Scored_At__c: '2026-11-27T00:00:00.000Z' });
  });

  it('when Salesforce names the refused id in its other form, then the id of the batch with the same first 15 characters is failed, with the message', async () => {
    const poison15 = '001Ri00000m5tYv';
    const good = '001A00000000001';
    const { p, calls } = ports([{ Id: good }]);
    const read = p.read;
    p.read = async (ids) => {
      if (ids.includes(poison15)) throw new AppError({ code: 'SF_INVALID_ID', message: 'invalid ID field', details: { id: `${poison15}IAI` } });
      return read(ids);
    };
    const outcome = await rescoreAccounts([good, poison15], p);
    expect(outcome.failed).toEqual([{ id: poison15, code: 'INVALID_ID', message: 'Salesforce refused the id: invalid ID field' }]);
    expect(outcome.written).toEqual([good]);
    expect(calls.read).toBe(1);
  });

  it('when the only id of a read is refused without being named, then it is failed and nothing more is read', async () => {
    const { p } = ports([]);
    let reads = 0;
    p.read = async () => {
      reads += 1;
      throw new AppError({ code: 'SF_INVALID_ID', message: 'MALFORMED_ID', details: { id: 42 } });
    };
    const outcome = await rescoreAccounts(['001A00000000001'], p);
    expect(outcome.failed).toEqual([{ id: '001A00000000001', code: 'INVALID_ID', message: 'Salesforce refused the id: MALFORMED_ID' }]);
    expect(reads).toBe(1);
  });

  it('when Salesforce names an id that is not in the batch, then the batch is halved', async () => {
    const ids = ['001A00000000001', '001A00000000002'];
    const { p } = ports([{ Id: ids[1]! }]);
    const read = p.read;
    const seen: string[][] = [];
    p.read = async (batch) => {
      seen.push([...batch]);
      if (batch.includes(ids[0]!)) throw new AppError({ code: 'SF_INVALID_ID', message: 'bad', details: { id: '001ZZZZZZZZZZZZ' } });
      return read(batch);
    };
    const outcome = await rescoreAccounts(ids, p);
    expect(seen).toEqual([ids, [ids[0]], [ids[1]]]);
    expect(outcome.failed.map((f) => f.id)).toEqual([ids[0]]);
    expect(outcome.written).toEqual([ids[1]]);
  });

  it('when the rows come back as 18-character ids in another order, then each is matched to its 15-character request', async () => {
    const { p } = ports([]);
    p.read = async () => [{ Id: '001A00000000002AAA' }, { Id: '001A00000000001AAA' }];
    const outcome = await rescoreAccounts(['001A00000000001', '001A00000000002'], p);
    expect(outcome.written).toEqual(['001A00000000001AAA', '001A00000000002AAA']);
    expect(outcome.failed).toEqual([]);
  });
});
