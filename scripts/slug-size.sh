#!/usr/bin/env bash
# Measures what a Heroku build of this repository weighs, the way the Node.js buildpack makes it:
# a fresh clone, `npm ci` (dev dependencies included), the build (`heroku-postbuild`: compile to dist/
# and prune foreign onnxruntime binaries), `npm prune --omit=dev`, then sizes of node_modules, of the
# whole app and of a gzip tarball of it (a proxy for the compressed slug; Heroku's limit is 500 MB).
#
#   scripts/slug-size.sh            # clones this checkout's HEAD
#   scripts/slug-size.sh <git-url>  # or any other clone source
#   scripts/slug-size.sh --worktree # this checkout's files as they are now (uncommitted changes too)
#   KEEP=1 scripts/slug-size.sh     # keep the temp directory to look around
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
SRC=${1:-$HERE}
WORK=$(mktemp -d -t churn-slug-XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
APP="$WORK/app"

if [ "$SRC" = "--worktree" ]; then
  echo "--- copy the working tree of $HERE (tracked and untracked files, .gitignore respected)"
  mkdir -p "$APP"
  (cd "$HERE" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf -) | tar -xf - -C "$APP"
  git -C "$APP" init --quiet
else
  echo "--- clone $SRC"
  git clone --quiet "$SRC" "$APP"
fi
cd "$APP"
# Heroku drops what .slugignore lists before the build runs.
if [ -f .slugignore ]; then
  while IFS= read -r pattern; do
    case "$pattern" in ''|'#'*) continue ;; esac
    rm -rf -- ./${pattern#/}
  done < .slugignore
fi
echo "--- npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "--- npm run heroku-postbuild"
npm run --silent heroku-postbuild
echo "--- npm prune --omit=dev"
npm prune --omit=dev --no-audit --no-fund --loglevel=error
rm -rf .git

echo "--- check: the pruned build starts (churn-worker --help from dist/)"
bin/churn-worker --help >/dev/null
echo "--- check: the scoring thread loads the model from dist/ with the one onnxruntime binary left"
cat > "$WORK/check.mjs" <<CHECK
const { ScoringThread } = await import('$APP/dist/scoring/thread.js');
const thread = await ScoringThread.open({ modelPath: '$APP/models/churn-gbt.onnx' });
await thread.close();
console.log('scoring thread ok:', thread.modelVersion);
CHECK
node "$WORK/check.mjs"

mb() { du -sm "$1" | cut -f1; }
NM=$(mb node_modules)
ORT=$(mb node_modules/onnxruntime-node)
TOTAL=$(mb .)
tar -czf "$WORK/slug.tgz" -C "$WORK" app
TGZ=$(( $(stat -c %s "$WORK/slug.tgz") / 1024 / 1024 ))
echo "--- largest packages"
du -sm node_modules/* node_modules/@*/* 2>/dev/null | sort -rn | head -8
echo
printf 'node_modules: %s MB (onnxruntime-node %s MB)\napp total: %s MB\ncompressed (tar.gz): %s MB of Heroku'"'"'s 500 MB slug limit\n' "$NM" "$ORT" "$TOTAL" "$TGZ"
echo "{\"nodeModulesMB\":$NM,\"onnxruntimeMB\":$ORT,\"appMB\":$TOTAL,\"compressedMB\":$TGZ,\"limitMB\":500}"
