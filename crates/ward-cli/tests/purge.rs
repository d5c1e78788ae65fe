//! `ward purge` in local mode: two people, re-authenticated; afterwards `ward verify` of a new
//! export passes and prints the document as purged by its entry, `ward change show` marks the
//! title purged, and no byte of the planted text is left in the data directory or the export.

mod common;

use common::{add_user, as_user, json, ok, run, run_with_stdin, ward};
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

/// A new data directory under `tmp` with dana (developer), priya (privacy officer) and sam
/// (admin), and artifact `sha256:<byte repeated>` registered as portal 1.0.0.
fn initialised(tmp: &Path, byte: &str) -> (std::path::PathBuf, String) {
    let d = tmp.join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    add_user(&d, None, "dana", &["developer"]);
    add_user(&d, None, "priya", &["privacy-officer"]);
    add_user(&d, None, "sam", &["admin"]);
    let digest = format!("sha256:{}", byte.repeat(32));
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
    (d, digest)
}

/// `ward log fsck` passes on `d`, a new export (`tmp/export`) passes `ward verify`: the export's
/// directory and what verify printed.
fn fsck_export_verified(d: &Path, tmp: &Path) -> (std::path::PathBuf, String) {
    ok(run({
        let mut c = ward(d, None);
        c.args(["log", "fsck"]);
        c
    }));
    let exp = tmp.join("export");
    ok(run({
        let mut c = ward(d, None);
        c.args(["log", "export", "--out"]).arg(&exp);
        c
    }));
    let printed = ok(run({
        let mut c = ward(d, None);
        c.arg("verify").arg(&exp).arg("--key").arg(d.join("log.pub"));
        c
    }));
    (exp, printed)
}

#[test]
fn planted_title_is_purged_by_a_privacy_officer_and_an_admin_and_verify_reports_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, digest) = initialised(tmp.path(), "5b");
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
    let (exp, printed) = fsck_export_verified(&d, tmp.path());
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
/// What a CI writes freely into a registration — branch, build id, build URL — was kept in the
/// leaf for good, so a name and birth date the identifier rules missed (every attacker round
/// found new shapes) could never be taken back. They are documents beside the log now: the leaf
/// holds references, `artifact show` reads the texts, a registration repeated as it was is still
/// a no-op, and a purge by two people leaves no byte of the text in the data directory or a new
/// export, which still verifies.
#[test]
fn a_build_url_the_identifier_rules_missed_is_purged_and_the_chain_still_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    add_user(&d, None, "priya", &["privacy-officer"]);
    add_user(&d, None, "sam", &["admin"]);
    let digest = format!("sha256:{}", "5c".repeat(32));
    let branch = format!("feature/{MARKER}-reminders");
    let build_id = format!("build-{MARKER}");
    let build_url = format!("https://ci.example.org/{MARKER}/jobs/42");
    let register_on = |branch: &str| {
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
            "--branch",
            branch,
            "--build-id",
            &build_id,
            "--build-url",
            &build_url,
        ]);
        c
    };
    let register = || register_on(&branch);
    ok(run(register()));
    let log = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    let entry = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["kind"] == "artifact.registered")
        .expect("artifact.registered")
        .clone();
    assert!(!entry.to_string().contains(MARKER), "{entry}");
    let payload = &entry["event"]["payload"]["inline"];
    for field in ["branch", "build_id", "build_url"] {
        assert!(
            payload[field].as_str().unwrap().starts_with("doc:sha256:"),
            "{field}: {payload}"
        );
    }
    assert_eq!(payload["service"], "portal", "structure stays in the leaf");
    let show = || {
        json(&ok(run({
            let mut c = ward(&d, None);
            c.args(["artifact", "show", &digest, "--output", "json"]);
            c
        })))
    };
    let shown = show();
    assert_eq!(shown["artifact"]["branch"], branch, "{shown}");
    assert_eq!(shown["artifact"]["build_url"], build_url, "{shown}");
    // A CI job run again registers the same build again: nothing new is recorded.
    ok(run(register()));
    let after = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    assert_eq!(
        after["entries"].as_array().unwrap().len(),
        log["entries"].as_array().unwrap().len()
    );

    let reference = payload["build_url"].as_str().unwrap().to_string();
    let reason = "a patient's name was in the CI job's path";
    let req = json(&ok(run(as_user(
        &d,
        None,
        "priya",
        &["purge", &reference, "--reason", reason, "--output", "json"],
    ))));
    assert_eq!(req["status"], "requested");
    let done = json(&ok(run(as_user(
        &d,
        None,
        "sam",
        &["purge", &reference, "--reason", reason, "--output", "json"],
    ))));
    assert_eq!(done["status"], "purged", "{done}");
    let seq = done["seq"].as_u64().unwrap();
    let shown = show();
    assert_eq!(
        shown["artifact"]["build_url"],
        format!("[purged by entry {seq}]"),
        "{shown}"
    );
    assert_eq!(shown["artifact"]["branch"], branch, "only the purged document goes");
    // The CI job run again: the same build, a no-op — nothing recorded, the purged text not
    // stored again; a different branch is still refused.
    let size = || {
        json(&ok(run({
            let mut c = ward(&d, None);
            c.args(["log", "status", "--output", "json"]);
            c
        })))["size"]
            .as_u64()
            .expect("size")
    };
    let before = size();
    ok(run(register()));
    assert_eq!(size(), before, "nothing recorded");
    let e = refused(register_on("feature/other"));
    assert_eq!(e["code"], "conflict", "{e}");
    // The branch and build id hold the marker too: purge them as well, then nothing is left.
    for field in ["branch", "build_id"] {
        let r = payload[field].as_str().unwrap();
        ok(run(as_user(&d, None, "priya", &["purge", r, "--reason", reason])));
        ok(run(as_user(&d, None, "sam", &["purge", r, "--reason", reason])));
    }
    let (exp, printed) = fsck_export_verified(&d, tmp.path());
    let doc = reference.trim_start_matches("doc:");
    assert!(
        printed.contains(&format!("document {doc} purged by entry {seq}")),
        "{printed}"
    );
    assert_eq!(grep_dir(&exp, MARKER), Vec::<String>::new());
    assert_eq!(grep_dir(&d, MARKER), Vec::<String>::new());
}

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
    // A change approved by Quinn, ready to promote, naming the bundles it delivers (rule 4).
    let change = |n: u8, configs: &[&str]| {
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
        let id = common::open_change_naming(
            as_user(&d, None, "dana", &[]),
            &format!("release {n}"),
            &digest,
            configs,
        );
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
        let bundle = out["digest"].as_str().expect("digest").to_string();
        (effective_bytes("prod", &bundle, &values), bundle)
    };
    let (recorded, bundle) = publish(1);
    let (first, first_artifact) = change(1, &[&bundle]);
    let (second, _) = change(2, &[]);
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
    let (predicted, _) = publish(2);
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
    // The hint works: a corrected configuration is deployed (by a change naming it), and rolled
    // back from.
    let (_, corrected) = publish(3);
    let e = refused(promote(&second));
    assert_eq!(e["code"], "config_not_in_change", "{e}");
    let (third, _) = change(3, &[&corrected]);
    ok(run(promote(&third)));
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

/// Review of `607dc68`: a purge of bytes shaped as an environment's effective configuration took
/// that environment's deployment lock before anything else — so a privacy officer's request
/// (which deletes nothing), or an admin's call that was then refused, waited behind a deployment
/// running there, holding the lock through the pass over the log. Only a completion, by someone
/// who may complete it, takes the lock, and waits for the deployment to be recorded.
#[test]
fn a_purge_request_does_not_wait_for_a_deployment_only_its_completion_does() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    let (began, hold) = (tmp.path().join("began"), tmp.path().join("hold"));
    std::fs::write(&hold, "").unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"prod\"\ncommand = [\"sh\", \"-c\", \"touch {}; while [ -e {} ]; do sleep 0.1; done; echo deployed\"]\n",
            began.display(),
            hold.display()
        ),
    )
    .unwrap();
    for (name, role) in [
        ("dana", "developer"),
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
    let digest = format!("sha256:{}", "6d".repeat(32));
    ok(run(common::register_command(&d, &digest, "portal", "3.0.0", &[])));
    let id = common::open_change(as_user(&d, None, "dana", &[]), "release 3", &digest);
    // Bytes shaped as prod's effective configuration, attested (any artifact).
    let file = tmp.path().join("effective.json");
    std::fs::write(&file, br#"{"environment":"prod","values":{"clinic":"north"}}"#).unwrap();
    let attested = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["attest", "add", "--artifact", &digest, "--type", "custom:anyjson"])
            .arg(&file)
            .args(["--output", "json"]);
        c
    })))["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut deploying = {
        let mut c = as_user(
            &d,
            None,
            "rita",
            &["promote", "--change", &id, "--to", "prod", "--output", "json"],
        );
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    for _ in 0..600 {
        if began.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(began.exists(), "the deployment's target began");
    let reason = "a clinic's name that identifies it";
    // While the deployment runs: an admin cannot start a purge, and is told so at once…
    let e = refused(as_user(&d, None, "sam", &["purge", &attested, "--reason", reason]));
    assert_eq!(e["code"], "privacy_officer_required", "{e}");
    // …and a privacy officer's request is recorded at once (the deployment runs until `hold`
    // goes: a request waiting for it would wait for good, so it is given a minute).
    let mut requesting = {
        let mut c = as_user(
            &d,
            None,
            "priya",
            &["purge", &attested, "--reason", reason, "--output", "json"],
        );
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    for _ in 0..600 {
        if requesting.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if requesting.try_wait().unwrap().is_none() {
        std::fs::remove_file(&hold).unwrap();
        panic!("the purge request waited for the deployment running in prod");
    }
    let out = requesting.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let requested = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(requested["status"], "requested", "{requested}");
    assert!(
        deploying.try_wait().unwrap().is_none(),
        "answered while the deployment still ran"
    );
    // The completion waits for the deployment's record, then deletes the bytes (no deployment
    // recorded them).
    let completing = {
        let mut c = as_user(
            &d,
            None,
            "sam",
            &["purge", &attested, "--reason", reason, "--output", "json"],
        );
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    std::fs::remove_file(&hold).unwrap();
    let dep = deploying.wait_with_output().unwrap();
    assert!(dep.status.success(), "{}", String::from_utf8_lossy(&dep.stderr));
    let done = completing.wait_with_output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(json(&String::from_utf8_lossy(&done.stdout))["status"], "purged");
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

/// A change's ticket and incident URLs and its paths were kept in the leaf, judged by the
/// identifier rules, which deliberately let a number of any length through (CI run ids, record
/// keys): `exports/<an SSN's nine digits>.csv` or `?p=<a record number>` stayed for good. They
/// are documents beside the log now, the classification's reasons name a path by its reference,
/// the gate sees that a ticket is given, not which; `change show`, `search --ticket` and a
/// repeated update read the texts; two people purge each, and no byte is left.
#[test]
fn a_ticket_url_or_path_the_identifier_rules_missed_is_purged_and_the_chain_still_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, digest) = initialised(tmp.path(), "5d");
    let ticket = format!("https://tickets.example.org/browse/OPS-42?from={MARKER}");
    let incident = format!("https://incidents.example.org/{MARKER}/INC-7");
    let path = format!("db/migrations/{MARKER}.sql");
    let opened = json(&ok(run(as_user(
        &d,
        None,
        "dana",
        &[
            "change",
            "open",
            "--title",
            "Index reminders",
            "--artifact",
            &digest,
            "--ticket",
            &ticket,
            "--incident",
            &incident,
            "--path",
            &path,
            "--path",
            "README.md",
            "--output",
            "json",
        ],
    ))));
    let id = opened["id"].as_str().expect("id").to_string();
    assert_eq!(opened["tier"], "high", "the path is classified by its text: {opened}");
    let entries = || {
        json(&ok(run({
            let mut c = ward(&d, None);
            c.args(["log", "show", "--from", "0", "--limit", "100000", "--output", "json"]);
            c
        })))["entries"]
            .as_array()
            .unwrap()
            .clone()
    };
    let log = entries();
    let entry = log
        .iter()
        .find(|e| e["event"]["kind"] == "change.opened")
        .expect("change.opened")
        .clone();
    assert!(!entry.to_string().contains(MARKER), "{entry}");
    let payload = &entry["event"]["payload"]["inline"];
    let reference = |v: &Value| v.as_str().filter(|s| s.starts_with("doc:sha256:")).map(str::to_string);
    let ticket_ref = reference(&payload["ticket_url"]).expect("ticket reference");
    let incident_ref = reference(&payload["incident_url"]).expect("incident reference");
    let path_ref = reference(&payload["paths"][0]).expect("path reference");
    assert!(reference(&payload["paths"][1]).is_some(), "{payload}");
    assert!(
        payload["classification"]["matched"].to_string().contains(&path_ref),
        "the reason names the path by its reference: {payload}"
    );

    let show = || {
        json(&ok(run({
            let mut c = ward(&d, None);
            c.args(["change", "show", &id, "--output", "json"]);
            c
        })))
    };
    let shown = show();
    assert_eq!(shown["ticket_url"], ticket.as_str(), "{shown}");
    assert_eq!(shown["incident_url"], incident.as_str(), "{shown}");
    assert_eq!(shown["paths"], serde_json::json!([path, "README.md"]), "{shown}");
    assert!(
        shown["classification"]["matched"].to_string().contains(&path),
        "{shown}"
    );
    // The same ticket and paths given again are no new content: nothing is recorded.
    let before = log.len();
    ok(run(as_user(
        &d,
        None,
        "dana",
        &[
            "change",
            "update",
            &id,
            "--ticket",
            &ticket,
            "--path",
            &path,
            "--path",
            "README.md",
        ],
    )));
    assert_eq!(entries().len(), before, "a repeated update recorded an entry");
    // A reference given as a ticket or a path would point the log at any stored text.
    for args in [["--ticket", ticket_ref.as_str()], ["--path", path_ref.as_str()]] {
        let e = refused(as_user(&d, None, "dana", &["change", "update", &id, args[0], args[1]]));
        assert_eq!(e["code"], "reserved_reference", "{e}");
    }
    let found = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["audit", "search", "--ticket", &ticket, "--output", "json"]);
        c
    })));
    assert_eq!(found["result"]["changes"], serde_json::json!([id]), "{found}");

    // The search's query, kept beside the log as the auditor typed it, holds the ticket too:
    // a privacy officer finds every copy first (a developer may not look; too short a text is
    // refused), each with the command that starts its purge.
    let query_ref = entries()
        .iter()
        .find(|e| e["event"]["kind"] == "access.search")
        .and_then(|e| reference(&e["event"]["payload"]["inline"]["query"]))
        .expect("the search's query reference");
    let e = refused(as_user(&d, None, "dana", &["purge", "--find", MARKER]));
    assert_eq!(e["code"], "forbidden", "{e}");
    let e = refused(as_user(&d, None, "priya", &["purge", "--find", "PLA"]));
    assert_eq!(e["code"], "invalid_request", "{e}");
    let find = |text: &str| {
        json(&ok(run(as_user(
            &d,
            None,
            "priya",
            &["purge", "--find", text, "--output", "json"],
        ))))
    };
    // Letters compared without case.
    let found = find(&MARKER.to_lowercase());
    let digests: Vec<String> = found["holding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| format!("doc:{}", h["digest"].as_str().unwrap()))
        .collect();
    let mut want = vec![
        ticket_ref.clone(),
        incident_ref.clone(),
        path_ref.clone(),
        query_ref.clone(),
    ];
    want.sort();
    let mut got = digests.clone();
    got.sort();
    assert_eq!(got, want, "{found}");
    // The search is a person's: a wrong password is refused before anything is read (a
    // helper's attack: any password, or none, searched under the officer's name).
    let e = refused({
        let mut c = ward(&d, None);
        c.args(["--as", "priya", "purge", "--find", MARKER])
            .env("WARD_PASSWORD", "not-her-password");
        c
    });
    assert_eq!(e["code"], "reauthentication_failed", "{e}");
    // The text typed on stdin comes after the password's line (it searched for the password),
    // and text stored JSON-escaped (a query with a quote in it) is found as typed.
    let quoted = format!("https://tickets.example.org/q?v=\"{MARKER}\\x\"");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["audit", "search", "--ticket", &quoted]);
        c
    }));
    let through_stdin = json(&ok(run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args([
                "--as",
                "priya",
                "--password-stdin",
                "purge",
                "--find",
                "-",
                "--output",
                "json",
            ]);
            c
        },
        &format!("{}\nv=\"{MARKER}\\x\"\n", common::pw("priya")),
    )));
    let escaped = through_stdin["holding"].as_array().unwrap();
    assert_eq!(escaped.len(), 1, "{through_stdin}");
    let quoted_ref = format!("doc:{}", escaped[0]["digest"].as_str().unwrap());
    // A hint repeats the command, never the text sought.
    let hint = run({
        let mut c = ward(&d, None);
        c.args(["purge", "--find", MARKER]);
        c
    });
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&hint.stdout),
        String::from_utf8_lossy(&hint.stderr)
    );
    assert!(said.contains("--find TEXT") && !said.contains(MARKER), "{said}");
    let printed = ok(run(as_user(&d, None, "priya", &["purge", "--find", MARKER])));
    assert!(printed.starts_with("5 stored copies hold the text"), "{printed}");
    assert!(!printed.contains(MARKER), "the text is never printed: {printed}");
    let reason = "a record key was pasted into the change";
    let mut seqs = Vec::new();
    for r in [&ticket_ref, &incident_ref, &path_ref, &query_ref, &quoted_ref] {
        // The printed hint, run as printed (with a reason in place of "…").
        let digest = r.trim_start_matches("doc:");
        assert!(
            printed.contains(&format!("ward purge {digest} --reason \"…\"")),
            "{printed}"
        );
        ok(run(as_user(&d, None, "priya", &["purge", r, "--reason", reason])));
        let done = json(&ok(run(as_user(
            &d,
            None,
            "sam",
            &["purge", r, "--reason", reason, "--output", "json"],
        ))));
        assert_eq!(done["status"], "purged", "{done}");
        seqs.push(done["seq"].as_u64().unwrap());
    }
    assert_eq!(find(MARKER)["holding"], serde_json::json!([]), "every copy is gone");
    let shown = show();
    assert_eq!(shown["ticket_url"], format!("[purged by entry {}]", seqs[0]));
    assert_eq!(shown["incident_url"], format!("[purged by entry {}]", seqs[1]));
    assert_eq!(shown["paths"][0], format!("[purged by entry {}]", seqs[2]));
    assert_eq!(shown["tier"], "high");

    let (exp, printed) = fsck_export_verified(&d, tmp.path());
    assert!(printed.contains(&format!("purged by entry {}", seqs[2])), "{printed}");
    assert_eq!(grep_dir(&exp, MARKER), Vec::<String>::new());
    assert_eq!(grep_dir(&d, MARKER), Vec::<String>::new());
}
