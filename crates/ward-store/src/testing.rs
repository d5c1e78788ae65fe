//! Test support: fresh SQLite files and fresh PostgreSQL databases, so one suite runs against
//! both stores. With `CI=true` an unreachable PostgreSQL is an error, never a silent skip. And
//! the process's CPU time, which the benches report beside wall time.

use sqlx::Connection;

/// Admin URL of the PostgreSQL server used by tests (`WARD_TEST_PG_URL`).
pub fn pg_admin_url() -> String {
    std::env::var("WARD_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database made for one test; dropped by [`TestDb::cleanup`].
pub struct TestDb {
    /// URL to hand to [`crate::open`].
    pub url: String,
    name: Option<String>,
    _dir: Option<tempfile_dir::TempDir>,
}

mod tempfile_dir {
    /// A temporary directory removed on drop.
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDb {
    /// A fresh SQLite file in a new temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("ward-test-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TestDb {
            url: format!("sqlite://{}", dir.join("ward.db").display()),
            name: None,
            _dir: Some(tempfile_dir::TempDir(dir)),
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a visible message) when the server is
    /// unreachable outside CI. Panics when unreachable and `CI=true`.
    pub async fn postgres() -> Option<TestDb> {
        let admin = pg_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("PostgreSQL at {admin} is unreachable and CI=true: {e}");
                }
                eprintln!(
                    "SKIPPED: PostgreSQL tests: {admin} unreachable ({e}); set WARD_TEST_PG_URL or start PostgreSQL"
                );
                return None;
            }
        };
        let name = format!("ward_test_{}_{}", std::process::id(), unique());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_string();
        Some(TestDb {
            url: format!("{base}/{name}"),
            name: Some(name),
            _dir: None,
        })
    }

    /// Runs `sql` (written for both stores) behind the store's back: a row lost or altered by
    /// something other than Ward (a partial restore, an operator), which a test then shows Ward
    /// noticing.
    pub async fn exec_behind_the_store(&self, sql: &str) {
        let statement = sqlx::AssertSqlSafe(sql.to_string());
        if self.name.is_some() {
            let mut c = sqlx::PgConnection::connect(&self.url).await.expect("connect");
            sqlx::raw_sql(statement).execute(&mut c).await.expect("exec");
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
            sqlx::raw_sql(statement).execute(&mut c).await.expect("exec");
        }
    }

    /// Drops the PostgreSQL database (SQLite files go with the directory).
    pub async fn cleanup(self) {
        if let Some(name) = &self.name
            && let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    t * 1000 + N.fetch_add(1, Ordering::Relaxed)
}

/// CPU seconds this process has used (user and system, from `/proc/self/stat`; 0 where it
/// cannot be read): the benches report it beside wall time.
pub fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let ticks: u64 = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}
