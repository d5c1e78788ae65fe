//! Exceptions to the gate: waivers and break-glass, and the retrospective reviews break-glass
//! opens.
//!
//! - A waiver (`waiver.granted`) excuses gate rules (`sla.critical`, or a prefix `sla.`) for a
//!   change, optionally for one finding, until it expires. It names a justification, a
//!   compensating control, an owner, and the approver who granted it (never its owner). Active
//!   waivers are listed in every decision they excuse; expired ones excuse nothing (fail closed).
//! - Break-glass (`breakglass.invoked`) lets an *emergency* change bypass named rules, with a
//!   mandatory justification, for a bounded time. It opens a retrospective review due after
//!   `[breakglass] review_business_days` (default 2); the review is reported (`ward review list`)
//!   until the change carries a current `retrospective-review` signature, and is overdue after
//!   its due time.

use crate::changes;
use crate::error::AppError;
use crate::error::Kind;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ward_core::Identity;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const WAIVERS: &str = "waivers";
// The break-glass projection's collection is declared with the signatures, which read it for
// the invoker check, so that this module's use of them stays one way.
use crate::approvals::BREAKGLASS;
/// Longest a waiver may last, seconds (a year).
pub const MAX_WAIVER_SECS: i64 = 366 * 86_400;
/// Longest a break-glass bypass may last, seconds (a day).
pub const MAX_BREAKGLASS_SECS: i64 = 86_400;

/// `[breakglass]` of `ward.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakglassRules {
    /// Business days (Monday–Friday, UTC) until a retrospective review is overdue.
    #[serde(default = "two")]
    pub review_business_days: u32,
}

fn two() -> u32 {
    2
}

impl Default for BreakglassRules {
    fn default() -> Self {
        BreakglassRules {
            review_business_days: 2,
        }
    }
}

/// A waiver to grant: scoped to a change or to an artifact (every change shipping it).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WaiverRequest {
    /// Change it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// Artifact it applies to (its findings, in any change that ships it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// Gate rules it excuses (`sla.critical`), or prefixes ending in `.` (`sla.`).
    pub rules: Vec<String>,
    /// Only for this finding (a vulnerability id), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// Why.
    pub justification: String,
    /// What reduces the risk meanwhile.
    pub compensating_control: String,
    /// Who owns closing it (an identity, e.g. `user:dana`).
    pub owner: String,
    /// Lifetime in seconds (at most a year).
    pub expires_in_secs: i64,
    /// Re-authentication of a local user: the password (never recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Re-authentication through OIDC: a token issued within the last five minutes (never
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_token: Option<String>,
}

/// A granted waiver.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Waiver {
    /// `WVR-<8 hex>`.
    pub id: String,
    /// What was granted.
    #[serde(flatten)]
    pub request: WaiverRequest,
    /// The approver who granted it.
    pub approver: String,
    /// The printed name of the approver, as it was at signing.
    #[serde(default)]
    pub printed_name: String,
    /// How the approver re-authenticated: `password` or `oidc`.
    #[serde(default)]
    pub reauth: String,
    /// Expiry, seconds since the epoch.
    pub expires_secs: i64,
    /// A waiver of a change: the content of the change it was granted on
    /// (`approvals::content_digest`, as a signature's manifest binds it). Edited or reclassified
    /// since, the waiver excuses nothing (as a break-glass); an artifact's waiver is bound to
    /// its digest already and names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<String>,
    /// A change's waiver whose change was edited (or reclassified) since it was granted: it
    /// excuses nothing, whatever its expiry (set where the change is read).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// Active now (not expired, not stale).
    #[serde(default)]
    pub active: bool,
    /// Log entry.
    pub seq: u64,
    /// When granted.
    pub time: String,
}

impl Waiver {
    /// Whether the waiver still holds over a change whose content is now `content`: an
    /// artifact's waiver always (its scope is a digest), a change's only over the content it
    /// was granted on (fail closed: a change's waiver recorded before waivers named their
    /// content holds over none).
    pub fn holds_over(&self, content: &str) -> bool {
        self.request.change.is_none() || self.covers.as_deref() == Some(content)
    }

    /// Judges the waiver at `now` over a change whose content is `content` now (`None`: an
    /// artifact's waiver, or a change no longer readable — then a change's waiver is stale).
    pub fn judge(&mut self, content: Option<&str>, now: i64) {
        self.stale = match content {
            Some(c) => !self.holds_over(c),
            None => self.request.change.is_some(),
        };
        self.active = now < self.expires_secs && !self.stale;
    }
}

/// A break-glass to invoke.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BreakglassRequest {
    /// The emergency change.
    pub change: String,
    /// Gate rules (or prefixes ending in `.`) to bypass.
    pub rules: Vec<String>,
    /// Why (mandatory).
    pub justification: String,
    /// How long, seconds (at most a day).
    pub duration_secs: i64,
    /// Re-authentication of a local user: the password (never recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Re-authentication through OIDC: a fresh token (never recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_token: Option<String>,
}

/// An invoked break-glass and its retrospective review.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakglass {
    /// `BG-<8 hex>`.
    pub id: String,
    /// What was invoked.
    #[serde(flatten)]
    pub request: BreakglassRequest,
    /// Who invoked it.
    pub by: String,
    /// The invoker's printed name, as it was at signing.
    #[serde(default)]
    pub printed_name: String,
    /// The change's content it was invoked on ([`crate::approvals::content_digest`]); none
    /// in records made before 2026-12-07 (thirteenth session), which bypass nothing since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<String>,
    /// The change was edited (or reclassified) since the glass was broken: the bypass no
    /// longer holds, whatever its time (set where the change is read).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// End of the bypass, seconds since the epoch.
    pub until_secs: i64,
    /// When the retrospective review is due, seconds since the epoch.
    pub review_due_secs: i64,
    /// The bypass is in force now.
    #[serde(default)]
    pub active: bool,
    /// The retrospective review: `open`, `overdue` or `closed`.
    #[serde(default)]
    pub review: String,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Projects waivers and break-glass.
pub struct ExceptionProjector;

impl Projector for ExceptionProjector {
    fn name(&self) -> &'static str {
        "exceptions"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let collection = match e.kind.as_str() {
            "waiver.granted" => WAIVERS,
            "breakglass.invoked" => BREAKGLASS,
            _ => return vec![],
        };
        // Keyed by what it is scoped to (a change, or an artifact), so either is one prefix.
        let scope = p
            .get("change")
            .and_then(Value::as_str)
            .or_else(|| p.get("artifact").and_then(Value::as_str));
        let (Some(change), Some(id)) = (scope, p.get("id").and_then(Value::as_str)) else {
            return vec![];
        };
        vec![ProjectionOp::put_stamped(collection, format!("{change}/{id}"), e, p)]
    }
}

/// A fresh id with `prefix` (random, unguessable).
pub fn new_id(prefix: &str) -> Result<String, AppError> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(AppError::internal)?;
    Ok(format!("{prefix}-{}", hex::encode(b)))
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The rules a waiver or break-glass names: 1 to 50 ids of the right shape, each naming a rule
/// of the policy in force (`names`), so that a typo is refused rather than excusing nothing.
fn check_rules(rules: &[String], names: &crate::rule_names::RuleNames) -> Result<(), AppError> {
    if rules.is_empty() || rules.len() > 50 {
        return Err(AppError::invalid(
            "name 1 to 50 gate rules",
            "name rules like sla.critical, or a prefix like evidence.",
        ));
    }
    // Each named by its place, not repeated: an id is free text until it is known.
    for (n, r) in rules.iter().enumerate() {
        if r.is_empty() || r.len() > 100 || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return Err(AppError::invalid(
                format!("rule #{} is not a gate rule id", n + 1),
                "rule ids look like sla.critical or evidence.sbom (a gate decision's explanation names them)",
            ));
        }
        if let Err(hint) = names.check(r) {
            return Err(AppError::invalid(
                format!("rule #{} names no rule of the policy in force", n + 1),
                hint,
            ));
        }
    }
    Ok(())
}

fn check_text(name: &str, v: &str) -> Result<(), AppError> {
    if v.trim().len() < 10 || v.len() > 4000 {
        return Err(AppError::invalid(
            format!("the {name} must be 10 to 4000 characters"),
            format!("explain the {name}"),
        ));
    }
    crate::freetext::check(name, v)
}

fn person_only(by: &Identity, what: &str) -> Result<(), AppError> {
    if by.kind != ward_ledger::ActorKind::Human {
        return Err(AppError::new(
            Kind::Forbidden,
            "automation_cannot_sign",
            format!("{} is an automation identity; only people {what}", by.id),
            "a person must do this with their own token",
        ));
    }
    Ok(())
}

/// The payload of a request with its credentials removed (they are never recorded).
fn recorded<T: Serialize>(req: &T) -> Result<Value, AppError> {
    let mut v = serde_json::to_value(req).map_err(AppError::internal)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("password");
        o.remove("reauth_token");
    }
    Ok(v)
}

fn forbidden(code: &'static str, reason: String, hint: &str) -> crate::reauth::Refused {
    crate::reauth::Refused {
        kind: Kind::Forbidden,
        code,
        reason,
        hint: hint.into(),
    }
}

/// A waiver's owner answers for its compensating control until it expires: a person Ward
/// knows — an active local user (`user:NAME`), or a person a token was issued to (an OIDC
/// sign-in's session, a personal token). An identity nobody holds (a typo, an invented
/// `user:security-team`), an account still waiting for its activation, or automation owns
/// nothing: refused (`unknown_owner`, 422), before anything is recorded.
async fn check_owner(ledger: &Ledger, owner: &str) -> Result<(), AppError> {
    let refused = |why: &str| {
        AppError::new(
            Kind::Invalid,
            "unknown_owner",
            format!("a waiver's owner answers for its compensating control: {why}"),
            "name a person who signs in to Ward: a local user (user:NAME), or someone who has signed in through the identity provider",
        )
    };
    if let Some(name) = owner.strip_prefix("user:") {
        return match crate::users::user_record(ledger, name).await? {
            Some(u) if !u.pending => Ok(()),
            Some(_) => Err(refused("that account waits for a second administrator's activation")),
            None => Err(refused("no local user has that name")),
        };
    }
    let tokens = crate::identities::list_tokens(ledger).await?;
    if tokens
        .iter()
        .any(|t| t.identity == owner && t.kind == ward_ledger::ActorKind::Human)
    {
        return Ok(());
    }
    Err(refused(match owner.starts_with("token:") {
        true => "an automation identity is no person",
        false => "Ward knows no person by that identity",
    }))
}

/// A waiver's finding must be one a vulnerability scan attested on the artifacts it covers
/// lists (`vulns` attestations, `summary.list[].id`): a waiver excuses a finding Ward has seen,
/// and its leaf then holds an id that came from a parsed report the guard judged, never a
/// token typed for the waiver alone (a name, a number a scan never gave: issue 15's
/// identifier shapes). Else 422 `unknown_finding`, without repeating it.
async fn check_finding(ledger: &Ledger, finding: &str, artifacts: &[String]) -> Result<(), AppError> {
    // A shape no advisory database issues is refused before any scan is read: attestations
    // recorded before ids were judged by shape may still list one.
    if crate::advisory::database(finding).is_none() {
        return Err(unknown_finding());
    }
    for artifact in artifacts {
        let scans = crate::evidence::attestations(ledger, artifact).await?;
        if scans.iter().filter(|a| a.r#type == "vulns").any(|a| {
            a.summary
                .get("list")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|v| v.get("id").and_then(Value::as_str) == Some(finding))
        }) {
            return Ok(());
        }
    }
    Err(unknown_finding())
}

fn unknown_finding() -> AppError {
    AppError::new(
        Kind::Invalid,
        "unknown_finding",
        "no vulnerability scan attested on the artifacts this waiver covers lists that finding",
        "attach the scan that reports it, then waive the finding by the id the scan gives (the gate's reason names it)",
    )
}

/// Grants a waiver: an electronic signature by an approver who re-authenticates in the request,
/// under the separation of duties of approvals (never the change's opener, a commit author, an
/// editor or classifier of the change, the artifact's builder, the waiver's owner, or
/// automation). Rules about who must sign (`approvals.*`, `checklist.*`) are never waivable.
/// Refused attempts are recorded as `waiver.refused`.
pub async fn grant_waiver(
    ledger: &Ledger,
    by: &Identity,
    req: &WaiverRequest,
    approval_rules: &ward_core::approval::ApprovalRules,
    names: &crate::rule_names::RuleNames,
    cx: &crate::reauth::Context<'_>,
) -> Result<Waiver, AppError> {
    let (subject, parties, artifacts, covers) = match (&req.change, &req.artifact) {
        (Some(c), None) => {
            let Some(change) = changes::get(ledger, c).await? else {
                return Err(AppError::not_found(
                    format!("no change {}", crate::identifier::shown(c)),
                    "list the changes",
                ));
            };
            (
                format!("change:{c}"),
                change.parties(),
                change.request.artifacts.clone(),
                Some(crate::approvals::content_digest(&change)),
            )
        }
        (None, Some(a)) => {
            let Some(artifact) = crate::evidence::artifact(ledger, a).await? else {
                return Err(AppError::not_found(
                    format!("artifact {} is not registered", crate::identifier::shown(a)),
                    "waive findings of a registered artifact",
                ));
            };
            let parties = ward_core::approval::Parties {
                opener: artifact.builder.clone(),
                ..Default::default()
            };
            (format!("artifact:{a}"), parties, vec![a.clone()], None)
        }
        _ => {
            return Err(AppError::invalid(
                "a waiver is scoped to one change or one artifact",
                "name exactly one of a change and an artifact",
            ));
        }
    };
    check_rules(&req.rules, names)?;
    check_text("justification", &req.justification)?;
    check_text("compensating control", &req.compensating_control)?;
    if req.owner.is_empty()
        || req.owner.len() > 200
        || req.owner.chars().any(|c| c.is_control() || c.is_whitespace())
        || !req.owner.contains(':')
    {
        return Err(AppError::invalid(
            match req.owner.is_empty() {
                true => "a waiver needs an owner",
                false => "a waiver's owner is an identity with its kind: user:NAME, token:NAME or an OIDC identity",
            },
            "name the owner, e.g. user:NAME",
        ));
    }
    // The owner and the finding are written into the waiver's leaf: identifiers, judged as one.
    crate::identifier::judge("owner", &req.owner)?;
    crate::identifier::check_labelled("owner", &req.owner)?;
    if !(1..=MAX_WAIVER_SECS).contains(&req.expires_in_secs) {
        return Err(AppError::invalid(
            "a waiver lasts from a second to a year",
            "give an expiry, e.g. 14d",
        ));
    }
    if let Some(f) = &req.finding {
        if f.is_empty() || f.len() > 200 || !f.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::invalid(
                "bad finding id",
                "pass the vulnerability id, e.g. CVE-2024-1234",
            ));
        }
        crate::identifier::judge("finding", f)?;
        // Not `check_number`: a CVE's year and number are eight digits or more across `-`.
        crate::identifier::check_labelled("finding", f)?;
    }
    let refuse = |r: crate::reauth::Refused| {
        crate::reauth::record_refusal(
            ledger,
            by,
            "waiver.refused",
            subject.clone(),
            json!({ "change": req.change, "artifact": req.artifact, "rules": req.rules }),
            r,
        )
    };
    if let Some(rule) = req.rules.iter().find(|r| ward_core::approval::waives_signatures(r)) {
        return Err(refuse(forbidden(
            "unwaivable_rule",
            format!("{rule} is a rule about who must sign; no waiver can excuse it"),
            "collect the signatures; only break-glass on an emergency change may bypass them, and it is reviewed",
        ))
        .await);
    }
    let judged = crate::reauth::with_directory_roles(ledger, by).await?;
    if let Err(r) = ward_core::approval::check_signer(&judged, &parties, approval_rules) {
        return Err(refuse(forbidden(
            r.code,
            format!(
                "{}; granting a waiver is a signature under separation of duties",
                r.reason
            ),
            "another approver, independent of the change, grants it",
        ))
        .await);
    }
    // One person, however spelt (`user:Quinn`, `user:quinn.`): the owner answers for the
    // compensating control, and must be someone else than who grants it.
    if ward_core::approval::same_person(&req.owner, &by.id) {
        return Err(refuse(forbidden(
            "owner_cannot_grant",
            format!("{} owns this waiver and cannot also grant it", by.id),
            "another approver grants it",
        ))
        .await);
    }
    // After the signature's refusals (recorded whatever the owner), before re-authentication.
    check_owner(ledger, &req.owner).await?;
    if let Some(f) = &req.finding {
        check_finding(ledger, f, &artifacts).await?;
    }
    let proof = match cx
        .reauthenticate(
            ledger,
            by,
            req.password.as_deref(),
            req.reauth_token.as_deref(),
            now_secs(),
        )
        .await?
    {
        Ok(p) => p,
        Err(r) => return Err(refuse(r).await),
    };
    let id = new_id("WVR")?;
    let expires_secs = now_secs() + req.expires_in_secs;
    let mut payload = recorded(req)?;
    payload["id"] = json!(id);
    payload["approver"] = json!(by.id);
    let mut texts = crate::documents::Texts::new();
    payload["printed_name"] = json!(proof.printed_name_in(&mut texts)?);
    payload["reauth"] = json!(proof.method);
    payload["expires_secs"] = json!(expires_secs);
    if let Some(c) = &covers {
        payload["covers"] = json!(c);
    }
    proof.record_in(&mut payload);
    payload["justification"] = json!(texts.put(&req.justification)?);
    payload["compensating_control"] = json!(texts.put(&req.compensating_control)?);
    let receipt = crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "waiver.granted".into(),
            subject,
            payload,
        },
        texts,
    )
    .await?;
    let mut request = req.clone();
    request.password = None;
    request.reauth_token = None;
    Ok(Waiver {
        id,
        request,
        approver: by.id.clone(),
        printed_name: proof.printed_name,
        reauth: proof.method.into(),
        expires_secs,
        covers,
        stale: false,
        active: true,
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// The waivers scoped to a change or an artifact (`scope`), judged at `now`: a change's
/// against the change as it is now ([`Waiver::judge`]; read here — a caller holding the change
/// uses [`waivers_of`]).
pub async fn waivers(ledger: &Ledger, scope: &str, now: i64) -> Result<Vec<Waiver>, AppError> {
    let docs = ledger.store().projection_prefix(WAIVERS, &format!("{scope}/")).await?;
    // An artifact's digest names no change: its waivers are judged without one.
    let mut content = None;
    if !docs.is_empty()
        && !scope.starts_with("sha256:")
        && let Some(change) = changes::get(ledger, scope).await?
    {
        content = Some(crate::approvals::content_digest(&change));
    }
    judged(docs, content.as_deref(), now)
}

/// The waivers of `change` and of each of its artifacts (each once, the change's first), judged
/// at `now` against the change as given: the gate, the change's overview and release notes
/// hold it already, so it is not read again (the gate's hot path read it twice).
pub async fn waivers_of(ledger: &Ledger, change: &changes::Change, now: i64) -> Result<Vec<Waiver>, AppError> {
    let content = crate::approvals::content_digest(change);
    let mut out: Vec<Waiver> = Vec::new();
    for (scope, over) in
        std::iter::once((&change.id, Some(content.as_str()))).chain(change.request.artifacts.iter().map(|a| (a, None)))
    {
        let docs = ledger.store().projection_prefix(WAIVERS, &format!("{scope}/")).await?;
        for w in judged(docs, over, now)? {
            if !out.iter().any(|o| o.id == w.id) {
                out.push(w);
            }
        }
    }
    Ok(out)
}

/// Waiver records as stored, each judged ([`Waiver::judge`]).
fn judged(docs: Vec<(String, Value)>, content: Option<&str>, now: i64) -> Result<Vec<Waiver>, AppError> {
    docs.into_iter()
        .map(|(_, doc)| {
            let mut w: Waiver = serde_json::from_value(doc).map_err(AppError::internal)?;
            w.judge(content, now);
            Ok(w)
        })
        .collect()
}

/// `secs` plus `days` business days (Monday–Friday, UTC).
pub fn add_business_days(secs: i64, days: u32) -> i64 {
    let mut t = secs;
    let mut left = days;
    while left > 0 {
        t += 86_400;
        let weekday = jiff::Timestamp::from_second(t)
            .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).weekday())
            .unwrap_or(jiff::civil::Weekday::Monday);
        if !matches!(weekday, jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday) {
            left -= 1;
        }
    }
    t
}

/// Invokes break-glass on an emergency change.
pub async fn invoke_breakglass(
    ledger: &Ledger,
    by: &Identity,
    req: &BreakglassRequest,
    rules: &BreakglassRules,
    names: &crate::rule_names::RuleNames,
    cx: &crate::reauth::Context<'_>,
) -> Result<Breakglass, AppError> {
    let Some(change) = changes::get(ledger, &req.change).await? else {
        return Err(AppError::not_found(
            format!("no change {}", crate::identifier::shown(&req.change)),
            "list the changes",
        ));
    };
    person_only(by, "break glass")?;
    if change.request.kind != "emergency" {
        return Err(AppError::new(
            Kind::Forbidden,
            "not_an_emergency",
            format!(
                "{} is a {} change; only emergency changes may break glass",
                change.id, change.request.kind
            ),
            "open the change as an emergency (kind emergency)",
        ));
    }
    check_rules(&req.rules, names)?;
    check_text("justification", &req.justification)?;
    if !(60..=MAX_BREAKGLASS_SECS).contains(&req.duration_secs) {
        return Err(AppError::invalid(
            "break-glass lasts from a minute to a day",
            "give how long, e.g. 4h",
        ));
    }
    let proof = match cx
        .reauthenticate(
            ledger,
            by,
            req.password.as_deref(),
            req.reauth_token.as_deref(),
            now_secs(),
        )
        .await?
    {
        Ok(p) => p,
        Err(r) => {
            return Err(crate::reauth::record_refusal(
                ledger,
                by,
                "breakglass.refused",
                format!("change:{}", req.change),
                json!({ "change": req.change, "rules": req.rules }),
                r,
            )
            .await);
        }
    };
    let id = new_id("BG")?;
    let now = now_secs();
    let until_secs = now + req.duration_secs;
    let review_due_secs = add_business_days(now, rules.review_business_days);
    let mut payload = recorded(req)?;
    payload["id"] = json!(id);
    payload["by"] = json!(by.id);
    let mut texts = crate::documents::Texts::new();
    payload["printed_name"] = json!(proof.printed_name_in(&mut texts)?);
    proof.record_in(&mut payload);
    // Bound to the change as it is now: an artifact swapped or anything edited afterwards is
    // bypassed by nothing (a helper's attack on the twelfth session's head deployed an
    // artifact added after the glass was broken, unsigned by anyone).
    let covers = crate::approvals::content_digest(&change);
    payload["covers"] = json!(covers);
    payload["until_secs"] = json!(until_secs);
    payload["review_due_secs"] = json!(review_due_secs);
    payload["justification"] = json!(texts.put(&req.justification)?);
    let receipt = crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "breakglass.invoked".into(),
            subject: format!("change:{}", req.change),
            payload,
        },
        texts,
    )
    .await?;
    let mut request = req.clone();
    request.password = None;
    request.reauth_token = None;
    Ok(Breakglass {
        id,
        request,
        by: by.id.clone(),
        printed_name: proof.printed_name,
        covers: Some(covers),
        stale: false,
        until_secs,
        review_due_secs,
        active: true,
        review: "open".into(),
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// A change's break-glass invocations with `active` at `now` and `stale` against the change's
/// content as it is now (`content`, [`crate::approvals::content_digest`]; review state not
/// computed).
pub async fn breakglass_of(
    ledger: &Ledger,
    change: &str,
    content: &str,
    now: i64,
) -> Result<Vec<Breakglass>, AppError> {
    ledger
        .store()
        .projection_prefix(BREAKGLASS, &format!("{change}/"))
        .await?
        .into_iter()
        .map(|(_, doc)| {
            let mut b: Breakglass = serde_json::from_value(doc).map_err(AppError::internal)?;
            b.judge(content, now);
            Ok(b)
        })
        .collect()
}

impl Breakglass {
    /// Whether it was broken on the change whose content is `content` now (a record that names
    /// no content was broken on none: fail closed).
    pub fn bound_to(&self, content: &str) -> bool {
        self.covers.as_deref() == Some(content)
    }

    /// Judges the bypass at `now` for the change whose content is `content` now: stale unless
    /// it was invoked on that content (fail closed: a record that names none is stale), and
    /// in force only before its end and while not stale.
    pub fn judge(&mut self, content: &str, now: i64) {
        self.stale = !self.bound_to(content);
        self.active = now < self.until_secs && !self.stale;
    }
}

/// Whether `approval` closes the retrospective review of `bg`: a current (not stale, approved)
/// `retrospective-review` signed after the break-glass by someone independent of it — not the
/// person who broke the glass, not the change's opener, not one of its authors (`authors`:
/// identities — commit authors through `ApprovalRules::author_identity`, and editors).
pub fn review_closes(bg: &Breakglass, approval: &crate::approvals::Approval, opener: &str, authors: &[String]) -> bool {
    approval.meaning == "retrospective-review"
        && approval.decision == "approved"
        && !approval.stale
        && approval.seq > bg.seq
        && approval.signer != bg.by
        && approval.signer != opener
        && !authors
            .iter()
            .any(|a| ward_core::approval::same_person(a, &approval.signer))
}

/// Break-glass invocations, of one change or (with `None`) of all, with their state at `now`.
/// A review is closed when a current (not stale) `retrospective-review` approval of the change
/// was signed after the break-glass by someone other than the invoker, the opener and the
/// authors ([`review_closes`]); otherwise it stays open, then overdue.
pub async fn breakglass(
    ledger: &Ledger,
    change: Option<&str>,
    now: i64,
    risk: &ward_core::risk::RiskRules,
    approval_rules: &ward_core::approval::ApprovalRules,
) -> Result<Vec<Breakglass>, AppError> {
    let docs = match change {
        Some(c) => ledger.store().projection_prefix(BREAKGLASS, &format!("{c}/")).await?,
        None => ledger.store().projection_list(BREAKGLASS).await?,
    };
    let mut out = Vec::new();
    for (_, doc) in docs {
        let mut b: Breakglass = serde_json::from_value(doc).map_err(AppError::internal)?;
        let view = crate::approvals::view(ledger, &b.request.change, risk, approval_rules).await?;
        b.judge(&view.manifest.change, now);
        // Fail closed: without its change, nobody is known to be independent of it.
        let parties = changes::get(ledger, &b.request.change).await?.map(|c| c.parties());
        let closed = parties.as_ref().is_some_and(|p| {
            view.approvals
                .iter()
                .any(|a| review_closes(&b, a, &p.opener, &[]) && !p.includes(&a.signer, approval_rules))
        });
        b.review = if closed {
            "closed"
        } else if now > b.review_due_secs {
            "overdue"
        } else {
            "open"
        }
        .into();
        out.push(b);
    }
    out.sort_by_key(|b| b.seq);
    Ok(out)
}

#[cfg(test)]
mod review_tests {
    use super::*;
    use crate::approvals::Approval;

    fn bg(by: &str) -> Breakglass {
        serde_json::from_value(json!({
            "id": "BG-1", "change": "CHG-1", "rules": ["evidence."], "justification": "outage of the EHR feed",
            "duration_secs": 3600, "by": by, "until_secs": 10, "review_due_secs": 20, "seq": 5,
            "time": "2026-12-01T00:00:00Z",
        }))
        .unwrap()
    }

    fn review(signer: &str, seq: u64) -> Approval {
        serde_json::from_value(json!({
            "change": "CHG-1", "signer": signer, "printed_name": signer, "meaning": "retrospective-review",
            "decision": "approved", "comment": "", "reauth": "password",
            "manifest": ward_core::approval::Manifest::default(), "manifest_digest": "sha256:00",
            "seq": seq, "time": "2026-12-01T01:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn self_signed_retrospective_review_does_not_close_it() {
        let b = bg("user:ivan");
        let authors = vec!["user:ann".to_string()];
        // The person who broke the glass reviewing themselves.
        assert!(!review_closes(&b, &review("user:ivan", 9), "user:olga", &authors));
        // Nor the opener, nor an author of the change.
        assert!(!review_closes(&b, &review("user:olga", 9), "user:olga", &authors));
        assert!(!review_closes(&b, &review("user:ann", 9), "user:olga", &authors));
        // A review signed before the break-glass, or stale, or a rejection closes nothing.
        assert!(!review_closes(&b, &review("user:rita", 4), "user:olga", &authors));
        let mut stale = review("user:rita", 9);
        stale.stale = true;
        assert!(!review_closes(&b, &stale, "user:olga", &authors));
        let mut rejected = review("user:rita", 9);
        rejected.decision = "rejected".into();
        assert!(!review_closes(&b, &rejected, "user:olga", &authors));
        let mut other = review("user:rita", 9);
        other.meaning = "approval".into();
        assert!(!review_closes(&b, &other, "user:olga", &authors));
        // Someone independent closes it.
        assert!(review_closes(&b, &review("user:rita", 9), "user:olga", &authors));
    }
}
