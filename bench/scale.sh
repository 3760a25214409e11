#!/usr/bin/env bash
# bench/scale.sh: inferconf at the size of the largest model-sharing
# platforms, on this machine, each figure printed beside its target.
#
#   bench/scale.sh [BUILD_DIR]      (default: build)
#   env: MODELS=1000000 DURATION=10 ROUNDS=2 CONNECTIONS=64
#
# Steps, each timed, with the peak resident memory of the inferconf process
# (GNU time's maximum RSS):
#   1. `models import` of MODELS registry lines (JSON Lines) into a new store
#   2. `populate`: quality + speed for every active model (2 configurations each)
#   3. `populate --registry` of the same registry as one JSON array, into
#      another new store (the array is read item by item, like JSON Lines)
#   4. `serve` on the populated store: seconds until /healthz answers, and
#      its resident memory once /readyz reports it ready
#   5. the lookup route GET /v1/models/{id}/configurations/quality, one server
#      thread against one nginx worker serving the same bytes from a file,
#      64 connections, best of ROUNDS alternating runs
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(realpath -m "${1:-$ROOT/build}")"
MODELS="${MODELS:-1000000}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"

for tool in wrk nginx curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/scale.sh needs $tool (Debian packages wrk nginx curl python3 time)" >&2; exit 1; }
done

echo "== building inferconf in $BUILD (ninja -j2)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja >/dev/null
ninja -C "$BUILD" -j2 inferconf_exe >/dev/null
IC="$BUILD/inferconf"
CATALOG="$ROOT/catalog"

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
make_bench_tmp scale
now() { date +%s.%N; }

echo "== generating a registry of $MODELS models (JSON Lines and a JSON array)"
python3 - "$MODELS" "$TMP/registry.jsonl" "$TMP/registry.json" <<'PY'
import json, sys
n, lines_path, array_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
# Every base model, and the ways platforms label them.
labels = ["sdxl", "SDXL 1.0", "sd_1_5", "SD 1.5", "pony", "Pony", "flux_dev", "Flux.1 D", "flux_schnell",
          "Flux.1 S", "flux_krea", "wan_2_1", "Wan Video 14B t2v", "wan_2_2", "hidream", "HiDream"]
with open(lines_path, "w") as lines, open(array_path, "w") as array:
    array.write("[\n")
    for i in range(n):
        record = {"id": f"model-{i:07d}", "name": f"Model {i}", "is_active": i % 50 != 0,
                  "base_model": labels[i % len(labels)], "metadata": {"downloads": i % 9973}}
        text = json.dumps(record, separators=(",", ":"))
        lines.write(text + "\n")
        array.write(("," if i else "") + text + "\n")
    array.write("]\n")
PY

# Runs inferconf under GNU time; sets SECONDS_TAKEN and PEAK_MB.
timed() {
  local log="$1"; shift
  local start end
  start="$(now)"
  if ! /usr/bin/time -f "%M" -o "$TMP/time.out" "$IC" --catalog "$CATALOG" "$@" >"$log" 2>&1; then
    echo "inferconf $* failed:" >&2; tail -20 "$log" >&2; exit 1
  fi
  end="$(now)"
  SECONDS_TAKEN="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
  PEAK_MB="$(awk '{ printf "%.1f", $1 / 1024 }' "$TMP/time.out")"
}

echo "== models import (JSON Lines)"
timed "$TMP/import.log" --db "sqlite:$TMP/a.db" models import "$TMP/registry.jsonl"
IMPORT_S="$SECONDS_TAKEN"; IMPORT_MB="$PEAK_MB"

echo "== populate"
timed "$TMP/populate.log" --db "sqlite:$TMP/a.db" populate
POPULATE_S="$SECONDS_TAKEN"; POPULATE_MB="$PEAK_MB"
CONFIGURATIONS="$(grep -o 'Created: [0-9]* configurations' "$TMP/populate.log" | grep -o '[0-9]*' || echo '?')"

echo "== populate --registry (JSON array, new store)"
timed "$TMP/populate-registry.log" --db "sqlite:$TMP/b.db" populate --registry "$TMP/registry.json"
ARRAY_S="$SECONDS_TAKEN"; ARRAY_MB="$PEAK_MB"
rm -f "$TMP/b.db" "$TMP/b.db-wal" "$TMP/b.db-shm"

echo "== serve"
IC_PORT="$(free_port)"
START="$(now)"
"$IC" --db "sqlite:$TMP/a.db" --catalog "$CATALOG" serve --listen "127.0.0.1:$IC_PORT" --threads 1 \
  --log-format text >"$TMP/inferconf-access.log" 2>"$TMP/inferconf.err" &
IC_PID=$!
until curl -sf "http://127.0.0.1:$IC_PORT/healthz" -o /dev/null; do
  kill -0 "$IC_PID" 2>/dev/null || { cat "$TMP/inferconf.err" >&2; exit 1; }
  sleep 0.05
done
HEALTHY_S="$(awk -v a="$START" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
until curl -sf "http://127.0.0.1:$IC_PORT/readyz" -o /dev/null; do
  kill -0 "$IC_PID" 2>/dev/null || { cat "$TMP/inferconf.err" >&2; exit 1; }
  sleep 0.05
done
READY_S="$(awk -v a="$START" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
SERVE_MB="$(rss_mb "$IC_PID")"
LOAD_LINE="$(grep -o 'loaded in [0-9]* ms' "$TMP/inferconf.err" | head -1 || true)"

MODEL="model-0000001"
PATH_LOOKUP="/v1/models/$MODEL/configurations/quality"
mkdir -p "$TMP/www$(dirname "$PATH_LOOKUP")"
curl -sf "http://127.0.0.1:$IC_PORT$PATH_LOOKUP" -o "$TMP/www$PATH_LOOKUP"
start_nginx_static "$TMP/www" 1 "$TMP" "$PATH_LOOKUP"
cmp -s <(curl -s "http://127.0.0.1:$NGINX_PORT$PATH_LOOKUP") <(curl -s "http://127.0.0.1:$IC_PORT$PATH_LOOKUP") \
  || { echo "nginx and inferconf do not serve the same bytes" >&2; exit 1; }

rps() { wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "$1" 2>&1 | awk '/Requests\/sec:/ { print $2 }'; }
higher() { awk -v a="$1" -v b="$2" 'BEGIN { print (b + 0 > a + 0) ? b : a }'; }
echo "== lookup route: $ROUNDS rounds of ${DURATION}s, 1 server thread vs 1 nginx worker, $CONNECTIONS connections"
wrk -t1 -c8 -d2s "http://127.0.0.1:$IC_PORT$PATH_LOOKUP" >/dev/null
wrk -t1 -c8 -d2s "http://127.0.0.1:$NGINX_PORT$PATH_LOOKUP" >/dev/null
IC_RPS=0; NG_RPS=0
for _ in $(seq 1 "$ROUNDS"); do
  IC_RPS="$(higher "$IC_RPS" "$(rps "http://127.0.0.1:$IC_PORT$PATH_LOOKUP")")"
  NG_RPS="$(higher "$NG_RPS" "$(rps "http://127.0.0.1:$NGINX_PORT$PATH_LOOKUP")")"
done
SERVE_AFTER_MB="$(rss_mb "$IC_PID")"

verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = (dir == "<" ? v + 0 < t + 0 : v + 0 >= t + 0); print ok ? "met" : "NOT met" }'; }
echo
echo "inferconf at scale: $MODELS models, $CONFIGURATIONS configurations, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %14s %16s %8s\n' "step" "figure" "target" ""
printf '%-52s %12s s %16s\n' "models import of $MODELS JSON Lines: time" "$IMPORT_S" "-"
printf '%-52s %11s MB %16s %8s\n' "models import: peak memory" "$IMPORT_MB" "< 100 MB" "$(verdict "$IMPORT_MB" 100 "<")"
printf '%-52s %12s s %16s\n' "populate: time" "$POPULATE_S" "-"
printf '%-52s %11s MB %16s %8s\n' "populate: peak memory" "$POPULATE_MB" "< 100 MB" "$(verdict "$POPULATE_MB" 100 "<")"
printf '%-52s %12s s %16s\n' "populate --registry (one JSON array): time" "$ARRAY_S" "-"
printf '%-52s %11s MB %16s %8s\n' "populate --registry (one JSON array): peak memory" "$ARRAY_MB" "< 100 MB" "$(verdict "$ARRAY_MB" 100 "<")"
printf '%-52s %12s s %16s %8s\n' "serve: until /healthz answers" "$HEALTHY_S" "<= 3 s" "$(verdict "$HEALTHY_S" 3.0001 "<")"
printf '%-52s %12s s %16s\n' "serve: until /readyz answers ready ($LOAD_LINE)" "$READY_S" "-"
printf '%-52s %11s MB %16s %8s\n' "serve: resident memory when ready" "$SERVE_MB" "< 400 MB" "$(verdict "$SERVE_MB" 400 "<")"
printf '%-52s %11s MB\n' "serve: resident memory after the lookup runs" "$SERVE_AFTER_MB"
printf '%-52s %12.0f/s\n' "lookup route, inferconf (1 thread)" "$IC_RPS"
printf '%-52s %12.0f/s\n' "lookup route, nginx (1 worker)" "$NG_RPS"
RATIO="$(awk -v a="$IC_RPS" -v b="$NG_RPS" 'BEGIN { printf "%.2f", a / b }')"
printf '%-52s %13sx %16s %8s\n' "lookup route, inferconf / nginx" "$RATIO" ">= 1.2x" "$(verdict "$RATIO" 1.2 ">=")"
