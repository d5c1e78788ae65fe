//! The gate service: builds the versioned input document for a change and an environment,
//! evaluates the policy bundle (see [`ward_core::gate`]), records the decision, and replays it.
//!
//! A decision (`gate.evaluated`, subject `change:<id>`) names the policy digest and the input
//! digest; the input document and the policy document (the Rego files and `data.controls`) are
//! stored content-addressed beside the log, so `ward gate replay` re-evaluates exactly what was
//! evaluated and must reach the same verdict with the same reasons.

use crate::approvals;
use crate::changes::{self, Change};
use crate::error::AppError;
use crate::evidence;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use ward_core::Identity;
use ward_core::approval::ApprovalRules;
use ward_core::gate::{Decision, INPUT_VERSION, PolicyBundle, Reason, evaluate};
use ward_core::risk::RiskRules;
use ward_evidence::digest::of_bytes;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::Ledger;

/// The risk tiers `[controls.tiers]` may name (those of [`ward_core::risk::Tier`]).
pub const TIERS: [&str; 3] = ["low", "medium", "high"];

/// Longest SLA a `[controls.sla]` entry may set, hours (a year).
pub const MAX_SLA_HOURS: u64 = 8784;

/// `[controls]` of `ward.toml`, resolved: what each tier requires, checklist items by tag and
/// the vulnerability SLAs. This effective form is what the policy sees as `data.controls` and
/// what the policy digest of every decision covers.
///
/// Resolution fails closed:
/// - every tier is always present: a tier `[controls.tiers]` does not name gets the built-in
///   defaults, and a tier that names only some keys gets the built-in default of that tier for
///   each key it does not name (`[controls.tiers.high] approvals = 3` keeps high's evidence,
///   roles, ticket…; to drop a default, set it explicitly, e.g. `evidence = []`);
/// - `[controls.checklist]` is merged the same way, per tag (`phi = []` drops a default tag);
/// - an unknown tier name, an unknown key, or a tier left with no controls at all (no evidence,
///   no in-toto steps, no approvals, no role approvals and no ticket) is refused at load with an
///   error naming it; so is `evidence_waiver_approvers = 0` and an SLA over a year.
///
/// Built-in tiers: low — evidence `tests_passed`, 1 approval, no ticket; medium —
/// `tests_passed`, `no_critical_sast`, `sbom`, 1 approval, a ticket; high — those plus
/// `provenance` and `rollback_plan`, 2 approvals of which 1 by a `release-manager`, a ticket,
/// and 2 distinct waiver approvers to waive an `evidence.*` reason. SLAs (`[controls.sla]`,
/// hours from first seen): high 72, medium 720 (30 d), low 2160 (90 d); open critical findings
/// block at once (`vulnerabilities.critical_open`, waivable only per finding).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ControlsSection")]
pub struct Controls {
    /// Per tier (always `low`, `medium` and `high`): what a change of that tier needs.
    pub tiers: BTreeMap<String, TierControls>,
    /// Tag → checklist items (each satisfied by a current signature with that meaning).
    pub checklist: BTreeMap<String, Vec<String>>,
    /// Patch SLAs of open findings by severity, hours from first seen.
    pub sla: SlaHours,
}

/// What one tier requires (effective: every key present).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierControls {
    /// Evidence kinds each artifact of the change must carry (`tests_passed`, `sbom`, …).
    pub evidence: Vec<String>,
    /// In-toto step names (`step` of a link) each artifact must carry a link of
    /// (rule `evidence.step.<name>`).
    pub steps: Vec<String>,
    /// Current approvals by distinct people.
    pub approvals: u32,
    /// Role → how many distinct approvers holding it.
    pub roles: BTreeMap<String, u32>,
    /// A ticket URL is required (rule `change.ticket_missing`).
    pub ticket: bool,
    /// Distinct waiver approvers needed before waivers excuse an `evidence.*` reason.
    pub evidence_waiver_approvers: u32,
    /// Changes may skip the preceding environment.
    pub may_skip_environments: bool,
}

/// `[controls.sla]`: hours an open finding of that severity may stay open, from first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaHours {
    /// High.
    pub high: u64,
    /// Medium.
    pub medium: u64,
    /// Low.
    pub low: u64,
}

impl Default for SlaHours {
    fn default() -> Self {
        SlaHours {
            high: 72,
            medium: 30 * 24,
            low: 90 * 24,
        }
    }
}

/// `[controls]` as written: everything optional (see [`Controls`] for how it resolves).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlsSection {
    #[serde(default)]
    tiers: BTreeMap<String, TierSection>,
    #[serde(default)]
    checklist: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    sla: SlaSection,
}

/// `[controls.tiers.<tier>]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierSection {
    evidence: Option<Vec<String>>,
    steps: Option<Vec<String>>,
    approvals: Option<u32>,
    roles: Option<BTreeMap<String, u32>>,
    ticket: Option<bool>,
    evidence_waiver_approvers: Option<u32>,
    may_skip_environments: Option<bool>,
}

/// `[controls.sla]` as written (hours).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaSection {
    high: Option<u64>,
    medium: Option<u64>,
    low: Option<u64>,
}

/// The built-in controls of `tier` (one of [`TIERS`]).
fn default_tier(tier: &str) -> TierControls {
    let kinds = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let base = TierControls {
        evidence: kinds(&["tests_passed"]),
        steps: vec![],
        approvals: 1,
        roles: BTreeMap::new(),
        ticket: false,
        evidence_waiver_approvers: 1,
        may_skip_environments: false,
    };
    match tier {
        "medium" => TierControls {
            evidence: kinds(&["tests_passed", "no_critical_sast", "sbom"]),
            ticket: true,
            ..base
        },
        "high" => TierControls {
            evidence: kinds(&[
                "tests_passed",
                "no_critical_sast",
                "sbom",
                "provenance",
                "rollback_plan",
            ]),
            approvals: 2,
            roles: BTreeMap::from([("release-manager".to_string(), 1)]),
            ticket: true,
            evidence_waiver_approvers: 2,
            ..base
        },
        _ => base,
    }
}

fn default_checklist() -> BTreeMap<String, Vec<String>> {
    [
        ("phi", "privacy-review"),
        ("clinical_workflow", "uat-signoff"),
        ("infrastructure", "rollback-validated"),
        ("schema_migration", "rollback-validated"),
    ]
    .into_iter()
    .map(|(tag, item)| (tag.to_string(), vec![item.to_string()]))
    .collect()
}

impl TryFrom<ControlsSection> for Controls {
    type Error = String;

    fn try_from(c: ControlsSection) -> Result<Controls, String> {
        for name in c.tiers.keys() {
            if !TIERS.contains(&name.as_str()) {
                // The key is not repeated past its shape (a key refused may hold anything).
                return Err(format!(
                    "[controls.tiers]: unknown tier {}; the tiers are {}",
                    crate::identifier::shown(name),
                    TIERS.join(", ")
                ));
            }
        }
        let mut tiers = BTreeMap::new();
        for tier in TIERS {
            let d = default_tier(tier);
            let t = c.tiers.get(tier).cloned().unwrap_or_default();
            let eff = TierControls {
                evidence: t.evidence.unwrap_or(d.evidence),
                steps: t.steps.unwrap_or(d.steps),
                approvals: t.approvals.unwrap_or(d.approvals),
                roles: t.roles.unwrap_or(d.roles),
                ticket: t.ticket.unwrap_or(d.ticket),
                evidence_waiver_approvers: t.evidence_waiver_approvers.unwrap_or(d.evidence_waiver_approvers),
                may_skip_environments: t.may_skip_environments.unwrap_or(d.may_skip_environments),
            };
            eff.validate(tier)?;
            tiers.insert(tier.to_string(), eff);
        }
        let mut checklist = default_checklist();
        checklist.extend(c.checklist);
        let d = SlaHours::default();
        let sla = SlaHours {
            high: c.sla.high.unwrap_or(d.high),
            medium: c.sla.medium.unwrap_or(d.medium),
            low: c.sla.low.unwrap_or(d.low),
        };
        for (name, h) in [("high", sla.high), ("medium", sla.medium), ("low", sla.low)] {
            if h > MAX_SLA_HOURS {
                return Err(format!("[controls.sla] {name}: at most {MAX_SLA_HOURS} hours (a year)"));
            }
        }
        Ok(Controls { tiers, checklist, sla })
    }
}

impl TierControls {
    /// Refuses a tier that would let a change through with no controls at all.
    fn validate(&self, tier: &str) -> Result<(), String> {
        let nothing = self.evidence.is_empty()
            && self.steps.is_empty()
            && self.approvals == 0
            && self.roles.values().all(|n| *n == 0)
            && !self.ticket;
        if nothing {
            return Err(format!(
                "[controls.tiers.{tier}] requires nothing (no evidence, no steps, no approvals, no roles, no ticket): \
                 {tier} changes would pass with no controls; require at least one (e.g. approvals = 1)"
            ));
        }
        if self.evidence_waiver_approvers == 0 {
            return Err(format!(
                "[controls.tiers.{tier}] evidence_waiver_approvers = 0: at least 1 (a waiver always needs an approver)"
            ));
        }
        for (i, k) in self.evidence.iter().chain(&self.steps).enumerate() {
            if k.is_empty() || k.len() > 100 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b)) {
                // By place: the word is not repeated (it may hold what the identifier rules
                // refuse, judged after this shape check).
                return Err(format!(
                    "[controls.tiers.{tier}] evidence and steps, item #{}: not an evidence kind or step name (letters, digits, _ and -, at most 100)",
                    i + 1
                ));
            }
        }
        Ok(())
    }
}

impl Default for Controls {
    /// The built-in controls (what an absent `[controls]` resolves to).
    fn default() -> Self {
        Controls {
            tiers: TIERS.iter().map(|t| (t.to_string(), default_tier(t))).collect(),
            checklist: default_checklist(),
            sla: SlaHours::default(),
        }
    }
}

impl Controls {
    /// The checklist items (signature meanings) a change with `tags` needs, in checklist order,
    /// each once.
    pub fn checklist_for(&self, tags: &[String]) -> Vec<String> {
        ward_core::approval::checklist_for(&self.checklist, tags)
    }

    /// Parses a `[controls]` table (as TOML text, without the header), resolving and validating
    /// it like `ward.toml` does.
    pub fn from_toml(text: &str) -> Result<Controls, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// What the gate evaluates with: the policy bundle, the controls, the calendar and the error
/// budgets.
#[derive(Clone, Debug, Default)]
pub struct GatePolicy {
    /// Rego files (bundled defaults plus the team's).
    pub bundle: PolicyBundle,
    /// `data.controls`.
    pub controls: Controls,
    /// Change windows and freezes; their state at evaluation time goes into the input.
    pub calendar: ward_core::calendar::Calendar,
    /// Declared environments: chains, tenants and rings go into the input.
    pub environments: Vec<crate::environment::Environment>,
    /// Per environment with a `policy_dir`: its own bundle (the shared one plus its files).
    pub env_bundles: std::collections::BTreeMap<String, PolicyBundle>,
    /// `[[slo]]`: error budgets read from Prometheus at each check (`input.slo`).
    pub slos: Vec<ward_core::slo::Objective>,
    /// Where those error budgets are read (the Prometheus adapter; none: every budget unknown).
    pub samples: crate::slo::Samples,
    /// `[[services]]` and `[dr]`: disaster-recovery readiness judged at each check (`input.dr`).
    pub dr: crate::dr::DrPolicy,
}

impl GatePolicy {
    /// The bundled defaults plus every `*.rego` in `dir` (when given), with `controls`.
    pub fn load(dir: Option<&Path>, controls: Controls) -> Result<GatePolicy, String> {
        let mut bundle = PolicyBundle::defaults();
        if let Some(dir) = dir {
            add_dir(&mut bundle, dir)?;
        }
        Ok(GatePolicy {
            bundle,
            controls,
            ..GatePolicy::default()
        })
    }

    /// Declares the environments, loading each one's `policy_dir` into its own bundle.
    pub fn with_environments(mut self, envs: &[crate::environment::Environment]) -> Result<GatePolicy, String> {
        for e in envs {
            if let Some(dir) = &e.policy_dir {
                let mut b = self.bundle.clone();
                add_dir(&mut b, dir).map_err(|m| format!("[[environments]] {}: {m}", e.name))?;
                self.env_bundles.insert(e.name.clone(), b);
            }
        }
        self.environments = envs.to_vec();
        Ok(self)
    }

    /// The rule ids every bundle in force (the shared one and each environment's) can name.
    pub fn rule_names(&self) -> crate::rule_names::RuleNames {
        crate::rule_names::RuleNames::of(std::iter::once(&self.bundle).chain(self.env_bundles.values()))
    }

    /// The bundle evaluated for `environment`.
    pub fn bundle_for(&self, environment: &str) -> &PolicyBundle {
        self.env_bundles.get(environment).unwrap_or(&self.bundle)
    }

    /// `data` for the policy.
    pub fn data(&self) -> Value {
        json!({ "controls": self.controls })
    }

    /// The stored policy document for `environment`: files and data, and the rules Ward judges
    /// before the Rego runs (the calendar, `[[slo]]`, `[[services]]` and `[dr]`, whose verdicts
    /// go into the input). Its digest names the policy in decisions, so editing any rule that
    /// can change a verdict — dropping a service from the DR inventory, loosening an RPO —
    /// changes the recorded policy digest.
    pub fn document(&self, environment: &str) -> Value {
        json!({
            "files": self.bundle_for(environment).files,
            "data": self.data(),
            "judged": {
                "calendar": self.calendar,
                "slo": self.slos,
                "services": self.dr.services,
                "dr": self.dr.rules,
                "environments": self.environments,
            },
        })
    }

    /// The policy document a decision records: [`GatePolicy::document`] plus the risk and
    /// approval rules the input was built with (`[risk]`, `[approvals]`: which signatures
    /// count, which tier a change has), so that no rule able to change a verdict — an
    /// environment's `after`, `admins_may_approve`, a risk rule — changes without the digest.
    pub fn recorded_document(&self, environment: &str, risk: &RiskRules, approvals: &ApprovalRules) -> Value {
        let mut doc = self.document(environment);
        doc["judged"]["risk"] = json!(risk);
        doc["judged"]["approvals"] = json!(approvals);
        doc
    }
}

/// Adds every `*.rego` in `dir` (sorted by name) to `bundle`.
fn add_dir(bundle: &mut PolicyBundle, dir: &Path) -> Result<(), String> {
    {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("policy directory {}: {e}", dir.display()))?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rego"))
            .collect();
        files.sort();
        for p in files {
            let meta = std::fs::metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            if meta.len() > ward_core::gate::MAX_POLICY_FILE as u64 {
                return Err(format!(
                    "{}: larger than {} bytes",
                    p.display(),
                    ward_core::gate::MAX_POLICY_FILE
                ));
            }
            let source = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let name = format!(
                "policies/{}",
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
            bundle.add(name, source);
        }
    }
    Ok(())
}

/// A recorded gate decision.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateDecision {
    /// Decision id: the log entry that records it.
    pub id: u64,
    /// Change.
    pub change: String,
    /// Environment.
    pub environment: String,
    /// Verdict.
    pub allow: bool,
    /// Every blocking reason with how to satisfy it.
    pub reasons: Vec<Reason>,
    /// Reasons excused by active waivers or break-glass.
    #[serde(default)]
    pub waived: Vec<ward_core::gate::Excused>,
    /// `sha256:` of the policy document (Rego files and controls).
    pub policy_digest: String,
    /// `sha256:` of the input document.
    pub input_digest: String,
    /// Input document version.
    pub input_version: String,
    /// Who asked.
    pub checked_by: String,
    /// When.
    pub time: String,
}

/// What a replay found.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replay {
    /// The recorded decision.
    pub recorded: GateDecision,
    /// The decision re-evaluated from the stored input and policy.
    pub replayed: Decision,
    /// Same verdict and same reasons.
    pub identical: bool,
}

/// A check to run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// Target environment.
    pub environment: String,
    /// Only these tenants (for ring order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Only this ring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<String>,
}

impl CheckRequest {
    /// A check of a whole environment.
    pub fn env(environment: &str) -> CheckRequest {
        CheckRequest {
            environment: environment.into(),
            tenants: vec![],
            ring: None,
        }
    }
}

/// What the gate input is built from: everything read from the log for one check, nothing
/// judged yet against the clock. [`facts`] reads it (I/O); [`input_document`] builds the
/// document from it and the clock (pure), so every rule of the input is unit-tested without a
/// store.
#[derive(Clone, Debug)]
pub struct GateFacts {
    /// The change.
    pub change: Change,
    /// Who asked for the check.
    pub requested_by: String,
    /// The environment it is to enter.
    pub environment: String,
    /// Every attestation of the change's artifacts, then of the change itself, in order, each
    /// with the subject (artifact digest or change id) it is about.
    pub attestations: Vec<(String, evidence::Attestation)>,
    /// Versions that moved: an artifact of the change whose service and version are also
    /// registered under another digest.
    pub rebound: Vec<Rebound>,
    /// The services of the change's artifacts, each once, in the artifacts' order (what the
    /// error budgets and DR readiness are judged for).
    pub services: Vec<String>,
    /// The approval manifest's digest (what the current signatures sign).
    pub manifest_digest: String,
    /// The signatures on the change, judged stale or current against that manifest.
    pub signatures: Vec<approvals::Approval>,
    /// The waivers scoped to the change, then to each of its artifacts (each once).
    pub waivers: Vec<crate::exceptions::Waiver>,
    /// The change's break-glass invocations.
    pub breakglass: Vec<crate::exceptions::Breakglass>,
    /// Where the release would be placed ([`crate::deployments::placement`]).
    pub promotion: Value,
    /// The environment accepts a version registered under another digest (mutable
    /// pre-releases).
    pub accepts_rebound: bool,
}

/// A version registered under the change's artifact and another digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebound {
    /// The change's artifact.
    pub artifact: String,
    /// Its service.
    pub service: String,
    /// Its version.
    pub version: String,
    /// The other digest the same service and version was registered under.
    pub other_digest: String,
}

/// Reads the [`GateFacts`] for `change` entering `environment`.
#[allow(clippy::too_many_arguments)]
pub async fn facts(
    ledger: &Ledger,
    change: &Change,
    requested_by: &str,
    environment: &str,
    promotion: Value,
    risk: &RiskRules,
    rules: &ApprovalRules,
    accepts_rebound: bool,
) -> Result<GateFacts, AppError> {
    let mut attestations = Vec::new();
    for a in change.request.artifacts.iter().chain(std::iter::once(&change.id)) {
        for att in evidence::attestations(ledger, a).await? {
            attestations.push((a.clone(), att));
        }
    }
    let (mut rebound, mut services) = (Vec::new(), Vec::new());
    for a in &change.request.artifacts {
        let Some(art) = evidence::artifact(ledger, a).await? else {
            continue;
        };
        if !services.contains(&art.meta.service) {
            services.push(art.meta.service.clone());
        }
        let versions = evidence::index_versions_of(ledger, &art).await?;
        if let Some((other, _)) = evidence::other_digest(ledger, &art.meta.service, &versions, a).await? {
            rebound.push(Rebound {
                artifact: a.clone(),
                service: art.meta.service,
                version: art.meta.version,
                other_digest: other,
            });
        }
    }
    let attestation_ids = attestations.iter().map(|(_, att)| att.id.clone()).collect();
    let manifest_digest = approvals::manifest_of(change, attestation_ids, risk, rules).digest();
    let signatures = approvals::list(ledger, &change.id, &manifest_digest).await?;
    // `active` is judged by `input_document` at its clock, from the records; `stale` here,
    // against the change as it is now.
    let waivers = crate::exceptions::waivers_of(ledger, change, i64::MIN).await?;
    let content = approvals::content_digest(change);
    let breakglass = crate::exceptions::breakglass_of(ledger, &change.id, &content, i64::MIN).await?;
    Ok(GateFacts {
        change: change.clone(),
        requested_by: requested_by.into(),
        environment: environment.into(),
        attestations,
        rebound,
        services,
        manifest_digest,
        signatures,
        waivers,
        breakglass,
        promotion,
        accepts_rebound,
    })
}

/// The gate input document (version [`INPUT_VERSION`]) built from `facts` at `now`. Pure. The
/// rules it applies:
/// - a waiver is active until it expires and only when its approver is no party of the change
///   (an editor after signing, an author who waived one of its artifacts); a change's waiver
///   only over the content it was granted on (`covers`): edited since, it is stale;
/// - a signature by a party of the change is stale whatever the state tables say (`by_party`);
/// - a break-glass is in force until its end and only over the content it was invoked on
///   (`covers`): the change edited since, it is stale and bypasses nothing;
/// - a break-glass is active until its end;
/// - a vulnerability with no first-seen time was first seen `now`;
/// - the calendar (windows and freezes) is judged for the environment and tier at `now`.
pub fn input_document(
    facts: &GateFacts,
    calendar: &ward_core::calendar::Calendar,
    rules: &ApprovalRules,
    now: jiff::Timestamp,
) -> Result<Value, AppError> {
    let change = &facts.change;
    let content = approvals::content_digest(change);
    let calendar = calendar
        .state(&facts.environment, change.tier.as_str(), now)
        .map_err(AppError::internal)?;
    let mut evidence_list = Vec::new();
    let mut vulnerabilities = Vec::new();
    for (a, att) in &facts.attestations {
        if att.r#type == "vulns" {
            for f in att.summary.get("list").and_then(Value::as_array).into_iter().flatten() {
                let first_seen_secs = f
                    .get("first_seen")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map_or(now.as_second(), |t| t.as_second());
                vulnerabilities.push(json!({
                    "artifact": a,
                    "id": f.get("id"),
                    "package": f.get("package"),
                    "package_key": f.get("package_key"),
                    "severity": f.get("severity"),
                    "open": f.get("open"),
                    "fix_available": f.get("fix_available"),
                    "first_seen_secs": first_seen_secs,
                }));
            }
        }
        evidence_list.push(json!({
            "id": att.id,
            "seq": att.seq,
            "artifact": a,
            "type": att.r#type,
            "file_name": att.file_name,
            "summary": att.summary,
            "added_by": att.added_by,
            "time": att.time,
        }));
    }
    let artifacts_rebound: Vec<Value> = facts
        .rebound
        .iter()
        .map(|r| json!({"artifact": r.artifact, "service": r.service, "version": r.version, "other_digest": r.other_digest}))
        .collect();
    // A decision by someone who is a party of the change never counts, whatever the state tables
    // say: an editor after signing, or an author who waived one of the change's artifacts.
    let parties = change.parties();
    let party = |id: &str| parties.includes(id, rules);
    // Waivers scoped to the change, then those scoped to each of its artifacts (keyed by the
    // artifact's digest); each carries what it is scoped to, and the policy excuses only the
    // reasons about that finding / that artifact.
    let waivers: Vec<Value> = facts
        .waivers
        .iter()
        .map(|w| {
            // A change's waiver excuses the change as it was granted on (a helper's note on the
            // thirteenth session's head: swapped for another artifact, the change kept a
            // waiver of every SLA finding given for the first).
            let stale = !w.holds_over(&content);
            json!({"id": w.id, "rules": w.request.rules, "finding": w.request.finding,
            "artifact": w.request.artifact, "active": now.as_second() < w.expires_secs && !party(&w.approver) && !stale,
            "stale": stale, "expires_secs": w.expires_secs, "owner": w.request.owner, "approver": w.approver,
            "approver_person": ward_core::approval::person_key(&w.approver)})
        })
        .collect();
    let breakglass: Vec<Value> = facts
        .breakglass
        .iter()
        // A break-glass bypasses only the change it was broken for, as it was then: edited
        // since, it is stale and bypasses nothing (judged here from the record, so facts read
        // elsewhere cannot lend it force).
        .map(|b| {
            let stale = !b.bound_to(&content);
            json!({"id": b.id, "rules": b.request.rules, "active": now.as_second() < b.until_secs && !stale,
                "stale": stale, "until_secs": b.until_secs})
        })
        .collect();
    let approvals: Vec<Value> = facts
        .signatures
        .iter()
        .map(|a| {
            json!({
                "signer": a.signer, "person": ward_core::approval::person_key(&a.signer),
                "printed_name": a.printed_name, "meaning": a.meaning, "roles": a.signer_roles,
                "decision": a.decision, "comment": a.comment, "stale": a.stale || party(&a.signer),
                "by_party": party(&a.signer), "time": a.time,
                // A sign-off only some roles give (a privacy review) is not an approval toward
                // the quorum ([approvals.meaning_roles]).
                "quorum": rules.roles_for(&a.meaning).is_none(),
            })
        })
        .collect();
    Ok(json!({
        "version": INPUT_VERSION,
        "now": now.to_string(),
        "now_secs": now.as_second(),
        "environment": facts.environment,
        "requested_by": facts.requested_by,
        "requested_by_person": ward_core::approval::person_key(&facts.requested_by),
        "change": {
            "id": change.id,
            "title": change.request.title,
            "ticket_url": change.request.ticket_url,
            "kind": change.request.kind,
            "tier": change.tier,
            "tags": change.classification.tags,
            "attributes": change.request.attributes,
            "environments": change.request.environments,
            "artifacts": change.request.artifacts,
            "opener": change.opener,
            "editors": change.editors,
            "classifiers": parties.classifiers,
            "commits_source": change.commits_source,
            "manifest_digest": facts.manifest_digest,
        },
        "evidence": evidence_list,
        "approvals": approvals,
        "vulnerabilities": vulnerabilities,
        "calendar": calendar,
        "waivers": waivers,
        "breakglass": breakglass,
        "promotion": facts.promotion,
        "artifacts_rebound": artifacts_rebound,
        "environment_accepts_rebound": facts.accepts_rebound,
    }))
}

/// The gate input document for `change` entering `environment`, now: [`facts`] then
/// [`input_document`].
#[allow(clippy::too_many_arguments)]
pub async fn input(
    ledger: &Ledger,
    change: &Change,
    requested_by: &str,
    environment: &str,
    calendar: &ward_core::calendar::Calendar,
    promotion: Value,
    risk: &RiskRules,
    rules: &ApprovalRules,
    accepts_rebound: bool,
) -> Result<Value, AppError> {
    let facts = facts(
        ledger,
        change,
        requested_by,
        environment,
        promotion,
        risk,
        rules,
        accepts_rebound,
    )
    .await?;
    input_document(&facts, calendar, rules, jiff::Timestamp::now())
}

fn policy_error(e: ward_core::gate::GateError) -> AppError {
    AppError::new(
        crate::error::Kind::Unprocessable,
        "policy_error",
        e.to_string(),
        "fix the policy (test it against its examples)",
    )
}

/// Evaluates the gate for a change entering `environment`, records the decision and stores its
/// input and policy documents.
pub async fn check(
    ledger: &Ledger,
    by: &Identity,
    change_id: &str,
    req: &CheckRequest,
    policy: &GatePolicy,
    risk: &RiskRules,
    rules: &ApprovalRules,
) -> Result<GateDecision, AppError> {
    let environment = req.environment.as_str();
    crate::identities::check_name("environment", environment)?;
    let change = changes::get(ledger, change_id).await?.ok_or_else(|| {
        AppError::not_found(
            format!("no change {}", crate::identifier::shown(change_id)),
            "list the changes",
        )
    })?;
    if !policy.environments.is_empty() && !policy.environments.iter().any(|e| e.name == environment) {
        let hint = crate::environment::undeclared_hint(&policy.environments, environment);
        return Err(AppError::new(
            crate::error::Kind::Unprocessable,
            "unknown_environment",
            format!(
                "{} is not a declared environment",
                crate::identifier::named(environment)
            ),
            hint,
        ));
    }
    let placement = crate::deployments::placement(
        ledger,
        &policy.environments,
        &change.request.artifacts,
        environment,
        &req.tenants,
        req.ring.as_deref(),
    )
    .await?;
    let facts = facts(
        ledger,
        &change,
        &by.id,
        environment,
        placement,
        risk,
        rules,
        policy
            .environments
            .iter()
            .any(|e| e.name == environment && e.mutable_prerelease),
    )
    .await?;
    // One clock for the whole decision.
    let now = jiff::Timestamp::now();
    let mut input = input_document(&facts, &policy.calendar, rules, now)?;
    // Error budgets of the change's services, read now; the states are part of the input, so the
    // decision replays without Prometheus.
    let slo = crate::slo::states(&policy.samples, &policy.slos, &facts.services, environment).await;
    input["slo"] = serde_json::to_value(slo).map_err(AppError::internal)?;
    // DR readiness of the change's services, judged now from the log (backups, restore tests,
    // drills); a high-risk change also needs a fresh rollback drill.
    let dr = crate::dr::states(
        ledger,
        &policy.dr,
        Some(&facts.services),
        environment,
        change.tier == ward_core::risk::Tier::High,
        now.as_second(),
    )
    .await?;
    input["dr"] = serde_json::to_value(dr).map_err(AppError::internal)?;
    let decision = evaluate(policy.bundle_for(environment), &input, &policy.data()).map_err(policy_error)?;
    let input_bytes = serde_json::to_vec(&input).map_err(AppError::internal)?;
    let policy_bytes =
        serde_json::to_vec(&policy.recorded_document(environment, risk, rules)).map_err(AppError::internal)?;
    let (input_digest, policy_digest) = (of_bytes(&input_bytes), of_bytes(&policy_bytes));
    let payload = json!({
        "change": change.id,
        "environment": environment,
        "allow": decision.allow,
        "reasons": decision.reasons,
        "waived": decision.waived,
        "policy_digest": policy_digest,
        "input_digest": input_digest,
        "input_version": INPUT_VERSION,
        "checked_by": by.id,
    });
    let event = NewEvent {
        actor: by.actor(),
        kind: "gate.evaluated".into(),
        subject: format!("change:{}", change.id),
        payload,
    };
    // Judged before its documents are stored: a refused decision leaves nothing behind.
    ledger.admit(&event)?;
    crate::documents::keep_gate_record(ledger, &input_digest, &input_bytes, "the gate's input").await?;
    crate::documents::keep_gate_record(ledger, &policy_digest, &policy_bytes, "the gate's policy").await?;
    let receipt = ledger.append(event).await?;
    Ok(GateDecision {
        id: receipt.seq,
        change: change.id,
        environment: environment.into(),
        allow: decision.allow,
        reasons: decision.reasons,
        waived: decision.waived,
        policy_digest,
        input_digest,
        input_version: INPUT_VERSION.into(),
        checked_by: by.id.clone(),
        time: receipt.time,
    })
}

/// A recorded decision by id.
pub async fn decision(ledger: &Ledger, id: u64) -> Result<GateDecision, AppError> {
    // The log's size is read only for a number past its end (an entry that is there is named).
    let missing_at = |size: u64| {
        AppError::not_found(
            format!("no gate decision at {}", crate::identifier::entry_shown(id, size)),
            "decision ids are those a gate check returns",
        )
    };
    let Some(entry) = ledger.store().entries(id, 1).await?.pop() else {
        return Err(missing_at(ledger.head().await?.size()));
    };
    let missing = || missing_at(id.saturating_add(1));
    let env = EventEnvelope::from_leaf(&entry.leaf).map_err(AppError::internal)?;
    let Payload::Inline(p) = env.payload else {
        return Err(missing());
    };
    if env.kind != "gate.evaluated" {
        return Err(missing());
    }
    let mut doc = p;
    doc["id"] = json!(id);
    doc["time"] = json!(env.time);
    serde_json::from_value(doc).map_err(AppError::internal)
}

/// The latest decision per environment about `change`, by environment name. Reads the log from
/// the change's opening on (decisions are not projected), a page at a time: its cost grows with
/// the entries recorded since the change was opened.
pub async fn latest_decisions(ledger: &Ledger, change: &Change) -> Result<Vec<GateDecision>, AppError> {
    const PAGE: u64 = 1000;
    let subject = format!("change:{}", change.id);
    let head = ledger.head().await?.size();
    let mut latest: BTreeMap<String, u64> = BTreeMap::new();
    let mut at = change.seq;
    while at < head {
        let page = ledger.store().entries(at, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for entry in &page {
            let Ok(env) = EventEnvelope::from_leaf(&entry.leaf) else {
                continue;
            };
            if env.kind == "gate.evaluated"
                && env.subject == subject
                && let Payload::Inline(p) = &env.payload
                && let Some(e) = p.get("environment").and_then(Value::as_str)
            {
                latest.insert(e.to_string(), entry.seq);
            }
        }
        at += page.len() as u64;
    }
    let mut out = Vec::with_capacity(latest.len());
    for seq in latest.into_values() {
        out.push(decision(ledger, seq).await?);
    }
    Ok(out)
}

/// The input document decision `id` was evaluated on, as stored with it (checked against its
/// digest): `ward gate input`.
pub async fn stored_input(ledger: &Ledger, id: u64) -> Result<Value, AppError> {
    let recorded = decision(ledger, id).await?;
    load_stored(ledger, &recorded.input_digest).await
}

/// What a recorded decision was evaluated with: its input document and policy document.
async fn stored_evaluation(ledger: &Ledger, recorded: &GateDecision) -> Result<(Value, Value), AppError> {
    let input = load_stored(ledger, &recorded.input_digest).await?;
    let policy = load_stored(ledger, &recorded.policy_digest).await?;
    Ok((input, policy))
}

/// The policy bundle and data of a recorded policy document (`files` and `data`, as `check`
/// stores them).
fn recorded_bundle(policy: &Value) -> Result<(PolicyBundle, Value), AppError> {
    let files: Vec<(String, String)> = serde_json::from_value(policy.get("files").cloned().unwrap_or(Value::Null))
        .map_err(|e| {
            AppError::invalid(
                format!("the policy document has no policy files: {e}"),
                "the policy document is the one a gate check stored",
            )
        })?;
    Ok((
        PolicyBundle { files },
        policy.get("data").cloned().unwrap_or(Value::Null),
    ))
}

/// A recorded decision with what met each control (`ward gate explain`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    /// The decision as recorded.
    #[serde(flatten)]
    pub decision: GateDecision,
    /// Every control the input met and the records that met it, from the policy recorded with
    /// the decision (`data.ward.gate.satisfied`); absent when that policy predates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub satisfied: Option<Vec<ward_core::gate::Satisfied>>,
    /// Why `satisfied` could not be evaluated (a stored document missing or altered, the
    /// policy not evaluating): the decision is still shown as recorded; `ward gate replay`
    /// says more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unexplained: Option<String>,
}

/// Decision `id` with what satisfied each control, evaluated from its stored input and policy.
/// The recorded decision is shown even when that evaluation fails (`unexplained` says why).
pub async fn explain(ledger: &Ledger, id: u64) -> Result<Explanation, AppError> {
    let decision = decision(ledger, id).await?;
    let satisfied = async {
        let (input, policy) = stored_evaluation(ledger, &decision).await?;
        let (bundle, data) = recorded_bundle(&policy)?;
        ward_core::gate::satisfied(&bundle, &input, &data).map_err(policy_error)
    }
    .await;
    Ok(match satisfied {
        Ok(satisfied) => Explanation {
            decision,
            satisfied,
            unexplained: None,
        },
        Err(e) => Explanation {
            decision,
            satisfied: None,
            unexplained: Some(format!("{} ({})", e.code, e.message)),
        },
    })
}

/// A JSON document stored with a decision, refused when missing or not matching its digest.
async fn load_stored(ledger: &Ledger, digest: &str) -> Result<Value, AppError> {
    let bytes = crate::documents::checked_bytes(ledger, digest, "stored document").await?;
    serde_json::from_slice::<Value>(&bytes).map_err(AppError::internal)
}

/// Evaluates a recorded gate input document with a recorded policy document (`files` and
/// `data`, as `check` stores them): the one replay, used by `replay` and by bundle verification.
pub fn evaluate_recorded(input: &Value, policy: &Value) -> Result<ward_core::gate::Decision, AppError> {
    let (bundle, data) = recorded_bundle(policy)?;
    evaluate(&bundle, input, &data).map_err(policy_error)
}

/// Re-evaluates a recorded decision from its stored input and policy documents.
pub async fn replay(ledger: &Ledger, id: u64) -> Result<Replay, AppError> {
    let recorded = decision(ledger, id).await?;
    let (input, policy) = stored_evaluation(ledger, &recorded).await?;
    let replayed = evaluate_recorded(&input, &policy)?;
    let identical =
        replayed.allow == recorded.allow && replayed.reasons == recorded.reasons && replayed.waived == recorded.waived;
    Ok(Replay {
        recorded,
        replayed,
        identical,
    })
}
