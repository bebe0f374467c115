import { defineConfig } from 'vitest/config';

// The tests mutation testing runs: the fast ones that exercise the mutated modules in-process.
// Tests that start child processes see no mutant (mutants are switched on inside the test process),
// so they only cost time here.
export default defineConfig({
  test: {
    include: ['test/core/**/*.test.ts', 'test/scoring/**/*.test.ts', 'test/http/predict.integration.test.ts', 'test/config/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
