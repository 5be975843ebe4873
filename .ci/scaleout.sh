#!/usr/bin/env bash
# The scale-out test (issue 21, .ci/scaleout.py): three processes of the
# release binary on one Postgres database behind nginx (the distribution's
# package, run unprivileged with -p and -c, using the shipped
# deploy/nginx/groundwork-proxy.conf), checked through real clients:
# sessions and CSRF across processes, the sign-in limit, mail exactly once
# (with a SIGKILL), chat fan-out over SSE with the stream's process killed
# (.ci/scaleout_chat.py), 50 checkouts of stock 10 and one payment webhook
# delivered to every process at once (.ci/scaleout_shop.py), a rolling
# restart and a database outage under load. Prints a table with the counts
# (docs/deployment.md says what each check proves); exits 1 on a failure.
#
#   .ci/scaleout.sh BINARY [--keep]
#
# Installs nginx when it is missing and aiosmtpd (the SMTP sink) in a
# throwaway virtualenv.
set -euo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nginx
fi
nginx -v

venv=${SCALEOUT_VENV:-/tmp/groundwork-scaleout-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'aiosmtpd>=1.4,<2'
fi

exec "$venv/bin/python" .ci/scaleout.py "$BIN" "${@:2}"
