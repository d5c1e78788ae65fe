//! `ward rollout` and `ward drill`: progressive delivery on the local runtime, which lives
//! inside `ward serve` — these commands always go through a server.

use crate::cli::{Global, Output, RolloutCommand};
use crate::failure::Failure;
use crate::output::emit;
use crate::remote::Remote;
use anyhow::Result;
use serde_json::{Value, json};
use std::io::IsTerminal;
use ward_app::environment::{Strategy, StrategyKind};
use ward_app::rollout::{Rollout, RolloutRequest};

/// Exit code when a rollout was rolled back or aborted.
pub const EXIT_ROLLED_BACK: i32 = 7;
/// Exit code when a followed rollout paused (inconclusive analysis or an operator): it needs
/// someone to resume, promote or abort it.
pub const EXIT_PAUSED: i32 = 8;
/// Exit code when a followed ring rollout halted: a ring failed and went back to stable, the
/// rings before it keep the new version until someone resumes, promotes or aborts it.
pub const EXIT_HALTED: i32 = 9;

fn server(g: &Global) -> Result<Remote> {
    Remote::from_global(g)?.ok_or_else(|| {
        Failure::new(
            "server_required",
            "rollouts run on the local runtime inside `ward serve`",
            "start `ward serve` and pass --server URL (WARD_SERVER) with a release-manager token",
        )
        .into()
    })
}

/// One line of a rollout's state, for a log: `RO-1 RUNNING at step 10% (1 of 3); analysis pass`.
pub fn progress_line(r: &Rollout) -> String {
    let step = r.plan.get(r.step).map_or("-", |s| s.label.as_str());
    let verdict = r
        .last_analysis
        .as_ref()
        .and_then(|v| v.get("verdict").and_then(Value::as_str))
        .map(|v| format!("; analysis {v}"))
        .unwrap_or_default();
    format!(
        "{} {} at step {step} ({} of {}){verdict}{}",
        r.id,
        r.status.to_uppercase(),
        (r.step + 1).min(r.plan.len()),
        r.plan.len(),
        r.reason.as_deref().map(|x| format!(" — {x}")).unwrap_or_default()
    )
}

/// One screen of a rollout's progress.
pub fn render(r: &Rollout) -> String {
    let mut s = format!(
        "{} {} → {} ({:?}): {}{}\n",
        r.id,
        r.change,
        r.environment,
        r.strategy.kind,
        r.status.to_uppercase(),
        r.reason.as_deref().map(|x| format!(" — {x}")).unwrap_or_default()
    );
    s.push_str(&format!(
        "  new {}  stable {}\n",
        r.digest,
        r.stable_digest.as_deref().unwrap_or("(none)")
    ));
    for (i, step) in r.plan.iter().enumerate() {
        // A step an operator's promote skipped was never analysed: never shown as passed.
        if let Some(skip) = r.skipped.iter().find(|x| x.step == i) {
            s.push_str(&format!(
                "  ⤼ {} — skipped by {}{}\n",
                step.label,
                skip.by,
                skip.reason.as_deref().map(|x| format!(": {x}")).unwrap_or_default()
            ));
            continue;
        }
        let mark = if i < r.step || r.status == "completed" {
            "✔"
        } else if i == r.step && r.status == "running" {
            "▶"
        } else if i == r.step && r.status == "paused" {
            "⏸"
        } else if i == r.step && r.status == "halted" {
            "↩"
        } else if i == r.step {
            "✘"
        } else {
            "·"
        };
        s.push_str(&format!("  {mark} {}\n", step.label));
    }
    if let Some(v) = &r.last_analysis {
        let m = v.get("measurement").cloned().unwrap_or(Value::Null);
        s.push_str(&format!(
            "  analysis: {} — {} requests, {} errors, p95 {} ms, p99 {} ms\n",
            v.get("verdict").and_then(Value::as_str).unwrap_or("?"),
            m.get("requests").and_then(Value::as_u64).unwrap_or(0),
            m.get("errors").and_then(Value::as_u64).unwrap_or(0),
            m.get("p95_ms")
                .and_then(Value::as_f64)
                .map_or("-".into(), |x| x.to_string()),
            m.get("p99_ms")
                .and_then(Value::as_f64)
                .map_or("-".into(), |x| x.to_string()),
        ));
        // The verdict's confidence: the error rate lies between these bounds (the built-in
        // analysis; a provider's own verdict carries none).
        if let (Some(low), Some(high), Some(c)) = (
            m.get("error_rate_low").and_then(Value::as_f64),
            m.get("error_rate_high").and_then(Value::as_f64),
            m.get("confidence").and_then(Value::as_f64),
        ) {
            s.push_str(&format!(
                "            error rate {:.1}% ({:.0}% confidence: between {:.1}% and {:.1}%)\n",
                m.get("error_rate").and_then(Value::as_f64).unwrap_or(0.0) * 100.0,
                c * 100.0,
                low * 100.0,
                high * 100.0
            ));
        }
    }
    match (r.time_to_stable_ms, r.status.as_str()) {
        (Some(t), "halted") => {
            let kept = r.step.checked_sub(1).and_then(|k| r.plan.get(k));
            s.push_str(&format!(
                "  ring {} back on stable {t:.3} ms after the breaching measurement; {} keep the new version\n",
                r.plan.get(r.step).map_or("?", |p| p.label.as_str()),
                kept.map_or("no tenants".into(), |k| k.tenants.join(", "))
            ));
        }
        (Some(t), _) => s.push_str(&format!(
            "  all traffic back on stable {t:.3} ms after the breaching measurement\n"
        )),
        (None, _) => {}
    }
    s
}

async fn follow(g: &Global, remote: &Remote, id: &str) -> Result<Rollout> {
    let live = g.output == Output::Text && std::io::stdout().is_terminal();
    let mut last = String::new();
    let mut last_progress = String::new();
    loop {
        let r: Rollout = remote.get(&format!("/api/v1/rollouts/{id}"), &[]).await?;
        let screen = render(&r);
        if live && screen != last {
            // Redraw in place.
            let lines = last.lines().count();
            if lines > 0 {
                crate::output::write_out(&format!("\x1b[{lines}A\x1b[J"));
            }
            crate::output::write_out(&screen);
            last = screen;
        } else if !live && g.output == Output::Text {
            // Off a terminal (a CI log, a pipe): a line for each change of state, stamped, then
            // the whole screen at the end.
            let line = progress_line(&r);
            if line != last_progress {
                let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
                crate::output::write_line(&format!("{now} {line}"));
                last_progress = line;
            }
        }
        if r.finished() || matches!(r.status.as_str(), "paused" | "halted") {
            return Ok(r);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

fn finish(g: &Global, r: &Rollout, already_shown: bool) -> Result<()> {
    if !(already_shown && g.output == Output::Text) {
        emit(g.output, json!(r), || render(r));
    }
    if matches!(r.status.as_str(), "failed" | "aborted") {
        std::process::exit(EXIT_ROLLED_BACK);
    }
    let id = &r.id;
    if r.status == "halted" {
        stop(
            g,
            format!("{id} halted: {}", r.reason.as_deref().unwrap_or("a ring failed")),
            &[
                format!("retry the failed ring: ward rollout resume {id}"),
                format!("or put every ring back on stable: ward rollout abort {id}"),
            ],
            EXIT_HALTED,
        );
    }
    if r.status == "paused" {
        stop(
            g,
            format!("{id} is paused: {}", r.reason.as_deref().unwrap_or("by an operator")),
            &[
                format!("go on from this step: ward rollout resume {id}"),
                format!("or send all traffic to it, saying why: ward rollout promote {id} --reason TEXT"),
                format!("or put all traffic back on stable: ward rollout abort {id}"),
            ],
            EXIT_PAUSED,
        );
    }
    Ok(())
}

/// Ends the command with `code` after the rollout's state and its hints, each hint printed as
/// it works in this run's mode (the state's reason, an operator's words, is printed as it is).
fn stop(g: &Global, state: String, hints: &[String], code: i32) -> ! {
    eprintln!("{state}");
    for h in hints {
        eprintln!("hint: {}", crate::actions::as_run(h, g));
    }
    std::process::exit(code)
}

/// `ward rollout`.
pub async fn rollout(g: &Global, cmd: &RolloutCommand) -> Result<()> {
    let remote = server(g)?;
    let live = g.output == Output::Text && std::io::stdout().is_terminal();
    match cmd {
        RolloutCommand::Start {
            change,
            env,
            strategy,
            strategy_file,
            steps,
            pause_ms,
            wait,
        } => {
            let from_file: Option<Strategy> = match strategy_file {
                Some(f) => Some(
                    serde_json::from_value(crate::commands::promote::read_bundle(f)?).map_err(|e| {
                        Failure::new(
                            "bad_strategy",
                            format!("{}: {e}", f.display()),
                            "write a strategy as in [[environments]] strategy (docs/CLI.md)",
                        )
                    })?,
                ),
                None => None,
            };
            // A strategy file is the whole strategy; `--strategy`, `--steps` and `--pause-ms`
            // adjust the environment's, which keeps its analysis and checks.
            let kind = strategy.as_deref().map(|k| match k {
                "blue-green" => StrategyKind::BlueGreen,
                "rings" => StrategyKind::Rings,
                _ => StrategyKind::Canary,
            });
            let adjusting = from_file.is_none();
            let req = RolloutRequest {
                change: change.clone(),
                environment: env.clone(),
                strategy: from_file,
                kind: kind.filter(|_| adjusting),
                steps: (adjusting && !steps.is_empty()).then(|| steps.clone()),
                pause_ms: pause_ms.filter(|_| adjusting),
            };
            let r: Rollout = remote.post("/api/v1/rollouts", &req).await?;
            if *wait {
                let done = follow(g, &remote, &r.id).await?;
                return finish(g, &done, live);
            }
            emit(g.output, json!(r), || render(&r));
        }
        RolloutCommand::Status { id, env, watch } => match id {
            Some(id) => {
                if *watch {
                    let done = follow(g, &remote, id).await?;
                    return finish(g, &done, live);
                }
                let r: Rollout = remote.get(&format!("/api/v1/rollouts/{id}"), &[]).await?;
                emit(g.output, json!(r), || render(&r));
            }
            None => {
                let q: Vec<(&str, String)> = env.iter().map(|e| ("env", e.clone())).collect();
                let list: Vec<Rollout> = remote.get("/api/v1/rollouts", &q).await?;
                emit(g.output, json!({ "rollouts": list }), || {
                    if list.is_empty() {
                        return "no rollouts".into();
                    }
                    list.iter().map(render).collect::<Vec<_>>().join("\n")
                });
            }
        },
        RolloutCommand::Pause { id, reason }
        | RolloutCommand::Resume { id, reason }
        | RolloutCommand::Promote { id, reason }
        | RolloutCommand::Abort { id, reason } => {
            let verb = match cmd {
                RolloutCommand::Pause { .. } => "pause",
                RolloutCommand::Resume { .. } => "resume",
                RolloutCommand::Promote { .. } => "promote",
                _ => "abort",
            };
            let body = match reason {
                Some(x) => json!({ "reason": x }),
                None => json!({}),
            };
            let r: Rollout = remote.post(&format!("/api/v1/rollouts/{id}/{verb}"), &body).await?;
            emit(g.output, json!(r), || format!("{verb} sent to {} ({})", r.id, r.status));
        }
    }
    Ok(())
}

/// `ward drill rollback`.
pub async fn drill(g: &Global, env: &str, stay: bool) -> Result<()> {
    let remote = server(g)?;
    let v: Value = remote
        .post_deployment(&format!("/api/v1/environments/{env}/drills"), &json!({ "stay": stay }))
        .await?;
    emit(g.output, v.clone(), || {
        let mut s = format!(
            "drill on {env}: back on {} ({}) in {:.1} ms (ready {:.1} ms, switch {:.3} ms); {} probes all on it: {}",
            v["to"][0].as_str().unwrap_or("?"),
            v["change"].as_str().unwrap_or("?"),
            v["time_to_restore_ms"].as_f64().unwrap_or(0.0),
            v["ready_ms"].as_f64().unwrap_or(0.0),
            v["switch_ms"].as_f64().unwrap_or(0.0),
            v["probes"],
            v["all_restored"],
        );
        match v.get("returned") {
            Some(r) => s.push_str(&format!(
                "; then forward again to {} ({}) in {:.1} ms, {} probes all on it: {}",
                r["to"][0].as_str().unwrap_or("?"),
                r["change"].as_str().unwrap_or("?"),
                r["time_ms"].as_f64().unwrap_or(0.0),
                r["probes"],
                r["all_returned"]
            )),
            None if stay => s.push_str(&format!("; {env} stays on it (--stay)")),
            None => s.push_str("; not returned, the rollback did not hold"),
        }
        s.push_str(&format!("; recorded as entry {}", v["seq"]));
        s
    });
    if v["all_restored"] != json!(true) {
        return Err(Failure::new(
            "drill_failed",
            "traffic did not all reach the restored version",
            "look at the router's /routes and /metrics",
        )
        .into());
    }
    if !stay && v["returned"]["all_returned"] != json!(true) {
        return Err(Failure::new(
            "drill_return_failed",
            format!("traffic did not all return to the release {env} started on"),
            format!("see ward deployments --env {env}; promote it again or roll forward by hand"),
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_steps_are_not_shown_as_passed() {
        let plan = json!([{"label": "10%", "percent": 10}, {"label": "50%", "percent": 50}, {"label": "100%", "percent": 100}]);
        let event =
            |kind: &str, seq: u64, payload: Value| json!({"kind": kind, "seq": seq, "time": "t", "payload": payload});
        let events: Vec<ward_app::rollout::RolloutEvent> = serde_json::from_value(json!([
            event("rollout.started", 1, json!({"id": "RO-1", "change": "CHG-1", "environment": "prod",
                "digest": "sha256:aa", "strategy": Strategy::of(StrategyKind::Canary), "plan": plan})),
            event("rollout.step", 2, json!({"step": 0})),
            event("rollout.analysis", 3, json!({"step": 0, "verdict": {"verdict": "pass"}})),
            event("rollout.step", 4, json!({"step": 1})),
            event("rollout.step_skipped", 5, json!({"step": 1, "promoted": true, "by": "user:rita",
                "reason": "hotfix for the lab feed", "steps": [{"step": 1, "label": "50%"}, {"step": 2, "label": "100%"}]})),
            event("rollout.completed", 6, json!({"deployment": 6})),
        ]))
        .unwrap();
        let r = Rollout::fold(events).unwrap();
        let screen = render(&r);
        assert!(screen.contains("✔ 10%"), "{screen}");
        assert!(
            screen.contains("⤼ 50% — skipped by user:rita: hotfix for the lab feed"),
            "{screen}"
        );
        assert!(screen.contains("⤼ 100% — skipped by user:rita"), "{screen}");
        assert!(!screen.contains("✔ 50%") && !screen.contains("✔ 100%"), "{screen}");
    }

    /// A passing step shows the confidence it passed with, as a failing one does.
    #[test]
    fn a_pass_shows_the_bounds_it_was_decided_on() {
        let m = ward_core::canary::wilson_bounds(0, 345);
        let event =
            |kind: &str, seq: u64, payload: Value| json!({"kind": kind, "seq": seq, "time": "t", "payload": payload});
        let events: Vec<ward_app::rollout::RolloutEvent> = serde_json::from_value(json!([
            event(
                "rollout.started",
                1,
                json!({"id": "RO-1", "change": "CHG-1", "environment": "prod",
                "digest": "sha256:aa", "strategy": Strategy::of(StrategyKind::Canary),
                "plan": [{"label": "10%", "percent": 10}]})
            ),
            event("rollout.step", 2, json!({"step": 0})),
            event(
                "rollout.analysis",
                3,
                json!({"step": 0, "verdict": {"verdict": "pass", "measurement": {
                "requests": 345, "errors": 0, "error_rate": 0.0, "error_rate_low": m.0,
                "error_rate_high": m.1, "confidence": 0.95}}})
            ),
        ]))
        .unwrap();
        let screen = render(&Rollout::fold(events).unwrap());
        assert!(
            screen.contains("error rate 0.0% (95% confidence: between 0.0% and 0.8%)"),
            "{screen}"
        );
    }
}
