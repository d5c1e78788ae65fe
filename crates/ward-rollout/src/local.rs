//! One environment on the local runtime: its router (bound when `ward serve` starts) and the
//! instances behind it — stable, canary, and the previous stable kept warm after a blue-green
//! switch.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use ward_app::environment::RuntimeConfig;
use ward_app::error::AppError;
use ward_app::promotion::config::Effective;
use ward_runtime::router::{RouteTable, Router, Upstream};
use ward_runtime::supervisor::{Instance, InstanceSpec};

/// A version running on the local runtime.
pub struct Running {
    /// Artifact digest (also its version label in the router's metrics).
    pub digest: String,
    /// Effective configuration it was started with.
    pub config_digest: Option<String>,
    /// Per tenant: the effective configuration delivered to it (tenant → digest).
    pub tenant_configs: BTreeMap<String, String>,
    /// The supervised process.
    pub instance: Instance,
}

impl Running {
    /// Its router upstream.
    pub fn upstream(&self) -> Upstream {
        Upstream {
            version: self.digest.clone(),
            addr: self.instance.addr(),
        }
    }
}

/// What runs behind the router.
#[derive(Default)]
pub struct Slots {
    /// The known-good version.
    pub stable: Option<Running>,
    /// The version being exposed.
    pub canary: Option<Running>,
    /// The previous stable, kept warm after a blue-green switch.
    pub warm: Option<Running>,
}

/// An environment on the local runtime.
pub struct LocalEnv {
    /// Environment name.
    pub name: String,
    /// Its runtime configuration.
    pub config: RuntimeConfig,
    /// The router.
    pub router: Arc<Router>,
    /// The instances.
    pub slots: tokio::sync::Mutex<Slots>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for LocalEnv {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl LocalEnv {
    /// Binds the router (and its admin listener) of `name`.
    pub async fn bind(name: &str, config: &RuntimeConfig) -> Result<LocalEnv, String> {
        let router = Router::with_upstream_timeout(
            &config.tenant_header,
            std::time::Duration::from_millis(config.upstream_timeout_ms.max(1)),
        );
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("{name}: cannot listen on {}: {e}", config.listen))?;
        let mut tasks = vec![tokio::spawn(router.clone().serve(listener))];
        if let Some(admin) = config.admin {
            let l = tokio::net::TcpListener::bind(admin)
                .await
                .map_err(|e| format!("{name}: cannot listen on {admin}: {e}"))?;
            tasks.push(tokio::spawn(router.clone().serve_admin(l)));
        }
        Ok(LocalEnv {
            name: name.into(),
            config: config.clone(),
            router,
            slots: tokio::sync::Mutex::new(Slots::default()),
            tasks,
        })
    }

    /// Starts `digest` with `config` (as environment variables) and each tenant's effective
    /// configuration (as files in `WARD_TENANT_CONFIG_DIR`), and waits until it is ready.
    pub async fn start(
        &self,
        data_dir: &Path,
        role: &str,
        digest: &str,
        config: Option<&Effective>,
        tenants: &[(String, Effective)],
    ) -> Result<Running, AppError> {
        let source = find_artifact(&self.config.artifacts, digest)?;
        let root = data_dir.join("runtime");
        let d = digest.to_string();
        let installed = tokio::task::spawn_blocking(move || ward_runtime::artifact::install(&root, &source, &d))
            .await
            .map_err(AppError::internal)?
            .map_err(runtime_error)?;
        let mut env = match config {
            Some(c) => config_vars(&c.bytes),
            None => vec![],
        };
        env.push(("WARD_ENV".into(), self.name.clone()));
        env.push(("WARD_VERSION".into(), digest.into()));
        if let Some(c) = config {
            env.push(("WARD_CONFIG_DIGEST".into(), c.digest.clone()));
        }
        if !tenants.is_empty() {
            let dir = tenant_config_dir(&data_dir.join("runtime"), tenants)
                .map_err(|e| AppError::internal(format!("writing the tenants' configuration: {e}")))?;
            env.push(("WARD_TENANT_CONFIG_DIR".into(), dir.display().to_string()));
        }
        let instance = Instance::start(InstanceSpec {
            name: format!("{}/{role}", self.name),
            version: digest.into(),
            program: installed.program,
            dir: installed.dir,
            env,
            health_path: self.config.health.clone(),
        })
        .map_err(runtime_error)?;
        if let Err(e) = instance
            .wait_ready(Duration::from_millis(self.config.ready_timeout_ms))
            .await
        {
            instance.stop().await;
            return Err(runtime_error(e));
        }
        Ok(Running {
            digest: digest.into(),
            config_digest: config.map(|c| c.digest.clone()),
            tenant_configs: tenants.iter().map(|(t, c)| (t.clone(), c.digest.clone())).collect(),
            instance,
        })
    }

    /// All traffic on the stable version (or none when nothing runs).
    pub fn route_stable(&self, slots: &Slots) {
        match &slots.stable {
            Some(s) => self.router.set_routes(RouteTable::stable_only(s.upstream())),
            None => self.router.set_routes(RouteTable::default()),
        }
    }
}

/// The directory of one set of tenant configurations: `<root>/tenant-config/<hex>/<tenant>.json`,
/// named by the digest of the set, written once (into a temporary directory, then renamed) and
/// never changed after, so running instances never see a half-written file.
fn tenant_config_dir(root: &Path, tenants: &[(String, Effective)]) -> std::io::Result<PathBuf> {
    let set: String = tenants.iter().map(|(t, c)| format!("{t}={}\n", c.digest)).collect();
    let digest = ward_evidence::digest::of_bytes(set.as_bytes());
    let hex = digest.trim_start_matches("sha256:");
    let parent = root.join("tenant-config");
    let dir = std::path::absolute(parent.join(hex))?;
    if dir.is_dir() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&parent)?;
    let tmp = tempfile::Builder::new().prefix(".tmp-").tempdir_in(&parent)?;
    for (tenant, c) in tenants {
        ward_app::identities::check_name("tenant", tenant)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.message))?;
        std::fs::write(tmp.path().join(format!("{tenant}.json")), &c.bytes)?;
    }
    match std::fs::rename(tmp.path(), &dir) {
        Ok(()) => {
            // Renamed away: nothing left for the guard to delete.
            let _ = tmp.keep();
            Ok(dir)
        }
        // Another start wrote the same set first.
        Err(_) if dir.is_dir() => Ok(dir),
        Err(e) => Err(e),
    }
}

fn runtime_error(e: ward_runtime::RuntimeError) -> AppError {
    if let ward_runtime::RuntimeError::Unsafe(u) = &e {
        return AppError::new(
            ward_app::error::Kind::Unprocessable,
            "artifact_unsafe",
            e.to_string(),
            format!(
                "rebuild the artifact so that everything it runs is inside it, covered by its digest ({})",
                u.code()
            ),
        );
    }
    AppError::new(
        ward_app::error::Kind::Unprocessable,
        "runtime_error",
        e.to_string(),
        "check the artifact and its health path ([environments.runtime] in ward.toml)",
    )
}

/// Digests of files already hashed: (path, size, modified) → digest.
type DigestCache = Mutex<HashMap<(PathBuf, u64, std::time::SystemTime), String>>;

/// The file in `dir` whose sha256 is `digest` (hashes are cached by path, size and time).
pub fn find_artifact(dir: &Path, digest: &str) -> Result<PathBuf, AppError> {
    static CACHE: OnceLock<DigestCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let entries = std::fs::read_dir(dir).map_err(|e| {
        AppError::new(
            ward_app::error::Kind::Unprocessable,
            "artifact_not_found",
            // The directory is not named: the message reaches a rollback's reason in the log.
            format!("cannot read the environment's artifact directory ({})", e.kind()),
            "set [environments.runtime] artifacts to the directory holding your builds",
        )
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let key = (
            path.clone(),
            meta.len(),
            meta.modified().unwrap_or(std::time::UNIX_EPOCH),
        );
        let known = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let d = match known {
            Some(d) => d,
            None => {
                let Ok(d) = ward_runtime::artifact::file_digest(&path) else {
                    continue;
                };
                cache
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key, d.clone());
                d
            }
        };
        if d == digest {
            return Ok(path);
        }
    }
    Err(AppError::new(
        ward_app::error::Kind::Unprocessable,
        "artifact_not_found",
        format!("no file in the environment's artifact directory has digest {digest}"),
        "put the build whose sha256 is this digest in the artifact directory",
    ))
}

/// The effective configuration as environment variables: `db.url` → `DB_URL`. `env://NAME`
/// references resolve from Ward's own environment and `file://` ones from the file (up to
/// 64 KiB); `vault://` references are passed through for the service to resolve.
pub fn config_vars(effective: &[u8]) -> Vec<(String, String)> {
    let doc: Value = serde_json::from_slice(effective).unwrap_or(Value::Null);
    let mut out = Vec::new();
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let key: String = k
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() {
                                c.to_ascii_uppercase()
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    let p = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}_{key}")
                    };
                    walk(&p, x, out);
                }
            }
            Value::String(s) => out.push((prefix.to_string(), resolve(s))),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    walk("", doc.get("values").unwrap_or(&Value::Null), &mut out);
    out
}

fn resolve(s: &str) -> String {
    if let Some(name) = s.strip_prefix("env://") {
        return std::env::var(name).unwrap_or_default();
    }
    if let Some(path) = s.strip_prefix("file://") {
        use std::io::Read;
        let mut text = String::new();
        if let Ok(f) = std::fs::File::open(path) {
            let _ = f.take(64 * 1024).read_to_string(&mut text);
        }
        return text;
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eff(bytes: &str) -> Effective {
        Effective {
            digest: ward_evidence::digest::of_bytes(bytes.as_bytes()),
            bytes: bytes.as_bytes().to_vec(),
        }
    }

    #[test]
    fn tenant_configurations_are_written_once_per_set() {
        let root = tempfile::tempdir().unwrap();
        let set = vec![
            ("clinic-a".to_string(), eff(r#"{"values":{"w":2}}"#)),
            ("clinic-b".to_string(), eff(r#"{"values":{"w":24}}"#)),
        ];
        let dir = tenant_config_dir(root.path(), &set).unwrap();
        assert!(dir.is_absolute());
        assert_eq!(std::fs::read(dir.join("clinic-a.json")).unwrap(), set[0].1.bytes);
        assert_eq!(std::fs::read(dir.join("clinic-b.json")).unwrap(), set[1].1.bytes);
        // The same set is the same directory; another set is another one, the first untouched.
        assert_eq!(tenant_config_dir(root.path(), &set).unwrap(), dir);
        let other = vec![("clinic-a".to_string(), eff(r#"{"values":{"w":3}}"#))];
        let dir2 = tenant_config_dir(root.path(), &other).unwrap();
        assert_ne!(dir2, dir);
        assert_eq!(std::fs::read(dir.join("clinic-a.json")).unwrap(), set[0].1.bytes);
        // A name that could escape the directory is refused and leaves nothing behind.
        let bad = vec![("../evil".to_string(), eff("{}"))];
        assert!(tenant_config_dir(root.path(), &bad).is_err());
        let left: Vec<_> = std::fs::read_dir(root.path().join("tenant-config")).unwrap().collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }

    #[test]
    fn configuration_becomes_environment_variables() {
        let doc = serde_json::json!({"values": {"db": {"url": "postgres://db/app", "pool": 5}, "feature-x": true,
            "home": "env://HOME", "token": "vault://kv/app#token"}});
        let vars = config_vars(doc.to_string().as_bytes());
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("DB_URL").as_deref(), Some("postgres://db/app"));
        assert_eq!(get("DB_POOL").as_deref(), Some("5"));
        assert_eq!(get("FEATURE_X").as_deref(), Some("true"));
        assert_eq!(get("HOME"), std::env::var("HOME").ok());
        assert_eq!(get("TOKEN").as_deref(), Some("vault://kv/app#token"));
    }
}
