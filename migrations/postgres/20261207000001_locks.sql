-- Named locks for write transactions that must not run beside another of
-- their kind: such a transaction first updates its row here, so a second
-- one waits until the first commits (on Postgres a row lock; on SQLite every
-- write transaction is already serialised by BEGIN IMMEDIATE). Portable
-- where SELECT ... FOR UPDATE and advisory locks are not.
CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    taken BIGINT NOT NULL DEFAULT 0
);

-- Taken by every change that can take an enabled admin away (accounts::admins).
INSERT INTO locks (name) VALUES ('admins');
