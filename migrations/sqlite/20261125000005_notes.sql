-- Members' private notes. Flags are 0/1 integers, times unix seconds;
-- `version` grows by one on every save, so a stale edit is detected.
CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    pinned INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notes_user_updated_idx ON notes (user_id, updated_at);

-- One row per tag of a note; `user_id` is copied so a tag filter is one
-- index lookup.
CREATE TABLE note_tags (
    note_id BIGINT NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (note_id, tag)
);
CREATE INDEX note_tags_user_tag_idx ON note_tags (user_id, tag);

-- Full-text index over title and body. Contentless (the text stays in
-- `notes`; these triggers keep the index in step). `owner` holds one
-- token per note, 'u<user_id>', so a search is scoped to the member inside
-- FTS5 itself: a common word then costs one member's notes, not everyone's.
CREATE VIRTUAL TABLE notes_fts USING fts5 (owner, title, body, content = '');
CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes BEGIN
    INSERT INTO notes_fts (rowid, owner, title, body)
    VALUES (new.id, 'u' || new.user_id, new.title, new.body);
END;
CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes BEGIN
    INSERT INTO notes_fts (notes_fts, rowid, owner, title, body)
    VALUES ('delete', old.id, 'u' || old.user_id, old.title, old.body);
END;
CREATE TRIGGER notes_fts_update AFTER UPDATE OF title, body ON notes BEGIN
    INSERT INTO notes_fts (notes_fts, rowid, owner, title, body)
    VALUES ('delete', old.id, 'u' || old.user_id, old.title, old.body);
    INSERT INTO notes_fts (rowid, owner, title, body)
    VALUES (new.id, 'u' || new.user_id, new.title, new.body);
END;
