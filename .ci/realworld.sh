#!/usr/bin/env bash
# The RealWorld (Conduit) API test suite against a built binary:
#   .ci/realworld.sh BINARY DATABASE_URL
# Starts BINARY on a fresh database (.ci/serve.sh) and runs the official
# Postman collection (tests/realworld/, run by newman from its npm
# packages) with no delay between requests (DELAY_REQUEST=0: newman's
# default, as it refuses an explicit --delay-request 0). The suite's default password,
# `password`, is on our common-password list, so a strong one is passed.
# Exits non-zero when any assertion fails.
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
