/**
 * The outbound-message parser as a pure function: what it reads, what it refuses and why, and the
 * limits that keep a hostile body cheap. The HTTP-level suite (hostile.integration.test.ts) sends
 * the same classes of body to the real receiver.
 */
import { describe, expect, it } from 'vitest';
import { idSuffix } from '../../src/core/record-id.js';
import { parseOutboundMessage } from '../../src/http/outbound/envelope.js';
import { accountId, envelope, notificationId } from '../helpers/outbound.js';
import { refusal } from '../helpers/refusal.js';

const ORG = '00D5g000001AbCdEAF';
const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const OM = 'http://soap.sforce.com/2005/09/outbound';
const SF = 'urn:sobject.enterprise.soap.sforce.com';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** A notifications envelope around `inner` (Notification elements), with the usual prefixes. */
function wrap(inner: string, org = ORG): string {
  return (
    `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="${SOAP}" xmlns:xsi="${XSI}"><soapenv:Body><notifications xmlns="${OM}">` +
    `<OrganizationId>${org}</OrganizationId><ActionId>04k000000000001AAA</ActionId>${inner}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

function note(n: number, sObject: string): string {
  return `<Notification><Id>${notificationId(n)}</Id>${sObject}</Notification>`;
}

function account(id: string, extra = ''): string {
  return `<sObject xsi:type="sf:Account" xmlns:sf="${SF}"><sf:Id>${id}</sf:Id><sf:Name>Acme</sf:Name>${extra}</sObject>`;
}

/** A real-looking 18-character Account id with upper-case letters, so its suffix is not AAA. */
const MIXED = `001Ri00000m5tYv${idSuffix('001Ri00000m5tYv')}`;

describe('reading a notifications envelope', () => {
  it('when a message names Accounts by 15- and 18-character ids, then every id comes back in its 18-character form', () => {
    const message = parseOutboundMessage(wrap(note(1, account(MIXED)) + note(2, account(MIXED.slice(0, 15))) + note(3, account(accountId(3)))));
    expect(message.organizationId).toBe(ORG);
    expect(message.notifications.map((n) => n.recordId)).toEqual([MIXED, MIXED, accountId(3)]);
    expect(message.withoutData).toEqual([]);
  });

  const canonical = parseOutboundMessage(wrap(note(1, account(MIXED))));
  const equivalent: Array<[string, string]> = [
    ['other prefixes for every namespace', `<E:Envelope xmlns:E="${SOAP}" xmlns:i="${XSI}"><E:Body><o:notifications xmlns:o="${OM}"><o:OrganizationId>${ORG}</o:OrganizationId><o:ActionId>04k000000000001AAA</o:ActionId><o:Notification><o:Id>${notificationId(1)}</o:Id><o:sObject i:type="e:Account" xmlns:e="${SF}"><e:Id>${MIXED}</e:Id><e:Name>Acme</e:Name></o:sObject></o:Notification></o:notifications></E:Body></E:Envelope>`],
    ['the sObject namespace as the default one, with an unprefixed xsi:type', wrap(note(1, `<om:sObject xmlns:om="${OM}" xsi:type="Account" xmlns="${SF}"><Id>${MIXED}</Id><Name>Acme</Name></om:sObject>`))],
    ['a CDATA-wrapped record id', wrap(note(1, account(`<![CDATA[${MIXED}]]>`)))],
    ['a record id split between text and CDATA', wrap(note(1, account(`${MIXED.slice(0, 5)}<![CDATA[${MIXED.slice(5)}]]>`)))],
    ['character references in the ids', wrap(note(1, account(`&#48;&#x30;1${MIXED.slice(3)}`)).replace(`<Id>${notificationId(1)}</Id>`, `<Id>&#48;4l${notificationId(1).slice(3)}</Id>`))],
    ['whitespace and newlines around the ids', wrap(note(1, account(`\n   ${MIXED}\t \n`)))],
    ['a byte-order mark and blank lines before the document', `\uFEFF\n\n${wrap(note(1, account(MIXED)))}`],
    ['a SOAP Header before the Body', wrap(note(1, account(MIXED))).replace('<soapenv:Body>', '<soapenv:Header><x:Trace xmlns:x="urn:x">1</x:Trace></soapenv:Header><soapenv:Body>')],
    ['comments and processing instructions between elements', wrap(`<!-- one -->${note(1, account(MIXED)).replace('<sObject', '<?pi x?><sObject')}`)],
  ];
  it.each(equivalent)('when the same message is written with %s, then it reads the same', (_name, body) => {
    expect(parseOutboundMessage(body)).toEqual(canonical);
  });

  it('when two notifications share a notification id but name different Accounts, then both Accounts are kept', () => {
    const body = wrap(note(1, account(accountId(1))) + note(1, account(accountId(2))));
    expect(parseOutboundMessage(body).notifications.map((n) => [n.id, n.recordId])).toEqual([
      [notificationId(1), accountId(1)],
      [notificationId(1), accountId(2)],
    ]);
  });

  it('when a notification has no record data (deleted before sending), then it is skipped and the others are kept', () => {
    const body = wrap(
      note(1, account(accountId(1))) +
        `<Notification><Id>${notificationId(2)}</Id></Notification>` +
        note(3, `<sObject xsi:type="sf:Account" xmlns:sf="${SF}"/>`) +
        note(4, `<sObject xsi:type="sf:Account" xmlns:sf="${SF}">\n  </sObject>`) +
        note(5, `<sObject xsi:nil="true"/>`) +
        note(6, account(accountId(6))),
    );
    const message = parseOutboundMessage(body);
    expect(message.notifications.map((n) => n.recordId)).toEqual([accountId(1), accountId(6)]);
    expect(message.withoutData).toEqual([notificationId(2), notificationId(3), notificationId(4), notificationId(5)]);
  });

  it('when every notification lacks data, then the message is still accepted (nothing to score)', () => {
    const message = parseOutboundMessage(wrap(note(1, `<sObject xsi:type="sf:Account" xmlns:sf="${SF}"/>`)));
    expect(message).toMatchObject({ notifications: [], withoutData: [notificationId(1)] });
  });

  it('when the real captured Salesforce message is read, then it gives its one Account', () => {
    const body = envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: '0019000001KwyWtAAJ' }] });
    expect(parseOutboundMessage(body).notifications).toEqual([{ id: notificationId(1), sObjectType: 'Account', recordId: '0019000001KwyWtAAJ' }]);
  });
});

describe('refusing ambiguous or invalid messages whole', () => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['two sf:Id elements in one sObject', wrap(note(1, account(accountId(1), `<sf:Id>${accountId(2)}</sf:Id>`))), 'repeated-element', /Notification 1: sObject has 2 Id elements/],
    ['two Id elements in one Notification', wrap(note(1, account(accountId(1))).replace('</Id>', `</Id><Id>${notificationId(2)}</Id>`)), 'repeated-element', /Notification 1 has 2 Id elements/],
    ['two ActionId elements', wrap(note(1, account(accountId(1)))).replace('<ActionId>', '<ActionId>04k000000000002AAA</ActionId><ActionId>'), 'repeated-element', /more than one ActionId/],
    ['an 18-character id whose checksum does not match', wrap(note(1, account('001Ri00000m5tYv999'))), 'bad-record-id', /"001Ri00000m5tYv999" is not a Salesforce record id/],
    ['an 18-character id with a wrong but well-formed suffix', wrap(note(1, account(`${MIXED.slice(0, 15)}AAA`))), 'bad-record-id', new RegExp(`expected ${idSuffix(MIXED.slice(0, 15))}`)],
    ['an id of 16 characters', wrap(note(1, account('0010000000000010A'))), 'bad-record-id', /15 or 18 letters and digits/],
    ['a Contact id (key prefix 003) in an Account sObject', wrap(note(1, account('003000000000001AAA'))), 'wrong-key-prefix', /key prefix "003", not Account's 001/],
    ['an sObject with fields but no Id', wrap(note(1, `<sObject xsi:type="sf:Account" xmlns:sf="${SF}"><sf:Name>Acme</sf:Name></sObject>`)), 'missing-record-id', /has fields but no Id/],
    ['an Id in another namespace than the sObject\'s', wrap(note(1, `<sObject xsi:type="sf:Account" xmlns:sf="${SF}"><x:Id xmlns:x="urn:other">${accountId(1)}</x:Id></sObject>`)), 'missing-record-id', /no Id/],
    ['an xsi:type outside the enterprise sObject namespace', wrap(note(1, account(accountId(1)).replace(`xmlns:sf="${SF}"`, 'xmlns:sf="urn:sobject.partner.soap.sforce.com"'))), 'wrong-namespace', /not a type of the urn:sobject\.enterprise/],
    ['an id element holding an element', wrap(note(1, account(`<b>${accountId(1)}</b>`))), 'not-a-value', /holds other elements/],
    ['an element the WSDL does not have', wrap(note(1, account(accountId(1))).replace('<Notification>', '<Notification><Extra/>')), 'unexpected-element', /Notification 1 has an unexpected element "Extra"/],
    ['another org', wrap(note(1, account(accountId(1))), '00D000000000099AAA'), 'wrong-org', /not the org this receiver serves/],
  ];
  it.each(cases)('when the message has %s, then it is refused with the reason and a fault naming the problem', (_name, body, reason, message) => {
    const error = refusal(body, { organizationId: ORG });
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
    expect(error.status).toBe(reason === 'wrong-org' ? 403 : 400);
  });
});

describe('bounding the work per message', () => {
  const deep = (levels: number) => wrap(note(1, account(accountId(1), '<sf:X>'.repeat(levels) + '</sf:X>'.repeat(levels))));

  it('when elements nest 40,000 levels deep, then the message is refused as too deep before most of it is read', () => {
    const error = refusal(deep(40_000), { limits: { maxElements: 1_000_000 } });
    expect(error).toMatchObject({ reason: 'too-deep', status: 400, code: 'OUTBOUND_LIMIT' });
  });

  it('when elements nest just within the limit, then the message is read', () => {
    expect(parseOutboundMessage(deep(10)).notifications).toHaveLength(1);
  });

  const limits: Array<[string, string, string]> = [
    ['more elements than the limit', wrap(Array.from({ length: 100 }, (_, i) => note(i, account(accountId(i), '<sf:X/>'.repeat(210)))).join('')), 'too-many-elements'],
    ['an sObject with more fields than the limit', wrap(note(1, account(accountId(1), '<sf:X/>'.repeat(1_500)))), 'too-many-fields'],
    ['an element with 40 attributes', wrap(note(1, account(accountId(1), `<sf:X ${Array.from({ length: 40 }, (_, i) => `a${i}="1"`).join(' ')}/>`))), 'too-many-attributes'],
    ['a 5,000-character attribute value', wrap(note(1, account(accountId(1), `<sf:X a="${'v'.repeat(5_000)}"/>`))), 'attribute-too-long'],
    ['a 1,000-character element name', wrap(note(1, account(accountId(1), `<sf:${'n'.repeat(1_000)}/>`))), 'name-too-long'],
    ['a record id of 10,000 characters', wrap(note(1, account('1'.repeat(10_000)))), 'value-too-long'],
    ['a 100,000-character field value', wrap(note(1, account(accountId(1), `<sf:X>${'v'.repeat(100_000)}</sf:X>`))), 'value-too-long'],
    ['a 100,000-character comment', wrap(note(1, account(accountId(1), `<!--${'v'.repeat(100_000)}-->`))), 'value-too-long'],
  ];
  it.each(limits.map(([name, body, reason]) => [name, reason, body]))('when the body has %s, then it is refused with reason %s', (_name, reason, body) => {
    expect(refusal(body)).toMatchObject({ reason, code: 'OUTBOUND_LIMIT', status: 400 });
  });

  it('when reading takes longer than the time budget, then the message is refused with 503 so Salesforce retries it', () => {
    let clock = 0;
    const body = wrap(Array.from({ length: 100 }, (_, i) => note(i, account(accountId(i), '<sf:Name>x</sf:Name>'.repeat(20)))).join(''));
    // Every piece of 16 KiB "takes" 30 ms on this clock.
    const error = refusal(body, { now: () => (clock += 15), limits: { timeBudgetMs: 50 } });
    expect(error).toMatchObject({ reason: 'too-slow', status: 503 });
    expect(parseOutboundMessage(body, { now: () => 0 }).notifications).toHaveLength(100);
  });

  it('when a value from the body appears in a fault, then it is clipped, however long it was', () => {
    const longType = `sf:${'T'.repeat(900)}`;
    const error = refusal(wrap(note(1, account(accountId(1)).replace('sf:Account', longType))));
    expect(error.message.length).toBeLessThan(200);
    const longId = `001${'x'.repeat(200)}`;
    expect(refusal(wrap(note(1, account(longId)))).message.length).toBeLessThan(200);
  });
});
