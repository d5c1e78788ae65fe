//! Issue 14 item 12: state the log cannot explain. Rows written straight into the database
//! (a forged admin token, a forged approval, an altered evidence document) are found by
//! `ward log fsck` (exit 3, naming collection and key, never the document) and `ward serve`
//! refuses to start on them. The same attacks on PostgreSQL are in ward-store's store suite.

mod common;
use common::{Serving, json, ok, register, run, serve_with, token, ward};
use sqlx::Connection;
use std::path::Path;
use std::process::Output;

/// Starts `ward serve` on a free port with `extra` arguments; returns it and its base URL.
fn serve(d: &Path, extra: &[&str]) -> (Serving, String) {
    serve_with(d, extra)
}

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn initialised(parent: &Path) -> std::path::PathBuf {
    let d = parent.join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init", "--origin", "bypass.test/log"]);
        c
    }));
    d
}

/// Runs SQL on the data directory's SQLite database, as someone with file access would.
fn sql(d: &Path, statement: &str) {
    let url = format!("sqlite://{}", d.join("ward.db").display());
    let statement = statement.to_string();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let done = sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut c)
                .await
                .unwrap();
            assert!(done.rows_affected() >= 1, "the tampering changed nothing");
        });
}

fn fsck(d: &Path) -> Output {
    run({
        let mut c = ward(d, None);
        c.args(["log", "fsck"]);
        c
    })
}

fn entries(d: &Path) -> u64 {
    json(&ok(run({
        let mut c = ward(d, None);
        c.args(["log", "status", "--output", "json"]);
        c
    })))["size"]
        .as_u64()
        .expect("size")
}

/// fsck exits 3 naming every `needles`, prints no secret, and writes nothing.
fn assert_fsck_finds(d: &Path, needles: &[&str], secrets: &[&str]) {
    let before = entries(d);
    let out = fsck(d);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(3), "fsck missed it: {stdout} {stderr}");
    for n in needles {
        assert!(stdout.contains(n), "fsck output does not name {n:?}: {stdout}");
    }
    for s in secrets {
        assert!(!stdout.contains(s) && !stderr.contains(s), "fsck printed {s:?}");
    }
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(entries(d), before, "fsck recorded something");
    // Asked again, the same answer: fsck repaired nothing.
    assert_eq!(fsck(d).status.code(), Some(3));
}

#[test]
fn forged_admin_token_row_is_found_by_fsck() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    token(&d, "reader", "viewer");
    assert!(fsck(&d).status.success());
    // An admin token the log never issued, with the hash of a secret the attacker holds.
    sql(
        &d,
        r#"INSERT INTO projections (collection, key, doc, updated_seq)
           SELECT 'tokens', 'f0f0f0f0f0f0', json_set(json_set(doc, '$.roles', json('["admin"]')), '$.id', 'f0f0f0f0f0f0'), updated_seq
           FROM projections WHERE collection = 'tokens'"#,
    );
    let hash = {
        let out = json(&ok(run({
            let mut c = ward(&d, None);
            c.args(["token", "list", "--output", "json"]);
            c
        })));
        out.to_string()
    };
    assert!(hash.contains("f0f0f0f0f0f0"), "the forged token is listed: {hash}");
    assert_fsck_finds(&d, &["tokens", "f0f0f0f0f0f0", "extra", "sha256:"], &["\"admin\""]);
    // Raising the real token's role instead: "different".
    ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "rebuild-projections"]);
        c
    }));
    assert!(fsck(&d).status.success());
    sql(
        &d,
        r#"UPDATE projections SET doc = json_set(doc, '$.roles', json('["admin"]')) WHERE collection = 'tokens'"#,
    );
    assert_fsck_finds(&d, &["tokens", "different"], &["\"admin\""]);
}

#[test]
fn forged_approval_row_is_found_by_fsck() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    token(&d, "ci", "developer");
    sql(
        &d,
        r#"INSERT INTO projections (collection, key, doc, updated_seq) VALUES
           ('approvals', 'chg-1/7', '{"change":"chg-1","signer":"user:boss","printed_name":"The Boss","meaning":"approval"}', 7)"#,
    );
    assert_fsck_finds(&d, &["approvals", "chg-1/7", "extra"], &["The Boss", "user:boss"]);
}

#[test]
fn tampered_evidence_blob_is_found_by_fsck() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    register(&d, DIGEST, "patient-api", "1.0.0");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures/pytest.xml");
    let added = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["attest", "add", "--artifact", DIGEST, "--output", "json"])
            .arg(&fixture);
        c
    })));
    let id = added["id"].as_str().expect("attestation id").to_string();
    assert!(fsck(&d).status.success());
    // The failing test report rewritten to say everything passed.
    sql(
        &d,
        &format!(
            "UPDATE evidence_blobs SET data = CAST(REPLACE(CAST(data AS TEXT), 'failures=\"2\"', 'failures=\"0\"') AS BLOB) WHERE digest = '{id}'"
        ),
    );
    assert_fsck_finds(&d, &["evidence_blobs", &id, "different"], &["testsuite"]);
}

#[test]
fn serve_refuses_state_the_log_cannot_explain() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let viewer = token(&d, "reader", "viewer");
    sql(
        &d,
        r#"UPDATE projections SET doc = json_set(doc, '$.roles', json('["admin"]')) WHERE collection = 'tokens'"#,
    );
    let before = entries(&d);
    let out = run({
        let mut c = ward(&d, None);
        c.args(["serve", "--listen", "127.0.0.1:0"]);
        c
    });
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "serve started on forged state: {stdout} {stderr}"
    );
    assert!(!stdout.contains("ward serving"), "{stdout}");
    assert!(
        stderr.contains("does not match the log") && stderr.contains("tokens"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ward log fsck") && stderr.contains("ward log rebuild-projections"),
        "{stderr}"
    );
    assert!(!stderr.contains(&viewer));
    assert_eq!(entries(&d), before, "a refused start records nothing");
    let as_json = json(&String::from_utf8_lossy(
        &run({
            let mut c = ward(&d, None);
            c.args(["serve", "--listen", "127.0.0.1:0", "--output", "json"]);
            c
        })
        .stdout,
    ));
    assert_eq!(as_json["error"]["code"], "state_mismatch");

    // The refusal's hint names two commands, each run as printed: `ward log fsck` lists the
    // difference (exit 3, naming the collection, never the token), then
    // `ward log rebuild-projections` derives the state again from the log.
    let printed: Vec<Vec<String>> = stderr
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|c| c.strip_prefix("ward "))
        .map(|c| c.split_whitespace().map(String::from).collect())
        .collect();
    assert_eq!(
        printed,
        [vec!["log", "fsck"], vec!["log", "rebuild-projections"]],
        "{stderr}"
    );
    let fsck = run({
        let mut c = ward(&d, None);
        c.args(&printed[0]);
        c
    });
    let listed = format!(
        "{}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    assert_eq!(fsck.status.code(), Some(3), "{listed}");
    assert!(listed.contains("tokens") && !listed.contains(&viewer), "{listed}");
    // Rebuilt from the log, the state is explained again: serve starts and says so on /metrics.
    ok(run({
        let mut c = ward(&d, None);
        c.args(&printed[1]);
        c
    }));
    let (server, url) = serve(&d, &[]);
    let metrics = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            reqwest::get(format!("{url}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
    drop(server);
    assert!(metrics.contains("ward_state_consistent 1"), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ward_state_checked_timestamp_seconds ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

/// The same refusal on PostgreSQL: a forged approval row, inserted by someone with database
/// access, keeps `ward serve` from starting.
#[test]
fn serve_refuses_state_the_log_cannot_explain_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(ward_store::testing::TestDb::postgres()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, Some(&db.url));
        c.args(["init", "--origin", "bypass.test/log"]);
        c
    }));
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(
            r#"INSERT INTO projections (collection, key, doc, updated_seq) VALUES
               ('approvals', 'chg-1/7', '{"signer":"user:boss","meaning":"approval"}'::jsonb, 7)"#,
        )
        .execute(&mut c)
        .await
        .unwrap();
    });
    let serve_pg = |d: &Path| {
        run({
            let mut c = ward(d, Some(&db.url));
            c.args(["serve", "--listen", "127.0.0.1:0"]);
            c
        })
    };
    let out = serve_pg(&d);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("approvals") && stderr.contains("chg-1/7") && stderr.contains("extra"),
        "{stderr}"
    );
    assert!(!stderr.contains("user:boss"), "{stderr}");
    let fsck = run({
        let mut c = ward(&d, Some(&db.url));
        c.args(["log", "fsck"]);
        c
    });
    assert_eq!(fsck.status.code(), Some(3));
    rt.block_on(db.cleanup());
}

/// Rows forged while the server runs are found by the periodic re-check: the gauge drops to 0.
#[test]
fn state_forged_while_serving_sets_the_gauge_to_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    token(&d, "reader", "viewer");
    let (_server, url) = serve(&d, &["--state-check-interval", "1"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let metrics = || {
        rt.block_on(async {
            reqwest::get(format!("{url}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    };
    assert!(metrics().contains("ward_state_consistent 1"));
    sql(
        &d,
        r#"UPDATE projections SET doc = json_set(doc, '$.roles', json('["admin"]')) WHERE collection = 'tokens'"#,
    );
    let mut seen = String::new();
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        seen = metrics();
        if seen.contains("ward_state_consistent 0") {
            break;
        }
    }
    assert!(seen.contains("ward_state_consistent 0"), "{seen}");
}
