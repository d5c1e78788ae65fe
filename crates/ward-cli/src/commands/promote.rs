//! `ward promote`, `ward rollback`, `ward deployments`, `ward env observe`, `ward config` and
//! `ward release notes`, locally or through a server.

use crate::cli::{ConfigCommand, EnvCommand, Global};
use crate::context::{Context, local_operator, local_person};
use crate::failure::{Failure, api_failure};
use crate::output::emit;
use crate::remote::Remote;
use anyhow::Result;
use serde_json::{Value, json};
use ward_server::deployments::{self, Deployment, TargetRun};
use ward_server::environment;
use ward_server::promotion::config::{ConfigBundle, ConfigRequest, ConfigView};
use ward_server::promotion::{self, Drift, Observation, PromoteRequest, PromotionContext};

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
    let remote = Remote::from_global(g)?;
    let drifts: Vec<Drift> = if *from_runtime {
        match &remote {
            Some(r) => {
                r.post(&format!("/api/v1/environments/{env}/observations"), &json!({}))
                    .await?
            }
            None => {
                let ctx = Context::open(g).await?;
                let cfg = crate::commands::serve::load_config(g, None)?;
                promotion::observe_runtime(&ctx.ledger, &local_operator(), env, &cfg.environments, None)
                    .await
                    .map_err(api_failure)?
            }
        }
    } else {
        let Some(from) = from else {
            anyhow::bail!("give --from FILE or --from-runtime");
        };
        let running = promotion::target::parse_running(&read_input(from)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?;
        let ctx = match &remote {
            Some(_) => None,
            None => Some(Context::open(g).await?),
        };
        let mut out = Vec::new();
        for r in running {
            let obs = Observation {
                environment: env.clone(),
                tenant: r.tenant.or_else(|| tenant.clone()),
                digests: r.digests,
                config_digest: r.config_digest.or_else(|| config_digest.clone()),
                source: source.clone(),
            };
            out.push(match (&remote, &ctx) {
                (Some(r), _) => r.post("/api/v1/observations", &obs).await?,
                (None, Some(c)) => promotion::observe(&c.ledger, &local_operator(), &obs)
                    .await
                    .map_err(api_failure)?,
                (None, None) => unreachable!("a local context is opened when there is no server"),
            });
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
    let d: Deployment = match Remote::from_global(g)? {
        Some(r) => r.post("/api/v1/promotions", &req).await?,
        None => {
            let ctx = Context::open(g).await?;
            let cfg = crate::commands::serve::load_config(g, None)?;
            let policy = crate::commands::serve::gate_policy(&cfg)?;
            let locks = promotion::Locks::default();
            let cx = PromotionContext {
                policy: &policy,
                risk: &cfg.risk,
                approvals: &cfg.approvals,
                locks: &locks,
                runtime: None,
            };
            let who = local_person(g, &ctx, ward_core::Action::Promote).await?;
            promotion::promote(&ctx.ledger, &who, &req, &cx)
                .await
                .map_err(api_failure)?
        }
    };
    emit(g.output, json!(d), || line(&d));
    if d.status != "succeeded" {
        return Err(failed_deployment(&d));
    }
    Ok(())
}

/// `ward release notes`.
pub async fn release_notes(g: &Global, env: &str, since: Option<&str>) -> Result<()> {
    let entries: Vec<promotion::ReleaseEntry> = match Remote::from_global(g)? {
        Some(r) => {
            let q: Vec<(&str, String)> = since.map(|s| ("since", s.to_string())).into_iter().collect();
            r.get(&format!("/api/v1/environments/{env}/release-notes"), &q).await?
        }
        None => {
            let ctx = Context::open(g).await?;
            let cfg = crate::commands::serve::load_config(g, None)?;
            promotion::release_notes(&ctx.ledger, &cfg.environments, env, since, &cfg.risk, &cfg.approvals)
                .await
                .map_err(api_failure)?
        }
    };
    emit(g.output, json!({ "environment": env, "releases": entries }), || {
        promotion::release_notes_markdown(env, &entries)
    });
    Ok(())
}

/// `ward rollback`.
pub async fn rollback(g: &Global, env: &str, tenant: Option<&str>) -> Result<()> {
    let d: Deployment = match Remote::from_global(g)? {
        Some(r) => {
            let q = tenant.map(|t| format!("?tenant={t}")).unwrap_or_default();
            r.post(&format!("/api/v1/environments/{env}/rollback{q}"), &json!({}))
                .await?
        }
        None => {
            let ctx = Context::open(g).await?;
            let cfg = crate::commands::serve::load_config(g, None)?;
            let who = local_person(g, &ctx, ward_core::Action::Promote).await?;
            promotion::rollback(
                &ctx.ledger,
                &who,
                env,
                tenant,
                &cfg.environments,
                &promotion::Locks::default(),
                None,
            )
            .await
            .map_err(api_failure)?
        }
    };
    emit(g.output, json!(d), || format!("rolled back: {}", line(&d)));
    if d.status != "succeeded" {
        return Err(failed_deployment(&d));
    }
    Ok(())
}

/// `ward deployments`.
pub async fn deployments(g: &Global, env: &str) -> Result<()> {
    let list: Vec<Deployment> = match Remote::from_global(g)? {
        Some(r) => r.get(&format!("/api/v1/environments/{env}/deployments"), &[]).await?,
        None => {
            let cfg = crate::commands::serve::load_config(g, None)?;
            deployments::deployment_history(&Context::open(g).await?.ledger, &cfg.environments, env)
                .await
                .map_err(api_failure)?
        }
    };
    emit(g.output, json!({ "deployments": list }), || {
        if list.is_empty() {
            return format!("no deployments to {env}");
        }
        list.iter().map(line).collect::<Vec<_>>().join("\n")
    });
    Ok(())
}

/// `ward deployments show SEQ [--output-log [--tenant T]]`.
pub async fn deployment_show(g: &Global, seq: u64, output_log: bool, tenant: Option<&str>) -> Result<()> {
    let remote = Remote::from_global(g)?;
    if output_log {
        let out: promotion::TargetOutput = match &remote {
            Some(r) => {
                let q: Vec<(&str, String)> = tenant.iter().map(|t| ("tenant", t.to_string())).collect();
                r.get(&format!("/api/v1/deployments/{seq}/output"), &q).await?
            }
            None => {
                let cfg = crate::commands::serve::load_config(g, None)?;
                promotion::target_output(&Context::open(g).await?.ledger, seq, tenant, &cfg.guard())
                    .await
                    .map_err(api_failure)?
            }
        };
        let text = out.output.clone();
        emit(g.output, json!(out), || text);
        return Ok(());
    }
    let d: Deployment = match &remote {
        Some(r) => r.get(&format!("/api/v1/deployments/{seq}"), &[]).await?,
        None => deployments::deployment(&Context::open(g).await?.ledger, seq)
            .await
            .map_err(api_failure)?,
    };
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
        Failure::new(
            "bad_config_bundle",
            format!("{}: neither JSON nor TOML: {e}", file.display()),
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
    let remote = Remote::from_global(g)?;
    match cmd {
        ConfigCommand::Set { env, tenant, file } => {
            let req = ConfigRequest {
                tenant: tenant.clone(),
                values: read_bundle(file)?,
            };
            let b: ConfigBundle = match &remote {
                Some(r) => r.put(&format!("/api/v1/environments/{env}/config"), &req).await?,
                None => {
                    let ctx = Context::open(g).await?;
                    let cfg = crate::commands::serve::load_config(g, None)?;
                    let e = environment::find(&cfg.environments, env).map_err(api_failure)?;
                    let who = local_person(g, &ctx, ward_core::Action::ConfigPublish).await?;
                    promotion::config::publish(&ctx.ledger, &who, e, &req, &cfg.guard())
                        .await
                        .map_err(api_failure)?
                }
            };
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
            let v: ConfigView = match &remote {
                Some(r) => {
                    let mut q = vec![("effective", effective.to_string())];
                    if let Some(t) = tenant {
                        q.push(("tenant", t.clone()));
                    }
                    r.get(&format!("/api/v1/environments/{env}/config"), &q).await?
                }
                None => {
                    let ctx = Context::open(g).await?;
                    let cfg = crate::commands::serve::load_config(g, None)?;
                    let e = environment::find(&cfg.environments, env).map_err(api_failure)?;
                    promotion::config::view(&ctx.ledger, e, tenant.as_deref(), *effective)
                        .await
                        .map_err(api_failure)?
                }
            };
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
