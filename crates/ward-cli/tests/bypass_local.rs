//! Issue 14, item 9: local mode is not a back door. Commands run on the data directory used to
//! act as a local admin identity, so neither the role matrix nor separation of duties applied.
//! Now every person action runs as a named local user (`--as USER`) who re-authenticates, under
//! exactly the server's checks; a refusal records only itself.

mod common;

use common::{json, ok, run, run_with_stdin, ward};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn pw(name: &str) -> String {
    format!("{name}-correct-horse-battery")
}

fn initialised(parent: &Path, db: Option<&str>) -> std::path::PathBuf {
    let d = parent.join("data");
    ok(run({
        let mut c = ward(&d, db);
        c.args(["init"]);
        c
    }));
    d
}

fn add_user(d: &Path, db: Option<&str>, name: &str, roles: &[&str]) {
    ok(run_with_stdin(
        {
            let mut c = ward(d, db);
            c.args([
                "user",
                "add",
                "--name",
                name,
                "--display-name",
                &format!("{name} Example"),
            ]);
            for r in roles {
                c.args(["--role", r]);
            }
            c
        },
        &format!("{}\n", pw(name)),
    ));
}

/// A local command as `name` with `password`.
fn as_user(d: &Path, db: Option<&str>, name: &str, password: &str, args: &[&str]) -> Command {
    let mut c = ward(d, db);
    c.args(["--as", name]).args(args).env("WARD_PASSWORD", password);
    c
}

/// Runs `c` expecting exit 1 and returns the JSON error.
fn refused(mut c: Command) -> Value {
    c.args(["--output", "json"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    json(&String::from_utf8_lossy(&out.stdout))["error"].clone()
}

/// The kinds of every log entry.
fn kinds(d: &Path, db: Option<&str>) -> Vec<String> {
    let out = json(&ok(run({
        let mut c = ward(d, db);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    out["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn local_person_actions_run_as_a_named_reauthenticated_user_under_the_same_checks() {
    let tmp = tempfile::tempdir().unwrap();
    rounds(tmp.path(), None);
}

#[test]
fn local_person_actions_run_as_a_named_reauthenticated_user_under_the_same_checks_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(ward_store::testing::TestDb::postgres()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    rounds(tmp.path(), Some(&db.url));
    rt.block_on(db.cleanup());
}

fn rounds(parent: &Path, db: Option<&str>) {
    let d = initialised(parent, db);
    add_user(&d, db, "dana", &["developer"]);
    add_user(&d, db, "quinn", &["approver"]);
    let digest = format!("sha256:{}", "5a".repeat(32));
    ok(run({
        let mut c = ward(&d, db);
        c.args([
            "artifact",
            "register",
            "--digest",
            &digest,
            "--service",
            "portal",
            "--version",
            "1.0.0",
        ]);
        c
    }));
    let open = ["change", "open", "--title", "Fix reminders", "--artifact", &digest];

    // No person named: refused, nothing recorded.
    let before = kinds(&d, db);
    let e = refused({
        let mut c = ward(&d, db);
        c.args(open);
        c
    });
    assert_eq!(e["code"], "person_required", "{e}");
    assert!(e["hint"].as_str().unwrap().contains("--as USER"), "{e}");
    assert_eq!(kinds(&d, db), before);

    // A wrong password: refused and recorded (it counts toward the signing lockout).
    let e = refused(as_user(&d, db, "dana", "not-danas-password", &open));
    assert_eq!(e["code"], "reauthentication_failed", "{e}");
    let after = kinds(&d, db);
    assert_eq!(&after[before.len()..], ["local.refused"]);

    // The role matrix applies: an approver does not open changes.
    let e = refused(as_user(&d, db, "quinn", &pw("quinn"), &open));
    assert_eq!(e["code"], "forbidden", "{e}");

    // Dana opens it as herself.
    let c = json(&ok(run({
        let mut c = as_user(&d, db, "dana", &pw("dana"), &open);
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(c["opener"], "user:dana");
    let id = c["id"].as_str().unwrap().to_string();

    // Separation of duties applies locally too: Dana cannot sign her own change, and the
    // operator identity cannot promote it.
    add_user(&d, db, "olga", &["developer", "approver"]);
    let e = refused(as_user(
        &d,
        db,
        "dana",
        &pw("dana"),
        &["approve", "--change", &id, "--meaning", "approved"],
    ));
    assert_eq!(e["code"], "forbidden", "a developer does not sign: {e}");
    let mine = json(&ok(run({
        let mut c = as_user(&d, db, "olga", &pw("olga"), &open);
        c.args(["--output", "json"]);
        c
    })));
    let mine = mine["id"].as_str().unwrap().to_string();
    let before = kinds(&d, db);
    let e = refused(as_user(
        &d,
        db,
        "olga",
        &pw("olga"),
        &["approve", "--change", &mine, "--meaning", "approved"],
    ));
    assert_eq!(e["code"], "opener_cannot_sign", "{e}");
    assert_eq!(&kinds(&d, db)[before.len()..], ["approval.refused"]);
    let e = refused({
        let mut c = ward(&d, db);
        c.args(["promote", "--change", &id, "--to", "prod"]);
        c
    });
    assert_eq!(e["code"], "person_required", "{e}");

    // A token that acts as a person is made by that person with their password, never by the
    // operator for them.
    let e = refused({
        let mut c = ward(&d, db);
        c.args([
            "token", "create", "--name", "q", "--user", "quinn", "--role", "approver",
        ]);
        c.env_remove("WARD_PASSWORD");
        c
    });
    assert_eq!(e["code"], "reauthentication_required", "{e}");
    let t = json(&ok(run({
        let mut c = ward(&d, db);
        c.args([
            "token", "create", "--name", "q", "--user", "quinn", "--role", "approver", "--output", "json",
        ]);
        c.env("WARD_PASSWORD", pw("quinn"));
        c
    })));
    assert_eq!(t["record"]["created_by"], "user:quinn");

    // Item 1 locally: the opener cannot waive her own change; nobody waives approvals.
    add_user(&d, db, "quinn2", &["approver"]);
    let waive = |who: &str, rule: &str| {
        as_user(
            &d,
            db,
            who,
            &pw(who),
            &[
                "waiver",
                "grant",
                "--change",
                &mine,
                "--rule",
                rule,
                "--justification",
                "scanner outage for the whole day",
                "--compensating-control",
                "manual review of the diff",
                "--owner",
                "user:sam",
                "--expires",
                "1d",
            ],
        )
    };
    assert_eq!(refused(waive("olga", "evidence."))["code"], "opener_cannot_sign");
    assert_eq!(refused(waive("quinn2", "approvals.quorum"))["code"], "unwaivable_rule");
    // Item 3 locally: the opener cannot override her change's tier.
    let e = refused(as_user(
        &d,
        db,
        "olga",
        &pw("olga"),
        &[
            "change",
            "classify",
            &mine,
            "--tier",
            "high",
            "--reason",
            "I want more eyes on it",
        ],
    ));
    assert_eq!(e["code"], "opener_cannot_sign", "{e}");
    // Item 6 locally: repeated wrong passwords lock signing, here as on the server.
    for _ in 0..5 {
        let e = refused(as_user(
            &d,
            db,
            "quinn2",
            "wrong-password-guess",
            &["approve", "--change", &mine, "--meaning", "approved"],
        ));
        assert_eq!(e["code"], "reauthentication_failed", "{e}");
    }
    let e = refused(as_user(
        &d,
        db,
        "quinn2",
        &pw("quinn2"),
        &["approve", "--change", &mine, "--meaning", "approved"],
    ));
    assert_eq!(e["code"], "signing_locked", "{e}");
}
