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

#[test]
fn a_server_running_another_ward_toml_is_named_by_config_check() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    std::fs::write(d.join("ward.toml"), "[controls.tiers.high]\napprovals = 3\n").unwrap();
    let (_server, url) = common::serve_with(&d, &[]);
    let tok = common::token(&d, "viewer", "viewer");
    let check = || {
        let mut c = ward(&d, None);
        c.args(["--server", &url, "config", "check", "--output", "json"])
            .env("WARD_TOKEN", &tok);
        run(c)
    };
    let same = json(&ok(check()));
    assert_eq!(same["server_runs_this_file"], true, "{same:#}");
    assert_eq!(same["server"]["digest"], same["digest"]);
    // The server recorded what it loaded.
    let entries = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "show", "--output", "json"]);
        c
    })));
    let loaded = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["kind"] == "config.loaded")
        .unwrap_or_else(|| panic!("{entries:#}"))
        .clone();
    assert_eq!(loaded["event"]["payload"]["inline"]["digest"], same["digest"]);
    // Someone edits ward.toml: local commands read the new file, the server still runs the old
    // one — and config check says so (exit 6), naming both.
    std::fs::write(d.join("ward.toml"), "[controls.tiers.high]\napprovals = 4\n").unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(v["server_runs_this_file"], false, "{v:#}");
    assert_ne!(v["server"]["digest"], v["digest"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("restart ward serve"), "{stderr}");
}
