//! The worked example of docs/POLICY.md: the team rule in examples/policies passes its own tests
//! under the real `ward policy test`, and in a local scenario it blocks with its own rule id and
//! fix; the fix, executed as printed, satisfies it.

mod common;

use common::{json, ok, run, run_with_stdin, ward};
use std::path::{Path, PathBuf};
use std::process::Command;

const RULE: &str = "separation.commits_asserted";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `ward` as a user types it: no `--data-dir`, nothing from the environment that would
/// redirect it, and no CI variables (which would make `change open` read a range from git).
fn bare_ward() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ward"));
    for k in [
        "WARD_DATA_DIR",
        "WARD_DATABASE_URL",
        "WARD_SERVER",
        "WARD_TOKEN",
        "WARD_AS",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
    ] {
        c.env_remove(k);
    }
    c
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Dana",
            "-c",
            "user.email=dana@example.org",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn example_policy_tests_pass_under_ward_policy_test() {
    // Exactly as docs/POLICY.md prints it, from the repository root.
    let data = tempfile::tempdir().unwrap();
    let mut c = bare_ward();
    c.args(["policy", "test", "--dir", "examples/policies"])
        .current_dir(repo_root())
        .env("WARD_DATA_DIR", data.path());
    let out = ok(run(c));
    assert!(
        out.contains("PASS team.commits_asserted_test.test_asserted_commits_block_a_high_change"),
        "{out}"
    );
    assert!(out.trim_end().ends_with(", 0 failed"), "{out}");
    let mut c = bare_ward();
    c.args(["policy", "test", "--dir", "examples/policies", "--output", "json"])
        .current_dir(repo_root())
        .env("WARD_DATA_DIR", data.path());
    let v = json(&ok(run(c)));
    let team: Vec<&serde_json::Value> = v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"].as_str().unwrap().starts_with("team.commits_asserted_test."))
        .collect();
    assert_eq!(team.len(), 7, "{v}");
    assert!(team.iter().all(|t| t["passed"] == true), "{v}");
    assert_eq!(v["failed"], 0);
}

#[test]
fn example_rule_blocks_with_its_own_rule_and_fix_and_the_fix_works_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init"]);
        c
    }));
    let password = "dana-correct-horse-battery";
    ok(run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args([
                "user",
                "add",
                "--name",
                "dana",
                "--display-name",
                "Dana Example",
                "--role",
                "developer",
            ]);
            c
        },
        &format!("{password}\n"),
    ));
    // The team's policies, beside the bundled ones.
    let policies = repo_root().join("examples/policies");
    std::fs::write(
        d.join("ward.toml"),
        format!("[gate]\npolicy_dir = {:?}\n", policies.to_str().unwrap()),
    )
    .unwrap();
    // A repository with the change's commit on a branch.
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "service\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "start"]);
    git(&repo, &["checkout", "-q", "-b", "reminders"]);
    std::fs::write(repo.join("src/reminders.py"), "print('due')\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "reminders"]);

    let as_dana = |args: &[&str]| {
        let mut c = bare_ward();
        c.arg("--data-dir").arg(&d).args(["--as", "dana"]).args(args);
        c.env("WARD_PASSWORD", password).current_dir(&repo);
        c
    };
    // Opened with the paths typed in (no --range): the commit list is the caller's assertion.
    let opened = json(&ok(run(as_dana(&[
        "change",
        "open",
        "--title",
        "Appointment reminders",
        "--ticket",
        common::TICKET,
        "--attribute",
        "phi",
        "--path",
        "src/reminders.py",
        "--output",
        "json",
    ]))));
    let id = opened["id"].as_str().expect("id").to_string();
    assert_eq!(opened["tier"], "high", "{opened}");

    let check = || {
        let mut c = bare_ward();
        c.arg("--data-dir")
            .arg(&d)
            .args(["gate", "check", "--change", &id, "--env", "prod", "--output", "json"]);
        let out = run(c);
        assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
        json(&String::from_utf8_lossy(&out.stdout))
    };
    let decision = check();
    let reasons = decision["reasons"].as_array().expect("reasons");
    let ours = reasons
        .iter()
        .find(|r| r["rule"] == RULE)
        .unwrap_or_else(|| panic!("{RULE} missing: {decision}"));
    let fix = ours["fix"].as_str().unwrap();
    assert_eq!(
        fix,
        format!(
            "inside the repository, as yourself in local mode (--as USER), let Ward read the commits: ward change update {id} --range main..HEAD"
        )
    );
    assert!(
        ours["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{id} is a high-tier change whose commit list was asserted")),
        "{ours}"
    );
    // The bundled rules still apply beside it.
    assert!(reasons.iter().any(|r| r["rule"] == "approvals.quorum"), "{decision}");
    // The text output prints the rule and its fix; explain and replay show the same decision.
    let mut c = bare_ward();
    c.arg("--data-dir")
        .arg(&d)
        .args(["gate", "check", "--change", &id, "--env", "prod"]);
    let text = String::from_utf8(run(c).stdout).unwrap();
    // Printed locally, the person's command names the local user it runs as.
    assert!(
        text.contains(&format!("✗ {RULE}: "))
            && text.contains(&format!(
                "fix: {}",
                fix.replace("ward change update", "ward --as USER change update")
            )),
        "{text}"
    );
    let dec = decision["id"].as_u64().unwrap().to_string();
    let mut c = bare_ward();
    c.arg("--data-dir")
        .arg(&d)
        .args(["gate", "explain", &dec, "--output", "json"]);
    let explained = json(&ok(run(c)));
    assert_eq!(explained["reasons"], decision["reasons"]);
    let mut c = bare_ward();
    c.arg("--data-dir").arg(&d).args(["gate", "replay", &dec]);
    assert!(ok(run(c)).contains("identical verdict and reasons"));

    // The fix, executed as printed, in the repository, as Dana (WARD_AS, WARD_PASSWORD) on
    // this data directory (WARD_DATA_DIR).
    let printed = &fix[fix.find("ward change update").expect("a command")..];
    let words: Vec<&str> = printed.split_whitespace().collect();
    assert_eq!(words[0], "ward");
    let mut c = bare_ward();
    c.args(&words[1..])
        .current_dir(&repo)
        .env("WARD_DATA_DIR", &d)
        .env("WARD_AS", "dana")
        .env("WARD_PASSWORD", password);
    ok(run(c));
    let after = check();
    let rules: Vec<&str> = after["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(!rules.contains(&RULE), "{after}");
    assert!(rules.contains(&"approvals.quorum"), "{after}");
}
