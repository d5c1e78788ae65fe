//! SPDX 2.2 and 2.3 SBOMs, in JSON and in tag-value, as sbom4python, syft, trivy and the SPDX
//! tools write them.
//!
//! Packages become the summary's components; a package's license is its concluded license, or
//! its declared one when the conclusion is `NOASSERTION`/`NONE`; purls come from
//! `PACKAGE-MANAGER purl` external references. A package takes part in the dependency graph when
//! a `DEPENDS_ON`, `DEPENDENCY_OF` or `DESCRIBES` relationship names it. A relationship naming
//! an SPDX id the document does not define (other than an external `DocumentRef-`) makes the
//! document contradict itself and is refused.

use crate::sbom::{MAX_PURLS, SbomSummary};
use crate::{EvidenceError, check_size};
use serde::Deserialize;
use std::collections::HashSet;

const FORMAT: &str = "SPDX";

/// One package, whichever encoding it came from.
#[derive(Default)]
struct Package {
    id: String,
    concluded: Option<String>,
    declared: Option<String>,
    purl: Option<String>,
}

/// A document reduced to what the summary needs.
#[derive(Default)]
struct Doc {
    version: String,
    packages: Vec<Package>,
    other_ids: Vec<String>,
    relationships: Vec<(String, String, String)>,
}

fn malformed(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::Malformed {
        format: FORMAT,
        reason: reason.into(),
    }
}

fn real_license(l: &Option<String>) -> Option<&str> {
    l.as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "NOASSERTION" && *l != "NONE")
}

fn summarise_doc(doc: Doc) -> Result<SbomSummary, EvidenceError> {
    if !matches!(doc.version.as_str(), "SPDX-2.2" | "SPDX-2.3") {
        return Err(malformed(format!(
            "version {:?} (SPDX-2.2 and SPDX-2.3 are read)",
            doc.version
        )));
    }
    let mut out = SbomSummary {
        spec_version: doc.version.clone(),
        ..SbomSummary::default()
    };
    let mut known: HashSet<&str> = doc.packages.iter().map(|p| p.id.as_str()).collect();
    known.extend(doc.other_ids.iter().map(String::as_str));
    known.insert("SPDXRef-DOCUMENT");
    let mut in_graph: HashSet<&str> = HashSet::new();
    for (a, kind, b) in &doc.relationships {
        for id in [a, b] {
            let external = id.starts_with("DocumentRef-") || id == "NOASSERTION" || id == "NONE";
            if !external && !known.contains(id.as_str()) {
                return Err(EvidenceError::Inconsistent {
                    format: FORMAT,
                    reason: format!("a {kind} relationship names {id:?}, which the document does not define"),
                });
            }
        }
        if matches!(kind.as_str(), "DEPENDS_ON" | "DEPENDENCY_OF" | "DESCRIBES") {
            in_graph.insert(a.as_str());
            in_graph.insert(b.as_str());
        }
    }
    for p in &doc.packages {
        out.components += 1;
        if let Some(purl) = &p.purl {
            out.with_purl += 1;
            if out.purls.len() < MAX_PURLS {
                out.purls.push(purl.clone());
            }
        }
        match real_license(&p.concluded).or_else(|| real_license(&p.declared)) {
            Some(l) => *out.licenses.entry(l.to_string()).or_default() += 1,
            None => out.without_license += 1,
        }
        if !p.id.is_empty() {
            out.with_ref += 1;
            if in_graph.contains(p.id.as_str()) {
                out.with_dependency_entry += 1;
            }
        }
    }
    out.dependencies_complete = out.with_ref > 0 && out.with_dependency_entry == out.with_ref;
    Ok(out)
}

#[derive(Deserialize)]
struct JsonDoc {
    #[serde(rename = "spdxVersion")]
    spdx_version: String,
    #[serde(default)]
    packages: Vec<JsonPackage>,
    #[serde(default)]
    files: Vec<JsonElement>,
    #[serde(default)]
    snippets: Vec<JsonElement>,
    #[serde(default)]
    relationships: Vec<JsonRelationship>,
}

#[derive(Deserialize)]
struct JsonElement {
    #[serde(rename = "SPDXID")]
    id: String,
}

#[derive(Deserialize)]
struct JsonPackage {
    #[serde(rename = "SPDXID")]
    id: String,
    #[serde(default, rename = "licenseConcluded")]
    concluded: Option<String>,
    #[serde(default, rename = "licenseDeclared")]
    declared: Option<String>,
    #[serde(default, rename = "externalRefs")]
    external_refs: Vec<JsonExternalRef>,
}

#[derive(Deserialize)]
struct JsonExternalRef {
    #[serde(rename = "referenceType")]
    reference_type: String,
    #[serde(rename = "referenceLocator")]
    locator: String,
}

#[derive(Deserialize)]
struct JsonRelationship {
    #[serde(rename = "spdxElementId")]
    a: String,
    #[serde(rename = "relationshipType")]
    kind: String,
    #[serde(rename = "relatedSpdxElement")]
    b: String,
}

/// Parses and summarises an SPDX document in either encoding (JSON when it starts with `{`).
pub fn summarise(bytes: &[u8], limit: usize) -> Result<SbomSummary, EvidenceError> {
    let json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xef && **b != 0xbb && **b != 0xbf)
        == Some(&b'{');
    if json {
        summarise_json(bytes, limit)
    } else {
        summarise_tag_value(bytes, limit)
    }
}

/// Parses and summarises an SPDX JSON document of at most `limit` bytes.
pub fn summarise_json(bytes: &[u8], limit: usize) -> Result<SbomSummary, EvidenceError> {
    check_size(bytes, limit)?;
    let d: JsonDoc = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    summarise_doc(Doc {
        version: d.spdx_version,
        packages: d
            .packages
            .into_iter()
            .map(|p| Package {
                purl: p
                    .external_refs
                    .into_iter()
                    .find(|r| r.reference_type == "purl")
                    .map(|r| r.locator),
                id: p.id,
                concluded: p.concluded,
                declared: p.declared,
            })
            .collect(),
        other_ids: d.files.into_iter().chain(d.snippets).map(|f| f.id).collect(),
        relationships: d.relationships.into_iter().map(|r| (r.a, r.kind, r.b)).collect(),
    })
}

/// Parses and summarises an SPDX tag-value document of at most `limit` bytes.
pub fn summarise_tag_value(bytes: &[u8], limit: usize) -> Result<SbomSummary, EvidenceError> {
    check_size(bytes, limit)?;
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("tag-value documents are UTF-8"))?;
    let mut doc = Doc::default();
    #[derive(PartialEq)]
    enum Section {
        Document,
        Package,
        Other,
    }
    let mut section = Section::Document;
    let mut in_text = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if in_text {
            if line.contains("</text>") {
                in_text = false;
            }
            continue;
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (tag, value) = line
            .split_once(':')
            .ok_or_else(|| malformed(format!("line {}: expected `Tag: value`", n + 1)))?;
        let value = value.trim();
        if value.starts_with("<text>") && !value.contains("</text>") {
            in_text = true;
        }
        match tag.trim() {
            "SPDXVersion" => doc.version = value.to_string(),
            "PackageName" => {
                section = Section::Package;
                doc.packages.push(Package::default());
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => section = Section::Other,
            "SPDXID" => match section {
                Section::Package => {
                    if let Some(p) = doc.packages.last_mut() {
                        p.id = value.to_string();
                    }
                }
                Section::Other => doc.other_ids.push(value.to_string()),
                Section::Document => {}
            },
            "PackageLicenseConcluded" if section == Section::Package => {
                if let Some(p) = doc.packages.last_mut() {
                    p.concluded = Some(value.to_string());
                }
            }
            "PackageLicenseDeclared" if section == Section::Package => {
                if let Some(p) = doc.packages.last_mut() {
                    p.declared = Some(value.to_string());
                }
            }
            "ExternalRef" if section == Section::Package => {
                let mut parts = value.split_whitespace();
                if let (Some(_category), Some("purl"), Some(locator)) = (parts.next(), parts.next(), parts.next())
                    && let Some(p) = doc.packages.last_mut()
                    && p.purl.is_none()
                {
                    p.purl = Some(locator.to_string());
                }
            }
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                let [a, kind, b] = parts.as_slice() else {
                    return Err(malformed(format!("line {}: a relationship is `A TYPE B`", n + 1)));
                };
                doc.relationships.push((a.to_string(), kind.to_string(), b.to_string()));
            }
            _ => {}
        }
    }
    if in_text {
        return Err(malformed("a <text> block is not closed"));
    }
    summarise_doc(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TV: &str = "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n\
        CreatorComment: <text>multi\nline: with colons\n</text>\n\
        PackageName: app\nSPDXID: SPDXRef-app\nPackageLicenseConcluded: NOASSERTION\nPackageLicenseDeclared: MIT\n\
        ExternalRef: PACKAGE-MANAGER purl pkg:pypi/app@1.0\n\
        PackageName: lib\nSPDXID: SPDXRef-lib\nPackageLicenseConcluded: NOASSERTION\n\
        FileName: ./x.so\nSPDXID: SPDXRef-File-x\n\
        Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-app\nRelationship: SPDXRef-app DEPENDS_ON SPDXRef-lib\n\
        Relationship: SPDXRef-lib CONTAINS SPDXRef-File-x\n";

    #[test]
    fn tag_value() {
        let s = summarise_tag_value(TV.as_bytes(), 1 << 20).unwrap();
        assert_eq!((s.components, s.with_purl, s.without_license), (2, 1, 1));
        assert_eq!(s.licenses["MIT"], 1);
        assert!(s.dependencies_complete);
        let dangling = TV.replace("DEPENDS_ON SPDXRef-lib", "DEPENDS_ON SPDXRef-ghost");
        assert!(matches!(
            summarise_tag_value(dangling.as_bytes(), 1 << 20),
            Err(EvidenceError::Inconsistent { .. })
        ));
        for bad in [
            TV.replace("SPDX-2.3", "SPDX-1.2"),
            TV.replace(
                "Relationship: SPDXRef-lib CONTAINS SPDXRef-File-x",
                "Relationship: broken",
            ),
            TV.replace("</text>", ""),
            "no colon here".into(),
        ] {
            assert!(summarise_tag_value(bad.as_bytes(), 1 << 20).is_err(), "{bad}");
        }
    }
}
