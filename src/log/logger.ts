/**
 * One root pino logger per process; modules take a child with `{ module }`.
 * Errors are logged as `{ err: error }`, never as their message alone: the `err` serializer keeps the
 * type, message, stack, the AppError's `code`, `retryable`, `hint` and `details`, and the `cause`
 * chain as nested objects (pino's errWithCause), so a log line says what failed, where and why.
 * Redaction covers the secrets this service handles: access tokens, the JWT assertion, the private
 * key, Authorization headers and the outbound message SessionId.
 */
import { randomUUID } from 'node:crypto';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'access_token',
  'accessToken',
  '*.access_token',
  '*.accessToken',
  'assertion',
  '*.assertion',
  'privateKey',
  '*.privateKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'sessionId',
  '*.sessionId',
  'SessionId',
  '*.SessionId',
  // One level deeper (a token inside a client or response object); fast-redact matches whole paths.
  '*.*.access_token',
  '*.*.accessToken',
  '*.*.privateKey',
  '*.*.authorization',
  '*.*.sessionId',
  'err.config.headers.authorization',
  'err.config.headers.Authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  'token',
  '*.token',
  'password',
  '*.password',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      serializers: { err: pino.stdSerializers.errWithCause },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** Request ids we pass on as given: short, and only characters that are safe in a log line. */
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** The id of an HTTP request: the caller's `x-request-id` (Heroku's router sets one) or a new UUID. */
export function requestId(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given && REQUEST_ID.test(given) ? given : randomUUID();
}

/** A child logger carrying the request id the web app put on `res.locals.requestId`, when there is one. */
export function forRequest(logger: Logger, res: { locals: Record<string, unknown> }): Logger {
  const reqId = res.locals.requestId;
  return typeof reqId === 'string' ? logger.child({ reqId }) : logger;
}
