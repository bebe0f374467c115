/**
 * One error type for the project: a string `code` from the registry below, a `retryable` flag that
 * the queue boundary reads to decide retries, an optional `hint` that tells the operator what to do,
 * and the underlying `cause`.
 */

export const ERROR_CODES = {
  CONFIG_INVALID: 'A configuration variable is missing or malformed.',
  SF_AUTH_FAILED: 'Salesforce refused the JWT bearer sign-in (invalid_grant / invalid_client_id).',
  SF_AUTH_UNAVAILABLE: 'The Salesforce token endpoint could not be reached or answered an unexpected status.',
  SF_SESSION_EXPIRED: 'The Salesforce session expired and signing in again did not help.',
  SF_REQUEST_LIMIT: 'The org has used its daily API allowance (REQUEST_LIMIT_EXCEEDED).',
  SF_UNAVAILABLE: 'Salesforce answered 5xx or could not be reached; try again later.',
  SF_RECORD_LOCKED: 'Salesforce could not lock the record (UNABLE_TO_LOCK_ROW); try again later.',
  SF_API_ERROR: 'Salesforce refused the request (an error that retrying will not fix).',
  SF_PERMISSION_DENIED: 'The Salesforce user lacks a permission the call needs (API Enabled, View Setup and Configuration).',
  SF_MALFORMED_QUERY: 'Salesforce could not parse the SOQL query.',
  SF_INVALID_ID: 'Salesforce refused a record id in a request as malformed (invalid ID field, MALFORMED_ID).',
  MODEL_INVALID: 'The ONNX model or its feature spec is missing, corrupt or does not match.',
  SCORING_FAILED: 'A record could not be scored.',
  INVALID_ID: 'A record id is not a valid Salesforce Account id (15 or 18 characters with the case checksum, key prefix 001); it was never sent to Salesforce.',
  ACCOUNT_BUSY: 'Another real-time batch held the Account for too long; it was recorded as failed so an operator can retry it.',
  TRAINING_DATA_INVALID: 'The training data is missing columns, has bad labels or a single class.',
  OUTBOUND_MALFORMED: 'An outbound message is not a well-formed Salesforce notifications envelope.',
  OUTBOUND_LIMIT: 'An outbound message goes past what the receiver reads (nesting, elements, attributes, value sizes or parse time).',
  OUTBOUND_UNAUTHORIZED: 'An outbound message came without the shared secret of the endpoint URL, or from a network that is not allowed.',
  QUEUE_UNAVAILABLE: 'Redis did not answer in time; nothing was acknowledged.',
  EMULATOR_SETUP: 'The local org emulator was started with options it cannot use.',
  NIGHTLY_FILTER_INVALID: 'A re-scoring filter (--where) is not a single plain SOQL condition.',
  DB_UNAVAILABLE: 'PostgreSQL (DATABASE_URL) did not answer, or is required and not configured.',
  DB_SCHEMA_OUTDATED: 'The database schema is not the version this code expects (run db migrate).',
  MODEL_NOT_FOUND: 'No model version with that name is in the registry.',
  MODEL_TRANSITION_INVALID: 'The model registry cannot make that change (e.g. promote a retired version, roll back with no previous champion).',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AppErrorOptions {
  code: ErrorCode;
  message: string;
  retryable?: boolean;
  /** What the operator should do about it, in one sentence. */
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts (a Salesforce errorCode, an HTTP status, a field name). */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;
  /** The message without the hint (`message` is both, for callers that print only `message`). */
  readonly problem: string;

  constructor(options: AppErrorOptions) {
    super(options.hint ? `${options.message} ${options.hint}` : options.message, { cause: options.cause });
    this.name = 'AppError';
    this.problem = options.message;
    this.code = options.code;
    this.retryable = options.retryable ?? false;
    this.hint = options.hint;
    this.details = options.details;
  }
}

export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || error.code === code);
}
