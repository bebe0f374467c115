/**
 * GET /services/data/vXX.X/sobjects/Account/describe: the object and its fields with Salesforce's
 * types. `updateable` reflects the calling user's field-level security, as in Salesforce. Fields
 * removed through the admin API are left out (an org where the package is not fully deployed).
 */
import { apiLocals, type RouteModule } from '../http/context.js';
import { notFound } from '../http/errors.js';
import type { EmulatedField } from '../schema.js';
import type { OrgUser } from '../auth/tokens.js';

const SOAP_TYPE: Record<EmulatedField['sfType'], string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  string: 'xsd:string',
  picklist: 'xsd:string',
  boolean: 'xsd:boolean',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  datetime: 'xsd:dateTime',
};

function describeField(field: EmulatedField, user: OrgUser) {
  const numeric = field.storage === 'number';
  const updateable = field.updateable && (user.role === 'admin' || field.integrationEditable);
  return {
    name: field.name,
    label: field.label,
    type: field.sfType,
    soapType: SOAP_TYPE[field.sfType],
    length: numeric || field.sfType === 'boolean' || field.sfType === 'datetime' ? 0 : (field.length ?? 255),
    precision: numeric ? (field.precision ?? 18) : 0,
    scale: numeric ? (field.scale ?? 0) : 0,
    digits: 0,
    byteLength: field.length ? field.length * 3 : 0,
    custom: field.custom,
    externalId: field.externalId,
    unique: field.externalId,
    idLookup: field.sfType === 'id' || field.externalId,
    nillable: field.nillable,
    createable: updateable,
    updateable,
    filterable: true,
    sortable: true,
    calculated: false,
    defaultedOnCreate: field.sfType === 'boolean' || !field.updateable,
    restrictedPicklist: field.sfType === 'picklist',
    picklistValues: (field.values ?? []).map((value) => ({ active: true, defaultValue: false, label: value, validFor: null, value })),
    referenceTo: field.sfType === 'reference' ? ['User'] : [],
    relationshipName: field.sfType === 'reference' ? 'LastModifiedBy' : null,
  };
}

export const registerDescribe: RouteModule = ({ api, state, metered }) => {
  api.get('/sobjects/:object/describe', metered('describe'), (req, res) => {
    const { session, apiVersion } = apiLocals(res);
    // A user without read access on the object does not see it at all (assumption: http/permissions.ts).
    if (String(req.params.object).toLowerCase() !== 'account' || !session.user.permissions.AccountRead) return notFound(res);
    const base = `/services/data/v${apiVersion}/sobjects/Account`;
    res.json({
      name: 'Account',
      label: 'Account',
      labelPlural: 'Accounts',
      keyPrefix: '001',
      custom: false,
      queryable: true,
      retrieveable: true,
      searchable: true,
      createable: true,
      updateable: true,
      deletable: true,
      urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
      fields: state.describedFields().map((f) => describeField(f, session.user)),
    });
  });
};
