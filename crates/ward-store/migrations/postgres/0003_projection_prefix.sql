-- Key-prefix reads of a projection collection (e.g. the attestations of one artifact,
-- `sha256:<hex>/…`) compare keys byte-wise, whatever the database's default collation.
CREATE INDEX projections_key_bytes ON projections (collection, key COLLATE "C");
