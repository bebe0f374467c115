/**
 * The worker process's /metrics endpoint (WORKER_METRICS_PORT; off when unset). The worker has no
 * HTTP server otherwise. On Heroku a worker dyno cannot be reached from outside, so this is for
 * hosts where a scraper runs beside the process (a sidecar agent, docker-compose, a VM); the shared
 * figures (queue depths) are on the web process's /metrics anyway. Like the web's, it answers within
 * a fixed deadline (503 with the reason when Redis cannot be read).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import { scrapeMetrics } from './metrics.js';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(port: number, logger: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/healthz')) {
      res.writeHead(404).end();
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    void scrapeMetrics().then((scrape) => res.writeHead(scrape.status, { 'content-type': scrape.contentType }).end(scrape.body));
  });
  server.listen(port);
  await once(server, 'listening');
  const actual = (server.address() as AddressInfo).port;
  logger.info({ port: actual }, 'worker metrics listening');
  let closing: Promise<void> | undefined;
  return {
    port: actual,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
