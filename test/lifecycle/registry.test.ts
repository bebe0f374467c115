/**
 * The registry's rules with an in-memory store: what promote, shadow and rollback change, what they
 * refuse, and that every change is logged with who and why.
 */
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { ModelRegistry, type LogEntryInput, type ModelStatus, type ModelStore, type ModelVersionInfo, type NewModel, type PromotionEntry } from '../../src/lifecycle/registry.js';

class MemoryStore implements ModelStore {
  models = new Map<string, NewModel & { createdAt: Date; statusAt: Date }>();
  entries: PromotionEntry[] = [];
  private info(m: NewModel & { createdAt: Date; statusAt: Date }): ModelVersionInfo {
    return { version: m.version, status: m.status, source: m.source, sha256: m.sha256, createdAt: m.createdAt, statusAt: m.statusAt, metrics: m.metrics, features: [] };
  }
  async list() {
    return [...this.models.values()].map((m) => this.info(m));
  }
  async get(version: string) {
    const m = this.models.get(version);
    return m ? this.info(m) : undefined;
  }
  async bundle(version: string) {
    const m = this.models.get(version);
    return m ? { version, onnx: m.onnx, spec: m.spec } : undefined;
  }
  async roles() {
    const of = (s: ModelStatus) => [...this.models.values()].find((m) => m.status === s)?.version ?? null;
    return { champion: of('champion'), shadow: of('shadow') };
  }
  async insert(model: NewModel, entry: LogEntryInput) {
    if (this.models.has(model.version)) return false;
    this.models.set(model.version, { ...model, createdAt: new Date(), statusAt: new Date() });
    this.log_(entry);
    return true;
  }
  async apply(changes: ReadonlyArray<{ version: string; status: ModelStatus }>, entry: LogEntryInput) {
    for (const c of changes) this.models.get(c.version)!.status = c.status;
    const roles = await this.roles();
    expect([...this.models.values()].filter((m) => m.status === 'champion').length).toBeLessThanOrEqual(1);
    expect(roles).toBeDefined();
    this.log_(entry);
  }
  async log(limit: number, version?: string) {
    return this.entries.filter((e) => !version || e.version === version || e.previous === version).slice(-limit).reverse();
  }
  private log_(entry: LogEntryInput) {
    this.entries.push({ ...entry, id: this.entries.length + 1, at: new Date() });
  }
}

const bytes = (version: string) => new TextEncoder().encode(`onnx of ${version}`);
const spec = (version: string) => ({ modelVersion: version });
const who = { actor: 'tester', reason: 'because' };

let store: MemoryStore;
let notified: number;
let invalid: Set<string>;
let registry: ModelRegistry;

beforeEach(() => {
  store = new MemoryStore();
  notified = 0;
  invalid = new Set();
  registry = new ModelRegistry({
    store,
    validate: async (model) => {
      const version = (model.spec as { modelVersion: string }).modelVersion;
      if (invalid.has(version)) throw new AppError({ code: 'MODEL_INVALID', message: `${version} fails its start-up checks` });
      return { version, features: [] };
    },
    notify: async () => void (notified += 1),
    sha256: (b) => createHash('sha256').update(b).digest('hex'),
  });
});

async function register(version: string, status: 'candidate' | 'champion' = 'candidate') {
  return registry.register({ onnx: bytes(version), spec: spec(version), source: 'imported' }, who, status);
}

const statusOf = async (version: string) => (await store.get(version))!.status;
const code = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return (error as AppError).code;
  }
  return 'no error';
};

describe('model registry rules', () => {
  it('when no champion exists, then the shipped model becomes it, once, with a register entry by system', async () => {
    const shipped = async () => ({ onnx: bytes('v1'), spec: spec('v1'), card: { crossValidation: { mean: { auc: 0.85 } } } });
    expect(await registry.ensureChampion(shipped)).toBe('v1');
    expect(await registry.ensureChampion(async () => ({ onnx: bytes('v9'), spec: spec('v9') }))).toBe('v1');
    expect(await statusOf('v1')).toBe('champion');
    expect((await store.get('v1'))!.metrics).toMatchObject({ auc: 0.85 });
    expect(store.entries.map((e) => [e.action, e.version, e.actor])).toEqual([['register', 'v1', 'system']]);
  });

  it('when a model is imported, then it is a candidate; the same bytes again change nothing; other bytes under the same version are refused', async () => {
    expect((await register('v2')).created).toBe(true);
    expect(await statusOf('v2')).toBe('candidate');
    expect((await register('v2')).created).toBe(false);
    const other = registry.register({ onnx: new TextEncoder().encode('different'), spec: spec('v2'), source: 'imported' }, who);
    expect(await code(other)).toBe('MODEL_TRANSITION_INVALID');
    expect(notified).toBe(0);
  });

  it('when a model fails its start-up checks, then it is neither registered nor promoted', async () => {
    invalid.add('bad');
    expect(await code(register('bad'))).toBe('MODEL_INVALID');
    expect(await store.get('bad')).toBeUndefined();
    await register('v1', 'champion');
    await register('v2');
    invalid.add('v2');
    expect(await code(registry.promote('v2', who))).toBe('MODEL_INVALID');
    expect(await statusOf('v1')).toBe('champion');
  });

  it('when a candidate is promoted, then it is the champion, the old one is retired, and the log says who, why and what it replaced', async () => {
    await register('v1', 'champion');
    await register('v2');
    const before = notified;
    expect(await registry.promote('v2', { actor: 'ana', reason: 'better AUC' })).toEqual({ previous: 'v1' });
    expect(await statusOf('v2')).toBe('champion');
    expect(await statusOf('v1')).toBe('retired');
    expect(notified).toBe(before + 1);
    expect(store.entries.at(-1)).toMatchObject({ action: 'promote', version: 'v2', previous: 'v1', actor: 'ana', reason: 'better AUC' });
  });

  it('when rolled back, then the champion the last promotion replaced comes back, and a second rollback undoes the first', async () => {
    await register('v1', 'champion');
    await register('v2');
    await registry.promote('v2', who);
    expect(await registry.rollback(who)).toEqual({ from: 'v2', to: 'v1' });
    expect(await statusOf('v1')).toBe('champion');
    expect(await statusOf('v2')).toBe('retired');
    expect(await registry.rollback(who)).toEqual({ from: 'v1', to: 'v2' });
  });

  it('when the champion replaced nothing, then a rollback is refused and nothing changes', async () => {
    await register('v1', 'champion');
    expect(await code(registry.rollback(who))).toBe('MODEL_TRANSITION_INVALID');
    expect(await statusOf('v1')).toBe('champion');
  });

  it('when a version is shadowed, then it is the one shadow; the previous shadow goes back to candidate; the champion cannot be its own shadow', async () => {
    await register('v1', 'champion');
    await register('v2');
    await register('v3');
    await registry.shadow('v2', who);
    await registry.shadow('v3', who);
    expect(await store.roles()).toEqual({ champion: 'v1', shadow: 'v3' });
    expect(await statusOf('v2')).toBe('candidate');
    expect(await code(registry.shadow('v1', who))).toBe('MODEL_TRANSITION_INVALID');
    expect(await registry.unshadow(who)).toBe('v3');
    expect(await store.roles()).toEqual({ champion: 'v1', shadow: null });
  });

  it('when the shadow is promoted, then it stops being the shadow', async () => {
    await register('v1', 'champion');
    await register('v2');
    await registry.shadow('v2', who);
    await registry.promote('v2', who);
    expect(await store.roles()).toEqual({ champion: 'v2', shadow: null });
  });

  it('when an unknown version is promoted, shadowed or shown, then MODEL_NOT_FOUND names it', async () => {
    await register('v1', 'champion');
    for (const attempt of [registry.promote('nope', who), registry.shadow('nope', who), registry.show('nope')]) expect(await code(attempt)).toBe('MODEL_NOT_FOUND');
  });
});
