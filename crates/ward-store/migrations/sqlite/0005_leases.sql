-- Leases beside the log: a process doing work under a lock that can be lost while it lives
-- renews its lease here every few seconds, so that a process granted the lock after it was lost
-- can tell work still running from a process that stopped. A SQLite store's locks are file locks
-- held until their process ends, so Ward renews none here; the table keeps both stores alike.
-- Operational state, like `ui_sessions`: not an event, not exported, not checked by fsck, and
-- never a reason to accept anything: a fresh lease can only make another process wait.
-- `renewed_at` is Unix milliseconds.
CREATE TABLE leases (
    name        TEXT     PRIMARY KEY,
    holder      TEXT     NOT NULL,
    renewed_at  INTEGER  NOT NULL
);
