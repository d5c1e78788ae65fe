//! `ward log …`: the event log.

use crate::backend::Backend;
use crate::cli::{ConsistencyArgs, ExportArgs, Global, LogCommand, Output, ProofArgs, ShowArgs};
use crate::context::Context;
use crate::failure::Failure;
use crate::output::{emit, progress};
use crate::remote::Remote;
use anyhow::{Context as _, Result};
use serde_json::json;
use std::io::Read;
use ward_app::ops::{self, ConsistencyProof, Entries, InclusionProof, LogStatus, SignedCheckpoint};
use ward_ledger::proof::{verify_consistency, verify_inclusion};
use ward_ledger::{EventEnvelope, Hash, NoteVerifier};

/// Largest stdin accepted by `ward log append`.
pub const MAX_STDIN: u64 = 16 * 1024 * 1024;

/// Dispatches a `ward log` subcommand.
pub async fn run(g: &Global, cmd: &LogCommand) -> Result<()> {
    if let LogCommand::Key = cmd {
        let vkey = Backend::from_global(g)?.verifier_key().await?;
        emit(g.output, json!({ "verifier_key": vkey }), || vkey.clone());
        return Ok(());
    }
    let backend = Backend::from_global(g)?;
    // The data directory is opened before anything else is read (stdin included).
    if let Backend::Local(l) = &backend {
        l.context().await?;
    }
    match (cmd, &backend) {
        (LogCommand::Append, _) => append(g, &backend).await,
        (LogCommand::Checkpoint, _) => checkpoint(g, &backend).await,
        (LogCommand::Status, _) => status(g, &backend).await,
        (LogCommand::Show(a), _) => show(g, &backend, a).await,
        (LogCommand::Proof(a), _) => proof(g, &backend, a).await,
        (LogCommand::Consistency(a), _) => consistency(g, &backend, a).await,
        // Export, fsck and rebuild work on the store itself (or, for export, a server's log).
        (LogCommand::Export(a), Backend::Local(l)) => export(g, l.context().await?, a).await,
        (LogCommand::Export(a), Backend::Remote(r)) => export_remote(g, r, a).await,
        (LogCommand::Fsck, Backend::Local(l)) => fsck(g, l.context().await?).await,
        (LogCommand::RebuildProjections, Backend::Local(l)) => {
            let ctx = l.context().await?;
            let n = ctx.ledger.rebuild_projections().await?;
            emit(g.output, json!({ "replayed": n }), || {
                format!("Rebuilt projections from {n} entries")
            });
            Ok(())
        }
        (LogCommand::Fsck | LogCommand::RebuildProjections, Backend::Remote(_)) => Err(Failure::new(
            "local_only",
            "this command works on the store directly and is not available with --server",
            "run it on the server's host with --data-dir / --database-url, without --server",
        )
        .into()),
        (LogCommand::Key, _) => unreachable!("handled above"),
    }
}

async fn append(g: &Global, backend: &Backend<'_>) -> Result<()> {
    let mut input = String::new();
    std::io::stdin()
        .take(MAX_STDIN + 1)
        .read_to_string(&mut input)
        .context("reading stdin")?;
    if input.len() as u64 > MAX_STDIN {
        return Err(Failure::new(
            "too_large",
            format!("stdin exceeds {MAX_STDIN} bytes"),
            "split the events into several calls",
        )
        .into());
    }
    let result = backend.append_events(&input).await?;
    emit(g.output, json!(result), || {
        result
            .appended
            .iter()
            .map(|r| format!("appended seq {} leaf {}", r.seq, r.leaf_hash))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn checkpoint(g: &Global, backend: &Backend<'_>) -> Result<()> {
    let cp: SignedCheckpoint = backend.checkpoint().await?;
    emit(g.output, json!(cp), || cp.note.clone());
    Ok(())
}

async fn status(g: &Global, backend: &Backend<'_>) -> Result<()> {
    let st: LogStatus = backend.log_status().await?;
    let now = jiff::Timestamp::now().as_second();
    emit(g.output, json!(st), || {
        let cp = st
            .latest_checkpoint
            .as_ref()
            .map_or("none (run `ward log checkpoint`)".to_string(), |c| {
                format!(
                    "size {} signed {}",
                    c.size,
                    crate::output::when_text(&c.created_at, now)
                )
            });
        format!(
            "log {} ({})\n  size:  {}\n  root:  {}\n  latest checkpoint: {cp}",
            st.origin, st.backend, st.size, st.root
        )
    });
    Ok(())
}

async fn show(g: &Global, backend: &Backend<'_>, a: &ShowArgs) -> Result<()> {
    // A page holds at most `ops::MAX_LIST` entries: read page after page until `--limit`
    // entries or the end of the log, so a large `--limit` is honoured, never silently cut.
    let mut list = Entries { entries: Vec::new() };
    let mut from = a.from;
    while (list.entries.len() as u64) < a.limit {
        let want = (a.limit - list.entries.len() as u64).min(ops::MAX_LIST);
        let page: Entries = backend.entries(from, want, a.texts).await?;
        let Some(last) = page.entries.last().map(|e| e.seq) else {
            break;
        };
        let full = page.entries.len() as u64 == want;
        list.entries.extend(page.entries);
        from = last + 1;
        if !full {
            break;
        }
    }
    emit(g.output, json!(list), || {
        list.entries
            .iter()
            .map(|e| match serde_json::from_value::<EventEnvelope>(e.event.clone()) {
                Ok(env) => format!(
                    "{:>6}  {}  {:<28} {:<24} {}",
                    env.seq, env.time, env.kind, env.subject, env.actor.id
                ),
                Err(err) => format!("{:>6}  INVALID: {err}", e.seq),
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn proof(g: &Global, backend: &Backend<'_>, a: &ProofArgs) -> Result<()> {
    let p: InclusionProof = backend.inclusion(a.index, a.size).await?;
    // Check what we print, whichever side produced it.
    let hashes = parse_hashes(&p.proof)?;
    let (leaf, root) = (parse_hash(&p.leaf_hash)?, parse_hash(&p.root)?);
    verify_inclusion(&leaf, p.index, p.size, &hashes, &root)
        .map_err(|e| Failure::verify(format!("the proof does not verify: {e}")))?;
    emit(g.output, json!(p), || {
        let mut s = format!(
            "inclusion of entry {} in tree of size {}\n  leaf hash: {}\n  root:      {}\n  proof:\n",
            p.index, p.size, p.leaf_hash, p.root
        );
        for h in &p.proof {
            s.push_str(&format!("    {h}\n"));
        }
        s
    });
    Ok(())
}

fn parse_hash(h: &str) -> Result<Hash> {
    Hash::from_hex(h).ok_or_else(|| Failure::verify(format!("malformed hash {h:?}")).into())
}

fn parse_hashes(list: &[String]) -> Result<Vec<Hash>> {
    list.iter().map(|h| parse_hash(h)).collect()
}

async fn consistency(g: &Global, backend: &Backend<'_>, a: &ConsistencyArgs) -> Result<()> {
    let p: ConsistencyProof = backend.consistency(a.from, a.to).await?;
    let hashes = parse_hashes(&p.proof)?;
    verify_consistency(p.from, p.to, &hashes, &parse_hash(&p.root1)?, &parse_hash(&p.root2)?)
        .map_err(|e| Failure::verify(format!("the proof does not verify: {e}")))?;
    emit(g.output, json!(p), || {
        let mut s = format!(
            "consistency {} -> {}\n  root1: {}\n  root2: {}\n  proof:\n",
            p.from, p.to, p.root1, p.root2
        );
        for h in &p.proof {
            s.push_str(&format!("    {h}\n"));
        }
        s
    });
    Ok(())
}

async fn export(g: &Global, ctx: &Context, a: &ExportArgs) -> Result<()> {
    let pb = progress(g.output, "export");
    let cb = |done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let m = ctx
        .ledger
        .export(&a.out, &ctx.signer()?, &ctx.origin, &cb)
        .await
        .map_err(|e| match e {
            ward_store::StoreError::Invalid(m) => {
                anyhow::Error::from(Failure::new("export_failed", m, "export into a new, empty directory"))
            }
            other => other.into(),
        })?;
    pb.finish_and_clear();
    let vkey = ctx.signer()?.verifier().verifier_key();
    emit(
        g.output,
        json!({ "out": a.out, "manifest": m, "verifier_key": vkey }),
        || {
            format!(
                "Exported {} entries and {} checkpoints to {}\nVerify offline with:\n  ward verify {} --key '{vkey}'",
                m.size,
                m.checkpoints.len(),
                a.out.display(),
                a.out.display()
            )
        },
    );
    Ok(())
}

/// Exports from a server up to its latest checkpoint (an auditor does not sign checkpoints).
async fn export_remote(g: &Global, r: &Remote, a: &ExportArgs) -> Result<()> {
    let status: LogStatus = r.get("/api/v1/log", &[]).await?;
    let size = status.latest_checkpoint.as_ref().map(|c| c.size).ok_or_else(|| {
        Failure::new(
            "no_checkpoint",
            "the server's log has no checkpoint yet",
            "ask a release manager to run `ward log checkpoint --server …`",
        )
    })?;
    let pb = progress(g.output, "export");
    let cb = |done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let m = ward_store::write_export(r, &a.out, &status.origin, size, &cb)
        .await
        .map_err(|e| Failure::new("export_failed", e.to_string(), "export into a new, empty directory"))?;
    pb.finish_and_clear();
    emit(g.output, json!({ "out": a.out, "manifest": m }), || {
        format!(
            "Exported {} entries and {} checkpoints from {} to {}\nVerify offline with the log's verifier key:\n  ward verify {} --key '<verifier key>'\n(the verifier key is what `ward log key` prints; an auditor gets it from the log's operator, not from the export)",
            m.size,
            m.checkpoints.len(),
            status.origin,
            a.out.display(),
            a.out.display()
        )
    });
    Ok(())
}

async fn fsck(g: &Global, ctx: &Context) -> Result<()> {
    let pb = progress(g.output, "fsck");
    let cb = |done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let verifier = ctx.signer()?.verifier();
    let r = ctx
        .ledger
        .fsck(Some(&verifier as &dyn NoteVerifier), &ctx.origin, &cb)
        .await?;
    pb.finish_and_clear();
    // What the log records, read once it is known sound: an announcement answered twice is an
    // incident the log keeps for good (two processes took themselves for the one running it),
    // reported, not a damage fsck could ask to repair.
    let answered_twice = match r.first_bad_entry.is_none() && r.state.as_ref().is_some_and(|s| s.ok()) {
        true => ward_app::deployments::check_answers(&ctx.ledger).await?,
        false => Vec::new(),
    };
    if g.output == Output::Json {
        let mut report = json!(r);
        report["answered_twice"] = json!(answered_twice);
        emit(g.output, report, String::new);
    } else {
        for a in &answered_twice {
            let entries: Vec<String> = a.answers.iter().map(u64::to_string).collect();
            crate::output::write_line(&format!(
                "warning: the deployment announced at entry {} in {} was answered {} times (entries {}): two processes each took themselves for the one running it; see what ran there with `ward deployments --env {}`",
                a.started,
                a.environment,
                a.answers.len(),
                entries.join(", "),
                a.environment
            ));
        }
    }
    let state = r.state.clone().unwrap_or_default();
    if r.ok() {
        if g.output == Output::Text {
            crate::output::write_line(&format!(
                "OK: {} entries, {} checkpoints, root {}; state matches the log ({} documents, {} blobs)",
                r.size, r.checkpoints, r.root, state.documents, state.blobs
            ));
        }
        Ok(())
    } else {
        if g.output == Output::Text {
            // Every problem, one a line; documents and blobs only by digest.
            for p in &r.problems {
                crate::output::write_line(p);
            }
        }
        let first = r
            .first_bad_entry
            .map_or(String::new(), |i| format!("first bad entry {i}: "));
        let hint = if r.first_bad_entry.is_none() && state.difference_count > 0 {
            "stored state differs from what the log explains: find out who changed the rows, then \
             `ward log rebuild-projections` derives the state tables again from the log; altered \
             evidence blobs cannot be derived — restore them from a backup"
        } else {
            "the log itself is damaged: restore the store from a backup and compare with your latest export"
        };
        Err(Failure {
            hint: Some(hint.into()),
            ..Failure::verify(format!(
                "store check failed ({} problem(s)): {first}{}",
                r.problems.len(),
                r.problems.first().cloned().unwrap_or_default()
            ))
        }
        .into())
    }
}
