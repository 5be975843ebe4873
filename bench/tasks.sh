#!/usr/bin/env bash
# Tasks benchmark: one project with 5,000 tasks and 20 members, one
# connection; board and filtered-list queries p50/p99 on SQLite and (when
# reachable) Postgres. Usage:
#   bench/tasks.sh [postgres://postgres@127.0.0.1:5432/postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL="${1:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
cargo build --release --example tasks-board
BIN="${CARGO_TARGET_DIR:-target}/release/examples/tasks-board"
echo "== SQLite"
"$BIN" sqlite
echo "== Postgres ($PG_URL)"
"$BIN" "$PG_URL"
