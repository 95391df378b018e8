#!/usr/bin/env bash
# Coverage-guided fuzzing of SecureFedRec's parsers with SharpFuzz + AFL++ (docs/fuzzing.md).
#
#   fuzz/run.sh [seconds-per-target] [target ...]      default: 60 s, every target
#
# Needs: the .NET SDK, afl-fuzz (Debian: apt-get install afl++), and the SharpFuzz CLI (installed here on first use
# from the configured NuGet feed into fuzz/.tools: dotnet tool install SharpFuzz.CommandLine --version 2.3.0).
# Builds fuzz/SecureFedRec.Fuzz in Release, copies it to $SFR_FUZZ_WORK (default /tmp/sfr-fuzz), instruments the
# product assemblies there (never the build output), then runs afl-fuzz on each target for the given time from the seed
# corpus in fuzz/corpus/<target>, and prints execs/s, paths found and crashes per target. Crashing inputs are left in
# $SFR_FUZZ_WORK/findings/<target>/default/crashes; replay one on the uninstrumented build with
#   dotnet fuzz/SecureFedRec.Fuzz/bin/Release/net10.0/SecureFedRec.Fuzz.dll <target> --run <file>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
seconds=${1:-60}
shift || true
work=${SFR_FUZZ_WORK:-/tmp/sfr-fuzz}
run=${SFR_RUN:-}          # e.g. SFR_RUN=sfr-run on a shared machine
# Per-input timeout (ms). In persistent mode a timed-out input kills the one dotnet process, which AFL then reports as a
# dead fork server, so it is generous: the first input of client-message also builds the corpus round (about a second,
# several under load and instrumentation).
timeout_ms=${SFR_FUZZ_TIMEOUT_MS:-20000}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(client-message journal-entry roster client-ledger allow-list model round-info)
fi

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: install AFL++ (Debian: apt-get install afl++)" >&2; exit 3; }

sharpfuzz=$(command -v sharpfuzz || true)
if [ -z "$sharpfuzz" ]; then
  if [ ! -x "$here/.tools/sharpfuzz" ]; then
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$here/.tools" >/dev/null
  fi
  sharpfuzz="$here/.tools/sharpfuzz"
fi

$run dotnet build "$here/SecureFedRec.Fuzz" -c Release -nologo -clp:ErrorsOnly >/dev/null
rm -rf "$work/bin"
mkdir -p "$work/bin" "$work/findings"
cp -r "$here/SecureFedRec.Fuzz/bin/Release/net10.0/." "$work/bin/"

# The assemblies whose parsers are fuzzed (and protobuf's, whose decoder they call). SharpFuzz itself, the runtime and
# the rest of the dependencies stay uninstrumented.
for dll in Google.Protobuf SecureFedRec.Protocol SecureFedRec.Wire SecureFedRec.Rounds SecureFedRec.Roster \
           SecureFedRec.Privacy SecureFedRec.Coordinator; do
  "$sharpfuzz" "$work/bin/$dll.dll" >/dev/null
done

export AFL_SKIP_BIN_CHECK=1                       # the target binary is dotnet, not an instrumented ELF
export AFL_NO_UI=1
export AFL_SKIP_CPUFREQ=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1    # containers cannot change /proc/sys/kernel/core_pattern
export AFL_NO_AFFINITY=1                          # a shared machine: do not pin cores
export SFR_REPO="$repo"

printf '%-16s %10s %12s %8s %8s %8s %s\n' target execs/s execs paths crashes hangs stability
for t in "${targets[@]}"; do
  out="$work/findings/$t"
  rm -rf "$out"
  $run afl-fuzz -V "$seconds" -i "$repo/fuzz/corpus/$t" -o "$out" -t "$timeout_ms" -m none \
    -- dotnet "$work/bin/SecureFedRec.Fuzz.dll" "$t" --afl >"$work/$t.log" 2>&1 || true
  stats="$out/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    echo "$t: afl-fuzz did not start; see $work/$t.log" >&2
    tail -5 "$work/$t.log" >&2
    continue
  fi
  get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  printf '%-16s %10s %12s %8s %8s %8s %s\n' "$t" "$(get execs_per_sec)" "$(get execs_done)" "$(get corpus_count)" \
    "$(get saved_crashes)" "$(get saved_hangs)" "$(get stability)"
done
