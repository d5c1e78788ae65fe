//! The HTTP adapter's part of `ward.toml` — listen address, TLS files and OIDC providers — and
//! the whole file as `ward serve` reads it: these sections beside the services' own
//! ([`ward_app::config::Config`], loaded and validated by the same code in every mode).
//!
//! ```toml
//! [server]
//! listen = "0.0.0.0:8443"
//! tls_cert = "tls/cert.pem"   # relative paths are relative to this file
//! tls_key = "tls/key.pem"
//!
//! [[oidc]]                    # see `oidc` for every field
//! name = "github-actions"
//! issuer = "https://token.actions.githubusercontent.com"
//! audience = "https://ward.example.org"
//! jwks_url = "https://token.actions.githubusercontent.com/.well-known/jwks"
//! identity = "ci:github/{repository}/{workflow}"
//! ```
//!
//! Every other section is the services' (see [`ward_app::config`]).

use crate::oidc::ProviderConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
pub use ward_app::config::{Config, ConfigError, MAX_CONFIG};

/// `[server]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on.
    #[serde(default)]
    pub listen: Option<String>,
    /// PEM certificate chain; with `tls_key`, the server speaks HTTPS only.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
}

/// The adapter's own sections.
#[derive(Deserialize)]
struct HttpSections {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    oidc: Vec<ProviderConfig>,
}

/// `ward.toml` as the server reads it: `[server]`, `[[oidc]]` and the services' sections
/// (`app`, also reached through `Deref`: `cfg.risk`, `cfg.gate_policy()`).
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// `[server]`.
    pub server: ServerSection,
    /// `[[oidc]]` providers.
    pub oidc: Vec<ProviderConfig>,
    /// The sections the services read.
    pub app: Config,
}

impl std::ops::Deref for ServerConfig {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.app
    }
}

impl ServerConfig {
    /// Reads and parses `path`, resolving relative file paths against its directory.
    pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
        let bytes = ward_app::config::read(path)?;
        ServerConfig::parse(path, &bytes)
    }

    /// Parses `bytes` as the file `path` (relative file paths resolved against its directory):
    /// what [`ServerConfig::load`] does once it has read them. A caller that records the digest
    /// of the bytes it read parses exactly those (a reloading server). The services' sections
    /// are validated by [`Config::prepare`], after the `[[oidc]]` checks.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<ServerConfig, ConfigError> {
        let err = |reason: String| ConfigError::at(path, reason);
        let text = ward_app::config::text(path, bytes)?;
        let HttpSections { mut server, mut oidc } =
            toml::from_str(text).map_err(|e| err(ward_app::config::toml_error(text, &e)))?;
        let mut app = Config::deserialize_text(path, text)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        server.tls_cert.as_mut().map(resolve);
        server.tls_key.as_mut().map(resolve);
        for o in &mut oidc {
            o.jwks_file.as_mut().map(resolve);
        }
        // A provider's name is recorded with its sign-ins and the literal prefix of its
        // identity template in every identity it issues: judged as declared names first, by
        // place (the messages below repeat them).
        for (i, o) in oidc.iter().enumerate() {
            for (what, word) in [
                ("name", o.name.as_str()),
                ("identity prefix", crate::oidc::template_prefix(&o.identity)),
            ] {
                if let Err(e) = ward_app::config::declared_name(what, word) {
                    return Err(err(format!("[[oidc]] #{}: its {what}: {}", i + 1, e.message)));
                }
            }
        }
        crate::oidc::check_namespaces(&oidc).map_err(|e| err(format!("[[oidc]] {}: {}", e.provider, e.reason)))?;
        crate::oidc::check_browser_fields(&oidc).map_err(|e| err(format!("[[oidc]] {}: {}", e.provider, e.reason)))?;
        app.prepare(path)?;
        crate::oidc::check_author_mapping_issuers(&oidc, &app.approvals.git_authors)
            .map_err(|reason| err(format!("[approvals] git_authors: {reason}")))?;
        Ok(ServerConfig { server, oidc, app })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        std::fs::write(
            &path,
            r#"
[server]
listen = "127.0.0.1:9443"
tls_cert = "cert.pem"
tls_key = "/abs/key.pem"

[[oidc]]
name = "gh"
issuer = "https://token.actions.githubusercontent.com"
audience = "ward"
jwks_file = "jwks.json"
identity = "ci:github/{repository}/{workflow}"
[[oidc.roles]]
claim = "repository"
equals = "acme/api"
roles = ["developer", "release-manager"]

[gates]
something = "for another part of Ward"
"#,
        )
        .unwrap();
        let cfg = ServerConfig::load(&path).unwrap();
        assert_eq!(cfg.server.tls_cert, Some(dir.path().join("cert.pem")));
        assert_eq!(cfg.server.tls_key, Some(PathBuf::from("/abs/key.pem")));
        assert_eq!(cfg.oidc[0].jwks_file, Some(dir.path().join("jwks.json")));
        assert_eq!(cfg.oidc[0].roles[0].roles.len(), 2);
        assert_eq!(cfg.oidc[0].kind, ward_ledger::ActorKind::Automation);
    }

    /// A provider's name is recorded with its sign-ins, its identity prefix in every identity it
    /// issues: judged at load, refused by place, never repeated (a helper's sibling of the
    /// fourteenth session's calendar names).
    #[test]
    fn a_providers_name_or_identity_prefix_holding_a_person_is_refused_unrepeated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        let file = |name: &str, prefix: &str| {
            format!(
                "[[oidc]]\nname = \"{name}\"\nkind = \"human\"\nissuer = \"https://idp.example.org\"\naudience = \"ward\"\njwks_file = \"jwks.json\"\nidentity = \"{prefix}{{email}}\"\n"
            )
        };
        for (name, prefix, planted) in [
            ("jane-doe-1961-04-12", "staff:", "1961"),
            ("staff", "mrn-00123456:", "00123456"),
            ("call-212-867-5309", "staff:", "5309"),
        ] {
            std::fs::write(&path, file(name, prefix)).unwrap();
            let e = ServerConfig::load(&path).unwrap_err().to_string();
            assert!(e.contains("[[oidc]] #1"), "{e}");
            assert!(!e.contains(planted), "{e}");
        }
        for (name, prefix) in [("staff", "staff:"), ("github-actions", "ci:github/")] {
            std::fs::write(&path, file(name, prefix)).unwrap();
            ServerConfig::load(&path).expect(name);
        }
    }

    /// A `git_authors` mapping to an identity no issuer of this server writes for a person (a
    /// typo'd prefix, an automation issuer's) maps the author to nobody, and her real identity
    /// signed (a helper's attack on the tenth session's head): refused at load by its place.
    #[test]
    fn a_mapping_to_an_identity_no_issuer_writes_for_a_person_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        let file = |target: &str| {
            format!(
                r#"
[[oidc]]
name = "staff"
kind = "human"
issuer = "https://idp.example.org"
audience = "ward"
jwks_file = "jwks.json"
identity = "staff:{{email}}"

[[oidc]]
name = "gh"
issuer = "https://token.actions.githubusercontent.com"
audience = "ward"
jwks_file = "jwks.json"
identity = "ci:github/{{repository}}"

[approvals]
git_authors = {{ "dana.smith@corp.com" = "{target}" }}
"#
            )
        };
        for target in [
            "stafff:dana.smith@corp.com",
            "ci:github/dana",
            "tokens:dana",
            "oidc/x:dana",
        ] {
            std::fs::write(&path, file(target)).unwrap();
            let e = ServerConfig::load(&path).unwrap_err().to_string();
            assert!(e.contains("mapping #1") && e.contains("staff:"), "{target}: {e}");
            assert!(!e.contains("dana"), "{e}");
        }
        for target in ["staff:dana.smith@corp.com", "user:dana"] {
            std::fs::write(&path, file(target)).unwrap();
            ServerConfig::load(&path).expect(target);
        }
    }

    #[test]
    fn errors_name_the_file_and_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        std::fs::write(&path, "[server]\nlisten = 5\nbogus = true\n").unwrap();
        let e = ServerConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("ward.toml"), "{e}");
        std::fs::write(&path, "[[oidc]]\nname = \"x\"\n").unwrap();
        assert!(
            ServerConfig::load(&path)
                .unwrap_err()
                .to_string()
                .contains("missing field")
        );
    }
}
