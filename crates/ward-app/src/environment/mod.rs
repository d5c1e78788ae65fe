//! `[[environments]]`: promotion chains, tenants and rings, the choice of tenants a promotion
//! reaches, and the runtime and strategy an environment declares ([`strategy`]).
//!
//! Environments are read by the gate, promotion and rollouts alike, and import none of them.
//!
//! ```toml
//! [[environments]]
//! name = "prod"
//! after = "staging"                     # the environment a digest must pass first
//! command = ["./deploy.sh"]             # the `command` deployment target
//! observe_command = ["./running.sh"]    # what `ward env observe --from-runtime` runs
//! policy_dir = "policies/prod"          # Rego added to the gate for this environment only
//! rings = [
//!   { name = "internal", tenants = ["internal"] },
//!   { name = "pilot", tenants = ["clinic-a", "clinic-b"] },
//!   { name = "general", tenants = ["general-1"] },
//!   { name = "high-risk", tenants = ["oncology-1"] },
//! ]
//! ```

pub mod strategy;

pub use strategy::{HttpCheck, RuntimeConfig, Strategy, StrategyKind, Thresholds};

use crate::error::AppError;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// One environment of `[[environments]]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Name.
    pub name: String,
    /// The environment a change must be deployed to (and verified in) first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The `command` deployment target: program and arguments (no shell unless you name one).
    #[serde(default)]
    pub command: Vec<String>,
    /// A program printing what runs in the environment, for `--from-runtime` observations.
    #[serde(default)]
    pub observe_command: Vec<String>,
    /// Extra Rego files for this environment's gate (on top of the bundled and `[gate]` ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_dir: Option<PathBuf>,
    /// Tenants served by the environment (may be left out when rings list them all).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Rings, in exposure order: each tenant belongs to exactly one.
    #[serde(default)]
    pub rings: Vec<Ring>,
    /// The local runtime as this environment's deployment target (instead of `command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeConfig>,
    /// How rollouts expose a release here (canary, blue-green or tenant rings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Whether this environment accepts a version registered under more than one digest (a
    /// semver pre-release moved with `[artifacts] mutable_prerelease`). Never the last
    /// environment of a chain: production takes only versions that name one build.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mutable_prerelease: bool,
}

/// A ring of tenants exposed together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ring {
    /// Name.
    pub name: String,
    /// Its tenants.
    pub tenants: Vec<String>,
}

/// Whether `name` is a valid environment, tenant or ring name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

impl Environment {
    /// Every tenant, in exposure order (ring by ring).
    pub fn all_tenants(&self) -> Vec<String> {
        if self.rings.is_empty() {
            self.tenants.clone()
        } else {
            self.rings.iter().flat_map(|r| r.tenants.iter().cloned()).collect()
        }
    }

    /// What a deployment on the local runtime is made of, where one process serves every tenant:
    /// the environment as a whole (`None`, first, which the target acts on), then every tenant
    /// (recorded with the configuration each receives).
    pub fn local_units(&self) -> Vec<Option<String>> {
        std::iter::once(None)
            .chain(self.all_tenants().into_iter().map(Some))
            .collect()
    }

    /// The position of a tenant's ring.
    pub fn ring_index(&self, tenant: &str) -> Option<usize> {
        self.rings.iter().position(|r| r.tenants.iter().any(|t| t == tenant))
    }

    /// What to name instead of tenant `t`, which this environment does not declare: none at all
    /// (no tenants), the one it is a typo of, or its tenants.
    pub fn unknown_tenant_hint(&self, t: &str) -> String {
        let all = self.all_tenants();
        if all.is_empty() {
            return format!("{} declares no tenants: name no tenant", self.name);
        }
        let names: Vec<&str> = all.iter().map(String::as_str).collect();
        unknown_name_hint("tenant", &names, t)
    }

    /// The tenants a promotion reaches, in exposure order: `[None]` for an environment without
    /// tenants, else the named tenants, the named ring's, or all of them.
    pub fn select(&self, tenants: &[String], ring: Option<&str>) -> Result<Vec<Option<String>>, String> {
        let all = self.all_tenants();
        if all.is_empty() {
            if !tenants.is_empty() || ring.is_some() {
                return Err(format!("{} declares no tenants or rings", self.name));
            }
            return Ok(vec![None]);
        }
        let chosen: Vec<String> = match (tenants.is_empty(), ring) {
            (false, Some(_)) => return Err("give tenants or a ring, not both".into()),
            (true, Some(r)) => match self.rings.iter().find(|x| x.name == r) {
                Some(x) => x.tenants.clone(),
                None if self.rings.is_empty() => {
                    return Err(format!(
                        "{} declares no rings: name its tenants instead ({})",
                        self.name,
                        all.join(", ")
                    ));
                }
                None => {
                    let names: Vec<&str> = self.rings.iter().map(|x| x.name.as_str()).collect();
                    return Err(format!(
                        "{} has no ring {}: {}",
                        self.name,
                        crate::identifier::shown(r),
                        unknown_name_hint("ring", &names, r)
                    ));
                }
            },
            (false, None) => {
                if let Some(t) = tenants.iter().find(|t| !all.contains(t)) {
                    return Err(format!(
                        "{} has no tenant {}: {}",
                        self.name,
                        crate::identifier::shown(t),
                        self.unknown_tenant_hint(t)
                    ));
                }
                all.iter().filter(|t| tenants.contains(t)).cloned().collect()
            }
            (true, None) => all,
        };
        Ok(chosen.into_iter().map(Some).collect())
    }
}

/// Checks the environments: valid unique names, `after` naming a declared environment, no
/// cycles, every tenant in at most one ring and every declared tenant in a ring when rings exist.
pub fn validate(envs: &[Environment]) -> Result<(), String> {
    let names: HashMap<&str, &Environment> = envs.iter().map(|e| (e.name.as_str(), e)).collect();
    if names.len() != envs.len() {
        return Err("[[environments]]: an environment is declared twice".into());
    }
    for (i, e) in envs.iter().enumerate() {
        if !valid_name(&e.name) {
            // Not repeated: a name refused for its shape may hold anything (a helper's sweep on
            // the twelfth session's head: values this file refuses were printed back).
            return Err(format!(
                "[[environments]] #{}: its name {}: use 1 to 64 lower-case letters, digits, '.', '_' or '-'",
                i + 1,
                crate::identifier::shown(&e.name)
            ));
        }
        // Environment, tenant and ring names are written into leaves (a deployment's record, a
        // published bundle's tenant): judged as new names are, and not repeated (a helper's
        // attack on `afa6612`: `john-smith-1980-04-12` and `5558675309` as tenants).
        let given = std::iter::once(("environment", &e.name))
            .chain(e.tenants.iter().map(|t| ("tenant", t)))
            .chain(e.rings.iter().map(|r| ("ring", &r.name)));
        for (what, name) in given {
            if let Err(x) = crate::users::check_new_name(what, name) {
                return Err(format!("[[environments]] #{}: its {what} name: {}", i + 1, x.message));
            }
        }
        let mut seen = vec![e.name.as_str()];
        let mut cur = e;
        while let Some(prev) = &cur.after {
            let Some(p) = names.get(prev.as_str()) else {
                return Err(format!(
                    "[[environments]] {}: after = {} is not declared",
                    cur.name,
                    crate::identifier::shown(prev)
                ));
            };
            if seen.contains(&p.name.as_str()) {
                return Err(format!("[[environments]] {}: the chain loops", e.name));
            }
            seen.push(p.name.as_str());
            cur = p;
        }
        validate_tenants(e)?;
        if let Some(strategy) = &e.strategy
            && let Err(x) = judge_strategy(strategy)
        {
            return Err(format!("[[environments]] {}: strategy: {}", e.name, x.message));
        }
        if e.mutable_prerelease && may_be_production(envs, e) {
            return Err(format!(
                "[[environments]] {}: mutable_prerelease = true on an environment that may be production (the end of a chain, one that leads to it, or one named prod*/live); production takes only versions that name one build (set it on an environment before staging)",
                e.name
            ));
        }
    }
    Ok(())
}

/// The production environments: the last of each promotion chain (no environment declares it
/// as `after`), in declared order — what the gauges measure and a population covers by
/// default. Pure.
pub fn production(envs: &[Environment]) -> Vec<String> {
    envs.iter()
        .filter(|e| !envs.iter().any(|x| x.after.as_deref() == Some(e.name.as_str())))
        .map(|e| e.name.clone())
        .collect()
}

/// A declared environment by name.
pub fn find<'a>(envs: &'a [Environment], name: &str) -> Result<&'a Environment, AppError> {
    envs.iter()
        .find(|e| e.name == name)
        .ok_or_else(|| undeclared(envs, name))
}

/// Judges what a strategy writes into the leaves of its rollouts (`rollout.started` records it
/// whole, a rollback's reason names a failed check's path): an HTTP check's path as a URL is
/// judged (a number after a label, a name beside a birth date), its tenant as a tenant's name, a
/// Prometheus check's name as an identifier, its URL as a URL and its query as plain text —
/// none holding a person's number or a name beside a birth date (a helper's attack on the
/// twelfth session's head: `/patients/00123456` was recorded and exported). Never repeated.
pub fn judge_strategy(s: &Strategy) -> Result<(), AppError> {
    use crate::identifier as id;
    // Its numbers are durations, counts and statuses, within what they can mean: a number past
    // them is no setting (`pause_ms: 219451100` was an SSN in the leaf: a helper's attack).
    // A week: a canary's bake of two or three days is common (a reviewer's note).
    const WEEK_MS: u64 = 7 * 86_400_000;
    let bounded = [
        ("pause_ms", s.pause_ms <= WEEK_MS),
        ("keep_warm_ms", s.keep_warm_ms <= WEEK_MS),
        ("tick_ms", (1..=60_000).contains(&s.tick_ms)),
        ("failure_limit", s.failure_limit <= 1_000),
    ];
    if let Some((field, _)) = bounded.iter().find(|(_, ok)| !ok) {
        return Err(AppError::invalid(
            format!("the strategy's {field} is out of range"),
            "pause_ms and keep_warm_ms at most a week (604800000), tick_ms 1 to 60000, failure_limit at most 1000",
        ));
    }
    // Every number (the analysis' thresholds and counts, a Prometheus check's bounds, the
    // traffic steps) is written into `rollout.started` and the verdicts' reasons.
    id::judge_numbers("the strategy", &serde_json::to_value(s).map_err(AppError::internal)?)?;
    if s.http_checks.iter().any(|c| !(100..=599).contains(&c.expect_status)) {
        return Err(AppError::invalid(
            "an HTTP check expects a status that is not an HTTP status",
            "expect_status is 100 to 599",
        ));
    }
    for c in &s.http_checks {
        // As any URL a leaf keeps: a number alone is not counted (`?since=1733560000`, an
        // epoch, is a health check's; a reviewer's find), one after a label is.
        id::judge_url("HTTP check path", &c.path)?;
        if let Some(t) = &c.tenant {
            crate::users::check_new_name("HTTP check tenant", t)?;
        }
    }
    for p in &s.prometheus {
        id::judge_plain("Prometheus check name", &p.name)?;
        id::check_number("Prometheus check name", &p.name)?;
        id::check_new_name_dates("Prometheus check name", &p.name)?;
        id::judge_url("Prometheus URL", &p.url)?;
        id::judge_plain("Prometheus query", &p.query)?;
        id::check_labelled("Prometheus query", &p.query)?;
        // A label's value is an identifier: no number of 7 digits or more in it
        // (`x{caller="219451100"}`; a threshold outside quotes, `> 1048576`, is a number).
        // Outside its strings a query holds no comment (`# db pass is …` was kept whole) and no
        // number of more significant digits than a threshold needs (`patient_ssn_total >
        // 219451100`): a helper's attack on the fourteenth session's head.
        let (code, _) = promql_parts(&p.query);
        if code.contains('#') {
            return Err(AppError::invalid(
                "a Prometheus check's query holds a comment, which would be recorded with the rollout",
                "remove the comment (# …) from the query",
            ));
        }
        for number in promql_numbers(&code) {
            if number
                .parse::<serde_json::Number>()
                .is_ok_and(|n| id::significant_digits(&n) > id::MAX_SIGNIFICANT_DIGITS && !id::binary_size(&n))
            {
                return Err(AppError::invalid(
                    format!(
                        "a Prometheus check's query holds a number of more than {} significant digits, which Ward does not write into the log",
                        id::MAX_SIGNIFICANT_DIGITS
                    ),
                    "round the threshold (sizes in whole KiB, MiB or GiB)",
                ));
            }
        }
        for value in promql_strings(&p.query) {
            // As read: fullwidth digits are digits.
            let value: String = unicode_normalization::UnicodeNormalization::nfkc(value.as_str()).collect();
            id::check_number("Prometheus query", &value)?;
            id::check_number_unmasked("Prometheus query", &value)?;
        }
    }
    Ok(())
}

/// The string literals of a PromQL query, in `"…"`, `'…'` or `` `…` `` (a backslash escapes the
/// next character in the first two; a raw string has no escapes), as written between the
/// quotes; an unclosed one runs to the end. One pass.
fn promql_strings(query: &str) -> Vec<String> {
    promql_parts(query).1
}

/// A PromQL query split in one pass: its code outside string literals (each literal replaced
/// by a space) and the literals as [`promql_strings`] reads them.
fn promql_parts(query: &str) -> (String, Vec<String>) {
    let (mut code, mut strings) = (String::with_capacity(query.len()), Vec::new());
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        if !matches!(c, '"' | '\'' | '`') {
            code.push(c);
            continue;
        }
        let quote = c;
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' if quote != '`' => value.extend(chars.next()),
                c if c == quote => break,
                c => value.push(c),
            }
        }
        code.push(' ');
        strings.push(value);
    }
    (code, strings)
}

/// The number literals of PromQL code (no strings in it): runs of digits, `.` and an exponent
/// that do not continue a name (`http_2xx_total`, `v2` are names; `5m` a duration whose digits
/// are read as a number too, harmlessly: few).
fn promql_numbers(code: &str) -> Vec<String> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if !starts {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        if i < b.len()
            && (b[i] == b'e' || b[i] == b'E')
            && b.get(i + 1)
                .is_some_and(|c| c.is_ascii_digit() || *c == b'-' || *c == b'+')
        {
            i += 2;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        out.push(code[start..i].trim_end_matches('.').to_string());
    }
    out
}

/// The refusal for an environment `name` that is not declared (not found), with
/// [`undeclared_hint`]. One wording for promotion, rollouts and history reads.
pub fn undeclared(envs: &[Environment], name: &str) -> AppError {
    AppError::new(
        crate::error::Kind::NotFound,
        "unknown_environment",
        format!("{} is not a declared environment", crate::identifier::named(name)),
        undeclared_hint(envs, name),
    )
}

/// "did you mean prod?" when a declared name is within two edits of `name`, else the declared
/// names.
pub fn undeclared_hint(envs: &[Environment], name: &str) -> String {
    match closest(envs, name) {
        Some(near) => format!("did you mean {near}? (declared in [[environments]] of ward.toml)"),
        None if envs.is_empty() => "declare it in [[environments]] of ward.toml".to_string(),
        None => format!(
            "declared environments: {} (or declare {} in [[environments]] of ward.toml)",
            envs.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "),
            crate::identifier::named(name)
        ),
    }
}

/// Checks the environments a change targets against the declared ones: with `[[environments]]`
/// declared, each must be one of them (`unknown_environment`, "did you mean staging?"), so a
/// typo is refused when the change is opened or updated, not carried into every gate fix. With
/// none declared there is nothing to check against (the gate judges any name).
pub fn check_targets(envs: &[Environment], targets: &[String]) -> Result<(), AppError> {
    if envs.is_empty() {
        return Ok(());
    }
    for t in targets {
        crate::identities::check_name("environment", t)?;
        if !envs.iter().any(|e| &e.name == t) {
            return Err(AppError::new(
                crate::error::Kind::Unprocessable,
                "unknown_environment",
                format!("{} is not a declared environment", crate::identifier::named(t)),
                undeclared_hint(envs, t),
            ));
        }
    }
    Ok(())
}

/// The declared environment closest to `name` by edit distance (at most 2 edits), for a
/// "did you mean" hint.
pub fn closest<'a>(envs: &'a [Environment], name: &str) -> Option<&'a str> {
    closest_name(envs.iter().map(|e| e.name.as_str()), name)
}

/// The name among `names` closest to `name` by edit distance (at most 2 edits).
pub(crate) fn closest_name<'a>(names: impl Iterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    names
        .map(|n| (edit_distance(n, name), n))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

/// "did you mean clinic-a?" and the names, for a `kind` (tenant, ring) `name` that `names` does
/// not hold.
fn unknown_name_hint(kind: &str, names: &[&str], name: &str) -> String {
    match closest_name(names.iter().copied(), name) {
        Some(near) => format!("did you mean {near}? ({kind}s: {})", names.join(", ")),
        None => format!("its {kind}s: {}", names.join(", ")),
    }
}

/// Levenshtein distance over characters (names are at most 64 of them).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().take(64).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().take(64).enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Whether `e` may be production, for rules that must never apply there: the end of a chain,
/// an environment named `prod*`, `production` or `live`, or one that comes after such an
/// environment (a decoy environment appended after production does not make it a test
/// environment).
pub fn may_be_production(envs: &[Environment], e: &Environment) -> bool {
    let named = |n: &str| n.starts_with("prod") || n == "live" || n == "production";
    let is_last = !envs.iter().any(|o| o.after.as_deref() == Some(e.name.as_str()));
    // Walk back along `after`: an environment after a production-named one is production too.
    let mut cur = Some(e);
    let mut steps = 0;
    while let Some(c) = cur {
        if named(&c.name) {
            return true;
        }
        steps += 1;
        if steps > envs.len() {
            break;
        }
        cur = c.after.as_deref().and_then(|p| envs.iter().find(|o| o.name == p));
    }
    is_last
}

fn validate_tenants(e: &Environment) -> Result<(), String> {
    let err = |m: String| Err(format!("[[environments]] {}: {m}", e.name));
    let mut declared = HashSet::new();
    for t in &e.tenants {
        if !valid_name(t) {
            return err(format!("tenant {} is not a valid name", crate::identifier::shown(t)));
        }
        if !declared.insert(t.as_str()) {
            return err(format!("tenant {} is listed twice", crate::identifier::shown(t)));
        }
    }
    let mut ringed: HashMap<&str, &str> = HashMap::new();
    let mut ring_names = HashSet::new();
    for r in &e.rings {
        if !valid_name(&r.name) || !ring_names.insert(r.name.as_str()) {
            return err(format!(
                "ring {} is invalid or declared twice",
                crate::identifier::shown(&r.name)
            ));
        }
        if r.tenants.is_empty() {
            return err(format!("ring {} has no tenants", r.name));
        }
        for t in &r.tenants {
            if !valid_name(t) {
                return err(format!("tenant {} is not a valid name", crate::identifier::shown(t)));
            }
            if let Some(other) = ringed.insert(t.as_str(), r.name.as_str()) {
                return err(format!("tenant {t} is in rings {other} and {}", r.name));
            }
            if !e.tenants.is_empty() && !declared.contains(t.as_str()) {
                return err(format!("ring {} names tenant {t}, which is not in tenants", r.name));
            }
        }
    }
    if !e.rings.is_empty()
        && let Some(t) = e.tenants.iter().find(|t| !ringed.contains_key(t.as_str()))
    {
        return err(format!("tenant {t} is in no ring; put every tenant in one ring"));
    }
    Ok(())
}

#[cfg(test)]
mod closest_tests {
    use super::*;

    #[test]
    fn a_mistyped_environment_is_matched_to_the_declared_one() {
        let envs: Vec<Environment> = ["dev", "staging", "prod"]
            .iter()
            .map(|n| Environment {
                name: n.to_string(),
                ..Default::default()
            })
            .collect();
        assert_eq!(closest(&envs, "prdo"), Some("prod"));
        assert_eq!(closest(&envs, "stagign"), Some("staging"));
        assert_eq!(closest(&envs, "qa"), None);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn a_decoy_environment_after_production_does_not_free_it() {
        let env = |n: &str, after: Option<&str>, mutable: bool| Environment {
            name: n.into(),
            after: after.map(Into::into),
            mutable_prerelease: mutable,
            ..Default::default()
        };
        let decoy = [
            env("staging", None, false),
            env("prod", Some("staging"), true),
            env("zz-archive", Some("prod"), false),
        ];
        assert!(validate(&decoy).unwrap_err().contains("prod"));
        let after_prod = [
            env("prod", None, false),
            env("zz-archive", Some("prod"), true),
            env("zz2", Some("zz-archive"), false),
        ];
        assert!(validate(&after_prod).is_err());
        validate(&[
            env("dev", None, true),
            env("staging", Some("dev"), false),
            env("prod", Some("staging"), false),
        ])
        .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> Environment {
        Environment {
            name: "prod".into(),
            rings: vec![
                Ring {
                    name: "internal".into(),
                    tenants: vec!["internal".into()],
                },
                Ring {
                    name: "pilot".into(),
                    tenants: vec!["clinic-a".into(), "clinic-b".into()],
                },
            ],
            ..Environment::default()
        }
    }

    #[test]
    fn selection_follows_ring_order() {
        let e = prod();
        let all = e.select(&[], None).unwrap();
        assert_eq!(
            all,
            vec![
                Some("internal".to_string()),
                Some("clinic-a".into()),
                Some("clinic-b".into())
            ]
        );
        assert_eq!(e.select(&[], Some("pilot")).unwrap().len(), 2);
        let picked = e.select(&["clinic-b".into(), "internal".into()], None).unwrap();
        assert_eq!(picked, vec![Some("internal".to_string()), Some("clinic-b".into())]);
        assert!(e.select(&["nobody".into()], None).unwrap_err().contains("no tenant"));
        assert!(e.select(&[], Some("general")).unwrap_err().contains("no ring"));
        assert!(e.select(&["internal".into()], Some("pilot")).is_err());
        let flat = Environment {
            name: "dev".into(),
            ..Environment::default()
        };
        assert_eq!(flat.select(&[], None).unwrap(), vec![None]);
        assert!(flat.select(&["a".into()], None).is_err());
    }

    #[test]
    fn a_mistyped_ring_or_tenant_is_answered_with_the_name_meant() {
        let e = prod();
        let ring = e.select(&[], Some("pilto")).unwrap_err();
        assert!(
            ring.contains("did you mean pilot?") && ring.contains("rings: internal, pilot"),
            "{ring}"
        );
        let tenant = e.select(&["clinc-a".into()], None).unwrap_err();
        assert!(tenant.contains("did you mean clinic-a?"), "{tenant}");
        // Far from every name: the names, no guess.
        let far = e.unknown_tenant_hint("radiology");
        assert_eq!(far, "its tenants: internal, clinic-a, clinic-b");
        // An environment without tenants: name no tenant (the CLI: drop --tenant).
        let flat = Environment {
            name: "dev".into(),
            ..Environment::default()
        };
        assert_eq!(
            flat.unknown_tenant_hint("clinic-a"),
            "dev declares no tenants: name no tenant"
        );
        // Tenants but no rings: a ring is answered with the tenants to name instead.
        let no_rings = Environment {
            name: "eu".into(),
            tenants: vec!["clinic-x".into()],
            ..Environment::default()
        };
        let ring = no_rings.select(&[], Some("pilot")).unwrap_err();
        assert_eq!(ring, "eu declares no rings: name its tenants instead (clinic-x)");
    }

    #[test]
    fn bad_declarations_are_refused() {
        let mut twice = prod();
        twice.rings[1].tenants.push("internal".into());
        assert!(validate(&[twice]).unwrap_err().contains("rings internal and pilot"));
        let mut orphan = prod();
        orphan.tenants = vec!["internal".into(), "clinic-a".into(), "clinic-b".into(), "x".into()];
        assert!(validate(&[orphan]).unwrap_err().contains("in no ring"));
        let mut undeclared = prod();
        undeclared.tenants = vec!["internal".into()];
        assert!(validate(&[undeclared]).unwrap_err().contains("not in tenants"));
        let mut loops = prod();
        loops.after = Some("prod".into());
        assert!(validate(&[loops]).unwrap_err().contains("loops"));
        assert!(validate(&[prod()]).is_ok());
    }

    /// A value refused for its shape is not repeated (a helper's sweep on the twelfth
    /// session's head: `after = "555-123-4567"` was printed back).
    #[test]
    fn a_refused_declaration_repeats_no_value() {
        for bad in ["555-123-4567", "219451100", "00123456", "jane roe 1961-04-12"] {
            let mut after = prod();
            after.after = Some(bad.into());
            let mut tenant = prod();
            tenant.tenants.push(bad.into());
            let mut named = prod();
            named.name = format!("{bad} x");
            for e in [after, tenant, named] {
                let m = validate(&[e]).unwrap_err();
                assert!(!m.contains(bad) && !m.contains("4567") && !m.contains("1961"), "{m}");
            }
        }
    }

    /// What a strategy writes into its rollouts' leaves holds no person's number (a helper's
    /// attack on the twelfth session's head: an HTTP check's path `/patients/00123456` was
    /// recorded and exported); what checks name is kept.
    #[test]
    fn a_strategy_naming_a_patients_number_is_refused_unrepeated() {
        let check = |path: &str| {
            let mut s = Strategy::of(StrategyKind::Canary);
            s.http_checks.push(HttpCheck {
                path: path.into(),
                expect_status: 200,
                tenant: None,
            });
            judge_strategy(&s)
        };
        for bad in [
            "/patients/00123456",
            "/v1/lookup?mrn=00123456",
            "/x/219-45-1100",
            "/members/219451100",
        ] {
            let e = check(bad).expect_err(bad);
            assert!(
                !e.message.contains("0012") && !e.message.contains("2194"),
                "{}",
                e.message
            );
        }
        for good in [
            "/healthz",
            "/api/v1/appointments?limit=10",
            "/v2/orders/ORD-42",
            "/status?since=2026-12-01",
            "/health?since=1733560000",
        ] {
            check(good).expect(good);
        }
        let prom = |query: &str| {
            let mut s = Strategy::of(StrategyKind::Canary);
            s.prometheus.push(ward_core::canary::PromCheck {
                name: "error-rate".into(),
                url: "http://127.0.0.1:9090".into(),
                query: query.into(),
                max: Some(0.01),
                min: None,
            });
            judge_strategy(&s)
        };
        prom(r#"sum(rate(http_requests_total{patient_id="00123456"}[1m]))"#).expect_err("labelled");
        // A bare number in a label's value (a helper's attack), in fullwidth digits too.
        prom(r#"sum(rate(x{caller="219451100"}[1m]))"#).expect_err("a number in a label");
        // In every quote PromQL knows, escapes read (a reviewer's find).
        prom("sum(rate(x{caller='219451100'}[1m]))").expect_err("single quotes");
        prom("sum(rate(x{caller=`219451100`}[1m]))").expect_err("backticks");
        prom(r#"sum(rate(x{a="\"",caller="219451100"}[1m]))"#).expect_err("after an escaped quote");
        prom(
            "sum(rate(x{k=\"\u{ff15}\u{ff15}\u{ff15}\u{ff11}\u{ff12}\u{ff13}\u{ff14}\u{ff15}\u{ff16}\u{ff17}\"}[1m]))",
        )
        .expect_err("fullwidth digits");
        prom(r#"sum(process_resident_memory_bytes{job="api"}) > 1048576"#).expect("a threshold");
        // Outside the strings: no comment, no number a threshold does not need (a helper's
        // attack on the fourteenth session's head).
        prom("patient_ssn_total > 219451100").expect_err("a number of nine digits");
        prom("x > 2128675309").expect_err("a phone number as a threshold");
        prom("x > 2.19451100e8").expect_err("written with an exponent");
        prom("up # db pass is Tr0ub4dor-horse-9 212.867.5309").expect_err("a comment");
        prom(r#"sum(rate(http_2xx_total{job="a#b"}[5m])) / sum(rate(http_requests_total[5m])) < 0.995"#)
            .expect("digits in names, a # in a string, a ratio");
        prom("sum(x) > 1073741824").expect("1 GiB");
        let mut slow = Strategy::of(StrategyKind::Canary);
        slow.pause_ms = 2_194_511_000;
        judge_strategy(&slow).expect_err("a pause of twenty-five days");
        slow.pause_ms = 3 * 86_400_000;
        judge_strategy(&slow).expect("a bake of three days");
        let mut status = Strategy::of(StrategyKind::Canary);
        status.http_checks.push(HttpCheck {
            path: "/healthz".into(),
            expect_status: 2194,
            tenant: None,
        });
        judge_strategy(&status).expect_err("no HTTP status");
        prom(r#"sum(rate(http_requests_total{version="{{version}}",tenant="{{tenant}}",code=~"5.."}[1m]))"#)
            .expect("an ordinary query");
        let mut tenant = Strategy::of(StrategyKind::Canary);
        tenant.http_checks.push(HttpCheck {
            path: "/healthz".into(),
            expect_status: 200,
            tenant: Some("roe-j-2015-04-12".into()),
        });
        judge_strategy(&tenant).expect_err("a child's name and birth date as a tenant");
    }
}
