-- Payments (issue 18). Amounts in minor units; times unix seconds.
-- One row per try at paying an order: its provider's reference (a
-- Checkout Session id), the hosted page's URL, and its state
-- (created → pending → succeeded | failed | expired, then
-- partially_refunded / refunded). `open_for` holds the order id while the
-- attempt can still be paid and NULL after: its unique index lets an
-- order have one open attempt, however many clicks arrive at once.
CREATE TABLE payment_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id BIGINT NOT NULL REFERENCES shop_orders (id) ON DELETE CASCADE,
    open_for BIGINT,
    provider TEXT NOT NULL,
    state TEXT NOT NULL,
    provider_ref TEXT NOT NULL DEFAULT '',
    payment_ref TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    refunded BIGINT NOT NULL DEFAULT 0,
    flag TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    checks BIGINT NOT NULL DEFAULT 0,
    next_check_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payment_attempts_open_for_key ON payment_attempts (open_for);
CREATE INDEX payment_attempts_order_idx ON payment_attempts (order_id, id);
CREATE INDEX payment_attempts_ref_idx ON payment_attempts (provider, provider_ref);
CREATE INDEX payment_attempts_state_idx ON payment_attempts (state, updated_at);

-- Every webhook event whose signature verified (a bad signature stores
-- nothing), and every state read back by reconciliation. The unique
-- (provider, event_id) is what makes processing happen once.
CREATE TABLE payment_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    source TEXT NOT NULL,
    attempt_id BIGINT,
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX payment_events_event_key ON payment_events (provider, event_id);
CREATE INDEX payment_events_state_idx ON payment_events (state, id);

-- Refunds an admin asked for; `idem_key` (from the refund form) makes a
-- double submit one refund.
CREATE TABLE payment_refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    attempt_id BIGINT NOT NULL REFERENCES payment_attempts (id) ON DELETE CASCADE,
    idem_key TEXT NOT NULL,
    amount BIGINT NOT NULL,
    restock INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    provider_ref TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payment_refunds_idem_key ON payment_refunds (idem_key);
CREATE INDEX payment_refunds_attempt_idx ON payment_refunds (attempt_id);

-- The built-in test provider's hosted "sessions" (development only).
CREATE TABLE payment_test_sessions (
    id TEXT NOT NULL PRIMARY KEY,
    idem_key TEXT NOT NULL,
    attempt_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_status TEXT NOT NULL,
    payment_ref TEXT NOT NULL DEFAULT '',
    refunded BIGINT NOT NULL DEFAULT 0,
    success_url TEXT NOT NULL,
    cancel_url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payment_test_sessions_idem_key ON payment_test_sessions (idem_key);
