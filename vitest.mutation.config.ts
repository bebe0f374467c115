import { defineConfig } from 'vitest/config';

// The tests mutation testing runs: the fast ones that exercise the mutated modules in-process.
// Stryker's vitest runner runs only the ones related to the files it mutates (those importing them,
// directly or not), so `--mutate <one file>` runs that file's tests alone.
// Left out: tests that start child processes or worker threads (they see no mutant: mutants are
// switched on inside the test process), tests over HTTP and Redis (a second per mutant for what the
// in-process tests assert too), and the random-seeded fuzz test (a kill must not depend on the seed).
export default defineConfig({
  test: {
    include: [
      'test/core/**/*.test.ts',
      'test/scoring/**/*.test.ts',
      'test/wire/**/*.test.ts',
      'test/nightly/**/*.test.ts',
      'test/config/**/*.test.ts',
      'test/http/envelope*.test.ts',
    ],
    exclude: ['test/scoring/thread.integration.test.ts', 'test/http/envelope.fuzz.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
