#!/usr/bin/env bash
# The RealWorld (Conduit) API test suite against a built binary:
#   .ci/realworld.sh BINARY DATABASE_URL
# Starts BINARY on a fresh database (.ci/serve.sh) and runs the official
# Postman collection (tests/realworld/, run by newman from its npm
# packages) with no delay between requests (DELAY_REQUEST=0: newman's
# default, as it refuses an explicit --delay-request 0). The suite's default password,
# `password`, is on our common-password list, so a strong one is passed.
# Then fuzzes /api with schemathesis (below). Exits non-zero when any
# assertion fails or any request gets a 5xx.
set -euo pipefail

. "$(dirname "$0")/serve.sh" "$@"

suite="$ROOT/tests/realworld"
user="rw$(date +%s)$RANDOM"
"$suite/node_modules/.bin/newman" run "$suite/Conduit.postman_collection.json" \
  --global-var "APIURL=$base/api" \
  --global-var "USERNAME=$user" \
  --global-var "EMAIL=$user@example.org" \
  --global-var "PASSWORD=Realworld-$RANDOM-suite-passphrase" \
  --reporters cli --reporter-cli-no-console \
  --color off

# Then fuzz /api against the spec's own document (tests/realworld/openapi.yml)
# with schemathesis, signed in as a fresh member. The RealWorld document
# lists few of the statuses a real server gives (no 403 or 404, 401 without
# a body), so only server errors fail this part.
venv="${SCHEMATHESIS_VENV:-$HOME/.cache/groundwork-schemathesis}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis${SCHEMATHESIS_VERSION:->=4.0,<5}"
fi
fuzzer="fz$(date +%s)$RANDOM"
token=$(curl -fsS -H 'Content-Type: application/json' "$base/api/users" \
  -d "{\"user\":{\"username\":\"$fuzzer\",\"email\":\"$fuzzer@example.org\",\"password\":\"fuzzing the realworld api\"}}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])')
# Something to find: an article with a comment, by the fuzzing member.
curl -fsS -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Token $token" "$base/api/articles" \
  -d '{"article":{"title":"Fuzz target","description":"d","body":"b","tagList":["fuzz"]}}'
(cd "$work" && "$venv/bin/schemathesis" run "$suite/openapi.yml" \
  --url "$base/api" \
  --header "Authorization: Token $token" \
  --checks not_a_server_error \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  --generation-deterministic \
  --request-timeout 10 \
  --no-color)
