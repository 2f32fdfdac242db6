-- Indexes for the platform console's lists.
--
-- The tenant list searches name and schema_name with ILIKE '%...%', which
-- a trigram index serves (tens of milliseconds over 10,000 tenants
-- without it, about one with it). pg_trgm is a trusted extension, so the
-- migrating user needs only CREATE on the database (its owner has it), not
-- superuser. Where the extension is not installed or not allowed, the
-- migration goes on without the index and the search scans the table.
DO $$
DECLARE
    ext_schema text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
        RAISE NOTICE 'pg_trgm is not available (%); tenant search will scan public.tenants', SQLERRM;
        RETURN;
    END;
    -- It may have existed already, in another schema.
    SELECT n.nspname INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    -- Tenants are inserted rarely: without a pending list (fastupdate)
    -- each insert updates the index at once, and the planner never finds
    -- it costlier to read than the table.
    EXECUTE format('CREATE INDEX tenants_search_idx ON public.tenants USING gin '
        '(name %1$I.gin_trgm_ops, schema_name %1$I.gin_trgm_ops) WITH (fastupdate = off)', ext_schema);
END
$$;

-- The platform audit history is read newest first.
CREATE INDEX history_created_idx ON public.history (created_at, id);
