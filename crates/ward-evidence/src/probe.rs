//! The top-level keys of a JSON document, read once, that tell evidence formats apart; shared by
//! format detection and the parsers that recognise their own shape (in-toto, vulnerability
//! reports).

use serde::de::IgnoredAny;

/// The top-level keys that tell formats apart. Values that do not decide are skipped, not
/// built, so probing a large document costs one scan.
#[derive(serde::Deserialize, Default)]
pub(crate) struct Probe {
    #[serde(default, rename = "bomFormat")]
    pub bom_format: Option<String>,
    #[serde(default)]
    pub version: Option<serde_json::Value>,
    #[serde(default, rename = "$schema")]
    pub schema: Option<String>,
    #[serde(default)]
    pub runs: Option<IgnoredAny>,
    #[serde(default, rename = "spdxVersion")]
    pub spdx_version: Option<IgnoredAny>,
    #[serde(default, rename = "SchemaVersion")]
    pub trivy_schema_version: Option<IgnoredAny>,
    #[serde(default, rename = "Results")]
    pub trivy_results: Option<IgnoredAny>,
    #[serde(default, rename = "ArtifactName")]
    pub trivy_artifact: Option<IgnoredAny>,
    #[serde(default)]
    pub matches: Option<IgnoredAny>,
    #[serde(default)]
    pub descriptor: Option<IgnoredAny>,
    #[serde(default)]
    pub results: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    pub vulns: Option<IgnoredAny>,
    #[serde(default)]
    pub affected: Option<IgnoredAny>,
    #[serde(default)]
    pub id: Option<IgnoredAny>,
    #[serde(default)]
    pub dependencies: Option<IgnoredAny>,
    #[serde(default)]
    pub fixes: Option<IgnoredAny>,
    #[serde(default)]
    pub vulnerabilities: Option<Vec<IgnoredAny>>,
    #[serde(default, rename = "payloadType")]
    pub payload_type: Option<IgnoredAny>,
    #[serde(default)]
    pub payload: Option<IgnoredAny>,
    #[serde(default)]
    pub signed: Option<IgnoredAny>,
    #[serde(default)]
    pub signatures: Option<IgnoredAny>,
    #[serde(default, rename = "_type")]
    pub statement_type: Option<serde_json::Value>,
}

impl Probe {
    /// Probes a JSON object.
    pub fn of(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
