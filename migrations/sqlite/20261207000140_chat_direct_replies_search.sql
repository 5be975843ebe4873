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

-- Full-text index over message bodies. Contentless (the text stays in
-- chat_messages; the triggers keep it in step). `room` holds one token per
-- message, 'r<room_id>', so a search within a room is scoped inside FTS5.
CREATE VIRTUAL TABLE chat_messages_fts USING fts5 (room, body, content = '');
INSERT INTO chat_messages_fts (rowid, room, body)
    SELECT id, 'r' || room_id, body FROM chat_messages;
CREATE TRIGGER chat_messages_fts_insert AFTER INSERT ON chat_messages BEGIN
    INSERT INTO chat_messages_fts (rowid, room, body) VALUES (new.id, 'r' || new.room_id, new.body);
END;
CREATE TRIGGER chat_messages_fts_delete AFTER DELETE ON chat_messages BEGIN
    INSERT INTO chat_messages_fts (chat_messages_fts, rowid, room, body)
    VALUES ('delete', old.id, 'r' || old.room_id, old.body);
END;
CREATE TRIGGER chat_messages_fts_update AFTER UPDATE OF body ON chat_messages BEGIN
    INSERT INTO chat_messages_fts (chat_messages_fts, rowid, room, body)
    VALUES ('delete', old.id, 'r' || old.room_id, old.body);
    INSERT INTO chat_messages_fts (rowid, room, body) VALUES (new.id, 'r' || new.room_id, new.body);
END;
