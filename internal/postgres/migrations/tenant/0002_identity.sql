-- Identity: the tenant's users, their sessions and refresh tokens, API keys,
-- groups, permissions and object-level grants.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    username      text NOT NULL CHECK (length(username) BETWEEN 1 AND 150),
    password_hash text NOT NULL DEFAULT '',
    first_name    text NOT NULL DEFAULT '' CHECK (length(first_name) <= 150),
    last_name     text NOT NULL DEFAULT '' CHECK (length(last_name) <= 150),
    is_active     boolean NOT NULL DEFAULT true,
    is_owner      boolean NOT NULL DEFAULT false,
    attributes    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- A session is one sign-in: a family of refresh tokens, each used once.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Set when the token is exchanged: the successor's access token claims,
    -- so a retry inside the grace window gets the very same pair back.
    used_at    timestamptz,
    next_jti   uuid,
    next_iat   timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL UNIQUE,
    key_hash     bytea NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);

CREATE TABLE groups (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 150),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_name_key ON groups (lower(name));

-- Apps register their permissions in their own migrations.
CREATE TABLE permissions (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    codename text NOT NULL UNIQUE CHECK (codename ~ '^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$'),
    name     text NOT NULL
);

INSERT INTO permissions (codename, name) VALUES
    ('users.view_user', 'Can view users'),
    ('users.add_user', 'Can add users'),
    ('users.change_user', 'Can change users'),
    ('users.delete_user', 'Can delete users'),
    ('users.view_group', 'Can view groups'),
    ('users.manage_group', 'Can add, change and delete groups and their members'),
    ('users.grant_permission', 'Can grant and revoke permissions');

CREATE TABLE user_groups (
    user_id  bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    group_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group_id_idx ON user_groups (group_id);

CREATE TABLE group_permissions (
    group_id      bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
    permission_id bigint NOT NULL REFERENCES permissions ON DELETE CASCADE,
    PRIMARY KEY (group_id, permission_id)
);

CREATE TABLE user_permissions (
    user_id       bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    permission_id bigint NOT NULL REFERENCES permissions ON DELETE CASCADE,
    PRIMARY KEY (user_id, permission_id)
);

-- A permission on one object, for one user or one group.
CREATE TABLE object_grants (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint REFERENCES users ON DELETE CASCADE,
    group_id      bigint REFERENCES groups ON DELETE CASCADE,
    permission_id bigint NOT NULL REFERENCES permissions ON DELETE CASCADE,
    object_type   text NOT NULL CHECK (length(object_type) BETWEEN 1 AND 100),
    object_id     text NOT NULL CHECK (length(object_id) BETWEEN 1 AND 100),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX object_grants_key ON object_grants
    (coalesce(user_id, 0), coalesce(group_id, 0), permission_id, object_type, object_id);
CREATE INDEX object_grants_object_idx ON object_grants (object_type, object_id);
