#!/usr/bin/env bash
# Throughput and latency of the release binary, on SQLite and on Postgres.
#
#   bench/run.sh                      build the release binary, run everything
#   GROUNDWORK_BIN=path bench/run.sh  use an existing binary
#   BENCH_BACKENDS=sqlite bench/run.sh
#   BENCH_DJANGO=1 bench/run.sh       also the Django peer (pip installs Django
#                                     and gunicorn into a throwaway venv in /tmp)
#
# For each backend it starts the binary itself on a loopback port (SQLite: a
# temp file; Postgres: a fresh database on BENCH_PG_URL's server, dropped at
# the end), signs users up with curl, then measures with wrk. The servers are
# pinned with taskset to one core (BENCH_SERVER_CPU, default 1) and wrk to
# another (BENCH_WRK_CPU, default 0), wrk -t1 -c32 as in issue 14:
#   hello     GET /           a Rocket 0.5 hello-world (bench/hello, its own
#                             Cargo project, built into bench/hello/target):
#                             the yardstick every ratio is taken against
#   ping      GET /ping       our trivial plain-text route (all our fairings)
#   home      GET /           the home page, anonymous
#   healthz   GET /healthz    one `SELECT 1`: the cost of a database round trip
#   home, signed in           GET / with a session cookie: one session lookup
#   profile   GET /profile    the signed-in page (valid session cookie): the
#                             session lookup plus the user and the session list
#   notes, blog, admin        GET /notes, /blog, /admin signed in (an admin)
#   every other page          the rest of notes, blog and admin, signed in,
#                             with seeded content (see seed_pages): a note,
#                             its edit form and delete confirmation, a search
#                             and a tag; an article with a comment, its edit
#                             form, a tag, its author's page; the members
#                             list, a member's admin page, the contact inbox
#                             and a message, the jobs, the audit log and the
#                             reports queue. Each in rounds interleaved with
#                             the hello-world's.
#   sign-in   POST /login     valid CSRF cookie + token, correct password,
#                             spread over several accounts
#   home / profile during sign-ins
#             GET / and GET /profile while sign-in POSTs keep the password
#             hashing pool saturated
# The page loads are measured in interleaved rounds (hello, ping, home, ...,
# hello, ping, ...) so that a change in the machine's load
# during the run touches all of them alike; req/s is over all rounds, p50 and
# p99 are the median of the rounds'. It prints a table with the ratios to
# the hello-world; the same table goes to bench/results/<date>.md
# (not committed; bench/RESULTS.md is the committed copy of a run).
#
# Targets (issue 14, x the hello-world): SQLite home 0.7, home signed in
# 0.45, profile 0.3, every page of notes/blog/admin 0.2; Postgres home signed in 0.3,
# profile 0.15. (Issue 3:) while sign-ins saturate the hashing pool, other
# pages keep p99 < 50 ms.
# Only loopback traffic; every measurement is bounded in time (about 2 min
# per backend with the defaults).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR="$ROOT/bench"
export BENCH_DIR
ROUNDS=${BENCH_ROUNDS:-3}              # interleaved rounds of the page loads
ROUND_SECONDS=${BENCH_ROUND_SECONDS:-3}
DURATION=${BENCH_DURATION:-5}          # seconds of each sign-in measurement
CONNECTIONS=${BENCH_CONNECTIONS:-32}   # wrk connections for page loads
LOGIN_CONNECTIONS=${BENCH_LOGIN_CONNECTIONS:-8}
LOGIN_USERS=${BENCH_LOGIN_USERS:-8}    # accounts the sign-in POSTs rotate over
THREADS=${BENCH_THREADS:-1}            # wrk threads (the app gets the other core)
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
WRK_CPU=${BENCH_WRK_CPU:-0}

for tool in wrk curl psql python3 taskset; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y wrk curl postgresql-client python3)" >&2; exit 1; }
done

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "${GROUNDWORK_BIN:-}" ]; then
  BIN=$(realpath "$GROUNDWORK_BIN")
  built="the given binary $BIN, built $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC') (HEAD is $commit)"
else
  echo "== building the release binary"
  (cd "$ROOT" && cargo build --release --quiet)
  BIN=$(realpath "${CARGO_TARGET_DIR:-$ROOT/target}/release/groundwork")
  dirty=$(git -C "$ROOT" status --porcelain -- src templates static migrations Cargo.toml Cargo.lock 2>/dev/null | head -n 1)
  built="a release build of commit $commit${dirty:+ with uncommitted changes}"
fi

HELLO_BIN=${HELLO_BIN:-$BENCH_DIR/hello/target/release/rocket-hello}
if [ ! -x "$HELLO_BIN" ]; then
  echo "== building the Rocket hello-world (bench/hello)"
  (cd "$BENCH_DIR/hello" && CARGO_TARGET_DIR="$BENCH_DIR/hello/target" cargo build --release --quiet)
fi

work=$(mktemp -d)
server_pid=""
hello_pid=""
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
  if [ -n "$hello_pid" ]; then kill "$hello_pid" 2>/dev/null || true; fi
  drop_pg_db
  rm -rf "$work"
}
trap cleanup EXIT

# start_server DATABASE_URL: sets $base and $server_pid, waits for /healthz.
start_server() {
  local url=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  # Default settings, except the sign-up limit: the seeding signs up several
  # accounts from one address.
  (
    cd "$ROOT"
    exec taskset -c "$SERVER_CPU" env ROCKET_PROFILE=release \
      ROCKET_SECRET_KEY="$(head -c64 /dev/urandom | base64 -w0)" \
      ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" ROCKET_BASE_URL="$base" \
      ROCKET_LOG_LEVEL=critical ROCKET_CLI_COLORS=false \
      ROCKET_SIGNUPS_PER_ADDRESS_PER_HOUR=1000 \
      ROCKET_MAIL="{outbox_dir=\"$work/mail\"}" \
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

# start_hello: the hello-world on the server's core; sets $hello_base.
start_hello() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  hello_base="http://127.0.0.1:$port"
  ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" ROCKET_LOG_LEVEL=critical \
    ROCKET_CLI_COLORS=false taskset -c "$SERVER_CPU" "$HELLO_BIN" >"$work/hello.log" 2>&1 </dev/null &
  hello_pid=$!
  for _ in $(seq 1 50); do
    curl -fsS -o /dev/null "$hello_base/" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: the hello-world did not come up" >&2
  cat "$work/hello.log" >&2
  exit 1
}

csrf_of() { sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$1" | head -n 1; }
cookie_of() { awk -v n="$2" '$6 == n { print $7 }' "$1" | tail -n 1; }
urlencode() { python3 -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$1"; }

# signup USER PASSWORD JAR: sign up through the form, leaving the session in JAR.
signup() {
  local token code
  curl -sS -c "$3" -b "$3" "$base/signup" -o "$work/page"
  token=$(csrf_of "$work/page")
  code=$(curl -sS -c "$3" -b "$3" -H "Origin: $base" -o /dev/null -w '%{http_code}' \
    --data-urlencode "csrf_token=$token" --data-urlencode "username=$1" \
    --data-urlencode "email=$1@example.org" --data-urlencode "password=$2" "$base/signup")
  [ "$code" = 303 ] || { echo "bench: signing up $1 answered $code" >&2; exit 1; }
}

# seed: a signed-in user for /profile ($session_cookie), and LOGIN_USERS
# accounts for the sign-in POSTs ($login_bodies, $login_cookie).
seed() {
  local password="bench-$RANDOM-correct-horse" token code i user
  rm -f "$work"/jar*
  user="reader$RANDOM"
  bench_user=$user
  signup "$user" "$password" "$work/jar"
  # An admin, for /admin (made before the session is first used).
  echo "$password" | DATABASE_URL="$db_url" "$BIN" create-admin "$user@example.org" --password-stdin >/dev/null
  session_cookie="gw_session=$(cookie_of "$work/jar" gw_session)"
  code=$(curl -sS -o "$work/page" -w '%{http_code}' -H "Cookie: $session_cookie" "$base/profile")
  if [ "$code" != 200 ] || ! grep -q 'Where you are signed in' "$work/page"; then
    echo "bench: the seeded session does not open /profile ($code)" >&2
    exit 1
  fi
  # A browser's sign-in: the CSRF cookie from GET /login and the form's token.
  curl -sS -c "$work/jar-login" -b "$work/jar-login" "$base/login" -o "$work/page"
  token=$(urlencode "$(csrf_of "$work/page")")
  login_cookie="gw_csrf=$(cookie_of "$work/jar-login" gw_csrf)"
  login_bodies=""
  for i in $(seq 1 "$LOGIN_USERS"); do
    user="signin${i}x$RANDOM"
    signup "$user" "$password" "$work/jar-$i"
    login_bodies+="csrf_token=$token&email=$(urlencode "$user@example.org")&password=$password"$'\n'
  done
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $login_cookie" -H "Origin: $base" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "${login_bodies%%$'\n'*}" "$base/login")
  if [ "$code" != 303 ]; then
    echo "bench: the prepared sign-in POST answered $code, not 303" >&2
    exit 1
  fi
}

# post_form PAGE ACTION FIELD=VALUE...: as the seeded member, GET PAGE for
# the form's CSRF token and POST the fields to ACTION; prints the Location.
post_form() {
  local page=$1 action=$2 token arg
  shift 2
  curl -sS -H "Cookie: $session_cookie" "$base$page" -o "$work/page"
  token=$(csrf_of "$work/page")
  local -a data=(--data-urlencode "csrf_token=$token")
  for arg in "$@"; do data+=(--data-urlencode "$arg"); done
  curl -sS -o /dev/null -w '%{redirect_url}' -H "Cookie: $session_cookie" -H "Origin: $base" \
    "${data[@]}" "$base$action"
}

# seed_pages: content for the rest of the pages, and their list in
# $detail_pages ("name=path" words).
seed_pages() {
  local note article body text i admin_id message_id
  body=$'A note with **Markdown**, a [link](https://example.org) and a list:\n\n- apples\n- pears\n\nAnd a second paragraph of plain words.'
  # No link in the articles: an unconfirmed address may not post one.
  text=$'An article with **Markdown** and a list:\n\n- apples\n- pears\n\nAnd a second paragraph of plain words.'
  for i in 1 2 3 4 5; do
    note=$(post_form /notes/new /notes "title=Seeded note $i" "body=$body" "tags=garden, fruit")
  done
  article=$(post_form /blog/new /blog "title=Seeded article" "description=A summary" "body=$text" "tags=garden")
  for i in 1 2 3 4 5; do
    post_form /blog/new /blog "title=Seeded article $i" "description=A summary" "body=$text" "tags=garden" >/dev/null
  done
  article=${article#"$base"}
  post_form "$article" "$article/comments" "body=A comment with *emphasis*." >/dev/null
  curl -sS -c "$work/jar-contact" -b "$work/jar-contact" "$base/contact" -o "$work/page"
  curl -sS -o /dev/null -c "$work/jar-contact" -b "$work/jar-contact" -H "Origin: $base" \
    --data-urlencode "csrf_token=$(csrf_of "$work/page")" --data-urlencode "name=A visitor" \
    --data-urlencode "email=visitor@example.org" --data-urlencode "subject=Hello" \
    --data-urlencode "message=A message for the inbox." "$base/contact"
  note=${note#"$base"}
  admin_id=$(curl -sS -H "Cookie: $session_cookie" "$base/users" | sed -n 's|.*href="/admin/users/\([0-9]*\)".*|\1|p' | head -n 1)
  message_id=$(curl -sS -H "Cookie: $session_cookie" "$base/admin/contact" | sed -n 's|.*href="/admin/contact/\([0-9][0-9]*\)".*|\1|p' | head -n 1)
  detail_pages="note=$note note-edit=$note/edit note-delete=$note/delete notes-search=/notes?q=apples notes-tag=/notes?tag=fruit"
  detail_pages+=" article=$article article-edit=$article/edit blog-tag=/blog/tag/garden author=/blog/author/$bench_user"
  detail_pages+=" users=/users admin-user=/admin/users/$admin_id admin-contact=/admin/contact"
  detail_pages+=" admin-message=/admin/contact/$message_id admin-jobs=/admin/jobs admin-audit=/admin/audit admin-reports=/admin/reports"
  if [ -z "$note" ] || [ -z "$article" ] || [ -z "$admin_id" ] || [ -z "$message_id" ]; then
    echo "bench: seeding failed (note '$note', article '$article', admin $admin_id, message $message_id)" >&2
    exit 1
  fi
  local page code
  for page in $detail_pages; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $session_cookie" "$base${page#*=}")
    [ "$code" = 200 ] || { echo "bench: the seeded page ${page#*=} answered $code" >&2; exit 1; }
  done
}

# wrk_run SECONDS CONNECTIONS SCRIPT PATH [COOKIE [BASE]]: prints the
# RESULT line (see report.lua).
wrk_run() {
  local secs=$1 conns=$2 script=$3 path=$4 cookie=${5:-} at=${6:-$base}
  BENCH_COOKIE=$cookie BENCH_BODIES=${login_bodies:-} BENCH_ORIGIN=$base \
    taskset -c "$WRK_CPU" wrk -t "$THREADS" -c "$conns" -d "${secs}s" --timeout 10s -s "$BENCH_DIR/$script" "$at$path" \
    | grep '^RESULT ' || echo "RESULT 0 1 0 0 0 1 0"
}

rows=()     # "backend|measurement|req/s|p50|p99|errors"
declare -A rps p99
# record BACKEND NAME RESULT-LINE...: several lines are rounds of one
# measurement: req/s over all of them, the median p50 and p99.
record() {
  local backend=$1 name=$2 line
  shift 2
  local agg rate p50 p99v errs
  agg=$(for line in "$@"; do echo "$line"; done | awk '
    { n += $2; s += $3; p50[NR] = $4; p99[NR] = $5; e += $7 + $8 }
    function median(a, k,   i, j, t) {
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END { printf "%.0f %.3f %.3f %d\n", n / s, median(p50, NR), median(p99, NR), e }')
  read -r rate p50 p99v errs <<<"$agg"
  rps[$backend/$name]=$rate
  p99[$backend/$name]=$p99v
  rows+=("$backend|$name|$rate|$p50|$p99v|$errs")
  printf '  %-24s %8s req/s   p50 %8s ms   p99 %8s ms   errors %s\n' "$name" "$rate" "$p50" "$p99v" "$errs"
}

bench_backend() {
  local backend=$1 url r
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
  db_url=$url
  start_server "$url"
  seed
  wrk_run 1 "$CONNECTIONS" get.lua / >/dev/null   # warm-up
  wrk_run 1 "$CONNECTIONS" get.lua / "" "$hello_base" >/dev/null
  local -a hello=() ping=() home=() healthz=() home_in=() profile=() notes=() blog=() admin=()
  for r in $(seq 1 "$ROUNDS"); do
    hello+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua / "" "$hello_base")")
    ping+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua /ping)")
    home+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua /)")
    healthz+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua /healthz)")
    home_in+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua / "$session_cookie")")
    profile+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua /profile "$session_cookie")")
    notes+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua /notes "$session_cookie")")
    blog+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua /blog "$session_cookie")")
    admin+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua /admin "$session_cookie")")
  done
  record "$backend" hello "${hello[@]}"
  record "$backend" ping "${ping[@]}"
  record "$backend" home "${home[@]}"
  record "$backend" healthz "${healthz[@]}"
  record "$backend" "home, signed in" "${home_in[@]}"
  record "$backend" profile "${profile[@]}"
  record "$backend" notes "${notes[@]}"
  record "$backend" blog "${blog[@]}"
  record "$backend" admin "${admin[@]}"
  # The rest of the pages, each in rounds interleaved with the hello-world.
  seed_pages
  local page name
  for page in $detail_pages; do
    name=${page%%=*}
    local -a hello_d=() this=()
    for r in $(seq 1 "$ROUNDS"); do
      hello_d+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua / "" "$hello_base")")
      this+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua "${page#*=}" "$session_cookie")")
    done
    record "$backend" "hello for $name" "${hello_d[@]}"
    record "$backend" "$name" "${this[@]}"
  done
  record "$backend" sign-in "$(wrk_run "$DURATION" "$LOGIN_CONNECTIONS" post.lua /login "$login_cookie")"
  # Saturate the hashing pool with sign-ins, and meanwhile load other pages
  # at a modest concurrency, as people browsing would.
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

# The Django peer: bench/django/peer.py (a login_required page rendering
# the user's name, DB sessions, cached templates, DEBUG off) under gunicorn
# with threads, pinned like our server, measured in rounds with the hello-world.
bench_django() {
  local venv=/tmp/groundwork-bench-django port dj_base dj_cookie code r
  local -a dj=() hello_dj=()
  if [ ! -x "$venv/bin/gunicorn" ]; then
    echo "== installing Django and gunicorn into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'django>=5,<6' gunicorn
  fi
  echo "== django"
  dj_cookie=$(cd "$BENCH_DIR/django" && PEER_DB="$work/peer.db" "$venv/bin/python" peer.py seed)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  dj_base="http://127.0.0.1:$port"
  (cd "$BENCH_DIR/django" && PEER_DB="$work/peer.db" exec taskset -c "$SERVER_CPU" \
    "$venv/bin/gunicorn" -k gthread --workers 1 --threads 8 -b "127.0.0.1:$port" \
    --log-level warning peer:application) >"$work/django.log" 2>&1 </dev/null &
  server_pid=$!
  for _ in $(seq 1 100); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $dj_cookie" "$dj_base/" 2>/dev/null || true)
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  [ "$code" = 200 ] || { echo "bench: the Django peer answered $code" >&2; cat "$work/django.log" >&2; exit 1; }
  for r in $(seq 1 "$ROUNDS"); do
    hello_dj+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua / "" "$hello_base")")
    dj+=("$(wrk_run "$ROUND_SECONDS" "$CONNECTIONS" get.lua / "$dj_cookie" "$dj_base")")
  done
  record django hello "${hello_dj[@]}"
  record django "signed-in page" "${dj[@]}"
  stop_server
}

start_hello
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for backend in $BACKENDS; do
  bench_backend "$backend"
done
if [ "${BENCH_DJANGO:-0}" = 1 ]; then
  bench_django
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

ratio() { awk -v a="${rps[$1]:-0}" -v b="${rps[$2]:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { if (v == "n/a") print "n/a"; else if ((dir == "ge" && v + 0 >= t) || (dir == "lt" && v + 0 < t)) print "yes"; else print "NO" }'; }

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
report="$work/report.md"
{
  echo "# Groundwork benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Binary: $built."
  echo "Machine: $(nproc) cores ($cpu);"
  echo "load average $load_before before the run, $load_after after. wrk and the server share the machine."
  echo
  echo "- The servers pinned to core $SERVER_CPU, wrk to core $WRK_CPU (taskset); Postgres unpinned."
  echo "- hello (Rocket hello-world), ping, home, healthz, home signed in, profile, notes, blog, admin:"
  echo "  $ROUNDS interleaved rounds of ${ROUND_SECONDS}s, wrk -t$THREADS -c$CONNECTIONS;"
  echo "  req/s over all rounds, p50/p99 the median of the rounds'."
  echo "- sign-in: ${DURATION}s, wrk -t$THREADS -c$LOGIN_CONNECTIONS, POSTs rotating over $LOGIN_USERS accounts."
  echo "- during sign-ins: a $((2 * DURATION + 3))s sign-in burst as above, and meanwhile ${DURATION}s of GET / then"
  echo "  ${DURATION}s of GET /profile with wrk -c4."
  echo "- Server settings are the defaults: hash_concurrency = cores - 1, Rocket workers = cores"
  echo "  it may run on (1), pool = 4 x workers (only the sign-up limit is raised, for seeding)."
  echo
  echo "| backend | measurement | req/s | p50 ms | p99 ms | errors |"
  echo "|---|---|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    IFS='|' read -r b m rate p50 p99v errs <<<"$r"
    echo "| $b | $m | $rate | $p50 | $p99v | $errs |"
  done
  echo
  echo "Ratios to the hello-world on the same core (issue 14's targets in brackets):"
  echo
  echo "| backend | home anonymous | home signed in | profile | notes | blog | admin | healthz |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for b in $BACKENDS; do
    echo "| $b | $(ratio "$b/home" "$b/hello") | $(ratio "$b/home, signed in" "$b/hello") | $(ratio "$b/profile" "$b/hello") | $(ratio "$b/notes" "$b/hello") | $(ratio "$b/blog" "$b/hello") | $(ratio "$b/admin" "$b/hello") | $(ratio "$b/healthz" "$b/hello") |"
  done
  echo
  echo "The rest of the signed-in pages, each against the hello-world rounds interleaved with its own (target 0.2 on SQLite):"
  echo
  echo "| backend | $(for page in $detail_pages; do printf '%s | ' "${page%%=*}"; done)"
  echo "|---|$(for page in $detail_pages; do printf -- '---:|'; done)"
  for b in $BACKENDS; do
    echo "| $b | $(for page in $detail_pages; do printf '%s | ' "$(ratio "$b/${page%%=*}" "$b/hello for ${page%%=*}")"; done)"
  done
  echo
  echo "Targets:"
  if [[ " $BACKENDS " == *" sqlite "* ]]; then
    echo "- SQLite home anonymous >= 0.7: $(verdict "$(ratio sqlite/home sqlite/hello)" 0.7 ge)"
    echo "- SQLite home signed in >= 0.45: $(verdict "$(ratio "sqlite/home, signed in" sqlite/hello)" 0.45 ge)"
    echo "- SQLite profile >= 0.3: $(verdict "$(ratio sqlite/profile sqlite/hello)" 0.3 ge)"
    echo "- SQLite notes, blog, admin >= 0.2: $(verdict "$(ratio sqlite/notes sqlite/hello)" 0.2 ge), $(verdict "$(ratio sqlite/blog sqlite/hello)" 0.2 ge), $(verdict "$(ratio sqlite/admin sqlite/hello)" 0.2 ge)"
    echo "- SQLite every other page >= 0.2: $(for page in $detail_pages; do printf '%s %s, ' "${page%%=*}" "$(verdict "$(ratio "sqlite/${page%%=*}" "sqlite/hello for ${page%%=*}")" 0.2 ge)"; done)"
  fi
  if [ -n "${rps[django/signed-in page]:-}" ]; then
    for b in $BACKENDS; do
      echo "- $b profile vs the Django signed-in page (each against its own hello-world round): $(awk -v p="${rps[$b/profile]:-0}" -v h="${rps[$b/hello]:-1}" -v d="${rps[django/signed-in page]:-0}" -v dh="${rps[django/hello]:-1}" 'BEGIN { if (d > 0) printf "%.1f x (raw %.0f / %.0f req/s)", (p / h) / (d / dh), p, d; else print "n/a" }')"
    done
  fi
  if [[ " $BACKENDS " == *" postgres "* ]]; then
    echo "- Postgres home signed in >= 0.3: $(verdict "$(ratio "postgres/home, signed in" postgres/hello)" 0.3 ge)"
    echo "- Postgres profile >= 0.15: $(verdict "$(ratio postgres/profile postgres/hello)" 0.15 ge)"
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
