-- Chat: rooms, their members (with each member's read position), messages,
-- who each message mentions, and the event log the live streams replay.
-- Flags are 0/1 integers, times unix seconds (0 = never).
CREATE TABLE chat_rooms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    topic TEXT NOT NULL DEFAULT '',
    private INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX chat_rooms_name_key ON chat_rooms (lower(name));

-- `last_read_id` is the newest message id the member has seen.
CREATE TABLE chat_members (
    room_id BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_admin INTEGER NOT NULL DEFAULT 0,
    last_read_id BIGINT NOT NULL DEFAULT 0,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX chat_members_user_idx ON chat_members (user_id);

-- A deleted message keeps its row (shown as "deleted") with an empty body.
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    edited_at BIGINT NOT NULL DEFAULT 0,
    deleted_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX chat_messages_room_idx ON chat_messages (room_id, id);

-- Room members a message mentions (`@username`), for unread mention marks.
CREATE TABLE chat_mentions (
    message_id BIGINT NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX chat_mentions_user_idx ON chat_mentions (user_id, room_id, message_id);

-- Every change a live stream carries, in commit order (writers take the
-- 'chat_events' lock first, so ids commit in increasing order). `kind` is
-- message, edit, delete, room, join or leave; `user_id` is the member a join or
-- leave is about (0 otherwise).
CREATE TABLE chat_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    message_id BIGINT NOT NULL DEFAULT 0,
    user_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX chat_events_room_idx ON chat_events (room_id, id);
CREATE INDEX chat_events_user_idx ON chat_events (user_id, id);

INSERT INTO locks (name) VALUES ('chat_events');
