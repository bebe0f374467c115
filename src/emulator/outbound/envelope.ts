/**
 * The SOAP body Salesforce POSTs for an Outbound Message, shaped like real captures
 * (/work/shared/fixtures/outbound-messages) and the outbound WSDL
 * (sforce_api_om_outboundmessaging_wsdl.htm): `notifications` in the 2005/09/outbound namespace with
 * OrganizationId, ActionId, SessionId, EnterpriseUrl, PartnerUrl and up to 100 Notification elements,
 * each an `Id` (04l…) and an `sObject` of the enterprise namespace. In captures the sObject lists
 * `sf:Id` first and then the fields alphabetically, and null fields are omitted.
 */
import type { EmulatedField } from '../schema.js';
import type { FieldValue } from '../store.js';

export interface EnvelopeNotification {
  id: string;
  recordId: string;
  /**
   * The record was deleted before the message was sent: "the notification doesn't contain any data"
   * (help `platform.workflow_om_considerations.htm`). The XML of such a notification is not
   * documented; the emulator sends the sObject element with its type and no fields, not even the Id.
   */
  deleted?: boolean;
  /** Field values as of send time; null values are left out. */
  fields: ReadonlyArray<readonly [EmulatedField, FieldValue]>;
}

export interface EnvelopeInput {
  orgId: string;
  actionId: string;
  /** Null: "Send Session ID" is off (the deployed message has includeSessionId false). */
  sessionId: string | null;
  enterpriseUrl: string;
  partnerUrl: string;
  sObjectType: string;
  notifications: readonly EnvelopeNotification[];
}

export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/**
 * A double as Java's Double.toString writes it (Salesforce's SOAP serializer): `12.0`, `70.35`,
 * `1.0E7`, `1.0E-4`, as in the captured `<sf:Amount>120000.0</sf:Amount>`.
 */
export function javaDouble(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(n);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/** A stored value in SOAP (xsd) form. */
export function soapValue(field: EmulatedField, value: Exclude<FieldValue, null>): string {
  switch (field.storage) {
    case 'checkbox':
      return value === true ? 'true' : 'false';
    case 'number':
      return javaDouble(Number(value));
    case 'datetime':
      return new Date(Number(value)).toISOString();
    default:
      return escapeXml(String(value));
  }
}

export function buildEnvelope(input: EnvelopeInput): string {
  const session = input.sessionId === null ? '<SessionId xsi:nil="true"/>' : `<SessionId>${escapeXml(input.sessionId)}</SessionId>`;
  let notifications = '';
  for (const n of input.notifications) {
    const open = `<sObject xsi:type="sf:${input.sObjectType}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"`;
    if (n.deleted) {
      notifications += `<Notification><Id>${n.id}</Id>${open}/></Notification>`;
      continue;
    }
    let sObject = `<sf:Id>${n.recordId}</sf:Id>`;
    for (const [field, value] of n.fields) {
      if (value !== null) sObject += `<sf:${field.name}>${soapValue(field, value)}</sf:${field.name}>`;
    }
    notifications += `<Notification><Id>${n.id}</Id>${open}>${sObject}</sObject></Notification>`;
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
    '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">' +
    `<OrganizationId>${input.orgId}</OrganizationId><ActionId>${input.actionId}</ActionId>${session}` +
    `<EnterpriseUrl>${escapeXml(input.enterpriseUrl)}</EnterpriseUrl><PartnerUrl>${escapeXml(input.partnerUrl)}</PartnerUrl>` +
    `${notifications}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}
