//! The data directory: where the log key lives and, by default, the SQLite database.

use crate::cli::Global;
use crate::failure::Failure;
use anyhow::{Context as _, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use ward_ledger::Ed25519Signer;
use ward_ledger::NoteVerifier;
use ward_store::{Ledger, Store};

/// File name of the log signing key.
pub const KEY_FILE: &str = "log.key";
/// File name of the verifier key.
pub const PUB_FILE: &str = "log.pub";
/// File name of the SQLite database.
pub const DB_FILE: &str = "ward.db";

/// An opened data directory.
pub struct Context {
    /// Data directory.
    pub dir: PathBuf,
    /// The ledger.
    pub ledger: Ledger,
    /// Log origin (= key name).
    pub origin: String,
}

/// The database URL for these options.
pub fn database_url(g: &Global) -> String {
    g.database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", g.data_dir.join(DB_FILE).display()))
}

/// Opens a store, turning connection failures into advice.
pub async fn open_store(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    ward_store::open(url).await.map_err(|e| {
        let hint = if url.starts_with("postgres") {
            "check that PostgreSQL is running and the URL (--database-url / WARD_DATABASE_URL) is right"
        } else {
            "check that the data directory is writable (--data-dir / WARD_DATA_DIR)"
        };
        Failure::new("store_unavailable", format!("cannot open the store: {e}"), hint).into()
    })
}

impl Context {
    /// Opens an initialised data directory.
    pub async fn open(g: &Global) -> Result<Context> {
        let key_path = g.data_dir.join(KEY_FILE);
        if !key_path.exists() {
            return Err(Failure::new(
                "not_initialised",
                format!("{} is not a Ward data directory (no {KEY_FILE})", g.data_dir.display()),
                "run `ward init` first, or pass --data-dir / WARD_DATA_DIR",
            )
            .into());
        }
        let signer = load_signer(&g.data_dir)?;
        let store = open_store(&database_url(g)).await?;
        let origin = signer.verifier().name().to_string();
        match store.get_meta("origin").await? {
            Some(o) if o != origin => {
                return Err(Failure::new(
                    "origin_mismatch",
                    format!(
                        "the database belongs to log {o:?} but the key in {} is for {origin:?}",
                        g.data_dir.display()
                    ),
                    "use the data directory that was initialised with this database",
                )
                .into());
            }
            Some(_) => {}
            None => store.set_meta("origin", &origin).await?,
        }
        Ok(Context {
            dir: g.data_dir.clone(),
            ledger: Ledger::new(store, projectors()),
            origin,
        })
    }

    /// The log signing key.
    pub fn signer(&self) -> Result<Ed25519Signer> {
        load_signer(&self.dir)
    }
}

/// Every projection the CLI and server maintain.
pub fn projectors() -> Vec<std::sync::Arc<dyn ward_store::Projector>> {
    ward_app::projectors()
}

/// The password given for re-authentication: the first line of stdin with `--password-stdin`,
/// else `WARD_PASSWORD`.
pub fn password(g: &Global) -> Result<Option<String>> {
    if g.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| {
            Failure::new(
                "bad_input",
                format!("reading the password: {e}"),
                "pipe the password on stdin",
            )
        })?;
        return Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()));
    }
    Ok(std::env::var("WARD_PASSWORD").ok().filter(|p| !p.is_empty()))
}

/// The command a person ran (`args`, the program name left out), as the local user `USER` runs
/// it: `ward --as USER --password-stdin ARGS…`, each argument quoted as a shell reads it.
fn as_local_user(args: impl Iterator<Item = String>) -> Again {
    run_again("--as USER --password-stdin", args)
}

/// The command a person ran (`args`) again with global `options` first (`ward OPTIONS ARGS…`),
/// each argument quoted as a shell reads it, `--password-stdin` given once.
/// A credential given on the command line (`--token T`, `--reauth-token=T`) is printed back as
/// the placeholder `TOKEN`, never as itself, and a word holding what the guard or the
/// identifier rules read as PHI or a secret (`--title smith-j-1961-04-12`) as `TEXT`, with a
/// note after the command: a hint is printed where anyone reading a CI job's log sees it.
fn run_again(options: &str, args: impl Iterator<Item = String>) -> Again {
    const SECRET: [&str; 2] = ["--token", "--reauth-token"];
    // The text a privacy officer looks for is what they are about to purge: never printed.
    const SOUGHT: [&str; 1] = ["--find"];
    let args: Vec<String> = args.filter(|a| a != "--password-stdin").collect();
    // The values read two by two too (`--title "Patient Jane Roe" --description 04/12/1961` is
    // a name with a birth date across two arguments, whatever stands between them): both of a
    // pair that holds something are held back; other values are printed.
    let alone: Vec<bool> = args.iter().map(|a| ward_app::identifier::repeatable(a)).collect();
    let mut held: Vec<bool> = alone.iter().map(|ok| !ok).collect();
    // (Only values the guard alone finds nothing in: one it does would fail every pair.)
    let prose = |t: &str| ward_app::freetext::check_identifiers("arguments", t).is_ok();
    // A value typed after its flag's `=` is a value too (`--title="Jane Roe"`: the review of
    // this session).
    let value = |a: &str| match a.strip_prefix('-') {
        Some(flag) => flag.split_once('=').map(|(_, v)| v.to_string()),
        None => Some(a.to_string()),
    };
    let values: Vec<(usize, String)> = (0..args.len())
        .filter_map(|i| value(&args[i]).map(|v| (i, v)))
        .filter(|(_, v)| prose(v))
        .collect();
    for (n, (i, a)) in values.iter().enumerate() {
        for (j, b) in &values[n + 1..] {
            let (i, j) = (*i, *j);
            let pair = format!("{a} {b}");
            if !prose(&pair) {
                held[i] = true;
                held[j] = true;
            }
        }
    }
    let mut printed = format!("ward {options}");
    let mut value_of_secret = false;
    let mut value_sought = false;
    let mut held_back = false;
    for (i, a) in args.iter().enumerate() {
        let flag = a.split_once('=').map(|(flag, _)| flag);
        let shown = match flag {
            _ if value_of_secret => "TOKEN".to_string(),
            Some(flag) if SECRET.contains(&flag) => format!("{flag}=TOKEN"),
            _ if value_sought && a != "-" => {
                held_back = true;
                "TEXT".to_string()
            }
            Some(flag) if SOUGHT.contains(&flag) => {
                held_back = true;
                format!("{flag}=TEXT")
            }
            _ if !held[i] => ward_core::shell::word(a),
            Some(flag) if flag.starts_with("--") && ward_app::identifier::repeatable(flag) => {
                held_back = true;
                format!("{flag}=TEXT")
            }
            _ => {
                held_back = true;
                "TEXT".to_string()
            }
        };
        value_of_secret = SECRET.contains(&a.as_str());
        value_sought = SOUGHT.contains(&a.as_str());
        printed.push(' ');
        printed.push_str(&shown);
    }
    Again {
        command: printed,
        held_back,
    }
}

/// A command to run again, as a hint prints it: in back quotes, and with a note when a value
/// was held back (`TEXT`).
struct Again {
    command: String,
    held_back: bool,
}

impl std::fmt::Display for Again {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`", self.command)?;
        if self.held_back {
            f.write_str(" (TEXT is a value held back here because it looks like PHI or a secret: type it in again)")?;
        }
        Ok(())
    }
}

/// The local user a local person action runs as (`--as USER`), holding a role that permits
/// `action` — without re-authenticating (see [`local_person`]).
pub async fn local_identity(g: &Global, ctx: &Context, action: ward_core::Action) -> Result<ward_core::Identity> {
    let Some(name) = &g.as_user else {
        let roles: Vec<&str> = ward_core::authz::Role::ALL
            .into_iter()
            .filter(|r| r.permits(action))
            .map(|r| r.as_str())
            .collect();
        return Err(Failure::new(
            "person_required",
            format!(
                "this is a person's action ({}): locally it runs as a named local user who re-authenticates",
                action.in_words()
            ),
            format!(
                "run it as a local user with one of the roles {} (their password on the first line of stdin): {}; list them with `ward user list`",
                roles.join(", "),
                as_local_user(std::env::args().skip(1))
            ),
        )
        .into());
    };
    let user = ward_app::identities::user_record(&ctx.ledger, name)
        .await
        .map_err(crate::failure::api_failure)?
        .ok_or_else(|| no_local_user(name))?;
    let who = ward_core::Identity {
        id: format!("user:{}", user.name),
        kind: ward_ledger::ActorKind::Human,
        roles: user.roles.clone(),
    };
    if !who.may(action) {
        let roles: Vec<&str> = who.roles.iter().map(|r| r.as_str()).collect();
        let allowed: Vec<&str> = ward_core::authz::Role::ALL
            .into_iter()
            .filter(|r| r.permits(action))
            .map(|r| r.as_str())
            .collect();
        return Err(Failure::new(
            "forbidden",
            format!(
                "{} (roles: {}) may not {}; the roles that may: {}",
                who.id,
                roles.join(", "),
                action.in_words(),
                allowed.join(", ")
            ),
            "act as someone with one of those roles, or ask an administrator for one (who may do what: docs/CONTROLS.md)",
        )
        .into());
    }
    Ok(who)
}

/// The local user a local person action runs as (`--as USER`), after the role check and
/// re-authentication with their password — exactly the checks the server makes. A failed
/// attempt is recorded (`local.refused`) and counts toward the signing lockout.
pub async fn local_person(g: &Global, ctx: &Context, action: ward_core::Action) -> Result<ward_core::Identity> {
    let who = local_identity(g, ctx, action).await?;
    let password = password(g)?;
    if password.is_none() {
        return Err(Failure::new(
            "reauthentication_required",
            format!(
                "to {} as {}, give their password: a local person re-authenticates on every action",
                action.in_words(),
                who.id
            ),
            format!(
                "type it on the first line of stdin: {} (or set WARD_PASSWORD)",
                run_again("--password-stdin", std::env::args().skip(1))
            ),
        )
        .into());
    }
    let creds = ward_app::reauth::Credentials {
        password: password.as_deref(),
        ..Default::default()
    };
    let now = jiff::Timestamp::now().as_second();
    match ward_app::reauth::confirm_identity(&ctx.ledger, &who, &creds, now)
        .await
        .map_err(crate::failure::api_failure)?
    {
        Ok(_) => Ok(who),
        Err(refused) => Err(crate::failure::api_failure(
            ward_app::reauth::record_refusal(
                &ctx.ledger,
                &who,
                "local.refused",
                format!("identity:{}", who.id),
                serde_json::json!({ "action": action }),
                refused,
            )
            .await,
        )),
    }
}

/// The identity of the operator running a local command with file access to the data
/// directory: init, fsck, rebuild, user add, key trust and evidence registration run as it.
/// Person actions never do (see [`local_person`]).
pub fn local_operator() -> ward_core::Identity {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty() && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        .unwrap_or_else(|| "operator".into());
    ward_core::Identity {
        id: format!("local:{user}"),
        kind: ward_ledger::ActorKind::Human,
        roles: vec![ward_core::Role::Admin],
    }
}

/// Reads the signing key from a data directory.
pub fn load_signer(dir: &Path) -> Result<Ed25519Signer> {
    let path = dir.join(KEY_FILE);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ed25519Signer::from_signer_key(text.trim()).map_err(|e| {
        Failure::new(
            "bad_key",
            format!("{}: {e}", path.display()),
            "restore the key file from backup",
        )
        .into()
    })
}

/// Writes a new key pair into `dir`: the signer key with 0600 permissions, the verifier key
/// world-readable. Refuses to overwrite an existing key.
pub fn write_new_key(dir: &Path, origin: &str) -> Result<Ed25519Signer> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let key_path = dir.join(KEY_FILE);
    if key_path.exists() {
        return Err(Failure::new(
            "already_initialised",
            format!("{} already holds a log key", dir.display()),
            "keep using it; a new key would make existing checkpoints unverifiable",
        )
        .into());
    }
    let signer = Ed25519Signer::generate(origin).map_err(|e| {
        Failure::new(
            "bad_origin",
            format!("invalid origin {origin:?}: {e}"),
            "use a name without spaces or '+', e.g. example.org/ward",
        )
    })?;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&key_path)
        .with_context(|| format!("creating {}", key_path.display()))?;
    writeln!(f, "{}", signer.signer_key())?;
    f.sync_all()?;
    fs::write(dir.join(PUB_FILE), format!("{}\n", signer.verifier().verifier_key()))?;
    Ok(signer)
}

/// The refusal of `--as NAME` naming no local user: the name repeated (in the message and in
/// the command of the hint) only when it is id-shaped (`identifier::shown`), since a value
/// typed in its place may hold anything (attack on `b900cd1`: `--as 219451100`).
pub fn no_local_user(name: &str) -> Failure {
    let shown = ward_app::identifier::shown(name);
    let hint = match ward_app::users::check_name("user", name) {
        Ok(()) if shown.starts_with('"') => {
            format!("add them: ward user add --name {name} --display-name TEXT --role ROLE")
        }
        Ok(()) => "add them: ward user add --name NAME --display-name TEXT --role ROLE".to_string(),
        Err(_) => "a local user's name is lower-case letters, digits, '.', '_' or '-': list them with `ward user list`"
            .to_string(),
    };
    Failure::new("not_found", format!("no local user {shown}"), hint)
}

#[cfg(test)]
mod tests {
    /// The person's command comes back whole, quoted as a shell reads it, as the local user
    /// `USER` who types their password on stdin (once, whatever they passed).
    #[test]
    fn a_person_command_without_a_user_is_printed_back_as_a_local_user_runs_it() {
        let args = [
            "approve",
            "--change",
            "CHG-1",
            "--comment",
            "it's fine",
            "--password-stdin",
        ];
        assert_eq!(
            super::as_local_user(args.into_iter().map(String::from)).to_string(),
            r"`ward --as USER --password-stdin approve --change CHG-1 --comment 'it'\''s fine'`"
        );
        // A credential on the command line is not printed back.
        let args = [
            "approve",
            "--reauth-token",
            "eyJhbGciOi.x.y",
            "--token=ward_abc",
            "--change",
            "C",
        ];
        assert_eq!(
            super::as_local_user(args.into_iter().map(String::from)).to_string(),
            "`ward --as USER --password-stdin approve --reauth-token TOKEN --token=TOKEN --change C`"
        );
    }

    /// A word holding what the identifier rules read as PHI (which the prose guard alone lets
    /// by) is not printed back: `TEXT`, and a note saying so.
    #[test]
    fn a_typed_name_with_a_birth_date_is_not_printed_back_in_a_hint() {
        let args = [
            "change",
            "open",
            "--title",
            "smith-j-1961-04-12",
            "--description=jsmith19610412",
            "--artifact",
            "sha256:5a5a",
        ];
        let again = super::as_local_user(args.into_iter().map(String::from)).to_string();
        assert_eq!(
            again,
            "`ward --as USER --password-stdin change open --title TEXT --description=TEXT --artifact sha256:5a5a` \
             (TEXT is a value held back here because it looks like PHI or a secret: type it in again)"
        );
        // A bare SSN; and a name and a birth date typed as two values (attack on the first
        // version, which judged each word alone and read no number).
        let args = ["change", "open", "--title", "219451100", "--artifact", "sha256:5a5a"];
        let again = super::as_local_user(args.into_iter().map(String::from)).to_string();
        assert!(again.contains("--title TEXT --artifact sha256:5a5a"), "{again}");
        let args = [
            "change",
            "open",
            "--title",
            "Patient Jane Roe",
            "--description",
            "04/12/1961",
            "--artifact",
            "sha256:5a5a",
        ];
        let again = super::as_local_user(args.into_iter().map(String::from)).to_string();
        assert!(!again.contains("Roe") && !again.contains("1961"), "{again}");
        assert!(
            again.contains("change open --title TEXT --description TEXT --artifact sha256:5a5a"),
            "{again}"
        );
        // Whatever stands between them (attack on `b782046`: only neighbours were read
        // together), and a value that holds nothing is still printed.
        let args = [
            "--data-dir",
            "/srv/ward/data",
            "change",
            "open",
            "--title",
            "Jane Roe",
            "--ticket",
            "https://t.example.org/T-1",
            "--description",
            "1961-04-12",
        ];
        let again = super::as_local_user(args.into_iter().map(String::from)).to_string();
        assert!(!again.contains("Roe") && !again.contains("1961"), "{again}");
        assert!(again.contains("--data-dir /srv/ward/data"), "{again}");
        assert!(again.contains("--ticket https://t.example.org/T-1"), "{again}");
        // A value after its flag's `=` is read in the pairs too.
        let args = ["change", "open", "--title=Jane Roe", "--description", "1961-04-12"];
        let again = super::as_local_user(args.into_iter().map(String::from)).to_string();
        assert!(!again.contains("Roe") && !again.contains("1961"), "{again}");
    }
}
