import { defineConfig } from 'vitest/config';

// The tests mutation testing runs: the fast ones that exercise the mutated modules in-process.
// Stryker's vitest runner runs only the ones related to the files it mutates (those importing them,
// directly or not), so `--mutate <one file>` runs that file's tests alone.
// Tests that start child processes or worker threads see no mutant (mutants are switched on inside
// the test process), so they only cost time here and are left out.
export default defineConfig({
  test: {
    include: [
      'test/core/**/*.test.ts',
      'test/scoring/**/*.test.ts',
      'test/wire/**/*.test.ts',
      'test/nightly/**/*.test.ts',
      'test/config/**/*.test.ts',
      'test/http/envelope*.test.ts',
      'test/http/outbound.integration.test.ts',
      'test/http/predict.integration.test.ts',
    ],
    exclude: ['test/scoring/thread.integration.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
