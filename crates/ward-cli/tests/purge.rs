//! `ward purge` in local mode: two people, re-authenticated; afterwards `ward verify` of a new
//! export passes and prints the document as purged by its entry, `ward change show` marks the
//! title purged, and no byte of the planted text is left in the data directory or the export.

mod common;

use common::{add_user, as_user, json, ok, run, ward};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const MARKER: &str = "PLANTED-7f3a9c";

fn refused(mut c: Command) -> Value {
    c.args(["--output", "json"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    json(&String::from_utf8_lossy(&out.stdout))["error"].clone()
}

fn grep_dir(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            hits.extend(grep_dir(&p, needle));
        } else if std::fs::read(&p).is_ok_and(|d| d.windows(needle.len()).any(|w| w == needle.as_bytes())) {
            hits.push(p.display().to_string());
        }
    }
    hits
}

#[test]
fn planted_title_is_purged_by_a_privacy_officer_and_an_admin_and_verify_reports_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    add_user(&d, None, "dana", &["developer"]);
    add_user(&d, None, "priya", &["privacy-officer"]);
    add_user(&d, None, "sam", &["admin"]);
    let digest = format!("sha256:{}", "5b".repeat(32));
    ok(run({
        let mut c = ward(&d, None);
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
    let title = format!("Fix {MARKER} reminders");
    let opened = json(&ok(run(as_user(
        &d,
        None,
        "dana",
        &[
            "change",
            "open",
            "--title",
            &title,
            "--artifact",
            &digest,
            "--output",
            "json",
        ],
    ))));
    let id = opened["id"].as_str().expect("id").to_string();

    // The log holds a reference; the reference names the document to purge.
    let log = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    let entry = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["kind"] == "change.opened")
        .expect("change.opened")
        .clone();
    assert!(!entry.to_string().contains(MARKER));
    let reference = entry["event"]["payload"]["inline"]["title"]
        .as_str()
        .expect("title")
        .to_string();
    assert!(reference.starts_with("doc:sha256:"), "{reference}");

    let reason = "a patient identifier was typed into the title";
    // A developer has no purge role; the admin cannot start one; the requester cannot finish.
    let e = refused(as_user(&d, None, "dana", &["purge", &reference, "--reason", reason]));
    assert_eq!(e["code"], "forbidden", "{e}");
    let e = refused(as_user(&d, None, "sam", &["purge", &reference, "--reason", reason]));
    assert_eq!(e["code"], "privacy_officer_required", "{e}");
    let req = json(&ok(run(as_user(
        &d,
        None,
        "priya",
        &["purge", &reference, "--reason", reason, "--output", "json"],
    ))));
    assert_eq!(req["status"], "requested");
    let e = refused(as_user(&d, None, "priya", &["purge", &reference, "--reason", reason]));
    assert_eq!(e["code"], "second_person_required", "{e}");
    let shown = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["change", "show", &id, "--output", "json"]);
        c
    })));
    assert_eq!(shown["title"], title, "a request alone deletes nothing");

    let done = json(&ok(run(as_user(
        &d,
        None,
        "sam",
        &["purge", &reference, "--reason", reason, "--output", "json"],
    ))));
    assert_eq!(done["status"], "purged");
    let seq = done["seq"].as_u64().unwrap();
    let shown = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["change", "show", &id, "--output", "json"]);
        c
    })));
    assert_eq!(shown["title"], format!("[purged by entry {seq}]"));

    // fsck clean; a new export verifies and names the purge; no byte of the text anywhere.
    ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "fsck"]);
        c
    }));
    let exp = tmp.path().join("export");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "export", "--out"]).arg(&exp);
        c
    }));
    let printed = ok(run({
        let mut c = ward(&d, None);
        c.arg("verify").arg(&exp).arg("--key").arg(d.join("log.pub"));
        c
    }));
    let doc = reference.trim_start_matches("doc:");
    assert!(
        printed.contains(&format!("document {doc} purged by entry {seq}")),
        "{printed}"
    );
    assert_eq!(grep_dir(&exp, MARKER), Vec::<String>::new());
    assert_eq!(grep_dir(&d, MARKER), Vec::<String>::new());
}

/// Attack on `e1f21bd`: bytes two people purged, published again as an environment's
/// configuration, were reported "published" while not stored, and the environment could no
/// longer be deployed to. A person publishing them is refused (409 `evidence_purged`; while
/// the purge is pending, 409 `purge_pending`), and nothing is appended.
#[test]
fn purged_bytes_are_refused_as_a_configuration_not_published_unstored() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    std::fs::write(d.join("ward.toml"), "[[environments]]\nname = \"staging\"\n").unwrap();
    add_user(&d, None, "priya", &["privacy-officer"]);
    add_user(&d, None, "sam", &["admin"]);
    add_user(&d, None, "rita", &["release-manager"]);
    let digest = format!("sha256:{}", "5c".repeat(32));
    ok(run(common::register_command(&d, &digest, "portal", "1.0.0", &[])));
    let schema = tmp.path().join("any.schema.json");
    std::fs::write(&schema, "{}").unwrap();
    ok(run({
        let mut c = ward(&d, None);
        c.args(["attest", "type", "add", "anyjson", "--schema", schema.to_str().unwrap()]);
        c
    }));
    // The canonical JSON a configuration of these values is stored as.
    let cfg = tmp.path().join("cfg.json");
    std::fs::write(&cfg, r#"{"database":{"host":"db2.staging.internal"}}"#).unwrap();
    let cfg = cfg.to_str().unwrap();
    let attested = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "attest",
            "add",
            cfg,
            "--artifact",
            &digest,
            "--type",
            "custom:anyjson",
            "--output",
            "json",
        ]);
        c
    })));
    let id = attested["id"].as_str().expect("id").to_string();
    let reason = "a host name that identifies a clinic";
    let size = |d: &Path| {
        json(&ok(run({
            let mut c = ward(d, None);
            c.args(["log", "status", "--output", "json"]);
            c
        })))["size"]
            .clone()
    };
    ok(run(as_user(&d, None, "priya", &["purge", &id, "--reason", reason])));
    // Attack on `b900cd1`: published while the purge was pending, the bytes became Ward's own
    // record and the second person could no longer complete it.
    let before = size(&d);
    let e = refused(as_user(&d, None, "rita", &["config", "set", "--env", "staging", cfg]));
    assert_eq!(e["code"], "purge_pending", "{e}");
    assert_eq!(size(&d), before, "nothing was published");
    ok(run(as_user(&d, None, "sam", &["purge", &id, "--reason", reason])));
    let before = size(&d);
    let e = refused(as_user(&d, None, "rita", &["config", "set", "--env", "staging", cfg]));
    assert_eq!(e["code"], "evidence_purged", "{e}");
    assert_eq!(size(&d), before, "nothing was published");
}

/// The bytes of the effective configuration Ward records for a whole environment published as
/// `bundle` with `values` (what `config::effective` stores; predictable by anyone who can read
/// the published values).
fn effective_bytes(env: &str, bundle: &str, values: &Value) -> Vec<u8> {
    ward_ledger::envelope::canonical_json(
        &serde_json::json!({ "environment": env, "tenant": null, "bundles": [bundle], "values": values }),
    )
    .unwrap()
}

/// Attack on `1391f59`: an environment's effective configuration is predictable; attested and
/// its purge requested before a promote, the deployment recorded it while the purge was
/// pending, the completion (which counted only records older than the request) deleted it,
/// `ward rollback` to it then failed and `ward log fsck` said OK. A promote is refused while a
/// purge of its effective configuration is pending (`purge_pending`) and after one deleted it
/// (`evidence_purged`), recording no deployment; a configuration a deployment recorded is never
/// purgeable (`not_purgeable`), whenever the request comes; the rollback works.
#[test]
fn a_purge_never_takes_a_configuration_a_deployment_rolls_back_to() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    std::fs::write(
        d.join("ward.toml"),
        "[controls.tiers.low]\nevidence = [\"tests_passed\"]\napprovals = 1\n\n\
         [controls.tiers.medium]\nevidence = [\"tests_passed\"]\napprovals = 1\n\n\
         [controls.tiers.high]\nevidence = [\"tests_passed\"]\napprovals = 1\nroles = {}\n\n\
         [[environments]]\nname = \"prod\"\n",
    )
    .unwrap();
    for (name, role) in [
        ("dana", "developer"),
        ("quinn", "approver"),
        ("rita", "release-manager"),
        ("priya", "privacy-officer"),
        ("sam", "admin"),
    ] {
        add_user(&d, None, name, &[role]);
    }
    let schema = tmp.path().join("any.schema.json");
    std::fs::write(&schema, "{}").unwrap();
    ok(run({
        let mut c = ward(&d, None);
        c.args(["attest", "type", "add", "anyjson", "--schema", schema.to_str().unwrap()]);
        c
    }));
    let junit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures/pytest-passing.xml");
    // A change approved by Quinn, ready to promote.
    let change = |n: u8| {
        let digest = format!("sha256:{}", format!("{n:02x}").repeat(32));
        ok(run(common::register_command(
            &d,
            &digest,
            "portal",
            &format!("2.{n}.0"),
            &[],
        )));
        ok(run({
            let mut c = ward(&d, None);
            c.args(["attest", "add", "--artifact", &digest, "--type", "junit"])
                .arg(&junit);
            c
        }));
        let id = common::open_change(as_user(&d, None, "dana", &[]), &format!("release {n}"), &digest);
        ok(run(as_user(
            &d,
            None,
            "quinn",
            &["approve", "--change", &id, "--meaning", "approved"],
        )));
        (id, digest)
    };
    let publish = |n: u8| {
        let values = serde_json::json!({ "database": { "host": format!("db{n}.prod.internal") } });
        let file = tmp.path().join(format!("cfg{n}.json"));
        std::fs::write(&file, values.to_string()).unwrap();
        let out = json(&ok(run({
            let mut c = as_user(&d, None, "rita", &["config", "set", "--env", "prod"]);
            c.arg(&file).args(["--output", "json"]);
            c
        })));
        effective_bytes("prod", out["digest"].as_str().expect("digest"), &values)
    };
    let (first, first_artifact) = change(1);
    let (second, _) = change(2);
    // Someone attests the bytes (any artifact) and has their purge requested.
    let attest = |bytes: &[u8], n: u8| {
        let file = tmp.path().join(format!("effective{n}.json"));
        std::fs::write(&file, bytes).unwrap();
        json(&ok(run({
            let mut c = ward(&d, None);
            c.args([
                "attest",
                "add",
                "--artifact",
                &first_artifact,
                "--type",
                "custom:anyjson",
            ])
            .arg(&file)
            .args(["--output", "json"]);
            c
        })))["id"]
            .as_str()
            .expect("id")
            .to_string()
    };
    let entries = || {
        json(&ok(run({
            let mut c = ward(&d, None);
            c.args(["log", "status", "--output", "json"]);
            c
        })))["size"]
            .as_u64()
            .expect("size")
    };
    let promote = |id: &str| as_user(&d, None, "rita", &["promote", "--change", id, "--to", "prod"]);
    let reason = "a host name that identifies a clinic";

    // Recorded first: the deployment's configuration is never purgeable afterwards.
    let recorded = publish(1);
    let dep = json(&ok(run({
        let mut c = promote(&first);
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(dep["status"], "succeeded", "{dep:#}");
    let id = attest(&recorded, 1);
    assert_eq!(
        dep["targets"][0]["config_digest"].as_str(),
        Some(id.as_str()),
        "the prediction is the recorded configuration: {dep:#}"
    );
    let e = refused(as_user(&d, None, "priya", &["purge", &id, "--reason", reason]));
    assert_eq!(e["code"], "not_purgeable", "{e}");

    // Requested first: no promote records it while the purge is pending, nor after it.
    let predicted = publish(2);
    let id = attest(&predicted, 2);
    ok(run(as_user(&d, None, "priya", &["purge", &id, "--reason", reason])));
    // Refused before the gate decides (attack on `75015ec`: a gate decision was recorded).
    let before = entries();
    let e = refused(promote(&second));
    assert_eq!(e["code"], "purge_pending", "{e}");
    assert_eq!(entries(), before, "nothing was recorded");
    ok(run(as_user(&d, None, "sam", &["purge", &id, "--reason", reason])));
    let before = entries();
    let e = refused(promote(&second));
    assert_eq!(e["code"], "evidence_purged", "{e}");
    assert_eq!(entries(), before, "nothing was recorded");
    // The hint works: a corrected configuration is deployed, and rolled back from.
    publish(3);
    ok(run(promote(&second)));
    let back = json(&ok(run(as_user(
        &d,
        None,
        "rita",
        &["rollback", "--env", "prod", "--output", "json"],
    ))));
    assert_eq!(back["status"], "succeeded", "{back:#}");
    assert_eq!(back["change"].as_str(), Some(first.as_str()), "{back:#}");
    assert_eq!(back["targets"][0]["config_digest"], dep["targets"][0]["config_digest"]);

    // Attack on `75015ec`: the gate's policy is predictable from ward.toml (a copy of the data
    // directory evaluates it); attested and purged before its first use, every later decision
    // was recorded without it and could not be replayed. The gate refuses it instead.
    let sla = "\n[controls.sla]\nhigh = 48\n";
    let scratch = tmp.path().join("scratch");
    copy_dir(&d, &scratch);
    let toml = std::fs::read_to_string(d.join("ward.toml")).unwrap() + sla;
    std::fs::write(scratch.join("ward.toml"), &toml).unwrap();
    let check = |dir: &Path| {
        let mut c = ward(dir, None);
        c.args(["gate", "check", "--change", &second, "--env", "prod"]);
        c
    };
    let policy = json(&ok(run({
        let mut c = check(&scratch);
        c.args(["--output", "json"]);
        c
    })))["policy_digest"]
        .as_str()
        .expect("policy digest")
        .to_string();
    let bytes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = ward_store::open(&format!("sqlite://{}", scratch.join("ward.db").display()))
                .await
                .expect("the copy's store");
            store
                .evidence(&policy)
                .await
                .expect("read")
                .expect("the policy is stored")
        });
    std::fs::write(d.join("ward.toml"), &toml).unwrap();
    let id = attest(&bytes, 3);
    assert_eq!(id, policy);
    ok(run(as_user(&d, None, "priya", &["purge", &id, "--reason", reason])));
    ok(run(as_user(&d, None, "sam", &["purge", &id, "--reason", reason])));
    let before = entries();
    let e = refused(check(&d));
    assert_eq!(e["code"], "evidence_purged", "{e}");
    assert_eq!(entries(), before, "no decision without its policy");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "fsck"]);
        c
    }));
}

/// Copies a data directory (a store at rest).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
