/**
 * Updating Accounts, the one write path for the REST sObject Collections route, the admin API and
 * (later) Bulk API ingest. Records are checked first and written after, so `allOrNone` needs no
 * undo: when any record fails, nothing is written and the others report
 * ALL_OR_NONE_OPERATION_ROLLED_BACK (resources_composite_sobjects_collections_update.htm).
 *
 * Per-record checks, in Salesforce's order: id well-formed (MALFORMED_ID), record exists
 * (INVALID_CROSS_REFERENCE_KEY), not deleted (ENTITY_IS_DELETED), edit access on Account
 * (INSUFFICIENT_ACCESS_OR_READONLY, http/permissions.ts), field-level security of the
 * writing user (INVALID_FIELD_FOR_INSERT_UPDATE), values (restricted picklist, required, length,
 * numeric range), row lock (UNABLE_TO_LOCK_ROW, injected), validation rules
 * (FIELD_CUSTOM_VALIDATION_EXCEPTION, armed through the admin API).
 */
import type { OrgUser } from './auth/tokens.js';
import { NO_EDIT_ACCESS } from './http/permissions.js';
import type { EmulatedField } from './schema.js';
import type { EmulatorState } from './state.js';
import type { FieldValue } from './store.js';

export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

export interface SaveResult {
  id?: string;
  success: boolean;
  errors: RecordError[];
}

/** A refusal of the whole request (HTTP 400 with a Salesforce error array). */
export class RequestError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RecordInput {
  id?: unknown;
  [field: string]: unknown;
}

interface Checked {
  row: number;
  values: Map<EmulatedField, FieldValue>;
}

const ROLLED_BACK: RecordError = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

function error(statusCode: string, message: string, fields: string[] = []): RecordError {
  return { statusCode, message, fields };
}

/** JSON value → stored value for one field; throws RequestError for a value of the wrong JSON type. */
function coerce(field: EmulatedField, raw: unknown): FieldValue | RecordError {
  if (raw === null) {
    if (field.storage === 'checkbox') return false;
    if (!field.nillable) return error('REQUIRED_FIELD_MISSING', `Required fields are missing: [${field.name}]`, [field.name]);
    return null;
  }
  const parseError = (expected: string) =>
    new RequestError('JSON_PARSER_ERROR', `Cannot deserialize instance of ${expected} from ${typeof raw === 'object' ? 'START_OBJECT' : 'VALUE_STRING'} value ${JSON.stringify(raw)} or request may be missing a required field`);
  switch (field.storage) {
    case 'checkbox':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw parseError('boolean');
    case 'picklist': {
      if (typeof raw !== 'string') throw parseError('string');
      if (!field.values!.includes(raw)) return error('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${field.label}: bad value for restricted picklist field: ${raw}`, [field.name]);
      return raw;
    }
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (!Number.isFinite(n)) throw parseError('double');
      const scale = field.scale ?? 0;
      const rounded = Math.round(n * 10 ** scale) / 10 ** scale;
      const max = 10 ** ((field.precision ?? 18) - scale);
      if (Math.abs(rounded) >= max) return error('NUMBER_OUTSIDE_VALID_RANGE', `${field.label}: value outside of valid range on numeric field: ${n}`, [field.name]);
      return rounded;
    }
    case 'datetime': {
      const ms = typeof raw === 'string' ? Date.parse(raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : Number.NaN;
      if (Number.isNaN(ms)) throw parseError('datetime');
      return ms;
    }
    case 'text': {
      if (typeof raw !== 'string') throw parseError('string');
      if (field.length !== undefined && raw.length > field.length) {
        return error('STRING_TOO_LONG', `${field.label}: data value too large: ${raw.slice(0, 50)} (max length=${field.length})`, [field.name]);
      }
      if (!field.nillable && raw.trim() === '') return error('REQUIRED_FIELD_MISSING', `Required fields are missing: [${field.name}]`, [field.name]);
      return raw;
    }
    default:
      throw new RequestError('INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${field.name}.`);
  }
}

function canEdit(user: OrgUser, field: EmulatedField): boolean {
  return field.updateable && (user.role === 'admin' || field.integrationEditable);
}

/**
 * Updates Accounts as `user`. Unknown field names refuse the whole request (INVALID_FIELD), as
 * Salesforce does before looking at any record.
 */
export function updateAccounts(state: EmulatorState, records: RecordInput[], options: { allOrNone: boolean; user: OrgUser }): SaveResult[] {
  const fieldsOf = new Map<string, EmulatedField>();
  for (const record of records) {
    for (const name of Object.keys(record)) {
      if (name === 'attributes' || name.toLowerCase() === 'id' || fieldsOf.has(name)) continue;
      const field = state.field(name);
      if (!field) throw new RequestError('INVALID_FIELD', `No such column '${name}' on sobject of type Account`);
      fieldsOf.set(name, field);
    }
  }

  const { store } = state;
  type Failed = { row?: number; errors: RecordError[] };
  const checked: (Checked | Failed)[] = records.map((record): Checked | Failed => {
    const idKey = Object.keys(record).find((k) => k.toLowerCase() === 'id');
    const id = idKey === undefined ? undefined : record[idKey];
    if (id === undefined || id === null || id === '') return { errors: [error('MISSING_ARGUMENT', 'Id not specified in an update call', [])] };
    const found = store.locate(id);
    if (found.kind === 'malformed' || found.kind === 'wrongType') {
      return { errors: [error('MALFORMED_ID', `Account ID: id value of incorrect type: ${String(id)}`, ['Id'])] };
    }
    if (found.kind === 'missing') return { errors: [error('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [])] };
    const { row } = found;
    if (store.isDeleted(row)) return { row, errors: [error('ENTITY_IS_DELETED', 'entity is deleted', [])] };
    if (!options.user.permissions.AccountEdit) return { row, errors: [error(NO_EDIT_ACCESS.statusCode, NO_EDIT_ACCESS.message, [])] };

    const names = Object.keys(record).filter((k) => k !== 'attributes' && k !== idKey);
    const forbidden = names.map((n) => fieldsOf.get(n)!).filter((f) => !canEdit(options.user, f));
    if (forbidden.length > 0) {
      const list = forbidden.map((f) => f.name);
      return {
        row,
        errors: [
          error(
            'INVALID_FIELD_FOR_INSERT_UPDATE',
            `Unable to create/update fields: ${list.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
            list,
          ),
        ],
      };
    }
    const values = new Map<EmulatedField, FieldValue>();
    const errors: RecordError[] = [];
    for (const name of names) {
      const field = fieldsOf.get(name)!;
      const value = coerce(field, record[name]);
      if (typeof value === 'object' && value !== null) errors.push(value);
      else values.set(field, value);
    }
    if (errors.length > 0) return { row, errors };
    if (state.faults.lockRecord()) {
      return { row, errors: [error('UNABLE_TO_LOCK_ROW', `unable to obtain exclusive access to this record or 1 records: ${store.idOf(row)}`, [])] };
    }
    const rule = state.validationRules.get(row);
    if (rule) return { row, errors: [error('FIELD_CUSTOM_VALIDATION_EXCEPTION', rule.message, rule.fields)] };
    return { row, values };
  });

  const anyFailed = checked.some((c) => 'errors' in c);
  const at = state.now();
  return checked.map((c) => {
    // A record that could not be located has no id in its SaveResult (as in Salesforce's examples).
    if ('errors' in c) return c.row === undefined ? { success: false, errors: c.errors } : { id: store.idOf(c.row), success: false, errors: c.errors };
    if (options.allOrNone && anyFailed) return { id: store.idOf(c.row), success: false, errors: [ROLLED_BACK] };
    store.update(c.row, c.values, options.user, at);
    return { id: store.idOf(c.row), success: true, errors: [] };
  });
}
