//! Deployment targets: what actually puts a release somewhere, and tells what runs there.
//!
//! The engine (promotion, rollback, drift) only sees [`DeploymentTarget`]. This module has the
//! `command` target (a configured program: helm, kubectl, argo, a script) and the record-only
//! target of an environment without one; a runtime Ward runs itself (the local runtime of
//! `crate::rollout`) plugs in through the [`Runtimes`] port, which promotion never names.

use super::config::Effective;
use crate::environment::Environment;
use crate::error::AppError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most output kept from a deployment command (the rest is cut, and the cut is recorded).
pub const MAX_OUTPUT: usize = 256 * 1024;
/// Longest a deployment or observe command may run.
pub const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
/// Largest observation a runtime may print.
pub const MAX_OBSERVATION: usize = 4 * 1024 * 1024;

/// One deployment to carry out: a release to a tenant (or the whole environment).
pub struct DeployJob<'a> {
    /// Environment.
    pub environment: &'a str,
    /// Change.
    pub change: &'a str,
    /// The digests to run.
    pub digests: &'a [String],
    /// Tenant, when the environment has tenants.
    pub tenant: Option<&'a str>,
    /// Ring of the tenant.
    pub ring: Option<&'a str>,
    /// The effective configuration, when any is published.
    pub config: Option<&'a Effective>,
    /// Every tenant's effective configuration in this deployment, for a target where one
    /// process serves all tenants (the local runtime); per-tenant targets use `config`.
    pub tenant_configs: &'a [(String, Effective)],
}

/// What a target did.
pub struct DeployOutcome {
    /// Whether it succeeded.
    pub succeeded: bool,
    /// Exit code of a process, when there was one.
    pub exit_code: Option<i32>,
    /// Captured output (kept as evidence).
    pub output: Vec<u8>,
}

/// What runs in one tenant (or the whole environment), as a runtime reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Running {
    /// Tenant, when the runtime reports per tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Digests running.
    #[serde(default)]
    pub digests: Vec<String>,
    /// Digest of the effective configuration running, when the runtime knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
}

/// Where releases go. Implementations must not panic and must bound their output.
#[async_trait]
pub trait DeploymentTarget: Send + Sync {
    /// Short name recorded with deployments (`command`, `record-only`, …).
    fn kind(&self) -> &'static str;
    /// Deploys one job.
    async fn deploy(&self, job: &DeployJob<'_>) -> DeployOutcome;
    /// What runs now, per tenant or for the whole environment.
    async fn observe(&self, environment: &str) -> Result<Vec<Running>, String>;
}

/// The runtimes Ward runs itself for environments that declare `[environments.runtime]` (the
/// local runtime, inside `ward serve`): what promotion, rollback and drift need from them.
#[async_trait]
pub trait Runtimes: Send + Sync {
    /// Refuses while a rollout of `environment` has not finished: a promotion or a rollback
    /// would pull the runtime from under it.
    async fn ensure_idle(&self, environment: &str) -> Result<(), AppError>;
    /// The deployment target of `environment` on this runtime.
    fn target(&self, environment: &str) -> Box<dyn DeploymentTarget>;
}

/// The target of an environment: its runtime (`[environments.runtime]`, inside `ward serve`
/// only), its `command`, else record-only.
pub fn target_for(env: &Environment, runtime: Option<&dyn Runtimes>) -> Result<Box<dyn DeploymentTarget>, AppError> {
    if env.runtime.is_some() {
        return match runtime {
            Some(runtime) => Ok(runtime.target(&env.name)),
            None => Err(AppError::new(
                crate::error::Kind::Conflict,
                "runtime_unavailable",
                format!("{} runs on the local runtime, which lives inside the server", env.name),
                "run it through the server, where the local runtime lives",
            )),
        };
    }
    Ok(if env.command.is_empty() {
        Box::new(RecordOnly {
            observe_command: env.observe_command.clone(),
        })
    } else {
        Box::new(CommandTarget {
            command: env.command.clone(),
            observe_command: env.observe_command.clone(),
        })
    })
}

/// A runtime that is gone (its engine stopped): every deployment fails, nothing is observed.
pub struct Unavailable;

#[async_trait]
impl DeploymentTarget for Unavailable {
    fn kind(&self) -> &'static str {
        "unavailable"
    }
    async fn deploy(&self, _: &DeployJob<'_>) -> DeployOutcome {
        DeployOutcome {
            succeeded: false,
            exit_code: None,
            output: b"the runtime of this environment has stopped\n".to_vec(),
        }
    }
    async fn observe(&self, environment: &str) -> Result<Vec<Running>, String> {
        Err(format!("the runtime of {environment} has stopped"))
    }
}

/// No deployment target: the record is made, nothing runs.
pub struct RecordOnly {
    observe_command: Vec<String>,
}

#[async_trait]
impl DeploymentTarget for RecordOnly {
    fn kind(&self) -> &'static str {
        "record-only"
    }
    async fn deploy(&self, _: &DeployJob<'_>) -> DeployOutcome {
        DeployOutcome {
            succeeded: true,
            exit_code: None,
            output: b"no deployment target configured: recorded only\n".to_vec(),
        }
    }
    async fn observe(&self, environment: &str) -> Result<Vec<Running>, String> {
        observe_with(&self.observe_command, environment).await
    }
}

/// Runs a configured program per job with `WARD_ENV`, `WARD_CHANGE`, `WARD_DIGESTS`,
/// `WARD_TENANT`, `WARD_RING`, `WARD_CONFIG` (a file holding the effective configuration) and
/// `WARD_CONFIG_DIGEST`.
pub struct CommandTarget {
    command: Vec<String>,
    observe_command: Vec<String>,
}

/// Runs `argv` with `vars`, bounded in time and output: (exit status, stdout, stderr).
async fn run(
    argv: &[String],
    vars: &[(&str, String)],
    limit: usize,
) -> Result<(std::process::ExitStatus, Vec<u8>, Vec<u8>), String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("no command configured".into());
    };
    let watchdog = Watchdog::start().map_err(|e| format!("could not start the watchdog of {program}: {e}"))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .process_group(watchdog.group)
        .kill_on_drop(true);
    match tokio::time::timeout(COMMAND_TIMEOUT, cmd.output()).await {
        Ok(Ok(o)) => {
            watchdog.stand_down().await;
            let (mut out, mut err) = (o.stdout, o.stderr);
            out.truncate(limit);
            err.truncate(limit);
            Ok((o.status, out, err))
        }
        Ok(Err(e)) => Err(format!("could not start {program}: {e}")),
        Err(_) => Err(format!("{program} ran longer than {COMMAND_TIMEOUT:?} and was stopped")),
    }
}

/// Ties a command and every process it starts to Ward's lifetime: a small shell in a process
/// group of its own, into which the command is started, that waits for end-of-file on a pipe
/// only Ward writes to and then kills the whole group. The pipe closes when Ward lets go of it:
/// when Ward stops however it stops (a SIGKILL or an out-of-memory kill included: the kernel
/// closes its files), or gives up on the command (its time limit, a dropped future). A target
/// run by a killed Ward used to run on, and so did the processes a timed-out command had
/// started (the kill reached the command alone), beside the next deployment. When the command
/// ends on its own, the watchdog is killed first: what the command left running (a daemon it
/// started on purpose) is left alone.
struct Watchdog {
    child: tokio::process::Child,
    group: i32,
}

impl Watchdog {
    fn start() -> std::io::Result<Watchdog> {
        let child = tokio::process::Command::new("/bin/sh")
            .args(["-c", "read -r _; kill -KILL 0"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()?;
        let group = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .ok_or_else(|| std::io::Error::other("the watchdog has no process id"))?;
        Ok(Watchdog { child, group })
    }

    /// The command ended on its own: the watchdog goes without killing anything.
    async fn stand_down(mut self) {
        let _ = self.child.kill().await;
    }
}

#[async_trait]
impl DeploymentTarget for CommandTarget {
    fn kind(&self) -> &'static str {
        "command"
    }

    async fn deploy(&self, job: &DeployJob<'_>) -> DeployOutcome {
        let failed = |msg: String| DeployOutcome {
            succeeded: false,
            exit_code: None,
            output: format!("{msg}\n").into_bytes(),
        };
        let mut vars = vec![
            ("WARD_ENV", job.environment.to_string()),
            ("WARD_CHANGE", job.change.to_string()),
            ("WARD_DIGESTS", job.digests.join(" ")),
            ("WARD_TENANT", job.tenant.unwrap_or_default().to_string()),
            ("WARD_RING", job.ring.unwrap_or_default().to_string()),
        ];
        // The configuration goes in a private file that lives as long as the command.
        let file = match job.config {
            Some(c) => match tempfile::NamedTempFile::with_prefix("ward-config-")
                .and_then(|mut f| std::io::Write::write_all(&mut f, &c.bytes).map(|()| f))
            {
                Ok(f) => {
                    vars.push(("WARD_CONFIG", f.path().display().to_string()));
                    vars.push(("WARD_CONFIG_DIGEST", c.digest.clone()));
                    Some(f)
                }
                Err(e) => return failed(format!("could not write the configuration file: {e}")),
            },
            None => None,
        };
        let result = run(&self.command, &vars, MAX_OUTPUT).await;
        drop(file);
        match result {
            Ok((status, mut out, err)) => {
                out.extend_from_slice(&err);
                if out.len() > MAX_OUTPUT {
                    out.truncate(MAX_OUTPUT);
                    out.extend_from_slice(b"\n[output cut at 256 KiB]\n");
                }
                DeployOutcome {
                    succeeded: status.success(),
                    exit_code: status.code(),
                    output: out,
                }
            }
            Err(e) => failed(e),
        }
    }

    async fn observe(&self, environment: &str) -> Result<Vec<Running>, String> {
        observe_with(&self.observe_command, environment).await
    }
}

async fn observe_with(argv: &[String], environment: &str) -> Result<Vec<Running>, String> {
    if argv.is_empty() {
        return Err(format!(
            "{environment} has no observe_command; set one in [[environments]] or give what runs as a file"
        ));
    }
    let (status, out, err) = run(argv, &[("WARD_ENV", environment.to_string())], MAX_OBSERVATION + 1).await?;
    if !status.success() {
        return Err(format!(
            "observe_command exited with {status}: {}",
            String::from_utf8_lossy(&err[..err.len().min(2000)]).trim()
        ));
    }
    if out.len() > MAX_OBSERVATION {
        return Err(format!("observe_command printed more than {MAX_OBSERVATION} bytes"));
    }
    parse_running(&String::from_utf8_lossy(&out))
}

/// Reads what runs from a runtime's report: a JSON list of digests, one object
/// `{"digests", "config_digest"}`, a list of such objects with `tenant`, or digests one per line
/// (blank lines and `#` comments skipped).
pub fn parse_running(text: &str) -> Result<Vec<Running>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if let Ok(list) = serde_json::from_value::<Vec<String>>(v.clone()) {
            return Ok(vec![Running {
                digests: list,
                ..Running::default()
            }]);
        }
        if let Ok(one) = serde_json::from_value::<Running>(v.clone()) {
            return Ok(vec![one]);
        }
        return serde_json::from_value::<Vec<Running>>(v)
            .map_err(|e| format!("expected a list of digests or of {{tenant, digests, config_digest}}: {e}"));
    }
    Ok(vec![Running {
        digests: text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect(),
        ..Running::default()
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_reports_in_every_shape() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            parse_running(&format!("# now\n{d}\n\n")).unwrap()[0].digests,
            vec![d.clone()]
        );
        assert_eq!(
            parse_running(&format!("[\"{d}\"]")).unwrap()[0].digests,
            vec![d.clone()]
        );
        let one = parse_running(&format!("{{\"digests\": [\"{d}\"], \"config_digest\": \"{d}\"}}")).unwrap();
        assert_eq!(one[0].config_digest.as_deref(), Some(d.as_str()));
        let per = parse_running(&format!(
            "[{{\"tenant\": \"a\", \"digests\": [\"{d}\"]}}, {{\"tenant\": \"b\", \"digests\": []}}]"
        ))
        .unwrap();
        assert_eq!(per.len(), 2);
        assert_eq!(per[1].tenant.as_deref(), Some("b"));
        assert!(parse_running("{\"digests\": 5}").is_err());
        assert!(parse_running("[1, 2").is_err());
    }

    #[tokio::test]
    async fn a_command_gets_the_release_and_its_configuration() {
        let t = CommandTarget {
            command: vec![
                "sh".into(),
                "-c".into(),
                "echo $WARD_ENV/$WARD_TENANT/$WARD_RING $WARD_DIGESTS $WARD_CONFIG_DIGEST; cat $WARD_CONFIG; exit 4"
                    .into(),
            ],
            observe_command: vec![],
        };
        let cfg = Effective {
            digest: "sha256:cf".into(),
            bytes: b"{\"values\":{}}".to_vec(),
        };
        let digests = vec!["sha256:aa".to_string()];
        let out = t
            .deploy(&DeployJob {
                environment: "prod",
                change: "CHG-1",
                digests: &digests,
                tenant: Some("clinic-a"),
                ring: Some("pilot"),
                config: Some(&cfg),
                tenant_configs: &[],
            })
            .await;
        assert!(!out.succeeded);
        assert_eq!(out.exit_code, Some(4));
        assert_eq!(
            String::from_utf8_lossy(&out.output),
            "prod/clinic-a/pilot sha256:aa sha256:cf\n{\"values\":{}}"
        );
        assert!(t.observe("prod").await.unwrap_err().contains("observe_command"));
    }

    /// Whether process `pid` runs (a zombie waiting for its parent does not).
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
            .unwrap_or(false)
    }

    async fn wait_for(path: &std::path::Path) -> String {
        for _ in 0..400 {
            if let Ok(s) = std::fs::read_to_string(path)
                && s.ends_with('\n')
            {
                return s.trim().to_string();
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("{} never written", path.display());
    }

    /// A command Ward gives up on (its time limit, a dropped future) takes every process it
    /// started with it: the kill used to reach the command alone, and what it had started ran
    /// on beside the next deployment. One that ends on its own leaves what it started alone.
    #[tokio::test]
    async fn a_command_given_up_on_takes_the_processes_it_started_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (child, kept) = (dir.path().join("child"), dir.path().join("kept"));
        let hangs = vec![
            "sh".to_string(),
            "-c".into(),
            format!("sleep 60 & echo $! > {}; wait", child.display()),
        ];
        let given_up = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            let started = wait_for(&child);
            tokio::select! {
                _ = run(&hangs, &[], 100) => panic!("the command ended on its own"),
                pid = started => pid,
            }
        })
        .await
        .unwrap();
        let mut gone = false;
        for _ in 0..200 {
            if !alive(&given_up) {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(gone, "the process the command started ran on after it was given up");

        let daemon = vec![
            "sh".to_string(),
            "-c".into(),
            format!("sleep 60 > /dev/null 2>&1 & echo $! > {}", kept.display()),
        ];
        let (status, _, _) = run(&daemon, &[], 100).await.unwrap();
        assert!(status.success());
        let pid = wait_for(&kept).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            alive(&pid),
            "what a command that ended on its own started is left alone"
        );
        let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
    }
}
