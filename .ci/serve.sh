# Sourced by .ci/smoke.sh and .ci/api-fuzz.sh: run a built binary for a test.
#
#   . .ci/serve.sh BINARY DATABASE_URL [EXTRA_ENV...]
#
# Starts BINARY with the release profile on a free loopback port and the
# given database (mail goes to .eml files in a temp folder), waits for
# /healthz, and stops it on exit, printing the server's log on failure.
# Sets: BIN, DB_URL, ROOT, work (a temp folder removed on exit), log, port,
# base, server_pid. Extra NAME=VALUE arguments are added to the server's
# environment.

if [ $# -lt 2 ]; then
  echo "usage: $0 BINARY DATABASE_URL" >&2
  exit 2
fi
BIN=$(realpath "$1")
DB_URL=$2
shift 2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
log="$work/server.log"
server_pid=""

serve_cleanup() {
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
trap serve_cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
redacted=$(printf '%s' "$DB_URL" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#')
echo "$(basename "$0"): $BIN on $base with $redacted"

# The server's settings; a command run with serve_env sees the same ones.
serve_env=(ROCKET_PROFILE=release
  ROCKET_SECRET_KEY="$(head -c64 /dev/urandom | base64 -w0)"
  ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" ROCKET_BASE_URL="$base"
  ROCKET_LOG_LEVEL=normal ROCKET_CLI_COLORS=false
  ROCKET_MAIL="{outbox_dir=\"$work/mail\"}"
  DATABASE_URL="$DB_URL" "$@")

# Run from the repository so Rocket.toml's release profile applies.
(cd "$ROOT" && exec env "${serve_env[@]}" "$BIN" serve) >"$log" 2>&1 </dev/null &
server_pid=$!

# Wait for /healthz (migrations run before the server listens).
for _ in $(seq 1 150); do
  if curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server exited during start-up" >&2
    exit 1
  fi
  sleep 0.2
done
if ! curl -fsS -o /dev/null "$base/healthz"; then
  echo "/healthz never answered 200 within 30 s" >&2
  exit 1
fi
