-- Ward ledger schema (PostgreSQL).
CREATE TABLE ledger_entries (
    seq       BIGINT PRIMARY KEY,
    leaf      BYTEA  NOT NULL,
    leaf_hash BYTEA  NOT NULL
);
-- Queries by subject, kind or actor are served by projections, not by indexes on the log.

CREATE TABLE ledger_nodes (
    level SMALLINT NOT NULL,
    idx   BIGINT   NOT NULL,
    hash  BYTEA    NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    size     BIGINT NOT NULL,
    frontier BYTEA  NOT NULL,
    root     BYTEA  NOT NULL
);
INSERT INTO ledger_head (id, size, frontier, root)
VALUES (1, 0, ''::bytea, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea);

CREATE TABLE ledger_checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BYTEA NOT NULL,
    note       TEXT  NOT NULL,
    created_at TEXT  NOT NULL
);

CREATE TABLE ledger_blobs (
    digest TEXT PRIMARY KEY,
    data   BYTEA NOT NULL
);

CREATE TABLE ward_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE projections (
    collection  TEXT   NOT NULL,
    key         TEXT   NOT NULL,
    doc         JSONB  NOT NULL,
    updated_seq BIGINT NOT NULL,
    PRIMARY KEY (collection, key)
);
