//! `ward artifact …` and `ward attest …`, locally or through a server.

use crate::backend::Backend;
use crate::cli::{ArtifactCommand, ArtifactRegisterArgs, AttestAddArgs, AttestCommand, Global};
use crate::failure::Failure;
use crate::output::emit;
use anyhow::Result;
use serde_json::{Value, json};
use ward_app::evidence::{self, ArtifactRequest, ArtifactView, Attestation, AttestationRequest};

/// Commit, branch, run id and URL of the CI job this runs in (GitHub Actions, GitLab CI).
pub fn ci_metadata(env: &dyn Fn(&str) -> Option<String>) -> [Option<String>; 4] {
    if env("GITHUB_ACTIONS").as_deref() == Some("true") {
        let url = match (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID")) {
            (Some(s), Some(r), Some(id)) => Some(format!("{s}/{r}/actions/runs/{id}")),
            _ => None,
        };
        return [env("GITHUB_SHA"), env("GITHUB_REF_NAME"), env("GITHUB_RUN_ID"), url];
    }
    if env("GITLAB_CI").as_deref() == Some("true") {
        return [
            env("CI_COMMIT_SHA"),
            env("CI_COMMIT_REF_NAME"),
            env("CI_PIPELINE_ID"),
            env("CI_PIPELINE_URL").or_else(|| env("CI_JOB_URL")),
        ];
    }
    [None, None, None, None]
}

fn digest_of(a: &ArtifactRegisterArgs) -> Result<String> {
    let bad = |e: ward_evidence::digest::DigestError| -> anyhow::Error {
        Failure::new(
            "bad_artifact",
            e.to_string(),
            "pass --file, --dir or --digest sha256:<64 hex>",
        )
        .into()
    };
    match (&a.file, &a.dir, &a.digest) {
        (Some(f), _, _) => ward_evidence::digest::of_file(f).map_err(bad),
        (_, Some(d), _) => ward_evidence::digest::of_tree(d).map_err(bad),
        (_, _, Some(d)) => ward_evidence::digest::parse_digest(d).map_err(bad),
        _ => Err(Failure::new("bad_artifact", "nothing to register", "pass --file, --dir or --digest").into()),
    }
}

/// Dispatches `ward artifact`.
pub async fn artifact(g: &Global, cmd: &ArtifactCommand) -> Result<()> {
    let backend = Backend::from_global(g)?;
    match cmd {
        ArtifactCommand::Register(a) => {
            let ci = ci_metadata(&|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
            let [commit, branch, build_id, build_url] = ci;
            let req = ArtifactRequest {
                digest: digest_of(a)?,
                service: a.service.clone(),
                version: a.version.clone(),
                commit: a.commit.clone().or(commit),
                branch: a.branch.clone().or(branch),
                build_id: a.build_id.clone().or(build_id),
                build_url: a.build_url.clone().or(build_url),
            };
            let art: evidence::Artifact = backend.register_artifact(&req).await?;
            emit(g.output, json!(art), || {
                format!(
                    "registered {} {} as {} (entry {})",
                    art.meta.service, art.meta.version, art.meta.digest, art.seq
                )
            });
            Ok(())
        }
        ArtifactCommand::Show { digest } => {
            let view: ArtifactView = backend.artifact(digest).await?;
            emit(g.output, json!(view), || {
                let a = &view.artifact;
                let mut s = format!(
                    "{} {}  {}\n  commit: {}  branch: {}  build: {}\n  registered by {} at {} (entry {})\n",
                    a.meta.service,
                    a.meta.version,
                    a.meta.digest,
                    a.meta.commit.as_deref().unwrap_or("-"),
                    a.meta.branch.as_deref().unwrap_or("-"),
                    a.meta
                        .build_url
                        .as_deref()
                        .or(a.meta.build_id.as_deref())
                        .unwrap_or("-"),
                    a.builder,
                    a.time,
                    a.seq
                );
                s.push_str(&attestation_table(&view.attestations));
                s
            });
            Ok(())
        }
    }
}

/// Two lines per attestation: type, file, the summary's key numbers; then its id (what
/// `ward purge` and the raw-evidence route take) and its log entry.
fn attestation_table(list: &[Attestation]) -> String {
    if list.is_empty() {
        return "  no attestations\n".into();
    }
    let mut s = String::from("  attestations:\n");
    for a in list {
        s.push_str(&format!(
            "    {:<6} {:<28} {}\n      id {} (entry {}, by {})\n",
            a.r#type,
            a.file_name,
            summary_line(&a.r#type, &a.summary),
            a.id,
            a.seq,
            a.added_by,
        ));
    }
    s
}

/// One line of an attestation summary's key numbers, for people.
pub(crate) fn summary_line(kind: &str, v: &Value) -> String {
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    match kind {
        k if k.starts_with("dr:") => {
            let records: Vec<&Value> = v
                .get("records")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .collect();
            let count = |kind: &str, ok: bool| {
                records
                    .iter()
                    .filter(|r| r["kind"] == kind && (!ok || r["succeeded"] == true))
                    .count()
            };
            let mut stores: Vec<&str> = records.iter().filter_map(|r| r["store"].as_str()).collect();
            stores.sort_unstable();
            stores.dedup();
            format!(
                "{} backups ({} succeeded), {} restores ({} succeeded); stores: {}",
                count("backup", false),
                count("backup", true),
                count("restore", false),
                count("restore", true),
                if stores.is_empty() {
                    "none".to_string()
                } else {
                    stores.join(", ")
                }
            )
        }
        "junit" => format!(
            "{} tests: {} passed, {} failed, {} errored, {} skipped",
            n("tests"),
            n("passed"),
            n("failed"),
            n("errored"),
            n("skipped")
        ),
        "sarif" => {
            let sev = |k: &str| {
                v.get("by_severity")
                    .and_then(|m| m.get(k))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            let level = |k: &str| {
                v.get("by_level")
                    .and_then(|m| m.get(k))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            format!(
                "{} findings (critical {}, high {}, medium {}, low {}, unscored {}; error {}, warning {}, note {}), {} suppressed",
                n("results"),
                sev("critical"),
                sev("high"),
                sev("medium"),
                sev("low"),
                sev("unscored"),
                level("error"),
                level("warning"),
                level("note"),
                n("suppressed")
            )
        }
        "cyclonedx" | "spdx" => format!(
            "{} components ({} with purl, {} without license), dependencies {}",
            n("components"),
            n("with_purl"),
            n("without_license"),
            if v.get("dependencies_complete").and_then(Value::as_bool) == Some(true) {
                "complete".to_string()
            } else {
                format!("for {} of {}", n("with_dependency_entry"), n("with_ref"))
            }
        ),
        "vulns" => {
            let sev = |k: &str| {
                v.get("by_severity")
                    .and_then(|m| m.get(k))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            let closed: u64 = v
                .get("closed_by_vex")
                .and_then(Value::as_object)
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
            format!(
                "{} open of {} findings (critical {}, high {}, medium {}, low {}, unknown {}), {} fixable, {} closed by VEX",
                n("open"),
                n("findings"),
                sev("critical"),
                sev("high"),
                sev("medium"),
                sev("low"),
                sev("unknown"),
                n("fix_available"),
                closed
            )
        }
        "intoto" => {
            let by: Vec<String> = v
                .get("verified_by")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|b| {
                    format!(
                        "{} ({})",
                        b.get("builder").and_then(Value::as_str).unwrap_or("?"),
                        b.get("algorithm").and_then(Value::as_str).unwrap_or("?")
                    )
                })
                .collect();
            let what = match (v.get("predicate_type").and_then(Value::as_str), v.get("link")) {
                (Some(p), _) => p.to_string(),
                (None, Some(l)) => format!("link {}", l.get("step").and_then(Value::as_str).unwrap_or("?")),
                _ => "statement".into(),
            };
            format!(
                "{what}, subject {}, signed by {}",
                v.get("matched_subject").and_then(Value::as_str).unwrap_or("?"),
                by.join(", ")
            )
        }
        "custom" => format!(
            "{} matches its schema ({})",
            v.get("type_name").and_then(Value::as_str).unwrap_or("?"),
            v.get("schema_digest").and_then(Value::as_str).unwrap_or("?")
        ),
        _ => v.to_string(),
    }
}

/// Dispatches `ward attest`.
pub async fn attest(g: &Global, cmd: &AttestCommand) -> Result<()> {
    let backend = Backend::from_global(g)?;
    match cmd {
        AttestCommand::Add(a) => add(g, &backend, a).await,
        AttestCommand::Type(c) => crate::commands::keys::attest_type(g, &backend, c).await,
        AttestCommand::List { artifact, change } => {
            let target = artifact.as_ref().or(change.as_ref()).cloned().unwrap_or_default();
            let artifact = &target;
            let list: Vec<Attestation> = backend.attestations(artifact, change.is_some()).await?;
            emit(g.output, json!({ "attestations": list }), || attestation_table(&list));
            Ok(())
        }
    }
}

async fn add(g: &Global, backend: &Backend<'_>, a: &AttestAddArgs) -> Result<()> {
    let meta = std::fs::metadata(&a.file).map_err(|e| {
        Failure::new(
            "bad_file",
            format!("{}: {e}", a.file.display()),
            "pass the report file the tool wrote",
        )
    })?;
    if meta.len() > evidence::MAX_ATTESTATION as u64 {
        return Err(Failure::new(
            "too_large",
            format!(
                "{} is {} bytes, above the {}-byte limit",
                a.file.display(),
                meta.len(),
                evidence::MAX_ATTESTATION
            ),
            "attach a smaller report",
        )
        .into());
    }
    let bytes = std::fs::read(&a.file)?;
    // Backup evidence (dr:…) is about the stores of [[services]], not one artifact or change.
    let target = match (
        a.artifact.clone().or_else(|| a.change.clone()),
        a.kind.starts_with("dr:"),
    ) {
        (Some(t), _) => t,
        (None, true) => evidence::DR_TARGET.to_string(),
        (None, false) => {
            return Err(Failure::new(
                "invalid_request",
                "pass --artifact DIGEST or --change CHG-…",
                "only backup evidence (--type dr:pgbackrest|dr:velero|dr:aws-backup) attaches without a target",
            )
            .into());
        }
    };
    let file_name = a
        .file
        .file_name()
        .map_or_else(|| a.file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let req = AttestationRequest::from_bytes(&target, &a.kind, &file_name, &bytes, a.redact);
    let att: Attestation = backend.attest(&req).await?;
    emit(g.output, json!(att), || {
        let mut s = format!(
            "attached {} ({}) to {}: {}",
            att.file_name,
            att.r#type,
            att.artifact,
            summary_line(&att.r#type, &att.summary)
        );
        for f in &att.redactions {
            s.push_str(&format!(
                "\n  redacted line {} column {} ({})",
                f.line, f.column, f.detector
            ));
        }
        s
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ci_metadata;
    use std::collections::HashMap;

    #[test]
    fn ci_variables() {
        let gh: HashMap<&str, &str> = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SHA", "abc123"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/api"),
        ]
        .into();
        let m = ci_metadata(&|k| gh.get(k).map(|v| v.to_string()));
        assert_eq!(m[0].as_deref(), Some("abc123"));
        assert_eq!(m[3].as_deref(), Some("https://github.com/acme/api/actions/runs/42"));
        let gl: HashMap<&str, &str> = [
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_SHA", "def"),
            ("CI_COMMIT_REF_NAME", "release"),
            ("CI_PIPELINE_ID", "7"),
            ("CI_PIPELINE_URL", "https://gitlab.example/p/7"),
        ]
        .into();
        let m = ci_metadata(&|k| gl.get(k).map(|v| v.to_string()));
        assert_eq!(m[1].as_deref(), Some("release"));
        assert_eq!(m[3].as_deref(), Some("https://gitlab.example/p/7"));
        assert_eq!(ci_metadata(&|_| None), [None, None, None, None]);
    }
}
