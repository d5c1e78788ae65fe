//! Which evidence format some bytes are (`--type auto`).

use crate::EvidenceError;

/// Formats Ward reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0.
    Sarif,
}

impl Format {
    /// The name used on the command line and in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Junit => "junit",
            Format::Sarif => "sarif",
        }
    }
}

/// Looks at the start of the document: XML whose first element is `<testsuites>` or
/// `<testsuite>` is JUnit; a JSON object naming a SARIF schema or holding `"runs"` with version
/// 2.1.0 is SARIF.
pub fn detect(bytes: &[u8]) -> Result<Format, EvidenceError> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
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
        return Err(EvidenceError::Unknown("XML, but not a JUnit report".into()));
    }
    if t.starts_with('{') {
        let sarif_schema = t.contains("sarif-schema") || t.contains("sarif-2.1.0") || t.contains("/sarif");
        let runs = t.contains("\"runs\"") && t.contains("\"2.1.0\"");
        if sarif_schema || runs {
            return Ok(Format::Sarif);
        }
        return Err(EvidenceError::Unknown("JSON, but not a format Ward reads yet".into()));
    }
    Err(EvidenceError::Unknown("neither XML nor JSON".into()))
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
        assert!(detect(b"{\"bomFormat\":\"CycloneDX\"}").is_err());
        assert!(detect(b"").is_err());
    }
}
