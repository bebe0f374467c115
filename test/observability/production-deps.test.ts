/**
 * A Heroku slug keeps only `dependencies` (the build prunes the dev ones), and it ships every command
 * (the emulator, the demo, the benchmarks, training). So every package the source loads at run time
 * must be a runtime dependency: a dev-only import works in a checkout and fails on a dyno.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.js';

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [join(dir, e.name)] : []));
}

/** Package names the file loads at run time: static value imports, side-effect imports, dynamic imports. */
function runtimePackages(source: string): string[] {
  const specifiers = [
    ...[...source.matchAll(/^import (?!type\b)[^;]*?from '([^']+)'/gms)].map((m) => m[1]!),
    ...[...source.matchAll(/^import '([^']+)'/gm)].map((m) => m[1]!),
    ...[...source.matchAll(/\bimport\('([^']+)'\)/g)].map((m) => m[1]!),
  ];
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

describe('what a production slug carries', () => {
  const used = new Map<string, string>();
  for (const file of sourceFiles(`${ROOT}src`)) for (const name of runtimePackages(readFileSync(file, 'utf8'))) used.set(name, file.slice(ROOT.length));

  it('the source was scanned', () => {
    expect([...used.keys()]).toEqual(expect.arrayContaining(['express', 'bullmq', 'jsforce', 'onnxruntime-node']));
  });

  it('when the source loads a package at run time, then it is a runtime dependency, not a dev dependency', () => {
    const missing = [...used].filter(([name]) => !(name in pkg.dependencies)).map(([name, file]) => `${name} (loaded by ${file})`);
    expect(missing).toEqual([]);
  });
});
