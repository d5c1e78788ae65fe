-- Text documents: free text written by people or tools (titles, descriptions, comments,
-- reasons), kept beside the log. A leaf references one by the digest of its salted bytes
-- (`doc:sha256:<hex>`). Written in the transaction of the event that references it; deleted
-- only by a purge, in the transaction of its `document.purged` event.
CREATE TABLE documents (
    digest     TEXT    PRIMARY KEY,
    data       BLOB    NOT NULL
);
