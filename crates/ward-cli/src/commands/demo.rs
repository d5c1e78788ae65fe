//! `ward demo`: the governance story on the embedded default, end to end, in a temporary data dir.
//!
//! It shows the evidence path with real tool output (pytest, semgrep, cyclonedx-py, Trivy, a
//! signed SLSA provenance verified against the builder's trusted key, forged provenance
//! refused) for two builds of scheduling-api; then, on the real engine ([`super::demo_release`]),
//! a high-risk PHI change blocked by that evidence and its missing signatures, the opener's own
//! signature refused, the fixes signed and allowed, skipping staging refused; three releases of
//! the sample service through change control, staging and production on the local runtime — a
//! canary completing under load, a bad canary rolled back automatically, a rollback drill;
//! drift, a plain secret refused in a configuration, PHI refused in a report; then the log every
//! step wrote to: signed checkpoints, an inclusion proof of the rollback's record, an export
//! verified offline, and a tampered signature caught and named.

use crate::cli::{DemoArgs, Global, Output};
use crate::context::{DB_FILE, open_store, write_new_key};
use crate::failure::Failure;
use anyhow::Result;
use serde_json::json;
use std::path::Path;
use ward_ledger::export::{VerifyError, verify_export};
use ward_ledger::proof::verify_inclusion;
use ward_ledger::{ActorKind, NoteVerifier};
use ward_store::Ledger;

const ORIGIN: &str = "demo.ward.local/log";

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

/// CI registers two builds of scheduling-api and attaches real tool output: 2.14.0 with failing
/// tests, a critical SAST finding and a critical CVE; 2.14.1 (the fix) with signed SLSA
/// provenance, verified against the builder's key a security admin trusts first; forged
/// provenance is refused. Returns the digests of 2.14.0 and 2.14.1 and report lines.
async fn evidence_story(ledger: &Ledger) -> Result<(String, String, Vec<String>)> {
    use ward_app::evidence::{self, ArtifactRequest, AttestationRequest};
    let fail = |e: ward_app::AppError| anyhow::anyhow!("{}", e.message);
    let ci = identity(
        "ci:github/acme/scheduling/release.yml",
        ActorKind::Automation,
        ward_core::Role::Developer,
    );
    let admin = identity("user:sam.secadmin", ActorKind::Human, ward_core::Role::Admin);
    let mut lines = Vec::new();
    let key = ward_app::keys::trust(
        ledger,
        &admin,
        &ward_app::keys::TrustRequest {
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
    // 2.14.0: the broken build (its own bytes); 2.14.1: the artifact the provenance names.
    let broken = ward_evidence::digest::of_bytes(&[APP_TAR, b"2.14.0".as_slice()].concat());
    let fixed = ward_evidence::digest::of_bytes(APP_TAR);
    for (digest, version, commit) in [(&broken, "2.14.0", "4be1c0d"), (&fixed, "2.14.1", "9c01e7a")] {
        evidence::register(
            ledger,
            &ci,
            &ArtifactRequest {
                digest: digest.clone(),
                service: "scheduling-api".into(),
                version: version.into(),
                commit: Some(commit.into()),
                branch: Some("main".into()),
                build_id: None,
                build_url: None,
            },
        )
        .await
        .map_err(fail)?;
        lines.push(format!("registered scheduling-api {version} as {digest}"));
    }
    let guard = ward_evidence::guard::GuardConfig::default();
    for (name, bytes) in FIXTURES {
        let target = if name.starts_with("provenance") {
            &fixed
        } else {
            &broken
        };
        let req = AttestationRequest::from_bytes(target, "auto", name, bytes, false);
        let a = evidence::attest(ledger, &ci, &req, &guard).await.map_err(fail)?.0;
        lines.push(format!(
            "{:<9} {:<28} {} ({})",
            a.r#type,
            name,
            crate::commands::evidence::summary_line(&a.r#type, &a.summary),
            if target == &fixed { "2.14.1" } else { "2.14.0" }
        ));
    }
    let forged = AttestationRequest::from_bytes(&fixed, "auto", "forged.dsse.json", FORGED, false);
    match evidence::attest(ledger, &ci, &forged, &guard).await {
        Err(e) => lines.push(format!("refused   forged.dsse.json             {}", e.code)),
        Ok(_) => return Err(Failure::verify("forged provenance was accepted").into()),
    }
    Ok((broken, fixed, lines))
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
    if temporary {
        crate::output::remove_at_exit(&dir);
    }
    let result = demo(g.output, &dir, args.keep.is_some()).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
        crate::output::keep_at_exit(&dir);
    }
    result
}

async fn demo(out: Output, dir: &Path, kept: bool) -> Result<()> {
    let say = |s: String| {
        if out == Output::Text {
            crate::output::write_line(&s);
        }
    };
    say(format!("Ward demo — data directory {}", dir.display()));
    let signer = write_new_key(dir, ORIGIN)?;
    let verifier = signer.verifier();
    let store = open_store(&format!("sqlite://{}", dir.join(DB_FILE).display())).await?;
    store.set_meta("origin", ORIGIN).await?;
    let ledger = Ledger::new(store, ward_app::projectors());
    say(format!(
        "1. init: created log {ORIGIN} (SQLite, WAL) and its Ed25519 key\n   verifier key: {}",
        verifier.verifier_key()
    ));

    let (broken, fixed, lines) = evidence_story(&ledger).await?;
    say(format!(
        "2. evidence from real tools, parsed and recorded (forged provenance refused, nothing stored):\n{}",
        lines.iter().map(|l| format!("   {l}")).collect::<Vec<_>>().join("\n")
    ));
    let cp1 = ledger.checkpoint(&signer, ORIGIN).await?;
    say(format!(
        "3. signed checkpoint at size {} — a C2SP signed note (the checkpoint format of transparency logs such as Go's checksum database and Sigstore's Rekor: any standard verifier can check it):\n{}",
        cp1.size,
        indent(&cp1.note)
    ));

    let release = crate::commands::demo_release::run(&ledger, dir, (&broken, &fixed), &say).await?;
    let cp2 = ledger.checkpoint(&signer, ORIGIN).await?;
    say(format!("   checkpoint at size {}", cp2.size));

    let index = release["bad_rollout"]["deployment"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("the rollback was not recorded as a deployment"))?;
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
        "12. inclusion proof of the automated rollback's deployment record (entry {index}, {} hashes) and consistency proof {} -> {} ({} hashes) verify",
        proof.len(),
        cp1.size,
        cp2.size,
        consistency.len()
    ));

    let export_dir = dir.join("export");
    let manifest = ledger.export(&export_dir, &signer, ORIGIN, &|_, _| {}).await?;
    let report = verify_export(&export_dir, &verifier).map_err(|e| Failure::verify(e.to_string()))?;
    say(format!(
        "13. exported {} entries as C2SP tlog-tiles (the tile format Go's checksum database and Sigstore use, so any standard verifier can read it) and verified offline with only the verifier key: {} checkpoints, {} consistency proofs, root {}",
        manifest.size, report.checkpoints, report.consistency_proofs, report.root
    ));

    // Tamper with the export: change one byte of the release manager's first signature.
    // (Its printed name lives beside the log: the leaf names the signer by identity.)
    let name = crate::commands::demo_release::RELEASE_MANAGER_LOGIN;
    let needle = format!("signer\":\"user:{name}");
    let needle = needle.as_bytes();
    // The bundle the verifier reads for that entry: a full tile, else the widest partial one.
    let (bundle, mut data, pos) = entry_bundles(&export_dir.join("tile/entries"))?
        .into_iter()
        .filter_map(|(path, data)| {
            let pos = data.windows(needle.len()).position(|w| w == needle)?;
            Some((path, data, pos))
        })
        .max_by_key(|(path, _, _)| {
            let partial = path.parent().is_some_and(|p| p.extension().is_some_and(|e| e == "p"));
            let width: u64 = path.file_name().and_then(|n| n.to_str()?.parse().ok()).unwrap_or(0);
            (!partial, width)
        })
        .ok_or_else(|| anyhow::anyhow!("the signature was not found in the export"))?;
    data[pos + needle.len() - name.len()] = b'X';
    std::fs::write(&bundle, data)?;
    let caught = match verify_export(&export_dir, &verifier) {
        Err(VerifyError::BadEntry { index, reason }) => {
            say(format!(
                "14. changed one byte of an exported approval: `ward verify` refuses it — entry {index}: {reason}"
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
        "15. the store itself checks clean: {} entries, {} checkpoints (`ward log fsck`)",
        fsck.size, fsck.checkpoints
    ));
    let high_risk = release["governance"]["change"].as_str().unwrap_or("CHG-…");
    let try_it = try_it(kept, dir, high_risk);
    say(format!(
        "Done. Try it on your own (README.md, Usage; docs/CLI.md):\n{}",
        try_it
            .iter()
            .map(|(command, what)| format!("   {command}\n       {what}"))
            .collect::<Vec<_>>()
            .join("\n")
    ));
    if out == Output::Json {
        crate::output::write_line(&serde_json::to_string_pretty(&json!({
            "origin": ORIGIN,
            "entries": manifest.size,
            "checkpoints": [cp1.size, cp2.size],
            "verified": report,
            "tamper_detected_at_entry": caught,
            "store_check_ok": fsck.ok(),
            "release": release,
            "try_it": try_it.iter().map(|(command, _)| command).collect::<Vec<_>>(),
        }))?);
    }
    if !fsck.ok() {
        return Err(Failure::verify(format!("store check failed: {:?}", fsck.problems)).into());
    }
    Ok(())
}

/// What to run after the demo, each with what it shows: in the kept directory (`--keep DIR`)
/// the demo's own data, else how to keep it; then a data directory of one's own.
fn try_it(kept: bool, dir: &Path, high_risk: &str) -> Vec<(String, &'static str)> {
    let mut v = Vec::new();
    match kept {
        true => {
            let dir = ward_core::shell::word(&dir.display().to_string());
            let change = ward_core::shell::word(high_risk);
            v.push((
                format!("ward --data-dir {dir} change show {change}"),
                "the high-risk change: its evidence, signatures, gate decisions and deployments",
            ));
            v.push((
                format!("ward --data-dir {dir} log status"),
                "the log this run wrote, and its latest signed checkpoint",
            ));
            v.push((
                format!("ward --data-dir {dir} config check"),
                "the kept ward.toml (a template: risk, controls, calendar, tenants and rings) as Ward reads it",
            ));
            v.push((
                format!("ward --data-dir {dir} serve"),
                "the release board on http://127.0.0.1:8080/",
            ));
        }
        false => v.push((
            "ward demo --keep DIR".to_string(),
            "run it again keeping its data and a ward.toml template in DIR, to look around",
        )),
    }
    v.push(("ward init".to_string(), "a data directory of your own (.ward/)"));
    v.push((
        "ward user add --name NAME --display-name TEXT --role ROLE".to_string(),
        "a person with a role (viewer, auditor, developer, approver, release-manager, privacy-officer, admin); their first password on stdin",
    ));
    v.push((
        "ward --as USER --password-stdin change open --title TEXT --artifact DIGEST --env ENV".to_string(),
        "a change, as that person (environments are declared in ward.toml)",
    ));
    v
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("   | {l}")).collect::<Vec<_>>().join("\n")
}

/// Every entry bundle file of an export, in path order.
fn entry_bundles(dir: &Path) -> Result<Vec<(std::path::PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let data = std::fs::read(&p)?;
                out.push((p, data));
            }
        }
    }
    out.sort();
    Ok(out)
}
