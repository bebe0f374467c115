/**
 * Access tokens: opaque strings shaped like Salesforce's (`<15-char org id>!AQ<random>`), valid for
 * the configured session timeout. An unknown, expired or revoked token is "Session expired or invalid".
 */
import { randomBytes } from 'node:crypto';

export type UserRole = 'integration' | 'admin';

export interface OrgUser {
  id: string;
  username: string;
  role: UserRole;
  /** Approved the app (or pre-authorized by the admin); JWT sign-in is refused otherwise. */
  approved: boolean;
}

export interface Session {
  user: OrgUser;
  issuedAt: number;
  expiresAt: number;
}

export class TokenStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly orgId15: string,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  issue(user: OrgUser): { token: string; session: Session } {
    const token = `${this.orgId15}!AQ${randomBytes(72).toString('base64url').replace(/-/g, '.')}`;
    const issuedAt = this.now();
    const session = { user, issuedAt, expiresAt: issuedAt + this.ttlMs };
    this.sessions.set(token, session);
    return { token, session };
  }

  resolve(token: string | undefined): Session | undefined {
    if (!token) return undefined;
    const session = this.sessions.get(token);
    if (!session) return undefined;
    if (this.now() >= session.expiresAt) {
      this.sessions.delete(token);
      return undefined;
    }
    return session;
  }

  /** Ends every session now, as an admin revoking sessions or a timeout would. */
  expireAll(): number {
    const n = this.sessions.size;
    this.sessions.clear();
    return n;
  }

  get active(): number {
    return this.sessions.size;
  }
}
