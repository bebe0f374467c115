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

/**
 * Refusals for a permission the integration user lacks, and the fix. The codes and texts are those
 * Salesforce users report (the REST API documents only the 403 status, "Verify that the logged-in
 * user has appropriate permissions"); the emulator gives the same (src/emulator/http/permissions.ts).
 */
const PERMISSION_HINTS: Array<[readonly string[], RegExp, string]> = [
  [['API_DISABLED_FOR_ORG'], /limits/i, 'Reading /limits needs the "View Setup and Configuration" permission: assign the Churn_Worker_Integration permission set to the integration user (it grants it). Until then the worker reads the allowance from the Sforce-Limit-Info header.'],
  [['API_CURRENTLY_DISABLED'], /./, 'The integration user lacks the "API Enabled" permission: assign the Churn_Worker_Integration permission set to it (it grants API Enabled).'],
  [['API_DISABLED_FOR_ORG'], /./, 'The org has no API access (its edition or an org setting): ask the Salesforce admin to enable the API for the org.'],
];

/** What the OAuth token endpoint's `error_description` means, and what the admin should do. */
const GRANT_HINTS: Array<[RegExp, string]> = [
  // invalid_app_access: the app is admin-approved and this user holds none of the profiles or
  // permission sets it pre-authorizes (nothing to do with SF_USERNAME being wrong).
  [/invalid_app_access|not admin approved/i, 'The app only admits pre-authorized users ("Admin approved users are pre-authorized") and this user is not one: assign the Churn_Worker_Integration permission set to SF_USERNAME, and check that the app pre-authorizes that permission set (External Client App Manager → Churn Worker → Policies → App Policies → Selected Permission Sets; for a Connected App: Manage → Permission Sets).'],
  [/hasn't approved this consumer|not approved/i, 'Either SF_USERNAME is not a user of this org (a sandbox username carries a suffix), or the app lets users self-authorize and this one never did: set the app\'s Permitted Users to "Admin approved users are pre-authorized" and assign the Churn_Worker_Integration permission set to the user.'],
  [/audience is invalid/i, 'Set SF_AUDIENCE (or SF_LOGIN_URL) to https://login.salesforce.com for production or https://test.salesforce.com for a sandbox; never the My Domain URL.'],
  [/expired authorization code/i, 'The assertion\'s exp was rejected: check this machine\'s clock (it must be within a few minutes of real time).'],
  [/invalid assertion|invalid signature/i, 'The signature did not verify: SF_PRIVATE_KEY must be the private key of the certificate uploaded to the app.'],
  [/user hasn't been approved|invalid user|inactive user|unknown user|invalid_user/i, 'Check SF_USERNAME: it must be an active user of this org (sandbox usernames carry a suffix).'],
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
  const permission = PERMISSION_HINTS.find(([codes, pattern]) => codes.includes(code) && pattern.test(message));
  if (permission) {
    return new AppError({ code: 'SF_PERMISSION_DENIED', message: `${action}: ${code}: ${message}.`, hint: permission[2], details, cause: error });
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
