#!/usr/bin/env bash
# Fuzz the JSON API of a built binary with schemathesis:
#   .ci/api-fuzz.sh BINARY DATABASE_URL
# Starts BINARY (release profile) on a free loopback port with the given
# database, creates an admin with `groundwork create-admin`, signs in through
# `POST /login` (JSON) for a bearer token, and runs .ci/schemathesis.sh, which
# fails on any 5xx or any answer that breaks /openapi.json.
set -euo pipefail

. "$(dirname "$0")/serve.sh" "$@" ROCKET_API_TOKEN_LIFETIME=3600

email="fuzz-admin@example.org"
password="fuzzing the api $(head -c6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# The same database and settings as the running server.
(cd "$work" && printf '%s\n' "$password" | env "${serve_env[@]}" "$BIN" create-admin "$email" --password-stdin)

body=$(python3 -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$email" "$password")
token=$(curl -fsS -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' \
  -d "$body" "$base/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
[ -n "$token" ] || { echo "no token from POST /login" >&2; exit 1; }

"$ROOT/.ci/schemathesis.sh" "$base" "$token"
