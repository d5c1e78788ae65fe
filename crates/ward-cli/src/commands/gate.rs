//! `ward gate …` and `ward policy test`, locally or through a server.

use crate::backend::{Backend, reauth_token};
use crate::cli::{BreakGlassArgs, GateCommand, Global, PolicyCommand, ReviewCommand, WaiverCommand};
use crate::failure::{EXIT_VERIFY_FAILED, Failure};
use crate::output::emit;
use anyhow::Result;
use serde_json::json;
use ward_app::exceptions::{Breakglass, BreakglassRequest, Waiver, WaiverRequest};
use ward_app::gate::{self, GateDecision, Replay};

/// Exit code when a gate blocks.
pub const EXIT_BLOCKED: i32 = 4;

/// The decision with each reason's fix, as it works in this run's mode
/// ([`crate::actions::as_run`]).
fn show(d: &GateDecision, g: &Global) -> String {
    let mut s = format!(
        "gate {} for {} → {}: {} (decision {}, {})\n  policy {}\n  input  {}\n",
        if d.allow { "ALLOWS" } else { "BLOCKS" },
        d.change,
        d.environment,
        if d.allow && d.waived.is_empty() {
            "every control is satisfied".to_string()
        } else if d.allow {
            format!(
                "every control is satisfied or excused ({} excused, below)",
                excused(d).len()
            )
        } else {
            format!("{} missing", d.reasons.len())
        },
        d.id,
        d.time,
        d.policy_digest,
        d.input_digest
    );
    for r in &d.reasons {
        s.push_str(&format!(
            "  ✗ {}: {}\n      fix: {}\n",
            r.rule,
            r.message,
            crate::actions::as_run(&crate::actions::fix(r), g)
        ));
    }
    for ((rule, message), by) in excused(d) {
        s.push_str(&format!("  ~ {rule} excused by {}: {message}\n", by.join(", ")));
    }
    s
}

/// The reasons a decision excused, each once with every waiver or break-glass that excused it
/// (two break-glass naming the same rule excuse one reason, not two).
fn excused(d: &GateDecision) -> Vec<((&str, &str), Vec<&str>)> {
    let mut out: Vec<((&str, &str), Vec<&str>)> = Vec::new();
    for w in &d.waived {
        let key = (w.rule.as_str(), w.message.as_str());
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, by)) if !by.contains(&w.waiver.as_str()) => by.push(&w.waiver),
            Some(_) => {}
            None => out.push((key, vec![&w.waiver])),
        }
    }
    out
}

/// `ward gate explain`: the decision, then what met each control and with which record.
fn explained(x: &gate::Explanation, g: &Global) -> String {
    let mut s = show(&x.decision, g);
    match &x.satisfied {
        None if x.unexplained.is_some() => s.push_str(&format!(
            "  (what met each control could not be evaluated: {}; see ward gate replay {})\n",
            x.unexplained.as_deref().unwrap_or_default(),
            x.decision.id
        )),
        None => s.push_str("  (the policy recorded with this decision does not say what met each control)\n"),
        Some(list) if list.is_empty() => s.push_str("  no control was met\n"),
        Some(list) => {
            s.push_str("  met:\n");
            for m in list {
                let on = m.artifact.as_deref().map(|a| format!(" on {a}")).unwrap_or_default();
                s.push_str(&format!("  ✓ {}{on}\n", m.control));
                for by in &m.by {
                    s.push_str(&format!("      by {}\n", satisfier(by)));
                }
            }
        }
    }
    s
}

/// One record that met a control, in words.
fn satisfier(by: &serde_json::Value) -> String {
    let f = |k: &str| by.get(k).and_then(serde_json::Value::as_str).unwrap_or("?");
    match f("kind") {
        "evidence" => format!(
            "{} report {} (entry {}, {})",
            f("type"),
            f("file_name"),
            by.get("seq").map_or("?".into(), ToString::to_string),
            f("id")
        ),
        "signature" => format!(
            "{} ({}) signing {} at {}",
            f("printed_name"),
            f("signer"),
            f("meaning"),
            f("time")
        ),
        "ticket" => format!("ticket {}", f("url")),
        _ => f("text").to_string(),
    }
}

/// Dispatches `ward waiver`.
pub async fn waiver(g: &Global, cmd: &WaiverCommand) -> Result<()> {
    let backend = Backend::from_global(g)?;
    match cmd {
        WaiverCommand::Grant {
            change,
            artifact,
            rules,
            finding,
            justification,
            compensating_control,
            owner,
            expires,
        } => {
            let req = WaiverRequest {
                change: change.clone(),
                artifact: artifact.clone(),
                rules: rules.clone(),
                finding: finding.clone(),
                justification: justification.clone(),
                compensating_control: compensating_control.clone(),
                owner: owner.clone(),
                expires_in_secs: crate::commands::token::parse_lifetime(expires)?,
                password: crate::context::password(g)?,
                reauth_token: reauth_token(),
            };
            let w: Waiver = backend.grant_waiver(&req).await?;
            let now = jiff::Timestamp::now().as_second();
            emit(g.output, json!(w), || {
                format!(
                    "granted {} on {} for {} until {} (owner {})",
                    w.id,
                    w.request
                        .change
                        .as_deref()
                        .or(w.request.artifact.as_deref())
                        .unwrap_or("-"),
                    w.request.rules.join(", "),
                    crate::output::when(w.expires_secs, now),
                    w.request.owner
                )
            });
        }
        WaiverCommand::List { change } => {
            let list: Vec<Waiver> = backend.waivers(change).await?;
            let now = jiff::Timestamp::now().as_second();
            emit(g.output, json!({ "waivers": list }), || {
                list.iter()
                    .map(|w| {
                        format!(
                            "{}  {:<8} {}  until {}  owner {}  granted by {}: {}",
                            w.id,
                            crate::output::waiver_state(w),
                            w.request.rules.join(","),
                            crate::output::when(w.expires_secs, now),
                            w.request.owner,
                            w.approver,
                            w.request.justification
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

/// `ward break-glass`.
pub async fn break_glass(g: &Global, a: &BreakGlassArgs) -> Result<()> {
    let req = BreakglassRequest {
        change: a.change.clone(),
        rules: a.rules.clone(),
        justification: a.justification.clone(),
        duration_secs: crate::commands::token::parse_lifetime(&a.duration)?,
        password: crate::context::password(g)?,
        reauth_token: reauth_token(),
    };
    let b: Breakglass = Backend::from_global(g)?.break_glass(&req).await?;
    let now = jiff::Timestamp::now().as_second();
    emit(g.output, json!(b), || {
        let said = format!(
            "{}: {} may bypass {} until {}; retrospective review due {} (close it: ward approve --change {} --meaning retrospective-review)",
            b.id,
            b.request.change,
            b.request.rules.join(", "),
            crate::output::when(b.until_secs, now),
            crate::output::when(b.review_due_secs, now),
            b.request.change
        );
        crate::actions::as_run(&said, g)
    });
    Ok(())
}

/// Exit code when `ward review list --overdue` finds overdue reviews.
pub const EXIT_OVERDUE: i32 = 5;

/// `ward review`.
pub async fn review(g: &Global, cmd: &ReviewCommand) -> Result<()> {
    let ReviewCommand::List { overdue } = cmd;
    let mut list: Vec<Breakglass> = Backend::from_global(g)?.reviews().await?;
    let open = list.iter().filter(|b| b.review == "open").count();
    if *overdue {
        list.retain(|b| b.review == "overdue");
    }
    let now = jiff::Timestamp::now().as_second();
    emit(g.output, json!({ "reviews": list }), || {
        if list.is_empty() {
            return match (*overdue, open) {
                (true, 0) => "no overdue retrospective reviews".into(),
                (true, n) => format!("no overdue retrospective reviews ({n} open, not yet due: ward review list)"),
                _ => "no retrospective reviews".into(),
            };
        }
        list.iter()
            .map(|b| {
                format!(
                    "{}  {}  {:<8} due {}  by {}, bypass {} {}: {}",
                    b.id,
                    b.request.change,
                    b.review,
                    crate::output::when(b.review_due_secs, now),
                    b.by,
                    crate::output::breakglass_state(b),
                    crate::output::when(b.until_secs, now),
                    b.request.justification
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    if *overdue && !list.is_empty() {
        std::process::exit(EXIT_OVERDUE);
    }
    Ok(())
}

/// Dispatches `ward gate`.
pub async fn gate(g: &Global, cmd: &GateCommand) -> Result<()> {
    let backend = Backend::from_global(g)?;
    match cmd {
        GateCommand::Check { change, env } => {
            let d: GateDecision = backend.gate_check(change, env).await?;
            emit(g.output, json!(d), || show(&d, g));
            if !d.allow {
                std::process::exit(EXIT_BLOCKED);
            }
        }
        GateCommand::Explain { id } => {
            let x: gate::Explanation = backend.gate_explain(*id).await?;
            emit(g.output, json!(x), || explained(&x, g));
        }
        GateCommand::Input { id } => {
            let input: serde_json::Value = backend.gate_input(*id).await?;
            // A document: JSON whatever the output mode.
            let text = serde_json::to_string_pretty(&input).unwrap_or_default();
            emit(g.output, input, || text);
        }
        GateCommand::Replay { id } => {
            let r: Replay = backend.gate_replay(*id).await?;
            emit(g.output, json!(r), || {
                format!(
                    "replayed decision {} from input {} and policy {}: {} ({} → {})",
                    r.recorded.id,
                    r.recorded.input_digest,
                    r.recorded.policy_digest,
                    if r.identical {
                        "identical verdict and reasons"
                    } else {
                        "DIFFERENT"
                    },
                    if r.recorded.allow { "allow" } else { "block" },
                    if r.replayed.allow { "allow" } else { "block" }
                )
            });
            if !r.identical {
                return Err(Failure {
                    code: EXIT_VERIFY_FAILED,
                    ..Failure::new(
                        "replay_differs",
                        format!("decision {id} did not replay identically"),
                        "the stored input or policy no longer gives the recorded verdict",
                    )
                }
                .into());
            }
        }
    }
    Ok(())
}

/// `ward policy test`.
pub fn policy(g: &Global, cmd: &PolicyCommand) -> Result<()> {
    let PolicyCommand::Test { dir } = cmd;
    let cfg = crate::backend::load_config(g, None)?;
    let dir = dir.clone().or(cfg.gate.policy_dir.clone());
    let policy = gate::GatePolicy::load(dir.as_deref(), cfg.controls.clone())
        .map_err(|e| Failure::new("bad_policy", e, "check the policy directory"))?;
    let results = ward_core::gate::run_tests(&policy.bundle, &policy.data())
        .map_err(|e| Failure::new("bad_policy", e.to_string(), "fix the policy file named"))?;
    let failed = results.iter().filter(|r| !r.passed).count();
    emit(g.output, json!({ "tests": results, "failed": failed }), || {
        let mut s = String::new();
        for r in &results {
            s.push_str(&format!(
                "{} {}{}\n",
                if r.passed { "PASS" } else { "FAIL" },
                r.name,
                r.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            ));
        }
        s.push_str(&format!("{} tests, {} failed", results.len(), failed));
        s
    });
    if failed > 0 {
        return Err(Failure::new(
            "policy_tests_failed",
            format!("{failed} policy tests failed"),
            "see FAIL lines above",
        )
        .into());
    }
    Ok(())
}
