#!/usr/bin/env bash
# Smoke test of a built binary over real HTTP:
#   .ci/smoke.sh BINARY DATABASE_URL
# Starts BINARY with the release profile on a free loopback port and the
# given database, waits for /healthz, then signs up, signs out and signs in
# with curl (cookie jar + the CSRF token scraped from each form), checks that
# /profile shows the user and that the sign-up's confirmation mail was
# delivered (to .eml files in a temp folder: no SMTP server is configured),
# and stops the server. Exits non-zero on any failure
# and prints the server's log when it does.
set -euo pipefail

. "$(dirname "$0")/serve.sh" "$@"
jar="$work/cookies"

fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }
step() { printf '  - [%3ss] %s\n' "$SECONDS" "$*"; }

health=$(curl -fsS "$base/healthz") || fail "/healthz never answered 200 within 30 s"
[[ $health == *'"database":"ok"'* ]] || fail "/healthz said: $health"
step "GET /healthz: $health"

# curl with the cookie jar, as a browser on this origin would send forms.
c() { curl -sS -b "$jar" -c "$jar" -H "Origin: $base" "$@"; }
# status code only
code() { c -o "$work/body" -w '%{http_code}' "$@"; }
# the CSRF token of the first form on a page
token_of() {
  c "$base$1" -o "$work/page"
  sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/page" | head -n 1
}
location() { c -o /dev/null -w '%{redirect_url}' "$@"; }

home=$(code "$base/")
[ "$home" = 200 ] || fail "GET / answered $home"
grep -q 'Groundwork' "$work/body" || fail "the home page does not say Groundwork"
csp=$(curl -sS -D - -o /dev/null "$base/" | tr -d '\r' | grep -i '^content-security-policy:' || true)
[ -n "$csp" ] || fail "GET / has no Content-Security-Policy header"
step "GET /: 200 with a CSP header"

user="smoke$RANDOM$RANDOM"
email="$user@example.org"
password="smoke test $RANDOM correct horse"

# --- sign up ---
token=$(token_of /signup)
[ -n "$token" ] || fail "no csrf_token on /signup"
forbidden=$(c -o /dev/null -w '%{http_code}' --data-urlencode "username=$user" \
  --data-urlencode "email=$email" --data-urlencode "password=$password" "$base/signup")
[ "$forbidden" = 403 ] || fail "sign-up without a CSRF token answered $forbidden, not 403"
to=$(location --data-urlencode "csrf_token=$token" --data-urlencode "username=$user" \
  --data-urlencode "email=$email" --data-urlencode "password=$password" "$base/signup")
[[ $to == */profile ]] || fail "sign-up did not redirect to /profile (went to '$to')"
[ "$(code "$base/profile")" = 200 ] || fail "GET /profile after sign-up did not answer 200"
grep -q "$email" "$work/body" || fail "/profile does not show $email after sign-up"
step "signed up as $user; /profile shows $email"

# The sign-up queued a confirmation mail; the delivery worker writes it out.
for _ in $(seq 1 75); do
  grep -qls "$email" "$work"/mail/*.eml 2>/dev/null && break
  sleep 0.2
done
grep -qls "$email" "$work"/mail/*.eml 2>/dev/null || fail "no mail to $email was delivered within 15 s"
step "the confirmation mail to $email was delivered"

# --- sign out ---
token=$(token_of /profile)
[ -n "$token" ] || fail "no csrf_token on /profile"
to=$(location --data-urlencode "csrf_token=$token" "$base/logout")
[[ $to == "$base/" ]] || fail "sign-out did not redirect home (went to '$to')"
to=$(location "$base/profile")
[[ $to == "$base/login"* ]] || fail "/profile after sign-out did not redirect to /login (went to '$to')"
step "signed out; /profile now redirects to /login"

# --- wrong password, then sign in ---
token=$(token_of /login)
[ -n "$token" ] || fail "no csrf_token on /login"
wrong=$(c -o /dev/null -w '%{http_code}' --data-urlencode "csrf_token=$token" \
  --data-urlencode "email=$email" --data-urlencode "password=not the password" "$base/login")
[ "$wrong" = 401 ] || fail "sign-in with a wrong password answered $wrong, not 401"
to=$(location --data-urlencode "csrf_token=$token" --data-urlencode "email=$email" \
  --data-urlencode "password=$password" "$base/login")
[ -n "$to" ] || fail "sign-in did not redirect"
[ "$(code "$base/profile")" = 200 ] || fail "GET /profile after sign-in did not answer 200"
grep -q "$email" "$work/body" || fail "/profile does not show $email after sign-in"
grep -q "$user" "$work/body" || fail "/profile does not show $user after sign-in"
step "wrong password refused (401); signed in again; /profile shows $user"

# --- stop ---
kill "$server_pid"
for _ in $(seq 1 100); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
  fail "the server did not stop within 10 s of SIGTERM"
fi
wait "$server_pid" 2>/dev/null || true
server_pid=""
step "stopped"
echo "smoke: passed"
