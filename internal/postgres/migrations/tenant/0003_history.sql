-- Audit history: every insert, update and delete of a tracked table, with
-- the acting user and request id that InTenant puts in the transaction's
-- settings (taruvi.actor_id, taruvi.request_id). Apps track their tables
-- with: CREATE TRIGGER ... AFTER INSERT OR UPDATE OR DELETE ON <table>
--       FOR EACH ROW EXECUTE FUNCTION record_history('<object type>'[, '<key column>']);

CREATE TABLE history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_type text NOT NULL,
    object_id   text NOT NULL,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor_id    bigint,
    request_id  text,
    changed     text[] NOT NULL DEFAULT '{}',
    before      jsonb,
    after       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX history_object_idx ON history (object_type, object_id, id);

-- Secrets never reach the history: a changed password shows as "password"
-- with no values, and a file's storage key is left out. Bookkeeping columns alone (updated_at, last_login_at) do
-- not make an entry.
CREATE FUNCTION record_history() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    changed text[] := '{}';
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(CASE k WHEN 'password_hash' THEN 'password' ELSE k END ORDER BY k), '{}')
        INTO changed
        FROM jsonb_object_keys(new_row) AS k
        WHERE new_row -> k IS DISTINCT FROM old_row -> k
          AND k NOT IN ('updated_at', 'last_login_at');
        IF changed = '{}' THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO history (object_type, object_id, action, actor_id, request_id, changed, before, after)
    VALUES (
        TG_ARGV[0],
        coalesce(new_row, old_row) ->> coalesce(TG_ARGV[1], 'id'),
        CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
        nullif(current_setting('taruvi.actor_id', true), '')::bigint,
        nullif(current_setting('taruvi.request_id', true), ''),
        changed,
        old_row - 'password_hash' - 'storage_key',
        new_row - 'password_hash' - 'storage_key'
    );
    RETURN NULL;
END
$$;

CREATE TRIGGER users_history AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION record_history('user');
CREATE TRIGGER groups_history AFTER INSERT OR UPDATE OR DELETE ON groups
    FOR EACH ROW EXECUTE FUNCTION record_history('group');
