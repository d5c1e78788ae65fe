//! `ward.toml`: the sections the services read, loaded and validated in one place for every
//! adapter (the server, the CLI's local mode, the demo and the benchmarks).
//!
//! ```toml
//! [guard]                     # the PHI/secret guard (see ward_evidence::guard)
//! allow_patterns = ["^AKIAIOSFODNN7EXAMPLE$"]
//! allow_paths = ["synthetic-*.xml"]
//! disable = ["high-entropy"]
//! mrn_patterns = ['\bACME-\d{7}\b']
//!
//! [risk]                      # see ward_core::risk; an explicit section replaces the defaults
//! default_tier = "low"
//! [[risk.path_tags]]
//! glob = "migrations/**"
//! tag = "schema_migration"
//! [[risk.tiers]]
//! when = ["phi", "schema_migration"]
//! tier = "high"
//!
//! [gate]
//! policy_dir = "policies"     # the team's *.rego (package ward.gate), beside the defaults
//!
//! [controls.tiers.high]       # what a tier requires (see ward_app::gate::Controls): a tier
//! evidence = ["tests_passed", "no_critical_sast", "sbom", "provenance", "rollback_plan"]
//! approvals = 2               # not named, or a key not named, keeps the built-in default;
//! roles = { release-manager = 1 }   # unknown tiers/keys and tiers requiring nothing are refused
//! steps = ["test"]            # in-toto link steps each artifact needs
//! ticket = true               # default: medium and high
//! evidence_waiver_approvers = 2     # distinct waiver approvers to waive evidence.* (high: 2)
//!
//! [controls.sla]              # hours an open finding may stay open (critical: blocks at once)
//! high = 72
//! medium = 720
//! low = 2160
//!
//! [[calendar.windows]]        # see ward_core::calendar (cron over local time, DST-correct)
//! name = "business-hours"
//! cron = "* 9-16 * * 1-5"
//! tz = "America/New_York"
//! environments = ["prod"]
//!
//! [artifacts]                 # see ward_app::evidence: a version names one digest
//! mutable_prerelease = false  # true: semver pre-releases (1.2.3-rc.1) may be re-registered
//!
//! [approvals]                 # see ward_core::approval
//! meanings = ["reviewed", "approved", "qa-approved", "release-authority"]
//! admins_may_approve = false
//! git_authors = { "dana@users.noreply.github.com" = "user:dana" }
//! meaning_roles = { "privacy-review" = ["privacy-officer"] }   # the default: only they sign it
//!
//! [[services]]                # the DR inventory (see ward_core::dr, docs/METRICS.md)
//! name = "orders"
//! tier = "high"
//! rpo = "24h"
//! rto = "1h"
//! stores = ["orders-db"]      # pgBackRest stanza, Velero namespace or AWS resource ARN
//!
//! [dr]                        # environments = ["prod"] by default
//! tiers.high = { restore_test_days = 90, rollback_drill_days = 30 }
//!
//! [metrics]                  # see ward_app::metrics (docs/METRICS.md)
//! emergency_window_hours = 24
//! gauge_window_days = 30
//! ```
//!
//! `[server]` and `[[oidc]]` belong to the HTTP adapter (ward-server's `config`), which reads the
//! same file; other sections are ignored here.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Largest configuration file read.
pub const MAX_CONFIG: u64 = 1024 * 1024;

/// `[gate]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSection {
    /// Directory of the team's `*.rego` policies (package `ward.gate`), relative to ward.toml.
    #[serde(default)]
    pub policy_dir: Option<PathBuf>,
}

/// What the services read from `ward.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Config {
    /// `[guard]`: the PHI/secret guard's allowlists and MRN formats.
    #[serde(default)]
    pub guard: ward_evidence::guard::GuardSection,
    /// `[risk]`: path → tag and tag → tier rules (defaults when absent).
    #[serde(default)]
    pub risk: ward_core::risk::RiskRules,
    /// `[approvals]`: signature meanings and separation-of-duties options.
    #[serde(default)]
    pub approvals: ward_core::approval::ApprovalRules,
    /// `[gate]`: where the team's Rego policies are.
    #[serde(default)]
    pub gate: GateSection,
    /// `[breakglass]`: when retrospective reviews become overdue.
    #[serde(default)]
    pub breakglass: crate::exceptions::BreakglassRules,
    /// `[[environments]]`: promotion chains and deployment targets.
    #[serde(default)]
    pub environments: Vec<crate::environment::Environment>,
    /// `[calendar]`: change windows and freezes.
    #[serde(default)]
    pub calendar: ward_core::calendar::Calendar,
    /// `[controls]`: what each tier requires.
    #[serde(default)]
    pub controls: crate::gate::Controls,
    /// `[artifacts]`: registration rules (`mutable_prerelease`).
    #[serde(default)]
    pub artifacts: crate::evidence::ArtifactRules,
    /// `[metrics]`: the emergency window of DORA's change fail rate, the gauges' window.
    #[serde(default)]
    pub metrics: crate::metrics::MetricsRules,
    /// `[[slo]]`: error budgets that freeze a service's deployments while it burns them.
    #[serde(default)]
    pub slo: Vec<ward_core::slo::Objective>,
    /// `[[services]]`: the DR inventory (tier, RPO, RTO, stateful stores).
    #[serde(default)]
    pub services: Vec<ward_core::dr::Service>,
    /// `[dr]`: DR readiness rules per tier and the environments they gate.
    #[serde(default)]
    pub dr: ward_core::dr::DrRules,
    /// `guard`, compiled once by [`Config::prepare`].
    #[serde(skip)]
    compiled_guard: ward_evidence::guard::GuardConfig,
}

/// Why the configuration could not be read.
#[derive(Debug)]
pub struct ConfigError {
    /// File.
    pub path: String,
    /// Problem (with line and column for syntax errors).
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error about the file `path`.
    pub fn at(path: &Path, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }
}

/// The bytes of the file `path`, refused beyond [`MAX_CONFIG`].
pub fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let meta = std::fs::metadata(path).map_err(|e| ConfigError::at(path, e.to_string()))?;
    if meta.len() > MAX_CONFIG {
        return Err(ConfigError::at(path, format!("larger than {MAX_CONFIG} bytes")));
    }
    std::fs::read(path).map_err(|e| ConfigError::at(path, e.to_string()))
}

/// `bytes` (the file `path`) as text: at most [`MAX_CONFIG`] bytes of UTF-8.
pub fn text<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, ConfigError> {
    if bytes.len() as u64 > MAX_CONFIG {
        return Err(ConfigError::at(path, format!("larger than {MAX_CONFIG} bytes")));
    }
    std::str::from_utf8(bytes).map_err(|e| ConfigError::at(path, e.to_string()))
}

impl Config {
    /// Reads, parses and validates `path`, resolving relative file paths against its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let bytes = read(path)?;
        Config::parse(path, &bytes)
    }

    /// Parses and validates `bytes` as the file `path`: what [`Config::load`] does once it has
    /// read them. A caller that records the digest of the bytes it read parses exactly those.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
        let mut cfg = Config::deserialize_text(path, text(path, bytes)?)?;
        cfg.prepare(path)?;
        Ok(cfg)
    }

    /// The sections of the TOML `text` (the file `path`), not yet resolved nor validated.
    pub fn deserialize_text(path: &Path, text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::at(path, toml_error(text, &e)))
    }

    /// Resolves relative file paths against the directory of `path` and validates every section
    /// (compiling the guard once); the first problem found is the error.
    pub fn prepare(&mut self, path: &Path) -> Result<(), ConfigError> {
        let err = |reason: String| ConfigError::at(path, reason);
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        self.gate.policy_dir.as_mut().map(resolve);
        for e in &mut self.environments {
            e.policy_dir.as_mut().map(resolve);
        }
        self.approvals.validate().map_err(err)?;
        check_author_mappings(&self.approvals).map_err(err)?;
        self.compiled_guard = self.guard.compile().map_err(err)?;
        // A window's and a freeze's names are written into the gate's reasons, which the log
        // keeps (a helper's attack on the thirteenth session's head: a freeze named
        // `jane.doe%40gmail.com` reached every decision's leaf): judged as declared names, before
        // anything repeats them.
        let named = self
            .calendar
            .windows
            .iter()
            .map(|w| ("[[calendar.windows]]", &w.name))
            .chain(self.calendar.freezes.iter().map(|f| ("[[calendar.freezes]]", &f.name)));
        for (i, (section, name)) in named.enumerate() {
            if let Err(e) = declared_name("name", name) {
                return Err(err(format!("{section} (#{} of the calendar): {}", i + 1, e.message)));
            }
        }
        self.calendar.validate().map_err(|e| err(format!("[calendar] {e}")))?;
        self.judge_declared_words().map_err(err)?;
        // Numbers the gate's reasons, a proposal and a rollback's reason repeat as written.
        let numbers = [
            ("[controls]", serde_json::to_value(&self.controls)),
            ("[approvals]", serde_json::to_value(&self.approvals)),
            ("[breakglass]", serde_json::to_value(&self.breakglass)),
            ("[dr]", serde_json::to_value(&self.dr)),
            ("[[slo]]", serde_json::to_value(&self.slo)),
            ("[[environments]]", serde_json::to_value(&self.environments)),
        ];
        for (what, section) in numbers {
            let section = section.map_err(|e| err(format!("{what}: {e}")))?;
            crate::identifier::judge_numbers(what, &section).map_err(|e| err(e.message))?;
        }
        // A review due in more business days than a year's is no review (and its due date is
        // counted day by day).
        if self.breakglass.review_business_days > 260 {
            return Err(err(
                "[breakglass] review_business_days: at most 260 (a year of business days)".to_string(),
            ));
        }
        crate::environment::validate(&self.environments).map_err(err)?;
        self.metrics.validate().map_err(err)?;
        for (i, o) in self.slo.iter().enumerate() {
            // Its service is named in every reason it gives (recorded with the gate's decision).
            let named = declared_name("service", &o.service)
                .and_then(|()| crate::identifier::check_service_name("service", &o.service));
            if let Err(e) = named {
                return Err(err(format!("[[slo]] #{}: its service: {}", i + 1, e.message)));
            }
            o.validate().map_err(err)?;
            if let Some(e) = o
                .environments
                .iter()
                .find(|e| !self.environments.iter().any(|d| &d.name == *e))
            {
                return Err(err(format!(
                    "[[slo]] {}: environment {e} is not declared; {}",
                    o.service,
                    crate::environment::undeclared_hint(&self.environments, e)
                )));
            }
        }
        // Names judged first: the inventory's messages name a service by its name.
        for (i, s) in self.services.iter().enumerate() {
            let named = crate::identifier::judge("service", &s.name)
                .and_then(|()| crate::identifier::check_service_name("service", &s.name));
            if let Err(e) = named {
                return Err(err(format!("[[services]] #{}: its name: {}", i + 1, e.message)));
            }
        }
        ward_core::dr::validate_inventory(&self.services).map_err(err)?;
        // A service's stores are written into the leaves of its restore tests: judged as
        // identifiers (an ARN's account number is kept; a helper's attack on `afa6612`:
        // `5558675309`, `roe-j-2015-04-12` and look-alike digits were declared and recorded).
        for (i, s) in self.services.iter().enumerate() {
            // Its name (judged above) is an artifact's service: judged as `artifact register`
            // judges one (a helper's attack on `d683bca`: `john-smith-1980-01-02` loaded and
            // was printed).
            for (k, store) in s.stores.iter().enumerate() {
                if let Err(e) = declared_name("store", store) {
                    return Err(err(format!("[[services]] #{}: store #{}: {}", i + 1, k + 1, e.message)));
                }
            }
        }
        self.dr.validate().map_err(err)?;
        if let Some(e) = self.dr.environments.iter().find(|e| {
            !self.services.is_empty()
                && !self.environments.is_empty()
                && !self.environments.iter().any(|d| &d.name == *e)
        }) {
            return Err(err(format!(
                "[dr] environments: {e} is not declared; {}",
                crate::environment::undeclared_hint(&self.environments, e)
            )));
        }
        Ok(())
    }

    /// The words the configuration names that Ward writes into leaves and the gate's reasons
    /// as they are: risk tags, their globs and the tags and attributes tier rules name, signature
    /// meanings (and those `meaning_roles` and the checklist name), protected tags, the
    /// checklist's tags, a tier's in-toto steps and roles. Each is judged as a declared name
    /// ([`declared_name`]) and refused by its place, never repeated (a helper's attack on the
    /// fourteenth session's head: a tag `jane-doe-dob-1961-04-12`, a checklist meaning
    /// `call-212-867-5309`, a role and a step holding a name and a birth date loaded and were
    /// written into `change.opened` and `gate.evaluated`). A tier's role must be a role Ward
    /// gives: another can never be met and only blocks.
    fn judge_declared_words(&self) -> Result<(), String> {
        let mut words: Vec<(String, &str)> = Vec::new();
        for (i, t) in self.risk.path_tags.iter().enumerate() {
            // A glob is read as the paths it matches are (`db/V2024_01_15__*.sql`, a migration
            // of a date, is a path), and also as a person reads it through brackets and
            // escapes, which Ward's globs match as written (`2[1]9-4[5]-1100` passed as no SSN
            // and reached `change.opened`: a helper's attack on the fourteenth session's head).
            let judge = |glob: &str| {
                crate::identifier::judge_plain("glob", glob)
                    .and_then(|()| crate::identifier::check_labelled("glob", glob))
                    .and_then(|()| crate::identifier::refuse_person_shaped("glob", glob))
                    .and_then(|()| match crate::identifier::personal_data(glob) {
                        Some(why) => Err(crate::error::AppError::invalid(format!("the glob holds {why}"), "")),
                        None => Ok(()),
                    })
            };
            // Every mark a glob or a quote puts between characters, read through (`2{1}9-…`,
            // `21*9-45-1100`, `2"1"9-…`: a review of the fifteenth session's head).
            let read_through: String = t
                .glob
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'))
                .collect();
            let glob = judge(&t.glob).and_then(|()| judge(&read_through));
            if let Err(e) = glob {
                return Err(format!("[risk] path_tags #{}: its glob: {}", i + 1, e.message));
            }
            words.push((format!("[risk] path_tags #{}: its tag", i + 1), &t.tag));
        }
        for (i, r) in self.risk.tiers.iter().enumerate() {
            for (j, w) in r.when.iter().enumerate() {
                words.push((format!("[risk] tiers #{}: when #{}", i + 1, j + 1), w));
            }
        }
        for (i, m) in self.approvals.meanings.iter().enumerate() {
            words.push((format!("[approvals] meanings #{}", i + 1), m));
        }
        for (i, m) in self.approvals.meaning_roles.keys().enumerate() {
            words.push((format!("[approvals.meaning_roles] meaning #{}", i + 1), m));
        }
        for (i, t) in self.approvals.overrides.protected_tags.iter().enumerate() {
            words.push((format!("[approvals.overrides] protected_tags #{}", i + 1), t));
        }
        for (i, (tag, items)) in self.controls.checklist.iter().enumerate() {
            words.push((format!("[controls.checklist] tag #{}", i + 1), tag));
            for (j, m) in items.iter().enumerate() {
                words.push((format!("[controls.checklist] tag #{}: meaning #{}", i + 1, j + 1), m));
            }
        }
        for (tier, c) in &self.controls.tiers {
            for (j, step) in c.steps.iter().enumerate() {
                words.push((format!("[controls.tiers.{tier}] steps #{}", j + 1), step));
            }
            for (j, kind) in c.evidence.iter().enumerate() {
                words.push((format!("[controls.tiers.{tier}] evidence #{}", j + 1), kind));
            }
            for (j, role) in c.roles.keys().enumerate() {
                if role.parse::<ward_core::Role>().is_err() {
                    return Err(format!(
                        "[controls.tiers.{tier}] roles #{}: not a role Ward gives (one of {}): a tier needing it could never be met",
                        j + 1,
                        ward_core::Role::ALL
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        // A local runtime's artifact directory and health path reach a rollback's reason when
        // the build is missing or the path does not parse.
        let runtimes: Vec<(usize, &crate::environment::RuntimeConfig)> = self
            .environments
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.runtime.as_ref().map(|r| (i, r)))
            .collect();
        let directories: Vec<(usize, String)> = runtimes
            .iter()
            .map(|(i, r)| (*i, r.artifacts.display().to_string()))
            .collect();
        // A directory is read for a person (a name, a date beside it, an address), not for its
        // numbers: it reaches no leaf now, and a path's digits are a machine's (a process id
        // after a run's counters, `rollback-0-0-26044`, read as seven digits refused `ward bench
        // rollback` on a machine whose process ids had five).
        for (i, dir) in &directories {
            let place = format!("[[environments]] #{}: runtime artifacts", i + 1);
            if let Err(e) = declared_directory("directory", dir) {
                return Err(format!("{place}: {}", e.message));
            }
        }
        for (i, r) in &runtimes {
            words.push((format!("[[environments]] #{}: runtime health", i + 1), &r.health));
        }
        for (place, word) in words {
            if let Err(e) = declared_name("name", word) {
                return Err(format!("{place}: {}", e.message));
            }
        }
        Ok(())
    }

    /// The DR inventory and rules.
    pub fn dr_policy(&self) -> crate::dr::DrPolicy {
        crate::dr::DrPolicy {
            services: self.services.clone(),
            rules: self.dr.clone(),
        }
    }

    /// The gate's policy: bundled defaults, the `[gate] policy_dir` files, `[controls]`, the
    /// calendar and the environments (each with its own `policy_dir` files).
    pub fn gate_policy(&self) -> Result<crate::gate::GatePolicy, String> {
        let mut p = crate::gate::GatePolicy::load(self.gate.policy_dir.as_deref(), self.controls.clone())?;
        p.calendar = self.calendar.clone();
        p.slos = self.slo.clone();
        p.dr = self.dr_policy();
        p.with_environments(&self.environments)
    }

    /// The `[guard]` section, compiled (defaults when there is no configuration file).
    pub fn guard(&self) -> ward_evidence::guard::GuardConfig {
        self.compiled_guard.clone()
    }
}

/// A TOML error as Ward shows it: where (line and column) and what, never the line itself
/// (`toml` quotes the offending line: `restore_test_days = 219451100`, a freeze's name) nor a
/// quoted part of the message holding anything but lower-case letters, `_`, `-` and `.`
/// (serde's `invalid type: string "…"` repeats the value): a misspelt key or tier
/// (`aprovals`, `critical`) and the names a section expects are still named.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let key_name = |q: &str| !q.is_empty() && q.bytes().all(|b| b.is_ascii_lowercase() || b"_-.".contains(&b));
    format!(
        "TOML error{}: {}",
        toml_position(text, e).unwrap_or_default(),
        crate::freetext::quotes_withheld_but(e.message(), key_name)
    )
}

/// Where in `text` a TOML error is: ` at line L, column C`.
pub fn toml_position(text: &str, e: &toml::de::Error) -> Option<String> {
    e.span().map(|span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" at line {line}, column {column}")
    })
}

/// A name the configuration declares that Ward writes into leaves as it is (a service's store,
/// a change window's or a freeze's name): judged by the identifier rules — a person's number,
/// date or address in any spelling they read — and never repeated when refused.
pub fn declared_name(field: &str, name: &str) -> Result<(), crate::error::AppError> {
    declared_directory(field, name).and_then(|()| crate::identifier::check_number_unmasked(field, name))
}

/// A directory's path as [`declared_name`] reads a name, but for its numbers (a machine's).
fn declared_directory(field: &str, dir: &str) -> Result<(), crate::error::AppError> {
    crate::identifier::judge(field, dir)
        .and_then(|()| crate::identifier::check_labelled(field, dir))
        .and_then(|()| crate::identifier::refuse_person_shaped(field, dir))
        .and_then(|()| crate::identifier::check_new_name_dates(field, dir))
        .and_then(|()| match crate::identifier::personal_data(dir) {
            Some(why) => Err(crate::error::AppError::invalid(
                format!("the {field} holds {why}, which Ward does not record"),
                "name it without it",
            )),
            None => Ok(()),
        })
}

/// Refuses a `[approvals] git_authors` mapping Ward could never apply or should never write,
/// naming it by its place only (an address and an identity are a person's): its address must
/// be one a commit author can have (`identifier::check_author`: `Dana Smith <dana@corp.com>`,
/// `<dana@corp.com>`, `mailto:dana@corp.com`, `dana@corp.com,` and `@` loaded as valid and
/// matched no commit, so the author signed her own change — a helper's attack on the tenth
/// session's head); its identity is one Ward would write (a local user's name as `ward user
/// add` takes it — `user:jane.doe.1961.04.12` was written into leaves —, another issuer's
/// without a document reference, an address a provider could send, nothing the log's guard
/// refuses: `staff:555-86-7530` loaded, then refused every change its author wrote).
pub fn check_author_mappings(rules: &ward_core::approval::ApprovalRules) -> Result<(), String> {
    for (n, (address, id)) in rules.git_authors.iter().enumerate() {
        let refused = |what: &str| format!("[approvals] git_authors: mapping #{}: {what}", n + 1);
        if crate::identifier::check_author(address).is_err() {
            return Err(refused(
                "its key is not an address a commit author can have; write the address as git records it (%ae: letters, digits and . _ + - ' before one @, a domain after it), without a name, <>, mailto: or punctuation around it",
            ));
        }
        if crate::identifier::folded_text(id)
            .to_ascii_lowercase()
            .contains(ward_ledger::documents::REF_PREFIX)
        {
            return Err(refused(
                "its identity holds a document reference (doc:sha256:…), which only Ward writes",
            ));
        }
        let judged = match id.strip_prefix("user:") {
            Some(name) => crate::users::check_new_name("user", name),
            None => crate::identifier::check_person_identity(id).and_then(|()| crate::freetext::check("identity", id)),
        };
        if judged.is_err() {
            return Err(refused(
                "its identity is not one Ward would write into the log (a local user's name as Ward takes one for a new user, or a provider's identity without a person's number or birth date)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ward.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).map_err(|e| e.to_string())
    }

    /// Names declared in ward.toml are written into leaves (a published bundle's tenant, a
    /// restore test's store, a deployment's environment): a person's name and birth date, a
    /// phone number or look-alike digits are refused when the file is loaded, and the refusal
    /// does not repeat them (a helper's attack on `afa6612`).
    #[test]
    fn a_declared_name_holding_a_persons_date_or_number_is_refused_unrepeated() {
        for (text, planted) in [
            (
                "[[environments]]\nname = \"prod\"\ntenants = [\"john-smith-1980-04-12\"]\n",
                "1980",
            ),
            (
                "[[environments]]\nname = \"prod\"\ntenants = [\"north\", \"5558675309\"]\n",
                "5558675309",
            ),
            ("[[environments]]\nname = \"roe-j-2015-04-12\"\n", "2015"),
            (
                "[[services]]\nname = \"orders\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"2l9o45lloo\"]\n",
                "2l9o",
            ),
            (
                "[[services]]\nname = \"orders\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"roe-j-2015-04-12\"]\n",
                "2015",
            ),
            (
                "[[services]]\nname = \"orders\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"pt-john-smith-800102\"]\n",
                "800102",
            ),
            (
                "[[services]]\nname = \"john-smith-1980-01-02\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = []\n",
                "1980",
            ),
            (
                "[[environments]]\nname = \"staging\"\ntenants = [\"margaret-oneill-020180\"]\n",
                "020180",
            ),
            // Roman numerals and hex letters as separators (a helper's attack on the tenth
            // session's head).
            (
                "[[environments]]\nname = \"prod\"\ntenants = [\"jdoe-12-iv-1961\"]\n",
                "1961",
            ),
            (
                "[[environments]]\nname = \"prod\"\ntenants = [\"t219a45b1100\"]\n",
                "219a45",
            ),
            ("[[environments]]\nname = \"mjones-xii-iv-mcmlxi\"\n", "mcmlxi"),
            (
                "[[services]]\nname = \"orders\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"jane-doe-12-iv-1961\"]\n",
                "1961",
            ),
        ] {
            let e = load(text).expect_err(text);
            assert!(!e.contains(planted), "{e}");
        }
        // A freeze's and a window's names and an objective's service are written into the
        // gate's reasons (a helper's attack on the thirteenth session's head).
        let freeze = |name: &str| {
            format!(
                "[[calendar.freezes]]\nname = \"{name}\"\nfrom = \"2026-12-20\"\nto = \"2027-01-04\"\ntz = \"UTC\"\n"
            )
        };
        let window =
            |name: &str| format!("[[calendar.windows]]\nname = \"{name}\"\ncron = \"* 9-16 * * 1-5\"\ntz = \"UTC\"\n");
        let slo = |service: &str| {
            format!(
                "[[environments]]\nname = \"prod\"\n[[slo]]\nservice = \"{service}\"\nenvironments = [\"prod\"]\nprometheus = \"http://127.0.0.1:9090\"\nquery = \"sum(rate(x[{{{{window}}}}]))\"\nobjective = 0.999\n"
            )
        };
        for (text, planted) in [
            (freeze("jane.doe%40gmail.com"), "jane"),
            (freeze("oncall ５５５．１２３．４５６７"), "５５５"),
            (freeze("jane roe 1961-04-12"), "1961"),
            (window("john-smith-1980-01-02"), "1980"),
            (slo("john-smith-1980-01-02"), "1980"),
            (slo("5558675309"), "5558675309"),
        ] {
            let e = load(&text).expect_err(&text);
            assert!(!e.contains(planted), "{e}");
        }
        load(&format!("{}{}", freeze("year-end"), window("business hours"))).expect("ordinary calendar names");
        // Risk tags and globs, meanings, checklist items, steps and roles are written into
        // `change.opened` and the gate's reasons (a helper's attack on the fourteenth session's
        // head).
        for (text, planted) in [
            (
                "[risk]\npath_tags = [{ glob = \"**/zz/**\", tag = \"jane-doe-dob-1961-04-12\" }]\n".to_string(),
                "1961",
            ),
            (
                "[risk]\npath_tags = [{ glob = \"**/zz/**\", tag = \"call-212-867-5309\" }]\n".to_string(),
                "5309",
            ),
            (
                "[risk]\npath_tags = [{ glob = \"jane.doe%40gmail.com/**\", tag = \"x\" }]\n".to_string(),
                "jane",
            ),
            // Brackets and escapes read through (a helper's attack on the fourteenth session's
            // head).
            (
                "[risk]\npath_tags = [{ glob = \"**/2[1]9-4[5]-1100/**\", tag = \"infrastructure\" }]\n".to_string(),
                "1100",
            ),
            (
                "[risk]\npath_tags = [{ glob = \"**/jane-roe-19[6]1-0[4]-12/**\", tag = \"infrastructure\" }]\n"
                    .to_string(),
                "12/",
            ),
            (
                "[risk]\npath_tags = [{ glob = \"**/2\\\\19-45-1100/**\", tag = \"infrastructure\" }]\n".to_string(),
                "1100",
            ),
            (
                "[risk]\npath_tags = [{ glob = \"**/2{1}9-45-11*00/**\", tag = \"infrastructure\" }]\n".to_string(),
                "1100",
            ),
            (
                "[risk]\ntiers = [{ when = [\"mrn-00123456\"], tier = \"high\" }]\n".to_string(),
                "00123456",
            ),
            (
                "[approvals]\nmeanings = [\"approved\", \"jane-doe-1961-04-12\"]\n".to_string(),
                "1961",
            ),
            (
                "[controls.checklist]\nphi = [\"privacy-review\", \"call-212-867-5309\"]\n".to_string(),
                "5309",
            ),
            (
                "[controls.tiers.high]\nsteps = [\"jane-doe-1961-04-12\"]\n".to_string(),
                "1961",
            ),
            (
                "[controls.tiers.high]\nroles = { \"release-manager\" = 1, \"jane-doe-1961-04-12\" = 1 }\n".to_string(),
                "1961",
            ),
            (
                "[approvals.overrides]\nprotected_tags = [\"phi\", \"ssn-219-45-1100\"]\n".to_string(),
                "1100",
            ),
            // And a helper's enumeration: evidence kinds, numbers, a runtime's paths.
            (
                "[controls.tiers.high]\nevidence = [\"jane-doe-1961-04-12\"]\n".to_string(),
                "1961",
            ),
            (
                "[controls.tiers.high]\nevidence = [\"jane doe 1961\"]\n".to_string(),
                "jane",
            ),
            ("[controls.tiers.high]\napprovals = 219451100\n".to_string(), "219451100"),
            (
                "[controls.tiers.high]\nroles = { \"approver\" = 219451100 }\n".to_string(),
                "219451100",
            ),
            ("[dr.tiers.high]\nrestore_test_days = 219451100\n".to_string(), "219451100"),
            // A TOML error never quotes the line nor a value its message repeats.
            ("[dr]\nrestore_test_days = 219451100\n".to_string(), "219451100"),
            (
                "[[calendar.freezes]]\nname = 219451100\nfrom = \"2026-12-20\"\n".to_string(),
                "219451100",
            ),
            ("[risk]\ndefault_tier = \"jane-doe-1961\"\n".to_string(), "1961"),
            ("[controls.sla]\nhigh = 219451100\n".to_string(), "219451100"),
            (
                "[[calendar.freezes]]\nname = \"x\"\nfrom = \"jane-doe\"\nto = \"2027-01-04\"\ntz = \"Jane/Doe\"\n".to_string(),
                "jane",
            ),
            (
                "[[calendar.windows]]\nname = \"x\"\ncron = \"* 9-16 * * 1-5\"\ntz = \"Jane/Doe\"\n".to_string(),
                "Jane",
            ),
            (
                "[[environments]]\nname = \"prod\"\n[[slo]]\nservice = \"oncall ５５５．１２３．４５６７\"\nenvironments = [\"prod\"]\nprometheus = \"http://127.0.0.1:9090\"\nquery = \"sum(rate(x[{{window}}]))\"\nobjective = 0.999\n".to_string(),
                "５５５",
            ),
            (
                "[approvals.overrides]\nhigh_downgrade_approvers = 219451100\n".to_string(),
                "219451100",
            ),
            ("[breakglass]\nreview_business_days = 4000000\n".to_string(), "4000000"),
            (
                "[[environments]]\nname = \"prod\"\n[environments.strategy]\nkind = \"canary\"\nsteps = [10, 50]\n[environments.strategy.analysis]\nmin_requests = 219451100\n".to_string(),
                "219451100",
            ),
            (
                "[[environments]]\nname = \"prod\"\n[environments.runtime]\nlisten = \"127.0.0.1:8080\"\nartifacts = \"/srv/jane-doe-1961-04-12\"\n".to_string(),
                "1961",
            ),
        ] {
            let e = load(&text).expect_err(&text);
            assert!(!e.contains(planted), "{e}");
        }
        // A run's scratch directory: a process id after counters is a machine's number.
        load(
            "[[environments]]\nname = \"prod\"\n[environments.runtime]\nlisten = \"127.0.0.1:8080\"\nartifacts = \"/tmp/.tmp6O1zlK/ward-bench-rollback-0-0-26044/artifacts\"\n",
        )
        .expect("a scratch directory");
        load(
            "[risk]\npath_tags = [{ glob = \"**/migrations/**\", tag = \"schema_migration\" }, { glob = \"src/fhir/*.rs\", tag = \"ehr-2024\" }, { glob = \"db/V2024_01_15__*.sql\", tag = \"schema_migration\" }, { glob = \"src/{a,b}/**/*.{yml,yaml}\", tag = \"infrastructure\" }]\ntiers = [{ when = [\"schema_migration\"], tier = \"high\" }]\n[controls.tiers.high]\nsteps = [\"build\", \"sast-scan\"]\nroles = { \"release-manager\" = 1 }\n[controls.checklist]\nphi = [\"privacy-review\"]\n",
        )
        .expect("ordinary words");
        load(
            "[[environments]]\nname = \"prod\"\n[environments.runtime]\nlisten = \"127.0.0.1:8080\"\nartifacts = \"/srv/ward/builds\"\nhealth = \"/healthz\"\nready_timeout_ms = 30000\n[environments.strategy]\nkind = \"canary\"\nsteps = [5, 25, 50]\npause_ms = 604800000\n[dr.tiers.high]\nrestore_test_days = 90\n[breakglass]\nreview_business_days = 5\n",
        )
        .expect("an ordinary runtime, strategy and numbers");
        load(&slo("orders-api")).expect("an ordinary service");
        load(
            "[[environments]]\nname = \"prod\"\ntenants = [\"north\", \"clinic-7\"]\n[[services]]\nname = \"orders\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"orders-db\", \"arn:aws:rds:us-east-1:123456789012:db:orders\"]\n",
        )
        .expect("ordinary names");
    }

    /// A mapping no commit author can match (the author then signed her own change), or to an
    /// identity Ward would never write (kept in leaves, or refused on every change): refused at
    /// load by its place, never repeating the address or the identity (a helper's attack on the
    /// tenth session's head). What a real team writes loads.
    #[test]
    fn a_mapping_no_author_matches_or_to_an_identity_ward_never_writes_is_refused_unrepeated() {
        let rules = |address: &str, id: &str| ward_core::approval::ApprovalRules {
            git_authors: [(address.to_string(), id.to_string())].into(),
            ..Default::default()
        };
        for (address, id) in [
            ("Dana Smith <dana@corp.com>", "user:dana.smith"),
            ("<dana@corp.com>", "user:dana.smith"),
            ("mailto:dana@corp.com", "user:dana.smith"),
            ("dana@corp.com,", "user:dana.smith"),
            ("@", "user:dana.smith"),
            ("dana@corp..com", "user:dana.smith"),
            ("dana at corp.com@", "user:dana.smith"),
            ("dana@corp.com", "user:jane.doe.1961.04.12"),
            ("dana@corp.com", "staff:555-86-7530"),
            (
                "dana@corp.com",
                "staff:doc:sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ),
            ("dana@corp.com", "staff:jane.doe.1961-04-12@corp.com"),
        ] {
            let e = super::check_author_mappings(&rules(address, id)).expect_err(id);
            assert!(e.contains("mapping #1"), "{e}");
            for part in ["dana", "1961", "555", "00000000"] {
                assert!(!e.contains(part), "{e}");
            }
        }
        for (address, id) in [
            ("Dana.Smith@corp.com", "staff:dana.smith@corp.com"),
            ("dana.smith@corp.com", "user:dana"),
            ("12345678+dgh@users.noreply.github.com", "user:dgh"),
            ("o'brien@corp.com", "okta:00u1abcd2efgh3ijk4l5"),
        ] {
            super::check_author_mappings(&rules(address, id)).expect(id);
        }
    }

    #[test]
    fn partial_controls_naming_only_high_leave_medium_and_low_their_defaults() {
        let cfg = load("[controls.tiers.high]\napprovals = 3\n").unwrap();
        let c = &cfg.controls;
        let builtin = crate::gate::Controls::default();
        assert_eq!(c.tiers["medium"], builtin.tiers["medium"]);
        assert_eq!(c.tiers["low"], builtin.tiers["low"]);
        // A tier that names one key keeps its defaults for the others.
        assert_eq!(c.tiers["high"].approvals, 3);
        assert_eq!(c.tiers["high"].evidence, builtin.tiers["high"].evidence);
        assert_eq!(c.tiers["high"].roles, builtin.tiers["high"].roles);
        assert!(c.tiers["high"].ticket && c.tiers["medium"].ticket && !c.tiers["low"].ticket);
        assert_eq!(c.tiers["high"].evidence_waiver_approvers, 2);
        assert_eq!(c.tiers["medium"].evidence_waiver_approvers, 1);
        assert_eq!(c.checklist, builtin.checklist);
        assert_eq!((c.sla.high, c.sla.medium, c.sla.low), (72, 720, 2160));
        // And the effective controls are what the policy document (and its digest) carries.
        let policy = cfg.gate_policy().unwrap();
        assert_eq!(
            policy.document("prod")["data"]["controls"]["tiers"]["medium"]["approvals"],
            1
        );
        let doc = |cfg: &Config| serde_json::to_vec(&cfg.gate_policy().unwrap().document("prod")).unwrap();
        assert_ne!(doc(&cfg), doc(&Config::default()));
        // So do the rules Ward judges before the Rego: dropping a service from the DR inventory
        // or loosening its RPO changes the recorded policy digest.
        let dr = |rpo: &str| {
            load(&format!(
                "[[services]]\nname = \"patient-api\"\ntier = \"high\"\nrpo = \"{rpo}\"\nrto = \"4h\"\nstores = [\"orders-db\"]\n"
            ))
            .unwrap()
        };
        assert_ne!(doc(&dr("1h")), doc(&dr("24h")), "a looser RPO is another policy");
        assert_ne!(
            doc(&dr("1h")),
            doc(&Config::default()),
            "an inventory is part of the policy"
        );
        // And the environments' chain, the risk and the approval rules a decision records.
        let recorded = |cfg: &Config| {
            serde_json::to_vec(
                &cfg.gate_policy()
                    .unwrap()
                    .recorded_document("prod", &cfg.risk, &cfg.approvals),
            )
            .unwrap()
        };
        let chain = |after: &str| {
            load(&format!(
                "[[environments]]\nname = \"staging\"\n[[environments]]\nname = \"prod\"\n{after}"
            ))
            .unwrap()
        };
        assert_ne!(
            recorded(&chain("after = \"staging\"\n")),
            recorded(&chain("")),
            "promotion order is part of the policy"
        );
        let admins = load("[approvals]\nadmins_may_approve = true\n").unwrap();
        assert_ne!(
            recorded(&admins),
            recorded(&Config::default()),
            "who may approve is part of the policy"
        );
        // Checklist tags merge per tag; SLAs are configurable.
        let cfg = load("[controls.checklist]\npci = [\"pci-review\"]\n[controls.sla]\nhigh = 24\n").unwrap();
        assert_eq!(cfg.controls.checklist["phi"], vec!["privacy-review"]);
        assert_eq!(cfg.controls.checklist["pci"], vec!["pci-review"]);
        assert_eq!((cfg.controls.sla.high, cfg.controls.sla.medium), (24, 720));
        // No [controls] at all is the built-in defaults.
        assert_eq!(load("").unwrap().controls, builtin);
    }

    #[test]
    fn a_tier_with_no_controls_is_refused_naming_it() {
        let e = load("[controls.tiers.medium]\nevidence = []\napprovals = 0\nticket = false\n").unwrap_err();
        assert!(e.contains("[controls.tiers.medium] requires nothing"), "{e}");
        assert!(e.contains("approvals = 1"), "{e}");
        // Explicitly zero roles are no controls either; one requirement is enough.
        let e =
            load("[controls.tiers.low]\nevidence = []\napprovals = 0\nroles = { release-manager = 0 }\n").unwrap_err();
        assert!(e.contains("[controls.tiers.low]"), "{e}");
        load("[controls.tiers.low]\nevidence = []\napprovals = 0\nticket = true\n").unwrap();
    }

    #[test]
    fn a_downgrade_rule_that_lets_one_approver_lower_high_is_refused_at_load() {
        for n in [0, 1] {
            let e = load(&format!("[approvals.overrides]\nhigh_downgrade_approvers = {n}\n")).unwrap_err();
            assert!(e.contains("high_downgrade_approvers"), "{e}");
        }
        let e = load("[approvals]\nmeanings = []\n").unwrap_err();
        assert!(e.contains("[approvals] meanings"), "{e}");
        // Meanings without the privacy review still load (the built-in meaning role is not
        // configuration); a meaning role naming no meaning, or nobody, is refused.
        load("[approvals]\nmeanings = [\"approved\", \"release-authority\"]\n").unwrap();
        let e = load("[approvals.meaning_roles]\nprivacy-reveiw = [\"privacy-officer\"]\n").unwrap_err();
        assert!(e.contains("not one of the meanings"), "{e}");
        let e = load("[approvals.meaning_roles]\nprivacy-review = []\n").unwrap_err();
        assert!(e.contains("nobody could sign it"), "{e}");
        load("[approvals.overrides]\nhigh_downgrade_approvers = 3\n").unwrap();
    }

    #[test]
    fn unknown_tiers_keys_and_unsafe_values_are_refused() {
        let e = load("[controls.tiers.critical]\napprovals = 3\n").unwrap_err();
        assert!(e.contains("unknown tier \"critical\""), "{e}");
        let e = load("[controls.tiers.high]\naprovals = 3\n").unwrap_err();
        assert!(e.contains("aprovals"), "{e}");
        let e = load("[controls.tiers.high]\nevidence_waiver_approvers = 0\n").unwrap_err();
        assert!(e.contains("evidence_waiver_approvers"), "{e}");
        let e = load("[controls.sla]\nlow = 100000\n").unwrap_err();
        assert!(e.contains("[controls.sla] low"), "{e}");
        let e = load("[controls.sla]\ncritical = 1\n").unwrap_err();
        assert!(e.contains("critical"), "{e}");
        let e = load("[controls.tiers.low]\nsteps = [\"a b\"]\n").unwrap_err();
        assert!(e.contains("step name"), "{e}");
        let e = load("[controls]\ntiers = 5\n").unwrap_err();
        assert!(e.contains("ward.toml"), "{e}");
    }

    #[test]
    fn effective_controls_round_trip() {
        let c = crate::gate::Controls::default();
        let back: crate::gate::Controls = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
