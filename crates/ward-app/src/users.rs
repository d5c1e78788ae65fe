//! The local user directory, read-only: names, records and password checks. Identities
//! (`crate::identities`) writes it; re-authentication (`crate::reauth`) and the rest of the
//! server read it from here, so neither depends on the other.

use crate::error::AppError;
use crate::error::Kind;
use argon2::Argon2;
use argon2::password_hash::{PasswordVerifier, phc::PasswordHash};
use serde::{Deserialize, Serialize};
use ward_core::Role;
use ward_store::Ledger;

/// The projection of local users.
pub(crate) const USERS: &str = "users";

/// A local user (`users` projection).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRecord {
    /// Login name; the identity is `user:<name>`.
    pub name: String,
    /// Printed name, as it will appear on signatures.
    pub display_name: String,
    /// Roles granted.
    pub roles: Vec<Role>,
    /// Who added the user (absent in records written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
    /// A user added by an administrator over the API waits for a second administrator's
    /// activation before they can sign in or sign: one administrator cannot create the people
    /// who then approve their changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    /// The administrator who activated the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_by: Option<String>,
    /// The printed name's keyed fingerprint (users added since 2026-12-07's twelfth session):
    /// no two people sign with one name, a purged one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed_key: Option<String>,
    /// The check of the installation key `printed_key` was made under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_check: Option<String>,
}

/// Whether `c` renders as nothing (or turns the text around it) and is none of the joiners a
/// script writes names with (ZWNJ, ZWJ): a printed name holding one is refused, from a local
/// user or an identity provider alike (a right-to-left override showed `\u{202e}atleD atiR`
/// as another person's `Rita Delta`: a helper's attack on `c03131e`, and a reviewer's on the
/// provider's claim).
fn hidden(c: char) -> bool {
    ward_evidence::guard::decode::invisible(c) && !matches!(c, '\u{200C}' | '\u{200D}')
}

/// Whether `c` does not print as a name's character: [`hidden`], a control character, or white
/// space but the space (a line or paragraph separator) — what a printed name may not hold,
/// whoever gives it.
pub(crate) fn unprintable(c: char) -> bool {
    hidden(c) || c.is_control() || (c.is_whitespace() && c != ' ')
}

/// The refusal for an account that waits for its second administrator.
pub fn pending_refusal(user: &UserRecord) -> AppError {
    AppError::new(
        Kind::Forbidden,
        "account_pending",
        format!(
            "user {} was added by {} and waits for a second administrator's activation",
            user.name,
            user.added_by.as_deref().unwrap_or("an administrator")
        ),
        format!("another administrator activates {}", user.name),
    )
}

/// Checks a token or user name: 1–64 of `[a-z0-9._-]`, starting with a letter or digit.
pub fn check_name(what: &str, name: &str) -> Result<(), AppError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        // The name is not repeated: a refused name may hold anything.
        Err(AppError::invalid(
            format!("invalid {what} name ({} characters)", name.chars().count()),
            "use 1 to 64 lower-case letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Checks a name given to something new — a token, a user, a trusted builder, an attestation
/// type — which is written into the log's leaves: [`check_name`], then judged as an identifier
/// (`john.smith.04.12.1961`), without a name beside a date of this century either
/// (`roe-j-2015-04-12`, [`crate::identifier::check_new_name_dates`]), without a number of 7
/// digits or more (attack round 7). Lookups
/// of existing names (a rollout `ro-00000000`) take [`check_name`] alone.
pub fn check_new_name(what: &str, name: &str) -> Result<(), AppError> {
    check_name(what, name)?;
    crate::identifier::judge(&format!("{what} name"), name)?;
    crate::identifier::check_new_name_dates(&format!("{what} name"), name)?;
    crate::identifier::check_number_unmasked(&format!("{what} name"), name)?;
    crate::identifier::check_number(&format!("{what} name"), name)
}

/// A local user by name.
pub async fn user_record(ledger: &Ledger, name: &str) -> Result<Option<UserRecord>, AppError> {
    match ledger.store().projection(USERS, name).await? {
        Some(doc) => Ok(Some(serde_json::from_value(doc).map_err(AppError::internal)?)),
        None => Ok(None),
    }
}

/// Checks a local user's password (argon2id, off the async threads). A right password for an
/// account still waiting for activation is refused (`account_pending`), never accepted.
pub async fn check_password(ledger: &Ledger, name: &str, password: &str) -> Result<Option<UserRecord>, AppError> {
    let Some(user) = user_record(ledger, name).await? else {
        return Ok(None);
    };
    let Some(phc) = ledger.store().get_meta(&format!("password:{name}")).await? else {
        return Ok(None);
    };
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .map_err(AppError::internal)?;
    if ok && user.pending {
        return Err(pending_refusal(&user));
    }
    Ok(ok.then_some(user))
}
