/** Shared helpers for the emulator's integration tests: sign in and call the API over real HTTP. */
import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';

export const API = '/services/data/v68.0';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export function startOrg(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ accounts: 500, ...options });
}

export interface AssertionOverrides {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  key?: KeyObject;
  algorithm?: jwt.Algorithm;
}

export function assertion(org: RunningEmulator, o: AssertionOverrides = {}): string {
  const claims = {
    iss: o.iss ?? org.consumerKey,
    sub: o.sub ?? org.username,
    aud: o.aud ?? org.url,
    exp: o.exp ?? Math.floor(org.state.now() / 1000) + 180,
  };
  return jwt.sign(claims, o.key ?? org.privateKey!, { algorithm: o.algorithm ?? 'RS256', noTimestamp: true });
}

export async function requestToken(org: RunningEmulator, assertionJwt: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${org.url}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: JWT_BEARER, assertion: assertionJwt }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function signIn(org: RunningEmulator, o: AssertionOverrides = {}): Promise<string> {
  const { status, body } = await requestToken(org, assertion(org, o));
  if (status !== 200) throw new Error(`sign-in failed: ${JSON.stringify(body)}`);
  return String(body.access_token);
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = unknown>(org: RunningEmulator, token: string | undefined, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
  const res = await fetch(`${org.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

export function query<T = QueryPage>(org: RunningEmulator, token: string, soql: string): Promise<ApiResponse<T>> {
  return call<T>(org, token, `${API}/query?q=${encodeURIComponent(soql)}`);
}

export interface QueryPage {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Array<Record<string, unknown> & { attributes: { type: string; url: string } }>;
}

export type SfErrors = Array<{ message: string; errorCode: string }>;

export function admin<T = unknown>(org: RunningEmulator, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  return call<T>(org, undefined, `/__admin${path}`, { method, body });
}
