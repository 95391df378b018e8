#!/bin/bash
# Flower's SecAgg+ round, then ours, back to back in one exclusive sfr-run slot (both cores, nothing else of the
# project running), so the ratio compares two rounds measured minutes apart on the same machine in the same state.
#
# usage: SFR_SLOT_EXCLUSIVE=1 sfr-run bench/flower/run_pair.sh FLOWER_SRC FLOWER_COMMIT F O
#   FLOWER_SRC     directory holding Flower's `flwr` package (<flower checkout>/framework/py)
#   FLOWER_COMMIT  the snapshot's commit (recorded in the JSON)
#   F, O           next free N of bench/results/flower-n200-d100000-k7-runN.json and of
#                  bench/results/secagg-n200-d100000-k6-t4-runN.json
# WIRE=1: Flower's messages round-trip through its protobuf serde (--wire); results then go to
#   bench/results/flower-n200-d100000-k7-wire-runF.json.
# Needs a Release build of src/SecureFedRec.Cli (sfr-run dotnet build src/SecureFedRec.Cli -c Release) and
# Debian's python3 with the packages listed in bench/flower/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$1; COMMIT=$2; F=$3; O=$4
PY=${PYTHON:-/usr/bin/python3}
OURS=secagg-n200-d100000-k6-t4-run$O.json
if [ "${WIRE:-0}" = 1 ]; then EXTRA=(--wire); NAME=flower-n200-d100000-k7-wire-run$F.json
else EXTRA=(); NAME=flower-n200-d100000-k7-run$F.json; fi
echo "== $(date -u +%FT%TZ) load: $(cat /proc/loadavg)"
"$PY" bench/flower/run_flower_secaggplus.py --flwr-src "$SRC" --flwr-commit "$COMMIT" \
  --clients 200 --dim 100000 --num-shares 7 --threshold 4 --dropout 0.1 --rounds 5 --seed 4243 \
  --json "bench/results/$NAME" --paired-with "$OURS" "${EXTRA[@]}" 2>&1 | grep -v -E 'INFO|WARNING'
echo "== $(date -u +%FT%TZ) load: $(cat /proc/loadavg)"
dotnet run -c Release --project src/SecureFedRec.Cli --no-build -- bench secagg --clients 200 --dim 100000 --bits 32 \
  --dropout 0.1 --graph harary --neighbors 6 --threshold 4 --threads 2 --seed 4243 --repeat 9 \
  --json "bench/results/$OURS"
echo "== $(date -u +%FT%TZ) load: $(cat /proc/loadavg)"
