//! `ward config check`: the configuration a new user writes — a `[controls]` naming only `high`,
//! as the docs show — still leaves medium and low their built-in controls, and that is what the
//! command prints; a file that would leave a tier with no controls is refused naming it.

mod common;
use common::{json, ok, run, ward};

fn check(d: &std::path::Path, toml: Option<&str>, extra: &[&str]) -> std::process::Output {
    if let Some(t) = toml {
        std::fs::write(d.join("ward.toml"), t).unwrap();
    }
    let mut c = ward(d, None);
    c.args(["config", "check"]).args(extra);
    run(c)
}

#[test]
fn partial_controls_print_inherited_defaults_and_bad_files_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // No ward.toml: the built-in defaults.
    let out = ok(check(d, None, &[]));
    assert!(out.contains("built-in defaults apply"), "{out}");
    // Only `high` named: medium and low keep their defaults; high keeps the keys it did not name.
    let v = json(&ok(check(
        d,
        Some("[controls.tiers.high]\napprovals = 3\n\n[[environments]]\nname = \"prod\"\n"),
        &["--output", "json"],
    )));
    let tiers = &v["controls"]["tiers"];
    assert_eq!(tiers["medium"]["approvals"], 1, "{v}");
    assert_eq!(tiers["medium"]["ticket"], true, "{v}");
    assert_eq!(
        tiers["medium"]["evidence"],
        serde_json::json!(["tests_passed", "no_critical_sast", "sbom"])
    );
    assert_eq!(tiers["low"]["evidence"], serde_json::json!(["tests_passed"]));
    assert_eq!(tiers["high"]["approvals"], 3);
    assert_eq!(tiers["high"]["roles"]["release-manager"], 1);
    assert_eq!(tiers["high"]["evidence_waiver_approvers"], 2);
    let envs = v["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2, "{v}");
    assert_eq!(envs[1]["environment"], "prod");
    assert!(envs[1]["policy_digest"].as_str().unwrap().starts_with("sha256:"));
    let text = ok(check(d, None, &[]));
    assert!(text.contains("medium") && text.contains("ticket: required"), "{text}");
    // A tier left requiring nothing, an unknown tier: exit 1 naming it.
    for (bad, want) in [
        (
            "[controls.tiers.low]\nevidence = []\napprovals = 0\n",
            "[controls.tiers.low] requires nothing",
        ),
        ("[controls.tiers.urgent]\napprovals = 2\n", "unknown tier \"urgent\""),
    ] {
        let out = check(d, Some(bad), &[]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want) && err.contains("ward.toml"), "{err}");
        // ward serve loads it through the same validation.
        let mut c = ward(d, None);
        c.args(["serve", "--listen", "127.0.0.1:0"]);
        let served = run(c);
        assert_eq!(served.status.code(), Some(1), "{bad}");
        assert!(String::from_utf8_lossy(&served.stderr).contains(want));
    }
}

/// Polls `f` until it holds (a server notices a new `ward.toml` within its 2 s poll).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_running_server_reloads_a_valid_ward_toml_and_keeps_its_own_when_the_new_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    let first = "[controls.tiers.high]\napprovals = 3\n\n[[environments]]\nname = \"prod\"\n";
    std::fs::write(d.join("ward.toml"), first).unwrap();
    let (server, url) = common::serve_with(&d, &[]);
    let tok = common::token(&d, "viewer", "viewer");
    let dev = common::token(&d, "dev", "developer");
    let check = || {
        let mut c = ward(&d, None);
        c.args(["--server", &url, "config", "check", "--output", "json"])
            .env("WARD_TOKEN", &tok);
        let out = run(c);
        (out.status.code(), json(&String::from_utf8_lossy(&out.stdout)))
    };
    let (code, same) = check();
    assert_eq!(code, Some(0));
    assert_eq!(same["server_runs_this_file"], true, "{same:#}");
    let first_digest = same["digest"].clone();
    let loaded = || {
        let entries = json(&ok(run({
            let mut c = ward(&d, None);
            c.args(["log", "show", "--output", "json"]);
            c
        })));
        entries["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["kind"] == "config.loaded")
            .map(|e| e["event"]["payload"]["inline"]["digest"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(loaded(), vec![first_digest.clone()]);
    // A change, and its gate in prod as the server judges it (no freeze under this file).
    let change = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "--server",
            &url,
            "change",
            "open",
            "--title",
            "Export fix",
            "--env",
            "prod",
            "--output",
            "json",
        ])
        .env("WARD_TOKEN", &dev);
        c
    })))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let freeze_named = || {
        let mut c = ward(&d, None);
        c.args([
            "--server", &url, "gate", "check", "--change", &change, "--env", "prod", "--output", "json",
        ])
        .env("WARD_TOKEN", &dev);
        let out = run(c);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            stdout.contains("\"reasons\""),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout.contains("reload-freeze")
    };
    assert!(!freeze_named());

    // A valid edit: the server takes it within its poll, records it, and decides by it.
    let second = format!(
        "{first}\n[[calendar.freezes]]\nname = \"reload-freeze\"\nfrom = \"2000-01-01\"\nto = \"2999-12-31\"\ntz = \"UTC\"\n"
    );
    std::fs::write(d.join("ward.toml"), &second).unwrap();
    eventually("the server runs the edited file", || {
        let (code, v) = check();
        code == Some(0) && v["server_runs_this_file"] == true && v["digest"] != first_digest
    });
    let second_digest = check().1["digest"].clone();
    assert_eq!(loaded(), vec![first_digest.clone(), second_digest.clone()]);
    assert!(freeze_named(), "the reloaded calendar decides the gate");

    // An invalid file: refused, nothing recorded; the server still runs the second file (put
    // back, it is the file the server runs, with no new entry).
    std::fs::write(d.join("ward.toml"), "[controls.tiers.high]\napprovals = \"many\"\n").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(loaded().len(), 2);
    std::fs::write(d.join("ward.toml"), &second).unwrap();
    let (code, v) = check();
    assert_eq!((code, &v["server"]["digest"]), (Some(0), &second_digest), "{v:#}");
    // A file that changes the environments (bound at start): refused, and config check says the
    // server runs another file (exit 6, naming both).
    std::fs::write(
        d.join("ward.toml"),
        format!("{second}\n[[environments]]\nname = \"staging\"\n"),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(5));
    let (code, v) = check();
    assert_eq!(code, Some(6), "{v:#}");
    assert_eq!(v["server_runs_this_file"], false, "{v:#}");
    assert_eq!(v["server"]["digest"], second_digest, "{v:#}");
    assert_eq!(loaded().len(), 2);

    // SIGHUP: the server does not die of it; it reloads the file (here a valid one again).
    let third = format!("{second}\n[controls.tiers.medium]\napprovals = 2\n");
    std::fs::write(d.join("ward.toml"), &third).unwrap();
    let pid = server.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    eventually("the server runs the third file", || {
        let (code, v) = check();
        code == Some(0) && v["server_runs_this_file"] == true && v["digest"] != second_digest
    });
    assert_eq!(loaded().len(), 3);
}
