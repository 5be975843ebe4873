-- Members' private notes. Flags are 0/1 integers, times unix seconds;
-- `version` grows by one on every save, so a stale edit is detected.
-- `search` is the full-text vector of title and body ('simple': no
-- stemming, so words match as typed) plus one 'owner<user_id>' lexeme, so
-- a search ANDs the owner into the GIN lookup and a common word costs one
-- member's notes, not everyone's. Never SELECT * here: sqlx's Any driver
-- cannot decode tsvector.
CREATE TABLE notes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    pinned INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    search TSVECTOR GENERATED ALWAYS AS (
        to_tsvector('simple', title || ' ' || body) || to_tsvector('simple', 'owner' || user_id)
    ) STORED
);
CREATE INDEX notes_user_updated_idx ON notes (user_id, updated_at);
CREATE INDEX notes_search_idx ON notes USING GIN (search);

-- One row per tag of a note; `user_id` is copied so a tag filter is one
-- index lookup.
CREATE TABLE note_tags (
    note_id BIGINT NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (note_id, tag)
);
CREATE INDEX note_tags_user_tag_idx ON note_tags (user_id, tag);
