//! Re-authentication before an electronic signature (21 CFR Part 11 §11.200, §11.300).
//!
//! Every control decision — signing, waiving, breaking glass, minting a person's token — proves
//! in the same request who is deciding, with a credential separate from the request's own:
//!
//! - a local user (`user:<name>`) gives their password;
//! - a person signed in through OIDC gives a token of the *same* provider, issued at most
//!   [`REAUTH_MAX_AGE_SECS`] ago, that maps to the same identity — never the bearer token the
//!   request was authenticated with;
//! - identities never merge across issuers: OIDC identities cannot use the local directory's
//!   `user:` namespace (ward-server's `oidc` module), so a local password never signs for them;
//! - an OIDC re-authentication token is good for one decision: the decision records its digest
//!   (`reauth_credential`) and a second use is refused;
//! - every signature carries a printed name: the local user's display name, or the provider's
//!   `printed_name_claim`; without one nothing is signed;
//! - [`ward_core::approval::LOCKOUT_FAILURES`] failed attempts within the window lock the person
//!   out of signing until the lockout lapses or an administrator lifts it (`reauth.unlocked`).
//!   Failures are the recorded refusals ([`REFUSAL_KINDS`] with code `reauthentication_failed`)
//!   and failed sign-ins naming the user (`auth.failed`, `bad_password`); a locked-out person
//!   cannot sign in either;
//!   the lockout itself is recorded as `reauth.locked`.

use crate::error::AppError;
use crate::error::Kind;
use crate::users;
use serde_json::{Value, json};
use ward_core::Identity;
use ward_core::approval::locked_until;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

/// Oldest OIDC token accepted for re-authentication, seconds.
pub const REAUTH_MAX_AGE_SECS: i64 = 300;
const FAILURES: &str = "reauth_failures";
const UNLOCKS: &str = "reauth_unlocks";
const USED: &str = "reauth_used";
/// Decision events that consumed a re-authentication token (its digest in `reauth_credential`).
const CONSUMING_KINDS: [&str; 6] = [
    "approval.signed",
    "dr.restore_tested",
    "waiver.granted",
    "breakglass.invoked",
    "document.purge_requested",
    "document.purged",
];
/// The refusal code counted toward a lockout.
pub const FAILED: &str = "reauthentication_failed";
/// The refusals Ward records for a decision; only these count toward a lockout (all are
/// reserved kinds: the generic append paths cannot write them).
pub const REFUSAL_KINDS: [&str; 8] = [
    "approval.refused",
    "dr.restore_test_refused",
    "waiver.refused",
    "breakglass.refused",
    "token.refused",
    "classification.refused",
    "local.refused",
    "document.purge_refused",
];

/// What the decider presents in the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    /// A local user's password.
    pub password: Option<&'a str>,
    /// A fresh OIDC token.
    pub reauth_token: Option<&'a str>,
    /// `sha256:` of the bearer credential the request was authenticated with (server mode).
    pub bearer_sha256: Option<&'a str>,
    /// The provider's issuer and subject (`<iss> <sub>`) the request's credential stands for:
    /// an OIDC session's, or a provider token's own; a re-authentication token must carry the
    /// same.
    pub subject: Option<&'a str>,
}

/// The port to an identity provider for re-authentication: verifies that `token` is a fresh
/// token (issued at most `max_age_secs` ago) and returns the identity it maps to and the printed
/// name the provider gave, or `None` when it is not. ward-server implements it over OIDC.
#[async_trait::async_trait]
pub trait ReauthVerifier: Send + Sync {
    /// The identity and printed name of a fresh token, or `None`.
    async fn verify_reauth(&self, token: &str, max_age_secs: i64) -> Option<(Identity, Option<String>)>;

    /// The issuer and subject (`<iss> <sub>`) of a token [`ReauthVerifier::verify_reauth`]
    /// accepted; `None` when it cannot say (then a caller known by its subject is refused).
    async fn reauth_subject(&self, _token: &str) -> Option<String> {
        None
    }
}

/// Where a decision is made: the OIDC verifier (server mode with providers) and the digest of
/// the bearer credential the request came with, which can never be its own re-authentication.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    /// OIDC providers, when configured.
    pub oidc: Option<&'a dyn ReauthVerifier>,
    /// `sha256:` of the request's bearer credential (see [`credential_digest`]).
    pub bearer_sha256: Option<&'a str>,
    /// The provider's issuer and subject that credential stands for (see
    /// [`PresentedCredential`]).
    pub subject: Option<&'a str>,
}

impl Context<'_> {
    /// Re-authenticates `by` at `now` with what the request carries — a local user's password
    /// or a fresh OIDC token — and this request's own credential ([`reauthenticate`]): the one
    /// place a signing path builds its [`Credentials`].
    pub async fn reauthenticate(
        &self,
        ledger: &Ledger,
        by: &Identity,
        password: Option<&str>,
        reauth_token: Option<&str>,
        now: i64,
    ) -> Result<Result<Proof, Refused>, AppError> {
        let creds = Credentials {
            password,
            reauth_token,
            bearer_sha256: self.bearer_sha256,
            subject: self.subject,
        };
        reauthenticate(ledger, by, &creds, self.oidc, now).await
    }
}

/// A successful re-authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// `password` or `oidc`.
    pub method: &'static str,
    /// The printed name the signature carries, as text (the record holds it beside the log:
    /// [`Proof::printed_name_in`]).
    pub printed_name: String,
    /// `sha256:` of the OIDC re-authentication token, which the decision records as
    /// `reauth_credential` so the token can never be used again.
    pub credential: Option<String>,
}

impl Proof {
    /// The printed name as the decision record holds it: a document beside the log, referenced
    /// from the leaf (a person's name is free text: a name read by heuristics could carry what
    /// the log must never hold, and a purge can take it back).
    pub fn printed_name_in(&self, texts: &mut crate::documents::Texts) -> Result<String, AppError> {
        texts.put(&self.printed_name)
    }

    /// Adds what the decision record keeps of the re-authentication to `payload`.
    pub fn record_in(&self, payload: &mut Value) {
        if let Some(c) = &self.credential {
            payload["reauth_credential"] = json!(c);
        }
    }
}

/// Why re-authentication did not succeed; the caller records it (a `*.refused` event with this
/// code, via [`record_refusal`]) unless it is [`Refused::is_recorded`] false.
#[derive(Clone, Debug)]
pub struct Refused {
    /// What kind of failure.
    pub kind: Kind,
    /// Machine-readable code.
    pub code: &'static str,
    /// For people (never contains the credential).
    pub reason: String,
    /// How to fix it.
    pub hint: String,
}

impl Refused {
    /// Whether the refusal is recorded (a missing credential is a usage error, not an attempt).
    pub fn is_recorded(&self) -> bool {
        self.code != "reauthentication_required"
    }

    /// The error returned once the refusal was recorded.
    pub fn into_error(self) -> AppError {
        let suffix = if self.is_recorded() {
            "; the attempt was recorded"
        } else {
            ""
        };
        AppError::new(self.kind, self.code, format!("{}{suffix}", self.reason), self.hint)
    }
}

fn failed(reason: String, hint: &str) -> Refused {
    Refused {
        kind: Kind::Unauthenticated,
        code: FAILED,
        reason,
        hint: hint.into(),
    }
}

/// The digest of the bearer credential a request was authenticated with, and the provider's
/// issuer and subject it stands for when it is an OIDC session or a provider token (a request
/// extension set by ward-server's `auth` middleware).
#[derive(Clone, Debug)]
pub struct PresentedCredential(pub String, pub Option<String>);

/// `sha256:` of a presented credential (what the request context keeps, never the secret).
pub fn credential_digest(credential: &str) -> String {
    ward_evidence::digest::of_bytes(credential.as_bytes())
}

/// Re-authenticates `by` to confirm who acts, not to sign (a local `--as`, a person's own
/// token): a person whose printed name is missing — purged — is still who they say, and only
/// signing needs the name (a helper's attack on `c03131e`: every local action of such a person
/// was refused, the API's were not).
pub async fn confirm_identity(
    ledger: &Ledger,
    by: &Identity,
    creds: &Credentials<'_>,
    now: i64,
) -> Result<Result<(), Refused>, AppError> {
    Ok(match reauthenticate(ledger, by, creds, None, now).await? {
        Ok(_) => Ok(()),
        Err(r) if r.code == PRINTED_NAME_MISSING => Ok(()),
        Err(r) => Err(r),
    })
}

/// The refusal of a signature without a printed name.
const PRINTED_NAME_MISSING: &str = "printed_name_missing";

/// Re-authenticates `by` with `creds` at `now` (seconds) for a signature. `Ok(Err(_))` is a
/// refusal for the caller to record; `Err(_)` is a failure of Ward itself.
pub async fn reauthenticate(
    ledger: &Ledger,
    by: &Identity,
    creds: &Credentials<'_>,
    oidc: Option<&dyn ReauthVerifier>,
    now: i64,
) -> Result<Result<Proof, Refused>, AppError> {
    if let Some(until) = lockout(ledger, &by.id, now).await? {
        let at = jiff::Timestamp::from_second(until)
            .map(|t| t.to_string())
            .unwrap_or_default();
        return Ok(Err(Refused {
            kind: Kind::Locked,
            code: "signing_locked",
            reason: format!(
                "{} is locked out of signing after repeated failed attempts, until {at}",
                by.id
            ),
            hint: "wait for the lockout to lapse, or ask an administrator to lift it".into(),
        }));
    }
    match (by.id.strip_prefix("user:"), creds.password, creds.reauth_token) {
        (Some(name), Some(password), _) => match users::check_password(ledger, name, password).await? {
            // The user's printed name lives beside the log since 2026-12-07 (older users: inline);
            // a purged one is no name to sign with.
            Some(user) => match crate::documents::read_present(ledger, &user.display_name)
                .await?
                .filter(|n| !n.trim().is_empty())
            {
                Some(printed_name) => Ok(Ok(Proof {
                    method: "password",
                    printed_name,
                    credential: None,
                })),
                None => Ok(Err(Refused {
                    kind: Kind::Forbidden,
                    code: PRINTED_NAME_MISSING,
                    reason: format!("{} has no printed name; a signature must carry one", by.id),
                    hint: "a user without a printed name (a purged one is not restored) signs nothing: an administrator adds the person again under a new login name with a new printed name".into(),
                })),
            },
            None => Ok(Err(failed(
                format!("the password given for {} is wrong", by.id),
                "sign again with your own password",
            ))),
        },
        (None, Some(_), None) => Ok(Err(failed(
            format!("{} is not a local user; a local password cannot sign for it", by.id),
            "re-authenticate with a fresh token of your identity provider",
        ))),
        (_, _, Some(token)) => {
            let digest = credential_digest(token);
            if creds.bearer_sha256.is_some_and(|b| b == digest) {
                return Ok(Err(failed(
                    "the request's own bearer token is not a re-authentication".into(),
                    "sign in again with your identity provider and pass the new token",
                )));
            }
            if ledger.store().projection(USED, &digest).await?.is_some() {
                return Ok(Err(failed(
                    "this re-authentication token was already used for a signature; each is good for one".into(),
                    "sign in again with your identity provider and pass the new token",
                )));
            }
            let verified = match oidc {
                Some(v) => v.verify_reauth(token, REAUTH_MAX_AGE_SECS).await,
                None => None,
            };
            // The same account at the provider, not only the same Ward identity: a template built
            // from `email` maps an address reassigned to someone new to the same identity.
            let same_subject = match (creds.subject, oidc) {
                (None, _) => true,
                (Some(want), Some(v)) => v.reauth_subject(token).await.as_deref() == Some(want),
                (Some(_), None) => false,
            };
            match verified {
                Some((who, _)) if who.id == by.id && !same_subject => Ok(Err(failed(
                    format!(
                        "the re-authentication token is of another account at the identity provider than the one {} signed in with",
                        by.id
                    ),
                    "sign in again at your identity provider as yourself and pass the new token",
                ))),
                Some((who, name)) if who.id == by.id => match name {
                    Some(printed_name) if printed_name.chars().any(users::unprintable) => Ok(Err(Refused {
                        kind: Kind::Forbidden,
                        code: "printed_name_unreadable",
                        reason: format!(
                            "the identity provider's printed name for {} holds characters that do not show (a direction override, an invisible character): a signature would not read as signed",
                            by.id
                        ),
                        hint: "correct the name at the identity provider, sign in again and sign".into(),
                    })),
                    Some(printed_name) => Ok(Ok(Proof {
                        method: "oidc",
                        printed_name,
                        credential: Some(digest),
                    })),
                    None => Ok(Err(Refused {
                        kind: Kind::Forbidden,
                        code: PRINTED_NAME_MISSING,
                        reason: format!("the identity provider gave no printed name for {}", by.id),
                        hint: "configure printed_name_claim for the provider ([[oidc]]) to a claim it sends".into(),
                    })),
                },
                _ => Ok(Err(failed(
                    format!("the re-authentication token is not a fresh token of {}", by.id),
                    "sign in again with your identity provider and pass the new token",
                ))),
            }
        }
        _ => Ok(Err(Refused {
            kind: Kind::Unauthenticated,
            code: "reauthentication_required",
            reason: "signing needs re-authentication in the same request".into(),
            hint: "give your password (local users) or a fresh token of your identity provider (OIDC)".into(),
        })),
    }
}

/// The identity a decision is judged as under separation of duties: a local user carries every
/// role the directory gives them now, so a token minted with fewer roles does not hide that its
/// holder administers identities.
pub async fn with_directory_roles(ledger: &Ledger, by: &Identity) -> Result<Identity, AppError> {
    let mut who = by.clone();
    if let Some(name) = by.id.strip_prefix("user:")
        && let Some(user) = users::user_record(ledger, name).await?
    {
        for r in user.roles {
            if !who.roles.contains(&r) {
                who.roles.push(r);
            }
        }
    }
    Ok(who)
}

/// Records a refused decision (`<kind>` event, e.g. `approval.refused`) and, when it was a failed
/// re-authentication that now locks the person out, `reauth.locked`; returns the error.
pub async fn record_refusal(
    ledger: &Ledger,
    by: &Identity,
    kind: &str,
    subject: String,
    mut payload: Value,
    refused: Refused,
) -> AppError {
    if !refused.is_recorded() {
        return refused.into_error();
    }
    payload["by"] = json!(by.id);
    payload["code"] = json!(refused.code);
    payload["reason"] = json!(refused.reason);
    if let Err(e) = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: kind.into(),
            subject,
            payload,
        })
        .await
    {
        return e.into();
    }
    if refused.code == FAILED {
        let now = jiff::Timestamp::now().as_second();
        match lockout(ledger, &by.id, now).await {
            Ok(Some(until)) => {
                let locked = ledger
                    .append(NewEvent {
                        actor: by.actor(),
                        kind: "reauth.locked".into(),
                        subject: format!("identity:{}", by.id),
                        payload: json!({ "identity": by.id, "until_secs": until }),
                    })
                    .await;
                if let Err(e) = locked {
                    return e.into();
                }
            }
            Ok(None) => {}
            Err(e) => return e,
        }
    }
    refused.into_error()
}

/// Failed re-authentications of `identity` since its lockout was last lifted.
async fn failures_since_unlock(ledger: &Ledger, identity: &str) -> Result<Vec<Value>, AppError> {
    let lifted_at = ledger
        .store()
        .projection(UNLOCKS, identity)
        .await?
        .and_then(|d| d.get("seq").and_then(Value::as_u64));
    Ok(ledger
        .store()
        .projection_prefix(FAILURES, &format!("{identity}/"))
        .await?
        .into_iter()
        .map(|(_, d)| d)
        // Never lifted: every failure counts, the log's first entry too.
        .filter(|d| lifted_at.is_none_or(|lifted| d.get("seq").and_then(Value::as_u64).unwrap_or(0) > lifted))
        .collect())
}

async fn has_failures_since_unlock(ledger: &Ledger, identity: &str) -> Result<bool, AppError> {
    Ok(!failures_since_unlock(ledger, identity).await?.is_empty())
}

/// Until when `identity` is locked out of signing at `now`, if it is.
pub async fn lockout(ledger: &Ledger, identity: &str, now: i64) -> Result<Option<i64>, AppError> {
    let failures: Vec<i64> = failures_since_unlock(ledger, identity)
        .await?
        .into_iter()
        .filter_map(|d| {
            d.get("time")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second())
        })
        .collect();
    Ok(locked_until(&failures, now))
}

/// Lifts a person's signing lockout (an administrator; recorded as `reauth.unlocked`).
pub async fn unlock(ledger: &Ledger, by: &Identity, identity: &str) -> Result<(), AppError> {
    // An identity names its prefix, which ends in `:` or `/` (`staff:dana@…`, `corp/dana@…`:
    // an OIDC provider's template); a local user's name holds neither.
    let identity = if identity.contains([':', '/']) {
        if identity.len() > 300 || identity.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(AppError::invalid(
                "not an identity",
                "name a local user (dana) or an identity (staff:dana@example.org)",
            ));
        }
        identity.to_string()
    } else {
        users::check_name("user", identity)?;
        format!("user:{identity}")
    };
    // Only a lockout that is there is lifted: an identity with no failed re-authentication
    // since its last unlock is not written into the log (attack on `e1f21bd`: any text, a
    // record number or a mail address, was recorded as the subject of `reauth.unlocked`).
    if !has_failures_since_unlock(ledger, &identity).await? {
        return Err(AppError::not_found(
            format!(
                "{} has no failed re-authentication to lift",
                crate::identifier::shown(&identity)
            ),
            "a lockout follows failed password re-authentications; list the users to check the name",
        ));
    }
    ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "reauth.unlocked".into(),
            subject: format!("identity:{identity}"),
            payload: json!({ "identity": identity, "by": by.id }),
        })
        .await?;
    Ok(())
}

/// Projects failed re-authentications (`reauth_failures`, key `<identity>/<seq>`) and lifted
/// lockouts (`reauth_unlocks`, key `<identity>`).
pub struct ReauthProjector;

impl Projector for ReauthProjector {
    fn name(&self) -> &'static str {
        "reauth"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        if REFUSAL_KINDS.contains(&e.kind.as_str()) && p.get("code").and_then(Value::as_str) == Some(FAILED) {
            let Some(by) = p.get("by").and_then(Value::as_str) else {
                return vec![];
            };
            return vec![ProjectionOp::put_stamped(
                FAILURES,
                format!("{by}/{:020}", e.seq),
                e,
                &json!({ "identity": by }),
            )];
        }
        // A failed sign-in with a user's name counts toward that user's lockout too, so password
        // guessing cannot move from signing to signing in.
        if e.kind == "auth.failed"
            && p.get("reason").and_then(Value::as_str) == Some("bad_password")
            && let Some(user) = p.get("user").and_then(Value::as_str)
            && users::check_name("user", user).is_ok()
        {
            return vec![ProjectionOp::put_stamped(
                FAILURES,
                format!("user:{user}/{:020}", e.seq),
                e,
                &json!({ "identity": format!("user:{user}") }),
            )];
        }
        if CONSUMING_KINDS.contains(&e.kind.as_str())
            && let Some(c) = p.get("reauth_credential").and_then(Value::as_str)
        {
            return vec![ProjectionOp::put_stamped(
                USED,
                c.to_string(),
                e,
                &json!({ "kind": e.kind }),
            )];
        }
        if e.kind == "reauth.unlocked"
            && let Some(id) = p.get("identity").and_then(Value::as_str)
        {
            return vec![ProjectionOp::put_stamped(
                UNLOCKS,
                id.to_string(),
                e,
                &json!({ "identity": id }),
            )];
        }
        vec![]
    }
}
