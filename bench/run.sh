#!/usr/bin/env bash
# Throughput and latency of the release binary, on SQLite and on Postgres.
#
#   bench/run.sh                      build the release binary, run everything
#   GROUNDWORK_BIN=path bench/run.sh  use an existing binary
#   BENCH_BACKENDS=sqlite bench/run.sh
#
# For each backend it starts the binary itself on a loopback port (SQLite: a
# temp file; Postgres: a fresh database on BENCH_PG_URL's server, dropped at
# the end), signs a user up with curl, then measures with wrk, a few seconds
# each:
#   ping      GET /ping       the trivial plain-text route (the yardstick)
#   home      GET /           the home page, anonymous
#   profile   GET /profile    a signed-in page (valid session cookie)
#   sign-in   POST /login     valid CSRF cookie + token, correct password
#   home / profile during sign-ins
#             GET / and GET /profile while sign-in POSTs keep the password
#             hashing pool saturated
# and prints a table with the ratios home/ping and profile/ping. The same
# table goes to bench/results/<date>.md (not committed; bench/RESULTS.md is
# the committed copy of a run).
#
# Targets (issue 3): on SQLite home >= 0.6 x ping and profile >= 0.4 x ping;
# while sign-ins saturate the hashing pool, other pages keep p99 < 50 ms.
# Only loopback traffic; every measurement is bounded in time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR="$ROOT/bench"
export BENCH_DIR
DURATION=${BENCH_DURATION:-5}          # seconds per measurement
CONNECTIONS=${BENCH_CONNECTIONS:-16}   # wrk connections for page loads
LOGIN_CONNECTIONS=${BENCH_LOGIN_CONNECTIONS:-8}
THREADS=${BENCH_THREADS:-1}            # wrk threads (the app gets the other core)
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}

for tool in wrk curl psql python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y wrk curl postgresql-client python3)" >&2; exit 1; }
done

if [ -n "${GROUNDWORK_BIN:-}" ]; then
  BIN=$(realpath "$GROUNDWORK_BIN")
else
  echo "== building the release binary"
  (cd "$ROOT" && cargo build --release --quiet)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/groundwork"
  BIN=$(realpath "$BIN")
fi

work=$(mktemp -d)
server_pid=""
pg_db=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
drop_pg_db() {
  if [ -n "$pg_db" ]; then
    psql "$PG_URL" -qAtc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
    pg_db=""
  fi
}
cleanup() {
  stop_server
  drop_pg_db
  rm -rf "$work"
}
trap cleanup EXIT

# start_server DATABASE_URL: sets $base and $server_pid, waits for /healthz.
start_server() {
  local url=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  (
    cd "$ROOT"
    exec env ROCKET_PROFILE=release \
      ROCKET_SECRET_KEY="$(head -c64 /dev/urandom | base64 -w0)" \
      ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" ROCKET_BASE_URL="$base" \
      ROCKET_LOG_LEVEL=critical ROCKET_CLI_COLORS=false \
      DATABASE_URL="$url" "$BIN" serve
  ) >"$work/server.log" 2>&1 </dev/null &
  server_pid=$!
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "bench: the server did not come up:" >&2
  cat "$work/server.log" >&2
  exit 1
}

csrf_of() { sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$1" | head -n 1; }
cookie_of() { awk -v n="$2" '$6 == n { print $7 }' "$1" | tail -n 1; }

# seed: sign a user up; sets $session_cookie, $login_body and $login_cookie.
seed() {
  local jar="$work/jar" jar2="$work/jar2" user="bench$RANDOM" token
  rm -f "$jar" "$jar2"
  email="$user@example.org"
  password="bench-$RANDOM-correct-horse"
  curl -sS -c "$jar" -b "$jar" "$base/signup" -o "$work/page"
  token=$(csrf_of "$work/page")
  curl -sS -c "$jar" -b "$jar" -H "Origin: $base" -o /dev/null \
    --data-urlencode "csrf_token=$token" --data-urlencode "username=$user" \
    --data-urlencode "email=$email" --data-urlencode "password=$password" "$base/signup"
  session_cookie="gw_session=$(cookie_of "$jar" gw_session)"
  local code
  code=$(curl -sS -o "$work/page" -w '%{http_code}' -H "Cookie: $session_cookie" "$base/profile")
  if [ "$code" != 200 ] || ! grep -q "$email" "$work/page"; then
    echo "bench: the seeded session does not open /profile ($code)" >&2
    exit 1
  fi
  # A browser's sign-in: the CSRF cookie from GET /login and the form's token.
  curl -sS -c "$jar2" -b "$jar2" "$base/login" -o "$work/page"
  token=$(csrf_of "$work/page")
  login_cookie="gw_csrf=$(cookie_of "$jar2" gw_csrf)"
  login_body="csrf_token=$(python3 -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$token")"
  login_body+="&email=$(python3 -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$email")"
  login_body+="&password=$password"
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $login_cookie" -H "Origin: $base" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "$login_body" "$base/login")
  if [ "$code" != 303 ]; then
    echo "bench: the prepared sign-in POST answered $code, not 303" >&2
    exit 1
  fi
}

# wrk_run SECONDS CONNECTIONS SCRIPT PATH [COOKIE]: prints the RESULT line.
wrk_run() {
  local secs=$1 conns=$2 script=$3 path=$4 cookie=${5:-}
  BENCH_COOKIE=$cookie BENCH_BODY=${login_body:-} BENCH_ORIGIN=$base \
    wrk -t "$THREADS" -c "$conns" -d "${secs}s" --timeout 10s -s "$BENCH_DIR/$script" "$base$path" \
    | grep '^RESULT ' || { echo "RESULT 0 1 0 0 0 1 0"; }
}

rows=()     # "backend|measurement|req/s|p50|p99|errors"
declare -A rps p99
record() {  # record BACKEND NAME RESULT-LINE
  local backend=$1 name=$2 n secs p50 p99v max sockerr httperr rate
  read -r _ n secs p50 p99v max sockerr httperr <<<"$3"
  rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  rps[$backend/$name]=$rate
  p99[$backend/$name]=$p99v
  rows+=("$backend|$name|$rate|$p50|$p99v|$((sockerr + httperr))")
  printf '  %-24s %8s req/s   p50 %8s ms   p99 %8s ms   errors %s\n' "$name" "$rate" "$p50" "$p99v" "$((sockerr + httperr))"
}

bench_backend() {
  local backend=$1 url
  case $backend in
    sqlite) url="sqlite://$work/bench.db?mode=rwc" ;;
    postgres)
      pg_db="bench_$(head -c6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
      psql "$PG_URL" -qAtc "CREATE DATABASE $pg_db" >/dev/null
      url="${PG_URL%/*}/$pg_db"
      ;;
    *) echo "bench: unknown backend $backend" >&2; exit 1 ;;
  esac
  echo "== $backend"
  start_server "$url"
  seed
  wrk_run 1 "$CONNECTIONS" get.lua / >/dev/null   # warm-up
  record "$backend" ping "$(wrk_run "$DURATION" "$CONNECTIONS" get.lua /ping)"
  record "$backend" home "$(wrk_run "$DURATION" "$CONNECTIONS" get.lua /)"
  record "$backend" profile "$(wrk_run "$DURATION" "$CONNECTIONS" get.lua /profile "$session_cookie")"
  record "$backend" sign-in "$(wrk_run "$DURATION" "$LOGIN_CONNECTIONS" post.lua /login "$login_cookie")"
  # Saturate the hashing pool with sign-ins, and meanwhile load other pages.
  wrk_run $((2 * DURATION + 3)) "$LOGIN_CONNECTIONS" post.lua /login "$login_cookie" >"$work/burst" &
  local burst=$!
  sleep 1.5
  record "$backend" "home during sign-ins" "$(wrk_run "$DURATION" 4 get.lua /)"
  record "$backend" "profile during sign-ins" "$(wrk_run "$DURATION" 4 get.lua /profile "$session_cookie")"
  wait "$burst"
  record "$backend" "sign-in (the burst)" "$(cat "$work/burst")"
  stop_server
  drop_pg_db
}

for backend in $BACKENDS; do
  bench_backend "$backend"
done

ratio() { awk -v a="${rps[$1]:-0}" -v b="${rps[$2]:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { if (v == "n/a") print "n/a"; else if ((dir == "ge" && v + 0 >= t) || (dir == "lt" && v + 0 < t)) print "yes"; else print "NO" }'; }

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
report="$work/report.md"
{
  echo "# Groundwork benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), release build, $(nproc) cores ($cpu)."
  echo "wrk -t$THREADS, ${DURATION}s per measurement, $CONNECTIONS connections for page loads,"
  echo "$LOGIN_CONNECTIONS for sign-in POSTs, 4 for pages loaded during a sign-in burst. Server and wrk share the machine."
  echo "Default settings: hash_concurrency = cores - 1, Rocket workers = cores, pool = 4 x workers."
  echo
  echo "| backend | measurement | req/s | p50 ms | p99 ms | errors |"
  echo "|---|---|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    IFS='|' read -r b m rate p50 p99v errs <<<"$r"
    echo "| $b | $m | $rate | $p50 | $p99v | $errs |"
  done
  echo
  echo "| backend | home / ping | profile / ping | p99 of home during sign-ins | p99 of profile during sign-ins |"
  echo "|---|---:|---:|---:|---:|"
  for b in $BACKENDS; do
    echo "| $b | $(ratio "$b/home" "$b/ping") | $(ratio "$b/profile" "$b/ping") | ${p99[$b/home during sign-ins]:-n/a} ms | ${p99[$b/profile during sign-ins]:-n/a} ms |"
  done
  echo
  echo "Targets:"
  if [[ " $BACKENDS " == *" sqlite "* ]]; then
    echo "- SQLite home >= 0.6 x ping: $(verdict "$(ratio sqlite/home sqlite/ping)" 0.6 ge)"
    echo "- SQLite profile >= 0.4 x ping: $(verdict "$(ratio sqlite/profile sqlite/ping)" 0.4 ge)"
  fi
  for b in $BACKENDS; do
    echo "- $b pages during sign-ins, p99 < 50 ms: home $(verdict "${p99[$b/home during sign-ins]:-n/a}" 50 lt), profile $(verdict "${p99[$b/profile during sign-ins]:-n/a}" 50 lt)"
  done
} >"$report"

echo
cat "$report"
mkdir -p "$BENCH_DIR/results"
out="$BENCH_DIR/results/$(date -u +%F).md"
cp "$report" "$out"
echo
echo "written to ${out#"$ROOT"/}"
