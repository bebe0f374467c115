/**
 * What a route module gets: the org state and three routers. Adding an endpoint is adding one
 * module under routes/ that registers on these and listing it in routes/index.ts.
 */
import type { RequestHandler, Router } from 'express';
import type { Session } from '../auth/tokens.js';
import type { EmulatorState } from '../state.js';

export interface RouteContext {
  state: EmulatorState;
  /** Server root (`/services/oauth2/…`, `/services/data`): no session needed, not metered. */
  root: Router;
  /**
   * Mounted at `/services/data/vXX.X`: the version is valid, the caller is signed in
   * (`apiLocals(res)`), JSON bodies are parsed. Put `ctx.metered(kind)` first on each route.
   */
  api: Router;
  /** Mounted at `/__admin`: the test-only admin API (JSON, no auth). */
  admin: Router;
  /**
   * Counts the call against the daily allowance under `kind`, sets Sforce-Limit-Info, answers 403
   * REQUEST_LIMIT_EXCEEDED past the allowance and injects 503s at the configured rate.
   */
  metered(kind: string): RequestHandler;
}

export type RouteModule = (ctx: RouteContext) => void;

export interface ApiLocals {
  session: Session;
  /** e.g. "68.0" */
  apiVersion: string;
}

export function apiLocals(res: { locals: Record<string, unknown> }): ApiLocals {
  return res.locals as unknown as ApiLocals;
}
