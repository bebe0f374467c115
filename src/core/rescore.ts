/**
 * What happens to a batch of Accounts that the real-time path brings (an outbound message, a retry
 * from the admin page): read their current fields, score them, and write back only what changed.
 * Every Account of the batch ends in exactly one of written, unchanged, retry or failed: when
 * Salesforce refuses one id of the read (SF_INVALID_ID), that id alone is failed and the others are
 * read again, so one bad id never sinks the batch. The nightly run, which reads and writes a whole
 * org through Bulk API 2.0, has its own core in src/nightly/; both decide "unchanged" with the one
 * rule in scored-fields.ts. The collaborators are passed in, so this runs without Salesforce, ONNX,
 * Redis or a network.
 */
import { isAppError } from './errors.js';
import { isUnchanged } from './scored-fields.js';

export type AccountRow = Readonly<Record<string, unknown>> & { readonly Id: string };

export type ScoreOutcome =
  | { id: string; fields: Readonly<Record<string, string | number>> }
  | { id: string; error: { code: string; message: string } };

export type WriteOutcome =
  | { id: string; success: true }
  | { id: string; success: false; statusCode: string; message: string; retryable: boolean };

export interface RescorePorts {
  /** Current values of the records that still exist (input and output fields), any order. */
  read(ids: readonly string[]): Promise<AccountRow[]>;
  /** One outcome per record, in input order. */
  score(records: readonly AccountRow[]): Promise<ScoreOutcome[]>;
  /** One outcome per update, in input order (at most one call per batch). */
  write(updates: ReadonlyArray<Record<string, unknown> & { Id: string }>): Promise<WriteOutcome[]>;
  /** Output fields that decide whether a write is a no-op (every output but the timestamp). */
  comparedFields: readonly string[];
}

export interface Failure {
  id: string;
  code: string;
  message: string;
}

export interface BatchOutcome {
  written: string[];
  /** Already carried the same score, risk, reasons and model version: nothing was written. */
  unchanged: string[];
  /** Failed in a way that may pass later (record locked, Salesforce busy). */
  retry: Failure[];
  /** Failed in a way retrying will not fix (validation rule, deleted record, unusable field). */
  failed: Failure[];
}

/** The rule of scored-fields.ts on a record read as an object and the fields it would be written with. */
export function isNoOp(current: Readonly<Record<string, unknown>>, next: Readonly<Record<string, unknown>>, compared: readonly string[]): boolean {
  return isUnchanged(compared, (field) => current[field], (field) => next[field]);
}

/**
 * Reads `ids`; when Salesforce refuses one of them as malformed, records it in `failed` and reads the
 * rest again. The refusal usually names the id; when it does not, the batch is halved until it does.
 * Any other error is the whole batch's and is thrown.
 */
async function readIsolating(ids: readonly string[], ports: RescorePorts, failed: Failure[]): Promise<AccountRow[]> {
  try {
    return await ports.read(ids);
  } catch (error) {
    if (!isAppError(error, 'SF_INVALID_ID')) throw error;
    const named = error.details?.id;
    const bad = (typeof named === 'string' ? ids.find((id) => id === named || id.slice(0, 15) === named.slice(0, 15)) : undefined) ?? (ids.length === 1 ? ids[0] : undefined);
    if (bad !== undefined) {
      failed.push({ id: bad, code: 'INVALID_ID', message: `Salesforce refused the id: ${error.message}` });
      const rest = ids.filter((id) => id !== bad);
      return rest.length === 0 ? [] : readIsolating(rest, ports, failed);
    }
    const half = Math.ceil(ids.length / 2);
    return [...(await readIsolating(ids.slice(0, half), ports, failed)), ...(await readIsolating(ids.slice(half), ports, failed))];
  }
}

export async function rescoreAccounts(ids: readonly string[], ports: RescorePorts): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { written: [], unchanged: [], retry: [], failed: [] };
  const unique = [...new Set(ids)];
  if (unique.length === 0) return outcome;

  const rows = await readIsolating(unique, ports, outcome.failed);
  const byId = new Map(rows.map((r) => [r.Id, r]));
  // Salesforce may answer with 18-character ids for 15-character ones we asked for.
  for (const row of rows) if (row.Id.length === 18) byId.set(row.Id.slice(0, 15), row);
  const refused = new Set(outcome.failed.map((f) => f.id));
  const found: AccountRow[] = [];
  for (const id of unique) {
    if (refused.has(id)) continue;
    const row = byId.get(id);
    if (row) found.push(row);
    else outcome.failed.push({ id, code: 'NOT_FOUND', message: 'The Account does not exist any more (deleted, or not visible to the integration user).' });
  }
  if (found.length === 0) return outcome;

  const scores = await ports.score(found);
  const updates: Array<Record<string, unknown> & { Id: string }> = [];
  scores.forEach((scored, i) => {
    const row = found[i]!;
    if ('error' in scored) {
      outcome.failed.push({ id: row.Id, code: scored.error.code, message: scored.error.message });
    } else if (isNoOp(row, scored.fields, ports.comparedFields)) {
      outcome.unchanged.push(row.Id);
    } else {
      updates.push({ Id: row.Id, ...scored.fields });
    }
  });
  if (updates.length === 0) return outcome;

  const writes = await ports.write(updates);
  writes.forEach((w, i) => {
    const id = updates[i]!.Id;
    if (w.success) outcome.written.push(id);
    else (w.retryable ? outcome.retry : outcome.failed).push({ id, code: w.statusCode, message: w.message });
  });
  return outcome;
}
