/**
 * The subcommand registry: one import and one entry per subcommand, in the order `--help` lists them.
 * Command modules are loaded lazily so `churn-worker emulator` does not load onnxruntime.
 */
import type { Command } from '../command.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'demo', summary: 'Run the real-time path end to end against the local org emulator, narrated.', load: async () => (await import('./demo.js')).command },
  { name: 'web', summary: 'Run the web process (outbound-message receiver, prediction API, health).', load: async () => (await import('./web.js')).command },
  { name: 'worker', summary: 'Run the worker process (signs in to Salesforce, processes queued jobs).', load: async () => (await import('./worker.js')).command },
  { name: 'emulator', summary: 'Run the local Salesforce org emulator.', load: async () => (await import('./emulator.js')).command },
  { name: 'doctor', summary: 'Check configuration, Redis, the model, the Salesforce sign-in, Account fields and the API allowance.', load: async () => (await import('./doctor.js')).command },
  { name: 'accounts', summary: 'Sign in to Salesforce with the JWT bearer flow and list a few Accounts.', load: async () => (await import('./accounts.js')).command },
  { name: 'train', summary: 'Train the churn model (gradient-boosted trees) and write it with its spec and model card.', load: async () => (await import('./train.js')).command },
  { name: 'evaluate', summary: 'Score a labelled CSV with the worker\'s scoring engine and print metrics.', load: async () => (await import('./evaluate.js')).command },
  { name: 'models', summary: 'The model registry: list, show, import, shadow, promote, roll back, compare.', load: async () => (await import('./models.js')).command },
  { name: 'history', summary: "Print an Account's score history (time, score, risk, model version, path, reasons).", load: async () => (await import('./history.js')).command },
  { name: 'db', summary: "Apply or list the system of record's schema migrations (PostgreSQL).", load: async () => (await import('./db.js')).command },
  { name: 'rescore', summary: 'Enqueue a re-scoring run of every Account now (Bulk API 2.0); --wait follows it.', load: async () => (await import('./rescore.js')).command },
  { name: 'bench', summary: 'Run a named benchmark (scoring, ...).', load: async () => (await import('./bench.js')).command },
];
