//! Issue 14, operator actions (item 8): a rollout's operator commands are recorded as the
//! person who issued them, the steps a promote skips are recorded and shown as skipped by that
//! person, and promoting a high-tier change past its analysis needs a recorded reason. A real
//! `ward serve` with the local runtime and the sample service.

mod common;
use common::{json, ok, open_change, register, run, run_with_stdin, token, ward};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A release of the sample service (a tarball whose `service` runs this build's `ward
/// sample-service`); its sha256 is the artifact digest.
fn release(artifacts: &Path, name: &str) -> String {
    let dir = artifacts.parent().unwrap().join(format!("build-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("service");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexport SAMPLE_VERSION={name}\nexec '{}' sample-service\n",
            env!("CARGO_BIN_EXE_ward")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let tarball = artifacts.join(format!("{name}.tar"));
    let st = Command::new("tar")
        .arg("-cf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .arg("service")
        .status()
        .unwrap();
    assert!(st.success());
    ward_runtime::artifact::file_digest(&tarball).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(d: &Path, port: u16) -> Serving {
    let mut c = ward(d, None);
    c.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("spawn ward serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("serving"), "{line:?}");
    Serving(child)
}

/// A local user with a password and a personal token (a human identity `user:<name>`).
fn person(d: &Path, name: &str, display: &str, role: &str) -> String {
    ok(run_with_stdin(
        {
            let mut c = ward(d, None);
            c.args(["user", "add", "--name", name, "--display-name", display, "--role", role]);
            c
        },
        &format!("{name}-correct-horse-battery\n"),
    ));
    let out = json(&ok(run({
        let mut c = ward(d, None);
        c.args([
            "token",
            "create",
            "--name",
            &format!("{name}-laptop"),
            "--user",
            name,
            "--role",
            role,
            "--output",
            "json",
        ]);
        c.env("WARD_PASSWORD", format!("{name}-correct-horse-battery"));
        c
    })));
    out["token"].as_str().expect("token").to_string()
}

struct Env {
    _tmp: tempfile::TempDir,
    d: std::path::PathBuf,
    artifacts: std::path::PathBuf,
    api: u16,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("data");
        ok(run({
            let mut c = ward(&d, None);
            c.arg("init");
            c
        }));
        let artifacts = tmp.path().join("dist");
        std::fs::create_dir_all(&artifacts).unwrap();
        let (api, router) = (free_port(), free_port());
        // Steps observed for ten minutes: nothing moves on unless an operator says so.
        std::fs::write(
            d.join("ward.toml"),
            format!(
                r#"[controls.tiers.low]
evidence = []
approvals = 0
ticket = true

[[environments]]
name = "prod"
runtime = {{ listen = "127.0.0.1:{router}", artifacts = "{}", ready_timeout_ms = 10000 }}
strategy = {{ kind = "canary", steps = [10, 50, 100], pause_ms = 600000, tick_ms = 50 }}
"#,
                artifacts.display()
            ),
        )
        .unwrap();
        Env {
            _tmp: tmp,
            d,
            artifacts,
            api,
        }
    }

    fn cli(&self, tok: &str, args: &[&str]) -> Command {
        let mut c = ward(&self.d, None);
        c.args(["--server", &format!("http://127.0.0.1:{}", self.api)])
            .env("WARD_TOKEN", tok)
            .args(args);
        c
    }

    fn rollout(&self, tok: &str, id: &str) -> Value {
        json(&ok(run(self.cli(tok, &["rollout", "status", id, "--output", "json"]))))
    }

    /// Polls the rollout until `done` holds (20 s at most).
    fn wait(&self, tok: &str, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.rollout(tok, id);
            if done(&r) {
                return r;
            }
            assert!(Instant::now() < deadline, "{what}: {r:#}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_size(&self, tok: &str) -> u64 {
        json(&ok(run(self.cli(tok, &["log", "status", "--output", "json"]))))["size"]
            .as_u64()
            .expect("size")
    }

    /// The envelope of log entry `seq`.
    fn entry(&self, tok: &str, seq: u64) -> Value {
        let shown = json(&ok(run(self.cli(
            tok,
            &[
                "log",
                "show",
                "--from",
                &seq.to_string(),
                "--limit",
                "1",
                "--output",
                "json",
            ],
        ))));
        shown["entries"][0]["event"].clone()
    }
}

fn events<'a>(r: &'a Value, kind: &str) -> Vec<&'a Value> {
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[test]
fn operator_resume_is_recorded_as_the_person() {
    let e = Env::new();
    let rita = person(&e.d, "rita", "Rita Release", "release-manager");
    let vera = person(&e.d, "vera", "Vera Approver", "approver");
    let ci = token(&e.d, "ci", "developer");
    let _server = serve(&e.d, e.api);
    let change = |name: &str| {
        let digest = release(&e.artifacts, name);
        register(&e.d, &digest, "reminders", name);
        open_change(e.cli(&ci, &[]), name, &digest)
    };
    let (c1, c2, c3) = (change("v1"), change("v2"), change("v3"));
    ok(run(e.cli(&rita, &["promote", "--change", &c1, "--to", "prod"])));

    // Rita starts a rollout, pauses it and resumes it.
    let started = json(&ok(run(e.cli(
        &rita,
        &["rollout", "start", "--change", &c2, "--env", "prod", "--output", "json"],
    ))));
    let id = started["id"].as_str().unwrap().to_string();
    e.wait(&rita, &id, "step 0 never began", |r| {
        !events(r, "rollout.step").is_empty()
    });
    ok(run(e.cli(&rita, &["rollout", "pause", &id])));
    e.wait(&rita, &id, "not paused", |r| r["status"] == "paused");
    ok(run(e.cli(&rita, &["rollout", "resume", &id])));
    let r = e.wait(&rita, &id, "not resumed", |r| {
        r["status"] == "running" && !events(r, "rollout.resumed").is_empty()
    });
    // Each is recorded with Rita as the event's actor and `by`, never as the engine.
    for kind in ["rollout.paused", "rollout.resumed"] {
        let ev = events(&r, kind)[0];
        assert_eq!(ev["payload"]["by"], "user:rita", "{kind}: {ev:#}");
        let entry = e.entry(&rita, ev["seq"].as_u64().unwrap());
        assert_eq!(entry["actor"]["id"], "user:rita", "{kind}: {entry:#}");
        assert_eq!(entry["actor"]["kind"], "human", "{kind}: {entry:#}");
    }
    assert!(
        events(&r, "rollout.paused")[0]["payload"]["reason"]
            .as_str()
            .unwrap()
            .contains("user:rita")
    );

    // The change is raised to high while it rolls out: promoting past the analysis now needs a
    // reason — refused without one, and nothing but the refusal is recorded (nothing at all).
    ok(run(e.cli(
        &vera,
        &[
            "change",
            "classify",
            &c2,
            "--tier",
            "high",
            "--reason",
            "touches the lab results feed",
        ],
    )));
    let before = e.log_size(&rita);
    let out = run(e.cli(&rita, &["rollout", "promote", &id, "--output", "json"]));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let err = json(&String::from_utf8_lossy(&out.stdout))["error"].clone();
    assert_eq!(err["code"], "promote_reason_required", "{err:#}");
    assert!(err["hint"].as_str().unwrap().contains("--reason"), "{err:#}");
    let short = run(e.cli(
        &rita,
        &["rollout", "promote", &id, "--reason", "ok", "--output", "json"],
    ));
    assert_eq!(
        json(&String::from_utf8_lossy(&short.stdout))["error"]["code"],
        "bad_reason"
    );
    assert_eq!(e.log_size(&rita), before, "a refused promote records nothing");
    assert_eq!(e.rollout(&rita, &id)["status"], "running");

    // With a reason: every remaining step is recorded as skipped by Rita, never as passed.
    let reason = "lab results fix verified by hand on the canary";
    ok(run(e.cli(&rita, &["rollout", "promote", &id, "--reason", reason])));
    let done = e.wait(&rita, &id, "not completed", |r| r["status"] == "completed");
    let skipped: Vec<(u64, &str, &str)> = done["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_u64().unwrap(),
                s["by"].as_str().unwrap(),
                s["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            (0, "user:rita", reason),
            (1, "user:rita", reason),
            (2, "user:rita", reason)
        ]
    );
    let skip = events(&done, "rollout.step_skipped")[0];
    let entry = e.entry(&rita, skip["seq"].as_u64().unwrap());
    assert_eq!(entry["actor"]["id"], "user:rita", "{entry:#}");
    assert!(
        events(&done, "rollout.analysis").is_empty(),
        "no step was analysed: {done:#}"
    );
    let screen = ok(run(e.cli(&rita, &["rollout", "status", &id])));
    assert!(
        screen.contains("⤼ 10% — skipped by user:rita") && screen.contains("⤼ 100% — skipped by user:rita"),
        "{screen}"
    );
    assert!(!screen.contains('✔'), "skipped steps shown as passed:\n{screen}");

    // An abort is the person's too.
    let third = json(&ok(run(e.cli(
        &rita,
        &["rollout", "start", "--change", &c3, "--env", "prod", "--output", "json"],
    ))));
    let id3 = third["id"].as_str().unwrap().to_string();
    e.wait(&rita, &id3, "step 0 never began", |r| {
        !events(r, "rollout.step").is_empty()
    });
    ok(run(e.cli(
        &rita,
        &["rollout", "abort", &id3, "--reason", "wrong build picked for prod"],
    )));
    let aborted = e.wait(&rita, &id3, "not aborted", |r| r["status"] == "aborted");
    let back = events(&aborted, "rollout.rolled_back")[0];
    assert_eq!(back["payload"]["by"], "user:rita", "{back:#}");
    assert_eq!(back["payload"]["operator_reason"], "wrong build picked for prod");
    let entry = e.entry(&rita, back["seq"].as_u64().unwrap());
    assert_eq!(entry["actor"]["id"], "user:rita");
    // The rollout shows the reason; the log holds only its reference (the text lives beside it).
    assert!(
        entry["payload"]["inline"]["operator_reason"]
            .as_str()
            .unwrap()
            .starts_with("doc:sha256:"),
        "{entry:#}"
    );
}

/// Issue 14 item 14: the release notes of a deployment that relied on break-glass show the
/// break-glass (with its review's status), and a retrospective review signed after the
/// deployment is listed apart — never as an approval it relied on.
#[test]
fn notes_show_breakglass_and_separate_later_signatures() {
    notes_rounds(None);
}

#[test]
fn notes_show_breakglass_and_separate_later_signatures_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(ward_store::testing::TestDb::postgres()) else {
        return;
    };
    notes_rounds(Some(&db.url));
    rt.block_on(db.cleanup());
}

/// The notes test on SQLite (`db` = None) or a PostgreSQL URL: every process, the server
/// included, runs on the same store.
fn notes_rounds(db: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    let ward = |d: &Path, _: Option<&str>| common::ward(d, db);
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    // One approval required: only the break-glass lets the emergency change in.
    std::fs::write(
        d.join("ward.toml"),
        "[controls.tiers.low]\nevidence = []\napprovals = 1\n\n[controls.tiers.medium]\nevidence = []\napprovals = 1\n\n\
         [controls.tiers.high]\nevidence = []\napprovals = 1\n\n[[environments]]\nname = \"staging\"\n",
    )
    .unwrap();
    let digest = format!("sha256:{}", "5e".repeat(32));
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
            "1",
        ]);
        c
    }));
    let ci = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "token",
            "create",
            "--name",
            "ci",
            "--role",
            "developer",
            "--output",
            "json",
        ]);
        c
    })))["token"]
        .as_str()
        .expect("token")
        .to_string();
    let person = |name: &str, display: &str, role: &str| {
        ok(run_with_stdin(
            {
                let mut c = ward(&d, None);
                c.args(["user", "add", "--name", name, "--display-name", display, "--role", role]);
                c
            },
            &format!("{name}-correct-horse-battery\n"),
        ));
        json(&ok(run({
            let mut c = ward(&d, None);
            c.args([
                "token",
                "create",
                "--name",
                &format!("{name}-laptop"),
                "--user",
                name,
                "--role",
                role,
                "--output",
                "json",
            ]);
            c.env("WARD_PASSWORD", format!("{name}-correct-horse-battery"));
            c
        })))["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let quinn = person("quinn", "Quinn Alvarez", "release-manager");
    let rhea = person("rhea", "Rhea Okafor", "approver");
    let api = free_port();
    let _server = {
        let mut c = ward(&d, None);
        c.args(["serve", "--listen", &format!("127.0.0.1:{api}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("spawn ward serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("serving"), "{line:?}");
        Serving(child)
    };
    let cli = |tok: &str, args: &[&str]| {
        let mut c = ward(&d, None);
        c.args(["--server", &format!("http://127.0.0.1:{api}")])
            .env("WARD_TOKEN", tok)
            .args(args);
        c
    };
    let change = json(&ok(run(cli(
        &ci,
        &[
            "change",
            "open",
            "--title",
            "Fix",
            "--kind",
            "emergency",
            "--ticket",
            "https://tickets.example.org/INC-7",
            "--artifact",
            &digest,
            "--path",
            "README.md",
            "--output",
            "json",
        ],
    ))))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bg = json(&ok(run({
        let mut c = cli(
            &quinn,
            &[
                "break-glass",
                "--change",
                &change,
                "--rule",
                "approvals.",
                "--justification",
                "appointment booking is down for every clinic",
                "--for",
                "2h",
                "--output",
                "json",
            ],
        );
        c.env("WARD_PASSWORD", "quinn-correct-horse-battery");
        c
    })))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dep = json(&ok(run(cli(
        &quinn,
        &["promote", "--change", &change, "--to", "staging", "--output", "json"],
    ))));
    assert_eq!(dep["status"], "succeeded", "{dep:#}");
    assert_eq!(dep["excused_by"], serde_json::json!([bg]), "{dep:#}");
    assert_eq!(dep["approvals"], serde_json::json!([]), "{dep:#}");
    // The person who broke the glass reviewing it does not close the review (item 7).
    let review = |tok: &str, password: &str| {
        let mut c = cli(
            tok,
            &[
                "approve",
                "--change",
                &change,
                "--meaning",
                "retrospective-review",
                "--comment",
                "root cause found",
            ],
        );
        c.env("WARD_PASSWORD", password);
        c
    };
    let own = run(review(&quinn, "quinn-correct-horse-battery"));
    assert_eq!(own.status.code(), Some(1), "{own:?}");
    assert!(
        String::from_utf8_lossy(&own.stderr).contains("broke the glass on this change and cannot also review it"),
        "{own:?}"
    );
    let reviews = json(&ok(run(cli(&ci, &["review", "list", "--output", "json"]))));
    assert_eq!(reviews["reviews"][0]["id"], bg.as_str(), "{reviews:#}");
    assert_ne!(reviews["reviews"][0]["review"], "closed", "{reviews:#}");
    // The retrospective review, signed after the deployment by someone independent.
    ok(run({
        let mut c = cli(
            &rhea,
            &[
                "approve",
                "--change",
                &change,
                "--meaning",
                "retrospective-review",
                "--comment",
                "root cause found",
            ],
        );
        c.env("WARD_PASSWORD", "rhea-correct-horse-battery");
        c
    }));
    let notes = json(&ok(run(cli(
        &ci,
        &["release", "notes", "--env", "staging", "--output", "json"],
    ))));
    let entry = &notes["releases"][0];
    assert_eq!(entry["approvals"], serde_json::json!([]), "{entry:#}");
    let bgs = entry["breakglass"].as_array().unwrap();
    assert_eq!(bgs.len(), 1, "{entry:#}");
    let line = bgs[0].as_str().unwrap();
    assert!(
        line.starts_with(&format!("{bg} by user:quinn"))
            && line.contains(", bypass until 20")
            && line.contains("retrospective review closed, due 20"),
        "{line}"
    );
    // The invoker's own review was refused: only the independent one was signed after.
    let later = entry["signed_after"].as_array().unwrap();
    assert_eq!(later.len(), 1, "{entry:#}");
    assert!(
        later[0]
            .as_str()
            .unwrap()
            .starts_with("retrospective-review (approved) by Rhea Okafor"),
        "{entry:#}"
    );
    let md = ok(run(cli(&ci, &["release", "notes", "--env", "staging"])));
    assert!(
        md.contains("- Break-glass:\n  - ")
            && md.contains("- Signed after deployment (not relied on):\n  - retrospective-review"),
        "{md}"
    );
    assert!(md.contains("- Approvals at the gate decision: none"), "{md}");

    // The glass is bound to the change as it was broken: an artifact swapped in afterwards is
    // not bypassed into an environment (a helper's attack on the twelfth session's head: a
    // developer swapped the artifact and a token deployed it, signed by nobody).
    let swapped = format!("sha256:{}", "6f".repeat(32));
    ok(run(cli(
        &ci,
        &[
            "artifact",
            "register",
            "--digest",
            &swapped,
            "--service",
            "portal",
            "--version",
            "2",
        ],
    )));
    ok(run(cli(&ci, &["change", "update", &change, "--artifact", &swapped])));
    let refused = run(cli(
        &quinn,
        &["promote", "--change", &change, "--to", "staging", "--output", "json"],
    ));
    assert!(!refused.status.success(), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr).to_string() + &String::from_utf8_lossy(&refused.stdout);
    assert!(said.contains("approvals."), "{said}");
    let shown = ok(run(cli(&ci, &["change", "show", &change])));
    assert!(
        shown.contains(&format!("{bg} by")) && shown.contains("VOID (the change was edited since"),
        "{shown}"
    );
}
