// Starts a TypeScript worker-thread entry when running from source. On Node 20, loader hooks given
// with --import do not reach a worker's entry module, so the worker registers tsx itself and then
// imports the real entry. Compiled builds (dist/) start their .js entries directly and never load this.
import { workerData } from 'node:worker_threads';

const { register } = await import(workerData.boot.tsxApi);
register();
await import(workerData.boot.entry);
