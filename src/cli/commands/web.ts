import { startWebProcess } from '../../runtime/web-process.js';
import type { Command } from '../command.js';
import { runProcess } from '../process-command.js';

export const command: Command = {
  name: 'web',
  summary: 'Run the web process.',
  usage:
    'Usage: churn-worker web\n\nStarts the HTTP server on PORT (default 3000): the outbound-message receiver (OUTBOUND_PATH), the prediction API (POST /v1/predict, GET /openapi.json), /healthz, /readyz, /metrics. Configuration comes from the environment and .env (see .env.example). Exits 1 when it cannot start.',
  run: () => runProcess('web', startWebProcess),
};
