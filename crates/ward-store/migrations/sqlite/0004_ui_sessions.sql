-- The web UI's idle clock: when each web session (by token id) was last seen, so that every
-- process sharing this store refuses a session idle longer than the timeout (a restart or
-- another replica included). Operational state beside the log, like `ward_meta`: not an event
-- (a page view is not a governed change), not exported, not checked by fsck, and never a
-- reason to accept anything: a row can only make a session be refused. The server writes a
-- session's row at most once a minute; a time never replaces a later one; rows older than any
-- session's lifetime are deleted.
CREATE TABLE ui_sessions (
    token_id   TEXT    PRIMARY KEY,
    seen_at    BIGINT  NOT NULL
);
CREATE INDEX ui_sessions_seen_at ON ui_sessions (seen_at);
