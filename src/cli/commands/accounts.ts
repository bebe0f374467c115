import { parseArgs } from 'node:util';
import { INPUT_FIELDS, OUTPUT } from '../../core/account-fields.js';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../log/logger.js';
import { connectSalesforce } from '../../salesforce/index.js';
import type { Command } from '../command.js';

const usage = `Usage: churn-worker accounts [--limit N]

Signs in to Salesforce with the JWT bearer flow (SF_* variables) and prints the first N Accounts
(default 5) with a few of their fields and the org's remaining daily API allowance.`;

export const command: Command = {
  name: 'accounts',
  summary: 'List a few Accounts.',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { limit: { type: 'string', default: '5' } } });
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 2000) {
      console.error('churn-worker accounts: --limit takes a whole number from 1 to 2000');
      return 2;
    }
    const config = loadConfig(undefined, { need: ['salesforce'] });
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    const client = await connectSalesforce(config.salesforce!, logger);
    const fields = ['Id', 'Name', 'Contract_Type__c', 'Tenure_Months__c', 'Monthly_Charges__c', OUTPUT.score, OUTPUT.risk];
    const records = await client.query<Record<string, unknown>>(`SELECT ${fields.join(', ')} FROM Account ORDER BY Name LIMIT ${limit}`);
    const token = client.tokens.cached!;
    console.log(`Signed in to ${token.instanceUrl} as ${config.salesforce!.username} (org ${token.organizationId}); ${INPUT_FIELDS.length} input fields known.`);
    console.table(records.map(({ attributes: _attributes, ...rest }) => rest));
    const usage = client.apiUsage;
    if (usage) console.log(`API usage: ${usage.used}/${usage.limit} calls today.`);
    return 0;
  },
};
