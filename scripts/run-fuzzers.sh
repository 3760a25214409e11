#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each one for FUZZ_SECONDS
# (default 60) on a copy of its seed corpus (fuzz/corpus/<name>/). Exits
# non-zero on the first finding (crash, sanitizer report, leak, timeout).
#
#   scripts/run-fuzzers.sh                   # every fuzz_* target, 60 s each
#   FUZZ_SECONDS=3600 scripts/run-fuzzers.sh detect_header   # one target, one hour
#   FUZZ_JOBS=2 ...                           # libFuzzer -jobs/-workers (default 1)
#   FUZZ_PARALLEL=1 ...                       # targets run at once (default 2)
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

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DINFERCONF_FUZZ=ON -DINFERCONF_TESTS=OFF -DINFERCONF_BENCH=OFF >/dev/null
targets=$(ninja -C "$build" -t targets all | sed -n 's/^\(fuzz_[A-Za-z0-9_]*\): .*/\1/p' | sort -u)
if [ "$#" -gt 0 ]; then
  targets=$(for t in "$@"; do echo "fuzz_${t#fuzz_}"; done)
fi
[ -n "$targets" ] || { echo "run-fuzzers: no fuzz_* targets" >&2; exit 2; }
ninja -C "$build" -j "${FUZZ_BUILD_JOBS:-2}" $targets

# One target: copies its seed corpus, runs it, leaves log.txt and, on a
# finding, a "failed" marker and the artifacts in its findings folder.
run_one() {
  local t=$1 name=${1#fuzz_}
  local exe=$build/fuzz/$t corpus=$build/corpus/$name findings=$build/findings/$name
  rm -rf "$corpus" "$findings"
  mkdir -p "$corpus" "$findings"
  if [ -d "$root/fuzz/corpus/$name" ]; then
    cp -R "$root/fuzz/corpus/$name/." "$corpus/"
  fi
  local dict=()
  [ -f "$root/fuzz/$name.dict" ] && dict=(-dict="$root/fuzz/$name.dict")
  echo "$(ls "$corpus" | wc -l)" >"$findings/seeds"
  if ! (cd "$findings" && "$exe" "$corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=1048576 -jobs="$jobs" -workers="$jobs" -print_final_stats=1 -artifact_prefix="$findings/" \
        >"$findings/log.txt" 2>&1); then
    touch "$findings/failed"
  fi
  if ls "$findings"/crash-* "$findings"/leak-* "$findings"/timeout-* >/dev/null 2>&1; then touch "$findings/failed"; fi
}

# FUZZ_PARALLEL targets run at once (default 2): with a dozen targets of 60 s
# each, two at a time halves the wall time on a two-core machine.
parallel=${FUZZ_PARALLEL:-2}
[ "$parallel" -ge 1 ] 2>/dev/null || parallel=1
echo "== $(echo $targets | wc -w) target(s), ${seconds}s each, $parallel at a time"
for t in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  run_one "$t" &
done
wait

status=0
for t in $targets; do
  name=${t#fuzz_}
  findings=$build/findings/$name
  echo "== $t: ${seconds}s on $(cat "$findings/seeds" 2>/dev/null || echo 0) seed file(s)"
  if [ -e "$findings/failed" ]; then
    echo "!! $t: finding (see $findings/)" >&2
    tail -40 "$findings/log.txt" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$findings/log.txt" | sed "s/^/   /" || true
  fi
done
exit $status
