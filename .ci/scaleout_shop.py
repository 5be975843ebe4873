#!/usr/bin/env python3
"""The scale-out test's shop checks (issue 21, item 5), run by .ci/scaleout.py.

- Stock: an admin (made with `groundwork create-admin`, signed in through
  the JSON API) creates a product with stock 10; 50 members each put one
  in their cart and press "Place order" at the same moment, through nginx,
  so the checkouts spread over the instances (nginx's access log says
  which served each). Exactly 10 orders, the stock ends at 0, and the 40
  others get the checkout page's refusal (409, "not enough stock"), never
  a 5xx.
- Payment webhook: one of those orders is paid through the built-in test
  provider (which stands in for Stripe: the same Stripe-Signature and the
  same processing); the completed-payment event, signed here with the
  webhook secret the way Stripe signs, is delivered to every instance at
  the same moment. One delivery is processed and the others are answered
  "duplicate": one event row, the order paid once (one history entry), the
  attempt succeeded.
"""

import concurrent.futures as cf
import hashlib
import hmac
import http.client
import json
import re
import secrets
import subprocess
import threading
import time
from collections import Counter

from scaleout_site import PASSWORD, ROOT, WEBHOOK_SECRET, csrf_of, record, sign_up

STOCK = 10
BUYERS = 50
ADDRESS = {
    "address.name": "Ada Lovelace", "address.line1": "12 Analytical Street", "address.city": "London",
    "address.postcode": "N1 1AA", "address.country": "United Kingdom", "method": "standard",
}
STATE = {}  # what check_stock leaves for check_webhook: a placed order and its buyer


def api(site, method, path, body=None, token=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", site.nginx.port, timeout=15)
    h = {"Accept": "application/json", "Content-Type": "application/json", **(headers or {})}
    if token:
        h["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse()
    data = r.read().decode("utf-8", "replace")
    conn.close()
    return r.status, json.loads(data) if data.startswith(("{", "[")) else data


def make_product(site):
    """An admin through the CLI, then a product through the admin JSON API."""
    email = "shopadmin@example.org"
    cli = subprocess.run([site.instances[0].binary, "create-admin", email, "--password-stdin"],
                         input=PASSWORD + "\n", cwd=ROOT, env=site.instances[0].env,
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, f"create-admin: {cli.stdout} {cli.stderr}"
    status, body = api(site, "POST", "/login", {"email": email, "password": PASSWORD})
    assert status == 200 and "token" in body, f"admin sign-in: {status} {body}"
    slug = f"last-ones-{secrets.token_hex(3)}"
    status, body = api(site, "POST", "/shop/api/admin/products", {
        "title": "The last ones", "slug": slug, "sku": slug.upper(), "price": "12.50",
        "stock": STOCK, "active": True}, token=body["token"], headers={"Idempotency-Key": slug})
    assert status == 201, f"creating the product: {status} {body}"
    return slug, body["variants"][0]["id"]


def ready_buyer(site, n, slug, variant):
    """A member with one in the cart, on the checkout page: (browser, csrf, token)."""
    b = sign_up(site, f"buyer{n}x{secrets.token_hex(2)}")
    status, headers, body = b.form(f"/shop/p/{slug}", "/shop/cart/add", {"variant_id": variant, "quantity": 1})
    assert status == 303, f"adding to the cart: {status} {body[:300]}"
    status, _, page = b.get("/shop/checkout")
    m = re.search(r'name="token" value="([^"]+)"', page)
    assert status == 200 and m, f"the checkout page: {status} {page[:300]}"
    return b, csrf_of(page), m.group(1)


def check_stock(site):
    slug, variant = make_product(site)
    with cf.ThreadPoolExecutor(4) as ex:
        buyers = list(ex.map(lambda n: ready_buyer(site, n, slug, variant), range(BUYERS)))
    mark = site.nginx.log_size()
    go = threading.Barrier(BUYERS)

    def place(buyer):
        b, csrf, token = buyer
        go.wait()
        try:
            status, headers, body = b.post("/shop/checkout", {"csrf_token": csrf, "token": token, **ADDRESS})
        except OSError as e:
            return repr(e), "", ""
        return status, headers.get("Location", ""), body
    with cf.ThreadPoolExecutor(BUYERS) as ex:
        answers = list(ex.map(place, buyers))
    placed = [(a[1], b) for a, b in zip(answers, buyers) if a[0] == 303 and a[1].startswith("/shop/orders/")]
    refused = sum(a[0] == 409 and "not enough stock" in a[2] for a in answers)
    other = Counter(a[0] for a in answers if not (a[0] == 303 or (a[0] == 409 and "not enough stock" in a[2])))
    served = Counter(site.nginx.upstreams_for("/shop/checkout", mark, method="POST"))
    per_instance = [served.get(f"127.0.0.1:{i.port}", 0) for i in site.instances]
    orders = int(site.sql(f"SELECT COUNT(DISTINCT l.order_id) FROM shop_order_lines l WHERE l.variant_id = {variant}"))
    sold = int(site.sql(f"SELECT COALESCE(SUM(quantity), 0) FROM shop_order_lines WHERE variant_id = {variant}"))
    stock = int(site.sql(f"SELECT stock FROM shop_variants WHERE id = {variant}"))
    record(f"stock: {BUYERS} concurrent checkouts of a product with stock {STOCK} through nginx",
           len(placed) == STOCK and refused == BUYERS - STOCK and not other and orders == STOCK
           and sold == STOCK and stock == 0 and all(per_instance),
           f"{len(placed)} orders placed, {refused} refused with 409 \"not enough stock\", {sum(other.values())} "
           f"other answers {dict(other)}; stored: {orders} orders, {sold} sold, stock left {stock}; "
           f"checkouts served per instance {per_instance}")
    if placed:
        STATE["order"] = int(placed[0][0].rsplit("/", 1)[1])
        STATE["buyer"] = placed[0][1][0]


def signed(body):
    """The Stripe-Signature header Stripe would send for `body` now."""
    t = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def check_webhook(site):
    order, b = STATE["order"], STATE["buyer"]
    _, _, page = b.get(f"/shop/orders/{order}")
    status, headers, body = b.post(f"/shop/orders/{order}/pay", {"csrf_token": csrf_of(page)})
    assert status == 303 and "/payments/test/pay/" in headers.get("Location", ""), f"Pay: {status} {body[:300]}"
    row = site.sql(f"SELECT id, attempt_id, amount, currency FROM payment_test_sessions WHERE order_id = {order}")
    session, attempt, amount, currency = row.split("|")
    event_id = f"evt_scaleout_{secrets.token_hex(8)}"
    body = json.dumps({
        "id": event_id, "object": "event", "type": "checkout.session.completed",
        "created": int(time.time()), "livemode": False,
        "data": {"object": {
            "id": session, "object": "checkout.session", "amount_total": int(amount),
            "currency": currency.lower(), "client_reference_id": str(order),
            "metadata": {"order_id": str(order), "attempt_id": attempt},
            "payment_intent": f"pi_scaleout_{secrets.token_hex(8)}",
            "payment_status": "paid", "status": "complete"}},
    }).encode()
    header = signed(body)
    go = threading.Barrier(len(site.instances))

    def deliver(inst):
        conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=15)
        go.wait()
        conn.request("POST", "/payments/test/webhook", body=body,
                     headers={"Content-Type": "application/json", "Stripe-Signature": header})
        r = conn.getresponse()
        answer = r.read().decode("utf-8", "replace")
        conn.close()
        return r.status, (json.loads(answer).get("result") if answer.startswith("{") else answer[:100])
    with cf.ThreadPoolExecutor(len(site.instances)) as ex:
        answers = list(ex.map(deliver, site.instances))
    results = Counter(r for _, r in answers)
    events = int(site.sql(f"SELECT COUNT(*) FROM payment_events WHERE event_id = '{event_id}'"))
    state = site.sql(f"SELECT state FROM shop_orders WHERE id = {order}")
    paid = int(site.sql(f"SELECT COUNT(*) FROM shop_order_events WHERE order_id = {order} AND to_state = 'paid'"))
    attempt_state = site.sql(f"SELECT state FROM payment_attempts WHERE id = {attempt}")
    record(f"payments: one signed webhook delivered to all {len(site.instances)} instances at once",
           all(s == 200 for s, _ in answers) and results == Counter({"processed": 1, "duplicate": len(site.instances) - 1})
           and events == 1 and state == "paid" and paid == 1 and attempt_state == "succeeded",
           f"answers {sorted(s for s, _ in answers)}, results {dict(results)}; {events} event row, "
           f"order {state} with {paid} 'paid' history entry, attempt {attempt_state}")
