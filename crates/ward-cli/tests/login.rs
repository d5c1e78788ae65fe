//! `ward login`, `ward whoami`, `ward logout` against a real `ward serve` over loopback: the
//! session is kept per server in a 0600 file, used by later commands, refused when others may
//! read it, and ended on the server by `ward logout`.

mod common;
use common::{Serving, json, ok, run, run_with_stdin, serve_with, ward};
use std::path::Path;
use std::process::Command;

fn serve(d: &Path) -> (Serving, String) {
    serve_with(d, &[])
}

/// `ward` against `url` with its credentials in `config` and no token in the environment.
fn client(d: &Path, config: &Path, url: &str) -> Command {
    let mut c = ward(d, None);
    c.args(["--server", url])
        .env("WARD_CONFIG_DIR", config)
        .env_remove("WARD_TOKEN")
        .env_remove("WARD_PASSWORD")
        .env_remove("WARD_SERVER");
    c
}

/// Runs `c` (with `stdin` if given) in JSON mode and asserts it is refused with `kind`;
/// returns everything it printed.
fn refused(mut c: Command, stdin: Option<&str>, kind: &str) -> String {
    c.args(["--output", "json"]);
    let o = match stdin {
        Some(input) => run_with_stdin(c, input),
        None => run(c),
    };
    assert!(!o.status.success(), "expected a refusal with {kind}");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("JSON error: {out} {err}"));
    assert_eq!(v["error"]["code"], kind, "{out} {err}");
    format!("{out}{err}")
}

#[test]
fn a_session_is_kept_per_server_used_and_ended_on_the_server() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init"]);
        c
    }));
    ok(run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args([
                "user",
                "add",
                "--name",
                "alice",
                "--display-name",
                "Alice Smith",
                "--role",
                "approver",
            ]);
            c
        },
        "alice-correct-horse-battery\n",
    ));
    let (_server, url) = serve(&d);
    let config = tmp.path().join("config");

    // Before signing in: no token, so the server refuses and says how to authenticate.
    let err = refused(
        {
            let mut c = client(&d, &config, &url);
            c.args(["change", "list"]);
            c
        },
        None,
        "unauthenticated",
    );
    assert!(!err.contains("alice-correct"), "{err}");
    // The hint is the CLI's sign-in, not the server's HTTP advice.
    assert!(
        err.contains("ward --server URL login") && !err.contains("/api/v1/sessions"),
        "{err}"
    );

    // A wrong password is refused and nothing is stored; its hint is about the password, not
    // the sign-in just tried.
    let wrong = refused(
        {
            let mut c = client(&d, &config, &url);
            c.args(["login", "--user", "alice", "--password-stdin"]);
            c
        },
        Some("wrong-password-here\n"),
        "unauthenticated",
    );
    assert!(
        wrong.contains("password") && !wrong.contains("ward --server URL login"),
        "{wrong}"
    );

    assert!(
        !config.join("credentials.json").exists(),
        "a failed sign-in stores nothing"
    );

    // Without a terminal or a password source, login says how to give one (no hang).
    refused(
        {
            let mut c = client(&d, &config, &url);
            c.args(["login", "--user", "alice"]);
            c
        },
        None,
        "password_required",
    );

    // Sign in: the session is kept 0600 in a 0700 directory, and later commands use it.
    let out = ok(run_with_stdin(
        {
            let mut c = client(&d, &config, &url);
            c.args(["login", "--user", "alice", "--password-stdin"]);
            c
        },
        "alice-correct-horse-battery\n",
    ));
    assert!(out.contains("signed in to") && out.contains("user:alice"), "{out}");
    assert!(out.contains("the session ends"), "{out}");
    let file = config.join("credentials.json");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "credentials are private");
        let dmode = std::fs::metadata(&config).expect("dir").permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
    }
    let who = json(&ok(run({
        let mut c = client(&d, &config, &url);
        c.args(["whoami", "--output", "json"]);
        c
    })));
    assert_eq!(who["identity"], "user:alice");
    assert_eq!(who["roles"], serde_json::json!(["approver"]));
    assert!(who["expires_at"].as_i64().is_some(), "{who}");
    let text = ok(run({
        let mut c = client(&d, &config, &url);
        c.args(["whoami"]);
        c
    }));
    assert!(
        text.contains("session ends") && text.contains("Z (in 1") && text.contains(" h "),
        "{text}"
    );
    ok(run({
        let mut c = client(&d, &config, &url);
        c.args(["change", "list"]);
        c
    }));

    // A credentials file others may read is refused, naming the fix (ssh's rule).
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = refused(
            {
                let mut c = client(&d, &config, &url);
                c.args(["whoami"]);
                c
            },
            None,
            "credentials_exposed",
        );
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    // Logout ends the session on the server: the token, copied before, no longer works.
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let token = stored["servers"][url.trim_end_matches('/')]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let out = ok(run({
        let mut c = client(&d, &config, &url);
        c.args(["logout"]);
        c
    }));
    assert!(out.contains("ended on the server"), "{out}");
    refused(
        {
            let mut c = client(&d, &config, &url);
            c.args(["whoami"]).env("WARD_TOKEN", &token);
            c
        },
        None,
        "unauthenticated",
    );
    refused(
        {
            let mut c = client(&d, &config, &url);
            c.args(["logout"]);
            c
        },
        None,
        "not_signed_in",
    );

    // A pasted token is checked before it is kept: a bad one is refused and not stored.
    refused(
        {
            let mut c = client(&d, &config, &url);
            c.args(["login", "--token-stdin"]);
            c
        },
        Some(&format!("{token}\n")),
        "unauthenticated",
    );
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    assert_eq!(kept["servers"], serde_json::json!({}), "{kept}");

    // An ended session is refused before it is sent, naming the command that renews it.
    {
        use std::os::unix::fs::OpenOptionsExt;
        let ended = serde_json::json!({ "servers": { url.trim_end_matches('/'): {
            "token": token, "identity": "user:alice", "expires_at": 1_000_000_000, "stored_at": 999_000_000 } } });
        std::fs::remove_file(&file).expect("rm");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .expect("create");
        std::io::Write::write_all(&mut f, ended.to_string().as_bytes()).expect("write");
    }
    let err = refused(
        {
            let mut c = client(&d, &config, &url);
            c.args(["change", "list"]);
            c
        },
        None,
        "session_expired",
    );
    assert!(err.contains("login --user NAME"), "{err}");
    assert_eq!(
        common::hint_commands(err.as_bytes())[0][..2],
        ["--server".to_string(), url.trim_end_matches('/').to_string()],
        "{err}"
    );
    // …and the sign-in it names works as printed: an ended session does not block it.
    ok(run_with_stdin(
        {
            let mut c = client(&d, &config, &url);
            c.args(["login", "--user", "alice", "--password-stdin"]);
            c
        },
        "alice-correct-horse-battery\n",
    ));
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        ok(run({
            let mut c = client(&d, &config, &url);
            c.args(["logout"]);
            c
        }));
        let dmode = std::fs::metadata(&config).expect("dir").permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700, "a loose credentials directory is tightened when written");
    }

    // A token pasted over a kept session ends that session on the server: nobody holds it any
    // more, so nothing may still use it.
    ok(run_with_stdin(
        {
            let mut c = client(&d, &config, &url);
            c.args(["login", "--user", "alice", "--password-stdin"]);
            c
        },
        "alice-correct-horse-battery\n",
    ));
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let session = kept["servers"][url.trim_end_matches('/')]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{kept}"))
        .to_string();
    // A pasted CI token is only forgotten by logout, never revoked: the pipeline keeps working.
    let ci = common::token(&d, "ci-pipeline", "viewer");
    let pasted = ok(run_with_stdin(
        {
            let mut c = client(&d, &config, &url);
            c.args(["login", "--token-stdin"]);
            c
        },
        &format!("{ci}\n"),
    ));
    assert!(
        pasted.contains("the session kept before was ended on the server"),
        "{pasted}"
    );
    refused(
        {
            let mut c = client(&d, &config, &url);
            c.args(["whoami"]).env("WARD_TOKEN", &session);
            c
        },
        None,
        "unauthenticated",
    );
    let out = ok(run({
        let mut c = client(&d, &config, &url);
        c.args(["logout"]);
        c
    }));
    assert!(out.contains("left valid on the server"), "{out}");
    let me = ok(run({
        let mut c = client(&d, &config, &url);
        c.args(["whoami"]).env("WARD_TOKEN", &ci);
        c
    }));
    assert!(me.contains("the token does not expire"), "{me}");
    // A pasted token that expires: whoami says when, from the server (nothing kept locally).
    let expiring = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "token",
            "create",
            "--name",
            "ci-nightly",
            "--role",
            "viewer",
            "--expires",
            "3h",
        ]);
        c.args(["--output", "json"]);
        c
    })));
    let me = ok(run({
        let mut c = client(&d, &config, &url);
        c.args(["whoami"])
            .env("WARD_TOKEN", expiring["token"].as_str().expect("token"));
        c
    }));
    assert!(
        me.contains("session ends ") && (me.contains("(in 2 h 59 min)") || me.contains("(in 3 h 0 min)")),
        "{me}"
    );
    // The command the logout names ends it, as printed, with the token's id filled in from the
    // token list (by the data directory's operator, who created it).
    let printed: Vec<String> = out
        .split('`')
        .skip(1)
        .step_by(2)
        .find_map(|c| c.strip_prefix("ward "))
        .expect("a revoking command")
        .split_whitespace()
        .map(String::from)
        .collect();
    let tokens = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["token", "list", "--output", "json"]);
        c
    })));
    let id = tokens["tokens"]
        .as_array()
        .unwrap_or_else(|| panic!("{tokens:#}"))
        .iter()
        .find(|t| t["name"] == "ci-pipeline")
        .and_then(|t| t["id"].as_str())
        .unwrap_or_else(|| panic!("{tokens:#}"))
        .to_string();
    // The id is printed (the token's first part, never its secret), so it runs as printed.
    assert_eq!(printed, ["token", "revoke", id.as_str()], "{out}");
    assert!(!out.contains(&ci), "{out}");
    ok(run({
        let mut c = ward(&d, None);
        c.args(&printed);
        c
    }));
    // Revoked on the data directory, not through this server: the server's token cache lets it
    // go within its 10 s (`identities::CACHE_TTL`, docs/CONTROLS.md).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let revoked = run({
            let mut c = client(&d, &config, &url);
            c.args(["whoami"]).env("WARD_TOKEN", &ci);
            c
        });
        if !revoked.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a revoked token still works after 20 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    // Locally, whoami names the operator and how person actions run.
    let local = ok(run({
        let mut c = ward(&d, None);
        c.args(["whoami"]).env_remove("WARD_SERVER");
        c
    }));
    assert!(local.contains("local mode") && local.contains("--as USER"), "{local}");
}
