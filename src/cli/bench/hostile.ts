/**
 * `churn-worker bench hostile`: the receiver under attack, on the whole local stack (emulator, web
 * process, worker process, Redis):
 * 1. spoofed senders: 10,000 notifications for random, well-formed Account ids, posted without the
 *    endpoint URL's secret; the Salesforce API calls the org spends on them afterwards;
 * 2. the refusal time of a 2 MB body of nested elements (and of other hostile shapes), one at a time,
 *    sent with the secret (the worst case: a sender who has it);
 * 3. `/healthz` latency, probed every 10 ms from another process, while deep and wide 2 MB bodies
 *    arrive at full speed from several connections;
 * 4. the race of two messages naming the same 100 Accounts 400 ms apart against a Salesforce that
 *    answers in 1.5 s: Accounts written more than once.
 * The last stdout line is one JSON object with the figures.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { to18 } from '../../core/record-id.js';
import type { Benchmark } from '../commands/bench.js';
import { startStack, type Stack } from '../stack.js';
import { load } from './http-load.js';

const usage = `Usage: churn-worker bench hostile [--spoofed 10000] [--deep-bytes 1990000 | --depth N] [--deep-requests 200]
                                [--seconds 10] [--connections 8] [--race-accounts 100] [--race-latency-ms 1500]

Prints each part, then (last stdout line) one JSON object: spoofedNotifications, spoofedApiCalls,
deepRefusalMs {p50, p99, max}, shapesMaxMs, healthzUnderFloodMs {p50, p99, max}, raceDoubleWrites, …
Needs Redis at REDIS_URL.`;

/** A well-formed 18-character id (the case checksum is right) with a random body. */
function randomId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let body = prefix;
  const bytes = randomBytes(15);
  for (let i = prefix.length; i < 15; i++) body += alphabet[bytes[i]! % alphabet.length];
  return to18(body);
}

function envelope(orgId: string, accountIds: readonly string[]): string {
  const items = accountIds
    .map(
      (id) =>
        `<Notification><Id>${randomId('04l')}</Id><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">` +
        `<sf:Id>${id}</sf:Id><sf:Contract_Type__c>Month-to-month</sf:Contract_Type__c></sObject></Notification>`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
    `<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>${orgId}</OrganizationId><ActionId>04k000000000001AAA</ActionId>${items}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

const ENV_OPEN = '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>';
const ENV_CLOSE = '</soapenv:Body></soapenv:Envelope>';

/** The hostile bodies, about `bytes` long each. */
function shapes(bytes: number, orgId: string, depth?: number): Record<string, string> {
  const levels = depth ?? Math.floor((bytes - 100) / 7);
  const inSObject = (inner: string) =>
    envelope(orgId, ['001000000000001AAA']).replace('<sf:Contract_Type__c>', `${inner}<sf:Contract_Type__c>`);
  return {
    deep: ENV_OPEN + '<a>'.repeat(levels) + '</a>'.repeat(levels) + ENV_CLOSE,
    deepInSObject: inSObject('<sf:x>'.repeat(Math.floor(bytes / 14)) + '</sf:x>'.repeat(Math.floor(bytes / 14))),
    wide: inSObject('<sf:x/>'.repeat(Math.floor(bytes / 7))),
    attributes: inSObject(`<sf:x ${Array.from({ length: Math.floor(bytes / 12) }, (_, i) => `a${i.toString(36)}="1"`).join(' ')}/>`),
    namespaces: inSObject(`<sf:x ${Array.from({ length: Math.floor(bytes / 22) }, (_, i) => `xmlns:p${i.toString(36)}="urn:x"`).join(' ')}/>`),
    bigText: inSObject(`<sf:x>${'x'.repeat(bytes)}</sf:x>`),
    entities: inSObject(`<sf:x>${'&#65;'.repeat(Math.floor(bytes / 5))}</sf:x>`),
    bigAttribute: inSObject(`<sf:x a="${'v'.repeat(bytes)}"/>`),
  };
}

function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { p50: round(at(50)), p99: round(at(99)), max: round(s[s.length - 1] ?? Number.NaN) };
}

async function timedPost(url: string, body: string): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body });
  await res.arrayBuffer();
  return { ms: performance.now() - started, status: res.status };
}

/** Probes `url` every `everyMs` from a separate process (so the load generator's loop does not skew it). */
function probe(url: string, seconds: number, everyMs = 10): Promise<number[]> {
  const code = `
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const out = []; const until = Date.now() + ${seconds * 1000};
    const once = () => new Promise((resolve) => {
      const t = process.hrtime.bigint();
      const req = http.get(${JSON.stringify(url)}, { agent }, (res) => { res.resume(); res.on('end', () => { out.push(Number(process.hrtime.bigint() - t) / 1e6); resolve(); }); });
      req.on('error', () => { out.push(Number(process.hrtime.bigint() - t) / 1e6); resolve(); });
    });
    (async () => { while (Date.now() < until) { await once(); await new Promise((r) => setTimeout(r, ${everyMs})); } process.stdout.write(JSON.stringify(out)); agent.destroy(); })();
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(text) as number[]);
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

async function quiet(stack: Stack, stableMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = stack.org.state.limits.apiUsed;
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = stack.org.state.limits.apiUsed;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= stableMs) return;
  }
}

export const benchmark: Benchmark = {
  summary: 'Hostile input: spoofed senders, deep and wide bodies, /healthz under a flood, the concurrent-batch race.',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        spoofed: { type: 'string', default: '10000' },
        // Just under OUTBOUND_MAX_BODY_BYTES (2,000,000): bigger bodies are refused by size, unparsed.
        'deep-bytes': { type: 'string', default: '1990000' },
        depth: { type: 'string' },
        'deep-requests': { type: 'string', default: '200' },
        seconds: { type: 'string', default: '10' },
        connections: { type: 'string', default: '8' },
        'race-accounts': { type: 'string', default: '100' },
        'race-latency-ms': { type: 'string', default: '1500' },
      },
    });
    const spoofedCount = Number(values.spoofed);
    const deepBytes = Number(values['deep-bytes']);
    const depth = values.depth === undefined ? undefined : Number(values.depth);
    const deepRequests = Number(values['deep-requests']);
    const seconds = Number(values.seconds);
    const connections = Number(values.connections);
    const raceAccounts = Number(values['race-accounts']);
    const raceLatencyMs = Number(values['race-latency-ms']);
    if (!(spoofedCount >= 100 && spoofedCount % 100 === 0) || !(deepRequests >= 1) || !(raceAccounts >= 1 && raceAccounts <= 200)) {
      console.error('churn-worker bench hostile: --spoofed takes a multiple of 100, --deep-requests ≥ 1, --race-accounts 1..200');
      return 2;
    }
    const config = loadConfig();
    const stack = await startStack({ redisUrl: config.redisUrl, accounts: Math.max(1_000, raceAccounts + 10), env: { REALTIME_WINDOW_MS: '250' } });
    try {
      // Older stacks had no secret: then the receiver takes messages without one.
      const secret = (stack as Partial<Stack>).outboundSecret;
      const base = `http://127.0.0.1:${stack.web.port}`;
      const endpoint = `${base}/salesforce/outbound/account`;
      const withSecret = secret ? `${endpoint}?token=${secret}` : endpoint;
      const orgId = stack.org.orgId;

      // 1. Spoofed senders: no secret, the right org id, random well-formed Account ids.
      console.error(`spoofed: ${spoofedCount} notifications in messages of 100, without the secret…`);
      await quiet(stack, 1_000, 30_000);
      const apiBefore = stack.org.state.limits.apiUsed;
      const statuses = new Map<number, number>();
      const messages = Array.from({ length: spoofedCount / 100 }, () => envelope(orgId, Array.from({ length: 100 }, () => randomId('001'))));
      for (let i = 0; i < messages.length; i += 8) {
        const answers = await Promise.all(messages.slice(i, i + 8).map((m) => timedPost(endpoint, m)));
        for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, 2_000));
      await quiet(stack, 3_000, 120_000);
      const spoofedApiCalls = stack.org.state.limits.apiUsed - apiBefore;
      console.log(`spoofed: ${spoofedCount} notifications → HTTP ${JSON.stringify(Object.fromEntries(statuses))}, ${spoofedApiCalls} Salesforce API calls`);

      // 2. Refusal time of hostile bodies, one at a time, with the secret.
      const bodies = shapes(deepBytes, orgId, depth);
      console.error(`deep: ${deepRequests} bodies of ${bodies.deep!.length} bytes (${depth ?? Math.floor((deepBytes - 100) / 7)} levels), one at a time…`);
      const deepTimes: number[] = [];
      const deepStatuses = new Set<number>();
      for (let i = 0; i < deepRequests; i++) {
        const { ms, status } = await timedPost(withSecret, bodies.deep!);
        deepTimes.push(ms);
        deepStatuses.add(status);
      }
      const deepRefusalMs = percentiles(deepTimes);
      console.log(`deep: refused with HTTP ${[...deepStatuses].join(', ')} in p50 ${deepRefusalMs.p50} ms, p99 ${deepRefusalMs.p99} ms, max ${deepRefusalMs.max} ms`);
      const shapesMaxMs: Record<string, number> = {};
      const shapeStatuses: Record<string, number[]> = {};
      if (depth === undefined) {
        for (const [name, body] of Object.entries(bodies)) {
          const times: number[] = [];
          const seen = new Set<number>();
          for (let i = 0; i < 20; i++) {
            const { ms, status } = await timedPost(withSecret, body);
            times.push(ms);
            seen.add(status);
          }
          shapesMaxMs[name] = percentiles(times).max;
          shapeStatuses[name] = [...seen];
        }
        console.log(`shapes (max of 20 each, ms): ${JSON.stringify(shapesMaxMs)}; HTTP status: ${JSON.stringify(shapeStatuses)}`);
      }

      // 3. /healthz while deep and wide bodies arrive at full speed.
      console.error(`flood: ${connections} connections posting deep and wide bodies for ${seconds} s, /healthz probed every 10 ms…`);
      const probing = probe(`${base}/healthz`, seconds);
      const flood = await load({
        url: withSecret,
        connections,
        duration: seconds,
        requests: [
          { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: bodies.deep! },
          { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: bodies.wide! },
        ],
      });
      const healthz = await probing;
      const healthzUnderFloodMs = percentiles(healthz);
      console.log(`flood: ${flood.total} hostile requests (${flood.requestsPerSec}/s, non-2xx ${flood.non2xx}, errors ${flood.errors}); /healthz ${healthz.length} probes: p50 ${healthzUnderFloodMs.p50} ms, p99 ${healthzUnderFloodMs.p99} ms, max ${healthzUnderFloodMs.max} ms`);

      // 4. The race: two messages for the same Accounts, 400 ms apart, against a slow Salesforce.
      const ids = ((await (await fetch(`${stack.org.url}/__admin/accounts?offset=0&limit=${raceAccounts}`)).json()) as { ids: string[] }).ids;
      const writes = new Map<string, number>();
      stack.org.state.store.onChange((c) => {
        if (c.username === stack.org.username && ids.includes(c.id)) writes.set(c.id, (writes.get(c.id) ?? 0) + 1);
      });
      const faults = (latencyMs: number) =>
        fetch(`${stack.org.url}/__admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs }) });
      await quiet(stack, 1_000, 60_000);
      await faults(raceLatencyMs);
      console.error(`race: two messages naming the same ${raceAccounts} Accounts, 400 ms apart, Salesforce answering in ${raceLatencyMs} ms…`);
      const first = await timedPost(withSecret, envelope(orgId, ids));
      await new Promise((r) => setTimeout(r, 400));
      const second = await timedPost(withSecret, envelope(orgId, ids));
      await new Promise((r) => setTimeout(r, 1_000));
      await quiet(stack, 3 * raceLatencyMs + 2_000, 120_000);
      await faults(0);
      const written = ids.filter((id) => (writes.get(id) ?? 0) > 0).length;
      const raceDoubleWrites = ids.reduce((sum, id) => sum + Math.max(0, (writes.get(id) ?? 0) - 1), 0);
      console.log(`race: messages answered ${first.status} and ${second.status}; ${written}/${raceAccounts} Accounts written, ${raceDoubleWrites} written more than once`);

      console.log(
        JSON.stringify({
          spoofedNotifications: spoofedCount,
          spoofedRefused: statuses.get(401) ?? 0,
          spoofedApiCalls,
          deepBodyBytes: bodies.deep!.length,
          deepStatus: [...deepStatuses],
          deepRefusalMs,
          shapesMaxMs,
          floodSeconds: seconds,
          floodConnections: connections,
          floodRequests: flood.total,
          healthzProbes: healthz.length,
          healthzUnderFloodMs,
          raceAccounts,
          raceLatencyMs,
          raceWritten: written,
          raceDoubleWrites,
        }),
      );
      return spoofedApiCalls === 0 && raceDoubleWrites === 0 ? 0 : 1;
    } finally {
      await stack.stop();
    }
  },
};
