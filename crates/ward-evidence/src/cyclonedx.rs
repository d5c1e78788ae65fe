//! CycloneDX SBOMs in JSON (spec 1.4–1.6), as cyclonedx-py, cdxgen, syft and trivy write them.
//!
//! Summary: components (nested ones included), purls, licenses (SPDX id, name or expression,
//! one count per declaration), components without any license, and dependency completeness —
//! how many components have an entry in `dependencies`. A dependency that names a `bom-ref`
//! the document does not define makes the SBOM contradict itself and is refused.

pub use crate::sbom::SbomSummary;
use crate::{EvidenceError, check_size};
use serde::Deserialize;
use std::collections::HashSet;

const FORMAT: &str = "CycloneDX";
use crate::sbom::MAX_PURLS;
const MAX_DEPTH: usize = 32;

#[derive(Deserialize)]
struct Bom {
    #[serde(rename = "bomFormat")]
    bom_format: String,
    #[serde(rename = "specVersion")]
    spec_version: String,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Vec<Component>,
    #[serde(default)]
    dependencies: Vec<Dependency>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    component: Option<Component>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(default, rename = "bom-ref")]
    bom_ref: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    licenses: Vec<LicenseChoice>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Deserialize)]
struct LicenseChoice {
    #[serde(default)]
    license: Option<License>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default, rename = "dependsOn")]
    depends_on: Vec<String>,
}

fn walk(list: &[Component], depth: usize, out: &mut SbomSummary, refs: &mut Vec<String>) -> Result<(), EvidenceError> {
    if depth > MAX_DEPTH {
        return Err(EvidenceError::Malformed {
            format: FORMAT,
            reason: "components nested too deeply".into(),
        });
    }
    for c in list {
        out.components += 1;
        if let Some(p) = &c.purl {
            out.with_purl += 1;
            if out.purls.len() < MAX_PURLS {
                out.purls.push(p.clone());
            }
        }
        let mut declared = false;
        for l in &c.licenses {
            let key = match (&l.license, &l.expression) {
                (Some(License { id: Some(id), .. }), _) => Some(id.clone()),
                (Some(License { name: Some(n), .. }), _) => Some(n.clone()),
                (_, Some(e)) => Some(e.clone()),
                _ => None,
            };
            if let Some(k) = key {
                declared = true;
                *out.licenses.entry(k).or_default() += 1;
            }
        }
        if !declared {
            out.without_license += 1;
        }
        if let Some(r) = &c.bom_ref {
            refs.push(r.clone());
        }
        walk(&c.components, depth + 1, out, refs)?;
    }
    Ok(())
}

/// Parses and summarises a CycloneDX JSON SBOM of at most `limit` bytes.
pub fn summarise(bytes: &[u8], limit: usize) -> Result<SbomSummary, EvidenceError> {
    check_size(bytes, limit)?;
    let bom: Bom = serde_json::from_slice(bytes).map_err(|e| EvidenceError::Malformed {
        format: FORMAT,
        reason: e.to_string(),
    })?;
    if bom.bom_format != "CycloneDX" {
        return Err(EvidenceError::Malformed {
            format: FORMAT,
            reason: format!("bomFormat is {:?}", bom.bom_format),
        });
    }
    if !matches!(bom.spec_version.as_str(), "1.4" | "1.5" | "1.6") {
        return Err(EvidenceError::Malformed {
            format: FORMAT,
            reason: format!("specVersion {:?} (1.4, 1.5 and 1.6 are read)", bom.spec_version),
        });
    }
    let mut out = SbomSummary {
        spec_version: bom.spec_version.clone(),
        ..SbomSummary::default()
    };
    let mut refs = Vec::new();
    walk(&bom.components, 0, &mut out, &mut refs)?;
    let mut known: HashSet<&str> = refs.iter().map(String::as_str).collect();
    if let Some(r) = bom
        .metadata
        .as_ref()
        .and_then(|m| m.component.as_ref())
        .and_then(|c| c.bom_ref.as_deref())
    {
        known.insert(r);
    }
    let mut entries: HashSet<&str> = HashSet::new();
    for d in &bom.dependencies {
        for r in std::iter::once(&d.reference).chain(&d.depends_on) {
            if !known.contains(r.as_str()) {
                return Err(EvidenceError::Inconsistent {
                    format: FORMAT,
                    reason: format!("dependencies name bom-ref {r:?}, which no component has"),
                });
            }
        }
        entries.insert(d.reference.as_str());
    }
    out.with_ref = refs.len() as u64;
    out.with_dependency_entry = refs.iter().filter(|r| entries.contains(r.as_str())).count() as u64;
    out.dependencies_complete = out.with_ref > 0 && out.with_dependency_entry == out.with_ref;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_components_licenses_and_dependencies() {
        let bom = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"bom-ref":"app"}},
          "components":[
            {"bom-ref":"a","purl":"pkg:npm/a@1","licenses":[{"license":{"id":"MIT"}}],
             "components":[{"bom-ref":"a/b","purl":"pkg:npm/b@2","licenses":[{"expression":"MIT OR Apache-2.0"}]}]},
            {"bom-ref":"c","licenses":[]}],
          "dependencies":[{"ref":"app","dependsOn":["a","c"]},{"ref":"a","dependsOn":["a/b"]},{"ref":"a/b"}]}"#;
        let s = summarise(bom.as_bytes(), 1 << 20).unwrap();
        assert_eq!((s.components, s.with_purl, s.without_license), (3, 2, 1));
        assert_eq!(s.licenses["MIT"], 1);
        assert_eq!(s.licenses["MIT OR Apache-2.0"], 1);
        assert_eq!(
            (s.with_ref, s.with_dependency_entry, s.dependencies_complete),
            (3, 2, false)
        );
        let dangling = bom.replace(r#""dependsOn":["a/b"]"#, r#""dependsOn":["zzz"]"#);
        assert!(matches!(
            summarise(dangling.as_bytes(), 1 << 20),
            Err(EvidenceError::Inconsistent { .. })
        ));
        for bad in [
            r#"{"bomFormat":"SPDX","specVersion":"1.5"}"#,
            r#"{"bomFormat":"CycloneDX","specVersion":"1.1"}"#,
            "[]",
        ] {
            assert!(summarise(bad.as_bytes(), 1 << 20).is_err(), "{bad}");
        }
    }
}
