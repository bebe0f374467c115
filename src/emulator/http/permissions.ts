/**
 * Per-user permissions on the resources the worker uses, with the refusals Salesforce gives. Where
 * the documentation names the permission it is cited; the error bodies are Salesforce's REST error
 * shape, and where no Salesforce page gives the exact code and text the choice is marked as an
 * assumption (docs/salesforce-setup.md, "Permissions the emulator enforces", lists them all).
 *
 * - ApiEnabled off: every /services/data call answers 403 `API_CURRENTLY_DISABLED` "API is disabled
 *   for this User" (the code and text integrators report; status 403 from the REST API's status
 *   codes, "The request has been refused. Verify that the logged-in user has appropriate
 *   permissions"; assumption: not counted against the allowance, like 401s).
 * - ViewSetup off: GET /limits answers 403 `API_DISABLED_FOR_ORG` "limits resource is not enabled"
 *   (the Limits resource is "available … for API users with the View Setup and Configuration
 *   permission", REST API Developer Guide, resources_limits.htm; code and text as integrators report
 *   them, e.g. help.crossbeam.com 4136739; the status is an assumption from the status codes page).
 *   The call is counted and carries Sforce-Limit-Info like any other (assumption).
 * - AccountRead off: SOQL and Bulk query jobs on Account answer 400 `INVALID_TYPE` "sObject type
 *   'Account' is not supported." (Salesforce's answer for an object the user cannot see; assumption
 *   for the Bulk job, which wraps it as `INVALIDJOB`), describe answers 404 `NOT_FOUND` (assumption).
 * - AccountEdit off: each record of an update fails `INSUFFICIENT_ACCESS_OR_READONLY` "insufficient
 *   access rights on object id" (assumption), in sObject Collections and Bulk ingest alike.
 */
import type { RequestHandler } from 'express';
import type { UserPermissions } from '../auth/tokens.js';
import { apiLocals } from './context.js';
import { sendApiError } from './errors.js';

export const PERMISSION_REFUSALS = {
  ApiEnabled: { status: 403, errorCode: 'API_CURRENTLY_DISABLED', message: 'API is disabled for this User' },
  ViewSetup: { status: 403, errorCode: 'API_DISABLED_FOR_ORG', message: 'limits resource is not enabled' },
  AccountRead: {
    status: 400,
    errorCode: 'INVALID_TYPE',
    message: "sObject type 'Account' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
  },
} as const;

export const NO_EDIT_ACCESS = { statusCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'insufficient access rights on object id' } as const;

/** Refuses the call, as Salesforce does, when the signed-in user lacks the permission. */
export function requirePermission(permission: keyof typeof PERMISSION_REFUSALS & keyof UserPermissions): RequestHandler {
  return (_req, res, next) => {
    if (apiLocals(res).session.user.permissions[permission]) return next();
    const refusal = PERMISSION_REFUSALS[permission];
    sendApiError(res, refusal.status, refusal.errorCode, refusal.message);
  };
}
