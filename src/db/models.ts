/** The model registry's store in PostgreSQL (tables model_versions and promotion_log). */
import type pg from 'pg';
import type { LogEntryInput, ModelBundleRecord, ModelStatus, ModelStore, ModelVersionInfo, NewModel, PromotionEntry, Roles } from '../lifecycle/registry.js';

interface VersionRow {
  version: string;
  status: ModelStatus;
  source: ModelVersionInfo['source'];
  sha256: string;
  created_at: Date;
  status_at: Date;
  metrics: Record<string, unknown> | null;
  card: unknown;
  note: string | null;
  features: string[] | null;
}

const INFO_COLUMNS = `version, status, source, sha256, created_at, status_at, metrics, card, note,
  ARRAY(SELECT f->>'field' FROM jsonb_array_elements(spec->'features') AS f) AS features`;

function info(row: VersionRow): ModelVersionInfo {
  return {
    version: row.version,
    status: row.status,
    source: row.source,
    sha256: row.sha256,
    createdAt: row.created_at,
    statusAt: row.status_at,
    metrics: row.metrics ?? undefined,
    card: row.card ?? undefined,
    note: row.note ?? undefined,
    features: row.features ?? [],
  };
}

async function insertLog(client: pg.PoolClient | pg.Pool, entry: LogEntryInput): Promise<void> {
  await client.query('INSERT INTO promotion_log (action, version, previous, actor, reason, details) VALUES ($1, $2, $3, $4, $5, $6)', [
    entry.action,
    entry.version,
    entry.previous,
    entry.actor,
    entry.reason,
    entry.details ?? null,
  ]);
}

export class PgModelStore implements ModelStore {
  constructor(private readonly pool: pg.Pool) {}

  async list(): Promise<ModelVersionInfo[]> {
    const { rows } = await this.pool.query<VersionRow>(`SELECT ${INFO_COLUMNS} FROM model_versions ORDER BY created_at DESC, version`);
    return rows.map(info);
  }

  async get(version: string): Promise<ModelVersionInfo | undefined> {
    const { rows } = await this.pool.query<VersionRow>(`SELECT ${INFO_COLUMNS} FROM model_versions WHERE version = $1`, [version]);
    return rows[0] ? info(rows[0]) : undefined;
  }

  async bundle(version: string): Promise<ModelBundleRecord | undefined> {
    const { rows } = await this.pool.query<{ version: string; onnx: Buffer; spec: unknown }>('SELECT version, onnx, spec FROM model_versions WHERE version = $1', [version]);
    const row = rows[0];
    return row ? { version: row.version, onnx: new Uint8Array(row.onnx), spec: row.spec } : undefined;
  }

  async roles(): Promise<Roles> {
    const { rows } = await this.pool.query<{ version: string; status: ModelStatus }>("SELECT version, status FROM model_versions WHERE status IN ('champion', 'shadow')");
    return { champion: rows.find((r) => r.status === 'champion')?.version ?? null, shadow: rows.find((r) => r.status === 'shadow')?.version ?? null };
  }

  async insert(model: NewModel, entry: LogEntryInput): Promise<boolean> {
    return this.transaction(async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO model_versions (version, status, source, onnx, sha256, spec, card, metrics, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (version) DO NOTHING`,
        [model.version, model.status, model.source, Buffer.from(model.onnx), model.sha256, JSON.stringify(model.spec), model.card === undefined ? null : JSON.stringify(model.card), model.metrics ?? null, model.note ?? null],
      );
      if (rowCount === 0) return false;
      await insertLog(client, entry);
      return true;
    });
  }

  async apply(changes: ReadonlyArray<{ version: string; status: ModelStatus }>, entry: LogEntryInput): Promise<void> {
    await this.transaction(async (client) => {
      // Lock the rows in a fixed order so two promotions at once serialise instead of deadlocking.
      await client.query('SELECT version FROM model_versions ORDER BY version FOR UPDATE');
      // Leave the roles first, then take them: the one-champion / one-shadow indexes hold at every step.
      const ordered = [...changes].sort((a, b) => Number(a.status === 'champion' || a.status === 'shadow') - Number(b.status === 'champion' || b.status === 'shadow'));
      for (const change of ordered) {
        await client.query('UPDATE model_versions SET status = $2, status_at = now() WHERE version = $1', [change.version, change.status]);
      }
      await insertLog(client, entry);
    });
  }

  async log(limit: number, version?: string): Promise<PromotionEntry[]> {
    const { rows } = await this.pool.query<{ id: string; at: Date; action: PromotionEntry['action']; version: string; previous: string | null; actor: string; reason: string; details: Record<string, unknown> | null }>(
      `SELECT id, at, action, version, previous, actor, reason, details FROM promotion_log
       WHERE $2::text IS NULL OR version = $2 OR previous = $2 ORDER BY id DESC LIMIT $1`,
      [limit, version ?? null],
    );
    return rows.map((r) => ({ id: Number(r.id), at: r.at, action: r.action, version: r.version, previous: r.previous, actor: r.actor, reason: r.reason, details: r.details ?? undefined }));
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
