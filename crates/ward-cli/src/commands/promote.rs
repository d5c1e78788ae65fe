//! `ward promote`, `ward rollback`, `ward deployments`, `ward env observe`, `ward config` and
//! `ward release notes`, locally or through a server.

use crate::backend::Backend;
use crate::cli::{ConfigCommand, EnvCommand, Global};
use crate::failure::Failure;
use crate::output::emit;
use anyhow::Result;
use serde_json::{Value, json};
use ward_app::deployments::{Deployment, TargetRun};
use ward_app::promotion::config::{ConfigBundle, ConfigRequest, ConfigView};
use ward_app::promotion::{self, Drift, Observation, PromoteRequest};

/// Largest observation or configuration file read.
const MAX_INPUT: u64 = 4 * 1024 * 1024;

/// Reads a file (or stdin for `-`), bounded.
fn read_input(from: &std::path::Path) -> Result<String> {
    use std::io::Read;
    let mut s = String::new();
    if from.as_os_str() == "-" {
        std::io::stdin().take(MAX_INPUT + 1).read_to_string(&mut s)?;
    } else {
        std::fs::File::open(from)
            .map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?
            .take(MAX_INPUT + 1)
            .read_to_string(&mut s)?;
    }
    if s.len() as u64 > MAX_INPUT {
        anyhow::bail!("{} is larger than {MAX_INPUT} bytes", from.display());
    }
    Ok(s)
}

fn drift_text(d: &Drift) -> String {
    let place = match &d.tenant {
        Some(t) => format!("{}/{t}", d.environment),
        None => d.environment.clone(),
    };
    if !d.drifted {
        return format!(
            "{place}: running exactly what Ward deployed ({} digests, configuration {}; entry {})",
            d.expected.len(),
            d.config,
            d.seq
        );
    }
    let mut s = format!("{place}: DRIFT (entry {})\n", d.seq);
    for x in &d.shadow {
        s.push_str(&format!("  shadow  {x}  (never promoted here through Ward)\n"));
    }
    for x in &d.stale {
        s.push_str(&format!("  stale   {x}  (promoted once, not the current release)\n"));
    }
    for x in &d.missing {
        s.push_str(&format!("  missing {x}  (deployed by Ward, not running)\n"));
    }
    match d.config.as_str() {
        "differs" => s.push_str("  config  differs from the one Ward deployed last\n"),
        "shadow" => s.push_str("  config  was never deployed here through Ward\n"),
        _ => {}
    }
    s.trim_end().to_string()
}

/// `ward env`.
pub async fn env(g: &Global, cmd: &EnvCommand) -> Result<()> {
    let EnvCommand::Observe {
        env,
        from,
        from_runtime,
        tenant,
        config_digest,
        source,
    } = cmd;
    let backend = Backend::from_global(g)?;
    let drifts: Vec<Drift> = if *from_runtime {
        backend.observe_runtime(env).await?
    } else {
        let Some(from) = from else {
            anyhow::bail!("give --from FILE or --from-runtime");
        };
        let running = promotion::target::parse_running(&read_input(from)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?;
        let mut out = Vec::new();
        for r in running {
            let obs = Observation {
                environment: env.clone(),
                tenant: r.tenant.or_else(|| tenant.clone()),
                digests: r.digests,
                config_digest: r.config_digest.or_else(|| config_digest.clone()),
                source: source.clone(),
            };
            out.push(backend.observe(&obs).await?);
        }
        out
    };
    let drifted = drifts.iter().any(|d| d.drifted);
    let value = if drifts.len() == 1 {
        json!(drifts[0])
    } else {
        json!({ "observations": drifts, "drifted": drifted })
    };
    emit(g.output, value, || {
        drifts.iter().map(drift_text).collect::<Vec<_>>().join("\n")
    });
    if drifted {
        std::process::exit(crate::failure::EXIT_DRIFT);
    }
    Ok(())
}

fn line(d: &Deployment) -> String {
    let mut s = format!(
        "{} {} → {}{}: {} via {} by {} at {} (entry {}), gate decision {}, approvals {}{}",
        d.change,
        d.digests.join(","),
        d.environment,
        d.ring.as_deref().map(|r| format!(" ring {r}")).unwrap_or_default(),
        d.status,
        if d.target.is_empty() { "-" } else { &d.target },
        d.executed_by,
        d.time,
        d.seq,
        d.gate_decision,
        if d.approvals.is_empty() {
            "-".to_string()
        } else {
            d.approvals.join(", ")
        },
        d.rollback_of
            .map(|of| format!(", reverts entry {of}"))
            .unwrap_or_default(),
    );
    if d.drill {
        s.push_str(" — rollback drill");
    }
    if let Some(i) = d.after_interruption {
        s.push_str(&format!(
            "\n  recorded after entry {i} had found it interrupted: its process was cut off past its lease and ran on \
             (another deployment may have run meanwhile; targets after that were skipped)"
        ));
    }
    for t in &d.targets {
        s.push_str(&format!(
            "\n  {:<14} {:<9} exit {:<3} config {} output {}{}",
            t.tenant.as_deref().unwrap_or("(environment)"),
            t.status,
            t.exit_code.map_or("-".to_string(), |c| c.to_string()),
            t.config_digest.as_deref().unwrap_or("-"),
            t.output_digest.as_deref().unwrap_or("-"),
            t.rollback_to
                .as_ref()
                .map(|r| format!(", rollback to entry {} ({})", r.deployment, r.change))
                .unwrap_or_default(),
        ));
    }
    s
}

fn failed_deployment(d: &Deployment) -> anyhow::Error {
    if let Some(i) = d.after_interruption {
        return Failure::new(
            "deployment_unconfirmed",
            format!(
                "the {} deployment was recorded as entry {} after entry {i} had found it interrupted (its process was cut \
                 off past its lease): what it ran is unconfirmed, and another deployment may have run meanwhile",
                d.environment, d.seq
            ),
            format!(
                "see what runs in {} (its deployment target's own status) and what was recorded there: ward deployments --env {}",
                d.environment, d.environment
            ),
        )
        .into();
    }
    let place = |t: &TargetRun| t.tenant.clone().unwrap_or_else(|| d.environment.clone());
    let failed: Vec<String> = d.targets.iter().filter(|t| t.status == "failed").map(place).collect();
    let skipped: Vec<String> = d.targets.iter().filter(|t| t.status == "skipped").map(place).collect();
    // Only an environment with tenants has later tenants to skip; say which were.
    let after = match skipped.is_empty() {
        true => String::new(),
        false => format!("; not attempted after it: {}", skipped.join(", ")),
    };
    Failure::new(
        "deployment_failed",
        format!(
            "the {} deployment target failed for {} (recorded as entry {}{after})",
            d.environment,
            failed.join(", "),
            d.seq
        ),
        format!(
            "read its output: ward deployments show {} --output-log{}",
            d.seq,
            d.targets
                .iter()
                .find(|t| t.status == "failed")
                .and_then(|t| t.tenant.as_deref())
                .map(|t| format!(" --tenant {t}"))
                .unwrap_or_default()
        ),
    )
    .into()
}

/// `ward promote`.
pub async fn promote(g: &Global, change: &str, to: &str, tenants: &[String], ring: Option<&str>) -> Result<()> {
    let req = PromoteRequest {
        change: change.into(),
        environment: to.into(),
        tenants: tenants.to_vec(),
        ring: ring.map(str::to_string),
    };
    let d: Deployment = Backend::from_global(g)?.promote(&req).await?;
    emit(g.output, json!(d), || line(&d));
    if d.status != "succeeded" {
        return Err(failed_deployment(&d));
    }
    Ok(())
}

/// `ward release notes`.
pub async fn release_notes(g: &Global, env: &str, since: Option<&str>) -> Result<()> {
    let entries: Vec<promotion::ReleaseEntry> = Backend::from_global(g)?.release_notes(env, since).await?;
    emit(g.output, json!({ "environment": env, "releases": entries }), || {
        promotion::release_notes_markdown(env, &entries)
    });
    Ok(())
}

/// `ward rollback`.
pub async fn rollback(g: &Global, env: &str, tenant: Option<&str>) -> Result<()> {
    let d: Deployment = Backend::from_global(g)?.rollback(env, tenant).await?;
    emit(g.output, json!(d), || format!("rolled back: {}", line(&d)));
    if d.status != "succeeded" {
        return Err(failed_deployment(&d));
    }
    Ok(())
}

/// `ward deployments`.
pub async fn deployments(g: &Global, env: &str) -> Result<()> {
    let backend = Backend::from_global(g)?;
    let list: Vec<Deployment> = backend.deployments(env).await?;
    let in_flight = backend.in_flight(env).await?;
    emit(g.output, json!({ "deployments": list, "in_flight": in_flight }), || {
        let mut lines: Vec<String> = list.iter().map(line).collect();
        if lines.is_empty() {
            lines.push(format!("no deployments to {env}"));
        }
        lines.extend(in_flight.iter().map(announced));
        lines.join("\n")
    });
    Ok(())
}

/// A deployment announced and not recorded yet.
fn announced(s: &ward_app::deployments::Started) -> String {
    let what = match (s.requested.action, s.rollback_of) {
        (ward_app::deployments::Action::Rollback, Some(of)) => format!("rollback of entry {of} to {}", s.change),
        (action, _) => format!("{action} of {}", s.change),
    };
    format!(
        "in flight: {what} → {} by {} since {} (announced at entry {}, no record yet: running, or its process stopped — the next deployment there then records it as interrupted)",
        s.environment, s.executed_by, s.time, s.seq
    )
}

/// `ward deployments show SEQ [--output-log [--tenant T]]`.
pub async fn deployment_show(g: &Global, seq: u64, output_log: bool, tenant: Option<&str>) -> Result<()> {
    let backend = Backend::from_global(g)?;
    if output_log {
        let out: promotion::TargetOutput = backend.deployment_output(seq, tenant).await?;
        let text = out.output.clone();
        emit(g.output, json!(out), || text);
        return Ok(());
    }
    let d: Deployment = backend.deployment(seq).await?;
    emit(g.output, json!(d), || line(&d));
    Ok(())
}

/// A bundle file: JSON when it parses as JSON, else TOML.
/// A TOML table or JSON object from a file (or stdin for `-`), bounded.
pub(crate) fn read_bundle(file: &std::path::Path) -> Result<Value> {
    let text = read_input(file)?;
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        return Ok(v);
    }
    let t: toml::Table = toml::from_str(&text).map_err(|e| {
        // The place and the kind of error, never the text there (it may be the very value the
        // guard would refuse).
        let at = ward_app::config::toml_position(&text, &e);
        Failure::new(
            "bad_config_bundle",
            format!(
                "{}: neither JSON nor TOML{}: {}",
                file.display(),
                at.unwrap_or_default(),
                ward_app::freetext::quotes_withheld(e.message())
            ),
            "write the bundle as a TOML table or a JSON object",
        )
    })?;
    Ok(serde_json::to_value(t)?)
}

/// `ward config`.
pub async fn config(g: &Global, cmd: &ConfigCommand) -> Result<()> {
    if let ConfigCommand::Check { config } = cmd {
        return crate::commands::config_check::run(g, config.as_deref()).await;
    }
    let backend = Backend::from_global(g)?;
    match cmd {
        ConfigCommand::Set { env, tenant, file } => {
            let req = ConfigRequest {
                tenant: tenant.clone(),
                values: read_bundle(file)?,
            };
            let b: ConfigBundle = backend.config_set(env, &req).await?;
            emit(g.output, json!(b), || {
                format!(
                    "published {}{} config {} (entry {}): {} keys, {} secret references",
                    b.environment,
                    b.tenant.as_deref().map(|t| format!("/{t}")).unwrap_or_default(),
                    b.digest,
                    b.seq,
                    b.keys.len(),
                    b.references.len()
                )
            });
        }
        ConfigCommand::Show { env, tenant, effective } => {
            let v: ConfigView = backend.config_show(env, tenant.as_deref(), *effective).await?;
            emit(g.output, json!(v), || {
                let mut s = format!(
                    "{}{} {}: {}\n",
                    v.environment,
                    v.tenant.as_deref().map(|t| format!("/{t}")).unwrap_or_default(),
                    if *effective {
                        "effective configuration"
                    } else {
                        "configuration"
                    },
                    v.digest.as_deref().unwrap_or("(none published)")
                );
                s.push_str(&serde_json::to_string_pretty(&v.values).unwrap_or_default());
                for b in &v.history {
                    s.push_str(&format!(
                        "\n  {} {} by {} (entry {})",
                        b.time, b.digest, b.published_by, b.seq
                    ));
                }
                s
            });
        }
        ConfigCommand::Check { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(targets: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "change": "CHG-1", "environment": "prod", "digests": [], "ring": null, "tenants": [],
            "targets": targets, "target": "command", "status": "failed", "gate_decision": 7,
            "approvals": [], "excused_by": [], "executed_by": "user:rhea", "rollback_of": null,
            "seq": 42, "time": "2026-12-03T12:00:00Z"
        }))
        .expect("a deployment record")
    }

    #[test]
    fn a_failed_deployment_names_skipped_tenants_only_when_there_are_some() {
        let whole = failed_deployment(&record(serde_json::json!([
            {"tenant": null, "config_digest": null, "status": "failed", "exit_code": 1, "output_digest": "sha256:aa", "rollback_to": null}
        ])));
        let whole = &whole.downcast_ref::<Failure>().expect("a failure").message;
        assert!(whole.ends_with("failed for prod (recorded as entry 42)"), "{whole}");
        let tenants = failed_deployment(&record(serde_json::json!([
            {"tenant": "clinic-a", "config_digest": null, "status": "failed", "exit_code": 1, "output_digest": "sha256:aa", "rollback_to": null},
            {"tenant": "clinic-b", "config_digest": null, "status": "skipped", "exit_code": null, "output_digest": null, "rollback_to": null}
        ])));
        let failure = tenants.downcast_ref::<Failure>().expect("a failure");
        assert!(
            failure.message.contains("failed for clinic-a")
                && failure.message.contains("not attempted after it: clinic-b"),
            "{}",
            failure.message
        );
        assert!(
            failure
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("--output-log --tenant clinic-a")),
            "{:?}",
            failure.hint
        );
    }
}
