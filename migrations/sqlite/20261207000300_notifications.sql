-- One entry per thing a member is told about (docs/social.md). An entry is
-- written in the same transaction as what caused it. `group_key` makes the
-- entry unique per member: for favourites and follows it holds the day, so
-- that a day's favourites of one article are one entry ("Ada and 37 others
-- favourited ..."), counted in `actor_count`, the latest actors first in
-- `actor_ids` (comma-separated user ids); for the other kinds it names the
-- comment or article, so a mention notified once is never notified again.
-- A grouped entry that grows is written anew with a fresh id, so "newest
-- first" and the read marker (everything up to an id is read) both see it.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    group_key TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor_ids TEXT NOT NULL DEFAULT '',
    actor_count BIGINT NOT NULL DEFAULT 1,
    subject TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX notifications_group_key ON notifications (user_id, group_key);
-- The page (newest first, cursor on id) and the unread count walk this.
CREATE INDEX notifications_user_idx ON notifications (user_id, id);

-- The read marker: every notification of the member with an id up to
-- `last_read_id` is read, on every device.
CREATE TABLE notification_reads (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_read_id BIGINT NOT NULL
);

-- Kinds a member turned off (no row: on).
CREATE TABLE notification_prefs (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Replies: the comment answered (`parent_id`, shown as a link) and the
-- top-level comment of its thread (`thread_id`), under which every reply
-- is shown, however deep, so the page nests one level only.
ALTER TABLE comments ADD COLUMN parent_id BIGINT REFERENCES comments (id) ON DELETE SET NULL;
ALTER TABLE comments ADD COLUMN thread_id BIGINT REFERENCES comments (id) ON DELETE SET NULL;
