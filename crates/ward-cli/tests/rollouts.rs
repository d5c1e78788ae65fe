//! Progressive delivery end to end: a real `ward serve` with the local runtime, the sample
//! service (examples/sample-service, run as `ward sample-service`) packed into tarballs as good
//! and bad versions, real load through the router, automated rollback, a drill, and a Ward
//! killed (SIGKILL) at each step.

mod common;
use common::{json, ok, prometheus_binary, register, run, run_with_stdin, token, ward};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A release of the sample service: a tarball whose `service` script runs `ward
/// sample-service` (this build's, so the service is never stale) with the release's behaviour;
/// its sha256 is the artifact digest.
fn release(artifacts: &Path, name: &str, behaviour: &str) -> String {
    let dir = artifacts.parent().unwrap().join(format!("build-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("service");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexport SAMPLE_VERSION={name} {behaviour}\nexec '{}' sample-service\n",
            env!("CARGO_BIN_EXE_ward")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let tarball = artifacts.join(format!("{name}.tar"));
    let st = Command::new("tar")
        .arg("-cf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .arg("service")
        .status()
        .unwrap();
    assert!(st.success());
    ward_runtime::artifact::file_digest(&tarball).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(d: &Path, port: u16) -> Serving {
    let mut c = ward(d, None);
    c.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("spawn ward serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("serving"), "{line:?}");
    Serving(child)
}

/// GET through the router: (status, answering version).
fn get(router: u16, path: &str, tenant: &str) -> Option<(u16, String)> {
    fetch(router, path, tenant).map(|(s, v, _)| (s, v))
}

/// GET through the router: (status, answering version, body).
fn fetch(router: u16, path: &str, tenant: &str) -> Option<(u16, String, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", router)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let tenant = if tenant.is_empty() {
        String::new()
    } else {
        format!("X-Tenant-ID: {tenant}\r\n")
    };
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{tenant}Connection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("x-ward-version: "))
        .unwrap_or("")
        .trim()
        .to_string();
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    Some((status, version, body))
}

/// Steady traffic from several tenants until dropped.
struct Load(Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl Load {
    fn start(router: u16) -> Load {
        Load::with_tenants(router, &[], 2)
    }

    /// `threads` clients, also sending requests for the `named` tenants in turn with the others.
    fn with_tenants(router: u16, named: &[&str], threads: u32) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let named: Vec<String> = named.iter().map(|t| t.to_string()).collect();
        let handles = (0..threads)
            .map(|k| {
                let stop = stop.clone();
                let named = named.clone();
                std::thread::spawn(move || {
                    let mut i = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        // 50 tenants (sticky buckets spread over the canary share), the named
                        // ones, and some requests without a tenant.
                        let n = (i * 2 + k) as usize;
                        let tenant = if !named.is_empty() && i.is_multiple_of(2) {
                            named[n / 2 % named.len()].clone()
                        } else {
                            format!("clinic-{}", n % 50)
                        };
                        let _ = get(router, "/api/reminders", if i.is_multiple_of(5) { "" } else { &tenant });
                        i += 1;
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        Load(stop, handles)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        for h in self.1.drain(..) {
            let _ = h.join();
        }
    }
}

struct Env {
    _tmp: tempfile::TempDir,
    d: PathBuf,
    artifacts: PathBuf,
    api: u16,
    router: u16,
    admin: u16,
    rm: String,
    ci: String,
}

impl Env {
    fn new(strategy: &str) -> Env {
        Env::with(strategy, "")
    }

    fn with(strategy: &str, extra: &str) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("data");
        ok(run({
            let mut c = ward(&d, None);
            c.arg("init");
            c
        }));
        let artifacts = tmp.path().join("dist");
        std::fs::create_dir_all(&artifacts).unwrap();
        let (api, router, admin) = (free_port(), free_port(), free_port());
        std::fs::write(
            d.join("ward.toml"),
            format!(
                r#"[controls.tiers.low]
evidence = []
approvals = 0
ticket = true

[[environments]]
name = "prod"
runtime = {{ listen = "127.0.0.1:{router}", admin = "127.0.0.1:{admin}", artifacts = "{}", ready_timeout_ms = 10000 }}
strategy = {strategy}
{extra}
"#,
                artifacts.display()
            ),
        )
        .unwrap();
        // Rollouts are operated by a person: a release manager with her own token.
        ok(run_with_stdin(
            {
                let mut c = ward(&d, None);
                c.args([
                    "user",
                    "add",
                    "--name",
                    "rm",
                    "--display-name",
                    "Rita Release",
                    "--role",
                    "release-manager",
                ]);
                c
            },
            "rm-correct-horse-battery\n",
        ));
        let rm = json(&ok(run({
            let mut c = ward(&d, None);
            c.args([
                "token",
                "create",
                "--name",
                "rm-laptop",
                "--user",
                "rm",
                "--role",
                "release-manager",
                "--output",
                "json",
            ]);
            c.env("WARD_PASSWORD", "rm-correct-horse-battery");
            c
        })))["token"]
            .as_str()
            .expect("token")
            .to_string();
        let ci = token(&d, "ci", "developer");
        Env {
            _tmp: tmp,
            d,
            artifacts,
            api,
            router,
            admin,
            rm,
            ci,
        }
    }

    /// `ward ARGS` against the server with token `tok`; a printed command that names the
    /// server already (`--server URL …`, as every one printed through a server does) runs as it
    /// is.
    fn cli(&self, tok: &str, args: &[&str]) -> Command {
        let mut c = ward(&self.d, None);
        if args.first() != Some(&"--server") {
            c.args(["--server", &format!("http://127.0.0.1:{}", self.api)]);
        }
        c.env("WARD_TOKEN", tok).args(args);
        c
    }

    /// Builds, registers and opens a change for a release; returns (digest, change).
    fn change(&self, name: &str, behaviour: &str) -> (String, String) {
        self.change_naming(name, behaviour, &[])
    }

    /// A change naming the configuration bundles it delivers (docs/CONTROLS.md rule 4).
    fn change_naming(&self, name: &str, behaviour: &str, configs: &[&str]) -> (String, String) {
        let digest = release(&self.artifacts, name, behaviour);
        register(&self.d, &digest, "reminders", name);
        let id = common::open_change_naming(self.cli(&self.ci, &[]), name, &digest, configs);
        (digest, id)
    }

    fn versions(&self, n: usize) -> Vec<String> {
        (0..n)
            .filter_map(|_| get(self.router, "/healthz", "probe"))
            .map(|(_, v)| v)
            .collect()
    }

    fn rollouts_count(&self) -> usize {
        json(&ok(run(self.cli(&self.ci, &["rollout", "status", "--output", "json"]))))["rollouts"]
            .as_array()
            .map_or(0, Vec::len)
    }

    /// A real Prometheus on `prom`, scraping the router's admin port every second.
    fn prometheus(&self, bin: &str, prom: u16) -> Serving {
        let cfg = self.d.join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ward-router\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
                self.admin
            ),
        )
        .unwrap();
        Serving(
            Command::new(bin)
                .arg(format!("--config.file={}", cfg.display()))
                .arg(format!("--storage.tsdb.path={}", self.d.join("tsdb").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{prom}"))
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start prometheus"),
        )
    }

    fn rollout(&self, id: &str) -> Value {
        json(&ok(run(
            self.cli(&self.ci, &["rollout", "status", id, "--output", "json"])
        )))
    }
}

#[test]
fn canary_promotes_a_good_release_and_rolls_back_a_bad_one_automatically() {
    let e = Env::new(
        r#"{ kind = "canary", steps = [10, 50, 100], pause_ms = 2000, tick_ms = 50, failure_limit = 2, analysis = { max_error_rate = 0.05, min_requests = 20 } }"#,
    );
    let _server = serve(&e.d, e.api);
    let (v1, c1) = e.change("v1", "");
    let (v2, c2) = e.change("v2", "");
    let (v3, c3) = e.change("v3", "SAMPLE_FAIL_PERCENT=30");
    // The first release goes straight in through the local runtime target.
    let first = json(&ok(run(
        e.cli(&e.rm, &["promote", "--change", &c1, "--to", "prod", "--output", "json"])
    )));
    assert_eq!(
        (first["target"].as_str(), first["status"].as_str()),
        (Some("local"), Some("succeeded"))
    );
    assert!(e.versions(5).iter().all(|v| v == &v1));
    let _load = Load::start(e.router);
    // A good release: every step analysed, then it is stable.
    let done = json(&ok(run(e.cli(
        &e.rm,
        &[
            "rollout", "start", "--change", &c2, "--env", "prod", "--wait", "--output", "json",
        ],
    ))));
    assert_eq!(done["status"], "completed", "{done:#}");
    let kinds: Vec<&str> = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "rollout.step").count(), 3, "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "rollout.analysis").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&"rollout.completed"));
    assert!(e.versions(10).iter().all(|v| v == &v2));
    // A bad release (30% errors): rolled back automatically, within a second of the breach.
    let out = run(e.cli(
        &e.rm,
        &[
            "rollout", "start", "--change", &c3, "--env", "prod", "--wait", "--output", "json",
        ],
    ));
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(bad["status"], "failed");
    let ms = bad["time_to_stable_ms"].as_f64().unwrap();
    assert!(ms < 1000.0, "{ms}");
    let detected = bad["events"].as_array().unwrap();
    let step_at = detected.iter().rev().find(|x| x["kind"] == "rollout.step").unwrap()["time"]
        .as_str()
        .unwrap()
        .to_string();
    let back_at = detected.last().unwrap()["time"].as_str().unwrap().to_string();
    println!("rollback: breach → stable {ms:.3} ms; canary step began {step_at}, rolled back {back_at}");
    assert_eq!(bad["last_analysis"]["verdict"], "fail", "{bad:#}");
    assert!(bad["last_analysis"]["measurement"]["errors"].as_u64().unwrap() > 0);
    assert!(bad["reason"].as_str().unwrap().contains("error rate"), "{bad:#}");
    // failure_limit = 2: the first failed analysis is recorded and tolerated, the second rolls back.
    assert!(
        bad["reason"].as_str().unwrap().contains("(2 failed analyses)"),
        "{bad:#}"
    );
    assert!(
        bad["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "rollout.analysis" && x["payload"]["tolerated"] == 1),
        "{bad:#}"
    );
    assert!(e.versions(10).iter().all(|v| v == &v2), "traffic must be back on v2");
    let deployments = json(&ok(run(
        e.cli(&e.ci, &["deployments", "--env", "prod", "--output", "json"])
    )));
    let list = deployments["deployments"].as_array().unwrap();
    let statuses: Vec<(&str, &str)> = list
        .iter()
        .map(|d| (d["digests"][0].as_str().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (v1.as_str(), "succeeded"),
            (v2.as_str(), "succeeded"),
            (v3.as_str(), "failed")
        ]
    );
    assert_eq!(
        list[1]["targets"][0]["rollback_to"]["digests"][0].as_str(),
        Some(v1.as_str())
    );
    // The record leads to the rollout (its strategy and plan are the target's stored output).
    assert!(
        list[1]["targets"][0]["output_digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{:#}",
        list[1]
    );
    // Metrics per version and tenant on the admin port.
    let metrics = {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", e.admin)).unwrap();
        write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut t = String::new();
        s.read_to_string(&mut t).unwrap();
        t
    };
    let v3_errors: u64 = metrics
        .lines()
        .filter(|l| l.starts_with(&format!("ward_router_errors_total{{version=\"{v3}\",tenant=\"clinic-")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(v3_errors > 0, "per-tenant errors of the bad version: {metrics}");
    // A drill: back to v1 on purpose, with the time to restore recorded.
    let drill = json(&ok(run(
        e.cli(&e.rm, &["drill", "rollback", "--env", "prod", "--output", "json"])
    )));
    assert_eq!(drill["all_restored"], true, "{drill:#}");
    assert_eq!(drill["to"][0].as_str(), Some(v1.as_str()));
    assert!(drill["time_to_restore_ms"].as_f64().unwrap() > 0.0);
    // A drill in production does not leave production rolled back: it returns to v2, recorded
    // as its own deployment reverting the drill's.
    assert_eq!(
        (drill["stay"].as_bool(), drill["returned"]["all_returned"].as_bool()),
        (Some(false), Some(true)),
        "{drill:#}"
    );
    assert_eq!(drill["returned"]["to"][0].as_str(), Some(v2.as_str()));
    assert!(e.versions(10).iter().all(|v| v == &v2));
    let after = json(&ok(run(
        e.cli(&e.ci, &["deployments", "--env", "prod", "--output", "json"])
    )));
    let after = after["deployments"].as_array().unwrap();
    let (back, forward) = (&after[after.len() - 2], &after[after.len() - 1]);
    assert_eq!(back["seq"], drill["deployment"]);
    assert_eq!(back["digests"][0].as_str(), Some(v1.as_str()));
    assert_eq!(forward["seq"], drill["returned"]["deployment"]);
    assert_eq!(forward["rollback_of"], back["seq"], "{forward:#}");
    assert_eq!(forward["digests"][0].as_str(), Some(v2.as_str()));
    // Listed as text, both records say they were a drill, and the rollout's deployment does not.
    let listed = ok(run(e.cli(&e.ci, &["deployments", "--env", "prod"])));
    let drills = listed.lines().filter(|l| l.ends_with(" — rollback drill")).count();
    assert_eq!(drills, 2, "{listed}");
    // --stay: the drill is a real rollback, and prod stays on v1.
    let stayed = json(&ok(run(e.cli(
        &e.rm,
        &["drill", "rollback", "--env", "prod", "--stay", "--output", "json"],
    ))));
    assert_eq!(
        (stayed["stay"].as_bool(), stayed.get("returned")),
        (Some(true), None),
        "{stayed:#}"
    );
    assert!(e.versions(10).iter().all(|v| v == &v1));
    // Developers cannot start rollouts.
    let refused = run(e.cli(
        &e.ci,
        &["rollout", "start", "--change", &c2, "--env", "prod", "--output", "json"],
    ));
    assert_eq!(refused.status.code(), Some(1));
}

#[test]
fn a_killed_ward_resumes_the_rollout_at_every_step() {
    let e = Env::new(
        r#"{ kind = "canary", steps = [10, 50, 100], pause_ms = 1500, tick_ms = 50, analysis = { max_error_rate = 0.05, min_requests = 10 } }"#,
    );
    let mut server = serve(&e.d, e.api);
    let (_v0, c0) = e.change("r0", "");
    ok(run(e.cli(&e.rm, &["promote", "--change", &c0, "--to", "prod"])));
    let _load = Load::start(e.router);
    for kill_at in 0..3u64 {
        let (digest, change) = e.change(&format!("r{}", kill_at + 1), "");
        let started = json(&ok(run(e.cli(
            &e.rm,
            &[
                "rollout", "start", "--change", &change, "--env", "prod", "--output", "json",
            ],
        ))));
        let id = started["id"].as_str().unwrap().to_string();
        // Wait until the rollout is at the step, then SIGKILL Ward (and, with it, its instances).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = e.rollout(&id);
            if r["step"].as_u64() == Some(kill_at)
                && r["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["kind"] == "rollout.step" && x["payload"]["step"] == kill_at)
            {
                break;
            }
            assert!(Instant::now() < deadline, "never reached step {kill_at}: {r:#}");
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(server);
        server = serve(&e.d, e.api);
        // It resumes at the recorded step and finishes; traffic ends on the new version.
        let deadline = Instant::now() + Duration::from_secs(60);
        let r = loop {
            let r = e.rollout(&id);
            if r["status"] == "completed" || r["status"] == "failed" {
                break r;
            }
            assert!(Instant::now() < deadline, "not finished after restart: {r:#}");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(r["status"], "completed", "{r:#}");
        let resumed =
            r["events"].as_array().unwrap().iter().any(|x| {
                x["kind"] == "rollout.step" && x["payload"]["resumed"] == true && x["payload"]["step"] == kill_at
            });
        assert!(resumed, "step {kill_at} was not resumed: {r:#}");
        assert!(
            e.versions(10).iter().all(|v| v == &digest),
            "after kill at step {kill_at}"
        );
    }
    drop(server);
}

#[test]
fn a_canary_without_traffic_is_watched_four_windows_before_it_pauses() {
    // No load at all: the canary never reaches `min_requests`, so no window can give a verdict.
    // The step is not judged at the end of its first window; it keeps collecting for three more
    // (rollout::driver::INCONCLUSIVE_EXTRA_WINDOWS) and only then pauses as inconclusive.
    let e = Env::new(
        r#"{ kind = "canary", steps = [10, 100], pause_ms = 400, tick_ms = 50, analysis = { max_error_rate = 0.05, min_requests = 10 } }"#,
    );
    let _server = serve(&e.d, e.api);
    let (_v0, c0) = e.change("q0", "");
    ok(run(e.cli(&e.rm, &["promote", "--change", &c0, "--to", "prod"])));
    let (_v1, c1) = e.change("q1", "");
    let asked = Instant::now();
    let started = json(&ok(run(e.cli(
        &e.rm,
        &["rollout", "start", "--change", &c1, "--env", "prod", "--output", "json"],
    ))));
    let id = started["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = e.rollout(&id);
        if r["status"] != "running" {
            break r;
        }
        assert!(Instant::now() < deadline, "never paused: {r:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let waited = asked.elapsed();
    assert_eq!(r["status"], "paused", "{r:#}");
    assert_eq!(r["step"], 0, "{r:#}");
    let paused: Vec<&Value> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "rollout.paused")
        .collect();
    assert_eq!(paused.len(), 1, "{r:#}");
    assert!(
        paused[0]["payload"]["reason"]
            .as_str()
            .is_some_and(|s| s.starts_with("inconclusive:") && s.contains("fewer than 10")),
        "{r:#}"
    );
    // Four windows of 400 ms at least, never the first window alone.
    assert!(waited >= Duration::from_millis(1600), "paused after {waited:?}");
    // Watching the paused rollout ends at once with its hints, each a command as printed; the
    // release manager sends all traffic to it (its `TEXT` filled as they would), and it completes.
    let watched = run(e.cli(&e.rm, &["rollout", "status", &id, "--watch"]));
    assert_eq!(
        watched.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&watched.stderr)
    );
    // Off a terminal (this pipe), each state it saw is a stamped line before the final screen.
    let log = String::from_utf8_lossy(&watched.stdout);
    assert!(
        log.lines()
            .next()
            .is_some_and(|l| l.contains(&format!("Z {id} PAUSED at step "))),
        "{log}"
    );
    // Printed through `--server`, each names the server it was run against (the helper that
    // runs them names it too: the rest is run as printed).
    let named = format!("http://127.0.0.1:{}", e.api);
    let printed: Vec<Vec<String>> = common::hint_commands(&watched.stderr)
        .into_iter()
        .map(|w| {
            assert_eq!(w[..2], ["--server".to_string(), named.clone()], "{w:?}");
            w[2..].to_vec()
        })
        .collect();
    assert_eq!(printed.len(), 3, "{printed:?}");
    assert_eq!(printed[0], ["rollout", "resume", id.as_str()]);
    assert_eq!(printed[2], ["rollout", "abort", id.as_str()]);
    let promote: Vec<String> = printed[1]
        .iter()
        .map(|w| match w.as_str() {
            "TEXT" => "no traffic reached the canary tonight; checked by hand".to_string(),
            w => w.to_string(),
        })
        .collect();
    let promote: Vec<&str> = promote.iter().map(String::as_str).collect();
    ok(run(e.cli(&e.rm, &promote)));
    let deadline = Instant::now() + Duration::from_secs(20);
    while e.rollout(&id)["status"] != "completed" {
        assert!(Instant::now() < deadline, "not completed: {:#}", e.rollout(&id));
        std::thread::sleep(Duration::from_millis(50));
    }
    // An unknown rollout's hint lists the rollouts, as printed, with this one.
    let unknown = run(e.cli(&e.rm, &["rollout", "status", "ro-00000000"]));
    assert!(!unknown.status.success());
    let listing = common::hint_commands(&unknown.stderr)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no listing hint: {}", String::from_utf8_lossy(&unknown.stderr)));
    let listing: Vec<&str> = listing.iter().map(String::as_str).collect();
    let listed = ok(run(e.cli(&e.rm, &listing)));
    assert!(listed.contains(&id), "{listed}");
}

#[test]
fn tenant_rings_go_in_order_and_a_failing_ring_halts_and_rolls_back() {
    let e = Env::with(
        r#"{ kind = "rings", pause_ms = 2000, tick_ms = 50, analysis = { max_error_rate = 0.05, min_requests = 10 } }"#,
        r#"rings = [
  { name = "internal", tenants = ["internal"] },
  { name = "pilot", tenants = ["clinic-a", "clinic-b"] },
  { name = "general", tenants = ["clinic-c"] },
]"#,
    );
    let mut server = serve(&e.d, e.api);
    // The environment's configuration, and clinic-a's own reminder window over it: the first
    // release names them (rule 4), the later ones run with them as they are.
    let bundle = |name: &str, text: &str| {
        let p = e.d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let prod_cfg = bundle("prod.toml", "[reminder]\nwindow_hours = 24\nchannel = \"sms\"\n");
    let a_cfg = bundle("clinic-a.toml", "[reminder]\nwindow_hours = 2\n");
    let published = |args: &[&str]| {
        json(&ok(run(e.cli(&e.rm, args))))["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let prod_bundle = published(&["config", "set", "--env", "prod", &prod_cfg, "--output", "json"]);
    let a_bundle = published(&[
        "config", "set", "--env", "prod", "--tenant", "clinic-a", &a_cfg, "--output", "json",
    ]);
    let (v1, c1) = e.change_naming("v1", "", &[&prod_bundle, &a_bundle]);
    let (v2, c2) = e.change("v2", "");
    // clinic-b's workflow breaks in v3: 40% of its requests fail, everyone else is fine.
    let (v3, c3) = e.change("v3", "SAMPLE_FAIL_PERCENT=40 SAMPLE_FAIL_TENANT=clinic-b");
    let (v4, c4) = e.change("v4", "");
    // One process serves every tenant: a ring alone cannot be promoted here...
    let refused = run(e.cli(
        &e.rm,
        &["promote", "--change", &c1, "--to", "prod", "--ring", "internal"],
    ));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("one process serves every tenant"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // ...and the whole environment is one cut-over, recorded for it and for every tenant.
    let first = json(&ok(run(
        e.cli(&e.rm, &["promote", "--change", &c1, "--to", "prod", "--output", "json"])
    )));
    let units: Vec<Value> = first["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant"].clone())
        .collect();
    assert_eq!(
        units,
        [
            Value::Null,
            "internal".into(),
            "clinic-a".into(),
            "clinic-b".into(),
            "clinic-c".into()
        ],
        "{first:#}"
    );
    assert!(
        first["targets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "succeeded")
    );
    let _load = Load::with_tenants(e.router, &["internal", "clinic-a", "clinic-b", "clinic-c"], 2);
    // The next release goes ring by ring as the refusal printed (`ID`, `ENV` filled), followed
    // until it finishes.
    let start: Vec<String> = common::without_server(
        common::hint_commands(&refused.stderr)
            .into_iter()
            .next()
            .expect("a command in the hint"),
    )
    .into_iter()
    .map(|w| match w.as_str() {
        "ID" => c2.clone(),
        "ENV" => "prod".to_string(),
        _ => w,
    })
    .collect();
    assert_eq!(start[..2], ["rollout", "start"], "{start:?}");
    let start: Vec<&str> = start.iter().map(String::as_str).collect();
    let good = json(&ok(run(
        e.cli(&e.rm, &[&start[..], &["--wait", "--output", "json"]].concat())
    )));
    assert_eq!(good["status"], "completed", "{good:#}");
    let labels: Vec<&str> = good["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "rollout.step")
        .map(|x| x["payload"]["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["internal", "pilot", "general", "everyone"]);
    // One process serves every tenant, and each tenant's requests see its own configuration,
    // byte for byte what the deployment record names.
    let deployments = json(&ok(run(
        e.cli(&e.ci, &["deployments", "--env", "prod", "--output", "json"])
    )));
    let last = deployments["deployments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["digests"][0].as_str(), Some(v2.as_str()));
    for (tenant, window) in [("clinic-a", 2), ("clinic-b", 24), ("internal", 24)] {
        let (status, version, body) = fetch(e.router, "/config", tenant).unwrap();
        assert_eq!((status, version.as_str()), (200, v2.as_str()), "{tenant}: {body}");
        let recorded = last["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tenant"] == tenant)
            .unwrap_or_else(|| panic!("no run for {tenant}: {last:#}"))["config_digest"]
            .clone();
        assert_eq!(
            Some(ward_evidence::digest::of_bytes(body.as_bytes()).as_str()),
            recorded.as_str(),
            "{tenant}"
        );
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["tenant"], tenant);
        assert_eq!(doc["values"]["reminder"]["window_hours"], window, "{tenant}");
        assert_eq!(doc["values"]["reminder"]["channel"], "sms");
    }
    let out = run(e.cli(
        &e.rm,
        &[
            "rollout", "start", "--change", &c3, "--env", "prod", "--wait", "--output", "json",
        ],
    ));
    assert_eq!(out.status.code(), Some(9), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = json(&String::from_utf8_lossy(&out.stdout));
    let id = bad["id"].as_str().unwrap().to_string();
    // internal passed; the pilot ring failed on clinic-b and went back to stable; the rollout
    // halted there, so nothing reached general.
    assert_eq!(bad["status"], "halted", "{bad:#}");
    assert_eq!(bad["step"], 1, "{bad:#}");
    // The reason names clinic-b when that tenant alone reached the minimum sample first;
    // otherwise the ring's canary as a whole breached (with 95% confidence) — the step says
    // which ring it was either way.
    let reason = bad["reason"].as_str().unwrap();
    assert!(
        reason.contains("tenant clinic-b") || reason.contains("canary: error rate"),
        "{bad:#}"
    );
    assert!(bad["time_to_stable_ms"].as_f64().unwrap() < 1000.0);
    let halted = bad["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(halted["kind"], "rollout.halted");
    assert_eq!(
        halted["payload"]["rolled_back_tenants"],
        serde_json::json!(["clinic-a", "clinic-b"])
    );
    let serving = |t: &str| get(e.router, "/healthz", t).map(|x| x.1);
    let only_internal_on_v3 = || {
        assert_eq!(
            serving("internal"),
            Some(v3.clone()),
            "the passed ring keeps the new version"
        );
        for t in ["clinic-a", "clinic-b", "clinic-c", ""] {
            assert_eq!(serving(t), Some(v2.clone()), "{t:?}");
        }
    };
    only_internal_on_v3();
    // What the runtime reports is what Ward recorded: no drift, internal on v3, the rest on v2.
    let seen = json(&ok(run(e.cli(
        &e.rm,
        &["env", "observe", "--env", "prod", "--from-runtime", "--output", "json"],
    ))));
    assert_eq!(seen["drifted"], false, "{seen:#}");
    let running: Vec<(String, String)> = seen["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| {
            Some((
                o["tenant"].as_str()?.to_string(),
                o["expected"][0].as_str()?.to_string(),
            ))
        })
        .collect();
    assert!(running.contains(&("internal".into(), v3.clone())), "{seen:#}");
    assert!(running.contains(&("clinic-a".into(), v2.clone())), "{seen:#}");
    // The evidence: a deployment per ring, the passed one succeeded, the failed one not.
    let deployments = json(&ok(run(
        e.cli(&e.ci, &["deployments", "--env", "prod", "--output", "json"])
    )));
    let rings: Vec<(String, String, Vec<String>)> = deployments["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["digests"][0] == v3.as_str())
        .map(|d| {
            (
                d["ring"].as_str().unwrap_or("").to_string(),
                d["status"].as_str().unwrap().to_string(),
                serde_json::from_value(d["tenants"].clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rings,
        vec![
            ("internal".into(), "succeeded".into(), vec!["internal".into()]),
            (
                "pilot".into(),
                "failed".into(),
                vec!["clinic-a".into(), "clinic-b".into()]
            ),
        ]
    );
    // A new rollout waits for this one to be decided.
    let busy = run(e.cli(&e.rm, &["rollout", "start", "--change", &c4, "--env", "prod"]));
    let why = String::from_utf8_lossy(&busy.stderr).to_string();
    assert!(why.contains("already rolling out") && why.contains(&id), "{why}");
    // Nor can a promotion or a rollback pull the runtime from under it.
    for args in [
        vec!["promote", "--change", c4.as_str(), "--to", "prod"],
        vec!["rollback", "--env", "prod"],
    ] {
        let out = run(e.cli(&e.rm, &args));
        let why = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success() && why.contains(&id), "{args:?}: {why}");
    }
    // A killed Ward comes back halted, with the passed ring still pinned to the new version.
    drop(server);
    server = serve(&e.d, e.api);
    assert_eq!(e.rollout(&id)["status"], "halted");
    // Until the new version is ready again its ring is served by stable (the safe side).
    let deadline = Instant::now() + Duration::from_secs(20);
    while serving("internal") != Some(v3.clone()) {
        assert!(
            Instant::now() < deadline,
            "internal never went back to v3 after the restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    only_internal_on_v3();
    // Watching a halted rollout ends at once with its hints: each is a command run as printed.
    let hints = |out: &std::process::Output| -> Vec<Vec<String>> {
        assert_eq!(out.status.code(), Some(9), "{}", String::from_utf8_lossy(&out.stderr));
        common::hint_commands(&out.stderr)
    };
    let printed = hints(&run(e.cli(&e.rm, &["rollout", "status", &id, "--watch"])));
    let (retry, abort) = (printed[0].clone(), printed[1].clone());
    let named = ["--server".to_string(), format!("http://127.0.0.1:{}", e.api)];
    assert_eq!(retry[..2], named);
    assert_eq!(retry[2..], ["rollout", "resume", id.as_str()]);
    assert_eq!(abort[2..], ["rollout", "abort", id.as_str()]);
    let as_printed = |words: &[String]| -> Vec<String> {
        let mut w = words.to_vec();
        w.extend(["--output".to_string(), "json".to_string()]);
        w
    };
    // Resume (the first hint, as printed) retries the failed ring: clinic-b still fails, so it
    // halts again the same way. The answer is the rollout after the driver acted: resumed, not
    // the stale `halted`.
    let args = as_printed(&retry);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let resumed = json(&ok(run(e.cli(&e.rm, &args))));
    let kinds: Vec<&str> = resumed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["kind"].as_str())
        .collect();
    let halted_at = kinds.iter().rposition(|k| *k == "rollout.halted").unwrap();
    assert!(kinds[halted_at..].contains(&"rollout.resumed"), "{resumed:#}");
    assert_ne!(resumed["status"], "halted", "{resumed:#}");
    let halts = |r: &Value| {
        r["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["kind"] == "rollout.halted")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let again = loop {
        let r = e.rollout(&id);
        if halts(&r) == 2 && r["status"] == "halted" {
            break r;
        }
        assert!(Instant::now() < deadline, "the retried ring did not halt again: {r:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(again["step"], 1);
    assert!(
        again["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "rollout.resumed" && x["payload"]["retry"] == true)
    );
    only_internal_on_v3();
    // Abort (the second hint, as printed): every ring back on stable, the canary gone; then the
    // next release goes through.
    let args = as_printed(&abort);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let aborted = json(&ok(run(e.cli(&e.rm, &args))));
    assert_eq!(aborted["id"], id.as_str());
    let deadline = Instant::now() + Duration::from_secs(10);
    while e.rollout(&id)["status"] != "aborted" {
        assert!(Instant::now() < deadline, "abort not applied");
        std::thread::sleep(Duration::from_millis(50));
    }
    for t in ["internal", "clinic-a", "clinic-b", "clinic-c"] {
        assert_eq!(serving(t), Some(v2.clone()), "{t}");
    }
    // internal's move back is recorded too (a deployment of v2 reverting its ring's), so the
    // runtime still matches what Ward recorded.
    let seen = json(&ok(run(e.cli(
        &e.rm,
        &["env", "observe", "--env", "prod", "--from-runtime", "--output", "json"],
    ))));
    assert_eq!(seen["drifted"], false, "{seen:#}");
    // Rolling the environment back now goes to v1 for everyone: internal's v3 was reverted and
    // is no longer part of its history.
    let back = json(&ok(run(
        e.cli(&e.rm, &["rollback", "--env", "prod", "--output", "json"])
    )));
    assert_eq!(back["digests"][0].as_str(), Some(v1.as_str()), "{back:#}");
    for t in ["internal", "clinic-a", "clinic-b", "clinic-c", ""] {
        assert_eq!(serving(t), Some(v1.clone()), "{t:?}");
    }
    let seen = json(&ok(run(e.cli(
        &e.rm,
        &["env", "observe", "--env", "prod", "--from-runtime", "--output", "json"],
    ))));
    assert_eq!(seen["drifted"], false, "{seen:#}");
    let next = json(&ok(run(e.cli(
        &e.rm,
        &[
            "rollout", "start", "--change", &c4, "--env", "prod", "--wait", "--output", "json",
        ],
    ))));
    assert_eq!(next["status"], "completed", "{next:#}");
    for t in ["internal", "clinic-a", "clinic-b", "clinic-c", ""] {
        assert_eq!(serving(t), Some(v4.clone()), "{t:?}");
    }
    drop(server);
}

#[test]
fn blue_green_switches_at_once_and_switches_back_on_a_latency_breach() {
    let e = Env::with(
        r#"{ kind = "blue-green", keep_warm_ms = 2000, tick_ms = 50, analysis = { max_error_rate = 0.05, min_requests = 5, max_p99_ms = 200 }, http_checks = [{ path = "/api/reminders" }] }"#,
        r#"tenants = ["clinic-1", "clinic-2"]"#,
    );
    let _server = serve(&e.d, e.api);
    let (_v1, c1) = e.change("v1", "");
    let (v2, c2) = e.change("v2", "");
    let (_v3, c3) = e.change("v3", "SAMPLE_EXTRA_LATENCY_MS=300");
    ok(run(e.cli(&e.rm, &["promote", "--change", &c1, "--to", "prod"])));
    let _load = Load::start(e.router);
    let good = json(&ok(run(e.cli(
        &e.rm,
        &[
            "rollout", "start", "--change", &c2, "--env", "prod", "--wait", "--output", "json",
        ],
    ))));
    assert_eq!(good["status"], "completed", "{good:#}");
    assert_eq!(good["plan"].as_array().map(Vec::len), Some(1));
    assert!(e.versions(10).iter().all(|v| v == &v2));
    // Without any configuration published, every tenant's history still follows the release.
    let seen = json(&ok(run(e.cli(
        &e.rm,
        &["env", "observe", "--env", "prod", "--from-runtime", "--output", "json"],
    ))));
    assert_eq!(seen["drifted"], false, "{seen:#}");
    assert_eq!(seen["observations"].as_array().map(Vec::len), Some(3), "{seen:#}");
    // v3 is 300 ms slow: all traffic goes to it, the analysis sees p99 over 200 ms, and the
    // warm v2 takes it all back.
    let out = run(e.cli(
        &e.rm,
        &[
            "rollout", "start", "--change", &c3, "--env", "prod", "--wait", "--output", "json",
        ],
    ));
    assert_eq!(out.status.code(), Some(7));
    let bad = json(&String::from_utf8_lossy(&out.stdout));
    assert!(bad["reason"].as_str().unwrap().contains("p99"), "{bad:#}");
    assert!(bad["time_to_stable_ms"].as_f64().unwrap() < 1000.0);
    assert!(e.versions(10).iter().all(|v| v == &v2));
}

#[test]
fn a_prometheus_check_rolls_back_what_the_built_in_analysis_tolerates() {
    let Some(bin) = prometheus_binary() else { return };
    let prom = free_port();
    // The router's own analysis tolerates up to 90% errors here; the PromQL check allows 5%.
    let ratio = r#"sum(ward_router_errors_total{version=\"{{version}}\",tenant=\"{{tenant}}\"}) / sum(ward_router_requests_total{version=\"{{version}}\",tenant=\"{{tenant}}\"})"#;
    let e = Env::with(
        &format!(
            r#"{{ kind = "canary", steps = [50, 100], pause_ms = 5000, tick_ms = 100, analysis = {{ max_error_rate = 0.9, min_requests = 5 }}, prometheus = [{{ name = "error-rate", url = "http://127.0.0.1:{prom}", query = "{ratio}", max = 0.05 }}] }}"#
        ),
        r#"rings = [{ name = "internal", tenants = ["internal"] }, { name = "pilot", tenants = ["clinic-a", "clinic-b"] }]"#,
    );
    let _prometheus = e.prometheus(bin, prom);
    let _server = serve(&e.d, e.api);
    let (v1, c1) = e.change("v1", "");
    let (_v2, c2) = e.change("v2", "SAMPLE_FAIL_PERCENT=20");
    ok(run(e.cli(&e.rm, &["promote", "--change", &c1, "--to", "prod"])));
    let _load = Load::start(e.router);
    // Prometheus is up and scraping the router before the rollout starts.
    let scraped = || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", prom)).ok()?;
        write!(
            s,
            "GET /api/v1/query?query=sum(ward_router_requests_total) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        text.contains("\"result\":[{").then_some(())
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while scraped().is_none() {
        assert!(Instant::now() < deadline, "Prometheus never scraped the router");
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = run(e.cli(
        &e.rm,
        &[
            "rollout", "start", "--change", &c2, "--env", "prod", "--wait", "--output", "json",
        ],
    ));
    let bad = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(7), "{bad:#}");
    assert_eq!(bad["status"], "failed", "{bad:#}");
    // Rolled back at the end of the first step, on Prometheus's word, not the router's.
    assert_eq!(bad["step"], 0, "{bad:#}");
    let reason = bad["reason"].as_str().unwrap();
    assert!(reason.contains("error-rate"), "{reason}");
    assert_eq!(bad["last_analysis"]["verdict"], "fail", "{bad:#}");
    assert!(
        !bad["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "rollout.analysis" && x["payload"]["verdict"]["verdict"] == "fail"),
        "the built-in analysis must not be what failed it: {bad:#}"
    );
    assert!(e.versions(10).iter().all(|v| v == &v1));
    drop(_load);
    // Rings: the same query per tenant of the ring being exposed, here allowing 20%. clinic-b's
    // requests fail 40% in v3: the new version as a whole stays near 10% (the router's own
    // analysis and the `_all` query pass), but Prometheus asked about clinic-b halts the rollout
    // at the pilot ring.
    let tenants = ["internal", "clinic-a", "clinic-b"];
    let _load = Load::with_tenants(e.router, &tenants, 2);
    let rings = serde_json::json!({
        "kind": "rings", "pause_ms": 5000, "tick_ms": 100,
        "analysis": {"max_error_rate": 0.9, "min_requests": 5},
        "prometheus": [{"name": "error-rate", "url": format!("http://127.0.0.1:{prom}"),
            "query": ratio.replace("\\\"", "\""), "max": 0.2}],
    });
    let (_v3, c3) = e.change("v3", "SAMPLE_FAIL_PERCENT=40 SAMPLE_FAIL_TENANT=clinic-b");
    let file = e.d.join("rings.json");
    std::fs::write(&file, rings.to_string()).unwrap();
    let out = run(e.cli(
        &e.rm,
        &[
            "rollout",
            "start",
            "--change",
            &c3,
            "--env",
            "prod",
            "--strategy-file",
            file.to_str().unwrap(),
            "--wait",
            "--output",
            "json",
        ],
    ));
    let halted = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(9), "{halted:#}");
    assert_eq!(halted["step"], 1, "{halted:#}");
    assert!(
        halted["reason"]
            .as_str()
            .unwrap()
            .contains("error-rate (tenant clinic-b)"),
        "{halted:#}"
    );
    assert_eq!(get(e.router, "/healthz", "clinic-b").map(|x| x.1), Some(v1.clone()));
}

#[test]
fn a_burning_error_budget_freezes_normal_changes_and_lets_an_emergency_through() {
    let Some(bin) = prometheus_binary() else { return };
    let prom = free_port();
    // The router's error ratio over the window; `or vector(0)`: before any request there is no
    // series, and a service without traffic burns nothing.
    let ratio = r#"(sum(rate(ward_router_errors_total{tenant=\"_all\"}[{{window}}])) / sum(rate(ward_router_requests_total{tenant=\"_all\"}[{{window}}]))) or vector(0)"#;
    // A 99% objective (1% budget) with one alert at 2× over 20 s and 5 s: a release failing half
    // its requests burns it at ~50×. Emergencies (tier high) need only their ticket here, so the
    // freeze is the only thing the test is about.
    let e = Env::with(
        r#"{ kind = "canary", steps = [100], pause_ms = 200, tick_ms = 50, analysis = { max_error_rate = 0.9, min_requests = 5 } }"#,
        &format!(
            r#"
[controls.tiers.high]
evidence = []
approvals = 0
roles = {{}}
ticket = true

[[slo]]
service = "reminders"
environments = ["prod"]
prometheus = "http://127.0.0.1:{prom}"
query = "{ratio}"
objective = 0.99
alerts = [{{ long = "20s", short = "5s", burn_rate = 2 }}]
"#
        ),
    );
    let prometheus = e.prometheus(bin, prom);
    let _server = serve(&e.d, e.api);
    let slo_status = || {
        let out = run({
            let mut c = ward(&e.d, None);
            c.args(["slo", "status", "--env", "prod", "--output", "json"]);
            c
        });
        json(&ok(out))
    };
    // Prometheus answers (with no traffic yet: ok) before the first release goes out.
    let deadline = Instant::now() + Duration::from_secs(60);
    while slo_status()["objectives"][0]["state"] != "ok" {
        assert!(
            Instant::now() < deadline,
            "the objective never read ok: {:#}",
            slo_status()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let (_v1, c1) = e.change("v1", "");
    ok(run(e.cli(&e.rm, &["promote", "--change", &c1, "--to", "prod"])));
    // v2 fails half its requests; it goes out while the budget is intact.
    let (_v2, c2) = e.change("v2", "SAMPLE_FAIL_PERCENT=50");
    ok(run(e.cli(&e.rm, &["promote", "--change", &c2, "--to", "prod"])));
    let _load = Load::start(e.router);
    // `ward slo status` (the command the gate's fix names) sees the burn.
    let deadline = Instant::now() + Duration::from_secs(60);
    let burning = loop {
        let s = slo_status();
        if s["objectives"][0]["state"] == "burning" {
            break s;
        }
        assert!(Instant::now() < deadline, "never burning: {s:#}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(burning["frozen"], 1, "{burning:#}");
    assert_eq!(burning["objectives"][0]["alerts"][0]["firing"], true, "{burning:#}");
    let check = |change: &str| {
        let out = run(e.cli(
            &e.ci,
            &["gate", "check", "--change", change, "--env", "prod", "--output", "json"],
        ));
        (out.status.code(), json(&String::from_utf8_lossy(&out.stdout)))
    };
    let rules = |d: &Value, key: &str| -> Vec<String> {
        d[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule"].as_str().unwrap().to_string())
            .collect()
    };
    // A normal change of the service is frozen, with the burn rates and windows in the reason.
    let (_v3, c3) = e.change("v3", "");
    let (code, blocked) = check(&c3);
    assert_eq!(code, Some(4), "{blocked:#}");
    assert_eq!(rules(&blocked, "reasons"), ["slo.error_budget"], "{blocked:#}");
    let message = blocked["reasons"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("reminders in prod is burning its 99% error budget: ")
            && message.contains("over 20s and")
            && message.contains("over 5s (alert at 2.0×)"),
        "{message}"
    );
    // The state the gate saw is in the stored input (replay needs no Prometheus).
    let input = json(&ok(run(e.cli(
        &e.rm,
        &["gate", "input", &blocked["id"].to_string(), "--output", "json"],
    ))));
    assert_eq!(input["slo"][0]["state"], "burning", "{input:#}");
    // An emergency passes, marked.
    let digest = release(&e.artifacts, "hotfix", "");
    register(&e.d, &digest, "reminders", "hotfix");
    let hotfix = json(&ok(run(e.cli(
        &e.ci,
        &[
            "change",
            "open",
            "--title",
            "hotfix",
            "--kind",
            "emergency",
            "--ticket",
            common::TICKET,
            "--artifact",
            &digest,
            "--path",
            "README.md",
            "--output",
            "json",
        ],
    ))))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, passed) = check(&hotfix);
    assert_eq!((code, passed["allow"].as_bool()), (Some(0), Some(true)), "{passed:#}");
    assert_eq!(rules(&passed, "waived"), ["slo.error_budget"], "{passed:#}");
    assert_eq!(passed["waived"][0]["waiver"], "emergency", "{passed:#}");
    // Prometheus gone: the budget cannot be read, and the gate fails closed.
    drop(prometheus);
    let (code, unknown) = check(&c3);
    assert_eq!(code, Some(4), "{unknown:#}");
    assert_eq!(rules(&unknown, "reasons"), ["slo.unknown"], "{unknown:#}");
    assert!(
        unknown["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be judged"),
        "{unknown:#}"
    );
}

#[test]
fn a_blue_green_pause_that_would_mean_nothing_is_refused_before_any_switch() {
    // The environment rolls out by canary; asking for blue-green with a 1 ms "pause" used to be
    // accepted: the pause was ignored, and the switched release kept all traffic for the whole
    // 60 s keep-warm window while too few requests came to judge it.
    let e = Env::new(
        r#"{ kind = "canary", steps = [10, 50, 100], pause_ms = 2000, tick_ms = 50, analysis = { max_error_rate = 0.05, min_requests = 20 } }"#,
    );
    let _server = serve(&e.d, e.api);
    let (v1, c1) = e.change("v1", "");
    let (_v2, c2) = e.change("v2", "SAMPLE_FAIL_PERCENT=30");
    ok(run(e.cli(&e.rm, &["promote", "--change", &c1, "--to", "prod"])));
    let before = e.rollouts_count();
    let out = run(e.cli(
        &e.rm,
        &[
            "rollout",
            "start",
            "--change",
            &c2,
            "--env",
            "prod",
            "--strategy",
            "blue-green",
            "--pause-ms",
            "1",
            "--output",
            "json",
        ],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("keep_warm_ms"), "{err}");
    assert_eq!(e.rollouts_count(), before, "nothing started");
    assert!(e.versions(5).iter().all(|v| v == &v1));
}

/// A high-risk change of a high-tier service into an environment without a recent rollback
/// drill: the gate's fix for its missing drill (`dr.readiness`) is a command that works as printed (run by the
/// release manager against the server, whose local runtime performs the drill), after which
/// the gate no longer asks for it.
#[test]
fn the_gates_fix_for_a_stale_rollback_drill_works_as_printed() {
    let e = Env::new(r#"{ kind = "canary", steps = [100], pause_ms = 200, tick_ms = 50 }"#);
    let _server = serve(&e.d, e.api);
    // Two releases in production: the drill has a previous known-good release to go back to.
    for name in ["d0", "d1"] {
        let (_, c) = e.change(name, "");
        ok(run(e.cli(&e.rm, &["promote", "--change", &c, "--to", "prod"])));
    }
    // Then the service is declared high-tier (the server reloads ward.toml).
    let toml = std::fs::read_to_string(e.d.join("ward.toml")).unwrap();
    std::fs::write(
        e.d.join("ward.toml"),
        format!("{toml}\n[[services]]\nname = \"reminders\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"reminders-db\"]\n"),
    )
    .unwrap();
    // A high-risk change (PHI) of the same service.
    let digest = release(&e.artifacts, "d2", "");
    register(&e.d, &digest, "reminders", "d2");
    let high = common::open_change_with(
        e.cli(&e.ci, &[]),
        &[
            "--title",
            "Reminder texts carry the visit type",
            "--artifact",
            &digest,
            "--attribute",
            "phi",
            "--ticket",
            common::TICKET,
            "--env",
            "prod",
        ],
    );
    let gate = || {
        let out = run(e.cli(&e.rm, &["gate", "check", "--change", &high, "--env", "prod"]));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let before = loop {
        let g = gate();
        if g.contains("no rollback drill") {
            break g;
        }
        assert!(
            Instant::now() < deadline,
            "the reloaded service never asked for a drill:\n{g}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let fix: Vec<String> = before
        .lines()
        .filter_map(|l| l.trim().strip_prefix("fix: "))
        .filter_map(common::printed_command)
        .map(common::without_server)
        .find(|w| w.first().is_some_and(|x| x == "drill"))
        .unwrap_or_else(|| panic!("no drill fix printed:\n{before}"));
    assert_eq!(fix, ["drill", "rollback", "--env", "prod"]);
    let args: Vec<&str> = fix.iter().map(String::as_str).collect();
    ok(run(e.cli(&e.rm, &args)));
    let after = gate();
    assert!(
        after.contains("dr.readiness") && !after.contains("rollback drill") && !after.contains(" drill rollback"),
        "{after}"
    );
}
