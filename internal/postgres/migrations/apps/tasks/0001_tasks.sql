-- Tasks belong to a project; whoever sees the project sees its tasks.

CREATE TABLE tasks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    status      text NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'in_progress', 'done')),
    priority    integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 4),
    assignee_id bigint REFERENCES users ON DELETE SET NULL,
    due_date    date,
    position    integer NOT NULL DEFAULT 0,
    created_by  bigint REFERENCES users ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_project_id_idx ON tasks (project_id, status, position);
CREATE INDEX tasks_assignee_id_idx ON tasks (assignee_id);
CREATE INDEX tasks_due_date_idx ON tasks (due_date);

INSERT INTO permissions (codename, name) VALUES
    ('tasks.add_task', 'Can add tasks'),
    ('tasks.change_task', 'Can change tasks'),
    ('tasks.delete_task', 'Can delete tasks');

CREATE TRIGGER tasks_history AFTER INSERT OR UPDATE OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION record_history('task');
