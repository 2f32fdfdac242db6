-- Apps: what a tenant builds its own products from, each addressed by its
-- slug, and the datatables of each app: runtime-defined tables whose
-- definition is stored here and whose rows live in the physical table
-- table_name (dt_<app id>_<name>), created from the definition.

CREATE TABLE apps (
    id                           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug                         text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{1,50}$'),
    name                         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description                  text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    display_name                 text NOT NULL DEFAULT '',
    icon                         text NOT NULL DEFAULT '',
    icon_url                     text NOT NULL DEFAULT '',
    primary_color                text NOT NULL DEFAULT '',
    secondary_color              text NOT NULL DEFAULT '',
    icon_background_color        text NOT NULL DEFAULT '',
    category                     text NOT NULL DEFAULT '',
    documentation_url            text NOT NULL DEFAULT '',
    support_email                text NOT NULL DEFAULT '',
    default_frontend_worker_url  text NOT NULL DEFAULT '',
    default_frontend_worker_slug text NOT NULL DEFAULT '',
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE datatables (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id     bigint NOT NULL REFERENCES apps ON DELETE CASCADE,
    name       text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,49}$'),
    table_name text NOT NULL UNIQUE,
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (app_id, name)
);

INSERT INTO permissions (codename, name) VALUES
    ('apps.view_app', 'Can view apps, their settings and datatable definitions'),
    ('apps.manage_app', 'Can create, change and delete apps and datatables'),
    ('apps.view_data', 'Can read the rows of datatables'),
    ('apps.change_data', 'Can create, change and delete the rows of datatables');

CREATE TRIGGER apps_history AFTER INSERT OR UPDATE OR DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION record_history('app');

-- The history of a datatable's rows, recorded by three statement-level
-- triggers on each physical table (AFTER INSERT, UPDATE and DELETE, with
-- their transition tables new_rows and old_rows): one INSERT ... SELECT
-- per statement, however many rows it changed. The object type is
-- datatable:<app slug>/<table name> and the object id the row's primary
-- key, both read from the table's definition when the statement runs, so
-- a renamed app or key records under its new name. An update records the
-- fields it changed, and none when it changed nothing; an update that
-- changes a row's primary key is not recorded. The generated search
-- column is left out. The transition tables' aliases begin with _, which
-- no field's name does, so to_jsonb(_n) is always the whole row.
CREATE FUNCTION record_datatable_history() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_type    text;
    v_key     text;
    v_actor   bigint := nullif(current_setting('taruvi.actor_id', true), '')::bigint;
    v_request text := nullif(current_setting('taruvi.request_id', true), '');
BEGIN
    SELECT 'datatable:' || a.slug || '/' || d.name, coalesce(d.definition #>> '{schema,primaryKey,0}', 'id')
    INTO v_type, v_key
    FROM datatables d JOIN apps a ON a.id = d.app_id
    WHERE d.table_name = TG_TABLE_NAME;
    IF NOT FOUND THEN
        v_type := 'datatable:' || TG_TABLE_NAME;
        v_key := 'id';
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO history (object_type, object_id, action, actor_id, request_id, after)
        SELECT v_type, s.r ->> v_key, 'create', v_actor, v_request, s.r
        FROM (SELECT to_jsonb(_n) - 'search_vector' AS r FROM new_rows _n) s;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO history (object_type, object_id, action, actor_id, request_id, before)
        SELECT v_type, s.r ->> v_key, 'delete', v_actor, v_request, s.r
        FROM (SELECT to_jsonb(_o) - 'search_vector' AS r FROM old_rows _o) s;
    ELSE
        INSERT INTO history (object_type, object_id, action, actor_id, request_id, changed, before, after)
        SELECT v_type, n.r ->> v_key, 'update', v_actor, v_request, c.changed, o.r, n.r
        FROM (SELECT to_jsonb(_n) - 'search_vector' AS r FROM new_rows _n) n
        JOIN (SELECT to_jsonb(_o) - 'search_vector' AS r FROM old_rows _o) o ON o.r -> v_key = n.r -> v_key
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(k ORDER BY k), '{}') AS changed
            FROM jsonb_object_keys(n.r) AS k
            WHERE n.r -> k IS DISTINCT FROM o.r -> k
        ) c
        WHERE c.changed <> '{}';
    END IF;
    RETURN NULL;
END
$$;
