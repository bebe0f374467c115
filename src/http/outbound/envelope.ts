/**
 * Reads a Salesforce Outbound Message (SOAP 1.1 `notifications` envelope) into Account ids: the
 * receiver's only parser, and the thing hostile bodies aim at.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm
 *
 * - **Bounded work.** A native scan first refuses bodies with too much markup or a run of text longer
 *   than `maxGap` between two tags (no legitimate field value comes close). Then one streaming pass
 *   (saxes) reads the body in 16 KiB pieces, with the limits below checked as the document streams:
 *   nesting depth before an element's attributes are read, attributes as each one is read, elements
 *   as each one opens, the org and each notification as soon as they close. A CPU-time budget,
 *   checked between pieces, ends anything else. Depth matters most: saxes resolves a namespace prefix by
 *   walking every open element, so unbounded nesting made each element cost more than the last
 *   (40,000 levels took 6 s, 80,000 a minute); `maxDepth` keeps each lookup a few steps.
 * - **The event loop stays free.** `readOutboundMessage` yields between pieces once a parse has run a
 *   few milliseconds, so health checks and other requests are answered while a large body is read.
 * - **No DTDs, no entities.** A body that declares a DOCTYPE or an ENTITY is refused before parsing
 *   (XXE, billion laughs); saxes expands only the five predefined entities and character references.
 * - **Equivalent XML reads the same.** Elements are matched by namespace URI and local name, never by
 *   prefix; an `xsi:type` QName is resolved against the declarations in scope; CDATA and character
 *   references count as text; whitespace around ids is ignored; ids come out in their 18-character
 *   form whichever form the message used.
 * - **Ambiguous messages are refused, not half-taken.** A repeated singleton (two `sf:Id` in one
 *   sObject, two `OrganizationId`, …), an element where the WSDL has none, a record id that is not a
 *   valid Salesforce id (15 characters, or 18 with the case checksum) or not an Account id (key
 *   prefix 001) refuses the whole message with a fault that names the notification.
 * - **A notification without record data is skipped, not refused.** Salesforce sends one when the
 *   record was deleted before the message went out ("the notification doesn't contain any data",
 *   help `platform.workflow_om_considerations.htm`). The exact XML is not documented: no sObject, an
 *   sObject with no child elements, or an `xsi:nil` sObject all count as "no data".
 * - **Bounded echoes.** Anything quoted from the input in a fault is clipped to a few dozen characters.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { AppError, type ErrorCode } from '../../core/errors.js';
import { describeBadId, KEY_PREFIXES, isRecordId, toId18 } from '../../core/record-id.js';

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
/** The namespace of the sObject and its fields in outbound messages (the enterprise WSDL's). */
export const SOBJECT_NS = 'urn:sobject.enterprise.soap.sforce.com';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** The WSDL allows at most 100 Notification elements per message. */
export const MAX_NOTIFICATIONS = 100;

const NOTIFICATION_ID = /^04l[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/;
const ORG_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

/** What one message may cost the receiver. The deployed message (100 × 20 fields, ~120 KB) is far inside. */
export interface ParseLimits {
  /** Element nesting (Envelope is 1; a field of an sObject is 6). @defaultValue 16 */
  maxDepth: number;
  /** Elements in the whole document (100 notifications of up to 196 fields). @defaultValue 20000 */
  maxElements: number;
  /** Child elements (fields) of one sObject. @defaultValue 1000 */
  maxFields: number;
  /** Attributes (namespace declarations included) on one element. @defaultValue 32 */
  maxAttributes: number;
  /** Characters of one attribute value (namespace URIs, xsi:type). @defaultValue 1024 */
  maxAttributeLength: number;
  /** Characters of one element or attribute name, prefix included. @defaultValue 256 */
  maxNameLength: number;
  /** Characters of an id or other value the receiver reads (ids are 15 or 18). @defaultValue 256 */
  maxValueLength: number;
  /** Characters between two `<` (one field value, comment or CDATA section). @defaultValue 65536 */
  maxGap: number;
  /**
   * CPU time of this thread spent parsing one message, summed over its pieces: waits between pieces
   * and time the process is not scheduled do not count, so a busy host does not refuse good messages.
   * The deployed message (100 notifications) takes about 7 ms. @defaultValue 50
   */
  timeBudgetMs: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxDepth: 16,
  maxElements: 20_000,
  maxFields: 1_000,
  maxAttributes: 32,
  maxAttributeLength: 1_024,
  maxNameLength: 256,
  maxValueLength: 256,
  maxGap: 65_536,
  timeBudgetMs: 50,
});

/** Characters handed to the parser at a time; the time budget is checked between pieces. */
const PIECE = 16_384;
/** `readOutboundMessage` lets the event loop run once a parse has held it this long. */
const SLICE_MS = 4;

export interface Notification {
  /** The notification id (04l…): what Salesforce redelivers. */
  id: string;
  sObjectType: string;
  /** The Account id in its 18-character form, whatever form the message used. */
  recordId: string;
}

export interface OutboundMessage {
  organizationId: string;
  actionId: string;
  /** Kept only so it can be redacted: the worker never uses the message's session. */
  hasSessionId: boolean;
  notifications: Notification[];
  /** Ids of notifications that carried no record data (the record was deleted before sending). */
  withoutData: string[];
}

export interface ParseOptions {
  limits?: Partial<ParseLimits>;
  /** The sObject type every notification must carry. @defaultValue 'Account' */
  sObjectType?: string;
  /** The key prefix of that type's record ids. @defaultValue '001' */
  keyPrefix?: string;
  /** The org messages must come from (15 or 18 characters); refused with 403 as soon as it is read. */
  organizationId?: string;
  /** Clock of the time budget, in ms. @defaultValue this thread's CPU time (process.threadCpuUsage) */
  now?: () => number;
}

/** Why a message was refused: an HTTP status, a metric label and a sentence for the admin. */
export class OutboundRefusal extends AppError {
  constructor(
    code: ErrorCode,
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super({ code, message, details: { status, reason } });
  }
}

function malformed(reason: string, message: string): OutboundRefusal {
  return new OutboundRefusal('OUTBOUND_MALFORMED', 400, reason, message);
}

function overLimit(reason: string, message: string, status = 400): OutboundRefusal {
  return new OutboundRefusal('OUTBOUND_LIMIT', status, reason, message);
}

/** A value from the input as a fault may quote it: JSON-escaped and at most `max` characters. */
export function clip(value: string, max = 40): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

function threadCpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1_000;
}

/** 15- and 18-character ids name the same record when their first 15 characters match. */
export function sameSalesforceId(a: string, b: string): boolean {
  return a.slice(0, 15) === b.slice(0, 15);
}

type Where = 'envelope' | 'header' | 'body' | 'notifications' | 'notification' | 'sobject' | 'field' | 'other';
type Capture = 'org' | 'action' | 'session' | 'notificationId' | 'recordId' | null;

/** Per-notification facts collected while the document streams past. */
interface Draft {
  id?: string;
  idCount: number;
  sObjects: number;
  sObjectType?: string;
  sObjectNil: boolean;
  fields: number;
  recordId?: string;
  recordIdCount: number;
}

const NOTIFICATIONS_CHILDREN = new Set(['OrganizationId', 'ActionId', 'SessionId', 'EnterpriseUrl', 'PartnerUrl', 'Notification']);

function isNil(tag: SaxesTagNS): boolean {
  for (const a of Object.values(tag.attributes)) {
    if (a.local === 'nil' && a.uri === XSI_NS) return a.value.trim() === 'true' || a.value.trim() === '1';
  }
  return false;
}

/** Native-speed checks of the raw text: how much markup, and the longest run between two `<`. */
function prescan(xml: string, limits: ParseLimits): void {
  // Every element costs at most two `<`; comments, CDATA and the declaration a few more.
  const maxMarkup = 2 * limits.maxElements + 64;
  let markup = 0;
  let last = -1;
  for (let i = xml.indexOf('<'); i !== -1; i = xml.indexOf('<', i + 1)) {
    if (i - last > limits.maxGap) break;
    markup += 1;
    if (markup > maxMarkup) throw overLimit('too-many-elements', `The message has more than ${limits.maxElements} elements.`);
    last = i;
  }
  if (xml.length - last > limits.maxGap) {
    throw overLimit('value-too-long', `The message has more than ${limits.maxGap} characters between two tags; no field of an outbound message is that long.`);
  }
}

/**
 * The parse as steps: each `next()` reads one piece. `parseOutboundMessage` runs it straight through;
 * `readOutboundMessage` lets the event loop in between. Throws `OutboundRefusal` and nothing else.
 */
function* parseSteps(body: string, options: ParseOptions): Generator<void, OutboundMessage, void> {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...options.limits };
  const expectedType = options.sObjectType ?? 'Account';
  const keyPrefix = options.keyPrefix ?? KEY_PREFIXES.account;
  const now = options.now ?? threadCpuMs;
  let resumed = now();
  let worked = 0;

  // Salesforce's own samples start with a byte-order mark; String.prototype.trim removes it too.
  const xml = body.replace(/^\uFEFF/, '').trim();
  if (xml === '') throw malformed('empty', 'The request body is empty; expected a SOAP notifications envelope.');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw malformed('dtd', 'The message declares a DOCTYPE or ENTITY; DTDs and entity declarations are not accepted.');
  }
  prescan(xml, limits);

  // Position tracking costs about half the parse time and only adds a line number to a fault.
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: Where[] = [];
  let sawBody = false;
  let sawHeader = false;
  let notificationsCount = 0;
  let elements = 0;
  let attributes = 0;
  const singles = new Set<string>();
  let organizationId: string | undefined;
  let actionId = '';
  let hasSessionId = false;
  const drafts: Draft[] = [];
  const notifications: Notification[] = [];
  const withoutData: string[] = [];
  let capture: Capture = null;
  let captured = '';
  let nil = false;
  let failure: OutboundRefusal | undefined;

  const fail = (refusal: OutboundRefusal): never => {
    failure ??= refusal;
    throw refusal;
  };
  const unexpected = (tag: SaxesTagNS, where: string): never =>
    fail(malformed('unexpected-element', `${where} has an unexpected element ${clip(tag.local)}${tag.uri ? ` in namespace ${clip(tag.uri, 60)}` : ''}.`));

  /** A notification is checked as soon as it closes, so a bad one early in a large body ends the parse. */
  const settle = (draft: Draft, at: string): void => {
    if (draft.idCount > 1) fail(malformed('repeated-element', `${at} has ${draft.idCount} Id elements; expected one.`));
    if (!draft.id) return fail(malformed('missing-notification-id', `${at} has no Id.`));
    if (!NOTIFICATION_ID.test(draft.id)) fail(malformed('bad-notification-id', `${at} has Id ${clip(draft.id)}, which is not a notification id (04l…).`));
    if (draft.sObjects > 1) fail(malformed('repeated-element', `${at} has ${draft.sObjects} sObject elements; expected one.`));
    if (draft.sObjects === 1 && draft.sObjectType !== undefined && draft.sObjectType !== expectedType) {
      fail(malformed('wrong-object', `${at} carries a ${draft.sObjectType}; this endpoint accepts ${expectedType} notifications only.`));
    }
    // No sObject, a nil one, or one with no fields at all: the record was deleted before sending.
    if (draft.sObjects === 0 || draft.sObjectNil || draft.fields === 0) {
      withoutData.push(draft.id);
      return;
    }
    if (draft.sObjectType === undefined) fail(malformed('missing-sobject-type', `${at}: sObject has no xsi:type.`));
    if (draft.recordIdCount > 1) fail(malformed('repeated-element', `${at}: sObject has ${draft.recordIdCount} Id elements; expected one.`));
    if (!draft.recordId) return fail(malformed('missing-record-id', `${at}: sObject has fields but no Id.`));
    if (!isRecordId(draft.recordId)) fail(malformed('bad-record-id', `${at}: ${describeBadId(draft.recordId)}.`));
    if (!draft.recordId.startsWith(keyPrefix)) {
      fail(malformed('wrong-key-prefix', `${at}: record id ${clip(draft.recordId)} has key prefix ${clip(draft.recordId.slice(0, 3))}, not ${expectedType}'s ${keyPrefix}.`));
    }
    notifications.push({ id: draft.id, sObjectType: draft.sObjectType!, recordId: toId18(draft.recordId)! });
  };

  const settleOrg = (value: string | undefined): void => {
    if (!value || !ORG_ID.test(value)) fail(malformed('missing-organization-id', 'notifications has no valid OrganizationId (15 or 18 characters).'));
    if (options.organizationId !== undefined && !sameSalesforceId(value!, options.organizationId)) {
      fail(new OutboundRefusal('OUTBOUND_MALFORMED', 403, 'wrong-org', `OrganizationId ${clip(value!)} is not the org this receiver serves; check SF_ORG_ID or the outbound message's endpoint URL.`));
    }
    organizationId = value;
  };

  // Checked before saxes reads the element's attributes or resolves its prefix.
  parser.on('opentagstart', (tag) => {
    // A captured element that holds another element (`<Id><x/>…</Id>`) is not an id.
    if (capture !== null) fail(malformed('not-a-value', 'An id element holds other elements; expected text only.'));
    elements += 1;
    attributes = 0;
    if (stack.length + 1 > limits.maxDepth) fail(overLimit('too-deep', `The message nests elements more than ${limits.maxDepth} levels deep.`));
    if (elements > limits.maxElements) fail(overLimit('too-many-elements', `The message has more than ${limits.maxElements} elements.`));
    if (tag.name.length > limits.maxNameLength) fail(overLimit('name-too-long', `An element name is longer than ${limits.maxNameLength} characters.`));
  });
  parser.on('attribute', (attr) => {
    attributes += 1;
    if (attributes > limits.maxAttributes) fail(overLimit('too-many-attributes', `An element has more than ${limits.maxAttributes} attributes.`));
    if (attr.name.length > limits.maxNameLength) fail(overLimit('name-too-long', `An attribute name is longer than ${limits.maxNameLength} characters.`));
    if (attr.value.length > limits.maxAttributeLength) fail(overLimit('attribute-too-long', `An attribute value is longer than ${limits.maxAttributeLength} characters.`));
  });
  // Always attached: swapping saxes' handlers in and out de-optimises its text loop.
  const onText = (t: string) => {
    if (capture === null) return;
    captured += t;
    if (captured.length > limits.maxValueLength) fail(overLimit('value-too-long', `A value the receiver reads is longer than ${limits.maxValueLength} characters.`));
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('doctype', () => fail(malformed('dtd', 'The message declares a DOCTYPE or ENTITY; DTDs and entity declarations are not accepted.')));

  parser.on('opentag', (tag) => {
    const parent = stack[stack.length - 1];
    let where: Where = 'other';
    capture = null;
    if (parent === undefined) {
      if (tag.local !== 'Envelope' || tag.uri !== SOAP_ENV_NS) fail(malformed('missing-element', `The document has no Envelope element in namespace ${SOAP_ENV_NS}.`));
      where = 'envelope';
    } else if (parent === 'envelope') {
      if (tag.uri === SOAP_ENV_NS && tag.local === 'Body') {
        if (sawBody) fail(malformed('repeated-element', 'The SOAP Envelope has 2 Body elements; expected one.'));
        sawBody = true;
        where = 'body';
      } else if (tag.uri === SOAP_ENV_NS && tag.local === 'Header' && !sawBody && !sawHeader) {
        sawHeader = true;
        where = 'header';
      } else unexpected(tag, 'The SOAP Envelope');
    } else if (parent === 'body') {
      if (tag.local !== 'notifications') unexpected(tag, 'The SOAP Body');
      if (tag.uri !== OUTBOUND_NS) fail(malformed('wrong-namespace', `The notifications element is not in the ${OUTBOUND_NS} namespace.`));
      notificationsCount += 1;
      if (notificationsCount > 1) fail(malformed('repeated-element', 'The SOAP Body has more than one notifications element.'));
      where = 'notifications';
    } else if (parent === 'notifications') {
      if (tag.uri !== OUTBOUND_NS || !NOTIFICATIONS_CHILDREN.has(tag.local)) unexpected(tag, 'notifications');
      if (tag.local === 'Notification') {
        drafts.push({ idCount: 0, sObjects: 0, sObjectNil: false, fields: 0, recordIdCount: 0 });
        if (drafts.length > MAX_NOTIFICATIONS) {
          fail(malformed('too-many-notifications', `notifications has more than ${MAX_NOTIFICATIONS} Notification elements; at most ${MAX_NOTIFICATIONS} are allowed.`));
        }
        where = 'notification';
      } else {
        if (singles.has(tag.local)) fail(malformed('repeated-element', `notifications has more than one ${tag.local} element; expected one.`));
        singles.add(tag.local);
        if (tag.local === 'OrganizationId') capture = 'org';
        else if (tag.local === 'ActionId') capture = 'action';
        else if (tag.local === 'SessionId') capture = 'session';
      }
    } else if (parent === 'notification') {
      const draft = drafts[drafts.length - 1]!;
      const at = `Notification ${drafts.length}`;
      if (tag.uri !== OUTBOUND_NS) unexpected(tag, at);
      if (tag.local === 'Id') {
        draft.idCount += 1;
        capture = 'notificationId';
      } else if (tag.local === 'sObject') {
        draft.sObjects += 1;
        draft.sObjectNil = isNil(tag);
        draft.sObjectType = sObjectTypeOf(tag, parser, at);
        where = 'sobject';
      } else unexpected(tag, at);
    } else if (parent === 'sobject') {
      const draft = drafts[drafts.length - 1]!;
      draft.fields += 1;
      if (draft.fields > limits.maxFields) fail(overLimit('too-many-fields', `Notification ${drafts.length}: the sObject has more than ${limits.maxFields} fields.`));
      if (tag.local === 'Id' && tag.uri === SOBJECT_NS) {
        draft.recordIdCount += 1;
        capture = 'recordId';
      }
      where = 'field';
    }
    nil = capture !== null && isNil(tag);
    captured = '';
    stack.push(where);
  });

  parser.on('closetag', () => {
    const where = stack.pop();
    if (where === 'notification') settle(drafts[drafts.length - 1]!, `Notification ${drafts.length}`);
    if (capture === null) return;
    const value = nil ? undefined : captured.trim() || undefined;
    const draft = drafts[drafts.length - 1];
    if (capture === 'org') settleOrg(value);
    else if (capture === 'action') actionId = value ?? '';
    else if (capture === 'session') hasSessionId = value !== undefined;
    else if (capture === 'notificationId' && draft) draft.id = value;
    else if (capture === 'recordId' && draft) draft.recordId = value;
    capture = null;
    captured = '';
    nil = false;
  });

  const notXml = (error: unknown): OutboundRefusal => {
    const text = String((error as Error).message ?? error).replace(/^undefined:/, '').trim();
    return malformed('not-xml', `The body is not well-formed XML (${text.length > 120 ? `${text.slice(0, 120)}…` : text}).`);
  };
  for (let i = 0; i < xml.length; i += PIECE) {
    try {
      parser.write(xml.slice(i, i + PIECE));
    } catch (error) {
      throw failure ?? (error instanceof OutboundRefusal ? error : notXml(error));
    }
    const t = now();
    worked += t - resumed;
    if (worked > limits.timeBudgetMs) {
      throw overLimit('too-slow', `The receiver could not read the message within ${limits.timeBudgetMs} ms; Salesforce will retry it.`, 503);
    }
    yield;
    resumed = now();
  }
  try {
    parser.close();
  } catch (error) {
    throw failure ?? (error instanceof OutboundRefusal ? error : notXml(error));
  }

  if (!sawBody) throw malformed('missing-element', `The SOAP Envelope has no Body element in namespace ${SOAP_ENV_NS}.`);
  if (notificationsCount === 0) throw malformed('missing-element', 'The SOAP Body has no notifications element.');
  if (organizationId === undefined) throw malformed('missing-organization-id', 'notifications has no valid OrganizationId (15 or 18 characters).');
  if (drafts.length === 0) throw malformed('no-notifications', 'notifications has no Notification element.');
  return { organizationId, actionId, hasSessionId, notifications, withoutData };
}

/**
 * Parses and checks one message in one go (a pure function). Throws `OutboundRefusal`, and nothing
 * else, for anything that is not a valid notifications envelope of `sObjectType` within the limits.
 */
export function parseOutboundMessage(body: string, options: ParseOptions = {}): OutboundMessage {
  const steps = parseSteps(body, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** The same parse, letting the event loop run between pieces once it has held it for a few ms. */
export async function readOutboundMessage(body: string, options: ParseOptions = {}): Promise<OutboundMessage> {
  const steps = parseSteps(body, options);
  let since = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - since >= SLICE_MS) {
      await yieldToLoop();
      since = performance.now();
    }
  }
}

/** The local name of the sObject's `xsi:type` QName, which must be a type of the enterprise sObject namespace. */
function sObjectTypeOf(tag: SaxesTagNS, parser: SaxesParser<{ xmlns: true; position: false }>, at: string): string | undefined {
  const attr = Object.values(tag.attributes).find((a) => a.local === 'type' && a.uri === XSI_NS);
  if (!attr) return undefined;
  const value = attr.value.trim();
  const colon = value.indexOf(':');
  const prefix = colon === -1 ? '' : value.slice(0, colon);
  const local = colon === -1 ? value : value.slice(colon + 1);
  if (!TYPE_NAME.test(local)) throw malformed('missing-sobject-type', `${at}: sObject's xsi:type ${clip(value)} is not a type name.`);
  // A QName in an attribute value takes the default namespace when it has no prefix (XML Schema).
  if (parser.resolve(prefix) !== SOBJECT_NS) {
    throw malformed('wrong-namespace', `${at}: sObject's xsi:type ${clip(value)} is not a type of the ${SOBJECT_NS} namespace.`);
  }
  return local;
}
