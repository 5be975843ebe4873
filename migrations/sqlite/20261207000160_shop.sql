-- The shop (issue 17). Amounts are integers in the minor unit of the
-- site's one currency (shop.currency); times are unix seconds; flags 0/1.
CREATE TABLE shop_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE UNIQUE INDEX shop_categories_slug_key ON shop_categories (slug);

CREATE TABLE shop_products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    compare_at BIGINT,
    active INTEGER NOT NULL DEFAULT 0,
    category_id BIGINT REFERENCES shop_categories (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX shop_products_slug_key ON shop_products (slug);
CREATE INDEX shop_products_active_idx ON shop_products (active, id);

-- Every product has at least one variant: what is priced, stocked and sold.
CREATE TABLE shop_variants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id BIGINT NOT NULL REFERENCES shop_products (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    price BIGINT NOT NULL,
    stock BIGINT NOT NULL DEFAULT 0,
    position BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX shop_variants_sku_key ON shop_variants (sku);
CREATE INDEX shop_variants_product_idx ON shop_variants (product_id);

CREATE TABLE shop_images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id BIGINT NOT NULL REFERENCES shop_products (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    etag TEXT NOT NULL,
    bytes BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX shop_images_product_idx ON shop_images (product_id);

-- A visitor's cart is found by the hash of its cookie token; a member's by user.
CREATE TABLE shop_carts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX shop_carts_token_hash_key ON shop_carts (token_hash);
CREATE UNIQUE INDEX shop_carts_user_id_key ON shop_carts (user_id);

CREATE TABLE shop_cart_items (
    cart_id BIGINT NOT NULL REFERENCES shop_carts (id) ON DELETE CASCADE,
    variant_id BIGINT NOT NULL REFERENCES shop_variants (id) ON DELETE CASCADE,
    quantity BIGINT NOT NULL,
    price_seen BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (cart_id, variant_id)
);

CREATE TABLE shop_addresses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    line1 TEXT NOT NULL,
    line2 TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL,
    postcode TEXT NOT NULL,
    country TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX shop_addresses_user_idx ON shop_addresses (user_id);

-- `checkout_token` makes placing an order idempotent: one order per token.
CREATE TABLE shop_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    currency TEXT NOT NULL,
    subtotal BIGINT NOT NULL,
    shipping BIGINT NOT NULL,
    total BIGINT NOT NULL,
    shipping_method TEXT NOT NULL,
    ship_name TEXT NOT NULL,
    ship_line1 TEXT NOT NULL,
    ship_line2 TEXT NOT NULL DEFAULT '',
    ship_city TEXT NOT NULL,
    ship_postcode TEXT NOT NULL,
    ship_country TEXT NOT NULL,
    tracking TEXT NOT NULL DEFAULT '',
    checkout_token TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX shop_orders_token_idx ON shop_orders (user_id, checkout_token);
CREATE INDEX shop_orders_state_idx ON shop_orders (state, created_at);
CREATE INDEX shop_orders_user_idx ON shop_orders (user_id, id);

-- Prices copied when the order was placed: later changes never alter it.
CREATE TABLE shop_order_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id BIGINT NOT NULL REFERENCES shop_orders (id) ON DELETE CASCADE,
    variant_id BIGINT,
    title TEXT NOT NULL,
    sku TEXT NOT NULL,
    unit_price BIGINT NOT NULL,
    quantity BIGINT NOT NULL
);
CREATE INDEX shop_order_lines_order_idx ON shop_order_lines (order_id);

CREATE TABLE shop_order_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id BIGINT NOT NULL REFERENCES shop_orders (id) ON DELETE CASCADE,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX shop_order_events_order_idx ON shop_order_events (order_id);

-- `Idempotency-Key` on the API's creating POSTs: the first answer is kept.
CREATE TABLE shop_idempotency (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
