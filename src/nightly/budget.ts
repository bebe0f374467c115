/**
 * The nightly run's Bulk budget: what a full rewrite costs in the org's daily Bulk API batches, and,
 * when that would cross the reserve kept for the org's other integrations, how many records the run
 * may write instead. Pure functions; run.ts reads the org's figures and chunk.ts applies the limit.
 *
 * Salesforce splits every ingest job into internal batches of 10,000 records and counts each against
 * 15,000 batches per rolling 24 hours, shared by Bulk API 1.0 and 2.0 (api_asynch
 * bulk_api_2_limits.htm, datafiles_understanding_bulk2_ingest.htm): a job's batches are its records
 * divided by 10,000, rounded up per job.
 */

export const RECORDS_PER_BATCH = 10_000;

/** Batches of ingest jobs holding these record counts (each job rounded up on its own). */
export function batchesFor(jobRecords: readonly number[]): number {
  return jobRecords.reduce((n, records) => n + Math.max(1, Math.ceil(records / RECORDS_PER_BATCH)), 0);
}

/**
 * The ingest jobs a full rewrite of `total` records in `pages` pages makes: one per page (pages of
 * equal size but the last), the first and the last cut in two when they hold at least
 * `splitPageFrom` records (chunk.ts cutPoint).
 */
export function plannedJobs(total: number, pages: number, splitPageFrom: number): number[] {
  if (total <= 0 || pages <= 0) return [];
  const size = Math.ceil(total / pages);
  const jobs: number[] = [];
  for (let i = 0; i < pages; i++) {
    const records = Math.min(size, total - i * size);
    if (records <= 0) break;
    const edge = i === 0 || i === pages - 1;
    if (splitPageFrom > 0 && edge && records >= splitPageFrom) jobs.push(Math.ceil(records / 2), Math.floor(records / 2));
    else jobs.push(records);
  }
  return jobs;
}

export interface WritePlan {
  /** Batches a full rewrite may cost. */
  fullBatches: number;
  /** Batches the run may use: what the org has left above the reserve. */
  available: number;
  /** Batches the pages may write, when a full rewrite would cross the reserve; undefined otherwise. */
  writeBatches?: number;
  /** One line for the run record and the dashboard. */
  note: string;
}

/**
 * Whether a full rewrite fits what the org has left above the reserve; if not, how many batches the
 * pages may write. Each page then writes one ingest job of whole batches (pageQuota), its largest
 * moves first; when the budget allows, one batch per page is kept back for a retry job of records
 * that were locked.
 */
export function planWrites(input: { total: number; pages: number; splitPageFrom: number; remaining: number; max: number; reserve: number }): WritePlan {
  const { total, pages, splitPageFrom, remaining, max, reserve } = input;
  const fullBatches = batchesFor(plannedJobs(total, pages, splitPageFrom));
  const available = Math.max(0, remaining - reserve);
  const head = `a full rewrite of ${total} records may take ${fullBatches} of the ${remaining} Bulk batches the org has left today (of ${max}; NIGHTLY_BULK_BATCH_RESERVE=${reserve} kept for other integrations)`;
  if (fullBatches <= available) return { fullBatches, available, note: `${head}: within budget` };
  const writeBatches = available > 2 * pages ? available - pages : available;
  return {
    fullBatches,
    available,
    writeBatches,
    note:
      writeBatches > 0
        ? `${head}: over budget; writing at most ${writeBatches * RECORDS_PER_BATCH} records in ${writeBatches} batches, the Accounts whose scores moved most first; the next run writes the rest`
        : `${head}: no budget left above the reserve`,
  };
}

/**
 * The records page `index` of `pages` may write under a limit of `writeBatches`: an equal share of
 * whole batches (the first pages take the remainder), 10,000 records each.
 */
export function pageQuota(writeBatches: number, index: number, pages: number): number {
  const n = Math.max(1, pages);
  return (Math.floor(writeBatches / n) + (index < writeBatches % n ? 1 : 0)) * RECORDS_PER_BATCH;
}

/**
 * Bands of how far a score moved (score points, 0–100), largest first: a run short of budget writes
 * band by band from the top, so the records written are those that moved most (to the band).
 */
export const MOVE_BANDS: readonly number[] = [50, 20, 10, 5, 2, 1, 0.5, 0.1, 0];

export function moveBand(moved: number): number {
  for (let i = 0; i < MOVE_BANDS.length; i++) if (moved >= MOVE_BANDS[i]!) return i;
  return MOVE_BANDS.length - 1;
}
