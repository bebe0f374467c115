/**
 * `churn-worker bench webhook`: outbound messages of 10 notifications each against the real receiver
 * (web process, real Redis), next to a bare Express route that answers a static Ack, in the same run,
 * with the same load generator on loopback. Every message carries fresh notification ids, so each one
 * is parsed, checked and durably enqueued (no dedupe shortcut).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type autocannon from 'autocannon';
import express from 'express';
import { Redis } from 'ioredis';
import { childEnv, loadConfig } from '../../config/index.js';
import { ACK_BODY } from '../../http/outbound/soap.js';
import { deleteKeysWithPrefix } from '../../queue/redis.js';
import type { Benchmark } from '../commands/bench.js';
import { load, startChild } from './http-load.js';

const usage = `Usage: churn-worker bench webhook [--seconds 10] [--connections 32] [--notifications 10]

Prints both runs, then (last stdout line) one JSON object with messagesPerSec and p99Ms for the
receiver and baselineMessagesPerSec for a bare Express route returning a static Ack.
Needs Redis at REDIS_URL.`;

const ORG = '00D000000000001EAA';

function envelope(counter: number, size: number, run: string): string {
  let items = '';
  for (let i = 0; i < size; i++) {
    const n = counter * size + i;
    // 04l + 15 characters: unique per notification in this run.
    const id = `04l${run}${n.toString(36).padStart(10, '0')}`.slice(0, 18);
    const account = `001${(n % 50_000).toString().padStart(12, '0')}AAA`;
    items += `<Notification><Id>${id}</Id><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>${account}</sf:Id><sf:Contract_Type__c>Month-to-month</sf:Contract_Type__c><sf:Tenure_Months__c>12</sf:Tenure_Months__c></sObject></Notification>`;
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
    `<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>${ORG}</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>` +
    `<EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/66.0/00D000000000001</EnterpriseUrl><PartnerUrl>https://x.my.salesforce.com/services/Soap/u/66.0/00D000000000001</PartnerUrl>${items}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

export const benchmark: Benchmark = {
  summary: 'Outbound-message receiver throughput against a static-Ack baseline.',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '32' }, notifications: { type: 'string', default: '10' } },
    });
    const seconds = Number(values.seconds);
    const connections = Number(values.connections);
    const size = Number(values.notifications);
    const config = loadConfig();
    const prefix = `{bench-${randomUUID().slice(0, 8)}}`;
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });

    // Baseline: the same framework and body size, answering a static Ack.
    const bare = express();
    bare.post('/ack', express.text({ type: () => true, limit: '2mb' }), (_req, res) => {
      res.type('text/xml').send(ACK_BODY);
    });
    const bareServer = bare.listen(0, '127.0.0.1');
    await once(bareServer, 'listening');

    const web = await startChild(
      ['web'],
      childEnv({ PORT: '0', REDIS_URL: config.redisUrl, SF_ORG_ID: ORG, QUEUE_PREFIX: prefix, LOG_LEVEL: 'info', MODEL_PATH: config.scoring.modelPath }),
      /web process listening/,
    ).catch(async (error: unknown) => {
      bareServer.close();
      await redis.quit();
      throw error;
    });
    try {
      const run = randomUUID().replace(/-/g, '').slice(0, 5);
      let counter = 0;
      const request = (path: string): autocannon.Request => ({
        method: 'POST',
        path,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
        setupRequest: (req) => ({ ...req, body: envelope(counter++, size, run) }),
      });
      console.error(`baseline: bare Express static Ack, ${connections} connections, ${seconds} s`);
      const baseline = await load({ url: `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`, connections, duration: seconds, requests: [request('/ack')] });
      console.error(`receiver: POST ${config.outbound.path} (web process, Redis at ${config.redisUrl}), ${size} notifications per message`);
      const receiver = await load({ url: `http://127.0.0.1:${web.port}`, connections, duration: seconds, requests: [request(config.outbound.path)] });
      const stream = `${prefix}:realtime:changes`;
      const enqueued = await redis.xlen(stream);
      console.log(`baseline   ${baseline.requestsPerSec} msg/s  p50 ${baseline.p50Ms} ms  p99 ${baseline.p99Ms} ms`);
      console.log(`receiver   ${receiver.requestsPerSec} msg/s  p50 ${receiver.p50Ms} ms  p99 ${receiver.p99Ms} ms  non-2xx ${receiver.non2xx}  errors ${receiver.errors}  notifications in Redis ${enqueued}`);
      console.log(
        JSON.stringify({
          messagesPerSec: receiver.requestsPerSec,
          p50Ms: receiver.p50Ms,
          p99Ms: receiver.p99Ms,
          non2xx: receiver.non2xx,
          errors: receiver.errors,
          notificationsEnqueued: enqueued,
          notificationsPerMessage: size,
          baselineMessagesPerSec: baseline.requestsPerSec,
          baselineP99Ms: baseline.p99Ms,
          connections,
          seconds,
        }),
      );
      return receiver.non2xx === 0 && receiver.errors === 0 ? 0 : 1;
    } finally {
      await web.stop();
      bareServer.close();
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    }
  },
};
