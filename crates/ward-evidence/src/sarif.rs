//! SARIF 2.1.0, as semgrep (`--sarif`), CodeQL, checkov (`-o sarif`) and bandit (`-f sarif`)
//! write it.
//!
//! A result's level is its own `level`, else its rule's `defaultConfiguration.level`, else
//! `warning` (SARIF §3.27.10). Its security severity is the `security-severity` property (a
//! CVSS-like score, as GitHub code scanning reads it) of the result or, failing that, of its
//! rule, bucketed as critical (≥ 9.0), high (≥ 7.0), medium (≥ 4.0), low (> 0) or `unscored`.
//! Suppressed results are counted apart and left out of the level and severity counts.

use crate::{EvidenceError, check_size};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const FORMAT: &str = "SARIF";
/// Most distinct rule ids kept in a summary.
pub const MAX_RULES: usize = 1000;

/// What a SARIF log says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SarifSummary {
    /// Tools that produced the runs (name and version).
    pub tools: Vec<ToolInfo>,
    /// Results that are not suppressed.
    pub results: u64,
    /// Those results by level (`error`, `warning`, `note`, `none`).
    pub by_level: BTreeMap<String, u64>,
    /// Those results by security severity (`critical`, `high`, `medium`, `low`, `unscored`).
    pub by_severity: BTreeMap<String, u64>,
    /// Distinct rule ids of those results (at most [`MAX_RULES`]).
    pub rule_ids: Vec<String>,
    /// Suppressed results.
    pub suppressed: u64,
}

/// A tool of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// `tool.driver.name`.
    pub name: String,
    /// `tool.driver.semanticVersion`, else `version`.
    pub version: Option<String>,
}

#[derive(Deserialize)]
struct Log {
    version: String,
    #[serde(default)]
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    tool: Tool,
    #[serde(default)]
    results: Option<Vec<SarifResult>>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Component,
    #[serde(default)]
    extensions: Vec<Component>,
}

#[derive(Deserialize)]
struct Component {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default, rename = "semanticVersion")]
    semantic_version: Option<String>,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(default)]
    id: String,
    #[serde(default, rename = "defaultConfiguration")]
    default_configuration: Option<Configuration>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    level: Option<String>,
}

#[derive(Deserialize)]
struct RuleRef {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    index: Option<i64>,
}

#[derive(Deserialize)]
struct SarifResult {
    #[serde(default, rename = "ruleId")]
    rule_id: Option<String>,
    #[serde(default, rename = "ruleIndex")]
    rule_index: Option<i64>,
    #[serde(default)]
    rule: Option<RuleRef>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    suppressions: Option<Vec<Value>>,
}

fn severity_score(props: Option<&serde_json::Map<String, Value>>) -> Option<f64> {
    let v = props?.get("security-severity")?;
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn bucket(score: Option<f64>) -> &'static str {
    match score {
        Some(s) if s >= 9.0 => "critical",
        Some(s) if s >= 7.0 => "high",
        Some(s) if s >= 4.0 => "medium",
        Some(s) if s > 0.0 => "low",
        _ => "unscored",
    }
}

/// Parses and summarises a SARIF 2.1.0 log of at most `limit` bytes.
pub fn summarise(bytes: &[u8], limit: usize) -> Result<SarifSummary, EvidenceError> {
    check_size(bytes, limit)?;
    let log: Log = serde_json::from_slice(bytes).map_err(|e| EvidenceError::Malformed {
        format: FORMAT,
        reason: e.to_string(),
    })?;
    if log.version != "2.1.0" {
        return Err(EvidenceError::Malformed {
            format: FORMAT,
            reason: format!("version {:?} (only 2.1.0 is read)", log.version),
        });
    }
    let mut out = SarifSummary::default();
    let mut rule_ids = BTreeSet::new();
    for run in &log.runs {
        let d = &run.tool.driver;
        out.tools.push(ToolInfo {
            name: d.name.clone(),
            version: d.semantic_version.clone().or_else(|| d.version.clone()),
        });
        let by_id: HashMap<&str, &Rule> = std::iter::once(d)
            .chain(&run.tool.extensions)
            .flat_map(|c| &c.rules)
            .map(|r| (r.id.as_str(), r))
            .collect();
        for r in run.results.iter().flatten() {
            if r.suppressions.as_ref().is_some_and(|s| !s.is_empty()) {
                out.suppressed += 1;
                continue;
            }
            let index = r.rule_index.or_else(|| r.rule.as_ref().and_then(|x| x.index));
            let id = r
                .rule_id
                .clone()
                .or_else(|| r.rule.as_ref().and_then(|x| x.id.clone()))
                .or_else(|| {
                    index
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| d.rules.get(i))
                        .map(|rule| rule.id.clone())
                });
            let rule = match index.and_then(|i| usize::try_from(i).ok()) {
                Some(i) => d.rules.get(i),
                None => id.as_deref().and_then(|id| by_id.get(id).copied()),
            };
            let level = r
                .level
                .clone()
                .or_else(|| rule.and_then(|x| x.default_configuration.as_ref()?.level.clone()))
                .unwrap_or_else(|| "warning".into());
            if !matches!(level.as_str(), "error" | "warning" | "note" | "none") {
                return Err(EvidenceError::Malformed {
                    format: FORMAT,
                    reason: format!("result level {level:?} is not error, warning, note or none"),
                });
            }
            let score = severity_score(r.properties.as_ref()).or_else(|| severity_score(rule?.properties.as_ref()));
            out.results += 1;
            *out.by_level.entry(level).or_default() += 1;
            *out.by_severity.entry(bucket(score).into()).or_default() += 1;
            if let Some(id) = id
                && rule_ids.len() < MAX_RULES
            {
                rule_ids.insert(id);
            }
        }
    }
    out.rule_ids = rule_ids.into_iter().collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_severities_and_suppressions() {
        let log = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"scanner","semanticVersion":"1.2.3",
          "rules":[{"id":"R1","defaultConfiguration":{"level":"error"},"properties":{"security-severity":"9.8"}},
                   {"id":"R2","properties":{"security-severity":"5.0"}}]}},
          "results":[{"ruleId":"R1","message":{"text":"x"}},
                     {"ruleId":"R2","level":"note","message":{"text":"y"}},
                     {"ruleIndex":1,"message":{"text":"z"}},
                     {"ruleId":"R3","level":"warning","message":{"text":"w"}},
                     {"ruleId":"R1","suppressions":[{"kind":"inSource"}],"message":{"text":"s"}}]}]}"#;
        let s = summarise(log.as_bytes(), 1 << 20).unwrap();
        assert_eq!(s.results, 4);
        assert_eq!(s.suppressed, 1);
        assert_eq!(s.by_level["error"], 1);
        assert_eq!(s.by_level["note"], 1);
        assert_eq!(s.by_level["warning"], 2);
        assert_eq!(s.by_severity["critical"], 1);
        assert_eq!(s.by_severity["medium"], 2);
        assert_eq!(s.by_severity["unscored"], 1);
        assert_eq!(s.rule_ids, vec!["R1", "R2", "R3"]);
        assert_eq!(s.tools[0].version.as_deref(), Some("1.2.3"));
    }

    #[test]
    fn bad_logs_are_refused() {
        for bad in [
            "",
            "{}",
            r#"{"version":"2.0.0","runs":[]}"#,
            r#"{"version":"2.1.0","runs":[{"tool":{}}]}"#,
            r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"}},"results":[{"level":"fatal"}]}]}"#,
        ] {
            assert!(summarise(bad.as_bytes(), 1 << 20).is_err(), "{bad}");
        }
    }
}
