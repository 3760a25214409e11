#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each one for FUZZ_SECONDS
# (default 60) on a copy of its seed corpus (fuzz/corpus/<name>/). Exits
# non-zero on the first finding (crash, sanitizer report, leak, timeout).
#
#   scripts/run-fuzzers.sh                   # every fuzz_* target, 60 s each
#   FUZZ_SECONDS=3600 scripts/run-fuzzers.sh detect_header   # one target, one hour
#   FUZZ_JOBS=2 ...                           # libFuzzer -jobs/-workers (default 1)
#   FUZZ_PARALLEL=2 ...                       # targets run at the same time (default 1)
#   FUZZ_CONFIGURED=1 FUZZ_BUILD_DIR=DIR ...  # DIR is already configured with -DINFERCONF_FUZZ=ON (make test's
#                                             # build-san, which also holds the test suite): build there as is
#
# Every executable named fuzz_<name> in build-fuzz/fuzz is run; new targets
# only need an inferconf_fuzzer() line in fuzz/CMakeLists.txt and, ideally, a
# seed corpus directory fuzz/corpus/<name>/. Findings are written to
# build-fuzz/findings/<name>/ (crash-*, leak-*, timeout-* files).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
cxx=${FUZZ_CXX:-clang++}

if ! command -v "$cxx" >/dev/null; then
  echo "run-fuzzers: $cxx not found (install clang and libfuzzer-14-dev)" >&2
  exit 2
fi

parallel=${FUZZ_PARALLEL:-1}

if [ "${FUZZ_CONFIGURED:-0}" != 1 ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DINFERCONF_FUZZ=ON -DINFERCONF_TESTS=OFF -DINFERCONF_BENCH=OFF >/dev/null
fi
targets=$(ninja -C "$build" -t targets all | sed -n 's/^\(fuzz_[A-Za-z0-9_]*\): .*/\1/p' | sort -u)
if [ "$#" -gt 0 ]; then
  targets=$(for t in "$@"; do echo "fuzz_${t#fuzz_}"; done)
fi
[ -n "$targets" ] || { echo "run-fuzzers: no fuzz_* targets" >&2; exit 2; }
ninja -C "$build" -j "${FUZZ_BUILD_JOBS:-2}" $targets

# fuzz_one TARGET: one target on a fresh copy of its seed corpus; prints its summary, returns 1 on a finding.
fuzz_one() {
  local t=$1 name=${1#fuzz_}
  local exe=$build/fuzz/$t corpus=$build/corpus/$name findings=$build/findings/$name
  rm -rf "$corpus" "$findings"
  mkdir -p "$corpus" "$findings"
  if [ -d "$root/fuzz/corpus/$name" ]; then
    cp -R "$root/fuzz/corpus/$name/." "$corpus/"
  fi
  local dict=()
  [ -f "$root/fuzz/$name.dict" ] && dict=(-dict="$root/fuzz/$name.dict")
  local seeds
  seeds=$(ls "$corpus" | wc -l)
  local rc=0
  (cd "$findings" && "$exe" "$corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=1048576 -jobs="$jobs" -workers="$jobs" -print_final_stats=1 -artifact_prefix="$findings/" \
      >"$findings/log.txt" 2>&1) || rc=1
  if ls "$findings"/crash-* "$findings"/leak-* "$findings"/timeout-* >/dev/null 2>&1; then rc=1; fi
  if [ "$rc" -ne 0 ]; then
    { echo "!! $t: finding (see $findings/)"; tail -40 "$findings/log.txt"; } >&2
  else
    echo "== $t: ${seconds}s on $seeds seed file(s)"
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$findings/log.txt" | sed "s/^/   /" || true
  fi
  return "$rc"
}

# Up to $parallel targets at a time; each prints its lines when it ends, so the output is not interleaved.
status=0
running=0
for t in $targets; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  fuzz_one "$t" > "$build/fuzz-$t.out" 2>&1 && cat "$build/fuzz-$t.out" || { cat "$build/fuzz-$t.out"; exit 1; } &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
