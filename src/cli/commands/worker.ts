import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log/logger.js';
import { createShutdown, onSignals } from '../../runtime/shutdown.js';
import { startWorkerProcess } from '../../runtime/worker-process.js';
import type { Command } from '../command.js';

export const command: Command = {
  name: 'worker',
  summary: 'Run the worker process.',
  usage:
    'Usage: churn-worker worker\n\nSigns in to Salesforce (JWT bearer flow), loads the model, and scores Accounts from the real-time queue until SIGTERM/SIGINT. Configuration comes from the environment (see .env.example).',
  async run() {
    const config = loadConfig(undefined, { need: ['salesforce'] });
    const logger = createLogger(config.logLevel).child({ process: 'worker' });
    const worker = await startWorkerProcess(config, logger);
    onSignals(createShutdown(worker.shutdownSteps, logger));
    return new Promise<number>(() => {
      // Runs until a signal ends the process.
    });
  },
};
