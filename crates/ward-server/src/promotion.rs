//! Promotion of a change's immutable artifacts into an environment, through its gate, by a
//! deployment target; every promotion leaves a deployment record.
//!
//! Environments come from `[[environments]]` in `ward.toml`; `after` names the environment a
//! change must have been deployed to (successfully) before, which makes promotion chains
//! (dev → staging → prod). The `command` target runs a configured program (a helm, kubectl or
//! argo invocation, or a script) with the digests, environment and change in environment
//! variables, and captures its output as evidence. Promotions into one environment are
//! serialised.
//!
//! ```toml
//! [[environments]]
//! name = "staging"
//! after = "dev"
//! command = ["./deploy.sh"]      # gets WARD_ENV, WARD_CHANGE, WARD_DIGESTS
//! ```

use crate::changes;
use crate::error::ApiError;
use crate::gate::{self, GatePolicy};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use ward_core::Identity;
use ward_core::approval::ApprovalRules;
use ward_core::risk::RiskRules;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const DEPLOYMENTS: &str = "deployments";
/// Most output kept from a deployment command (the rest is cut, and the cut is recorded).
pub const MAX_OUTPUT: usize = 256 * 1024;
/// Longest a deployment command may run.
pub const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// One environment of `[[environments]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Name.
    pub name: String,
    /// The environment a change must be deployed to first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The `command` deployment target: program and arguments (no shell unless you name one).
    #[serde(default)]
    pub command: Vec<String>,
}

/// Checks the environments: unique names, `after` naming a declared environment, no cycles.
pub fn validate(envs: &[Environment]) -> Result<(), String> {
    let names: HashMap<&str, &Environment> = envs.iter().map(|e| (e.name.as_str(), e)).collect();
    if names.len() != envs.len() {
        return Err("[[environments]]: an environment is declared twice".into());
    }
    for e in envs {
        let mut seen = vec![e.name.as_str()];
        let mut cur = e;
        while let Some(prev) = &cur.after {
            let Some(p) = names.get(prev.as_str()) else {
                return Err(format!(
                    "[[environments]] {}: after = {prev:?} is not declared",
                    cur.name
                ));
            };
            if seen.contains(&p.name.as_str()) {
                return Err(format!("[[environments]] {}: the chain loops", e.name));
            }
            seen.push(p.name.as_str());
            cur = p;
        }
    }
    Ok(())
}

/// A promotion to run.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// Change.
    pub change: String,
    /// Target environment.
    pub environment: String,
}

/// A deployment record.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Deployment {
    /// Change.
    pub change: String,
    /// Environment.
    pub environment: String,
    /// The artifact digests deployed.
    pub digests: Vec<String>,
    /// `succeeded` or `failed`.
    pub status: String,
    /// The target's exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// `sha256:` of the captured output (stored beside the log).
    pub output_digest: String,
    /// The gate decision it relied on (log entry).
    pub gate_decision: u64,
    /// Signers of the current approvals it relied on.
    pub approvals: Vec<String>,
    /// Identity that executed it.
    pub executed_by: String,
    /// The rollback plan recorded with it: the previous known-good deployment of this
    /// environment (its entry), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<u64>,
    /// For a rollback: the deployment it reverts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Projects `deployment.recorded` (key `<environment>/<seq>`).
pub struct DeploymentProjector;

impl Projector for DeploymentProjector {
    fn name(&self) -> &'static str {
        "deployments"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        match (e.kind.as_str(), p.get("environment").and_then(Value::as_str)) {
            ("deployment.recorded", Some(env)) => {
                let mut doc = p.clone();
                doc["seq"] = json!(e.seq);
                doc["time"] = json!(e.time);
                vec![ProjectionOp::Put {
                    collection: DEPLOYMENTS.into(),
                    key: format!("{env}/{:020}", e.seq),
                    doc,
                }]
            }
            _ => vec![],
        }
    }
}

/// Deployments into `environment`, oldest first.
pub async fn deployments(ledger: &Ledger, environment: &str) -> Result<Vec<Deployment>, ApiError> {
    ledger
        .store()
        .projection_prefix(DEPLOYMENTS, &format!("{environment}/"))
        .await?
        .into_iter()
        .map(|(_, doc)| serde_json::from_value(doc).map_err(ApiError::internal))
        .collect()
}

/// One lock per environment: promotions into the same environment run one at a time.
#[derive(Clone, Default)]
pub struct Locks(Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl Locks {
    fn of(&self, env: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(env.to_string()).or_default().clone()
    }
}

/// What a promotion needs besides the ledger.
pub struct PromotionContext<'a> {
    /// Declared environments.
    pub environments: &'a [Environment],
    /// Gate policy.
    pub policy: &'a GatePolicy,
    /// Risk rules.
    pub risk: &'a RiskRules,
    /// Approval rules.
    pub approvals: &'a ApprovalRules,
    /// Per-environment locks.
    pub locks: &'a Locks,
}

fn refused(code: &str, message: String, hint: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message, hint)
}

/// Promotes a change into an environment: chain order, gate, target, deployment record.
pub async fn promote(
    ledger: &Ledger,
    by: &Identity,
    req: &PromoteRequest,
    cx: &PromotionContext<'_>,
) -> Result<Deployment, ApiError> {
    let Some(env) = cx.environments.iter().find(|e| e.name == req.environment) else {
        return Err(ApiError::not_found(
            format!("environment {:?} is not declared", req.environment),
            "declare it in [[environments]] of ward.toml",
        ));
    };
    let lock = cx.locks.of(&env.name);
    let _serialised = lock.lock().await;
    let change = changes::get(ledger, &req.change).await?.ok_or_else(|| {
        ApiError::not_found(
            format!("no change {:?}", req.change),
            "list changes with `ward change list`",
        )
    })?;
    if change.request.artifacts.is_empty() {
        return Err(ApiError::invalid(
            format!("{} ships no artifact", change.id),
            "open the change with --artifact DIGEST",
        ));
    }
    // Build once, promote the same digest: each must have succeeded in the preceding environment.
    if let Some(prev) = &env.after {
        let done = deployments(ledger, prev).await?;
        for d in &change.request.artifacts {
            if !done.iter().any(|x| x.status == "succeeded" && x.digests.contains(d)) {
                return Err(refused(
                    "not_in_previous_environment",
                    format!(
                        "{d} has not been deployed successfully to {prev}, which comes before {}",
                        env.name
                    ),
                    &format!(
                        "promote it to {prev} first: ward promote --change {} --to {prev}",
                        change.id
                    ),
                ));
            }
        }
    }
    let decision = gate::check(ledger, by, &change.id, &env.name, cx.policy, cx.risk, cx.approvals).await?;
    if !decision.allow {
        let reasons: Vec<String> = decision.reasons.iter().map(|r| r.rule.clone()).collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "gate_blocked",
            format!(
                "the {} gate blocks {} (decision {}): {}",
                env.name,
                change.id,
                decision.id,
                reasons.join(", ")
            ),
            format!("see what is missing: ward gate explain {}", decision.id),
        ));
    }
    let view = crate::approvals::view(ledger, &change.id, cx.risk, cx.approvals).await?;
    let approvals: Vec<String> = view
        .approvals
        .iter()
        .filter(|a| a.decision == "approved" && !a.stale)
        .map(|a| a.signer.clone())
        .collect();
    // The rollback plan: what is running now (the last successful deployment), if anything.
    let rollback_to = known_good(&deployments(ledger, &env.name).await?, &change.request.artifacts).map(|d| d.seq);
    record(
        ledger,
        by,
        env,
        &change.id,
        &change.request.artifacts,
        decision.id,
        approvals,
        rollback_to,
        None,
    )
    .await
}

/// The latest successful deployment whose digests differ from `current` (the previous
/// known-good release), in a list oldest first.
fn known_good<'a>(list: &'a [Deployment], current: &[String]) -> Option<&'a Deployment> {
    list.iter()
        .rev()
        .find(|d| d.status == "succeeded" && d.digests.as_slice() != current)
}

/// Runs the target and records the deployment.
#[allow(clippy::too_many_arguments)]
async fn record(
    ledger: &Ledger,
    by: &Identity,
    env: &Environment,
    change: &str,
    digests: &[String],
    gate_decision: u64,
    approvals: Vec<String>,
    rollback_to: Option<u64>,
    rollback_of: Option<u64>,
) -> Result<Deployment, ApiError> {
    let (status, exit_code, output) = run_target(env, change, digests).await;
    let output_digest = ward_evidence::digest::of_bytes(&output);
    ledger.store().put_evidence(&output_digest, &output).await?;
    let payload = json!({
        "change": change,
        "environment": env.name,
        "digests": digests,
        "status": status,
        "exit_code": exit_code,
        "output_digest": output_digest,
        "gate_decision": gate_decision,
        "approvals": approvals,
        "executed_by": by.id,
        "rollback_to": rollback_to,
        "rollback_of": rollback_of,
    });
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "deployment.recorded".into(),
            subject: format!("env:{}", env.name),
            payload: payload.clone(),
        })
        .await?;
    let mut doc = payload;
    doc["seq"] = json!(receipt.seq);
    doc["time"] = json!(receipt.time);
    serde_json::from_value(doc).map_err(ApiError::internal)
}

/// Rolls an environment back to its previous known-good release, through the same target; the
/// new record names the deployment it reverts and relies on the gate decision and approvals of
/// the release it restores.
pub async fn rollback(
    ledger: &Ledger,
    by: &Identity,
    environment: &str,
    environments: &[Environment],
    locks: &Locks,
) -> Result<Deployment, ApiError> {
    let Some(env) = environments.iter().find(|e| e.name == environment) else {
        return Err(ApiError::not_found(
            format!("environment {environment:?} is not declared"),
            "declare it in [[environments]] of ward.toml",
        ));
    };
    let lock = locks.of(&env.name);
    let _serialised = lock.lock().await;
    let list = deployments(ledger, &env.name).await?;
    let Some(current) = list.iter().rev().find(|d| d.status == "succeeded") else {
        return Err(refused(
            "nothing_to_roll_back",
            format!("{} has no successful deployment", env.name),
            "promote a release first",
        ));
    };
    let Some(good) = known_good(&list, &current.digests) else {
        return Err(refused(
            "no_known_good",
            format!("{} has no earlier release to go back to", env.name),
            "there is nothing older than the current release",
        ));
    };
    record(
        ledger,
        by,
        env,
        &good.change,
        &good.digests,
        good.gate_decision,
        good.approvals.clone(),
        None,
        Some(current.seq),
    )
    .await
}

/// Runs the environment's command target; returns status, exit code and (size-limited) output.
async fn run_target(env: &Environment, change: &str, digests: &[String]) -> (&'static str, Option<i32>, Vec<u8>) {
    let Some((program, args)) = env.command.split_first() else {
        return (
            "succeeded",
            None,
            b"no deployment target configured: recorded only\n".to_vec(),
        );
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env("WARD_ENV", &env.name)
        .env("WARD_CHANGE", change)
        .env("WARD_DIGESTS", digests.join(" "))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(COMMAND_TIMEOUT, cmd.output()).await;
    match out {
        Ok(Ok(o)) => {
            let mut text = o.stdout;
            text.extend_from_slice(&o.stderr);
            if text.len() > MAX_OUTPUT {
                text.truncate(MAX_OUTPUT);
                text.extend_from_slice(b"\n[output cut at 256 KiB]\n");
            }
            let status = if o.status.success() { "succeeded" } else { "failed" };
            (status, o.status.code(), text)
        }
        Ok(Err(e)) => ("failed", None, format!("could not start {program}: {e}\n").into_bytes()),
        Err(_) => (
            "failed",
            None,
            format!("{program} ran longer than {COMMAND_TIMEOUT:?} and was stopped\n").into_bytes(),
        ),
    }
}

/// What is running in an environment, as observed (e.g. from `kubectl get pods -o json`
/// reduced to image digests, or from a deploy tool's status).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// Environment.
    pub environment: String,
    /// Digests seen running.
    pub digests: Vec<String>,
    /// Where the observation came from (free text, e.g. `kubectl context prod-eu`).
    #[serde(default)]
    pub source: String,
}

/// The drift found by an observation.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Drift {
    /// Environment.
    pub environment: String,
    /// What Ward's last successful deployment put there.
    pub expected: Vec<String>,
    /// Digests running that were never promoted to this environment through Ward.
    pub shadow: Vec<String>,
    /// Digests running that were promoted here once, but are not the current release.
    pub stale: Vec<String>,
    /// Expected digests that are not running.
    pub missing: Vec<String>,
    /// Anything of the above.
    pub drifted: bool,
    /// Log entry of the observation.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Records what is running in an environment and compares it with what Ward deployed there.
pub async fn observe(ledger: &Ledger, by: &Identity, obs: &Observation) -> Result<Drift, ApiError> {
    crate::identities::check_name("environment", &obs.environment)?;
    if obs.digests.len() > 10_000 || obs.source.len() > 1000 {
        return Err(ApiError::invalid(
            "too many digests or too long a source",
            "observe one environment at a time",
        ));
    }
    for d in &obs.digests {
        ward_evidence::digest::parse_digest(d)
            .map_err(|e| ApiError::invalid(e.to_string(), "list sha256:<hex> digests"))?;
    }
    let list = deployments(ledger, &obs.environment).await?;
    let expected: Vec<String> = list
        .iter()
        .rev()
        .find(|d| d.status == "succeeded")
        .map(|d| d.digests.clone())
        .unwrap_or_default();
    let ever: std::collections::HashSet<&String> = list
        .iter()
        .filter(|d| d.status == "succeeded")
        .flat_map(|d| &d.digests)
        .collect();
    let shadow: Vec<String> = obs.digests.iter().filter(|d| !ever.contains(d)).cloned().collect();
    let stale: Vec<String> = obs
        .digests
        .iter()
        .filter(|d| ever.contains(d) && !expected.contains(d))
        .cloned()
        .collect();
    let missing: Vec<String> = expected.iter().filter(|d| !obs.digests.contains(d)).cloned().collect();
    let drifted = !(shadow.is_empty() && stale.is_empty() && missing.is_empty());
    let payload = json!({
        "environment": obs.environment, "observed": obs.digests, "source": obs.source,
        "expected": expected, "shadow": shadow, "stale": stale, "missing": missing, "drifted": drifted,
    });
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "drift.observed".into(),
            subject: format!("env:{}", obs.environment),
            payload,
        })
        .await?;
    Ok(Drift {
        environment: obs.environment.clone(),
        expected,
        shadow,
        stale,
        missing,
        drifted,
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// One release in the notes: a deployment and what it shipped and relied on.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReleaseEntry {
    /// The deployment record.
    pub deployment: Deployment,
    /// The change's title.
    pub title: String,
    /// Ticket URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Risk tier in force.
    pub tier: String,
    /// Commits in the change's range.
    pub commits: Vec<String>,
    /// Current approvals: `meaning by printed name`.
    pub approvals: Vec<String>,
    /// Waivers that were active for it.
    pub waivers: Vec<String>,
    /// One line per attestation on its artifacts.
    pub evidence: Vec<String>,
}

/// Release notes of an environment since a time: structured data, from the records.
pub async fn release_notes(
    ledger: &Ledger,
    environment: &str,
    since: Option<&str>,
    risk: &RiskRules,
    rules: &ApprovalRules,
) -> Result<Vec<ReleaseEntry>, ApiError> {
    let since = match since {
        Some(s) => Some(s.parse::<jiff::Timestamp>().map_err(|e| {
            ApiError::invalid(
                format!("--since {s:?}: {e}"),
                "give an RFC 3339 time, e.g. 2026-11-01T00:00:00Z",
            )
        })?),
        None => None,
    };
    let mut out = Vec::new();
    for d in deployments(ledger, environment).await? {
        if d.status != "succeeded" {
            continue;
        }
        if let (Some(s), Ok(t)) = (since, d.time.parse::<jiff::Timestamp>())
            && t < s
        {
            continue;
        }
        let Some(change) = changes::get(ledger, &d.change).await? else {
            continue;
        };
        let view = crate::approvals::view(ledger, &change.id, risk, rules).await?;
        let mut evidence = Vec::new();
        for a in &change.request.artifacts {
            for att in crate::evidence::attestations(ledger, a).await? {
                evidence.push(format!("{} {}", att.r#type, att.file_name));
            }
        }
        let waivers = crate::exceptions::waivers(ledger, &change.id, jiff::Timestamp::now().as_second())
            .await?
            .into_iter()
            .map(|w| format!("{} ({}): {}", w.id, w.request.rules.join(", "), w.request.justification))
            .collect();
        out.push(ReleaseEntry {
            title: change.request.title.clone(),
            ticket: change.request.ticket_url.clone(),
            tier: change.tier.as_str().into(),
            commits: change
                .request
                .commits
                .iter()
                .map(|c| format!("{} {}", &c.sha[..c.sha.len().min(12)], c.author))
                .collect(),
            approvals: view
                .approvals
                .iter()
                .filter(|a| a.decision == "approved" && !a.stale)
                .map(|a| format!("{} by {}", a.meaning, a.printed_name))
                .collect(),
            waivers,
            evidence,
            deployment: d,
        });
    }
    Ok(out)
}

/// Release notes as Markdown.
pub fn release_notes_markdown(environment: &str, entries: &[ReleaseEntry]) -> String {
    let mut s = format!("# Release notes: {environment}\n\n");
    if entries.is_empty() {
        s.push_str("No releases in this period.\n");
    }
    for e in entries {
        let d = &e.deployment;
        s.push_str(&format!(
            "## {} — {}{}\n\n- Deployed {} by {} (entry {}), gate decision {}\n- Risk tier: {}\n- Artifacts: {}\n",
            d.change,
            e.title,
            if d.rollback_of.is_some() { " (rollback)" } else { "" },
            d.time,
            d.executed_by,
            d.seq,
            d.gate_decision,
            e.tier,
            d.digests.join(", ")
        ));
        if let Some(t) = &e.ticket {
            s.push_str(&format!("- Ticket: {t}\n"));
        }
        let list = |name: &str, v: &[String]| {
            if v.is_empty() {
                format!("- {name}: none\n")
            } else {
                format!(
                    "- {name}:\n{}",
                    v.iter().map(|x| format!("  - {x}\n")).collect::<String>()
                )
            }
        };
        s.push_str(&list("Approvals", &e.approvals));
        s.push_str(&list("Evidence", &e.evidence));
        s.push_str(&list("Waivers", &e.waivers));
        s.push_str(&list("Commits", &e.commits));
        s.push('\n');
    }
    s
}
