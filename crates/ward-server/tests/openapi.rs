//! The OpenAPI document the server serves at `/api/v1/openapi.json` is valid OpenAPI 3.1: every
//! response is described, every error response refers to the one error schema, and the standard
//! validator (the PyPI package `openapi-spec-validator`) accepts it.
//!
//! The validator lives in a virtual environment under the target directory
//! (`target/openapi-venv`, which `.ci/run` prepares); the test creates it when it is missing.
//! `WARD_OPENAPI_VALIDATOR` names another `openapi-spec-validator` executable. When the
//! validator cannot be installed the test fails under `CI=true` and is skipped, with a visible
//! message, otherwise.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use ward_ledger::Ed25519Signer;
use ward_server::routes::ERROR_SCHEMA;
use ward_server::{AppState, serve};
use ward_store::Ledger;
use ward_store::testing::TestDb;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The document exactly as a client gets it: `GET /api/v1/openapi.json` on a running server.
async fn served_document() -> Value {
    let db = TestDb::sqlite();
    let store = ward_store::open(&db.url).await.expect("store");
    let ledger = Ledger::new(store, ward_app::projectors());
    let signer = Arc::new(Ed25519Signer::from_seed("test.ward/log", [3u8; 32]));
    let state = AppState::new(ledger, signer, "test.ward/log".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/api/v1/openapi.json", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    let resp = reqwest::get(&url).await.expect("GET openapi.json");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let doc: Value = resp.json().await.expect("JSON");
    let _ = tx.send(());
    let _ = server.await;
    drop(db);
    doc
}

#[tokio::test]
async fn every_response_is_described_and_every_error_uses_the_error_schema() {
    let doc = served_document().await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "not OpenAPI 3.1: {}",
        doc["openapi"]
    );
    let error_ref = format!("#/components/schemas/{ERROR_SCHEMA}");
    assert!(
        doc["components"]["schemas"][ERROR_SCHEMA].is_object(),
        "components/schemas/{ERROR_SCHEMA} is missing"
    );
    let mut problems = Vec::new();
    let mut responses_seen = 0;
    let mut errors_seen = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let responses = op["responses"].as_object().expect("responses");
            if responses.is_empty() {
                problems.push(format!("{method} {path}: no responses"));
            }
            for (status, response) in responses {
                responses_seen += 1;
                let at = format!("{} {path} {status}", method.to_uppercase());
                if response["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
                    problems.push(format!("{at}: no description"));
                }
                if status.starts_with('4') || status.starts_with('5') {
                    errors_seen += 1;
                    let content = response["content"].as_object();
                    let refs: Vec<&str> = content
                        .into_iter()
                        .flatten()
                        .map(|(_, c)| c["schema"]["$ref"].as_str().unwrap_or("(inline)"))
                        .collect();
                    if refs.is_empty() || refs.iter().any(|r| *r != error_ref) {
                        problems.push(format!("{at}: error body is {refs:?}, not {error_ref}"));
                    }
                    if !content.is_some_and(|c| c.contains_key("application/json")) {
                        problems.push(format!("{at}: error response is not application/json"));
                    }
                }
            }
            // A route behind the auth middleware documents what the middleware answers.
            if op
                .get("security")
                .is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()))
            {
                for status in ["401", "403"] {
                    if !responses.contains_key(status) {
                        problems.push(format!("{} {path}: secured but no {status}", method.to_uppercase()));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(responses_seen > 100, "only {responses_seen} responses");
    assert!(errors_seen > 50, "only {errors_seen} error responses");
}

/// The target directory (`CARGO_TARGET_TMPDIR` is `<target>/tmp`).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// Why the validator could not be had, or its path.
fn validator() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("WARD_OPENAPI_VALIDATOR") {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(format!("WARD_OPENAPI_VALIDATOR={} does not exist", p.display()))
        };
    }
    let venv = target_dir().join("openapi-venv");
    let bin = venv.join("bin").join("openapi-spec-validator");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!(
        "installing openapi-spec-validator into {} (python3 -m venv, pip)",
        venv.display()
    );
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{cmd:?} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", "openapi-spec-validator"]))?;
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} missing after the install", bin.display()))
    }
}

#[tokio::test]
async fn served_document_passes_openapi_spec_validator() {
    let doc = served_document().await;
    let bin = match validator() {
        Ok(bin) => bin,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and openapi-spec-validator is not available: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED: openapi-spec-validator is not available ({why}); the document was not validated");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    let out = Command::new(&bin)
        .args(["--schema", "3.1", "--validation-errors", "all"])
        .arg(&file)
        .output()
        .expect("run openapi-spec-validator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "openapi-spec-validator rejected the served document ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
