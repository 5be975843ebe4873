#!/usr/bin/env bash
# Fuzz the JSON API of a built binary with schemathesis:
#   .ci/api-fuzz.sh BINARY DATABASE_URL
# Starts BINARY (release profile) on a free loopback port with the given
# database, creates an admin with `groundwork create-admin`, signs in through
# `POST /login` (JSON) for a bearer token, and runs .ci/schemathesis.sh, which
# fails on any 5xx or any answer that breaks /openapi.json.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY DATABASE_URL" >&2
  exit 2
fi
BIN=$(realpath "$1")
DB_URL=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
log="$work/server.log"
server_pid=""

cleanup() {
  status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$log" ]; then
    echo "--- server log (last 60 lines) ---" >&2
    tail -n 60 "$log" >&2 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export DATABASE_URL="$DB_URL"
export ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" ROCKET_BASE_URL="$base"
export ROCKET_SECRET_KEY=$(head -c64 /dev/urandom | base64 -w0)
export ROCKET_API_TOKEN_LIFETIME=3600
export ROCKET_MAIL='{outbox_dir="'"$work/mail"'"}'

email="fuzz-admin@example.org"
password="fuzzing the api $(head -c6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
(cd "$work" && printf '%s\n' "$password" | "$BIN" create-admin "$email" --password-stdin)

(cd "$work" && exec "$BIN") >"$log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "the server exited" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null

body=$(python3 -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$email" "$password")
token=$(curl -fsS -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' \
  -d "$body" "$base/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
[ -n "$token" ] || { echo "no token from POST /login" >&2; exit 1; }

"$ROOT/.ci/schemathesis.sh" "$base" "$token"
