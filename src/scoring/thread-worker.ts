/**
 * Runs ScoringEngines inside a worker thread, so encoding, inference and reasons never stall the
 * event loop of the process that hosts BullMQ workers (lock renewal) or HTTP requests.
 *
 * The thread holds the champion, the shadow (when one is set) and the previous champion: work that
 * started before a promotion names the version it read its fields for and finishes on it, so a swap
 * never fails a batch in flight. An engine is released only when no request uses it any more.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isAppError } from '../core/errors.js';
import { ScoringEngine, isFailure } from './engine.js';
import { formatFactors } from './reasons.js';
import { RowsRescorer, type RowsRequest, type RowsResult } from './rows.js';
import { parseCsvRecords } from '../wire/bulk-csv.js';
import type { CompactResult, ModelSlot, ThreadData, ThreadRequest, ThreadResponse, ThreadResult } from './thread.js';

const port = parentPort!;
const { initial, threads } = workerData as ThreadData;

interface Loaded {
  engine: ScoringEngine;
  rows: RowsRescorer;
  /** The engine's input counts as last sent to the host thread (its /metrics). */
  reported: Uint32Array;
  /** Requests running on it now. */
  busy: number;
  /** Release it when the last request ends. */
  retire: boolean;
}

const loaded = new Map<string, Loaded>();
let champion = '';
let shadow: string | null = null;
let previous: string | null = null;

function serializeError(error: unknown) {
  return isAppError(error)
    ? { code: error.code, message: error.problem, hint: error.hint }
    : { code: 'SCORING_FAILED' as const, message: (error as Error)?.message ?? String(error) };
}

async function openSlot(slot: Exclude<ModelSlot, { kind: 'loaded' }>): Promise<ScoringEngine> {
  if (slot.kind === 'files') return ScoringEngine.open({ modelPath: slot.modelPath, specPath: slot.specPath, threads });
  return ScoringEngine.load({ onnx: slot.onnx, spec: slot.spec, label: `version ${slot.spec.modelVersion}` }, threads);
}

/** Marks an engine for release; it is closed now if idle, else when its last request ends. */
function release(version: string, entry = loaded.get(version)): void {
  if (!entry) return;
  entry.retire = true;
  if (entry.busy > 0) return;
  // A newer engine of the same version may have taken the name meanwhile.
  if (loaded.get(version) === entry) loaded.delete(version);
  void entry.engine.close();
}

/** Runs `work` on the engine of `version` (the champion when absent), counting it as busy meanwhile. */
async function using<T>(version: string | undefined, work: (entry: Loaded) => Promise<T>): Promise<T> {
  const name = version ?? champion;
  const entry = loaded.get(name);
  if (!entry || entry.retire) {
    throw Object.assign(new Error(`model version ${name} is not loaded in the scoring thread (loaded: ${[...loaded.keys()].join(', ')})`), { code: 'SCORING_FAILED' });
  }
  entry.busy += 1;
  try {
    return await work(entry);
  } finally {
    entry.busy -= 1;
    // The shadow reads the same records again: count the inputs once, by the model that answered.
    if (name !== shadow) reportInputs(entry);
    if (entry.retire && entry.busy === 0) release(name, entry);
  }
}

const INPUT_STATES = ['', 'blank', 'unusable', 'out_of_range'] as const;

/** Sends the host thread what the engine counted since the last report (fields with odd values only). */
function reportInputs(entry: Loaded): void {
  const counts = entry.engine.inputs.counts;
  const groups = entry.engine.encoder.groups;
  const changes: Array<[string, string, number]> = [];
  for (let i = 0; i < counts.length; i++) {
    const delta = counts[i]! - entry.reported[i]!;
    if (delta > 0 && i % 4 !== 0) changes.push([groups[i >> 2]!.field, INPUT_STATES[i % 4]!, delta]);
  }
  entry.reported.set(counts);
  if (changes.length > 0) port.postMessage({ type: 'inputs', changes } satisfies ThreadResponse);
  const drift = entry.engine.drift?.take();
  if (drift && drift.rows > 0) port.postMessage({ type: 'drift', version: entry.engine.modelVersion, counts: drift } satisfies ThreadResponse);
}

/** Opens what is new, then switches roles at once; on any failure nothing changes. */
async function setModels(next: { champion: ModelSlot; shadow: ModelSlot | null }): Promise<void> {
  const opened: ScoringEngine[] = [];
  const versionOf = async (slot: ModelSlot): Promise<string> => {
    if (slot.kind === 'loaded') {
      const entry = loaded.get(slot.version);
      if (!entry || entry.retire) throw new Error(`model version ${slot.version} is not loaded in the scoring thread`);
      return slot.version;
    }
    if (slot.kind === 'bundle' && loaded.has(slot.spec.modelVersion) && !loaded.get(slot.spec.modelVersion)!.retire) return slot.spec.modelVersion;
    const engine = await openSlot(slot);
    opened.push(engine);
    return engine.modelVersion;
  };
  let nextChampion: string;
  let nextShadow: string | null;
  try {
    nextChampion = await versionOf(next.champion);
    nextShadow = next.shadow ? await versionOf(next.shadow) : null;
  } catch (error) {
    for (const engine of opened) void engine.close();
    throw error;
  }
  for (const engine of opened) {
    const old = loaded.get(engine.modelVersion);
    loaded.set(engine.modelVersion, { engine, rows: new RowsRescorer(engine), reported: engine.inputs.counts.slice(), busy: 0, retire: false });
    if (old) release(engine.modelVersion, old);
  }
  if (nextChampion !== champion && champion !== '') previous = champion;
  champion = nextChampion;
  shadow = nextShadow === nextChampion ? null : nextShadow;
  for (const version of [...loaded.keys()]) if (version !== champion && version !== shadow && version !== previous) release(version);
}

function describe(): Extract<ThreadResponse, { type: 'models' }>['models'] {
  const spec = (v: string) => loaded.get(v)!.engine.spec;
  return { champion: { version: champion, spec: spec(champion) }, shadow: shadow ? { version: shadow, spec: spec(shadow) } : null, width: loaded.get(champion)!.engine.encoder.width };
}

/**
 * Rows re-scored by `entry`; when `shadowVersion` is this thread's shadow (the one the run started
 * with), the shadow scores the same rows too, parsed once, and its rows come back in `shadow`.
 */
async function rescoreRows(entry: Loaded, request: RowsRequest, shadowVersion: string | undefined): Promise<RowsResult> {
  if (!shadowVersion || shadowVersion !== shadow || shadowVersion === entry.engine.modelVersion) return entry.rows.rescore(request);
  const rows = request.csv ? parseCsvRecords(request.csv.bytes) : (request.rows ?? []);
  const parsed = { ...request, rows, csv: undefined, keepScored: true };
  const { scoredRows, ...result } = await entry.rows.rescore(parsed);
  // The shadow never fails the champion's work: what went wrong comes back beside the result.
  try {
    return { ...result, shadow: await using(shadowVersion, (s) => s.rows.compare(parsed, scoredRows!, 'nightly')) };
  } catch (error) {
    return { ...result, shadowError: (error as Error)?.message ?? String(error) };
  }
}

function handle(message: ThreadRequest): void {
  const reply = (response: ThreadResponse) => port.postMessage(response);
  const fail = (id: number) => (error: unknown) => reply({ type: 'failed', id, error: serializeError(error) });
  switch (message.type) {
    case 'close':
      void Promise.all([...loaded.values()].map((e) => e.engine.close())).then(() => reply({ type: 'closed' }));
      return;
    case 'models':
      setModels(message).then(() => reply({ type: 'models', id: message.id, models: describe() }), fail(message.id));
      return;
    case 'rows':
      using(message.version, (entry) => rescoreRows(entry, message.request, message.shadow)).then((result) => reply({ type: 'rows', id: message.id, result }), fail(message.id));
      return;
    case 'predict': {
      const now = new Date(message.now);
      using(message.version, async (entry) => {
        const scored = await entry.engine.score(message.records, { reasons: message.reasons, now });
        const { maxLength } = entry.engine.spec.reasons;
        // The same text toAccountFields() writes to the factors field.
        return scored.map((r): CompactResult => (isFailure(r) ? r : { id: r.id, score: r.score, risk: r.risk, factors: r.factors ? formatFactors(r.factors, maxLength) : '', modelVersion: r.modelVersion }));
      }).then((results) => reply({ type: 'predicted', id: message.id, results }), fail(message.id));
      return;
    }
    case 'score': {
      const now = new Date(message.now);
      const run = (entry: Loaded, reasons: boolean) =>
        entry.engine.score(message.records, { reasons, now }).then((scored) => scored.map((r): ThreadResult => (isFailure(r) ? r : { ...r, fields: entry.engine.toAccountFields(r, now) })));
      using(message.version, async (entry) => {
        const results = await run(entry, message.reasons);
        // The shadow scores the same records with reasons, so its top reason can be compared.
        const shadowResults = message.withShadow && shadow && shadow !== entry.engine.modelVersion ? await using(shadow, (s) => run(s, true)) : undefined;
        return { results, shadow: shadowResults };
      }).then(({ results, shadow: shadowResults }) => reply({ type: 'scored', id: message.id, results, shadow: shadowResults }), fail(message.id));
      return;
    }
  }
}

setModels({ champion: initial, shadow: null }).then(
  () => {
    port.postMessage({ type: 'ready', models: describe() } satisfies ThreadResponse);
    port.on('message', handle);
  },
  (error: unknown) => port.postMessage({ type: 'failed', id: 0, error: serializeError(error) } satisfies ThreadResponse),
);
