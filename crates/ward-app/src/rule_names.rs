//! The gate rule ids the policies in force can name, read from their Rego sources, so that a
//! waiver or a break-glass names rules that exist (`--rule evidnce.` excuses nothing and is
//! refused, with the name it was probably meant to be).
//!
//! Pure: the caller hands the policy bundles in. A rule id written whole in a policy
//! (`"rule": "calendar.freeze"`) is known as it is; one a policy builds at evaluation
//! (`sprintf("evidence.%s", [kind])`) opens its prefix (`evidence.`): any id under it is
//! accepted. Every string literal of the team's policies counts, so a team's own rules are
//! never refused; test files (`*_test.rego`) do not.

use std::collections::BTreeSet;
use ward_core::gate::PolicyBundle;

/// The rule ids and built prefixes of a set of policy bundles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleNames {
    /// Ids written whole (`calendar.freeze`).
    exact: BTreeSet<String>,
    /// Prefixes of ids built at evaluation (`evidence.`).
    built: BTreeSet<String>,
}

impl RuleNames {
    /// The names every bundle's policy files (not their tests) can give a rule.
    pub fn of<'a>(bundles: impl IntoIterator<Item = &'a PolicyBundle>) -> RuleNames {
        let mut names = RuleNames::default();
        for b in bundles {
            for (file, source) in &b.files {
                if file.ends_with("_test.rego") {
                    continue;
                }
                for literal in string_literals(source) {
                    names.add(literal);
                }
            }
        }
        names
    }

    fn add(&mut self, literal: &str) {
        let built = ["%s", "%v", "%d"].iter().find_map(|f| literal.strip_suffix(f));
        match built {
            Some(prefix) if prefix.ends_with('.') && is_rule_id(&format!("{prefix}x")) => {
                self.built.insert(prefix.to_string());
            }
            Some(_) => {}
            None if is_rule_id(literal) => {
                self.exact.insert(literal.to_string());
            }
            None => {}
        }
    }

    /// Whether `pattern` (a rule id, or a prefix ending in `.`) names at least one rule the
    /// policies can give; else the hint: the closest known name, or the families.
    pub fn check(&self, pattern: &str) -> Result<(), String> {
        if self.covers(pattern) {
            return Ok(());
        }
        let families: BTreeSet<String> = self
            .exact
            .iter()
            .chain(&self.built)
            .filter_map(|n| n.split_once('.').map(|(f, _)| format!("{f}.")))
            .collect();
        let candidates = self.exact.iter().chain(&self.built).chain(&families);
        let near = crate::environment::closest_name(candidates.map(String::as_str), pattern);
        let listed = families.iter().map(String::as_str).collect::<Vec<_>>().join(" ");
        let families = listed;
        Err(match near {
            Some(near) => format!("did you mean {near}? (the rule families of the policy in force: {families})"),
            None => format!(
                "name a rule as a gate decision's explanation names it, or a family of them (the policy in force: {families})"
            ),
        })
    }

    fn covers(&self, pattern: &str) -> bool {
        match pattern.ends_with('.') {
            // A prefix: some rule lies under it.
            true => {
                self.exact.iter().any(|e| e.starts_with(pattern))
                    || self
                        .built
                        .iter()
                        .any(|b| b.starts_with(pattern) || pattern.starts_with(b.as_str()))
            }
            false => {
                self.exact.contains(pattern)
                    || self
                        .built
                        .iter()
                        .any(|b| pattern.len() > b.len() && pattern.starts_with(b.as_str()))
            }
        }
    }
}

/// `family.name[.more]`: lower-case letters, digits, `_` and `-`, starting with a letter.
fn is_rule_id(s: &str) -> bool {
    let Some((family, rest)) = s.split_once('.') else {
        return false;
    };
    family.starts_with(|c: char| c.is_ascii_lowercase())
        && family
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b))
        && rest
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b)))
}

/// The double-quoted string literals of a Rego source (comments and raw strings skipped; an
/// escaped character kept as it is written, which no rule id holds).
fn string_literals(source: &str) -> Vec<&str> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if let Some(s) = source.get(start..i.min(bytes.len())) {
                    out.push(s);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::RuleNames;
    use ward_core::gate::PolicyBundle;

    fn bundled() -> RuleNames {
        RuleNames::of([&PolicyBundle::defaults()])
    }

    /// Every rule the bundled policy gives is known; an id it builds is known under its prefix.
    #[test]
    fn the_bundled_policys_rules_and_families_are_known() {
        let names = bundled();
        for ok in [
            "calendar.freeze",
            "calendar.outside_window",
            "calendar.",
            "evidence.",
            "evidence.sbom",
            "evidence.step.sast",
            "sla.critical",
            "sla.",
            "vulnerabilities.critical_open",
            "slo.error_budget",
            "promotion.previous_environment",
        ] {
            assert_eq!(names.check(ok), Ok(()), "{ok}");
        }
    }

    /// A typo excuses nothing: it is refused, with the name it was probably meant to be.
    #[test]
    fn a_waiver_naming_a_misspelt_rule_is_refused_with_the_name_it_meant() {
        let names = bundled();
        let hint = names.check("evidnce.").unwrap_err();
        assert!(hint.starts_with("did you mean evidence.?"), "{hint}");
        let hint = names.check("calendar.outside_windw").unwrap_err();
        assert!(hint.starts_with("did you mean calendar.outside_window?"), "{hint}");
        // A family alone, or an id that no rule has, under a family whose ids are all written.
        for refused in [
            "calendar",
            "calendar.anything",
            "nothing.at_all",
            "calendar.freeze.more",
        ] {
            assert!(names.check(refused).is_err(), "{refused}");
        }
        let hint = names.check("nothing.at_all").unwrap_err();
        assert!(hint.contains("calendar.") && hint.contains("evidence."), "{hint}");
    }

    /// A team's own rule (any string literal of its policy files) is known; one written only in
    /// a test file, or in a comment, is not.
    #[test]
    fn a_teams_own_rules_are_known_and_its_tests_and_comments_are_not() {
        let mut b = PolicyBundle::defaults();
        b.add(
            "team/pci.rego".into(),
            "package ward.gate\n# \"commented.rule\" is not one\ndeny contains r if {\n  r := {\"rule\": \"pci.segmentation\", \"message\": \"x\"}\n}\ndeny contains r if { r := {\"rule\": sprintf(\"pci.scan.%s\", [\"a\"])} }\n".into(),
        );
        b.add(
            "team/pci_test.rego".into(),
            "package ward.gate\ntest_x if { \"tested.only\" == \"tested.only\" }\n".into(),
        );
        let names = RuleNames::of([&b]);
        for ok in ["pci.segmentation", "pci.", "pci.scan.asv", "pci.scan."] {
            assert_eq!(names.check(ok), Ok(()), "{ok}");
        }
        for refused in ["commented.rule", "tested.only", "pci.other"] {
            assert!(names.check(refused).is_err(), "{refused}");
        }
    }
}
