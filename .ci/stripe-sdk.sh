#!/usr/bin/env bash
# Cross-check of our webhook signatures against Stripe's official SDK
# (the `stripe` package for Node):
#
#   .ci/stripe-sdk.sh BINARY DATABASE_URL
#
# 1. The SDK's stripe.webhooks.generateTestHeaderString signs an event;
#    the site (BINARY, release profile, Stripe configured) must accept it
#    at POST /payments/stripe/webhook — and refuse the same event signed
#    with another secret, or signed too long ago.
# 2. `BINARY sign-webhook` (our signer) signs an event; the SDK's
#    stripe.webhooks.constructEvent must verify it, and must refuse it
#    with another secret.
# Exits non-zero on any failure.
set -euo pipefail

SECRET="whsec_ci_$(head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
. "$(dirname "$0")/serve.sh" "$@" \
  "ROCKET_PAYMENTS={stripe={secret_key=\"sk_test_ci_unused\",webhook_secret=\"$SECRET\",api_base=\"http://127.0.0.1:9\"}}"

fail() { echo "STRIPE SDK FAIL: $*" >&2; exit 1; }

sdk="$work/sdk"
mkdir -p "$sdk"
(cd "$sdk" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error stripe@17 >/dev/null) \
  || fail "cannot install the stripe package"
echo "  - stripe SDK $(node -p "require('$sdk/node_modules/stripe/package.json').version")"

payload='{"id":"evt_ci_sdk_1","object":"event","type":"customer.created","data":{"object":{"id":"cus_ci_1","object":"customer"}}}'
ours=$(printf '%s' "$payload" | GROUNDWORK_WEBHOOK_SECRET="$SECRET" "$BIN" sign-webhook) \
  || fail "sign-webhook failed"

BASE="$base" SECRET="$SECRET" PAYLOAD="$payload" OURS="$ours" SDK="$sdk" node --input-type=module <<'JS' || fail "see above"
import { createRequire } from 'node:module';
const require = createRequire(process.env.SDK + '/');
const Stripe = require('stripe');
const stripe = new Stripe('sk_test_unused');
const { BASE, SECRET, PAYLOAD, OURS } = process.env;

async function post(payload, header) {
  const res = await fetch(`${BASE}/payments/stripe/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Stripe-Signature': header },
    body: payload,
  });
  return [res.status, await res.text()];
}
function must(ok, what) {
  if (!ok) { console.error(`FAIL: ${what}`); process.exit(1); }
  console.log(`  - ${what}`);
}

// 1. The SDK signs; the site accepts.
const header = stripe.webhooks.generateTestHeaderString({ payload: PAYLOAD, secret: SECRET });
let [status, body] = await post(PAYLOAD, header);
must(status === 200 && body.includes('processed'), `the site accepts the SDK's signature (${status} ${body})`);
[status, body] = await post(PAYLOAD, header);
must(status === 200 && body.includes('duplicate'), `the same event again is a duplicate (${status} ${body})`);
const other = JSON.stringify({ ...JSON.parse(PAYLOAD), id: 'evt_ci_sdk_2' });
[status] = await post(other, stripe.webhooks.generateTestHeaderString({ payload: other, secret: 'whsec_not_ours' }));
must(status === 400, `the site refuses the SDK's signature with another secret (${status})`);
const stale = Math.floor(Date.now() / 1000) - 3600;
[status] = await post(other, stripe.webhooks.generateTestHeaderString({ payload: other, secret: SECRET, timestamp: stale }));
must(status === 400, `the site refuses a signature an hour old (${status})`);

// 2. We sign; the SDK verifies.
const event = stripe.webhooks.constructEvent(PAYLOAD, OURS, SECRET);
must(event.id === 'evt_ci_sdk_1', `the SDK's constructEvent verifies our signature (${OURS.slice(0, 14)}…)`);
let refused = false;
try { stripe.webhooks.constructEvent(PAYLOAD, OURS, 'whsec_not_ours'); } catch { refused = true; }
must(refused, 'the SDK refuses our signature under another secret');
JS
echo "stripe SDK cross-check: ok"
