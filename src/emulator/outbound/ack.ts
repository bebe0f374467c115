/**
 * Reads the endpoint's answer the way Salesforce judges it: delivered only on HTTP 200 with a SOAP
 * `notificationsResponse` whose `Ack` is true. Anything else is a failed attempt, described like
 * Setup → Outbound Messages' delivery status ("SOAP response was a nack", "(500)Internal Server
 * Error", "Content is not allowed in prolog.", read timeouts…). Element names are matched by local
 * name, so any namespace prefix works.
 */
import { STATUS_CODES } from 'node:http';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type FailureKind = 'http-status' | 'fault' | 'nack' | 'malformed' | 'timeout' | 'connection';

export type AckResult = { ok: true } | { ok: false; kind: FailureKind; error: string };

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
});

type Node = Record<string, unknown>;

function child(node: unknown, name: string): unknown {
  if (typeof node !== 'object' || node === null) return undefined;
  const value = (node as Node)[name];
  return Array.isArray(value) ? value[0] : value;
}

function textOf(node: unknown): string {
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') return String(node).trim();
  if (typeof node === 'object' && node !== null && '#text' in node) return String((node as Node)['#text']).trim();
  return '';
}

function soapBody(xml: string): { body?: unknown; error?: string } {
  const trimmed = xml.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') return { error: 'Premature end of file: the response body is empty.' };
  if (!trimmed.startsWith('<')) return { error: 'org.xml.sax.SAXParseException: Content is not allowed in prolog.' };
  if (/<!DOCTYPE|<!ENTITY/i.test(trimmed)) return { error: 'The response declares a DOCTYPE or ENTITY.' };
  const valid = XMLValidator.validate(trimmed);
  if (valid !== true) return { error: `The response is not well-formed XML (line ${valid.err.line}: ${valid.err.msg}).` };
  const body = child(child(parser.parse(trimmed), 'Envelope'), 'Body');
  if (body === undefined) return { error: 'The response is not a SOAP envelope with a Body.' };
  return { body };
}

function faultText(fault: unknown): string {
  const code = textOf(child(fault, 'faultcode'));
  const message = textOf(child(fault, 'faultstring'));
  return [code, message].filter(Boolean).join(': ') || 'no faultstring';
}

export function readAck(status: number, xml: string): AckResult {
  const { body, error } = soapBody(xml);
  const fault = body === undefined ? undefined : child(body, 'Fault');
  if (status !== 200) {
    const detail = fault !== undefined ? ` SOAP fault ${faultText(fault)}` : '';
    return { ok: false, kind: 'http-status', error: `(${status})${STATUS_CODES[status] ?? ''}${detail}` };
  }
  if (error !== undefined) return { ok: false, kind: 'malformed', error };
  if (fault !== undefined) return { ok: false, kind: 'fault', error: `SOAP fault ${faultText(fault)}` };
  const response = child(body, 'notificationsResponse');
  if (response === undefined) return { ok: false, kind: 'malformed', error: 'The SOAP Body has no notificationsResponse element.' };
  const ack = textOf(child(response, 'Ack')).toLowerCase();
  if (ack === 'true' || ack === '1') return { ok: true };
  return { ok: false, kind: 'nack', error: 'SOAP response was a nack' };
}
