-- A refund of particular order lines: how many of each were refunded (and,
-- with the refund's `restock`, put back in stock). A refund by amount has
-- no lines.
CREATE TABLE payment_refund_lines (
    refund_id BIGINT NOT NULL REFERENCES payment_refunds (id) ON DELETE CASCADE,
    line_id BIGINT NOT NULL REFERENCES shop_order_lines (id) ON DELETE CASCADE,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (refund_id, line_id)
);
CREATE INDEX payment_refund_lines_line_idx ON payment_refund_lines (line_id);
