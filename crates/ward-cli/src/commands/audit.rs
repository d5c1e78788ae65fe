//! `ward audit population` / `ward audit sample` / `ward verify population`: the auditor's
//! population of production deployments with its signed manifest, a reproducible sample with
//! the bundles of the sampled deployments, and the offline check of a population.

use crate::backend::Backend;
use crate::cli::{AuditCommand, Global};
use crate::context::Context;
use crate::failure::{Failure, api_failure};
use crate::output::emit;
use anyhow::Result;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use ward_app::audit::{self, PopulationQuery, PopulationRow};

/// Dispatches `ward audit …` (locally against the store, or through `--server`).
pub async fn run(g: &Global, cmd: &AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Population {
            control,
            from,
            to,
            env,
            out,
        } => population(g, control, from, to, env.as_deref(), out).await,
        AuditCommand::Sample {
            population,
            key,
            n,
            seed,
            out,
            bundle,
        } => sample(g, population, key, *n, seed, out, bundle.as_deref()).await,
        AuditCommand::Search {
            digest,
            service,
            version,
            change,
            ticket,
            person,
            env,
            tenant,
            kind,
            from,
            to,
            bundle,
        } => {
            let q = ward_app::search::SearchQuery {
                digest: digest.clone(),
                service: service.clone(),
                version: version.clone(),
                change: change.clone(),
                ticket: ticket.clone(),
                person: person.clone(),
                env: env.clone(),
                tenant: tenant.clone(),
                kind: kind.clone(),
                from: from.clone(),
                to: to.clone(),
            };
            search(g, &q, bundle.as_deref()).await
        }
    }
}

/// `ward audit search`: locally (recorded as the auditor's read) or through `--server`.
async fn search(g: &Global, q: &ward_app::search::SearchQuery, bundles: Option<&Path>) -> Result<()> {
    if let Some(b) = bundles {
        refuse_existing(b)?;
    }
    let backend = Backend::from_global(g)?;
    let found: ward_app::search::SearchResult = backend.search(q).await?;
    let mut written = Vec::new();
    if let Some(bdir) = bundles {
        let mut files = BTreeMap::new();
        for c in &found.changes {
            let (bytes, _) = backend.bundle(&ward_app::bundle::Query::Change(c.clone())).await?;
            files.insert(format!("change-{c}.tar"), bytes);
        }
        written = files.keys().cloned().collect();
        write_dir(bdir, &files)?;
    }
    emit(g.output, json!({ "result": found, "bundles": written }), || {
        let mut s = format!(
            "{} entr{} found below checkpoint {}{}\n",
            found.hits.len() + found.more,
            if found.hits.len() + found.more == 1 { "y" } else { "ies" },
            found.checkpoint_size,
            if found.more > 0 {
                format!(" (the first {} listed: narrow the search)", found.hits.len())
            } else {
                String::new()
            }
        );
        for h in &found.hits {
            s.push_str(&format!(
                "  {:>7}  {}  {:<28} {}  by {}\n",
                h.seq, h.time, h.kind, h.subject, h.actor
            ));
        }
        if !found.changes.is_empty() {
            s.push_str(&format!("changes: {}\n", found.changes.join(", ")));
            match bundles {
                Some(b) => s.push_str(&format!(
                    "bundles of each in {} (ward verify bundle FILE --key …)\n",
                    b.display()
                )),
                None => s.push_str("export one as a bundle: ward bundle export --change ID --out FILE\n"),
            }
        }
        s
    });
    Ok(())
}

/// The identity an auditor's export runs as: a named local user holding the export right, or
/// the operator (who can read the store's files anyway) — recorded either way.
async fn auditor(g: &Global, ctx: &Context) -> Result<ward_core::Identity> {
    Ok(match &g.as_user {
        Some(_) => crate::context::local_identity(g, ctx, ward_core::Action::LogExport).await?,
        None => crate::context::local_operator(),
    })
}

/// Refuses an existing `out`, so nothing an auditor was given is ever overwritten.
fn refuse_existing(out: &Path) -> Result<()> {
    if out.exists() {
        return Err(Failure::new(
            "already_exists",
            format!("{} already exists", out.display()),
            "name a new file or directory with --out; Ward never overwrites an auditor's files",
        )
        .into());
    }
    Ok(())
}

/// Writes `files` into a new directory `out`: a temporary sibling, renamed into place.
fn write_dir(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |e: std::io::Error| {
        Failure::new(
            "write_failed",
            format!("cannot write {}: {e}", out.display()),
            "check that the parent directory exists and is writable",
        )
    };
    let tmp = tempfile::Builder::new()
        .prefix(".ward-audit")
        .tempdir_in(parent)
        .map_err(fail)?;
    for (name, bytes) in files {
        std::fs::write(tmp.path().join(name), bytes).map_err(fail)?;
    }
    refuse_existing(out)?;
    std::fs::rename(tmp.path(), out).map_err(fail)?;
    std::mem::forget(tmp); // renamed: nothing left to clean up
    Ok(())
}

async fn population(g: &Global, control: &str, from: &str, to: &str, env: Option<&str>, out: &Path) -> Result<()> {
    refuse_existing(out)?;
    let q = PopulationQuery {
        control: control.into(),
        from: from.into(),
        to: to.into(),
        env: env.map(str::to_string),
    };
    let p = Backend::from_global(g)?.population(&q).await?;
    write_dir(out, &p.files)?;
    let exceptions = p.rows.iter().filter(|r| !r.exceptions.is_empty()).count();
    let failing = |f: fn(&PopulationRow) -> bool| p.rows.iter().filter(|r| !f(r)).count();
    let (late, sod, incomplete) = (
        failing(|r| r.approval_preceded_deployment),
        failing(|r| r.separation_of_duties_held),
        failing(|r| r.evidence_complete),
    );
    emit(
        g.output,
        json!({ "dir": out, "manifest": p.manifest, "rows": p.rows.len(), "with_exceptions": exceptions,
                "approval_not_first": late, "separation_not_held": sod, "evidence_incomplete": incomplete }),
        || {
            format!(
                "Wrote the {} population of {} ({} to {}) to {}: {} deployments at checkpoint {}\n  {} with exceptions · approval not before deployment: {} · separation of duties not held: {} · evidence incomplete: {}\nVerify offline with:\n  ward verify population {} --key '<verifier key>'\nDraw a sample with:\n  ward audit sample --population {} --key '<verifier key>' --n 25 --seed '<your seed>' --out sample\n(the verifier key is what `ward log key` prints; an auditor gets it from the log's operator, not from the file)",
                control,
                p.manifest.environments.join(", "),
                from,
                to,
                out.display(),
                p.rows.len(),
                p.manifest.checkpoint_size,
                exceptions,
                late,
                sod,
                incomplete,
                out.display(),
                out.display()
            )
        },
    );
    Ok(())
}

/// Reads a population directory and verifies it as `ward verify population` does (the
/// manifest's signature by the log's key, the files, the checkpoint) before anything is drawn
/// from it: its rows, the manifest's digest and the manifest.
fn read_population(dir: &Path, key: &str) -> Result<(Vec<PopulationRow>, String, audit::PopulationManifest)> {
    let verifier = crate::commands::verify::verifier(key)?;
    let files = population_files(dir);
    let checked = audit::verify_population(&files, verifier.as_ref())
        .map_err(|e| Failure::verify(format!("population verification failed: {e}")))?;
    let rows = serde_json::from_slice(&files["population.json"])
        .map_err(|e| Failure::verify(format!("population.json: {e}")))?;
    Ok((rows, checked.manifest_digest, checked.manifest))
}

/// The four files of a population directory (absent ones left out: the check names them).
fn population_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for name in audit::FILES.iter().chain(&["manifest.json", audit::MANIFEST_SIGNATURE]) {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            files.insert(name.to_string(), b);
        }
    }
    files
}

async fn sample(
    g: &Global,
    dir: &Path,
    key: &str,
    n: usize,
    seed: &str,
    out: &Path,
    bundles: Option<&Path>,
) -> Result<()> {
    refuse_existing(out)?;
    if let Some(b) = bundles {
        refuse_existing(b)?;
    }
    if n == 0 || seed.is_empty() {
        return Err(Failure::new(
            "bad_arguments",
            "a sample needs --n above 0 and a non-empty --seed",
            "e.g. --n 25 --seed 'FY2026-Q4 change sample'",
        )
        .into());
    }
    let (rows, manifest_digest, manifest) = read_population(dir, key)?;
    let picked = audit::sample(&rows, n, &manifest_digest, seed);
    let doc = json!({
        "format": audit::SAMPLE_FORMAT,
        "population_manifest": manifest_digest,
        "population_rows": rows.len(),
        "n": n,
        "seed": seed,
        "algorithm": "rank each row by sha256(population_manifest + \"\\n\" + seed + \"\\n\" + deployment as decimal), lowest first; take n; list in population order",
        "deployments": picked.iter().map(|r| r.deployment).collect::<Vec<_>>(),
        "rows": picked,
    });
    let files = BTreeMap::from([
        ("sample.csv".to_string(), audit::csv(&picked).into_bytes()),
        ("sample.json".to_string(), serde_json::to_vec_pretty(&doc)?),
    ]);
    write_dir(out, &files)?;
    let mut written = Vec::new();
    if let Some(bdir) = bundles {
        let mut files = BTreeMap::new();
        let backend = Backend::from_global(g)?;
        for row in &picked {
            let (bytes, _) = backend
                .bundle(&ward_app::bundle::Query::Deployment(row.deployment))
                .await?;
            files.insert(format!("deployment-{}.tar", row.deployment), bytes);
        }
        written = files.keys().cloned().collect();
        write_dir(bdir, &files)?;
    }
    emit(
        g.output,
        json!({ "dir": out, "sample": doc, "bundles": written }),
        || {
            let mut s = format!(
                "Sampled {} of {} deployments of the {} population (manifest {}) with seed {:?} into {}:\n",
                picked.len(),
                rows.len(),
                manifest.query.control,
                manifest_digest,
                seed,
                out.display()
            );
            for r in &picked {
                s.push_str(&format!(
                    "  {} {} {} {} {}{}\n",
                    r.deployment,
                    r.time,
                    r.environment,
                    r.change,
                    r.action,
                    if r.exceptions.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", r.exceptions.join("; "))
                    }
                ));
            }
            if let Some(b) = bundles {
                s.push_str(&format!(
                    "Bundles of each sampled deployment in {} (ward verify bundle FILE --key …)",
                    b.display()
                ));
            }
            s
        },
    );
    Ok(())
}

/// `ward verify population DIR --key KEY`: exit 3 naming the first file that fails.
pub fn verify(g: &Global, dir: &Path, key: &str) -> Result<()> {
    let verifier = crate::commands::verify::verifier(key)?;
    let files = population_files(dir);
    match audit::verify_population(&files, verifier.as_ref()) {
        Ok(c) => {
            emit(
                g.output,
                json!({ "ok": true, "manifest": c.manifest, "manifest_digest": c.manifest_digest }),
                || {
                    format!(
                        "OK: population {} of {} ({} to {}): {} rows, manifest {} signed by the log's key, files match, checkpoint {} verified",
                        c.manifest.query.control,
                        c.manifest.environments.join(", "),
                        c.manifest.query.from,
                        c.manifest.query.to,
                        c.manifest.rows,
                        c.manifest_digest,
                        c.manifest.checkpoint_size
                    )
                },
            );
            Ok(())
        }
        Err(e) => Err(Failure::verify(format!("population verification failed: {e}")).into()),
    }
}

/// The Chromium binary that prints the PDF (Debian's `chromium`), if installed.
fn chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("WARD_CHROMIUM") {
        return Some(p.into());
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists())
}

/// Prints `page` to a PDF with headless Chromium: the page is a local file that loads nothing
/// (no network, no script), so the PDF shows exactly the HTML report.
fn print_pdf(page: &str) -> Result<Vec<u8>> {
    let Some(bin) = chromium() else {
        return Err(Failure::new(
            "chromium_missing",
            "--format pdf needs Chromium, which is not installed",
            "install Debian's chromium (apt-get install chromium), point WARD_CHROMIUM at a Chromium binary, or use --format html",
        )
        .into());
    };
    let dir = tempfile::tempdir()?;
    let html = dir.path().join("report.html");
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&html, page)?;
    // The page's path as a file URL: every byte outside a plain path character escaped, so a
    // `#`, `?` or `%` in TMPDIR cannot cut or redirect it.
    let url: String = html
        .to_string_lossy()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    // --no-sandbox: Chromium refuses to run as root with its sandbox (CI runs as root); the page
    // is Ward's own, loads nothing and runs no script.
    let mut child = std::process::Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{url}"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        // To a file, not a pipe: a full pipe would stall Chromium.
        .stderr(std::fs::File::create(dir.path().join("chromium.log"))?)
        .spawn()
        .map_err(|e| {
            Failure::new(
                "chromium_failed",
                format!("cannot run {}: {e}", bin.display()),
                "check the Chromium installation",
            )
        })?;
    // At most a minute: a Chromium that hangs never holds the command.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait()?.is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::new(
                "chromium_failed",
                "Chromium did not print the PDF within 60 s",
                "use --format html, or check the Chromium installation",
            )
            .into());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let status = child.wait()?;
    let log = std::fs::read_to_string(dir.path().join("chromium.log")).unwrap_or_default();
    match std::fs::read(&pdf) {
        Ok(b) if b.starts_with(b"%PDF") => Ok(b),
        _ => Err(Failure::new(
            "chromium_failed",
            format!(
                "Chromium wrote no PDF (exit {:?}): {}",
                status.code(),
                log.lines().last().unwrap_or_default()
            ),
            "use --format html, or check the Chromium installation",
        )
        .into()),
    }
}

/// `ward report compliance`: the report of a period as HTML, Markdown or PDF, to a new file.
pub async fn compliance(g: &Global, from: &str, to: &str, env: Option<&str>, format: &str, out: &Path) -> Result<()> {
    if !["html", "md", "pdf"].contains(&format) {
        return Err(Failure::new(
            "bad_arguments",
            format!(
                "--format {} is not html, md or pdf",
                ward_app::identifier::shown(format)
            ),
            "pass --format html, --format md or --format pdf",
        )
        .into());
    }
    refuse_existing(out)?;
    if format == "pdf" && chromium().is_none() {
        print_pdf("")?; // the refusal, before anything is recorded
    }
    if g.server.is_some() {
        return Err(Failure::new(
            "local_only",
            "ward report compliance runs against the store, not through --server",
            "run it on the Ward host as the auditor: `ward --as NAME report compliance --from T1 --to T2 --out FILE`; or download the population through the server: `ward audit population --from T1 --to T2 --out DIR`",
        )
        .into());
    }
    let q = PopulationQuery {
        control: audit::CHANGE_MANAGEMENT.into(),
        from: from.into(),
        to: to.into(),
        env: env.map(str::to_string),
    };
    let cfg = crate::backend::load_config(g, None)?;
    let ctx = Context::open(g).await?;
    let by = auditor(g, &ctx).await?;
    let facts = ward_app::compliance::facts(&ctx.ledger, &ctx.signer()?, &ctx.origin, &cfg.environments, &by, &q)
        .await
        .map_err(api_failure)?;
    let bytes = match format {
        "md" => ward_app::compliance::markdown(&facts).into_bytes(),
        "pdf" => print_pdf(&ward_app::compliance::html(&facts))?,
        _ => ward_app::compliance::html(&facts).into_bytes(),
    };
    crate::commands::bundle::write_new(out, &bytes)?;
    let controls = ward_app::compliance::controls(&facts);
    let exceptions: usize = controls.iter().map(|c| c.exceptions.len()).sum();
    emit(
        g.output,
        json!({ "file": out, "format": format, "bytes": bytes.len(), "controls": controls.len(),
                "deployments": facts.rows.len(), "exceptions": exceptions, "checkpoint_size": facts.checkpoint_size }),
        || {
            format!(
                "Wrote the compliance evidence report ({format}) of {} to {} to {}: {} controls, {} production deployments, {} exceptions listed (evidence for the controls, not a certification)",
                from,
                to,
                out.display(),
                controls.len(),
                facts.rows.len(),
                exceptions
            )
        },
    );
    Ok(())
}
