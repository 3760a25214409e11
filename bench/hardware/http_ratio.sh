#!/usr/bin/env bash
# bench/hardware/http_ratio.sh: POST /v1/resolve on `inferconf serve` with
# "hardware" in every body against the same bodies without, in alternating
# runs of one server (bench/http/resolve_varied.lua: bodies that never
# repeat, so every answer is computed). Prints requests/s of each, the best
# of ROUNDS, and their ratio (target >= 0.90).
#
#   bench/hardware/http_ratio.sh [BUILD_DIR]   (default: build)
#   env: MODELS=2000 PROFILE=consumer_12gb CONNECTIONS=32 DURATION=5 ROUNDS=3 WRK_THREADS=1
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="$(realpath -m "${1:-$ROOT/build}")"
MODELS="${MODELS:-2000}"
PROFILE="${PROFILE:-consumer_12gb}"
CONNECTIONS="${CONNECTIONS:-32}"
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-3}"
WRK_THREADS="${WRK_THREADS:-1}"
command -v wrk >/dev/null || { echo "http_ratio.sh needs wrk (Debian package wrk)" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
make_bench_tmp hardware

DB="sqlite:$TMP/bench.db"
"$BUILD/bench/http/bench_http_seed" "$DB" "$MODELS" "$ROOT/catalog" >/dev/null
PORT="$(free_port)"
"$BUILD/inferconf" --db "$DB" --catalog "$ROOT/catalog" serve --listen "127.0.0.1:$PORT" --log-format text \
  >"$TMP/access.log" 2>"$TMP/serve.err" &
IC_PID=$!
for _ in $(seq 1 300); do grep -q "listening on" "$TMP/serve.err" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$TMP/serve.err" || { cat "$TMP/serve.err" >&2; exit 1; }

rps() {  # requests/s of one wrk run; fails on any non-2xx answer
  local out
  out="$(BENCH_MODELS="$MODELS" BENCH_HARDWARE="$1" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
           -s "$ROOT/bench/http/resolve_varied.lua" "http://127.0.0.1:$PORT/v1/resolve" 2>&1)"
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec:/ { print $2 }'
}
rps "" >/dev/null; rps "$PROFILE" >/dev/null  # warm-up
BEST_PLAIN=0 BEST_PLANNED=0
for round in $(seq 1 "$ROUNDS"); do
  P="$(rps "")"; H="$(rps "$PROFILE")"
  echo "round $round: without hardware $P requests/s, with hardware ($PROFILE) $H requests/s"
  BEST_PLAIN="$(awk -v a="$BEST_PLAIN" -v b="$P" 'BEGIN { print (b > a) ? b : a }')"
  BEST_PLANNED="$(awk -v a="$BEST_PLANNED" -v b="$H" 'BEGIN { print (b > a) ? b : a }')"
done
awk -v p="$BEST_PLAIN" -v h="$BEST_PLANNED" -v prof="$PROFILE" 'BEGIN {
  printf "POST /v1/resolve, bodies that never repeat, best of rounds: without %.0f/s, with hardware %s %.0f/s, ratio %.2fx (target >= 0.90)\n", p, prof, h, h / p }'
