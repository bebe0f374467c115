/** Record values as Salesforce's REST API writes them in JSON. */
import type { EmulatedField } from './schema.js';
import type { AccountStore, FieldValue } from './store.js';

/** `2026-11-27T10:00:00.000+0000`: Salesforce's datetime form in REST responses. */
export function formatDatetime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

export function apiValue(field: EmulatedField, value: FieldValue): FieldValue {
  if (value !== null && field.storage === 'datetime') return formatDatetime(value as number);
  return value;
}

export function recordUrl(apiVersion: string, id: string): string {
  return `/services/data/v${apiVersion}/sobjects/Account/${id}`;
}

export function renderRecord(store: AccountStore, row: number, fields: readonly EmulatedField[], apiVersion: string): Record<string, unknown> {
  const record: Record<string, unknown> = { attributes: { type: 'Account', url: recordUrl(apiVersion, store.idOf(row)) } };
  for (const field of fields) record[field.name] = apiValue(field, store.get(row, field));
  return record;
}
