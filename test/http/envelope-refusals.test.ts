/**
 * Every kind of bad outbound message, with the refusal an admin reads in Setup: its code, HTTP status,
 * reason label and exact sentence; each limit at its edge (just within is read, one past is refused);
 * and the facts an accepted message gives.
 */
import { describe, expect, it } from 'vitest';
import { clip, parseOutboundMessage, readOutboundMessage, sameSalesforceId, type ParseOptions } from '../../src/http/outbound/envelope.js';
import { accountId, envelope, notificationId } from '../helpers/outbound.js';
import { refusal } from '../helpers/refusal.js';

const ORG = '00D5g000001AbCdEAK';
const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const OM = 'http://soap.sforce.com/2005/09/outbound';
const SF = 'urn:sobject.enterprise.soap.sforce.com';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

function open(org = ORG, extra = ''): string {
  return `<soapenv:Envelope xmlns:soapenv="${SOAP}" xmlns:xsi="${XSI}"><soapenv:Body><notifications xmlns="${OM}"><OrganizationId>${org}</OrganizationId><ActionId>04k000000000001AAA</ActionId>${extra}`;
}
const CLOSE = '</notifications></soapenv:Body></soapenv:Envelope>';
const wrap = (inner: string, org = ORG) => `${open(org)}${inner}${CLOSE}`;
const note = (n: number, sObject: string) => `<Notification><Id>${notificationId(n)}</Id>${sObject}</Notification>`;
const account = (id: string, extra = '', type = 'sf:Account') => `<sObject xsi:type="${type}" xmlns:sf="${SF}"><sf:Id>${id}</sf:Id><sf:Name>Acme</sf:Name>${extra}</sObject>`;
const GOOD = note(1, account(accountId(1)));

const malformed = (reason: string, message: string, status = 400) => ({ code: 'OUTBOUND_MALFORMED', status, reason, message, details: { status, reason } });
const limit = (reason: string, message: string, status = 400) => ({ code: 'OUTBOUND_LIMIT', status, reason, message, details: { status, reason } });

const NO_ORG = 'notifications has no valid OrganizationId (15 or 18 characters).';
const DTD = 'The message declares a DOCTYPE or ENTITY; DTDs and entity declarations are not accepted.';

describe('each kind of bad envelope has its code, status, reason and sentence', () => {
  const cases: Array<[string, string, ReturnType<typeof malformed>, ParseOptions?]> = [
    ['an empty body', '', malformed('empty', 'The request body is empty; expected a SOAP notifications envelope.')],
    ['a body of a byte-order mark and blanks', '\uFEFF \n\t', malformed('empty', 'The request body is empty; expected a SOAP notifications envelope.')],
    ['a DOCTYPE', `<!DOCTYPE x>${wrap(GOOD)}`, malformed('dtd', DTD)],
    ['an ENTITY in lower case', `<!entity x "y">${wrap(GOOD)}`, malformed('dtd', DTD)],
    ['a root that is not the SOAP Envelope', `<Envelope>${GOOD}</Envelope>`, malformed('missing-element', `The document has no Envelope element in namespace ${SOAP}.`)],
    ['an Envelope of another namespace', `<e:Envelope xmlns:e="urn:x"/>`, malformed('missing-element', `The document has no Envelope element in namespace ${SOAP}.`)],
    ['an Envelope without a Body', `<soapenv:Envelope xmlns:soapenv="${SOAP}"></soapenv:Envelope>`, malformed('missing-element', `The SOAP Envelope has no Body element in namespace ${SOAP}.`)],
    ['an Envelope with only a Header', `<soapenv:Envelope xmlns:soapenv="${SOAP}"><soapenv:Header/></soapenv:Envelope>`, malformed('missing-element', `The SOAP Envelope has no Body element in namespace ${SOAP}.`)],
    ['a Body without notifications', `<soapenv:Envelope xmlns:soapenv="${SOAP}"><soapenv:Body/></soapenv:Envelope>`, malformed('missing-element', 'The SOAP Body has no notifications element.')],
    ['two Bodies', wrap(GOOD).replace('</soapenv:Envelope>', '<soapenv:Body/></soapenv:Envelope>'), malformed('repeated-element', 'The SOAP Envelope has 2 Body elements; expected one.')],
    ['a Header after the Body', wrap(GOOD).replace('</soapenv:Envelope>', '<soapenv:Header/></soapenv:Envelope>'), malformed('unexpected-element', `The SOAP Envelope has an unexpected element "Header" in namespace "${SOAP}".`)],
    ['two Headers', wrap(GOOD).replace('<soapenv:Body>', '<soapenv:Header/><soapenv:Header/><soapenv:Body>'), malformed('unexpected-element', `The SOAP Envelope has an unexpected element "Header" in namespace "${SOAP}".`)],
    ['another element in the Envelope', wrap(GOOD).replace('<soapenv:Body>', '<x:Foo xmlns:x="urn:x"/><soapenv:Body>'), malformed('unexpected-element', 'The SOAP Envelope has an unexpected element "Foo" in namespace "urn:x".')],
    ['an element without a namespace in the Body', wrap(GOOD).replace('<soapenv:Body>', '<soapenv:Body><foo/>'), malformed('unexpected-element', 'The SOAP Body has an unexpected element "foo".')],
    ['notifications in another namespace', wrap(GOOD).replace(`<notifications xmlns="${OM}">`, '<notifications xmlns="urn:x">').replace('</notifications>', '</notifications>'), malformed('wrong-namespace', `The notifications element is not in the ${OM} namespace.`)],
    ['two notifications elements', wrap(GOOD).replace('</soapenv:Body>', `<notifications xmlns="${OM}"/></soapenv:Body>`), malformed('repeated-element', 'The SOAP Body has more than one notifications element.')],
    ['an unknown child of notifications', wrap(`<Foo/>${GOOD}`), malformed('unexpected-element', `notifications has an unexpected element "Foo" in namespace "${OM}".`)],
    ['an OrganizationId of another namespace', wrap(`<x:OrganizationId xmlns:x="urn:x">${ORG}</x:OrganizationId>${GOOD}`), malformed('unexpected-element', 'notifications has an unexpected element "OrganizationId" in namespace "urn:x".')],
    ['two OrganizationId elements', wrap(`<OrganizationId>${ORG}</OrganizationId>${GOOD}`), malformed('repeated-element', 'notifications has more than one OrganizationId element; expected one.')],
    ['two SessionId elements', wrap(`<SessionId>a</SessionId><SessionId>b</SessionId>${GOOD}`), malformed('repeated-element', 'notifications has more than one SessionId element; expected one.')],
    ['no OrganizationId', `<soapenv:Envelope xmlns:soapenv="${SOAP}" xmlns:xsi="${XSI}"><soapenv:Body><notifications xmlns="${OM}">${GOOD}${CLOSE}`, malformed('missing-organization-id', NO_ORG)],
    ['an empty OrganizationId', wrap(GOOD, ''), malformed('missing-organization-id', NO_ORG)],
    ['an OrganizationId of 16 characters', wrap(GOOD, '00D5g000001AbCdE'), malformed('missing-organization-id', NO_ORG)],
    ['an OrganizationId with a space inside', wrap(GOOD, '00D5g00000 AbCd'), malformed('missing-organization-id', NO_ORG)],
    ['a nil OrganizationId', wrap(GOOD).replace(`<OrganizationId>${ORG}</OrganizationId>`, '<OrganizationId xsi:nil="true"/>'), malformed('missing-organization-id', NO_ORG)],
    ['another org', wrap(GOOD, '00D000000000099AAA'), malformed('wrong-org', 'OrganizationId "00D000000000099AAA" is not the org this receiver serves; check SF_ORG_ID or the outbound message\'s endpoint URL.', 403), { organizationId: ORG }],
    ['no Notification', wrap(''), malformed('no-notifications', 'notifications has no Notification element.')],
    ['101 notifications', wrap(Array.from({ length: 101 }, (_, i) => note(i, account(accountId(i)))).join('')), malformed('too-many-notifications', 'notifications has more than 100 Notification elements; at most 100 are allowed.')],
    ['a Notification without an Id', wrap(`<Notification>${account(accountId(1))}</Notification>`), malformed('missing-notification-id', 'Notification 1 has no Id.')],
    ['a Notification with a blank Id', wrap(`<Notification><Id> </Id>${account(accountId(1))}</Notification>`), malformed('missing-notification-id', 'Notification 1 has no Id.')],
    ['a notification id of another prefix', wrap(`<Notification><Id>05l000000000001</Id>${account(accountId(1))}</Notification>`), malformed('bad-notification-id', 'Notification 1 has Id "05l000000000001", which is not a notification id (04l…).')],
    ['a notification id of 16 characters', wrap(`<Notification><Id>04l0000000000010</Id>${account(accountId(1))}</Notification>`), malformed('bad-notification-id', 'Notification 1 has Id "04l0000000000010", which is not a notification id (04l…).')],
    ['a notification id with a prefix before 04l', wrap(`<Notification><Id>x04l00000000001</Id>${account(accountId(1))}</Notification>`), malformed('bad-notification-id', 'Notification 1 has Id "x04l00000000001", which is not a notification id (04l…).')],
    ['a notification id with a suffix after 18 characters', wrap(`<Notification><Id>04l000000000001AAAx</Id>${account(accountId(1))}</Notification>`), malformed('bad-notification-id', 'Notification 1 has Id "04l000000000001AAAx", which is not a notification id (04l…).')],
    ['two sObjects', wrap(note(1, account(accountId(1)) + account(accountId(2)))), malformed('repeated-element', 'Notification 1 has 2 sObject elements; expected one.')],
    ['an unknown child of a Notification', wrap(`${GOOD}<Notification><Id>${notificationId(2)}</Id><Foo/></Notification>`), malformed('unexpected-element', `Notification 2 has an unexpected element "Foo" in namespace "${OM}".`)],
    ['a child of a Notification in another namespace', wrap(`<Notification><x:Id xmlns:x="urn:x">${notificationId(1)}</x:Id></Notification>`), malformed('unexpected-element', 'Notification 1 has an unexpected element "Id" in namespace "urn:x".')],
    ['a Contact', wrap(note(1, account('003000000000001AAA', '', 'sf:Contact'))), malformed('wrong-object', 'Notification 1 carries a Contact; this endpoint accepts Account notifications only.')],
    ['an sObject without xsi:type', wrap(note(1, `<sObject xmlns:sf="${SF}"><sf:Id>${accountId(1)}</sf:Id></sObject>`)), malformed('missing-sobject-type', 'Notification 1: sObject has no xsi:type.')],
    ['an xsi:type that is not a type name', wrap(note(1, account(accountId(1), '', 'sf:1Account'))), malformed('missing-sobject-type', 'Notification 1: sObject\'s xsi:type "sf:1Account" is not a type name.')],
    ['an xsi:type with an empty local name', wrap(note(1, account(accountId(1), '', 'sf:'))), malformed('missing-sobject-type', 'Notification 1: sObject\'s xsi:type "sf:" is not a type name.')],
    ['an xsi:type with a character past the name', wrap(note(1, account(accountId(1), '', 'sf:Account-x'))), malformed('missing-sobject-type', 'Notification 1: sObject\'s xsi:type "sf:Account-x" is not a type name.')],
    ['an xsi:type of 81 characters', wrap(note(1, account(accountId(1), '', `sf:A${'b'.repeat(80)}`))), malformed('missing-sobject-type', `Notification 1: sObject's xsi:type "sf:A${'b'.repeat(36)}…" is not a type name.`)],
    ['an unprefixed xsi:type without a default namespace', wrap(note(1, account(accountId(1), '', 'Account'))), malformed('wrong-namespace', `Notification 1: sObject's xsi:type "Account" is not a type of the ${SF} namespace.`)],
    ['an xsi:type of the partner namespace', wrap(note(1, account(accountId(1)).replace(`xmlns:sf="${SF}"`, 'xmlns:sf="urn:sobject.partner.soap.sforce.com"'))), malformed('wrong-namespace', `Notification 1: sObject's xsi:type "sf:Account" is not a type of the ${SF} namespace.`)],
    ['two record Ids', wrap(note(1, account(accountId(1), `<sf:Id>${accountId(1)}</sf:Id>`))), malformed('repeated-element', 'Notification 1: sObject has 2 Id elements; expected one.')],
    ['fields but no record Id', wrap(note(1, `<sObject xsi:type="sf:Account" xmlns:sf="${SF}"><sf:Name>Acme</sf:Name></sObject>`)), malformed('missing-record-id', 'Notification 1: sObject has fields but no Id.')],
    ['a nil record Id', wrap(note(1, `<sObject xsi:type="sf:Account" xmlns:sf="${SF}"><sf:Id xsi:nil="true"/><sf:Name>Acme</sf:Name></sObject>`)), malformed('missing-record-id', 'Notification 1: sObject has fields but no Id.')],
    ['a record id with a bad checksum', wrap(note(1, account('001000000000001ZZZ'))), malformed('bad-record-id', 'Notification 1: "001000000000001ZZZ" is not a Salesforce record id: its last three characters are not the case checksum of the first fifteen (expected AAA).')],
    ['a record id of 14 characters', wrap(note(1, account('00100000000001'))), malformed('bad-record-id', 'Notification 1: "00100000000001" is not a Salesforce record id (15 or 18 letters and digits).')],
    ['a Contact id in an Account', wrap(note(1, account('003000000000001AAA'))), malformed('wrong-key-prefix', 'Notification 1: record id "003000000000001AAA" has key prefix "003", not Account\'s 001.')],
    ['an id holding an element', wrap(note(1, account(`<b>${accountId(1)}</b>`))), malformed('not-a-value', 'An id element holds other elements; expected text only.')],
    ['an OrganizationId holding an element', wrap(GOOD, '<b/>'), malformed('not-a-value', 'An id element holds other elements; expected text only.')],
  ];
  it.each(cases)('when the message has %s, then the refusal says so', (_name, body, expected, options) => {
    const error = refusal(body, options);
    expect({ code: error.code, status: error.status, reason: error.reason, message: error.message, details: error.details }).toEqual(expected);
    expect(error.retryable).toBe(false);
  });

  it('when the body is not XML, then the refusal quotes the parser, clipped', () => {
    const error = refusal('hello');
    expect(error).toMatchObject({ code: 'OUTBOUND_MALFORMED', status: 400, reason: 'not-xml' });
    expect(error.message).toMatch(/^The body is not well-formed XML \(\S.*\)\.$/);
    expect(error.message).not.toMatch(/undefined:/);
    const unclosed = refusal(wrap(GOOD).replace('</soapenv:Envelope>', ''));
    expect(unclosed).toMatchObject({ reason: 'not-xml' });
    const long = refusal(`${wrap(GOOD)}<${'x'.repeat(300)}`);
    expect(long.reason).toBe('not-xml');
    expect(long.message.length).toBeLessThanOrEqual('The body is not well-formed XML ().'.length + 121);
  });
});

describe('each limit at its edge', () => {
  const deep = (levels: number) => wrap(note(1, account(accountId(1), '<sf:X>'.repeat(levels) + '</sf:X>'.repeat(levels))));
  const fields = (n: number) => wrap(note(1, account(accountId(1), '<sf:X/>'.repeat(n))));
  /** The good message with comments added until it holds `markup` '<' characters (comments are not elements). */
  const comments = (markup: number) => {
    const base = wrap(GOOD);
    return base.replace('<sf:Name>', `${'<!---->'.repeat(markup - base.split('<').length + 1)}<sf:Name>`);
  };
  const attributes = (n: number) => wrap(note(1, account(accountId(1), `<sf:X ${Array.from({ length: n }, (_, i) => `a${i}="1"`).join(' ')}/>`)));
  const cases: Array<[string, string, string, ParseOptions['limits'], ReturnType<typeof limit>]> = [
    ['nesting', deep(11), deep(12), {}, limit('too-deep', 'The message nests elements more than 16 levels deep.')],
    ['nesting, lowered', deep(2), deep(3), { maxDepth: 7 }, limit('too-deep', 'The message nests elements more than 7 levels deep.')],
    ['fields of an sObject', fields(1), fields(2), { maxFields: 3 }, limit('too-many-fields', 'Notification 1: the sObject has more than 3 fields.')],
    ['attributes of an element', attributes(3), attributes(4), { maxAttributes: 3 }, limit('too-many-attributes', 'An element has more than 3 attributes.')],
    ['an attribute value', wrap(note(1, account(accountId(1), `<sf:X a="${'v'.repeat(60)}"/>`))), wrap(note(1, account(accountId(1), `<sf:X a="${'v'.repeat(61)}"/>`))), { maxAttributeLength: 60 }, limit('attribute-too-long', 'An attribute value is longer than 60 characters.')],
    ['an element name', wrap(note(1, account(accountId(1), `<sf:${'n'.repeat(17)}/>`))), wrap(note(1, account(accountId(1), `<sf:${'n'.repeat(18)}/>`))), { maxNameLength: 20 }, limit('name-too-long', 'An element name is longer than 20 characters.')],
    ['an attribute name', wrap(note(1, account(accountId(1), `<sf:X ${'a'.repeat(20)}="1"/>`))), wrap(note(1, account(accountId(1), `<sf:X ${'a'.repeat(21)}="1"/>`))), { maxNameLength: 20 }, limit('name-too-long', 'An attribute name is longer than 20 characters.')],
    ['a value the receiver reads', wrap(note(1, account(`  ${accountId(1)}`))), wrap(note(1, account(`   ${accountId(1)}`))), { maxValueLength: 20 }, limit('value-too-long', 'A value the receiver reads is longer than 20 characters.')],
    ['text between two tags', wrap(note(1, account(accountId(1), `<sf:X>${'v'.repeat(194)}</sf:X>`))), wrap(note(1, account(accountId(1), `<sf:X>${'v'.repeat(195)}</sf:X>`))), { maxGap: 200 }, limit('value-too-long', 'The message has more than 200 characters between two tags; no field of an outbound message is that long.')],
    ['elements, counted while parsing', fields(1).replace('<sf:Name>Acme</sf:Name>', ''), fields(2).replace('<sf:Name>Acme</sf:Name>', ''), { maxElements: 10 }, limit('too-many-elements', 'The message has more than 10 elements.')],
    ['markup, counted before parsing', comments(2 * 30 + 64), comments(2 * 30 + 65), { maxElements: 30 }, limit('too-many-elements', 'The message has more than 30 elements.')],
  ];
  it.each(cases)('when %s is just within the limit, then the message is read; one past, it is refused', (_name, within, past, limits, expected) => {
    expect(parseOutboundMessage(within, { now: () => 0, limits }).notifications).toHaveLength(1);
    const error = refusal(past, { limits });
    expect({ code: error.code, status: error.status, reason: error.reason, message: error.message, details: error.details }).toEqual(expected);
  });

  it('when text after the last tag is longer than the gap, then it is refused before parsing', () => {
    // The last tag is `</soapenv:Envelope>` (19 characters); text after the root is not XML either.
    expect(refusal(`${wrap(GOOD)}${' '.repeat(180)}x`, { limits: { maxGap: 200 } }).reason).toBe('not-xml');
    expect(refusal(`${wrap(GOOD)}${' '.repeat(181)}x`, { limits: { maxGap: 200 } })).toMatchObject(limit('value-too-long', 'The message has more than 200 characters between two tags; no field of an outbound message is that long.'));
  });

  it('when the CPU time spent passes the budget, then the refusal is a 503 so Salesforce retries; exactly the budget is still read', () => {
    const body = wrap(Array.from({ length: 40 }, (_, i) => note(i, account(accountId(i), '<sf:Name>x</sf:Name>'.repeat(20)))).join(''));
    expect(body.length).toBeGreaterThan(16_384);
    expect(body.length).toBeLessThan(2 * 16_384);
    // Two pieces, each "taking" 25 ms: 50 in all is within a 50 ms budget; 26 each is not.
    const clock = (step: number) => {
      let t = 0;
      let resumed = false;
      return () => ((resumed = !resumed), resumed ? t : (t += step));
    };
    expect(parseOutboundMessage(body, { now: clock(25), limits: { timeBudgetMs: 50 } }).notifications).toHaveLength(40);
    const error = refusal(body, { now: clock(26), limits: { timeBudgetMs: 50 } });
    expect({ code: error.code, status: error.status, reason: error.reason, message: error.message }).toEqual({
      code: 'OUTBOUND_LIMIT', status: 503, reason: 'too-slow', message: 'The receiver could not read the message within 50 ms; Salesforce will retry it.',
    });
  });
});

describe('what an accepted message gives', () => {
  it('when the message carries an action, a session and data-less notifications, then each is reported', () => {
    const body = envelope({ orgId: ORG, sessionId: 'SESSION', notifications: [{ id: notificationId(1), accountId: accountId(1) }] });
    expect(parseOutboundMessage(body)).toEqual({
      organizationId: ORG, actionId: '04k000000000001AAA', hasSessionId: true,
      notifications: [{ id: notificationId(1), sObjectType: 'Account', recordId: accountId(1) }], withoutData: [],
    });
    expect(parseOutboundMessage(envelope({ orgId: ORG, notifications: [{ id: notificationId(1), accountId: accountId(1) }] })).hasSessionId).toBe(false);
    expect(parseOutboundMessage(wrap(GOOD)).hasSessionId).toBe(false);
    expect(parseOutboundMessage(wrap(GOOD).replace('<ActionId>04k000000000001AAA</ActionId>', '')).actionId).toBe('');
    expect(parseOutboundMessage(wrap(GOOD).replace('<ActionId>04k000000000001AAA</ActionId>', '<ActionId xsi:nil="true"/>')).actionId).toBe('');
  });

  it('when an sObject is nil in any spelling, then its notification has no data; xsi:nil false is data', () => {
    for (const nil of ['true', '1', ' true ']) {
      const message = parseOutboundMessage(wrap(note(1, `<sObject xsi:nil="${nil}" xsi:type="sf:Account" xmlns:sf="${SF}"><sf:Id>${accountId(1)}</sf:Id></sObject>`)));
      expect(message.withoutData, nil).toEqual([notificationId(1)]);
    }
    const notNil = parseOutboundMessage(wrap(note(1, `<sObject xsi:nil="false" xsi:type="sf:Account" xmlns:sf="${SF}"><sf:Id>${accountId(1)}</sf:Id></sObject>`)));
    expect(notNil.notifications.map((n) => n.recordId)).toEqual([accountId(1)]);
    // nil in another namespace is not xsi:nil.
    const other = parseOutboundMessage(wrap(note(1, `<sObject x:nil="true" xmlns:x="urn:x" xsi:type="sf:Account" xmlns:sf="${SF}"><sf:Id>${accountId(1)}</sf:Id></sObject>`)));
    expect(other.notifications).toHaveLength(1);
  });

  it('when another sObject type and key prefix are configured, then those are accepted and Accounts refused', () => {
    const options = { sObjectType: 'Contact', keyPrefix: '003', now: () => 0 };
    const contact = wrap(note(1, account('003000000000001', '', 'sf:Contact')));
    expect(parseOutboundMessage(contact, options).notifications).toEqual([{ id: notificationId(1), sObjectType: 'Contact', recordId: '003000000000001AAA' }]);
    expect(refusal(wrap(GOOD), options).message).toBe('Notification 1 carries a Account; this endpoint accepts Contact notifications only.');
  });

  it('when the receiver\'s org is configured in its 15-character form, then the 18-character OrganizationId is its org', () => {
    expect(parseOutboundMessage(wrap(GOOD), { organizationId: ORG.slice(0, 15) }).organizationId).toBe(ORG);
    expect(parseOutboundMessage(wrap(GOOD, ORG.slice(0, 15)), { organizationId: ORG }).organizationId).toBe(ORG.slice(0, 15));
  });

  it('when exactly 100 notifications arrive, then all are read', () => {
    expect(parseOutboundMessage(wrap(Array.from({ length: 100 }, (_, i) => note(i, account(accountId(i)))).join(''))).notifications).toHaveLength(100);
  });

  it('when the same body is read letting the event loop in, then it gives the same, and refuses the same', async () => {
    const body = wrap(Array.from({ length: 100 }, (_, i) => note(i, account(accountId(i), '<sf:Name>x</sf:Name>'.repeat(20)))).join(''));
    expect(await readOutboundMessage(body)).toEqual(parseOutboundMessage(body));
    await expect(readOutboundMessage(wrap(''))).rejects.toMatchObject({ reason: 'no-notifications' });
  });
});

describe('helpers', () => {
  it('when a value is quoted in a fault, then it is JSON-escaped and clipped', () => {
    expect(clip('abc')).toBe('"abc"');
    expect(clip('a"b')).toBe('"a\\"b"');
    expect(clip('x'.repeat(40))).toBe(`"${'x'.repeat(40)}"`);
    expect(clip('x'.repeat(41))).toBe(`"${'x'.repeat(40)}…"`);
    expect(clip('abcdef', 5)).toBe('"abcde…"');
  });

  it('when two ids are compared, then their first 15 characters decide', () => {
    expect(sameSalesforceId('00D5g000001AbCd', '00D5g000001AbCdEAK')).toBe(true);
    expect(sameSalesforceId('00D5g000001AbCe', '00D5g000001AbCdEAK')).toBe(false);
  });
});
