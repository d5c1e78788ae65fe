//! `ward token …` and `ward user …`: identities, locally or through a server.

use crate::backend::Backend;
use crate::cli::{Global, TokenCommand, TokenCreateArgs, UserAddArgs, UserCommand};
use crate::failure::Failure;
use crate::output::emit;
use anyhow::{Context as _, Result};
use serde_json::json;
use std::io::BufRead;
use ward_app::identities::{CreatedToken, TokenRecord, TokenRequest, UserRecord, UserRequest};

/// Parses a lifetime such as `30d`, `12h`, `90m` or `3600s` into seconds.
pub fn parse_lifetime(s: &str) -> Result<i64> {
    let bad = || {
        Failure::new(
            "bad_lifetime",
            format!("cannot read lifetime {}", ward_app::identifier::shown(s)),
            "write e.g. 30d, 12h, 90m or 3600s",
        )
    };
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" | "" => 1,
        _ => return Err(bad().into()),
    };
    n.checked_mul(mult).filter(|v| *v > 0).ok_or_else(|| bad().into())
}

/// Dispatches `ward token`.
pub async fn token(g: &Global, cmd: &TokenCommand) -> Result<()> {
    let backend = Backend::from_global(g)?;
    match cmd {
        TokenCommand::Create(a) => create(g, &backend, a).await,
        TokenCommand::List => {
            let list: Vec<TokenRecord> = backend.tokens().await?;
            let now = jiff::Timestamp::now().as_second();
            emit(g.output, json!({ "tokens": list }), || {
                list.iter()
                    .map(|t| {
                        let roles: Vec<&str> = t.roles.iter().map(|r| r.as_str()).collect();
                        let state = match (t.revoked, t.expires_at) {
                            (true, _) => "revoked".to_string(),
                            (false, Some(e)) if e <= now => {
                                format!("expired {}", crate::output::when(e, now))
                            }
                            (false, Some(e)) => format!("active, expires {}", crate::output::when(e, now)),
                            (false, None) => "active, never expires".into(),
                        };
                        format!(
                            "{}  {:<24} {:<32} {:<28} {state}",
                            t.id,
                            t.name,
                            t.identity,
                            roles.join(",")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            backend.revoke_token(id).await?;
            emit(g.output, json!({ "revoked": id }), || format!("revoked token {id}"));
            Ok(())
        }
    }
}

async fn create(g: &Global, backend: &Backend<'_>, a: &TokenCreateArgs) -> Result<()> {
    let req = TokenRequest {
        name: a.name.clone(),
        roles: a.roles.clone(),
        expires_in_secs: a.expires.as_deref().map(parse_lifetime).transpose()?,
        user: a.user.clone(),
        password: match &a.user {
            Some(_) => crate::context::password(g)?,
            None => None,
        },
    };
    let created: CreatedToken = backend.create_token(&req).await?;
    // Text: the token alone on stdout (`WARD_TOKEN=$(ward token create …)` captures it), the
    // notice on stderr.
    if g.output == crate::cli::Output::Text {
        eprintln!(
            "token {} for {} — shown once; store it in your CI secrets (WARD_TOKEN)",
            created.record.id, created.record.identity
        );
    }
    emit(g.output, json!(created), || created.token.clone());
    Ok(())
}

/// Dispatches `ward user`.
pub async fn user(g: &Global, cmd: &UserCommand) -> Result<()> {
    let backend = Backend::from_global(g)?;
    match cmd {
        UserCommand::Add(a) => add_user(g, &backend, a).await,
        UserCommand::Unlock { name } => {
            backend.unlock_user(name).await?;
            emit(g.output, json!({ "unlocked": name }), || {
                format!("lifted the signing lockout of {name}")
            });
            Ok(())
        }
        UserCommand::Activate { name } => {
            let user: UserRecord = backend.activate_user(name).await?;
            emit(g.output, json!(user), || {
                format!("activated user {} ({})", user.name, user.display_name)
            });
            Ok(())
        }
        UserCommand::List => {
            let list: Vec<UserRecord> = backend.users().await?;
            emit(g.output, json!({ "users": list }), || {
                list.iter()
                    .map(|u| {
                        let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                        let state = if u.pending { "  (pending activation)" } else { "" };
                        format!("{:<20} {:<32} {}{state}", u.name, u.display_name, roles.join(","))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
    }
}

async fn add_user(g: &Global, backend: &Backend<'_>, a: &UserAddArgs) -> Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from stdin")?;
    let req = UserRequest {
        name: a.name.clone(),
        display_name: a.display_name.clone(),
        roles: a.roles.clone(),
        password: password.trim_end_matches(['\r', '\n']).to_string(),
    };
    let user: UserRecord = backend.add_user(&req).await?;
    emit(g.output, json!(user), || {
        if user.pending {
            format!(
                "added user {} ({}); it waits for a second administrator: ward user activate {}",
                user.name, user.display_name, user.name
            )
        } else {
            format!("added user {} ({})", user.name, user.display_name)
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_lifetime;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_lifetime("12h").unwrap(), 43_200);
        assert_eq!(parse_lifetime("90m").unwrap(), 5_400);
        assert_eq!(parse_lifetime("15").unwrap(), 15);
        for bad in ["", "d", "0d", "-1d", "3w", "99999999999999999999d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
