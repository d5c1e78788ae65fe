//! Signing in the browser (21 CFR Part 11 §11.50, §11.200): the sign page shows exactly what a
//! signature will cover — the manifest: the change's content digest, its artifacts, every
//! evidence document by digest, the policy — and asks for the meaning, approve or reject, a
//! comment and a fresh re-authentication for this one signature: a local user's password, or,
//! for a person of an `[[oidc]]` provider with browser sign-in, a new sign-in at the provider
//! (`prompt=login`, `max_age=0`: the form is kept here as a pending signature while they are
//! there, and [`finish`] signs when the provider sends them back). The
//! form carries the manifest digest the person saw: if evidence is added or the change edited
//! before they submit, the signature is refused as stale (`stale_manifest`), never applied to
//! something they did not see. The signature itself is `ward_app::approvals::sign`, the API's
//! service: the same separation of duties, re-authentication, lockout and recorded refusals.
//! Its manifestation (printed name, UTC time, meaning) is shown once signed.

use super::{CSRF_FIELD, Viewer, failure, layout, message_page, page, permit, refused};
use crate::activity::PendingSignature;
use crate::state::AppState;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use ward_app::approvals::SignRequest;
use ward_app::changes;

/// The sign page's route (GET shows, POST signs).
pub const SIGN_PAGE: &str = "/ui/changes/{id}/sign";

/// `GET /ui/changes/{id}/sign`: what a signature would cover, and the form.
pub(super) async fn sign_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", SIGN_PAGE).await {
        return r;
    }
    let built = async {
        let Some(change) = changes::get(&state.ledger, &id).await? else {
            return Err(ward_app::AppError::not_found(
                format!("no change {}", ward_app::identifier::shown(&id)),
                "open it from the release board",
            ));
        };
        let manifest = state.ward.signing_manifest(&change).await?;
        // The evidence's types and file names only for a signer who may read evidence (a
        // privacy officer signs the manifest by its digests, as the change page withholds it).
        let mut attestations = Vec::new();
        if viewer.identity.may(ward_core::Action::EvidenceRead) {
            for subject in change.request.artifacts.iter().chain(std::iter::once(&change.id)) {
                attestations.extend(ward_app::evidence::attestations(&state.ledger, subject).await?);
            }
        }
        let change: changes::Change = ward_app::documents::shown(&state.ledger, change).await?;
        let attestations: Vec<ward_app::evidence::Attestation> =
            ward_app::documents::shown(&state.ledger, attestations).await?;
        Ok::<_, ward_app::AppError>((change, manifest, attestations))
    }
    .await;
    let (change, manifest, attestations) = match built {
        Ok(b) => b,
        Err(e) => return failure(e),
    };
    let manifest_digest = manifest.digest();
    let reauth = reauth_of(&state, &viewer);
    let name_of = |id: &str| {
        attestations
            .iter()
            .find(|a| a.id == id)
            .map(|a| format!("{} · {}", a.r#type, a.file_name))
            .unwrap_or_default()
    };
    let body = html! {
        h1 { "Sign " (change.id) }
        p { strong { (change.request.title) } " — tier " strong { (change.tier.as_str()) } }
        h2 { "What you sign" }
        p.muted { "Your signature is bound to this manifest. If anything in it changes before you submit, the signature is refused and you review again." }
        dl.facts {
            dt { "Manifest" } dd { code { (manifest_digest) } }
            dt { "Change content" } dd { code { (manifest.change) } " (id, request and tier)" }
            dt { "Artifacts" } dd {
                @if manifest.artifacts.is_empty() { span.muted { "none" } }
                @for a in &manifest.artifacts { div { code { (a) } } }
            }
            dt { "Evidence" } dd {
                @if manifest.attestations.is_empty() { span.muted { "none attached" } }
                @for a in &manifest.attestations { div { code { (a) } " " span.muted { (name_of(a)) } } }
            }
            dt { "Policy" } dd { code { (manifest.policy) } " (risk and approval rules in force)" }
        }
        h2 { "Your signature" }
        form.sign method="post" action=(format!("/ui/changes/{}/sign", change.id)) {
            input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
            input type="hidden" name="manifest" value=(manifest_digest);
            label for="meaning" { "Meaning" }
            select #meaning name="meaning" required {
                @for m in state.ward.meanings_for(&viewer.identity, &change) { option value=(m) { (m) } }
            }
            fieldset {
                legend { "Decision" }
                label { input type="radio" name="decision" value="approve" checked; " Approve" }
                label { input type="radio" name="decision" value="reject"; " Reject" }
            }
            label for="comment" { "Comment (optional)" }
            textarea #comment name="comment" maxlength="4000" rows="3" {}
            @match &reauth {
                Reauth::Password => {
                    label for="password" { "Your password, to confirm it is you signing" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    p.muted { "Signing as " strong { (viewer.identity.id) } ". The record shows your printed name, the time (UTC) and the meaning." }
                    button type="submit" { "Sign" }
                }
                Reauth::Provider(provider) => {
                    input type="hidden" name="reauth" value="oidc";
                    p.muted { "Signing as " strong { (viewer.identity.id) } ". " (provider) " asks you to sign in again to confirm it is you; then the signature is made. The record shows your printed name, the time (UTC) and the meaning." }
                    button type="submit" { "Re-authenticate with " (provider) " and sign" }
                }
                Reauth::Terminal => {
                    p.muted { "Your identity provider has no browser sign-in configured in Ward: sign with "
                        code { "ward approve --change " (change.id) " --meaning … --reauth-token …" } "." }
                }
            }
        }
    };
    page(&viewer, layout(&format!("Sign {}", change.id), Some(&viewer), body))
}

/// The sign form.
#[derive(Deserialize)]
pub(super) struct SignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    manifest: String,
    #[serde(default)]
    meaning: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    password: String,
    /// `oidc`: re-authenticate at the person's identity provider instead of a password.
    #[serde(default)]
    reauth: String,
}

/// How the viewer re-authenticates for a signature.
enum Reauth {
    /// A local user: their password.
    Password,
    /// A person of an `[[oidc]]` provider with browser sign-in: a fresh sign-in there.
    Provider(String),
    /// A person of a provider without browser sign-in: a token given to `ward approve`.
    Terminal,
}

fn reauth_of(state: &AppState, viewer: &Viewer) -> Reauth {
    if viewer.identity.id.starts_with("user:") {
        return Reauth::Password;
    }
    match state
        .oidc
        .as_deref()
        .and_then(|v| v.browser_client_of(&viewer.identity.id))
    {
        Some(c) => Reauth::Provider(c.provider.clone()),
        None => Reauth::Terminal,
    }
}

/// `POST /ui/changes/{id}/sign`: signs, or explains the refusal in plain words.
pub(super) async fn sign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<SignForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return refused("This form's CSRF token is missing or wrong: reload the page and try again.");
    }
    if let Err(r) = permit(&state, &viewer, "POST", SIGN_PAGE).await {
        return r;
    }
    let reject = match form.decision.as_str() {
        "approve" => false,
        "reject" => true,
        _ => {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Choose approve or reject.",
                "Go back and choose.",
            );
        }
    };
    if form.manifest.is_empty() {
        return message_page(
            StatusCode::BAD_REQUEST,
            "The form does not say which manifest you reviewed.",
            "Open the sign page again.",
        );
    }
    if form.reauth == "oidc" {
        let Some(client) = state
            .oidc
            .as_deref()
            .and_then(|v| v.browser_client_of(&viewer.identity.id))
        else {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Your identity provider has no browser sign-in in Ward",
                "Sign with ward approve --reauth-token instead.",
            );
        };
        if form.comment.len() > 4000 || ward_evidence::digest::parse_digest(&form.manifest).is_err() {
            return message_page(
                StatusCode::BAD_REQUEST,
                "The comment is too long, or the manifest is not a digest.",
                "Open the sign page again.",
            );
        }
        // The signature waits here, bound to this session and to the manifest the person saw;
        // only the provider's code and state come back from the round trip.
        let pending = PendingSignature {
            asked_at: crate::activity::system_now(),
            session: viewer.secret().to_string(),
            identity: viewer.identity.id.clone(),
            change: id,
            meaning: form.meaning,
            reject,
            comment: form.comment,
            manifest: form.manifest,
        };
        return super::authorize::begin(&state, client, Some(Box::new(pending)), viewer.secure);
    }
    let req = SignRequest {
        meaning: form.meaning,
        comment: form.comment,
        reject,
        password: Some(form.password),
        reauth_token: None,
        manifest_digest: Some(form.manifest),
    };
    // The password form: a local user's session stands for no provider account.
    let presented = ward_app::reauth::PresentedCredential(ward_app::reauth::credential_digest(viewer.secret()), None);
    let signed = state
        .ward
        .sign(&viewer.identity, &id, &req, &state.reauth(&presented))
        .await;
    let a = match signed {
        Ok(a) => a,
        Err(e) => return refusal(&id, e, Refusal::Password),
    };
    page(&viewer, layout("Signed", Some(&viewer), signed_body(&a)))
}

/// The manifestation of a signature made: printed name, meaning, decision, UTC time.
fn signed_body(a: &ward_app::approvals::Approval) -> maud::Markup {
    html! {
        h1 { "Signed" }
        p.signature role="status" {
            strong { (a.printed_name) } " " (a.decision) " " (a.change) " with the meaning "
            strong { (a.meaning) } " at " time datetime=(a.time) { (a.time) } " (UTC)."
        }
        dl.facts {
            dt { "Printed name" } dd { (a.printed_name) }
            dt { "Signer" } dd { (a.signer) }
            dt { "Meaning" } dd { (a.meaning) }
            dt { "Decision" } dd { (a.decision) }
            dt { "Time (UTC)" } dd { (a.time) }
            dt { "Manifest" } dd { code { (a.manifest_digest) } }
            dt { "Log entry" } dd { (a.seq) }
        }
        p { a href=(format!("/ui/changes/{}", a.change)) { "Back to " (a.change) } }
    }
}

/// A re-authentication's ID token as this one signature's proof: verified once by the callback
/// ([`crate::oidc::Verifier::verify_browser_reauth`]: the sign-in's issuer, audience and nonce
/// checks, `iat` and `auth_time` fresh), then given to `approvals::sign` for exactly that token,
/// which compares its identity with the signer's, records its digest (one use) and refuses and
/// records anything else.
struct BrowserReauth {
    token: String,
    verified: Option<(ward_core::Identity, Option<String>)>,
}

#[async_trait::async_trait]
impl ward_app::reauth::ReauthVerifier for BrowserReauth {
    async fn verify_reauth(&self, token: &str, _max_age_secs: i64) -> Option<(ward_core::Identity, Option<String>)> {
        (token == self.token).then(|| self.verified.clone()).flatten()
    }
}

/// The provider sent the browser back from the re-authentication of a pending signature (the
/// callback checked state, browser binding and code, and exchanged it for `id_token`): the
/// session that asked must still be live and the same person, the ID token fresh and theirs;
/// then the signature is `approvals::sign`'s, as from the password form, over the manifest
/// digest the form carried.
pub(super) async fn finish(
    state: &AppState,
    verifier: &crate::oidc::Verifier,
    provider: &str,
    id_token: &str,
    nonce: &str,
    pending: PendingSignature,
) -> Response {
    let token_id = ward_core::token::ApiToken::parse(&pending.session)
        .map(|t| t.id)
        .unwrap_or_default();
    let identity = match super::session(state, &pending.session, &token_id, super::Use::View).await {
        Ok(Some(identity)) if identity.id == pending.identity => identity,
        Ok(_) => {
            return message_page(
                StatusCode::UNAUTHORIZED,
                "Your session ended before the signature was made",
                "Nothing was signed. Sign in again and open the sign page.",
            );
        }
        Err(e) => return failure(e),
    };
    let checked = verifier
        .verify_browser_reauth(
            provider,
            id_token,
            nonce,
            ward_app::reauth::REAUTH_MAX_AGE_SECS,
            pending.asked_at,
        )
        .await;
    // The same person at the provider, not only the same Ward identity: the session's issuer and
    // subject (a template built from `email` maps an address reassigned to someone new to the
    // same identity). A session without one (from before it was kept) is judged by identity.
    let subject = match ward_app::identities::session_subject(&state.ledger, &token_id).await {
        Ok(s) => s,
        Err(e) => return failure(e),
    };
    let checked = checked.map(|(who, printed, fresh)| (who, printed, subject.as_ref().is_none_or(|s| *s == fresh)));
    let someone_else = matches!(&checked, Ok((who, _, same)) if who.id != identity.id || !same);
    // The roles the provider grants now, not only those of the sign-in: someone removed from
    // the approvers' group at the provider no longer signs as one.
    let mut identity = identity;
    if let Ok((who, _, _)) = &checked
        && who.id == identity.id
    {
        identity.roles.retain(|r| who.roles.contains(r));
    }
    if !identity.may(ward_core::Action::ChangeApprove) {
        return message_page(
            StatusCode::FORBIDDEN,
            "Your identity provider no longer grants you a role that signs",
            "Nothing was signed.",
        );
    }
    let req = SignRequest {
        meaning: pending.meaning,
        comment: pending.comment,
        reject: pending.reject,
        password: None,
        reauth_token: Some(id_token.to_string()),
        manifest_digest: Some(pending.manifest),
    };
    // Another subject is no proof at all: the signature is refused and recorded as one whose
    // re-authentication failed.
    let proof = BrowserReauth {
        token: id_token.to_string(),
        verified: checked
            .ok()
            .filter(|(_, _, same)| *same)
            .map(|(who, printed, _)| (who, printed)),
    };
    let bearer = ward_app::reauth::credential_digest(&pending.session);
    let cx = ward_app::reauth::Context {
        oidc: Some(&proof),
        bearer_sha256: Some(&bearer),
        // The session's issuer and subject were compared above; a fresh token of another
        // account is no proof (`verified` is none).
        subject: None,
    };
    match state.ward.sign(&identity, &pending.change, &req, &cx).await {
        Ok(a) => super::html_response(layout("Signed", None, signed_body(&a))).into_response(),
        Err(e) => refusal(
            &pending.change,
            e,
            if someone_else {
                Refusal::SomeoneElse(provider)
            } else {
                Refusal::Provider(provider)
            },
        ),
    }
}

/// How the refused signer re-authenticated (for the plain words).
enum Refusal<'a> {
    Password,
    Provider(&'a str),
    SomeoneElse(&'a str),
}

/// What every separation-of-duties refusal adds to its plain words.
const SEPARATION: &str = "Separation of duties: a change is signed by people other than those who opened, authored, edited or reclassified it, so another person must review and sign it. Nothing was signed; the attempt is recorded.";

/// A refused signature in plain words, with the way back to the sign page.
fn refusal(change: &str, e: ward_app::AppError, how: Refusal<'_>) -> Response {
    let reauth_failed = match how {
        Refusal::Password => "The password did not confirm it is you".to_string(),
        Refusal::Provider(p) => format!("{p} did not confirm a fresh sign-in as you"),
        Refusal::SomeoneElse(p) => format!("{p} signed in someone else, not you"),
    };
    let plain = match e.code.as_str() {
        "stale_manifest" => Some((
            StatusCode::CONFLICT,
            "The change changed while you were reviewing it",
            "Evidence was added or the change was edited after you opened the sign page, so your signature would cover something you have not seen. Nothing was signed (the attempt is recorded): review it again.",
        )),
        "already_signed" => Some((
            StatusCode::CONFLICT,
            "You have already signed this, with this meaning",
            "Your signature over the change as it is now is recorded once; nothing more was signed.",
        )),
        "meaning_needs_role" => Some((
            StatusCode::FORBIDDEN,
            "Your role does not sign with this meaning",
            "A privacy review is signed by a privacy officer, and an approval toward the quorum by an approver or release manager ([approvals.meaning_roles]). Nothing was signed; the attempt is recorded.",
        )),
        "meaning_not_asked" => Some((
            StatusCode::FORBIDDEN,
            "This change does not ask for that sign-off",
            "A sign-off such as a privacy review is given only where the change's checklist calls for it ([controls.checklist]). Nothing was signed; the attempt is recorded.",
        )),
        "opener_cannot_sign" => Some((
            StatusCode::FORBIDDEN,
            "You opened this change, so you cannot sign it",
            SEPARATION,
        )),
        "author_cannot_sign" => Some((
            StatusCode::FORBIDDEN,
            "You authored a commit of this change, so you cannot sign it",
            SEPARATION,
        )),
        "editor_cannot_sign" => Some((
            StatusCode::FORBIDDEN,
            "You edited this change, so you count as its author and cannot sign it",
            SEPARATION,
        )),
        "classifier_cannot_sign" => Some((
            StatusCode::FORBIDDEN,
            "You overrode this change's risk tier, so you cannot also sign it",
            SEPARATION,
        )),
        "admin_cannot_sign" => Some((
            StatusCode::FORBIDDEN,
            "You administer identities, so you cannot also sign changes",
            SEPARATION,
        )),
        "reauthentication_failed" | "reauthentication_required" => Some((
            StatusCode::UNAUTHORIZED,
            reauth_failed.as_str(),
            "Nothing was signed. The failed attempt is recorded, and repeated failures lock signing for a while.",
        )),
        _ => None,
    };
    let Some((status, message, hint)) = plain else {
        return failure(e);
    };
    let body = layout(
        "Not signed",
        None,
        html! {
            h1 { (message) }
            p { (hint) }
            p { a href=(format!("/ui/changes/{change}/sign")) { "Back to the sign page" } }
        },
    );
    (status, super::html_response(body)).into_response()
}
