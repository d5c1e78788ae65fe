//! Which evidence format some bytes are (`--type auto`).

use crate::EvidenceError;
use crate::probe::Probe;

/// Formats Ward reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX JSON SBOM.
    Cyclonedx,
    /// SPDX 2.2/2.3 SBOM, JSON or tag-value.
    Spdx,
    /// A vulnerability report (Trivy, Grype, osv-scanner, OSV, pip-audit, CycloneDX with
    /// vulnerabilities).
    Vulns,
    /// in-toto: a DSSE envelope or a signed link metablock.
    Intoto,
    /// JSON checked against a registered schema (never detected: named with `custom:NAME`).
    Custom,
    /// pgBackRest `info --output=json` (never detected: named with `dr:pgbackrest`).
    #[serde(rename = "dr:pgbackrest")]
    DrPgbackrest,
    /// Velero Backup/Restore objects (never detected: named with `dr:velero`).
    #[serde(rename = "dr:velero")]
    DrVelero,
    /// AWS Backup job lists (never detected: named with `dr:aws-backup`).
    #[serde(rename = "dr:aws-backup")]
    DrAwsBackup,
}

impl Format {
    /// The name used on the command line and in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Junit => "junit",
            Format::Sarif => "sarif",
            Format::Cyclonedx => "cyclonedx",
            Format::Spdx => "spdx",
            Format::Vulns => "vulns",
            Format::Intoto => "intoto",
            Format::Custom => "custom",
            Format::DrPgbackrest => "dr:pgbackrest",
            Format::DrVelero => "dr:velero",
            Format::DrAwsBackup => "dr:aws-backup",
        }
    }

    /// The DR tool a `dr:…` format names (`pgbackrest`, `velero`, `aws-backup`).
    pub fn dr_tool(self) -> Option<&'static str> {
        self.as_str().strip_prefix("dr:")
    }
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Looks at the start of the document: XML whose first element is `<testsuites>` or
/// `<testsuite>` is JUnit; a JSON object naming a SARIF schema or holding `"runs"` with version
/// 2.1.0 is SARIF.
pub fn detect(bytes: &[u8]) -> Result<Format, EvidenceError> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    // (XML is recognised from its head; JSON from its top-level keys, wherever they are.)
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('<') {
        let mut rest = t;
        // Skip the XML declaration, comments and processing instructions.
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix("<?") {
                rest = r.split_once("?>").map_or("", |(_, after)| after);
            } else if let Some(r) = rest.strip_prefix("<!--") {
                rest = r.split_once("-->").map_or("", |(_, after)| after);
            } else {
                break;
            }
        }
        if rest.starts_with("<testsuites") || rest.starts_with("<testsuite") {
            return Ok(Format::Junit);
        }
        if rest.starts_with("<bom") && rest.contains(crate::cyclonedx::XML_NAMESPACE) {
            // A CycloneDX document listing vulnerabilities is a vulnerability report.
            // Vulnerabilities follow the components, so look through the whole document.
            let whole = memchr_find(bytes, b"<vulnerabilities>") || memchr_find(bytes, b":vulnerabilities>");
            return Ok(if whole { Format::Vulns } else { Format::Cyclonedx });
        }
        return Err(EvidenceError::Unknown(
            "XML, but neither a JUnit report nor a CycloneDX BOM".into(),
        ));
    }
    if t.starts_with('[') {
        return Ok(Format::Vulns); // a list of OSV records; the parser says if it is not
    }
    if t.starts_with('{') {
        // Tools order keys differently (cyclonedx-py sorts them), so look at the top-level keys
        // of the whole document.
        let top = Probe::of(bytes).map_err(|e| EvidenceError::Unknown(format!("JSON that does not parse: {e}")))?;
        if crate::vulns::shape(&top).is_some() {
            return Ok(Format::Vulns);
        }
        if top.bom_format.as_deref() == Some("CycloneDX") {
            return Ok(Format::Cyclonedx);
        }
        if top.spdx_version.is_some() {
            return Ok(Format::Spdx);
        }
        if crate::intoto::looks_like(&top) {
            return Ok(Format::Intoto);
        }
        let sarif_schema = top.schema.as_deref().is_some_and(|s| s.contains("sarif"));
        let sarif_version = top.version.as_ref().and_then(|v| v.as_str()) == Some("2.1.0") && top.runs.is_some();
        if sarif_schema || sarif_version {
            return Ok(Format::Sarif);
        }
        return Err(EvidenceError::Unknown(
            "JSON, but not a format Ward detects (for your own JSON, register a type and pass --type custom:NAME)"
                .into(),
        ));
    }
    if t.starts_with("SPDXVersion:") {
        return Ok(Format::Spdx);
    }
    Err(EvidenceError::Unknown("neither XML, JSON nor SPDX tag-value".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects() {
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?>\n<!-- c --><testsuites/>").unwrap(),
            Format::Junit
        );
        assert_eq!(detect(b"\xef\xbb\xbf<testsuite name=\"x\"/>").unwrap(), Format::Junit);
        assert_eq!(
            detect(br#"{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[]}"#)
                .unwrap(),
            Format::Sarif
        );
        assert!(detect(b"<html/>").is_err());
        assert_eq!(detect(b"{\"bomFormat\" : \"CycloneDX\"}").unwrap(), Format::Cyclonedx);
        assert_eq!(detect(b"{\"spdxVersion\":\"SPDX-2.3\"}").unwrap(), Format::Spdx);
        assert_eq!(
            detect(b"SPDXVersion: SPDX-2.2\nDataLicense: CC0-1.0\n").unwrap(),
            Format::Spdx
        );
        assert!(detect(b"").is_err());
    }
}
