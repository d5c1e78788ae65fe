//! One CLI, two modes: the same commands against the local data directory and against a real
//! `ward serve` process over loopback HTTP give the same documents.

mod common;
use common::{Serving, acts_as, json, ok, open_change, register, run, run_with_stdin, serve_with, token, ward};
use serde_json::Value;
use std::process::{Command, Stdio};

/// Starts `ward serve` on a free port; returns the process and its base URL.
fn serve(d: &std::path::Path) -> (Serving, String) {
    serve_with(d, &[])
}

/// A data directory under `parent`, initialised with `ward init`.
fn initialised(parent: &std::path::Path) -> std::path::PathBuf {
    let d = parent.join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init"]);
        c
    }));
    d
}

fn remote(d: &std::path::Path, url: &str, token: &str) -> Command {
    let mut c = ward(d, None);
    c.args(["--server", url]).env("WARD_TOKEN", token);
    c
}

#[test]
fn local_and_server_modes_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.args(["init", "--origin", "test.example/log"]);
        c
    }));
    let dev = token(&d, "ci", "developer");
    let rm = token(&d, "rm", "release-manager");
    let (_server, url) = serve(&d);

    // Append through the server: the actor is the token's identity.
    let out = json(&ok(run_with_stdin(
        {
            let mut c = remote(&d, &url, &dev);
            c.args(["log", "append", "--output", "json"]);
            c
        },
        r#"{"kind":"note.added","subject":"change:1","payload":{"text":"hi"}}"#,
    )));
    let seq = out["appended"][0]["seq"].as_u64().expect("seq");
    ok(run({
        let mut c = remote(&d, &url, &rm);
        c.args(["log", "checkpoint"]);
        c
    }));

    for args in [
        vec!["log", "key"],
        vec!["log", "status"],
        vec!["log", "show", "--from", "0", "--limit", "50"],
        vec!["log", "proof", "--index", "0"],
        vec!["log", "consistency", "--from", "1", "--to", "3"],
    ] {
        for output in ["json", "text"] {
            let local = ok(run({
                let mut c = ward(&d, None);
                c.args(&args).args(["--output", output]);
                c
            }));
            let served = ok(run({
                let mut c = remote(&d, &url, &rm);
                c.args(&args).args(["--output", output]);
                c
            }));
            // `log status` says how long ago the checkpoint was signed (`now`, `1 s ago`): the
            // two reads may fall in different seconds.
            let age = |s: &str| {
                s.split_inclusive('\n')
                    .map(|l| match l.find(" (") {
                        Some(k) if l.contains("latest checkpoint:") => format!("{}\n", &l[..k]),
                        _ => l.to_string(),
                    })
                    .collect::<String>()
            };
            assert_eq!(age(&local), age(&served), "{args:?} --output {output}");
        }
    }
    let shown = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "log",
            "show",
            "--from",
            &seq.to_string(),
            "--limit",
            "1",
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(shown["entries"][0]["event"]["actor"]["id"], acts_as(&dev).as_str());

    // Errors come back with the server's code, message and hint, and a non-zero exit.
    let denied = run({
        let mut c = remote(&d, &url, &dev);
        c.args(["token", "list", "--output", "json"]);
        c
    });
    assert_eq!(denied.status.code(), Some(1));
    let body = json(&String::from_utf8_lossy(&denied.stdout));
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(String::from_utf8_lossy(&denied.stderr).contains("hint:"));
    let bad = run({
        let mut c = remote(
            &d,
            &url,
            "ward_000000000000_0000000000000000000000000000000000000000000000000000000000000000",
        );
        c.args(["log", "status"]);
        c
    });
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not valid"));
    // An auditor exports through the server; the export verifies offline with the log's key.
    let auditor = token(&d, "audit", "auditor");
    let vkey = ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "key"]);
        c
    }));
    let out = tmp.path().join("export");
    ok(run({
        let mut c = remote(&d, &url, &auditor);
        c.args(["log", "export", "--out", out.to_str().unwrap()]);
        c
    }));
    let verified = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "verify",
            out.to_str().unwrap(),
            "--key",
            vkey.trim(),
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(verified["ok"], true, "{verified}");
    // A developer may not export.
    let refused = run({
        let mut c = remote(&d, &url, &dev);
        c.args(["log", "export", "--out", tmp.path().join("x").to_str().unwrap()]);
        c
    });
    assert_eq!(refused.status.code(), Some(1));
    // Store maintenance stays local.
    let fsck = run({
        let mut c = remote(&d, &url, &rm);
        c.args(["log", "fsck"]);
        c
    });
    assert!(String::from_utf8_lossy(&fsck.stderr).contains("not available with --server"));
}

#[test]
fn https_with_a_private_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let viewer = token(&d, "v", "viewer");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let (_server, url) = serve_with(
        &d,
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(url.starts_with("https://"), "{url}");
    let url = url.replace("127.0.0.1", "localhost");
    let status = json(&ok(run({
        let mut c = remote(&d, &url, &viewer);
        c.args([
            "--ca-cert",
            cert_path.to_str().unwrap(),
            "log",
            "status",
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(status["backend"], "sqlite");
    // Without trusting the CA the client refuses the server.
    let refused = run({
        let mut c = remote(&d, &url, &viewer);
        c.args(["log", "status"]);
        c
    });
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot reach"));

    // The web UI under TLS: its cookies carry the prefixes browsers enforce (`__Host-` for the
    // session: Secure, Path=/, no Domain; `__Secure-` for the sign-in form's nonce), and a
    // session cookie planted without the prefix is not read.
    common::add_user(&d, None, "val", &["approver"]);
    let pem = std::fs::read(&cert_path).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let set_cookies = |r: &reqwest::Response| -> Vec<String> {
            r.headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect()
        };
        let value = |set: &str| set.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
        let form = client.get(format!("{url}/ui/sign-in")).send().await.unwrap();
        let nonce = set_cookies(&form)
            .into_iter()
            .find(|c| c.starts_with("__Secure-ward_sign_in="))
            .expect("the nonce cookie under its __Secure- name");
        assert!(nonce.contains("; Secure"), "{nonce}");
        let body = form.text().await.unwrap();
        let csrf = body.split(r#"name="csrf" value=""#).nth(1).unwrap();
        let csrf = &csrf[..csrf.find('"').unwrap()];
        let signed_in = client
            .post(format!("{url}/ui/sign-in"))
            .header("cookie", format!("__Secure-ward_sign_in={}", value(&nonce)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("user=val&password={}&csrf={csrf}", common::pw("val")))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303);
        let session = set_cookies(&signed_in)
            .into_iter()
            .find(|c| c.starts_with("__Host-ward_session="))
            .expect("the session cookie under its __Host- name");
        assert!(
            session.contains("; Secure") && session.contains("Path=/;") && !session.contains("Domain"),
            "{session}"
        );
        let token = value(&session);
        let board = |cookie: String| {
            let client = client.clone();
            let url = url.clone();
            async move {
                client
                    .get(format!("{url}/"))
                    .header("cookie", cookie)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(board(format!("__Host-ward_session={token}")).await, 200);
        assert_eq!(
            board(format!("ward_session={token}")).await,
            303,
            "an unprefixed session cookie is not read under TLS"
        );
    });
}

#[test]
fn serve_needs_no_setup() {
    // A new user: `ward serve` on an empty data directory, then `ward token create`, then a call.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("fresh");
    let (_server, url) = serve(&d);
    assert!(d.join("log.key").exists());
    let admin = token(&d, "admin", "admin");
    let status = json(&ok(run({
        let mut c = remote(&d, &url, &admin);
        c.args(["log", "status", "--output", "json"]);
        c
    })));
    assert_eq!(status["origin"], "ward.local/log");
    assert_eq!(status["size"], 2, "config.loaded (serve started), then token.created");
}

#[test]
fn artifacts_and_attestations_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let bin = tmp.path().join("app.bin");
    std::fs::write(&bin, b"release build").unwrap();
    // Locally, inside a (simulated) GitHub Actions job: CI metadata is filled in.
    let art = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "artifact",
            "register",
            "--file",
            bin.to_str().unwrap(),
            "--service",
            "api",
            "--version",
            "1.0.0",
            "--output",
            "json",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_SHA", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b")
        .env("GITHUB_REF_NAME", "main")
        .env("GITHUB_RUN_ID", "99")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/api");
        c
    })));
    let digest = art["digest"].as_str().unwrap().to_string();
    // sha256("release build"), as sha256sum prints it.
    let expected = std::process::Command::new("sha256sum").arg(&bin).output().unwrap();
    let expected = String::from_utf8_lossy(&expected.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(digest, format!("sha256:{expected}"));
    assert_eq!(art["commit"], "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b");
    assert_eq!(art["build_url"], "https://github.com/acme/api/actions/runs/99");
    // The same file with another version is a conflict.
    let conflict = run({
        let mut c = ward(&d, None);
        c.args([
            "artifact",
            "register",
            "--file",
            bin.to_str().unwrap(),
            "--service",
            "api",
            "--version",
            "1.0.1",
        ]);
        c
    });
    assert_eq!(conflict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&conflict.stderr).contains("version"));

    // Through the server, as CI: attach real pytest and semgrep output.
    let dev = token(&d, "ci", "developer");
    let viewer = token(&d, "v", "viewer");
    let (_server, url) = serve(&d);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures");
    for f in [
        "pytest.xml",
        "semgrep.sarif",
        "cyclonedx-py-1.6.json",
        "sbom4python-2.3.spdx",
    ] {
        ok(run({
            let mut c = remote(&d, &url, &dev);
            c.args(["attest", "add", "--artifact", &digest]).arg(fixtures.join(f));
            c
        }));
    }
    let shown = ok(run({
        let mut c = remote(&d, &url, &viewer);
        c.args(["artifact", "show", &digest]);
        c
    }));
    assert!(
        shown.contains("8 tests: 3 passed, 2 failed, 1 errored, 2 skipped"),
        "{shown}"
    );
    assert!(shown.contains("3 findings (critical 1"), "{shown}");
    assert!(
        shown.contains("7 components (7 with purl, 0 without license), dependencies complete"),
        "{shown}"
    );
    // Local and server listings agree.
    let local = ok(run({
        let mut c = ward(&d, None);
        c.args(["attest", "list", "--artifact", &digest, "--output", "json"]);
        c
    }));
    let served = ok(run({
        let mut c = remote(&d, &url, &viewer);
        c.args(["attest", "list", "--artifact", &digest, "--output", "json"]);
        c
    }));
    assert_eq!(local, served);
    // A viewer cannot attach; an unknown format is refused with a hint.
    let denied = run({
        let mut c = remote(&d, &url, &viewer);
        c.args(["attest", "add", "--artifact", &digest])
            .arg(fixtures.join("pytest.xml"));
        c
    });
    assert_eq!(denied.status.code(), Some(1));
    let junk = tmp.path().join("notes.txt");
    std::fs::write(&junk, "hello").unwrap();
    let refused = run({
        let mut c = remote(&d, &url, &dev);
        c.args(["attest", "add", "--artifact", &digest]).arg(&junk);
        c
    });
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("hint:"));
}

#[test]
fn guard_refuses_phi_unless_allowlisted_in_ward_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let digest = format!("sha256:{}", "ef".repeat(32));
    register(&d, &digest, "api", "1");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures");
    let report = std::fs::read_to_string(fixtures.join("pytest.xml"))
        .unwrap()
        .replace("database unavailable", "patient 123-45-6789 unavailable");
    for name in ["report.xml", "synthetic-report.xml"] {
        std::fs::write(tmp.path().join(name), &report).unwrap();
    }
    let attach = |name: &str| {
        run({
            let mut c = ward(&d, None);
            c.args(["attest", "add", "--artifact", &digest])
                .arg(tmp.path().join(name));
            c
        })
    };
    // Refused, naming file, line and detector, never the value.
    let refused = attach("synthetic-report.xml");
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("synthetic-report.xml") && err.contains("us-ssn") && !err.contains("123-45-6789"),
        "{err}"
    );
    // Allowlisted by path in ward.toml: accepted; other files are still refused.
    std::fs::write(d.join("ward.toml"), "[guard]\nallow_paths = [\"synthetic-*.xml\"]\n").unwrap();
    ok(attach("synthetic-report.xml"));
    assert_eq!(attach("report.xml").status.code(), Some(1));
    // A configured size limit: the report (1.7 KB) is over 1000 bytes, refused, nothing stored.
    std::fs::write(
        d.join("ward.toml"),
        "[guard]\nallow_paths = [\"synthetic-*.xml\"]\nmax_file_bytes = 1000\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("synthetic-2.xml"), &report).unwrap();
    let big = attach("synthetic-2.xml");
    assert_eq!(big.status.code(), Some(1));
    let err = String::from_utf8_lossy(&big.stderr);
    assert!(
        err.contains("1000-byte limit") && err.contains("max_file_bytes"),
        "{err}"
    );
    std::fs::write(d.join("ward.toml"), "[guard]\nmax_file_bytes = 0\n").unwrap();
    assert!(String::from_utf8_lossy(&attach("report.xml").stderr).contains("max_file_bytes"));
    // A broken [guard] section is a clear error.
    std::fs::write(d.join("ward.toml"), "[guard]\nallow_patterns = [\"(\"]\n").unwrap();
    let bad = attach("report.xml");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("[guard]"));
}

/// Runs `c` expecting failure; returns the `{error}` document it printed with `--output json`.
fn refused(mut c: Command) -> Value {
    c.args(["--output", "json"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    json(&String::from_utf8_lossy(&out.stdout))["error"].clone()
}

#[test]
fn signed_provenance_vulnerabilities_and_custom_types() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures");
    let fx = |f: &str| fixtures.join(f).to_str().unwrap().to_string();
    let art = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "artifact",
            "register",
            "--file",
            &fx("intoto-app.tar"),
            "--service",
            "api",
            "--version",
            "1",
            "--output",
            "json",
        ]);
        c
    })));
    let digest = art["digest"].as_str().unwrap().to_string();
    let admin = token(&d, "sec-admin", "admin");
    let dev = token(&d, "ci", "developer");
    let (_server, url) = serve(&d);
    let attest = |tok: &str, extra: &[&str], file: &str| {
        let mut c = remote(&d, &url, tok);
        c.args(["attest", "add", "--artifact", &digest]).args(extra).arg(file);
        c
    };
    let count = || {
        let out = ok(run({
            let mut c = remote(&d, &url, &dev);
            c.args(["attest", "list", "--artifact", &digest, "--output", "json"]);
            c
        }));
        json(&out)["attestations"].as_array().unwrap().len()
    };

    // No key is trusted yet: a genuine envelope cannot be believed.
    let e = refused(attest(&dev, &[], &fx("statement-v1-slsa1.ed25519.dsse.json")));
    assert_eq!(e["code"], "signature_invalid", "{e}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains(&format!("ward --server {url} key trust")),
        "{e}"
    );
    // Only an admin trusts keys.
    let e = refused({
        let mut c = remote(&d, &url, &dev);
        c.args(["key", "trust", "--builder", "ci-ed", &fx("intoto-ed25519.pub")]);
        c
    });
    assert_eq!(e["code"], "forbidden");
    let mut keyids = Vec::new();
    for (builder, file) in [
        ("ci-ed", "intoto-ed25519.pub"),
        ("ci-ec", "intoto-ecdsa.pub"),
        ("ci-rsa", "intoto-rsa.pub"),
    ] {
        let k = json(&ok(run({
            let mut c = remote(&d, &url, &admin);
            c.args(["key", "trust", "--builder", builder, &fx(file), "--output", "json"]);
            c
        })));
        keyids.push(k["keyid"].as_str().unwrap().to_string());
    }
    // A private key is refused without being stored.
    let e = refused({
        let mut c = remote(&d, &url, &admin);
        c.args(["key", "trust", "--builder", "oops", &fx("intoto-ed25519.pem")]);
        c
    });
    assert!(e["message"].as_str().unwrap().contains("private key"), "{e}");

    // Now provenance and links verify, each under its builder's key.
    for (file, builder) in [
        ("statement-v1-slsa1.ed25519.dsse.json", "ci-ed"),
        ("statement-v1-slsa1.rsa.dsse.json", "ci-rsa"),
        ("intoto-link-ecdsa.link", "ci-ec"),
        ("intoto-link-ed25519.dsse.json", "ci-ed"),
    ] {
        let a = json(&ok(run({
            let mut c = attest(&dev, &["--output", "json"], &fx(file));
            c.args(["--type", "intoto"]);
            c
        })));
        assert_eq!(a["type"], "intoto");
        assert_eq!(a["summary"]["verified_by"][0]["builder"], builder, "{file}");
        assert_eq!(a["summary"]["matched_subject"], "app.tar");
    }
    let before = count();
    // Signed by a key nobody trusts: refused, nothing stored.
    let e = refused(attest(&dev, &[], &fx("statement-v1-slsa1.wrongkey.dsse.json")));
    assert_eq!(e["code"], "signature_invalid");
    assert!(e["message"].as_str().unwrap().contains("nothing was stored"), "{e}");
    // PHI inside a signed payload is found (the guard reads the decoded payload) and cannot be
    // redacted away.
    let phi = tmp.path().join("phi.dsse.json");
    let payload = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"note":"patient SSN 123-45-6789"}"#;
    use base64::Engine as _;
    std::fs::write(
        &phi,
        serde_json::json!({"payloadType":"application/vnd.in-toto+json",
            "payload": base64::engine::general_purpose::STANDARD.encode(payload), "signatures": []})
        .to_string(),
    )
    .unwrap();
    let e = refused(attest(&dev, &["--redact"], phi.to_str().unwrap()));
    assert_eq!(e["code"], "sensitive_content", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("us-ssn") && e["message"].as_str().unwrap().contains("decoded payload"),
        "{e}"
    );
    assert!(!e["message"].as_str().unwrap().contains("6789"), "{e}");
    // Revoking a key stops its signatures counting.
    ok(run({
        let mut c = remote(&d, &url, &admin);
        c.args(["key", "revoke", &keyids[1]]);
        c
    }));
    let e = refused(attest(&dev, &[], &fx("statement-v01-slsa02.ecdsa.dsse.json")));
    assert_eq!(e["code"], "signature_invalid");
    // Genuine provenance about another artifact.
    let other = format!("sha256:{}", "ab".repeat(32));
    register(&d, &other, "api", "2");
    let e = refused({
        let mut c = remote(&d, &url, &dev);
        c.args(["attest", "add", "--artifact", &other])
            .arg(fx("statement-v1-slsa1.ed25519.dsse.json"));
        c
    });
    assert_eq!(e["code"], "digest_mismatch", "{e}");
    assert_eq!(count(), before);
    let listed = ok(run({
        let mut c = remote(&d, &url, &dev);
        c.args(["key", "list"]);
        c
    }));
    assert!(listed.contains("revoked") && listed.contains("ci-rsa"), "{listed}");

    // Vulnerabilities: the first time a finding is seen is kept across reports.
    let first = json(&ok(run(attest(&dev, &["--output", "json"], &fx("public/trivy.json")))));
    assert_eq!(first["type"], "vulns");
    let seen = |a: &Value, id: &str| {
        a["summary"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {a}"))["first_seen"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let t1 = seen(&first, "CVE-2019-18224");
    assert_eq!(t1, first["time"].as_str().unwrap());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut later: Value = serde_json::from_slice(&std::fs::read(fx("public/trivy.json")).unwrap()).unwrap();
    let vulns = later["Results"][0]["Vulnerabilities"].as_array_mut().unwrap();
    let mut extra = vulns[0].clone();
    extra["VulnerabilityID"] = "CVE-2099-0001".into();
    vulns.push(extra);
    let later_file = tmp.path().join("trivy-later.json");
    std::fs::write(&later_file, serde_json::to_vec_pretty(&later).unwrap()).unwrap();
    let second = json(&ok(run({
        let mut c = remote(&d, &url, &dev);
        c.args(["attest", "add", "--artifact", &other, "--output", "json"])
            .arg(&later_file);
        c
    })));
    assert_eq!(
        seen(&second, "CVE-2019-18224"),
        t1,
        "same service, same finding: first seen kept"
    );
    let t2 = seen(&second, "CVE-2099-0001");
    assert_eq!(t2, second["time"].as_str().unwrap());
    assert!(t2 > t1);
    let shown = ok(run({
        let mut c = remote(&d, &url, &dev);
        c.args(["artifact", "show", &other]);
        c
    }));
    assert!(
        shown.contains("3 open of 3 findings (critical 1, high 0, medium 0, low 2"),
        "{shown}"
    );

    // Custom types: an admin registers the schema, CI attaches documents of it.
    let schema = tmp.path().join("pen-test.schema.json");
    std::fs::write(
        &schema,
        r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","required":["vendor","critical_open"],
            "properties":{"vendor":{"type":"string"},"critical_open":{"type":"integer","minimum":0}}}"#,
    )
    .unwrap();
    ok(run({
        let mut c = remote(&d, &url, &admin);
        c.args(["attest", "type", "add", "pen-test", "--schema"]).arg(&schema);
        c
    }));
    let good = tmp.path().join("pentest.json");
    std::fs::write(&good, r#"{"vendor":"acme-sec","critical_open":0}"#).unwrap();
    let a = json(&ok(run(attest(
        &dev,
        &["--type", "custom:pen-test", "--output", "json"],
        good.to_str().unwrap(),
    ))));
    assert_eq!(a["summary"]["document"]["vendor"], "acme-sec");
    let bad = tmp.path().join("pentest-bad.json");
    std::fs::write(&bad, r#"{"vendor":"acme-sec","critical_open":-4}"#).unwrap();
    let e = refused(attest(&dev, &["--type", "custom:pen-test"], bad.to_str().unwrap()));
    assert_eq!(e["code"], "schema_mismatch", "{e}");
    assert!(e["message"].as_str().unwrap().contains("/critical_open"), "{e}");
    let e = refused(attest(&dev, &["--type", "custom:nope"], good.to_str().unwrap()));
    assert_eq!(e["code"], "not_found");
}

/// Runs git in `dir` with a fixed identity and clock.
fn git(dir: &std::path::Path, args: &[&str], author: &str) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", author)
        .env("GIT_AUTHOR_EMAIL", format!("{author}@example.org"))
        .env("GIT_COMMITTER_NAME", author)
        .env("GIT_COMMITTER_EMAIL", format!("{author}@example.org"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Paths are read from git as the range touched them: a PHI file moved out of its directory
/// (git lists a rename under its new name only) and a path outside ASCII (git quotes and
/// escapes it: `"phi/r\303\251sum\303\251.py"`) each classified a PHI change low, which then
/// shipped with one approval and no privacy review (a helper's attack on the fourteenth
/// session's head). Both sides of a rename and the path as written are classified now.
#[test]
fn a_phi_file_moved_or_named_outside_ascii_still_makes_the_change_phi() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("src/phi")).unwrap();
    std::fs::create_dir_all(repo.join("src/util")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], "ann");
    let body: String = (0..50).map(|i| format!("ROW_{i} = {i}\n")).collect();
    std::fs::write(repo.join("src/phi/records.py"), &body).unwrap();
    git(&repo, &["add", "."], "ann");
    git(&repo, &["commit", "-q", "-m", "base"], "ann");
    let base = git(&repo, &["rev-parse", "HEAD"], "ann");
    git(&repo, &["mv", "src/phi/records.py", "src/util/records.py"], "bob");
    std::fs::write(
        repo.join("src/util/records.py"),
        format!("{body}def lookup(): return ROWS\n"),
    )
    .unwrap();
    git(&repo, &["commit", "-q", "-am", "move"], "bob");
    let moved = git(&repo, &["rev-parse", "HEAD"], "bob");
    std::fs::create_dir_all(repo.join("phi")).unwrap();
    std::fs::write(repo.join("phi/résumé.py"), "x = 1\n").unwrap();
    git(&repo, &["add", "."], "bob");
    git(&repo, &["commit", "-q", "-m", "accents"], "bob");
    let accents = git(&repo, &["rev-parse", "HEAD"], "bob");
    let digest = format!("sha256:{}", "ce".repeat(32));
    register(&d, &digest, "api", "8");
    let dev = token(&d, "ci", "developer");
    let (_server, url) = serve(&d);
    let open = |range: &str| {
        json(&ok(run({
            let mut c = remote(&d, &url, &dev);
            c.current_dir(&repo).args([
                "change",
                "open",
                "--title",
                "Refactor record helpers",
                "--range",
                range,
                "--artifact",
                &digest,
                "--env",
                "prod",
                "--output",
                "json",
            ]);
            c
        })))
    };
    let renamed = open(&format!("{base}..{moved}"));
    assert_eq!(renamed["tier"], "high", "{renamed}");
    assert!(
        renamed["classification"]["tags"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("phi")),
        "{renamed}"
    );
    assert_eq!(
        renamed["paths"],
        serde_json::json!(["src/phi/records.py", "src/util/records.py"])
    );
    let quoted = open(&format!("{moved}..{accents}"));
    assert_eq!(quoted["tier"], "high", "{quoted}");
    assert_eq!(quoted["paths"], serde_json::json!(["phi/résumé.py"]));
    // A submodule under `services/phi` whose `.gitmodules` says `ignore = all`: its update is
    // a touched path all the same (a helper's attack on the fourteenth session's head).
    std::fs::write(
        repo.join(".gitmodules"),
        "[submodule \"p\"]\n\tpath = services/phi\n\turl = ../sub\n\tignore = all\n",
    )
    .unwrap();
    let gitlink = |sha: &str| format!("160000,{sha},services/phi");
    git(
        &repo,
        &["update-index", "--add", "--cacheinfo", &gitlink(&"1".repeat(40))],
        "bob",
    );
    git(&repo, &["add", ".gitmodules"], "bob");
    git(&repo, &["commit", "-q", "-m", "submodule"], "bob");
    let pinned = git(&repo, &["rev-parse", "HEAD"], "bob");
    git(
        &repo,
        &["update-index", "--cacheinfo", &gitlink(&"2".repeat(40))],
        "bob",
    );
    git(&repo, &["commit", "-q", "-m", "bump"], "bob");
    let bumped = git(&repo, &["rev-parse", "HEAD"], "bob");
    let submodule = open(&format!("{pinned}..{bumped}"));
    assert_eq!(submodule["tier"], "high", "{submodule}");
    assert_eq!(submodule["paths"], serde_json::json!(["services/phi"]));
}

/// Ward reads a commit's author as the commit records it: a `git replace` object (or a graft)
/// standing in for alice's commit with bob as its author is not read (a helper's attack on the
/// eighth session's head: the change recorded bob, and alice signed her own change).
#[test]
fn a_replaced_commit_does_not_stand_in_for_its_real_author() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], "ann");
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "base"], "ann");
    let base = git(&repo, &["rev-parse", "HEAD"], "ann");
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "alice's"], "alice");
    let head = git(&repo, &["rev-parse", "HEAD"], "alice");
    let raw = git(&repo, &["cat-file", "commit", &head], "alice").replace("alice@", "bob@");
    let forged = {
        let mut c = Command::new("git");
        c.current_dir(&repo)
            .args(["hash-object", "-t", "commit", "-w", "--stdin"])
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().expect("git hash-object");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{raw}\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&repo, &["replace", &head, &forged], "ann");
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%ae", &head], "ann"),
        "bob@example.org",
        "git itself now reads the replacement"
    );
    let dev = token(&d, "ci", "developer");
    let (_server, url) = serve(&d);
    let opened = json(&ok(run({
        let mut c = remote(&d, &url, &dev);
        c.current_dir(&repo).args([
            "change",
            "open",
            "--title",
            "Empty",
            "--range",
            &format!("{base}..{head}"),
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(opened["commits"][0]["sha"], head.as_str());
    assert_eq!(opened["commits"][0]["author"], "alice@example.org", "{opened}");
}

#[test]
fn changes_are_classified_from_git_and_overridden_by_another_approver() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    // A repository with a base commit and two more by two authors: a migration and a doc.
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("db/migrations")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], "ann");
    std::fs::write(repo.join("README.md"), "hello\n").unwrap();
    git(&repo, &["add", "."], "ann");
    git(&repo, &["commit", "-q", "-m", "base"], "ann");
    let base = git(&repo, &["rev-parse", "HEAD"], "ann");
    std::fs::write(
        repo.join("db/migrations/0042_add_index.sql"),
        "CREATE INDEX i ON t (c);\n",
    )
    .unwrap();
    git(&repo, &["add", "."], "bob");
    git(&repo, &["commit", "-q", "-m", "index"], "bob");
    std::fs::write(repo.join("README.md"), "hello again\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "docs"], "cat");
    let head = git(&repo, &["rev-parse", "HEAD"], "cat");
    let digest = format!("sha256:{}", "cd".repeat(32));
    register(&d, &digest, "api", "7");
    let dev = token(&d, "ci", "developer");
    let approver = token(&d, "quinn", "approver");
    let viewer = token(&d, "v", "viewer");
    let (_server, url) = serve(&d);
    let range = format!("{base}..{head}");
    let opened = json(&ok(run({
        let mut c = remote(&d, &url, &dev);
        c.current_dir(&repo).args([
            "change",
            "open",
            "--title",
            "Index appointments by clinic",
            "--range",
            &range,
            "--artifact",
            &digest,
            "--env",
            "prod",
            "--ticket",
            "https://tickets.example/CLN-1",
            "--output",
            "json",
        ]);
        c
    })));
    let id = opened["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("CHG-"), "{id}");
    assert_eq!(opened["tier"], "high");
    assert_eq!(opened["opener"], acts_as(&dev).as_str());
    let authors: Vec<&str> = opened["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, vec!["cat@example.org", "bob@example.org"]);
    assert_eq!(
        opened["paths"],
        serde_json::json!(["README.md", "db/migrations/0042_add_index.sql"])
    );
    let matched: Vec<&str> = opened["classification"]["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        matched.contains(&"**/migrations/** -> schema_migration (db/migrations/0042_add_index.sql)"),
        "{matched:?}"
    );
    assert!(matched.contains(&"schema_migration -> high"), "{matched:?}");

    // Unknown artifacts and attributes are refused with a hint.
    let e = refused({
        let mut c = remote(&d, &url, &dev);
        c.args([
            "change",
            "open",
            "--title",
            "x",
            "--artifact",
            &format!("sha256:{}", "0".repeat(64)),
        ]);
        c
    });
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains(&format!("ward --server {url} artifact register")),
        "{e}"
    );
    let e = refused({
        let mut c = remote(&d, &url, &dev);
        c.args(["change", "open", "--title", "x", "--attribute", "pii"]);
        c
    });
    assert!(e["hint"].as_str().unwrap().contains("clinical_workflow"), "{e}");

    // Overriding the tier: not by developers, not by automation, only with a reason, and
    // lowering a change out of high needs a second approver's concurrence.
    let quinn = person(&d, "quinn", "Quinn Approver", &["approver"]);
    let rhea = person(&d, "rhea", "Rhea Approver", &["approver"]);
    let classify = |tok: &str, reason: &str| {
        let mut c = remote(&d, &url, tok);
        c.args(["change", "classify", &id, "--tier", "medium", "--reason", reason]);
        c
    };
    assert_eq!(
        refused(classify(&dev, "index is online and reversible"))["code"],
        "forbidden"
    );
    assert_eq!(
        refused(classify(&approver, "index is built concurrently and is reversible"))["code"],
        "automation_cannot_sign"
    );
    assert_eq!(refused(classify(&quinn, "because"))["code"], "invalid_request");
    let proposed = json(&ok(run({
        let mut c = classify(&quinn, "index is built concurrently and is reversible");
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(proposed["tier"], "high", "a proposal alone changes nothing: {proposed}");
    assert_eq!(
        proposed["pending_override"]["approvers"],
        serde_json::json!(["user:quinn"])
    );
    assert_eq!(
        refused(classify(&quinn, "index is built concurrently and is reversible"))["code"],
        "concurrence_needed"
    );
    let c = json(&ok(run({
        let mut c = classify(&rhea, "agreed: concurrent index build, reversible");
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(
        (c["tier"].as_str(), c["classification"]["tier"].as_str()),
        (Some("medium"), Some("high"))
    );
    assert_eq!(c["tier_override"]["by"], "user:quinn");
    assert_eq!(c["tier_override"]["concurred_by"], serde_json::json!(["user:rhea"]));
    let shown = ok(run({
        let mut c = remote(&d, &url, &viewer);
        c.args(["change", "show", &id]);
        c
    }));
    assert!(
        shown.contains("tier medium (overridden)") && shown.contains("schema_migration -> high"),
        "{shown}"
    );
    let listed = ok(run({
        let mut c = remote(&d, &url, &viewer);
        c.args(["change", "list"]);
        c
    }));
    assert!(listed.contains(&id) && listed.contains("medium"), "{listed}");

    // Locally, a person acts as a named local user who re-authenticates, and the opener cannot
    // override a change they opened.
    person(&d, "olga", "Olga Opener", &["developer", "approver"]);
    let local = json(&ok(run({
        let mut c = as_local(&d, "olga");
        c.args([
            "change",
            "open",
            "--title",
            "Docs only",
            "--path",
            "README.md",
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(local["tier"], "low");
    let e = refused({
        let mut c = as_local(&d, "olga");
        c.args([
            "change",
            "classify",
            local["id"].as_str().unwrap(),
            "--tier",
            "high",
            "--reason",
            "I want more review",
        ]);
        c
    });
    assert_eq!(e["code"], "opener_cannot_sign", "{e}");

    // [risk] in ward.toml replaces the defaults.
    std::fs::write(
        d.join("ward.toml"),
        "[risk]\n[[risk.path_tags]]\nglob = \"docs/**\"\ntag = \"docs\"\n[[risk.tiers]]\nwhen = [\"docs\"]\ntier = \"medium\"\n",
    )
    .unwrap();
    let c = json(&ok(run({
        let mut c = as_local(&d, "olga");
        c.args([
            "change",
            "open",
            "--title",
            "Docs",
            "--path",
            "docs/a.md",
            "--path",
            "db/migrations/1.sql",
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(c["tier"], "medium", "{c}");
}

/// A local-mode command acting as the local user `name` (added by [`person`]), re-authenticated
/// with their password.
fn as_local(d: &std::path::Path, name: &str) -> Command {
    let mut c = ward(d, None);
    c.args(["--as", name]);
    c.env("WARD_PASSWORD", format!("{name}-correct-horse-battery"));
    c
}

/// Adds a local user with a password and returns a personal token for them.
fn person(d: &std::path::Path, name: &str, display: &str, roles: &[&str]) -> String {
    ok(run_with_stdin(
        {
            let mut c = ward(d, None);
            c.args(["user", "add", "--name", name, "--display-name", display]);
            for r in roles {
                c.args(["--role", r]);
            }
            c
        },
        &format!("{name}-correct-horse-battery\n"),
    ));
    let out = json(&ok(run({
        let mut c = ward(d, None);
        c.args([
            "token",
            "create",
            "--name",
            &format!("{name}-laptop"),
            "--user",
            name,
            "--output",
            "json",
        ]);
        c.env("WARD_PASSWORD", format!("{name}-correct-horse-battery"));
        for r in roles {
            c.args(["--role", r]);
        }
        c
    })));
    out["token"].as_str().expect("token").to_string()
}

#[test]
fn approvals_are_reauthenticated_signatures_under_separation_of_duties() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], "ann");
    std::fs::write(repo.join("a.txt"), "1\n").unwrap();
    git(&repo, &["add", "."], "ann");
    git(&repo, &["commit", "-q", "-m", "base"], "ann");
    let base = git(&repo, &["rev-parse", "HEAD"], "ann");
    std::fs::write(repo.join("a.txt"), "2\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "change"], "bob");
    let head = git(&repo, &["rev-parse", "HEAD"], "bob");
    let digest = format!("sha256:{}", "9a".repeat(32));
    register(&d, &digest, "api", "3");
    let ci = token(&d, "ci", "developer");
    let quinn = person(&d, "quinn", "Quinn Alvarez", &["approver"]);
    let bob = person(&d, "bob", "Bob Author", &["approver"]);
    let ada = person(&d, "ada", "Ada Admin", &["approver", "admin"]);
    let (_server, url) = serve(&d);
    let id = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.current_dir(&repo).args([
            "change",
            "open",
            "--title",
            "Reminder window",
            "--artifact",
            &digest,
            "--range",
            &format!("{base}..{head}"),
            "--output",
            "json",
        ]);
        c
    })))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let approve = |tok: &str, password: Option<&str>, extra: &[&str]| {
        let mut c = remote(&d, &url, tok);
        c.args([
            "approve",
            "--change",
            &id,
            "--meaning",
            "approved",
            "--comment",
            "looks right",
        ])
        .args(extra);
        if let Some(p) = password {
            c.env("WARD_PASSWORD", p);
        }
        c
    };
    // No re-authentication, a wrong password, automation, an author, an admin: all refused.
    assert_eq!(refused(approve(&quinn, None, &[]))["code"], "reauthentication_required");
    assert_eq!(
        refused(approve(&quinn, Some("guess-guess-guess"), &[]))["code"],
        "reauthentication_failed"
    );
    let bot = token(&d, "bot", "approver");
    assert_eq!(refused(approve(&bot, Some("x"), &[]))["code"], "automation_cannot_sign");
    assert_eq!(
        refused(approve(&bob, Some("bob-correct-horse-battery"), &[]))["code"],
        "author_cannot_sign"
    );
    assert_eq!(
        refused(approve(&ada, Some("ada-correct-horse-battery"), &[]))["code"],
        "admin_cannot_sign"
    );
    let e = refused({
        let mut c = remote(&d, &url, &quinn);
        c.args(["approve", "--change", &id, "--meaning", "blessed"])
            .env("WARD_PASSWORD", "quinn-correct-horse-battery");
        c
    });
    assert_eq!(e["code"], "invalid_request");
    assert!(e["hint"].as_str().unwrap().contains("release-authority"), "{e}");
    // A proper signature: printed name frozen, meaning, manifest.
    let signed = json(&ok(run({
        let mut c = approve(&quinn, Some("quinn-correct-horse-battery"), &[]);
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(signed["printed_name"], "Quinn Alvarez");
    assert_eq!(
        (signed["decision"].as_str(), signed["reauth"].as_str()),
        (Some("approved"), Some("password"))
    );
    assert_eq!(signed["manifest"]["artifacts"], serde_json::json!([digest]));
    let view = || {
        json(&ok(run({
            let mut c = remote(&d, &url, &ci);
            c.args(["change", "approvals", &id, "--output", "json"]);
            c
        })))
    };
    let v = view();
    assert_eq!(v["manifest_digest"], signed["manifest_digest"]);
    assert_eq!(v["approvals"][0]["stale"], false);
    // Every refused attempt is in the log, with its reason.
    let events = ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "show", "--output", "json"]);
        c
    }));
    for code in [
        "reauthentication_failed",
        "automation_cannot_sign",
        "author_cannot_sign",
        "admin_cannot_sign",
    ] {
        assert!(events.contains(code), "{code} not recorded");
    }
    // New evidence on the artifact changes the manifest: the approval is stale, still shown.
    ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["attest", "add", "--artifact", &digest])
            .arg(fixtures.join("pytest.xml"));
        c
    }));
    let v = view();
    assert_ne!(v["manifest_digest"], signed["manifest_digest"]);
    assert_eq!(v["approvals"][0]["stale"], true);
    assert_eq!(v["approvals"].as_array().unwrap().len(), 1);
    let text = ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["change", "approvals", &id]);
        c
    }));
    assert!(text.contains("STALE") && text.contains("Quinn Alvarez"), "{text}");
    // So does a new commit: the change's content changes, the signature stays stale.
    std::fs::write(repo.join("a.txt"), "3\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "more"], "cat");
    let head2 = git(&repo, &["rev-parse", "HEAD"], "cat");
    let updated = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.current_dir(&repo).args([
            "change",
            "update",
            &id,
            "--range",
            &format!("{base}..{head2}"),
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(updated["commits"].as_array().unwrap().len(), 2);
    let v2 = view();
    assert_ne!(v2["manifest_digest"], v["manifest_digest"]);
    assert_eq!(v2["approvals"][0]["stale"], true);
    // A rejection is recorded the same way; locally, --as names the signing user.
    let rejected = json(&ok(run_with_stdin(
        {
            let mut c = ward(&d, None);
            c.args([
                "approve",
                "--change",
                &id,
                "--meaning",
                "qa-approved",
                "--reject",
                "--comment",
                "UAT failed",
                "--as",
                "quinn",
                "--password-stdin",
                "--output",
                "json",
            ]);
            c
        },
        "quinn-correct-horse-battery\n",
    )));
    assert_eq!(
        (rejected["decision"].as_str(), rejected["meaning"].as_str()),
        (Some("rejected"), Some("qa-approved"))
    );
}

#[test]
fn gates_block_with_reasons_allow_when_satisfied_and_replay_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let digest = format!("sha256:{}", "5e".repeat(32));
    register(&d, &digest, "portal", "1");
    let ci = token(&d, "ci", "developer");
    let quinn = person(&d, "quinn", "Quinn Alvarez", &["approver"]);
    let (_server, url) = serve(&d);
    let id = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args([
            "change",
            "open",
            "--title",
            "Copy fix",
            "--artifact",
            &digest,
            "--path",
            "README.md",
            "--env",
            "prod",
            "--output",
            "json",
        ]);
        c
    })))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let check = |env: &str| {
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "check", "--change", &id, "--env", env, "--output", "json"]);
        run(c)
    };
    let check_text = |env: &str| {
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "check", "--change", &id, "--env", env]);
        run(c)
    };
    // Blocked: no passing tests, no approval; exit 4 with every reason and its fix.
    let out = check("prod");
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let blocked = json(&String::from_utf8_lossy(&out.stdout));
    let rules: Vec<&str> = blocked["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["approvals.quorum", "evidence.tests_passed"]);
    // The fix in words (no command: the server's decision reaches every kind of client), and
    // the action the CLI prints as a command.
    assert!(!blocked["reasons"][1]["fix"].as_str().unwrap().contains("ward "));
    assert_eq!(blocked["reasons"][1]["action"]["do"], "attest", "{blocked}");
    let text = String::from_utf8(check_text("prod").stdout).unwrap();
    assert!(
        text.contains(&format!(
            "ward --server {url} attest add --artifact {digest} report.xml"
        )),
        "{text}"
    );
    let first = blocked["id"].as_u64().unwrap();
    // An environment the change does not target is refused by policy too.
    let staging = json(&String::from_utf8_lossy(&check("staging").stdout));
    assert!(
        staging["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "environment.not_targeted")
    );
    // Satisfy it: passing tests and one approval by someone else.
    let junit = tmp.path().join("junit.xml");
    std::fs::write(&junit, r#"<testsuite name="s" tests="2"><testcase classname="c" name="a" time="0.1"/><testcase classname="c" name="b" time="0.2"/></testsuite>"#).unwrap();
    // (Evidence may attach to the change itself: the gate and the manifest see it.)
    ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["attest", "add", "--change", &id]).arg(&junit);
        c
    }));
    let on_change = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["attest", "list", "--change", &id, "--output", "json"]);
        c
    })));
    assert_eq!(on_change["attestations"][0]["type"], "junit");
    ok(run({
        let mut c = remote(&d, &url, &quinn);
        c.args(["approve", "--change", &id, "--meaning", "approved"])
            .env("WARD_PASSWORD", "quinn-correct-horse-battery");
        c
    }));
    let out = check("prod");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let allowed = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(allowed["allow"], true);
    assert_ne!(allowed["input_digest"], blocked["input_digest"]);
    assert_eq!(allowed["policy_digest"], blocked["policy_digest"]);
    // Replay re-evaluates the stored input: the first decision still blocks, identically.
    let replay = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "replay", &first.to_string(), "--output", "json"]);
        c
    })));
    assert_eq!(
        (replay["identical"].as_bool(), replay["replayed"]["allow"].as_bool()),
        (Some(true), Some(false))
    );
    let explained = ok(run({
        let mut c = ward(&d, None);
        c.args(["gate", "explain", &first.to_string()]);
        c
    }));
    assert!(
        explained.contains("BLOCKS") && explained.contains("evidence.tests_passed"),
        "{explained}"
    );
    // The allow says which report and which signature met each control.
    let why = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "explain", &allowed["id"].to_string(), "--output", "json"]);
        c
    })));
    let met = |control: &str| {
        why["satisfied"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["control"] == control)
            .unwrap_or_else(|| panic!("{control} not met in {why:#}"))
            .clone()
    };
    let tests = met("evidence.tests_passed");
    assert_eq!(
        (tests["by"][0]["type"].as_str(), tests["by"][0]["file_name"].as_str()),
        (Some("junit"), Some("junit.xml")),
        "{tests:#}"
    );
    assert_eq!(tests["by"][0]["id"], on_change["attestations"][0]["id"]);
    let quorum = met("approvals.quorum");
    assert_eq!(
        (quorum["by"][0]["signer"].as_str(), quorum["by"][0]["meaning"].as_str()),
        (Some("user:quinn"), Some("approved")),
        "{quorum:#}"
    );
    let text = ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "explain", &allowed["id"].to_string()]);
        c
    }));
    assert!(
        text.contains("by junit report junit.xml") && text.contains("Quinn Alvarez (user:quinn) signing approved"),
        "{text}"
    );
    // The whole picture in one command: evidence with its verdict, signatures, the latest
    // decision per environment with its reasons.
    let picture = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["change", "show", &id, "--output", "json"]);
        c
    })));
    assert_eq!(picture["id"].as_str(), Some(id.as_str()));
    assert_eq!(picture["evidence"][0]["file_name"], "junit.xml", "{picture:#}");
    assert_eq!(picture["approvals"]["approvals"][0]["signer"], "user:quinn");
    let latest: Vec<(&str, bool, u64)> = picture["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["environment"].as_str().unwrap(),
                d["allow"].as_bool().unwrap(),
                d["id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        latest,
        [
            ("prod", true, allowed["id"].as_u64().unwrap()),
            ("staging", false, staging["id"].as_u64().unwrap())
        ],
        "{picture:#}"
    );
    let text = ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["change", "show", &id]);
        c
    }));
    for expected in [
        "junit junit.xml",
        "2 tests: 2 passed, 0 failed",
        // The artifact's verdict is the gate's: nothing in its latest decisions blocks on it.
        ": nothing blocks on it in the latest gate decisions (prod, staging)",
        "Quinn Alvarez",
        "  current",
        "→ prod: ALLOWS",
        "→ staging: BLOCKS",
        "✗ environment.not_targeted",
        "deployments (0)",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }

    // The team's policies: a freeze rule and its test, in [gate] policy_dir.
    let policies = d.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(
        policies.join("freeze.rego"),
        "package ward.gate\nimport rego.v1\ndeny contains {\"rule\": \"team.portal_freeze\", \"message\": \"portal is frozen\", \"fix\": \"wait\"} if {\n  input.environment == \"prod\"\n  \"kind:normal\" in input.change.tags\n}\n",
    )
    .unwrap();
    std::fs::write(
        policies.join("freeze_test.rego"),
        "package team.freeze_test\nimport rego.v1\nimport data.ward.gate\ntest_prod_normal_is_frozen if {\n  some r in gate.deny with input as {\"environment\": \"prod\", \"now_secs\": 0, \"change\": {\"tier\": \"low\", \"tags\": [\"kind:normal\"], \"environments\": []}, \"evidence\": [], \"approvals\": [], \"vulnerabilities\": []}\n  r.rule == \"team.portal_freeze\"\n}\n",
    )
    .unwrap();
    std::fs::write(d.join("ward.toml"), "[gate]\npolicy_dir = \"policies\"\n").unwrap();
    let tested = ok(run({
        let mut c = ward(&d, None);
        c.args(["policy", "test"]);
        c
    }));
    assert!(
        tested.contains("PASS team.freeze_test.test_prod_normal_is_frozen") && tested.contains("0 failed"),
        "{tested}"
    );
    let local = run({
        let mut c = ward(&d, None);
        c.args(["gate", "check", "--change", &id, "--env", "prod", "--output", "json"]);
        c
    });
    assert_eq!(local.status.code(), Some(4));
    let v = json(&String::from_utf8_lossy(&local.stdout));
    assert_eq!(v["reasons"][0]["rule"], "team.portal_freeze");
    assert_ne!(v["policy_digest"], allowed["policy_digest"]);
    // A failing policy test fails `ward policy test`.
    std::fs::write(
        policies.join("broken_test.rego"),
        "package team.broken_test\nimport rego.v1\ntest_fails if { 1 == 2 }\n",
    )
    .unwrap();
    let failed = run({
        let mut c = ward(&d, None);
        c.args(["policy", "test"]);
        c
    });
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("FAIL team.broken_test.test_fails"));
}

/// A change's waiver excuses the change as it was granted on: once its artifact is swapped it
/// excuses nothing, even after the new content is signed again — whoever grants waivers sees
/// the change as it is now (a helper's note on the thirteenth session's head: a waiver of
/// every SLA finding, given for one artifact, went on excusing its replacement's). Listed as
/// void; a waiver granted over the new content excuses it.
#[test]
fn a_changes_waiver_excuses_nothing_once_its_artifact_is_swapped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let first = format!("sha256:{}", "5a".repeat(32));
    let swapped = format!("sha256:{}", "5b".repeat(32));
    register(&d, &first, "portal", "1");
    register(&d, &swapped, "portal", "2");
    let ci = token(&d, "ci", "developer");
    let quinn = person(&d, "quinn", "Quinn Alvarez", &["approver"]);
    let rhea = person(&d, "rhea", "Rhea Okafor", &["approver"]);
    let (_server, url) = serve(&d);
    let cli = |tok: &str, args: &[&str]| {
        let mut c = remote(&d, &url, tok);
        c.args(args);
        c
    };
    let change = json(&ok(run(cli(
        &ci,
        &[
            "change",
            "open",
            "--title",
            "Fix",
            "--ticket",
            "https://tickets.example.org/T-2",
            "--artifact",
            &first,
            "--env",
            "prod",
            "--output",
            "json",
        ],
    ))))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gate = |id: &str| {
        let out = run(cli(
            &ci,
            &["gate", "check", "--change", id, "--env", "prod", "--output", "json"],
        ));
        (out.status.code(), json(&String::from_utf8_lossy(&out.stdout)))
    };
    let approve = || {
        ok(run({
            let mut c = cli(&rhea, &["approve", "--change", &change, "--meaning", "approved"]);
            c.env("WARD_PASSWORD", "rhea-correct-horse-battery");
            c
        }))
    };
    let waive = || {
        let mut c = cli(
            &quinn,
            &[
                "waiver",
                "grant",
                "--change",
                &change,
                "--rule",
                "evidence.",
                "--justification",
                "tests run in the vendor's lab this release",
                "--compensating-control",
                "manual smoke test recorded in CLN-99",
                "--owner",
                "user:rhea",
                "--expires",
                "1d",
                "--output",
                "json",
            ],
        );
        c.env("WARD_PASSWORD", "quinn-correct-horse-battery");
        json(&ok(run(c)))["id"].as_str().unwrap().to_string()
    };
    approve();
    let granted = waive();
    let (code, before) = gate(&change);
    assert_eq!(code, Some(0), "{before}");
    // The developer swaps the artifact; the approver signs the new content again.
    ok(run(cli(&ci, &["change", "update", &change, "--artifact", &swapped])));
    approve();
    let (code, after) = gate(&change);
    assert_eq!(code, Some(4), "the waiver excused the swapped artifact: {after}");
    assert!(after["waived"].as_array().unwrap().is_empty(), "{}", after["waived"]);
    assert!(
        after["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"].as_str().unwrap().starts_with("evidence.")),
        "{after}"
    );
    let listed = ok(run(cli(&ci, &["waiver", "list", "--change", &change])));
    assert!(listed.contains(&granted) && listed.contains("VOID"), "{listed}");
    let shown = ok(run(cli(&ci, &["change", "show", &change])));
    assert!(shown.contains("VOID"), "{shown}");
    // Granted again over the change as it is, a waiver excuses it.
    let again = waive();
    let (code, passed) = gate(&change);
    assert_eq!(code, Some(0), "{passed}");
    assert!(
        passed["waived"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["waiver"] == again.as_str()),
        "{passed}"
    );
}

#[test]
fn waivers_expire_closed_and_break_glass_leaves_an_overdue_review() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    // Reviews are due at once, so the test can see one become overdue.
    std::fs::write(d.join("ward.toml"), "[breakglass]\nreview_business_days = 0\n").unwrap();
    let digest = format!("sha256:{}", "7c".repeat(32));
    register(&d, &digest, "portal", "1");
    let ci = token(&d, "ci", "developer");
    let quinn = person(&d, "quinn", "Quinn Alvarez", &["approver"]);
    let rhea = person(&d, "rhea", "Rhea Okafor", &["approver"]);
    let (_server, url) = serve(&d);
    let open = |kind: &str| {
        json(&ok(run({
            let mut c = remote(&d, &url, &ci);
            c.args([
                "change",
                "open",
                "--title",
                "Fix",
                "--ticket",
                "https://tickets.example.org/T-1",
                "--kind",
                kind,
                "--artifact",
                &digest,
                "--env",
                "prod",
                "--output",
                "json",
            ]);
            c
        })))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let gate = |id: &str| {
        let out = run({
            let mut c = remote(&d, &url, &ci);
            c.args(["gate", "check", "--change", id, "--env", "prod", "--output", "json"]);
            c
        });
        (out.status.code(), json(&String::from_utf8_lossy(&out.stdout)))
    };
    let normal = open("normal");
    assert_eq!(gate(&normal).0, Some(4));
    // A waiver: not by its owner, not by CI, never of a rule about who must sign; granted by an
    // approver who re-authenticates, visible in the decision.
    let grant_rules = |tok: &str, owner: &str, expires: &str, rules: &[&str]| {
        let mut c = remote(&d, &url, tok);
        c.args(["waiver", "grant", "--change", &normal]);
        for r in rules {
            c.args(["--rule", r]);
        }
        c.args([
            "--justification",
            "tests run in the vendor's lab this release",
            "--compensating-control",
            "manual smoke test recorded in CLN-99",
            "--owner",
            owner,
            "--expires",
            expires,
        ]);
        c.env("WARD_PASSWORD", "quinn-correct-horse-battery");
        c
    };
    let grant = |tok: &str, owner: &str, expires: &str| grant_rules(tok, owner, expires, &["evidence."]);
    assert_eq!(
        refused(grant_rules(
            &quinn,
            "user:rhea",
            "1d",
            &["evidence.", "approvals.quorum"]
        ))["code"],
        "unwaivable_rule"
    );
    // The owner is someone else however spelt (`user:quinn.` is Quinn).
    for me in ["user:quinn", "user:Quinn", "user:quinn."] {
        assert_eq!(refused(grant(&quinn, me, "1d"))["code"], "owner_cannot_grant", "{me}");
    }
    assert_eq!(refused(grant(&ci, "user:quinn", "1d"))["code"], "forbidden");
    // A waiver's owner answers for its compensating control: a person Ward knows — not a name
    // nobody holds (a typo, an invented team), not automation (attack on `4c64655`).
    for nobody in ["user:security-team", "user:rhae", "token:ci", "oidc:nobody"] {
        let e = refused(grant(&quinn, nobody, "1d"));
        assert_eq!(e["code"], "unknown_owner", "{nobody}: {e}");
    }
    // The approvals still come from people: rhea signs, quinn waives the evidence.
    ok(run({
        let mut c = remote(&d, &url, &rhea);
        c.args(["approve", "--change", &normal, "--meaning", "approved"])
            .env("WARD_PASSWORD", "rhea-correct-horse-battery");
        c
    }));
    let w = json(&ok(run({
        let mut c = grant(&quinn, "user:rhea", "3s");
        c.args(["--output", "json"]);
        c
    })));
    let (code, d1) = gate(&normal);
    assert_eq!(code, Some(0), "{d1}");
    let excused: Vec<&str> = d1["waived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["waiver"].as_str().unwrap())
        .collect();
    assert_eq!(excused, vec![w["id"].as_str().unwrap()]);
    // Expired: excuses nothing (fail closed), and is listed as expired.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(gate(&normal).0, Some(4));
    let listed = ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["waiver", "list", "--change", &normal]);
        c
    }));
    assert!(listed.contains("EXPIRED"), "{listed}");
    // A waiver can also be scoped to an artifact (its findings, in any change shipping it).
    ok(run({
        let mut c = remote(&d, &url, &quinn);
        c.args([
            "waiver",
            "grant",
            "--artifact",
            &digest,
            "--rule",
            "sla.",
            "--justification",
            "vendor patch due next sprint",
            "--compensating-control",
            "WAF rule blocks the vector",
            "--owner",
            "user:rhea",
            "--expires",
            "7d",
        ]);
        c.env("WARD_PASSWORD", "quinn-correct-horse-battery");
        c
    }));
    let by_artifact = ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["waiver", "list", "--change", &digest]);
        c
    }));
    assert!(
        by_artifact.contains("active") && by_artifact.contains("sla."),
        "{by_artifact}"
    );
    // The earlier decision still replays identically (its input recorded the waiver as active).
    let replay = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "replay", &d1["id"].to_string(), "--output", "json"]);
        c
    })));
    assert_eq!(replay["identical"], true);

    // Break-glass: only on emergency changes, only by people, with a justification.
    let bg = |tok: &str, change: &str| {
        let mut c = remote(&d, &url, tok);
        c.args([
            "break-glass",
            "--change",
            change,
            "--rule",
            "evidence.",
            "--rule",
            "approvals.",
            "--justification",
            "appointment booking is down for every clinic",
            "--for",
            "2h",
        ]);
        c.env("WARD_PASSWORD", "quinn-correct-horse-battery");
        c
    };
    assert_eq!(refused(bg(&quinn, &normal))["code"], "not_an_emergency");
    let emergency = open("emergency");
    assert_eq!(refused(bg(&ci, &emergency))["code"], "forbidden");
    let b = json(&ok(run({
        let mut c = bg(&quinn, &emergency);
        c.args(["--output", "json"]);
        c
    })));
    assert!(b["id"].as_str().unwrap().starts_with("BG-"));
    let (code, passed) = gate(&emergency);
    assert_eq!(code, Some(0), "{passed}");
    assert!(
        passed["waived"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["waiver"] == b["id"])
    );
    // The retrospective review is overdue until someone signs it.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let overdue = run({
        let mut c = remote(&d, &url, &ci);
        c.args(["review", "list", "--overdue"]);
        c
    });
    assert_eq!(overdue.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&overdue.stdout).contains(&emergency));
    ok(run({
        let mut c = remote(&d, &url, &rhea);
        c.args([
            "approve",
            "--change",
            &emergency,
            "--meaning",
            "retrospective-review",
            "--comment",
            "root cause found",
        ])
        .env("WARD_PASSWORD", "rhea-correct-horse-battery");
        c
    }));
    let closed = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["review", "list", "--output", "json"]);
        c
    })));
    assert_eq!(closed["reviews"][0]["review"], "closed");
    ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["review", "list", "--overdue"]);
        c
    }));
}

/// Issue 5's "done when", end to end over HTTP: a high-risk PHI change is blocked until its
/// evidence, privacy review and two distinct approvals exist; self-approval and the same person
/// twice do not count; a new scan makes the approvals stale; a freeze blocks; every decision
/// replays to the same verdict.
#[test]
fn a_high_risk_phi_change_from_blocked_to_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures");
    let fx = |f: &str| fixtures.join(f).to_str().unwrap().to_string();
    let digest = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "artifact",
            "register",
            "--file",
            &fx("intoto-app.tar"),
            "--service",
            "ehr-sync",
            "--version",
            "4.2.0",
            "--output",
            "json",
        ]);
        c
    })))["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = token(&d, "sec-admin", "admin");
    let ci = token(&d, "ci", "developer");
    let quinn = person(&d, "quinn", "Quinn Alvarez", &["approver"]);
    let rhea = person(&d, "rhea", "Rhea Okafor", &["approver", "release-manager"]);
    let dana = person(&d, "dana", "Dana Developer", &["developer", "approver"]);
    let pat = person(&d, "pat", "Pat Nguyen", &["privacy-officer"]);
    let (_server, url) = serve(&d);
    let as_ = |tok: &str, args: &[&str]| {
        let mut c = remote(&d, &url, tok);
        c.args(args);
        c
    };
    // Dana (a person) opens a PHI change; it is high risk.
    let change = json(&ok(run(as_(
        &dana,
        &[
            "change",
            "open",
            "--title",
            "Sync allergies to the EHR",
            "--ticket",
            "https://tickets.example.org/EHR-7",
            "--artifact",
            &digest,
            "--attribute",
            "phi",
            "--integration",
            "ehr",
            "--env",
            "prod",
            "--output",
            "json",
        ],
    ))));
    assert_eq!(change["tier"], "high");
    let id = change["id"].as_str().unwrap().to_string();
    let gate = || {
        let out = run(as_(
            &ci,
            &["gate", "check", "--change", &id, "--env", "prod", "--output", "json"],
        ));
        let v = json(&String::from_utf8_lossy(&out.stdout));
        let rules: Vec<String> = v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule"].as_str().unwrap().to_string())
            .collect();
        (out.status.code(), rules, v["id"].as_u64().unwrap())
    };
    let mut decisions = Vec::new();
    let (code, rules, first) = gate();
    decisions.push(first);
    assert_eq!(code, Some(4));
    for want in [
        "evidence.tests_passed",
        "evidence.no_critical_sast",
        "evidence.sbom",
        "evidence.provenance",
        "evidence.rollback_plan",
        "approvals.quorum",
        "checklist.privacy-review",
    ] {
        assert!(rules.iter().any(|r| r == want), "{want} missing from {rules:?}");
    }
    // Evidence: passing tests, a clean SAST scan (bandit: no critical), an SBOM, provenance
    // signed by a trusted builder, and a rollback plan of the built-in type.
    let junit = tmp.path().join("junit.xml");
    std::fs::write(
        &junit,
        r#"<testsuite name="s" tests="1"><testcase classname="c" name="a" time="0.1"/></testsuite>"#,
    )
    .unwrap();
    ok(run(as_(
        &admin,
        &["key", "trust", "--builder", "github-actions", &fx("intoto-ed25519.pub")],
    )));
    // The rollback plan's type is built in: nothing to register. Another schema under its
    // name is refused.
    let schema = tmp.path().join("rollback.schema.json");
    std::fs::write(&schema, r#"{"type":"object"}"#).unwrap();
    let e = refused(as_(
        &admin,
        &[
            "attest",
            "type",
            "add",
            "rollback-plan",
            "--schema",
            schema.to_str().unwrap(),
        ],
    ));
    assert_eq!(e["code"], "conflict", "{e}");
    assert!(e["hint"].as_str().unwrap().contains("built into Ward"), "{e}");
    let bad_plan = tmp.path().join("rollback-bad.json");
    std::fs::write(&bad_plan, r#"{"steps":[]}"#).unwrap();
    let e = refused(as_(
        &ci,
        &[
            "attest",
            "add",
            "--artifact",
            &digest,
            "--type",
            "custom:rollback-plan",
            bad_plan.to_str().unwrap(),
        ],
    ));
    assert_eq!(e["code"], "schema_mismatch", "{e}");
    let plan = tmp.path().join("rollback.json");
    std::fs::write(
        &plan,
        r#"{"steps":["redeploy 4.1.3","replay sync queue"],"tested_on":"staging"}"#,
    )
    .unwrap();
    for (file, kind) in [
        (junit.to_str().unwrap().to_string(), "auto"),
        (fx("bandit.sarif"), "auto"),
        (fx("cyclonedx-py-1.6.json"), "auto"),
        (fx("statement-v1-slsa1.ed25519.dsse.json"), "auto"),
        (plan.to_str().unwrap().to_string(), "custom:rollback-plan"),
    ] {
        ok(run(as_(
            &ci,
            &["attest", "add", "--artifact", &digest, "--type", kind, &file],
        )));
    }
    let (_, rules, _) = gate();
    assert_eq!(
        rules,
        vec![
            "approvals.quorum",
            "approvals.role.release-manager",
            "checklist.privacy-review"
        ]
    );
    // Self-approval is refused with a clear reason; the same person twice counts once.
    let approve = |tok: &str, who: &str, meaning: &str| {
        let mut c = as_(tok, &["approve", "--change", &id, "--meaning", meaning]);
        c.env("WARD_PASSWORD", format!("{who}-correct-horse-battery"));
        c
    };
    let e = refused(approve(&dana, "dana", "approved"));
    assert_eq!(e["code"], "opener_cannot_sign");
    assert!(e["message"].as_str().unwrap().contains("opened this change"), "{e}");
    ok(run(approve(&quinn, "quinn", "approved")));
    ok(run(approve(&quinn, "quinn", "approved")));
    let (_, rules, _) = gate();
    assert_eq!(
        rules,
        vec![
            "approvals.quorum",
            "approvals.role.release-manager",
            "checklist.privacy-review"
        ]
    );
    // The privacy review is a privacy officer's: an approver cannot tick it, and the privacy
    // officer cannot count toward the quorum.
    let e = refused(approve(&quinn, "quinn", "privacy-review"));
    assert_eq!(e["code"], "meaning_needs_role", "{e}");
    assert!(e["message"].as_str().unwrap().contains("privacy-officer"), "{e}");
    let e = refused(approve(&pat, "pat", "approved"));
    assert_eq!(e["code"], "meaning_needs_role", "{e}");
    ok(run(approve(&pat, "pat", "privacy-review")));
    // The privacy review meets the checklist and never the quorum: Quinn is still alone.
    let (_, rules, _) = gate();
    assert_eq!(rules, vec!["approvals.quorum", "approvals.role.release-manager"]);
    ok(run(approve(&rhea, "rhea", "approved")));
    let (code, rules, allowed) = gate();
    decisions.push(allowed);
    assert_eq!((code, rules.len()), (Some(0), 0), "{rules:?}");
    // A new scan changes what was approved: every approval is stale, the gate blocks again.
    ok(run(as_(
        &ci,
        &["attest", "add", "--artifact", &digest, &fx("checkov.sarif")],
    )));
    let (code, rules, stale) = gate();
    decisions.push(stale);
    assert_eq!(code, Some(4));
    assert!(
        rules.contains(&"approvals.quorum".to_string()) && rules.contains(&"checklist.privacy-review".to_string()),
        "{rules:?}"
    );
    // Every decision replays to the same verdict.
    for dec in decisions {
        let r = json(&ok(run(as_(
            &ci,
            &["gate", "replay", &dec.to_string(), "--output", "json"],
        ))));
        assert_eq!(r["identical"], true, "decision {dec}");
    }
}

/// Attack on `75015ec`: a promotion through the server that took longer than the request
/// timeout (30 s) was cut off — its target half run, no deployment recorded, the environment's
/// lock released while the target still ran; and on `b782046`: answered "timeout" while it ran
/// on, so that trying it again ran it twice. A promotion is not timed out: it answers with its
/// record, once, however long its target runs.
#[test]
fn a_promotion_longer_than_the_request_timeout_runs_to_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let ran = tmp.path().join("ran");
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"dev\"\ncommand = [\"sh\", \"-c\", \"sleep {}; echo ran >> {}; echo deployed\"]\n",
            ward_server::layers::REQUEST_TIMEOUT.as_secs() + 3,
            ran.display()
        ),
    )
    .unwrap();
    let digest = format!("sha256:{}", "d7".repeat(32));
    register(&d, &digest, "api", "9");
    let ci = token(&d, "ci", "developer");
    let deployer = token(&d, "deployer", "release-manager");
    let (_server, url) = serve(&d);
    let id = common::open_change(remote(&d, &url, &ci), "slow deploy", &digest);
    let dep = json(&ok(run({
        let mut c = remote(&d, &url, &deployer);
        c.args(["promote", "--change", &id, "--to", "dev", "--output", "json"]);
        c
    })));
    assert_eq!(dep["status"], "succeeded", "{dep}");
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        "ran\n",
        "the target ran once, to its end"
    );
    let list = json(&ok(run({
        let mut c = remote(&d, &url, &deployer);
        c.args(["deployments", "--env", "dev", "--output", "json"]);
        c
    })));
    assert_eq!(list["deployments"].as_array().map(Vec::len), Some(1), "{list}");
}

/// Attack on `b782046`: a server stopped (SIGTERM: systemd, Kubernetes) while a promotion's
/// target ran killed the target and recorded nothing. The server stops once the promotion is
/// recorded, and its client gets the record.
#[test]
fn a_server_stopped_mid_promotion_stops_after_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let ran = tmp.path().join("ran");
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"dev\"\ncommand = [\"sh\", \"-c\", \"sleep 4; echo ran >> {}; echo deployed\"]\n",
            ran.display()
        ),
    )
    .unwrap();
    let digest = format!("sha256:{}", "d8".repeat(32));
    register(&d, &digest, "api", "9");
    let ci = token(&d, "ci", "developer");
    let deployer = token(&d, "deployer", "release-manager");
    let (mut server, url) = serve(&d);
    let id = common::open_change(remote(&d, &url, &ci), "deploy during a restart", &digest);
    let promote = {
        let mut c = remote(&d, &url, &deployer);
        c.args(["promote", "--change", &id, "--to", "dev", "--output", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let term = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = promote.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dep = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(dep["status"], "succeeded", "{dep}");
    let stopped = server.0.wait().unwrap();
    assert!(stopped.success(), "the server stops cleanly: {stopped:?}");
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        "ran\n",
        "the target ran to its end"
    );
    let list = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["deployments", "--env", "dev", "--output", "json"]);
        c
    })));
    assert_eq!(list["deployments"].as_array().map(Vec::len), Some(1), "{list}");
}

/// A hung target held a stopping server for up to its ten minutes a tenant. A second signal
/// stops the server at once: the target stops with it, and the next deployment there records
/// the cut one as interrupted.
#[test]
fn a_server_signalled_twice_stops_at_once_and_its_cut_deployment_is_found_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let (hang, pid) = (tmp.path().join("hang"), tmp.path().join("pid"));
    std::fs::write(&hang, "").unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"dev\"\ncommand = [\"sh\", \"-c\", \"echo $$ > {pid}.tmp; mv {pid}.tmp {pid}; while [ -e {hang} ]; do sleep 0.1; done; echo deployed\"]\n",
            pid = pid.display(),
            hang = hang.display()
        ),
    )
    .unwrap();
    let digest = format!("sha256:{}", "d9".repeat(32));
    register(&d, &digest, "api", "9");
    let ci = token(&d, "ci", "developer");
    let deployer = token(&d, "deployer", "release-manager");
    let (mut server, url) = serve(&d);
    let id = common::open_change(remote(&d, &url, &ci), "deploy, hung", &digest);
    let promote = {
        let mut c = remote(&d, &url, &deployer);
        c.args(["promote", "--change", &id, "--to", "dev", "--output", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    wait_for_file(&pid);
    let target = std::fs::read_to_string(&pid).unwrap().trim().to_string();
    let server_pid = server.0.id().to_string();
    let signal = || {
        assert!(
            Command::new("kill")
                .args(["-TERM", &server_pid])
                .status()
                .unwrap()
                .success()
        )
    };
    signal();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "the first signal waits for the record"
    );
    signal();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let stopped = loop {
        if let Some(s) = server.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second signal did not stop the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!stopped.success(), "stopped, not finished: {stopped:?}");
    let out = promote.wait_with_output().unwrap();
    assert!(!out.status.success(), "the client got no record");
    wait_until_gone(&target, "the target outlived the stopped server");
    std::fs::remove_file(&hang).unwrap();
    let (_server, url) = serve(&d);
    let e = {
        let mut c = remote(&d, &url, &deployer);
        c.args(["promote", "--change", &id, "--to", "dev", "--output", "json"]);
        let out = run(c);
        json(&String::from_utf8_lossy(&out.stdout))
    };
    assert_eq!(e["error"]["code"], "deployment_interrupted", "{e}");
    let dep = {
        let mut c = remote(&d, &url, &deployer);
        c.args(["promote", "--change", &id, "--to", "dev", "--output", "json"]);
        json(&ok(run(c)))
    };
    assert_eq!(dep["status"], "succeeded", "asked again, it runs: {dep}");
}

/// Waits (up to 10 s) until process `pid` no longer runs (a zombie waiting for its parent does
/// not), failing with `what` otherwise.
fn wait_until_gone(pid: &str, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
    {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The kinds of the log's entries, in order.
fn log_kinds(d: &std::path::Path) -> Vec<String> {
    let shown = json(&ok(run({
        let mut c = ward(d, None);
        c.args(["log", "show", "--limit", "10000", "--output", "json"]);
        c
    })));
    let entries = shown["entries"].as_array().expect("entries");
    entries
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Waits (up to 60 s) until `path` exists: a target has begun.
fn wait_for_file(path: &std::path::Path) {
    for _ in 0..600 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{} never appeared", path.display());
}

/// Attack on `4c64655`: a client that gave up waiting for a promotion (Ctrl-C) and asked again
/// got a second deployment once the first was recorded — its target ran twice, unannounced (a
/// rollback asked twice goes back two releases). The first is announced before its targets run
/// (`deployment.started`); the same request, waiting behind it, is refused once it is recorded
/// (`deployment_ran_while_waiting`, naming the record), while a different change queued behind
/// it still runs; asked again after that, on purpose, it runs.
#[test]
fn a_promote_asked_again_while_the_first_runs_is_refused_not_run_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let ran = tmp.path().join("ran");
    let began = tmp.path().join("began");
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"dev\"\ncommand = [\"sh\", \"-c\", \"touch {}; sleep 3; echo \\\"$WARD_CHANGE\\\" >> {}; echo deployed\"]\n",
            began.display(),
            ran.display()
        ),
    )
    .unwrap();
    let digest = format!("sha256:{}", "e1".repeat(32));
    let other = format!("sha256:{}", "e2".repeat(32));
    register(&d, &digest, "api", "9");
    register(&d, &other, "api", "10");
    let ci = token(&d, "ci", "developer");
    let deployer = token(&d, "deployer", "release-manager");
    let (_server, url) = serve(&d);
    let id = common::open_change(remote(&d, &url, &ci), "deploy once", &digest);
    let next = common::open_change(remote(&d, &url, &ci), "deploy next", &other);
    let promote = |change: &str| {
        let mut c = remote(&d, &url, &deployer);
        c.args(["promote", "--change", change, "--to", "dev"]);
        c
    };
    let mut first = {
        let mut c = promote(&id);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c.spawn().unwrap()
    };
    wait_for_file(&began);
    // While it runs, it is shown in flight, by whom and since when.
    let listed = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["deployments", "--env", "dev", "--output", "json"]);
        c
    })));
    let flying = listed["in_flight"].as_array().expect("in_flight");
    assert_eq!(flying.len(), 1, "{listed}");
    assert_eq!(flying[0]["change"], id.as_str());
    assert_eq!(flying[0]["requested"]["action"], "promote");
    assert_eq!(flying[0]["executed_by"], acts_as(&deployer).as_str(), "{listed}");
    // The client gives up (Ctrl-C); the server runs the deployment to its record.
    first.kill().unwrap();
    first.wait().unwrap();
    let queued = {
        let mut c = promote(&next);
        c.args(["--output", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let e = refused(promote(&id));
    assert_eq!(e["code"], "deployment_ran_while_waiting", "{e}");
    let message = e["message"].as_str().unwrap_or_default();
    assert!(message.contains("recorded as deployment"), "{e}");
    // Its hint names the record, as a command that shows it.
    let shown =
        common::without_server(common::printed_command(e["hint"].as_str().unwrap_or_default()).expect("a command"));
    let record = json(&ok(run({
        let mut c = remote(&d, &url, &deployer);
        c.args(&shown).args(["--output", "json"]);
        c
    })));
    assert_eq!(record["change"], id.as_str(), "{record}");
    let out = queued.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "a different change waits its turn and runs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ran_for = |change: &str| {
        std::fs::read_to_string(&ran)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == change)
            .count()
    };
    assert_eq!(ran_for(&id), 1, "the target ran once for the first change");
    assert_eq!(ran_for(&next), 1);
    // The refusal's hint: see the record, and run it again on purpose — which runs it.
    let again = json(&ok(run({
        let mut c = promote(&id);
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(ran_for(&id), 2);
    // Attack on `ca6fcdb`: a double submit — two identical requests at the same moment, neither
    // announced while the other waited — ran twice. One runs; the other is refused.
    let twins: Vec<_> = (0..2)
        .map(|_| {
            let mut c = promote(&next);
            c.args(["--output", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let outs: Vec<_> = twins.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    assert_eq!(
        outs.iter().filter(|o| o.status.success()).count(),
        1,
        "one of the twins runs"
    );
    let other = outs.iter().find(|o| !o.status.success()).unwrap();
    assert!(
        String::from_utf8_lossy(&other.stdout).contains("deployment_ran_while_waiting"),
        "{}",
        String::from_utf8_lossy(&other.stdout)
    );
    assert_eq!(ran_for(&next), 2, "the twins ran once");
    let list = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["deployments", "--env", "dev", "--output", "json"]);
        c
    })));
    let list = list["deployments"].as_array().unwrap();
    assert_eq!(list.len(), 4, "{list:?}");
    assert!(
        list.iter()
            .all(|d| d["started"].as_u64().is_some_and(|s| s < d["seq"].as_u64().unwrap())),
        "{list:?}"
    );
    let kinds = log_kinds(&d);
    assert_eq!(kinds.iter().filter(|k| *k == "deployment.started").count(), 4);
    assert!(!kinds.iter().any(|k| k == "deployment.interrupted"), "{kinds:?}");
}

/// Attack on `4c64655`: a process killed (SIGKILL, an out-of-memory kill, a lost machine) while
/// its target ran left no trace — no record, nothing to say a deployment had begun — and the
/// next deployment ran as if nothing had happened. The announcement (`deployment.started`) stays
/// unanswered; the next deployment into the environment, holding its lock, records it as
/// interrupted and is refused once (`deployment_interrupted`: what runs there is unknown), then
/// runs when asked again, as its hint says.
#[test]
fn a_deployment_killed_mid_run_is_recorded_as_interrupted_before_the_next_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let hang = tmp.path().join("hang");
    let began = tmp.path().join("began");
    let pid = tmp.path().join("pid");
    std::fs::write(&hang, "").unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"dev\"\ncommand = [\"sh\", \"-c\", \"if [ -e {hang} ]; then sleep 120 & echo $$ $! > {pid}; touch {began}; wait; fi; echo deployed\"]\n",
            pid = pid.display(),
            began = began.display(),
            hang = hang.display(),
        ),
    )
    .unwrap();
    let digest = format!("sha256:{}", "e3".repeat(32));
    register(&d, &digest, "api", "9");
    person(&d, "dev", "Dev Example", &["developer"]);
    person(&d, "rita", "Rita Example", &["release-manager"]);
    let id = common::open_change(as_local(&d, "dev"), "deploy, killed", &digest);
    let promote = || {
        let mut c = as_local(&d, "rita");
        c.args(["promote", "--change", &id, "--to", "dev"]);
        c
    };
    let mut killed = {
        let mut c = promote();
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c.spawn().unwrap()
    };
    wait_for_file(&began);
    killed.kill().unwrap();
    killed.wait().unwrap();
    // The target and what it started die with the process that ran them (its watchdog sees
    // the pipe close): before, they ran on beside the next deployment.
    let target = std::fs::read_to_string(&pid).unwrap();
    for p in target.split_whitespace() {
        wait_until_gone(p, &format!("process {p} of the target outlived the killed Ward"));
    }
    let kinds = log_kinds(&d);
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("deployment.started"),
        "{kinds:?}"
    );
    let in_flight = || {
        let out = ok(run({
            let mut c = ward(&d, None);
            c.args(["deployments", "--env", "dev"]);
            c
        }));
        out.lines().filter(|l| l.starts_with("in flight: ")).count()
    };
    assert_eq!(in_flight(), 1, "the announcement stays unanswered");
    std::fs::remove_file(&hang).unwrap();
    let e = refused(promote());
    assert_eq!(e["code"], "deployment_interrupted", "{e}");
    assert!(e["hint"].as_str().unwrap_or_default().contains("run this again"), "{e}");
    let kinds = log_kinds(&d);
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("deployment.interrupted"),
        "{kinds:?}"
    );
    assert_eq!(in_flight(), 0, "answered by its interruption");
    let shown = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "show", "--limit", "10000", "--output", "json"]);
        c
    })));
    let entries = shown["entries"].as_array().unwrap();
    let event = |kind: &str| &entries.iter().find(|e| e["event"]["kind"] == kind).unwrap()["event"];
    let (started, interrupted) = (event("deployment.started"), event("deployment.interrupted"));
    assert_eq!(
        interrupted["payload"]["inline"]["started"], started["seq"],
        "{interrupted}"
    );
    assert_eq!(
        interrupted["payload"]["inline"]["why"], "process_stopped",
        "{interrupted}"
    );
    assert_eq!(interrupted["actor"]["id"], "user:rita", "who found it: {interrupted}");
    // Asked again, as the hint says: it runs, and is recorded.
    let dep = json(&ok(run({
        let mut c = promote();
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(dep["status"], "succeeded", "{dep}");
    assert!(
        dep["started"]
            .as_u64()
            .is_some_and(|s| s > started["seq"].as_u64().unwrap()),
        "{dep}"
    );
    let e = {
        let mut c = promote();
        c.args(["--output", "json"]);
        run(c)
    };
    assert!(
        e.status.success(),
        "no announcement is left unanswered: {}",
        String::from_utf8_lossy(&e.stderr)
    );
}

/// Attack on `e7ad2ee`: with two requests queued behind a deployment whose process was killed,
/// the first to get the lock recorded the interruption and was refused, and the second then ran
/// the same deployment beside the killed process's target, still running. Every request that
/// waited while the interruption was recorded is refused once too.
#[test]
fn requests_queued_behind_a_killed_deployment_are_refused_not_run_beside_its_target() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let (hang, began, pid, ran) = (
        tmp.path().join("hang"),
        tmp.path().join("began"),
        tmp.path().join("pid"),
        tmp.path().join("ran"),
    );
    std::fs::write(&hang, "").unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"dev\"\ncommand = [\"sh\", \"-c\", \"echo $$ > {pid}; echo ran >> {ran}; touch {began}; if [ -e {hang} ]; then exec sleep 120; fi; echo deployed\"]\n",
            pid = pid.display(),
            ran = ran.display(),
            began = began.display(),
            hang = hang.display(),
        ),
    )
    .unwrap();
    let digest = format!("sha256:{}", "e4".repeat(32));
    register(&d, &digest, "api", "9");
    person(&d, "dev", "Dev Example", &["developer"]);
    person(&d, "rita", "Rita Example", &["release-manager"]);
    let id = common::open_change(as_local(&d, "dev"), "deploy, killed, retried", &digest);
    let promote = || {
        let mut c = as_local(&d, "rita");
        c.args(["promote", "--change", &id, "--to", "dev", "--output", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    let mut killed = promote().spawn().unwrap();
    wait_for_file(&began);
    // A retry and a double submit, queued behind it (given time to arrive: a process each; 3 s
    // was too little once on a loaded machine, where a debug build starts slowly; the target
    // sleeps for 120 s).
    let queued: Vec<_> = (0..2).map(|_| promote().spawn().unwrap()).collect();
    std::thread::sleep(std::time::Duration::from_secs(10));
    killed.kill().unwrap();
    killed.wait().unwrap();
    for q in queued {
        let out = q.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert_eq!(json(&stdout)["error"]["code"], "deployment_interrupted", "{stdout}");
    }
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        "ran\n",
        "nothing ran beside the killed process's target"
    );
    let kinds = log_kinds(&d);
    assert_eq!(
        kinds.iter().filter(|k| *k == "deployment.interrupted").count(),
        1,
        "{kinds:?}"
    );
    std::fs::remove_file(&hang).unwrap();
    let out = promote().output().unwrap();
    assert!(
        out.status.success(),
        "then it runs: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn promotion_follows_the_chain_through_gates_and_records_every_deployment() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let log = tmp.path().join("targets.log");
    let l = log.to_str().unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!(
            r#"[controls.tiers.low]
evidence = []
approvals = 0
ticket = true

[[environments]]
name = "dev"
command = ["sh", "-c", "echo start $WARD_ENV >> {l}; sleep 0.5; echo end $WARD_ENV >> {l}; echo deployed $WARD_DIGESTS"]

[[environments]]
name = "staging"
after = "dev"
command = ["sh", "-c", "echo $WARD_CHANGE $WARD_DIGESTS >> {l}"]

[[environments]]
name = "prod"
after = "staging"
command = ["sh", "-c", "echo helm failed >&2; echo DB_PASSWORD=hunter2-correct-horse >&2; exit 3"]
"#
        ),
    )
    .unwrap();
    let digest = format!("sha256:{}", "d1".repeat(32));
    register(&d, &digest, "api", "9");
    let ci = token(&d, "ci", "developer");
    let deployer = token(&d, "deployer", "release-manager");
    let (_server, url) = serve(&d);
    let open = |path: &str| {
        json(&ok(run({
            let mut c = remote(&d, &url, &ci);
            c.args([
                "change",
                "open",
                "--title",
                "t",
                "--ticket",
                "https://tickets.example.org/T-1",
                "--artifact",
                &digest,
                "--path",
                path,
                "--env",
                "dev",
                "--env",
                "staging",
                "--env",
                "prod",
                "--output",
                "json",
            ]);
            c
        })))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let id = open("README.md");
    let promote = |tok: &str, change: &str, env: &str| {
        let mut c = remote(&d, &url, tok);
        c.args(["promote", "--change", change, "--to", env]);
        c
    };
    // Skipping an environment is refused; developers do not promote.
    let e = refused(promote(&deployer, &id, "staging"));
    assert_eq!(e["code"], "not_in_previous_environment", "{e}");
    assert!(e["hint"].as_str().unwrap().contains("--to dev"), "{e}");
    assert_eq!(refused(promote(&ci, &id, "dev"))["code"], "forbidden");
    // dev: two promotions at once (of two changes shipping the same build) run one after the
    // other. (The same request twice is refused as having run while it waited: rule 25.)
    let twin = open("README.md");
    let first = promote(&deployer, &id, "dev")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let second = promote(&deployer, &twin, "dev")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        vec!["start dev", "end dev", "start dev", "end dev"],
        "promotions into dev overlapped"
    );
    // staging, then prod whose target fails: both recorded.
    ok(run(promote(&deployer, &id, "staging")));
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains(&format!("{id} {digest}"))
    );
    let failed = run(promote(&deployer, &id, "prod"));
    assert_eq!(failed.status.code(), Some(1));
    // Its hint is a command that prints what the target printed (and a token's read of it is
    // not an access record; a person's is).
    let stderr = String::from_utf8_lossy(&failed.stderr).to_string();
    let hint = stderr
        .lines()
        .find_map(|l| l.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    let cmd = &hint[hint.find("ward ").unwrap_or_else(|| panic!("{hint}"))..];
    assert!(cmd.starts_with(&format!("ward --server {url} ")), "{cmd}");
    let printed = ok(run({
        let mut c = remote(&d, &url, &deployer);
        c.args(cmd.split_whitespace().skip(3));
        c
    }));
    // Shown through the guard: what the script echoed of a secret is redacted.
    assert!(printed.starts_with("helm failed\n"), "{printed}");
    assert!(
        printed.contains("[REDACTED:") && !printed.contains("hunter2"),
        "{printed}"
    );
    // Developers do not read target output (it holds what scripts echo); every read is recorded.
    let e = refused({
        let mut c = remote(&d, &url, &ci);
        c.args(cmd.split_whitespace().skip(3));
        c
    });
    assert_eq!(e["code"], "forbidden", "{e}");
    let seq: u64 = cmd.split_whitespace().nth(5).unwrap().parse().unwrap();
    let shown = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["deployments", "show", &seq.to_string(), "--output", "json"]);
        c
    })));
    assert_eq!(
        (shown["seq"].as_u64(), shown["status"].as_str()),
        (Some(seq), Some("failed"))
    );
    let missing = run({
        let mut c = remote(&d, &url, &ci);
        c.args(["deployments", "show", "999999"]);
        c
    });
    assert_eq!(missing.status.code(), Some(1));
    // Past the log's end the number typed is not repeated (it may be a record number).
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("no deployment at an entry past the log's end") && !stderr.contains("999999"),
        "{stderr}"
    );
    let prod = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["deployments", "--env", "prod", "--output", "json"]);
        c
    })));
    let rec = &prod["deployments"][0];
    assert_eq!(
        (rec["status"].as_str(), rec["targets"][0]["exit_code"].as_i64()),
        (Some("failed"), Some(3))
    );
    assert_eq!(rec["executed_by"], acts_as(&deployer).as_str());
    assert_eq!(rec["digests"], serde_json::json!([digest]));
    assert!(rec["gate_decision"].as_u64().is_some());
    let staging = ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["deployments", "--env", "staging"]);
        c
    }));
    assert!(staging.contains("succeeded") && staging.contains(&id), "{staging}");
    // A new release to dev records its rollback plan; rolling back re-deploys the previous
    // known-good digest through the same target and links the record it reverts.
    let digest2 = format!("sha256:{}", "d2".repeat(32));
    register(&d, &digest2, "api", "10");
    let id2 = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args([
            "change",
            "open",
            "--title",
            "v10",
            "--ticket",
            "https://tickets.example.org/T-2",
            "--artifact",
            &digest2,
            "--path",
            "README.md",
            "--env",
            "dev",
            "--output",
            "json",
        ]);
        c
    })))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v10 = json(&ok(run({
        let mut c = promote(&deployer, &id2, "dev");
        c.args(["--output", "json"]);
        c
    })));
    let dev_before = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["deployments", "--env", "dev", "--output", "json"]);
        c
    })));
    let last_v9 = dev_before["deployments"][1]["seq"].as_u64().unwrap();
    assert_eq!(v10["targets"][0]["rollback_to"]["deployment"].as_u64(), Some(last_v9));
    let back = json(&ok(run({
        let mut c = remote(&d, &url, &deployer);
        c.args(["rollback", "--env", "dev", "--output", "json"]);
        c
    })));
    assert_eq!(back["digests"], serde_json::json!([digest]));
    // Back to the last v9 deployment: of `id` or `twin`, whichever of the two ran second.
    assert_eq!(back["change"], dev_before["deployments"][1]["change"], "{back}");
    assert!([id.as_str(), twin.as_str()].contains(&back["change"].as_str().unwrap_or_default()));
    assert_eq!(back["rollback_of"], v10["seq"]);
    assert_eq!(back["status"], "succeeded");
    // Drift: dev now runs v9 (rolled back). A hand-made change on the target shows up.
    let observe = |digests: &str| {
        let f = tmp.path().join("running.txt");
        std::fs::write(&f, digests).unwrap();
        let mut c = remote(&d, &url, &ci);
        c.args([
            "env",
            "observe",
            "--env",
            "dev",
            "--source",
            "kubectl prod-eu",
            "--output",
            "json",
        ])
        .arg("--from")
        .arg(&f);
        run(c)
    };
    let clean = observe(&format!("{digest}\n"));
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let hand_made = format!("sha256:{}", "ee".repeat(32));
    let out = observe(&format!("# running\n{digest}\n{hand_made}\n{digest2}\n"));
    assert_eq!(out.status.code(), Some(6));
    let drift = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(drift["shadow"], serde_json::json!([hand_made]));
    assert_eq!(drift["stale"], serde_json::json!([digest2]));
    let gone = observe("");
    assert_eq!(
        json(&String::from_utf8_lossy(&gone.stdout))["missing"],
        serde_json::json!([digest])
    );
    // Release notes a release manager can read: Markdown, and the same data as JSON.
    let notes = ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["release", "notes", "--env", "staging"]);
        c
    }));
    assert!(
        notes.starts_with("# Release notes: staging") && notes.contains(&id) && notes.contains("Risk tier: low"),
        "{notes}"
    );
    let later = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args([
            "release",
            "notes",
            "--env",
            "dev",
            "--since",
            "2999-01-01T00:00:00Z",
            "--output",
            "json",
        ]);
        c
    })));
    assert_eq!(later["releases"].as_array().map(Vec::len), Some(0));
    // A change whose gate blocks is not promoted at all.
    let risky = open("db/migrations/7.sql");
    let e = refused(promote(&deployer, &risky, "dev"));
    assert_eq!(e["code"], "gate_blocked", "{e}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains(&format!("ward --server {url} gate explain")),
        "{e}"
    );
}

/// A configuration reaches an environment inside a change that names it, signed as the change
/// is (rule 4; a helper's attack on the fourteenth session's head: a release manager published
/// a bundle for prod after a change was approved and promoted the change again — prod received
/// a database host nobody else had seen, and the record listed the approval as its authority).
#[test]
fn a_configuration_published_after_the_approval_reaches_no_environment_unsigned() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = out.to_str().unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!(
            r#"[controls.tiers.low]
evidence = []
approvals = 1
ticket = true

[[environments]]
name = "staging"
command = ["true"]

[[environments]]
name = "prod"
after = "staging"
command = ["sh", "-c", "cat ${{WARD_CONFIG:-/dev/null}} > {o}/prod.json"]
"#
        ),
    )
    .unwrap();
    person(&d, "dana", "Dana Developer", &["developer"]);
    person(&d, "quinn", "Quinn Approver", &["approver"]);
    person(&d, "rhea", "Rhea Release", &["release-manager"]);
    let ship = |change: &str, to: &str| {
        let mut c = as_local(&d, "rhea");
        c.args(["promote", "--change", change, "--to", to]);
        c
    };
    let approve = |change: &str| {
        let mut c = as_local(&d, "quinn");
        c.args(["approve", "--change", change, "--meaning", "approved"]);
        ok(run(c));
    };
    let v1 = format!("sha256:{}", "c1".repeat(32));
    register(&d, &v1, "portal", "1.0.0");
    let c1 = open_change(as_local(&d, "dana"), "Feature one", &v1);
    approve(&c1);
    ok(run(ship(&c1, "staging")));
    ok(run(ship(&c1, "prod")));
    assert_eq!(std::fs::read_to_string(out.join("prod.json")).unwrap(), "");
    // The release manager alone publishes a bundle for prod and promotes the approved change
    // again: refused before any gate decision, naming the bundle; prod receives nothing.
    let bundle = tmp.path().join("c2.json");
    std::fs::write(&bundle, r#"{"db": {"host": "attacker.example.net"}}"#).unwrap();
    let published = json(&ok(run({
        let mut c = as_local(&d, "rhea");
        c.args([
            "config",
            "set",
            "--env",
            "prod",
            bundle.to_str().unwrap(),
            "--output",
            "json",
        ]);
        c
    })));
    let config = published["digest"].as_str().unwrap().to_string();
    let e = refused(ship(&c1, "prod"));
    assert_eq!(e["code"], "config_not_in_change", "{e}");
    assert!(e["message"].as_str().unwrap().contains(&config), "{e}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains(&format!("--config-version {config}")),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(out.join("prod.json")).unwrap(), "");
    // The fix as the hint says: a change naming the bundle, approved by someone else, through
    // staging, delivers it.
    let v2 = format!("sha256:{}", "c2".repeat(32));
    register(&d, &v2, "portal", "1.1.0");
    let c2 = common::open_change_naming(as_local(&d, "dana"), "New database host", &v2, &[&config]);
    let e = refused(ship(&c2, "prod"));
    assert_ne!(e["code"], "config_not_in_change", "{e}");
    approve(&c2);
    ok(run(ship(&c2, "staging")));
    ok(run(ship(&c2, "prod")));
    assert!(
        std::fs::read_to_string(out.join("prod.json"))
            .unwrap()
            .contains("attacker.example.net")
    );
    // Once delivered, the configuration rides along with any change.
    let v3 = format!("sha256:{}", "c3".repeat(32));
    register(&d, &v3, "portal", "1.2.0");
    let c3 = open_change(as_local(&d, "dana"), "Feature three", &v3);
    approve(&c3);
    ok(run(ship(&c3, "staging")));
    ok(run(ship(&c3, "prod")));
    // A digest is its content only: the bundle c2 names for prod, republished afterwards as
    // staging's own, is not named there (a helper's attack on the fifteenth session's head:
    // clinic-a's override became every tenant's, staging's database host reached prod).
    ok(run({
        let mut c = as_local(&d, "rhea");
        c.args(["config", "set", "--env", "staging", bundle.to_str().unwrap()]);
        c
    }));
    let e = refused(ship(&c2, "staging"));
    assert_eq!(e["code"], "config_not_in_change", "{e}");
}

/// Rings, per-tenant configuration bundles, secret refusal, per-tenant rollback, runtime drift
/// and promotions serialised across processes.
#[test]
fn rings_tenant_configs_runtime_drift_and_cross_process_locks() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = out.to_str().unwrap();
    let running = tmp.path().join("running.json");
    std::fs::write(&running, "[]").unwrap();
    let r = running.to_str().unwrap();
    std::fs::write(
        d.join("ward.toml"),
        format!(
            r#"[controls.tiers.low]
evidence = []
approvals = 0
ticket = true

[[environments]]
name = "staging"
command = ["sh", "-c", "echo start >> {o}/staging.log; sleep 0.4; echo end >> {o}/staging.log"]

[[environments]]
name = "prod"
after = "staging"
command = ["sh", "-c", "cp $WARD_CONFIG {o}/$WARD_TENANT.json; echo $WARD_RING/$WARD_TENANT $WARD_DIGESTS >> {o}/prod.log"]
observe_command = ["cat", "{r}"]
policy_dir = "prod-policies"
rings = [
  {{ name = "internal", tenants = ["internal"] }},
  {{ name = "pilot", tenants = ["clinic-a", "clinic-b"] }},
]
"#
        ),
    )
    .unwrap();
    // prod's own policy set: a rule that only its gate evaluates.
    std::fs::create_dir(d.join("prod-policies")).unwrap();
    std::fs::write(
        d.join("prod-policies/team.rego"),
        // Rules match structure (here a3's rebuilt artifact); titles reach the gate as references.
        format!(
            "package ward.gate\nimport rego.v1\ndeny contains r if {{\n  input.change.artifacts[_] == \"sha256:{}\"\n  r := {{\"rule\": \"team.not_in_prod\", \"message\": \"a3 stays out of prod\", \"fix\": \"ship a4\"}}\n}}\n",
            "a4".repeat(32)
        ),
    )
    .unwrap();
    let ci = token(&d, "ci", "developer");
    let rm = token(&d, "rm", "release-manager");
    // Local promotions act as a named release manager who re-authenticates.
    person(&d, "rita", "Rita Release", &["release-manager"]);
    let (_server, url) = serve(&d);
    let cli = |tok: &str, args: &[&str]| {
        let mut c = remote(&d, &url, tok);
        c.args(args);
        c
    };
    // A change names the configuration bundles it delivers (rule 4).
    let release = |n: &str, configs: &[&str]| {
        let digest = format!("sha256:{}", n.repeat(32));
        register(&d, &digest, "portal", n);
        let id = common::open_change_naming(cli(&ci, &[]), n, &digest, configs);
        (digest, id)
    };
    // Configuration: the environment's bundle references its secret; tenants add their own.
    let bundle = |name: &str, text: &str| {
        let f = tmp.path().join(name);
        std::fs::write(&f, text).unwrap();
        f.to_str().unwrap().to_string()
    };
    let base = bundle(
        "prod.toml",
        "[db]\nurl = \"postgres://db.prod.internal/portal\"\npassword = \"env://DB_PASSWORD\"\n",
    );
    let a = bundle("a.json", r#"{"features": {"oncology": true}, "db": {"pool": 9}}"#);
    let b = bundle("b.json", r#"{"site": "clinic-b-only-site"}"#);
    let leaked = bundle("bad.toml", "[db]\npassword = \"hunter2\"\n");
    let published = json(&ok(run(cli(
        &rm,
        &["config", "set", "--env", "prod", &base, "--output", "json"],
    ))));
    assert_eq!(published["references"], serde_json::json!(["db.password"]));
    let a_bundle = json(&ok(run(cli(
        &rm,
        &[
            "config", "set", "--env", "prod", "--tenant", "clinic-a", &a, "--output", "json",
        ],
    ))))["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let b_bundle = json(&ok(run(cli(
        &rm,
        &[
            "config", "set", "--env", "prod", "--tenant", "clinic-b", &b, "--output", "json",
        ],
    ))))["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let base_bundle = published["digest"].as_str().unwrap().to_string();
    // A secret value is refused whole, naming the key and never the value; nothing is written.
    let e = refused(cli(&rm, &["config", "set", "--env", "prod", &leaked]));
    assert_eq!(e["code"], "secret_value", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("db.password") && !e.to_string().contains("hunter2"),
        "{e}"
    );
    let shown = json(&ok(run(cli(
        &ci,
        &["config", "show", "--env", "prod", "--output", "json"],
    ))));
    assert_eq!(shown["history"].as_array().map(Vec::len), Some(1));
    assert_eq!(shown["digest"], published["digest"]);
    assert_eq!(
        refused(cli(&rm, &["config", "set", "--env", "prod", "--tenant", "nobody", &b]))["code"],
        "invalid_request"
    );
    let (v1, c1) = release("a1", &[&base_bundle, &a_bundle, &b_bundle]);
    // Not yet in staging: the gate refuses, and says where to go first.
    let e = refused(cli(
        &rm,
        &["promote", "--change", &c1, "--to", "prod", "--ring", "internal"],
    ));
    assert_eq!(e["code"], "not_in_previous_environment", "{e}");
    assert!(e["hint"].as_str().unwrap().contains("--to staging"), "{e}");
    // Two local processes promoting into staging at once run one after the other (store lock).
    let local = || {
        let mut c = as_local(&d, "rita");
        c.args(["promote", "--change", &c1, "--to", "staging"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    // The same request twice: the one served second is refused as having run while it waited
    // (rule 25) if it arrived before the first was recorded; never do the two overlap.
    let (p1, p2) = (local(), local());
    let mut ran = 0;
    for p in [p1, p2] {
        let r = p.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&r.stderr);
        match r.status.success() {
            true => ran += 1,
            false => assert!(stderr.contains("ran while this one waited"), "{stderr}"),
        }
    }
    assert!(ran >= 1);
    assert_eq!(
        std::fs::read_to_string(out.join("staging.log")).unwrap(),
        "start\nend\n".repeat(ran),
        "promotions from two processes overlapped"
    );
    // Rings go in order.
    let e = refused(cli(
        &rm,
        &["promote", "--change", &c1, "--to", "prod", "--ring", "pilot"],
    ));
    assert_eq!(e["code"], "ring_order", "{e}");
    assert!(e["hint"].as_str().unwrap().contains("--ring internal"), "{e}");
    ok(run(cli(
        &rm,
        &["promote", "--change", &c1, "--to", "prod", "--ring", "internal"],
    )));
    let pilot = json(&ok(run(cli(
        &rm,
        &[
            "promote", "--change", &c1, "--to", "prod", "--ring", "pilot", "--output", "json",
        ],
    ))));
    assert_eq!(pilot["tenants"], serde_json::json!(["clinic-a", "clinic-b"]));
    assert_eq!(pilot["ring"], "pilot");
    assert_eq!(
        std::fs::read_to_string(out.join("prod.log")).unwrap(),
        format!("internal/internal {v1}\npilot/clinic-a {v1}\npilot/clinic-b {v1}\n")
    );
    // Each tenant got the environment's bundle with its own over it — never another tenant's.
    let cfg_a = std::fs::read_to_string(out.join("clinic-a.json")).unwrap();
    let cfg_b = std::fs::read_to_string(out.join("clinic-b.json")).unwrap();
    assert!(
        cfg_a.contains("oncology") && cfg_a.contains("env://DB_PASSWORD") && !cfg_a.contains("clinic-b-only-site"),
        "{cfg_a}"
    );
    assert!(
        cfg_b.contains("clinic-b-only-site") && !cfg_b.contains("oncology"),
        "{cfg_b}"
    );
    let a_digest = pilot["targets"][0]["config_digest"].as_str().unwrap().to_string();
    assert_eq!(a_digest, ward_evidence::digest::of_bytes(cfg_a.as_bytes()));
    let eff = json(&ok(run(cli(
        &ci,
        &[
            "config",
            "show",
            "--env",
            "prod",
            "--tenant",
            "clinic-a",
            "--effective",
            "--output",
            "json",
        ],
    ))));
    assert_eq!(eff["digest"].as_str(), Some(a_digest.as_str()));
    // A new release with a new clinic-a configuration, then clinic-a alone rolls back to the
    // previous digest and the previous configuration; the record links what it reverts.
    // clinic-a's new bundle is published before the change naming it is opened (rule 4).
    ok(run(cli(
        &rm,
        &["config", "set", "--env", "prod", "--tenant", "clinic-a", &b],
    )));
    let (v2, c2) = release("a2", &[&b_bundle]);
    ok(run(cli(&rm, &["promote", "--change", &c2, "--to", "staging"])));
    ok(run(cli(
        &rm,
        &["promote", "--change", &c2, "--to", "prod", "--ring", "internal"],
    )));
    let v2_pilot = json(&ok(run(cli(
        &rm,
        &[
            "promote",
            "--change",
            &c2,
            "--to",
            "prod",
            "--tenants",
            "clinic-a",
            "--output",
            "json",
        ],
    ))));
    let plan = &v2_pilot["targets"][0]["rollback_to"];
    assert_eq!(
        (plan["change"].as_str(), plan["config_digest"].as_str()),
        (Some(c1.as_str()), Some(a_digest.as_str()))
    );
    let back = json(&ok(run(cli(
        &rm,
        &["rollback", "--env", "prod", "--tenant", "clinic-a", "--output", "json"],
    ))));
    assert_eq!(back["digests"], serde_json::json!([v1]));
    assert_eq!(back["rollback_of"], v2_pilot["seq"]);
    assert_eq!(back["targets"][0]["config_digest"].as_str(), Some(a_digest.as_str()));
    assert_eq!(std::fs::read_to_string(out.join("clinic-a.json")).unwrap(), cfg_a);
    // Drift from the runtime: clinic-b runs a hand-made build; internal runs v2 as deployed.
    let hand = format!("sha256:{}", "ee".repeat(32));
    std::fs::write(
        &running,
        serde_json::json!([
            {"tenant": "internal", "digests": [v2]},
            {"tenant": "clinic-a", "digests": [v1], "config_digest": a_digest},
            {"tenant": "clinic-b", "digests": [hand]},
        ])
        .to_string(),
    )
    .unwrap();
    let obs = run(cli(
        &ci,
        &["env", "observe", "--env", "prod", "--from-runtime", "--output", "json"],
    ));
    assert_eq!(obs.status.code(), Some(6), "{}", String::from_utf8_lossy(&obs.stderr));
    let v = json(&String::from_utf8_lossy(&obs.stdout));
    let list = v["observations"].as_array().unwrap();
    assert_eq!(
        list.iter().map(|x| x["drifted"].as_bool().unwrap()).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(list[1]["config"], "matches");
    assert_eq!(list[2]["shadow"], serde_json::json!([hand]));
    assert_eq!(list[2]["missing"], serde_json::json!([v1]));
    // A configuration changed by hand shows up too.
    let other_cfg = format!("sha256:{}", "0c".repeat(32));
    std::fs::write(
        &running,
        serde_json::json!([{"tenant": "clinic-a", "digests": [v1], "config_digest": other_cfg}]).to_string(),
    )
    .unwrap();
    let obs = run(cli(&ci, &["env", "observe", "--env", "prod", "--from-runtime"]));
    assert_eq!(obs.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&obs.stdout).contains("never deployed here through Ward"));
    // prod is observed from its runtime: a hand report cannot paint clinic-a in sync again.
    let f = tmp.path().join("one.txt");
    std::fs::write(&f, format!("{v1}\n")).unwrap();
    let painted = run(cli(
        &ci,
        &[
            "env",
            "observe",
            "--env",
            "prod",
            "--tenant",
            "clinic-a",
            "--config-digest",
            &a_digest,
            "--from",
            f.to_str().unwrap(),
        ],
    ));
    assert_ne!(painted.status.code(), Some(0));
    let err = String::from_utf8_lossy(&painted.stderr);
    assert!(
        err.contains("prod is observed by Ward from its runtime")
            && err.contains("env observe --env prod --from-runtime"),
        "{err}"
    );
    // Release notes name rings, tenants and configuration digests.
    let notes = ok(run(cli(&ci, &["release", "notes", "--env", "prod"])));
    assert!(
        notes.contains("- Ring: pilot")
            && notes.contains("clinic-a: sha256:")
            && notes.contains("Reverts deployment entry"),
        "{notes}"
    );
    // Build once: changing the digest of a change that passed staging does not carry the pass.
    let (_v3, c3) = release("a3", &[]);
    ok(run(cli(&rm, &["promote", "--change", &c3, "--to", "staging"])));
    let rebuilt = format!("sha256:{}", "a4".repeat(32));
    register(&d, &rebuilt, "portal", "a4");
    ok(run(cli(&ci, &["change", "update", &c3, "--artifact", &rebuilt])));
    let e = refused(cli(
        &rm,
        &["promote", "--change", &c3, "--to", "prod", "--ring", "internal"],
    ));
    assert_eq!(e["code"], "not_in_previous_environment", "{e}");
    assert!(e["message"].as_str().unwrap().contains(&rebuilt), "{e}");
    // prod's own policy set applies to prod only (staging let a3 through above).
    ok(run(cli(&rm, &["promote", "--change", &c3, "--to", "staging"])));
    let e = refused(cli(
        &rm,
        &["promote", "--change", &c3, "--to", "prod", "--ring", "internal"],
    ));
    assert_eq!(e["code"], "gate_blocked", "{e}");
    assert!(e["message"].as_str().unwrap().contains("team.not_in_prod"), "{e}");
}

/// Runs a printed `fix` as a command line through `ward` (`base` carries the server and token):
/// its `ward …` words, `URL` standing for a ticket's URL.
fn run_fix(mut base: Command, fix: &str) -> String {
    let cmd = &fix[fix
        .find("ward ")
        .unwrap_or_else(|| panic!("{fix:?} names no ward command"))..];
    let words: Vec<String> = cmd
        .split_whitespace()
        .skip(1)
        .map(|w| {
            if w == "URL" {
                "https://tickets.example.org/T-9".into()
            } else {
                w.to_string()
            }
        })
        .collect();
    // Printed through a server, the fix names it; `base` names the same one.
    let words = match words.first().map(String::as_str) {
        Some("--server") => words[2..].to_vec(),
        _ => words,
    };
    base.args(&words);
    ok(run(base))
}

#[test]
fn the_ticket_and_environment_fixes_work_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let d = initialised(tmp.path());
    std::fs::write(
        d.join("ward.toml"),
        "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n",
    )
    .unwrap();
    let ci = token(&d, "ci", "developer");
    let (_server, url) = serve(&d);
    let id = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args([
            "change",
            "open",
            "--title",
            "Docs",
            "--path",
            "docs/a.md",
            "--env",
            "dev",
            "--output",
            "json",
        ]);
        c
    })))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gate = || {
        let out = run({
            let mut c = remote(&d, &url, &ci);
            c.args(["gate", "check", "--change", &id, "--env", "prod", "--output", "json"]);
            c
        });
        (out.status.code(), json(&String::from_utf8_lossy(&out.stdout)))
    };
    let (code, v) = gate();
    assert_eq!(code, Some(4), "{v:#}");
    let mut rules: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    rules.sort();
    assert_eq!(rules, ["change.ticket_missing", "environment.not_targeted"], "{v:#}");
    // Every fix the CLI prints, pasted as printed, is a command that works and removes its
    // reason (the decision itself holds the fix in words and the action the CLI prints).
    let printed = String::from_utf8(
        run({
            let mut c = remote(&d, &url, &ci);
            c.args(["gate", "check", "--change", &id, "--env", "prod"]);
            c
        })
        .stdout,
    )
    .unwrap();
    let fixes: Vec<&str> = printed.lines().filter_map(|l| l.trim().strip_prefix("fix: ")).collect();
    assert_eq!(fixes.len(), 2, "{printed}");
    for fix in fixes {
        assert!(fix.contains(&format!("ward --server {url} ")), "{fix}");
        run_fix(remote(&d, &url, &ci), fix);
    }
    let shown = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["change", "show", &id, "--output", "json"]);
        c
    })));
    assert_eq!(shown["environments"], serde_json::json!(["dev", "prod"]), "{shown:#}");
    assert_eq!(shown["ticket_url"], "https://tickets.example.org/T-9");
    let (code, v) = gate();
    assert_eq!(code, Some(0), "{v:#}");
    // An allow explains itself: what met each control, and the input it was decided on.
    let dec = v["id"].to_string();
    let explained = ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "explain", &dec]);
        c
    }));
    assert!(
        explained.contains("✓ change.ticket") && explained.contains("by ticket https://tickets.example.org/T-9"),
        "{explained}"
    );
    assert!(
        explained.contains("✓ environment.targeted") && explained.contains("the change targets dev, prod"),
        "{explained}"
    );
    let input = json(&ok(run({
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "input", &dec]);
        c
    })));
    assert_eq!(
        input["change"]["ticket_url"], "https://tickets.example.org/T-9",
        "{input:#}"
    );
    assert_eq!(input["environment"], "prod");
    let refused = run({
        let mut c = remote(&d, &url, &ci);
        c.args(["gate", "input", "999999"]);
        c
    });
    assert_eq!(refused.status.code(), Some(1));
}
