-- A deleted file row (directly or by a cascade from its project or task)
-- leaves its blob to maintenance.
CREATE TRIGGER files_orphaned_blob AFTER DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION record_orphaned_blob('storage_key');
