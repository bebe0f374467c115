/** Builds Outbound Message envelopes shaped like Salesforce's, for tests and benchmarks. */

export interface EnvelopeOptions {
  orgId: string;
  notifications: Array<{ id: string; accountId: string; sObjectType?: string }>;
  sessionId?: string | null;
}

export function envelope({ orgId, notifications, sessionId = null }: EnvelopeOptions): string {
  const session = sessionId === null ? '<SessionId xsi:nil="true"/>' : `<SessionId>${sessionId}</SessionId>`;
  const items = notifications
    .map(
      (n) =>
        `<Notification><Id>${n.id}</Id><sObject xsi:type="sf:${n.sObjectType ?? 'Account'}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">` +
        `<sf:Id>${n.accountId}</sf:Id><sf:Name>Acme</sf:Name></sObject></Notification>`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
    `<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>${orgId}</OrganizationId>` +
    `<ActionId>04k000000000001AAA</ActionId>${session}<EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/66.0</EnterpriseUrl>` +
    `<PartnerUrl>https://x.my.salesforce.com/services/Soap/u/66.0</PartnerUrl>${items}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

/** A notification id in Salesforce's 18-character format (04l prefix). */
export function notificationId(n: number, salt = 'A'): string {
  return `04l${salt}${String(n).padStart(11, '0')}AAA`;
}

export function accountId(n: number): string {
  return `001${String(n).padStart(12, '0')}AAA`;
}
