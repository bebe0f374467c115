/**
 * Checks of the module graph that ESLint's per-file rules cannot make (run by `npm run lint`):
 * - no circular imports anywhere in src/;
 * - the web process loads no worker-only module: not the BullMQ processors, the nightly core, the
 *   scoring of Bulk rows' adapters, nor the Salesforce REST/Bulk client (jsforce). The web process
 *   only enqueues, reads run records and serves; test/runtime/web-modules.integration.test.ts checks
 *   the same on a running web process.
 * The folder boundaries (core/, nightly/, lifecycle/, scoring/, wire/, no emulator or CLI in
 * production code) are ESLint rules (eslint.config.js), so editors show them as you type.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order matter and hides which module owns a concern: break it by moving the shared part down. Cycles through type-only imports are erased at compile time and allowed.',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'web-loads-no-worker-module',
      severity: 'error',
      comment: 'The web process enqueues and serves; processors, the nightly core and the Salesforce client belong to worker processes.',
      from: { path: '^src/runtime/web-process\\.ts$' },
      to: {
        reachable: true,
        path: [
          '^src/queue/(nightly|realtime)-worker\\.ts$',
          '^src/queue/realtime-batcher\\.ts$',
          '^src/nightly/(chunk|run|parts)\\.ts$',
          '^src/runtime/(nightly|worker-process|ports)\\.ts$',
          '^src/salesforce/(client|bulk|accounts|index)\\.ts$',
          'node_modules/jsforce/',
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
