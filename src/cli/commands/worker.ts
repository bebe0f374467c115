import { startWorkerProcess } from '../../runtime/worker-process.js';
import type { Command } from '../command.js';
import { runProcess } from '../process-command.js';

export const command: Command = {
  name: 'worker',
  summary: 'Run the worker process.',
  usage:
    'Usage: churn-worker worker\n\nSigns in to Salesforce (JWT bearer flow), loads the model, and scores Accounts from the real-time queue and nightly runs until SIGTERM/SIGINT. Configuration comes from the environment and .env (see .env.example). Exits 1 when it cannot start.',
  run: () => runProcess('worker', (config, logger) => startWorkerProcess(config, logger), { need: ['salesforce'] }),
};
