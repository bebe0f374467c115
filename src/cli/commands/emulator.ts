/**
 * `churn-worker emulator`: runs the local Salesforce org emulator in the foreground and prints the
 * environment lines that point the worker at it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectPath } from '../../config/index.js';
import { AppError } from '../../core/errors.js';
import { createLogger } from '../../log/logger.js';
import { DEFAULT_OPTIONS } from '../../emulator/options.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';

// In the project root whatever the current directory, so the printed SF_PRIVATE_KEY_FILE works anywhere.
const KEY_DIR = projectPath('.emulator');
const PRIVATE_KEY_FILE = join(KEY_DIR, 'jwt-private-key.pem');
const PUBLIC_KEY_FILE = join(KEY_DIR, 'jwt-public-key.pem');

const usage = `Usage: churn-worker emulator [options]

Runs a local Salesforce org emulator (OAuth JWT bearer, REST query, sObject Collections update,
limits, describe, Outbound Messages, and a test-only admin API under /__admin).

Options:
  --port N               TCP port (default 8787; 0 picks a free port)
  --host H               Interface to listen on (default 127.0.0.1)
  --accounts N           Synthetic Accounts to generate (default ${DEFAULT_OPTIONS.accounts})
  --seed N               Seed of the data, ids and fault draws (default ${DEFAULT_OPTIONS.seed})
  --drift D              How far the Accounts have moved from the training sample, 0..1: shorter
                         tenures, more month-to-month contracts, a higher churn rate (default 0)
  --api-limit N          Daily API request allowance (default ${DEFAULT_OPTIONS.apiLimit})
  --token-ttl-seconds N  Session lifetime (default ${DEFAULT_OPTIONS.tokenTtlSeconds})
  --fail-rate R          Share of API calls answered 503 SERVER_UNAVAILABLE, 0..1 (default 0)
  --lock-rate R          Share of updated records failed UNABLE_TO_LOCK_ROW, 0..1 (default 0)
  --latency-ms N         Delay added to every call (default 0)
  --consumer-key K       The app's consumer key (default derived from the seed)
  --username U           The integration user (default ${DEFAULT_OPTIONS.username})
  --cert-file F          Certificate or public key PEM that verifies assertions; without it a key
                         pair is generated once into ${KEY_DIR}/ and reused
  --outbound-url U       Send Outbound Messages (Churn_Account_Changed) to this URL, e.g.
                         http://127.0.0.1:3000/salesforce/outbound/account?token=<OUTBOUND_SECRET>
                         (the web process's secret goes in the URL, as in Salesforce; default: off)
  --outbound-batch-ms N  How long changes wait to share a message (default ${DEFAULT_OPTIONS.outboundBatchMs})
  --outbound-retry-base-ms N
                         First retry delay of a failed message, doubling up to
                         --outbound-retry-max-ms (defaults ${DEFAULT_OPTIONS.outboundRetryBaseMs} and ${DEFAULT_OPTIONS.outboundRetryMaxMs})
  --outbound-max-age-ms N
                         Drop undelivered notifications after this age (default ${DEFAULT_OPTIONS.outboundMaxAgeMs}, 24 h)
  --outbound-timeout-ms N
                         Time allowed for one POST (default ${DEFAULT_OPTIONS.outboundTimeoutMs})
  --outbound-concurrency N
                         Messages in flight at once (default ${DEFAULT_OPTIONS.outboundConcurrency})
  --log-level L          info, warn, error, silent… (default info)`;

function number(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError(`--${name} must be a number, got "${value}"`);
  }
  return n;
}

/** The key pair in .emulator/, created on first use so the worker's settings survive restarts. */
function ensureKeyPair(): string {
  if (!existsSync(PRIVATE_KEY_FILE) || !existsSync(PUBLIC_KEY_FILE)) {
    mkdirSync(KEY_DIR, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(PRIVATE_KEY_FILE, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(PUBLIC_KEY_FILE, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return readFileSync(PUBLIC_KEY_FILE, 'utf8');
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        accounts: { type: 'string' },
        seed: { type: 'string' },
        drift: { type: 'string' },
        'api-limit': { type: 'string' },
        'token-ttl-seconds': { type: 'string' },
        'fail-rate': { type: 'string' },
        'lock-rate': { type: 'string' },
        'latency-ms': { type: 'string' },
        'consumer-key': { type: 'string' },
        username: { type: 'string' },
        'cert-file': { type: 'string' },
        'outbound-url': { type: 'string' },
        'outbound-batch-ms': { type: 'string' },
        'outbound-retry-base-ms': { type: 'string' },
        'outbound-retry-max-ms': { type: 'string' },
        'outbound-max-age-ms': { type: 'string' },
        'outbound-timeout-ms': { type: 'string' },
        'outbound-concurrency': { type: 'string' },
        'log-level': { type: 'string' },
      },
  });
  const certFile = values['cert-file'];
  let certificate: string;
  try {
    certificate = certFile ? readFileSync(certFile, 'utf8') : ensureKeyPair();
  } catch (error) {
    throw new AppError({ code: 'EMULATOR_SETUP', message: `Could not read the certificate: ${(error as Error).message}.`, cause: error });
  }
  const logger = createLogger(values['log-level'] ?? 'info').child({ module: 'emulator' });
  // Imported here so `--help` does not generate data or load Express.
  const { startEmulator } = await import('../../emulator/index.js');
  let emulator;
  try {
    emulator = await startEmulator({
      port: number('port', values.port, 8787),
      host: values.host,
      accounts: number('accounts', values.accounts, DEFAULT_OPTIONS.accounts),
      seed: number('seed', values.seed, DEFAULT_OPTIONS.seed),
      drift: number('drift', values.drift, 0),
      apiLimit: number('api-limit', values['api-limit'], DEFAULT_OPTIONS.apiLimit),
      tokenTtlSeconds: number('token-ttl-seconds', values['token-ttl-seconds'], DEFAULT_OPTIONS.tokenTtlSeconds),
      failRate: number('fail-rate', values['fail-rate'], 0),
      lockRate: number('lock-rate', values['lock-rate'], 0),
      latencyMs: number('latency-ms', values['latency-ms'], 0),
      outboundUrl: values['outbound-url'],
      outboundBatchMs: number('outbound-batch-ms', values['outbound-batch-ms'], DEFAULT_OPTIONS.outboundBatchMs),
      outboundRetryBaseMs: number('outbound-retry-base-ms', values['outbound-retry-base-ms'], DEFAULT_OPTIONS.outboundRetryBaseMs),
      outboundRetryMaxMs: number('outbound-retry-max-ms', values['outbound-retry-max-ms'], DEFAULT_OPTIONS.outboundRetryMaxMs),
      outboundMaxAgeMs: number('outbound-max-age-ms', values['outbound-max-age-ms'], DEFAULT_OPTIONS.outboundMaxAgeMs),
      outboundTimeoutMs: number('outbound-timeout-ms', values['outbound-timeout-ms'], DEFAULT_OPTIONS.outboundTimeoutMs),
      outboundConcurrency: number('outbound-concurrency', values['outbound-concurrency'], DEFAULT_OPTIONS.outboundConcurrency),
      consumerKey: values['consumer-key'],
      username: values.username,
      certificate,
      logger,
    });
  } catch (error) {
    if (error instanceof AppError || error instanceof UsageError) throw error;
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    throw new AppError({
      code: 'EMULATOR_SETUP',
      message: `The emulator could not start: ${(error as Error).message}.`,
      hint: inUse ? 'Another process listens on that port: pass --port <another port>, or --port 0 for a free one.' : undefined,
      cause: error,
    });
  }
  const privateKeyLine = certFile ? '# SF_PRIVATE_KEY_FILE=<the private key of the certificate you gave with --cert-file>' : `SF_PRIVATE_KEY_FILE=${PRIVATE_KEY_FILE}`;
  console.log(
    [
      `# Local Salesforce org emulator at ${emulator.url} (${emulator.state.store.size} Accounts, started in ${Math.round(emulator.startupMs)} ms).`,
      '# Give the worker these settings:',
      `SF_LOGIN_URL=${emulator.url}`,
      `SF_CLIENT_ID=${emulator.consumerKey}`,
      `SF_USERNAME=${emulator.username}`,
      privateKeyLine,
      `SF_ORG_ID=${emulator.orgId}`,
      `SF_API_VERSION=${emulator.state.options.latestApiVersion}`,
      emulator.outbound.stats().enabled
        ? `# Outbound Messages go to ${String(emulator.outbound.stats().url).replace(/([?&]token=)[^&]+/, '$1…')} (delivery status: ${emulator.url}/__admin/outbound).`
        : '# Outbound Messages are off (--outbound-url, or PUT /__admin/outbound {"url": …}).',
      `# Admin API: ${emulator.url}/__admin/org (test use only). Ctrl-C stops.`,
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await emulator.close();
  logger.info('emulator stopped');
  return 0;
}

export const command: Command = {
  name: 'emulator',
  summary: 'Run the local Salesforce org emulator.',
  usage,
  run,
};
