//! Identities: API tokens, local users and sign-in sessions.
//!
//! Every change is a ledger event (`token.created`, `token.revoked`, `user.added`,
//! `session.started`) whose projection holds the current state; only the SHA-256 of a token's
//! random secret is recorded. Local users' argon2id password hashes are kept outside the log
//! (`ward_meta`), so an exported log never carries anything an attacker could try to crack.
//! [`Directory`] caches token lookups in memory and re-reads a cached token after
//! [`CACHE_TTL`], so a revocation through another replica takes effect within that time.

use crate::error::AppError;
use crate::error::Kind;
use argon2::Argon2;
use argon2::password_hash::PasswordHasher;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use ward_core::token::ApiToken;
use ward_core::{Identity, Role};
use ward_ledger::{ActorKind, EventEnvelope, NewEvent};
use ward_store::{Ledger, ProjectionOp, Projector};

/// How long a cached token is trusted before its projection is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// Lifetime of a sign-in session token.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;
const TOKENS: &str = "tokens";
const REVOKED: &str = "token_revocations";
use crate::users::USERS;
pub use crate::users::{UserRecord, check_name, check_password, user_record};

/// A token as stored in the `tokens` projection (the secret only as its hash).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRecord {
    /// Public token id.
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// The identity the token authenticates as.
    pub identity: String,
    /// Person or automation.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: ActorKind,
    /// Roles granted.
    pub roles: Vec<Role>,
    /// Expiry, seconds since the Unix epoch; `None` never expires.
    pub expires_at: Option<i64>,
    /// Hex SHA-256 of the secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub secret_sha256: String,
    /// Whether it was revoked (filled in when listing).
    #[serde(default)]
    pub revoked: bool,
    /// Who created it: the person themselves for a person's token (after re-authenticating,
    /// or by signing in), an administrator or the local operator for an automation token.
    #[serde(default)]
    pub created_by: String,
    /// For a session started at an OpenID provider: the ID token's issuer and subject
    /// (`<iss> <sub>`), which a re-authentication for a signature must present again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// A newly created token: the only time its secret is shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// The token string to give the client (shown once).
    pub token: String,
    /// Its record.
    pub record: TokenRecord,
}

/// Projects identity events into `tokens`, `token_revocations` and `users`.
pub struct IdentityProjector;

impl Projector for IdentityProjector {
    fn name(&self) -> &'static str {
        "identities"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let ward_ledger::Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let put = |collection: &str, key: &str, doc: Value| ProjectionOp::Put {
            collection: collection.into(),
            key: key.into(),
            doc,
        };
        let key = p.get("id").or_else(|| p.get("name")).and_then(Value::as_str);
        match (e.kind.as_str(), key) {
            ("token.created" | "session.started", Some(id)) => vec![put(TOKENS, id, p.clone())],
            ("token.revoked", Some(id)) => vec![put(REVOKED, id, json!({ "seq": e.seq, "time": e.time }))],
            ("user.added" | "user.activated", Some(name)) => vec![put(USERS, name, p.clone())],
            _ => vec![],
        }
    }
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// What a token is for: automation (`token:<id>`, its random id) or a person (`user:<name>`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    /// Token name, kept beside the log (automation acts as `token:<id>`, its random id).
    pub name: String,
    /// Roles to grant.
    pub roles: Vec<Role>,
    /// Lifetime in seconds; absent = never expires.
    pub expires_in_secs: Option<i64>,
    /// Issue the token to this local user (a human identity) instead of an automation. Only
    /// that user may, re-authenticating with `password`: nobody acts as somebody else.
    #[serde(default)]
    pub user: Option<String>,
    /// The user's password, for a person's token (never recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Creates a token and records it; returns the secret once.
pub async fn create_token(ledger: &Ledger, by: &Identity, req: &TokenRequest) -> Result<CreatedToken, AppError> {
    crate::users::check_new_name("token", &req.name)?;
    if req.roles.is_empty() {
        return Err(AppError::invalid(
            "a token needs at least one role",
            "give at least one role",
        ));
    }
    if req.expires_in_secs.is_some_and(|s| s <= 0) {
        return Err(AppError::invalid(
            "expiry must be in the future",
            "give a lifetime, e.g. 30d",
        ));
    }
    // A lifetime past any date a listing can print (attack on `e1f21bd`: `219451100d` was
    // accepted and listed as raw seconds): at most ten years.
    if req.expires_in_secs.is_some_and(|s| s > MAX_TOKEN_LIFETIME_SECS) {
        return Err(AppError::invalid(
            "a token's lifetime is at most ten years",
            "give a shorter lifetime, e.g. 90d (a token for a pipeline is best rotated)",
        ));
    }
    let token = ApiToken::generate().map_err(AppError::internal)?;
    let (identity, kind) = match &req.user {
        Some(user) => {
            if by.id != format!("user:{user}") {
                let reason = format!(
                    "{} cannot create a token that acts as user:{user}; nobody acts as somebody else",
                    by.id
                );
                let _ = ledger
                    .append(NewEvent {
                        actor: by.actor(),
                        kind: "token.refused".into(),
                        subject: format!("user:{user}"),
                        payload: json!({ "by": by.id, "code": "cannot_act_as_another", "user": user, "reason": reason }),
                    })
                    .await?;
                return Err(AppError::new(
                    Kind::Forbidden,
                    "cannot_act_as_another",
                    format!("{reason}; the attempt was recorded"),
                    "the person creates their own token (with their password) or signs in",
                ));
            }
            let creds = crate::reauth::Credentials {
                password: req.password.as_deref(),
                ..Default::default()
            };
            if let Err(r) = crate::reauth::confirm_identity(ledger, by, &creds, now_secs()).await? {
                return Err(crate::reauth::record_refusal(
                    ledger,
                    by,
                    "token.refused",
                    format!("user:{user}"),
                    json!({ "user": user }),
                    r,
                )
                .await);
            }
            let record = user_record(ledger, user).await?.ok_or_else(|| {
                AppError::not_found(
                    format!("no local user {}", crate::identifier::shown(user)),
                    "add the user first",
                )
            })?;
            if let Some(r) = req.roles.iter().find(|r| !record.roles.contains(r)) {
                return Err(AppError::invalid(
                    format!("user {user} does not hold role {r}"),
                    "a person's token can carry only roles the user has",
                ));
            }
            (format!("user:{user}"), ActorKind::Human)
        }
        // Automation acts as its token's id, not its name: a name is an administrator's free
        // text, kept beside the log with the record (since the twelfth session; tokens made
        // before act as `token:<name>`, as recorded).
        None => (format!("token:{}", token.id), ActorKind::Automation),
    };
    let record = TokenRecord {
        id: token.id.clone(),
        name: req.name.clone(),
        identity,
        kind,
        roles: req.roles.clone(),
        expires_at: req.expires_in_secs.map(|s| now_secs().saturating_add(s)),
        secret_sha256: token.secret_hash(),
        revoked: false,
        created_by: by.id.clone(),
        subject: None,
    };
    record_token(ledger, by, "token.created", &record).await?;
    Ok(CreatedToken {
        token: token.reveal(),
        record,
    })
}

/// Records a token. A name an administrator gave is free text and lives beside the log, the
/// leaf holding its reference; a session's is Ward's own (`session-<login>`, the login already
/// in the leaf) and stays inline: one document a sign-in would add up.
async fn record_token(ledger: &Ledger, by: &Identity, kind: &str, record: &TokenRecord) -> Result<(), AppError> {
    let mut texts = crate::documents::Texts::new();
    let name = match kind {
        "session.started" => record.name.clone(),
        _ => texts.put(&record.name)?,
    };
    let stored = TokenRecord { name, ..record.clone() };
    let payload = serde_json::to_value(&stored).map_err(AppError::internal)?;
    let event = NewEvent {
        actor: by.actor(),
        kind: kind.into(),
        subject: format!("token:{}", record.id),
        payload,
    };
    crate::documents::append(ledger, event, texts).await?;
    Ok(())
}

/// Revokes a token by id.
pub async fn revoke_token(ledger: &Ledger, by: &Identity, id: &str, dir: &Directory) -> Result<(), AppError> {
    if ledger.store().projection(TOKENS, id).await?.is_none() {
        return Err(AppError::not_found(
            format!("no token {}", crate::identifier::shown(id)),
            "list the tokens",
        ));
    }
    ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "token.revoked".into(),
            subject: format!("token:{id}"),
            payload: json!({ "id": id }),
        })
        .await?;
    dir.forget(id);
    Ok(())
}

/// Every token (secrets never included), with revocation state.
pub async fn list_tokens(ledger: &Ledger) -> Result<Vec<TokenRecord>, AppError> {
    let revoked: std::collections::HashSet<String> = ledger
        .store()
        .projection_list(REVOKED)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut out = Vec::new();
    for (id, doc) in ledger.store().projection_list(TOKENS).await? {
        let mut r: TokenRecord = serde_json::from_value(doc).map_err(AppError::internal)?;
        r.secret_sha256.clear();
        r.revoked = revoked.contains(&id);
        out.push(r);
    }
    // Names as written (an administrator's token's lives beside the log).
    crate::documents::shown(ledger, out).await
}

/// A local user to add.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRequest {
    /// Login name.
    pub name: String,
    /// Printed name.
    pub display_name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Password (at least 12 characters); only its argon2id hash is kept.
    pub password: String,
}

/// The store lock under which a user is added ([`add_user`]).
const ADDING_USERS: &str = "identities.add_user";

/// Adds a local user: the password hash is stored outside the log, the user as an event.
pub async fn add_user(ledger: &Ledger, by: &Identity, req: &UserRequest) -> Result<UserRecord, AppError> {
    crate::users::check_new_name("user", &req.name)?;
    if by.kind != ActorKind::Human {
        // A token can be minted by the administrator who would then activate its users: people
        // are added by people.
        return Err(AppError::new(
            Kind::Forbidden,
            "automation_cannot_add_people",
            format!(
                "{} is automation; people are added by an administrator in person",
                by.id
            ),
            "sign in as an administrator and add them in your own session, or add users on the data directory",
        ));
    }
    // One add at a time over this store, whichever process adds: the login and printed-name
    // checks and the write are one step (two concurrent adds of the same name or printed name
    // both passed the checks; a lock of this process only let two processes add `eve` and
    // `e.ve`, one person twice).
    let _one_at_a_time = ledger.store().lock(ADDING_USERS).await?;
    if req.display_name.trim().is_empty() || req.display_name.len() > 200 {
        return Err(AppError::invalid(
            "display name must be 1 to 200 characters",
            "give the display name",
        ));
    }
    check_printed_name(&req.display_name)?;
    if req.password.chars().count() < 12 || req.password.len() > 1024 {
        return Err(AppError::invalid(
            "password must be 12 to 1024 characters",
            "choose a longer passphrase",
        ));
    }
    if req.roles.is_empty() {
        return Err(AppError::invalid(
            "a user needs at least one role",
            "give at least one role",
        ));
    }
    if user_record(ledger, &req.name).await?.is_some() {
        return Err(AppError::new(
            Kind::Conflict,
            "conflict",
            format!("user {} exists", req.name),
            "pick another name",
        ));
    }
    // A login Ward reads as an existing user's — one that differs only in dots, underscores,
    // hyphens, quotes or case (`bob.`, `b_ob`) — would be a second account of one person: the
    // separation of duties reads them as one, and a quorum must never count them as two (a
    // helper's attack on the twelfth session's head).
    let login = format!("user:{}", req.name);
    let users = ledger.store().projection_list(USERS).await?;
    for (other, _) in &users {
        if ward_core::approval::same_person(&login, &format!("user:{other}")) {
            return Err(AppError::new(
                Kind::Conflict,
                "login_taken",
                format!(
                    "user {} exists, and Ward reads this login as the same person's (logins that differ only in dots, underscores, hyphens, quotes or case are one person)",
                    crate::identifier::shown(other)
                ),
                "pick a login that differs in its letters or digits",
            ));
        }
    }
    let printed = req.display_name.trim();
    let key = crate::redaction::installation_key(ledger.store().as_ref()).await?;
    let printed_keys = printed_name_keys(&key, printed);
    let printed_key = printed_keys[0].clone();
    // Each user's name as stored (a purged one reads as nothing, never as its placeholder).
    let mut taken: Option<(String, bool)> = None;
    for (_, doc) in users {
        let u: UserRecord = serde_json::from_value(doc).map_err(AppError::internal)?;
        let text = crate::documents::read_present(ledger, &u.display_name).await?;
        let by_text = text.is_some_and(|t| same_printed_name(&t, printed));
        if by_text || u.printed_key.as_ref().is_some_and(|k| printed_keys.contains(k)) {
            taken = Some((u.name, by_text));
            break;
        }
    }
    if let Some((other, by_text)) = taken {
        // A purged name is matched by its fingerprint only: whose it was is not said.
        let reason = if by_text {
            format!("user {other} already signs with this printed name")
        } else {
            "this printed name was another person's and is not given again".to_string()
        };
        return Err(AppError::new(
            Kind::Conflict,
            "printed_name_taken",
            reason,
            "give each person a printed name of their own (e.g. with a middle initial): signatures must tell people apart",
        ));
    }
    let password = req.password.clone();
    let phc = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    let record = UserRecord {
        name: req.name.clone(),
        display_name: printed.to_string(),
        roles: req.roles.clone(),
        added_by: Some(by.id.clone()),
        pending: !is_local_operator(by),
        activated_by: None,
        printed_key: Some(printed_key),
        key_check: Some(crate::redaction::key_check(&key)),
    };
    // The printed name is a person's name, free text: it lives beside the log (the leaf holds
    // its reference), like every printed name a signature records.
    let mut texts = crate::documents::Texts::new();
    let stored = UserRecord {
        display_name: texts.put(printed)?,
        ..record.clone()
    };
    let event = NewEvent {
        actor: by.actor(),
        kind: "user.added".into(),
        subject: format!("user:{}", req.name),
        payload: serde_json::to_value(&stored).map_err(AppError::internal)?,
    };
    // Judged before the password hash is kept: a refused user leaves nothing behind.
    ledger.admit(&event)?;
    ledger.store().set_meta(&format!("password:{}", req.name), &phc).await?;
    crate::documents::append(ledger, event, texts).await?;
    Ok(record)
}

/// Whether two printed names would read as the same person on a signature: compared after the
/// guard's Unicode folding (invisible characters dropped, fullwidth forms and look-alike letters
/// to ASCII, escapes decoded), ignoring case, punctuation and spacing.
fn same_printed_name(a: &str, b: &str) -> bool {
    printed_name_read(a) == printed_name_read(b)
}

/// A printed name as [`same_printed_name`] compares it: its letters and digits only, in lower
/// case, each character read as the one Unicode's confusables table (UTS #39 skeleton) draws it
/// like (`ꓲ` Lisu, `ǀ`, runic `ᛁ` and Hebrew `ו` as `l`: counted as names of their own, a
/// helper's attack on `93961e6`), and the letters Latin type draws alike read as one (`i`, `I`
/// and `1` as `l`, `0` as `o`, `rn` as `m`, `vv` as `w`: `AIice` and `Ernma` passed as names of
/// their own, and a hyphen counted where other marks did not — a helper's attack on `aa41855`).
fn printed_name_read(s: &str) -> String {
    let folded = ward_evidence::guard::decode::decoded(s).map_or_else(|| s.to_string(), |v| v.text);
    let drawn: String = unicode_security::skeleton(&folded).collect();
    latin_read(&drawn)
}

/// The reading of a printed name before the confusables table (until 2026-12-07, thirteenth
/// session): the fingerprints kept then still keep their names from being given again.
fn printed_name_read_before_skeleton(s: &str) -> String {
    let folded = ward_evidence::guard::decode::decoded(s).map_or_else(|| s.to_string(), |v| v.text);
    latin_read(&folded)
}

fn latin_read(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        let c = match c {
            'I' | 'i' | 'L' | '1' => 'l',
            '0' | 'O' => 'o',
            c => c,
        };
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out.replace("rn", "m").replace("vv", "w")
}

/// A printed name's keyed fingerprint (under the installation key), kept in the user's record:
/// the name itself lives beside the log and can be purged, and a purged name must still not be
/// given to somebody else (a helper's attack on `c03131e`: two people then signed as one name).
fn printed_name_key(key: &ward_evidence::redact::FingerprintKey, name: &str) -> String {
    key.fingerprint(&format!("printed-name\0{}", printed_name_read(name)))
}

/// The fingerprints a purged printed name may have been kept under: the current reading's and
/// the one before the confusables table.
fn printed_name_keys(key: &ward_evidence::redact::FingerprintKey, name: &str) -> [String; 2] {
    [
        printed_name_key(key, name),
        key.fingerprint(&format!("printed-name\0{}", printed_name_read_before_skeleton(name))),
    ]
}

/// A printed name is written into `user.added` and beside every signature its person makes: a
/// person's name — any script's letters and marks, spaces and `. ' - , ( )`, at most two digits
/// (`Quinn 2`) — judged by every detector (attack round 7: a birth date, an e-mail address or a
/// token in a printed name stayed in the log).
fn check_printed_name(name: &str) -> Result<(), AppError> {
    // What looks like PHI or a secret is refused as such first (422), whatever its shape.
    crate::freetext::check("display name", name)?;
    // Roman numerals of a day, a month or a year count as their digits (`Mary Jones b. XII IV
    // MCMLXI` was kept in every signature: a helper's attack on the tenth session's head; a
    // generation's `III` is one number).
    let read = crate::identifier::romans_of(name, 3).unwrap_or_else(|| name.to_string());
    // Numbers written in words count as their digits too, and a month's name beside a number
    // in digits is a date (`born April twelfth nineteen sixty-one`, `born April 12`, `12 Avril`:
    // the tenth session's gaps; `April Jones`, `Corrie ten Boom`, `May Ten Eyck` and
    // `Jan Seven` are names: a helper's sweep on the eleventh session).
    let words: Vec<String> = read
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let numbers = crate::identifier::numbers_in_words(&words);
    let digits = numbers
        .iter()
        .flat_map(|w| w.chars())
        .filter(char::is_ascii_digit)
        .count();
    // A given name and a number alone are a name (`Jan 2`, `Julio 12`: a helper's sweep on
    // the eleventh session).
    let given_and_number = words.len() == 2 && words[1].bytes().all(|b| b.is_ascii_digit());
    let dated = !given_and_number && month_beside_a_day(&words);
    // Any script's letters and marks (a virama, a combining accent, ZWNJ, a middle dot): what is
    // refused is ASCII that names no one (`*`, `@`, `:`, `/`, `#`, …), other digits, control
    // characters, white space but the space, and what renders as nothing but the joiners a
    // script writes names with (a right-to-left override showed `\u{202e}atleD atiR` as another
    // person's `Rita Delta`: a helper's attack on `c03131e`).
    let shaped = name.chars().all(|c| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == ' ' || ".'-,()".contains(c)
        } else {
            !(c.is_numeric() || crate::users::unprintable(c))
        }
    });
    if !shaped || digits > 2 || dated {
        return Err(AppError::invalid(
            "a printed name is a person's name: letters, spaces and . ' - , ( ), at most two digits and no date (a month beside a number, a number of more than two digits in words)",
            "give the name the person signs with; it is shown beside every signature",
        ));
    }
    Ok(())
}

/// Whether `words` (lower case) hold a month's name beside a day: a number in digits, with an
/// ordinal's suffix or glued to the month (`12th April`, `12Apr`), or an ordinal word
/// (`twelfth`), next to it or past `of`, `the` and tens (`the twelfth of April`, `April the
/// 12th`, `April twenty first`: a reviewer's find on the eleventh session). A cardinal in words
/// is a name's as often (`May Ten Eyck`, `Jan Seven`).
fn month_beside_a_day(words: &[&str]) -> bool {
    const BETWEEN: [&str; 9] = ["of", "the", "de", "del", "le", "la", "twenty", "thirty", "on"];
    // Digits and letters apart (`12apr`), an ordinal's suffix after digits dropped.
    let mut parts: Vec<String> = Vec::new();
    for w in words {
        let mut current = String::new();
        for c in w.chars() {
            if !current.is_empty() && current.chars().last().is_some_and(|l| l.is_ascii_digit()) != c.is_ascii_digit() {
                parts.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
        parts.push(current);
    }
    let digits = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    parts.dedup_by(|w, before| digits(before) && matches!(w.as_str(), "st" | "nd" | "rd" | "th"));
    let day = |w: &str| digits(w) || crate::identifier::ordinal_word(w);
    let month = |w: &str| crate::identifier::month_number(w).is_some();
    (0..parts.len()).any(|i| {
        if !month(&parts[i]) {
            return false;
        }
        let near = |step: isize| {
            let mut k = i;
            for _ in 0..3 {
                let Some(next) = k.checked_add_signed(step).filter(|n| *n < parts.len()) else {
                    return false;
                };
                k = next;
                if day(&parts[k]) {
                    return true;
                }
                if !BETWEEN.contains(&parts[k].as_str()) {
                    return false;
                }
            }
            false
        };
        near(1) || near(-1)
    })
}

#[cfg(test)]
mod printed_name_tests {
    use super::{check_printed_name, same_printed_name};

    /// Attack round 7: a birth date, an e-mail address or a token in a printed name stayed in
    /// `user.added` and beside every signature. Names in any script are still taken.
    #[test]
    fn a_printed_name_holding_a_birth_date_an_address_or_a_token_is_refused() {
        for attack in [
            "John Smith *12.04.1961",
            "Johann Schmidt, geb. 12.04.1961",
            "contact the patient at john.smith@example.com",
            "R7fK2mQ9xLp4Vt8Wc3Zn6Bh1Jd5Sg0Ya",
            "Pat 123-45-6789",
            // A birth date in Roman numerals (a helper's attack on the tenth session's head).
            "Mary Jones b. XII IV MCMLXI",
            "Mary Jones MCMLXI",
            "Mary Jones DOB XII IV LXI",
            // A date in words, a day and a month (the tenth session's gaps).
            "Mary Jones born April twelfth nineteen sixty-one",
            "Mary Jones born April 12",
            "Mary Jones 12 April",
            "Mary Jones 12 Avril",
            "Mary Jones 12 Abril",
            // A reviewer's finds on the eleventh session.
            "Mary Jones April twelfth",
            "Mary Jones twelfth of April",
            "Mary Jones 12th April",
            "Mary Jones April 12th",
            "Mary Jones 12Apr",
            "Mary Jones born the twelfth of April",
            "Mary Jones April the 12th",
            "Mary Jones 12th Avril",
            // Direction overrides and other characters that render as nothing (a helper's
            // attack on `c03131e`: `\u{202e}atleD atiR` read as another person's `Rita Delta`).
            "\u{202e}atleD qvwxyZ atiR",
            "Eve Zyxwvq \u{202e}evil",
            "Eve \u{2066}Zyxwvq\u{2069}",
            "Eve\u{200b}Zyxwvq",
            "Eve Zyxwvq\u{feff}",
            "Eve\u{2060}Zyxwvq",
        ] {
            let e = check_printed_name(attack).expect_err(attack);
            assert!(
                !e.message.contains("1961") && !e.message.contains("smith"),
                "{}",
                e.message
            );
        }
        for name in [
            "Quinn Adams 2",
            "Siobhán O'Neill",
            "Jose\u{301} Pe\u{301}rez",
            "\u{926}\u{947}\u{935}\u{928}\u{93e}\u{917}\u{930}\u{940}",
            "Bernat Ferrer i Pla\u{b7}",
            "Nguyễn Văn An",
            "John Smith III",
            "Louis XIV Martin",
            "Ivy Dix",
            // Vi and Xi are names (a helper's false-refusal sweep).
            "Vi Xi",
            "Thomas Xi III",
            "Mary Vi Tran IV",
            "Robert Xi Jr. II",
            // Months and numbers that are names.
            "April Jones",
            "June May Carter",
            "Corrie ten Boom",
            "Jan Novak 2",
            "May Ten Eyck",
            "Jan ten Brink",
            "Jun Ten",
            "Jan Seven",
            "April Seven",
            "Marco Rossi",
            "Jan 2",
            "Julio 12",
            "Marco Rossi 12",
            // A script's joiners are part of its names.
            "\u{645}\u{6cc}\u{200c}\u{646}\u{627}",
            "\u{915}\u{94d}\u{200d}\u{937}",
        ] {
            if let Err(e) = check_printed_name(name) {
                panic!("{name}: {e:?}");
            }
        }
    }

    #[test]
    fn look_alike_printed_names_are_the_same_name() {
        for twin in [
            "Ｂｏｂ Ａｄｍｉｎ",
            "Bob Ad\u{200b}min",
            "\u{412}ob Admin",
            "Bob Admin.",
            "bob  ADMIN",
        ] {
            assert!(same_printed_name("Bob Admin", twin), "{twin:?}");
        }
        assert!(!same_printed_name("Bob Admin", "Bob Adams"));
        // Latin letters drawn alike, and marks however placed (a helper's attack on `aa41855`).
        for (a, b) in [
            ("Alice Zed", "AIice Zed"),
            ("Alice Zed", "A1ice Zed"),
            ("Emma Mill", "Ernma MiII"),
            ("Owen Vance", "0wen Vance"),
            ("Alice Zedname", "Alice Zed-name"),
            ("Alice Zed name", "Alice Zed-name"),
        ] {
            assert!(same_printed_name(a, b), "{a:?} {b:?}");
        }
        assert!(!same_printed_name("Alice Zed", "Alice Zee"));
        // Look-alikes outside the guard's subset, from Unicode's confusables table (a helper's
        // attack on `93961e6`: Lisu, a Latin click letter, runic and Hebrew letters for `l`).
        for twin in [
            "A\u{A4F2}ice Zed",
            "A\u{1C0}ice Zed",
            "A\u{16C1}ice Zed",
            "A\u{5D5}ice Zed",
            "\u{A4EE}lice Zed",
        ] {
            assert!(same_printed_name("Alice Zed", twin), "{twin:?}");
        }
        // Names of other scripts stay names of their own.
        assert!(!same_printed_name("\u{418}\u{432}\u{430}\u{43d}", "Ivan"));
        assert!(!same_printed_name("Jos\u{e9} Ruiz", "Jos Ruiz"));
    }

    #[test]
    fn a_purged_name_kept_under_the_reading_before_the_confusables_table_is_still_known() {
        let key = ward_evidence::redact::FingerprintKey::from_random([7u8; 32]);
        for name in ["Alice Zed", "\u{C6}sa Berg", "Jos\u{e9} Ruiz"] {
            let old = key.fingerprint(&format!(
                "printed-name\0{}",
                super::printed_name_read_before_skeleton(name)
            ));
            assert!(super::printed_name_keys(&key, name).contains(&old), "{name}");
        }
    }
}

/// The operator of the data directory (`local:*`, `ward user add` without a server): whoever
/// holds the data directory holds every record, so their users are active at once. Users added
/// by an administrator over the API wait for a second administrator ([`activate_user`]).
fn is_local_operator(by: &Identity) -> bool {
    by.id.starts_with("local:")
}

/// Activates a user added by another administrator (`user.activated`). Never the administrator
/// who added the user, never the user, never automation.
pub async fn activate_user(ledger: &Ledger, by: &Identity, name: &str) -> Result<UserRecord, AppError> {
    check_name("user", name)?;
    let Some(mut user) = user_record(ledger, name).await? else {
        return Err(AppError::new(
            Kind::NotFound,
            "not_found",
            format!("no user {}", crate::identifier::named(name)),
            "list the users",
        ));
    };
    if !user.pending {
        return Err(AppError::new(
            Kind::Conflict,
            "not_pending",
            format!("user {name} is already active"),
            "nothing to do",
        ));
    }
    let refuse = |code: &'static str, reason: String| {
        Err(AppError::new(
            Kind::Forbidden,
            code,
            reason,
            "a second administrator, not the one who added the user, activates it",
        ))
    };
    if by.kind != ActorKind::Human {
        return refuse("automation_cannot_sign", format!("{} is automation", by.id));
    }
    if user.added_by.as_deref() == Some(by.id.as_str()) {
        return refuse("second_admin_required", format!("{} added user {name}", by.id));
    }
    if by.id == format!("user:{name}") {
        return refuse("second_admin_required", format!("{} cannot activate themselves", by.id));
    }
    user.pending = false;
    user.activated_by = Some(by.id.clone());
    ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "user.activated".into(),
            subject: format!("user:{name}"),
            payload: serde_json::to_value(&user).map_err(AppError::internal)?,
        })
        .await?;
    crate::documents::shown(ledger, user).await
}

/// Every local user's login (the users' records only: no printed name is read).
pub async fn logins(ledger: &Ledger) -> Result<Vec<String>, AppError> {
    Ok(ledger
        .store()
        .projection_list(USERS)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .collect())
}

/// Every local user, printed names as text.
pub async fn list_users(ledger: &Ledger) -> Result<Vec<UserRecord>, AppError> {
    let stored: Vec<UserRecord> = ledger
        .store()
        .projection_list(USERS)
        .await?
        .into_iter()
        .map(|(_, doc)| serde_json::from_value(doc).map_err(AppError::internal))
        .collect::<Result<_, _>>()?;
    crate::documents::shown(ledger, stored).await
}

/// The longest lifetime a token may be given (ten years).
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 10 * 366 * 86_400;

/// Starts a sign-in session for a user whose password was checked: a human token that expires.
pub async fn start_session(ledger: &Ledger, user: &UserRecord) -> Result<CreatedToken, AppError> {
    let token = ApiToken::generate().map_err(AppError::internal)?;
    let identity = Identity {
        id: format!("user:{}", user.name),
        kind: ActorKind::Human,
        roles: user.roles.clone(),
    };
    let record = TokenRecord {
        id: token.id.clone(),
        name: format!("session-{}", user.name),
        identity: identity.id.clone(),
        kind: ActorKind::Human,
        roles: user.roles.clone(),
        expires_at: Some(now_secs() + SESSION_TTL_SECS),
        secret_sha256: token.secret_hash(),
        revoked: false,
        created_by: identity.id.clone(),
        subject: None,
    };
    record_token(ledger, &identity, "session.started", &record).await?;
    Ok(CreatedToken {
        token: token.reveal(),
        record,
    })
}

/// Starts a sign-in session for a person an identity provider authenticated (the web UI's OIDC
/// sign-in, after the ID token was verified): a human token that expires, recording the
/// identity and roles the provider's claim mapping gave (`session.started`, name
/// `session-oidc-<provider>`). Only people: an automation identity is refused.
pub async fn start_oidc_session(
    ledger: &Ledger,
    identity: &Identity,
    provider: &str,
    subject: &str,
) -> Result<CreatedToken, AppError> {
    if identity.kind != ActorKind::Human {
        return Err(AppError::new(
            Kind::Forbidden,
            "person_required",
            "only a person may sign in to the web UI",
            "set kind = \"human\" on the [[oidc]] provider used for browser sign-in",
        ));
    }
    let token = ApiToken::generate().map_err(AppError::internal)?;
    let record = TokenRecord {
        id: token.id.clone(),
        name: format!("session-oidc-{provider}"),
        identity: identity.id.clone(),
        kind: ActorKind::Human,
        roles: identity.roles.clone(),
        expires_at: Some(now_secs() + SESSION_TTL_SECS),
        secret_sha256: token.secret_hash(),
        revoked: false,
        created_by: identity.id.clone(),
        subject: Some(subject.to_string()),
    };
    record_token(ledger, identity, "session.started", &record).await?;
    Ok(CreatedToken {
        token: token.reveal(),
        record,
    })
}

/// The provider's issuer and subject a session (token `id`) was started for; none for a
/// password session or an unknown token.
pub async fn session_subject(ledger: &Ledger, id: &str) -> Result<Option<String>, AppError> {
    let Some(doc) = ledger.store().projection(TOKENS, id).await? else {
        return Ok(None);
    };
    let record: TokenRecord = serde_json::from_value(doc).map_err(AppError::internal)?;
    Ok(record.subject)
}

/// Why a bearer token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// Not a Ward token at all.
    Malformed,
    /// No such token, or the secret does not match.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

impl AuthFailure {
    /// Label for metrics and events.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Malformed => "malformed",
            AuthFailure::Unknown => "unknown",
            AuthFailure::Expired => "expired",
            AuthFailure::Revoked => "revoked",
        }
    }
}

#[derive(Clone)]
struct Cached {
    record: TokenRecord,
    revoked: bool,
    fetched: Instant,
}

/// Token lookups with an in-memory cache.
#[derive(Clone, Default)]
pub struct Directory {
    cache: Arc<RwLock<HashMap<String, Cached>>>,
}

impl Directory {
    /// Drops a cached token (after a local revocation).
    pub fn forget(&self, id: &str) {
        self.cache.write().unwrap_or_else(PoisonError::into_inner).remove(id);
    }

    /// The provider's issuer and subject of token `id`, from the entry [`Directory::authenticate`]
    /// has just cached for it (no read); none for a token that is not an OIDC session.
    pub fn subject(&self, id: &str) -> Option<String> {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .and_then(|c| c.record.subject.clone())
    }

    /// When token `id` expires, from the entry [`Directory::authenticate`] has just cached for
    /// it (no read); none for a token that does not expire.
    pub fn expires_at(&self, id: &str) -> Option<i64> {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .and_then(|c| c.record.expires_at)
    }

    /// Authenticates a bearer token string.
    pub async fn authenticate(&self, ledger: &Ledger, bearer: &str) -> Result<Result<Identity, AuthFailure>, AppError> {
        let Ok(token) = ApiToken::parse(bearer) else {
            return Ok(Err(AuthFailure::Malformed));
        };
        let cached = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token.id)
            .filter(|c| c.fetched.elapsed() < CACHE_TTL)
            .cloned();
        let entry = match cached {
            Some(c) => c,
            None => {
                let Some(doc) = ledger.store().projection(TOKENS, &token.id).await? else {
                    return Ok(Err(AuthFailure::Unknown));
                };
                let record: TokenRecord = serde_json::from_value(doc).map_err(AppError::internal)?;
                let revoked = ledger.store().projection(REVOKED, &token.id).await?.is_some();
                let c = Cached {
                    record,
                    revoked,
                    fetched: Instant::now(),
                };
                self.cache
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(token.id.clone(), c.clone());
                c
            }
        };
        if !token.matches(&entry.record.secret_sha256) {
            return Ok(Err(AuthFailure::Unknown));
        }
        if entry.revoked {
            return Ok(Err(AuthFailure::Revoked));
        }
        if entry.record.expires_at.is_some_and(|t| t <= now_secs()) {
            return Ok(Err(AuthFailure::Expired));
        }
        Ok(Ok(Identity {
            id: entry.record.identity,
            kind: entry.record.kind,
            roles: entry.record.roles,
        }))
    }
}
