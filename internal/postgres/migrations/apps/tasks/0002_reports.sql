-- Reports: CSV exports of a project's tasks, written by generate_report
-- jobs to the blob store.
CREATE TABLE reports (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
    requested_by bigint REFERENCES users ON DELETE SET NULL,
    job_id       bigint,
    storage_key  text,
    row_count    integer,
    size         bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);
CREATE INDEX reports_project_id_idx ON reports (project_id);

CREATE TRIGGER reports_orphaned_blob AFTER DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION record_orphaned_blob('storage_key');
