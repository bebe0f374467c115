/**
 * The web process: the outbound-message receiver, the prediction API, health and metrics on one
 * Express app. Shutdown order: not ready, stop taking HTTP (in-flight requests finish), close the
 * scoring thread, close Redis.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';
import { createApp } from '../http/app.js';
import { outboundRouter } from '../http/outbound/route.js';
import { predictRouter } from '../http/predict/route.js';
import type { Logger } from '../log/logger.js';
import { RealtimeIntake } from '../queue/realtime-intake.js';
import { createRedis } from '../queue/redis.js';
import { ScoringThread } from '../scoring/thread.js';
import type { ShutdownStep } from './shutdown.js';

export interface WebProcess {
  server: Server;
  port: number;
  shutdownSteps: ShutdownStep[];
}

export async function startWebProcess(config: Config, logger: Logger): Promise<WebProcess> {
  const redis = createRedis(config.redisUrl, 'producer');
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis error'));
  const scoring = await ScoringThread.open(
    { modelPath: config.scoring.modelPath, specPath: config.scoring.specPath, threads: config.scoring.threads },
    logger.child({ module: 'scoring' }),
  );
  let shuttingDown = false;
  const app = createApp({
    logger,
    isShuttingDown: () => shuttingDown,
    readiness: [{ name: 'redis', check: async () => void (await redis.ping()) }],
    routers: [
      outboundRouter({
        ...config.outbound,
        orgId: config.orgId,
        intake: new RealtimeIntake(redis, config.queue.prefix),
        logger: logger.child({ module: 'outbound' }),
      }),
      predictRouter({ scoring, auth: config.predict }),
    ],
  });
  const server = app.listen(config.port);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, outboundPath: config.outbound.path, predictApi: config.predict ? 'on' : 'off' }, 'web process listening');
  return {
    server,
    port,
    shutdownSteps: [
      { name: 'not-ready', run: () => void (shuttingDown = true) },
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      { name: 'scoring', run: () => scoring.close() },
      { name: 'redis', run: () => redis.quit() },
    ],
  };
}
