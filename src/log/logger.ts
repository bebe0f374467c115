/**
 * One root pino logger per process; modules take a child with `{ module }`.
 * Redaction covers the secrets this service handles: access tokens, the JWT assertion, the private
 * key, Authorization headers and the outbound message SessionId.
 */
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
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
