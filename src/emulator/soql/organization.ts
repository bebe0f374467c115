/**
 * `SELECT … FROM Organization`: the one-row Organization object, for clients that ask what kind of
 * org they signed in to. Salesforce's CLI runs `SELECT Name, InstanceName, IsSandbox,
 * TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization` after `sf org login jwt`
 * (@salesforce/core, org/determineOrg.js) to record the org's edition and whether it is a sandbox or a
 * scratch org. Only a plain field list (and LIMIT 1) is answered; the field values describe a
 * production Enterprise Edition org.
 */
import { SoqlError } from './errors.js';

const FIELDS = ['Id', 'Name', 'InstanceName', 'IsSandbox', 'TrialExpirationDate', 'NamespacePrefix', 'OrganizationType'] as const;

const QUERY = /^\s*SELECT\s+([\w\s,]+?)\s+FROM\s+Organization\b\s*(?:LIMIT\s+1\s*)?$/i;

/** The fields of an Organization query, or undefined when the query is not one. */
export function organizationQuery(soql: string): string[] | undefined {
  if (!/\bFROM\s+Organization\b/i.test(soql)) return undefined;
  const m = QUERY.exec(soql);
  if (!m) throw new SoqlError('MALFORMED_QUERY', 'The emulator answers Organization queries with a plain field list only.');
  return m[1]!.split(',').map((f) => f.trim());
}

export function organizationRecord(fields: readonly string[], org: { orgId: string; apiVersion: string }): Record<string, unknown> {
  const values: Record<(typeof FIELDS)[number], unknown> = {
    Id: org.orgId,
    Name: 'Churn Worker Emulator',
    InstanceName: 'EMU1',
    IsSandbox: false,
    TrialExpirationDate: null,
    NamespacePrefix: null,
    OrganizationType: 'Enterprise Edition',
  };
  const record: Record<string, unknown> = { attributes: { type: 'Organization', url: `/services/data/v${org.apiVersion}/sobjects/Organization/${org.orgId}` } };
  for (const name of fields) {
    const known = FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());
    if (!known) throw new SoqlError('INVALID_FIELD', `No such column '${name}' on entity 'Organization'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`);
    record[known] = values[known];
  }
  return record;
}
