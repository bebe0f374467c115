/**
 * Reads a Salesforce Outbound Message (SOAP 1.1 `notifications` envelope) into plain ids.
 *
 * The parser resolves no DTDs and no entities: a body that declares a DOCTYPE or an ENTITY is refused
 * before parsing (XXE, billion laughs). Namespace prefixes are resolved from the `xmlns` declarations
 * in scope, so any prefix works; the envelope and `notifications` elements must be in their
 * documented namespaces. One streaming pass (saxes) reads the whole message: it is the receiver's
 * hot path, about seven times cheaper than building a tree.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm
 */
import { SaxesParser } from 'saxes';
import { AppError, type ErrorCode } from '../../core/errors.js';

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** The WSDL allows at most 100 Notification elements per message. */
export const MAX_NOTIFICATIONS = 100;

const NOTIFICATION_ID = /^04l[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/;
const RECORD_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

export interface Notification {
  /** The notification id (04l…): what Salesforce redelivers and what we dedupe on. */
  id: string;
  sObjectType: string;
  recordId: string;
}

export interface OutboundMessage {
  organizationId: string;
  actionId: string;
  /** Kept only so it can be redacted: the worker never uses the message's session. */
  hasSessionId: boolean;
  notifications: Notification[];
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

type Where = 'envelope' | 'body' | 'notifications' | 'notification' | 'sobject' | 'other';

/** Per-notification fields collected while the document streams past. */
interface Draft {
  id?: string;
  idCount: number;
  sObjects: number;
  sObjectType?: string;
  recordId?: string;
}

function localOf(qualified: string): string {
  const i = qualified.indexOf(':');
  return i === -1 ? qualified : qualified.slice(i + 1);
}

/**
 * Streams the document once with a namespace-aware, non-validating parser (saxes): it resolves no
 * external entities, expands only the five predefined ones, and rejects anything that is not
 * well-formed. A DOCTYPE is refused outright.
 */
export function parseOutboundMessage(body: string): OutboundMessage {
  // Salesforce's own samples start with a byte-order mark; String.prototype.trim removes it too.
  const xml = body.replace(/^\uFEFF/, '').trim();
  if (xml === '') throw malformed('empty', 'The request body is empty; expected a SOAP notifications envelope.');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw malformed('dtd', 'The message declares a DOCTYPE or ENTITY; DTDs and entity declarations are not accepted.');
  }

  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: Where[] = [];
  let sawEnvelope = false;
  let sawBody = false;
  let notificationsCount = 0;
  let organizationId: string | undefined;
  let organizationIdCount = 0;
  let actionId = '';
  let hasSessionId = false;
  const drafts: Draft[] = [];
  let text: string | null = null;
  let nil = false;
  /** What the text being collected belongs to. */
  let capture: 'org' | 'action' | 'session' | 'notificationId' | 'recordId' | null = null;
  let failure: OutboundRefusal | undefined;

  const fail = (refusal: OutboundRefusal): never => {
    failure ??= refusal;
    throw refusal;
  };

  parser.on('doctype', () => fail(malformed('dtd', 'The message declares a DOCTYPE or ENTITY; DTDs and entity declarations are not accepted.')));
  parser.on('opentag', (tag) => {
    const parent = stack[stack.length - 1];
    let where: Where = 'other';
    if (parent === undefined) {
      if (tag.local !== 'Envelope' || tag.uri !== SOAP_ENV_NS) fail(malformed('missing-element', `The document has no Envelope element in namespace ${SOAP_ENV_NS}.`));
      sawEnvelope = true;
      where = 'envelope';
    } else if (parent === 'envelope' && tag.local === 'Body' && tag.uri === SOAP_ENV_NS) {
      if (sawBody) fail(malformed('repeated-element', 'The SOAP Envelope has 2 Body elements; expected one.'));
      sawBody = true;
      where = 'body';
    } else if (parent === 'body' && tag.local === 'notifications') {
      if (tag.uri !== OUTBOUND_NS) {
        throw new OutboundRefusal('OUTBOUND_MALFORMED', 400, 'wrong-namespace', `The notifications element is not in the ${OUTBOUND_NS} namespace.`);
      }
      notificationsCount += 1;
      if (notificationsCount > 1) fail(malformed('repeated-element', 'The SOAP Body has more than one notifications element.'));
      where = 'notifications';
    } else if (parent === 'notifications') {
      if (tag.local === 'Notification') {
        drafts.push({ idCount: 0, sObjects: 0 });
        if (drafts.length > MAX_NOTIFICATIONS) {
          fail(malformed('too-many-notifications', `notifications has more than ${MAX_NOTIFICATIONS} Notification elements; at most ${MAX_NOTIFICATIONS} are allowed.`));
        }
        where = 'notification';
      } else if (tag.local === 'OrganizationId') {
        organizationIdCount += 1;
        capture = 'org';
      } else if (tag.local === 'ActionId') capture = 'action';
      else if (tag.local === 'SessionId') capture = 'session';
    } else if (parent === 'notification') {
      const draft = drafts[drafts.length - 1]!;
      if (tag.local === 'Id') {
        draft.idCount += 1;
        capture = 'notificationId';
      } else if (tag.local === 'sObject') {
        draft.sObjects += 1;
        const type = Object.values(tag.attributes).find((a) => a.local === 'type' && a.uri === XSI_NS);
        draft.sObjectType = type ? localOf(type.value) : '';
        where = 'sobject';
      }
    } else if (parent === 'sobject' && tag.local === 'Id') {
      capture = 'recordId';
    }
    nil = Object.values(tag.attributes).some((a) => a.local === 'nil' && a.uri === XSI_NS && (a.value === 'true' || a.value === '1'));
    text = capture ? '' : null;
    stack.push(where);
  });
  parser.on('text', (t) => {
    if (text !== null) text += t;
  });
  parser.on('closetag', () => {
    stack.pop();
    if (capture === null) return;
    const value = nil ? undefined : text?.trim() || undefined;
    const draft = drafts[drafts.length - 1];
    if (capture === 'org') organizationId = value;
    else if (capture === 'action') actionId = value ?? '';
    else if (capture === 'session') hasSessionId = value !== undefined;
    else if (capture === 'notificationId' && draft) draft.id = value;
    else if (capture === 'recordId' && draft) draft.recordId = value;
    capture = null;
    text = null;
    nil = false;
  });

  try {
    parser.write(xml).close();
  } catch (error) {
    if (failure) throw failure;
    if (error instanceof OutboundRefusal) throw error;
    const e = error as Error & { line?: number };
    throw malformed('not-xml', `The body is not well-formed XML (${e.message.replace(/^undefined:/, 'line ')}).`);
  }
  if (!sawEnvelope) throw malformed('missing-element', `The document has no Envelope element in namespace ${SOAP_ENV_NS}.`);
  if (!sawBody) throw malformed('missing-element', `The SOAP Envelope has no Body element in namespace ${SOAP_ENV_NS}.`);
  if (notificationsCount === 0) throw malformed('missing-element', 'The SOAP Body has no notifications element.');
  if (organizationIdCount > 1) throw malformed('repeated-element', `notifications has ${organizationIdCount} OrganizationId elements; expected one.`);
  if (!organizationId || !RECORD_ID.test(organizationId)) {
    throw malformed('missing-organization-id', 'notifications has no valid OrganizationId (15 or 18 characters).');
  }
  if (drafts.length === 0) throw malformed('no-notifications', 'notifications has no Notification element.');

  const notifications = drafts.map((draft, index) => {
    const where = `Notification ${index + 1}`;
    if (draft.idCount > 1) throw malformed('repeated-element', `${where} has ${draft.idCount} Id elements; expected one.`);
    if (!draft.id) throw malformed('missing-notification-id', `${where} has no Id.`);
    if (!NOTIFICATION_ID.test(draft.id)) throw malformed('bad-notification-id', `${where} has Id "${draft.id.slice(0, 40)}", which is not a notification id (04l…).`);
    if (draft.sObjects === 0) throw malformed('missing-element', `${where} has no sObject element.`);
    if (draft.sObjects > 1) throw malformed('repeated-element', `${where} has ${draft.sObjects} sObject elements; expected one.`);
    if (!draft.sObjectType) throw malformed('missing-sobject-type', `${where}: sObject has no xsi:type.`);
    if (!draft.recordId || !RECORD_ID.test(draft.recordId)) throw malformed('missing-record-id', `${where}: sObject has no valid Id.`);
    return { id: draft.id, sObjectType: draft.sObjectType, recordId: draft.recordId };
  });

  return { organizationId, actionId, hasSessionId, notifications };
}

/** 15- and 18-character ids name the same record when their first 15 characters match. */
export function sameSalesforceId(a: string, b: string): boolean {
  return a.slice(0, 15) === b.slice(0, 15);
}
