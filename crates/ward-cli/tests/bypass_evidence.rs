//! Evidence-semantics bypasses in local mode (the `ward` binary on a data directory, SQLite and
//! PostgreSQL): the same rules as the server, read from the data directory's `ward.toml`.

mod common;
use common::{json, ok, run, ward};
use std::path::Path;
use std::process::Command;
use ward_store::testing::TestDb;

fn log_size(d: &Path, db: Option<&str>) -> u64 {
    json(&ok(run({
        let mut c = ward(d, db);
        c.args(["log", "status", "--output", "json"]);
        c
    })))["size"]
        .as_u64()
        .expect("size")
}

fn register(d: &Path, db: Option<&str>, digest: &str, version: &str) -> Command {
    common::register_command_on(d, db, digest, "patient-api", version, &["--output", "json"])
}

fn rounds(d: &Path, db: Option<&str>) {
    ok(run({
        let mut c = ward(d, db);
        c.args(["init"]);
        c
    }));
    // Pre-releases may move here; release versions never.
    std::fs::write(d.join("ward.toml"), "[artifacts]\nmutable_prerelease = true\n").unwrap();
    let (first, second) = (
        format!("sha256:{}", "ab".repeat(32)),
        format!("sha256:{}", "cd".repeat(32)),
    );
    ok(run(register(d, db, &first, "3.1.0")));
    let before = log_size(d, db);
    let o = run(register(d, db, &second, "3.1.0"));
    assert_eq!(o.status.code(), Some(1));
    let e = json(&String::from_utf8_lossy(&o.stdout))["error"].clone();
    assert_eq!(e["code"], "version_conflict", "{e}");
    assert!(e["message"].as_str().unwrap().contains(&first), "{e}");
    assert_eq!(log_size(d, db), before, "nothing recorded");
    // The configured exception, read from ward.toml.
    ok(run(register(
        d,
        db,
        &format!("sha256:{}", "e1".repeat(32)),
        "3.2.0-rc.1",
    )));
    ok(run(register(
        d,
        db,
        &format!("sha256:{}", "e2".repeat(32)),
        "3.2.0-rc.1",
    )));
    // A PHI path is high risk with the default rules (opened by a named local person).
    ok(common::run_with_stdin(
        {
            let mut c = ward(d, db);
            c.args([
                "user",
                "add",
                "--name",
                "dana",
                "--display-name",
                "Dana Dev",
                "--role",
                "developer",
            ]);
            c
        },
        "dana-correct-horse-battery\n",
    ));
    let c = json(&ok(run({
        let mut c = ward(d, db);
        c.args(["--as", "dana"])
            .env("WARD_PASSWORD", "dana-correct-horse-battery");
        c.args([
            "change",
            "open",
            "--title",
            "patient export",
            "--path",
            "app/phi/patient.py",
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(c["tier"], "high", "{c}");
    assert!(
        c["classification"]["rules_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn second_digest_for_a_released_version_is_refused_in_local_mode() {
    let tmp = tempfile::tempdir().unwrap();
    rounds(&tmp.path().join("data"), None);
}

#[test]
fn second_digest_for_a_released_version_is_refused_in_local_mode_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(TestDb::postgres()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    rounds(&tmp.path().join("data"), Some(&db.url));
    rt.block_on(db.cleanup());
}
