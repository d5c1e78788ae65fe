//! Tamper detection: flip one byte in a random row of the database (SQLite file or PostgreSQL
//! tables), then check that Ward notices. Rows that an export carries (entries, leaf hashes,
//! signed checkpoints, the documents beside the log holding callers' payloads) must make
//! `ward verify` fail; every tampering, including
//! interior subtree hashes and stored roots (which an export does not carry), must make
//! `ward log fsck` fail.

mod common;
use common::{Rng, ok, run, run_with_stdin, ward};
use sqlx::{Connection, Row};
use std::path::Path;
use ward_store::testing::TestDb;

const TRIALS: usize = 24;

#[derive(Clone, Copy, Debug)]
enum Target {
    Leaf,
    LeafHash,
    Note,
    Document,
    Node,
    CheckpointRoot,
}

impl Target {
    fn all() -> [Target; 6] {
        [
            Target::Leaf,
            Target::LeafHash,
            Target::Note,
            Target::Document,
            Target::Node,
            Target::CheckpointRoot,
        ]
    }
    fn exported(self) -> bool {
        matches!(self, Target::Leaf | Target::LeafHash | Target::Note | Target::Document)
    }
    /// (table, key column, value column, is text)
    fn columns(self) -> (&'static str, &'static str, &'static str, bool) {
        match self {
            Target::Leaf => ("ledger_entries", "seq", "leaf", false),
            Target::LeafHash => ("ledger_entries", "seq", "leaf_hash", false),
            Target::Note => ("ledger_checkpoints", "size", "note", true),
            Target::Document => ("documents", "digest", "data", false),
            Target::Node => ("ledger_nodes", "(level || ':' || idx)", "hash", false),
            Target::CheckpointRoot => ("ledger_checkpoints", "size", "root", false),
        }
    }
}

fn flip(bytes: &mut [u8], rng: &mut Rng, text: bool) {
    loop {
        let i = rng.below(bytes.len() as u64) as usize;
        // In text columns stay within ASCII, and off NUL, so the database accepts the value
        // (PostgreSQL's text holds no NUL: a space flipped at bit 5 was refused as invalid
        // UTF-8 by `convert_from`, failing the test instead of tampering).
        if text && !bytes[i].is_ascii() {
            continue;
        }
        let flipped = bytes[i] ^ if text { 1 << rng.below(6) } else { 1 << rng.below(8) };
        if text && flipped == 0 {
            continue;
        }
        bytes[i] = flipped;
        return;
    }
}

/// Flips a byte in a random row of the target; returns a description.
async fn tamper(url: &str, t: Target, rng: &mut Rng) -> String {
    let (table, key, col, text) = t.columns();
    let pick = rng.next() as i64 & 0x7fff_ffff;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let sql = format!(
            "SELECT {key}::text AS k, {col}::bytea AS v FROM {table} ORDER BY {key} OFFSET ($1 % (SELECT COUNT(*) FROM {table})) LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pick)
            .fetch_one(&mut c)
            .await
            .unwrap();
        let k: String = row.get("k");
        let mut v: Vec<u8> = row.get("v");
        flip(&mut v, rng, text);
        let upd = if text {
            format!("UPDATE {table} SET {col} = convert_from($1, 'UTF8') WHERE {key}::text = $2")
        } else {
            format!("UPDATE {table} SET {col} = $1 WHERE {key}::text = $2")
        };
        sqlx::query(sqlx::AssertSqlSafe(upd))
            .bind(v)
            .bind(&k)
            .execute(&mut c)
            .await
            .unwrap();
        format!("{table}.{col} where {key}={k}")
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let sql = format!(
            "SELECT CAST({key} AS TEXT) AS k, CAST({col} AS BLOB) AS v FROM {table} ORDER BY {key} LIMIT 1 OFFSET (? % (SELECT COUNT(*) FROM {table}))"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pick)
            .fetch_one(&mut c)
            .await
            .unwrap();
        let k: String = row.get("k");
        let mut v: Vec<u8> = row.get("v");
        flip(&mut v, rng, text);
        let upd = if text {
            format!("UPDATE {table} SET {col} = CAST(? AS TEXT) WHERE CAST({key} AS TEXT) = ?")
        } else {
            format!("UPDATE {table} SET {col} = ? WHERE CAST({key} AS TEXT) = ?")
        };
        let n = if text {
            sqlx::query(sqlx::AssertSqlSafe(upd))
                .bind(String::from_utf8(v).unwrap())
                .bind(&k)
                .execute(&mut c)
                .await
                .unwrap()
        } else {
            sqlx::query(sqlx::AssertSqlSafe(upd))
                .bind(v)
                .bind(&k)
                .execute(&mut c)
                .await
                .unwrap()
        };
        assert_eq!(n.rows_affected(), 1);
        format!("{table}.{col} where {key}={k}")
    }
}

fn populate(d: &Path, db_url: Option<&str>) {
    ok(run({
        let mut c = ward(d, db_url);
        c.args(["init", "--origin", "tamper.test/log"]);
        c
    }));
    let mut lines = String::new();
    for i in 0..700 {
        // A caller's payload is a document beside the log; some of them large.
        let payload = if i % 97 == 0 {
            let numbers: Vec<String> = (0..2500).map(|k| (k + i).to_string()).collect();
            format!("[{}]", numbers.join(","))
        } else {
            format!("{{\"i\":{i}}}")
        };
        lines.push_str(&format!(
            "{{\"actor\":{{\"id\":\"ci:t\",\"kind\":\"automation\"}},\"kind\":\"t.e\",\"subject\":\"s:{}\",\"payload\":{payload}}}\n",
            i % 7
        ));
        if i == 299 || i == 699 {
            ok(run_with_stdin(
                {
                    let mut c = ward(d, db_url);
                    c.args(["log", "append"]);
                    c
                },
                &lines,
            ));
            lines.clear();
            ok(run({
                let mut c = ward(d, db_url);
                c.args(["log", "checkpoint"]);
                c
            }));
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn detect(d: &Path, db_url: Option<&str>, t: Target, what: &str, trial: usize) {
    let fsck = run({
        let mut c = ward(d, db_url);
        c.args(["log", "fsck"]);
        c
    });
    assert_eq!(
        fsck.status.code(),
        Some(3),
        "fsck missed tampering of {what}: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    if t.exported() {
        let exp = d.join(format!("export-{trial}"));
        let e = run({
            let mut c = ward(d, db_url);
            c.args(["log", "export", "--out"]).arg(&exp);
            c
        });
        if e.status.success() {
            let v = run({
                let mut c = ward(d, db_url);
                c.arg("verify").arg(&exp).arg("--key").arg(d.join("log.pub"));
                c
            });
            assert_eq!(v.status.code(), Some(3), "ward verify missed tampering of {what}");
        }
    }
}

#[test]
fn flipped_bytes_in_sqlite_rows_are_caught() {
    let mut rng = Rng::new("tamper-sqlite");
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("pristine");
    populate(&pristine, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for trial in 0..TRIALS {
        let t = Target::all()[trial % 6];
        let d = tmp.path().join(format!("t{trial}"));
        copy_dir(&pristine, &d);
        let url = format!("sqlite://{}", d.join("ward.db").display());
        let what = rt.block_on(tamper(&url, t, &mut rng));
        detect(&d, None, t, &what, trial);
    }
}

#[test]
fn flipped_bytes_in_postgres_rows_are_caught() {
    let mut rng = Rng::new("tamper-postgres");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for trial in 0..TRIALS / 2 {
        let Some(db) = rt.block_on(TestDb::postgres()) else {
            return;
        };
        let t = Target::all()[trial % 6];
        let d = tmp.path().join(format!("t{trial}"));
        populate(&d, Some(&db.url));
        let what = rt.block_on(tamper(&db.url, t, &mut rng));
        detect(&d, Some(&db.url), t, &what, trial);
        rt.block_on(db.cleanup());
    }
}
