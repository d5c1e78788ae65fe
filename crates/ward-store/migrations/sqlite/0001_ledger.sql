-- Ward ledger schema (SQLite).
CREATE TABLE ledger_entries (
    seq       INTEGER PRIMARY KEY,
    leaf      BLOB    NOT NULL,
    leaf_hash BLOB    NOT NULL
);
-- Queries by subject, kind or actor are served by projections, not by indexes on the log.

-- Every complete subtree above the leaves: (level, index) -> hash.
CREATE TABLE ledger_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- The single head row: size, frontier (right-edge subtree hashes) and root.
CREATE TABLE ledger_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    size     INTEGER NOT NULL,
    frontier BLOB    NOT NULL,
    root     BLOB    NOT NULL
);
INSERT INTO ledger_head (id, size, frontier, root)
VALUES (1, 0, X'', X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

CREATE TABLE ledger_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    note       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE ledger_blobs (
    digest TEXT PRIMARY KEY,
    data   BLOB NOT NULL
);

CREATE TABLE ward_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE projections (
    collection  TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    doc         TEXT    NOT NULL,
    updated_seq INTEGER NOT NULL,
    PRIMARY KEY (collection, key)
);
