//! `ward login`, `ward logout`, `ward whoami`: a person's session with a server, kept per
//! server in the user's configuration directory (see [`crate::credentials`]).

use crate::cli::{Global, LoginArgs};
use crate::credentials::{self, Session};
use crate::failure::Failure;
use crate::output::{emit, when};
use crate::remote::Remote;
use anyhow::Result;
use serde_json::{Value, json};

fn server_required(verb: &str) -> anyhow::Error {
    Failure::new(
        "server_required",
        format!("{verb} is about a Ward server, and none was named"),
        format!("pass --server URL (or set WARD_SERVER), e.g. ward --server https://ward.example.org {verb}"),
    )
    .into()
}

fn remote(g: &Global, verb: &str) -> Result<Remote> {
    Remote::from_global(g)?.ok_or_else(|| server_required(verb))
}

/// The server to sign in to, without the session kept for it: an ended session must not stand
/// in the way of the sign-in that replaces it.
fn sign_in_remote(g: &Global) -> Result<Remote> {
    let placeholder = Global {
        token: Some(String::new()),
        ..g.clone()
    };
    Ok(remote(&placeholder, "login")?.with_token(None))
}

/// The password to sign in with: WARD_PASSWORD or --password-stdin, else asked on the
/// terminal without echo; never read from a pipe unasked.
fn password(g: &Global, user: &str) -> Result<String> {
    if let Some(p) = crate::context::password(g)? {
        return Ok(p);
    }
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("password for {user}: ")).map_err(|e| {
            Failure::new(
                "bad_input",
                format!("reading the password: {e}"),
                "type the password, or set WARD_PASSWORD",
            )
            .into()
        });
    }
    Err(Failure::new(
        "password_required",
        "no password: stdin is not a terminal and neither WARD_PASSWORD nor --password-stdin was given",
        "pipe it: `printf '%s\\n' \"$PW\" | ward --server URL login --password-stdin --user NAME`, or set WARD_PASSWORD",
    )
    .into())
}

/// The session a server started (`POST /api/v1/sessions`, or a device sign-in): its token, and
/// the identity and expiry of its record.
fn started_session(created: &Value, now: i64) -> Session {
    Session {
        token: created["token"].as_str().unwrap_or_default().to_string(),
        identity: created["record"]["identity"].as_str().unwrap_or_default().to_string(),
        expires_at: created["record"]["expires_at"].as_i64(),
        stored_at: now,
        pasted: false,
    }
}

/// `ward login`.
pub async fn login(g: &Global, a: &LoginArgs) -> Result<()> {
    let r = sign_in_remote(g)?;
    let base = r.base().to_string();
    let now = jiff::Timestamp::now().as_second();
    let session = if a.token_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| {
            Failure::new(
                "bad_input",
                format!("reading the token: {e}"),
                "pipe the token on stdin",
            )
        })?;
        let token = line.trim().to_string();
        if token.is_empty() {
            return Err(Failure::new(
                "bad_input",
                "no token on stdin",
                "pipe the token: `ward login --token-stdin < token.txt`",
            )
            .into());
        }
        // The token is checked before it is kept: a wrong one is never stored.
        let r = r.with_token(Some(token.clone()));
        let me: Value = r.get("/api/v1/whoami", &[]).await?;
        Session {
            token,
            identity: me["id"].as_str().unwrap_or_default().to_string(),
            // The server's word on when the token ends (none: it does not expire).
            expires_at: me["expires_at"].as_i64(),
            stored_at: now,
            pasted: true,
        }
    } else if let Some(provider) = &a.oidc {
        let created = device_sign_in(&r.with_token(None), provider).await?;
        started_session(&created, now)
    } else {
        let user = match &a.user {
            Some(u) => u.clone(),
            None => std::env::var("USER").ok().filter(|u| !u.is_empty()).ok_or_else(|| {
                Failure::new(
                    "user_required",
                    "no user name: pass --user NAME",
                    "ward login --user NAME",
                )
            })?,
        };
        let pw = password(g, &user)?;
        let r = r.with_token(None);
        let created: Value = r
            .post("/api/v1/sessions", &json!({ "user": user, "password": pw }))
            .await?;
        started_session(&created, now)
    };
    if session.token.is_empty() || session.identity.is_empty() {
        return Err(Failure::new(
            "bad_response",
            "the server's answer held no session",
            "check that the server runs the same Ward version",
        )
        .into());
    }
    // A session kept before for this server is ended on the server, not only replaced here: a
    // sign-in never leaves a live session behind that nobody holds any more. One that has ended
    // is only forgotten. When the old one cannot be ended, the new one is ended instead and the
    // sign-in fails (the old one stays kept, to end with `ward logout`).
    let replaced = match credentials::get(&base)? {
        Some(old) if old.token != session.token && old.expires_at.is_some_and(|t| t <= now) => {
            Some("already ended (expired)".to_string())
        }
        Some(old) if old.token != session.token => match end_on_server(g, &old).await {
            Ok(ended) => Some(ended),
            Err(e) => {
                if !session.pasted {
                    let _ = end_on_server(g, &session).await;
                }
                return Err(e);
            }
        },
        _ => None,
    };
    credentials::put(&base, session.clone())?;
    let file = credentials::dir()?.join("credentials.json");
    emit(
        g.output,
        json!({ "server": base, "identity": session.identity, "expires_at": session.expires_at,
            "stored_in": file.display().to_string(), "replaced": replaced }),
        || {
            let until = match session.expires_at {
                Some(t) => format!("; the session ends {}", when(t, now)),
                None => "; the token does not expire".into(),
            };
            let before = replaced.map_or(String::new(), |r| format!("\nthe session kept before was {r}"));
            let ends = match session.pasted {
                // A pasted token is not a session this login started: logout forgets it here,
                // revoking it is its owner's step.
                true => "forgets it here (the token stays valid on the server until revoked)",
                false => "ends it",
            };
            format!(
                "signed in to {base} as {}{until}\nkept in {} (0600); `ward --server {base} …` uses it, `ward --server {base} logout` {ends}{before}",
                session.identity,
                file.display(),
            )
        },
    );
    Ok(())
}

/// A device sign-in (RFC 8628) at `provider` through the server: prints where to go and the
/// code to enter (on stderr: stdout keeps the command's own output), then polls at the
/// provider's interval until the person approved it, declined it, or the code expired.
async fn device_sign_in(r: &Remote, provider: &str) -> Result<Value> {
    let start: Value = r
        .post("/api/v1/sessions/device", &json!({ "provider": provider }))
        .await?;
    let text = |k: &str| start[k].as_str().unwrap_or_default().to_string();
    let (device_code, user_code, uri) = (text("device_code"), text("user_code"), text("verification_uri"));
    if device_code.is_empty() || user_code.is_empty() || uri.is_empty() {
        return Err(Failure::new(
            "bad_response",
            "the server's answer held no device code",
            "check that the server runs the same Ward version",
        )
        .into());
    }
    let expires_in = start["expires_in"].as_u64().unwrap_or(600);
    let mut interval = start["interval"].as_u64().unwrap_or(5).clamp(1, 60);
    eprintln!("To sign in at {provider}, open {uri} and enter the code {user_code}");
    if let Some(complete) = start["verification_uri_complete"].as_str() {
        eprintln!("  (or open {complete})");
    }
    eprintln!(
        "Waiting for you to approve it there (the code expires in {} min)…",
        expires_in.div_ceil(60)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(expires_in);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
        let polled: Result<Value> = r
            .post(
                "/api/v1/sessions/device/token",
                &json!({ "provider": provider, "device_code": device_code }),
            )
            .await;
        match polled {
            Ok(created) => return Ok(created),
            Err(e) => match e.downcast_ref::<Failure>().map(|f| f.kind.as_ref()) {
                Some("authorization_pending") => {}
                Some("slow_down") => interval += 5,
                _ => return Err(e),
            },
        }
        if std::time::Instant::now() >= deadline {
            return Err(Failure::new(
                "device_code_expired",
                format!("the code {user_code} expired before it was approved at {provider}"),
                "run the sign-in again and approve the new code",
            )
            .into());
        }
    }
}

/// `ward logout`.
/// Ends a kept session on the server before it is forgotten here; a session the server no
/// longer honours (expired, revoked) is simply forgotten. A pasted token (a CI token, say) is
/// only forgotten: revoking it would break whatever else uses it. What happened, in words.
async fn end_on_server(g: &Global, session: &Session) -> Result<String> {
    if session.pasted {
        // The token's id is its second part (`ward_<id>_<secret>`): never the secret.
        let id = ward_core::token::ApiToken::parse(&session.token).map_or_else(|_| "ID".to_string(), |t| t.id);
        return Ok(format!(
            "left valid on the server (it was pasted; `ward token revoke {id}` ends it)"
        ));
    }
    Ok(match Remote::from_global(&Global {
        token: Some(session.token.clone()),
        ..g.clone()
    })? {
        Some(r) => match r.delete::<Value>("/api/v1/sessions").await {
            Ok(_) => "ended on the server",
            Err(e) => match e.downcast_ref::<Failure>().map(|f| f.kind.as_ref()) {
                Some("unauthenticated") => "already ended on the server",
                _ => return Err(e),
            },
        },
        None => "not ended",
    }
    .to_string())
}

pub async fn logout(g: &Global) -> Result<()> {
    let Some(server) = g.server.as_deref() else {
        return Err(server_required("logout"));
    };
    let base = credentials::server_key(server);
    let Some(session) = credentials::get(&base)? else {
        return Err(Failure::new(
            "not_signed_in",
            format!("no session is kept for {base}"),
            format!("nothing to do; sign in with `ward --server {base} login --user NAME`"),
        )
        .into());
    };
    let ended = end_on_server(g, &session).await?;
    credentials::remove(&base)?;
    emit(
        g.output,
        json!({ "server": base, "identity": session.identity, "ended": ended }),
        || {
            format!(
                "signed out of {base} as {}: the session was {ended} and is forgotten here",
                session.identity
            )
        },
    );
    Ok(())
}

/// `ward whoami`.
pub async fn whoami(g: &Global) -> Result<()> {
    let now = jiff::Timestamp::now().as_second();
    let Some(r) = Remote::from_global(g)? else {
        let op = crate::context::local_operator();
        // What was typed is repeated only when it is shaped like a name (`identifier::named`).
        let acting = g
            .as_user
            .as_deref()
            .map(|u| format!("user:{}", ward_app::identifier::named(u)));
        emit(
            g.output,
            json!({ "mode": "local", "data_dir": g.data_dir.display().to_string(), "operator": op.id,
                "as": acting }),
            || {
                let mut t = format!(
                    "local mode on {}: operator {} (init, fsck, rebuild, user add)\n",
                    g.data_dir.display(),
                    op.id
                );
                match &acting {
                    Some(a) => t.push_str(&format!(
                        "person actions act as {a} (re-authenticating with WARD_PASSWORD)"
                    )),
                    None => {
                        t.push_str("person actions need --as USER (or a server: ward --server URL login --user NAME)")
                    }
                }
                t
            },
        );
        return Ok(());
    };
    let me: Value = r.get("/api/v1/whoami", &[]).await?;
    let source = match (r.session(), &g.token) {
        (_, Some(_)) => "--token / WARD_TOKEN".to_string(),
        (Some(s), None) if s.pasted => "the token pasted into `ward login --token-stdin`, kept".to_string(),
        (Some(_), None) => "the session kept by `ward login`".to_string(),
        (None, None) => "no token".to_string(),
    };
    // The kept session's expiry, else the server's word on the token presented (a pasted one).
    let expires_at = r
        .session()
        .and_then(|s| s.expires_at)
        .or_else(|| me["expires_at"].as_i64());
    let roles: Vec<String> = me["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    emit(
        g.output,
        json!({ "server": r.base(), "identity": me["id"], "kind": me["kind"], "roles": roles,
            "expires_at": expires_at, "token_from": source }),
        || {
            let mut t = format!(
                "{} ({}) at {}\nroles: {}\ntoken: {source}",
                me["id"].as_str().unwrap_or("?"),
                me["kind"].as_str().unwrap_or("?"),
                r.base(),
                if roles.is_empty() {
                    "none".into()
                } else {
                    roles.join(", ")
                }
            );
            match expires_at {
                Some(end) => t.push_str(&format!("\nsession ends {}", when(end, now))),
                None => t.push_str("\nthe token does not expire"),
            }
            t
        },
    );
    Ok(())
}
