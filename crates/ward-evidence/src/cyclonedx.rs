//! CycloneDX SBOMs in JSON and XML (spec 1.4–1.6), as cyclonedx-py, cdxgen, syft and trivy
//! write them. Both encodings are read into one model ([`Bom`]), so they summarise alike; the
//! XML spec version comes from the namespace (`http://cyclonedx.org/schema/bom/1.6`).
//!
//! Summary: components (nested ones included), purls, licenses (SPDX id, name or expression,
//! one count per declaration), components without any license, and dependency completeness —
//! how many components have an entry in `dependencies`. A dependency that names a `bom-ref`
//! the document does not define makes the SBOM contradict itself and is refused.

pub use crate::sbom::SbomSummary;
use crate::xmltree::Element;
use crate::{EvidenceError, check_size};
use serde::Deserialize;
use std::collections::HashSet;

const FORMAT: &str = "CycloneDX";
use crate::sbom::MAX_PURLS;
const MAX_DEPTH: usize = 32;

/// A CycloneDX document: the parts Ward reads, from JSON or XML.
#[derive(Deserialize, Default)]
pub(crate) struct Bom {
    #[serde(rename = "bomFormat")]
    pub bom_format: String,
    #[serde(rename = "specVersion")]
    pub spec_version: String,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub components: Vec<Component>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    #[serde(default)]
    pub vulnerabilities: Vec<Vulnerability>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Metadata {
    #[serde(default)]
    pub component: Option<Component>,
    #[serde(default)]
    pub tools: Option<Tools>,
}

/// `metadata.tools`: a list (1.4) or `{components, services}` (1.5+).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Tools {
    List(Vec<Tool>),
    Object {
        #[serde(default)]
        components: Vec<Tool>,
    },
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct Tool {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

impl Metadata {
    /// The first tool named.
    pub fn tool(&self) -> Option<&Tool> {
        match self.tools.as_ref()? {
            Tools::List(l) => l.first(),
            Tools::Object { components } => components.first(),
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Component {
    #[serde(default, rename = "bom-ref")]
    pub bom_ref: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub purl: Option<String>,
    #[serde(default)]
    pub licenses: Vec<LicenseChoice>,
    #[serde(default)]
    pub components: Vec<Component>,
}

#[derive(Deserialize, Default)]
pub(crate) struct LicenseChoice {
    #[serde(default)]
    pub license: Option<License>,
    #[serde(default)]
    pub expression: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct License {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default, rename = "dependsOn")]
    pub depends_on: Vec<String>,
}

/// A `vulnerabilities` entry (CycloneDX 1.4+; VEX when it carries an `analysis`).
#[derive(Deserialize, Default)]
pub(crate) struct Vulnerability {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub ratings: Vec<Rating>,
    #[serde(default)]
    pub affects: Vec<Affects>,
    #[serde(default)]
    pub analysis: Option<Analysis>,
    #[serde(default)]
    pub recommendation: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Rating {
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub score: Option<f64>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Affects {
    #[serde(rename = "ref")]
    pub reference: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct Analysis {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub response: Vec<String>,
}

/// Reads a CycloneDX document in JSON or XML (whichever `bytes` is) into the model.
pub(crate) fn parse(bytes: &[u8], limit: usize) -> Result<Bom, EvidenceError> {
    check_size(bytes, limit)?;
    let first = bytes
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace() && !matches!(b, 0xef | 0xbb | 0xbf));
    let bom = if first == Some(b'<') {
        from_xml(&crate::xmltree::parse(bytes, FORMAT, XML_UNUSED)?)?
    } else {
        serde_json::from_slice(bytes).map_err(|e| EvidenceError::Malformed {
            format: FORMAT,
            reason: e.to_string(),
        })?
    };
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
    Ok(bom)
}

/// CycloneDX XML elements whose content no summary reads; their subtrees are skipped.
const XML_UNUSED: &[&str] = &[
    "description",
    "hashes",
    "externalReferences",
    "properties",
    "evidence",
    "pedigree",
    "supplier",
    "author",
    "authors",
    "publisher",
    "copyright",
    "services",
    "compositions",
    "annotations",
    "formulation",
    "signature",
    "swid",
    "releaseNotes",
    "modelCard",
    "data",
    "cryptoProperties",
];

/// The XML namespace prefix of CycloneDX; the spec version follows it.
pub(crate) const XML_NAMESPACE: &str = "http://cyclonedx.org/schema/bom/";

fn from_xml(root: &Element) -> Result<Bom, EvidenceError> {
    let malformed = |reason: String| EvidenceError::Malformed { format: FORMAT, reason };
    if root.name != "bom" {
        return Err(malformed(format!("root element <{}>, expected <bom>", root.name)));
    }
    let spec_version = root
        .attr("xmlns")
        .and_then(|ns| ns.strip_prefix(XML_NAMESPACE))
        .ok_or_else(|| malformed(format!("<bom> without the {XML_NAMESPACE}<version> namespace")))?
        .to_string();
    fn component(e: &Element, depth: usize) -> Result<Component, EvidenceError> {
        if depth > MAX_DEPTH {
            return Err(EvidenceError::Malformed {
                format: FORMAT,
                reason: "components nested too deeply".into(),
            });
        }
        let licenses = e
            .child("licenses")
            .map(|ls| {
                ls.children
                    .iter()
                    .map(|l| match l.name.as_str() {
                        "expression" => LicenseChoice {
                            license: None,
                            expression: Some(l.text.clone()),
                        },
                        _ => LicenseChoice {
                            license: Some(License {
                                id: l.child_text("id").map(Into::into),
                                name: l.child_text("name").map(Into::into),
                            }),
                            expression: None,
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        let components = match e.child("components") {
            Some(cs) => cs
                .all("component")
                .map(|c| component(c, depth + 1))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(Component {
            bom_ref: e.attr("bom-ref").map(Into::into),
            name: e.child_text("name").map(Into::into),
            version: e.child_text("version").map(Into::into),
            purl: e.child_text("purl").map(Into::into),
            licenses,
            components,
        })
    }
    let metadata = root.child("metadata").map(|m| -> Result<Metadata, EvidenceError> {
        let tools = m.child("tools").map(|t| {
            // 1.4: <tools><tool>; 1.5+: <tools><components><component>.
            let list = t
                .all("tool")
                .chain(t.child("components").into_iter().flat_map(|c| c.all("component")));
            Tools::List(
                list.map(|x| Tool {
                    name: x.child_text("name").map(Into::into),
                    version: x.child_text("version").map(Into::into),
                })
                .collect(),
            )
        });
        Ok(Metadata {
            component: m.child("component").map(|c| component(c, 0)).transpose()?,
            tools,
        })
    });
    let components = match root.child("components") {
        Some(cs) => cs.all("component").map(|c| component(c, 0)).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let dependencies = root
        .child("dependencies")
        .map(|ds| {
            ds.all("dependency")
                .map(|d| Dependency {
                    reference: d.attr("ref").unwrap_or_default().into(),
                    depends_on: d
                        .all("dependency")
                        .filter_map(|x| x.attr("ref").map(Into::into))
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let vulnerabilities = root
        .child("vulnerabilities")
        .map(|vs| {
            vs.all("vulnerability")
                .map(|v| Vulnerability {
                    id: v.child_text("id").map(Into::into),
                    ratings: v
                        .child("ratings")
                        .map(|rs| {
                            rs.all("rating")
                                .map(|r| Rating {
                                    severity: r.child_text("severity").map(Into::into),
                                    score: r.child_text("score").and_then(|s| s.parse().ok()),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    affects: v
                        .child("affects")
                        .map(|a| {
                            a.all("target")
                                .filter_map(|t| t.child_text("ref"))
                                .map(|r| Affects { reference: r.into() })
                                .collect()
                        })
                        .unwrap_or_default(),
                    analysis: v.child("analysis").map(|a| Analysis {
                        state: a.child_text("state").map(Into::into),
                        response: a
                            .child("responses")
                            .map(|r| r.all("response").map(|x| x.text.clone()).collect())
                            .unwrap_or_default(),
                    }),
                    recommendation: v.child_text("recommendation").map(Into::into),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Bom {
        bom_format: "CycloneDX".into(),
        spec_version,
        metadata: metadata.transpose()?,
        components,
        dependencies,
        vulnerabilities,
    })
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

/// Parses and summarises a CycloneDX SBOM (JSON or XML) of at most `limit` bytes.
pub fn summarise(bytes: &[u8], limit: usize) -> Result<SbomSummary, EvidenceError> {
    let bom = parse(bytes, limit)?;
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

    #[test]
    fn xml_reads_like_json_and_refuses_entities() {
        let xml = r#"<?xml version="1.0"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1">
  <metadata><component type="application" bom-ref="app"><name>app</name></component></metadata>
  <components>
    <component type="library" bom-ref="a"><name>a</name><description>skipped &amp; ignored</description>
      <hashes><hash alg="SHA-256">00</hash></hashes>
      <licenses><license><id>MIT</id></license></licenses><purl>pkg:npm/a@1</purl>
      <components><component type="library" bom-ref="a/b"><name>b</name><purl>pkg:npm/b@2</purl>
        <licenses><expression>MIT OR Apache-2.0</expression></licenses></component></components>
    </component>
    <component type="library" bom-ref="c"><name>c&#x41;</name></component>
  </components>
  <dependencies><dependency ref="app"><dependency ref="a"/><dependency ref="c"/></dependency>
    <dependency ref="a"><dependency ref="a/b"/></dependency><dependency ref="a/b"/></dependencies>
</bom>"#;
        let s = summarise(xml.as_bytes(), 1 << 20).unwrap();
        assert_eq!(s.spec_version, "1.5");
        assert_eq!((s.components, s.with_purl, s.without_license), (3, 2, 1));
        assert_eq!(s.licenses["MIT OR Apache-2.0"], 1);
        assert_eq!(
            (s.with_ref, s.with_dependency_entry, s.dependencies_complete),
            (3, 2, false)
        );
        let dangling = xml.replace(
            r#"<dependency ref="a/b"/></dependency>"#,
            r#"<dependency ref="zz"/></dependency>"#,
        );
        assert!(matches!(
            summarise(dangling.as_bytes(), 1 << 20),
            Err(EvidenceError::Inconsistent { .. })
        ));
        for bad in [
            // Entity expansion and external entities: any DTD is refused.
            r#"<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component bom-ref="&b;"/></components></bom>"#,
            r#"<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY x SYSTEM "file:///etc/passwd">]><bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component><name>&x;</name></component></components></bom>"#,
            r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component><name>&x;</name></component></components></bom>"#,
            r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.3"/>"#,
            r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>"#,
            r#"<sbom/>"#,
        ] {
            assert!(summarise(bad.as_bytes(), 1 << 20).is_err(), "{bad}");
        }
    }
}
