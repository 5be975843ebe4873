#!/usr/bin/env bash
# Blog list latency at 10,000 articles (issue 8: list pages and API lists
# p99 < 20 ms), over real HTTP against the release binary, on SQLite and on
# Postgres.
#
#   bench/blog.sh                        build the release binary, run both
#   GROUNDWORK_BIN=path bench/blog.sh    use an existing binary
#   BENCH_BACKENDS=sqlite bench/blog.sh
#
# For each backend: start the binary on a fresh database (.ci/serve.sh),
# register a reader through the API, fill the database with SQL (100
# authors, 10,000 articles with 2 tags each, 10,000 favourites, 10,000
# comments, each author following 10 others, the reader following 10
# authors), then time each list with wrk: one connection (the latency a
# reader sees) and 8 connections (the machine busy), p50 and p99.
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

# The fill, in SQL both databases run.
read -r -d '' FILL <<'SQL' || true
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO users (username, email, bio, created_at, updated_at)
SELECT 'author' || i, 'author' || i || '@example.org', 'Writes about number ' || i, 0, 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO articles (author_id, slug, title, description, body, created_at, updated_at)
SELECT (SELECT id FROM users WHERE username = 'author' || (1 + i % 100)),
       'article-number-' || i, 'Article number ' || i, 'What article ' || i || ' is about',
       'Some *Markdown* text for article ' || i || '.',
       1700000000 + i, 1700000000 + i
FROM n;
INSERT INTO article_tags (article_id, tag) SELECT id, 'tag' || (id % 50) FROM articles;
INSERT INTO article_tags (article_id, tag) SELECT id, 'tag' || ((id + 17) % 50) FROM articles;
INSERT INTO favorites (user_id, article_id, created_at)
SELECT u.id, a.id, 0 FROM users u JOIN articles a ON a.id % 100 = u.id % 100
WHERE u.username LIKE 'author%';
INSERT INTO comments (article_id, author_id, body, created_at, updated_at)
SELECT id, author_id, 'A comment on ' || title, created_at, created_at FROM articles;
INSERT INTO follows (follower_id, followee_id, created_at)
SELECT u.id, v.id, 0 FROM users u JOIN users v ON v.id <> u.id AND (v.id + u.id) % 10 = 0;
SQL

bench_backend() {
  local backend=$1 url dir="" db=""
  if [ "$backend" = sqlite ]; then
    dir=$(mktemp -d)
    url="sqlite://$dir/blog.db?mode=rwc"
  else
    db="bench_blog_$$"
    psql "$PG_URL" -qAtc "CREATE DATABASE $db"
    url="${PG_URL%/*}/$db"
  fi
  (
    . "$ROOT/.ci/serve.sh" "$GROUNDWORK_BIN" "$url"
    token=$(curl -fsS -H 'Content-Type: application/json' "$base/api/users" \
      -d '{"user":{"username":"reader","email":"reader@example.org","password":"bench reader passphrase"}}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])')
    extra="INSERT INTO follows (follower_id, followee_id, created_at)
      SELECT (SELECT id FROM users WHERE username = 'reader'), id, 0 FROM users
      WHERE username LIKE 'author%' AND id % 10 = 3;"
    t0=$SECONDS
    if [ "$backend" = sqlite ]; then
      python3 - "$dir/blog.db" "$FILL
$extra" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript(sys.argv[2])
c.execute("ANALYZE")
c.commit()
PY
    else
      psql "$url" -qAt -v ON_ERROR_STOP=1 -c "$FILL" -c "$extra" -c "ANALYZE"
    fi
    printf 'filled in %s s: ' $((SECONDS - t0))
    curl -fsS "$base/api/articles?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["articlesCount"], "articles")'
    printf '\n| %-44s | %9s | %9s | %9s | %9s | %8s |\n' "$backend: list" "c1 p50" "c1 p99" "c8 p50" "c8 p99" "c8 req/s"
    printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "-----------" "-----------" "-----------" "-----------" "----------"
    measure() {
      local label=$1 path=$2 auth=()
      [ "${3:-}" = token ] && auth=(-H "Authorization: Token $token")
      local one many
      one=$(wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency "${auth[@]}" "$base$path")
      many=$(wrk -t2 -c8 -d"${SECONDS_PER_RUN}s" --latency "${auth[@]}" "$base$path")
      pct() { awk -v p="$1" '$1 == p {print $2}'; }
      errors() { grep -E 'Non-2xx|Socket errors' || true; }
      printf '| %-44s | %9s | %9s | %9s | %9s | %8s |\n' "$label" \
        "$(echo "$one" | pct 50%)" "$(echo "$one" | pct 99%)" \
        "$(echo "$many" | pct 50%)" "$(echo "$many" | pct 99%)" \
        "$(echo "$many" | awk '/Requests\/sec/ {printf "%d", $2}')"
      local bad
      bad=$( (echo "$one"; echo "$many") | errors)
      [ -z "$bad" ] || echo "  !! $label: $bad"
    }
    measure "GET /api/articles" "/api/articles"
    measure "GET /api/articles (signed in)" "/api/articles" token
    measure "GET /api/articles?offset=9980" "/api/articles?offset=9980"
    measure "GET /api/articles?tag=tag7" "/api/articles?tag=tag7"
    measure "GET /api/articles?author=author42" "/api/articles?author=author42"
    measure "GET /api/articles?favorited=author42" "/api/articles?favorited=author42"
    measure "GET /api/articles/feed" "/api/articles/feed" token
    measure "GET /api/tags" "/api/tags"
    measure "GET /blog (page)" "/blog"
    measure "GET /blog?page=400 (page)" "/blog?page=400"
    measure "GET /blog/tag/tag7 (page)" "/blog/tag/tag7"
    measure "GET /blog/author/author42 (page)" "/blog/author/author42"
    measure "GET /blog/article-number-5000 (page)" "/blog/article-number-5000"
  )
  if [ -n "$db" ]; then psql "$PG_URL" -qAtc "DROP DATABASE $db WITH (FORCE)"; fi
  if [ -n "$dir" ]; then rm -rf "$dir"; fi
}

echo "# Blog lists at 10,000 articles ($(date -u +%Y-%m-%d), $(nproc) cores, wrk on the same host, ${SECONDS_PER_RUN}s per run)"
for b in $BACKENDS; do
  echo
  bench_backend "$b"
done
