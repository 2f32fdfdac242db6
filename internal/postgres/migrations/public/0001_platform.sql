-- The platform tables: one installation id (it prefixes every database role
-- this installation creates, so several databases share a server safely),
-- tenants and their domains.

CREATE TABLE public.taruvi_install (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role_prefix text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO public.taruvi_install (role_prefix)
VALUES ('tv' || substr(md5(random()::text || clock_timestamp()::text), 1, 8));

-- The shared group role every tenant role belongs to, and the role platform
-- requests run as.
DO $$
DECLARE
    prefix text := (SELECT role_prefix FROM public.taruvi_install);
BEGIN
    EXECUTE format('CREATE ROLE %I NOLOGIN', prefix || '_tenants');
    EXECUTE format('CREATE ROLE %I NOLOGIN', prefix || '_platform');
    EXECUTE format('GRANT %I, %I TO CURRENT_USER', prefix || '_tenants', prefix || '_platform');
    -- Tenants see nothing of public: not its tables, not even its names.
    REVOKE ALL ON SCHEMA public FROM PUBLIC;
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', prefix || '_platform');
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', prefix || '_platform');
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', prefix || '_platform');
END
$$;

CREATE TABLE public.tenants (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    schema_name    text NOT NULL UNIQUE CHECK (schema_name ~ '^[a-z][a-z0-9_]{1,62}$'),
    role_name      text NOT NULL UNIQUE,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    schema_version integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenants_schema_version_idx ON public.tenants (schema_version);

CREATE TABLE public.domains (
    domain     text PRIMARY KEY CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
    tenant_id  bigint NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
    is_primary boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX domains_tenant_id_idx ON public.domains (tenant_id);
CREATE UNIQUE INDEX domains_one_primary_idx ON public.domains (tenant_id) WHERE is_primary;

-- Every change to tenants or domains tells each replica to drop its cached
-- host lookups (LISTEN taruvi_tenancy).
CREATE FUNCTION public.taruvi_notify_tenancy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('taruvi_tenancy', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON public.tenants
    FOR EACH STATEMENT EXECUTE FUNCTION public.taruvi_notify_tenancy();
CREATE TRIGGER domains_notify AFTER INSERT OR UPDATE OR DELETE ON public.domains
    FOR EACH STATEMENT EXECUTE FUNCTION public.taruvi_notify_tenancy();
