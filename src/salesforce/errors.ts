/**
 * Salesforce errors, classified in one place by their `errorCode` / `statusCode`.
 * jsforce does not export its error class; its `name` and `errorCode` carry Salesforce's code.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 */
import { AppError } from '../core/errors.js';

/** Per-record status codes that succeed when tried again later. */
const RETRYABLE_RECORD_CODES = new Set(['UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'REQUEST_RUNNING_TOO_LONG', 'QUERY_TIMEOUT']);

export function isRetryableRecordError(statusCode: string): boolean {
  return RETRYABLE_RECORD_CODES.has(statusCode);
}

/** What the OAuth token endpoint's `error_description` means, and what the admin should do. */
const GRANT_HINTS: Array<[RegExp, string]> = [
  [/hasn't approved this consumer|not approved/i, 'Pre-authorize the app for this user: set the app\'s permitted users to "Admin approved users are pre-authorized" and assign the Churn_Worker_Integration permission set to the user.'],
  [/audience is invalid/i, 'Set SF_AUDIENCE (or SF_LOGIN_URL) to https://login.salesforce.com for production or https://test.salesforce.com for a sandbox; never the My Domain URL.'],
  [/expired authorization code/i, 'The assertion\'s exp was rejected: check this machine\'s clock (it must be within a few minutes of real time).'],
  [/invalid assertion|invalid signature/i, 'The signature did not verify: SF_PRIVATE_KEY must be the private key of the certificate uploaded to the app.'],
  [/user hasn't been approved|invalid user|user is not|inactive user|unknown user|invalid_user/i, 'Check SF_USERNAME: it must be an active user of this org (sandbox usernames carry a suffix).'],
  [/client identifier invalid|invalid_client_id/i, 'Check SF_CLIENT_ID: it must be the consumer key of the External Client App (or Connected App) in this org.'],
  [/ip restricted|ip address/i, 'Relax the app\'s IP restrictions or allow this host\'s IP address.'],
];

export function grantError(error: string, description: string, status: number): AppError {
  const hint = GRANT_HINTS.find(([pattern]) => pattern.test(description) || pattern.test(error))?.[1];
  return new AppError({
    code: 'SF_AUTH_FAILED',
    message: `Salesforce refused the JWT bearer sign-in: ${error}: ${description}.`,
    hint: hint ?? 'Check SF_CLIENT_ID, SF_USERNAME, SF_PRIVATE_KEY and SF_LOGIN_URL against the app in Setup.',
    details: { error, description, status },
  });
}

interface SalesforceLikeError {
  name?: string;
  errorCode?: string;
  message?: string;
  code?: string;
  data?: unknown;
}

/** The Salesforce error code carried by a jsforce / fetch error, if any. */
export function salesforceErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as SalesforceLikeError;
  return e.errorCode ?? (e.name && /^[A-Z_0-9]+$/.test(e.name) ? e.name : undefined);
}

/** Turns anything a Salesforce call throws into an AppError with the right code and retry flag. */
export function classifySalesforceError(error: unknown, action: string): AppError {
  if (error instanceof AppError) return error;
  const code = salesforceErrorCode(error) ?? '';
  const message = error instanceof Error ? error.message : String(error);
  const details = { salesforceErrorCode: code || undefined, action };
  if (code === 'INVALID_SESSION_ID') {
    return new AppError({ code: 'SF_SESSION_EXPIRED', message: `${action}: the session expired and could not be renewed (${message}).`, details, cause: error });
  }
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    return new AppError({
      code: 'SF_REQUEST_LIMIT',
      message: `${action}: the org has used its daily API allowance (${message}).`,
      hint: 'Wait for the rolling 24-hour window to free calls, or raise the org\'s allowance.',
      retryable: true,
      details,
      cause: error,
    });
  }
  if (code === 'UNABLE_TO_LOCK_ROW') {
    return new AppError({ code: 'SF_RECORD_LOCKED', message: `${action}: ${message}`, retryable: true, details, cause: error });
  }
  // "invalid ID field: 001Ri00000m5tYv999": one id of the request is refused, the others are fine.
  const badId = /invalid ID field:\s*'?([A-Za-z0-9]{1,40})/i.exec(message)?.[1];
  if (code === 'MALFORMED_ID' || (code === 'INVALID_QUERY_FILTER_OPERATOR' && badId !== undefined)) {
    return new AppError({ code: 'SF_INVALID_ID', message: `${action}: ${code}: ${message.slice(0, 300)}`, details: { ...details, id: badId }, cause: error });
  }
  if (code === 'MALFORMED_QUERY' || code === 'INVALID_FIELD' || code === 'INVALID_TYPE') {
    return new AppError({ code: 'SF_MALFORMED_QUERY', message: `${action}: ${code}: ${message}`, details, cause: error });
  }
  const status = /^ERROR_HTTP_(\d{3})$/.exec(code)?.[1];
  const networkCode = (error as SalesforceLikeError)?.code;
  if (
    code === 'SERVER_UNAVAILABLE' ||
    (status !== undefined && Number(status) >= 500) ||
    (error instanceof Error && (error.name === 'FetchError' || error.name === 'AbortError' || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up/.test(`${networkCode} ${message}`)))
  ) {
    return new AppError({ code: 'SF_UNAVAILABLE', message: `${action}: Salesforce is unavailable (${code || message}).`, retryable: true, details, cause: error });
  }
  return new AppError({ code: 'SF_API_ERROR', message: `${action}: ${code ? `${code}: ` : ''}${message}`, details, cause: error });
}
