//! Issue 17, "hints that work": a release manager meets a high-risk change the gate blocks, and
//! does exactly what Ward prints — every `fix:` line's command, and every `hint:` a refused fix
//! prints, run as printed with its placeholders (`FILE`, `URL`, `NAME`, `KEYFILE`) filled as a
//! person would, by the person the fix asks for — until the gate allows and the change ships.
//! Nothing here knows which commands satisfy which rule: the printed words are the only guide.
//! A fix that does not parse, is refused, or leaves its rule in place fails the test.

mod common;

use common::{add_user, as_user, json, ok, printed_command, run, ward};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ward-evidence/tests/fixtures")
        .join(name)
}

/// A printed fix: its rule and the command's words after `ward`.
type Fix = (String, Vec<String>);

struct Story {
    d: PathBuf,
    tmp: PathBuf,
    change: String,
    /// Who signs each meaning next (rotating among the people who may).
    signers: BTreeMap<&'static str, (Vec<&'static str>, usize)>,
    /// Every command run, as printed (placeholders filled).
    ran: Vec<String>,
    /// The stanza a backup report (`--type dr:TOOL FILE`) is written for, when the story has one.
    dr_store: Option<String>,
}

impl Story {
    /// The file a placeholder stands for: what the person would attach, judged by the name the
    /// fix prints (`report.xml`, `scan.sarif`, …) as the fix's words describe it.
    fn file(&self, placeholder: &str) -> String {
        let p = match placeholder {
            "report.xml" => fixture("pytest-passing.xml"),
            // The pipeline's SAST step: semgrep's real report of this build, which found nothing
            // (the fixture's run with its results emptied).
            "scan.sarif" => {
                let mut v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(fixture("semgrep.sarif")).unwrap()).unwrap();
                v["runs"][0]["results"] = serde_json::json!([]);
                let p = self.tmp.join("semgrep-clean.sarif");
                std::fs::write(&p, v.to_string()).unwrap();
                p
            }
            "sbom.json" => fixture("cyclonedx-py-1.6.json"),
            "provenance.json" => fixture("statement-v1-slsa1.ed25519.dsse.json"),
            "plan.json" => {
                let p = self.tmp.join("plan.json");
                std::fs::write(
                    &p,
                    r#"{"steps": ["ward rollout abort", "redeploy 1.3.9"], "tested_on": "2026-11-30"}"#,
                )
                .unwrap();
                p
            }
            "KEYFILE" => fixture("intoto-ed25519.pub"),
            // The backup tool's report: pgBackRest `info --output=json` of a full backup of the
            // store that finished an hour ago.
            "FILE" if self.dr_store.is_some() => {
                let stop = jiff::Timestamp::now().as_second() - 3600;
                let p = self.tmp.join("pgbackrest-info.json");
                std::fs::write(&p, pgbackrest_info(self.dr_store.as_deref().unwrap(), stop)).unwrap();
                p
            }
            other => panic!("a printed placeholder this story has no file for: {other}"),
        };
        p.display().to_string()
    }

    /// Runs printed `words` (after `ward`) as the person they call for; returns the output.
    fn run_printed(&mut self, words: &[String]) -> Output {
        // A person's command printed in local mode names its user as `--as USER`: the person
        // chosen below fills it with their name (`as_user`).
        let (named, words) = match words {
            [a, u, rest @ ..] if a == "--as" && u == "USER" => (true, rest),
            _ => (false, words),
        };
        let filled: Vec<String> = words
            .iter()
            .map(|w| match w.as_str() {
                "URL" => common::TICKET.to_string(),
                "NAME" => "ci".to_string(),
                "TEXT" => "the scanner's finding is in a test fixture that is not shipped".to_string(),
                "IDENTITY" => "user:dana".to_string(),
                "TIME" => (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(20)).to_string(),
                "DURATION" => "25m".to_string(),
                "dr:TOOL" => "dr:pgbackrest".to_string(),
                w if w.ends_with(".xml")
                    || w.ends_with(".sarif")
                    || w.ends_with(".json")
                    || w == "KEYFILE"
                    || w == "FILE" =>
                {
                    self.file(w)
                }
                w => w.to_string(),
            })
            .collect();
        self.ran.push(filled.join(" "));
        let args: Vec<&str> = filled.iter().map(String::as_str).collect();
        let person_command = matches!(args.first().copied(), Some("approve" | "change" | "waiver" | "promote"));
        assert_eq!(
            named,
            person_command || (args.first() == Some(&"dr") && args.get(1) == Some(&"restore-test")),
            "a person's command printed locally names its user (`--as USER`), no other does: {words:?}"
        );
        let who = match args.first().copied() {
            // A signature: whoever may give this meaning and has not just given it.
            Some("approve") => {
                let meaning = args
                    .iter()
                    .position(|a| *a == "--meaning")
                    .map(|i| args[i + 1])
                    .expect("an approve fix names its meaning");
                let (people, next) = self
                    .signers
                    .get_mut(meaning)
                    .unwrap_or_else(|| panic!("nobody in the story signs {meaning}"));
                *next += 1;
                Some(people[(*next - 1) % people.len()])
            }
            // The change's content is its opener's to edit; keys are the administrator's; a
            // waiver is an approver's signature, a restore test a release manager's.
            Some("change") => Some("dana"),
            Some("waiver") => Some("vera"),
            Some("dr") => Some("rita"),
            Some("key") => Some("adam"),
            Some("promote") => Some("rita"),
            // Evidence is attached by the pipeline (the local operator here).
            _ => None,
        };
        run(match who {
            Some(person) => as_user(&self.d, None, person, &args),
            None => {
                let mut c = ward(&self.d, None);
                c.args(&args);
                c
            }
        })
    }

    /// Runs one printed fix; when it is refused, the commands its refusal prints (`hint:` and
    /// `fix:` lines) are followed as printed and the fix is tried again, as a person would (a
    /// quorum of two needs the signature fix twice). Panics when it still does not work.
    fn follow(&mut self, words: &[String], depth: usize) {
        assert!(depth < 4, "`ward {}`: hints lead to hints without end", words.join(" "));
        let mut last = String::new();
        for _attempt in 0..3 {
            let out = self.run_printed(words);
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let mut next: Vec<Vec<String>> = last
                .lines()
                .map(str::trim)
                .filter_map(|l| l.strip_prefix("hint: ").or_else(|| l.strip_prefix("fix: ")))
                .filter_map(printed_command)
                .collect();
            next.sort_by_key(|w| step_order(w));
            if !out.status.success() {
                assert!(
                    !next.is_empty(),
                    "`ward {}` failed with nothing to follow:\n{last}",
                    words.join(" ")
                );
            }
            // What a command prints to do next: a refusal's hints, `ward gate explain`'s fixes.
            for w in next {
                self.follow(&w, depth + 1);
            }
            if out.status.success() {
                return;
            }
        }
        panic!(
            "`ward {}` still fails after following what it printed:\n{last}",
            words.join(" ")
        );
    }

    /// `ward gate check` as the release manager: its exit code, reasons and printed fixes.
    fn gate(&self) -> (Option<i32>, BTreeSet<String>, Vec<Fix>) {
        let out = run(as_user(
            &self.d,
            None,
            "rita",
            &["gate", "check", "--change", &self.change, "--env", "prod"],
        ));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut rules = BTreeSet::new();
        let mut fixes = Vec::new();
        let mut rule = String::new();
        for line in text.lines().map(str::trim) {
            if let Some(r) = line.strip_prefix("✗ ") {
                rule = r.split(':').next().unwrap().to_string();
                rules.insert(rule.clone());
            } else if let Some(f) = line.strip_prefix("fix: ") {
                let words = printed_command(f).unwrap_or_else(|| panic!("{rule}'s fix names no command: {f}"));
                fixes.push((rule.clone(), words));
            }
        }
        (out.status.code(), rules, fixes)
    }
}

/// pgBackRest `info --output=json` for `stanza` with one full backup that finished at `stop`
/// (the shape the tool prints; see ward-evidence's tests/fixtures/dr).
fn pgbackrest_info(stanza: &str, stop: i64) -> String {
    format!(
        r#"[{{"archive":[],"backup":[{{"backrest":{{"format":5,"version":"2.45"}},"database":{{"id":1,"repo-key":1}},"error":false,"info":{{"delta":1000,"repository":{{"delta":100,"size":100}},"size":1000}},"label":"F1","prior":null,"reference":null,"timestamp":{{"start":{},"stop":{stop}}},"type":"full"}}],"cipher":"none","db":[],"name":"{stanza}","repo":[],"status":{{"code":0,"lock":{{"backup":{{"held":false}}}},"message":"ok"}}}}]"#,
        stop - 60
    )
}

/// A data directory under `tmp` initialised with `ward init`, `toml` as its `ward.toml`, and
/// the local users `people` (name, role), each with [`common::pw`].
fn data_dir(tmp: &Path, toml: &str, people: &[(&str, &str)]) -> PathBuf {
    let d = tmp.join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    std::fs::write(d.join("ward.toml"), toml).unwrap();
    for (name, role) in people {
        add_user(&d, None, name, &[role]);
    }
    d
}

/// The order a person takes printed steps in: the change itself, then evidence (and the keys
/// it needs), then signatures (which cover what is attached when given), then promotion.
fn step_order(words: &[String]) -> u8 {
    let words = match words {
        [a, u, rest @ ..] if a == "--as" && u == "USER" => rest,
        _ => words,
    };
    match words[0].as_str() {
        "change" => 0,
        "approve" => 2,
        "promote" => 3,
        _ => 1,
    }
}

#[test]
fn every_fix_the_gate_prints_for_a_high_risk_change_works_as_printed_until_it_ships() {
    let tmp = tempfile::tempdir().unwrap();
    // Only the environments are configured: the built-in controls apply (high: tests, no
    // critical SAST, SBOM, provenance, rollback plan, two approvals, a release manager, a
    // ticket; PHI: a privacy review).
    let d = data_dir(
        tmp.path(),
        "[[environments]]\nname = \"staging\"\n\n[[environments]]\nname = \"prod\"\nafter = \"staging\"\n",
        &[
            ("dana", "developer"),
            ("quinn", "approver"),
            ("vera", "approver"),
            ("pat", "privacy-officer"),
            ("rita", "release-manager"),
            ("adam", "admin"),
        ],
    );
    let digest = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "artifact",
            "register",
            "--service",
            "scheduling-api",
            "--version",
            "1.4.0",
            "--output",
            "json",
            "--file",
        ])
        .arg(fixture("intoto-app.tar"));
        c
    })))["digest"]
        .as_str()
        .unwrap()
        .to_string();
    // The pipeline's first run: failing tests (a critical SAST finding would need a new build:
    // its fix names no command, see the gate's tests).
    ok(run({
        let mut c = ward(&d, None);
        c.args(["attest", "add", "--artifact", &digest])
            .arg(fixture("pytest.xml"));
        c
    }));
    let change = json(&ok(run(as_user(
        &d,
        None,
        "dana",
        &[
            "change",
            "open",
            "--title",
            "Patient search: fuzzy matching",
            "--artifact",
            &digest,
            "--path",
            "src/phi/search.py",
            "--env",
            "prod",
            "--output",
            "json",
        ],
    ))))["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A target that is not declared is refused when it is named, with the closest declared
    // one, never carried into the gate's fixes; the change keeps its targets.
    for args in [
        vec!["change", "update", change.as_str(), "--env", "staging", "--env", "prd"],
        vec![
            "change",
            "open",
            "--title",
            "Typo",
            "--artifact",
            &digest,
            "--env",
            "stagng",
        ],
    ] {
        let typo = run(as_user(&d, None, "dana", &args));
        assert_eq!(typo.status.code(), Some(1), "{typo:?}");
        let said = String::from_utf8_lossy(&typo.stderr);
        assert!(
            said.contains("is not a declared environment") && said.contains("hint: did you mean "),
            "{said}"
        );
    }
    let kept = json(&ok(run(ward_words(
        &d,
        None,
        &words(&["change", "show", &change, "--output", "json"]),
    ))));
    assert_eq!(kept["environments"], serde_json::json!(["prod"]), "{kept:#}");
    let mut story = Story {
        d: d.clone(),
        tmp: tmp.path().to_path_buf(),
        change,
        signers: [
            ("approved", (vec!["quinn", "vera"], 0)),
            ("release-authority", (vec!["rita"], 0)),
            ("privacy-review", (vec!["pat"], 0)),
        ]
        .into(),
        ran: Vec::new(),
        dr_store: None,
    };

    let (code, first_rules, _) = story.gate();
    assert_eq!(code, Some(4), "{first_rules:?}");
    for rule in [
        "approvals.quorum",
        "approvals.role.release-manager",
        "change.ticket_missing",
        "checklist.privacy-review",
        "evidence.no_critical_sast",
        "evidence.provenance",
        "evidence.rollback_plan",
        "evidence.sbom",
        "evidence.tests_failed",
        "evidence.tests_passed",
        "promotion.previous_environment",
    ] {
        assert!(first_rules.contains(rule), "{rule} missing from {first_rules:?}");
    }
    // Round after round, the person runs what is printed: the change's own fixes and the
    // evidence first, signatures last (a signature covers what is attached when it is given).
    let mut rounds = 0;
    loop {
        let (code, rules, mut fixes) = story.gate();
        if code == Some(0) {
            break;
        }
        assert_eq!(code, Some(4), "{rules:?}");
        rounds += 1;
        assert!(
            rounds <= 4,
            "still blocked after {} rounds: {rules:?}\nran: {:#?}",
            rounds - 1,
            story.ran
        );
        assert_eq!(
            fixes.len(),
            rules.len(),
            "every reason prints a fix: {rules:?} {fixes:?}"
        );
        fixes.sort_by_key(|(_, words)| step_order(words));
        for (rule, words) in fixes {
            eprintln!("{rule}: ward {}", words.join(" "));
            story.follow(&words, 0);
        }
        let (_, after, _) = story.gate();
        // A round removes every reason that is not a signature (signatures may need a second
        // person, the next round's).
        let left: Vec<&String> = after
            .iter()
            .filter(|r| !r.starts_with("approvals.") && !r.starts_with("checklist."))
            .collect();
        assert!(
            left.is_empty(),
            "following the fixes left {left:?}\nran: {:#?}",
            story.ran
        );
    }
    // Each kind of step was taken from the printed words: ticket, evidence, the key the
    // provenance needs (the refusal's hint), signatures of every meaning, the promotion through
    // staging, the explanation its refusal points to and the retargeting that explanation asks.
    let ran = story.ran.join("\n");
    for step in [
        "change update",
        "--ticket",
        "attest add",
        "key trust --builder ci",
        "approve --change",
        "--meaning privacy-review",
        "--meaning release-authority",
        "promote --change",
        "gate explain",
        "--env prod --env staging",
    ] {
        assert!(ran.contains(step), "{step} was never run:\n{ran}");
    }
    eprintln!("ran, as printed:\n{ran}");
    // The quorum of two was met by two people who approve, not by the privacy officer's
    // sign-off.
    let explained = ok(run(as_user(
        &d,
        None,
        "rita",
        &[
            "gate",
            "check",
            "--change",
            &story.change,
            "--env",
            "prod",
            "--output",
            "json",
        ],
    )));
    // The decision records who asked for it: the named person, not the local operator.
    assert_eq!(json(&explained)["checked_by"], "user:rita", "{explained}");
    let decision = json(&explained)["id"].to_string();
    let explained = ok(run(as_user(&d, None, "rita", &["gate", "explain", &decision])));
    let quorum = explained
        .lines()
        .skip_while(|l| !l.contains("✓ approvals.quorum"))
        .take_while(|l| !l.trim_start().starts_with("✓ approvals.role"))
        .collect::<Vec<_>>()
        .join("\n");
    let counted: BTreeSet<&str> = quorum
        .lines()
        .filter_map(|l| l.trim().strip_prefix("by "))
        .filter_map(|l| l.split(['(', ')']).nth(1))
        .collect();
    assert!(
        counted.len() >= 2 && !counted.contains("user:pat"),
        "the quorum is two approvers, never the privacy review: {counted:?}\n{explained}"
    );
    // And the change ships.
    let dep = json(&ok(run(as_user(
        &d,
        None,
        "rita",
        &["promote", "--change", &story.change, "--to", "prod", "--output", "json"],
    ))));
    assert_eq!(dep["status"], "succeeded", "{dep:#}");
}

#[test]
fn printed_commands_are_split_as_a_shell_would() {
    assert_eq!(
        printed_command("sign it: ward approve --change C --meaning 'it'\\''s'").unwrap(),
        ["approve", "--change", "C", "--meaning", "it's"]
    );
    assert_eq!(
        printed_command("trust the key with `ward key trust --builder NAME KEYFILE`").unwrap(),
        ["key", "trust", "--builder", "NAME", "KEYFILE"]
    );
    assert_eq!(printed_command("nothing to run"), None);
}

/// The hints of everyday refusals — an unknown change, a log without a checkpoint, a failed
/// deployment — are commands that work as printed, and what they print answers the refusal.
#[test]
fn the_hints_of_everyday_refusals_work_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = data_dir(
        tmp.path(),
        "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
         [[environments]]\nname = \"staging\"\ncommand = [\"sh\", \"-c\", \"echo migrating the schema; echo 'schema lock held' >&2; exit 3\"]\n",
        &[("dana", "developer"), ("rita", "release-manager")],
    );
    let hint_of = |o: &Output| -> Vec<String> {
        assert!(
            !o.status.success(),
            "expected a refusal: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        stderr
            .lines()
            .filter_map(|l| l.strip_prefix("hint: "))
            .find_map(printed_command)
            .unwrap_or_else(|| panic!("no command in the refusal's hint:\n{stderr}"))
    };
    let run_words = |who: Option<&str>, words: &[String]| -> String {
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        ok(run(match who {
            Some(p) => as_user(&d, None, p, &args),
            None => {
                let mut c = ward(&d, None);
                c.args(&args);
                c
            }
        }))
    };

    // An unknown change: the hint lists the changes, and the real one is there.
    let id = common::open_change(as_user(&d, None, "dana", &[]), "Docs", &{
        let digest = format!("sha256:{}", "d0".repeat(32));
        common::register(&d, &digest, "portal", "1.0.0");
        digest
    });
    let refused = run(as_user(&d, None, "rita", &["change", "show", "CHG-00000000"]));
    let listed = run_words(None, &hint_of(&refused));
    assert!(listed.contains(&id), "{listed}");

    // A log without a checkpoint: the hint signs one, and the refused proof then works.
    let proof = ["log", "proof", "--index", "0"].map(String::from);
    let refused = run({
        let mut c = ward(&d, None);
        c.args(&proof);
        c
    });
    run_words(Some("rita"), &hint_of(&refused));
    let proved = json(&run_words(
        None,
        &[&proof[..], &["--output".to_string(), "json".to_string()]].concat(),
    ));
    assert_eq!(proved["index"], 0, "{proved:#}");

    // A failed deployment: the hint prints what the target printed, from the stored output.
    let refused = run(as_user(
        &d,
        None,
        "rita",
        &["promote", "--change", &id, "--to", "staging"],
    ));
    let output = run_words(Some("rita"), &hint_of(&refused));
    assert!(
        output.contains("migrating the schema") && output.contains("schema lock held"),
        "{output}"
    );

    // More families, each refusal's hint run as printed (a placeholder filled as a person
    // would) and its answer holding what the refusal was about.
    let fill = |words: Vec<String>| -> Vec<String> {
        words
            .into_iter()
            .map(|w| if w == "ENV" { "staging".to_string() } else { w })
            .collect()
    };
    let refused_and_listed = |args: &[&str], who: Option<&str>| -> String {
        let refused = run(match who {
            Some(p) => as_user(&d, None, p, args),
            None => {
                let mut c = ward(&d, None);
                c.args(args);
                c
            }
        });
        run_words(who, &fill(hint_of(&refused)))
    };
    // An unknown deployment: the hint lists the environment's deployments, with the failed one.
    let listed = refused_and_listed(&["deployments", "show", "999999"], None);
    assert!(listed.contains(&id) && listed.contains("failed"), "{listed}");
    // An unknown gate decision (explained, or its input asked for): the hint lists decisions.
    for args in [&["gate", "explain", "999999"][..], &["gate", "input", "999999"]] {
        let listed = refused_and_listed(args, None);
        assert!(listed.contains("gate.evaluated") && listed.contains(&id), "{listed}");
    }
    // An unknown token, an unknown user: the hints list them.
    // Its text output is the token alone, for `WARD_TOKEN=$(ward token create …)`; the notice
    // goes to stderr.
    let made = run({
        let mut c = ward(&d, None);
        c.args(["token", "create", "--name", "ci-bot", "--role", "developer"]);
        c
    });
    let stdout = String::from_utf8_lossy(&made.stdout);
    assert!(
        made.status.success() && stdout.trim_end().lines().count() == 1 && stdout.starts_with("ward_"),
        "{made:?}"
    );
    assert!(String::from_utf8_lossy(&made.stderr).contains("shown once"), "{made:?}");
    let listed = refused_and_listed(&["token", "revoke", "tok_000000000000"], None);
    assert!(listed.contains("ci-bot"), "{listed}");
    let listed = refused_and_listed(&["user", "activate", "nobody"], None);
    assert!(listed.contains("dana") && listed.contains("rita"), "{listed}");
    // An unknown change's approvals: the hint lists the changes.
    let listed = refused_and_listed(&["change", "approvals", "CHG-00000000"], None);
    assert!(listed.contains(&id), "{listed}");
    // A blank service for the delivery metrics: the hint shows an artifact as registered, with
    // its service (its `DIGEST` filled with the change's artifact).
    let refused = run({
        let mut c = ward(&d, None);
        c.args(["metrics", "dora", "--env", "staging", "--service", " "]);
        c
    });
    let digest = format!("sha256:{}", "d0".repeat(32));
    let shown = run_words(
        None,
        &hint_of(&refused)
            .into_iter()
            .map(|w| if w == "DIGEST" { digest.clone() } else { w })
            .collect::<Vec<_>>(),
    );
    assert!(shown.starts_with("portal 1.0.0"), "{shown}");
    // A blank search criterion: the hint shows the log, where the people appear as searched.
    let listed = refused_and_listed(&["audit", "search", "--person", " "], None);
    assert!(
        listed.contains("user:dana") && listed.contains("change.opened"),
        "{listed}"
    );
}

/// The other families of fixes, run as printed: an open critical CVE (an approver waives that one
/// finding, its placeholders filled) and a service whose data is not shown recoverable (the
/// backup tool's report attached, a restore test recorded by a person).
#[test]
fn the_fixes_for_a_critical_cve_and_dr_readiness_work_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = data_dir(
        tmp.path(),
        "[[environments]]\nname = \"prod\"\n\n\
         [[services]]\nname = \"scheduling-api\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"sched-db\"]\n",
        &[
            ("dana", "developer"),
            ("quinn", "approver"),
            ("vera", "approver"),
            ("rita", "release-manager"),
        ],
    );
    let digest = format!("sha256:{}", "5c".repeat(32));
    common::register(&d, &digest, "scheduling-api", "2.0.0");
    // Tests pass; Trivy finds a critical CVE in the image.
    for report in ["pytest-passing.xml", "public/trivy.json"] {
        ok(run({
            let mut c = ward(&d, None);
            c.args(["attest", "add", "--artifact", &digest]).arg(fixture(report));
            c
        }));
    }
    let change = common::open_change(as_user(&d, None, "dana", &[]), "Reminder copy", &digest);
    let mut story = Story {
        d: d.clone(),
        tmp: tmp.path().to_path_buf(),
        change,
        signers: [("approved", (vec!["quinn"], 0))].into(),
        ran: Vec::new(),
        dr_store: Some("sched-db".into()),
    };
    let (code, first_rules, _) = story.gate();
    assert_eq!(code, Some(4), "{first_rules:?}");
    for rule in ["vulnerabilities.critical_open", "dr.readiness", "approvals.quorum"] {
        assert!(first_rules.contains(rule), "{rule} missing from {first_rules:?}");
    }
    let mut rounds = 0;
    loop {
        let (code, rules, mut fixes) = story.gate();
        if code == Some(0) {
            break;
        }
        rounds += 1;
        assert!(rounds <= 3, "still blocked: {rules:?}\nran: {:#?}", story.ran);
        fixes.sort_by_key(|(_, words)| step_order(words));
        for (rule, words) in fixes {
            eprintln!("{rule}: ward {}", words.join(" "));
            story.follow(&words, 0);
        }
    }
    let ran = story.ran.join("\n");
    for step in [
        "waiver grant --change",
        "--finding CVE-2019-18224",
        "--owner user:dana",
        "attest add --type dr:pgbackrest",
        "dr restore-test --store sched-db",
        "approve --change",
    ] {
        assert!(ran.contains(step), "{step} was never run:\n{ran}");
    }
}

/// A fix that can only be read, not run away: an error budget that cannot be judged (its
/// Prometheus does not answer) prints `ward slo status`, which runs as printed and shows the
/// objective UNKNOWN with the reason — and the gate keeps blocking, as it must, until the query
/// answers (or an emergency change is opened).
#[test]
fn an_unreadable_error_budget_prints_a_status_command_that_works_and_explains_it() {
    let tmp = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback: nothing listens, the query cannot be answered.
    let d = data_dir(
        tmp.path(),
        "[[environments]]\nname = \"prod\"\n\n[[slo]]\nservice = \"scheduling-api\"\nenvironments = [\"prod\"]\n\
         prometheus = \"http://127.0.0.1:9\"\n\
         query = 'sum(rate(http_errors_total{service=\"{{service}}\"}[{{window}}])) / sum(rate(http_requests_total{service=\"{{service}}\"}[{{window}}]))'\n\
         objective = 0.999\n",
        &[("dana", "developer"), ("rita", "release-manager")],
    );
    let digest = format!("sha256:{}", "7a".repeat(32));
    common::register(&d, &digest, "scheduling-api", "1.0.0");
    let change = common::open_change(as_user(&d, None, "dana", &[]), "Reminder copy", &digest);
    let story = Story {
        d: d.clone(),
        tmp: tmp.path().to_path_buf(),
        change,
        signers: BTreeMap::new(),
        ran: Vec::new(),
        dr_store: None,
    };
    let (code, rules, fixes) = story.gate();
    assert_eq!(code, Some(4), "{rules:?}");
    let (_, words) = fixes
        .iter()
        .find(|(rule, _)| rule == "slo.unknown")
        .unwrap_or_else(|| panic!("no slo.unknown fix in {fixes:?}"));
    assert_eq!(words, &["slo", "status"]);
    let shown = ok(run({
        let mut c = ward(&d, None);
        c.args(words);
        c
    }));
    assert!(
        shown.contains("UNKNOWN") && shown.contains("scheduling-api") && shown.contains("cannot reach Prometheus"),
        "{shown}"
    );
    let (code, rules, _) = story.gate();
    assert_eq!(code, Some(4));
    assert!(rules.contains("slo.unknown"), "{rules:?}");
}

/// The command of a refusal's `hint:` line (the refusal asserted).
fn hint_command(o: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        !o.status.success(),
        "expected a refusal: {}{stderr}",
        String::from_utf8_lossy(&o.stdout)
    );
    common::hint_commands(&o.stderr)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no command in the refusal's hint:\n{stderr}"))
}

/// `words` with each placeholder a person fills (`with`: placeholder, value) filled.
fn filled(words: Vec<String>, with: &[(&str, &str)]) -> Vec<String> {
    words
        .into_iter()
        .map(|w| with.iter().find(|(p, _)| *p == w).map_or(w, |(_, v)| v.to_string()))
        .collect()
}

/// `ward WORDS` on `d`, as the local user `who` (with their password) or the data directory's
/// operator.
fn ward_words(d: &Path, who: Option<&str>, words: &[String]) -> std::process::Command {
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    match who {
        Some(p) => as_user(d, None, p, &args),
        None => {
            let mut c = ward(d, None);
            c.args(&args);
            c
        }
    }
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// The hints of the refusals a new installation meets first — no data directory, an unknown
/// person, an unregistered artifact, an unknown attestation type, an unknown key, a signing
/// lockout, a tier lowered by one approver alone, a policy that does not parse — and the
/// commands printed after an export: each run as printed by the person it asks for, its
/// placeholders (`NAME`, `TEXT`, `ROLE`, `V`, `DIGEST`, `FILE`, `…`, `<verifier key>`) filled as
/// that person would, after which the refused command works (or, for the policy, the printed
/// command names what is wrong).
#[test]
fn the_hints_of_a_new_installations_refusals_work_as_printed() {
    let tmp = tempfile::tempdir().unwrap();

    // No data directory yet: the hint creates one, and the refused command then works.
    let fresh = tmp.path().join("fresh");
    let list = words(&["change", "list"]);
    let refused = run(ward_words(&fresh, None, &list));
    ok(run(ward_words(&fresh, None, &hint_command(&refused))));
    ok(run(ward_words(&fresh, None, &list)));

    let d = data_dir(
        tmp.path(),
        "[controls.tiers.low]\nevidence = []\napprovals = 1\nticket = true\n\n\
         [[environments]]\nname = \"staging\"\n",
        &[
            ("dana", "developer"),
            ("vera", "approver"),
            ("abe", "approver"),
            ("adam", "admin"),
            ("rita", "release-manager"),
        ],
    );

    // No change yet: the listing names the command that opens one, which works as printed by a
    // developer (its `…` filled with a title).
    let none = ok(run(ward_words(&d, None, &list)));
    let open = filled(
        none.lines().find_map(printed_command).expect("an opening command"),
        &[("…", "Rename the lab feed's queue")],
    );
    ok(run(ward_words(&d, Some("dana"), &open)));
    assert!(ok(run(ward_words(&d, None, &list))).contains("Rename the lab feed's queue"));

    // An unknown person: the administrator adds them as printed, then they create their token.
    let create = words(&[
        "token",
        "create",
        "--user",
        "nora",
        "--name",
        "nora-laptop",
        "--role",
        "developer",
    ]);
    let refused = run(ward_words(&d, Some("nora"), &create));
    let add = filled(
        hint_command(&refused),
        &[("TEXT", "Nora Example"), ("ROLE", "developer")],
    );
    ok(common::run_with_stdin(
        ward_words(&d, None, &add),
        &format!("{}\n", common::pw("nora")),
    ));
    ok(run(ward_words(&d, Some("nora"), &create)));

    // An unregistered artifact: registered as printed, the report then attaches.
    let digest = format!("sha256:{}", "b7".repeat(32));
    let junit = fixture("pytest-passing.xml").display().to_string();
    let attach = words(&["attest", "add", "--artifact", &digest, "--type", "junit", &junit]);
    let refused = run(ward_words(&d, None, &attach));
    let register = filled(
        hint_command(&refused),
        &[("NAME", "portal"), ("V", "1.4.2"), ("DIGEST", &digest)],
    );
    ok(run(ward_words(&d, None, &register)));
    ok(run(ward_words(&d, None, &attach)));

    // An unknown attestation type: registered with its schema as printed, the document attaches.
    let schema = tmp.path().join("lab-feed.schema.json");
    std::fs::write(
        &schema,
        r#"{"type": "object", "required": ["feed", "passed"], "properties": {"feed": {"type": "string"}, "passed": {"type": "boolean"}}}"#,
    )
    .unwrap();
    let report = tmp.path().join("lab-feed.json");
    std::fs::write(&report, r#"{"feed": "hl7-results", "passed": true}"#).unwrap();
    let attach = words(&[
        "attest",
        "add",
        "--artifact",
        &digest,
        "--type",
        "custom:lab-feed",
        &report.display().to_string(),
    ]);
    let refused = run(ward_words(&d, None, &attach));
    let add_type = filled(
        hint_command(&refused),
        &[("NAME", "lab-feed"), ("FILE", &schema.display().to_string())],
    );
    ok(run(ward_words(&d, Some("adam"), &add_type)));
    ok(run(ward_words(&d, None, &attach)));
    // A type or a meaning one typo away from a known one: the hint names it.
    let typo: Vec<String> = attach
        .iter()
        .map(|w| {
            if w == "custom:lab-feed" {
                "custom:lab-fed".to_string()
            } else {
                w.clone()
            }
        })
        .collect();
    let refused = run(ward_words(&d, None, &typo));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("hint: did you mean custom:lab-feed?"),
        "{refused:?}"
    );

    // An unknown key: the printed listing names the key that is trusted.
    ok(run(ward_words(
        &d,
        Some("adam"),
        &words(&[
            "key",
            "trust",
            "--builder",
            "ci",
            &fixture("intoto-ed25519.pub").display().to_string(),
        ]),
    )));
    let refused = run(ward_words(&d, Some("adam"), &words(&["key", "revoke", "no-such-key"])));
    let listed = ok(run(ward_words(&d, Some("adam"), &hint_command(&refused))));
    assert!(listed.contains("ci"), "{listed}");

    // A signing lockout after five wrong passwords: an administrator lifts it as printed, and the
    // approver's next signature with the right password counts.
    let change = common::open_change(as_user(&d, None, "dana", &[]), "Lab feed parser", &digest);
    let approve = words(&["approve", "--change", &change, "--meaning", "approved"]);
    let wrong = |who: &str| {
        let mut c = ward_words(&d, Some(who), &approve);
        c.env("WARD_PASSWORD", "not-the-right-password");
        run(c)
    };
    for _ in 0..5 {
        let o = wrong("vera");
        assert!(!o.status.success());
    }
    let misspelt = run(ward_words(
        &d,
        Some("vera"),
        &words(&["approve", "--change", &change, "--meaning", "aproved"]),
    ));
    assert!(
        String::from_utf8_lossy(&misspelt.stderr).contains("hint: did you mean approved? (meanings: "),
        "{misspelt:?}"
    );
    let refused = run(ward_words(&d, Some("vera"), &approve));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let unlock = filled(hint_command(&refused), &[("NAME", "vera")]);
    ok(run(ward_words(&d, Some("adam"), &unlock)));
    ok(run(ward_words(&d, Some("vera"), &approve)));

    // A tier lowered by one approver alone: the printed concurrence, by another approver, lowers it.
    let other = common::open_change(as_user(&d, None, "dana", &[]), "Lab feed docs", &digest);
    let classify =
        |tier: &str, reason: &str| words(&["change", "classify", &other, "--tier", tier, "--reason", reason]);
    ok(run(ward_words(
        &d,
        Some("vera"),
        &classify("high", "touches the results feed's parser"),
    )));
    ok(run(ward_words(
        &d,
        Some("vera"),
        &classify("low", "only the feed's documentation changed"),
    )));
    let refused = run(ward_words(
        &d,
        Some("vera"),
        &classify("low", "only the feed's documentation changed"),
    ));
    let concur = filled(hint_command(&refused), &[("…", "read the diff: documentation only")]);
    ok(run(ward_words(&d, Some("abe"), &concur)));
    let shown = json(&ok(run(ward_words(
        &d,
        None,
        &words(&["change", "show", &other, "--output", "json"]),
    ))));
    assert_eq!(shown["tier"], "low", "{shown:#}");

    // The commands printed after an export verify it as printed (the bundle's verifier key is
    // what `ward log key` prints).
    ok(run(ward_words(&d, None, &words(&["log", "checkpoint"]))));
    let out = tmp.path().join("export");
    let printed = ok(run(ward_words(
        &d,
        None,
        &words(&["log", "export", "--out", &out.display().to_string()]),
    )));
    let verify = printed.lines().find_map(printed_command).expect("a verify command");
    let verified = ok(run(ward_words(&d, None, &verify)));
    assert!(verified.to_lowercase().contains("verified"), "{verified}");
    let key = ok(run(ward_words(&d, None, &words(&["log", "key"]))))
        .trim()
        .to_string();
    let bundle = tmp.path().join("bundle.tar");
    let printed = ok(run(ward_words(
        &d,
        None,
        &words(&[
            "bundle",
            "export",
            "--change",
            &change,
            "--out",
            &bundle.display().to_string(),
        ]),
    )));
    let verify = filled(
        printed
            .lines()
            .filter(|l| l.trim_start().starts_with("ward verify"))
            .find_map(printed_command)
            .expect("a verify command"),
        &[("<verifier key>", &key)],
    );
    ok(run(ward_words(&d, None, &verify)));

    // Break-glass on an emergency: the review it leaves open is listed by the printed command,
    // and closed by the printed signature of an approver.
    let emergency = common::open_change_with(
        ward_words(&d, Some("dana"), &[]),
        &[
            "--title",
            "Lab feed down",
            "--kind",
            "emergency",
            "--artifact",
            &digest,
            "--ticket",
            common::TICKET,
            "--env",
            "staging",
        ],
    );
    let granted = ok(run(ward_words(
        &d,
        Some("rita"),
        &words(&[
            "break-glass",
            "--change",
            &emergency,
            "--rule",
            "approvals.quorum",
            "--justification",
            "the lab results feed is down for every clinic",
            "--for",
            "4h",
        ]),
    )));
    let not_due = ok(run(ward_words(&d, None, &words(&["review", "list", "--overdue"]))));
    let listed = ok(run(ward_words(
        &d,
        None,
        &not_due.lines().find_map(printed_command).expect("a listing command"),
    )));
    assert!(
        listed.contains(&emergency) && listed.contains("open") && listed.contains("bypass active until 20"),
        "{listed}"
    );
    let close = granted.lines().find_map(printed_command).expect("a closing command");
    ok(run(ward_words(&d, Some("vera"), &close)));
    let listed = ok(run(ward_words(&d, None, &words(&["review", "list"]))));
    assert!(listed.contains(&emergency) && !listed.contains(" open "), "{listed}");

    // A policy that does not parse: the printed command names the file and the line.
    let policies = tmp.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(
        policies.join("lab.rego"),
        "package ward.custom\n\ndeny contains r if { r := \n",
    )
    .unwrap();
    let toml = std::fs::read_to_string(d.join("ward.toml")).unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!("[gate]\npolicy_dir = {:?}\n\n{toml}", policies.display().to_string()),
    )
    .unwrap();
    let refused = run(ward_words(
        &d,
        Some("vera"),
        &words(&["gate", "check", "--change", &change, "--env", "staging"]),
    ));
    let tested = run(ward_words(&d, None, &hint_command(&refused)));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(!tested.status.success() && said.contains("lab.rego:3"), "{said}");
}

/// A person added through the server waits for a second administrator: the printed command,
/// run as printed by another administrator in their own session, activates them, and they can
/// then sign in.
#[test]
fn a_person_added_through_the_server_is_activated_by_the_printed_command() {
    let tmp = tempfile::tempdir().unwrap();
    let d = data_dir(
        tmp.path(),
        "[[environments]]\nname = \"staging\"\n",
        &[("adam", "admin"), ("alex", "admin")],
    );
    let (_server, url) = common::serve_with(&d, &[]);
    // Each person's own session, kept in their own configuration directory.
    let as_person = |who: &str, args: &[String]| {
        let mut c = ward(&d, None);
        c.args(["--server", &url])
            .env("WARD_CONFIG_DIR", tmp.path().join(format!("config-{who}")))
            .env_remove("WARD_TOKEN")
            .env_remove("WARD_PASSWORD")
            .args(args);
        c
    };
    let sign_in = |who: &str| {
        ok(common::run_with_stdin(
            as_person(who, &words(&["login", "--user", who, "--password-stdin"])),
            &format!("{}\n", common::pw(who)),
        ))
    };
    sign_in("adam");
    sign_in("alex");
    let added = ok(common::run_with_stdin(
        as_person(
            "adam",
            &words(&[
                "user",
                "add",
                "--name",
                "nina",
                "--display-name",
                "Nina Example",
                "--role",
                "approver",
            ]),
        ),
        &format!("{}\n", common::pw("nina")),
    ));
    let activate = added.lines().find_map(printed_command).expect("an activation command");
    assert_eq!(activate, ["user", "activate", "nina"], "{added}");
    // Not by the administrator who added them; by the other, as printed.
    let own = run(as_person("adam", &activate));
    assert!(!own.status.success(), "{}", String::from_utf8_lossy(&own.stdout));
    ok(run(as_person("alex", &activate)));
    sign_in("nina");
    let me = json(&ok(run(as_person("nina", &words(&["whoami", "--output", "json"])))));
    assert_eq!(me["identity"], "user:nina", "{me:#}");
}

/// Every `ward …` command the sources print (hints, fixes' notes, next steps, the web pages'
/// and the compliance report's instructions), by its subcommand, and the test that runs one
/// such printed command as printed. A command a new hint names that is in neither list fails
/// here, so the lists only grow by a decision.
const RUN_AS_PRINTED_BY: &[(&str, &str)] = &[
    // What the demo says to try next (cli.rs).
    ("change show", "demo_runs_and_catches_tampering"),
    ("demo", "demo_runs_and_catches_tampering"),
    ("log status", "demo_runs_and_catches_tampering"),
    (
        "approve",
        "every_fix_the_gate_prints_for_a_high_risk_change_works_as_printed_until_it_ships",
    ),
    (
        "artifact register",
        "the_hints_of_a_new_installations_refusals_work_as_printed",
    ),
    ("artifact show", "the_hints_of_everyday_refusals_work_as_printed"),
    (
        "attest add",
        "every_fix_the_gate_prints_for_a_high_risk_change_works_as_printed_until_it_ships",
    ),
    (
        "attest type",
        "the_hints_of_a_new_installations_refusals_work_as_printed",
    ),
    (
        "audit population",
        "every_check_the_compliance_report_prints_works_as_printed",
    ),
    (
        "audit sample",
        "a_scripted_period_gives_exactly_its_population_and_a_reproducible_sample",
    ),
    ("audit search", "the_hints_of_everyday_refusals_work_as_printed"),
    (
        "bench rollback",
        "bench_rollback_reports_the_time_to_roll_a_bad_canary_back",
    ),
    (
        "bundle export",
        "every_check_the_compliance_report_prints_works_as_printed",
    ),
    (
        "change classify",
        "the_hints_of_a_new_installations_refusals_work_as_printed",
    ),
    ("change list", "the_hints_of_everyday_refusals_work_as_printed"),
    (
        "change open",
        "the_hints_of_a_new_installations_refusals_work_as_printed",
    ),
    (
        "change update",
        "every_fix_the_gate_prints_for_a_high_risk_change_works_as_printed_until_it_ships",
    ),
    ("config check", "the_hints_of_an_operators_refusals_work_as_printed"),
    ("deployments", "the_hints_of_everyday_refusals_work_as_printed"),
    ("deployments show", "the_hints_of_everyday_refusals_work_as_printed"),
    ("env observe", "the_hints_of_an_operators_refusals_work_as_printed"),
    ("gate check", "what_the_server_and_its_pages_print_works_as_printed"),
    (
        "gate explain",
        "every_fix_the_gate_prints_for_a_high_risk_change_works_as_printed_until_it_ships",
    ),
    (
        "gate replay",
        "every_check_the_compliance_report_prints_works_as_printed",
    ),
    ("init", "the_hints_of_a_new_installations_refusals_work_as_printed"),
    ("key list", "the_hints_of_a_new_installations_refusals_work_as_printed"),
    (
        "key trust",
        "every_fix_the_gate_prints_for_a_high_risk_change_works_as_printed_until_it_ships",
    ),
    ("log checkpoint", "the_hints_of_everyday_refusals_work_as_printed"),
    (
        "log export",
        "every_check_the_compliance_report_prints_works_as_printed",
    ),
    ("log fsck", "serve_refuses_state_the_log_cannot_explain"),
    ("log key", "the_hints_of_a_new_installations_refusals_work_as_printed"),
    ("log proof", "what_the_server_and_its_pages_print_works_as_printed"),
    ("log show", "the_hints_of_everyday_refusals_work_as_printed"),
    ("login", "a_session_is_kept_per_server_used_and_ended_on_the_server"),
    ("logout", "a_session_is_kept_per_server_used_and_ended_on_the_server"),
    ("metrics", "what_the_server_and_its_pages_print_works_as_printed"),
    (
        "policy test",
        "the_hints_of_a_new_installations_refusals_work_as_printed",
    ),
    (
        "promote",
        "every_fix_the_gate_prints_for_a_high_risk_change_works_as_printed_until_it_ships",
    ),
    ("purge", "what_the_server_and_its_pages_print_works_as_printed"),
    (
        "report compliance",
        "what_the_server_and_its_pages_print_works_as_printed",
    ),
    (
        "review list",
        "the_hints_of_a_new_installations_refusals_work_as_printed",
    ),
    ("rollback", "the_hints_of_an_operators_refusals_work_as_printed"),
    (
        "rollout abort",
        "tenant_rings_go_in_order_and_a_failing_ring_halts_and_rolls_back",
    ),
    (
        "rollout promote",
        "a_canary_without_traffic_is_watched_four_windows_before_it_pauses",
    ),
    (
        "rollout resume",
        "tenant_rings_go_in_order_and_a_failing_ring_halts_and_rolls_back",
    ),
    (
        "rollout start",
        "tenant_rings_go_in_order_and_a_failing_ring_halts_and_rolls_back",
    ),
    (
        "rollout status",
        "a_canary_without_traffic_is_watched_four_windows_before_it_pauses",
    ),
    ("serve", "what_the_server_and_its_pages_print_works_as_printed"),
    ("token create", "what_the_server_and_its_pages_print_works_as_printed"),
    ("token list", "the_hints_of_everyday_refusals_work_as_printed"),
    (
        "token revoke",
        "a_session_is_kept_per_server_used_and_ended_on_the_server",
    ),
    (
        "user activate",
        "a_person_added_through_the_server_is_activated_by_the_printed_command",
    ),
    ("user add", "the_hints_of_a_new_installations_refusals_work_as_printed"),
    ("user list", "the_hints_of_everyday_refusals_work_as_printed"),
    (
        "user unlock",
        "the_hints_of_a_new_installations_refusals_work_as_printed",
    ),
    ("verify", "the_hints_of_a_new_installations_refusals_work_as_printed"),
    (
        "verify bundle",
        "the_hints_of_a_new_installations_refusals_work_as_printed",
    ),
    (
        "verify population",
        "a_scripted_period_gives_exactly_its_population_and_a_reproducible_sample",
    ),
];

/// Commands the sources name that no test runs as printed yet (issue 17, left open), and group
/// names used as words ("use the command for it (ward artifact, ward attest, …)").
const NOT_YET_RUN_AS_PRINTED: &[&str] = &[];
const GROUP_NAMES_AS_WORDS: &[&str] = &["artifact", "attest", "change", "key"];

/// The subcommands `ward ARGS --help` lists.
fn subcommands(args: &[&str]) -> Vec<String> {
    let out = run({
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ward"));
        c.args(args).arg("--help");
        c
    });
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

#[test]
fn every_command_the_sources_print_is_run_as_printed_by_a_named_test_or_listed_as_not_yet() {
    let top = subcommands(&[]);
    let nested: BTreeMap<String, Vec<String>> = top.iter().map(|t| (t.clone(), subcommands(&[t]))).collect();
    // Every `ward WORD [WORD]` in a string literal of the sources, outside their tests.
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut named = BTreeSet::new();
    let mut stack: Vec<PathBuf> = ["ward-cli/src", "ward-server/src", "ward-app/src", "ward-rollout/src"]
        .iter()
        .map(|d| crates.join(d))
        .collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&p).unwrap();
        let code = source.split("#[cfg(test)]").next().unwrap_or("");
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, literal) in line.split('"').enumerate() {
                if i % 2 == 0 {
                    continue;
                }
                let mut rest = literal;
                while let Some(at) = rest.find("ward ") {
                    let before = rest[..at].chars().next_back();
                    // Global options first (`ward --server URL login`): the subcommand follows.
                    let mut words = rest[at + 5..].split_whitespace().peekable();
                    while words
                        .peek()
                        .is_some_and(|w| ["--server", "--data-dir", "--as", "--token", "--output"].contains(w))
                    {
                        words.next();
                        words.next();
                    }
                    let after: Vec<&str> = words.take(2).collect();
                    rest = &rest[at + 5..];
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let word = |w: &str| w.trim_end_matches(['`', ')', ',', ';', ':', '.']).to_string();
                    let Some(first) = after.first().map(|w| word(w)) else {
                        continue;
                    };
                    let Some(subs) = nested.get(&first) else { continue };
                    let path = match after.get(1).map(|w| word(w)) {
                        Some(second) if subs.contains(&second) => format!("{first} {second}"),
                        _ => first,
                    };
                    named.insert(path);
                }
            }
        }
    }
    let tests: String = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let mut wrong = Vec::new();
    for path in &named {
        let run_by = RUN_AS_PRINTED_BY.iter().find(|(p, _)| p == path);
        let listed = NOT_YET_RUN_AS_PRINTED.contains(&path.as_str()) || GROUP_NAMES_AS_WORDS.contains(&path.as_str());
        match run_by {
            Some((_, test)) if !tests.contains(&format!("fn {test}()")) => {
                wrong.push(format!("`ward {path}`: no test named {test}"))
            }
            Some(_) if listed => wrong.push(format!("`ward {path}` is run as printed: take it off the not-yet list")),
            Some(_) => {}
            None if !listed => wrong.push(format!(
                "`ward {path}` is printed but no test runs it as printed: run it in one and name the test here"
            )),
            None => {}
        }
    }
    for (path, _) in RUN_AS_PRINTED_BY {
        if !named.contains(*path) {
            wrong.push(format!("`ward {path}` is no longer printed: take it off the list"));
        }
    }
    for path in NOT_YET_RUN_AS_PRINTED.iter().chain(GROUP_NAMES_AS_WORDS) {
        if !named.contains(*path) {
            wrong.push(format!(
                "`ward {path}` is no longer printed: take it off the not-yet list"
            ));
        }
    }
    eprintln!(
        "{} commands printed, {} run as printed by a test, {} not yet",
        named.len(),
        RUN_AS_PRINTED_BY.len(),
        NOT_YET_RUN_AS_PRINTED.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The `ward …` commands of a printed text's `Check:` cells, `hint:` lines or web page: each
/// segment of `text` (split at `; ` and `, then `) that names one, its remarks in parentheses
/// left out as a reader does, parsed as a shell would.
fn commands_in(text: &str) -> Vec<Vec<String>> {
    text.split("; ")
        .flat_map(|s| s.split(", then "))
        .filter(|s| s.contains("ward "))
        .filter_map(|s| {
            let mut plain = String::new();
            let mut depth = 0;
            for ch in s.chars() {
                match ch {
                    '(' => depth += 1,
                    ')' if depth > 0 => depth -= 1,
                    c if depth == 0 => plain.push(c),
                    _ => {}
                }
            }
            printed_command(&plain)
        })
        .collect()
}

/// The path of the subcommand `words` run (`gate replay`, `metrics`, …), global options skipped.
fn subcommand_of(words: &[String]) -> String {
    let mut w = words.iter().map(String::as_str).peekable();
    while w.peek().is_some_and(|x| x.starts_with("--")) {
        w.next();
        w.next();
    }
    w.take(2).collect::<Vec<_>>().join(" ")
}

/// An auditor checks a period with the compliance report: every command its "how to check"
/// column prints — export and verify the log, the population and its verification, a change's
/// bundle and its verification, a decision's replay, the searches, `log fsck` — runs as printed
/// (`DIR`, `FILE`, `ID`, `KEY`, `…` filled as the auditor would: a new directory or file for
/// what a command writes, the one written for what a command reads) and succeeds.
#[test]
fn every_check_the_compliance_report_prints_works_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = data_dir(
        tmp.path(),
        "[controls.tiers.low]\nevidence = []\napprovals = 1\nticket = true\n\n[[environments]]\nname = \"prod\"\n",
        &[("dana", "developer"), ("vera", "approver"), ("rita", "release-manager")],
    );
    let digest = format!("sha256:{}", "c1".repeat(32));
    common::register(&d, &digest, "portal", "1.0.0");
    let change = common::open_change(as_user(&d, None, "dana", &[]), "Footer copy", &digest);
    ok(run(as_user(
        &d,
        None,
        "vera",
        &["approve", "--change", &change, "--meaning", "approved"],
    )));
    let decision = json(&ok(run(as_user(
        &d,
        None,
        "rita",
        &[
            "gate", "check", "--change", &change, "--env", "prod", "--output", "json",
        ],
    ))))["id"]
        .to_string();
    ok(run(as_user(
        &d,
        None,
        "rita",
        &["promote", "--change", &change, "--to", "prod"],
    )));
    let now = jiff::Timestamp::now();
    let (from, to) = (
        (now - jiff::SignedDuration::from_hours(1)).to_string(),
        (now + jiff::SignedDuration::from_hours(1)).to_string(),
    );
    let report = tmp.path().join("report.md");
    ok(run(ward_words(
        &d,
        None,
        &words(&[
            "report",
            "compliance",
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            "md",
            "--out",
            &report.display().to_string(),
        ]),
    )));
    let text = std::fs::read_to_string(&report).unwrap();
    let mut printed: Vec<Vec<String>> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Check: `"))
        .flat_map(|c| commands_in(c.trim_end_matches('`')))
        .collect();
    // What writes comes before what reads it, as an auditor takes the steps.
    let writes =
        |w: &[String]| ["log export", "audit population", "bundle export"].contains(&subcommand_of(w).as_str());
    printed.sort_by_key(|w| !writes(w));
    let key = ok(run(ward_words(&d, None, &words(&["log", "key"]))))
        .trim()
        .to_string();
    let mut written: BTreeMap<&str, String> = BTreeMap::new();
    let mut ran = BTreeSet::new();
    for (n, w) in printed.iter().enumerate() {
        let sub = subcommand_of(w);
        let new = tmp.path().join(format!("out-{n}")).display().to_string();
        let mut filled = Vec::new();
        for (i, word) in w.iter().enumerate() {
            let before = i.checked_sub(1).map(|j| w[j].as_str());
            filled.push(match (word.as_str(), sub.as_str()) {
                ("…", _) if before == Some("--from") => from.clone(),
                ("…", _) if before == Some("--to") => to.clone(),
                ("KEY", _) => key.clone(),
                ("ID", "gate replay") => decision.clone(),
                ("ID", _) => change.clone(),
                ("DIR" | "FILE", s) if writes(w) => {
                    written.insert(
                        match s {
                            "log export" => "export",
                            "audit population" => "population",
                            _ => "bundle",
                        },
                        new.clone(),
                    );
                    new.clone()
                }
                ("DIR", "verify population") => written["population"].clone(),
                ("FILE", "verify bundle") => written["bundle"].clone(),
                ("DIR", _) => written["export"].clone(),
                (other, _) => {
                    assert!(
                        !other.chars().all(|c| c.is_ascii_uppercase()) || other.len() < 2,
                        "a placeholder the auditor has nothing for: {other} in `ward {}`",
                        w.join(" ")
                    );
                    other.to_string()
                }
            });
        }
        eprintln!("ward {}", filled.join(" "));
        ok(run(ward_words(&d, None, &filled)));
        ran.insert(sub);
    }
    for sub in [
        "log export",
        "verify DIR",
        "audit population",
        "verify population",
        "bundle export",
        "verify bundle",
        "gate replay",
        "log fsck",
        "audit search",
    ] {
        assert!(ran.contains(sub), "{sub} was never run: {ran:?}");
    }
    // The population names the change deployed.
    let population = std::fs::read_to_string(Path::new(&written["population"]).join("population.csv")).unwrap();
    assert!(population.contains(&change), "{population}");
}

/// The hints of an operator's refusals on the data directory, each run as printed with its
/// placeholders filled (by the person it names, with their password where it says so): a
/// `ward.toml` that does not load (the printed check names what is wrong), a hand report of an
/// environment Ward observes itself (the printed observation asks the runtime), and a rollback whose tenants go
/// back to different releases (one tenant at a time, as printed).
#[test]
fn the_hints_of_an_operators_refusals_work_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let digests: Vec<String> = ["a1", "a2", "a3"]
        .iter()
        .map(|h| format!("sha256:{}", h.repeat(32)))
        .collect();
    let d = data_dir(
        tmp.path(),
        &format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"stage\"\nobserve_command = [\"echo\", \"{}\"]\n\n\
             [[environments]]\nname = \"prod\"\ntenants = [\"clinic-a\", \"clinic-b\"]\n",
            digests[0]
        ),
        &[("dana", "developer"), ("rita", "release-manager")],
    );
    let mut changes = Vec::new();
    for (i, digest) in digests.iter().enumerate() {
        common::register(&d, digest, "portal", &format!("1.{i}.0"));
        changes.push(common::open_change_with(
            as_user(&d, None, "dana", &[]),
            &[
                "--title",
                &format!("Portal 1.{i}"),
                "--ticket",
                common::TICKET,
                "--artifact",
                digest,
                "--env",
                "stage",
                "--env",
                "prod",
            ],
        ));
    }

    // A hand report of what runs on stage, which Ward observes itself: the printed command
    // asks stage's runtime, and records what it answers (the release Ward deployed: in sync).
    ok(run(as_user(
        &d,
        None,
        "rita",
        &["promote", "--change", &changes[0], "--to", "stage"],
    )));
    let report = tmp.path().join("running.txt");
    std::fs::write(&report, format!("{}\n", digests[0])).unwrap();
    let refused = run(ward_words(
        &d,
        None,
        &words(&[
            "env",
            "observe",
            "--env",
            "stage",
            "--from",
            &report.display().to_string(),
        ]),
    ));
    let observe = hint_command(&refused);
    assert_eq!(observe, words(&["env", "observe", "--env", "stage", "--from-runtime"]));
    let observed = json(&ok(run(ward_words(
        &d,
        None,
        &[&observe[..], &words(&["--output", "json"])].concat(),
    ))));
    assert_eq!(observed["drifted"], false, "{observed:#}");

    // Two tenants that would go back to different releases: one tenant at a time, as printed.
    let promote = |change: &str, extra: &[&str]| {
        ok(run(as_user(
            &d,
            None,
            "rita",
            &[&["promote", "--change", change, "--to", "prod"][..], extra].concat(),
        )))
    };
    promote(&changes[0], &[]);
    promote(&changes[1], &["--tenants", "clinic-a"]);
    promote(&changes[2], &[]);
    let refused = run(as_user(&d, None, "rita", &["rollback", "--env", "prod"]));
    let rollback = filled(hint_command(&refused), &[("ENV", "prod"), ("TENANT", "clinic-a")]);
    let back = json(&ok(run(ward_words(
        &d,
        Some("rita"),
        &[&rollback[..], &words(&["--output", "json"])].concat(),
    ))));
    assert_eq!(back["change"], changes[1], "{back:#}");

    // A ward.toml that does not load: every command refuses, and the printed check names the
    // line that is wrong.
    std::fs::write(d.join("ward.toml"), "[[environments]]\nname = 5\n").unwrap();
    let refused = run(as_user(
        &d,
        None,
        "rita",
        &["promote", "--change", &changes[0], "--to", "stage"],
    ));
    let check = hint_command(&refused);
    assert_eq!(check, words(&["config", "check"]));
    let checked = run(ward_words(&d, None, &check));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(
        !checked.status.success() && said.contains("ward.toml") && said.contains("line 2"),
        "{said}"
    );
}

/// The `ward …` commands a web page prints (in `<code>` and in `title`s), unescaped.
fn page_commands(body: &str) -> Vec<Vec<String>> {
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
    };
    let mut found = Vec::new();
    for (open, close) in [("<code>", "</code>"), ("title=\"", "\"")] {
        let mut rest = body;
        while let Some(at) = rest.find(open) {
            rest = &rest[at + open.len()..];
            let end = rest.find(close).unwrap_or(rest.len());
            let text = unescape(&rest[..end]);
            if text.starts_with("ward ") {
                found.extend(printed_command(&text));
            }
        }
    }
    found
}

/// A page of the server at `base`, fetched over HTTP with the session `token`.
fn page(base: &str, path: &str, token: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: ward_session={token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    body.to_string()
}

/// What a person meets around the server, run as printed: the server a local rollout command
/// says to start (`ward serve`, as printed, answering), the report a server will not compute
/// (made on the Ward host by the auditor), a purge an automation may not do (done by a privacy
/// officer), a token made for somebody else (made by the person), and the commands the web
/// pages print — a log entry's proof, the metrics' entries, a change's gate check, an
/// environment's observation — each with its placeholders filled as that person would.
#[test]
fn what_the_server_and_its_pages_print_works_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = data_dir(
        tmp.path(),
        "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
         [[environments]]\nname = \"staging\"\n\n[[environments]]\nname = \"prod\"\nafter = \"staging\"\n",
        &[
            ("dana", "developer"),
            ("rita", "release-manager"),
            ("ava", "auditor"),
            ("pat", "privacy-officer"),
            ("adam", "admin"),
            ("nora", "developer"),
        ],
    );
    let person_token = |who: &str, role: &str| -> String {
        let mut c = ward_words(
            &d,
            None,
            &words(&[
                "token",
                "create",
                "--user",
                who,
                "--name",
                &format!("{who}-cli"),
                "--role",
                role,
                "--output",
                "json",
            ]),
        );
        c.env("WARD_PASSWORD", common::pw(who));
        json(&ok(run(c)))["token"].as_str().unwrap().to_string()
    };

    // Rollouts need the server: the printed `ward serve` starts it (its address from
    // WARD_LISTEN, as a person sets it), and it answers.
    let refused = run(ward_words(&d, None, &words(&["rollout", "status"])));
    let serve = hint_command(&refused);
    assert_eq!(serve, ["serve"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let _server = {
        use std::io::{BufRead, BufReader};
        let mut c = ward_words(&d, None, &serve);
        c.env("WARD_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        let mut child = common::Serving(c.spawn().expect("spawn ward serve"));
        let mut line = String::new();
        BufReader::new(child.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains(&url), "{line}");
        child
    };
    let rm = person_token("rita", "release-manager");
    let on_server = |token: &str, args: &[String]| {
        let mut c = ward_words(&d, None, args);
        c.args(["--server", &url]).env("WARD_TOKEN", token);
        c
    };
    let listed = json(&ok(run(on_server(
        &rm,
        &words(&["rollout", "status", "--output", "json"]),
    ))));
    assert!(listed["rollouts"].is_array(), "{listed:#}");

    // A change shipped to staging, then a period to report on.
    let digest = format!("sha256:{}", "e5".repeat(32));
    common::register(&d, &digest, "portal", "2.0.0");
    let change = common::open_change_with(
        as_user(&d, None, "dana", &[]),
        &[
            "--title",
            "Portal 2.0",
            "--ticket",
            common::TICKET,
            "--artifact",
            &digest,
            "--env",
            "staging",
        ],
    );
    ok(run(on_server(
        &rm,
        &words(&["promote", "--change", &change, "--to", "staging"]),
    )));
    // Through `--server`, every fix the gate prints names the server (run as printed in
    // another shell it would otherwise act on a local data directory).
    let blocked = run(on_server(
        &rm,
        &words(&["gate", "check", "--change", &change, "--env", "prod"]),
    ));
    let shown = String::from_utf8_lossy(&blocked.stdout).to_string();
    let fixes: Vec<Vec<String>> = shown
        .lines()
        .filter_map(|l| l.trim().strip_prefix("fix: "))
        .filter_map(printed_command)
        .collect();
    assert!(
        !fixes.is_empty() && fixes.iter().all(|f| f[..2] == ["--server".to_string(), url.clone()]),
        "{shown}"
    );
    let now = jiff::Timestamp::now();
    let (from, to) = (
        (now - jiff::SignedDuration::from_hours(1)).to_string(),
        (now + jiff::SignedDuration::from_hours(1)).to_string(),
    );

    // The compliance report is not computed through a server: the auditor makes it on the
    // Ward host, as printed.
    let ava = person_token("ava", "auditor");
    let refused = run(on_server(
        &ava,
        &words(&[
            "report",
            "compliance",
            "--from",
            &from,
            "--to",
            &to,
            "--out",
            "report.html",
        ]),
    ));
    let report = tmp.path().join("report.html");
    let local = filled(
        hint_command(&refused),
        &[
            ("NAME", "ava"),
            ("T1", &from),
            ("T2", &to),
            ("FILE", &report.display().to_string()),
        ],
    );
    ok(run(ward_words(&d, None, &local)));
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains("Compliance evidence report")
    );

    // A purge asked by an automation: refused; a privacy officer asks it as printed.
    let bot = common::token(&d, "purge-bot", "privacy-officer");
    let shown = ok(run(ward_words(&d, None, &words(&["log", "show", "--output", "json"]))));
    let at = shown.find("doc:sha256:").expect("a document reference");
    let document = shown[at..at + 75].to_string();
    let reason = "the title named a patient by mistake";
    let refused = run(on_server(&bot, &words(&["purge", &document, "--reason", reason])));
    let purge = filled(hint_command(&refused), &[("DIGEST", &document), ("TEXT", reason)]);
    // Printed through the server, it names the server; the privacy officer runs it with her
    // own session there.
    assert_eq!(purge[..2], ["--server".to_string(), url.clone()], "{purge:?}");
    let pat = person_token("pat", "privacy-officer");
    let asked = ok(run({
        let mut c = ward_words(&d, None, &purge);
        c.env("WARD_TOKEN", &pat).env("WARD_PASSWORD", common::pw("pat"));
        c
    }));
    assert!(asked.contains("request"), "{asked}");

    // A token an administrator makes to act as nora: refused; nora makes her own as printed.
    let admin = person_token("adam", "admin");
    let refused = run(on_server(
        &admin,
        &words(&[
            "token",
            "create",
            "--user",
            "nora",
            "--name",
            "nora-cli",
            "--role",
            "developer",
        ]),
    ));
    let create = filled(
        hint_command(&refused),
        &[
            ("DIR", &d.display().to_string()),
            ("NAME", "nora"),
            ("LABEL", "nora-cli"),
            ("ROLE", "developer"),
        ],
    );
    let made = json(&ok(run({
        // As printed: it names the data directory on the Ward host.
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ward"));
        c.args(&create).args(["--output", "json"]);
        c.env("WARD_PASSWORD", common::pw("nora")).env_remove("WARD_DATA_DIR");
        c
    })));
    assert_eq!(made["record"]["identity"], "user:nora", "{made:#}");

    // The pages, as the auditor sees them: each printed command runs as printed.
    let run_page_command = |path: &str, sub: &str, fill: &[(&str, &str)]| -> String {
        let body = page(&url, path, &ava);
        // A command naming a real value where the page has one (a row's), else its general form.
        let placeholders = |w: &Vec<String>| {
            w.iter()
                .filter(|x| x.len() > 1 && x.chars().all(|c| c.is_ascii_uppercase()))
                .count()
        };
        let words = page_commands(&body)
            .into_iter()
            .filter(|w| subcommand_of(w) == sub)
            .min_by_key(placeholders)
            .unwrap_or_else(|| panic!("{path} prints no `ward {sub}`:\n{body}"));
        let filled = filled(words, fill);
        eprintln!("{path}: ward {}", filled.join(" "));
        ok(run(ward_words(&d, None, &filled)))
    };
    // An entry of a search, proved as printed.
    let proved = run_page_command(&format!("/ui/audit?change={change}"), "log proof", &[]);
    assert!(proved.to_lowercase().contains("inclusion"), "{proved}");
    // The entries behind the metrics, listed as printed.
    let listed = run_page_command("/ui/metrics?env=staging", "metrics dora", &[]);
    assert!(listed.contains(&change), "{listed}");
    // A change not yet checked for prod: the printed gate check records a decision.
    let other = common::open_change_with(
        as_user(&d, None, "dana", &[]),
        &[
            "--title",
            "Portal 2.1",
            "--ticket",
            common::TICKET,
            "--artifact",
            &digest,
            "--env",
            "staging",
        ],
    );
    run_page_command(&format!("/ui/changes/{other}"), "gate check", &[]);
    assert!(!page(&url, &format!("/ui/changes/{other}"), &ava).contains("No gate check yet"));
    // An environment never observed: the printed observation records what runs.
    let running = tmp.path().join("running.txt");
    std::fs::write(&running, format!("{digest}\n")).unwrap();
    run_page_command("/", "env observe", &[("FILE", &running.display().to_string())]);
}

/// Two refusals a new user meets at once: a person's command run without naming the person, and
/// the opener signing their own change (separation of duties). Each hint is the command that
/// works, run as printed by the person it asks for: the first as the opener (her password on
/// stdin, as it says), whose signature is then refused; the second as another approver, whose
/// signature counts.
#[test]
fn the_hints_of_a_missing_person_and_of_a_self_signature_work_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = data_dir(
        tmp.path(),
        "[controls.tiers.low]\nevidence = []\napprovals = 1\nticket = true\n\n\
         [[environments]]\nname = \"staging\"\n",
        &[("dana", "release-manager"), ("vera", "approver")],
    );
    let digest = format!("sha256:{}", "c4".repeat(32));
    ok(run(ward_words(
        &d,
        None,
        &words(&[
            "artifact",
            "register",
            "--service",
            "portal",
            "--version",
            "1.0.0",
            "--digest",
            &digest,
        ]),
    )));
    let change = common::open_change(as_user(&d, None, "dana", &[]), "Lab feed parser", &digest);
    let approve = words(&[
        "approve",
        "--change",
        &change,
        "--meaning",
        "approved",
        "--comment",
        "checked the parser's tests",
    ]);

    // No person named: the hint is the same command as a local user typing their password.
    let refused = run(ward_words(&d, None, &approve));
    let stderr = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(stderr.contains("(sign a change)"), "{stderr}");
    let printed = hint_command(&refused);
    assert_eq!(printed[..3], ["--as", "USER", "--password-stdin"], "{stderr}");
    assert!(printed.ends_with(&approve), "{stderr}");

    // The opener follows it: re-authenticated, then refused under separation of duties, with
    // the command another person runs.
    let own = common::run_with_stdin(
        {
            // The whole command as printed (it names the data directory the person gave).
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ward"));
            c.args(filled(printed, &[("USER", "dana")])).env_remove("WARD_DATA_DIR");
            c
        },
        &format!("{}\n", common::pw("dana")),
    );
    let stderr = String::from_utf8_lossy(&own.stderr).to_string();
    assert!(stderr.contains("opened this change"), "{stderr}");
    let other = hint_command(&own);
    assert_eq!(
        other,
        words(&["--as", "USER", "approve", "--change", &change, "--meaning", "approved"]),
        "{stderr}"
    );
    ok(run(ward_words(&d, Some("vera"), &other)));
    // A waiver naming a misspelt rule would excuse nothing: refused, naming the rule meant.
    let typo = run(ward_words(
        &d,
        Some("vera"),
        &words(&[
            "waiver",
            "grant",
            "--change",
            &change,
            "--rule",
            "evidnce.",
            "--justification",
            "scanner outage for the whole day",
            "--compensating-control",
            "manual review of the diff",
            "--owner",
            "user:dana",
            "--expires",
            "1d",
        ]),
    ));
    let stderr = String::from_utf8_lossy(&typo.stderr).to_string();
    assert!(
        !typo.status.success() && stderr.contains("hint: did you mean evidence.?"),
        "{stderr}"
    );
    let approvals = ok(run(ward_words(&d, None, &words(&["change", "approvals", &change]))));
    assert!(
        approvals.contains("user:vera") && approvals.contains("current") && !approvals.contains("user:dana"),
        "{approvals}"
    );
    // A person's edit without their password: the hint is the same command reading it on stdin.
    let update = words(&[
        "--as",
        "dana",
        "change",
        "update",
        &change,
        "--ticket",
        "https://tickets.example.org/LAB-2",
    ]);
    let refused = run({
        let mut c = ward_words(&d, None, &update);
        c.env_remove("WARD_PASSWORD");
        c
    });
    let again = hint_command(&refused);
    assert_eq!(again[0], "--password-stdin", "{again:?}");
    ok(common::run_with_stdin(
        {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ward"));
            c.args(&again).env_remove("WARD_DATA_DIR").env_remove("WARD_PASSWORD");
            c
        },
        &format!("{}\n", common::pw("dana")),
    ));
    // The edit made vera's signature stale: it covered the change as it was.
    let approvals = ok(run(ward_words(&d, None, &words(&["change", "approvals", &change]))));
    assert!(
        approvals.contains("user:vera") && approvals.contains("STALE") && !approvals.contains("user:dana"),
        "{approvals}"
    );
}
