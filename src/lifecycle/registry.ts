/**
 * The model registry's rules: which model scores (the champion), which one is compared with it on live
 * traffic without writing anything (the shadow), and how one replaces the other: promote, shadow,
 * roll back. Every change is one atomic step in the store with an entry in the promotion log (who,
 * when, why). The store, the start-up checks and the "look again" signal to running processes are
 * passed in, so these rules run without PostgreSQL, Redis or ONNX.
 */
import { AppError } from '../core/errors.js';
import type { GateDecision } from './gate.js';

export type ModelStatus = 'candidate' | 'shadow' | 'champion' | 'retired';
export type ModelSource = 'shipped' | 'trained-csv' | 'trained-salesforce' | 'imported';
export type PromotionAction = 'register' | 'shadow' | 'unshadow' | 'promote' | 'rollback' | 'retire' | 'reject';

export interface ModelVersionInfo {
  version: string;
  status: ModelStatus;
  source: ModelSource;
  sha256: string;
  createdAt: Date;
  statusAt: Date;
  /** Evaluation metrics (AUC, log loss, …) from the model card or an evaluation. */
  metrics?: Record<string, unknown>;
  card?: unknown;
  note?: string;
  /** The Account fields the model reads. */
  features: string[];
}

export interface ModelBundleRecord {
  version: string;
  onnx: Uint8Array;
  /** The feature spec as stored (JSON). */
  spec: unknown;
}

export interface NewModel {
  version: string;
  onnx: Uint8Array;
  sha256: string;
  spec: unknown;
  card?: unknown;
  source: ModelSource;
  metrics?: Record<string, unknown>;
  note?: string;
  status: ModelStatus;
}

export interface Actor {
  /** Who: a user name, `cli:<os user>`, `admin:<user>`, `system`. */
  actor: string;
  /** Why, in the actor's words. */
  reason: string;
}

export interface LogEntryInput extends Actor {
  action: PromotionAction;
  version: string;
  previous: string | null;
  details?: Record<string, unknown>;
}

export interface PromotionEntry extends LogEntryInput {
  id: number;
  at: Date;
}

export interface Roles {
  champion: string | null;
  shadow: string | null;
}

/** Persistence of the registry (PostgreSQL in production). */
export interface ModelStore {
  list(): Promise<ModelVersionInfo[]>;
  get(version: string): Promise<ModelVersionInfo | undefined>;
  bundle(version: string): Promise<ModelBundleRecord | undefined>;
  roles(): Promise<Roles>;
  /** Inserts the version with its log entry; false (and nothing written) when the version exists. */
  insert(model: NewModel, entry: LogEntryInput): Promise<boolean>;
  /** Applies the status changes and the log entry in one transaction. */
  apply(changes: ReadonlyArray<{ version: string; status: ModelStatus }>, entry: LogEntryInput): Promise<void>;
  /** Newest first. */
  log(limit: number, version?: string): Promise<PromotionEntry[]>;
}

export interface RegistryPorts {
  store: ModelStore;
  /** The engine's start-up checks (and that the spec's fields are Account fields); throws MODEL_INVALID. */
  validate: (model: { onnx: Uint8Array; spec: unknown }) => Promise<{ version: string; features: string[] }>;
  /** Tells running processes to look again now (they also look on their own every few seconds). */
  notify: () => Promise<void>;
  sha256: (bytes: Uint8Array) => string;
}

/** The evaluation metrics a model card carries (the trainer's cross-validation means), if any. */
export function metricsFromCard(card: unknown): Record<string, unknown> | undefined {
  const mean = (card as { crossValidation?: { mean?: unknown } } | undefined)?.crossValidation?.mean;
  return mean && typeof mean === 'object' ? { ...(mean as Record<string, unknown>), basis: 'cross-validation (model card)' } : undefined;
}

function notFound(version: string): AppError {
  return new AppError({ code: 'MODEL_NOT_FOUND', message: `Model version ${version} is not in the registry.`, hint: 'bin/churn-worker models list shows the versions.', details: { version } });
}

function invalidTransition(message: string, hint?: string): AppError {
  return new AppError({ code: 'MODEL_TRANSITION_INVALID', message, hint });
}

export class ModelRegistry {
  constructor(private readonly ports: RegistryPorts) {}

  list(): Promise<ModelVersionInfo[]> {
    return this.ports.store.list();
  }

  roles(): Promise<Roles> {
    return this.ports.store.roles();
  }

  log(limit = 50, version?: string): Promise<PromotionEntry[]> {
    return this.ports.store.log(limit, version);
  }

  async show(version: string): Promise<{ model: ModelVersionInfo; log: PromotionEntry[] }> {
    const model = await this.ports.store.get(version);
    if (!model) throw notFound(version);
    return { model, log: await this.ports.store.log(50, version) };
  }

  /**
   * Adds a model after the start-up checks, as a candidate (or, for the first start, the champion).
   * The version is the spec's `modelVersion`; registering the same bytes again is a no-op.
   */
  async register(
    input: { onnx: Uint8Array; spec: unknown; card?: unknown; source: ModelSource; metrics?: Record<string, unknown>; note?: string },
    who: Actor,
    status: 'candidate' | 'champion' = 'candidate',
  ): Promise<{ model: ModelVersionInfo; created: boolean }> {
    const { version } = await this.ports.validate(input);
    const sha256 = this.ports.sha256(input.onnx);
    const existing = await this.ports.store.get(version);
    if (existing) {
      if (existing.sha256 !== sha256) {
        throw invalidTransition(
          `Model version ${version} is already registered with other bytes (sha256 ${existing.sha256.slice(0, 12)}…, this file ${sha256.slice(0, 12)}…).`,
          'Give the new model its own modelVersion in its spec.',
        );
      }
      return { model: existing, created: false };
    }
    const created = await this.ports.store.insert(
      { ...input, version, sha256, status },
      { ...who, action: 'register', version, previous: null, details: { source: input.source, status, sha256 } },
    );
    const model = (await this.ports.store.get(version))!;
    if (created && status !== 'candidate') await this.ports.notify();
    return { model, created };
  }

  /** Scores live traffic with `version` too, without writing its scores; the previous shadow goes back to candidate. */
  async shadow(version: string, who: Actor): Promise<void> {
    const model = await this.require(version);
    if (model.status === 'champion') throw invalidTransition(`Model version ${version} is the champion; a shadow is compared with the champion.`);
    if (model.status === 'shadow') return;
    const { shadow } = await this.ports.store.roles();
    const changes = [...(shadow ? [{ version: shadow, status: 'candidate' as const }] : []), { version, status: 'shadow' as const }];
    await this.ports.store.apply(changes, { ...who, action: 'shadow', version, previous: shadow });
    await this.ports.notify();
  }

  /** Stops shadow scoring; the shadow goes back to candidate. */
  async unshadow(who: Actor): Promise<string | null> {
    const { shadow } = await this.ports.store.roles();
    if (!shadow) return null;
    await this.ports.store.apply([{ version: shadow, status: 'candidate' }], { ...who, action: 'unshadow', version: shadow, previous: null });
    await this.ports.notify();
    return shadow;
  }

  /** Makes `version` the champion; the previous champion is retired (and is what rollback returns to). */
  async promote(version: string, who: Actor, details?: Record<string, unknown>): Promise<{ previous: string | null }> {
    const model = await this.require(version);
    const { champion } = await this.ports.store.roles();
    if (champion === version) return { previous: null };
    // Re-checked at promotion: a bundle that fails the start-up checks must never become the champion.
    await this.ports.validate(await this.bundleOf(version));
    const changes = [...(champion ? [{ version: champion, status: 'retired' as const }] : []), { version, status: 'champion' as const }];
    await this.ports.store.apply(changes, { ...who, action: 'promote', version, previous: champion, details: { from: model.status, ...details } });
    await this.ports.notify();
    return { previous: champion };
  }

  /**
   * Applies a promotion gate's decision (gate.ts): promotes the candidate when it passed, otherwise
   * keeps it a candidate; either way the decision, with the metrics that made it, is in the log
   * (`promote` or `reject`).
   */
  async gate(decision: GateDecision, who: Pick<Actor, 'actor'>): Promise<{ promoted: boolean; previous: string | null }> {
    const version = decision.candidate.version;
    const details = { gate: decision };
    if (decision.promote) {
      const { previous } = await this.promote(version, { actor: who.actor, reason: decision.reason }, details);
      return { promoted: true, previous };
    }
    await this.require(version);
    const { champion } = await this.ports.store.roles();
    await this.ports.store.apply([], { actor: who.actor, reason: decision.reason, action: 'reject', version, previous: champion, details });
    return { promoted: false, previous: champion };
  }

  /** Returns to the champion before the current one (the one the last promotion replaced). */
  async rollback(who: Actor): Promise<{ from: string; to: string }> {
    const { champion } = await this.ports.store.roles();
    if (!champion) throw invalidTransition('There is no champion to roll back from.');
    const entries = await this.ports.store.log(200, champion);
    const became = entries.find((e) => (e.action === 'promote' || e.action === 'rollback') && e.version === champion && e.previous);
    if (!became?.previous) {
      throw invalidTransition(`Model version ${champion} did not replace another champion, so there is nothing to roll back to.`, 'bin/churn-worker models promote <version> makes any registered version the champion.');
    }
    const to = became.previous;
    await this.require(to);
    await this.ports.validate(await this.bundleOf(to));
    await this.ports.store.apply(
      [
        { version: champion, status: 'retired' },
        { version: to, status: 'champion' },
      ],
      { ...who, action: 'rollback', version: to, previous: champion },
    );
    await this.ports.notify();
    return { from: champion, to };
  }

  /**
   * At first start (no champion yet) the shipped model becomes the champion. Safe when several
   * processes start at once: the store allows one champion, and a process that loses the race
   * finds the winner's.
   */
  async ensureChampion(shipped: () => Promise<{ onnx: Uint8Array; spec: unknown; card?: unknown }>): Promise<string> {
    const roles = await this.ports.store.roles();
    if (roles.champion) return roles.champion;
    const model = await shipped();
    const who = { actor: 'system', reason: 'first start: the model shipped in models/ becomes the champion' };
    try {
      const { model: registered, created } = await this.register({ ...model, source: 'shipped', metrics: metricsFromCard(model.card) }, who, 'champion');
      if (!created && registered.status !== 'champion') await this.promote(registered.version, who);
    } catch (error) {
      const after = await this.ports.store.roles();
      if (after.champion) return after.champion;
      throw error;
    }
    return (await this.ports.store.roles()).champion!;
  }

  async bundleOf(version: string): Promise<ModelBundleRecord> {
    const bundle = await this.ports.store.bundle(version);
    if (!bundle) throw notFound(version);
    return bundle;
  }

  private async require(version: string): Promise<ModelVersionInfo> {
    const model = await this.ports.store.get(version);
    if (!model) throw notFound(version);
    return model;
  }
}
