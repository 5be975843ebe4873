#!/usr/bin/env bash
# Notes search benchmark: 100,000 notes across 100 users, search p50/p99 on
# SQLite and (when reachable) Postgres. Usage:
#   bench/notes-search.sh [postgres://postgres@127.0.0.1:5432/postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL="${1:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
cargo build --release --example notes-search
BIN="${CARGO_TARGET_DIR:-target}/release/examples/notes-search"
echo "== SQLite"
"$BIN" sqlite
echo "== Postgres ($PG_URL)"
"$BIN" "$PG_URL"
