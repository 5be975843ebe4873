#!/usr/bin/env bash
# The tasks pages over real HTTP (issue 15: a project with 5,000 tasks and 20
# members; the board, the filtered list and "My tasks" each p99 < 20 ms with
# one connection), against the release binary on SQLite and on Postgres.
# bench/tasks.sh times the same queries in-process; this times whole pages:
# the session check, the queries and the template.
#
#   bench/tasks-pages.sh                      build the release binary, run both
#   GROUNDWORK_BIN=path bench/tasks-pages.sh  use an existing binary
#   BENCH_BACKENDS=sqlite BENCH_SECONDS=3 bench/tasks-pages.sh
#
# For each backend: start the binary on a fresh database (.ci/serve.sh), sign
# the owner up through the form (a real session cookie), then fill in SQL:
# 19 more members, one project with the default four columns, 5,000 tasks
# spread over the columns and members (the owner is assigned 1 in 20), due
# dates over three months around today, priorities and a label on every
# third task; then wrk -t1 -c1 on each page.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if [ -z "${GROUNDWORK_BIN:-}" ]; then
  cargo build --release
  GROUNDWORK_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/groundwork"
fi
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

# $1 = the owner's user id, $2 = today's unix day number (days since 1970).
fill_sql() {
  cat <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 19)
INSERT INTO users (username, email, created_at, updated_at)
SELECT 'member' || i, 'member' || i || '@example.org', 0, 0 FROM n;
INSERT INTO task_projects (name, archived, created_at, updated_at) VALUES ('Launch', 0, 0, 0);
INSERT INTO task_columns (project_id, name, position, done)
SELECT (SELECT MAX(id) FROM task_projects), name, position, done FROM (
  SELECT 'To do' AS name, 0 AS position, 0 AS done
  UNION ALL SELECT 'Doing', 1, 0 UNION ALL SELECT 'Review', 2, 0 UNION ALL SELECT 'Done', 3, 1) c;
INSERT INTO task_members (project_id, user_id, role, added_at)
SELECT (SELECT MAX(id) FROM task_projects), id, CASE WHEN id = $1 THEN 'owner' ELSE 'editor' END, 0
FROM users WHERE id = $1 OR username LIKE 'member%';
INSERT INTO task_labels (project_id, name, colour, created_at)
SELECT (SELECT MAX(id) FROM task_projects), name, colour, 0 FROM (
  SELECT 'bug' AS name, 'red' AS colour UNION ALL SELECT 'design', 'blue' UNION ALL SELECT 'ops', 'green') l;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000),
  cols AS (SELECT id, position, done FROM task_columns WHERE project_id = (SELECT MAX(id) FROM task_projects)),
  mem AS (SELECT user_id, ROW_NUMBER() OVER (ORDER BY user_id) - 1 AS k FROM task_members
          WHERE project_id = (SELECT MAX(id) FROM task_projects))
INSERT INTO tasks (project_id, column_id, position, title, description, assignee_id, due_date,
                   priority, created_by, created_at, updated_at, completed_at)
SELECT (SELECT MAX(id) FROM task_projects), cols.id, n.i * 1024, 'Task number ' || n.i,
       'Some *Markdown* about task ' || n.i || '.',
       (SELECT user_id FROM mem WHERE k = n.i % 20),
       CASE WHEN n.i % 7 = 0 THEN NULL
            ELSE $(date_expr "$2 - 45 + (n.i % 90)") END,
       n.i % 5, $1, n.i, n.i, CASE WHEN cols.done = 1 THEN n.i ELSE NULL END
FROM n JOIN cols ON cols.position = n.i % 4;
INSERT INTO task_label_links (task_id, label_id)
SELECT t.id, (SELECT MIN(id) FROM task_labels) + t.id % 3 FROM tasks t WHERE t.id % 3 = 0;
SQL
}

bench_backend() {
  local backend=$1 url dir="" db=""
  if [ "$backend" = sqlite ]; then
    dir=$(mktemp -d)
    url="sqlite://$dir/tasks.db?mode=rwc"
    # A day number to a YYYY-MM-DD text, in each dialect.
    date_expr() { echo "date(($1) * 86400, 'unixepoch')"; }
  else
    db="bench_tasks_pages_$$"
    psql "$PG_URL" -qAtc "CREATE DATABASE $db"
    url="${PG_URL%/*}/$db"
    date_expr() { echo "to_char(DATE '1970-01-01' + CAST($1 AS INTEGER), 'YYYY-MM-DD')"; }
  fi
  (
    . "$ROOT/.ci/serve.sh" "$GROUNDWORK_BIN" "$url"
    jar="$work/jar"
    curl -fsS -c "$jar" -b "$jar" "$base/signup" -o "$work/page"
    csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/page" | head -1)
    code=$(curl -sS -c "$jar" -b "$jar" -H "Origin: $base" -o /dev/null -w '%{http_code}' \
      --data-urlencode "csrf_token=$csrf" --data-urlencode "username=owner" \
      --data-urlencode "email=owner@example.org" \
      --data-urlencode "password=bench owner passphrase" "$base/signup")
    [ "$code" = 303 ] || { echo "bench: signing up answered $code" >&2; exit 1; }
    cookie="gw_session=$(awk '$6 == "gw_session" { print $7 }' "$jar" | tail -n 1)"
    today=$(( $(date -u +%s) / 86400 ))
    if [ "$backend" = sqlite ]; then
      owner=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM users WHERE username = ?", ("owner",)).fetchone()[0])' "$dir/tasks.db")
      python3 - "$dir/tasks.db" "$(fill_sql "$owner" "$today")" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript(sys.argv[2])
c.execute("ANALYZE")
c.commit()
PY
    else
      owner=$(psql "$url" -qAtc "SELECT id FROM users WHERE username = 'owner'")
      psql "$url" -qAt -v ON_ERROR_STOP=1 -c "$(fill_sql "$owner" "$today")" -c "ANALYZE"
    fi
    p=$(curl -fsS -H "Cookie: $cookie" "$base/tasks" | sed -n 's|.*href="/tasks/\([0-9][0-9]*\)".*|\1|p' | head -1)
    [ -n "$p" ] || { echo "bench: the owner's project is not on /tasks" >&2; exit 1; }
    printf '\n| %-52s | %9s | %9s |\n' "$backend: page (1 connection)" "p50" "p99"
    printf '|%s|%s|%s|\n' "------------------------------------------------------" "-----------" "-----------"
    pct() { awk -v p="$1" '$1 == p {print $2}'; }
    measure() {
      local out status
      status=$(curl -sS -o "$work/page" -w '%{http_code}' -H "Cookie: $cookie" "$base$1")
      [ "$status" = 200 ] || { echo "bench: GET $1 answered $status" >&2; exit 1; }
      out=$(wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency -H "Cookie: $cookie" "$base$1")
      printf '| %-52s | %9s | %9s |\n' "GET $1" "$(echo "$out" | pct 50%)" "$(echo "$out" | pct 99%)"
      echo "$out" | grep -E 'Non-2xx|Socket errors' | sed "s|^|  !! $1: |" || true
    }
    measure "/tasks/$p"
    measure "/tasks/$p/list"
    measure "/tasks/$p/list?assignee=$owner&sort=due"
    measure "/tasks/$p/list?overdue=1&sort=priority&dir=desc"
    measure "/tasks/$p/list?q=number+4242"
    measure "/tasks/$p/list?sort=title&page=100"
    measure "/tasks/mine"
  )
  if [ -n "$db" ]; then psql "$PG_URL" -qAtc "DROP DATABASE $db WITH (FORCE)"; fi
  if [ -n "$dir" ]; then rm -rf "$dir"; fi
}

echo "# Tasks pages at 5,000 tasks, 20 members ($(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), wrk on the same host, ${SECONDS_PER_RUN}s per run)"
for b in $BACKENDS; do
  echo
  bench_backend "$b"
done
