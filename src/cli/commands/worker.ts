import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log/logger.js';
import { createRedis } from '../../queue/redis.js';
import { connectSalesforce } from '../../salesforce/index.js';
import { createShutdown, onSignals } from '../../runtime/shutdown.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'worker',
  summary: 'Run the worker process.',
  usage: 'Usage: churn-worker worker\n\nSigns in to Salesforce (JWT bearer flow), connects to Redis and processes queued jobs until SIGTERM/SIGINT. Configuration comes from the environment (see .env.example).',
  async run() {
    const config = loadConfig(undefined, { need: ['salesforce'] });
    const logger = createLogger(config.logLevel).child({ process: 'worker' });
    const redis = createRedis(config.redisUrl, 'worker');
    redis.on('error', (error) => logger.warn({ err: error.message }, 'redis error'));
    await redis.ping();
    const salesforce = await connectSalesforce(config.salesforce!, logger);
    const limits = await salesforce.limits();
    logger.info({ apiRequests: limits.DailyApiRequests }, 'worker ready');

    const shutdown = createShutdown([{ name: 'redis', run: () => redis.quit() }], logger);
    onSignals(shutdown);
    return new Promise<number>(() => {
      // Runs until a signal ends the process.
    });
  },
};
