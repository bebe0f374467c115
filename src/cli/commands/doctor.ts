/**
 * `churn-worker doctor`: checks a deployment before it takes traffic (or when it misbehaves) and
 * prints a checklist with a fix for each failure: configuration, Redis, the model and its spec, the
 * system of record (PostgreSQL reachable, schema current, a champion), the Salesforce sign-in, the
 * Account fields the spec reads and writes (present, right type, the integration user may edit the
 * outputs), the org's remaining API allowance and the user permissions the worker needs (API
 * Enabled, View Setup and Configuration for /limits). Exits 1 on any failure. Costs two Salesforce
 * API calls (describe, limits; three when /limits is refused without a usage header) and one sign-in.
 */
import { ACCOUNT_FIELDS, type FieldType } from '../../core/account-fields.js';
import { loadConfig, type Config } from '../../config/index.js';
import { isAppError } from '../../core/errors.js';
import type { Redis } from 'ioredis';
import { expectedMigrations, requireCurrentSchema } from '../../db/migrate.js';
import { PgModelStore } from '../../db/models.js';
import { checkDatabase, createPool, databaseLabel } from '../../db/pool.js';
import { connectRedis } from '../../queue/redis.js';
import { SalesforceClient } from '../../salesforce/client.js';
import { ScoringEngine } from '../../scoring/engine.js';
import type { FeatureSpec } from '../../scoring/spec.js';
import type { Command } from '../command.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

/** Salesforce describe types of the project's field types (core/account-fields.ts). */
const DESCRIBE_TYPE: Record<FieldType, readonly string[]> = {
  id: ['id'],
  text: ['string', 'textarea'],
  checkbox: ['boolean'],
  number: ['double', 'int'],
  currency: ['currency'],
  percent: ['percent'],
  picklist: ['picklist'],
  datetime: ['datetime'],
};

/** What went wrong, without the hint: the hint goes on the check's fix line (fixFor). */
function message(error: unknown): string {
  if (isAppError(error)) return error.problem;
  return error instanceof Error ? error.message : String(error);
}

/** The error's own hint first (it knows the cause), then the check's general advice. */
function fixFor(error: unknown, general: string): string {
  return isAppError(error) && error.hint ? `${error.hint} ${general}` : general;
}

async function checkRedis(config: Config): Promise<CheckResult> {
  let redis: Redis | undefined;
  try {
    redis = await connectRedis(config.redisUrl, 'command');
    const info = await redis.info('memory');
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
    const host = new URL(config.redisUrl).host;
    if (policy && policy !== 'noeviction') {
      return {
        name: 'redis',
        status: 'warn',
        detail: `${host} answers; maxmemory-policy is ${policy}`,
        fix: 'Set the policy to noeviction so Redis never drops queued jobs (Heroku: heroku redis:maxmemory --policy noeviction).',
      };
    }
    return { name: 'redis', status: 'ok', detail: `${host} answers${policy ? `, maxmemory-policy ${policy}` : ''}` };
  } catch (error) {
    return { name: 'redis', status: 'fail', detail: message(error), fix: fixFor(error, 'Heroku: heroku redis:info shows the add-on.') };
  } finally {
    redis?.disconnect();
  }
}

/** PostgreSQL answers, its schema is the one this code expects, and the registry has a champion. */
async function checkDatabaseSetup(config: Config): Promise<CheckResult> {
  const database = config.database;
  if (!database) {
    return config.production
      ? { name: 'database', status: 'fail', detail: 'DATABASE_URL is not set and NODE_ENV is production: web and worker refuse to start', fix: 'heroku addons:create heroku-postgresql:essential-0 (sets DATABASE_URL), then bin/churn-worker db migrate.' }
      : { name: 'database', status: 'warn', detail: 'DATABASE_URL is not set: no model registry, score history or run records (the model files are used)', fix: 'Set DATABASE_URL to a PostgreSQL URL and run bin/churn-worker db migrate.' };
  }
  const pool = createPool(database, 1);
  pool.on('error', () => undefined);
  try {
    await checkDatabase(pool, database);
    await requireCurrentSchema(pool, database);
    const { champion, shadow } = await new PgModelStore(pool).roles();
    const where = `${databaseLabel(database.url)} (schema ${database.schema})`;
    const models = champion ? `champion ${champion}${shadow ? `, shadow ${shadow}` : ''}` : 'no champion yet (the first web or worker start registers the shipped model)';
    return { name: 'database', status: 'ok', detail: `${where} answers, schema current (${expectedMigrations().length} migration(s)); ${models}` };
  } catch (error) {
    return { name: 'database', status: 'fail', detail: message(error), fix: fixFor(error, 'See README, "The system of record".') };
  } finally {
    await pool.end();
  }
}

async function checkModel(config: Config): Promise<{ result: CheckResult; spec?: FeatureSpec }> {
  try {
    const engine = await ScoringEngine.open({ modelPath: config.scoring.modelPath, specPath: config.scoring.specPath, threads: 1 });
    const spec = engine.spec;
    await engine.close();
    return { result: { name: 'model', status: 'ok', detail: `${config.scoring.modelPath} (${spec.modelVersion}) loads and matches its spec: ${spec.features.length} features` }, spec };
  } catch (error) {
    return { result: { name: 'model', status: 'fail', detail: message(error), fix: fixFor(error, 'See models/README.md.') } };
  }
}

function checkFields(spec: FeatureSpec, described: ReadonlyArray<{ name: string; type: string; updateable: boolean }>): CheckResult {
  const byName = new Map(described.map((f) => [f.name.toLowerCase(), f]));
  const outputs = Object.values(spec.outputFields);
  const problems: string[] = [];
  const fixes = new Set<string>();
  const wanted = [...spec.features.map((f) => ({ name: f.field, output: false })), ...outputs.map((name) => ({ name, output: true }))];
  for (const { name, output } of wanted) {
    const field = byName.get(name.toLowerCase());
    if (!field) {
      problems.push(`${name} is missing`);
      fixes.add('Deploy the salesforce/ project (sf project deploy start) and give the integration user the permission set (docs/salesforce-setup.md).');
      continue;
    }
    const expected = ACCOUNT_FIELDS.find((f) => f.name === name)?.type;
    if (expected && !DESCRIBE_TYPE[expected].includes(field.type)) {
      problems.push(`${name} is ${field.type}, expected ${DESCRIBE_TYPE[expected].join(' or ')}`);
      fixes.add('Recreate the field with the type in salesforce/force-app/main/default/objects/Account/fields/.');
    }
    if (output && !field.updateable) {
      problems.push(`${name} is not editable by the integration user`);
      fixes.add('Assign the permission set that grants edit access on the Churn_* fields to the integration user.');
    }
  }
  if (problems.length > 0) return { name: 'account fields', status: 'fail', detail: problems.join('; '), fix: [...fixes].join(' ') };
  return { name: 'account fields', status: 'ok', detail: `${spec.features.length} inputs readable, ${outputs.length} outputs editable, types match` };
}

/** Runs every check; `env` is the environment to read (the process's own when absent, via loadConfig). */
export async function diagnose(env?: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    return [{ name: 'configuration', status: 'fail', detail: message(error), fix: 'Set the variable as .env.example describes (Heroku: heroku config:set NAME=value).' }];
  }
  try {
    loadConfig(env, { need: ['salesforce'] });
    results.push({ name: 'configuration', status: 'ok', detail: 'every variable parses; Salesforce settings present' });
  } catch (error) {
    results.push({ name: 'configuration', status: 'fail', detail: message(error), fix: 'Set SF_CLIENT_ID, SF_USERNAME and SF_PRIVATE_KEY (or SF_PRIVATE_KEY_FILE); see docs/salesforce-setup.md.' });
  }
  if (!config.orgId) results.push({ name: 'outbound messages', status: 'warn', detail: 'SF_ORG_ID is unset: the web process refuses every outbound message', fix: 'Set SF_ORG_ID to the org id (Setup → Company Information).' });
  if (!config.outbound.secret) {
    results.push({
      name: 'outbound sender',
      status: config.production ? 'fail' : 'warn',
      detail: `OUTBOUND_SECRET is unset: anyone who knows the org id can post outbound messages${config.production ? ', and the web process does not start with NODE_ENV=production' : ''}`,
      fix: 'Set OUTBOUND_SECRET (openssl rand -hex 32) and end the outbound message\'s endpoint URL with ?token=<that value> (docs/salesforce-setup.md, step 7).',
    });
  }
  results.push(await checkRedis(config));
  results.push(await checkDatabaseSetup(config));
  const model = await checkModel(config);
  results.push(model.result);

  const sf = config.salesforce;
  if (!sf) {
    for (const name of ['salesforce sign-in', 'account fields', 'api allowance', 'permissions']) results.push({ name, status: 'skip', detail: 'no Salesforce settings' });
    return results;
  }
  let client: SalesforceClient;
  try {
    client = await SalesforceClient.connect(sf, { retry: { maxRetries: 0 } });
    const token = client.tokens.cached!;
    const wrongOrg = config.orgId && !token.organizationId.startsWith(config.orgId.slice(0, 15));
    results.push(
      wrongOrg
        ? { name: 'salesforce sign-in', status: 'fail', detail: `signed in to org ${token.organizationId}, but SF_ORG_ID is ${config.orgId}`, fix: 'Set SF_ORG_ID to the org the integration user belongs to.' }
        : { name: 'salesforce sign-in', status: 'ok', detail: `${sf.username} on ${token.instanceUrl} (org ${token.organizationId})` },
    );
  } catch (error) {
    results.push({ name: 'salesforce sign-in', status: 'fail', detail: message(error), fix: fixFor(error, 'See docs/salesforce-setup.md: consumer key, certificate, pre-authorized user, SF_LOGIN_URL.') });
    for (const name of ['account fields', 'api allowance', 'permissions']) results.push({ name, status: 'skip', detail: 'not signed in' });
    return results;
  }

  if (model.spec) {
    try {
      const describe = await client.describe('Account');
      results.push(checkFields(model.spec, describe.fields));
    } catch (error) {
      results.push({
        name: 'account fields',
        status: 'fail',
        detail: message(error),
        fix: 'The integration user needs API Enabled and read access to Account: assign the Churn_Worker_Integration permission set (docs/salesforce-setup.md, step 6).',
      });
    }
  } else {
    results.push({ name: 'account fields', status: 'skip', detail: 'no usable spec to compare with' });
  }

  results.push(...(await checkAllowanceAndPermissions(client, config)));
  return results;
}

/**
 * The org's remaining allowance, and the user permissions the worker's calls need: API Enabled
 * (every call), read on Account (describe, queries), View Setup and Configuration (/limits, read by
 * the nightly run before each run). Without View Setup the allowance is still read, from the
 * Sforce-Limit-Info header, and the missing permission is a warning: the worker copes, but the fix is
 * one permission set assignment.
 */
async function checkAllowanceAndPermissions(client: SalesforceClient, config: Config): Promise<CheckResult[]> {
  const assign = 'Assign the Churn_Worker_Integration permission set to the integration user (sf org assign permset --name Churn_Worker_Integration --on-behalf-of <user>); it grants API Enabled and View Setup and Configuration.';
  let usage;
  try {
    usage = await client.dailyApiUsage();
  } catch (error) {
    const denied = isAppError(error, 'SF_PERMISSION_DENIED');
    return [
      { name: 'api allowance', status: 'fail', detail: message(error), fix: denied ? assign : 'Check that Salesforce answers (status.salesforce.com) and run doctor again.' },
      { name: 'permissions', status: denied ? 'fail' : 'skip', detail: denied ? 'the integration user may not call the API' : 'not checked: the API call failed' },
    ];
  }
  const results: CheckResult[] = [];
  const source = usage.source === 'limits' ? '' : ' (from the Sforce-Limit-Info header)';
  const detail = `${usage.remaining.toLocaleString('en-US')} of ${usage.limit.toLocaleString('en-US')} daily API requests left${source}`;
  if (usage.remaining <= 0) results.push({ name: 'api allowance', status: 'fail', detail, fix: 'Wait for the rolling 24-hour window, or raise the org\'s API limit; the worker pauses until then.' });
  else if (usage.remaining < config.nightly.apiReserve) results.push({ name: 'api allowance', status: 'warn', detail: `${detail}, below NIGHTLY_API_RESERVE (${config.nightly.apiReserve})`, fix: 'The nightly run will wait for the allowance; lower NIGHTLY_API_RESERVE or find what is using the calls.' });
  else results.push({ name: 'api allowance', status: 'ok', detail });
  results.push(
    usage.refusal
      ? {
          name: 'permissions',
          status: 'warn',
          detail: `/limits is refused (${usage.refusal.message.split('. ')[0]}): the integration user lacks View Setup and Configuration; the nightly run reads the allowance from the Sforce-Limit-Info header instead`,
          fix: assign,
        }
      : { name: 'permissions', status: 'ok', detail: 'API Enabled, read on Account, View Setup and Configuration (/limits)' },
  );
  return results;
}

const MARK: Record<CheckStatus, string> = { ok: '[ok]  ', warn: '[warn]', fail: '[FAIL]', skip: '[skip]' };

export function formatChecklist(results: readonly CheckResult[]): string {
  const lines = results.flatMap((r) => [`${MARK[r.status]} ${r.name}: ${r.detail}`, ...(r.fix && r.status !== 'ok' ? [`       fix: ${r.fix}`] : [])]);
  const failed = results.filter((r) => r.status === 'fail').length;
  lines.push('', failed === 0 ? 'All checks passed.' : `${failed} check(s) failed.`);
  return lines.join('\n');
}

export const command: Command = {
  name: 'doctor',
  summary: 'Check configuration, Redis, the model, the Salesforce sign-in, fields, API allowance and permissions.',
  usage:
    'Usage: churn-worker doctor\n\nChecks the deployment from the environment (see .env.example) and prints a checklist with a fix for each failure; exits 1 when a check fails. On Heroku: heroku run churn-worker doctor (or bin/churn-worker doctor).',
  async run() {
    const results = await diagnose();
    console.log(formatChecklist(results));
    return results.some((r) => r.status === 'fail') ? 1 : 0;
  },
};
