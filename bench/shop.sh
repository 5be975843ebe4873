#!/usr/bin/env bash
# Shop latency at 5,000 products (issue 17: the catalogue page, a product
# page and the cart page p99 < 20 ms with one connection) and checkout
# throughput with 8 connections, over real HTTP against the release binary,
# on SQLite and on Postgres.
#
#   bench/shop.sh                        build the release binary, run both
#   GROUNDWORK_BIN=path bench/shop.sh    use an existing binary
#   BENCH_BACKENDS=sqlite BENCH_SECONDS=3 bench/shop.sh
#
# For each backend: start the binary on a fresh database (.ci/serve.sh),
# sign up a buyer through the API (for a token), fill 5,000 products with
# two variants each in SQL, put two items in a visitor's cart, then time the
# pages with wrk (one connection: p50/p99), and checkout with 8 connections:
# a wrk Lua script POSTs /shop/api/orders with a fresh Idempotency-Key per
# request for one item of a variant with plenty of stock.
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

read -r -d '' FILL <<'SQL' || true
INSERT INTO shop_categories (slug, name) VALUES ('c0', 'Category 0'), ('c1', 'Category 1'), ('c2', 'Category 2');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO shop_products (slug, title, description, compare_at, active, category_id, created_at, updated_at)
SELECT 'product-' || i, 'Product number ' || i, 'Some *Markdown* about product ' || i || '.',
       NULL, 1, 1 + i % 3, 0, 0 FROM n;
INSERT INTO shop_variants (product_id, sku, name, price, stock, position)
SELECT id, 'SKU-' || id || '-S', 'Small', 1000 + id, 1000000, 0 FROM shop_products;
INSERT INTO shop_variants (product_id, sku, name, price, stock, position)
SELECT id, 'SKU-' || id || '-L', 'Large', 1500 + id, 1000000, 1 FROM shop_products;
SQL

bench_backend() {
  local backend=$1 url dir="" db=""
  if [ "$backend" = sqlite ]; then
    dir=$(mktemp -d)
    url="sqlite://$dir/shop.db?mode=rwc"
  else
    db="bench_shop_$$"
    psql "$PG_URL" -qAtc "CREATE DATABASE $db"
    url="${PG_URL%/*}/$db"
  fi
  (
    . "$ROOT/.ci/serve.sh" "$GROUNDWORK_BIN" "$url"
    curl -fsS -H 'Content-Type: application/json' "$base/signup" \
      -d '{"username":"buyer","email":"buyer@example.org","password":"bench buyer passphrase"}' >/dev/null
    token=$(curl -fsS -H 'Content-Type: application/json' "$base/login" \
      -d '{"email":"buyer@example.org","password":"bench buyer passphrase"}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    if [ "$backend" = sqlite ]; then
      python3 - "$dir/shop.db" "$FILL" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript(sys.argv[2])
c.execute("ANALYZE")
c.commit()
PY
    else
      psql "$url" -qAt -v ON_ERROR_STOP=1 -c "$FILL" -c "ANALYZE"
    fi
    # A visitor's cart: the cookie jar of a page GET, then two adds.
    jar=$(mktemp)
    page=$(curl -fsS -c "$jar" -b "$jar" "$base/shop/p/product-42")
    csrf=$(echo "$page" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
    variant=$(echo "$page" | sed -n 's/.*<option value="\([0-9]*\)".*/\1/p' | head -1)
    for v in "$variant" $((variant + 1)); do
      curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$csrf" \
        -d "variant_id=$v" -d quantity=1 "$base/shop/cart/add"
    done
    cookie=$(awk '!/^#/ && NF >= 7 {printf "%s=%s; ", $6, $7}' "$jar")
    printf '\n| %-36s | %9s | %9s |\n' "$backend: page (1 connection)" "p50" "p99"
    printf '|%s|%s|%s|\n' "--------------------------------------" "-----------" "-----------"
    pct() { awk -v p="$1" '$1 == p {print $2}'; }
    measure() {
      local out
      out=$(wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency ${2:+-H "Cookie: $2"} "$base$1")
      printf '| %-36s | %9s | %9s |\n' "GET $1" "$(echo "$out" | pct 50%)" "$(echo "$out" | pct 99%)"
      echo "$out" | grep -E 'Non-2xx|Socket errors' | sed "s|^|  !! $1: |" || true
    }
    measure "/shop"
    measure "/shop?after=4900"
    measure "/shop?q=number%204242"
    measure "/shop/p/product-2500"
    measure "/shop/cart" "$cookie"
    lua=$(mktemp --suffix=.lua)
    cat > "$lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  local body = '{"items":[{"variant_id":$variant,"quantity":1}],"address":{"name":"B","line1":"1 Road","city":"T","postcode":"1","country":"BE"},"shipping_method":"standard"}'
  return wrk.format("POST", "/shop/api/orders", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token", ["Idempotency-Key"] = "k-" .. math.random(1, 1e9) .. "-" .. counter}, body)
end
LUA
    out=$(wrk -t2 -c8 -d"${SECONDS_PER_RUN}s" --latency -s "$lua" "$base")
    printf '| %-36s | %9s | %9s | %s req/s\n' "POST /shop/api/orders (8 conns)" \
      "$(echo "$out" | pct 50%)" "$(echo "$out" | pct 99%)" "$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')"
    echo "$out" | grep -E 'Non-2xx|Socket errors' | sed 's|^|  !! checkout: |' || true
    rm -f "$lua" "$jar"
  )
  if [ -n "$db" ]; then psql "$PG_URL" -qAtc "DROP DATABASE $db WITH (FORCE)"; fi
  if [ -n "$dir" ]; then rm -rf "$dir"; fi
}

echo "# Shop at 5,000 products ($(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), wrk on the same host, ${SECONDS_PER_RUN}s per run)"
for b in $BACKENDS; do
  echo
  bench_backend "$b"
done
