//! Risk classification of a change: path globs give tags (`migrations/**` → `schema_migration`),
//! tags and attributes give a tier. The highest tier any rule gives wins; the result records
//! every rule that matched, so a classification can always be explained.
//!
//! Rules come from `[risk]` in `ward.toml`; without one, [`RiskRules::default`] applies:
//!
//! ```toml
//! [risk]
//! default_tier = "low"
//! [[risk.path_tags]]
//! glob = "migrations/**"
//! tag = "schema_migration"
//! [[risk.tiers]]
//! when = ["phi", "clinical_workflow", "schema_migration", "kind:emergency"]   # any of
//! tier = "high"
//! ```
//!
//! ## The healthcare defaults
//!
//! Path tags (globs are case-sensitive, so the usual spellings are listed; `**/x/**` also
//! matches a file named `x`, since `**` may match no segment):
//!
//! | globs | tags |
//! | --- | --- |
//! | `**/phi/**`, `**/PHI/**` | `phi` |
//! | `**/*patient*/**`, `**/*Patient*/**` (any file or directory whose name contains "patient") | `phi` |
//! | `**/ehr/**`, `**/EHR/**`, `**/emr/**`, `**/EMR/**` | `phi`, `integration:ehr` |
//! | `**/fhir/**`, `**/FHIR/**` | `phi`, `integration:fhir` |
//! | `**/hl7/**`, `**/HL7/**` | `phi`, `integration:hl7` |
//! | `**/dicom/**`, `**/DICOM/**` | `phi` |
//! | `**/migrations/**`, `**/db/migrate/**`, `**/*.sql` | `schema_migration` |
//! | `**/*.tf`, `**/terraform/**`, `**/helm/**`, `**/k8s/**` | `infrastructure` |
//! | `**/billing/**` | `integration:billing` |
//!
//! Tiers: `phi`, `clinical_workflow`, `schema_migration`, `kind:emergency` → high;
//! `infrastructure`, `internet_facing`, `integration:ehr`, `integration:fhir`,
//! `integration:hl7`, `integration:billing` → medium; otherwise low. So a change touching
//! `app/phi/patient.py`, `src/Patient.java` or `integrations/fhir/client.py` is high risk by
//! default. An explicit `[risk]` section replaces all of these.
//!
//! Every [`Classification`] records the [`RiskRules::digest`] of the rules it was made under
//! (`rules_digest`), so a stored tier can always be traced to its rules, and a change classified
//! under other rules can be told apart and classified again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A risk tier, ordered low < medium < high.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk.
    High,
}

impl Tier {
    /// The tier's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Medium => "medium",
            Tier::High => "high",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Tier::Low),
            "medium" => Ok(Tier::Medium),
            "high" => Ok(Tier::High),
            // What was typed is not repeated: it may hold anything.
            _ => Err("unknown tier (low, medium or high)".into()),
        }
    }
}

/// `glob` → `tag`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathTag {
    /// Path glob (`*`, `**`, `?`).
    pub glob: String,
    /// Tag given to a change touching a matching path.
    pub tag: String,
}

/// Any of `when` (tags or attributes) → `tier`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    /// Tags or attributes; the rule matches when the change has any of them.
    pub when: Vec<String>,
    /// The tier it gives.
    pub tier: Tier,
}

/// The `[risk]` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRules {
    /// Tier when no rule matches.
    #[serde(default = "low")]
    pub default_tier: Tier,
    /// Path rules.
    #[serde(default)]
    pub path_tags: Vec<PathTag>,
    /// Tier rules.
    #[serde(default)]
    pub tiers: Vec<TierRule>,
}

fn low() -> Tier {
    Tier::Low
}

impl Default for RiskRules {
    /// Sensible defaults for a healthcare SaaS: schema migrations, PHI and clinical workflow are
    /// high; infrastructure, EHR/FHIR/HL7/billing integrations and internet-facing changes are
    /// medium; emergency changes are high.
    fn default() -> Self {
        let tag = |glob: &str, tag: &str| PathTag {
            glob: glob.into(),
            tag: tag.into(),
        };
        let rule = |when: &[&str], tier| TierRule {
            when: when.iter().map(|s| s.to_string()).collect(),
            tier,
        };
        RiskRules {
            default_tier: Tier::Low,
            path_tags: vec![
                tag("**/migrations/**", "schema_migration"),
                tag("**/db/migrate/**", "schema_migration"),
                tag("**/*.sql", "schema_migration"),
                tag("**/*.tf", "infrastructure"),
                tag("**/terraform/**", "infrastructure"),
                tag("**/helm/**", "infrastructure"),
                tag("**/k8s/**", "infrastructure"),
                // Paths that hold or move protected health information.
                tag("**/phi/**", "phi"),
                tag("**/*patient*/**", "phi"),
                tag("**/ehr/**", "phi"),
                tag("**/emr/**", "phi"),
                tag("**/fhir/**", "phi"),
                tag("**/hl7/**", "phi"),
                tag("**/dicom/**", "phi"),
                // Integrations.
                tag("**/ehr/**", "integration:ehr"),
                tag("**/emr/**", "integration:ehr"),
                tag("**/fhir/**", "integration:fhir"),
                tag("**/hl7/**", "integration:hl7"),
                tag("**/billing/**", "integration:billing"),
            ],
            tiers: vec![
                rule(
                    &["phi", "clinical_workflow", "schema_migration", "kind:emergency"],
                    Tier::High,
                ),
                rule(
                    &[
                        "infrastructure",
                        "internet_facing",
                        "integration:ehr",
                        "integration:fhir",
                        "integration:hl7",
                        "integration:billing",
                    ],
                    Tier::Medium,
                ),
            ],
        }
    }
}

/// A classification and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Classification {
    /// The tier.
    pub tier: Tier,
    /// Every tag the change carries (attributes, `kind:<kind>`, `integration:<name>`, and tags
    /// from paths), sorted.
    pub tags: Vec<String>,
    /// Every rule that matched, as `glob -> tag (path)` or `when -> tier (tag)`.
    pub matched: Vec<String>,
    /// `sha256:` of the canonical JSON (RFC 8785) of the rules it was made under
    /// ([`RiskRules::digest`]); empty in classifications recorded before it was kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rules_digest: String,
}

/// What classification looks at.
pub struct ChangeFacts<'a> {
    /// `normal`, `standard` or `emergency`.
    pub kind: &'a str,
    /// Attributes (phi, clinical_workflow, …).
    pub attributes: &'a [String],
    /// Integrations touched (ehr, fhir, hl7, billing, …).
    pub integrations: &'a [String],
    /// Paths touched.
    pub paths: &'a [String],
    /// Each path as the record names it, index for index (a reference to the path stored
    /// beside the log: `matched` is written into the leaf); empty: the paths themselves.
    pub paths_as_recorded: &'a [String],
}

impl RiskRules {
    /// `sha256:<hex>` of the rules' canonical JSON (RFC 8785): the same rules, however written
    /// in `ward.toml`, give the same digest.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        // Serialising plain strings, enums and lists cannot fail.
        let bytes = ward_ledger::envelope::canonical_json(self).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
    }

    /// Classifies a change.
    pub fn classify(&self, change: &ChangeFacts<'_>) -> Classification {
        let mut tags: BTreeSet<String> = change.attributes.iter().cloned().collect();
        tags.insert(format!("kind:{}", change.kind));
        for i in change.integrations {
            tags.insert(format!("integration:{}", i.to_ascii_lowercase()));
        }
        let mut matched = Vec::new();
        for rule in &self.path_tags {
            // A glob matches a path as written or lower-cased: `src/Fhir/x` is as much PHI as
            // `src/fhir/x` (more tags can only raise the tier: fail closed).
            if let Some(i) = change.paths.iter().position(|p| {
                crate::glob::matches(&rule.glob, p) || crate::glob::matches(&rule.glob, &p.to_lowercase())
            }) {
                tags.insert(rule.tag.clone());
                let p = change.paths_as_recorded.get(i).unwrap_or(&change.paths[i]);
                matched.push(format!("{} -> {} ({p})", rule.glob, rule.tag));
            }
        }
        let mut tier = self.default_tier;
        for rule in &self.tiers {
            if let Some(t) = rule.when.iter().find(|w| tags.contains(*w)) {
                matched.push(format!("{t} -> {}", rule.tier));
                tier = tier.max(rule.tier);
            }
        }
        // A floor no `[risk]` section removes: PHI and clinical workflows are high (a `[risk]`
        // table replaces the default rules, and must not fail open).
        if tier < Tier::High
            && let Some(t) = ["phi", "clinical_workflow"].iter().find(|t| tags.contains(**t))
        {
            matched.push(format!("{t} -> high (built-in floor)"));
            tier = Tier::High;
        }
        Classification {
            tier,
            tags: tags.into_iter().collect(),
            matched,
            rules_digest: self.digest(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(kind: &'a str, attributes: &'a [String], paths: &'a [String]) -> ChangeFacts<'a> {
        ChangeFacts {
            kind,
            attributes,
            integrations: &[],
            paths,
            paths_as_recorded: &[],
        }
    }

    #[test]
    fn defaults_classify_and_explain() {
        let r = RiskRules::default();
        let none: Vec<String> = vec![];
        let docs = vec!["README.md".to_string()];
        assert_eq!(r.classify(&facts("normal", &none, &docs)).tier, Tier::Low);
        let mig = vec!["services/api/migrations/0042_add_index.sql".to_string()];
        let c = r.classify(&facts("normal", &none, &mig));
        assert_eq!(c.tier, Tier::High);
        assert!(c.tags.contains(&"schema_migration".to_string()));
        assert!(
            c.matched
                .iter()
                .any(|m| m.starts_with("**/migrations/** -> schema_migration"))
        );
        assert!(c.matched.iter().any(|m| m == "schema_migration -> high"));
        let tf = vec!["infra/main.tf".to_string()];
        assert_eq!(r.classify(&facts("normal", &none, &tf)).tier, Tier::Medium);
        let phi = vec!["phi".to_string()];
        assert_eq!(r.classify(&facts("standard", &phi, &docs)).tier, Tier::High);
        assert_eq!(r.classify(&facts("emergency", &none, &docs)).tier, Tier::High);
    }

    #[test]
    fn an_empty_risk_section_does_not_lower_phi() {
        let empty = RiskRules {
            default_tier: Tier::Low,
            path_tags: vec![],
            tiers: vec![],
        };
        let c = empty.classify(&facts("normal", &["phi".to_string()], &[]));
        assert_eq!(c.tier, Tier::High);
        assert!(
            c.matched.iter().any(|m| m.contains("built-in floor")),
            "{:?}",
            c.matched
        );
    }

    #[test]
    fn phi_path_is_not_low_risk_by_default() {
        let r = RiskRules::default();
        for path in [
            "app/phi/patient.py",
            "phi/export.py",
            "services/api/patients/views.py",
            "src/main/java/org/acme/Patient.java",
            "app/models/patient_record.py",
            "integrations/ehr/epic.py",
            "lib/emr/sync.rb",
            "integrations/fhir/client.py",
            "app/HL7/parser.py",
            "imaging/dicom/reader.py",
            // Mixed case is the same directory on a case-insensitive disk.
            "src/Fhir/client.py",
            "app/Phi/export.py",
            "Hl7.Fhir.Core/Hl7/parser.cs",
        ] {
            let paths = vec![path.to_string()];
            let c = r.classify(&facts("normal", &[], &paths));
            assert_eq!(c.tier, Tier::High, "{path}");
            assert!(c.tags.contains(&"phi".to_string()), "{path}");
            assert!(c.matched.iter().any(|m| m == "phi -> high"), "{path}: {:?}", c.matched);
        }
        let fhir = vec!["integrations/fhir/client.py".to_string()];
        let c = r.classify(&facts("normal", &[], &fhir));
        assert!(c.tags.contains(&"integration:fhir".to_string()));
        // Nothing patient-related stays low.
        for path in ["README.md", "app/billing_test.txt", "docs/physics.md"] {
            let paths = vec![path.to_string()];
            assert_eq!(r.classify(&facts("normal", &[], &paths)).tier, Tier::Low, "{path}");
        }
    }

    #[test]
    fn every_classification_records_its_rules_digest() {
        let d = RiskRules::default();
        let c = d.classify(&facts("normal", &[], &[]));
        assert_eq!(c.rules_digest, d.digest());
        assert!(c.rules_digest.starts_with("sha256:") && c.rules_digest.len() == 71);
        let other = toml_like();
        assert_ne!(other.digest(), d.digest());
        assert_eq!(other.classify(&facts("normal", &[], &[])).rules_digest, other.digest());
        // Stable: the same rules give the same digest.
        assert_eq!(toml_like().digest(), other.digest());
        // Older classifications without the field still read.
        let old: Classification = serde_json::from_str(r#"{"tier":"low","tags":[],"matched":[]}"#).unwrap();
        assert_eq!(old.rules_digest, "");
        assert!(serde_json::to_value(&old).unwrap().get("rules_digest").is_none());
    }

    #[test]
    fn configured_rules() {
        let r: RiskRules = toml_like();
        let paths = vec!["app/payments/charge.rs".to_string()];
        let c = r.classify(&facts("normal", &[], &paths));
        assert_eq!((c.tier, c.matched.len()), (Tier::Medium, 2));
    }

    fn toml_like() -> RiskRules {
        RiskRules {
            default_tier: Tier::Low,
            path_tags: vec![PathTag {
                glob: "app/payments/**".into(),
                tag: "payments".into(),
            }],
            tiers: vec![TierRule {
                when: vec!["payments".into()],
                tier: Tier::Medium,
            }],
        }
    }
}
