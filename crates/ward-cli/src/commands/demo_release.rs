//! The release part of `ward demo`, on the real engine. First a high-risk PHI change on
//! scheduling-api: the gate blocks it on its evidence (failing tests, a critical SAST finding, a
//! critical CVE, no provenance, no rollback plan) and its missing signatures (quorum, release
//! manager, privacy review); its opener's own signature is refused; the fixed build is attached
//! and signed; the gate allows; a promotion that skips staging is refused, then staging. Then
//! three releases of the sample service (run by this very binary, `ward sample-service`) go
//! through change control, staging, and production on the local runtime: a direct cut-over, a
//! canary that completes under load, a bad canary (30% errors) rolled back automatically, and a
//! rollback drill. Then drift, a plain secret refused in a configuration bundle and a reference
//! accepted, and PHI refused in a test report without being echoed. Everything lands in the
//! demo's log.

use crate::commands::bench_router::client;
use crate::failure::Failure;
use anyhow::{Context as _, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use ward_app::approvals::SignRequest;
use ward_app::changes::ChangeRequest;
use ward_app::evidence::{self, ArtifactRequest, AttestationRequest};
use ward_app::gate::CheckRequest;
use ward_app::promotion::PromoteRequest;
use ward_app::rollout::{self, Rollout, RolloutRequest};
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;
use ward_rollout::Engine;
use ward_store::Ledger;

/// Printed name of the release manager; the demo later tampers with her signature.
pub const RELEASE_MANAGER: &str = "Rhea Okafor";
/// The release manager's login name.
pub const RELEASE_MANAGER_LOGIN: &str = "rhea";
const PASSWORD: &str = "demo-correct-horse-battery";

/// What CI attaches to each release: a passing pytest run and the SBOM (real tool output).
const EVIDENCE: &[(&str, &[u8])] = &[
    (
        "pytest-passing.xml",
        include_bytes!("../../../ward-evidence/tests/fixtures/pytest-passing.xml"),
    ),
    (
        "cyclonedx-py-1.6.json",
        include_bytes!("../../../ward-evidence/tests/fixtures/cyclonedx-py-1.6.json"),
    ),
];

fn fail(e: ward_app::AppError) -> anyhow::Error {
    use crate::failure::{cli_hint, cli_message};
    anyhow::anyhow!("{} ({}): {}", cli_message(&e.message), e.code, cli_hint(&e.hint))
}

fn person(id: &str, role: Role) -> Identity {
    Identity {
        id: id.into(),
        kind: ActorKind::Human,
        roles: vec![role],
    }
}

/// The ports the demo's router and its metrics listen on.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A release of the sample service: a tarball whose `service` script runs `ward
/// sample-service` with the release's behaviour. Returns its digest.
fn build(dist: &Path, version: &str, behaviour: &str) -> Result<String> {
    let exe = std::env::current_exe().context("locating the ward binary")?;
    let quoted = format!("'{}'", exe.display().to_string().replace('\'', r"'\''"));
    let script = format!("#!/bin/sh\nexport SAMPLE_VERSION={version} {behaviour}\nexec {quoted} sample-service\n");
    let path = dist.join(format!("reminders-{version}.tar"));
    let mut tar = tar::Builder::new(std::fs::File::create(&path)?);
    let mut header = tar::Header::new_gnu();
    header.set_size(script.len() as u64);
    header.set_mode(0o755);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, "service", script.as_bytes())?;
    tar.into_inner()?.sync_all()?;
    Ok(ward_runtime::artifact::file_digest(&path)?)
}

/// Steady traffic from 50 clinics through the router until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Eight clients: one request every 3 ms each after the previous answer (`rate` None: the
    /// demo's ~300 requests/s), or together `rate` requests per second on a fixed schedule.
    fn start(router: u16, rate: Option<f64>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let http = client();
        const CLIENTS: u64 = 8;
        // Enough traffic that a healthy 10% canary shows its error rate below 5% with 95%
        // confidence (52 clean requests) inside a 1.5 s step.
        let tasks = (0..CLIENTS)
            .map(|k| {
                let (stop, sent, http) = (stop.clone(), sent.clone(), http.clone());
                let mut pace = rate.filter(|r| *r > 0.0).map(|r| {
                    let mut t = tokio::time::interval(Duration::from_secs_f64(CLIENTS as f64 / r));
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    t
                });
                tokio::spawn(async move {
                    let mut i = k;
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(p) = pace.as_mut() {
                            p.tick().await;
                        }
                        let req = hyper::Request::get(format!("http://127.0.0.1:{router}/api/reminders"))
                            .header(ward_runtime::router::TENANT_HEADER, format!("clinic-{}", i % 50))
                            .body(Empty::<Bytes>::new());
                        if let Ok(req) = req
                            && let Ok(r) = http.request(req).await
                        {
                            let _ = r.into_body().collect().await;
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                        i += CLIENTS;
                        if pace.is_none() {
                            tokio::time::sleep(Duration::from_millis(3)).await;
                        }
                    }
                })
            })
            .collect();
        Load { stop, sent, tasks }
    }

    async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
        self.sent.load(Ordering::Relaxed)
    }
}

struct Demo<'a> {
    ledger: &'a Ledger,
    /// The application as `ward serve` builds it: the demo's rules and the engine as its runtime.
    ward: ward_app::Ward,
    engine: Arc<Engine>,
    dana: Identity,
    quinn: Identity,
    rhea: Identity,
    pat: Identity,
    ci: Identity,
}

impl Demo<'_> {
    /// CI registers the build and attaches the test report, the SAST scan and the SBOM.
    async fn register(&self, digest: &str, version: &str) -> Result<()> {
        evidence::register(
            self.ledger,
            &self.ci,
            &ArtifactRequest {
                digest: digest.into(),
                service: "reminders".into(),
                version: version.into(),
                commit: None,
                branch: Some("main".into()),
                build_id: None,
                build_url: None,
            },
        )
        .await
        .map_err(fail)?;
        let guard = ward_evidence::guard::GuardConfig::default();
        for (name, bytes) in EVIDENCE {
            let req = AttestationRequest::from_bytes(digest, "auto", name, bytes, false);
            evidence::attest(self.ledger, &self.ci, &req, &guard)
                .await
                .map_err(fail)?;
        }
        Ok(())
    }

    /// Dana opens the change; the gate blocks it until Quinn and Rhea sign; it goes to staging.
    /// Returns the change and the log entry of Rhea's signature.
    async fn change(&self, digest: &str, title: &str, say: &dyn Fn(String)) -> Result<(String, u64)> {
        let req = ChangeRequest {
            title: title.into(),
            kind: "normal".into(),
            artifacts: vec![digest.into()],
            paths: vec!["src/reminders/window.rs".into()],
            environments: vec!["staging".into(), "prod".into()],
            ..ChangeRequest::default()
        };
        let c = self.ward.open_change(&self.dana, &req, false).await.map_err(fail)?;
        let check = || async {
            self.ward
                .gate_check(&self.rhea, &c.id, &CheckRequest::env("staging"))
                .await
                .map_err(fail)
        };
        let blocked = check().await?;
        let reasons: Vec<&str> = blocked.reasons.iter().map(|r| r.rule.as_str()).collect();
        let mut signed = 0;
        for (who, meaning) in [(&self.quinn, "approved"), (&self.rhea, "release-authority")] {
            let sign = SignRequest {
                meaning: meaning.into(),
                comment: String::new(),
                reject: false,
                password: Some(PASSWORD.into()),
                reauth_token: None,
                manifest_digest: None,
            };
            signed = self
                .ward
                .sign(who, &c.id, &sign, &Default::default())
                .await
                .map_err(fail)?
                .seq;
        }
        let allowed = check().await?;
        if !allowed.allow {
            return Err(Failure::verify(format!("the gate still blocks {}: {:?}", c.id, allowed.reasons)).into());
        }
        let staged = self.promote(&c.id, "staging").await?;
        say(format!(
            "   {} \"{title}\" (tier {}): gate blocked ({}) → signed by Quinn (approved) and Rhea (release-authority) → allowed (decision {}) → staging (entry {})",
            c.id,
            c.tier,
            if reasons.is_empty() {
                "nothing".into()
            } else {
                reasons.join(", ")
            },
            allowed.id,
            staged.seq
        ));
        Ok((c.id, signed))
    }

    async fn promote(&self, change: &str, to: &str) -> Result<ward_app::deployments::Deployment> {
        let req = PromoteRequest {
            change: change.into(),
            environment: to.into(),
            tenants: vec![],
            ring: None,
        };
        let d = self.ward.promote(&self.rhea, &req).await.map_err(fail)?;
        if d.status != "succeeded" {
            // What each target run said, so a failed demo says why (a slow machine: an instance
            // not ready within the environment's ready_timeout_ms).
            let runs: Vec<String> = d
                .targets
                .iter()
                .map(|t| {
                    format!(
                        "{} (exit {}, output {})",
                        t.status,
                        t.exit_code.map_or("none".into(), |c| c.to_string()),
                        t.output_digest.as_deref().unwrap_or("none")
                    )
                })
                .collect();
            return Err(Failure::verify(format!(
                "deploying {change} to {to} failed: {} (entry {}; its output: ward deployments show {} --output-log)",
                runs.join("; "),
                d.seq,
                d.seq
            ))
            .into());
        }
        Ok(d)
    }

    /// Starts a rollout in prod and waits until it ends (or pauses).
    async fn rollout(&self, change: &str) -> Result<Rollout> {
        let req = RolloutRequest {
            change: change.into(),
            environment: "prod".into(),
            strategy: None,
            kind: None,
            steps: None,
            pause_ms: None,
        };
        let started = self.engine.begin(&self.rhea, &req).await.map_err(fail)?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let r = rollout::get(self.ledger, &started.id)
                .await
                .map_err(fail)?
                .ok_or_else(|| anyhow::anyhow!("rollout {} vanished", started.id))?;
            if r.finished() || r.status == "paused" || r.status == "halted" {
                return Ok(r);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Failure::verify(format!("rollout {} did not finish in 90 s", r.id)).into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A signature with `meaning` by `who`, with the demo's password.
fn signing(meaning: &str) -> SignRequest {
    SignRequest {
        meaning: meaning.into(),
        comment: String::new(),
        reject: false,
        password: Some(PASSWORD.into()),
        reauth_token: None,
        manifest_digest: None,
    }
}

/// What CI attaches to the fixed build: tests passing, a clean SAST scan, the SBOM, a Trivy scan
/// without critical findings and the rollback plan.
const FIXED_EVIDENCE: &[(&str, &str)] = &[
    (
        "pytest-passing.xml",
        include_str!("../../../ward-evidence/tests/fixtures/pytest-passing.xml"),
    ),
    ("semgrep-clean.sarif", CLEAN_SARIF),
    (
        "cyclonedx-py-1.6.json",
        include_str!("../../../ward-evidence/tests/fixtures/cyclonedx-py-1.6.json"),
    ),
    ("trivy-clean.json", CLEAN_TRIVY),
];

/// A SARIF 2.1.0 log of a semgrep run that found nothing.
const CLEAN_SARIF: &str = r#"{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[{"tool":{"driver":{"name":"Semgrep OSS","semanticVersion":"1.95.0","rules":[]}},"results":[]}]}"#;

/// A Trivy image report whose one target has no vulnerability.
const CLEAN_TRIVY: &str = r#"{"SchemaVersion":2,"ArtifactName":"scheduling-api:2.14.1","ArtifactType":"container_image","Results":[{"Target":"requirements.txt","Class":"lang-pkgs","Type":"pip","Vulnerabilities":[]}]}"#;

/// The rollback plan of the fixed build (built-in type rollback-plan).
const ROLLBACK_PLAN: &str = r#"{"steps":["ward rollback staging","ward rollback prod"],"tested_on":"staging"}"#;

/// A JUnit report whose test name holds a social security number.
const PHI_JUNIT: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="1" failures="0" errors="0" skipped="0"><testcase classname="tests.test_lookup" name="test_lookup_123-45-6789" time="0.01"/></testsuite></testsuites>"#;

/// The SSN in [`PHI_JUNIT`]: it must never be echoed.
pub const DEMO_SSN: &str = "123-45-6789";

impl Demo<'_> {
    /// A high-risk PHI change on scheduling-api: blocked by its evidence and missing signatures,
    /// the opener's own signature refused, the fixed build attached and signed, allowed, a
    /// promotion that skips staging refused, then staging.
    async fn governance(&self, broken: &str, fixed: &str, say: &dyn Fn(String)) -> Result<Value> {
        let req = ChangeRequest {
            title: "Patient lookup by date of birth".into(),
            kind: "normal".into(),
            ticket_url: Some("https://tickets.example.org/SCHED-412".into()),
            artifacts: vec![broken.into()],
            paths: vec!["src/phi/patient_lookup.py".into()],
            environments: vec!["staging".into(), "prod".into()],
            ..ChangeRequest::default()
        };
        let c = self.ward.open_change(&self.dana, &req, false).await.map_err(fail)?;
        if c.tier != ward_core::risk::Tier::High {
            return Err(Failure::verify(format!("the PHI change {} is {} (expected high)", c.id, c.tier)).into());
        }
        let blocked = self
            .ward
            .gate_check(&self.rhea, &c.id, &CheckRequest::env("staging"))
            .await
            .map_err(fail)?;
        say(format!(
            "4. a high-risk change: {} \"{}\" on scheduling-api 2.14.0 touches src/phi/ → tier {} (PHI); the gate blocks it ({} reasons):",
            c.id,
            req.title,
            c.tier,
            blocked.reasons.len()
        ));
        say("   (users, each added by an administrator and activated by a second: dana, developer, who opened it; quinn, approver; rhea, release manager; pat, privacy officer)".into());
        for r in &blocked.reasons {
            say(format!(
                "   ✗ {:<34} fix: {}",
                r.rule,
                crate::actions::locally(&crate::actions::fix(r))
            ));
        }
        let blocked_rules: Vec<String> = blocked.reasons.iter().map(|r| r.rule.clone()).collect();
        for needed in [
            "evidence.tests_failed",
            "vulnerabilities.critical_open",
            "approvals.quorum",
        ] {
            if !blocked_rules.iter().any(|r| r == needed) {
                return Err(Failure::verify(format!("the gate did not block on {needed}: {blocked_rules:?}")).into());
            }
        }
        let own = match self
            .ward
            .sign(&self.dana, &c.id, &signing("approved"), &Default::default())
            .await
        {
            Err(e) => e,
            Ok(_) => return Err(Failure::verify("the opener approved her own change").into()),
        };
        say(format!(
            "5. separation of duties: Dana, who opened it, signs it herself → refused: {} — {}",
            own.code, own.message
        ));

        // The fixes: a new build, its evidence, the change pointed at it.
        let guard = ward_evidence::guard::GuardConfig::default();
        for (name, text) in FIXED_EVIDENCE {
            let req = AttestationRequest::from_bytes(fixed, "auto", name, text.as_bytes(), false);
            evidence::attest(self.ledger, &self.ci, &req, &guard)
                .await
                .map_err(fail)?;
        }
        let plan = AttestationRequest::from_bytes(
            fixed,
            "custom:rollback-plan",
            "rollback-plan.json",
            ROLLBACK_PLAN.as_bytes(),
            false,
        );
        evidence::attest(self.ledger, &self.ci, &plan, &guard)
            .await
            .map_err(fail)?;
        let upd = ward_app::changes::ChangeUpdate {
            artifacts: Some(vec![fixed.into()]),
            ..Default::default()
        };
        self.ward
            .update_change(&self.dana, &c.id, &upd, false)
            .await
            .map_err(fail)?;
        // Rhea signs last: the entry of her signature (the demo later tampers with it).
        let mut release_manager = 0;
        for (who, meaning) in [
            (&self.pat, "privacy-review"),
            (&self.quinn, "approved"),
            (&self.rhea, "release-authority"),
        ] {
            release_manager = self
                .ward
                .sign(who, &c.id, &signing(meaning), &Default::default())
                .await
                .map_err(fail)?
                .seq;
        }
        let allowed = self
            .ward
            .gate_check(&self.rhea, &c.id, &CheckRequest::env("staging"))
            .await
            .map_err(fail)?;
        if !allowed.allow {
            return Err(Failure::verify(format!("the gate still blocks {}: {:?}", c.id, allowed.reasons)).into());
        }
        say(format!(
            "6. fixed: build 2.14.1 attached (tests pass, clean SAST, SBOM, Trivy without criticals, signed provenance, rollback plan); signed by Pat (privacy-review, privacy officer), Quinn (approved), Rhea (release-authority) → allowed (decision {})",
            allowed.id
        ));
        let skip = PromoteRequest {
            change: c.id.clone(),
            environment: "prod".into(),
            tenants: vec![],
            ring: None,
        };
        let skipped = match self.ward.promote(&self.rhea, &skip).await {
            Err(e) => e,
            Ok(_) => return Err(Failure::verify("a promotion that skips staging was accepted").into()),
        };
        let staged = self.promote(&c.id, "staging").await?;
        say(format!(
            "7. promote straight to prod → refused: {} — {}; then staging (entry {}); prod follows the same path (the releases below)",
            skipped.code, skipped.message, staged.seq
        ));
        Ok(json!({
            "change": c.id,
            "tier": c.tier,
            "blocked_rules": blocked_rules,
            "self_approval_refused": own.code,
            "allowed_decision": allowed.id,
            "skip_staging_refused": skipped.code,
            "staging_entry": staged.seq,
            "release_manager_signature": release_manager,
        }))
    }

    /// After the releases: drift found, a plain secret refused and a reference accepted, PHI in a
    /// report refused without echoing it.
    async fn after(&self, fixed: &str, say: &dyn Fn(String)) -> Result<Value> {
        // Somebody starts a build by hand on a staging host: what runs differs from the record.
        // (prod is observed by Ward from its runtime: a hand report there is refused.)
        let hand = ward_evidence::digest::of_bytes(b"reminders hot-patched by hand");
        let mut obs = ward_app::promotion::Observation {
            environment: "prod".into(),
            tenant: None,
            digests: vec![hand.clone()],
            config_digest: None,
            source: "host staging-1: docker ps, after a hand-made change".into(),
        };
        let painted = match self.ward.observe(&self.rhea, &obs).await {
            Err(e) if e.code == "observed_by_ward" => e.code,
            Err(e) => return Err(fail(e)),
            Ok(_) => {
                return Err(Failure::verify("a hand report on prod, which Ward observes itself, was taken").into());
            }
        };
        obs.environment = "staging".into();
        let drift = self.ward.observe(&self.rhea, &obs).await.map_err(fail)?;
        if drift.shadow.is_empty() {
            return Err(Failure::verify("the hand-made change was not reported as drift").into());
        }
        say(format!(
            "9. drift: staging runs {} that Ward never promoted (shadow) and not {} (missing) — the record and the runtime differ; a hand report on prod, which Ward observes from its runtime, is refused ({painted})",
            drift.shadow.join(", "),
            if drift.missing.is_empty() {
                "?".to_string()
            } else {
                drift.missing.join(", ")
            }
        ));

        let plain = ward_app::promotion::config::ConfigRequest {
            tenant: None,
            values: json!({"database": {"host": "db.prod.internal", "password": "hunter2-plain"}}),
        };
        let secret = match self.ward.publish_config(&self.rhea, "prod-eu", &plain).await {
            Err(e) => e,
            Ok(_) => return Err(Failure::verify("a configuration with a plain secret was accepted").into()),
        };
        let reference = ward_app::promotion::config::ConfigRequest {
            tenant: None,
            values: json!({"database": {"host": "db.prod.internal", "password": "vault://scheduling/db#password"}}),
        };
        let bundle = self
            .ward
            .publish_config(&self.rhea, "prod-eu", &reference)
            .await
            .map_err(fail)?;
        say(format!(
            "10. configuration for prod-eu: a plain password → refused: {} — {}; a vault:// reference → accepted as {} (it ships inside a change that names it: ward change open … --config-version)",
            secret.code, secret.message, bundle.digest
        ));

        let guard = ward_evidence::guard::GuardConfig::default();
        let req = AttestationRequest::from_bytes(fixed, "auto", "pytest-lookup.xml", PHI_JUNIT.as_bytes(), false);
        let phi = match evidence::attest(self.ledger, &self.ci, &req, &guard).await {
            Err(e) => e,
            Ok(_) => return Err(Failure::verify("a report holding an SSN was accepted").into()),
        };
        let text = format!("{} {} {}", phi.code, phi.message, phi.hint);
        if text.contains(DEMO_SSN) {
            return Err(Failure::verify("the refusal echoed the SSN it refused").into());
        }
        say(format!(
            "11. PHI in a report: a JUnit whose test name holds an SSN → refused, nothing stored, the number not echoed: {} — {}",
            phi.code, phi.message
        ));
        Ok(json!({
            "drift": {"environment": "staging", "shadow": drift.shadow, "missing": drift.missing, "hand_report_on_prod_refused": painted},
            "secret_refused": secret.code,
            "reference_accepted": bundle.digest,
            "phi_refused": phi.code,
            "phi_echoed": false,
        }))
    }
}

fn steps(r: &Rollout) -> String {
    r.events
        .iter()
        .filter(|e| e.kind == "rollout.analysis")
        .filter_map(|e| {
            let step = e.payload.get("step")?.as_u64()? as usize;
            let m = e.payload.get("verdict")?.get("measurement")?;
            Some(format!(
                "{} ({} req, {} err)",
                r.plan.get(step)?.label,
                m.get("requests")?.as_u64()?,
                m.get("errors")?.as_u64()?
            ))
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// The demo's environments, engine and people, in `dir` on `ledger`: the engine is started;
/// the caller shuts it down. Returns the demo, the directory of builds and the router's port.
async fn setup<'a>(ledger: &'a Ledger, dir: &Path) -> Result<(Demo<'a>, std::path::PathBuf, u16)> {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist)?;
    let (router, admin) = (free_port()?, free_port()?);
    let config = dir.join("ward.toml");
    std::fs::write(
        &config,
        format!(
            r#"# ward.toml — the demo's configuration, a template for your own (`ward config check`
# validates it; `ward serve` and every command read it from the data directory).

# Risk classification: paths and attributes become tags, tags decide the tier. This section
# replaces the built-in rules; PHI and clinical-workflow changes stay high whatever it says.
[risk]
default_tier = "low"
path_tags = [
  {{ glob = "**/phi/**", tag = "phi" }},
  {{ glob = "**/*patient*/**", tag = "phi" }},
  {{ glob = "**/fhir/**", tag = "integration:fhir" }},
  {{ glob = "**/migrations/**", tag = "schema_migration" }},
  {{ glob = "**/*.tf", tag = "infrastructure" }},
]
tiers = [
  {{ when = ["phi", "clinical_workflow", "schema_migration", "kind:emergency"], tier = "high" }},
  {{ when = ["infrastructure", "integration:fhir"], tier = "medium" }},
]

# What each tier needs before the gate allows a promotion (keys not named keep the built-in
# default of that tier; `ward config check` shows the effective form).
[controls.tiers.low]
evidence = ["tests_passed"]
approvals = 1

[controls.tiers.medium]
evidence = ["tests_passed", "no_critical_sast", "sbom"]
approvals = 1
ticket = true

[controls.tiers.high]
evidence = ["tests_passed", "no_critical_sast", "sbom", "provenance", "rollback_plan"]
approvals = 2
roles = {{ "release-manager" = 1 }}
ticket = true
evidence_waiver_approvers = 2

# Checklist items by tag, each satisfied by a signature with that meaning (a PHI change needs a
# privacy officer's privacy-review).
[controls.checklist]
phi = ["privacy-review"]
clinical_workflow = ["uat-signoff"]

# Patch SLAs of open findings, hours from first seen (critical findings block at once).
[controls.sla]
high = 72
medium = 720
low = 2160

# Change calendar: no promotion to prod during a freeze (dates inclusive, local time).
[calendar]
freezes = [
  {{ name = "year-end", from = "2099-12-20", to = "2100-01-02", tz = "America/New_York", environments = ["prod"] }},
]

# The promotion chain: staging records deployments; prod runs on the local runtime and takes a
# release only after staging (`after`), as a canary judged on its error rate.
[[environments]]
name = "staging"

[[environments]]
name = "prod"
after = "staging"
runtime = {{ listen = "127.0.0.1:{router}", admin = "127.0.0.1:{admin}", artifacts = "{}" }}
strategy = {{ kind = "canary", steps = [10, 50, 100], pause_ms = 1500, tick_ms = 100, analysis = {{ max_error_rate = 0.05, min_requests = 20 }} }}

# Tenants and rings: an environment may serve several tenants (clinics), promoted ring by ring
# in order (internal first, then the pilot clinics, then everyone); `ward promote --ring`.
[[environments]]
name = "prod-eu"
after = "staging"
tenants = ["internal", "clinic-a", "clinic-b", "clinic-c"]
rings = [
  {{ name = "internal", tenants = ["internal"] }},
  {{ name = "pilot", tenants = ["clinic-a", "clinic-b"] }},
  {{ name = "general", tenants = ["clinic-c"] }},
]
"#,
            dist.display()
        ),
    )?;
    let cfg = ward_app::config::Config::load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut ward = ward_app::Ward::new(ledger.clone())
        .with_samples(ward_rollout::samples())
        .configured(&cfg)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let engine = crate::backend::rollout_engine(&ward, dir.to_path_buf());
    engine.start().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    ward.runtimes = Some(engine.clone() as Arc<dyn ward_app::promotion::Runtimes>);
    let admin_person = person("user:sam.secadmin", Role::Admin);
    let second_admin = person("user:lee.itadmin", Role::Admin);
    for (name, display, role) in [
        ("quinn", "Quinn Alvarez", Role::Approver),
        (RELEASE_MANAGER_LOGIN, RELEASE_MANAGER, Role::ReleaseManager),
        ("pat", "Pat Nguyen", Role::PrivacyOfficer),
        ("dana", "Dana Reyes", Role::Developer),
    ] {
        let req = ward_app::identities::UserRequest {
            name: name.into(),
            display_name: display.into(),
            roles: vec![role],
            password: PASSWORD.into(),
        };
        ward_app::identities::add_user(ledger, &admin_person, &req)
            .await
            .map_err(fail)?;
        // A user an administrator adds waits for a second administrator.
        ward_app::identities::activate_user(ledger, &second_admin, name)
            .await
            .map_err(fail)?;
    }
    let demo = Demo {
        ledger,
        ward,
        engine: engine.clone(),
        dana: person("user:dana", Role::Developer),
        quinn: person("user:quinn", Role::Approver),
        rhea: person("user:rhea", Role::ReleaseManager),
        pat: person("user:pat", Role::PrivacyOfficer),
        ci: Identity {
            id: "ci:github/acme/reminders/release.yml".into(),
            kind: ActorKind::Automation,
            roles: vec![Role::Developer],
        },
    };
    Ok((demo, dist, router))
}

/// Runs the release story in `dir` on `ledger`; prints as it goes; returns the summary.
pub async fn run(ledger: &Ledger, dir: &Path, builds: (&str, &str), say: &dyn Fn(String)) -> Result<Value> {
    let (demo, dist, router) = setup(ledger, dir).await?;
    let result = async {
        let governance = demo.governance(builds.0, builds.1, say).await?;
        say("8. releases of the sample service (reminders) through change control and the local runtime:".into());
        let mut release = story(&demo, &dist, router, say).await?;
        let after = demo.after(builds.1, say).await?;
        // Rhea's first signature is on the PHI change.
        release["release_manager_first_signature"] = governance["release_manager_signature"].clone();
        release["governance"] = governance;
        release["after"] = after;
        anyhow::Ok(release)
    }
    .await;
    demo.engine.shutdown().await;
    result
}

/// One automated rollback measured for `ward bench rollback`, in `dir` on `ledger`: the
/// demo's environment (canary 10% → 50% → 100%, analysis every 100 ms, at least 20 requests,
/// at most 5% errors with 95% confidence), release 1.0.0 running, and release 1.2.0 (30% of
/// calls fail) rolled out while clients send `rate` requests per second through the router.
/// Figures from the rollout's own log entries: canary start → rollback recorded, the breaching
/// measurement → all traffic on stable, and the canary's sample at the verdict.
pub async fn measure_rollback(ledger: &Ledger, dir: &Path, rate: f64) -> Result<Value> {
    let (demo, dist, router) = setup(ledger, dir).await?;
    let measured = async {
        let quiet = |_: String| {};
        let mut changes = Vec::new();
        for (version, behaviour) in [("1.0.0", ""), ("1.2.0", "SAMPLE_FAIL_PERCENT=30")] {
            let digest = build(&dist, version, behaviour)?;
            demo.register(&digest, version).await?;
            changes.push(demo.change(&digest, &format!("Release {version}"), &quiet).await?.0);
        }
        demo.promote(&changes[0], "prod").await?;
        let load = Load::start(router, Some(rate));
        // Let the stable version see the rate before the canary starts.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let bad = demo.rollout(&changes[1]).await;
        let sent = load.stop().await;
        let bad = bad?;
        if bad.status != "failed" {
            return Err(Failure::verify(format!(
                "the bad canary ended {} (expected rolled back): {}",
                bad.status,
                bad.reason.as_deref().unwrap_or("")
            ))
            .into());
        }
        let at = |kind: &str| {
            bad.events
                .iter()
                .find(|e| e.kind == kind)
                .and_then(|e| e.time.parse::<jiff::Timestamp>().ok())
        };
        let (Some(started), Some(rolled_back)) = (at("rollout.started"), at("rollout.rolled_back")) else {
            return Err(Failure::verify("the rollout's log entries lack its start or its rollback").into());
        };
        let detect_ms = rolled_back.duration_since(started).as_secs_f64() * 1000.0;
        // The verdict the rollback was decided on (recorded with it).
        let verdict = bad
            .events
            .iter()
            .rev()
            .find(|e| e.kind == "rollout.rolled_back" || e.kind == "rollout.analysis")
            .and_then(|e| e.payload.get("verdict"))
            .and_then(|v| v.get("measurement"))
            .cloned()
            .unwrap_or(Value::Null);
        anyhow::Ok(json!({
            "rate": rate,
            "start_to_rollback_ms": detect_ms,
            "time_to_stable_ms": bad.time_to_stable_ms,
            "canary_requests": verdict.get("requests"),
            "canary_errors": verdict.get("errors"),
            "requests_sent": sent,
            "reason": bad.reason,
        }))
    }
    .await;
    demo.engine.shutdown().await;
    measured
}

async fn story(demo: &Demo<'_>, dist: &Path, router: u16, say: &dyn Fn(String)) -> Result<Value> {
    let releases = [
        ("1.0.0", "", "Appointment reminders"),
        ("1.1.0", "", "Reminder window configurable per clinic"),
        (
            "1.2.0",
            "SAMPLE_FAIL_PERCENT=30",
            "Reminder batching (breaks 30% of calls)",
        ),
    ];
    let mut changes = Vec::new();
    say("   each release built, evidenced by CI, changed, signed:".into());
    for (version, behaviour, title) in releases {
        let digest = build(dist, version, behaviour)?;
        demo.register(&digest, version).await?;
        changes.push(demo.change(&digest, title, say).await?);
    }
    let first = demo.promote(&changes[0].0, "prod").await?;
    say(format!(
        "   prod: {} cut over on the local runtime (entry {}); router 127.0.0.1:{router}, /metrics on the admin port",
        changes[0].0, first.seq
    ));
    let load = Load::start(router, None);
    let rollouts = async {
        let good = demo.rollout(&changes[1].0).await?;
        let bad = demo.rollout(&changes[2].0).await?;
        anyhow::Ok((good, bad))
    }
    .await;
    let sent = load.stop().await;
    let (good, bad) = rollouts?;
    say(format!(
        "   canary {} of {}: {} → {}{}",
        good.id,
        changes[1].0,
        steps(&good),
        good.status,
        good.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default()
    ));
    say(format!(
        "   canary {} of {}: {} — {}; all traffic back on stable {:.2} ms after the breaching measurement",
        bad.id,
        changes[2].0,
        bad.status,
        bad.reason.as_deref().unwrap_or("?"),
        bad.time_to_stable_ms.unwrap_or(f64::NAN)
    ));
    // The drill needs the good release in production: say why the demo stops when it is not.
    if good.status != "completed" || bad.status != "failed" {
        return Err(Failure::verify(format!(
            "unexpected outcome: good rollout {} ({}), bad rollout {} ({})",
            good.status,
            good.reason.as_deref().unwrap_or("no reason recorded"),
            bad.status,
            bad.reason.as_deref().unwrap_or("no reason recorded")
        ))
        .into());
    }
    let drill = demo.engine.drill(&demo.rhea, "prod", false).await.map_err(fail)?;
    say(format!(
        "   rollback drill: prod back on {} in {:.1} ms, every probe answered by it: {}; then forward again to {} in {:.1} ms (entry {}); {sent} requests served during the demo",
        drill["change"].as_str().unwrap_or("?"),
        drill["time_to_restore_ms"].as_f64().unwrap_or(f64::NAN),
        drill["all_restored"],
        drill["returned"]["change"].as_str().unwrap_or("?"),
        drill["returned"]["time_ms"].as_f64().unwrap_or(f64::NAN),
        drill["seq"]
    ));
    if good.status != "completed"
        || bad.status != "failed"
        || drill["all_restored"] != true
        || drill["returned"]["all_returned"] != true
    {
        return Err(Failure::verify(format!(
            "unexpected outcome: good rollout {}, bad rollout {}, drill restored {}",
            good.status, bad.status, drill["all_restored"]
        ))
        .into());
    }
    let rolled_back = ward_app::deployments::deployments(demo.ledger, "prod")
        .await
        .map_err(fail)?
        .into_iter()
        .rev()
        .find(|d| d.status == "failed")
        .map(|d| d.seq);
    Ok(json!({
        "changes": changes.iter().map(|(c, _)| c).collect::<Vec<_>>(),
        "release_manager_first_signature": changes[0].1,
        "good_rollout": {"id": good.id, "status": good.status},
        "bad_rollout": {"id": bad.id, "status": bad.status, "reason": bad.reason,
            "time_to_stable_ms": bad.time_to_stable_ms, "deployment": rolled_back},
        "drill": drill,
        "requests": sent,
    }))
}
