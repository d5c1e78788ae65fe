//! `ward metrics dora` as a user runs it: a change opened from a real git repository records its
//! commits' times (the lead time starts at the earliest), another answers an incident (rework);
//! their deployment records are written as a promotion writes them; the real `ward` binary
//! then prints the figures locally and through `ward serve` — the same document both ways —
//! with `--explain` naming the entries, and refuses a bad period or an undeclared environment.

mod common;

use common::{json, ok, register, run, serve_with, token, ward};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;

const DAY: i64 = 86_400;

/// Runs git in `dir` with a fixed identity, the commit made at `at` (Unix seconds).
fn git(dir: &Path, args: &[&str], at: i64) -> String {
    let date = format!("@{at} +0000");
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "dana")
        .env("GIT_AUTHOR_EMAIL", "dana@example.org")
        .env("GIT_COMMITTER_NAME", "dana")
        .env("GIT_COMMITTER_EMAIL", "dana@example.org")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Records a successful deployment of `change` to prod as a promotion does.
fn deploy(d: &Path, change: &Value) -> u64 {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let url = format!("sqlite://{}", d.join("ward.db").display());
        let ledger = ward_store::Ledger::new(ward_store::open(&url).await.expect("store"), ward_app::projectors());
        let env = ward_app::environment::Environment {
            name: "prod".into(),
            ..Default::default()
        };
        let digests: Vec<String> = serde_json::from_value(change["artifacts"].clone()).unwrap();
        let rel = ward_app::deployments::Release {
            env: &env,
            change: change["id"].as_str().unwrap(),
            digests: &digests,
            ring: None,
            gate_decision: 1,
            approvals: vec![],
            excused_by: vec![],
            rollback_of: None,
            requested_at: None,
            drill: false,
        };
        let run = ward_app::deployments::TargetRun {
            tenant: None,
            config_digest: None,
            status: "succeeded".into(),
            exit_code: Some(0),
            output_digest: None,
            rollback_to: None,
        };
        let by = Identity {
            id: "user:rita".into(),
            kind: ActorKind::Human,
            roles: vec![Role::ReleaseManager],
        };
        ward_app::deployments::append_record(&ledger, &by, &rel, vec![run], "command")
            .await
            .expect("record")
            .seq
    })
}

fn figure<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report}"))
}

fn seqs(m: &Value) -> Vec<u64> {
    m["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

#[test]
fn dora_metrics_from_the_cli_locally_and_through_a_server_with_lead_time_from_git() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init"]);
        c
    }));
    std::fs::write(d.join("ward.toml"), "[[environments]]\nname = \"prod\"\n").unwrap();
    let now = jiff::Timestamp::now().as_second();
    let committed = now - 2 * DAY;
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], committed - DAY);
    std::fs::write(repo.join("README.md"), "hello\n").unwrap();
    git(&repo, &["add", "."], committed - DAY);
    git(&repo, &["commit", "-q", "-m", "base"], committed - DAY);
    let base = git(&repo, &["rev-parse", "HEAD"], committed - DAY);
    std::fs::write(repo.join("README.md"), "hello again\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "fix"], committed);
    std::fs::write(repo.join("README.md"), "hello once more\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "fix again"], committed + 3_600);
    let head = git(&repo, &["rev-parse", "HEAD"], committed);
    let (a1, a2) = (
        format!("sha256:{}", "d1".repeat(32)),
        format!("sha256:{}", "d2".repeat(32)),
    );
    register(&d, &a1, "patient-api", "1.0.0");
    register(&d, &a2, "patient-api", "1.0.1");
    let dev = token(&d, "ci", "developer");
    let viewer = token(&d, "dash", "viewer");
    let (_server, url) = serve_with(&d, &[]);
    let remote = |t: &str| {
        let mut c = ward(&d, None);
        c.args(["--server", &url]).env("WARD_TOKEN", t);
        c
    };

    // Opened from git: each commit keeps its committer date (UTC).
    let fix = json(&ok(run({
        let mut c = remote(&dev);
        c.current_dir(&repo).args([
            "change",
            "open",
            "--title",
            "Fix reminders",
            "--range",
            &format!("{base}..{head}"),
            "--artifact",
            &a1,
            "--output",
            "json",
        ]);
        c
    })));
    let times: Vec<&str> = fix["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["time"].as_str().unwrap())
        .collect();
    let at = ward_app::metrics::rfc3339;
    assert_eq!(times, vec![at(committed + 3_600), at(committed)]);
    // Answering an incident.
    let hotfix = json(&ok(run({
        let mut c = remote(&dev);
        c.args([
            "change",
            "open",
            "--title",
            "Hotfix reminders",
            "--artifact",
            &a2,
            "--incident",
            "https://incidents.example.org/INC-7",
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(hotfix["incident_url"], "https://incidents.example.org/INC-7");
    // An incident that is not a URL is refused.
    let out = run({
        let mut c = remote(&dev);
        c.args([
            "change",
            "open",
            "--title",
            "x",
            "--artifact",
            &a2,
            "--incident",
            "INC-7",
        ]);
        c
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("incident"), "{out:?}");

    let d1 = deploy(&d, &fix);
    let d2 = deploy(&d, &hotfix);
    let period = ["--env", "prod", "--from", &at(now - DAY), "--to", &at(now + DAY)];

    let local = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["metrics", "dora", "--explain", "--output", "json"])
            .args(period);
        c
    })));
    // Two successful deployments over two days.
    let f = figure(&local, "deployment_frequency");
    assert_eq!((f["samples"].as_u64(), f["value"].as_f64()), (Some(2), Some(1.0)));
    assert_eq!(f["band"], "elite");
    assert_eq!(seqs(f), vec![d1, d2]);
    // The fix's lead time runs from its earliest commit, two days before its deployment; the
    // hotfix has no commit time and is not sampled.
    let f = figure(&local, "change_lead_time");
    assert_eq!(f["samples"], 1);
    let lead = f["value"].as_f64().unwrap();
    assert!(((2 * DAY) as f64..(2 * DAY + 300) as f64).contains(&lead), "{lead}");
    assert_eq!(f["band"], "high");
    assert_eq!(seqs(f), vec![d1]);
    let e = &f["entries"][0];
    assert_eq!(e["kind"], "deployment.recorded");
    assert!(
        e["what"]
            .as_str()
            .unwrap()
            .contains(&format!("first commit {}", at(committed))),
        "{e}"
    );
    // Nothing failed; the incident's change is rework.
    let f = figure(&local, "change_fail_rate");
    assert_eq!((f["samples"].as_u64(), f["value"].as_f64()), (Some(2), Some(0.0)));
    assert!(figure(&local, "failed_deployment_recovery_time")["value"].is_null());
    let f = figure(&local, "deployment_rework_rate");
    assert_eq!(f["value"].as_f64(), Some(0.5));
    assert!(f["band"].is_null());
    assert_eq!(seqs(f), vec![d2]);

    // Through the server: the same document.
    let served = json(&ok(run({
        let mut c = remote(&viewer);
        c.args(["metrics", "dora", "--explain", "--output", "json"])
            .args(period);
        c
    })));
    assert_eq!(served, local);

    // The text names every metric, its value, samples and band, and under --explain the entries.
    let text = ok(run({
        let mut c = ward(&d, None);
        c.args(["metrics", "dora", "--explain"]).args(period);
        c
    }));
    assert!(text.contains("deployment frequency"), "{text}");
    assert!(text.contains("1.00 per day"), "{text}");
    assert!(text.contains("2 d 0 h"), "{text}");
    assert!(text.contains("(DORA publishes no band)"), "{text}");
    assert!(text.contains(&format!("entry {d2}")), "{text}");
    assert!(text.contains("no sample"), "{text}");
    // Without --to the period runs up to now, and says so (never "in 1 s").
    let recent = ok(run({
        let mut c = ward(&d, None);
        c.args(["metrics", "dora", "--env", "prod"]);
        c
    }));
    let header = recent.lines().next().unwrap_or_default();
    assert!(header.ends_with("Z (now)") && header.contains(" ago) to "), "{recent}");

    // Governance metrics, both ways: two successful deployments, none under an exception, no
    // approval quorum reached, no drill.
    let gov = |mut c: Command| {
        c.args(["metrics", "governance", "--explain", "--output", "json"])
            .args(period);
        json(&ok(run(c)))
    };
    let local_gov = gov(ward(&d, None));
    assert_eq!(local_gov, gov(remote(&viewer)));
    let m = figure(&local_gov, "deployments_under_waiver");
    assert_eq!((m["samples"].as_u64(), m["value"].as_f64()), (Some(2), Some(0.0)));
    assert!(figure(&local_gov, "approval_latency")["value"].is_null());
    assert!(figure(&local_gov, "rollback_drill_age")["value"].is_null());
    let text = ok(run({
        let mut c = ward(&d, None);
        c.args(["metrics", "governance"]).args(period);
        c
    }));
    assert!(
        text.contains("deployments under a waiver") && text.contains("0.0%"),
        "{text}"
    );
    assert!(text.contains("evidence complete at deployment"), "{text}");
    assert!(text.contains("last drill's time to restore"), "{text}");
    assert_eq!(
        figure(&local_gov, "evidence_complete_at_deployment")["samples"].as_u64(),
        Some(2)
    );

    // Refusals, with the fix named.
    let out = run({
        let mut c = ward(&d, None);
        c.args(["metrics", "dora", "--env", "prod", "--from", "yesterday"]);
        c
    });
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--from") && err.contains("hint:"), "{err}");
    let out = run({
        let mut c = remote(&viewer);
        c.args(["metrics", "dora", "--env", "prdo"]);
        c
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did you mean prod?"),
        "{out:?}"
    );
    let out = run({
        let mut c = ward(&d, None);
        c.args([
            "metrics",
            "dora",
            "--env",
            "prod",
            "--from",
            &at(now),
            "--to",
            &at(now - 1),
        ]);
        c
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("period is empty"),
        "{out:?}"
    );
}
