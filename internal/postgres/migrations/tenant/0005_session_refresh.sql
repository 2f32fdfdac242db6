-- Refresh tokens live in their session: a session holds the hash of its
-- current refresh token and of the one that token replaced, with the
-- claims of the pair that exchange returned (so a retry within the grace
-- window gets the same pair back). A token names its session, so a
-- rotation is one update of one row by primary key, touching no index,
-- and any older token of the session is recognised as a reuse.
--
-- Refresh tokens issued before this migration stop working: their holders
-- sign in again.

ALTER TABLE sessions
    ADD COLUMN refresh_hash bytea,
    ADD COLUMN prev_hash    bytea,
    ADD COLUMN rotated_at   timestamptz,
    ADD COLUMN next_jti     uuid,
    ADD COLUMN next_iat     timestamptz;

-- Room on each page for the new version of a row, so a rotation stays a
-- heap-only update.
ALTER TABLE sessions SET (fillfactor = 80);

DROP TABLE refresh_tokens;
