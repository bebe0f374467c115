/**
 * Runs a ScoringEngine inside a worker thread, so encoding, inference and reasons never stall the
 * event loop of the process that hosts BullMQ workers (lock renewal) or HTTP requests.
 * Messages: `{ id, records, options }` in, `{ id, results }` or `{ id, error }` out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isAppError } from '../core/errors.js';
import { ScoringEngine, isFailure } from './engine.js';
import { RowsRescorer } from './rows.js';
import type { ThreadData, ThreadRequest, ThreadResponse, ThreadResult } from './thread.js';

const port = parentPort!;
const { options } = workerData as ThreadData;

function serializeError(error: unknown) {
  return isAppError(error)
    ? { code: error.code, message: error.problem, hint: error.hint }
    : { code: 'SCORING_FAILED' as const, message: (error as Error)?.message ?? String(error) };
}

ScoringEngine.open(options).then(
  (engine) => {
    port.postMessage({ type: 'ready', spec: engine.spec, width: engine.encoder.width } satisfies ThreadResponse);
    const rows = new RowsRescorer(engine);
    port.on('message', (message: ThreadRequest) => {
      if (message.type === 'close') {
        void engine.close().then(() => port.postMessage({ type: 'closed' } satisfies ThreadResponse));
        return;
      }
      if (message.type === 'rows') {
        rows.rescore(message.request).then(
          (result) => port.postMessage({ type: 'rows', id: message.id, result } satisfies ThreadResponse),
          (error: unknown) => port.postMessage({ type: 'failed', id: message.id, error: serializeError(error) } satisfies ThreadResponse),
        );
        return;
      }
      const now = new Date(message.now);
      engine.score(message.records, { reasons: message.reasons, now }).then(
        (scored) => {
          const results: ThreadResult[] = scored.map((r) => (isFailure(r) ? r : { ...r, fields: engine.toAccountFields(r, now) }));
          port.postMessage({ type: 'scored', id: message.id, results } satisfies ThreadResponse);
        },
        (error: unknown) => port.postMessage({ type: 'failed', id: message.id, error: serializeError(error) } satisfies ThreadResponse),
      );
    });
  },
  (error: unknown) => {
    port.postMessage({ type: 'failed', id: 0, error: serializeError(error) } satisfies ThreadResponse);
  },
);
