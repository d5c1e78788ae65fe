//! `ward change …`: change requests, locally or through a server; commits, authors and touched
//! paths read from git.

use crate::backend::Backend;
use crate::cli::{ApproveArgs, ChangeCommand, ChangeOpenArgs, Global};
use crate::failure::Failure;
use crate::output::emit;
use anyhow::Result;
use serde_json::{Value, json};
use std::process::Command;
use ward_app::approvals::{Approval, ApprovalsView, SignRequest};
use ward_app::changes::{Change, ChangeRequest, ChangeUpdate, Commit, ReclassifyRequest};
use ward_app::gate::GateDecision;
use ward_app::overview::ChangeOverview;

/// The git range of the CI job this runs in: GitLab's `CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA`, or
/// from GitHub's event file the push's `before..after` or the pull request's `base..head`.
pub fn ci_range(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    if env("GITLAB_CI").as_deref() == Some("true") {
        let (before, sha) = (env("CI_COMMIT_BEFORE_SHA")?, env("CI_COMMIT_SHA")?);
        return (!zero(&before)).then(|| format!("{before}..{sha}"));
    }
    if env("GITHUB_ACTIONS").as_deref() == Some("true") {
        let path = env("GITHUB_EVENT_PATH")?;
        let meta = std::fs::metadata(&path).ok()?;
        if meta.len() > 16 * 1024 * 1024 {
            return None;
        }
        let event: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let s = |v: &Value, p: &[&str]| -> Option<String> {
            p.iter().try_fold(v, |v, k| v.get(k))?.as_str().map(str::to_string)
        };
        if let (Some(b), Some(h)) = (
            s(&event, &["pull_request", "base", "sha"]),
            s(&event, &["pull_request", "head", "sha"]),
        ) {
            return Some(format!("{b}..{h}"));
        }
        let (before, after) = (s(&event, &["before"])?, s(&event, &["after"])?);
        return (!zero(&before)).then(|| format!("{before}..{after}"));
    }
    None
}

fn git(args: &[&str]) -> Result<String> {
    // The commits as they are recorded: not a `git replace` object or a graft standing in for
    // one (a helper's attack: a replacement of alice's commit naming bob as its author let alice
    // sign her own change), and no `.mailmap` (`%ae`, not `%aE`: the author edits it).
    let out = Command::new("git")
        .args(args)
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("GIT_GRAFT_FILE", "/dev/null")
        .output()
        .map_err(|e| {
            Failure::new(
                "git_failed",
                format!("cannot run git: {e}"),
                "install git, or pass --path for each touched path",
            )
        })?;
    if !out.status.success() {
        // A range that is not id-shaped is given as its length, on the command line and in
        // git's own words (`bad revision '…'`): it may be anything (attack round 10).
        let mut message = format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        for a in args.iter().skip(1).filter(|a| !a.starts_with('-') && a.len() > 2) {
            let shown = ward_app::identifier::shown(a);
            if !shown.starts_with('"') {
                message = message.replace(a, &shown);
            }
        }
        return Err(Failure::new(
            "git_failed",
            message,
            "run inside the repository, and pass a range both ends of which exist (fetch full history in CI)",
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Commits (id and author e-mail) and touched paths of `range`.
pub fn from_git(range: &str) -> Result<(Vec<Commit>, Vec<String>)> {
    if range.starts_with('-') || !range.contains("..") {
        return Err(Failure::new(
            "bad_range",
            format!("the range {} is not a git range", ward_app::identifier::shown(range)),
            "write it as A..B",
        )
        .into());
    }
    let commits = git(&["log", "--format=%H%x09%ae%x09%cI", range, "--"])?
        .lines()
        .filter_map(commit_line)
        .collect();
    // Every path the range touched, as it is: both sides of a rename (git lists a moved file
    // under its new name only: `src/phi/records.py` moved to `src/util/` classified low), NUL-
    // separated so a path outside ASCII is not quoted and escaped (`"phi/r\303\251sum\303\251.py"`
    // matched no `phi/` rule) — a helper's attack on the fourteenth session's head — from the
    // repository's root whatever `diff.relative` says, with no external diff tool, and a
    // submodule's move listed whatever `.gitmodules` or `diff.ignoreSubmodules` say (`ignore =
    // all`, committed beside a submodule at `services/phi`, hid its update: a helper's attack).
    let paths = git(&[
        "diff",
        "--no-renames",
        "--no-relative",
        "--no-ext-diff",
        "--ignore-submodules=none",
        "--name-only",
        "-z",
        range,
        "--",
    ])?
    .split('\0')
    .filter(|p| !p.is_empty())
    .map(str::to_string)
    .collect();
    Ok((commits, paths))
}

/// One line of `git log --format=%H%x09%ae%x09%cI`: id, author e-mail and the committer date,
/// kept in UTC (the lead time starts at the earliest).
fn commit_line(line: &str) -> Option<Commit> {
    let mut parts = line.splitn(3, '\t');
    let (sha, author) = (parts.next()?, parts.next()?);
    let time = parts
        .next()
        .and_then(|t| t.trim().parse::<jiff::Timestamp>().ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    Some(Commit {
        sha: sha.into(),
        author: author.into(),
        time,
    })
}

fn show(c: &Change) -> String {
    let mut s = format!(
        "{}  {}  [{}] tier {}{}\n  opened by {} at {} (entry {})\n",
        c.id,
        c.request.title,
        c.request.kind,
        c.tier,
        if c.tier_override.is_some() { " (overridden)" } else { "" },
        c.opener,
        c.time,
        c.seq
    );
    let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
    s.push_str(&format!(
        "  ticket: {}{}\n",
        c.request.ticket_url.as_deref().unwrap_or("-"),
        c.request
            .incident_url
            .as_deref()
            .map(|u| format!("  incident: {u}"))
            .unwrap_or_default()
    ));
    s.push_str(&format!("  artifacts: {}\n", list(&c.request.artifacts)));
    s.push_str(&format!("  environments: {}\n", list(&c.request.environments)));
    s.push_str(&format!(
        "  commits: {}  paths: {}  range: {}\n",
        c.request.commits.len(),
        c.request.paths.len(),
        c.request.commit_range.as_deref().unwrap_or("-")
    ));
    s.push_str(&format!("  tags: {}\n", list(&c.classification.tags)));
    s.push_str(&format!("  classified {} by:\n", c.classification.tier));
    for m in &c.classification.matched {
        s.push_str(&format!("    {m}\n"));
    }
    if c.classification.matched.is_empty() {
        s.push_str("    (no rule matched: the default tier)\n");
    }
    if let Some(o) = &c.tier_override {
        s.push_str(&format!(
            "  overridden to {} by {} at {}: {}\n",
            o.tier, o.by, o.time, o.reason
        ));
    }
    s
}

/// `ward change show`: the change, then everything recorded about it.
fn overview(o: &ChangeOverview) -> String {
    let now = jiff::Timestamp::now().as_second();
    let mut s = show(&o.change);
    s.push_str(&format!(
        "  evidence ({}){}:\n",
        o.evidence.len(),
        if o.evidence_withheld {
            ", withheld: your role may not read evidence"
        } else {
            ""
        }
    ));
    let mut subjects = o.change.request.artifacts.clone();
    subjects.push(o.change.id.clone());
    for subject in &subjects {
        let on: Vec<_> = o.evidence.iter().filter(|a| &a.artifact == subject).collect();
        if subject == &o.change.id && on.is_empty() {
            continue;
        }
        s.push_str(&format!(
            "    {}: {}\n",
            if subject == &o.change.id {
                format!("on the change {subject}")
            } else {
                subject.clone()
            },
            subject_verdict(subject, &o.change.id, &o.change.request.environments, &o.decisions)
        ));
        if on.is_empty() {
            s.push_str("      (no evidence)\n");
        }
        for a in on {
            let blocking = blocking_rules(&o.decisions, |m| m.contains(&format!("({})", a.id)));
            s.push_str(&format!(
                "      {} {} {} (entry {}, by {}): {}{}\n        id {}\n",
                a.time,
                a.r#type,
                a.file_name,
                a.seq,
                a.added_by,
                crate::commands::evidence::summary_line(&a.r#type, &a.summary),
                if blocking.is_empty() {
                    String::new()
                } else {
                    format!("  ✗ {}", blocking.join(", "))
                },
                a.id,
            ));
        }
    }
    s.push_str(&approvals_table(&o.approvals));
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!(
        "  gate decisions (latest per environment, {}):\n",
        o.decisions.len()
    ));
    for d in &o.decisions {
        s.push_str(&format!(
            "    {} → {}: {} (decision {}, {}, asked by {}){}\n",
            d.change,
            d.environment,
            if d.allow { "ALLOWS" } else { "BLOCKS" },
            d.id,
            d.time,
            d.checked_by,
            match d.allow {
                true => format!(" — what met each control: ward gate explain {}", d.id),
                false => format!(" — ward gate explain {}", d.id),
            }
        ));
        for r in &d.reasons {
            s.push_str(&format!("      ✗ {}: {}\n", r.rule, r.message));
        }
        for w in &d.waived {
            s.push_str(&format!("      ~ {} excused by {}\n", w.rule, w.waiver));
        }
    }
    if !o.waivers.is_empty() {
        s.push_str("  waivers:\n");
        for w in &o.waivers {
            s.push_str(&format!(
                "    {} of {} granted by {} ({}) {}, {} {}\n",
                w.id,
                w.request.rules.join(", "),
                w.printed_name,
                w.approver,
                w.time,
                match crate::output::waiver_state(w) {
                    "active" => "active, expires",
                    other => other,
                },
                crate::output::when(w.expires_secs, now)
            ));
        }
    }
    if !o.breakglass.is_empty() {
        s.push_str("  break-glass:\n");
        for b in &o.breakglass {
            s.push_str(&format!(
                "    {} by {} ({}) {}, {} {}; retrospective review {} (due {})\n",
                b.id,
                b.printed_name,
                b.by,
                b.time,
                crate::output::breakglass_state(b),
                crate::output::when(b.until_secs, now),
                b.review,
                crate::output::when(b.review_due_secs, now)
            ));
        }
    }
    s.push_str(&format!("  deployments ({}):\n", o.deployments.len()));
    for d in &o.deployments {
        s.push_str(&format!(
            "    entry {} {} → {}{}: {} at {} by {}{}\n",
            d.seq,
            d.digests.join(","),
            d.environment,
            d.ring.as_deref().map(|r| format!(" ring {r}")).unwrap_or_default(),
            d.status,
            d.time,
            d.executed_by,
            if d.drill { " (rollback drill)" } else { "" }
        ));
    }
    s
}

/// The rules of the latest decisions that block on a reason whose message `names`, with the
/// environment: `evidence.sbom in prod`.
fn blocking_rules(decisions: &[GateDecision], names: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = decisions
        .iter()
        .flat_map(|d| {
            d.reasons
                .iter()
                .filter(|r| names(&r.message))
                .map(move |r| format!("{} in {}", r.rule, d.environment))
        })
        .collect();
    out.dedup();
    out
}

/// An artifact's (or the change's own) verdict from the latest gate decision per environment:
/// what blocks on it, or that nothing does, or that no gate has been asked yet (the command to
/// ask it). The verdict is the gate's, never one made up from the summaries.
fn subject_verdict(subject: &str, change: &str, environments: &[String], decisions: &[GateDecision]) -> String {
    if decisions.is_empty() {
        return match environments.first() {
            Some(env) => format!("not yet checked by the gate (ward gate check --change {change} --env {env})"),
            None => "not yet checked by the gate".into(),
        };
    }
    let blocking = blocking_rules(decisions, |m| m.contains(subject));
    let envs: Vec<&str> = decisions.iter().map(|d| d.environment.as_str()).collect();
    if blocking.is_empty() {
        format!(
            "nothing blocks on it in the latest gate decisions ({})",
            envs.join(", ")
        )
    } else {
        format!("BLOCKS: {}", blocking.join(", "))
    }
}

/// Dispatches `ward change`.
pub async fn change(g: &Global, cmd: &ChangeCommand) -> Result<()> {
    let backend = Backend::from_global(g)?;
    match cmd {
        ChangeCommand::Open(a) => {
            let req = request(a)?;
            let c: Change = backend.open_change(&req).await?;
            emit(g.output, json!(c), || show(&c));
        }
        ChangeCommand::Update {
            id,
            range,
            paths,
            artifacts,
            ticket,
            environments,
        } => {
            let mut upd = ChangeUpdate {
                ticket_url: ticket.clone(),
                environments: (!environments.is_empty()).then(|| environments.clone()),
                ..ChangeUpdate::default()
            };
            if let Some(r) = range {
                let (commits, mut from_git) = from_git(r)?;
                for p in paths {
                    if !from_git.contains(p) {
                        from_git.push(p.clone());
                    }
                }
                upd.commit_range = Some(r.clone());
                upd.commits = Some(commits);
                upd.paths = Some(from_git);
            } else if !paths.is_empty() {
                upd.paths = Some(paths.clone());
            }
            if !artifacts.is_empty() {
                upd.artifacts = Some(artifacts.clone());
            }
            let c: Change = backend.update_change(id, &upd, range.is_some()).await?;
            emit(g.output, json!(c), || show(&c));
        }
        ChangeCommand::Show { id } => {
            let o: ChangeOverview = backend.change_overview(id).await?;
            emit(g.output, json!(o), || overview(&o));
        }
        ChangeCommand::List => {
            let list: Vec<Change> = backend.changes().await?;
            emit(g.output, json!({ "changes": list }), || {
                if list.is_empty() {
                    return "no changes (open one with `ward change open --title …`)".into();
                }
                list.iter()
                    .map(|c| {
                        format!(
                            "{}  {:<6} {:<9} {}",
                            c.id,
                            c.tier.as_str(),
                            c.request.kind,
                            c.request.title
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ChangeCommand::Approvals { id } => {
            let view: ApprovalsView = backend.approvals(id).await?;
            emit(g.output, json!(view), || approvals_table(&view));
        }
        ChangeCommand::Classify { id, tier, reason } => {
            let tier = tier
                .parse()
                .map_err(|e: String| Failure::new("bad_tier", e, "use --tier low, medium or high"))?;
            let req = ReclassifyRequest {
                tier,
                reason: reason.clone(),
            };
            let c: Change = backend.classify(id, &req).await?;
            emit(g.output, json!(c), || show(&c));
        }
    }
    Ok(())
}

fn approvals_table(v: &ApprovalsView) -> String {
    let mut s = format!("manifest {}\n", v.manifest_digest);
    if v.approvals.is_empty() {
        s.push_str("  no signatures yet\n");
    }
    for a in &v.approvals {
        s.push_str(&format!(
            "  {:<8} {:<18} {} ({}) at {}{}{}\n",
            a.decision,
            a.meaning,
            a.printed_name,
            a.signer,
            a.time,
            if a.by_party {
                "  NOT COUNTED: the signer is now a party of the change"
            } else if a.stale {
                "  STALE: signed another manifest"
            } else {
                "  current"
            },
            if a.comment.is_empty() {
                String::new()
            } else {
                format!("\n           \"{}\"", a.comment)
            }
        ));
    }
    s
}

/// `ward approve`: signs a change, re-authenticating with a password or a fresh OIDC token.
pub async fn approve(g: &Global, a: &ApproveArgs) -> Result<()> {
    let backend = Backend::from_global(g)?;
    let req = SignRequest {
        meaning: a.meaning.clone(),
        comment: a.comment.clone(),
        reject: a.reject,
        password: crate::context::password(g)?,
        reauth_token: a.reauth_token.clone(),
        manifest_digest: None,
    };
    let signed: Approval = backend.approve(&a.change, &req).await?;
    emit(g.output, json!(signed), || {
        format!(
            "{} {} as {} ({}) at {} — entry {}, manifest {}",
            signed.decision,
            signed.change,
            signed.meaning,
            signed.printed_name,
            signed.time,
            signed.seq,
            signed.manifest_digest
        )
    });
    Ok(())
}

fn request(a: &ChangeOpenArgs) -> Result<ChangeRequest> {
    let range = a
        .range
        .clone()
        .or_else(|| ci_range(&|k| std::env::var(k).ok().filter(|v| !v.is_empty())));
    let (commits, mut paths) = match &range {
        Some(r) => from_git(r)?,
        None => (Vec::new(), Vec::new()),
    };
    for p in &a.paths {
        if !paths.contains(p) {
            paths.push(p.clone());
        }
    }
    Ok(ChangeRequest {
        title: a.title.clone(),
        description: a.description.clone(),
        ticket_url: a.ticket.clone(),
        incident_url: a.incident.clone(),
        kind: a.kind.clone(),
        artifacts: a.artifacts.clone(),
        config_versions: a.config_versions.clone(),
        commit_range: range,
        commits,
        paths,
        attributes: a.attributes.clone(),
        integrations: a.integrations.clone(),
        environments: a.environments.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::{ci_range, commit_line, subject_verdict};

    #[test]
    fn an_artifacts_verdict_is_the_gates_reasons_that_name_it() {
        let decision = |env: &str, reasons: serde_json::Value| -> ward_app::gate::GateDecision {
            serde_json::from_value(serde_json::json!({
                "id": 7, "change": "CHG-1", "environment": env, "allow": reasons.as_array().unwrap().is_empty(),
                "reasons": reasons, "policy_digest": "sha256:p", "input_digest": "sha256:i",
                "input_version": "1", "checked_by": "user:rita", "time": "t"
            }))
            .unwrap()
        };
        let envs = vec!["staging".to_string(), "prod".to_string()];
        assert_eq!(
            subject_verdict("sha256:aa", "CHG-1", &envs, &[]),
            "not yet checked by the gate (ward gate check --change CHG-1 --env staging)"
        );
        let failing = serde_json::json!([
            {"rule": "evidence.tests_failed", "message": "test report r.xml (ATT-3) on sha256:aa has 2 failed and 0 errored tests", "fix": "f"},
            {"rule": "approvals.quorum", "message": "high changes need 2 approvals by distinct people; 1 current", "fix": "f"}
        ]);
        let ds = vec![decision("staging", serde_json::json!([])), decision("prod", failing)];
        assert_eq!(
            subject_verdict("sha256:aa", "CHG-1", &envs, &ds),
            "BLOCKS: evidence.tests_failed in prod"
        );
        // Another artifact is not blamed for it, nor for the change-wide quorum.
        assert_eq!(
            subject_verdict("sha256:bb", "CHG-1", &envs, &ds),
            "nothing blocks on it in the latest gate decisions (staging, prod)"
        );
    }

    #[test]
    fn a_commit_keeps_its_committer_date_in_utc() {
        let c = commit_line("abc\tdev@example.org\t2026-11-30T09:15:00+01:00").unwrap();
        assert_eq!(c.time.as_deref(), Some("2026-11-30T08:15:00Z"));
        let old_git = commit_line("abc\tdev@example.org").unwrap();
        assert_eq!(old_git.time, None);
    }
    use std::collections::HashMap;

    #[test]
    fn ranges_from_ci() {
        let gl: HashMap<&str, &str> = [
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_BEFORE_SHA", "aaa"),
            ("CI_COMMIT_SHA", "bbb"),
        ]
        .into();
        assert_eq!(
            ci_range(&|k| gl.get(k).map(|v| v.to_string())).as_deref(),
            Some("aaa..bbb")
        );
        let first_push: HashMap<&str, &str> = [
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_BEFORE_SHA", "0000000000"),
            ("CI_COMMIT_SHA", "bbb"),
        ]
        .into();
        assert_eq!(ci_range(&|k| first_push.get(k).map(|v| v.to_string())), None);
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(&event, r#"{"pull_request":{"base":{"sha":"b1"},"head":{"sha":"h2"}}}"#).unwrap();
        let ev = event.to_str().unwrap().to_string();
        let gh = move |k: &str| match k {
            "GITHUB_ACTIONS" => Some("true".to_string()),
            "GITHUB_EVENT_PATH" => Some(ev.clone()),
            _ => None,
        };
        assert_eq!(ci_range(&gh).as_deref(), Some("b1..h2"));
        assert_eq!(ci_range(&|_| None), None);
    }
}
