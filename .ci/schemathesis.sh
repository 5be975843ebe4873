#!/usr/bin/env bash
# Fuzz the running JSON API against its own OpenAPI document with
# schemathesis (PyPI), and fail on any 5xx or any response that breaks the
# document (status, content type or schema).
#
#   .ci/schemathesis.sh BASE_URL TOKEN
#
# BASE_URL is the running app (e.g. http://127.0.0.1:8000), TOKEN a bearer
# token of an admin (POST /login with JSON). The token must stay valid for
# the run: POST /logout would end it, so it is fuzzed last, on its own.
# Every request says `Accept: application/json`, as API clients must: the
# same paths serve HTML to requests that neither send nor ask for JSON nor
# carry a token (schemathesis also tries requests without the token).
# Environment: SCHEMATHESIS_MAX_EXAMPLES (default 25) per operation,
# SCHEMATHESIS_VENV (default ~/.cache/groundwork-schemathesis),
# SCHEMATHESIS_VERSION (default: a 4.x release; the CLI changed in 4.0).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BASE_URL TOKEN" >&2
    exit 2
fi
base="${1%/}"
token="$2"
venv="${SCHEMATHESIS_VENV:-$HOME/.cache/groundwork-schemathesis}"
version="${SCHEMATHESIS_VERSION:->=4.0,<5}"
examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"

if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis$version"
fi

# A run with a dead token would pass while testing nothing but 401s.
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Accept: application/json' "$base/me")
if [ "$status" != 200 ]; then
    echo "the token does not work (GET /me answered $status)" >&2
    exit 2
fi

# schemathesis keeps caches in the working directory: not in the repo.
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
cd "$workdir"

checks="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
run() {
    "$venv/bin/schemathesis" run "$base/openapi.json" \
        --url "$base" \
        --header "Authorization: Bearer $token" \
        --header "Accept: application/json" \
        --checks "$checks" \
        --max-examples "$examples" \
        --generation-deterministic \
        --request-timeout 10 \
        --no-color \
        "$@"
}

# /chat/events is a stream that never ends: tests/chat_stream.rs reads it.
run --exclude-path /logout --exclude-path /chat/events
run --include-path /logout --max-examples 3
