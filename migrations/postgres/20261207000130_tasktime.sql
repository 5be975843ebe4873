-- A member's time zone (an IANA name such as Europe/Berlin); dates and
-- times they type or see are in it.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

-- A task due at a time is stored as that instant: `due_at` in unix seconds
-- (and `due_date`/`due_time` as its UTC date and HH:MM, for ordering). An
-- all-day task has `due_date` alone and no `due_at`. Times typed before
-- members had time zones were UTC.
ALTER TABLE tasks ADD COLUMN due_at BIGINT;
UPDATE tasks SET due_at = CAST(EXTRACT(EPOCH FROM CAST(due_date || ' ' || due_time AS TIMESTAMP)) AS BIGINT)
    WHERE due_date IS NOT NULL AND due_time IS NOT NULL;
-- The order a Todo-Backend client gave a todo (none for other tasks).
ALTER TABLE tasks ADD COLUMN todo_order BIGINT;

-- Per member: which reminders they want, the SHA-256 (hex) of their
-- calendar feed's and Todo-Backend list's secrets, and their Inbox project.
CREATE TABLE task_user_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    remind_due INTEGER NOT NULL DEFAULT 0,
    remind_assigned INTEGER NOT NULL DEFAULT 0,
    calendar_hash TEXT,
    todo_hash TEXT,
    inbox_project_id BIGINT REFERENCES task_projects (id) ON DELETE SET NULL
);

-- Reminders already mailed, so that each is sent once however many
-- workers run: `kind` is due or assigned, `occasion` what it was for (the
-- due day, or the assignment's activity id).
CREATE TABLE task_reminders_sent (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    occasion TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);

-- Named unique indexes rather than inline UNIQUE, the same on both
-- databases (tests/database.rs compares the schemas).
CREATE UNIQUE INDEX task_user_settings_calendar_hash_key ON task_user_settings (calendar_hash);
CREATE UNIQUE INDEX task_user_settings_todo_hash_key ON task_user_settings (todo_hash);
CREATE UNIQUE INDEX task_reminders_sent_task_id_user_id_kind_occasion_key
    ON task_reminders_sent (task_id, user_id, kind, occasion);
