/** The two bodies the receiver answers with: Salesforce's acknowledgement and a SOAP 1.1 fault. */

/** One Ack covers every notification in the message; there is no per-notification ack. */
export const ACK_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
  '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>' +
  '</soapenv:Body></soapenv:Envelope>';

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/**
 * A fault's faultstring is what an admin reads in Setup → Outbound Messages → delivery status, so it
 * says what is wrong in one sentence. `Client` faults are the sender's problem, `Server` ours.
 */
export function faultBody(faultcode: 'Client' | 'Server', faultstring: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>' +
    `<faultcode>soapenv:${faultcode}</faultcode><faultstring>${escapeXml(faultstring)}</faultstring>` +
    '</soapenv:Fault></soapenv:Body></soapenv:Envelope>'
  );
}
