#!/usr/bin/env bash
# Chat live-delivery benchmark (issue 16): many open /chat/events streams,
# messages posted at a steady rate, delivery latency from post to receipt
# and the servers' memory.
#
#   bench/chat.sh                  1,000 streams, 50 rooms, 50 messages/s for
#                                  30 s, on SQLite (one process) and Postgres
#                                  (two processes, half the streams on each)
#   BENCH_BACKENDS=sqlite bench/chat.sh
#   BENCH_CHAT_STREAMS=200 BENCH_CHAT_SECONDS=10 bench/chat.sh   a short run
#
# It builds the release binary and the load client (bench/chat_load.rs,
# example chat-load), starts the server(s) on loopback ports (SQLite: a temp
# file; Postgres: a fresh database on BENCH_PG_URL's server, dropped at the
# end), and runs the client: 100 members sign up through the API, 50 rooms,
# each member in one room, stream s is member s % 100's. It prints the
# client's figures and each server's RSS (VmRSS at the end, VmHWM the peak),
# with `uptime` (the machine's load matters: see bench/RESULTS.md).
# Targets: delivery p99 < 100 ms, RSS < 200 MB per process.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STREAMS=${BENCH_CHAT_STREAMS:-1000}
ROOMS=${BENCH_CHAT_ROOMS:-50}
MEMBERS=${BENCH_CHAT_MEMBERS:-100}
RATE=${BENCH_CHAT_RATE:-50}
SECONDS_=${BENCH_CHAT_SECONDS:-30}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

# Every stream is a socket on both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -n 8192 2>/dev/null || true

echo "== building the release binary and the load client"
(cd "$ROOT" && cargo build --release --quiet --bin groundwork --example chat-load)
BIN="$TARGET/release/groundwork"
LOAD="$TARGET/release/examples/chat-load"

work=$(mktemp -d)
pids=()
pg_db=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  [ -n "$pg_db" ] && psql "$PG_URL" -qAtc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
secret=$(head -c64 /dev/urandom | base64 -w0)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start() { # start NAME DATABASE_URL [SITE] -> sets BASE; pid appended to pids
  # SITE is the site's public address (base_url), the same for every
  # process behind one balancer: API tokens name it as their issuer, so a
  # token from one process is good at the others.
  local port; port=$(free_port)
  local site=${3:-http://127.0.0.1:$port}
  (cd "$ROOT" && exec env ROCKET_PROFILE=release ROCKET_SECRET_KEY="$secret" \
    ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" ROCKET_BASE_URL="$site" \
    ROCKET_LOG_LEVEL=critical ROCKET_CLI_COLORS=false \
    ROCKET_SIGNUPS_PER_ADDRESS_PER_HOUR=100000 \
    ROCKET_CHAT="{messages_per_minute=100000,streams_per_member=1000,max_streams=100000}" \
    ROCKET_MAIL="{outbox_dir=\"$work/mail\"}" DATABASE_URL="$2" \
    "$BIN" serve) >"$work/$1.log" 2>&1 </dev/null &
  pids+=($!)
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
    sleep 0.2
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || { tail -20 "$work/$1.log" >&2; exit 1; }
  BASE="http://127.0.0.1:$port"
}
memory() { # memory PID -> "rss X MB, peak Y MB"
  awk '/VmRSS/{r=$2} /VmHWM/{h=$2} END{printf "rss %.0f MB, peak %.0f MB", r/1024, h/1024}' "/proc/$1/status"
}

for backend in $BACKENDS; do
  pids=()
  echo
  echo "== $backend: $STREAMS streams, $ROOMS rooms, $MEMBERS members, $RATE messages/s for $SECONDS_ s"
  echo "load: $(uptime)"
  case $backend in
    sqlite)
      start sqlite "sqlite://$work/chat.db?mode=rwc"
      bases=$BASE ;;
    postgres)
      pg_db="bench_chat_$(head -c6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
      psql "$PG_URL" -qAtc "CREATE DATABASE $pg_db"
      url="${PG_URL%/*}/$pg_db"
      start pg1 "$url"; b1=$BASE
      start pg2 "$url" "$b1"; bases="$b1,$BASE" ;;
  esac
  "$LOAD" "$bases" "$STREAMS" "$ROOMS" "$MEMBERS" "$RATE" "$SECONDS_" | sed 's/^/  /'
  for pid in "${pids[@]}"; do echo "  server pid $pid: $(memory "$pid")"; done
  echo "load: $(uptime)"
  for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
  pids=()
  if [ -n "$pg_db" ]; then
    psql "$PG_URL" -qAtc "DROP DATABASE $pg_db WITH (FORCE)" >/dev/null; pg_db=""
  fi
done
