//! Issue 19, parts 1–3: an auditor's evidence bundle of a change, built through the real `ward`
//! binary, verified offline by `ward verify bundle` and by the independent Python verifier
//! (`tools/verify_bundle.py`, standard library only), and tampered copies — one byte changed
//! in an evidence file, an entry, a proof, the checkpoint's signature — refused by both, naming
//! the file or entry. On SQLite and PostgreSQL.

mod common;

use common::{add_user, as_user, json, ok, run, ward};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A change with evidence, signatures, gate decisions and a deployment; returns its id and the
/// deployment's log entry.
fn story(d: &Path, db: Option<&str>) -> (String, u64) {
    ok(run({
        let mut c = ward(d, db);
        c.arg("init");
        c
    }));
    std::fs::write(
        d.join("ward.toml"),
        "[controls.tiers.low]\nevidence = []\napprovals = 1\n\n[controls.tiers.medium]\nevidence = []\napprovals = 1\n\n\
         [controls.tiers.high]\nevidence = []\napprovals = 1\n\n[[environments]]\nname = \"staging\"\n",
    )
    .unwrap();
    add_user(d, db, "dana", &["developer"]);
    add_user(d, db, "quinn", &["approver"]);
    add_user(d, db, "rita", &["release-manager"]);
    add_user(d, db, "alex", &["auditor"]);
    let digest = format!("sha256:{}", "b1".repeat(32));
    ok(run({
        let mut c = ward(d, db);
        c.args([
            "artifact",
            "register",
            "--digest",
            &digest,
            "--service",
            "portal",
            "--version",
            "2.4.0",
        ]);
        c
    }));
    let fixture = repo_root().join("crates/ward-evidence/tests/fixtures/pytest.xml");
    ok(run({
        let mut c = ward(d, db);
        c.args(["attest", "add", "--artifact", &digest, "--type", "junit"])
            .arg(&fixture);
        c
    }));
    let id = common::open_change(
        as_user(d, db, "dana", &[]),
        "Appointment reminders <b>bold</b> & [link](http://x)",
        &digest,
    );
    ok(run(as_user(
        d,
        db,
        "quinn",
        &[
            "approve",
            "--change",
            &id,
            "--meaning",
            "approved",
            "--comment",
            "reviewed the diff",
        ],
    )));
    // The failing report blocks the gate (a recorded decision); the passing run lets it in.
    let blocked = run(as_user(d, db, "rita", &["promote", "--change", &id, "--to", "staging"]));
    assert_eq!(
        blocked.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&blocked.stderr)
    );
    let passing = repo_root().join("crates/ward-evidence/tests/fixtures/pytest-passing.xml");
    ok(run({
        let mut c = ward(d, db);
        c.args(["attest", "add", "--artifact", &digest, "--type", "junit"])
            .arg(&passing);
        c
    }));
    // New evidence makes the first signature stale: Quinn signs again over what now ships.
    ok(run(as_user(
        d,
        db,
        "quinn",
        &[
            "approve",
            "--change",
            &id,
            "--meaning",
            "approved",
            "--comment",
            "tests pass now",
        ],
    )));
    let dep = json(&ok(run(as_user(
        d,
        db,
        "rita",
        &["promote", "--change", &id, "--to", "staging", "--output", "json"],
    ))));
    assert_eq!(dep["status"], "succeeded", "{dep:#}");
    (id, dep["seq"].as_u64().expect("deployment seq"))
}

fn out_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ward_verify(d: &Path, file: &Path) -> Output {
    let mut c = ward(d, None);
    c.args(["verify", "bundle"])
        .arg(file)
        .arg("--key")
        .arg(d.join("log.pub"));
    run(c)
}

fn python_verify(d: &Path, file: &Path) -> Output {
    Command::new("python3")
        .arg(repo_root().join("tools/verify_bundle.py"))
        .arg(file)
        .arg("--key")
        .arg(d.join("log.pub"))
        .output()
        .expect("run python3")
}

fn read_tar(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(bytes);
    let mut files = BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().to_str().unwrap().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        files.insert(p, data);
    }
    files
}

fn write_tar(files: &BTreeMap<String, Vec<u8>>, to: &Path) {
    let mut b = tar::Builder::new(Vec::new());
    for (p, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, p, data.as_slice()).unwrap();
    }
    std::fs::write(to, b.into_inner().unwrap()).unwrap();
}

fn sha256_hex(data: &[u8]) -> String {
    ward_ledger::hash::sha256(data).to_hex()
}

/// Rewrites the manifest's digest of `path` to match its (tampered) content: the attacker who
/// edits a file edits the index too.
fn fix_manifest(files: &mut BTreeMap<String, Vec<u8>>, path: &str) {
    let mut m: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    m["files"][path] = serde_json::json!(format!("sha256:{}", sha256_hex(&files[path])));
    files.insert("manifest.json".into(), serde_json::to_vec_pretty(&m).unwrap());
}

/// Changes one base64 character at `at` of `data` into another valid one.
fn flip_base64(data: &mut [u8], at: usize) {
    data[at] = if data[at] == b'A' { b'B' } else { b'A' };
}

/// Both verifiers refuse `files` (exit 3) and both name `needle`.
fn both_refuse(d: &Path, tmp: &Path, label: &str, files: &BTreeMap<String, Vec<u8>>, needle: &str) {
    let f = tmp.join(format!("{label}.tar"));
    write_tar(files, &f);
    let w = ward_verify(d, &f);
    assert_eq!(
        w.status.code(),
        Some(3),
        "{label}: ward verify bundle: {}",
        out_text(&w)
    );
    assert!(
        out_text(&w).contains(needle),
        "{label}: ward verify bundle does not name {needle}: {}",
        out_text(&w)
    );
    let p = python_verify(d, &f);
    assert_eq!(p.status.code(), Some(3), "{label}: verify_bundle.py: {}", out_text(&p));
    assert!(
        out_text(&p).contains(needle),
        "{label}: verify_bundle.py does not name {needle}: {}",
        out_text(&p)
    );
}

fn rounds(db: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    let (id, deployment) = story(&d, db);
    let bundle = tmp.path().join("bundle.tar");

    // Only an auditor exports: a developer named locally is refused, and nothing is written.
    let refused = run(as_user(
        &d,
        db,
        "dana",
        &[
            "bundle",
            "export",
            "--change",
            &id,
            "--out",
            bundle.to_str().unwrap(),
            "--output",
            "json",
        ],
    ));
    assert_eq!(refused.status.code(), Some(1), "{}", out_text(&refused));
    assert_eq!(
        json(&String::from_utf8_lossy(&refused.stdout))["error"]["code"],
        "forbidden"
    );
    assert!(!bundle.exists());
    // A malformed id is refused before anything is read or recorded.
    let bad = run(as_user(
        &d,
        db,
        "alex",
        &[
            "bundle",
            "export",
            "--change",
            "CHG-1&x=1",
            "--out",
            bundle.to_str().unwrap(),
        ],
    ));
    assert_eq!(bad.status.code(), Some(1), "{}", out_text(&bad));
    assert!(!bundle.exists());

    let made = json(&ok(run(as_user(
        &d,
        db,
        "alex",
        &[
            "bundle",
            "export",
            "--change",
            &id,
            "--out",
            bundle.to_str().unwrap(),
            "--output",
            "json",
        ],
    ))));
    assert!(made["counts"]["entries"].as_u64().unwrap() >= 6, "{made:#}");
    assert_eq!(made["counts"]["gate_decisions"], 2, "{made:#}");
    assert_eq!(made["counts"]["approvals"], 2, "{made:#}");
    assert_eq!(made["counts"]["deployments"], 1, "{made:#}");
    // The export is an access event by the auditor.
    let log = json(&ok(run({
        let mut c = ward(&d, db);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    let access: Vec<&serde_json::Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["kind"] == "access.bundle")
        .collect();
    assert_eq!(access.len(), 1, "{log:#}");
    assert_eq!(access[0]["event"]["actor"]["id"], "user:alex");
    // It never overwrites a file.
    let again = run(as_user(
        &d,
        db,
        "alex",
        &["bundle", "export", "--change", &id, "--out", bundle.to_str().unwrap()],
    ));
    assert_eq!(again.status.code(), Some(1), "{}", out_text(&again));

    let bytes = std::fs::read(&bundle).unwrap();
    let files = read_tar(&bytes);
    for f in ["manifest.json", "checkpoint", "report.html", "report.md"] {
        assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
    }
    let evidence: Vec<&String> = files.keys().filter(|k| k.starts_with("evidence/")).collect();
    assert_eq!(
        evidence.len(),
        5,
        "two JUnit reports, two gate inputs, one policy: {evidence:?}"
    );
    assert!(files.keys().any(|k| k.starts_with("documents/")), "{:?}", files.keys());
    let proof = files.iter().find(|(k, _)| k.starts_with("proofs/")).unwrap().1;
    assert!(proof.starts_with(b"c2sp.org/tlog-proof@v1\nindex "));
    // The report: what shipped, who signed, the gate, the deployment — escaped, no script.
    let html = String::from_utf8(files["report.html"].clone()).unwrap();
    assert!(
        html.contains("Appointment reminders &lt;b&gt;bold&lt;/b&gt; &amp; [link]"),
        "{html}"
    );
    assert!(!html.contains("<b>bold"), "{html}");
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(!html.contains("http://x\""), "no link is made: {html}");
    for needle in [
        "quinn Example (user:quinn)",
        "ALLOWED for staging",
        "BLOCKED for staging",
        "evidence.tests_failed",
        "Stale signature: user:quinn",
        "Exceptions",
        "junit",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    let md = String::from_utf8(files["report.md"].clone()).unwrap();
    assert!(md.contains("\\<b\\>bold\\</b\\>"), "{md}");
    assert!(md.contains("\\[link\\](http://x)"), "no link is made: {md}");

    // A good bundle passes both verifiers.
    let w = ward_verify(&d, &bundle);
    assert!(w.status.success(), "{}", out_text(&w));
    assert!(
        out_text(&w).contains("2 gate decisions replayed, 2 approval manifests checked"),
        "{}",
        out_text(&w)
    );
    let p = python_verify(&d, &bundle);
    assert!(p.status.success(), "{}", out_text(&p));
    assert!(out_text(&p).starts_with("OK: bundle"), "{}", out_text(&p));
    assert!(
        out_text(&w).contains("report re-rendered and identical"),
        "{}",
        out_text(&w)
    );

    let t = tmp.path();
    // The report says something the entries do not: Ward's verifier renders it again and names
    // it; the Python verifier checks only its digest (docs/BUNDLE.md), so it passes.
    let mut f = files.clone();
    let html_text = String::from_utf8(f["report.html"].clone()).unwrap();
    f.insert(
        "report.html".into(),
        html_text
            .replace("ALLOWED for staging", "ALLOWED for prod")
            .into_bytes(),
    );
    fix_manifest(&mut f, "report.html");
    let forged = t.join("report.tar");
    write_tar(&f, &forged);
    let w = ward_verify(&d, &forged);
    assert_eq!(w.status.code(), Some(3), "{}", out_text(&w));
    assert!(out_text(&w).contains("report.html"), "{}", out_text(&w));
    assert!(python_verify(&d, &forged).status.success());
    // A report of another renderer is said to be unchecked, not called forged.
    let mut m: serde_json::Value = serde_json::from_slice(&f["manifest.json"]).unwrap();
    m["report_renderer"] = serde_json::json!("ward.report/0");
    f.insert("manifest.json".into(), serde_json::to_vec(&m).unwrap());
    write_tar(&f, &forged);
    let w = ward_verify(&d, &forged);
    assert!(w.status.success(), "{}", out_text(&w));
    assert!(out_text(&w).contains("report NOT checked"), "{}", out_text(&w));

    // One byte of the raw evidence (the JUnit report).
    let junit = files
        .iter()
        .find(|(k, v)| k.starts_with("evidence/") && v.starts_with(b"<?xml"))
        .map(|(k, _)| k.clone())
        .expect("the JUnit report is bundled");
    let mut f = files.clone();
    f.get_mut(&junit).unwrap()[60] ^= 1;
    both_refuse(&d, t, "evidence", &f, &junit);
    // … and with the manifest fixed up: the file no longer matches its name.
    fix_manifest(&mut f, &junit);
    both_refuse(&d, t, "evidence-fixed", &f, &junit);

    // One byte of an entry, the manifest fixed up: the proof no longer leads to the root.
    let approval = files
        .iter()
        .find(|(k, v)| k.starts_with("entries/") && String::from_utf8_lossy(v).contains("\"approval.signed\""))
        .map(|(k, _)| k.clone())
        .unwrap();
    let seq: u64 = approval
        .trim_start_matches("entries/")
        .trim_end_matches(".json")
        .parse()
        .unwrap();
    let mut f = files.clone();
    let text = String::from_utf8(f[&approval].clone()).unwrap();
    let at = text.find("\"meaning\":\"approved\"").unwrap() + "\"meaning\":\"".len();
    f.get_mut(&approval).unwrap()[at] = b'A';
    both_refuse(&d, t, "entry", &f, &approval);
    fix_manifest(&mut f, &approval);
    both_refuse(&d, t, "entry-fixed", &f, &format!("entry {seq}"));

    // One byte of a proof hash, the manifest fixed up.
    let ppath = format!("proofs/{seq}.tlog-proof");
    let mut f = files.clone();
    let text = String::from_utf8(f[&ppath].clone()).unwrap();
    let first_hash = text.find(&format!("index {seq}\n")).unwrap() + format!("index {seq}\n").len();
    assert!(
        text[first_hash..].len() > 44 && !text[first_hash..].starts_with('\n'),
        "{text}"
    );
    flip_base64(f.get_mut(&ppath).unwrap(), first_hash);
    fix_manifest(&mut f, &ppath);
    both_refuse(&d, t, "proof", &f, &format!("entry {seq}"));

    // One byte of the checkpoint's signature, the manifest fixed up.
    let mut f = files.clone();
    let text = String::from_utf8(f["checkpoint"].clone()).unwrap();
    let sig_line = text.rfind("\u{2014} ").unwrap();
    let sig_at = sig_line + text[sig_line..].rfind(' ').unwrap() + 20;
    flip_base64(f.get_mut("checkpoint").unwrap(), sig_at);
    fix_manifest(&mut f, "checkpoint");
    both_refuse(&d, t, "signature", &f, "checkpoint");

    // A file the manifest does not list, and a bundle stripped of its entries.
    let mut f = files.clone();
    f.insert("evidence/extra".into(), b"x".to_vec());
    both_refuse(&d, t, "extra", &f, "evidence/extra");
    let mut f: BTreeMap<String, Vec<u8>> = files
        .iter()
        .filter(|(k, _)| !k.starts_with("entries/") && !k.starts_with("proofs/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut m: serde_json::Value = serde_json::from_slice(&f["manifest.json"]).unwrap();
    m["entries"] = serde_json::json!([]);
    let kept: serde_json::Map<String, serde_json::Value> = m["files"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| f.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    m["files"] = serde_json::Value::Object(kept);
    f.insert("manifest.json".into(), serde_json::to_vec(&m).unwrap());
    both_refuse(&d, t, "empty", &f, "nothing could be verified");

    // A deployment's bundle: its change's story up to it, verified by both.
    let dep_bundle = tmp.path().join("deployment.tar");
    ok(run(as_user(
        &d,
        db,
        "alex",
        &[
            "bundle",
            "export",
            "--deployment",
            &deployment.to_string(),
            "--out",
            dep_bundle.to_str().unwrap(),
        ],
    )));
    let dep_files = read_tar(&std::fs::read(&dep_bundle).unwrap());
    let m: serde_json::Value = serde_json::from_slice(&dep_files["manifest.json"]).unwrap();
    assert_eq!(m["query"], serde_json::json!({ "deployment": deployment }));
    assert_eq!(
        m["entries"].as_array().unwrap().last().unwrap()["seq"],
        deployment,
        "{m:#}"
    );
    assert!(ward_verify(&d, &dep_bundle).status.success());
    assert!(python_verify(&d, &dep_bundle).status.success());
    // A period of an environment: every change deployed there in it.
    let period = tmp.path().join("period.tar");
    let in_period = |env: &str, out: &Path| {
        run(as_user(
            &d,
            db,
            "alex",
            &[
                "bundle",
                "export",
                "--env",
                env,
                "--from",
                "2000-01-01T00:00:00Z",
                "--to",
                "2100-01-01T00:00:00Z",
                "--out",
                out.to_str().unwrap(),
                "--output",
                "json",
            ],
        ))
    };
    ok(in_period("staging", &period));
    let pm: serde_json::Value =
        serde_json::from_slice(&read_tar(&std::fs::read(&period).unwrap())["manifest.json"]).unwrap();
    assert_eq!(pm["query"]["env"], "staging");
    assert_eq!(pm["counts"]["deployments"], 1, "{pm:#}");
    assert!(ward_verify(&d, &period).status.success());
    assert!(python_verify(&d, &period).status.success());
    let none = in_period("prod", &tmp.path().join("prod.tar"));
    assert_eq!(none.status.code(), Some(1), "{}", out_text(&none));
    assert_eq!(
        json(&String::from_utf8_lossy(&none.stdout))["error"]["code"],
        "not_found"
    );
    assert!(!tmp.path().join("prod.tar").exists());

    // An entry that is not a deployment is not one.
    let o = run(as_user(
        &d,
        db,
        "alex",
        &[
            "bundle",
            "export",
            "--deployment",
            "0",
            "--out",
            tmp.path().join("zero.tar").to_str().unwrap(),
        ],
    ));
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    assert!(!tmp.path().join("zero.tar").exists());

    // A purged title: the bundle leaves the document out, carries the purge entry, and both
    // verifiers report it purged by that entry; the report says so in its place.
    add_user(&d, db, "priya", &["privacy-officer"]);
    add_user(&d, db, "pete", &["privacy-officer"]);
    let opened = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["kind"] == "change.opened")
        .unwrap()
        .clone();
    let reference = opened["event"]["payload"]["inline"]["title"]
        .as_str()
        .unwrap()
        .to_string();
    let reason = "a patient identifier was typed into the title";
    ok(run(as_user(
        &d,
        db,
        "priya",
        &["purge", &reference, "--reason", reason],
    )));
    let done = json(&ok(run(as_user(
        &d,
        db,
        "pete",
        &["purge", &reference, "--reason", reason, "--output", "json"],
    ))));
    let purge_seq = done["seq"].as_u64().unwrap();
    let purged_bundle = tmp.path().join("purged.tar");
    ok(run(as_user(
        &d,
        db,
        "alex",
        &[
            "bundle",
            "export",
            "--change",
            &id,
            "--out",
            purged_bundle.to_str().unwrap(),
        ],
    )));
    let pf = read_tar(&std::fs::read(&purged_bundle).unwrap());
    let digest = reference.trim_start_matches("doc:").replace(':', "-");
    assert!(!pf.contains_key(&format!("documents/{digest}")));
    assert!(pf.contains_key(&format!("entries/{purge_seq}.json")), "{:?}", pf.keys());
    let html = String::from_utf8(pf["report.html"].clone()).unwrap();
    assert!(html.contains(&format!("[purged by entry {purge_seq}]")), "{html}");
    assert!(!html.contains("Appointment reminders"), "{html}");
    let said = format!("purged by entry {purge_seq}");
    let w = ward_verify(&d, &purged_bundle);
    assert!(w.status.success() && out_text(&w).contains(&said), "{}", out_text(&w));
    let p = python_verify(&d, &purged_bundle);
    assert!(p.status.success() && out_text(&p).contains(&said), "{}", out_text(&p));
    // Without the purge entry the absence is unexplained: both refuse, naming the referencing entry.
    let mut f = pf.clone();
    f.remove(&format!("entries/{purge_seq}.json"));
    f.remove(&format!("proofs/{purge_seq}.tlog-proof"));
    // … and the documents only it referenced (its reason, its signer's printed name).
    let orphans: Vec<String> = f
        .keys()
        .filter(|k| k.starts_with("documents/"))
        .filter(|k| {
            let r = format!("doc:{}", k.trim_start_matches("documents/").replacen('-', ":", 1));
            !f.iter()
                .any(|(p, v)| p.starts_with("entries/") && String::from_utf8_lossy(v).contains(&r))
        })
        .cloned()
        .collect();
    assert_eq!(orphans.len(), 2, "the purge's reason and printed name: {orphans:?}");
    for o in &orphans {
        f.remove(o);
    }
    let mut m: serde_json::Value = serde_json::from_slice(&f["manifest.json"]).unwrap();
    for o in &orphans {
        m["files"].as_object_mut().unwrap().remove(o);
    }
    let kept: Vec<serde_json::Value> = m["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"] != purge_seq)
        .cloned()
        .collect();
    m["entries"] = serde_json::Value::Array(kept);
    for k in [
        format!("entries/{purge_seq}.json"),
        format!("proofs/{purge_seq}.tlog-proof"),
    ] {
        m["files"].as_object_mut().unwrap().remove(&k);
    }
    f.insert("manifest.json".into(), serde_json::to_vec(&m).unwrap());
    both_refuse(&d, t, "unexplained", &f, &format!("documents/{digest}"));

    // The wrong key: nothing verifies.
    let other = tmp.path().join("other");
    ok(run({
        let mut c = ward(&other, None);
        c.arg("init");
        c
    }));
    let w = ward_verify(&other, &bundle);
    assert_eq!(w.status.code(), Some(3), "{}", out_text(&w));
    assert!(out_text(&w).contains("checkpoint"), "{}", out_text(&w));
    let p = python_verify(&other, &bundle);
    assert_eq!(p.status.code(), Some(3), "{}", out_text(&p));
    assert!(out_text(&p).contains("checkpoint"), "{}", out_text(&p));
}

#[test]
fn a_bundle_verifies_offline_with_both_verifiers_and_any_changed_byte_is_named() {
    rounds(None);
}

#[test]
fn an_auditor_downloads_a_bundle_over_http_and_other_roles_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    let (id, _) = story(&d, None);
    let auditor = common::token(&d, "audit-firm", "auditor");
    let developer = common::token(&d, "ci", "developer");
    let (_server, url) = common::serve_with(&d, &[]);
    let remote = |tok: &str, out: &Path| {
        let mut c = ward(&d, None);
        c.args([
            "--server", &url, "--output", "json", "bundle", "export", "--change", &id, "--out",
        ])
        .arg(out)
        .env("WARD_TOKEN", tok);
        run(c)
    };
    let refused = tmp.path().join("refused.tar");
    let o = remote(&developer, &refused);
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    assert_eq!(json(&String::from_utf8_lossy(&o.stdout))["error"]["code"], "forbidden");
    assert!(!refused.exists());
    let bundle = tmp.path().join("remote.tar");
    ok(remote(&auditor, &bundle));
    let w = ward_verify(&d, &bundle);
    assert!(w.status.success(), "{}", out_text(&w));
    let p = python_verify(&d, &bundle);
    assert!(p.status.success(), "{}", out_text(&p));
    // An unknown change is 404, nothing written.
    let mut c = ward(&d, None);
    c.args([
        "--server",
        &url,
        "--output",
        "json",
        "bundle",
        "export",
        "--change",
        "CHG-00000000",
        "--out",
    ])
    .arg(tmp.path().join("none.tar"))
    .env("WARD_TOKEN", &auditor);
    let o = run(c);
    assert_eq!(
        json(&String::from_utf8_lossy(&o.stdout))["error"]["code"],
        "not_found",
        "{}",
        out_text(&o)
    );
    assert!(!tmp.path().join("none.tar").exists());
    // The download is recorded with the token's identity.
    let log = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    let actors: Vec<&serde_json::Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["kind"] == "access.bundle")
        .map(|e| &e["event"]["actor"]["id"])
        .collect();
    assert_eq!(actors.len(), 1, "only the download that happened: {actors:?}");
    assert!(
        actors.iter().all(|a| a.as_str().unwrap().starts_with("token:")),
        "{actors:?}"
    );
}

#[test]
fn a_bundle_verifies_offline_with_both_verifiers_and_any_changed_byte_is_named_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(ward_store::testing::TestDb::postgres()) else {
        return;
    };
    rounds(Some(&db.url));
    rt.block_on(db.cleanup());
}
