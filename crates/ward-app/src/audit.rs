//! The auditor's population and sample (issue 19, part 5).
//!
//! An audit of change management asks for the **population** — every production deployment in
//! the period — then draws a **sample** and asks for each sampled deployment's evidence. Ward
//! computes the population from the log (each row from the deployment record and the gate
//! input stored with the decision it relied on), writes it as CSV and JSON, and signs a
//! manifest (query, row count, the files' digests, the signed checkpoint it was computed at)
//! with the log's key, so the auditor can hold Ward to it. The sample is a documented,
//! reproducible draw ([`sample`]): the same population file, `n` and seed always give the same
//! rows, and the algorithm is simple enough to redo in a spreadsheet script.
//!
//! [`row`], [`csv`], [`sample`] and [`verify_population`] are pure; [`population`] reads the
//! log.

use crate::deployments::Deployment;
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use ward_core::Identity;
use ward_core::gate::Excused;
use ward_evidence::digest::of_bytes;
use ward_ledger::{NewEvent, NoteSigner, NoteVerifier};
use ward_store::Ledger;

/// The population's format name (in the manifest and the signed note).
pub const POPULATION_FORMAT: &str = "ward.population/v1";
/// The sample's format name.
pub const SAMPLE_FORMAT: &str = "ward.sample/v1";
/// The only control with a population so far.
pub const CHANGE_MANAGEMENT: &str = "change-management";
/// File names inside a population directory.
pub const FILES: [&str; 2] = ["population.csv", "population.json"];

/// One signature a deployment relied on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    /// Identity.
    pub signer: String,
    /// Printed name at signing.
    pub printed_name: String,
    /// Meaning (approved, privacy-review, …).
    pub meaning: String,
    /// When (RFC 3339).
    pub time: String,
}

/// One production deployment, as the population lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationRow {
    /// The deployment record's log entry.
    pub deployment: u64,
    /// When it was recorded.
    pub time: String,
    /// Environment.
    pub environment: String,
    /// Tenants reached (empty: the environment has none).
    pub tenants: Vec<String>,
    /// `deploy`, `rollback` or `drill`.
    pub action: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// Change id.
    pub change: String,
    /// `normal`, `standard` or `emergency` (from the gate input; empty when it is unavailable).
    pub change_kind: String,
    /// Ticket URL.
    pub ticket: Option<String>,
    /// Risk tier at the gate decision.
    pub tier: String,
    /// Artifact digests deployed.
    pub artifacts: Vec<String>,
    /// Who executed it.
    pub executed_by: String,
    /// The gate decision it relied on (log entry).
    pub gate_decision: u64,
    /// The current approving signatures at that decision.
    pub approvals: Vec<Signer>,
    /// At least one approval counted, every counted approval signed before the deployment, and
    /// no rule about who must sign excused.
    pub approval_preceded_deployment: bool,
    /// No counted approval by a party of the change (opener, author, editor), not deployed by
    /// its opener or an editor, and no separation-of-duties rule excused.
    pub separation_of_duties_held: bool,
    /// The evidence the tier requires was present: no `evidence.*` reason excused.
    pub evidence_complete: bool,
    /// Exceptions, one sentence each: waived or bypassed reasons with the waiver, break-glass
    /// or emergency that excused them; emergency changes; stale signatures; an unreadable input.
    pub exceptions: Vec<String>,
}

/// The gate decision a deployment relied on, as recorded: what it was about and its verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecisionSeen {
    /// The change it judged.
    pub change: String,
    /// The environment it judged.
    pub environment: String,
    /// Its verdict.
    pub allow: bool,
    /// Its excused reasons.
    pub waived: Vec<Excused>,
}

/// Whether the evidence `d`'s tier requires was present when it was deployed (pure): its gate
/// decision is recorded, judged this change into this environment, allowed it, and excused no
/// `evidence.*` reason. The governance metric asks this; the population's column asks it too and
/// also requires the decision's stored gate input to be readable.
pub fn evidence_complete(d: &Deployment, decision: Option<&DecisionSeen>) -> bool {
    decision.is_some_and(|x| {
        x.change == d.change
            && x.environment == d.environment
            && x.allow
            && !x.waived.iter().any(|w| w.rule.starts_with("evidence."))
    })
}

/// The gate decision each of `deployments` relied on, as recorded, read once per decision; a
/// deployment naming no decision, or one not before it, relied on none.
pub async fn decisions_seen(
    ledger: &Ledger,
    deployments: &[Deployment],
) -> Result<HashMap<u64, Option<DecisionSeen>>, AppError> {
    let mut seen: HashMap<u64, Option<DecisionSeen>> = HashMap::new();
    for d in deployments {
        if d.gate_decision == 0 || d.gate_decision >= d.seq || seen.contains_key(&d.gate_decision) {
            continue;
        }
        let decision = match crate::gate::decision(ledger, d.gate_decision).await {
            Ok(x) => Some(DecisionSeen {
                change: x.change,
                environment: x.environment,
                allow: x.allow,
                waived: x.waived,
            }),
            Err(e) if e.kind == crate::error::Kind::NotFound => None,
            Err(e) => return Err(e),
        };
        seen.insert(d.gate_decision, decision);
    }
    Ok(seen)
}

/// Builds one row (pure). `decision` is the gate decision `d.gate_decision` as recorded and
/// `input` the gate input stored with it (`None` when either cannot be found: then no control
/// can be shown to hold, and the row says so).
pub fn row(d: &Deployment, decision: Option<&DecisionSeen>, input: Option<&Value>) -> PopulationRow {
    let no_waivers = Vec::new();
    let waived = decision.map_or(&no_waivers, |x| &x.waived);
    let input = input.filter(|_| decision.is_some());
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let listed = |k: &str| -> Vec<Value> {
        input
            .and_then(|i| i.get(k))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let change = input.and_then(|i| i.get("change")).cloned().unwrap_or(Value::Null);
    let approvals_in = listed("approvals");
    let counted: Vec<&Value> = approvals_in
        .iter()
        .filter(|a| text(a, "decision") == "approved" && a.get("stale").and_then(Value::as_bool) != Some(true))
        .collect();
    let approvals: Vec<Signer> = counted
        .iter()
        .map(|a| Signer {
            signer: text(a, "signer"),
            printed_name: text(a, "printed_name"),
            meaning: text(a, "meaning"),
            time: text(a, "time"),
        })
        .collect();
    let deployed_at = d.time.parse::<jiff::Timestamp>().ok();
    // At least one counted signature, every one older than the deployment.
    let signed_before = !approvals.is_empty()
        && approvals
            .iter()
            .all(|a| matches!((a.time.parse::<jiff::Timestamp>().ok(), deployed_at), (Some(s), Some(t)) if s < t));
    let excused = |f: &dyn Fn(&str) -> bool| waived.iter().any(|w| f(&w.rule));
    let signing_excused = excused(&|r| r.starts_with("approvals.") || r.starts_with("checklist."));
    let separation_excused = excused(&|r| r.starts_with("separation.") || r == "approvals.requester_sole_approver");
    let opener = text(&change, "opener");
    let by_party = counted
        .iter()
        .any(|a| a.get("by_party").and_then(Value::as_bool) == Some(true) || text(a, "signer") == opener);
    // The person who deployed is not a party of the change they deployed.
    let editors: Vec<String> = change
        .get("editors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    let deployed_by_party = d.executed_by == opener || editors.contains(&d.executed_by);
    let mut exceptions: Vec<String> = waived
        .iter()
        .map(|w| {
            let by = match &w.waiver[..] {
                "emergency" => "the emergency change".to_string(),
                id if id.starts_with("BG-") => format!("break-glass {id}"),
                id => format!("waiver {id}"),
            };
            format!("{} excused by {by}", w.rule)
        })
        .collect();
    let kind = text(&change, "kind");
    if kind == "emergency" {
        exceptions.push("emergency change".into());
    }
    let stale = approvals_in
        .iter()
        .filter(|a| a.get("stale").and_then(Value::as_bool) == Some(true))
        .count();
    if stale > 0 {
        exceptions.push(format!("{stale} stale signature(s) at the gate decision, not counted"));
    }
    if let Some(x) = decision
        && (x.change != d.change || x.environment != d.environment || !x.allow)
    {
        exceptions.push(format!(
            "gate decision {} judged {} into {} ({}), not this deployment",
            d.gate_decision,
            x.change,
            x.environment,
            if x.allow { "allowed" } else { "blocked" }
        ));
    }
    let matches = decision.is_some_and(|x| x.change == d.change && x.environment == d.environment && x.allow);
    if input.is_none() {
        exceptions.push(if d.gate_decision == 0 {
            "no gate decision recorded: no control shown to hold".to_string()
        } else {
            format!(
                "gate decision {} or its input cannot be found: no control shown to hold",
                d.gate_decision
            )
        });
    } else if approvals.is_empty() {
        exceptions.push("no approving signature at the gate decision".into());
    }
    if deployed_by_party {
        exceptions.push(format!("deployed by {}, a party of the change", d.executed_by));
    }
    let known = input.is_some() && matches;
    PopulationRow {
        deployment: d.seq,
        time: d.time.clone(),
        environment: d.environment.clone(),
        tenants: d.tenants.clone(),
        action: if d.drill {
            "drill"
        } else if d.rollback_of.is_some() {
            "rollback"
        } else {
            "deploy"
        }
        .into(),
        status: d.status.clone(),
        change: d.change.clone(),
        change_kind: kind,
        ticket: change.get("ticket_url").and_then(Value::as_str).map(str::to_string),
        tier: text(&change, "tier"),
        artifacts: d.digests.clone(),
        executed_by: d.executed_by.clone(),
        gate_decision: d.gate_decision,
        approvals,
        approval_preceded_deployment: known && signed_before && !signing_excused,
        separation_of_duties_held: known && !by_party && !separation_excused && !deployed_by_party,
        evidence_complete: input.is_some() && evidence_complete(d, decision),
        exceptions,
    }
}

/// The CSV header.
pub const CSV_COLUMNS: [&str; 19] = [
    "deployment",
    "time",
    "environment",
    "tenants",
    "action",
    "status",
    "change",
    "change_kind",
    "ticket",
    "tier",
    "artifacts",
    "executed_by",
    "gate_decision",
    "approvers",
    "approval_meanings",
    "approval_preceded_deployment",
    "separation_of_duties_held",
    "evidence_complete",
    "exceptions",
];

/// One CSV field (RFC 4180 quoting). A value a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'` so opening the file
/// never executes anything.
fn field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// The population as CSV (pure): the header, then one line per row; lists joined by `; `.
pub fn csv(rows: &[PopulationRow]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in rows {
        let cols = [
            r.deployment.to_string(),
            r.time.clone(),
            r.environment.clone(),
            r.tenants.join("; "),
            r.action.clone(),
            r.status.clone(),
            r.change.clone(),
            r.change_kind.clone(),
            r.ticket.clone().unwrap_or_default(),
            r.tier.clone(),
            r.artifacts.join("; "),
            r.executed_by.clone(),
            r.gate_decision.to_string(),
            r.approvals
                .iter()
                .map(|a| format!("{} ({})", a.printed_name, a.signer))
                .collect::<Vec<_>>()
                .join("; "),
            r.approvals
                .iter()
                .map(|a| format!("{} at {}", a.meaning, a.time))
                .collect::<Vec<_>>()
                .join("; "),
            r.approval_preceded_deployment.to_string(),
            r.separation_of_duties_held.to_string(),
            r.evidence_complete.to_string(),
            r.exceptions.join("; "),
        ];
        out.push_str(&cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// What defines a population.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationQuery {
    /// The control (`change-management`).
    pub control: String,
    /// Period start (inclusive), RFC 3339.
    pub from: String,
    /// Period end (exclusive), RFC 3339.
    pub to: String,
    /// One environment; absent: every production environment (the end of each chain).
    pub env: Option<String>,
}

/// The population's manifest, signed by [`MANIFEST_SIGNATURE`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationManifest {
    /// [`POPULATION_FORMAT`].
    pub format: String,
    /// The query.
    pub query: PopulationQuery,
    /// The environments it covers.
    pub environments: Vec<String>,
    /// Row count.
    pub rows: usize,
    /// `population.csv` and `population.json` → `sha256:<hex>`.
    pub files: BTreeMap<String, String>,
    /// The signed checkpoint (a C2SP signed note) the population was computed at: every
    /// deployment record it lists is an entry below its size.
    pub checkpoint: String,
    /// Checkpoint size.
    pub checkpoint_size: u64,
    /// Who asked for it.
    pub made_by: String,
    /// When (RFC 3339).
    pub made_at: String,
}

/// The file holding the manifest's signature: a signed note whose text is
/// `ward.population/v1\nsha256:<hex of manifest.json>\n`.
pub const MANIFEST_SIGNATURE: &str = "manifest.sig";

/// A computed population: its files (`population.csv`, `population.json`, `manifest.json`,
/// `manifest.sig`) and rows.
pub struct Population {
    /// The rows.
    pub rows: Vec<PopulationRow>,
    /// The manifest.
    pub manifest: PopulationManifest,
    /// File name → bytes.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Parses the period's `bound` ("start" or "end"), an RFC 3339 time.
pub(crate) fn parse_time(t: &str, bound: &str) -> Result<jiff::Timestamp, AppError> {
    t.parse().map(crate::identifier::to_the_second).map_err(|_| {
        AppError::invalid(
            format!(
                "the period's {bound} {} is not an RFC 3339 time",
                crate::identifier::shown(t)
            ),
            format!("give the period's {bound} as RFC 3339, e.g. 2026-10-01T00:00:00Z"),
        )
    })
}

/// Computes the population of `q` at a fresh signed checkpoint, recording the read
/// (`access.population`, the caller as actor) first.
pub async fn population(
    ledger: &Ledger,
    signer: &dyn NoteSigner,
    origin: &str,
    envs: &[crate::environment::Environment],
    by: &Identity,
    q: &PopulationQuery,
) -> Result<Population, AppError> {
    let (from, to, environments) = checked_query(envs, q)?;
    ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "access.population".into(),
            subject: "log:entries".into(),
            payload: json!({ "query": recorded_query(q, from, to), "environments": environments }),
        })
        .await?;
    population_at(ledger, signer, origin, by, q, environments, (from, to)).await
}

/// The query as a leaf records it: its period as read, to the second in UTC (the text given
/// may carry digits after the second, the caller's to choose).
pub(crate) fn recorded_query(q: &PopulationQuery, from: jiff::Timestamp, to: jiff::Timestamp) -> Value {
    let mut v = json!(q);
    v["from"] = json!(from.to_string());
    v["to"] = json!(to.to_string());
    v
}

/// A population query's period and environments, or its refusal — checked before anything
/// records it (the query is written into the leaf of `access.population` and `access.report`:
/// attack on `b900cd1`, a refused report recorded `--env john.smith.04.12.1961` first).
pub(crate) fn checked_query(
    envs: &[crate::environment::Environment],
    q: &PopulationQuery,
) -> Result<(jiff::Timestamp, jiff::Timestamp, Vec<String>), AppError> {
    if q.control != CHANGE_MANAGEMENT {
        return Err(AppError::invalid(
            format!("no population for control {}", crate::identifier::shown(&q.control)),
            format!("the controls with a population: {CHANGE_MANAGEMENT}"),
        ));
    }
    let (from, to) = (parse_time(&q.from, "start")?, parse_time(&q.to, "end")?);
    if from >= to {
        return Err(AppError::invalid(
            "the period is empty: its start is not before its end",
            "give the period's start earlier than its end",
        ));
    }
    let environments = match &q.env {
        Some(e) => {
            crate::identities::check_name("environment", e)?;
            if !envs.is_empty() && !envs.iter().any(|x| &x.name == e) {
                return Err(crate::environment::undeclared(envs, e));
            }
            vec![e.clone()]
        }
        None => crate::environment::production(envs),
    };
    if environments.is_empty() {
        return Err(AppError::invalid(
            "no production environment is declared",
            "declare [[environments]] in ward.toml, or name the environment",
        ));
    }
    Ok((from, to, environments))
}

/// The population of a checked query at a fresh signed checkpoint.
async fn population_at(
    ledger: &Ledger,
    signer: &dyn NoteSigner,
    origin: &str,
    by: &Identity,
    q: &PopulationQuery,
    environments: Vec<String>,
    (from, to): (jiff::Timestamp, jiff::Timestamp),
) -> Result<Population, AppError> {
    let cp = ledger.checkpoint(signer, origin).await?;
    let mut rows = Vec::new();
    // Many deployments rely on one decision: each decision and its input are read and parsed
    // once (the rows are the same as reading them per row).
    let mut seen: HashMap<u64, (Option<DecisionSeen>, Option<Value>)> = HashMap::new();
    for d in deployments_in_log(ledger, cp.size, &environments, from, to).await? {
        if d.gate_decision == 0 || d.gate_decision >= d.seq {
            rows.push(row(&d, None, None));
            continue;
        }
        let (decision, input) = match seen.entry(d.gate_decision) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(decision_and_input(ledger, d.gate_decision).await?)
            }
        };
        rows.push(row(&d, decision.as_ref(), input.as_ref()));
    }
    // A ticket lives beside the log (a reference in the gate's input since 2026-12-06): the
    // population shows its URL, or that it was purged.
    // Read once each: many deployments ship one change (100,000 rows, a few hundred tickets).
    // So do signers' printed names (since 2026-12-07, twelfth session).
    let mut read: HashMap<String, String> = HashMap::new();
    for r in &mut rows {
        let texts = r
            .ticket
            .iter_mut()
            .chain(r.approvals.iter_mut().map(|a| &mut a.printed_name));
        for t in texts.filter(|t| crate::documents::is_reference(t)) {
            if !read.contains_key(t.as_str()) {
                let text = crate::documents::read_text(ledger, t).await?;
                read.insert(t.clone(), text);
            }
            *t = read[t.as_str()].clone();
        }
    }
    let csv_bytes = csv(&rows).into_bytes();
    let json_bytes = serde_json::to_vec_pretty(&rows).map_err(AppError::internal)?;
    let manifest = PopulationManifest {
        format: POPULATION_FORMAT.into(),
        query: q.clone(),
        environments,
        rows: rows.len(),
        files: BTreeMap::from([
            ("population.csv".to_string(), of_bytes(&csv_bytes)),
            ("population.json".to_string(), of_bytes(&json_bytes)),
        ]),
        checkpoint: cp.note.clone(),
        checkpoint_size: cp.size,
        made_by: by.id.clone(),
        made_at: jiff::Timestamp::now().to_string(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(AppError::internal)?;
    let note = ward_ledger::note::sign(
        &format!("{POPULATION_FORMAT}\n{}\n", of_bytes(&manifest_bytes)),
        &[signer],
    )
    .map_err(AppError::internal)?;
    let files = BTreeMap::from([
        ("population.csv".to_string(), csv_bytes),
        ("population.json".to_string(), json_bytes),
        ("manifest.json".to_string(), manifest_bytes),
        (MANIFEST_SIGNATURE.to_string(), note.into_bytes()),
    ]);
    Ok(Population { rows, manifest, files })
}

/// The gate decision `id` as the population sees it, and the input stored with it (`None` for
/// what cannot be found).
async fn decision_and_input(ledger: &Ledger, id: u64) -> Result<(Option<DecisionSeen>, Option<Value>), AppError> {
    match crate::gate::decision(ledger, id).await {
        Ok(x) => {
            let seen = DecisionSeen {
                change: x.change,
                environment: x.environment,
                allow: x.allow,
                waived: x.waived,
            };
            let input = match crate::gate::stored_input(ledger, id).await {
                Ok(v) => Some(v),
                Err(e) if e.kind == crate::error::Kind::NotFound => None,
                Err(e) => return Err(e),
            };
            Ok((Some(seen), input))
        }
        Err(e) if e.kind == crate::error::Kind::NotFound => Ok((None, None)),
        Err(e) => Err(e),
    }
}

/// Every `deployment.recorded` entry below `size` into one of `environments` within
/// `[from, to)`, read from the log itself (not a state table), in log order. A record whose
/// time or payload cannot be read is an error, never a row left out.
async fn deployments_in_log(
    ledger: &Ledger,
    size: u64,
    environments: &[String],
    from: jiff::Timestamp,
    to: jiff::Timestamp,
) -> Result<Vec<Deployment>, AppError> {
    // One pass collects the records (an out-of-line payload is read after it).
    let mut records = Vec::new();
    crate::bundle::scan(ledger, size, |env, _| {
        if env.kind == "deployment.recorded" {
            records.push(env);
        }
    })
    .await?;
    let mut out = Vec::new();
    for env in records {
        let mut payload = match &env.payload {
            ward_ledger::Payload::Inline(v) => v.clone(),
            ward_ledger::Payload::Digest { sha256, .. } => {
                let bytes = ledger.store().blob(sha256).await?.ok_or_else(|| {
                    AppError::internal(format!(
                        "entry {}: its out-of-line payload is missing (check the store)",
                        env.seq
                    ))
                })?;
                serde_json::from_slice(&bytes).map_err(AppError::internal)?
            }
        };
        let in_scope = payload
            .get("environment")
            .and_then(Value::as_str)
            .is_some_and(|x| environments.iter().any(|e| e == x));
        if !in_scope {
            continue;
        }
        let t: jiff::Timestamp = env
            .time
            .parse()
            .map_err(|_| AppError::internal(format!("entry {}: its time {:?} does not parse", env.seq, env.time)))?;
        if t < from || t >= to {
            continue;
        }
        payload["seq"] = json!(env.seq);
        payload["time"] = json!(env.time);
        let d: Deployment = serde_json::from_value(payload)
            .map_err(|e| AppError::internal(format!("entry {}: not a deployment record: {e}", env.seq)))?;
        out.push(d);
    }
    Ok(out)
}

/// What [`verify_population`] checked.
#[derive(Clone, Debug, Serialize)]
pub struct PopulationCheck {
    /// The manifest.
    pub manifest: PopulationManifest,
    /// `sha256:<hex>` of manifest.json (what the signature covers).
    pub manifest_digest: String,
}

/// Verifies a population offline (pure): the manifest's signature by the log's key, each
/// file's digest, the checkpoint's signature, and that the JSON rows are as many as the
/// manifest says and all below the checkpoint. The error names the first file that fails.
pub fn verify_population(
    files: &BTreeMap<String, Vec<u8>>,
    verifier: &dyn NoteVerifier,
) -> Result<PopulationCheck, String> {
    let get = |name: &str| files.get(name).ok_or_else(|| format!("{name}: missing"));
    let manifest_bytes = get("manifest.json")?;
    let note = ward_ledger::note::open(get(MANIFEST_SIGNATURE)?, &[verifier])
        .map_err(|e| format!("{MANIFEST_SIGNATURE}: {e}"))?;
    let manifest_digest = of_bytes(manifest_bytes);
    if note.text != format!("{POPULATION_FORMAT}\n{manifest_digest}\n") {
        return Err("manifest.json: its digest is not the one the signature covers".into());
    }
    let manifest: PopulationManifest =
        serde_json::from_slice(manifest_bytes).map_err(|e| format!("manifest.json: {e}"))?;
    for name in FILES {
        let want = manifest
            .files
            .get(name)
            .ok_or_else(|| format!("manifest.json: no digest for {name}"))?;
        if &of_bytes(get(name)?) != want {
            return Err(format!("{name}: its sha256 is not the manifest's"));
        }
    }
    let cp = ward_ledger::note::open(manifest.checkpoint.as_bytes(), &[verifier])
        .map_err(|e| format!("manifest.json: checkpoint: {e}"))?;
    let cp_size = cp.text.lines().nth(1).and_then(|l| l.parse::<u64>().ok());
    if cp_size != Some(manifest.checkpoint_size) {
        return Err("manifest.json: checkpoint_size is not the signed checkpoint's size".into());
    }
    let rows: Vec<PopulationRow> =
        serde_json::from_slice(get("population.json")?).map_err(|e| format!("population.json: {e}"))?;
    if csv(&rows).as_bytes() != get("population.csv")?.as_slice() {
        return Err("population.csv: not the rows of population.json".into());
    }
    let (from, to) = (
        manifest
            .query
            .from
            .parse::<jiff::Timestamp>()
            .map_err(|e| format!("manifest.json: from: {e}"))?,
        manifest
            .query
            .to
            .parse::<jiff::Timestamp>()
            .map_err(|e| format!("manifest.json: to: {e}"))?,
    );
    for w in rows.windows(2) {
        if w[0].deployment >= w[1].deployment {
            return Err(format!(
                "population.json: deployment {} is listed out of order or twice",
                w[1].deployment
            ));
        }
    }
    for r in &rows {
        let t = r
            .time
            .parse::<jiff::Timestamp>()
            .map_err(|e| format!("population.json: deployment {}: {e}", r.deployment))?;
        if t < from || t >= to || !manifest.environments.contains(&r.environment) {
            return Err(format!(
                "population.json: deployment {} is outside the query (time or environment)",
                r.deployment
            ));
        }
    }
    if rows.len() != manifest.rows {
        return Err(format!(
            "population.json: {} rows, the manifest says {}",
            rows.len(),
            manifest.rows
        ));
    }
    if let Some(r) = rows.iter().find(|r| r.deployment >= manifest.checkpoint_size) {
        return Err(format!(
            "population.json: deployment {} is not below the checkpoint size {}",
            r.deployment, manifest.checkpoint_size
        ));
    }
    Ok(PopulationCheck {
        manifest,
        manifest_digest,
    })
}

/// A sample's rank of one row: `sha256(manifest + "\n" + seed + "\n" + deployment as
/// decimal)`, lower first, where `manifest` is the population manifest's `sha256:<hex>`. Bound
/// to the manifest, the draw cannot be foreseen before the population exists: the auditor picks
/// the seed after receiving it.
pub fn rank(manifest: &str, seed: &str, deployment: u64) -> [u8; 32] {
    Sha256::digest(format!("{manifest}\n{seed}\n{deployment}").as_bytes()).into()
}

/// Draws `n` rows (pure, reproducible): every row ranked by [`rank`], the `n` lowest taken,
/// returned in population order. Fewer rows than `n`: all of them.
pub fn sample(rows: &[PopulationRow], n: usize, manifest: &str, seed: &str) -> Vec<PopulationRow> {
    let mut ranked: Vec<([u8; 32], usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (rank(manifest, seed, r.deployment), i))
        .collect();
    ranked.sort();
    let mut picked: Vec<usize> = ranked.into_iter().take(n).map(|(_, i)| i).collect();
    picked.sort_unstable();
    picked.into_iter().map(|i| rows[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(seq: u64, time: &str) -> Deployment {
        serde_json::from_value(json!({
            "change": "CHG-00000001", "environment": "prod", "digests": ["sha256:aa"],
            "status": "succeeded", "gate_decision": seq - 1, "approvals": ["user:vera"],
            "executed_by": "user:rita", "seq": seq, "time": time,
        }))
        .unwrap()
    }

    fn input(approvals: Value, kind: &str) -> Value {
        json!({"change": {"kind": kind, "tier": "high", "opener": "user:dev", "ticket_url": "https://t/1"},
               "approvals": approvals})
    }

    fn seen(waived: &[Excused]) -> DecisionSeen {
        DecisionSeen {
            change: "CHG-00000001".into(),
            environment: "prod".into(),
            allow: true,
            waived: waived.to_vec(),
        }
    }

    fn sig(who: &str, time: &str, stale: bool, by_party: bool) -> Value {
        json!({"signer": who, "printed_name": who, "meaning": "approved", "decision": "approved",
               "time": time, "stale": stale, "by_party": by_party})
    }

    #[test]
    fn a_clean_deployment_holds_every_control() {
        let d = deployment(10, "2026-11-02T10:00:00Z");
        let i = input(
            json!([sig("user:vera", "2026-11-02T09:00:00Z", false, false)]),
            "normal",
        );
        let r = row(&d, Some(&seen(&[])), Some(&i));
        assert!(r.approval_preceded_deployment && r.separation_of_duties_held && r.evidence_complete);
        assert!(r.exceptions.is_empty(), "{:?}", r.exceptions);
        assert_eq!((r.action.as_str(), r.tier.as_str()), ("deploy", "high"));
    }

    #[test]
    fn a_signature_after_the_deployment_or_an_excused_signing_rule_fails_approval_first() {
        let d = deployment(10, "2026-11-02T10:00:00Z");
        let late = input(
            json!([sig("user:vera", "2026-11-02T11:00:00Z", false, false)]),
            "normal",
        );
        assert!(!row(&d, Some(&seen(&[])), Some(&late)).approval_preceded_deployment);
        let ok = input(
            json!([sig("user:vera", "2026-11-02T09:00:00Z", false, false)]),
            "emergency",
        );
        let bg = Excused {
            rule: "approvals.quorum".into(),
            message: "m".into(),
            waiver: "BG-1".into(),
        };
        let r = row(&d, Some(&seen(&[bg])), Some(&ok));
        assert!(!r.approval_preceded_deployment);
        assert_eq!(
            r.exceptions,
            ["approvals.quorum excused by break-glass BG-1", "emergency change"]
        );
    }

    #[test]
    fn a_party_signing_or_an_excused_evidence_rule_is_shown_and_stale_ones_are_counted() {
        let d = deployment(10, "2026-11-02T10:00:00Z");
        let i = input(
            json!([
                sig("user:dev", "2026-11-02T09:00:00Z", false, false),
                sig("user:ann", "2026-11-02T09:00:00Z", true, false)
            ]),
            "normal",
        );
        let waiver = Excused {
            rule: "evidence.sbom".into(),
            message: "m".into(),
            waiver: "WVR-1".into(),
        };
        let r = row(&d, Some(&seen(&[waiver])), Some(&i));
        assert!(!r.separation_of_duties_held, "the opener signed");
        assert!(!r.evidence_complete);
        assert_eq!(r.approvals.len(), 1, "the stale signature is not counted");
        assert!(
            r.exceptions
                .contains(&"1 stale signature(s) at the gate decision, not counted".to_string())
        );
        assert!(
            r.exceptions
                .contains(&"evidence.sbom excused by waiver WVR-1".to_string())
        );
    }

    #[test]
    fn an_unreadable_gate_input_shows_no_control_holding() {
        let r = row(&deployment(10, "2026-11-02T10:00:00Z"), None, None);
        assert!(!r.approval_preceded_deployment && !r.separation_of_duties_held && !r.evidence_complete);
        assert_eq!(r.exceptions.len(), 1);
        // A decision about another change (or one that blocked) holds nothing for this one.
        let i = input(
            json!([sig("user:vera", "2026-11-02T09:00:00Z", false, false)]),
            "normal",
        );
        let mut other = seen(&[]);
        other.change = "CHG-99999999".into();
        let r = row(&deployment(10, "2026-11-02T10:00:00Z"), Some(&other), Some(&i));
        assert!(!r.approval_preceded_deployment && !r.separation_of_duties_held && !r.evidence_complete);
        assert!(r.exceptions[0].contains("not this deployment"), "{:?}", r.exceptions);
    }

    #[test]
    fn no_signature_or_a_deployment_by_the_opener_is_not_shown_as_holding() {
        let d = deployment(10, "2026-11-02T10:00:00Z");
        let none = row(&d, Some(&seen(&[])), Some(&input(json!([]), "normal")));
        assert!(!none.approval_preceded_deployment);
        assert!(
            none.exceptions
                .contains(&"no approving signature at the gate decision".to_string())
        );
        let mut by_dev = d.clone();
        by_dev.executed_by = "user:dev".into();
        let i = input(
            json!([sig("user:vera", "2026-11-02T09:00:00Z", false, false)]),
            "normal",
        );
        let r = row(&by_dev, Some(&seen(&[])), Some(&i));
        assert!(!r.separation_of_duties_held);
        assert!(
            r.exceptions
                .contains(&"deployed by user:dev, a party of the change".to_string())
        );
    }

    #[test]
    fn csv_quotes_and_never_lets_a_spreadsheet_run_a_formula() {
        let mut r = row(&deployment(10, "2026-11-02T10:00:00Z"), None, None);
        r.approvals = vec![Signer {
            signer: "user:x".into(),
            printed_name: "=HYPERLINK(\"http://evil\",\"x\")".into(),
            meaning: "approved".into(),
            time: "t".into(),
        }];
        let text = csv(&[r]);
        let line = text.lines().nth(1).unwrap();
        assert!(
            line.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\") (user:x)\""),
            "{line}"
        );
        assert_eq!(text.lines().next().unwrap().split(',').count(), CSV_COLUMNS.len());
    }

    #[test]
    fn the_sample_is_reproducible_and_follows_the_documented_rank() {
        let rows: Vec<PopulationRow> = (1..=40u64)
            .map(|s| row(&deployment(s * 3, "2026-11-02T10:00:00Z"), None, None))
            .collect();
        let m = "sha256:00ff";
        let a = sample(&rows, 5, m, "audit-2026");
        assert_eq!(a, sample(&rows, 5, m, "audit-2026"));
        assert_ne!(a, sample(&rows, 5, m, "another seed"));
        assert_ne!(
            a,
            sample(&rows, 5, "sha256:0100", "audit-2026"),
            "bound to the manifest"
        );
        assert_eq!(a.len(), 5);
        // The documented algorithm, written out: the five lowest sha256(manifest "\n" seed "\n" seq).
        let mut ranked: Vec<(String, u64)> = rows
            .iter()
            .map(|r| {
                (
                    hex::encode(Sha256::digest(format!("{m}\naudit-2026\n{}", r.deployment))),
                    r.deployment,
                )
            })
            .collect();
        ranked.sort();
        let mut want: Vec<u64> = ranked.iter().take(5).map(|x| x.1).collect();
        want.sort_unstable();
        assert_eq!(a.iter().map(|r| r.deployment).collect::<Vec<_>>(), want);
        assert_eq!(sample(&rows, 100, m, "s").len(), 40);
    }
}
