-- Tasks: projects shared by their members, ordered columns, tasks and an
-- activity line per change. Flags are 0/1 integers, times unix seconds.
CREATE TABLE task_projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- `role` is owner, editor or viewer. A project always keeps an owner.
CREATE TABLE task_members (
    project_id BIGINT NOT NULL REFERENCES task_projects (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX task_members_user_idx ON task_members (user_id);

-- A project's statuses, left to right by `position`. Moving a task into a
-- column with `done` = 1 completes it.
CREATE TABLE task_columns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES task_projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX task_columns_project_idx ON task_columns (project_id, position);

-- `position` orders a column's tasks with gaps between them, so a move
-- writes the one task moved. `due_date` is YYYY-MM-DD and `due_time`
-- HH:MM, as the member typed them; `priority` 0 (none) to 4 (urgent).
-- `version` grows by one on every edit, so a stale edit is detected.
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES task_projects (id) ON DELETE CASCADE,
    column_id BIGINT NOT NULL REFERENCES task_columns (id),
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    assignee_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    due_date TEXT,
    due_time TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    completed_at BIGINT,
    completed_by BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX tasks_column_position_idx ON tasks (column_id, position);
CREATE INDEX tasks_project_idx ON tasks (project_id, updated_at);
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id, due_date);

-- Who changed what on a task, newest last.
CREATE TABLE task_activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX task_activity_task_idx ON task_activity (task_id, id);
