//! A real pgBackRest backup of a real PostgreSQL cluster, read by Ward's parser and judged by
//! the DR readiness rules: a throwaway cluster (initdb in a temporary directory, on a free port,
//! its socket in that directory — the machine's own cluster on 5432 is never touched) archives
//! its WAL to a temporary pgBackRest repository; a full backup is taken; `pgbackrest info
//! --output=json` is parsed by `ward_evidence::dr::pgbackrest` and judged by
//! `ward_core::dr::judge` with the clock supplied: a service whose RPO is shorter than the
//! backup's age is not ready, and the reason names the stanza and the age — directly, and as the
//! gate reads it (the report attached through Ward's evidence path, a signed restore test, and
//! `ward_app::dr::states`, the readiness `gate::check` puts in the input).
//!
//! Runs when `pgbackrest` and the PostgreSQL server binaries (`initdb`, `pg_ctl`) exist;
//! under `CI=true` their absence fails the test (`.ci/run` installs the Debian `pgbackrest`
//! package). As root (CI containers), PostgreSQL and pgBackRest run as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;
use ward_core::dr::{DrRules, Evidence, RestoreTest, Service, judge};

fn in_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// `initdb` and `pg_ctl`: from PATH, else the newest Debian server package.
fn pg_bin(name: &str) -> Option<PathBuf> {
    in_path(name).or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin").join(name)))
            .filter(|p| p.is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the `postgres` user when we are root (PostgreSQL refuses root).
fn as_pg(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn checked(mut c: Command, what: &str) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stops the throwaway cluster however the test ends.
struct Cluster {
    pg_ctl: PathBuf,
    data: PathBuf,
    root: bool,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_pg(&self.pg_ctl, self.root)
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

#[test]
fn a_real_pgbackrest_backup_older_than_the_rpo_is_not_ready() {
    let tools = (in_path("pgbackrest"), pg_bin("initdb"), pg_bin("pg_ctl"));
    let (Some(pgbackrest), Some(initdb), Some(pg_ctl)) = tools else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but pgbackrest or the PostgreSQL server binaries are missing: {tools:?} (install the Debian packages pgbackrest and postgresql)"
        );
        eprintln!("skipped: pgbackrest, initdb or pg_ctl not found ({tools:?})");
        return;
    };
    let root = is_root();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (data, repo, sock) = (dir.join("data"), dir.join("repo"), dir.join("sock"));
    for d in [&repo, &sock, &dir.join("log"), &dir.join("lock"), &dir.join("spool")] {
        std::fs::create_dir_all(d).unwrap();
    }
    if root {
        checked(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres"]).arg(dir);
                c
            },
            "chown",
        );
    }
    // A free port (the socket lives in the temporary directory; TCP stays off).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.join("pgbackrest.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\nrepo1-path={repo}\nlog-path={d}/log\nlock-path={d}/lock\nspool-path={d}/spool\nlog-level-console=warn\nlog-level-file=off\nstart-fast=y\narchive-timeout=60\n\n[ward]\npg1-path={data}\npg1-port={port}\npg1-socket-path={sock}\n",
            repo = repo.display(),
            d = dir.display(),
            data = data.display(),
            sock = sock.display(),
        ),
    )
    .unwrap();
    if root {
        checked(
            {
                let mut c = Command::new("chown");
                c.args(["postgres:postgres"]).arg(&conf);
                c
            },
            "chown conf",
        );
    }
    checked(
        {
            let mut c = as_pg(&initdb, root);
            c.arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"]);
            c
        },
        "initdb",
    );
    let archive = format!(
        "{} --config={} --stanza=ward archive-push %p",
        pgbackrest.display(),
        conf.display()
    );
    let mut pgconf = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .unwrap();
    use std::io::Write;
    writeln!(
        pgconf,
        "port = {port}\nlisten_addresses = ''\nunix_socket_directories = '{}'\nwal_level = replica\narchive_mode = on\narchive_command = '{archive}'\nmax_wal_senders = 3",
        sock.display()
    )
    .unwrap();
    drop(pgconf);
    checked(
        {
            let mut c = as_pg(&pg_ctl, root);
            c.arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("log").join("postgres.log"))
                .args(["-w", "-t", "60", "start"]);
            c
        },
        "pg_ctl start",
    );
    let _cluster = Cluster {
        pg_ctl: pg_ctl.clone(),
        data: data.clone(),
        root,
    };
    let pgbr = |args: &[&str]| {
        let mut c = as_pg(&pgbackrest, root);
        c.arg(format!("--config={}", conf.display()))
            .arg("--stanza=ward")
            .args(args);
        c
    };
    checked(pgbr(&["stanza-create"]), "pgbackrest stanza-create");
    checked(pgbr(&["--type=full", "backup"]), "pgbackrest backup");
    let info = checked(pgbr(&["--output=json", "info"]), "pgbackrest info");

    // Ward's parser reads the tool's own output.
    let summary = ward_evidence::dr::pgbackrest(info.as_bytes(), 1 << 20).expect("parse pgbackrest info");
    assert_eq!(summary.records.len(), 1, "{summary:?}");
    let backup = &summary.records[0];
    assert_eq!(backup.store, "ward");
    assert!(backup.succeeded, "{backup:?}");
    assert!(backup.status.starts_with("full"), "{backup:?}");
    assert!(backup.size_bytes.is_some_and(|s| s > 0), "{backup:?}");
    let finished = backup.finished.expect("finished");
    assert!(backup.started.is_some_and(|s| s <= finished));
    assert!(summary.warnings.is_empty(), "{summary:?}");

    // The judge, with the clock supplied: the backup 2 h old against a 1 h RPO.
    let jobs = ward_app::dr::jobs_of(&[serde_json::to_value(&summary).unwrap()]);
    let service = Service {
        name: "orders".into(),
        tier: "high".into(),
        rpo: "1h".into(),
        rto: "1h".into(),
        stores: vec!["ward".into()],
    };
    let evidence = Evidence {
        jobs,
        restore_tests: vec![RestoreTest {
            store: "ward".into(),
            finished,
            duration_secs: 60,
            signer: "user:dana".into(),
        }],
        last_drill: None,
    };
    let stale = judge(&service, &DrRules::default(), &evidence, false, finished + 2 * 3_600);
    assert!(!stale.ready);
    let reasons: Vec<_> = stale.gaps.iter().map(|g| g.reason.as_str()).collect();
    assert_eq!(reasons, ["store ward: last successful backup 2h ago, RPO 1h"]);
    // Ten minutes after it, the same backup is within the RPO.
    let fresh = judge(&service, &DrRules::default(), &evidence, false, finished + 600);
    assert!(fresh.ready, "{fresh:?}");

    // And as the gate reads it: the tool's output attached as CI attaches it (through the
    // guard, into the store), a restore test signed by a release manager, and the readiness the
    // gate's check computes (`dr::states`, here with the clock supplied) — blocked two hours
    // later, naming the stanza and the age.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(judged_as_the_gate_reads_it(info.as_bytes(), &service, finished));
}

async fn judged_as_the_gate_reads_it(info: &[u8], service: &Service, finished: i64) {
    use ward_core::{Identity, Role};
    use ward_ledger::ActorKind;
    let db = ward_store::testing::TestDb::sqlite();
    let ledger = ward_store::Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
    let person = |id: &str, role: Role| Identity {
        id: id.into(),
        kind: ActorKind::Human,
        roles: vec![role],
    };
    let ci = Identity {
        id: "token:ci".into(),
        kind: ActorKind::Automation,
        roles: vec![Role::Developer],
    };
    let req = ward_app::evidence::AttestationRequest::from_bytes(
        ward_app::evidence::DR_TARGET,
        "dr:pgbackrest",
        "pgbackrest-info.json",
        info,
        false,
    );
    ward_app::evidence::attest(&ledger, &ci, &req, &Default::default())
        .await
        .expect("attest the real pgBackRest report");
    let password = "correct horse battery staple";
    ward_app::identities::add_user(
        &ledger,
        &person("local:admin", Role::Admin),
        &ward_app::identities::UserRequest {
            name: "rhea".into(),
            display_name: "Rhea Okafor".into(),
            roles: vec![Role::ReleaseManager],
            password: password.into(),
        },
    )
    .await
    .expect("user");
    let policy = ward_app::dr::DrPolicy {
        services: vec![service.clone()],
        rules: DrRules::default(),
    };
    ward_app::dr::record_restore_test(
        &ledger,
        &policy,
        &person("user:rhea", Role::ReleaseManager),
        &ward_app::dr::RestoreTestRequest {
            store: "ward".into(),
            finished: jiff::Timestamp::from_second(finished).unwrap().to_string(),
            duration_secs: 60,
            checked: "row counts match".into(),
            password: Some(password.into()),
            reauth_token: None,
        },
        &Default::default(),
        finished + 60,
    )
    .await
    .expect("restore test");
    let services = vec![service.name.clone()];
    let later = ward_app::dr::states(&ledger, &policy, Some(&services), "prod", false, finished + 2 * 3_600)
        .await
        .expect("states");
    assert_eq!(later.len(), 1, "{later:?}");
    assert!(!later[0].ready, "{later:?}");
    let reasons: Vec<&str> = later[0].gaps.iter().map(|g| g.reason.as_str()).collect();
    assert_eq!(reasons, ["store ward: last successful backup 2h ago, RPO 1h"]);
    let soon = ward_app::dr::states(&ledger, &policy, Some(&services), "prod", false, finished + 600)
        .await
        .expect("states");
    assert!(soon[0].ready, "{soon:?}");
    db.cleanup().await;
}
