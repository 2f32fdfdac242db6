-- A deleted tenant is recorded by its id, never reused: its blobs live
-- under tenants/<id>/, so a tenant created again under the same schema
-- name neither keeps nor loses any of them. Each deletion is a row of its
-- own, since one schema name may be deleted twice before maintenance runs.
--
-- Rows recorded before this migration name the schema only (tenant_id is
-- NULL): maintenance removes their tenants/<schema>/ blobs when no live
-- tenant has that schema name, as it did before.

ALTER TABLE public.deleted_tenants DROP CONSTRAINT deleted_tenants_pkey;
ALTER TABLE public.deleted_tenants
    ADD COLUMN id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ADD COLUMN tenant_id bigint UNIQUE;
