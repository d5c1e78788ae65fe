//! A small embedded migration runner: versioned SQL scripts compiled into the binary, applied
//! in order inside a transaction that holds the database's write lock.

/// One migration.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// SQLite migrations, in order.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        sql: include_str!("../migrations/sqlite/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "evidence",
        sql: include_str!("../migrations/sqlite/0002_evidence.sql"),
    },
    Migration {
        version: 3,
        name: "documents",
        sql: include_str!("../migrations/sqlite/0003_documents.sql"),
    },
    Migration {
        version: 4,
        name: "ui_sessions",
        sql: include_str!("../migrations/sqlite/0004_ui_sessions.sql"),
    },
    Migration {
        version: 5,
        name: "leases",
        sql: include_str!("../migrations/sqlite/0005_leases.sql"),
    },
];

/// PostgreSQL migrations, in order.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        sql: include_str!("../migrations/postgres/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "evidence",
        sql: include_str!("../migrations/postgres/0002_evidence.sql"),
    },
    Migration {
        version: 3,
        name: "projection_prefix",
        sql: include_str!("../migrations/postgres/0003_projection_prefix.sql"),
    },
    Migration {
        version: 4,
        name: "documents",
        sql: include_str!("../migrations/postgres/0004_documents.sql"),
    },
    Migration {
        version: 5,
        name: "ui_sessions",
        sql: include_str!("../migrations/postgres/0005_ui_sessions.sql"),
    },
    Migration {
        version: 6,
        name: "leases",
        sql: include_str!("../migrations/postgres/0006_leases.sql"),
    },
];

/// Latest schema version known to this build.
pub(crate) fn latest(list: &[Migration]) -> i64 {
    list.last().map_or(0, |m| m.version)
}
