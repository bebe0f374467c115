#!/usr/bin/env node
// Removes the onnxruntime-node binaries this machine cannot load. The npm package ships native
// builds for every OS and CPU (darwin, win32, linux; x64 and arm64: about 290 MB), and npm installs
// them all; a Heroku dyno runs linux/x64 only, and the compressed slug must stay under 500 MB.
//
//   node scripts/heroku-prune.mjs            # keep the running platform's build (linux/x64 on Heroku)
//   node scripts/heroku-prune.mjs --dry-run  # list what would go
//   node scripts/heroku-prune.mjs --platform=linux --arch=x64   # keep another build than this machine's
//
// It refuses to run when the build it would keep is missing, so it can never leave a tree with no
// usable binary. Idempotent: a second run finds nothing to remove.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dryRun = process.argv.includes('--dry-run');
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const keep = { platform: option('platform') ?? process.platform, arch: option('arch') ?? process.arch };
const binRoot = join(root, 'node_modules', 'onnxruntime-node', 'bin');

function size(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((total, name) => total + size(join(path, name)), 0);
}

if (!existsSync(binRoot)) {
  console.log(`heroku-prune: ${binRoot} not found; nothing to prune`);
  process.exit(0);
}

let freed = 0;
for (const napi of readdirSync(binRoot).filter((d) => d.startsWith('napi-v'))) {
  const napiDir = join(binRoot, napi);
  const kept = join(napiDir, keep.platform, keep.arch);
  if (!existsSync(kept)) {
    console.error(`heroku-prune: ${kept} is missing; refusing to prune (this platform would have no onnxruntime binary)`);
    process.exit(1);
  }
  for (const platform of readdirSync(napiDir)) {
    const platformDir = join(napiDir, platform);
    if (!statSync(platformDir).isDirectory()) continue;
    for (const arch of readdirSync(platformDir)) {
      if (platform === keep.platform && arch === keep.arch) continue;
      const dir = join(platformDir, arch);
      const bytes = size(dir);
      freed += bytes;
      console.log(`heroku-prune: ${dryRun ? 'would remove' : 'removing'} ${napi}/${platform}/${arch} (${(bytes / 1e6).toFixed(1)} MB)`);
      if (!dryRun) rmSync(dir, { recursive: true, force: true });
    }
    if (!dryRun && readdirSync(platformDir).length === 0) rmSync(platformDir, { recursive: true, force: true });
  }
}
console.log(`heroku-prune: kept ${keep.platform}/${keep.arch}; ${dryRun ? 'would free' : 'freed'} ${(freed / 1e6).toFixed(1)} MB`);
