/**
 * Property-based fuzzing of the outbound-message parser as a pure function (fast-check): thousands
 * of generated envelopes (with an oracle for what each should give), the same envelopes mutated in
 * hostile ways, and arbitrary text. For every input:
 * - the only thing it throws is an `OutboundRefusal`;
 * - it stays within a CPU-time budget far above what any input here needs (thread CPU time, so a busy
 *   machine cannot make it flake);
 * - whatever it accepts is a valid Account notification: 18-character ids with the 001 prefix and a
 *   matching checksum, at most 100 notifications, notification ids of the 04l form.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idSuffix, isRecordId } from '../../src/core/record-id.js';
import { OutboundRefusal, parseOutboundMessage, type OutboundMessage } from '../../src/http/outbound/envelope.js';

const ORG = '00D5g000001AbCdEAF';
const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const OM = 'http://soap.sforce.com/2005/09/outbound';
const SF = 'urn:sobject.enterprise.soap.sforce.com';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
/** Far above any input's need (each takes well under 5 ms); thread CPU time, not wall time. */
const CPU_BUDGET_MS = 500;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

function cpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

/** Runs the parser and checks the three properties; returns the message or undefined when refused. */
function parseChecked(body: string): OutboundMessage | undefined {
  const started = cpuMs();
  let message: OutboundMessage | undefined;
  try {
    // The time budget counts this thread's CPU time here, so a loaded machine cannot turn a valid message into a refusal.
    message = parseOutboundMessage(body, { organizationId: ORG, now: cpuMs });
  } catch (error) {
    if (!(error instanceof OutboundRefusal)) throw new Error(`threw something other than a refusal: ${String(error)}`, { cause: error });
    expect(error.message.length).toBeLessThan(400);
  }
  expect(cpuMs() - started).toBeLessThan(CPU_BUDGET_MS);
  if (message) {
    expect(message.notifications.length + message.withoutData.length).toBeLessThanOrEqual(100);
    expect(message.notifications.length + message.withoutData.length).toBeGreaterThan(0);
    for (const n of message.notifications) {
      expect(isRecordId(n.recordId) && n.recordId.length === 18 && n.recordId.startsWith('001'), n.recordId).toBe(true);
      expect(n.sObjectType).toBe('Account');
      expect(n.id).toMatch(/^04l[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$/);
    }
    for (const id of message.withoutData) expect(id).toMatch(/^04l[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$/);
  }
  return message;
}

// ── A model of a message, what it should give, and its XML ──────────────────────────────────────────

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const alnum = (n: number) => fc.string({ unit: fc.constantFrom(...ALNUM), minLength: n, maxLength: n });

type IdKind = 'valid18' | 'valid15' | 'badChecksum' | 'wrongPrefix' | 'garbage';
interface RecordIdModel {
  kind: IdKind;
  text: string;
  /** The 18-character id the parser should give, for valid kinds. */
  expected?: string;
}

const recordId: fc.Arbitrary<RecordIdModel> = fc.oneof(
  alnum(12).map((rest) => ({ kind: 'valid18' as const, text: `001${rest}${idSuffix(`001${rest}`)}`, expected: `001${rest}${idSuffix(`001${rest}`)}` })),
  alnum(12).map((rest) => ({ kind: 'valid15' as const, text: `001${rest}`, expected: `001${rest}${idSuffix(`001${rest}`)}` })),
  fc.tuple(alnum(12), alnum(3)).filter(([rest, s]) => s.toUpperCase() !== idSuffix(`001${rest}`)).map(([rest, s]) => ({ kind: 'badChecksum' as const, text: `001${rest}${s}` })),
  fc.tuple(fc.constantFrom('003', '006', '00Q', 'a0B'), alnum(12)).map(([p, rest]) => ({ kind: 'wrongPrefix' as const, text: `${p}${rest}${idSuffix(`${p}${rest}`)}` })),
  fc.string({ maxLength: 30 }).filter((s) => !/[<&]/.test(s)).map((s) => ({ kind: 'garbage' as const, text: s })),
);

type Encoding = 'plain' | 'cdata' | 'charref' | 'padded';
const encoding = fc.constantFrom<Encoding>('plain', 'cdata', 'charref', 'padded');

function encode(text: string, how: Encoding): string {
  const escaped = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  switch (how) {
    case 'plain':
      return escaped;
    case 'cdata':
      return text.includes(']]>') ? escaped : `<![CDATA[${text}]]>`;
    case 'charref':
      return [...text].map((c) => (c.charCodeAt(0) < 128 && /[a-zA-Z0-9]/.test(c) ? `&#${c.charCodeAt(0)};` : c.replace(/[&<>"']/g, (x) => `&#${x.charCodeAt(0)};`))).join('');
    case 'padded':
      return `\n   ${escaped}\t `;
  }
}

type SObjectModel =
  | { kind: 'account'; id: RecordIdModel; enc: Encoding; fields: number; twoIds: boolean }
  | { kind: 'other'; type: string }
  | { kind: 'none' | 'empty' | 'nil' };

const sObject: fc.Arbitrary<SObjectModel> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('account' as const), id: recordId, enc: encoding, fields: fc.nat(6), twoIds: fc.boolean().map((b) => b && Math.random() < 0.3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('other' as const), type: fc.constantFrom('Contact', 'Opportunity', 'Lead') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('none' as const, 'empty' as const, 'nil' as const) }) },
);

interface NoteModel {
  id: string;
  idValid: boolean;
  sObject: SObjectModel;
}

const note: fc.Arbitrary<NoteModel> = fc.record({
  id: fc.oneof({ weight: 9, arbitrary: alnum(15).map((r) => `04l${r}`) }, { weight: 1, arbitrary: alnum(15).map((r) => `05x${r}`) }),
  sObject,
}).map((n) => ({ ...n, idValid: n.id.startsWith('04l') }));

interface Style {
  soap: string;
  om: string;
  sf: string;
  xsi: string;
  gap: string;
}

const prefix = fc.constantFrom('', 'a', 'soapenv', 'S', 'ns0', 'e');
const style: fc.Arbitrary<Style> = fc.record({
  soap: fc.constantFrom('soapenv', 'S', 'env', 'ns1'),
  om: prefix,
  sf: fc.constantFrom('sf', 'e', 'ns2'),
  xsi: fc.constantFrom('xsi', 'i', 'ns3'),
  gap: fc.constantFrom('', '\n', '  ', '\n\t'),
}).filter((s) => s.sf !== s.om);

interface MessageModel {
  org: 'right' | 'short' | 'wrong' | 'missing';
  notes: NoteModel[];
  style: Style;
}

const message: fc.Arbitrary<MessageModel> = fc.record({
  org: fc.oneof({ weight: 8, arbitrary: fc.constant('right' as const) }, { weight: 1, arbitrary: fc.constantFrom('short' as const, 'wrong' as const, 'missing' as const) }),
  notes: fc.oneof({ weight: 20, arbitrary: fc.array(note, { minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: fc.array(note, { minLength: 0, maxLength: 103 }) }),
  style,
});

function q(p: string, local: string): string {
  return p === '' ? local : `${p}:${local}`;
}

function serialize(m: MessageModel): string {
  const { soap, om, sf, xsi, gap } = m.style;
  const o = (local: string) => q(om, local);
  const org = m.org === 'right' ? ORG : m.org === 'short' ? ORG.slice(0, 15) : m.org === 'wrong' ? '00D000000000099AAA' : undefined;
  let body = '';
  for (const n of m.notes) {
    let sobj = '';
    const s = n.sObject;
    if (s.kind === 'account' || s.kind === 'other') {
      const type = s.kind === 'account' ? 'Account' : s.type;
      const id = s.kind === 'account' ? `<${sf}:Id>${encode(s.id.text, s.enc)}</${sf}:Id>` : `<${sf}:Id>001000000000001AAA</${sf}:Id>`;
      const second = s.kind === 'account' && s.twoIds ? `<${sf}:Id>001000000000002AAA</${sf}:Id>` : '';
      const fields = s.kind === 'account' ? Array.from({ length: s.fields }, (_, i) => `<${sf}:F${i}>v&amp;${i}</${sf}:F${i}>`).join(gap) : '';
      sobj = `<${o('sObject')} ${xsi}:type="${sf}:${type}" xmlns:${sf}="${SF}">${gap}${id}${gap}${fields}${second}</${o('sObject')}>`;
    } else if (s.kind === 'empty') sobj = `<${o('sObject')} ${xsi}:type="${sf}:Account" xmlns:${sf}="${SF}"/>`;
    else if (s.kind === 'nil') sobj = `<${o('sObject')} ${xsi}:nil="true"/>`;
    body += `<${o('Notification')}>${gap}<${o('Id')}>${n.id}</${o('Id')}>${gap}${sobj}</${o('Notification')}>${gap}`;
  }
  const omDecl = om === '' ? `xmlns="${OM}"` : `xmlns:${om}="${OM}"`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>${gap}<${soap}:Envelope xmlns:${soap}="${SOAP}" xmlns:${xsi}="${XSI}">${gap}<${soap}:Body>` +
    `<${o('notifications')} ${omDecl}>${gap}${org === undefined ? '' : `<${o('OrganizationId')}>${org}</${o('OrganizationId')}>`}` +
    `<${o('ActionId')}>04k000000000001AAA</${o('ActionId')}>${gap}${body}</${o('notifications')}></${soap}:Body></${soap}:Envelope>`
  );
}

/** What the parser should give for a model: the Account ids and the data-less notifications, or a refusal. */
function oracle(m: MessageModel): { ids: string[]; withoutData: string[] } | 'refused' {
  if (m.org === 'wrong' || m.org === 'missing') return 'refused';
  if (m.notes.length === 0 || m.notes.length > 100) return 'refused';
  const ids: string[] = [];
  const withoutData: string[] = [];
  for (const n of m.notes) {
    if (!n.idValid) return 'refused';
    const s = n.sObject;
    if (s.kind === 'other') return 'refused';
    if (s.kind !== 'account') {
      withoutData.push(n.id);
      continue;
    }
    if (s.twoIds || s.id.expected === undefined) return 'refused';
    ids.push(s.id.expected);
  }
  return { ids, withoutData };
}

// ── Mutations ───────────────────────────────────────────────────────────────────────────────────────

const HOSTILE_TOKENS = [
  '<', '>', '&', '&amp', '&#0;', '&#xD800;', '&bogus;', '<!--', '-->', '<![CDATA[', ']]>', '<?', '?>', '<!DOCTYPE x>', '<!ENTITY e "x">',
  '"', "'", '=', ':', '/', '</a>', '<a>', '<x:y/>', ' xmlns:sf="urn:other"', ' xmlns=""', ' xsi:nil="true"', '\u0000', '\uFFFE', '\uD800',
  '<sf:Id>001000000000009AAA</sf:Id>', '<Notification><Id>04l000000000009AAA</Id></Notification>', '<soapenv:Body>', '</notifications>',
];

const mutation = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), token: fc.oneof(fc.constantFrom(...HOSTILE_TOKENS), fc.string({ maxLength: 8 })) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 60 }), times: fc.integer({ min: 2, max: 400 }) }),
  fc.record({ op: fc.constant('nest' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), depth: fc.integer({ min: 1, max: 3_000 }) }),
  fc.record({ op: fc.constant('replace' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), char: fc.constantFrom('<', '>', '&', '"', ':', ' ', 'x', '\u00e9', '\u0001') }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(xml: string, m: Mutation): string {
  const at = Math.floor(m.at * xml.length);
  switch (m.op) {
    case 'insert':
      return xml.slice(0, at) + m.token + xml.slice(at);
    case 'delete':
      return xml.slice(0, at) + xml.slice(at + m.length);
    case 'repeat':
      return xml.slice(0, at) + xml.slice(at, at + m.length).repeat(m.times) + xml.slice(at + m.length);
    case 'nest':
      return xml.slice(0, at) + '<n>'.repeat(m.depth) + '</n>'.repeat(m.depth) + xml.slice(at);
    case 'replace':
      return xml.slice(0, at) + m.char + xml.slice(at + 1);
  }
}

describe('fuzzing the outbound-message parser', () => {
  it('when thousands of generated envelopes are read, then each gives exactly what its model says, or a refusal when the model is invalid', () => {
    fc.assert(
      fc.property(message, (m) => {
        const got = parseChecked(serialize(m));
        const want = oracle(m);
        if (want === 'refused') expect(got).toBeUndefined();
        else expect(got && { ids: got.notifications.map((n) => n.recordId), withoutData: got.withoutData }).toEqual(want);
      }),
      { numRuns: 2_500, seed: SEED },
    );
  });

  it('when generated envelopes are mutated in hostile ways, then the parser only refuses or accepts valid Account notifications, within its budget', () => {
    const valid = message.filter((m) => oracle(m) !== 'refused');
    fc.assert(
      fc.property(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, mutations) => {
        parseChecked(mutations.reduce(mutate, serialize(m)));
      }),
      { numRuns: 3_000, seed: SEED },
    );
  });

  it('when the body is arbitrary text or a soup of XML tokens, then the parser only refuses, within its budget', () => {
    const soup = fc.array(fc.oneof(fc.constantFrom(...HOSTILE_TOKENS, '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">', '</soapenv:Envelope>'), fc.string({ maxLength: 6 })), { maxLength: 60 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), soup), (text) => {
        expect(parseChecked(text)).toBeUndefined();
      }),
      { numRuns: 2_000, seed: SEED },
    );
  });
});
