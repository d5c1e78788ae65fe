//! Rule 25 on PostgreSQL: an environment's deployment lock is a session advisory lock, which
//! the server drops with its session (`idle_session_timeout`, `pg_terminate_backend`, a
//! failover) while the process that took it still runs its target. The attack on `9a1e896`:
//! the next deployment was then let in, recorded the first as interrupted and ran beside it,
//! and the first recorded its outcome too. Now a running deployment renews a lease, and the
//! next holder of the lock waits for it as it would for the lock.

mod common;

use common::{add_user, as_user, json, ok, register_command_on, run, ward};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn(mut c: Command) -> Child {
    c.args(["--output", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().expect("spawn ward")
}

/// The kinds of the log's `deployment.*` entries.
fn deployment_kinds(d: &Path, db: &str) -> Vec<String> {
    let shown = json(&ok(run({
        let mut c = ward(d, Some(db));
        c.args(["log", "show", "--limit", "10000", "--output", "json"]);
        c
    })));
    shown["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["kind"].as_str())
        .filter(|k| k.starts_with("deployment."))
        .map(str::to_string)
        .collect()
}

/// A fresh PostgreSQL database with `ward init`, users dev and rita, and an environment `dev`
/// whose target notes `start CHANGE` / `end CHANGE` in `runs` and, while `hang` (or
/// `hang-CHANGE`) exists, waits; and changes, one per byte given. Returns (data dir, url,
/// changes).
fn environment(
    rt: &tokio::runtime::Runtime,
    tmp: &Path,
    bytes: &[&str],
) -> Option<(ward_store::testing::TestDb, std::path::PathBuf, Vec<String>)> {
    let db = rt.block_on(ward_store::testing::TestDb::postgres())?;
    let url = db.url.clone();
    let d = tmp.join("data");
    ok(run({
        let mut c = ward(&d, Some(&url));
        c.arg("init");
        c
    }));
    std::fs::write(
        d.join("ward.toml"),
        format!(
            "[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n\n\
             [[environments]]\nname = \"dev\"\ncommand = [\"sh\", \"-c\", \"echo start $WARD_CHANGE >> {runs}; while [ -e {hang} ] || [ -e {hang}-$WARD_CHANGE ]; do sleep 0.1; done; echo end $WARD_CHANGE >> {runs}; echo deployed\"]\n",
            runs = tmp.join("runs").display(),
            hang = tmp.join("hang").display(),
        ),
    )
    .unwrap();
    add_user(&d, Some(&url), "dev", &["developer"]);
    add_user(&d, Some(&url), "rita", &["release-manager"]);
    let mut changes = Vec::new();
    for (n, byte) in bytes.iter().enumerate() {
        let digest = format!("sha256:{}", byte.repeat(32));
        ok(run(register_command_on(
            &d,
            Some(&url),
            &digest,
            "api",
            &format!("{n}.0.0"),
            &[],
        )));
        changes.push(common::open_change(
            as_user(&d, Some(&url), "dev", &[]),
            &format!("release {n}"),
            &digest,
        ));
    }
    Some((db, d, changes))
}

/// Terminates the sessions holding advisory locks on `url`'s database (as
/// `idle_session_timeout` or a failover would); returns how many.
fn cut_lock_sessions(rt: &tokio::runtime::Runtime, url: &str) -> i64 {
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid <> pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
    })
}

/// Attack on `0d02fbc`: a process frozen past its lease (a VM or GC pause) was found
/// interrupted, the next deployment ran, and the revived process then recorded a plain
/// outcome on top of its interruption and overwrote the running one's lease. Now its renewal
/// finds the lease taken (conditional renewal), it runs no further target, and its record
/// names the interruption it came after.
#[test]
fn a_deployment_revived_after_its_lease_lapsed_records_that_it_came_after_its_interruption() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let Some((db, d, changes)) = environment(&rt, tmp.path(), &["c3", "d4"]) else {
        return;
    };
    let url = db.url.clone();
    let runs = tmp.path().join("runs");
    let hang_first = tmp.path().join(format!("hang-{}", changes[0]));
    std::fs::write(&hang_first, "").unwrap();
    let promote = |change: &str| as_user(&d, Some(&url), "rita", &["promote", "--change", change, "--to", "dev"]);
    let first = spawn(promote(&changes[0]));
    wait_until("the first deployment's target runs", || lines(&runs).len() == 1);
    let pid = first.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_secs(31));
    assert_eq!(cut_lock_sessions(&rt, &url), 1);
    let found = run({
        let mut c = promote(&changes[1]);
        c.args(["--output", "json"]);
        c
    });
    let stdout = String::from_utf8_lossy(&found.stdout).to_string();
    assert_eq!(json(&stdout)["error"]["code"], "deployment_interrupted", "{stdout}");
    let second = json(&ok(run({
        let mut c = promote(&changes[1]);
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(second["status"], "succeeded", "{second}");
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    std::fs::remove_file(&hang_first).unwrap();
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "not a success");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    // The record, then the error naming it.
    let mut printed = serde_json::Deserializer::from_str(&stdout).into_iter::<serde_json::Value>();
    let record = printed.next().expect("the record").expect("JSON");
    let error = printed.next().expect("the error").expect("JSON");
    assert_eq!(error["error"]["code"], "deployment_unconfirmed", "{stdout}");
    let interrupted = record["after_interruption"].as_u64();
    assert!(
        interrupted.is_some(),
        "the revived record names its interruption: {stdout}"
    );
    // Not a release Ward vouches for (attack on `6fd710a`: it became the current release over
    // the one recorded after its interruption).
    assert_eq!(record["status"], "unconfirmed", "{stdout}");
    assert_eq!(record["targets"][0]["status"], "unconfirmed", "{stdout}");
    let running = tmp.path().join("running.txt");
    std::fs::write(&running, format!("sha256:{}\n", "d4".repeat(32))).unwrap();
    let drift = json(&ok(run({
        let mut c = as_user(
            &d,
            Some(&url),
            "rita",
            &["env", "observe", "--env", "dev", "--output", "json"],
        );
        c.arg("--from").arg(&running);
        c
    })));
    assert_eq!(
        drift["drifted"], false,
        "what the deployment after the interruption shipped is still what runs: {drift}"
    );
    let shown = json(&ok(run({
        let mut c = ward(&d, Some(&url));
        c.args(["log", "show", "--limit", "10000", "--output", "json"]);
        c
    })));
    let entry = shown["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["seq"].as_u64() == interrupted)
        .expect("the interruption's entry");
    assert_eq!(entry["event"]["kind"], "deployment.interrupted");
    assert_eq!(
        entry["event"]["payload"]["inline"]["started"], record["started"],
        "{entry}"
    );
    ok(run({
        let mut c = ward(&d, Some(&url));
        c.args(["log", "fsck"]);
        c
    }));
    rt.block_on(db.cleanup());
}

/// Attack on `6fd710a`: a deployment took its lease after announcing, so a lock session cut in
/// between let the next request find the announcement without a lease, record it as stopped
/// while its process lived, and run beside it. The lease is taken before the announcement now:
/// here both requests are let in (the first's session cut while its lease waits), the first
/// runs, and the second — whose gate decision predates the first's record — withdraws.
#[test]
fn two_requests_let_in_by_a_cut_session_run_one_after_the_other_or_withdraw() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let Some((db, d, changes)) = environment(&rt, tmp.path(), &["e5", "f6"]) else {
        return;
    };
    let url = db.url.clone();
    let runs = tmp.path().join("runs");
    let hang = tmp.path().join("hang");
    std::fs::write(&hang, "").unwrap();
    let promote = |change: &str| as_user(&d, Some(&url), "rita", &["promote", "--change", change, "--to", "dev"]);
    // Hold the leases table, so that each request stops where it takes its lease.
    let mut holder = rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("BEGIN; LOCK TABLE leases IN EXCLUSIVE MODE")
            .execute(&mut c)
            .await
            .unwrap();
        c
    });
    let waiting = || -> i64 {
        rt.block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' \
                 AND query LIKE 'INSERT INTO leases%'",
            )
            .fetch_one(&mut c)
            .await
            .unwrap()
        })
    };
    let first = spawn(promote(&changes[0]));
    wait_until("the first request waits for its lease", || waiting() == 1);
    assert_eq!(
        cut_lock_sessions(&rt, &url),
        1,
        "the first holds the environment's lock"
    );
    let second = spawn(promote(&changes[1]));
    wait_until("the second request, let in, waits for its lease", || waiting() == 2);
    assert!(lines(&runs).is_empty(), "nothing announced, nothing ran");
    rt.block_on(sqlx::raw_sql("COMMIT").execute(&mut holder)).unwrap();
    wait_until("the first deployment's target runs", || lines(&runs).len() == 1);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lines(&runs).len(), 1, "the second does not run beside it");
    std::fs::remove_file(&hang).unwrap();
    // Whichever took the lease first runs (the database's lock queue decides); the other withdraws.
    let outs: Vec<_> = [first, second]
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
        })
        .collect();
    let ran: Vec<usize> = (0..2).filter(|&i| outs[i].0).collect();
    assert_eq!(ran.len(), 1, "one ran, one withdrew: {outs:?}");
    let (winner, loser) = (ran[0], 1 - ran[0]);
    assert_eq!(
        json(&outs[loser].1)["error"]["code"],
        "deployment_ran_while_waiting",
        "its gate decision predates the other's record: {outs:?}"
    );
    assert_eq!(
        lines(&runs),
        [format!("start {}", changes[winner]), format!("end {}", changes[winner])],
        "one target ran"
    );
    assert_eq!(
        deployment_kinds(&d, &url),
        [
            "deployment.started",
            "deployment.recorded",
            "deployment.started",
            "deployment.interrupted"
        ],
        "one recorded, the other withdrawn; each answered once"
    );
    ok(run({
        let mut c = ward(&d, Some(&url));
        c.args(["log", "fsck"]);
        c
    }));
    // Asked again, the other runs.
    let again = json(&ok(run({
        let mut c = promote(&changes[loser]);
        c.args(["--output", "json"]);
        c
    })));
    assert_eq!(again["status"], "succeeded", "{again}");
    drop(holder);
    rt.block_on(db.cleanup());
}

#[test]
fn a_deployment_whose_lock_session_was_cut_is_waited_for_not_run_beside() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let Some((db, d, changes)) = environment(&rt, tmp.path(), &["a1", "b2"]) else {
        return;
    };
    let url = db.url.clone();
    let (runs, hang) = (tmp.path().join("runs"), tmp.path().join("hang"));
    std::fs::write(&hang, "").unwrap();
    let promote = |change: &str| as_user(&d, Some(&url), "rita", &["promote", "--change", change, "--to", "dev"]);

    let first = spawn(promote(&changes[0]));
    wait_until("the first deployment's target runs", || lines(&runs).len() == 1);
    // The server cuts the session holding the environment's lock (as `idle_session_timeout`
    // or a failover would); the process holding it runs on.
    assert_eq!(
        cut_lock_sessions(&rt, &url),
        1,
        "one session held the environment's lock"
    );

    let mut second = spawn(promote(&changes[1]));
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second request waits for the running deployment: {:?}",
        second.wait_with_output()
    );
    let (first_change, second_change) = (&changes[0], &changes[1]);
    assert_eq!(
        lines(&runs),
        [format!("start {first_change}")],
        "no target ran beside the first"
    );
    assert_eq!(
        deployment_kinds(&d, &url),
        ["deployment.started"],
        "the running deployment is not recorded as interrupted"
    );

    std::fs::remove_file(&hang).unwrap();
    for (child, change) in [(first, &changes[0]), (second, &changes[1])] {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dep = json(&stdout);
        assert_eq!(dep["status"], "succeeded", "{dep}");
        assert_eq!(&dep["change"], change.as_str(), "{dep}");
    }
    assert_eq!(
        lines(&runs),
        [
            format!("start {first_change}"),
            format!("end {first_change}"),
            format!("start {second_change}"),
            format!("end {second_change}")
        ],
        "one after the other"
    );
    assert_eq!(
        deployment_kinds(&d, &url),
        [
            "deployment.started",
            "deployment.recorded",
            "deployment.started",
            "deployment.recorded"
        ],
        "each announcement answered once, by its record"
    );
    ok(run({
        let mut c = ward(&d, Some(&url));
        c.args(["log", "fsck"]);
        c
    }));
    rt.block_on(db.cleanup());
}
