//! Crash safety: a writer under sustained appends is killed with SIGKILL at random moments,
//! 50 times (every other time during start-up or at once, the others while it is appending). Every acknowledged append must survive, the log must check clean, and the store
//! must open without repair. Runs on SQLite and on PostgreSQL.

mod common;
use common::{Rng, ok, run, ward};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use ward_store::testing::TestDb;

const ROUNDS: usize = 50;

fn crash_rounds(data_dir: &Path, db_url: Option<&str>) {
    let mut rng = Rng::new("crash");
    ok(run({
        let mut c = ward(data_dir, db_url);
        c.args(["init", "--origin", "crash.test/log"]);
        c
    }));
    let mut acked: HashMap<u64, String> = HashMap::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = db_url.map_or_else(
        || format!("sqlite://{}", data_dir.join("ward.db").display()),
        str::to_string,
    );
    for round in 0..ROUNDS {
        let mut child = ward(data_dir, db_url)
            .args([
                "debug",
                "append-loop",
                "--concurrency",
                "8",
                "--tag",
                &round.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().unwrap();
        let (first_tx, first_rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.is_empty() {
                    let _ = first_tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        // Kill anywhere from start-up (before or during migrations) to well into the run: every
        // other round at a random moment after launch, whatever the process is doing (its
        // start-up alone can outlast the window in a debug build); the others at a random
        // moment after its first acknowledged append, so every run kills mid-writing too.
        if round % 2 == 1 {
            let _ = first_rx.recv_timeout(Duration::from_secs(30));
        }
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        child.kill().expect("SIGKILL writer");
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            if let Some((seq, hash)) = line.split_once(' ')
                && let Ok(seq) = seq.parse::<u64>()
                && hash.len() == 64
            {
                assert!(
                    acked.insert(seq, hash.to_string()).is_none_or(|h| h == hash),
                    "seq {seq} acknowledged twice with different hashes"
                );
            }
        }
        // Every acknowledged append is present, with the same leaf hash.
        rt.block_on(async {
            let store = ward_store::open(&url).await.expect("store opens without repair");
            let size = store.head().await.unwrap().size();
            let entries = store.entries(0, size).await.unwrap();
            assert_eq!(entries.len() as u64, size, "round {round}: head and entries disagree");
            for (seq, hash) in &acked {
                let e = entries
                    .get(*seq as usize)
                    .unwrap_or_else(|| panic!("round {round}: acknowledged seq {seq} lost"));
                assert_eq!(&e.leaf_hash.to_hex(), hash, "round {round}: seq {seq} changed");
            }
        });
        if round % 10 == 9 {
            ok(run({
                let mut c = ward(data_dir, db_url);
                c.args(["log", "fsck"]);
                c
            }));
        }
    }
    assert!(
        acked.len() > 100,
        "the writer acknowledged too little ({}) for the test to mean anything",
        acked.len()
    );
    ok(run({
        let mut c = ward(data_dir, db_url);
        c.args(["log", "fsck"]);
        c
    }));
    // And the log exports and verifies offline.
    let exp = data_dir.join("export");
    ok(run({
        let mut c = ward(data_dir, db_url);
        c.args(["log", "export", "--out"]).arg(&exp);
        c
    }));
    ok(run({
        let mut c = ward(data_dir, db_url);
        c.arg("verify").arg(&exp).arg("--key").arg(data_dir.join("log.pub"));
        c
    }));
}

#[test]
fn sigkill_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    crash_rounds(&tmp.path().join("data"), None);
}

#[test]
fn sigkill_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(TestDb::postgres()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    crash_rounds(&tmp.path().join("data"), Some(&db.url));
    rt.block_on(db.cleanup());
}
