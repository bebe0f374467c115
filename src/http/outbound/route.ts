/**
 * The Outbound Message receiver: check the sender (before reading the body), parse, enqueue durably,
 * and only then Ack. Anything else is a SOAP fault, so Salesforce keeps the message and retries it
 * later; the faultstring is what an admin reads in Setup → Outbound Messages. Every answer of this
 * route is SOAP, errors included: never an HTML page or a stack trace.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../../core/errors.js';
import { forRequest, type Logger } from '../../log/logger.js';
import { outboundNotifications, outboundRefusals } from '../../observability/metrics.js';
import type { RealtimeIntake } from '../../queue/realtime-intake.js';
import { OutboundRefusal, readOutboundMessage, type ParseLimits } from './envelope.js';
import { senderCheck } from './sender-auth.js';
import { ACK_BODY, faultBody } from './soap.js';

export interface OutboundRouteOptions {
  path: string;
  /** The org whose messages are accepted; without it every message is refused. */
  orgId?: string;
  /** The `token` query parameter every message's URL must carry; undefined: not checked. */
  secret?: string;
  /** Source networks messages may come from (CIDR); empty: any. */
  allowedNetworks?: readonly string[];
  maxBodyBytes: number;
  enqueueTimeoutMs: number;
  /** Parser limits (tests); the defaults suit every message Salesforce sends. */
  limits?: Partial<ParseLimits>;
  intake: RealtimeIntake;
  logger: Logger;
}

function sendXml(res: Response, status: number, body: string): void {
  res.status(status).type('text/xml; charset=utf-8').send(body);
}

function refuse(res: Response, logger: Logger, refusal: { status: number; reason: string; message: string }): void {
  outboundRefusals.inc({ reason: refusal.reason });
  logger.warn({ reason: refusal.reason, status: refusal.status }, `outbound message refused: ${refusal.message}`);
  sendXml(res, refusal.status, faultBody(refusal.status >= 500 ? 'Server' : 'Client', refusal.message));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new AppError({ code: 'QUEUE_UNAVAILABLE', message: `Redis did not answer within ${ms} ms.`, retryable: true })), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function outboundRouter(options: OutboundRouteOptions): Router {
  const { logger } = options;
  const router = Router();
  const checkSender = senderCheck({ secret: options.secret, allowedNetworks: options.allowedNetworks ?? [] });
  // Salesforce sends text/xml; accept any type and read the body as text, up to the limit.
  const body = express.text({ type: () => true, limit: options.maxBodyBytes, defaultCharset: 'utf-8' });

  const gate = (req: Request, res: Response, next: NextFunction) => {
    const log = forRequest(logger, res);
    if (!options.orgId) {
      return refuse(res, log, { status: 503, reason: 'not-configured', message: 'This receiver has no SF_ORG_ID configured, so it accepts no messages yet. Set SF_ORG_ID on the web process.' });
    }
    const verdict = checkSender(req);
    if (!verdict.ok) return refuse(res, log, new OutboundRefusal('OUTBOUND_UNAUTHORIZED', verdict.status, verdict.reason, verdict.message));
    next();
  };

  router.post(options.path, gate, body, async (req: Request, res: Response) => {
    const log = forRequest(logger, res);
    let message;
    try {
      message = await readOutboundMessage(typeof req.body === 'string' ? req.body : '', { organizationId: options.orgId, limits: options.limits });
    } catch (error) {
      if (error instanceof OutboundRefusal) return refuse(res, log, error);
      throw error;
    }
    outboundNotifications.inc({ outcome: 'received' }, message.notifications.length + message.withoutData.length);
    if (message.withoutData.length > 0) {
      // The record was deleted before Salesforce sent the message: nothing to score.
      outboundNotifications.inc({ outcome: 'without-data' }, message.withoutData.length);
      log.info({ notifications: message.withoutData.length }, 'notifications without record data skipped (records deleted before sending)');
    }
    try {
      const result = await withTimeout(
        options.intake.enqueue(message.notifications.map((n) => ({ notificationId: n.id, accountId: n.recordId }))),
        options.enqueueTimeoutMs,
      );
      outboundNotifications.inc({ outcome: 'acked' }, message.notifications.length + message.withoutData.length);
      if (result.duplicates > 0) outboundNotifications.inc({ outcome: 'deduplicated' }, result.duplicates);
      log.debug({ notifications: message.notifications.length, enqueued: result.enqueued, duplicates: result.duplicates }, 'outbound message enqueued');
      sendXml(res, 200, ACK_BODY);
    } catch (error) {
      log.error({ err: error }, 'could not enqueue an outbound message; answering a fault so Salesforce retries');
      refuse(res, log, {
        status: 500,
        reason: 'queue-unavailable',
        message: 'The receiver could not store the notifications (queue unavailable); Salesforce will retry this message.',
      });
    }
  });

  // Body-reading errors (too large, bad encoding) and anything unexpected become faults too.
  router.use(options.path, (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const log = forRequest(logger, res);
    const e = error as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') {
      return refuse(res, log, { status: 413, reason: 'too-large', message: `The message is larger than ${options.maxBodyBytes} bytes.` });
    }
    if (typeof e.status === 'number' && e.status < 500) {
      const text = String(e.message ?? 'bad request');
      return refuse(res, log, { status: 400, reason: 'unreadable-body', message: `The request body could not be read: ${text.length > 100 ? `${text.slice(0, 100)}…` : text}.` });
    }
    log.error({ err: error }, 'outbound message failed unexpectedly');
    refuse(res, log, { status: 500, reason: 'internal', message: 'The receiver failed unexpectedly; Salesforce will retry this message.' });
  });

  return router;
}
