#!/usr/bin/env bash
# Chat across two processes of the release binary on one fresh Postgres
# database (issue 16):
#
#   .ci/chat-twoproc.sh BINARY POSTGRES_ADMIN_URL
#
# Creates a database, starts BINARY twice on it (two loopback ports, the
# same secret key, so a session cookie is good on both), and runs
# .ci/chat_twoproc.py: an SSE client on instance 1, messages posted through
# instance 2 arrive within 1 s; instance 1 is killed with SIGKILL mid-stream,
# more messages are posted through instance 2, and a reconnect to instance 2
# with Last-Event-ID receives every one exactly once, in order. Prints what
# it checked; exits non-zero (with both servers' logs) on any failure.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BINARY POSTGRES_ADMIN_URL" >&2
  exit 2
fi
BIN=$(realpath "$1")
ADMIN_URL=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
db="ci_chat2_$(head -c8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
db_url="${ADMIN_URL%/*}/$db"
pids=()

cleanup() {
  status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for n in 1 2; do
      [ -f "$work/server$n.log" ] || continue
      echo "--- instance $n log (last 40 lines) ---" >&2
      tail -n 40 "$work/server$n.log" >&2 || true
    done
  fi
  psql "$ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

psql "$ADMIN_URL" -qAtc "CREATE DATABASE $db"
secret=$(head -c64 /dev/urandom | base64 -w0)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start() { # start N PORT
  local n=$1 port=$2
  (cd "$ROOT" && exec env ROCKET_PROFILE=release ROCKET_SECRET_KEY="$secret" \
    ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" ROCKET_BASE_URL="http://127.0.0.1:$port" \
    ROCKET_LOG_LEVEL=normal ROCKET_CLI_COLORS=false \
    ROCKET_MAIL="{outbox_dir=\"$work/mail$n\"}" DATABASE_URL="$db_url" \
    "$BIN" serve) >"$work/server$n.log" 2>&1 </dev/null &
  pids+=($!)
}
wait_healthy() { # wait_healthy PORT PID
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "instance on port $1 exited during start-up" >&2; return 1; }
    sleep 0.2
  done
  echo "instance on port $1: /healthz never answered 200 within 30 s" >&2
  return 1
}

port1=$(free_port)
start 1 "$port1"
wait_healthy "$port1" "${pids[0]}" # migrations run once, here
port2=$(free_port)
start 2 "$port2"
wait_healthy "$port2" "${pids[1]}"
echo "chat-twoproc: $(basename "$BIN") twice on database $db: instance 1 on :$port1 (pid ${pids[0]}), instance 2 on :$port2"

python3 "$ROOT/.ci/chat_twoproc.py" "http://127.0.0.1:$port1" "http://127.0.0.1:$port2" "${pids[0]}"
