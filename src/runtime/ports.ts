/**
 * Wires the real-time rescoring core to its real collaborators: Salesforce for reads and writes, the
 * scoring thread, and the system of record when there is one. (The nightly core's are wired in
 * nightly.ts.) The fields read are those of core/scored-fields.ts for the champion at read
 * time, and the rows are scored by that same model version even if a promotion lands in between (the
 * thread keeps the previous champion for that). Scores Salesforce accepted go to the score history;
 * while a shadow is set, its scores go beside the champion's.
 */
import type { AccountRow, RescorePorts } from '../core/rescore.js';
import { comparedFields, fieldsToRead } from '../core/scored-fields.js';
import type { HistoryRow, ScorePath } from '../db/history.js';
import type { ShadowRow } from '../db/shadow.js';
import type { Logger } from '../log/logger.js';
import type { SalesforceClient } from '../salesforce/client.js';
import { readAccounts, writeAccounts } from '../salesforce/accounts.js';
import type { ScoringThread, ThreadResult } from '../scoring/thread.js';
import type { ScoreRecorder } from './models.js';

export interface AccountPortsOptions {
  recorder?: ScoreRecorder;
  path?: ScorePath;
  logger?: Logger;
}

/** The shadow's results beside the champion's, for the records both scored. */
export function shadowRows(champion: readonly ThreadResult[], shadow: readonly ThreadResult[], path: ScorePath, at: Date): ShadowRow[] {
  const rows: ShadowRow[] = [];
  champion.forEach((c, i) => {
    const s = shadow[i];
    if (!s || 'error' in c || 'error' in s) return;
    rows.push({
      accountId: c.id,
      scoredAt: at,
      path,
      championVersion: c.modelVersion,
      shadowVersion: s.modelVersion,
      championScore: c.score,
      shadowScore: s.score,
      championRisk: c.risk,
      shadowRisk: s.risk,
      championTopReason: c.factors?.[0]?.field ?? null,
      shadowTopReason: s.factors?.[0]?.field ?? null,
    });
  });
  return rows;
}

export function accountPorts(client: SalesforceClient, scoring: ScoringThread, options: AccountPortsOptions = {}): RescorePorts {
  const { recorder, logger } = options;
  const path = options.path ?? 'realtime';
  const readBy = new WeakMap<AccountRow, string>();
  const compared = () => comparedFields(scoring.spec.outputFields);
  // The history and shadow tables are a record of what happened; failing to append is logged, and
  // never fails a batch whose scores Salesforce already holds.
  const keep = (what: string, work: Promise<void>) => work.catch((error: unknown) => logger?.warn({ err: error }, `could not append ${what} to the system of record`));
  return {
    get comparedFields() {
      return compared();
    },
    read: async (ids) => {
      const { version, spec } = scoring.models.champion;
      const rows = await readAccounts(client, fieldsToRead(spec), ids);
      for (const row of rows) readBy.set(row, version);
      return rows;
    },
    score: async (rows) => {
      const version = rows.length > 0 ? readBy.get(rows[0]!) : undefined;
      const { results, shadow } = await scoring.scoreWithShadow(rows, { version, withShadow: recorder !== undefined });
      if (shadow && recorder) await keep('shadow scores', recorder.recordShadow(shadowRows(results, shadow, path, new Date())));
      return results.map((r) => ('error' in r ? { id: r.id, error: r.error } : { id: r.id, fields: r.fields }));
    },
    write: async (updates) => {
      const outcomes = await writeAccounts(client, updates);
      if (recorder) {
        const out = scoring.spec.outputFields;
        const rows: HistoryRow[] = [];
        outcomes.forEach((o, i) => {
          const u = updates[i]!;
          if (!o.success) return;
          rows.push({
            accountId: u.Id,
            scoredAt: typeof u[out.scoredAt] === 'string' ? new Date(u[out.scoredAt] as string) : new Date(),
            score: Number(u[out.score]),
            risk: String(u[out.risk]),
            reasons: typeof u[out.factors] === 'string' ? (u[out.factors] as string) : null,
            modelVersion: String(u[out.modelVersion]),
            path,
          });
        });
        await keep('score history', recorder.recordScores(rows));
      }
      return outcomes;
    },
  };
}
