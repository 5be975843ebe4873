-- What every admin action did, to whom, by whom, when and from where.
-- Names are copied so entries stay readable after a user is deleted.
CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target_id BIGINT,
    target_name TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, created_at);
CREATE INDEX audit_log_target_idx ON audit_log (target_id, created_at);
CREATE INDEX audit_log_action_idx ON audit_log (action, created_at);

-- Sessions behind browser cookies ('web') and behind API tokens ('api').
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'web';
