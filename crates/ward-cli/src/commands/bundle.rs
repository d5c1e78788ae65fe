//! `ward bundle export`: an auditor's evidence bundle of a change, written atomically; and
//! `ward verify bundle`, its offline verification.

use crate::backend::Backend;
use crate::cli::{BundleCommand, Global};
use crate::failure::{Failure, api_failure};
use crate::output::emit;
use anyhow::Result;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use ward_app::bundle::{self, Period, Query};

/// Dispatches `ward bundle …`.
pub async fn run(g: &Global, cmd: &BundleCommand) -> Result<()> {
    let BundleCommand::Export {
        change,
        deployment,
        env,
        from,
        to,
        tenant,
        out,
    } = cmd;
    let query = match (change, deployment, env) {
        (Some(c), _, _) => Query::Change(c.clone()),
        (None, Some(d), _) => Query::Deployment(*d),
        (None, None, Some(e)) => Query::Period(Period {
            env: e.clone(),
            from: time(from.as_deref(), "--from")?,
            to: time(to.as_deref(), "--to")?,
            tenant: tenant.clone(),
        }),
        (None, None, None) => {
            return Err(Failure::new(
                "bad_arguments",
                "name what to bundle",
                "pass --change ID, --deployment N, or --env E --from T1 --to T2",
            )
            .into());
        }
    };
    if out.exists() {
        return Err(Failure::new(
            "already_exists",
            format!("{} already exists", out.display()),
            "name a new file with --out; a bundle never overwrites one",
        )
        .into());
    }
    query.check().map_err(api_failure)?;
    let started = std::time::Instant::now();
    let (bytes, summary) = Backend::from_global(g)?.bundle(&query).await?;
    write_new(out, &bytes)?;
    let secs = started.elapsed().as_secs_f64();
    let counts = summary.as_ref().map(|m| json!(m.counts));
    emit(
        g.output,
        json!({ "file": out, "bytes": bytes.len(), "counts": counts, "seconds": secs }),
        || {
            let what = match &query {
                Query::Change(c) => c.clone(),
                Query::Deployment(d) => format!("deployment {d}"),
                Query::Period(p) => format!("{} from {} to {}", p.env, p.from, p.to),
            };
            let mut s = format!("Wrote the bundle of {what} to {} ({} bytes", out.display(), bytes.len());
            if let Some(m) = &summary {
                s.push_str(&format!(
                    ", {} entries at checkpoint {}",
                    m.entries.len(),
                    m.checkpoint.size
                ));
            }
            s.push_str(&format!(
                ", {secs:.2}s)\nVerify offline with:\n  ward verify bundle {} --key '<verifier key>'\n  python3 tools/verify_bundle.py {} --key '<verifier key>'\n(the verifier key is what `ward log key` prints; an auditor gets it from the log's operator, not from the bundle)",
                out.display(),
                out.display()
            ));
            s
        },
    );
    Ok(())
}

/// An RFC 3339 time given for `flag`.
fn time(t: Option<&str>, flag: &str) -> Result<jiff::Timestamp> {
    let t = t.unwrap_or_default();
    t.parse().map_err(|_| {
        Failure::new(
            "bad_arguments",
            format!("{flag} {} is not an RFC 3339 time", ward_app::identifier::shown(t)),
            format!("pass e.g. {flag} 2026-10-01T00:00:00Z"),
        )
        .into()
    })
}

/// Writes `bytes` to a new file `path` atomically: a temporary sibling, renamed without
/// replacing anything.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |e: std::io::Error| {
        Failure::new(
            "write_failed",
            format!("cannot write {}: {e}", path.display()),
            "check that the directory exists and is writable",
        )
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist_noclobber(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// `ward verify bundle FILE --key KEY`: exit 3 naming the first failure.
pub fn verify(g: &Global, file: &Path, key: &str) -> Result<()> {
    let verifier = crate::commands::verify::verifier(key)?;
    let bytes = std::fs::read(file).map_err(|e| {
        Failure::new(
            "not_found",
            format!("cannot read {}: {e}", file.display()),
            "pass the file written by `ward bundle export --change ID --out FILE`",
        )
    })?;
    let started = std::time::Instant::now();
    match bundle::verify(&bytes, verifier.as_ref()) {
        Ok(r) => {
            let secs = started.elapsed().as_secs_f64();
            emit(g.output, json!({ "ok": true, "report": r, "seconds": secs }), || {
                let mut out = format!(
                    "OK: bundle {} of log {} verified at checkpoint {} (root {})\n  {} files against the manifest, {} entries proven, {} documents, {} evidence files, {} gate decisions replayed, {} approval manifests checked, {} ({secs:.2}s)",
                    r.query,
                    r.origin,
                    r.size,
                    r.root,
                    r.files,
                    r.entries,
                    r.documents,
                    r.evidence,
                    r.decisions_replayed,
                    r.approvals_checked,
                    if r.report_checked {
                        "report re-rendered and identical".to_string()
                    } else {
                        format!(
                            "report NOT checked: made by renderer {:?}, this verifier renders {:?}; read it against the verified entries",
                            r.report_renderer,
                            ward_app::bundle::report::RENDERER
                        )
                    }
                );
                for p in &r.purged {
                    let what = if p.evidence { "raw evidence" } else { "document" };
                    out.push_str(&format!("\n  {what} {} purged by entry {}", p.digest, p.purged_by));
                }
                out
            });
            Ok(())
        }
        Err(e) => Err(Failure::verify(format!("bundle verification failed: {e}")).into()),
    }
}
