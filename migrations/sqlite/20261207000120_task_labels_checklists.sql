-- Labels: per project, a name and a colour from a fixed palette (see
-- `tasks::labels::PALETTE`), attached to any number of tasks.
CREATE TABLE task_labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES task_projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    colour TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX task_labels_name_idx ON task_labels (project_id, name);

CREATE TABLE task_label_links (
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    label_id BIGINT NOT NULL REFERENCES task_labels (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, label_id)
);
CREATE INDEX task_label_links_label_idx ON task_label_links (label_id, task_id);

-- A task's checklist, in order by gapped `position`; `done` is 0/1.
CREATE TABLE task_checklist (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    text TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX task_checklist_task_idx ON task_checklist (task_id, position);

-- The list's sort orders and the board, each within one project.
CREATE INDEX tasks_project_column_idx ON tasks (project_id, column_id, position, id);
CREATE INDEX tasks_project_due_idx ON tasks (project_id, due_date, id);
CREATE INDEX tasks_project_created_idx ON tasks (project_id, created_at, id);
CREATE INDEX tasks_project_priority_idx ON tasks (project_id, priority, id);
CREATE INDEX tasks_project_assignee_idx ON tasks (project_id, assignee_id, id);
