//! `ward config check`: loads ward.toml exactly as `ward serve` does (the same
//! `ServerConfig::load` and validation) and prints what the gate will enforce — the effective
//! controls per tier (what a tier does not name comes from the built-in defaults) and, per
//! environment, the policy bundle and the digest of the policy document its decisions record.

use crate::cli::Global;
use crate::output::emit;
use anyhow::Result;
use serde_json::{Value, json};
use std::path::Path;
use ward_app::gate::{Controls, GatePolicy};
use ward_evidence::digest::of_bytes;
use ward_server::config::ServerConfig;

/// One environment's policy: the bundle it is gated by and the policy document's digest.
/// `env` `None`: any environment not declared in `[[environments]]` (the shared bundle).
fn policy_of(cfg: &ServerConfig, policy: &GatePolicy, env: Option<&str>, own_dir: Option<&Path>) -> Value {
    let bundle = policy.bundle_for(env.unwrap_or_default());
    let document = policy.recorded_document(env.unwrap_or_default(), &cfg.risk, &cfg.approvals);
    let document = serde_json::to_vec(&document).unwrap_or_default();
    json!({
        "environment": env,
        "policy_dir": own_dir.map(|p| p.display().to_string()),
        "bundle_digest": bundle.digest(),
        "files": bundle.files.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
        "policy_digest": of_bytes(&document),
    })
}

fn list(v: &[String]) -> String {
    if v.is_empty() { "-".into() } else { v.join(", ") }
}

fn tiers_text(c: &Controls) -> String {
    let mut s = String::new();
    for (tier, t) in &c.tiers {
        let roles: Vec<String> = t.roles.iter().map(|(r, n)| format!("{n}×{r}")).collect();
        s.push_str(&format!(
            "  {tier:<7} evidence: {} · steps: {} · approvals: {} · roles: {} · ticket: {} · evidence waivers need {} approver(s){}\n",
            list(&t.evidence),
            list(&t.steps),
            t.approvals,
            list(&roles),
            if t.ticket { "required" } else { "no" },
            t.evidence_waiver_approvers,
            if t.may_skip_environments { " · may skip environments" } else { "" },
        ));
    }
    let checklist: Vec<String> = c
        .checklist
        .iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(tag, items)| format!("{tag} → {}", items.join(", ")))
        .collect();
    s.push_str(&format!("  checklist: {}\n", list(&checklist)));
    s.push_str(&format!(
        "  sla (hours from first seen): high {} · medium {} · low {}; open critical findings block at once\n",
        c.sla.high, c.sla.medium, c.sla.low
    ));
    s
}

/// Runs the check; an invalid file is a failure (exit 1) naming the file and the problem.
pub async fn run(g: &Global, explicit: Option<&Path>) -> Result<()> {
    let path = explicit.map_or_else(|| g.data_dir.join("ward.toml"), Path::to_path_buf);
    let exists = path.exists();
    if explicit.is_some() && !exists {
        return Err(crate::failure::Failure::new(
            "bad_config",
            format!("{}: no such file", path.display()),
            "pass the path of ward.toml with --config",
        )
        .into());
    }
    let cfg = crate::backend::load_config(g, explicit)?;
    let policy = crate::backend::gate_policy(&cfg)?;
    let mut envs = vec![policy_of(&cfg, &policy, None, None)];
    for e in &cfg.environments {
        envs.push(policy_of(&cfg, &policy, Some(&e.name), e.policy_dir.as_deref()));
    }
    let (_, bytes) = crate::commands::serve::config_source(g, explicit)?;
    let digest = ward_app::ops::config_digest(bytes.as_deref());
    // With --server: does the server run this file?
    let served: Option<ward_app::ops::LoadedConfig> = crate::backend::Backend::from_global(g)?.served_config().await?;
    let same = served.as_ref().map(|s| s.digest == digest);
    let doc = json!({
        "file": exists.then(|| path.display().to_string()),
        "valid": true,
        "digest": digest,
        "server": served,
        "server_runs_this_file": same,
        "controls": policy.controls,
        "environments": envs,
    });
    emit(g.output, doc, || {
        let mut s = if exists {
            format!("{}: valid ({digest})\n", path.display())
        } else {
            format!("{}: none; the built-in defaults apply\n", path.display())
        };
        if let Some(sv) = &served {
            if same == Some(true) {
                s.push_str(&format!(
                    "the server runs this file (config.loaded entry {}, {})\n",
                    sv.seq, sv.time
                ));
            } else {
                s.push_str(&format!(
                    "the server runs ANOTHER configuration: {} (config.loaded entry {}, {}); this file is {digest}\n",
                    sv.digest, sv.seq, sv.time
                ));
            }
        }
        s.push_str("effective controls per tier (what a tier does not name comes from the built-in defaults):\n");
        s.push_str(&tiers_text(&policy.controls));
        s.push_str("policy per environment (the policy digest is recorded with each decision):\n");
        for e in &envs {
            let name = e["environment"].as_str().unwrap_or("(undeclared)");
            s.push_str(&format!(
                "  {:<12} policy {} · bundle {} ({})\n",
                name,
                e["policy_digest"].as_str().unwrap_or_default(),
                e["bundle_digest"].as_str().unwrap_or_default(),
                e["policy_dir"]
                    .as_str()
                    .map_or_else(|| "shared bundle".to_string(), |d| format!("own policy_dir {d}")),
            ));
        }
        s
    });
    if same == Some(false) {
        // Like drift: the report above is the output; say what to do and exit 6.
        eprintln!(
            "hint: the server reloads ward.toml within 2 s of a change (or on SIGHUP) unless the file is invalid or changes [server], [[oidc]] or [[environments]]: its log says `config reload refused: …`; fix the file, or restart ward serve for those sections (then ward config check --server URL again)"
        );
        std::process::exit(crate::failure::EXIT_DRIFT);
    }
    Ok(())
}
