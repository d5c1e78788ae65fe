//! What an SBOM says, whichever format it came in (CycloneDX or SPDX).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most purls kept in a summary.
pub const MAX_PURLS: usize = 5000;

/// What an SBOM says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SbomSummary {
    /// `specVersion` (CycloneDX) or `spdxVersion` (SPDX).
    pub spec_version: String,
    /// Components (CycloneDX, nested ones included) or packages (SPDX).
    pub components: u64,
    /// Components with a purl.
    pub with_purl: u64,
    /// The purls (at most [`MAX_PURLS`]), in document order.
    pub purls: Vec<String>,
    /// License declarations by SPDX id, expression or name.
    pub licenses: BTreeMap<String, u64>,
    /// Components that declare no license.
    pub without_license: u64,
    /// Components with a `bom-ref` (CycloneDX) or an SPDX id (SPDX packages).
    pub with_ref: u64,
    /// Of those, how many take part in the dependency graph (`dependencies` entries;
    /// SPDX `DEPENDS_ON`/`DEPENDENCY_OF`/`DESCRIBES` relationships).
    pub with_dependency_entry: u64,
    /// Every referenced component has a dependency entry.
    pub dependencies_complete: bool,
}
