/**
 * Signs in with the OAuth 2.0 JWT bearer flow. There is no refresh token in this flow: renewing a
 * session means signing and POSTing a new assertion, which `signIn()` does. Concurrent callers
 * share one token request.
 */
import type { SalesforceConfig } from '../config/index.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { grantError } from './errors.js';
import { signAssertion } from './jwt.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface Token {
  accessToken: string;
  instanceUrl: string;
  /** The identity URL: `<login>/id/<orgId>/<userId>`. */
  id: string;
  organizationId: string;
  userId: string;
  issuedAt: number;
  scope?: string;
}

type AuthSettings = Pick<SalesforceConfig, 'loginUrl' | 'audience' | 'clientId' | 'username' | 'privateKey' | 'tokenTimeoutMs'>;

export class TokenProvider {
  private current?: Token;
  private pending?: Promise<Token>;
  /** Token requests sent, for metrics and tests. */
  signIns = 0;

  constructor(
    private readonly settings: AuthSettings,
    private readonly logger?: Logger,
  ) {}

  /** The cached token, or a new sign-in when there is none. */
  async token(): Promise<Token> {
    return this.current ?? this.signIn();
  }

  get cached(): Token | undefined {
    return this.current;
  }

  /** Signs a fresh assertion and requests a token; concurrent calls share one request. */
  signIn(): Promise<Token> {
    this.pending ??= this.requestToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async requestToken(): Promise<Token> {
    const { loginUrl, audience, clientId, username, privateKey, tokenTimeoutMs } = this.settings;
    const assertion = signAssertion({ clientId, username, audience, privateKey });
    const url = `${loginUrl}/services/oauth2/token`;
    this.signIns += 1;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }),
        signal: AbortSignal.timeout(tokenTimeoutMs),
      });
    } catch (error) {
      throw new AppError({
        code: 'SF_AUTH_UNAVAILABLE',
        message: `Could not reach the Salesforce token endpoint ${url} (${(error as Error).message}).`,
        hint: 'Check SF_LOGIN_URL and this host\'s network access.',
        retryable: true,
        cause: error,
      });
    }
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Not JSON: handled below by status.
    }
    if (response.ok && typeof body.access_token === 'string' && typeof body.instance_url === 'string') {
      const id = String(body.id ?? '');
      const [organizationId = '', userId = ''] = id.split('/').slice(-2);
      this.current = {
        accessToken: body.access_token,
        instanceUrl: String(body.instance_url).replace(/\/+$/, ''),
        id,
        organizationId,
        userId,
        issuedAt: Number(body.issued_at ?? Date.now()),
        scope: typeof body.scope === 'string' ? body.scope : undefined,
      };
      this.logger?.info({ instanceUrl: this.current.instanceUrl, organizationId, userId }, 'signed in to Salesforce with the JWT bearer flow');
      return this.current;
    }
    if (typeof body.error === 'string') {
      throw grantError(body.error, String(body.error_description ?? ''), response.status);
    }
    throw new AppError({
      code: 'SF_AUTH_UNAVAILABLE',
      message: `The Salesforce token endpoint ${url} answered HTTP ${response.status} without a token.`,
      hint: 'Check SF_LOGIN_URL; if it is right, Salesforce may be unavailable: try again later.',
      retryable: response.status >= 500,
      details: { status: response.status },
    });
  }
}
