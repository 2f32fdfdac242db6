-- Lists of projects come newest first with id as the tie-break; this index
-- serves that order and its reverse, so a page reads its own rows only.
DROP INDEX projects_created_at_idx;
CREATE INDEX projects_created_at_id_idx ON projects (created_at, id);
