-- Projects: the unit of work and of visibility. Members of a project see it,
-- its tasks and its files; owners of the tenant see everything.

CREATE TABLE projects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    owner_id    bigint REFERENCES users ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_owner_id_idx ON projects (owner_id);
CREATE INDEX projects_created_at_idx ON projects (created_at);

CREATE TABLE project_members (
    project_id bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'manager')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_id_idx ON project_members (user_id);

INSERT INTO permissions (codename, name) VALUES
    ('projects.view_project', 'Can view all projects'),
    ('projects.add_project', 'Can add projects'),
    ('projects.change_project', 'Can change projects and their members'),
    ('projects.delete_project', 'Can delete projects');

CREATE TRIGGER projects_history AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION record_history('project');
