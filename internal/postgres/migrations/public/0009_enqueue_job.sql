-- A tenant's write and the jobs it causes commit in one transaction, and
-- the tenant never leaves its role to enqueue them: taruvi.enqueue_job
-- inserts the job into River's table as <prefix>_jobs, a role that can do
-- nothing else, and stamps the job with the tenant of the role that called
-- it. Whatever tenant the arguments name, the job is the caller's: the
-- database, not the caller's code, guarantees that a tenant enqueues jobs
-- for itself only. Tenant roles still have no rights on the river schema.
--
-- The schema taruvi is a name tenants may never take; it holds only this
-- function, and tenant roles may use it and nothing more.
DO $$
DECLARE
    prefix text := (SELECT role_prefix FROM public.taruvi_install);
BEGIN
    EXECUTE format('CREATE ROLE %I NOLOGIN', prefix || '_jobs');
    EXECUTE format('GRANT %I TO CURRENT_USER', prefix || '_jobs');
    EXECUTE format('CREATE SCHEMA taruvi AUTHORIZATION %I', prefix || '_jobs');
    REVOKE ALL ON SCHEMA taruvi FROM PUBLIC;
    EXECUTE format('GRANT USAGE ON SCHEMA taruvi TO %I', prefix || '_tenants');
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', prefix || '_jobs');
    EXECUTE format('GRANT SELECT (id, schema_name, role_name) ON public.tenants TO %I', prefix || '_jobs');
    -- River's migrations run after these (jobs.Migrate grants the same on
    -- a schema it creates); an installation that has River's tables
    -- already gets the grants here.
    IF to_regclass('river.river_job') IS NOT NULL THEN
        EXECUTE format('GRANT USAGE ON SCHEMA river TO %I', prefix || '_jobs');
        EXECUTE format('GRANT INSERT, SELECT (id) ON river.river_job TO %I', prefix || '_jobs');
        EXECUTE format('GRANT USAGE ON SEQUENCE river.river_job_id_seq TO %I', prefix || '_jobs');
    END IF;
END
$$;

-- enqueue_job inserts one River job as River's own insert would (River
-- v0.51: state available, or scheduled when scheduled_at is given; the
-- attempts, priority, queue and tags given, River's defaults otherwise; an
-- insert notification on the queue), returning its id. The caller is the
-- tenant whose role the transaction runs as (SET LOCAL ROLE, as every
-- scoped transaction does, or the tenant's login role itself): its schema
-- is written into the arguments' "tenant" key, which the worker reads to
-- restore the scope, and its schema and id into the metadata, with the
-- acting user of the transaction (taruvi.actor_id). Called by any role
-- that is no tenant's, it fails. Jobs with unique keys are the platform's
-- and are not enqueued here.
CREATE FUNCTION taruvi.enqueue_job(kind text, args jsonb, queue text, max_attempts integer,
    priority integer, scheduled_at timestamptz, tags text[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    caller  text := current_setting('role');
    tenant  record;
    actor   text := current_setting('taruvi.actor_id', true);
    meta    jsonb;
    job_id  bigint;
    state   text := CASE WHEN scheduled_at IS NULL THEN 'available' ELSE 'scheduled' END;
BEGIN
    IF caller = 'none' THEN
        caller := session_user;
    END IF;
    SELECT t.id, t.schema_name INTO tenant FROM public.tenants t WHERE t.role_name = caller;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'taruvi.enqueue_job: role % is no tenant''s', caller USING ERRCODE = '42501';
    END IF;
    IF args IS NULL OR jsonb_typeof(args) <> 'object' THEN
        RAISE EXCEPTION 'taruvi.enqueue_job: the arguments must be a JSON object' USING ERRCODE = '22023';
    END IF;
    meta := jsonb_build_object('tenant', tenant.schema_name, 'tenant_id', tenant.id);
    IF actor ~ '^[1-9][0-9]{0,17}$' THEN
        meta := meta || jsonb_build_object('user_id', actor::bigint);
    END IF;
    INSERT INTO river.river_job (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
    VALUES (args || jsonb_build_object('tenant', tenant.schema_name), kind, coalesce(max_attempts, 25), meta,
        coalesce(priority, 1), coalesce(queue, 'default'), coalesce(scheduled_at, now()),
        state::river.river_job_state, coalesce(tags, '{}')::varchar(255)[])
    RETURNING id INTO job_id;
    IF state = 'available' THEN
        PERFORM pg_notify('river.river_insert', json_build_object('queue', coalesce(queue, 'default'))::text);
    END IF;
    RETURN job_id;
END
$$;

DO $$
DECLARE
    prefix text := (SELECT role_prefix FROM public.taruvi_install);
BEGIN
    REVOKE ALL ON FUNCTION taruvi.enqueue_job(text, jsonb, text, integer, integer, timestamptz, text[]) FROM PUBLIC;
    EXECUTE format('GRANT EXECUTE ON FUNCTION taruvi.enqueue_job(text, jsonb, text, integer, integer, timestamptz, text[]) TO %I',
        prefix || '_tenants');
    EXECUTE format('ALTER FUNCTION taruvi.enqueue_job(text, jsonb, text, integer, integer, timestamptz, text[]) OWNER TO %I',
        prefix || '_jobs');
END
$$;
