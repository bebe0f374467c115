import { once } from 'node:events';
import type { Server } from 'node:http';
import { loadConfig } from '../../config/index.js';
import { createApp } from '../../http/app.js';
import { outboundRouter } from '../../http/outbound/route.js';
import { RealtimeIntake } from '../../queue/realtime-intake.js';
import { createLogger } from '../../log/logger.js';
import { createRedis } from '../../queue/redis.js';
import { createShutdown, onSignals } from '../../runtime/shutdown.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'web',
  summary: 'Run the web process.',
  usage: 'Usage: churn-worker web\n\nStarts the HTTP server on PORT (default 3000): the outbound-message receiver (OUTBOUND_PATH), /healthz, /readyz, /metrics. Configuration comes from the environment (see .env.example).',
  async run() {
    const config = loadConfig();
    const logger = createLogger(config.logLevel).child({ process: 'web' });
    const redis = createRedis(config.redisUrl, 'producer');
    redis.on('error', (error) => logger.warn({ err: error.message }, 'redis error'));
    let shuttingDown = false;
    const app = createApp({
      logger,
      isShuttingDown: () => shuttingDown,
      readiness: [{ name: 'redis', check: async () => void (await redis.ping()) }],
      routers: [
        outboundRouter({
          ...config.outbound,
          orgId: config.orgId,
          intake: new RealtimeIntake(redis),
          logger: logger.child({ module: 'outbound' }),
        }),
      ],
    });
    const server: Server = app.listen(config.port);
    await once(server, 'listening');
    const address = server.address();
    logger.info({ port: typeof address === 'object' && address ? address.port : config.port }, 'web process listening');

    const shutdown = createShutdown(
      [
        { name: 'not-ready', run: () => void (shuttingDown = true) },
        { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
        { name: 'redis', run: () => redis.quit() },
      ],
      logger,
    );
    onSignals(shutdown);
    return new Promise<number>(() => {
      // Runs until a signal ends the process.
    });
  },
};
