-- Leases beside the log: a process doing work under a lock that can be lost while it lives (a
-- PostgreSQL advisory lock goes with its session: `idle_session_timeout`, `pg_terminate_backend`,
-- a failover) renews its lease here every few seconds, by the database's clock, so that a
-- process granted the lock after a lost session can tell work still running from a process that
-- stopped. Operational state, like `ui_sessions`: not an event, not exported, not checked by
-- fsck, and never a reason to accept anything: a fresh lease can only make another process wait.
CREATE TABLE leases (
    name        TEXT         PRIMARY KEY,
    holder      TEXT         NOT NULL,
    renewed_at  TIMESTAMPTZ  NOT NULL
);
