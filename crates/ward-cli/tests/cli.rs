//! The CLI as a user drives it: init, append, checkpoint, proofs, export, verify, errors.

mod common;
use common::{json, ok, run, run_with_stdin, ward};

const EVENT: &str = r#"{"actor":{"id":"ci:build","kind":"automation"},"kind":"note.added","subject":"change:1","payload":{"text":"hi"}}"#;

#[test]
fn full_round_trip_with_offline_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    let init = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["init", "--origin", "test.example/log", "--output", "json"]);
        c
    })));
    let vkey = init["verifier_key"].as_str().unwrap().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("log.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "signing key must be private");
    }
    // `ward log key` prints the same verifier key.
    assert_eq!(
        ok(run({
            let mut c = ward(&d, None);
            c.args(["log", "key"]);
            c
        }))
        .trim(),
        vkey
    );
    // One event, then three as JSON lines.
    let out = json(&ok(run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args(["log", "append", "--output", "json"]);
            c
        },
        EVENT,
    )));
    assert_eq!(out["appended"][0]["seq"], 0);
    let lines = format!("{EVENT}\n{EVENT}\n{EVENT}\n");
    let out = json(&ok(run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args(["log", "append", "--output", "json"]);
            c
        },
        &lines,
    )));
    assert_eq!(out["appended"][2]["seq"], 3);
    let cp = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "checkpoint", "--output", "json"]);
        c
    })));
    // The checkpoint covers the four events and the record of its own signing.
    assert_eq!(cp["size"], 5);
    let shown = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "show", "--from", "4", "--output", "json"]);
        c
    })));
    assert_eq!(shown["entries"][0]["event"]["kind"], "log.checkpoint");
    // The status says when the checkpoint was signed to the second, and how long ago.
    let status = ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "status"]);
        c
    }));
    let signed = status
        .lines()
        .find_map(|l| l.trim().strip_prefix("latest checkpoint: size 5 signed "))
        .unwrap_or_else(|| panic!("{status}"));
    let (at, ago) = signed.split_once(' ').unwrap_or_else(|| panic!("{status}"));
    assert!(
        at.len() == "2026-12-05T02:50:12Z".len() && at.parse::<jiff::Timestamp>().is_ok(),
        "{status}"
    );
    assert!(
        ago == "(now)" || (ago.starts_with('(') && ago.ends_with(" ago)")),
        "{status}"
    );
    let proof = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "proof", "--index", "2", "--output", "json"]);
        c
    })));
    assert_eq!(proof["size"], 5);
    assert_eq!(proof["proof"].as_array().unwrap().len(), 3);
    let cons = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "consistency", "--from", "1", "--to", "4", "--output", "json"]);
        c
    })));
    assert_eq!(cons["proof"].as_array().unwrap().len(), 2);
    let exp = tmp.path().join("export");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "export", "--out"]).arg(&exp);
        c
    }));
    let v = json(&ok(run({
        let mut c = ward(&d, None);
        c.arg("verify").arg(&exp).args(["--key", &vkey, "--output", "json"]);
        c
    })));
    assert_eq!(v["ok"], true);
    assert_eq!(v["report"]["size"], 5);
    // The key can also be given as a file.
    ok(run({
        let mut c = ward(&d, None);
        c.arg("verify").arg(&exp).arg("--key").arg(d.join("log.pub"));
        c
    }));
    // Flip one byte of the last entry (4): exit code 3, and the entry is named.
    let bundle = exp.join("tile/entries/000.p/5");
    let mut data = std::fs::read(&bundle).unwrap();
    let last = data.len() - 5;
    data[last] ^= 0x04;
    std::fs::write(&bundle, data).unwrap();
    let o = run({
        let mut c = ward(&d, None);
        c.arg("verify").arg(&exp).args(["--key", &vkey]);
        c
    });
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("entry 4"), "{err}");
    assert_eq!(err.lines().next().unwrap().matches("error:").count(), 1);
    // fsck and rebuild on the untouched store.
    ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "fsck"]);
        c
    }));
    let rb = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "rebuild-projections", "--output", "json"]);
        c
    })));
    assert_eq!(rb["replayed"], 5);
}

#[test]
fn helpful_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("none");
    // Not initialised.
    let o = run({
        let mut c = ward(&d, None);
        c.args(["log", "status"]);
        c
    });
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ward init"), "{err}");
    // JSON errors carry code, message and hint.
    let o = run({
        let mut c = ward(&d, None);
        c.args(["log", "status", "--output", "json"]);
        c
    });
    let v = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(v["error"]["code"], "not_initialised");
    // Initialise twice: refused, key untouched.
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    let key = std::fs::read(d.join("log.key")).unwrap();
    assert!(
        !run({
            let mut c = ward(&d, None);
            c.arg("init");
            c
        })
        .status
        .success()
    );
    assert_eq!(std::fs::read(d.join("log.key")).unwrap(), key);
    // Locally appended events are the operator's: naming a person is refused, nothing written.
    let o = run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args(["log", "append"]);
            c
        },
        r#"{"actor":{"id":"user:alice","kind":"human"},"kind":"note.added","subject":"change:1"}"#,
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("locally appended events are the operator's"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Nor by calling the person automation.
    // Nor an automation identity holding a person's number or a child's name and birth date
    // (a helper's attack on `1d87e6e`: the actor stays in the leaf).
    for actor in [
        r#"{"id":"user:alice","kind":"automation"}"#,
        r#"{"id":"staff:alice@example.org","kind":"automation"}"#,
        r#"{"id":"ci:219451100","kind":"automation"}"#,
        r#"{"id":"ci:roe-j-2015-04-12","kind":"automation"}"#,
        r#"{"id":"ci:２１９４５１１００","kind":"automation"}"#,
        // A document reference never stored: every later export would fail to verify.
        r#"{"id":"doc:sha256:9038b838b8e7c1b2a0f0e1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a6978","kind":"automation"}"#,
    ] {
        let o = run_with_stdin(
            {
                let mut c = ward(&d, None);
                c.args(["log", "append"]);
                c
            },
            &format!(r#"{{"actor":{actor},"kind":"note.added","subject":"change:1"}}"#),
        );
        assert!(!o.status.success(), "{actor}");
    }
    // Bad event: refused, nothing written.
    let o = run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args(["log", "append"]);
            c
        },
        r#"{"actor":{"id":"x","kind":"robot"},"kind":"a","subject":"b"}"#,
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("hint:"));
    let o = run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args(["log", "append"]);
            c
        },
        "not json",
    );
    assert!(!o.status.success());
    let st = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "status", "--output", "json"]);
        c
    })));
    assert_eq!(st["size"], 0);
    // Proof beyond the log.
    let o = run({
        let mut c = ward(&d, None);
        c.args(["log", "proof", "--index", "5", "--size", "9"]);
        c
    });
    assert!(!o.status.success());
    // Verify with a malformed key.
    let o = run({
        let mut c = ward(&d, None);
        c.arg("verify").arg(tmp.path()).args(["--key", "nonsense+1+2"]);
        c
    });
    assert!(String::from_utf8_lossy(&o.stderr).contains("ward log key"));
}

#[test]
fn demo_runs_and_catches_tampering() {
    let tmp = tempfile::tempdir().unwrap();
    let kept = tmp.path().join("kept");
    let o = ok(run({
        let mut c = ward(&tmp.path().join("unused"), None);
        c.args(["demo", "--output", "json", "--keep"]).arg(&kept);
        c
    }));
    let v = json(&o);
    // The governance story: the high-risk PHI change was blocked by its failing tests, its
    // critical SAST finding and CVE, its missing provenance, quorum and privacy review; the
    // opener's own signature was refused; skipping staging was refused.
    let g = &v["release"]["governance"];
    assert_eq!(g["tier"], "high", "{v:#}");
    let blocked: Vec<&str> = g["blocked_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for rule in [
        "evidence.tests_failed",
        "evidence.no_critical_sast",
        "evidence.provenance",
        "evidence.rollback_plan",
        "vulnerabilities.critical_open",
        "approvals.quorum",
        "checklist.privacy-review",
    ] {
        assert!(blocked.contains(&rule), "not blocked on {rule}: {blocked:?}");
    }
    assert_eq!(g["self_approval_refused"], "opener_cannot_sign", "{v:#}");
    assert!(g["allowed_decision"].is_u64(), "{v:#}");
    assert_eq!(g["skip_staging_refused"], "not_in_previous_environment", "{v:#}");
    assert!(g["staging_entry"].is_u64(), "{v:#}");
    // After the releases: drift found, a plain secret refused and a reference accepted, PHI in
    // a report refused.
    let a = &v["release"]["after"];
    assert_eq!(a["drift"]["shadow"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(a["drift"]["hand_report_on_prod_refused"], "observed_by_ward", "{v:#}");
    assert_eq!(a["secret_refused"], "secret_value", "{v:#}");
    assert!(
        a["reference_accepted"].as_str().unwrap().starts_with("sha256:"),
        "{v:#}"
    );
    assert_eq!(a["phi_refused"], "sensitive_content", "{v:#}");
    // The kept directory: no lock file left behind, and its ward.toml is a template that loads.
    let names: Vec<String> = std::fs::read_dir(&kept)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains(".lock-")),
        "lock files left: {names:?}"
    );
    let toml = std::fs::read_to_string(kept.join("ward.toml")).unwrap();
    for section in [
        "[risk]",
        "[controls.tiers.high]",
        "[controls.checklist]",
        "[calendar]",
        "rings = [",
    ] {
        assert!(toml.contains(section), "the kept ward.toml lacks {section}");
    }
    ok(run({
        let mut c = ward(&kept, None);
        c.args(["config", "check"]);
        c
    }));
    // What the demo says to try next works as printed in the kept directory: every command that
    // names it, but `serve` (run by `what_the_server_and_its_pages_print_works_as_printed`).
    let try_it: Vec<Vec<String>> = v["try_it"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| common::printed_command(c.as_str().unwrap()).unwrap())
        .collect();
    let in_kept: Vec<&Vec<String>> = try_it
        .iter()
        .filter(|w| w.contains(&kept.display().to_string()) && !w.contains(&"serve".to_string()))
        .collect();
    assert_eq!(in_kept.len(), 3, "{try_it:?}");
    for words in in_kept {
        let o = ok(run({
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ward"));
            c.args(words)
                .env_remove("WARD_DATA_DIR")
                .env_remove("WARD_DATABASE_URL");
            c
        }));
        assert!(!o.is_empty(), "{words:?} printed nothing");
    }
    let shown = ok(run({
        let mut c = ward(&kept, None);
        c.args(["change", "show", g["change"].as_str().unwrap()]);
        c
    }));
    assert!(shown.contains("BLOCKS"), "{shown}");
    // The release story ran on the real engine: a canary completed, a bad one was rolled back
    // automatically within a second of the breach, and the drill restored the earlier release.
    let r = &v["release"];
    assert_eq!(r["good_rollout"]["status"], "completed", "{v:#}");
    assert_eq!(r["bad_rollout"]["status"], "failed", "{v:#}");
    assert!(
        r["bad_rollout"]["reason"].as_str().unwrap().contains("error rate"),
        "{v:#}"
    );
    assert!(r["bad_rollout"]["time_to_stable_ms"].as_f64().unwrap() < 1000.0);
    assert_eq!(r["drill"]["all_restored"], true);
    assert_eq!(r["drill"]["change"], r["changes"][0]);
    assert!(r["requests"].as_u64().unwrap() > 100);
    // The byte changed in the export is in the release manager's signature, and verification
    // names that very entry.
    assert_eq!(v["tamper_detected_at_entry"], r["release_manager_first_signature"]);
    assert_eq!(v["verified"]["size"], v["entries"]);
    assert_eq!(v["store_check_ok"], true);
}

/// The demo as people read it: every story line is printed, the SSN the PHI report held appears
/// nowhere (stdout or stderr), and the temporary directory is removed.
#[test]
fn demo_tells_the_governance_story_without_echoing_phi() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run({
        let mut c = ward(&tmp.path().join("unused"), None);
        c.env("TMPDIR", tmp.path());
        c.arg("demo");
        c
    });
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}\n{err}");
    for line in [
        "tier high",
        "opener_cannot_sign",
        "promote straight to prod → refused",
        "drift:",
        "secret_value",
        "vault:// reference → accepted",
        "PHI in a report",
        "C2SP tlog-tiles",
        "C2SP signed note",
    ] {
        assert!(out.contains(line), "the demo does not say {line:?}:\n{out}");
    }
    assert!(
        !out.contains("123-45-6789") && !err.contains("123-45-6789"),
        "the SSN was echoed"
    );
    assert_no_demo_dir_left(tmp.path());
}

/// `ward log show | head` panicked ("failed printing to stdout: Broken pipe"). A reader that went
/// away ends the program quietly with success.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init", "--origin", "test.example/log"]);
        c
    }));
    let lines = format!("{EVENT}\n").repeat(50);
    ok(run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args(["log", "append"]);
            c
        },
        &lines,
    ));
    let mut c = ward(&d, None);
    c.args(["log", "show", "--limit", "50"]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    // Close the reading end before the program writes anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

/// Asserts no `ward demo` temporary data directory is left under `tmp`.
fn assert_no_demo_dir_left(tmp: &std::path::Path) {
    let left: Vec<_> = std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with("ward-demo-"))
        .collect();
    assert!(left.is_empty(), "temporary directory left: {left:?}");
}

/// `ward demo | head` ended early on the closed pipe and left its temporary data directory,
/// the log's private key included, under the temporary directory. It is removed on that path too.
#[test]
fn a_demo_into_a_closed_pipe_leaves_no_data_directory_with_its_log_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = ward(&tmp.path().join("unused"), None);
    c.env("TMPDIR", tmp.path()).arg("demo");
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    // Read the first line, as `head -1` does, then go away.
    {
        use std::io::BufRead;
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("a first line");
        assert!(!first.is_empty());
    }
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("panicked"),
        "{:?}: {stderr}",
        out.status
    );
    assert_no_demo_dir_left(tmp.path());
}

/// `ward approve -h` names every meaning a signature can carry by default, so a signer never has
/// to read the source to find `privacy-review` or `uat-signoff`.
#[test]
fn approve_help_lists_every_default_meaning() {
    let d = tempfile::tempdir().expect("tmp");
    let help = ok(run({
        let mut c = ward(d.path(), None);
        c.args(["approve", "--help"]);
        c
    }));
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for meaning in ward_core::approval::ApprovalRules::default().meanings {
        assert!(
            help.contains(&meaning),
            "`ward approve -h` does not name {meaning}: {help}"
        );
    }
}

/// A usage error never repeats an argument that looks like a secret or PHI: clap would quote
/// the unexpected argument (`-----BEGIN … PRIVATE KEY-----` starts with a dash); Ward gives its
/// length instead.
#[test]
fn a_usage_error_never_repeats_a_secret_argument() {
    let d = tempfile::tempdir().expect("tmp");
    let o = run({
        let mut c = ward(d.path(), None);
        c.args(["log", "show", "-----BEGIN OPENSSH PRIVATE KEY-----", "ref_219-45-1100"]);
        c
    });
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("PRIVATE KEY") && !err.contains("219-45"), "{err}");
    assert!(err.contains("unexpected argument '(35 characters)'"), "{err}");
}

/// `log show --limit N` past one page (1,000 entries) reads page after page: all N, never a
/// silent cut at the page size.
#[test]
fn log_show_honours_a_limit_past_one_page() {
    let d = tempfile::tempdir().expect("tmp");
    ok(run({
        let mut c = ward(d.path(), None);
        c.args(["init"]);
        c
    }));
    let events: String = (0..1005)
        .map(|i| format!("{{\"kind\":\"note.x\",\"subject\":\"s:{i}\"}}\n"))
        .collect();
    ok(run_with_stdin(
        {
            let mut c = ward(d.path(), None);
            c.args(["log", "append"]);
            c
        },
        &events,
    ));
    let all = json(&ok(run({
        let mut c = ward(d.path(), None);
        c.args(["log", "show", "--limit", "100000", "--output", "json"]);
        c
    })));
    let entries = all["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1005);
    assert_eq!(entries[1004]["seq"], 1004);
    let some = json(&ok(run({
        let mut c = ward(d.path(), None);
        c.args(["log", "show", "--from", "990", "--limit", "12", "--output", "json"]);
        c
    })));
    assert_eq!(some["entries"].as_array().map(Vec::len), Some(12));
}

/// An identity a provider of people issues names a person, whatever kind an appended event
/// claims for it: the operator cannot record `staff:dana` as automation (a helper's attack on
/// `5fa06be`: the texts view and an audit search then showed it as Dana's action). Another
/// automation identity is the operator's script.
#[test]
fn a_person_of_an_identity_provider_is_never_an_appended_events_automation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init", "--origin", "test.example/log"]);
        c
    }));
    let jwks = tmp.path().join("jwks.json");
    std::fs::write(&jwks, r#"{"keys":[]}"#).unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[[oidc]]\nname = \"staff\"\nissuer = \"https://idp.example.org\"\naudience = \"ward\"\njwks_file = \"{}\"\nkind = \"human\"\nidentity = \"staff:{{sub}}\"\n",
            jwks.display()
        ),
    )
    .unwrap();
    let append = |actor: &str| {
        run_with_stdin(
            {
                let mut c = ward(&d, None);
                c.args(["log", "append"]);
                c
            },
            &format!(r#"{{"actor":{{"id":"{actor}","kind":"automation"}},"kind":"deploy.note","subject":"svc:x"}}"#),
        )
    };
    for person in [
        "staff:dana",
        "STAFF:carol",
        "ci:dana%40corp.com",
        "ci:dana(at)corp.com",
        "user%3Abob",
        "bob&#64;example.com",
        "bob%2540example.com",
    ] {
        let o = append(person);
        assert!(!o.status.success(), "{person}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("locally appended events are the operator's"), "{err}");
    }
    let o = append("ci:nightly");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A local user's login, bare or as part of an automation's id, is that person (a helper's
    // attack on `93961e6` recorded `bob` and `ci:bob` as automation).
    common::add_user(&d, None, "bob", &["approver"]);
    for person in [
        "bob", "ci:bob", "ci:BOB", "svc/bob", "ci:%62ob", "ci|bob", "ci;bob", "ci+bob", "ci,bob", "ci=bob",
    ] {
        let o = append(person);
        assert!(!o.status.success(), "{person}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("locally appended events are the operator's"), "{err}");
    }
    for automation in ["ci:bobcat", "ci:nightly"] {
        let o = append(automation);
        assert!(
            o.status.success(),
            "{automation}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A second login Ward reads as Bob's is a second account of one person, refused (a helper's
    // attack on the twelfth session's head: `bob.` and `bob` met a two-approver quorum).
    for twin in ["bob.", "b_ob", "b-o-b", "b.ob"] {
        let o = run_with_stdin(
            {
                let mut c = ward(&d, None);
                c.args([
                    "user",
                    "add",
                    "--name",
                    twin,
                    "--display-name",
                    "Robert Twin",
                    "--role",
                    "approver",
                ]);
                c
            },
            "twin-correct-horse-battery\n",
        );
        assert!(!o.status.success(), "{twin}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("the same person's"), "{err}");
    }
}

/// Two processes adding one person under two logins Ward reads as one (`eve`, `e.ve`) add one
/// of them: the check and the write are one step over the store, not only within a process (a
/// helper's note on the thirteenth session's head: a lock of the process let two `ward user
/// add` at once both pass the check).
#[test]
fn two_processes_adding_one_person_under_two_logins_add_one() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init", "--origin", "test.example/log"]);
        c
    }));
    let add = |login: &str, printed: &str| {
        let mut c = ward(&d, None);
        c.args([
            "user",
            "add",
            "--name",
            login,
            "--display-name",
            printed,
            "--role",
            "approver",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("spawn ward");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"one-person-correct-horse\n")
            .expect("write stdin");
        child
    };
    for (login, twin, first) in [("eve", "e.ve", "Eve"), ("ann", "a_nn", "Ann"), ("ida", "i-da", "Ida")] {
        // Both started before either finishes (each hashes a password for a while after its
        // check, which is where two unlocked adds overlapped).
        let one = add(login, &format!("{first} Adams"));
        let two = add(twin, &format!("{first} Baker"));
        let outputs = [one.wait_with_output().unwrap(), two.wait_with_output().unwrap()];
        let added = outputs.iter().filter(|o| o.status.success()).count();
        let refusals: Vec<String> = outputs
            .iter()
            .filter(|o| !o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect();
        assert_eq!(added, 1, "{login}/{twin}: {refusals:?}");
        assert!(refusals[0].contains("the same person's"), "{refusals:?}");
    }
    let users = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["user", "list", "--output", "json"]);
        c
    })));
    let names: Vec<&str> = users["users"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names.len(), 3, "{users}");
}

/// `--as` through a server is refused, not ignored: the signature would be the token holder's
/// while the person typing believed it was Dana's (a helper's note on the thirteenth session's
/// head). Refused before anything is sent, by flag and by `WARD_AS` alike.
#[test]
fn a_local_user_named_through_a_server_is_refused_not_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    let by_flag = run({
        let mut c = ward(&d, None);
        c.args([
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "wt_unused",
            "--as",
            "dana",
            "change",
            "list",
        ]);
        c
    });
    let by_env = run({
        let mut c = ward(&d, None);
        c.args([
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "wt_unused",
            "change",
            "list",
        ])
        .env("WARD_AS", "dana");
        c
    });
    for o in [by_flag, by_env] {
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("--as names a local user"), "{err}");
        assert!(!err.contains("dana"), "{err}");
        assert!(!err.contains("connect"), "nothing is sent: {err}");
    }
}
