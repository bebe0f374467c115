import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log/logger.js';
import { createShutdown, onSignals } from '../../runtime/shutdown.js';
import { startWebProcess } from '../../runtime/web-process.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'web',
  summary: 'Run the web process.',
  usage:
    'Usage: churn-worker web\n\nStarts the HTTP server on PORT (default 3000): the outbound-message receiver (OUTBOUND_PATH), the prediction API (POST /v1/predict, GET /openapi.json), /healthz, /readyz, /metrics. Configuration comes from the environment (see .env.example).',
  async run() {
    const config = loadConfig();
    const logger = createLogger(config.logLevel).child({ process: 'web' });
    const web = await startWebProcess(config, logger);
    onSignals(createShutdown(web.shutdownSteps, logger));
    return new Promise<number>(() => {
      // Runs until a signal ends the process.
    });
  },
};
