//! Vulnerability reports, as the scanners write them: Trivy JSON (`SchemaVersion` 2), Grype
//! JSON, osv-scanner JSON, OSV records (one, a list, or an OSV API `{"vulns": […]}` answer),
//! pip-audit JSON, and CycloneDX (JSON or XML) with `vulnerabilities` — VEX when an entry carries
//! an `analysis`.
//!
//! Every report becomes the same [`VulnSummary`]: one [`Finding`] per vulnerability × package,
//! with a normalised severity (critical, high, medium, low, unknown), whether a fix exists, and —
//! for VEX — whether it is open at all. Severities come from the tool's own label where it has
//! one; otherwise from a CVSS v3 base score or vector (computed per the CVSS 3.1 specification).
//! The first time Ward saw each finding is added by the server, which knows what it saw before.
//!
//! **A scan that could not audit what it was given is incomplete**, never clean: when a report
//! says it skipped packages, the summary carries `incomplete: true`, the `skipped` count,
//! `audited` (packages it did audit) and `incomplete_reason` naming the packages and the tool's
//! reasons. The rule is the strict one (fail closed): *any* skipped package makes the scan
//! incomplete, not only a scan where every package was skipped — a package nobody audited is
//! not known to be free of vulnerabilities, whatever happened to the others. A report that was
//! given nothing to audit (no package at all) is incomplete too. Of the formats read, pip-audit
//! is the one that records skips (`skip_reason` per dependency: not found on PyPI, editable,
//! …) and packages audited clean (`"vulns": []`); Trivy, Grype, osv-scanner, OSV and CycloneDX
//! list findings only, so a clean report of theirs cannot be told from one that saw nothing and
//! they are never marked incomplete here.

use crate::{EvidenceError, check_size, cyclonedx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const FORMAT: &str = "vulnerability report";
/// Most findings listed in a summary (the counts always cover all of them).
pub const MAX_FINDINGS: usize = 10_000;

/// One vulnerability in one package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Vulnerability id as the tool names it (CVE, GHSA, PYSEC, …).
    pub id: String,
    /// Other ids of the same vulnerability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Package name.
    pub package: String,
    /// Installed version, where the report says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `critical`, `high`, `medium`, `low` or `unknown`.
    pub severity: String,
    /// A fixed version exists.
    pub fix_available: bool,
    /// Versions that fix it, where listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    /// VEX state (`not_affected`, `exploitable`, …), where given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vex_state: Option<String>,
    /// Still open: not closed by VEX as not affected, false positive or resolved.
    pub open: bool,
    /// When Ward first saw this vulnerability in this package for this service (RFC 3339);
    /// filled in by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

impl Finding {
    /// What identifies a finding across reports: id and package.
    pub fn key(&self) -> String {
        format!("{}|{}", self.id, self.package)
    }
}

/// What a vulnerability report says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VulnSummary {
    /// Report format: `trivy`, `grype`, `osv-scanner`, `osv`, `pip-audit` or `cyclonedx`.
    pub report_format: String,
    /// Tool name, where the report says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Tool version, where the report says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// Findings (vulnerability × package), open or not.
    pub findings: u64,
    /// Open findings.
    pub open: u64,
    /// Open findings by severity.
    pub by_severity: BTreeMap<String, u64>,
    /// Open findings with a fix available.
    pub fix_available: u64,
    /// Findings closed by VEX, by state.
    pub closed_by_vex: BTreeMap<String, u64>,
    /// Distinct vulnerability ids.
    pub ids: Vec<String>,
    /// The findings, at most [`MAX_FINDINGS`].
    pub list: Vec<Finding>,
    /// The scan could not audit everything it was given (or was given nothing): it satisfies
    /// no requirement for a vulnerability scan.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    /// Why the scan is incomplete (the packages skipped and the tool's reasons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_reason: Option<String>,
    /// Packages the tool says it audited, where the report says (pip-audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audited: Option<u64>,
    /// Packages the tool says it could not audit, where the report says (pip-audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<u64>,
    /// The skipped packages with the tool's reason, at most [`MAX_SKIPPED`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_packages: Vec<Skipped>,
}

/// Most skipped packages listed in a summary (the count always covers all of them).
pub const MAX_SKIPPED: usize = 1000;

/// A package the scanner could not audit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// Package name.
    pub package: String,
    /// The tool's reason, as written.
    pub reason: String,
}

impl VulnSummary {
    /// Marks the summary incomplete when a tool that counts what it audits audited nothing or
    /// skipped anything.
    fn judge_completeness(&mut self, tool: &str) {
        let (Some(audited), Some(skipped)) = (self.audited, self.skipped) else {
            return;
        };
        let reason = if audited + skipped == 0 {
            Some(format!("{tool} was given no package to audit"))
        } else if skipped > 0 {
            let names: Vec<String> = self
                .skipped_packages
                .iter()
                .take(3)
                .map(|s| format!("{} ({})", s.package, s.reason))
                .collect();
            let more = if skipped > 3 {
                format!(" and {} more", skipped - 3)
            } else {
                String::new()
            };
            Some(format!(
                "{tool} could not audit {skipped} of {} packages: {}{more}",
                audited + skipped,
                names.join("; ")
            ))
        } else {
            None
        };
        self.incomplete = reason.is_some();
        self.incomplete_reason = reason;
    }
}

fn malformed(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::Malformed {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// Normalises a tool's severity label.
pub fn normalise_severity(label: &str) -> &'static str {
    match label.trim().to_ascii_lowercase().as_str() {
        "critical" => "critical",
        "high" | "important" => "high",
        "medium" | "moderate" => "medium",
        "low" | "negligible" | "minor" => "low",
        _ => "unknown",
    }
}

/// Severity of a CVSS base score.
pub fn severity_of_score(score: f64) -> &'static str {
    match score {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s > 0.0 => "low",
        _ => "unknown",
    }
}

/// The base score of a CVSS v3.0/v3.1 vector (`CVSS:3.1/AV:N/AC:L/…`), or `None` when the
/// vector is not v3 or lacks a base metric.
pub fn cvss3_base_score(vector: &str) -> Option<f64> {
    let rest = vector
        .strip_prefix("CVSS:3.1/")
        .or_else(|| vector.strip_prefix("CVSS:3.0/"))?;
    let mut m: BTreeMap<&str, &str> = BTreeMap::new();
    for part in rest.split('/') {
        let (k, v) = part.split_once(':')?;
        m.insert(k, v);
    }
    let changed = match *m.get("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match *m.get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match *m.get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (*m.get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match *m.get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| -> Option<f64> {
        match *m.get(k)? {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        }
    };
    let iss = 1.0 - (1.0 - cia("C")?) * (1.0 - cia("I")?) * (1.0 - cia("A")?);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    // CVSS 3.1 Roundup: the smallest number with one decimal that is ≥ raw, computed in
    // integers to avoid floating-point surprises.
    let int = (raw * 100_000.0).round() as i64;
    Some(if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    })
}

/// Which report shape a JSON document is, if any.
pub(crate) fn shape(top: &crate::probe::Probe) -> Option<&'static str> {
    if top.trivy_schema_version.is_some() && (top.trivy_results.is_some() || top.trivy_artifact.is_some()) {
        Some("trivy")
    } else if top.matches.is_some() && top.descriptor.is_some() {
        Some("grype")
    } else if top.results.is_some() && top.runs.is_none() {
        Some("osv-scanner")
    } else if top.vulns.is_some() || (top.affected.is_some() && top.id.is_some()) {
        Some("osv")
    } else if top.dependencies.is_some() && top.fixes.is_some() && top.bom_format.is_none() {
        Some("pip-audit")
    } else if top.bom_format.as_deref() == Some("CycloneDX")
        && top.vulnerabilities.as_ref().is_some_and(|v| !v.is_empty())
    {
        Some("cyclonedx")
    } else {
        None
    }
}

/// Parses and summarises a vulnerability report of at most `limit` bytes.
pub fn summarise(bytes: &[u8], limit: usize) -> Result<VulnSummary, EvidenceError> {
    check_size(bytes, limit)?;
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    let mut out = if first == Some(b'<') {
        from_cyclonedx(bytes, limit)?
    } else {
        from_json(bytes, limit)?
    };
    tally(&mut out);
    Ok(out)
}

fn from_json(bytes: &[u8], limit: usize) -> Result<VulnSummary, EvidenceError> {
    let top: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    Ok(match &top {
        Value::Array(list) => osv_records(list)?,
        Value::Object(o) => match shape(&crate::probe::Probe::of(bytes).map_err(|e| malformed(e.to_string()))?) {
            Some("trivy") => trivy(&top)?,
            Some("grype") => grype(&top)?,
            Some("osv-scanner") => osv_scanner(&top)?,
            Some("osv") => match top.get("vulns") {
                Some(Value::Array(list)) => osv_records(list)?,
                Some(_) => return Err(malformed("`vulns` is not a list")),
                None => osv_records(std::slice::from_ref(&top))?,
            },
            Some("pip-audit") => pip_audit(&top)?,
            Some(_) => from_cyclonedx(bytes, limit)?,
            None if o.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") => from_cyclonedx(bytes, limit)?,
            None => {
                return Err(malformed(
                    "not a Trivy, Grype, osv-scanner, OSV, pip-audit or CycloneDX vulnerability report",
                ));
            }
        },
        _ => return Err(malformed("neither a JSON object nor a list")),
    })
}

/// Severity rank for merging duplicates.
fn rank(s: &str) -> usize {
    ["unknown", "low", "medium", "high", "critical"]
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0)
}

/// Merges findings a scanner reported more than once (the same vulnerability in the same
/// package, e.g. per Trivy target or per Grype location): the highest severity, every fixed
/// version, open if any report of it is open. VEX statements are kept apart: each speaks for
/// its own product versions, which the summary does not model.
fn dedupe(list: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(list.len());
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in list {
        if f.vex_state.is_some() {
            out.push(f);
            continue;
        }
        match at.get(&f.key()) {
            Some(&i) => {
                let g = &mut out[i];
                if rank(&f.severity) > rank(&g.severity) {
                    g.severity = f.severity.clone();
                }
                g.fix_available |= f.fix_available;
                for v in f.fixed_versions {
                    if !g.fixed_versions.contains(&v) {
                        g.fixed_versions.push(v);
                    }
                }
                for a in f.aliases {
                    if !g.aliases.contains(&a) {
                        g.aliases.push(a);
                    }
                }
                g.open |= f.open;
            }
            None => {
                at.insert(f.key(), out.len());
                out.push(f);
            }
        }
    }
    out
}

fn tally(out: &mut VulnSummary) {
    out.list = dedupe(std::mem::take(&mut out.list));
    let mut ids = BTreeSet::new();
    for f in &out.list {
        ids.insert(f.id.clone());
    }
    out.findings = out.list.len() as u64;
    out.open = 0;
    out.by_severity.clear();
    out.fix_available = 0;
    out.closed_by_vex.clear();
    for f in &out.list {
        if f.open {
            out.open += 1;
            *out.by_severity.entry(f.severity.clone()).or_default() += 1;
            if f.fix_available {
                out.fix_available += 1;
            }
        } else if let Some(s) = &f.vex_state {
            *out.closed_by_vex.entry(s.clone()).or_default() += 1;
        }
    }
    out.ids = ids.into_iter().collect();
    out.list.truncate(MAX_FINDINGS);
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

fn arr<'a>(v: &'a Value, k: &str) -> Result<&'a [Value], EvidenceError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(malformed(format!("`{k}` is not a list"))),
    }
}

fn need(v: &Value, k: &str, what: &str) -> Result<String, EvidenceError> {
    s(v, k).ok_or_else(|| malformed(format!("a {what} without `{k}`")))
}

fn finding(id: String, package: String, version: Option<String>, severity: &str, fixed: Vec<String>) -> Finding {
    Finding {
        id,
        aliases: Vec::new(),
        package,
        version,
        severity: severity.into(),
        fix_available: !fixed.is_empty(),
        fixed_versions: fixed,
        vex_state: None,
        open: true,
        first_seen: None,
    }
}

fn trivy(top: &Value) -> Result<VulnSummary, EvidenceError> {
    let mut out = VulnSummary {
        report_format: "trivy".into(),
        tool: Some("trivy".into()),
        tool_version: top.get("Trivy").and_then(|t| s(t, "Version")),
        ..VulnSummary::default()
    };
    for result in arr(top, "Results")? {
        for v in arr(result, "Vulnerabilities")? {
            let fixed: Vec<String> = s(v, "FixedVersion")
                .map(|f| {
                    f.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            out.list.push(finding(
                need(v, "VulnerabilityID", "Trivy vulnerability")?,
                need(v, "PkgName", "Trivy vulnerability")?,
                s(v, "InstalledVersion"),
                normalise_severity(&s(v, "Severity").unwrap_or_default()),
                fixed,
            ));
        }
    }
    Ok(out)
}

fn grype(top: &Value) -> Result<VulnSummary, EvidenceError> {
    let descriptor = top.get("descriptor").unwrap_or(&Value::Null);
    let mut out = VulnSummary {
        report_format: "grype".into(),
        tool: s(descriptor, "name").or(Some("grype".into())),
        tool_version: s(descriptor, "version"),
        ..VulnSummary::default()
    };
    for m in arr(top, "matches")? {
        let v = m
            .get("vulnerability")
            .ok_or_else(|| malformed("a Grype match without `vulnerability`"))?;
        let a = m
            .get("artifact")
            .ok_or_else(|| malformed("a Grype match without `artifact`"))?;
        let fix = v.get("fix").unwrap_or(&Value::Null);
        let fixed: Vec<String> = arr(fix, "versions")?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
        let mut f = finding(
            need(v, "id", "Grype vulnerability")?,
            need(a, "name", "Grype artifact")?,
            s(a, "version"),
            normalise_severity(&s(v, "severity").unwrap_or_default()),
            fixed,
        );
        f.fix_available = f.fix_available || s(fix, "state").as_deref() == Some("fixed");
        f.aliases = arr(m, "relatedVulnerabilities")?
            .iter()
            .filter_map(|r| s(r, "id"))
            .filter(|x| *x != f.id)
            .collect();
        out.list.push(f);
    }
    Ok(out)
}

/// Severity and fixed versions of an OSV record (fixed versions only from the `affected` entries
/// of `package`, when given).
fn osv_facts(rec: &Value, package: Option<&str>) -> Result<(String, Vec<String>), EvidenceError> {
    let label = rec
        .get("database_specific")
        .and_then(|d| s(d, "severity"))
        .map(|l| normalise_severity(&l).to_string())
        .filter(|l| l != "unknown");
    let from_cvss = || {
        arr(rec, "severity").ok().and_then(|list| {
            list.iter()
                .filter_map(|x| s(x, "score"))
                .filter_map(|v| cvss3_base_score(&v).or_else(|| v.parse::<f64>().ok()))
                .reduce(f64::max)
                .map(|score| severity_of_score(score).to_string())
        })
    };
    let severity = label.or_else(from_cvss).unwrap_or_else(|| "unknown".into());
    let mut fixed = Vec::new();
    for a in arr(rec, "affected")? {
        let name = a.get("package").and_then(|p| s(p, "name"));
        if let (Some(want), Some(name)) = (package, name.as_deref())
            && want != name
        {
            continue;
        }
        for r in arr(a, "ranges")? {
            for e in arr(r, "events")? {
                if let Some(f) = s(e, "fixed")
                    && !fixed.contains(&f)
                {
                    fixed.push(f);
                }
            }
        }
    }
    Ok((severity, fixed))
}

fn osv_records(list: &[Value]) -> Result<VulnSummary, EvidenceError> {
    let mut out = VulnSummary {
        report_format: "osv".into(),
        ..VulnSummary::default()
    };
    for rec in list {
        let id = need(rec, "id", "OSV record")?;
        let mut aliases = Vec::new();
        other_ids(rec, &id, &mut aliases)?;
        let affected = arr(rec, "affected")?;
        let packages: Vec<String> = affected
            .iter()
            .filter_map(|a| a.get("package").and_then(|p| s(p, "name")))
            .collect();
        for package in if packages.is_empty() {
            vec![String::new()]
        } else {
            packages
        } {
            let only = Some(package.as_str()).filter(|p| !p.is_empty());
            let (severity, fixed) = osv_facts(rec, only)?;
            let mut f = finding(id.clone(), package, None, &severity, fixed);
            f.aliases = aliases.clone();
            out.list.push(f);
        }
    }
    Ok(out)
}

/// Adds the ids an OSV record gives besides `id` — `aliases`, then `upstream` — to `out`, once
/// each.
fn other_ids(rec: &Value, id: &str, out: &mut Vec<String>) -> Result<(), EvidenceError> {
    let mut seen: std::collections::HashSet<String> = out.iter().cloned().collect();
    seen.insert(id.to_string());
    for key in ["aliases", "upstream"] {
        for other in arr(rec, key)?.iter().filter_map(Value::as_str) {
            if seen.insert(other.to_string()) {
                out.push(other.to_string());
            }
        }
    }
    Ok(())
}

fn osv_scanner(top: &Value) -> Result<VulnSummary, EvidenceError> {
    let mut out = VulnSummary {
        report_format: "osv-scanner".into(),
        tool: Some("osv-scanner".into()),
        ..VulnSummary::default()
    };
    for result in arr(top, "results")? {
        for p in arr(result, "packages")? {
            let pkg = p
                .get("package")
                .ok_or_else(|| malformed("an osv-scanner package without `package`"))?;
            let name = need(pkg, "name", "osv-scanner package")?;
            let version = s(pkg, "version");
            let vulns = arr(p, "vulnerabilities")?;
            let by_id: BTreeMap<String, &Value> = vulns.iter().filter_map(|v| Some((s(v, "id")?, v))).collect();
            let groups = arr(p, "groups")?;
            // A group is one vulnerability under several ids (GHSA, PYSEC, CVE); without groups,
            // every record is its own.
            type Group = (Vec<String>, Vec<String>, Option<String>);
            let groups: Vec<Group> = if groups.is_empty() {
                by_id.keys().map(|id| (vec![id.clone()], Vec::new(), None)).collect()
            } else {
                groups
                    .iter()
                    .map(|g| {
                        let strings = |k: &str| -> Result<Vec<String>, EvidenceError> {
                            Ok(arr(g, k)?.iter().filter_map(|x| x.as_str().map(Into::into)).collect())
                        };
                        Ok((strings("ids")?, strings("aliases")?, s(g, "max_severity")))
                    })
                    .collect::<Result<_, EvidenceError>>()?
            };
            for (ids, group_aliases, max) in groups {
                let Some(id) = ids.first().cloned() else { continue };
                let mut severity = max
                    .and_then(|m| m.parse::<f64>().ok())
                    .map(|score| severity_of_score(score).to_string())
                    .unwrap_or_else(|| "unknown".into());
                let mut fixed = Vec::new();
                for rec in ids.iter().filter_map(|i| by_id.get(i)) {
                    let (sev, fx) = osv_facts(rec, Some(&name))?;
                    if severity == "unknown" {
                        severity = sev;
                    }
                    for f in fx {
                        if !fixed.contains(&f) {
                            fixed.push(f);
                        }
                    }
                }
                // Every other id the group and its records give: the group's `aliases`, each
                // record's `aliases` and `upstream` (a distribution's record, `DEBIAN-CVE-…`,
                // names the CVE only there).
                let mut aliases = Vec::new();
                let mut seen = std::collections::HashSet::from([id.as_str()]);
                for other in ids.iter().skip(1).chain(&group_aliases) {
                    if seen.insert(other.as_str()) {
                        aliases.push(other.clone());
                    }
                }
                for rec in ids.iter().filter_map(|i| by_id.get(i)) {
                    other_ids(rec, &id, &mut aliases)?;
                }
                let mut f = finding(id, name.clone(), version.clone(), &severity, fixed);
                f.aliases = aliases;
                out.list.push(f);
            }
        }
    }
    Ok(out)
}

fn pip_audit(top: &Value) -> Result<VulnSummary, EvidenceError> {
    let mut out = VulnSummary {
        report_format: "pip-audit".into(),
        tool: Some("pip-audit".into()),
        ..VulnSummary::default()
    };
    let (mut audited, mut skipped) = (0u64, 0u64);
    for d in arr(top, "dependencies")? {
        let name = need(d, "name", "pip-audit dependency")?;
        // pip-audit writes `skip_reason` (and no `vulns`) for a dependency it could not audit.
        if let Some(reason) = d.get("skip_reason").filter(|r| !r.is_null()) {
            skipped += 1;
            if out.skipped_packages.len() < MAX_SKIPPED {
                out.skipped_packages.push(Skipped {
                    package: name,
                    reason: reason.as_str().unwrap_or("no reason given").to_string(),
                });
            }
            continue;
        }
        // Audited: `vulns` is there (empty when clean). A dependency with neither is not known
        // to have been audited.
        if !matches!(d.get("vulns"), Some(Value::Array(_))) {
            skipped += 1;
            if out.skipped_packages.len() < MAX_SKIPPED {
                out.skipped_packages.push(Skipped {
                    package: name,
                    reason: "neither vulns nor skip_reason".into(),
                });
            }
            continue;
        }
        audited += 1;
        for v in arr(d, "vulns")? {
            let fixed = arr(v, "fix_versions")?
                .iter()
                .filter_map(|x| x.as_str().map(Into::into))
                .collect();
            let mut f = finding(
                need(v, "id", "pip-audit vulnerability")?,
                name.clone(),
                s(d, "version"),
                "unknown",
                fixed,
            );
            f.aliases = arr(v, "aliases")?
                .iter()
                .filter_map(|x| x.as_str().map(Into::into))
                .collect();
            out.list.push(f);
        }
    }
    out.audited = Some(audited);
    out.skipped = Some(skipped);
    out.judge_completeness("pip-audit");
    Ok(out)
}

/// VEX states that close a finding.
const CLOSED: [&str; 4] = ["not_affected", "false_positive", "resolved", "resolved_with_pedigree"];

fn from_cyclonedx(bytes: &[u8], limit: usize) -> Result<VulnSummary, EvidenceError> {
    let bom = cyclonedx::parse(bytes, limit)?;
    let mut names: BTreeMap<&str, (&str, Option<&str>)> = BTreeMap::new();
    fn index<'a>(list: &'a [cyclonedx::Component], names: &mut BTreeMap<&'a str, (&'a str, Option<&'a str>)>) {
        for c in list {
            if let Some(r) = c.bom_ref.as_deref() {
                names.insert(r, (c.name.as_deref().unwrap_or(r), c.version.as_deref()));
            }
            index(&c.components, names);
        }
    }
    index(&bom.components, &mut names);
    let tool = bom
        .metadata
        .as_ref()
        .and_then(|m| m.tool())
        .cloned()
        .unwrap_or_default();
    let mut out = VulnSummary {
        report_format: "cyclonedx".into(),
        tool: tool.name,
        tool_version: tool.version,
        ..VulnSummary::default()
    };
    for v in &bom.vulnerabilities {
        let id =
            v.id.clone()
                .ok_or_else(|| malformed("a CycloneDX vulnerability without `id`"))?;
        let severity = v
            .ratings
            .iter()
            .map(|r| match (&r.severity, r.score) {
                (Some(l), _) if normalise_severity(l) != "unknown" => normalise_severity(l),
                (_, Some(score)) => severity_of_score(score),
                _ => "unknown",
            })
            .max_by_key(|s| {
                ["unknown", "low", "medium", "high", "critical"]
                    .iter()
                    .position(|x| x == s)
            })
            .unwrap_or("unknown");
        let state = v.analysis.as_ref().and_then(|a| a.state.clone());
        let fix = v.recommendation.is_some()
            || v.analysis
                .as_ref()
                .is_some_and(|a| a.response.iter().any(|r| r == "update"));
        let targets: Vec<&str> = if v.affects.is_empty() {
            vec![""]
        } else {
            v.affects.iter().map(|a| a.reference.as_str()).collect()
        };
        for t in targets {
            let (name, version) = names.get(t).copied().unwrap_or((t, None));
            let mut f = finding(id.clone(), name.into(), version.map(Into::into), severity, Vec::new());
            f.fix_available = fix;
            f.open = !state.as_deref().is_some_and(|s| CLOSED.contains(&s));
            f.vex_state = state.clone();
            out.list.push(f);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_scores_match_the_specification_examples() {
        // Scores published by NVD for these vectors.
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(9.8)
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
            Some(6.1)
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            Some(5.9)
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            Some(10.0)
        );
        assert_eq!(
            cvss3_base_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:N"),
            Some(0.0)
        );
        assert_eq!(cvss3_base_score("CVSS:4.0/AV:N"), None);
        assert_eq!(cvss3_base_score("CVSS:3.1/AV:N/AC:L"), None);
    }

    #[test]
    fn trivy_and_grype_shapes() {
        let trivy = br#"{"SchemaVersion":2,"ArtifactName":"x","Results":[{"Target":"t","Vulnerabilities":[
            {"VulnerabilityID":"CVE-1","PkgName":"a","InstalledVersion":"1","FixedVersion":"1.1, 2.0","Severity":"CRITICAL"},
            {"VulnerabilityID":"CVE-2","PkgName":"a","InstalledVersion":"1","Severity":"LOW"}]},{"Target":"u"}]}"#;
        let s = summarise(trivy, 1 << 20).unwrap();
        assert_eq!((s.findings, s.open, s.fix_available), (2, 2, 1));
        assert_eq!(s.by_severity["critical"], 1);
        assert_eq!(s.list[0].fixed_versions, vec!["1.1", "2.0"]);
        let grype = br#"{"matches":[{"vulnerability":{"id":"GHSA-1","severity":"Negligible","fix":{"versions":[],"state":"not-fixed"}},
            "relatedVulnerabilities":[{"id":"CVE-9"}],"artifact":{"name":"b","version":"2"}}],"descriptor":{"name":"grype","version":"0.80.0"}}"#;
        let s = summarise(grype, 1 << 20).unwrap();
        assert_eq!(
            (s.report_format.as_str(), s.tool_version.as_deref()),
            ("grype", Some("0.80.0"))
        );
        assert_eq!((s.by_severity["low"], s.fix_available), (1, 0));
        assert_eq!(s.list[0].aliases, vec!["CVE-9"]);
        assert!(summarise(br#"{"matches":[{"vulnerability":{}}],"descriptor":{}}"#, 1 << 20).is_err());
    }

    #[test]
    fn vex_closes_findings() {
        let bom = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"bom-ref":"p1","name":"lib","version":"3"}],
          "vulnerabilities":[
            {"id":"CVE-A","ratings":[{"severity":"high"}],"affects":[{"ref":"p1"}],"analysis":{"state":"not_affected"}},
            {"id":"CVE-B","ratings":[{"score":9.1}],"affects":[{"ref":"p1"}],"analysis":{"state":"exploitable","response":["update"]}}]}"#;
        let s = summarise(bom, 1 << 20).unwrap();
        assert_eq!((s.findings, s.open, s.fix_available), (2, 1, 1));
        assert_eq!(s.by_severity["critical"], 1);
        assert_eq!(s.closed_by_vex["not_affected"], 1);
        assert_eq!(
            (s.list[0].package.as_str(), s.list[0].version.as_deref()),
            ("lib", Some("3"))
        );
    }

    /// The shape osv-scanner (v1.x/v2.x `--format json`) writes: per source, per package, the
    /// OSV records and their groups (one vulnerability under several ids). Here a Go stdlib
    /// finding with no severity anywhere (`max_severity` empty) and a PyPI one scored by CVSS.
    #[test]
    fn osv_scanner_groups() {
        let doc = br#"{"results":[{"source":{"path":"/src/go.mod","type":"lockfile"},"packages":[
            {"package":{"name":"stdlib","version":"1.24.3","ecosystem":"Go"},
             "vulnerabilities":[{"id":"GO-2025-3749","aliases":["CVE-2025-0913"],
               "affected":[{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.23.10"},{"introduced":"1.24.0-0"},{"fixed":"1.24.4"}]}]}]}],
             "groups":[{"ids":["GO-2025-3749"],"aliases":["CVE-2025-0913","GO-2025-3749"],"max_severity":""}]},
            {"package":{"name":"jinja2","version":"2.10","ecosystem":"PyPI"},
             "vulnerabilities":[{"id":"GHSA-462w-v97r-4m45","affected":[]},{"id":"PYSEC-2019-217","affected":[{"ranges":[{"events":[{"fixed":"2.10.1"}]}]}]}],
             "groups":[{"ids":["GHSA-462w-v97r-4m45","PYSEC-2019-217"],"max_severity":"9.8"}]}]}]}"#;
        let s = summarise(doc, 1 << 20).unwrap();
        assert_eq!(
            (s.report_format.as_str(), s.findings, s.fix_available),
            ("osv-scanner", 2, 2)
        );
        assert_eq!((s.by_severity["unknown"], s.by_severity["critical"]), (1, 1));
        let go = &s.list[0];
        assert_eq!((go.package.as_str(), go.version.as_deref()), ("stdlib", Some("1.24.3")));
        assert_eq!(go.fixed_versions, vec!["1.23.10", "1.24.4"]);
        assert_eq!(s.list[1].aliases, vec!["PYSEC-2019-217"]);
        assert_eq!(
            go.aliases,
            vec!["CVE-2025-0913"],
            "the group's aliases, the id itself left out"
        );
    }

    /// A distribution's OSV record names the CVE under `upstream`, not `aliases`
    /// (`DEBIAN-CVE-2024-5535`, as osv-scanner reports a Debian image).
    #[test]
    fn osv_upstream_ids_are_aliases() {
        let scanner = br#"{"results":[{"packages":[{"package":{"name":"openssl","version":"3.0.11-1~deb12u2","ecosystem":"Debian:12"},
            "vulnerabilities":[{"id":"DEBIAN-CVE-2024-5535","upstream":["CVE-2024-5535"],"affected":[]}],
            "groups":[{"ids":["DEBIAN-CVE-2024-5535"],"aliases":["DEBIAN-CVE-2024-5535"]}]}]}]}"#;
        let s = summarise(scanner, 1 << 20).unwrap();
        assert_eq!(s.list[0].id, "DEBIAN-CVE-2024-5535");
        assert_eq!(s.list[0].aliases, vec!["CVE-2024-5535"]);
        let record = br#"{"id":"UBUNTU-CVE-2024-5535","upstream":["CVE-2024-5535"],"aliases":[],
            "affected":[{"package":{"name":"openssl","ecosystem":"Ubuntu:22.04:LTS"}}]}"#;
        let s = summarise(record, 1 << 20).unwrap();
        assert_eq!(s.list[0].aliases, vec!["CVE-2024-5535"]);
    }

    /// pip-audit `--format json`: no severities (PyPI advisories carry none), fix versions.
    #[test]
    fn pip_audit_json() {
        let doc = br#"{"dependencies":[{"name":"requests","version":"2.19.1","vulns":[
            {"id":"PYSEC-2018-28","fix_versions":["2.20.0"],"aliases":["CVE-2018-18074"],"description":"d"}]},
            {"name":"idna","version":"3.7","vulns":[]},{"name":"private-pkg","skip_reason":"not on PyPI"}],"fixes":[]}"#;
        let s = summarise(doc, 1 << 20).unwrap();
        assert_eq!(
            (s.report_format.as_str(), s.findings, s.fix_available),
            ("pip-audit", 1, 1)
        );
        assert_eq!(s.by_severity["unknown"], 1);
        assert_eq!(s.list[0].aliases, vec!["CVE-2018-18074"]);
        // One package of three was skipped: the scan is incomplete (strict reading).
        assert_eq!((s.audited, s.skipped, s.incomplete), (Some(2), Some(1), true));
        assert_eq!(s.skipped_packages[0].package, "private-pkg");
        assert!(
            s.incomplete_reason
                .as_deref()
                .unwrap()
                .contains("private-pkg (not on PyPI)")
        );
    }

    #[test]
    fn all_skipped_pip_audit_is_not_a_clean_scan() {
        let doc = br#"{"dependencies":[{"name":"pip","skip_reason":"Dependency not found on PyPI and could not be audited: pip (23.2.1)"},
            {"name":"app","skip_reason":"distribution marked as editable"}],"fixes":[]}"#;
        let s = summarise(doc, 1 << 20).unwrap();
        assert_eq!((s.findings, s.open), (0, 0));
        assert!(s.incomplete);
        assert_eq!((s.audited, s.skipped), (Some(0), Some(2)));
        let why = s.incomplete_reason.unwrap();
        assert!(why.starts_with("pip-audit could not audit 2 of 2 packages"), "{why}");
        // Recorded in the summary document the gate reads.
        let v = serde_json::to_value(summarise(doc, 1 << 20).unwrap()).unwrap();
        assert_eq!(
            (v["incomplete"].as_bool(), v["skipped"].as_u64()),
            (Some(true), Some(2))
        );
    }

    #[test]
    fn pip_audit_given_nothing_is_not_a_clean_scan() {
        let s = summarise(br#"{"dependencies":[],"fixes":[]}"#, 1 << 20).unwrap();
        assert!(s.incomplete);
        assert_eq!(
            s.incomplete_reason.as_deref(),
            Some("pip-audit was given no package to audit")
        );
        // A dependency that says neither what was found nor why it was skipped was not audited.
        let s = summarise(br#"{"dependencies":[{"name":"x","version":"1"}],"fixes":[]}"#, 1 << 20).unwrap();
        assert_eq!((s.incomplete, s.skipped), (true, Some(1)));
    }

    #[test]
    fn pip_audit_that_audited_everything_is_complete() {
        let doc = br#"{"dependencies":[{"name":"idna","version":"3.7","vulns":[]}],"fixes":[]}"#;
        let s = summarise(doc, 1 << 20).unwrap();
        assert_eq!((s.incomplete, s.audited, s.skipped), (false, Some(1), Some(0)));
        let v = serde_json::to_value(&s).unwrap();
        assert!(v.get("incomplete").is_none() && v.get("incomplete_reason").is_none());
        // Scanners that list findings only say nothing about completeness.
        let trivy = br#"{"SchemaVersion":2,"ArtifactName":"x","Results":[]}"#;
        let s = summarise(trivy, 1 << 20).unwrap();
        assert_eq!((s.incomplete, s.audited, s.skipped), (false, None, None));
    }

    #[test]
    fn duplicates_merge_and_fixes_stay_with_their_package() {
        let trivy = br#"{"SchemaVersion":2,"ArtifactName":"x","Results":[
            {"Target":"a","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"p","Severity":"LOW"}]},
            {"Target":"b","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"p","Severity":"HIGH","FixedVersion":"2"}]}]}"#;
        let s = summarise(trivy, 1 << 20).unwrap();
        assert_eq!((s.findings, s.open, s.fix_available), (1, 1, 1));
        assert_eq!(s.by_severity["high"], 1);
        let rec = br#"{"id":"GHSA-y","affected":[
            {"package":{"name":"a"},"ranges":[{"events":[{"introduced":"0"},{"fixed":"1.1"}]}]},
            {"package":{"name":"b"},"ranges":[{"events":[{"introduced":"0"}]}]}]}"#;
        let s = summarise(rec, 1 << 20).unwrap();
        assert_eq!(s.findings, 2);
        assert!(s.list.iter().find(|f| f.package == "a").unwrap().fix_available);
        assert!(!s.list.iter().find(|f| f.package == "b").unwrap().fix_available);
    }

    #[test]
    fn osv_records_and_api_answers() {
        let rec = br#"{"id":"GHSA-x","aliases":["CVE-3"],"affected":[{"package":{"name":"p","ecosystem":"PyPI"},
            "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]}],
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}"#;
        let s = summarise(rec, 1 << 20).unwrap();
        assert_eq!(
            (s.report_format.as_str(), s.by_severity["critical"], s.fix_available),
            ("osv", 1, 1)
        );
        let api = format!("{{\"vulns\":[{}]}}", std::str::from_utf8(rec).unwrap());
        assert_eq!(summarise(api.as_bytes(), 1 << 20).unwrap().findings, 1);
    }
}
