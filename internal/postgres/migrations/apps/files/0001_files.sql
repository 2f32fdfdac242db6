-- Files: metadata here, contents in the blob store under the tenant's
-- prefix. A file is attached to a project or to a task (of a project).

CREATE TABLE files (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    size         bigint NOT NULL CHECK (size >= 0),
    content_type text NOT NULL,
    sha256       text NOT NULL,
    storage_key  text NOT NULL UNIQUE,
    project_id   bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
    task_id      bigint REFERENCES tasks ON DELETE CASCADE,
    uploaded_by  bigint REFERENCES users ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_project_id_idx ON files (project_id);
CREATE INDEX files_task_id_idx ON files (task_id);

INSERT INTO permissions (codename, name) VALUES
    ('files.add_file', 'Can upload files'),
    ('files.delete_file', 'Can delete files');

CREATE TRIGGER files_history AFTER INSERT OR UPDATE OR DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION record_history('file');
