#!/usr/bin/env bash
# bench/http.sh: the read path of `inferconf serve` against nginx serving the
# identical JSON bytes as a static file, in one run on this machine, with the
# same number of worker threads / processes, both logging every request.
#
#   bench/http.sh [BUILD_DIR]       (default: build)
#   env: MODELS=100000 WORKERS=$(nproc) CONNECTIONS=64 DURATION=10 ROUNDS=2 WRK_THREADS=2
#
# Prints requests/s, p50 and p99 (wrk --latency) of
#   GET /v1/models/{id}/configurations/quality   inferconf vs nginx (ratio inferconf/nginx)
#   POST /v1/resolve                             inferconf (ratio to nginx's static lookup), once
#     with one repeated body (answered from the server's per-thread answer
#     cache after the first) and once with bodies that never repeat (every
#     answer computed: parse, resolve, validate, serialise)
#   POST /v1/resolve?format=comfyui              inferconf (ratio to nginx's static lookup): the
#     resolved configuration exported as a ComfyUI API prompt, computed every time
# and the resident memory of the server holding MODELS models x 2 presets.
# Each measurement is the best of ROUNDS alternating runs (inferconf, nginx,
# inferconf, ...), to damp the noise of a shared machine. Loopback only.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(realpath -m "${1:-$ROOT/build}")"
MODELS="${MODELS:-100000}"
WORKERS="${WORKERS:-$(nproc)}"
CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-2}"
WRK_THREADS="${WRK_THREADS:-2}"

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "bench/http.sh needs $tool (Debian package $tool)" >&2; exit 1; }
done
NGINX="$(command -v nginx)"

echo "== building inferconf and bench_http_seed in $BUILD (ninja -j2)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja >/dev/null
ninja -C "$BUILD" -j2 inferconf_exe bench_http_seed >/dev/null

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
make_bench_tmp http

echo "== seeding $MODELS models x 2 presets (Store::create_many)"
DB="sqlite:$TMP/bench.db"
MODEL="$("$BUILD/bench/http/bench_http_seed" "$DB" "$MODELS" "$ROOT/catalog")"

IC_PORT="$(free_port)"
"$BUILD/inferconf" --db "$DB" --catalog "$ROOT/catalog" serve --listen "127.0.0.1:$IC_PORT" \
  --threads "$WORKERS" --log-format text >"$TMP/inferconf-access.log" 2>"$TMP/inferconf.err" &
IC_PID=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$TMP/inferconf.err" 2>/dev/null && break
  kill -0 "$IC_PID" 2>/dev/null || { cat "$TMP/inferconf.err" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" "$TMP/inferconf.err" || { echo "inferconf did not start" >&2; cat "$TMP/inferconf.err" >&2; exit 1; }
LOADED="$(curl -s "http://127.0.0.1:$IC_PORT/readyz")"
RSS_LOADED="$(rss_mb "$IC_PID")"
LOAD_LINE="$(grep -o 'serving .*threads' "$TMP/inferconf.err" || true)"

PATH_LOOKUP="/v1/models/$MODEL/configurations/quality"
mkdir -p "$TMP/www$(dirname "$PATH_LOOKUP")"
curl -sf "http://127.0.0.1:$IC_PORT$PATH_LOOKUP" -o "$TMP/www$PATH_LOOKUP"

start_nginx_static "$TMP/www" "$WORKERS" "$TMP" "$PATH_LOOKUP"
cmp -s <(curl -s "http://127.0.0.1:$NGINX_PORT$PATH_LOOKUP") <(curl -s "http://127.0.0.1:$IC_PORT$PATH_LOOKUP") \
  || { echo "nginx and inferconf do not serve the same bytes" >&2; exit 1; }
BODY_BYTES="$(wc -c <"$TMP/www$PATH_LOOKUP")"

# wrk's summary -> "rps p50_us p99_us"
run_wrk() {
  local out
  out="$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" 2>&1)"
  echo "$out" >>"$TMP/wrk.log"
  echo "$out" | awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = us($2) }
    /^ +99%/ { p99 = us($2) }
    /Non-2xx/ { bad = $NF }
    END { printf "%s %s %s %s\n", rps, p50, p99, (bad == "" ? 0 : bad) }'
}
best() {  # keeps the run with the highest requests/s
  local a="$1" b="$2"
  if [ -z "$a" ]; then echo "$b"; return; fi
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); print (y[1] + 0 > x[1] + 0) ? b : a }'
}

echo "== warming up"
wrk -t1 -c8 -d2s "http://127.0.0.1:$IC_PORT$PATH_LOOKUP" >/dev/null
wrk -t1 -c8 -d2s "http://127.0.0.1:$NGINX_PORT$PATH_LOOKUP" >/dev/null
export BENCH_MODEL="$MODEL"
wrk -t1 -c8 -d2s -s "$ROOT/bench/http/resolve.lua" "http://127.0.0.1:$IC_PORT/v1/resolve" >/dev/null

IC="" NG="" RS="" RV="" EX=""
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round/$ROUNDS: ${DURATION}s per run, $CONNECTIONS connections, $WRK_THREADS wrk threads"
  IC="$(best "$IC" "$(run_wrk "http://127.0.0.1:$IC_PORT$PATH_LOOKUP")")"
  NG="$(best "$NG" "$(run_wrk "http://127.0.0.1:$NGINX_PORT$PATH_LOOKUP")")"
  RS="$(best "$RS" "$(run_wrk -s "$ROOT/bench/http/resolve.lua" "http://127.0.0.1:$IC_PORT/v1/resolve")")"
  EX="$(best "$EX" "$(run_wrk -s "$ROOT/bench/http/export_comfyui.lua" "http://127.0.0.1:$IC_PORT/v1/resolve?format=comfyui")")"
  RV="$(best "$RV" "$(BENCH_MODELS="$(( MODELS < 1000 ? MODELS : 1000 ))" run_wrk -s "$ROOT/bench/http/resolve_varied.lua" "http://127.0.0.1:$IC_PORT/v1/resolve")")"
done
RSS_AFTER="$(rss_mb "$IC_PID")"

kill -TERM "$IC_PID"; wait "$IC_PID" 2>/dev/null || true; IC_PID=""
kill -QUIT "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""
IC_LINES="$(wc -l <"$TMP/inferconf-access.log")"
NG_LINES="$(wc -l <"$TMP/nginx-access.log")"

read -r ic_rps ic_p50 ic_p99 ic_bad <<<"$IC"
read -r ng_rps ng_p50 ng_p99 ng_bad <<<"$NG"
read -r rs_rps rs_p50 rs_p99 rs_bad <<<"$RS"
read -r rv_rps rv_p50 rv_p99 rv_bad <<<"$RV"
read -r ex_rps ex_p50 ex_p99 ex_bad <<<"$EX"
echo
echo "inferconf serve vs nginx $("$NGINX" -v 2>&1 | sed 's/.*\///'), $(nproc) cores, $WORKERS workers each, $CONNECTIONS connections,"
echo "wrk -t$WRK_THREADS -d${DURATION}s, best of $ROUNDS rounds; lookup body $BODY_BYTES bytes; both log every request."
printf '%-44s %12s %10s %10s %8s\n' "route / server" "requests/s" "p50 (us)" "p99 (us)" "non-2xx"
printf '%-44s %12.0f %10.0f %10.0f %8s\n' "GET .../configurations/quality  inferconf" "$ic_rps" "$ic_p50" "$ic_p99" "$ic_bad"
printf '%-44s %12.0f %10.0f %10.0f %8s\n' "GET .../configurations/quality  nginx" "$ng_rps" "$ng_p50" "$ng_p99" "$ng_bad"
printf '%-44s %12.0f %10.0f %10.0f %8s\n' "POST /v1/resolve (same body)    inferconf" "$rs_rps" "$rs_p50" "$rs_p99" "$rs_bad"
printf '%-44s %12.0f %10.0f %10.0f %8s\n' "POST /v1/resolve (varied body)  inferconf" "$rv_rps" "$rv_p50" "$rv_p99" "$rv_bad"
printf '%-44s %12.0f %10.0f %10.0f %8s\n' "POST /v1/resolve?format=comfyui inferconf" "$ex_rps" "$ex_p50" "$ex_p99" "$ex_bad"
echo
awk -v a="$ic_rps" -v b="$ng_rps" -v p="$ic_p99" -v q="$ng_p99" -v r="$rs_rps" -v v="$rv_rps" -v e="$ex_rps" 'BEGIN {
  printf "lookup  rps ratio inferconf/nginx: %.2fx (target >= 1.0x)\n", a / b
  printf "lookup  p99 inferconf/nginx:       %.2fx (target <= 1.0x)\n", p / q
  printf "resolve rps ratio resolve/nginx:   %.2fx same body, %.2fx varied bodies (target >= 0.7x)\n", r / b, v / b
  printf "export  rps ratio comfyui/nginx:   %.2fx (reported; no target)\n", e / b }'
echo "request log lines: inferconf $IC_LINES, nginx $NG_LINES"
echo "inferconf: $LOAD_LINE"
echo "inferconf /readyz: $LOADED"
echo "inferconf RSS holding $MODELS models x 2 presets: ${RSS_LOADED} MB after start, ${RSS_AFTER} MB after the runs (target < 150 MB)"
