-- Tenant-wide settings (branding, preferences), one JSON value per key.
-- Runs as the tenant's own role with search_path set to the tenant schema.
CREATE TABLE settings (
    key        text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 100),
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
