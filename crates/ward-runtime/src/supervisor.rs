//! Service instances as supervised OS processes.
//!
//! An [`Instance`] runs a program on a loopback port (passed as `PORT`, with the environment's
//! configuration as further variables), restarts it when it exits — with exponential back-off
//! from 100 ms up to 5 s, reset once it has run for 10 s — and answers whether it is ready by
//! asking its health path over HTTP. Stopping it kills the process and ends supervision.

use crate::RuntimeError;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Shortest back-off before a restart.
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest back-off before a restart.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Running this long resets the back-off.
pub const HEALTHY_RUN: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    /// Name for logs and errors (e.g. `prod/canary`).
    pub name: String,
    /// Version label (the artifact digest).
    pub version: String,
    /// Program.
    pub program: PathBuf,
    /// Working directory.
    pub dir: PathBuf,
    /// Environment variables besides `PORT`.
    pub env: Vec<(String, String)>,
    /// Readiness path, e.g. `/healthz`.
    pub health_path: String,
}

/// What an instance is doing.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InstanceStatus {
    /// Process id while running.
    pub pid: Option<u32>,
    /// Restarts so far.
    pub restarts: u32,
    /// How the last run ended.
    pub last_exit: Option<String>,
    /// Supervision stopped.
    pub stopped: bool,
}

/// A supervised instance.
pub struct Instance {
    spec: InstanceSpec,
    addr: SocketAddr,
    status: Arc<Mutex<InstanceStatus>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// A free loopback port (bound, read, released).
fn free_port() -> Result<u16, RuntimeError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(RuntimeError::io("pick a port"))?;
    Ok(l.local_addr().map_err(RuntimeError::io("pick a port"))?.port())
}

impl Instance {
    /// Starts supervising `spec` on a fresh loopback port.
    pub fn start(spec: InstanceSpec) -> Result<Instance, RuntimeError> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let status = Arc::new(Mutex::new(InstanceStatus::default()));
        let (stop, stopped) = watch::channel(false);
        // Fail early if the program cannot start at all.
        let first = spawn(&spec, port).map_err(RuntimeError::io(format!("start {}", spec.program.display())))?;
        let task = tokio::spawn(supervise(spec.clone(), port, first, status.clone(), stopped));
        Ok(Instance {
            spec,
            addr,
            status,
            stop,
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its spec.
    pub fn spec(&self) -> &InstanceSpec {
        &self.spec
    }

    /// Its status.
    pub fn status(&self) -> InstanceStatus {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits until the health path answers 2xx, up to `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), RuntimeError> {
        let client: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let uri: hyper::Uri = format!("http://{}{}", self.addr, self.spec.health_path)
            .parse()
            .map_err(|_| RuntimeError::Artifact("the health path is not a valid URL path".to_string()))?;
        let started = Instant::now();
        let mut last = String::from("no answer yet");
        while started.elapsed() < timeout {
            match tokio::time::timeout(Duration::from_secs(1), client.get(uri.clone())).await {
                Ok(Ok(r)) if r.status().is_success() => return Ok(()),
                Ok(Ok(r)) => last = format!("health answered {}", r.status()),
                Ok(Err(e)) => last = format!("health check failed: {e}"),
                Err(_) => last = "health check timed out".into(),
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(RuntimeError::NotReady {
            name: self.spec.name.clone(),
            waited_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            detail: last,
        })
    }

    /// Stops supervision and the process.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts one instance. A program just written by the installer can be reported busy
/// (`ETXTBSY`) for a moment: another thread of this process may have forked while the file
/// was still open for writing, and the child holds that descriptor until it execs
/// (rust-lang/rust#114554). Only that error is retried, briefly; any other is returned.
fn spawn(spec: &InstanceSpec, port: u16) -> std::io::Result<tokio::process::Child> {
    const ATTEMPTS: u64 = 20;
    let mut attempt = 0;
    loop {
        match spawn_once(spec, port) {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt + 1 < ATTEMPTS => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
            }
            other => return other,
        }
    }
}

fn spawn_once(spec: &InstanceSpec, port: u16) -> std::io::Result<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new(&spec.program);
    // Instances die with Ward, even when it is killed outright (SIGKILL skips kill_on_drop);
    // a restarted Ward starts them again from its records.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.current_dir(&spec.dir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("PORT", port.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

async fn supervise(
    spec: InstanceSpec,
    port: u16,
    first: tokio::process::Child,
    status: Arc<Mutex<InstanceStatus>>,
    mut stopped: watch::Receiver<bool>,
) {
    let set = |f: &dyn Fn(&mut InstanceStatus)| {
        let mut s = status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut s);
    };
    let mut backoff = BACKOFF_MIN;
    let mut child = Some(first);
    loop {
        let Some(mut c) = child.take() else {
            match spawn(&spec, port) {
                Ok(c) => child = Some(c),
                Err(e) => {
                    set(&|s| s.last_exit = Some(format!("could not start: {e}")));
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stopped.changed() => break,
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
            continue;
        };
        let pid = c.id();
        set(&|s| s.pid = pid);
        let started = Instant::now();
        tokio::select! {
            exit = c.wait() => {
                let how = match exit {
                    Ok(st) => st.to_string(),
                    Err(e) => e.to_string(),
                };
                tracing::warn!(instance = %spec.name, exit = %how, "instance exited; restarting");
                if started.elapsed() >= HEALTHY_RUN {
                    backoff = BACKOFF_MIN;
                }
                set(&|s| {
                    s.pid = None;
                    s.restarts += 1;
                    s.last_exit = Some(how.clone());
                });
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped.changed() => break,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            _ = stopped.changed() => {
                let _ = c.kill().await;
                break;
            }
        }
    }
    set(&|s| {
        s.pid = None;
        s.stopped = true;
    });
}
