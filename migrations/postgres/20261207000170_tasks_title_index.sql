-- The task list sorted by title reads this index in order and stops at the
-- page's end instead of sorting every task of the project (bench/tasks-pages.sh).
CREATE INDEX tasks_project_title_idx ON tasks (project_id, (LOWER(title)), id);
