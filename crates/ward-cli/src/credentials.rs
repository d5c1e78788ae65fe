//! Sessions kept per server: `ward login` stores the token a server issued in the user's
//! configuration directory, and later commands with `--server URL` use it when no `--token` /
//! `WARD_TOKEN` is given.
//!
//! Where: `$WARD_CONFIG_DIR`, else `$XDG_CONFIG_HOME/ward`, else `$HOME/.config/ward`; the file
//! `credentials.json` (a map from server URL to its session). The directory is created 0700 and
//! the file written 0600 through a temporary file and a rename, so a reader never sees half of
//! it. A credentials file that others may read is refused, as ssh refuses such a key: the
//! tokens in it act as the person.

use crate::failure::Failure;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One server's session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// The bearer token.
    pub token: String,
    /// Who it authenticates (`user:alice`).
    pub identity: String,
    /// When it ends (Unix seconds), where the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// When it was stored (Unix seconds).
    pub stored_at: i64,
    /// A token pasted with `--token-stdin` (a CI token, say): `ward logout` forgets it here and
    /// never revokes it on the server, which would break whatever else uses it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pasted: bool,
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    servers: BTreeMap<String, Session>,
}

/// The canonical form of a server URL: without a trailing `/`.
pub fn server_key(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

/// The directory credentials live in.
pub fn dir() -> Result<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var("WARD_CONFIG_DIR") {
        return Ok(d);
    }
    if let Some(d) = var("XDG_CONFIG_HOME") {
        return Ok(d.join("ward"));
    }
    if let Some(h) = var("HOME") {
        return Ok(h.join(".config").join("ward"));
    }
    Err(Failure::new(
        "no_config_dir",
        "cannot tell where to keep the session: neither WARD_CONFIG_DIR, XDG_CONFIG_HOME nor HOME is set",
        "set WARD_CONFIG_DIR to a directory only you can read",
    )
    .into())
}

fn path() -> Result<PathBuf> {
    Ok(dir()?.join("credentials.json"))
}

fn read() -> Result<File> {
    let p = path()?;
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::default()),
        Err(e) => {
            return Err(Failure::new(
                "credentials_unreadable",
                format!("{}: {e}", p.display()),
                "check the file's owner and mode (0600)",
            )
            .into());
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).map(|m| m.permissions().mode()).unwrap_or(0);
        if mode & 0o077 != 0 {
            return Err(Failure::new(
                "credentials_exposed",
                format!(
                    "{} may be read by others (mode {:o}): the tokens in it act as you",
                    p.display(),
                    mode & 0o777
                ),
                format!("chmod 600 {} (and sign in again if others could read it)", p.display()),
            )
            .into());
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        Failure::new(
            "credentials_unreadable",
            format!("{}: {e}", p.display()),
            format!("remove {} and sign in again with `ward login`", p.display()),
        )
        .into()
    })
}

fn write(f: &File) -> Result<()> {
    let p = path()?;
    let d = p.parent().map(PathBuf::from).unwrap_or_default();
    let fail = |e: std::io::Error| {
        Failure::new(
            "credentials_unwritable",
            format!("{}: {e}", d.display()),
            "check the directory's owner and mode",
        )
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(&d).map_err(fail)?;
    // An existing directory others may enter is tightened: the tokens in it act as the person.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    let bytes =
        serde_json::to_vec_pretty(f).map_err(|e| Failure::new("credentials_unwritable", e.to_string(), "retry"))?;
    let tmp = d.join(format!(".credentials.{}.tmp", std::process::id()));
    {
        use std::io::Write;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut file = o.open(&tmp).map_err(fail)?;
        file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e)
        })?;
    }
    std::fs::rename(&tmp, &p).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })?;
    Ok(())
}

/// The stored session for `server`, if any.
pub fn get(server: &str) -> Result<Option<Session>> {
    Ok(read()?.servers.remove(&server_key(server)))
}

/// Stores `session` for `server`, replacing an earlier one.
pub fn put(server: &str, session: Session) -> Result<()> {
    let mut f = read()?;
    f.servers.insert(server_key(server), session);
    write(&f)
}

/// Forgets the session for `server`; returns it.
pub fn remove(server: &str) -> Result<Option<Session>> {
    let mut f = read()?;
    let gone = f.servers.remove(&server_key(server));
    if gone.is_some() {
        write(&f)?;
    }
    Ok(gone)
}
