#!/usr/bin/env bash
# Runs the whole SecureFedRec test suite from a clean clone.
#  1. installs what a fresh machine of this kind lacks (Debian packages needed by the integration tests),
#  2. builds the solution once in Release (warnings are errors),
#  3. runs every test project, writing one TRX file each,
#  4. prints a plain closing line "N passed, N failed[, N skipped]" computed from the TRX files,
#     and exits non-zero when any test failed or nothing ran.
set -uo pipefail
cd "$(dirname "$0")"

log() { printf '[test.sh] %s\n' "$*" >&2; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# --- prerequisites -------------------------------------------------------------------------------------------
if [ -x ./scripts/install-prereqs.sh ]; then
  ./scripts/install-prereqs.sh || { log "installing prerequisites failed"; echo "0 passed, 1 failed"; exit 1; }
fi

# --- build ---------------------------------------------------------------------------------------------------
results="$(pwd)/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
if ! dotnet build SecureFedRec.sln -c Release -nologo -clp:ErrorsOnly; then
  log "build failed"; echo "0 passed, 1 failed"; exit 1
fi

# --- test ----------------------------------------------------------------------------------------------------
rc=0
dotnet test SecureFedRec.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" \
  -- RunConfiguration.TestSessionTimeout=2700000 || rc=$?

# --- summary from the TRX files (the authoritative counts) ---------------------------------------------------
passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted); n=$(get notExecuted)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0})); skipped=$((skipped + ${n:-0}))
done
if [ "$files" -eq 0 ]; then
  log "no TRX results were written"; failed=$((failed + 1))
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  log "dotnet test exited $rc without a failed test in the TRX files (crash or abort): counted as one failure"
  failed=1
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
