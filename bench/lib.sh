# Helpers shared by the shell benchmarks under bench/ (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Resident memory of a process, in MB.
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# start_nginx_static WWW WORKERS TMP PROBE_PATH: nginx serving the files under
# WWW with WORKERS worker processes, logging every request to
# TMP/nginx-access.log (as inferconf logs every request), its own files under
# TMP/nginx. Sets NGINX_PORT and NGINX_PID and returns once PROBE_PATH answers.
start_nginx_static() {
  local www="$1" workers="$2" tmp="$3" probe="$4"
  mkdir -p "$tmp/nginx"
  # nginx started as root runs its workers as nobody: they must reach the files.
  chmod 755 "$tmp"; chmod -R a+rX "$www"
  NGINX_PORT="$(free_port)"
  cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log $tmp/nginx-access.log;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $www;
    default_type application/json;
  }
}
CONF
  "$(command -v nginx)" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
  NGINX_PID=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$NGINX_PORT$probe" -o /dev/null && break; sleep 0.1; done
}

# make_bench_tmp NAME: a fresh folder in TMP, removed on exit together with
# the servers whose pids are in IC_PID and NGINX_PID.
make_bench_tmp() {
  TMP="$(mktemp -d "/tmp/inferconf-bench-$1.XXXXXX")"
  IC_PID=""; NGINX_PID=""
  trap cleanup_bench EXIT
}
cleanup_bench() {
  [ -n "$IC_PID" ] && kill "$IC_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
