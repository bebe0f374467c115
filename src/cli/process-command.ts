/**
 * What `web` and `worker` share: load the configuration, start the process, shut it down in order on
 * SIGTERM/SIGINT. A start-up failure (configuration, Redis, Salesforce sign-in, the model) is one JSON
 * log line at fatal level with the code and what to do, and the command ends with exit code 1, so a
 * dyno that cannot work restarts and says why instead of looking up and doing nothing.
 */
import { loadConfig, type Config, type LoadOptions } from '../config/index.js';
import { isAppError } from '../core/errors.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createShutdown, onSignals, type ShutdownStep } from '../runtime/shutdown.js';
import { EXIT_FAILURE } from './errors.js';

export async function runProcess(
  name: 'web' | 'worker',
  start: (config: Config, logger: Logger) => Promise<{ shutdownSteps: ShutdownStep[] }>,
  options: LoadOptions = {},
): Promise<number> {
  let logger = createLogger('info').child({ process: name });
  try {
    const config = loadConfig(undefined, options);
    logger = createLogger(config.logLevel).child({ process: name });
    const started = await start(config, logger);
    onSignals(createShutdown(started.shutdownSteps, logger));
  } catch (error) {
    const fields = isAppError(error) ? { code: error.code, hint: error.hint, err: error } : { err: error };
    const problem = isAppError(error) ? error.problem : (error as Error).message;
    logger.fatal(fields, `${name} could not start: ${problem}`);
    return EXIT_FAILURE;
  }
  // Runs until a signal ends the process.
  return new Promise<number>(() => undefined);
}
