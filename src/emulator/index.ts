/**
 * The local Salesforce org emulator: an HTTP server that answers the parts of the REST API and the
 * OAuth JWT bearer flow this worker uses, with Salesforce's response shapes and errors. For tests,
 * the demo and benchmarks; the worker's production code never imports it.
 *
 *   const org = await startEmulator({ accounts: 4500 });
 *   // sign in at `${org.url}/services/oauth2/token` with org.privateKey, org.consumerKey, org.username
 *   await org.close();
 */
import type { KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { createApp } from './http/app.js';
import { resolveOptions, type EmulatorOptions } from './options.js';
import { ROUTE_MODULES } from './routes/index.js';
import { EmulatorState } from './state.js';
import type { OutboundSender } from './outbound/sender.js';
import type { RouteModule } from './http/context.js';

export type { EmulatorOptions } from './options.js';
export type { AccountChange, AccountDelete, AccountRead } from './store.js';
export type { RouteContext, RouteModule } from './http/context.js';
export { EmulatorState } from './state.js';
export type { DeliveredNotification, DroppedNotification, NotificationStatus, OutboundConfig, OutboundStats, OutboundSender } from './outbound/sender.js';

export interface RunningEmulator {
  /** Base URL, e.g. http://127.0.0.1:8787: the login URL, instance URL and a valid JWT audience. */
  url: string;
  port: number;
  orgId: string;
  consumerKey: string;
  /** The integration user's username (JWT `sub`). */
  username: string;
  adminUsername: string;
  /** Present when no certificate was given and the emulator generated the key pair. */
  privateKey?: KeyObject;
  /** The org: store (with change events), counters, limits, faults, tokens. */
  state: EmulatorState;
  /** Outbound Messages (same object as `state.outbound`): stats(), idle(), onDelivered(), configure(), flush(). */
  outbound: OutboundSender;
  /** Milliseconds spent generating data and starting the server. */
  startupMs: number;
  /** Stops listening and drops open connections; safe to call twice. */
  close(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}, extraModules: readonly RouteModule[] = []): Promise<RunningEmulator> {
  const started = performance.now();
  const resolved = resolveOptions(options);
  const state = new EmulatorState(resolved);
  const app = createApp(state, [...ROUTE_MODULES, ...extraModules]);
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = resolved.host === '0.0.0.0' || resolved.host === '::' ? '127.0.0.1' : resolved.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  state.baseUrl = url;
  for (const h of [url, `http://127.0.0.1:${port}`, `http://localhost:${port}`, ...resolved.audiences]) state.audiences.add(h.replace(/\/+$/, ''));

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve, reject) => {
      state.outbound.close();
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    });
    return closing;
  };
  const startupMs = performance.now() - started;
  state.logger?.info({ url, accounts: resolved.accounts, startupMs: Math.round(startupMs) }, 'emulator listening');
  return {
    url,
    port,
    orgId: state.orgId,
    consumerKey: state.consumerKey,
    username: state.integrationUser.username,
    adminUsername: state.adminUser.username,
    privateKey: state.generatedPrivateKey,
    state,
    outbound: state.outbound,
    startupMs,
    close,
  };
}
