//! The gate: a Rego policy bundle (OPA-compatible, evaluated by `regorus`) decides whether a
//! change may enter an environment.
//!
//! The bundle is Ward's defaults (`policies/gate.rego`, package `ward.gate`) plus the team's own
//! `policies/*.rego`. Evaluation is sandboxed: regorus is built without its time, HTTP and
//! network builtins, so a policy reads time only from the input (`now_secs`) and cannot reach
//! anything; a time limit bounds it. The same bundle, input and data always give the same
//! [`Decision`] — which is what `ward gate replay` checks.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the gate input document (see `docs/gate-input.schema.json`).
pub const INPUT_VERSION: &str = "ward.gate.input/v1";
/// Ward's bundled policy.
pub const DEFAULT_POLICY: &str = include_str!("../policies/gate.rego");
/// Tests of the bundled policy (`ward policy test` runs them with the team's).
pub const DEFAULT_POLICY_TESTS: &str = include_str!("../policies/gate_test.rego");
/// Largest policy file.
pub const MAX_POLICY_FILE: usize = 1024 * 1024;

/// Policy files: `(name, source)`, sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyBundle {
    /// The files.
    pub files: Vec<(String, String)>,
}

impl PolicyBundle {
    /// The bundled defaults and their tests.
    pub fn defaults() -> PolicyBundle {
        PolicyBundle {
            files: vec![
                ("ward/gate.rego".into(), DEFAULT_POLICY.into()),
                ("ward/gate_test.rego".into(), DEFAULT_POLICY_TESTS.into()),
            ],
        }
    }

    /// Adds a file (kept sorted by name).
    pub fn add(&mut self, name: String, source: String) {
        self.files.push((name, source));
        self.files.sort();
    }

    /// `sha256:` of the bundle (file names and contents).
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(&self.files).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
    }
}

/// One reason a gate blocks, with how to satisfy it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// Rule id, e.g. `evidence.sbom`.
    pub rule: String,
    /// What is missing.
    pub message: String,
    /// How to satisfy it, in words that name no interface (no command, no route).
    pub fix: String,
    /// The step that satisfies it, when there is one a person can take: the CLI prints it as a
    /// command, the web UI as a link, the API returns it as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// A step that satisfies a [`Reason`], named in no interface's words: each adapter renders it
/// (`ward approve --change …`, the change's signing page, this object). A policy gives one
/// beside its `fix` (`"action": {"do": "approve", "change": "CHG-1", "meaning": "approved"}`);
/// an action Ward does not know, or one missing a field, is dropped and the fix text stays.
/// Values a person supplies are written as placeholders in capitals (`FILE`, `dr:TOOL`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Read the effective controls of the configuration.
    CheckConfig,
    /// Attach a document as evidence about the change or one of its artifacts (neither: backup
    /// evidence about the stores of `[[services]]`).
    Attest {
        /// The change the evidence is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        change: Option<String>,
        /// Or the artifact (digest).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        artifact: Option<String>,
        /// The evidence type when it is not detected (`custom:rollback-plan`, `dr:TOOL`).
        #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// The document, e.g. `report.xml`.
        file: String,
    },
    /// Give the change its ticket.
    SetTicket {
        /// Change id.
        change: String,
    },
    /// Sign the change with this meaning.
    Approve {
        /// Change id.
        change: String,
        /// Meaning of the signature (`approved`, a checklist item).
        meaning: String,
    },
    /// An approver waives one finding for the change.
    WaiveFinding {
        /// Change id.
        change: String,
        /// The rule the waiver excuses.
        rule: String,
        /// The finding (vulnerability id).
        finding: String,
    },
    /// Read the error-budget state of the services' objectives.
    ShowSlo,
    /// Read the disaster-recovery readiness of the services.
    ShowDr,
    /// Record a restore test of a store.
    RecordRestoreTest {
        /// The store, as `[[services]] stores` names it (`STORE` when unknown).
        store: String,
    },
    /// Run a rollback drill in an environment.
    DrillRollback {
        /// Environment.
        environment: String,
    },
    /// Target the change at these environments (its signatures become stale).
    Retarget {
        /// Change id.
        change: String,
        /// Every environment it should target.
        environments: Vec<String>,
    },
    /// Promote the change to an environment (one ring of it).
    Promote {
        /// Change id.
        change: String,
        /// Environment.
        environment: String,
        /// Ring, when the environment's tenants are in rings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ring: Option<String>,
    },
}

/// A reason excused by an active waiver or break-glass.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Excused {
    /// Rule id.
    pub rule: String,
    /// What would have blocked.
    pub message: String,
    /// The waiver (`WVR-…`) or break-glass (`BG-…`) that excuses it.
    pub waiver: String,
}

/// A gate decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    /// Whether the change may enter.
    pub allow: bool,
    /// Every blocking reason, sorted.
    pub reasons: Vec<Reason>,
    /// Reasons excused by active waivers or break-glass, sorted (visible in every decision).
    #[serde(default)]
    pub waived: Vec<Excused>,
}

/// Why a policy could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A policy file does not parse or compile.
    #[error("policy {file}: {reason}")]
    Policy {
        /// File name.
        file: String,
        /// Parser message (with line and column).
        reason: String,
    },
    /// Evaluation failed (or its result is not a decision).
    #[error("policy evaluation failed: {0}")]
    Eval(String),
}

/// How many prepared engines [`prepared_eval`] keeps (one per policy bundle and data document in
/// use: a server with a few environments' bundles needs a few).
const PREPARED_ENGINES: usize = 8;

/// Engines with their policies parsed and analysed and their data loaded, by the digest of what
/// they were built from ([`engine_key`]), most recently built last.
static PREPARED: std::sync::Mutex<Vec<([u8; 32], regorus::Engine)>> = std::sync::Mutex::new(Vec::new());

/// What an engine for `bundle` (its policies, tests left out) and `data_json` is built from,
/// each part length-prefixed so that no two different bundles share a key.
fn engine_key(bundle: &PolicyBundle, data_json: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    for (name, source) in bundle.files.iter().filter(|(name, _)| !name.ends_with("_test.rego")) {
        for part in [name.as_bytes(), source.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    h.update(data_json.as_bytes());
    h.finalize().into()
}

/// Evaluates `rule` for `input` with an engine for `bundle` and `data`: a clone of a prepared one
/// when this bundle and data were evaluated before, else a new one, kept once it evaluated.
///
/// Parsing and analysing the bundled policy cost several times its evaluation (BENCHMARKS.md,
/// "Gate decision"). A clone shares the compiled policy and every evaluation starts from a clean
/// state (regorus clears its evaluation state before each rule; the input is replaced), so a
/// cached engine gives exactly what a fresh one gives — `a_prepared_engine_decides_as_a_fresh_one`.
fn prepared_eval(
    bundle: &PolicyBundle,
    input: &serde_json::Value,
    data: &serde_json::Value,
    rule: &str,
) -> Result<regorus::Value, GateError> {
    let data_json = data.to_string();
    let key = engine_key(bundle, &data_json);
    let cached = PREPARED
        .lock()
        .ok()
        .and_then(|engines| engines.iter().find(|(k, _)| *k == key).map(|(_, e)| e.clone()));
    let fresh = cached.is_none();
    let mut e = match cached {
        Some(e) => e,
        None => engine_from_json(bundle, &data_json, false)?,
    };
    e.set_input_json(&input.to_string())
        .map_err(|err| GateError::Eval(format!("input: {err}")))?;
    let v = e
        .eval_rule(rule.into())
        .map_err(|err| GateError::Eval(err.to_string()))?;
    if fresh
        && let Ok(mut engines) = PREPARED.lock()
        && !engines.iter().any(|(k, _)| *k == key)
    {
        if engines.len() >= PREPARED_ENGINES {
            engines.remove(0);
        }
        engines.push((key, e));
    }
    Ok(v)
}

fn engine(bundle: &PolicyBundle, data: &serde_json::Value, tests: bool) -> Result<regorus::Engine, GateError> {
    engine_from_json(bundle, &data.to_string(), tests)
}

fn engine_from_json(bundle: &PolicyBundle, data_json: &str, tests: bool) -> Result<regorus::Engine, GateError> {
    let mut e = regorus::Engine::new();
    e.set_strict_builtin_errors(true);
    for (name, source) in &bundle.files {
        if !tests && name.ends_with("_test.rego") {
            continue;
        }
        if source.len() > MAX_POLICY_FILE {
            return Err(GateError::Policy {
                file: name.clone(),
                reason: format!("larger than {MAX_POLICY_FILE} bytes"),
            });
        }
        e.add_policy(name.clone(), source.clone())
            .map_err(|err| GateError::Policy {
                file: name.clone(),
                reason: err.to_string(),
            })?;
    }
    e.add_data_json(data_json)
        .map_err(|err| GateError::Eval(format!("data: {err}")))?;
    Ok(e)
}

/// Evaluates `data.ward.gate.decision` for `input`.
pub fn evaluate(
    bundle: &PolicyBundle,
    input: &serde_json::Value,
    data: &serde_json::Value,
) -> Result<Decision, GateError> {
    let v = prepared_eval(bundle, input, data, "data.ward.gate.decision")?;
    let json: serde_json::Value =
        serde_json::from_str(&v.to_json_str().map_err(|err| GateError::Eval(err.to_string()))?)
            .map_err(|err| GateError::Eval(err.to_string()))?;
    let allow = json.get("allow").and_then(serde_json::Value::as_bool).ok_or_else(|| {
        GateError::Eval("data.ward.gate.decision has no boolean `allow` (is package ward.gate loaded?)".into())
    })?;
    let reasons: Vec<Reason> = sorted_list(&json, "deny", |field, r| Reason {
        rule: field("rule"),
        message: r.as_str().map_or_else(|| field("message"), str::to_string),
        fix: field("fix"),
        action: r
            .get("action")
            .and_then(|a| serde_json::from_value::<Action>(a.clone()).ok()),
    });
    let waived: Vec<Excused> = sorted_list(&json, "waived", |field, _| Excused {
        rule: field("rule"),
        message: field("message"),
        waiver: field("waiver"),
    });
    // A policy that denies must also not allow: the verdict is the stricter of the two.
    Ok(Decision {
        allow: allow && reasons.is_empty(),
        reasons,
        waived,
    })
}

/// A control the input meets, with the records that meet it (`data.ward.gate.satisfied`): what
/// `ward gate explain` lists, for an allow as for a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Satisfied {
    /// Control, named as the rule that would block without it (`evidence.sbom`, `approvals.quorum`).
    pub control: String,
    /// The artifact (or change) it is about, for per-artifact controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// What meets it: `{"kind": "evidence", seq, id, type, file_name}`, `{"kind": "signature",
    /// signer, printed_name, meaning, time}`, `{"kind": "ticket", url}` or `{"kind": "record", text}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub by: Vec<serde_json::Value>,
}

/// Evaluates `data.ward.gate.satisfied` for `input`: every control met and what meets it, sorted.
/// `None` when the policy does not define it (a policy recorded before explanations existed).
pub fn satisfied(
    bundle: &PolicyBundle,
    input: &serde_json::Value,
    data: &serde_json::Value,
) -> Result<Option<Vec<Satisfied>>, GateError> {
    if !bundle.files.iter().any(|(_, src)| src.contains("satisfied contains")) {
        return Ok(None);
    }
    let v = prepared_eval(bundle, input, data, "data.ward.gate.satisfied")?;
    let json: serde_json::Value =
        serde_json::from_str(&v.to_json_str().map_err(|err| GateError::Eval(err.to_string()))?)
            .map_err(|err| GateError::Eval(err.to_string()))?;
    let mut out: Vec<Satisfied> = match json {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => vec![],
    };
    out.sort_by(|a, b| (&a.control, &a.artifact).cmp(&(&b.control, &b.artifact)));
    Ok(Some(out))
}

/// The decision's list `key` (a Rego set comes back as a list), each item made by `make` from its
/// string fields, sorted.
fn sorted_list<T: Ord>(
    json: &serde_json::Value,
    key: &str,
    make: impl Fn(&dyn Fn(&str) -> String, &serde_json::Value) -> T,
) -> Vec<T> {
    let mut out: Vec<T> = json
        .get(key)
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            let field = |k: &str| {
                r.get(k)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            make(&field, r)
        })
        .collect();
    out.sort();
    out
}

/// One policy test's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// `package.rule`.
    pub name: String,
    /// Passed.
    pub passed: bool,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Runs every `test_*` rule of the bundle's `*_test.rego` files.
pub fn run_tests(bundle: &PolicyBundle, data: &serde_json::Value) -> Result<Vec<TestOutcome>, GateError> {
    let mut e = engine(bundle, data, true)?;
    let mut names = Vec::new();
    for (file, source) in bundle.files.iter().filter(|(f, _)| f.ends_with("_test.rego")) {
        let package = source
            .lines()
            .find_map(|l| l.trim().strip_prefix("package "))
            .map(str::trim)
            .ok_or_else(|| GateError::Policy {
                file: file.clone(),
                reason: "no package line".into(),
            })?;
        for l in source.lines() {
            if let Some(rest) = l.strip_prefix("test_") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                let full = format!("data.{package}.test_{name}");
                if !names.contains(&full) {
                    names.push(full);
                }
            }
        }
    }
    let mut out = Vec::new();
    for name in names {
        let (passed, error) = match e.eval_rule(name.clone()) {
            Ok(v) if v == regorus::Value::from(true) => (true, None),
            Ok(v) => (false, Some(format!("evaluated to {v}"))),
            Err(err) => (false, Some(err.to_string())),
        };
        out.push(TestOutcome {
            name: name.trim_start_matches("data.").to_string(),
            passed,
            error,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> serde_json::Value {
        json!({"controls": {"tiers": {"low": {"evidence": ["tests_passed"], "approvals": 1}}, "checklist": {}}})
    }

    #[test]
    fn bundled_tests_pass() {
        let results = run_tests(&PolicyBundle::defaults(), &data()).unwrap();
        assert!(results.len() >= 4, "{results:?}");
        for r in &results {
            assert!(r.passed, "{r:?}");
        }
    }

    #[test]
    fn decisions_are_reproducible_and_explain_themselves() {
        let input = json!({"version": INPUT_VERSION, "now_secs": 0, "change": {"tier": "low", "tags": []},
            "evidence": [], "approvals": [], "vulnerabilities": []});
        let a = evaluate(&PolicyBundle::defaults(), &input, &data()).unwrap();
        let b = evaluate(&PolicyBundle::defaults(), &input, &data()).unwrap();
        assert_eq!(a, b);
        assert!(!a.allow);
        let rules: Vec<&str> = a.reasons.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(rules, vec!["approvals.quorum", "evidence.tests_passed"]);
        assert!(a.reasons.iter().all(|r| !r.fix.is_empty()));
    }

    /// The input (and controls) under which the bundled policy blocks on nearly every rule.
    fn every_rule() -> (serde_json::Value, serde_json::Value) {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../policies/testdata/every_rule.json")).unwrap();
        (doc["input"].clone(), doc["data"].clone())
    }

    /// The fixes reach every interface (an HTTP client, the web UI, the CLI): each says in plain
    /// words what to do and names no command; the step a person takes is the reason's action,
    /// which each interface renders in its own words. Only rules that leave nothing to do but
    /// wait, mend or ask have none.
    #[test]
    fn every_bundled_fix_is_in_plain_words_and_carries_its_action() {
        let (input, data) = every_rule();
        let d = evaluate(&PolicyBundle::defaults(), &input, &data).unwrap();
        let rules: std::collections::BTreeSet<&str> = d.reasons.iter().map(|r| r.rule.as_str()).collect();
        for rule in [
            "approvals.quorum",
            "approvals.rejected",
            "approvals.requester_sole_approver",
            "approvals.role.release-manager",
            "artifacts.version_rebound",
            "calendar.freeze",
            "calendar.outside_window",
            "change.ticket_missing",
            "checklist.privacy-review",
            "dr.readiness",
            "environment.not_targeted",
            "evidence.no_critical_sast",
            "evidence.provenance",
            "evidence.rollback_plan",
            "evidence.sbom",
            "evidence.step.build",
            "evidence.tests_failed",
            "evidence.tests_passed",
            "evidence.vulnerability_scan",
            "promotion.previous_environment",
            "promotion.ring_order",
            "security.critical_finding_internet_facing",
            "sla.high",
            "slo.error_budget",
            "slo.unknown",
            "vulnerabilities.critical_open",
        ] {
            assert!(rules.contains(rule), "{rule} does not fire: {rules:?}");
        }
        let nothing_to_run = [
            "evidence.no_critical_sast",
            "approvals.rejected",
            "approvals.requester_sole_approver",
            "artifacts.version_rebound",
            "calendar.freeze",
            "calendar.outside_window",
            "security.critical_finding_internet_facing",
            "sla.high",
            "slo.error_budget",
        ];
        for r in &d.reasons {
            assert!(
                !r.fix.is_empty() && !r.fix.contains("ward ") && !r.fix.contains("--"),
                "{r:?}"
            );
            assert_eq!(r.action.is_none(), nothing_to_run.contains(&r.rule.as_str()), "{r:?}");
        }
        let actions: std::collections::BTreeSet<&Action> = d.reasons.iter().filter_map(|r| r.action.as_ref()).collect();
        assert!(actions.contains(&Action::Promote {
            change: "CHG-7".into(),
            environment: "prod".into(),
            ring: Some("internal".into())
        }));
        assert!(actions.contains(&Action::Attest {
            change: None,
            artifact: Some("sha256:aa".into()),
            kind: Some("custom:rollback-plan".into()),
            file: "plan.json".into()
        }));
        assert!(actions.contains(&Action::Retarget {
            change: "CHG-7".into(),
            environments: vec!["dev".into(), "staging".into(), "prod".into()]
        }));
        assert!(actions.contains(&Action::RecordRestoreTest {
            store: "orders-db".into()
        }));
    }

    /// A team's rule may give an action; one Ward does not know (or one missing a field) is
    /// dropped, and the rule still blocks with its fix.
    #[test]
    fn an_unknown_action_in_a_team_rule_is_dropped_and_the_reason_stays() {
        let mut bundle = PolicyBundle::defaults();
        bundle.add(
            "team/actions.rego".into(),
            r#"package ward.gate
import rego.v1
deny contains {"rule": "team.a", "message": "m", "fix": "f", "action": {"do": "reboot_the_moon"}} if input.weekday == "friday"
deny contains {"rule": "team.b", "message": "m", "fix": "f", "action": {"do": "approve", "change": "CHG-1"}} if input.weekday == "friday"
deny contains {"rule": "team.c", "message": "m", "fix": "f", "action": {"do": "approve", "change": "CHG-1", "meaning": "qa"}} if input.weekday == "friday"
"#
            .into(),
        );
        let input = json!({"now_secs": 0, "weekday": "friday", "change": {"id": "CHG-1", "tier": "low", "tags": []},
            "evidence": [], "approvals": [], "vulnerabilities": []});
        let d = evaluate(&bundle, &input, &data()).unwrap();
        let team: Vec<(&str, Option<&Action>)> = d
            .reasons
            .iter()
            .filter(|r| r.rule.starts_with("team."))
            .map(|r| (r.rule.as_str(), r.action.as_ref()))
            .collect();
        let qa = Action::Approve {
            change: "CHG-1".into(),
            meaning: "qa".into(),
        };
        assert_eq!(team, vec![("team.a", None), ("team.b", None), ("team.c", Some(&qa))]);
    }

    /// The decision of an engine built for this evaluation alone, for comparison.
    fn fresh_decision(bundle: &PolicyBundle, input: &serde_json::Value, data: &serde_json::Value) -> serde_json::Value {
        let mut e = engine(bundle, data, false).unwrap();
        e.set_input_json(&input.to_string()).unwrap();
        let v = e.eval_rule("data.ward.gate.decision".into()).unwrap();
        serde_json::from_str(&v.to_json_str().unwrap()).unwrap()
    }

    #[test]
    fn a_prepared_engine_decides_as_a_fresh_one() {
        // A decision must not carry anything of the one before it on the same cached engine: a
        // blocked change, then an allowed one, then the blocked one again, under two data
        // documents (the cache is keyed by both), each compared with an engine of its own.
        let mut bundle = PolicyBundle::defaults();
        bundle.add(
            "team/prepared.rego".into(),
            "package ward.gate\nimport rego.v1\ndeny contains {\"rule\": \"team.friday\", \"message\": \"m\", \"fix\": \"f\"} if input.weekday == \"friday\"\n".into(),
        );
        let blocked = json!({"now_secs": 0, "weekday": "friday", "change": {"id": "CHG-1", "tier": "low", "tags": []},
            "evidence": [], "approvals": [], "vulnerabilities": []});
        let allowed = json!({"now_secs": 0, "weekday": "monday", "change": {"id": "CHG-2", "tier": "low", "tags": []},
            "evidence": [{"type": "junit", "artifact": "CHG-2", "summary": {"tests": 1, "passed": 1, "failed": 0, "errored": 0}}],
            "approvals": [{"signer": "user:a", "meaning": "approved", "decision": "approved", "stale": false}], "vulnerabilities": []});
        let two_approvals =
            json!({"controls": {"tiers": {"low": {"evidence": ["tests_passed"], "approvals": 2}}, "checklist": {}}});
        for data in [data(), two_approvals] {
            for input in [&blocked, &allowed, &blocked, &allowed] {
                let cached = evaluate(&bundle, input, &data).unwrap();
                let fresh = fresh_decision(&bundle, input, &data);
                let fresh_rules: std::collections::BTreeSet<String> = fresh["deny"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["rule"].as_str().unwrap().to_string())
                    .collect();
                let cached_rules: std::collections::BTreeSet<String> =
                    cached.reasons.iter().map(|r| r.rule.clone()).collect();
                assert_eq!(cached_rules, fresh_rules, "{input} under {data}");
                assert_eq!(
                    cached.allow,
                    fresh["allow"].as_bool().unwrap() && fresh_rules.is_empty()
                );
            }
        }
        assert!(evaluate(&bundle, &allowed, &data()).unwrap().allow);
        let stricter =
            json!({"controls": {"tiers": {"low": {"evidence": ["tests_passed"], "approvals": 2}}, "checklist": {}}});
        assert!(!evaluate(&bundle, &allowed, &stricter).unwrap().allow);
    }

    #[test]
    fn team_rules_add_up_and_broken_policies_are_named() {
        let mut bundle = PolicyBundle::defaults();
        bundle.add(
            "team/freeze.rego".into(),
            "package ward.gate\nimport rego.v1\ndeny contains {\"rule\": \"team.no_fridays\", \"message\": \"m\", \"fix\": \"f\"} if input.weekday == \"friday\"\n".into(),
        );
        let input = json!({"now_secs": 0, "weekday": "friday", "change": {"id": "CHG-1", "tier": "low", "tags": []},
            "evidence": [{"type": "junit", "artifact": "CHG-1", "summary": {"tests": 1, "passed": 1, "failed": 0, "errored": 0}}],
            "approvals": [{"signer": "user:a", "meaning": "approved", "decision": "approved", "stale": false}], "vulnerabilities": []});
        let d = evaluate(&bundle, &input, &data()).unwrap();
        assert_eq!(d.reasons.len(), 1, "{d:?}");
        assert_eq!(d.reasons[0].rule, "team.no_fridays");
        assert_ne!(bundle.digest(), PolicyBundle::defaults().digest());
        let mut broken = PolicyBundle::defaults();
        broken.add("team/bad.rego".into(), "package ward.gate\ndeny contains x if {".into());
        let e = evaluate(&broken, &input, &data()).unwrap_err().to_string();
        assert!(e.contains("team/bad.rego"), "{e}");
    }

    #[test]
    fn policies_cannot_read_the_clock_or_the_network() {
        for builtin in [
            "time.now_ns()",
            "http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1:9\"})",
        ] {
            let mut bundle = PolicyBundle::defaults();
            bundle.add(
                "team/escape.rego".into(),
                format!(
                    "package ward.gate\nimport rego.v1\ndeny contains {{\"rule\": \"escaped\", \"message\": \"m\", \"fix\": \"f\"}} if {{\n  x := {builtin}\n  x != null\n}}\n"
                ),
            );
            let input = json!({"now_secs": 0, "change": {"tier": "low", "tags": []}, "evidence": [], "approvals": [], "vulnerabilities": []});
            let e = evaluate(&bundle, &input, &data()).expect_err(builtin).to_string();
            assert!(e.contains("team/escape.rego"), "{e}");
        }
    }
}
