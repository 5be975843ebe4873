#!/usr/bin/env bash
# Notifications at 100,000 per member (issue 19: the list and the unread
# count p99 < 20 ms with one connection, on SQLite and on Postgres), over
# real HTTP against the release binary.
#
#   GROUNDWORK_BIN=path bench/notifications.sh
#   BENCH_BACKENDS=sqlite bench/notifications.sh
#
# For each backend: start the binary on a fresh database (.ci/serve.sh),
# register a reader through the API, give them 100,000 notifications with
# SQL (every tenth a grouped favourite entry of 40 actors), half of them
# read, then time the API's list (first page, a deep cursor) and unread
# count with wrk: one connection and 8 connections, p50 and p99; then the
# same pages in HTML with the reader's session cookie, and a page whose
# only notifications work is the navigation's count.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
[ -n "${GROUNDWORK_BIN:-}" ] || { echo "set GROUNDWORK_BIN to a release binary" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

read -r -d '' FILL <<'SQL' || true
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT INTO users (username, email, bio, created_at, updated_at)
SELECT 'actor' || i, 'actor' || i || '@example.org', '', 0, 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO notifications (user_id, kind, group_key, actor_id, actor_ids, actor_count, subject, url, created_at)
SELECT (SELECT id FROM users WHERE username = 'reader'),
       CASE WHEN i % 10 = 0 THEN 'favourite' ELSE 'comment' END,
       CASE WHEN i % 10 = 0 THEN 'favourite:article:' || i || ':1' ELSE 'comment:comment:' || i END,
       (SELECT id FROM users WHERE username = 'actor1'),
       (SELECT CAST(id AS TEXT) FROM users WHERE username = 'actor1'),
       CASE WHEN i % 10 = 0 THEN 40 ELSE 1 END,
       'Article ' || i, '/blog/article-' || i, 1700000000 + i
FROM n;
INSERT INTO notification_reads (user_id, last_read_id)
SELECT user_id, MIN(id) + 50000 FROM notifications GROUP BY user_id;
SQL

bench_backend() {
  local backend=$1 url dir="" db=""
  if [ "$backend" = sqlite ]; then
    dir=$(mktemp -d)
    url="sqlite://$dir/notifications.db?mode=rwc"
  else
    db="bench_notifications_$$"
    psql "$PG_URL" -qAtc "CREATE DATABASE $db"
    url="${PG_URL%/*}/$db"
  fi
  (
    . "$ROOT/.ci/serve.sh" "$GROUNDWORK_BIN" "$url"
    # The reader signs up through the form (a browser session for the
    # page), then signs in through the API (a token for the JSON).
    jar=$(mktemp)
    curl -fsS -c "$jar" -b "$jar" "$base/signup" -o "$jar.page"
    csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$jar.page" | head -n 1)
    curl -fsS -c "$jar" -b "$jar" -H "Origin: $base" -o /dev/null \
      --data-urlencode "csrf_token=$csrf" --data-urlencode "username=reader" \
      --data-urlencode "email=reader@example.org" --data-urlencode "password=bench reader passphrase" \
      "$base/signup"
    session="gw_session=$(awk '$6 == "gw_session" { print $7 }' "$jar" | tail -n 1)"
    rm -f "$jar" "$jar.page"
    token=$(curl -fsS -H 'Content-Type: application/json' "$base/api/users/login" \
      -d '{"user":{"email":"reader@example.org","password":"bench reader passphrase"}}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])')
    if [ "$backend" = sqlite ]; then
      python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.execute("ANALYZE"); c.commit()' "$dir/notifications.db" "$FILL"
    else
      psql "$url" -qAt -v ON_ERROR_STOP=1 -c "$FILL" -c "ANALYZE"
    fi
    printf '\n| %-40s | %9s | %9s | %9s | %9s |\n' "$backend" "c1 p50" "c1 p99" "c8 p50" "c8 p99"
    measure() {
      local label=$1 path=$2 one many auth=(-H "Authorization: Bearer $token" -H 'Accept: application/json')
      if [ "${3:-}" = page ]; then
        auth=(-H "Cookie: $session")
        code=$(curl -sS -o /dev/null -w '%{http_code}' "${auth[@]}" "$base$path")
        [ "$code" = 200 ] || { echo "bench: $path answered $code with the session" >&2; exit 1; }
      fi
      one=$(wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency "${auth[@]}" "$base$path")
      many=$(wrk -t2 -c8 -d"${SECONDS_PER_RUN}s" --latency "${auth[@]}" "$base$path")
      pct() { awk -v p="$1" '$1 == p {print $2}'; }
      printf '| %-40s | %9s | %9s | %9s | %9s |\n' "$label" \
        "$(echo "$one" | pct 50%)" "$(echo "$one" | pct 99%)" \
        "$(echo "$many" | pct 50%)" "$(echo "$many" | pct 99%)"
    }
    measure "GET /notifications/unread" "/notifications/unread"
    measure "GET /notifications" "/notifications"
    measure "GET /notifications?before=20000" "/notifications?before=20000"
    measure "page: GET /notifications" "/notifications" page
    measure "page: GET /notifications?before=20000" "/notifications?before=20000" page
    measure "page: GET /notes (nav count, 100,000)" "/notes" page
  )
  if [ -n "$db" ]; then psql "$PG_URL" -qAtc "DROP DATABASE $db WITH (FORCE)"; fi
  if [ -n "$dir" ]; then rm -rf "$dir"; fi
}

echo "# Notifications at 100,000 per member ($(date -u +%Y-%m-%d), $(nproc) cores)"
for b in $BACKENDS; do
  bench_backend "$b"
done
