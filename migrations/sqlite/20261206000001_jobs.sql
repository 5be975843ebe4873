-- Durable background jobs (src/jobs/): each row is one piece of work of a
-- `kind`, with a JSON `payload`, due at `run_at` (unix seconds). A worker
-- claims a due row by writing its `lease_owner` and `lease_until`; once the
-- lease lapses another worker may take it over. Only finishing with the
-- lease in hand counts. States: queued, running, done, dead.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    unique_key TEXT,
    state TEXT NOT NULL DEFAULT 'queued',
    run_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due_idx ON jobs (state, run_at);
CREATE INDEX jobs_kind_idx ON jobs (kind, state);
-- A unique key holds among waiting and running jobs only, so a recurring
-- job can queue its next run while the finished one stays on record.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE state IN ('queued', 'running');

-- Mail delivery becomes a job of kind 'mail': the outbox keeps what was
-- submitted (and when it was sent); the job row keeps the attempts, the
-- next try, the last error and whether it was given up.
ALTER TABLE outbox ADD COLUMN job_id BIGINT;
INSERT INTO jobs (kind, payload, state, run_at, attempts, last_error, created_at, updated_at)
SELECT 'mail', '{"outbox_id":' || id || '}',
       CASE WHEN status = 'failed' THEN 'dead' ELSE 'queued' END,
       next_attempt_at,
       CASE WHEN status = 'sending' AND attempts > 0 THEN attempts - 1 ELSE attempts END,
       last_error, created_at, created_at
FROM outbox WHERE status <> 'sent' ORDER BY id;
UPDATE outbox SET job_id = (
    SELECT j.id FROM jobs j WHERE j.kind = 'mail' AND j.payload = '{"outbox_id":' || outbox.id || '}'
) WHERE status <> 'sent';
DROP INDEX outbox_due_idx;
ALTER TABLE outbox DROP COLUMN status;
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN next_attempt_at;
ALTER TABLE outbox DROP COLUMN locked_until;
ALTER TABLE outbox DROP COLUMN last_error;
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at);
