/**
 * Account reads and writes for the rescoring core: one SOQL query and one sObject Collections update
 * per batch of at most 200 Accounts.
 */
import type { AccountRow, WriteOutcome } from '../core/rescore.js';
import { AppError } from '../core/errors.js';
import { describeBadId, isRecordId } from '../core/record-id.js';
import { COLLECTIONS_MAX, type SalesforceClient } from './client.js';
import { isRetryableRecordError } from './errors.js';

const FIELD = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * `SELECT Id, … FROM Account WHERE Id IN (…)`: ids and field names are checked, never spliced raw. An
 * id Salesforce would refuse (bad checksum) is refused here as SF_INVALID_ID naming it, before any
 * call, so the rescoring core sets it aside and reads the others.
 */
export function accountsByIdQuery(fields: readonly string[], ids: readonly string[]): string {
  for (const id of ids) {
    if (!isRecordId(id)) throw new AppError({ code: 'SF_INVALID_ID', message: `${describeBadId(id)}.`, details: { id } });
  }
  for (const f of fields) if (!FIELD.test(f)) throw new AppError({ code: 'SF_API_ERROR', message: `"${f}" is not a field API name.` });
  const columns = ['Id', ...new Set(fields.filter((f) => f !== 'Id'))];
  return `SELECT ${columns.join(', ')} FROM Account WHERE Id IN (${ids.map((id) => `'${id}'`).join(', ')})`;
}

export async function readAccounts(client: SalesforceClient, fields: readonly string[], ids: readonly string[]): Promise<AccountRow[]> {
  const rows: AccountRow[] = [];
  for (let i = 0; i < ids.length; i += COLLECTIONS_MAX) {
    const records = await client.query<AccountRow & { attributes?: unknown }>(accountsByIdQuery(fields, ids.slice(i, i + COLLECTIONS_MAX)));
    for (const { attributes: _attributes, ...row } of records) rows.push(row as AccountRow);
  }
  return rows;
}

export async function writeAccounts(client: SalesforceClient, updates: ReadonlyArray<Record<string, unknown> & { Id: string }>): Promise<WriteOutcome[]> {
  const outcomes: WriteOutcome[] = [];
  for (let i = 0; i < updates.length; i += COLLECTIONS_MAX) {
    const results = await client.updateRecords('Account', updates.slice(i, i + COLLECTIONS_MAX), { allOrNone: false });
    for (const r of results) {
      if (r.success) {
        outcomes.push({ id: r.id, success: true });
      } else {
        const first = r.errors[0] ?? { statusCode: 'UNKNOWN', message: 'Salesforce gave no reason.', fields: [] };
        const fields = first.fields.length > 0 ? ` (fields: ${first.fields.join(', ')})` : '';
        outcomes.push({ id: r.id, success: false, statusCode: first.statusCode, message: `${first.message}${fields}`, retryable: isRetryableRecordError(first.statusCode) });
      }
    }
  }
  return outcomes;
}
