#!/usr/bin/env bash
# Salesforce's own CLI as a client of the local org emulator: signs in with `sf org login jwt`,
# exports Accounts with `sf data export bulk` and writes churn scores back with `sf data update bulk`,
# then checks through the emulator's admin API that every row was written. It proves that the
# emulator answers what a real Salesforce client needs (the JWT grant with exp in milliseconds, the
# API version's resource list, Organization, Bulk API 2.0 query and ingest), not only what this
# project's own client sends.
#
# Not part of `npm test` (the CLI is a 300 MB install and needs Node >= 22.19). To run it:
#
#   npm install --prefix /work/tools/sf @salesforce/cli      # once, anywhere outside the repository
#   SF=/work/tools/sf/node_modules/.bin/sf scripts/sf-cli-check.sh
#
# Everything the CLI writes (auth files, logs, the CSV files) goes to a temporary HOME that is removed
# afterwards (KEEP_WORK=1 keeps it, with the emulator's request log), so the check never touches your
# own `sf` logins. Exits non-zero on the first failure.
set -euo pipefail

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
SF=${SF:-sf}
ACCOUNTS=${ACCOUNTS:-3000}
if ! command -v "$SF" >/dev/null 2>&1; then
  echo "sf-cli-check: Salesforce's CLI was not found as '$SF'. Install it outside the repository with" >&2
  echo "  npm install --prefix /work/tools/sf @salesforce/cli" >&2
  echo "and run SF=/work/tools/sf/node_modules/.bin/sf $0" >&2
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sf-cli-check-XXXXXX")
EMULATOR_PID=""
cleanup() {
  if [ -n "$EMULATOR_PID" ]; then kill "$EMULATOR_PID" 2>/dev/null || true; wait "$EMULATOR_PID" 2>/dev/null || true; fi
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK (emulator log: $WORK/emulator.err)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

# The CLI keeps its logins under $HOME/.sf and $HOME/.sfdx; give it a throwaway HOME. It also
# spawns `sf` by name for some hooks, so its own bin directory goes first on PATH.
export HOME="$WORK/home"
mkdir -p "$HOME"
export PATH="$(dirname -- "$(command -v "$SF")"):$PATH"
export SF_DISABLE_TELEMETRY=true SF_AUTOUPDATE_DISABLE=true SF_SKIP_NEW_VERSION_CHECK=true SF_HIDE_RELEASE_NOTES=true SF_USE_PROGRESS_BAR=false

step() { printf '\n== %s\n' "$*"; }

step "sf version"
"$SF" --version

step "start the emulator ($ACCOUNTS Accounts, key pair in $WORK/.emulator)"
cd "$WORK"
"$ROOT/bin/churn-worker" emulator --port 0 --accounts "$ACCOUNTS" --log-level info >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMULATOR_PID=$!
for _ in $(seq 1 100); do
  grep -q '^SF_LOGIN_URL=' "$WORK/emulator.out" 2>/dev/null && break
  sleep 0.1
done
URL=$(sed -n 's/^SF_LOGIN_URL=//p' "$WORK/emulator.out")
CLIENT_ID=$(sed -n 's/^SF_CLIENT_ID=//p' "$WORK/emulator.out")
USERNAME=$(sed -n 's/^SF_USERNAME=//p' "$WORK/emulator.out")
if [ -z "$URL" ]; then cat "$WORK/emulator.err" >&2; echo "sf-cli-check: the emulator did not start" >&2; exit 1; fi
echo "emulator at $URL"

step "sf org login jwt"
"$SF" org login jwt --client-id "$CLIENT_ID" --jwt-key-file "$WORK/.emulator/jwt-private-key.pem" \
  --username "$USERNAME" --instance-url "$URL" --alias emulator --json | tee "$WORK/login.json"
grep -q '"status": 0' "$WORK/login.json"

step "sf data export bulk (Account, $ACCOUNTS rows)"
"$SF" data export bulk --target-org emulator --query "SELECT Id, Name, Tenure_Months__c, Contract_Type__c FROM Account" \
  --output-file "$WORK/accounts.csv" --result-format csv --wait 5 --json | tee "$WORK/export.json"
EXPORTED=$(($(wc -l <"$WORK/accounts.csv") - 1))
echo "exported $EXPORTED rows; first lines:"
head -3 "$WORK/accounts.csv"
[ "$EXPORTED" -eq "$ACCOUNTS" ] || { echo "sf-cli-check: expected $ACCOUNTS rows, got $EXPORTED" >&2; exit 1; }

step "sf data update bulk (Account: Churn_Score__c and Churn_Risk__c on every row)"
# The integration user may edit only the Churn_* output fields, as in a real org.
{
  echo "Id,Churn_Score__c,Churn_Risk__c"
  tail -n +2 "$WORK/accounts.csv" | cut -d, -f1 | tr -d '"' | awk '{ printf "%s,%d.5,%s\n", $1, NR % 100, (NR % 3 == 0 ? "High" : "Low") }'
} >"$WORK/update.csv"
"$SF" data update bulk --target-org emulator --sobject Account --file "$WORK/update.csv" --wait 5 --json | tee "$WORK/update.json"

step "check the writes through the emulator's admin API"
FIRST=$(sed -n '2p' "$WORK/update.csv" | cut -d, -f1)
LAST=$(tail -1 "$WORK/update.csv" | cut -d, -f1)
for ID in "$FIRST" "$LAST"; do
  node -e '
    const [url, id, expected] = process.argv.slice(1);
    fetch(`${url}/__admin/accounts/${id}`).then((r) => r.json()).then((a) => {
      const score = a.fields.Churn_Score__c;
      console.log(`${id}: Churn_Score__c=${score} Churn_Risk__c=${a.fields.Churn_Risk__c} last modified by ${a.lastModifiedBy.username}`);
      if (score === null || a.lastModifiedBy.username !== expected) process.exit(1);
    });
  ' "$URL" "$ID" "$USERNAME"
done
JOBS=$(node -e 'fetch(process.argv[1] + "/__admin/bulk/jobs").then((r) => r.json()).then((j) => console.log(j.map((x) => `${x.kind} ${x.state} processed=${x.numberRecordsProcessed} failed=${x.numberRecordsFailed ?? 0}`).join("\n")))' "$URL")
echo "$JOBS"
echo "$JOBS" | grep -q "^ingest JobComplete processed=$ACCOUNTS failed=0$" || { echo "sf-cli-check: the ingest job did not write every row" >&2; exit 1; }

step "all three commands worked against the emulator"
