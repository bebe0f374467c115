/** The Salesforce boundary: JWT bearer sign-in, the REST client and error classification. */
import type { SalesforceConfig } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { SalesforceClient, type ClientOptions } from './client.js';

export { SalesforceClient, COLLECTIONS_MAX } from './client.js';
export type { ApiUsage, CallKind, ClientOptions, OrgLimits, QueryPage, RecordError, RecordUpdate, SaveResult } from './client.js';
export { TokenProvider, JWT_BEARER_GRANT, type Token } from './auth.js';
export { signAssertion, MAX_ASSERTION_LIFETIME_SECONDS } from './jwt.js';
export { classifySalesforceError, isRetryableRecordError, salesforceErrorCode } from './errors.js';

/** Signs in with the JWT bearer flow and returns the process's client. */
export function connectSalesforce(config: SalesforceConfig, logger?: Logger, options: Omit<ClientOptions, 'logger'> = {}): Promise<SalesforceClient> {
  return SalesforceClient.connect(config, { ...options, logger: logger?.child({ module: 'salesforce' }) });
}
