/**
 * Training data from the org: every Account with its input fields and the Churned__c label, in the
 * same record shape the CSV loader produces (field names from core/account-fields.ts), so the rest of
 * the trainer does not know where the rows came from.
 */
import { createHash } from 'node:crypto';
import type { SalesforceConfig } from '../config/index.js';
import { INPUT_FIELDS, LABEL_FIELD } from '../core/account-fields.js';
import type { Logger } from '../log/logger.js';
import { connectSalesforce } from '../salesforce/index.js';
import type { AccountRecord } from '../scoring/encoder.js';
import { checkLabels, type LabelledData } from './dataset.js';

export function trainingSoql(): string {
  const fields = ['Id', ...INPUT_FIELDS.map((f) => f.name), LABEL_FIELD.name];
  // Checkboxes are never null in SOQL, so "not churned" and "never labelled" look alike; every
  // Account counts as labelled. Orgs that label only some Accounts should filter in a report first.
  return `SELECT ${fields.join(', ')} FROM Account ORDER BY Id`;
}

export async function readTrainingFromSalesforce(config: SalesforceConfig, logger?: Logger): Promise<LabelledData> {
  const client = await connectSalesforce(config, logger);
  const rows = await client.query<Record<string, unknown>>(trainingSoql());
  const records: AccountRecord[] = rows.map(({ attributes: _attributes, ...rest }) => rest);
  const labels = checkLabels(records.map((r) => r[LABEL_FIELD.name]), 'Salesforce Accounts', (i) => `Account ${String(records[i]!.Id)}`);
  // Hash the rows as fetched (sorted by Id in the query) so the card can tell two pulls apart.
  const sha256 = createHash('sha256').update(JSON.stringify(records)).digest('hex');
  return { records, labels, source: `salesforce:${config.loginUrl}`, sha256 };
}
