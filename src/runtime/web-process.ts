/**
 * The web process: the outbound-message receiver, the prediction API, health and metrics on one
 * Express app. Shutdown order: not ready, stop taking HTTP (in-flight requests finish), close the
 * scoring thread, close Redis.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';
import { AppError } from '../core/errors.js';
import { createApp } from '../http/app.js';
import { adminRouter } from '../http/admin/route.js';
import { SignInLimiter } from '../http/dashboard/auth.js';
import { modelsRouter } from '../http/dashboard/models.js';
import { dashboardRouter } from '../http/dashboard/route.js';
import { modelReadiness, redisReadiness, salesforceReadiness } from '../http/health.js';
import { outboundRouter } from '../http/outbound/route.js';
import { predictRouter } from '../http/predict/route.js';
import type { Logger } from '../log/logger.js';
import { watchQueueDepth, watchRealtimeBacklog } from '../observability/metrics.js';
import { processDrift } from './monitoring.js';
import { StatusStore } from '../observability/status-store.js';
import { FailureLog } from '../queue/failures.js';
import { recentRuns } from '../db/runs.js';
import { nightlyQueue } from '../queue/nightly-jobs.js';
import { RunStore } from '../queue/nightly-store.js';
import { RealtimeIntake } from '../queue/realtime-intake.js';
import { realtimeQueue } from '../queue/realtime-jobs.js';
import { createRedis } from '../queue/redis.js';
import { TokenProvider } from '../salesforce/auth.js';
import { startProcessScoring } from './models.js';
import type { ShutdownStep } from './shutdown.js';

export interface WebProcess {
  server: Server;
  port: number;
  shutdownSteps: ShutdownStep[];
}

/**
 * In production the receiver must know who sends: without OUTBOUND_SECRET anyone who learns the org
 * id (it is not a secret) could make the worker spend the org's API calls. Checked before anything is
 * opened, so the process stops at once with the fix in the message.
 */
export function checkWebConfig(config: Config, logger: Logger): void {
  if (config.outbound.secret) return;
  if (config.production) {
    throw new AppError({
      code: 'CONFIG_INVALID',
      message: 'Configuration: OUTBOUND_SECRET is required when NODE_ENV=production (the outbound message endpoint URL carries it as ?token=…).',
      hint: 'Set it (openssl rand -hex 32), then put the same value in the outbound message\'s endpoint URL (docs/salesforce-setup.md, step 7).',
      details: { variable: 'OUTBOUND_SECRET' },
    });
  }
  logger.warn('OUTBOUND_SECRET is unset: outbound messages are accepted from any sender that knows the org id (allowed outside production only)');
}

export async function startWebProcess(config: Config, logger: Logger): Promise<WebProcess> {
  checkWebConfig(config, logger);
  const redis = createRedis(config.redisUrl, 'producer');
  redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
  const models = await startProcessScoring(config, logger, redis);
  const { scoring } = models;
  let shuttingDown = false;
  const prefix = config.queue.prefix;
  const intake = new RealtimeIntake(redis, prefix);
  // The only queue objects of this process (the admin router enqueues runs on this one): shutdown closes both.
  const queues = { realtime: realtimeQueue(redis, prefix), nightly: nightlyQueue(redis, prefix) };
  for (const queue of Object.values(queues)) queue.on('error', (error) => logger.warn({ err: error }, 'queue error'));
  const unwatch = [
    watchQueueDepth(queues.realtime),
    watchQueueDepth(queues.nightly),
    watchRealtimeBacklog(intake.keys.stream, () => redis.xlen(intake.keys.stream)),
  ];
  // The prediction API's scores feed the real-time drift window; /metrics reads the drift figures.
  const drift = config.monitoring.enabled ? processDrift(config, redis, scoring, models.sor?.pool, logger) : undefined;
  // The web process signs in only to prove it can (readiness); the token is cached, never per probe.
  const tokens = config.salesforce ? new TokenProvider(config.salesforce, logger.child({ module: 'salesforce' })) : undefined;
  const runs = new RunStore(redis, prefix);
  const signIns = new SignInLimiter(redis, prefix);
  const app = createApp({
    logger,
    trustProxy: config.trustProxy,
    monitoringToken: config.monitoringToken,
    publicProbes: !config.production,
    isShuttingDown: () => shuttingDown,
    readiness: [redisReadiness(redis), modelReadiness(scoring), salesforceReadiness(tokens)],
    routers: [
      dashboardRouter({
        admin: config.admin,
        limiter: signIns,
        realtimeQueue: queues.realtime,
        queues: [queues.realtime, queues.nightly],
        failures: new FailureLog(redis, prefix),
        status: new StatusStore(redis, prefix),
        ...(models.sor ? { recentRuns: () => recentRuns(models.sor!.pool, 30) } : {}),
        lastNightlyRun: async () => {
          const id = (await runs.activeId()) ?? (await runs.recentIds(1))[0];
          return id ? runs.get(id) : undefined;
        },
        logger: logger.child({ module: 'admin' }),
      }),
      outboundRouter({
        ...config.outbound,
        orgId: config.orgId,
        intake,
        logger: logger.child({ module: 'outbound' }),
      }),
      predictRouter({ scoring, auth: config.predict }),
      adminRouter({ auth: config.admin, queue: queues.nightly, store: runs, limiter: signIns, logger: logger.child({ module: 'admin' }) }),
      modelsRouter({ admin: config.admin, registry: models.sor?.registry, limiter: signIns, logger: logger.child({ module: 'admin' }) }),
    ],
  });
  const server = app.listen(config.port);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, outboundPath: config.outbound.path, predictApi: config.predict ? 'on' : 'off', admin: config.admin ? 'on' : 'off' }, 'web process listening');
  return {
    server,
    port,
    shutdownSteps: [
      { name: 'not-ready', run: () => void (shuttingDown = true) },
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      { name: 'drift', run: () => drift?.stop() },
      { name: 'scoring', run: () => models.close() },
      { name: 'queues', run: () => Promise.all([...unwatch.map((stop) => stop()), queues.realtime.close(), queues.nightly.close()]) },
      { name: 'redis', run: () => redis.quit() },
    ],
  };
}
