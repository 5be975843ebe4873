-- Reports of content and members, and what moderators decided
-- (docs/social.md). `status`: open, dismissed, hidden, suspended.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reporter_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    reported_user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT ''
);
-- The queue: open reports, oldest first.
CREATE INDEX reports_status_idx ON reports (status, id);

-- Content a moderator hid, and why (shown to its author only).
ALTER TABLE articles ADD COLUMN hidden_reason TEXT;
ALTER TABLE comments ADD COLUMN hidden_reason TEXT;

-- A suspension: sign-in is refused until `suspended_until` (unix seconds).
ALTER TABLE users ADD COLUMN suspended_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN suspension_reason TEXT NOT NULL DEFAULT '';
