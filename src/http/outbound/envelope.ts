/**
 * Reads a Salesforce Outbound Message (SOAP 1.1 `notifications` envelope) into plain ids.
 *
 * The parser resolves no DTDs and no entities: a body that declares a DOCTYPE or an ENTITY is refused
 * before parsing (XXE, billion laughs). Namespace prefixes are resolved from the `xmlns` declarations
 * in scope, so any prefix works; the envelope and `notifications` elements must be in their
 * documented namespaces.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
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

type XmlNode = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Keep every element as a list so repeated elements are never silently merged or dropped.
  isArray: (_name, _path, _isLeaf, isAttribute) => !isAttribute,
});

function localName(qualified: string): string {
  const i = qualified.indexOf(':');
  return i === -1 ? qualified : qualified.slice(i + 1);
}

function prefixOf(qualified: string): string {
  const i = qualified.indexOf(':');
  return i === -1 ? '' : qualified.slice(0, i);
}

/** The namespace declarations in scope at `node`, inherited from `parent`. */
function scopeOf(node: unknown, parent: Scope): Scope {
  if (typeof node !== 'object' || node === null) return parent;
  let scope: Map<string, string> | undefined;
  for (const [key, value] of Object.entries(node)) {
    if (key === '@_xmlns' || key.startsWith('@_xmlns:')) {
      scope ??= new Map(parent);
      scope.set(key === '@_xmlns' ? '' : key.slice('@_xmlns:'.length), String(value));
    }
  }
  return scope ?? parent;
}

/** Child elements of `node` with the given namespace and local name. */
interface Element {
  node: unknown;
  scope: Scope;
  /** The element's namespace URI, resolved from its prefix. */
  ns: string | undefined;
}

/** Child elements of `node` with the given local name, in namespace `ns` (any namespace when null). */
function children(node: unknown, scope: Scope, ns: string | null, name: string): Element[] {
  if (typeof node !== 'object' || node === null) return [];
  const found: Element[] = [];
  for (const [key, value] of Object.entries(node as XmlNode)) {
    if (key.startsWith('@_') || key === '#text' || localName(key) !== name) continue;
    for (const child of value as unknown[]) {
      const childScope = scopeOf(child, scope);
      const childNs = childScope.get(prefixOf(key));
      if (ns === null || childNs === ns) found.push({ node: child, scope: childScope, ns: childNs });
    }
  }
  return found;
}

function isNil(node: unknown, scope: Scope): boolean {
  if (typeof node !== 'object' || node === null) return false;
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') && localName(key.slice(2)) === 'nil' && scope.get(prefixOf(key.slice(2))) === XSI_NS) {
      return String(value) === 'true' || String(value) === '1';
    }
  }
  return false;
}

/** Text of a leaf element, or undefined when it is absent, empty or `xsi:nil`. */
function text(node: unknown, scope: Scope): string | undefined {
  if (node === undefined || isNil(node, scope)) return undefined;
  if (typeof node === 'string') return node.trim() || undefined;
  if (typeof node === 'object' && node !== null && '#text' in node) return String((node as XmlNode)['#text']).trim() || undefined;
  return undefined;
}

function one(node: unknown, scope: Scope, ns: string | null, name: string, where: string): Element {
  const found = children(node, scope, ns, name);
  if (found.length === 0) throw malformed('missing-element', `${where} has no ${name} element${ns ? ` in namespace ${ns}` : ''}.`);
  if (found.length > 1) throw malformed('repeated-element', `${where} has ${found.length} ${name} elements; expected one.`);
  return found[0]!;
}

function leaf(node: unknown, scope: Scope, name: string, where: string): string | undefined {
  const found = children(node, scope, null, name);
  if (found.length > 1) throw malformed('repeated-element', `${where} has ${found.length} ${name} elements; expected one.`);
  return found[0] ? text(found[0].node, found[0].scope) : undefined;
}

export function parseOutboundMessage(body: string): OutboundMessage {
  // Salesforce's own samples start with a byte-order mark; String.prototype.trim removes it too.
  const xml = body.replace(/^\uFEFF/, '').trim();
  if (xml === '') throw malformed('empty', 'The request body is empty; expected a SOAP notifications envelope.');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw malformed('dtd', 'The message declares a DOCTYPE or ENTITY; DTDs and entity declarations are not accepted.');
  }
  const valid = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (valid !== true) throw malformed('not-xml', `The body is not well-formed XML (line ${valid.err.line}: ${valid.err.msg}).`);

  const root = parser.parse(xml) as XmlNode;
  const rootScope: Scope = new Map();
  const envelope = one(root, rootScope, SOAP_ENV_NS, 'Envelope', 'The document');
  const soapBody = one(envelope.node, envelope.scope, SOAP_ENV_NS, 'Body', 'The SOAP Envelope');
  const found = children(soapBody.node, soapBody.scope, null, 'notifications');
  if (found.length === 0) throw malformed('missing-element', 'The SOAP Body has no notifications element.');
  const notifications = found.find((n) => n.ns === OUTBOUND_NS);
  if (!notifications) {
    throw new OutboundRefusal('OUTBOUND_MALFORMED', 400, 'wrong-namespace', `The notifications element is not in the ${OUTBOUND_NS} namespace.`);
  }
  if (found.length > 1) throw malformed('repeated-element', 'The SOAP Body has more than one notifications element.');
  const { node, scope } = notifications;

  const organizationId = leaf(node, scope, 'OrganizationId', 'notifications');
  if (!organizationId || !RECORD_ID.test(organizationId)) {
    throw malformed('missing-organization-id', 'notifications has no valid OrganizationId (15 or 18 characters).');
  }
  const actionId = leaf(node, scope, 'ActionId', 'notifications') ?? '';
  const hasSessionId = leaf(node, scope, 'SessionId', 'notifications') !== undefined;

  const items = children(node, scope, null, 'Notification');
  if (items.length === 0) throw malformed('no-notifications', 'notifications has no Notification element.');
  if (items.length > MAX_NOTIFICATIONS) {
    throw malformed('too-many-notifications', `notifications has ${items.length} Notification elements; at most ${MAX_NOTIFICATIONS} are allowed.`);
  }

  const parsed = items.map((item, index) => {
    const where = `Notification ${index + 1}`;
    const id = leaf(item.node, item.scope, 'Id', where);
    if (!id) throw malformed('missing-notification-id', `${where} has no Id.`);
    if (!NOTIFICATION_ID.test(id)) throw malformed('bad-notification-id', `${where} has Id "${id.slice(0, 40)}", which is not a notification id (04l…).`);
    const sObject = one(item.node, item.scope, null, 'sObject', where);
    const typeAttr = Object.entries(sObject.node as XmlNode).find(([k]) => k.startsWith('@_') && localName(k.slice(2)) === 'type');
    const sObjectType = typeAttr ? localName(String(typeAttr[1])) : '';
    if (!sObjectType) throw malformed('missing-sobject-type', `${where}: sObject has no xsi:type.`);
    const recordId = leaf(sObject.node, sObject.scope, 'Id', `${where} sObject`);
    if (!recordId || !RECORD_ID.test(recordId)) throw malformed('missing-record-id', `${where}: sObject has no valid Id.`);
    return { id, sObjectType, recordId };
  });

  return { organizationId, actionId, hasSessionId, notifications: parsed };
}

/** 15- and 18-character ids name the same record when their first 15 characters match. */
export function sameSalesforceId(a: string, b: string): boolean {
  return a.slice(0, 15) === b.slice(0, 15);
}
