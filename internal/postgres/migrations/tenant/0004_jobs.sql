-- Background jobs: the outbox that keeps emails when no SMTP server is
-- configured, and the blobs whose rows are gone (cascade deletes of files
-- and reports), which maintenance removes from the blob store.

CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "to"       text NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,
    job_id     bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_created_at_idx ON outbox (created_at);

CREATE TABLE orphaned_blobs (
    storage_key text PRIMARY KEY,
    orphaned_at timestamptz NOT NULL DEFAULT now()
);

-- Apps whose rows name a blob record it here on delete:
-- CREATE TRIGGER ... AFTER DELETE ON <table> FOR EACH ROW
--     EXECUTE FUNCTION record_orphaned_blob('<key column>');
CREATE FUNCTION record_orphaned_blob() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    key text := to_jsonb(OLD) ->> TG_ARGV[0];
BEGIN
    IF key IS NOT NULL AND key <> '' THEN
        INSERT INTO orphaned_blobs (storage_key) VALUES (key) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
