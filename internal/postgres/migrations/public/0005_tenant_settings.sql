-- Operational settings of a tenant: a request quota (per minute, across
-- every replica; 0 means none) set by platform admins, and the browser
-- origins allowed to call its API (CORS) besides the global ones.
ALTER TABLE public.tenants
    ADD COLUMN request_quota integer NOT NULL DEFAULT 0 CHECK (request_quota >= 0),
    ADD COLUMN cors_origins  text[]  NOT NULL DEFAULT '{}';
