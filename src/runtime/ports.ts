/** Wires the rescoring core to its real collaborators: Salesforce for reads and writes, the scoring thread. */
import type { RescorePorts } from '../core/rescore.js';
import type { SalesforceClient } from '../salesforce/client.js';
import { readAccounts, writeAccounts } from '../salesforce/accounts.js';
import type { ScoringThread } from '../scoring/thread.js';

export function accountPorts(client: SalesforceClient, scoring: ScoringThread): RescorePorts {
  const out = scoring.spec.outputFields;
  const comparedFields = [out.score, out.risk, out.factors, out.modelVersion];
  const fields = [...scoring.spec.features.map((f) => f.field), ...comparedFields];
  return {
    comparedFields,
    read: (ids) => readAccounts(client, fields, ids),
    score: async (rows) => (await scoring.score(rows)).map((r) => ('error' in r ? { id: r.id, error: r.error } : { id: r.id, fields: r.fields })),
    write: (updates) => writeAccounts(client, updates),
  };
}
