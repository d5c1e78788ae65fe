-- Raw evidence documents (attestation bytes), content-addressed. Kept beside the log, never in
-- it: they may hold data that must not travel with an export. Events refer to them by digest.
CREATE TABLE evidence_blobs (
    digest     TEXT    PRIMARY KEY,
    data       BLOB    NOT NULL,
    created_at TEXT    NOT NULL
);
