-- Chat, part 2 of issue 16: direct messages, replies, search, the
-- per-room notification choice and the mention digest.

-- A room's kind: 'room' (open or private, with admins) or 'direct' (a
-- private conversation of 2 to 8 members, fixed at creation, no admins).
-- `dm_key` is the sorted member ids of a direct room ('3,7,12'), NULL for
-- rooms: opening the same conversation again finds it through this key.
ALTER TABLE chat_rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'room';
ALTER TABLE chat_rooms ADD COLUMN dm_key TEXT;
CREATE UNIQUE INDEX chat_rooms_dm_key ON chat_rooms (dm_key);
-- Room names stay unique among rooms; a direct room's name (its members'
-- names) need not be.
DROP INDEX chat_rooms_name_key;
CREATE UNIQUE INDEX chat_rooms_name_key ON chat_rooms (lower(name), COALESCE(dm_key, ''));

-- The message this one replies to (same room), 0 for none.
ALTER TABLE chat_messages ADD COLUMN reply_to BIGINT NOT NULL DEFAULT 0;

-- What a member hears of a room: 'all', 'mentions' or 'none'.
ALTER TABLE chat_members ADD COLUMN notify TEXT NOT NULL DEFAULT 'all';

-- The mention digest, per member: when the last one was sent, and the
-- newest mention it covered (a mention is mailed at most once).
CREATE TABLE chat_digests (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sent_at BIGINT NOT NULL DEFAULT 0,
    last_mention_id BIGINT NOT NULL DEFAULT 0
);

-- Full-text index over message bodies: an expression index (no tsvector
-- column, which the Any driver could not decode); the search uses the same
-- expression, `to_tsvector('simple', body)`.
CREATE INDEX chat_messages_search ON chat_messages USING gin (to_tsvector('simple', body));
