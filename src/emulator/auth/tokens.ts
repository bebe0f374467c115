/**
 * Access tokens: opaque strings shaped like Salesforce's (`<15-char org id>!AQ<random>`), valid for
 * the configured session timeout. An unknown, expired or revoked token is "Session expired or invalid".
 */
import { randomBytes } from 'node:crypto';

export type UserRole = 'integration' | 'admin';

/**
 * The user permissions and object access the worker's calls need, by their API names in a
 * permission set (`userPermissions` ApiEnabled and ViewSetup; `objectPermissions` on Account). The
 * emulator enforces each on the resources that need it (see http/permissions.ts).
 */
export interface UserPermissions {
  /** "API Enabled": every REST and Bulk API call. */
  ApiEnabled: boolean;
  /** "View Setup and Configuration": GET /limits (REST API Developer Guide, "Limits"). */
  ViewSetup: boolean;
  /** Read on Account: SOQL, describe, Bulk query jobs. */
  AccountRead: boolean;
  /** Edit on Account: sObject Collections updates, Bulk ingest jobs. */
  AccountEdit: boolean;
}

/** What the Churn_Worker_Integration permission set grants (a test compares the two). */
export const INTEGRATION_PERMISSIONS: Readonly<UserPermissions> = Object.freeze({ ApiEnabled: true, ViewSetup: true, AccountRead: true, AccountEdit: true });

export interface OrgUser {
  id: string;
  username: string;
  role: UserRole;
  /**
   * May use the app: pre-authorized by the admin (the app's permission set or profile is assigned)
   * when the app's permitted users are "Admin approved users are pre-authorized", or approved by
   * the user when they are "All users may self-authorize". JWT sign-in is refused otherwise.
   */
  approved: boolean;
  permissions: UserPermissions;
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
