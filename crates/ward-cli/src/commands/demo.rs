//! `ward demo`: the release story on the embedded default, end to end, in a temporary data dir.
//!
//! It shows the evidence path with real tool output (pytest, semgrep, cyclonedx-py, Trivy, a
//! signed SLSA provenance verified against the builder's trusted key, forged provenance
//! refused), then the spine every later capability writes to: events of a release appended to
//! the log, signed checkpoints, an inclusion proof, an export, offline verification, and a
//! tampered byte being caught and named.

use crate::cli::{DemoArgs, Global, Output};
use crate::context::{DB_FILE, open_store, write_new_key};
use crate::failure::Failure;
use anyhow::Result;
use serde_json::{Value, json};
use std::path::Path;
use ward_ledger::export::{VerifyError, verify_export};
use ward_ledger::proof::verify_inclusion;
use ward_ledger::{Actor, ActorKind, NewEvent, NoteVerifier};
use ward_store::Ledger;

const ORIGIN: &str = "demo.ward.local/log";

fn ev(actor: &str, kind: ActorKind, event: &str, subject: &str, payload: Value) -> NewEvent {
    NewEvent {
        actor: Actor { id: actor.into(), kind },
        kind: event.into(),
        subject: subject.into(),
        payload,
    }
}

/// Real tool output the demo attaches (the evidence crate's fixtures, made by the tools).
pub(crate) const FIXTURES: &[(&str, &[u8])] = &[
    (
        "pytest.xml",
        include_bytes!("../../../ward-evidence/tests/fixtures/pytest.xml"),
    ),
    (
        "semgrep.sarif",
        include_bytes!("../../../ward-evidence/tests/fixtures/semgrep.sarif"),
    ),
    (
        "cyclonedx-py-1.6.json",
        include_bytes!("../../../ward-evidence/tests/fixtures/cyclonedx-py-1.6.json"),
    ),
    (
        "trivy.json",
        include_bytes!("../../../ward-evidence/tests/fixtures/public/trivy.json"),
    ),
    (
        "provenance.ed25519.dsse.json",
        include_bytes!("../../../ward-evidence/tests/fixtures/statement-v1-slsa1.ed25519.dsse.json"),
    ),
];
/// The release artifact the provenance above names.
const APP_TAR: &[u8] = include_bytes!("../../../ward-evidence/tests/fixtures/intoto-app.tar");
/// The builder's public key (its private half signed the provenance).
const BUILDER_KEY: &str = include_str!("../../../ward-evidence/tests/fixtures/intoto-ed25519.pub");
/// The same provenance signed by a key nobody trusts.
const FORGED: &[u8] = include_bytes!("../../../ward-evidence/tests/fixtures/statement-v1-slsa1.wrongkey.dsse.json");

fn identity(id: &str, kind: ActorKind, role: ward_core::Role) -> ward_core::Identity {
    ward_core::Identity {
        id: id.into(),
        kind,
        roles: vec![role],
    }
}

/// CI registers the build and attaches real tool output; a security admin trusts the builder's
/// key first; forged provenance is refused. Returns the artifact digest and report lines.
async fn evidence_story(ledger: &Ledger) -> Result<(String, Vec<String>)> {
    use ward_server::evidence::{self, ArtifactRequest, AttestationRequest};
    let fail = |e: ward_server::ApiError| anyhow::anyhow!("{}", e.detail.message);
    let ci = identity(
        "ci:github/acme/scheduling/release.yml",
        ActorKind::Automation,
        ward_core::Role::Developer,
    );
    let admin = identity("user:sam.secadmin", ActorKind::Human, ward_core::Role::Admin);
    let mut lines = Vec::new();
    let key = ward_server::keys::trust(
        ledger,
        &admin,
        &ward_server::keys::TrustRequest {
            builder: "github-actions".into(),
            public_key_pem: BUILDER_KEY.into(),
        },
    )
    .await
    .map_err(fail)?
    .0;
    lines.push(format!(
        "trusted {} key {} for builder github-actions",
        key.algorithm, key.keyid
    ));
    let digest = ward_evidence::digest::of_bytes(APP_TAR);
    evidence::register(
        ledger,
        &ci,
        &ArtifactRequest {
            digest: digest.clone(),
            service: "scheduling-api".into(),
            version: "2.14.0".into(),
            commit: Some("4be1c0d".into()),
            branch: Some("main".into()),
            build_id: Some("8812".into()),
            build_url: None,
        },
    )
    .await
    .map_err(fail)?;
    lines.push(format!("registered scheduling-api 2.14.0 as {digest}"));
    let guard = ward_evidence::guard::GuardConfig::default();
    let request = |name: &str, bytes: &[u8]| AttestationRequest::from_bytes(&digest, "auto", name, bytes, false);
    for (name, bytes) in FIXTURES {
        let a = evidence::attest(ledger, &ci, &request(name, bytes), &guard)
            .await
            .map_err(fail)?
            .0;
        lines.push(format!(
            "{:<9} {:<28} {}",
            a.r#type,
            name,
            crate::commands::evidence::summary_line(&a.r#type, &a.summary)
        ));
    }
    match evidence::attest(ledger, &ci, &request("forged.dsse.json", FORGED), &guard).await {
        Err(e) => lines.push(format!("refused   forged.dsse.json             {}", e.detail.code)),
        Ok(_) => return Err(Failure::verify("forged provenance was accepted").into()),
    }
    Ok((digest, lines))
}

/// The rest of the sample release: what people and the runtime would record.
fn release_story(digest: &str) -> (Vec<NewEvent>, Vec<NewEvent>) {
    use ActorKind::{Automation as A, Human as H};
    let build = vec![
        ev(
            "user:dana.dev",
            H,
            "change.opened",
            "change:CHG-1042",
            json!({"title": "Clinic reminder window configurable", "ticket": "https://tickets.example/CLN-311", "artifacts": [digest], "attributes": {"phi": false, "clinical_workflow": true}}),
        ),
        ev(
            "ward:classifier",
            A,
            "change.classified",
            "change:CHG-1042",
            json!({"tier": "medium", "matched": ["clinical_workflow -> medium"]}),
        ),
        ev(
            "user:quinn.qa",
            H,
            "approval.signed",
            "change:CHG-1042",
            json!({"meaning": "qa-approved", "printed_name": "Quinn Alvarez"}),
        ),
        ev(
            "user:rhea.release",
            H,
            "approval.signed",
            "change:CHG-1042",
            json!({"meaning": "release-authority", "printed_name": "Rhea Okafor"}),
        ),
    ];
    let deploy = vec![
        ev(
            "ward:gate",
            A,
            "gate.evaluated",
            "change:CHG-1042",
            json!({"environment": "prod", "verdict": "allow", "policy_bundle": "sha256:1d4c…"}),
        ),
        ev(
            "ci:github/acme/scheduling/deploy.yml",
            A,
            "deployment.recorded",
            "env:prod",
            json!({"artifact": digest, "ring": "internal"}),
        ),
        ev(
            "ward:rollout",
            A,
            "rollout.step",
            "env:prod",
            json!({"canary_percent": 10, "error_rate": 0.001}),
        ),
        ev(
            "ward:rollout",
            A,
            "rollout.step",
            "env:prod",
            json!({"canary_percent": 100, "error_rate": 0.0009}),
        ),
    ];
    (build, deploy)
}

/// Runs the demo.
pub async fn run(g: &Global, args: &DemoArgs) -> Result<()> {
    let (dir, temporary) = match &args.keep {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("ward-demo-{}", std::process::id())),
            true,
        ),
    };
    let result = demo(g.output, &dir).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn demo(out: Output, dir: &Path) -> Result<()> {
    let say = |s: String| {
        if out == Output::Text {
            println!("{s}");
        }
    };
    say(format!("Ward demo — data directory {}", dir.display()));
    let signer = write_new_key(dir, ORIGIN)?;
    let verifier = signer.verifier();
    let store = open_store(&format!("sqlite://{}", dir.join(DB_FILE).display())).await?;
    store.set_meta("origin", ORIGIN).await?;
    let ledger = Ledger::new(store, ward_server::projectors());
    say(format!(
        "1. init: created log {ORIGIN} (SQLite, WAL) and its Ed25519 key\n   verifier key: {}",
        verifier.verifier_key()
    ));

    let (digest, lines) = evidence_story(&ledger).await?;
    say(format!(
        "2. evidence from real tools, parsed and recorded (forged provenance refused, nothing stored):\n{}",
        lines.iter().map(|l| format!("   {l}")).collect::<Vec<_>>().join("\n")
    ));
    let (build, deploy) = release_story(&digest);
    let n_build = build.len();
    for e in build {
        ledger.append(e).await?;
    }
    say(format!(
        "   then {n_build} change-control events: change opened and classified, 2 approvals"
    ));
    let cp1 = ledger.checkpoint(&signer, ORIGIN).await?;
    say(format!(
        "3. signed checkpoint at size {}:\n{}",
        cp1.size,
        indent(&cp1.note)
    ));

    let n_deploy = deploy.len();
    let receipts = ledger.append_batch(deploy).await?;
    let cp2 = ledger.checkpoint(&signer, ORIGIN).await?;
    say(format!(
        "4. appended {n_deploy} more (gate, deployment, rollout steps) in one transaction; checkpoint at size {}",
        cp2.size
    ));

    let index = receipts[1].seq;
    let proof = ledger.inclusion_proof(index, cp2.size).await?;
    let leaf = ledger
        .store()
        .entries(index, 1)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("entry {index} missing"))?;
    verify_inclusion(&leaf.leaf_hash, index, cp2.size, &proof, &cp2.root)
        .map_err(|e| Failure::verify(e.to_string()))?;
    let consistency = ledger.consistency_proof(cp1.size, cp2.size).await?;
    ward_ledger::proof::verify_consistency(cp1.size, cp2.size, &consistency, &cp1.root, &cp2.root)
        .map_err(|e| Failure::verify(e.to_string()))?;
    say(format!(
        "5. inclusion proof of the deployment record (entry {index}, {} hashes) and consistency proof {} -> {} ({} hashes) verify",
        proof.len(),
        cp1.size,
        cp2.size,
        consistency.len()
    ));

    let export_dir = dir.join("export");
    let manifest = ledger.export(&export_dir, &signer, ORIGIN, &|_, _| {}).await?;
    let report = verify_export(&export_dir, &verifier).map_err(|e| Failure::verify(e.to_string()))?;
    say(format!(
        "6. exported {} entries (C2SP tlog-tiles) and verified offline with only the verifier key: {} checkpoints, {} consistency proofs, root {}",
        manifest.size, report.checkpoints, report.consistency_proofs, report.root
    ));

    // Tamper with a copy: change one byte of the approval by Rhea (entry 7).
    let bundle = export_dir.join("tile/entries/000.p").join(manifest.size.to_string());
    let mut data = std::fs::read(&bundle)?;
    let needle = b"Rhea Okafor";
    let pos = data
        .windows(needle.len())
        .position(|w| w == needle)
        .ok_or_else(|| anyhow::anyhow!("approval not found in bundle"))?;
    data[pos] = b'X';
    std::fs::write(&bundle, data)?;
    let caught = match verify_export(&export_dir, &verifier) {
        Err(VerifyError::BadEntry { index, reason }) => {
            say(format!(
                "7. changed one byte of an exported approval: `ward verify` refuses it — entry {index}: {reason}"
            ));
            Some(index)
        }
        Err(e) => return Err(Failure::verify(format!("tampering detected but not localised: {e}")).into()),
        Ok(_) => return Err(Failure::verify("tampering was NOT detected").into()),
    };
    let fsck = ledger
        .fsck(Some(&verifier as &dyn NoteVerifier), ORIGIN, &|_, _| {})
        .await?;
    say(format!(
        "8. the store itself checks clean: {} entries, {} checkpoints (`ward log fsck`)",
        fsck.size, fsck.checkpoints
    ));
    say("Done. Try it on your own data: `ward init`, `ward log append`, `ward log export --out DIR`, `ward verify DIR --key …`".into());
    if out == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "origin": ORIGIN,
                "entries": manifest.size,
                "checkpoints": [cp1.size, cp2.size],
                "verified": report,
                "tamper_detected_at_entry": caught,
                "store_check_ok": fsck.ok(),
            }))?
        );
    }
    if !fsck.ok() {
        return Err(Failure::verify(format!("store check failed: {:?}", fsck.problems)).into());
    }
    Ok(())
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("   | {l}")).collect::<Vec<_>>().join("\n")
}
