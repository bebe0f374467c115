/**
 * The emulated Account object: the project's fields from core/account-fields.ts plus the standard
 * fields the worker and tests touch. Each field knows how it is stored, its Salesforce describe type
 * and who may edit it.
 */
import { ACCOUNT_FIELDS, type AccountField } from '../core/account-fields.js';

/** Salesforce describe types used by the emulated fields. */
export type SfType = 'id' | 'string' | 'boolean' | 'double' | 'currency' | 'percent' | 'picklist' | 'datetime' | 'reference';

/** How a field's values are held in the columnar store. */
export type Storage = 'id' | 'text' | 'checkbox' | 'number' | 'picklist' | 'datetime' | 'user';

export interface EmulatedField {
  readonly name: string;
  readonly label: string;
  readonly sfType: SfType;
  readonly storage: Storage;
  readonly custom: boolean;
  /** Editable through the API by someone (false for Id and audit fields). */
  readonly updateable: boolean;
  /** Editable by the integration user (field-level security of its permission set). */
  readonly integrationEditable: boolean;
  readonly nillable: boolean;
  readonly values?: readonly string[];
  readonly length?: number;
  readonly precision?: number;
  readonly scale?: number;
  readonly externalId: boolean;
  readonly source?: AccountField;
}

const SF_TYPE: Record<AccountField['type'], SfType> = {
  id: 'id',
  text: 'string',
  checkbox: 'boolean',
  number: 'double',
  currency: 'currency',
  percent: 'percent',
  picklist: 'picklist',
  datetime: 'datetime',
};

const STORAGE: Record<AccountField['type'], Storage> = {
  id: 'id',
  text: 'text',
  checkbox: 'checkbox',
  number: 'number',
  currency: 'number',
  percent: 'number',
  picklist: 'picklist',
  datetime: 'datetime',
};

function fromAccountField(f: AccountField): EmulatedField {
  return {
    name: f.name,
    label: f.label,
    sfType: SF_TYPE[f.type],
    storage: STORAGE[f.type],
    custom: f.name.endsWith('__c'),
    updateable: f.type !== 'id',
    // The integration user's permission set grants edit on the scoring outputs only.
    integrationEditable: f.role === 'output',
    nillable: f.type !== 'checkbox',
    values: f.values,
    length: f.length,
    precision: f.precision,
    scale: f.scale,
    externalId: f.externalId ?? false,
    source: f,
  };
}

const STANDARD_FIELDS: EmulatedField[] = [
  { name: 'Id', label: 'Account ID', sfType: 'id', storage: 'id', custom: false, updateable: false, integrationEditable: false, nillable: false, length: 18, externalId: false },
  { name: 'Name', label: 'Account Name', sfType: 'string', storage: 'text', custom: false, updateable: true, integrationEditable: false, nillable: false, length: 255, externalId: false },
  { name: 'LastModifiedDate', label: 'Last Modified Date', sfType: 'datetime', storage: 'datetime', custom: false, updateable: false, integrationEditable: false, nillable: false, externalId: false },
  { name: 'SystemModstamp', label: 'System Modstamp', sfType: 'datetime', storage: 'datetime', custom: false, updateable: false, integrationEditable: false, nillable: false, externalId: false },
  { name: 'LastModifiedById', label: 'Last Modified By ID', sfType: 'reference', storage: 'user', custom: false, updateable: false, integrationEditable: false, nillable: false, length: 18, externalId: false },
];

/** Every emulated Account field, standard fields first. */
export const EMULATED_FIELDS: readonly EmulatedField[] = Object.freeze([
  ...STANDARD_FIELDS,
  ...ACCOUNT_FIELDS.filter((f) => f.name !== 'Id').map(fromAccountField),
]);

const byLowerName = new Map(EMULATED_FIELDS.map((f) => [f.name.toLowerCase(), f]));

/** Field lookup is case-insensitive, as in SOQL and the REST API. */
export function findField(name: string): EmulatedField | undefined {
  return byLowerName.get(name.toLowerCase());
}

export const OBJECT_NAME = 'Account';
