-- Deleted tenants whose blobs maintenance has yet to remove.
CREATE TABLE public.deleted_tenants (
    schema_name text PRIMARY KEY,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);
