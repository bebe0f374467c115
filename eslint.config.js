import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Production code does not import the emulator or the command line (they import it). */
const NO_TOOLS = { regex: '(^|/)(emulator|cli)/', message: 'Production code must not import the emulator or the CLI.' };
/** The domain folders (nightly/, lifecycle/) take their collaborators as ports, so they import no boundary folder… */
const NO_BOUNDARY = { regex: '^\\.\\./(queue|db|salesforce|http|runtime|scoring|observability|config|training)/', message: 'A domain folder imports no boundary: take the collaborator as a port (see nightly/ports.ts).' };
/** …and none of the libraries that are boundaries. */
const BOUNDARY_PACKAGES = { regex: '^(bullmq|ioredis|pg|pg-copy-streams|jsforce|express|onnxruntime-node)(/|$)', message: 'A domain folder imports neither bullmq, ioredis, pg nor jsforce (nor express, onnxruntime).' };
/** Anything outside `folder` (a relative import that climbs out of it). */
const outside = (folder) => ({ regex: '^\\.\\./', message: `${folder}/ imports nothing outside itself.` });
/** Any package but Node's own and the ones named. */
const packages = (folder, allowed = []) => ({ regex: `^(?!node:|\\.${allowed.map((p) => `|${p}(/|$)`).join('')})`, message: `${folder}/ imports no package${allowed.length ? ` but ${allowed.join(', ')}` : ''}.` });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'salesforce/**', 'coverage/**', '.emulator/**', 'tmp/**', '.stryker-tmp/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through src/config only.' }],
    },
  },
  { files: ['src/config/**', 'test/**', 'vitest.config.ts', 'eslint.config.js'], rules: { 'no-restricted-properties': 'off' } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  // Boundaries: one folder per boundary, and the folders that hold the rules import none of them.
  // (Options of a rule are not merged between blocks: each block lists all of its folder's limits.)
  { files: ['src/**/*.ts'], ignores: ['src/cli/**', 'src/emulator/**'], rules: { 'no-restricted-imports': ['error', { patterns: [NO_TOOLS] }] } },
  { files: ['src/core/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [outside('core'), packages('core')] }] } },
  { files: ['src/wire/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [outside('wire'), packages('wire', ['papaparse'])] }] } },
  { files: ['src/scoring/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [NO_TOOLS, { regex: '(^|/)salesforce/', message: 'scoring/ does not import salesforce/: the Bulk CSV format is in src/wire/.' }] }] } },
  { files: ['src/nightly/**/*.ts', 'src/lifecycle/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [NO_TOOLS, NO_BOUNDARY, BOUNDARY_PACKAGES] }] } },
);
