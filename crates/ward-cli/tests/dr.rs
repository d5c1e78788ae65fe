//! `ward dr status` and `ward dr restore-test` as a user runs them: an inventory in ward.toml,
//! backup evidence attached with `ward attest add --type dr:…`, a restore test signed by the
//! operator; the status names each missing piece with the store and the age and exits 10 while
//! a service is not ready.

mod common;

use common::{add_user, as_user, json, ok, run, serve_with, token, ward};
use std::path::Path;
use std::process::Command;

const H: i64 = 3_600;
const D: i64 = 86_400;

fn setup(d: &Path) {
    ok(run({
        let mut c = ward(d, None);
        c.args(["init"]);
        c
    }));
    std::fs::write(
        d.join("ward.toml"),
        r#"
[[environments]]
name = "prod"

[[services]]
name = "orders"
tier = "high"
rpo = "24h"
rto = "1h"
stores = ["orders-db"]

[[services]]
name = "reminders"
tier = "low"
rpo = "7d"
rto = "4h"
stores = []
"#,
    )
    .unwrap();
}

/// pgBackRest `info --output=json` for stanza `orders-db` with one full backup that finished
/// at `stop` (the shape the tool prints; see tests/fixtures/dr in ward-evidence).
fn pgbackrest_info(stop: i64) -> String {
    format!(
        r#"[{{"archive":[],"backup":[{{"backrest":{{"format":5,"version":"2.45"}},"database":{{"id":1,"repo-key":1}},"error":false,"info":{{"delta":1000,"repository":{{"delta":100,"size":100}},"size":1000}},"label":"F1","prior":null,"reference":null,"timestamp":{{"start":{},"stop":{stop}}},"type":"full"}}],"cipher":"none","db":[],"name":"orders-db","repo":[],"status":{{"code":0,"lock":{{"backup":{{"held":false}}}},"message":"ok"}}}}]"#,
        stop - 60
    )
}

fn status(d: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = run({
        let mut c = ward(d, None);
        c.args(["dr", "status", "--output", "json"]).args(extra);
        c
    });
    (out.status.code(), json(&String::from_utf8_lossy(&out.stdout)))
}

fn gaps(s: &serde_json::Value, service: &str) -> Vec<String> {
    s["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["service"] == service)
        .unwrap()["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["reason"].as_str().unwrap().to_string())
        .collect()
}

fn attest(d: &Path, kind: &str, file: &Path, target: &[&str]) -> std::process::Output {
    run({
        let mut c: Command = ward(d, None);
        c.args(["attest", "add", "--type", kind]).args(target).arg(file);
        c
    })
}

#[test]
fn a_service_with_a_stale_backup_and_no_restore_test_is_not_ready_until_both_are_fresh() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    setup(&d);
    let now = jiff::Timestamp::now().as_second();

    // Nothing yet: the declared store has no backup, no restore test, no drill; the stateless
    // low-tier service is ready.
    let (code, s) = status(&d, &[]);
    assert_eq!(code, Some(10), "{s}");
    assert_eq!(
        gaps(&s, "orders"),
        [
            "store orders-db: no successful backup",
            "store orders-db: no signed restore test (the high tier needs one within 90 days)",
            "no rollback drill; a high-risk change of a high tier service needs one within 30 days",
        ]
    );
    assert!(gaps(&s, "reminders").is_empty(), "{s}");

    // A backup 30 hours old: attached, but older than the 24 h RPO.
    let old = tmp.path().join("old.json");
    std::fs::write(&old, pgbackrest_info(now - 30 * H)).unwrap();
    let att = json(&ok(attest(&d, "dr:pgbackrest", &old, &["--output", "json"])));
    assert_eq!(att["type"], "dr:pgbackrest");
    assert_eq!(att["artifact"], "DR");
    let (_, s) = status(&d, &["--service", "orders"]);
    assert!(
        gaps(&s, "orders")[0].starts_with("store orders-db: last successful backup 30h ago, RPO 24h")
            || gaps(&s, "orders")[0].starts_with("store orders-db: last successful backup 30h1m ago, RPO 24h"),
        "{s}"
    );

    // A fresh backup and a restore test signed by the operator: only the drill is missing.
    let fresh = tmp.path().join("fresh.json");
    std::fs::write(&fresh, pgbackrest_info(now - 2 * H)).unwrap();
    ok(attest(&d, "dr:pgbackrest", &fresh, &[]));
    let finished = jiff::Timestamp::from_second(now - D).unwrap().to_string();
    add_user(&d, None, "dana", &["release-manager"]);
    let rec = json(&ok(run({
        let mut c = as_user(&d, None, "dana", &[]);
        c.args([
            "dr",
            "restore-test",
            "--store",
            "orders-db",
            "--finished",
            &finished,
            "--duration",
            "20m",
            "--checked",
            "row counts match; the smoke test passed",
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(rec["duration_secs"], 1200);
    assert_eq!(
        (rec["printed_name"].as_str(), rec["reauth"].as_str()),
        (Some("dana Example"), Some("password"))
    );
    assert_eq!(rec["checked"], "row counts match; the smoke test passed");
    let (code, s) = status(&d, &["--service", "orders"]);
    assert_eq!(code, Some(10));
    assert_eq!(
        gaps(&s, "orders"),
        ["no rollback drill; a high-risk change of a high tier service needs one within 30 days"]
    );
    assert_eq!(s["services"][0]["stores"][0]["restore_secs"], 1200);
}

#[test]
fn backup_evidence_cannot_be_attached_to_an_artifact_nor_a_report_to_the_dr_target() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    setup(&d);
    let info = tmp.path().join("info.json");
    std::fs::write(&info, pgbackrest_info(1_796_000_000)).unwrap();
    let digest = format!("sha256:{}", "ab".repeat(32));
    let on_artifact = attest(&d, "dr:pgbackrest", &info, &["--artifact", &digest]);
    assert_eq!(on_artifact.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&on_artifact.stderr).contains("not one artifact or change"));
    // A report of another kind with no target is refused, not filed under DR.
    let no_target = attest(&d, "sarif", &info, &[]);
    assert_eq!(no_target.status.code(), Some(1));
    // A Velero document passed as pgBackRest output is refused (nothing stored).
    let velero = tmp.path().join("velero.json");
    std::fs::write(
        &velero,
        r#"{"apiVersion":"velero.io/v1","kind":"Backup","metadata":{"name":"b"},"status":{"phase":"Completed"}}"#,
    )
    .unwrap();
    assert_eq!(attest(&d, "dr:pgbackrest", &velero, &[]).status.code(), Some(1));
    ok(attest(&d, "dr:velero", &velero, &[]));
}

#[test]
fn a_restore_test_in_the_future_or_without_what_was_checked_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    setup(&d);
    add_user(&d, None, "dana", &["release-manager"]);
    let restore = |finished: &str, duration: &str, checked: &str| {
        run({
            let mut c = as_user(&d, None, "dana", &[]);
            c.args([
                "dr",
                "restore-test",
                "--store",
                "orders-db",
                "--finished",
                finished,
                "--duration",
                duration,
                "--checked",
                checked,
            ]);
            c
        })
    };
    let future = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 10 * D)
        .unwrap()
        .to_string();
    assert_eq!(restore(&future, "20m", "rows").status.code(), Some(1));
    assert_eq!(restore("2026-12-01T10:00:00Z", "20m", " ").status.code(), Some(1));
    assert_eq!(restore("yesterday", "20m", "rows").status.code(), Some(1));
    assert_eq!(restore("2026-12-01T10:00:00Z", "twenty", "rows").status.code(), Some(1));
    // Without --as, nobody signs it.
    let anonymous = run({
        let mut c = ward(&d, None);
        c.args([
            "dr",
            "restore-test",
            "--store",
            "orders-db",
            "--finished",
            "2026-12-01T10:00:00Z",
            "--duration",
            "20m",
            "--checked",
            "rows",
        ]);
        c
    });
    assert_eq!(anonymous.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&anonymous.stderr).contains("person"),
        "{anonymous:?}"
    );
}

#[test]
fn through_a_server_the_status_is_the_same_and_automation_cannot_sign_a_restore_test() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    setup(&d);
    let now = jiff::Timestamp::now().as_second();
    let info = tmp.path().join("info.json");
    std::fs::write(&info, pgbackrest_info(now - 30 * H)).unwrap();
    ok(attest(&d, "dr:pgbackrest", &info, &[]));
    let ci = token(&d, "ci", "developer");
    let (_server, url) = serve_with(&d, &[]);
    let remote = |args: &[&str]| {
        let mut c = ward(&d, None);
        c.args(["--server", &url]).env("WARD_TOKEN", &ci).args(args);
        run(c)
    };
    let out = remote(&["dr", "status", "--service", "orders", "--output", "json"]);
    assert_eq!(out.status.code(), Some(10));
    let s = json(&String::from_utf8_lossy(&out.stdout));
    let (_, local) = status(&d, &["--service", "orders"]);
    assert_eq!(gaps(&s, "orders"), gaps(&local, "orders"));
    assert!(gaps(&s, "orders")[0].contains("RPO 24h"), "{s}");
    // A token is automation, even one whose role may sign restore tests: a restore test is a
    // person's statement.
    let bot = token(&d, "deploybot", "release-manager");
    let out = run({
        let mut c = ward(&d, None);
        c.args(["--server", &url]).env("WARD_TOKEN", &bot).args([
            "dr",
            "restore-test",
            "--store",
            "orders-db",
            "--finished",
            "2026-12-01T10:00:00Z",
            "--duration",
            "20m",
            "--checked",
            "rows",
        ]);
        c
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("person"), "{out:?}");
    // An unknown service is named.
    let out = remote(&["dr", "status", "--service", "billing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("billing"), "{out:?}");
}
