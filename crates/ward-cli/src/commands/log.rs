//! `ward log …`: the event log.

use crate::cli::{ConsistencyArgs, ExportArgs, Global, LogCommand, Output, ProofArgs, ShowArgs};
use crate::context::Context;
use crate::failure::Failure;
use crate::output::{emit, progress};
use anyhow::{Context as _, Result};
use serde_json::{Value, json};
use std::io::Read;
use ward_ledger::proof::{verify_consistency, verify_inclusion};
use ward_ledger::{EventEnvelope, Hash, NewEvent, NoteVerifier};

/// Largest stdin accepted by `ward log append`.
pub const MAX_STDIN: u64 = 16 * 1024 * 1024;

/// Dispatches a `ward log` subcommand.
pub async fn run(g: &Global, cmd: &LogCommand) -> Result<()> {
    if let LogCommand::Key = cmd {
        let signer = crate::context::load_signer(&g.data_dir).map_err(|_| {
            Failure::new(
                "not_initialised",
                format!("no log key in {}", g.data_dir.display()),
                "run `ward init` first",
            )
        })?;
        let vkey = signer.verifier().verifier_key();
        emit(g.output, json!({ "verifier_key": vkey }), || vkey.clone());
        return Ok(());
    }
    let ctx = Context::open(g).await?;
    match cmd {
        LogCommand::Append => append(g, &ctx).await,
        LogCommand::Checkpoint => checkpoint(g, &ctx).await,
        LogCommand::Status => status(g, &ctx).await,
        LogCommand::Show(a) => show(g, &ctx, a).await,
        LogCommand::Proof(a) => proof(g, &ctx, a).await,
        LogCommand::Consistency(a) => consistency(g, &ctx, a).await,
        LogCommand::Export(a) => export(g, &ctx, a).await,
        LogCommand::Fsck => fsck(g, &ctx).await,
        LogCommand::RebuildProjections => {
            let n = ctx.ledger.rebuild_projections().await?;
            emit(g.output, json!({ "replayed": n }), || {
                format!("Rebuilt projections from {n} entries")
            });
            Ok(())
        }
        LogCommand::Key => unreachable!("handled above"),
    }
}

/// Parses stdin: one JSON object, a JSON array of objects, or one object per line.
pub fn parse_events(input: &str) -> Result<Vec<NewEvent>> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(Failure::new("empty_input", "no event on stdin", r#"pipe a JSON event, e.g. {"actor":{"id":"user:alice","kind":"human"},"kind":"note.added","subject":"change:1","payload":{}}"#).into());
    }
    let bad = |e: serde_json::Error, what: &str| -> anyhow::Error {
        Failure::new(
            "bad_event",
            format!("{what} is not a valid event: {e}"),
            "an event has actor {id, kind: human|automation}, kind, subject and an optional payload",
        )
        .into()
    };
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).map_err(|e| bad(e, "stdin"));
    }
    match serde_json::from_str::<NewEvent>(trimmed) {
        Ok(e) => Ok(vec![e]),
        Err(_) if trimmed.lines().count() > 1 => trimmed
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| bad(e, &format!("line {}", i + 1))))
            .collect(),
        Err(e) => Err(bad(e, "stdin")),
    }
}

async fn append(g: &Global, ctx: &Context) -> Result<()> {
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
    let events = parse_events(&input)?;
    let receipts = ctx.ledger.append_batch(events).await.map_err(|e| {
        Failure::new(
            "append_refused",
            e.to_string(),
            "fix the event and retry; nothing was written",
        )
    })?;
    emit(g.output, json!({ "appended": receipts }), || {
        receipts
            .iter()
            .map(|r| format!("appended seq {} leaf {}", r.seq, r.leaf_hash))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn checkpoint(g: &Global, ctx: &Context) -> Result<()> {
    let cp = ctx.ledger.checkpoint(&ctx.signer()?, &ctx.origin).await?;
    emit(
        g.output,
        json!({ "size": cp.size, "root": cp.root.to_hex(), "note": cp.note }),
        || cp.note.clone(),
    );
    Ok(())
}

async fn status(g: &Global, ctx: &Context) -> Result<()> {
    let head = ctx.ledger.head().await?;
    let latest = ctx.ledger.store().checkpoints().await?.pop();
    emit(
        g.output,
        json!({
            "origin": ctx.origin,
            "backend": ctx.ledger.store().backend(),
            "size": head.size(),
            "root": head.root().to_hex(),
            "latest_checkpoint": latest.as_ref().map(|c| json!({"size": c.size, "root": c.root.to_hex(), "created_at": c.created_at})),
        }),
        || {
            let cp = latest
                .as_ref()
                .map_or("none (run `ward log checkpoint`)".to_string(), |c| {
                    format!("size {} at {}", c.size, c.created_at)
                });
            format!(
                "log {} ({})\n  size:  {}\n  root:  {}\n  latest checkpoint: {cp}",
                ctx.origin,
                ctx.ledger.store().backend(),
                head.size(),
                head.root()
            )
        },
    );
    Ok(())
}

async fn show(g: &Global, ctx: &Context, a: &ShowArgs) -> Result<()> {
    let entries = ctx.ledger.store().entries(a.from, a.limit.min(10_000)).await?;
    let mut docs = Vec::new();
    for e in &entries {
        let v: Value = serde_json::from_slice(&e.leaf).unwrap_or(Value::Null);
        docs.push(json!({ "seq": e.seq, "leaf_hash": e.leaf_hash.to_hex(), "event": v }));
    }
    emit(g.output, json!({ "entries": docs }), || {
        entries
            .iter()
            .map(|e| match EventEnvelope::from_leaf(&e.leaf) {
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

async fn default_size(ctx: &Context, size: Option<u64>) -> Result<u64> {
    if let Some(s) = size {
        return Ok(s);
    }
    match ctx.ledger.store().checkpoints().await?.pop() {
        Some(c) => Ok(c.size),
        None => Err(Failure::new(
            "no_checkpoint",
            "the log has no checkpoint yet",
            "run `ward log checkpoint` or pass --size",
        )
        .into()),
    }
}

fn hexes(h: &[Hash]) -> Vec<String> {
    h.iter().map(Hash::to_hex).collect()
}

fn invalid(e: ward_store::StoreError) -> anyhow::Error {
    match e {
        ward_store::StoreError::Invalid(m) => {
            Failure::new("invalid_request", m, "check `ward log status` for the log's size").into()
        }
        other => other.into(),
    }
}

async fn proof(g: &Global, ctx: &Context, a: &ProofArgs) -> Result<()> {
    let size = default_size(ctx, a.size).await?;
    let proof = ctx.ledger.inclusion_proof(a.index, size).await.map_err(invalid)?;
    let root = ctx.ledger.root_at(size).await.map_err(invalid)?;
    let leaf = ctx
        .ledger
        .store()
        .entries(a.index, 1)
        .await?
        .pop()
        .context("entry not found")?;
    verify_inclusion(&leaf.leaf_hash, a.index, size, &proof, &root)
        .map_err(|e| Failure::verify(format!("store produced a bad proof: {e}")))?;
    let note = ctx
        .ledger
        .store()
        .checkpoints()
        .await?
        .into_iter()
        .find(|c| c.size == size)
        .map(|c| c.note);
    emit(
        g.output,
        json!({ "index": a.index, "size": size, "leaf_hash": leaf.leaf_hash.to_hex(), "root": root.to_hex(), "proof": hexes(&proof), "checkpoint": note }),
        || {
            let mut s = format!(
                "inclusion of entry {} in tree of size {size}\n  leaf hash: {}\n  root:      {root}\n  proof:\n",
                a.index, leaf.leaf_hash
            );
            for h in &proof {
                s.push_str(&format!("    {h}\n"));
            }
            s
        },
    );
    Ok(())
}

async fn consistency(g: &Global, ctx: &Context, a: &ConsistencyArgs) -> Result<()> {
    let proof = ctx.ledger.consistency_proof(a.from, a.to).await.map_err(invalid)?;
    let (r1, r2) = (
        ctx.ledger.root_at(a.from).await.map_err(invalid)?,
        ctx.ledger.root_at(a.to).await.map_err(invalid)?,
    );
    verify_consistency(a.from, a.to, &proof, &r1, &r2)
        .map_err(|e| Failure::verify(format!("store produced a bad proof: {e}")))?;
    emit(
        g.output,
        json!({ "from": a.from, "to": a.to, "root1": r1.to_hex(), "root2": r2.to_hex(), "proof": hexes(&proof) }),
        || {
            let mut s = format!(
                "consistency {} -> {}\n  root1: {r1}\n  root2: {r2}\n  proof:\n",
                a.from, a.to
            );
            for h in &proof {
                s.push_str(&format!("    {h}\n"));
            }
            s
        },
    );
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
    if g.output == Output::Json {
        emit(g.output, json!(r), String::new);
    }
    if r.ok() {
        if g.output == Output::Text {
            println!("OK: {} entries, {} checkpoints, root {}", r.size, r.checkpoints, r.root);
        }
        Ok(())
    } else {
        let first = r
            .first_bad_entry
            .map_or(String::new(), |i| format!("first bad entry {i}: "));
        Err(Failure::verify(format!(
            "store check failed: {first}{}",
            r.problems.first().cloned().unwrap_or_default()
        ))
        .into())
    }
}
