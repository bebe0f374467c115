/**
 * POST /services/oauth2/token with the JWT bearer grant. Token requests do not count against the
 * API allowance. Success: {access_token, scope, instance_url, id, token_type, issued_at}.
 */
import express from 'express';
import { checkAssertion } from '../auth/jwt-bearer.js';
import type { RouteModule } from '../http/context.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export const registerOAuth: RouteModule = ({ root, state }) => {
  root.post('/services/oauth2/token', express.urlencoded({ extended: false }), (req, res) => {
    state.counters.count('token', false);
    res.set('Cache-Control', 'no-cache,must-revalidate,max-age=0,no-store,private');
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.grant_type !== JWT_BEARER_GRANT) {
      res.status(400).json({ error: 'unsupported_grant_type', error_description: 'grant type not supported' });
      return;
    }
    const outcome = checkAssertion(body.assertion, {
      consumerKey: state.consumerKey,
      publicKey: state.publicKey,
      audiences: state.audiences,
      users: state.users,
      nowMs: state.now(),
      permittedUsers: state.permittedUsers,
      maxLifetimeSeconds: state.options.maxAssertionLifetimeSeconds,
    });
    if ('error' in outcome) {
      state.logger?.warn({ error: outcome.error, reason: outcome.reason }, 'token request refused');
      res.status(400).json({ error: outcome.error, error_description: outcome.description });
      return;
    }
    if (outcome.expAheadSeconds > 300) {
      // Accepted, as Salesforce does (its CLI sends exp in milliseconds), but worth a line in the log.
      state.logger?.info({ username: outcome.user.username, expAheadSeconds: Math.round(outcome.expAheadSeconds) }, 'assertion exp is more than 5 minutes ahead (Salesforce documents 3); accepted');
    }
    const { token, session } = state.tokens.issue(outcome.user);
    state.logger?.info({ username: outcome.user.username }, 'token issued');
    res.json({
      access_token: token,
      scope: 'api',
      instance_url: state.baseUrl,
      id: `${state.baseUrl}/id/${state.orgId}/${outcome.user.id}`,
      token_type: 'Bearer',
      issued_at: String(session.issuedAt),
    });
  });
};
