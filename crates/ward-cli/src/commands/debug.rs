//! Hidden helpers for the test-suite.

use crate::cli::{AppendLoopArgs, Global};
use crate::context::Context;
use anyhow::Result;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use ward_ledger::{Actor, ActorKind, NewEvent};

/// Appends forever from several tasks; prints `seq leaf_hash` for each acknowledged append,
/// flushed at once, so a crash test knows exactly what was acknowledged before a SIGKILL.
pub async fn append_loop(g: &Global, a: &AppendLoopArgs) -> Result<()> {
    let ctx = Context::open(g).await?;
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let mut tasks = Vec::new();
    for w in 0..a.concurrency.max(1) {
        let ledger = ctx.ledger.clone();
        let out = out.clone();
        let tag = a.tag.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            loop {
                let ev = NewEvent {
                    actor: Actor {
                        id: format!("ci:crash-{tag}"),
                        kind: ActorKind::Automation,
                    },
                    kind: "crash.append".into(),
                    subject: format!("writer:{tag}-{w}"),
                    payload: json!({ "i": i }),
                };
                let r = ledger.append(ev).await?;
                {
                    let mut o = out.lock().map_err(|_| anyhow::anyhow!("stdout lock poisoned"))?;
                    writeln!(o, "{} {}", r.seq, r.leaf_hash)?;
                    o.flush()?;
                }
                i += 1;
            }
            #[allow(unreachable_code)]
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}
