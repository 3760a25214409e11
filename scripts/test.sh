#!/usr/bin/env bash
# `make test`: every configuration the project documents is built, the whole suite runs twice, every fuzz
# target runs, and the time of each phase is printed at the end (also when a phase fails).
#
#   build            build/ (Release, -O3: what `make run` and `make bench` use; tests and benchmarks included,
#                    so a warning that only -O3 shows fails here)
#   sanitizer build  build-san/ (clang, ASan + UBSan, libFuzzer coverage): the test suite and the fuzz targets
#                    from one set of objects
#   tests            the suite on build/
#   sanitizer tests  the suite on build-san/ (the labels in SAN_LABELS; default every suite)
#   fuzzers          every fuzz target for FUZZ_SECONDS (default 60) on its seed corpus, two at a time
#
# Environment: BUILD, SAN_BUILD (folders), JOBS (parallel compile and test jobs, default: the number of cores),
# SAN_LABELS, FUZZ_SECONDS, CMAKE_ARGS.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
san_build=${SAN_BUILD:-build-san}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
san_labels=${SAN_LABELS:-}
read -r -a cmake_args <<<"${CMAKE_ARGS:-}"

phase_names=()
phase_seconds=()
phase_results=()

print_summary() {
  echo
  echo "make test, time per phase:"
  local total=0 i
  for i in "${!phase_names[@]}"; do
    printf '  %-16s %6ss  %s\n' "${phase_names[$i]}" "${phase_seconds[$i]}" "${phase_results[$i]}"
    total=$((total + phase_seconds[$i]))
  done
  printf '  %-16s %6ss (%dm%02ds)\n' "total" "$total" $((total / 60)) $((total % 60))
}

# run_phase NAME COMMAND...: runs one phase, records its time and result; stops the whole run on failure.
run_phase() {
  local name=$1
  shift
  echo "== make test: $name"
  local start=$SECONDS
  "$@"
  local rc=$?
  phase_names+=("$name")
  phase_seconds+=($((SECONDS - start)))
  if ((rc == 0)); then
    phase_results+=("ok")
  else
    phase_results+=("FAILED (exit $rc)")
    print_summary
    exit "$rc"
  fi
}

configure_build() {
  [[ -f $build/build.ninja ]] ||
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DINFERCONF_BENCH=ON "${cmake_args[@]}" || return
  cmake --build "$build" -j "$jobs"
}

configure_san_build() {
  [[ -f $san_build/build.ninja ]] ||
    cmake -S . -B "$san_build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DINFERCONF_SANITIZE=ON -DINFERCONF_FUZZ=ON -DINFERCONF_BENCH=OFF "${cmake_args[@]}" || return
  cmake --build "$san_build" -j "$jobs"
}

run_tests() {
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
}

run_san_tests() {
  local labels=()
  [[ -n $san_labels ]] && labels=(-L "$san_labels")
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$san_build" --output-on-failure -j "$jobs" "${labels[@]}"
}

run_fuzzers() {
  FUZZ_BUILD_DIR="$root/$san_build" FUZZ_CONFIGURED=1 FUZZ_PARALLEL=${FUZZ_PARALLEL:-2} bash scripts/run-fuzzers.sh
}

run_phase "build" configure_build
run_phase "sanitizer build" configure_san_build
run_phase "tests" run_tests
run_phase "sanitizer tests" run_san_tests
run_phase "fuzzers" run_fuzzers
print_summary
