//! Artifacts and attestations: registration by digest, attestations parsed into summaries.
//!
//! `artifact.registered` (subject `artifact:<digest>`) records an artifact's metadata and who
//! built it; registering the same digest again with the same metadata is a no-op, with other
//! metadata a conflict. `attestation.added` records a parsed summary and the digest of the raw
//! document, which is stored content-addressed beside the log (never in it).
//!
//! **One version, one digest.** A service's version names exactly one build: registering
//! `patient-api 3.1.0` under a second digest is refused (409 `version_conflict`, naming the
//! digest registered first). The one exception is opt-in: with `[artifacts]
//! mutable_prerelease = true` in `ward.toml`, a *semver pre-release* version
//! (`MAJOR.MINOR.PATCH-PRE`, e.g. `1.2.3-rc.1`, optional `+BUILD`) may be registered again under
//! another digest (each registration is recorded); release versions never can. A pre-release
//! promoted to production is still governed by the gate like any other change. The
//! `artifact_versions` state table (`["<service>","<version>","<digest>"]`) is the index the
//! check reads; a store written before it existed needs `ward log rebuild-projections` once.

use crate::error::AppError;
use crate::error::Kind;
use crate::keys;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ward_core::Identity;
use ward_evidence::detect::{Format, detect};
use ward_evidence::digest::{of_bytes, parse_digest};
use ward_evidence::{MAX_EVIDENCE, custom, cyclonedx, intoto, junit, sarif, spdx, vulns};
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const ARTIFACTS: &str = "artifacts";
/// `["<service>","<version>","<digest>"]` → the registration of that digest for that version.
const VERSIONS: &str = "artifact_versions";

/// `[artifacts]` in `ward.toml`: registration rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRules {
    /// A semver pre-release version (`1.2.3-rc.1`) may name more than one digest (default
    /// false). Release versions always name exactly one.
    #[serde(default)]
    pub mutable_prerelease: bool,
}

impl ArtifactRules {
    /// Whether `version` may be registered under another digest than the one it already names.
    pub fn may_rebind(&self, version: &str) -> bool {
        self.mutable_prerelease && is_prerelease(&release_of(version))
    }
}

/// The release a version names, as the one-version-one-digest rule compares it: without a
/// leading `v`, `V` or `=` before a digit (`v2.0.0` is `2.0.0`, as git tags and npm write it),
/// without semver build metadata (`2.0.0+build.2` is `2.0.0`: SemVer 2.0.0 §10 gives both one
/// precedence, and a rebuild is another build, which a version names once) and without a
/// trailing `.` or `-`; a version of dotted numbers has them without leading zeros and as three
/// or more (`02.0.0`, `2.0` and `2.0.0.0` are `2.0.0`), its pre-release in lower case without
/// leading zeros (`2.0.0-RC.01` is `2.0.0-rc.1`: helpers' attacks on the ninth session's head
/// registered each beside `2.0.0` under another digest). Anything else is compared as written.
pub fn release_of(version: &str) -> String {
    let v = version.trim_start_matches('=');
    // `v2.0.0`, and `v.2.0.0`, `v-2.0.0`, `v_2.0.0` (a helper's attack on the ninth session's
    // head: each named another digest).
    let v = match v.strip_prefix(['v', 'V']) {
        Some(rest) => {
            let rest = rest.strip_prefix(['.', '-', '_']).unwrap_or(rest);
            match rest.starts_with(|c: char| c.is_ascii_digit()) {
                true => rest,
                false => v,
            }
        }
        None => v,
    };
    let v = match v.split_once('+') {
        Some((release, _)) if !release.is_empty() => release,
        _ => v,
    };
    let v = v.trim_end_matches(['.', '-', '_']);
    // The pre-release after `-` or `_`, without more separators before it (`2.0.0--rc.1`,
    // `2.0.0_rc.1` are `2.0.0-rc.1`).
    let (core, pre) = match v.split_once(['-', '_']) {
        Some((core, pre)) => (core, Some(pre.trim_start_matches(['-', '_', '.']))),
        None => (v, None),
    };
    let number = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if core.is_empty() || !core.split('.').all(number) {
        return v.to_string();
    }
    let unpadded = |p: &str| match p.trim_start_matches('0') {
        "" => "0".to_string(),
        n => n.to_string(),
    };
    let mut parts: Vec<String> = core.split('.').map(unpadded).collect();
    while parts.len() > 3 && parts.last().is_some_and(|p| p == "0") {
        parts.pop();
    }
    while parts.len() < 3 {
        parts.push("0".into());
    }
    let mut out = parts.join(".");
    if let Some(pre) = pre {
        let pre: Vec<String> = pre
            .split('.')
            .map(|p| match number(p) {
                true => unpadded(p),
                false => p.to_ascii_lowercase(),
            })
            .collect();
        out.push('-');
        out.push_str(&pre.join("."));
    }
    out
}

/// Whether `v` is a semantic version (2.0.0) with a pre-release part: `MAJOR.MINOR.PATCH-PRE`
/// with an optional `+BUILD`; numbers without leading zeros, identifiers of `[0-9A-Za-z-]`.
pub fn is_prerelease(v: &str) -> bool {
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    let v = match v.split_once('+') {
        Some((v, build)) if build.split('.').all(ident) => v,
        Some(_) => return false,
        None => v,
    };
    let Some((core, pre)) = v.split_once('-') else {
        return false;
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| number(p))
        && pre
            .split('.')
            .all(|p| ident(p) && (!p.bytes().all(|b| b.is_ascii_digit()) || number(p)))
}

/// A version's keyed fingerprint under the installation key: what the leaf and the
/// [`VERSIONS`] index hold, of the version's [`release_of`], since the version lives beside the
/// log (equal releases, equal fingerprints; nothing about the version is revealed).
fn version_fingerprint(key: &ward_evidence::redact::FingerprintKey, version: &str) -> String {
    key.fingerprint(&format!("artifact-version\0{version}"))
}

/// What [`VERSIONS`] may hold for the version `text`: the fingerprint of its release
/// ([`release_of`]: registrations since 2026-12-07), of the text as written (registrations of
/// the day before, with a `v` or `+build`) and the text and its release themselves
/// (registrations before the version lived beside the log). A read never creates the
/// installation key.
async fn index_versions(ledger: &Ledger, text: &str) -> Result<Vec<String>, AppError> {
    // A text shaped as a fingerprint is no version (refused at registration): it would find
    // what the fingerprint's version names (a helper's attack on the head).
    let mut out: Vec<String> = match fingerprint_shaped(text) {
        true => Vec::new(),
        false => vec![text.to_string(), release_of(text)],
    };
    if let Some(key) = crate::redaction::existing_key(ledger.store().as_ref()).await? {
        out.push(version_fingerprint(&key, &release_of(text)));
        out.push(version_fingerprint(&key, text));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// What [`VERSIONS`] may hold for `artifact`'s version: its recorded fingerprint, and for the
/// version's text where it can be read, that text's entries too (older registrations).
pub(crate) async fn index_versions_of(ledger: &Ledger, artifact: &Artifact) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = artifact.version_key.iter().cloned().collect();
    let text = crate::documents::read_text(ledger, &artifact.meta.version).await?;
    let purged = crate::documents::is_reference(&artifact.meta.version)
        && crate::documents::any_purged(ledger, &json!(artifact.meta.version)).await?;
    if !purged {
        out.extend(index_versions(ledger, &text).await?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether `v` is shaped as a keyed fingerprint (`hmac-sha256:…`): what the index holds, which
/// no version may be.
fn fingerprint_shaped(v: &str) -> bool {
    v.to_ascii_lowercase().starts_with("hmac-sha256:")
}

/// A service's name as one release's digest is compared: in lower case (`SVC` and `svc` are one
/// service: a helper's attack on the ninth session's head registered `2.0.0` of each with
/// another digest). [`VERSIONS`] is keyed by it since the tenth session; rows written before
/// hold the name as registered (found under that spelling; `ward log rebuild-projections`
/// keys them anew).
fn service_key(service: &str) -> String {
    service.to_ascii_lowercase()
}

/// The key of a registration in [`VERSIONS`]: a JSON array, so no name can collide.
fn version_key(service: &str, version: &str, digest: &str) -> String {
    json!([service, version, digest]).to_string()
}

/// The prefix of every key of `service` `version` in [`VERSIONS`].
fn version_prefix(service: &str, version: &str) -> String {
    let mut k = json!([service, version]).to_string();
    k.pop(); // the closing bracket
    k.push(',');
    k
}
const ATTESTATIONS: &str = "attestations";
/// `["<service>","<vulnerability id>","<package>"]` → when Ward first saw it.
const FIRST_SEEN: &str = "vuln_first_seen";

/// The key of a finding in [`FIRST_SEEN`]: a JSON array, so no name can collide with another.
fn first_seen_key(service: &str, id: &str, package: &str) -> String {
    json!([service, id, package]).to_string()
}

/// What a finding's first-seen time is keyed by besides its id: the keyed fingerprint of its
/// package (`package_key`), or for an entry written before packages moved beside the log, the
/// package as it was inline.
fn package_of(finding: &Value) -> &str {
    finding
        .get("package_key")
        .or_else(|| finding.get("package"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Gives every finding of a vulnerability summary `package_key`: the keyed fingerprint of its
/// package under the installation key. The package itself moves beside the log
/// ([`texts_aside`]); this is what first-seen times and the gate compare (equal packages, equal
/// keys) and it reveals nothing about the name.
fn package_keys(summary: &mut Value, key: &ward_evidence::redact::FingerprintKey) {
    for f in summary
        .get_mut("list")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let package = f.get("package").and_then(Value::as_str).unwrap_or_default();
        f["package_key"] = Value::String(key.fingerprint(&format!("vuln-package\0{package}")));
    }
}

/// Gives every finding of a vulnerability summary without a `first_seen` the time `time`.
fn fill_first_seen(summary: &mut Value, time: &str) {
    if let Some(list) = summary.get_mut("list").and_then(Value::as_array_mut) {
        for f in list {
            if f.get("first_seen").is_none_or(Value::is_null) {
                f["first_seen"] = json!(time);
            }
        }
    }
}
/// Largest attestation any configuration accepts (raw bytes); the configured limit is
/// `[guard] max_file_bytes` (default 5 MiB).
pub const MAX_ATTESTATION: usize = ward_evidence::guard::HARD_MAX_FILE;

/// An artifact's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ArtifactRequest {
    /// `sha256:<hex>` of the file, tree (`ward-tree-v1`) or OCI image.
    pub digest: String,
    /// Service name.
    pub service: String,
    /// Version.
    pub version: String,
    /// Source commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// CI build or run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// CI build URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_url: Option<String>,
}

/// A registered artifact.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Artifact {
    /// Metadata.
    #[serde(flatten)]
    pub meta: ArtifactRequest,
    /// The keyed fingerprint of the version's release ([`release_of`]; of the version as
    /// written in registrations of 2026-12-06): registrations since the version lives beside
    /// the log, where `version` is a document reference, shown as its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_key: Option<String>,
    /// Identity that registered it.
    pub builder: String,
    /// Log entry of the registration.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// An attestation to attach.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// Artifact digest, or a change id (`CHG-…`) for evidence about the change itself.
    pub artifact: String,
    /// `auto`, `junit`, `sarif`, `cyclonedx`, `spdx`, `vulns`, `intoto` or `custom:<name>`.
    #[serde(default = "auto")]
    pub r#type: String,
    /// File name, for people.
    pub file_name: String,
    /// The document, base64.
    pub content_base64: String,
    /// Store a redacted copy when the PHI/secret guard finds something, instead of refusing.
    #[serde(default)]
    pub redact: bool,
}

fn auto() -> String {
    "auto".into()
}

impl AttestationRequest {
    /// A request to attach `bytes` (read from a file called `file_name`) to `target` (an
    /// artifact digest or a change id) as `kind`.
    pub fn from_bytes(target: &str, kind: &str, file_name: &str, bytes: &[u8], redact: bool) -> AttestationRequest {
        use base64::Engine;
        AttestationRequest {
            artifact: target.into(),
            r#type: kind.into(),
            file_name: file_name.into(),
            content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            redact,
        }
    }
}

/// An artifact and its attestations (`GET /api/v1/artifacts/{digest}`, `ward artifact show`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactView {
    /// The artifact.
    pub artifact: Artifact,
    /// Its attestations, oldest first.
    pub attestations: Vec<Attestation>,
}

/// An attached attestation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attestation {
    /// `sha256:` of the raw document.
    pub id: String,
    /// Artifact digest.
    pub artifact: String,
    /// Format.
    pub r#type: String,
    /// File name.
    pub file_name: String,
    /// Raw size in bytes.
    pub size: u64,
    /// The parsed summary.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub summary: Value,
    /// What the guard removed (detector, line, column, and the span's HMAC under the
    /// installation's key, never a plain hash); empty when nothing.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub redactions: Vec<ward_evidence::redact::Redaction>,
    /// Identity that attached it.
    pub added_by: String,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Projects `artifact.registered` and `attestation.added`.
pub struct EvidenceProjector;

impl Projector for EvidenceProjector {
    fn name(&self) -> &'static str {
        "evidence"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let with_entry = |mut v: Value| {
            if let Some(o) = v.as_object_mut() {
                o.insert("seq".into(), json!(e.seq));
                o.insert("time".into(), json!(e.time));
            }
            v
        };
        match e.kind.as_str() {
            "artifact.registered" => match p.get("digest").and_then(Value::as_str) {
                Some(d) => {
                    let mut ops = vec![ProjectionOp::Put {
                        collection: ARTIFACTS.into(),
                        key: d.into(),
                        doc: with_entry(p.clone()),
                    }];
                    // Indexed by the version's fingerprint (the text is beside the log), or by the
                    // version itself in a registration made before.
                    if let (Some(service), Some(version)) = (
                        p.get("service").and_then(Value::as_str),
                        p.get("version_key")
                            .or_else(|| p.get("version"))
                            .and_then(Value::as_str),
                    ) {
                        ops.push(ProjectionOp::Put {
                            collection: VERSIONS.into(),
                            key: version_key(&service_key(service), version, d),
                            doc: json!({ "digest": d, "seq": e.seq, "time": e.time }),
                        });
                    }
                    ops
                }
                None => vec![],
            },
            "attestation.added" => match (
                p.get("artifact").and_then(Value::as_str),
                p.get("id").and_then(Value::as_str),
            ) {
                (Some(a), Some(id)) => {
                    let mut doc = with_entry(p.clone());
                    let mut ops = Vec::new();
                    if doc.get("type").and_then(Value::as_str) == Some("vulns") {
                        let service = p.get("service").and_then(Value::as_str).unwrap_or_default();
                        if let Some(summary) = doc.get_mut("summary") {
                            fill_first_seen(summary, &e.time);
                            for f in summary.get("list").and_then(Value::as_array).into_iter().flatten() {
                                let field = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default();
                                ops.push(ProjectionOp::Put {
                                    collection: FIRST_SEEN.into(),
                                    key: first_seen_key(service, field("id"), package_of(f)),
                                    doc: json!({ "first_seen": field("first_seen"), "severity": field("severity") }),
                                });
                            }
                        }
                    }
                    ops.push(ProjectionOp::Put {
                        collection: ATTESTATIONS.into(),
                        key: format!("{a}/{id}"),
                        doc,
                    });
                    ops
                }
                _ => vec![],
            },
            _ => vec![],
        }
    }
}

fn check_field(name: &str, v: &str, max: usize) -> Result<(), AppError> {
    if v.trim().is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(AppError::invalid(
            format!("{name} must be 1 to {max} characters without control characters"),
            format!("give the {}", name.replace('_', " ")),
        ));
    }
    Ok(())
}

/// An artifact's metadata is written into the log's leaves (`artifact.registered`) and copied
/// into every change, release note and deployment record of it: its service, version, commit,
/// branch and build id are identifiers (one token each, judged as one: `john.smith.04.12.1961`,
/// a token in a commit's place), its service and branch without a number a person could be
/// found by; its build URL an http(s) URL judged by every detector (a signed URL's token).
fn check_identifiers(req: &ArtifactRequest) -> Result<(), AppError> {
    let one_token = [
        ("service", Some(&req.service)),
        ("version", Some(&req.version)),
        ("commit", req.commit.as_ref()),
        ("branch", req.branch.as_ref()),
        ("build_id", req.build_id.as_ref()),
    ];
    for (name, v) in one_token {
        let Some(v) = v else { continue };
        if !v.chars().all(|c| c.is_ascii_graphic()) {
            return Err(AppError::invalid(
                format!(
                    "the {} is an identifier: printable ASCII without white space",
                    name.replace('_', " ")
                ),
                format!("give the {} as your CI names it (one word)", name.replace('_', " ")),
            ));
        }
        // A commit is a git object id (abbreviated or whole), nothing else (attack round 8:
        // any text went into the leaf under this name).
        if name == "commit" {
            crate::identifier::check_commit_id(name, v)?;
        }
        crate::identifier::judge_with_entropy(name, v)?;
        // A service and a branch name no person by a number; a bot names branches after
        // versions (`dependabot/…/caniuse-lite-1.0.30001690`), which are not counted.
        match name {
            // A service is named once, by people, like a token (`patient-api`): no name beside
            // a date of this century either (`roe-j-2015-04-12`).
            "service" => crate::identifier::check_service_name(name, v)?,
            "branch" => crate::identifier::check_number_in_ref(name, v)?,
            // Versions and build ids are numbers; not after a word naming a person's number
            // (`member-00123456`, `pt.00123456`: attack round 9).
            // A build id is what the CI makes of a job name and a build number
            // (`jenkins-patients-123456`): read relaxed.
            "build_id" => crate::identifier::check_labelled_as(name, v, true)?,
            // A version's numbers are its parts, of any length (build numbers); not an SSN's or
            // a phone number's shape (`555-123-4567`: a helper's attack on `22597c7`).
            "version" => {
                crate::identifier::check_labelled(name, v)?;
                crate::identifier::refuse_person_shaped(name, v)?
            }
            _ => crate::identifier::check_labelled(name, v)?,
        }
    }
    if let Some(url) = &req.build_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.chars().any(char::is_whitespace) {
            return Err(AppError::invalid(
                "the build URL is not an http(s) URL",
                "pass the build's page, e.g. https://ci.example.com/job/42",
            ));
        }
        crate::identifier::judge_build_url("build_url", url)?;
    }
    Ok(())
}

/// Registers an artifact (idempotent for identical metadata) under the default
/// [`ArtifactRules`]: a version names exactly one digest.
pub async fn register(ledger: &Ledger, by: &Identity, req: &ArtifactRequest) -> Result<(Artifact, bool), AppError> {
    register_with(ledger, by, req, &ArtifactRules::default()).await
}

/// Every digest registered under `service` and `version` (normally one; a version rebound to
/// another digest has two).
pub(crate) async fn digests_of(ledger: &Ledger, service: &str, version: &str) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = registrations(ledger, service, &index_versions(ledger, version).await?)
        .await?
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Every registration (digest, log entry) of `service` under any of `versions` as [`VERSIONS`]
/// holds them.
async fn registrations(ledger: &Ledger, service: &str, versions: &[String]) -> Result<Vec<(String, u64)>, AppError> {
    let mut out = Vec::new();
    let mut services = vec![service_key(service), service.to_string()];
    services.dedup();
    let mut prefixes = Vec::with_capacity(versions.len() * services.len());
    for v in versions {
        for service in &services {
            prefixes.push(version_prefix(service, v));
        }
    }
    for prefix in prefixes {
        let rows = ledger.store().projection_prefix(VERSIONS, &prefix).await?;
        out.extend(rows.into_iter().filter_map(|(_, doc)| {
            let d = doc.get("digest")?.as_str()?.to_string();
            Some((d, doc.get("seq")?.as_u64()?))
        }));
    }
    Ok(out)
}

/// The digest first registered under `service` and any of `versions` (as [`VERSIONS`] holds
/// them: [`index_versions`], [`index_versions_of`]) other than `digest`, with its log entry.
pub(crate) async fn other_digest(
    ledger: &Ledger,
    service: &str,
    versions: &[String],
    digest: &str,
) -> Result<Option<(String, u64)>, AppError> {
    Ok(registrations(ledger, service, versions)
        .await?
        .into_iter()
        .filter(|(d, _)| d != digest)
        .min_by_key(|(_, seq)| *seq))
}

/// Registers an artifact (idempotent for identical metadata) under `rules`: registering a
/// service's version again under another digest is refused (`version_conflict`) unless `rules`
/// allow it for that version (a semver pre-release with `mutable_prerelease`).
pub async fn register_with(
    ledger: &Ledger,
    by: &Identity,
    req: &ArtifactRequest,
    rules: &ArtifactRules,
) -> Result<(Artifact, bool), AppError> {
    parse_digest(&req.digest)
        .map_err(|e| AppError::invalid(e.to_string(), "compute it from the file or the directory"))?;
    check_field("service", &req.service, 128)?;
    check_field("version", &req.version, 128)?;
    if fingerprint_shaped(&req.version) {
        return Err(AppError::invalid(
            "the version is shaped as a fingerprint (hmac-sha256:…), which Ward writes in the version's place",
            "give the version as your build names it",
        ));
    }
    for (name, v) in [
        ("commit", &req.commit),
        ("branch", &req.branch),
        ("build_id", &req.build_id),
        ("build_url", &req.build_url),
    ] {
        if let Some(v) = v {
            check_field(name, v, 1024)?;
        }
    }
    // One registration of this service version at a time, across processes, so two builds
    // cannot both claim it.
    let _lock = ledger
        .store()
        .lock(&format!(
            "ward.artifact-version:{}",
            json!([service_key(&req.service), release_of(&req.version)])
        ))
        .await?;
    if let Some(recorded) = artifact(ledger, &req.digest).await? {
        // Compared as the texts its references read; a field whose document was purged is
        // compared with nothing (its text is gone): a CI job run again still registers the same
        // build as a no-op, and what it sends there again is not stored.
        let mut purged = Vec::new();
        for (k, v) in [
            ("version", &Some(recorded.meta.version.clone())),
            ("commit", &recorded.meta.commit),
            ("branch", &recorded.meta.branch),
            ("build_id", &recorded.meta.build_id),
            ("build_url", &recorded.meta.build_url),
        ] {
            if let Some(v) = v
                && crate::documents::any_purged(ledger, &json!(v)).await?
            {
                purged.push(k);
            }
        }
        let existing = crate::documents::shown(ledger, recorded).await?;
        let mut differ = Vec::new();
        let (a, b) = (
            serde_json::to_value(&existing.meta).map_err(AppError::internal)?,
            serde_json::to_value(req).map_err(AppError::internal)?,
        );
        for k in ["service", "version", "commit", "branch", "build_id", "build_url"] {
            if !purged.contains(&k) && a.get(k) != b.get(k) {
                differ.push(k);
            }
        }
        if differ.is_empty() {
            return Ok((existing, false));
        }
        return Err(AppError::new(
            Kind::Conflict,
            "conflict",
            format!(
                "{} is already registered with different {} (entry {})",
                req.digest,
                differ.join(", "),
                existing.seq
            ),
            "a digest names one build: register the new build's own digest",
        ));
    }
    // Judged after the identical-metadata return: a retry of a registration recorded before
    // these checks is still a no-op.
    check_identifiers(req)?;
    if !rules.may_rebind(&req.version)
        && let Some((first, seq)) = other_digest(
            ledger,
            &req.service,
            &index_versions(ledger, &req.version).await?,
            &req.digest,
        )
        .await?
    {
        let hint = if is_prerelease(&req.version) {
            "give the new build its own version, or allow pre-release versions to move with [artifacts] mutable_prerelease = true in ward.toml"
        } else {
            "a version names one build: give the new build its own version (only semver pre-release versions may be re-registered, with [artifacts] mutable_prerelease = true)"
        };
        return Err(AppError::new(
            Kind::Conflict,
            "version_conflict",
            format!(
                "{} {}{} is already registered as {first} (entry {seq}); refusing {}",
                req.service,
                req.version,
                match release_of(&req.version) {
                    r if r == req.version => String::new(),
                    r => format!(" (release {r})"),
                },
                req.digest
            ),
            hint,
        ));
    }
    // What a CI writes freely — branch, build id, build URL — lives beside the log as
    // documents (rule 18): a name or a birth date the identifier rules missed can be purged.
    // So does the version (since 2026-12-07: it holds numbers of any length and this century's
    // dates, `1.0.0+5558675309`, `1.0.0-roe.j.2015.04.12`, which no rule can tell from a build
    // number or a container tag's date); the leaf and the index hold its keyed fingerprint,
    // which the one-version-one-digest rule compares. So does the commit (since the tenth
    // session: a CI writes any hex digits there, and hex letters between decimal digits spell a
    // number, `123a45b6789`). Service and digest are structure the rules read, and stay in the
    // leaf.
    let mut texts = crate::documents::Texts::new();
    let mut stored = req.clone();
    stored.version = texts.put_judged(&req.version)?;
    for field in [
        &mut stored.commit,
        &mut stored.branch,
        &mut stored.build_id,
        &mut stored.build_url,
    ] {
        if let Some(text) = field.as_deref() {
            // Judged above, field by field, by the identifier rules and every detector.
            *field = Some(texts.put_judged(text)?);
        }
    }
    let key = crate::redaction::installation_key(ledger.store().as_ref()).await?;
    let version_key = version_fingerprint(&key, &release_of(&req.version));
    let mut payload = serde_json::to_value(&stored).map_err(AppError::internal)?;
    payload["version_key"] = json!(version_key);
    payload[crate::redaction::KEY_CHECK_MEMBER] = json!(crate::redaction::key_check(&key));
    payload["builder"] = json!(by.id);
    let receipt = crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "artifact.registered".into(),
            subject: format!("artifact:{}", req.digest),
            payload,
        },
        texts,
    )
    .await?;
    Ok((
        Artifact {
            meta: req.clone(),
            version_key: Some(version_key),
            builder: by.id.clone(),
            seq: receipt.seq,
            time: receipt.time,
        },
        true,
    ))
}

/// An artifact by digest as it is shown: its branch, build id and build URL read from their
/// documents (a purged one reads `[purged by entry N]`).
pub async fn artifact_shown(ledger: &Ledger, digest: &str) -> Result<Option<Artifact>, AppError> {
    match artifact(ledger, digest).await? {
        Some(a) => Ok(Some(crate::documents::shown(ledger, a).await?)),
        None => Ok(None),
    }
}

/// An artifact by digest, as recorded: its branch, build id and build URL are document
/// references (plain text in a registration made before they were kept beside the log).
pub async fn artifact(ledger: &Ledger, digest: &str) -> Result<Option<Artifact>, AppError> {
    match ledger.store().projection(ARTIFACTS, digest).await? {
        Some(doc) => Ok(Some(serde_json::from_value(doc).map_err(AppError::internal)?)),
        None => Ok(None),
    }
}

/// The service of every registered artifact, by digest (one read of the projection).
pub async fn services(ledger: &Ledger) -> Result<std::collections::HashMap<String, String>, AppError> {
    Ok(ledger
        .store()
        .projection_list(ARTIFACTS)
        .await?
        .into_iter()
        .filter_map(|(digest, doc)| Some((digest, doc.get("service")?.as_str()?.to_string())))
        .collect())
}

/// Parses a document as `kind` (`auto`, `junit`, `sarif`, `cyclonedx`, `spdx`, `vulns`,
/// `intoto` or `custom:<name>`) about `artifact` and returns its format and summary. in-toto
/// signatures are checked against the trusted keys; custom types against their schema.
pub async fn summarise(ledger: &Ledger, kind: &str, bytes: &[u8], artifact: &str) -> Result<(Format, Value), AppError> {
    parse(&parse_inputs(ledger, kind, artifact).await?, bytes)
}

const KINDS: &str = "auto, junit, sarif, cyclonedx, spdx, vulns, intoto, custom:NAME, or (with no artifact or change) dr:pgbackrest, dr:velero or dr:aws-backup";

/// The target of disaster-recovery evidence (`dr:…` types): the installation's backups, not an
/// artifact or a change.
pub const DR_TARGET: &str = "DR";

/// What parsing a document needs from the store, read on the async side so that the parse
/// itself ([`parse`]) is pure and can run off the async workers.
struct ParseInputs {
    kind: String,
    artifact: String,
    custom: Option<keys::TypeRecord>,
    trusted: Vec<ward_evidence::intoto::TrustedKey>,
}

async fn parse_inputs(ledger: &Ledger, kind: &str, artifact: &str) -> Result<ParseInputs, AppError> {
    let custom = match kind {
        "auto" | "junit" | "sarif" | "cyclonedx" | "spdx" | "vulns" | "intoto" | "dr:pgbackrest" | "dr:velero"
        | "dr:aws-backup" => None,
        other => match other.strip_prefix("custom:") {
            Some(name) => match keys::type_record(ledger, name).await? {
                Some(t) => Some(t),
                None => {
                    let known = keys::list_types(ledger).await?;
                    let near = crate::environment::closest_name(known.iter().map(|t| t.name.as_str()), name);
                    return Err(AppError::not_found(
                        format!("no attestation type {}", crate::identifier::shown(name)),
                        match near {
                            Some(t) => format!("did you mean custom:{t}?"),
                            None => "register the type with its JSON schema".to_string(),
                        },
                    ));
                }
            },
            None => {
                return Err(AppError::invalid(
                    format!("unknown attestation type {}", crate::identifier::shown(other)),
                    format!("use {KINDS}"),
                ));
            }
        },
    };
    let trusted = if matches!(kind, "auto" | "intoto") && !artifact.starts_with("CHG-") {
        keys::trusted(ledger).await?
    } else {
        Vec::new()
    };
    Ok(ParseInputs {
        kind: kind.into(),
        artifact: artifact.into(),
        custom,
        trusted,
    })
}

/// Detects and parses a document with what [`parse_inputs`] read: pure, CPU only.
fn parse(inputs: &ParseInputs, bytes: &[u8]) -> Result<(Format, Value), AppError> {
    let artifact = inputs.artifact.as_str();
    let format = match inputs.kind.as_str() {
        "auto" => {
            detect(bytes).map_err(|e| AppError::invalid(e.to_string(), format!("name the report's type: {KINDS}")))?
        }
        "junit" => Format::Junit,
        "sarif" => Format::Sarif,
        "cyclonedx" => Format::Cyclonedx,
        "spdx" => Format::Spdx,
        "vulns" => Format::Vulns,
        "intoto" => Format::Intoto,
        "dr:pgbackrest" => Format::DrPgbackrest,
        "dr:velero" => Format::DrVelero,
        "dr:aws-backup" => Format::DrAwsBackup,
        _ => Format::Custom,
    };
    let custom = inputs.custom.as_ref();
    let refused = |e: ward_evidence::EvidenceError| {
        use ward_evidence::EvidenceError as E;
        let (status, code, hint) = match &e {
            E::Unverified(_) => (
                Kind::Unprocessable,
                "signature_invalid",
                "attach the envelope exactly as the builder signed it, and trust the builder's public key",
            ),
            E::Mismatch(_) => (
                Kind::Unprocessable,
                "digest_mismatch",
                "attach it to the artifact it describes (its subject's sha256)",
            ),
            E::Schema(_) => (
                Kind::Unprocessable,
                "schema_mismatch",
                "fix the document so it matches the registered schema",
            ),
            E::TooLarge { .. } => (Kind::TooLarge, "too_large", "attach a smaller report"),
            _ => (
                Kind::Invalid,
                "invalid_request",
                "attach the tool's own, unmodified output",
            ),
        };
        AppError::new(status, code, e.to_string(), hint)
    };
    let summary = match format {
        Format::Junit => serde_json::to_value(junit::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
        Format::Sarif => serde_json::to_value(sarif::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
        Format::Cyclonedx => serde_json::to_value(cyclonedx::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
        Format::Spdx => serde_json::to_value(spdx::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
        Format::Vulns => serde_json::to_value(vulns::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
        Format::Intoto if artifact.starts_with("CHG-") => {
            return Err(AppError::invalid(
                "in-toto documents attest artifacts, not changes",
                "attach it to the artifact, by its digest",
            ));
        }
        Format::Intoto => {
            serde_json::to_value(intoto::summarise(bytes, MAX_EVIDENCE, &inputs.trusted, artifact).map_err(refused)?)
        }
        Format::DrPgbackrest | Format::DrVelero | Format::DrAwsBackup => {
            let tool = format.dr_tool().unwrap_or_default();
            serde_json::to_value(ward_evidence::dr::summarise(tool, bytes, MAX_EVIDENCE).map_err(refused)?)
        }
        Format::Custom => {
            let Some(t) = custom else {
                return Err(AppError::invalid(
                    "a custom attestation needs its type",
                    "name the type as custom:NAME",
                ));
            };
            serde_json::to_value(custom::summarise(bytes, MAX_EVIDENCE, &t.name, &t.schema).map_err(refused)?)
        }
    }
    .map_err(AppError::internal)?;
    Ok((format, summary))
}

/// Fills in when Ward first saw each finding of a vulnerability summary for `service`: the
/// recorded time for findings seen before; left empty for new ones, which the projector fills
/// with the time of the event that records them.
async fn first_seen(ledger: &Ledger, service: &str, summary: &mut Value) -> Result<(), AppError> {
    let Some(list) = summary.get_mut("list").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    for f in list {
        let id = f.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        // By the package's key, then by its name as entries written before packages moved
        // beside the log keyed it: an upgrade must not restart an open finding's SLA clock.
        let keys: Vec<String> = ["package_key", "package"]
            .iter()
            .filter_map(|k| f.get(*k).and_then(Value::as_str))
            .map(|package| first_seen_key(service, &id, package))
            .collect();
        for key in keys {
            if let Some(doc) = ledger.store().projection(FIRST_SEEN, &key).await? {
                f["first_seen"] = doc.get("first_seen").cloned().unwrap_or(Value::Null);
                break;
            }
        }
    }
    Ok(())
}

/// Attaches an attestation to a registered artifact: parse, store the raw bytes, record the
/// summary. Attaching the same document twice is a no-op. Scanning and parsing get
/// [`WORK_BUDGET`].
pub async fn attest(
    ledger: &Ledger,
    by: &Identity,
    req: &AttestationRequest,
    policy: &ward_evidence::guard::GuardConfig,
) -> Result<(Attestation, bool), AppError> {
    attest_within(ledger, by, req, policy, WORK_BUDGET).await
}

/// How long scanning and parsing one attestation may take (the HTTP layer's request timeout is
/// this budget: `routes::REQUEST_TIMEOUT`). Past it (or when the request is dropped, e.g. by that
/// timeout) the work stops and nothing is stored.
pub const WORK_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// How many evidence documents are decoded, scanned and parsed at once: `WARD_PARSE_SLOTS`
/// (1 to 64) when set, else one per core (at least two), so memory stays bounded by a few
/// documents whatever the number of concurrent uploads.
pub fn parse_slot_count() -> usize {
    std::env::var("WARD_PARSE_SLOTS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()).max(2))
}

fn parse_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(parse_slot_count()))
}

/// [`attest`] with scanning and parsing bounded by `budget` instead of [`WORK_BUDGET`].
pub async fn attest_within(
    ledger: &Ledger,
    by: &Identity,
    req: &AttestationRequest,
    policy: &ward_evidence::guard::GuardConfig,
    budget: std::time::Duration,
) -> Result<(Attestation, bool), AppError> {
    use base64::Engine;
    let on_change = req.artifact.starts_with("CHG-");
    let on_dr = req.artifact == DR_TARGET;
    if on_dr && !req.r#type.starts_with("dr:") {
        return Err(AppError::invalid(
            format!("only backup evidence (type dr:…) attaches to {DR_TARGET}"),
            "attach a report to its artifact or its change",
        ));
    }
    if !on_dr && req.r#type.starts_with("dr:") {
        return Err(AppError::invalid(
            "backup evidence (type dr:…) is about the stores of [[services]], not one artifact or change",
            "attach it as backup evidence (type dr:TOOL) naming no artifact and no change",
        ));
    }
    if !on_change && !on_dr {
        parse_digest(&req.artifact).map_err(|e| {
            AppError::invalid(
                e.to_string(),
                "name the artifact, sha256:… (or the change, CHG-…, to attach to a change)",
            )
        })?;
    }
    check_field("file_name", &req.file_name, 255)?;
    // The file name is stored and repeated in messages: it is scanned first, and a finding in
    // it is reported without repeating it.
    check_file_name(&req.file_name, policy)?;
    let limit = policy.max_file_bytes();
    let too_large = |size: String| {
        AppError::new(
            Kind::TooLarge,
            "too_large",
            format!(
                "{} is {size} bytes, above the {limit}-byte limit; nothing was stored",
                req.file_name
            ),
            "attach a smaller report, or raise [guard] max_file_bytes in ward.toml (at most 16 MiB)",
        )
    };
    if req.content_base64.len() > limit.div_ceil(3) * 4 + 4 {
        return Err(too_large(format!("about {}", req.content_base64.len() / 4 * 3)));
    }
    // Decoding, scanning and parsing a document takes several times its size in memory: at most
    // PARSE_SLOTS of them are worked on at once, the others wait (within the request timeout).
    let _slot = parse_slots().acquire().await.map_err(AppError::internal)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&req.content_base64)
        .map_err(|e| {
            AppError::invalid(
                format!("content is not base64: {e}"),
                "send the file's bytes base64-encoded",
            )
        })?;
    if bytes.len() > limit {
        return Err(too_large(bytes.len().to_string()));
    }
    // What it attaches to: a registered artifact, or a change (evidence about the change itself,
    // e.g. a pen-test or a rollback plan); the service scopes vulnerability first-seen times.
    let service = if on_dr {
        "dr".to_string()
    } else if on_change {
        if !crate::subjects::change_exists(ledger, &req.artifact).await? {
            return Err(AppError::not_found(
                format!("no change {}", crate::identifier::shown(&req.artifact)),
                "list the changes",
            ));
        }
        format!("change:{}", req.artifact)
    } else {
        let Some(registered) = artifact(ledger, &req.artifact).await? else {
            return Err(AppError::not_found(
                format!("artifact {} is not registered", crate::identifier::shown(&req.artifact)),
                "register the artifact first",
            ));
        };
        registered.meta.service
    };
    // The guard runs before anything is stored or parsed into a summary; both run off the
    // async workers, under a work budget that a dropped request also ends. A redaction records
    // keyed fingerprints (the key lives in `ward_meta`, outside the log).
    let key = match req.redact {
        true => Some(crate::redaction::installation_key(ledger.store().as_ref()).await?),
        false => None,
    };
    let redacted_under = key.clone();
    let inputs = parse_inputs(ledger, &req.r#type, &req.artifact).await?;
    let (file, redact, policy) = (req.file_name.clone(), req.redact, policy.clone());
    let (bytes, redactions, format, mut summary) = bounded(&req.file_name, budget, move |stop| {
        let (bytes, redactions) = guard(&file, bytes, redact, key.as_ref(), &policy, &mut *stop)?;
        if stop() {
            return Err(out_of_budget(&file));
        }
        let (format, summary) = parse(&inputs, &bytes).map_err(|e| {
            AppError::new(
                e.kind,
                &e.code,
                format!("{file}: {}; nothing was stored", withhold_findings(&e.message, &policy)),
                e.hint,
            )
        })?;
        Ok((bytes, redactions, format, summary))
    })
    .await?;
    let id = of_bytes(&bytes);
    // Purged bytes again, even where they were attached before: refused, not a quiet no-op.
    crate::documents::refuse_purged(ledger, &id, "the attested file", crate::documents::RESUBMIT_WITHOUT).await?;
    if let Some(doc) = ledger
        .store()
        .projection(ATTESTATIONS, &format!("{}/{id}", req.artifact))
        .await?
    {
        return Ok((serde_json::from_value(doc).map_err(AppError::internal)?, false));
    }
    // The installation key fingerprints what the gate compares but the leaf must not hold: a
    // JUnit report's suite names, a scan's packages.
    let installation = match format {
        Format::Junit | Format::Vulns => Some(crate::redaction::installation_key(ledger.store().as_ref()).await?),
        _ => None,
    };
    if format == Format::Vulns {
        // Only ids of shapes an advisory database issues stay in the leaf (a crafted scan's
        // `smith-j-2015-04-12` or `CVE-219451100` is refused, naming the finding's position).
        crate::advisory::keep_recognised(&mut summary)?;
        if let Some(key) = &installation {
            package_keys(&mut summary, key);
        }
        first_seen(ledger, &service, &mut summary).await?;
    }
    // The file name and the summary's text fields are a tool's free text: they live beside
    // the log; the summary keeps counts, ids, digests and references.
    let mut texts = crate::documents::Texts::new();
    let file_name = texts.put(&req.file_name)?;
    let shown_summary = summary.clone();
    texts_aside(format, &mut summary, &mut texts, installation.as_ref())?;
    // What stays in the leaf is judged as identifiers are (attack round 7: a SARIF rule id
    // `smith_john_19610412`, a purl, a builder id).
    crate::identifier::judge_summary("evidence summary", &summary)?;
    names_aside(format, &mut summary, &mut texts)?;
    measurements_rounded(format, &mut summary);
    let mut payload = json!({
        "id": id,
        "artifact": req.artifact,
        "type": format.as_str(),
        "file_name": file_name,
        "size": bytes.len(),
        "summary": summary,
        "redactions": redactions,
        "added_by": by.id,
        "service": service,
    });
    // Fingerprints made under the installation's key name it by its check.
    if let Some(key) = installation.as_ref().or(redacted_under.as_ref()) {
        payload[crate::redaction::KEY_CHECK_MEMBER] = json!(crate::redaction::key_check(key));
    }
    let event = NewEvent {
        actor: by.actor(),
        kind: "attestation.added".into(),
        subject: if on_dr {
            "dr".to_string()
        } else if on_change {
            format!("change:{}", req.artifact)
        } else {
            format!("artifact:{}", req.artifact)
        },
        payload,
    };
    // The event is judged before the document is stored beside it: a refusal leaves nothing.
    ledger.admit(&event)?;
    crate::documents::store_evidence(ledger, &id, &bytes, "the attested file").await?;
    let receipt = crate::documents::append(ledger, event, texts).await?;
    let mut summary = shown_summary;
    fill_first_seen(&mut summary, &receipt.time);
    Ok((
        Attestation {
            id,
            artifact: req.artifact.clone(),
            r#type: format.as_str().into(),
            file_name: req.file_name.clone(),
            size: bytes.len() as u64,
            summary,
            redactions,
            added_by: by.id.clone(),
            seq: receipt.seq,
            time: receipt.time,
        },
        true,
    ))
}

/// Moves the free text of a parsed summary beside the log: each text field becomes the
/// reference of a salted document (failing test and suite names, a scan's reasons, an in-toto
/// link's command, a custom document's strings, a backup tool's warnings), so the leaf holds
/// counts, ids, digests and references. [`names_aside`] moves the names after they are judged.
/// A JUnit report also gets `suite_key`, a keyed fingerprint of its sorted suite names under
/// the installation key: the gate's identity of a suite (equal names, equal keys) that reveals
/// nothing about the names.
fn texts_aside(
    format: Format,
    summary: &mut Value,
    texts: &mut crate::documents::Texts,
    key: Option<&ward_evidence::redact::FingerprintKey>,
) -> Result<(), AppError> {
    let paths: &[&[&str]] = match format {
        Format::Junit => {
            let names: Vec<String> = summary
                .get("suite_names")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect();
            if let (Some(key), false) = (key, names.is_empty()) {
                let joined = serde_json::to_string(&names).map_err(AppError::internal)?;
                summary["suite_key"] = Value::String(key.fingerprint(&format!("junit-suites\0{joined}")));
            }
            &[&["failing", "*"], &["suite_names", "*"]]
        }
        Format::Vulns => &[&["incomplete_reason"], &["skipped_packages", "*", "reason"]],
        Format::Intoto => &[&["link", "command", "*"]],
        Format::Custom => {
            // The document keeps its shape (keys, numbers, booleans: what its schema fixes);
            // every string in it is put aside.
            fn strings_aside(v: &mut Value, texts: &mut crate::documents::Texts) -> Result<(), AppError> {
                match v {
                    Value::String(_) => aside(v, texts),
                    Value::Array(items) => items.iter_mut().try_for_each(|i| strings_aside(i, texts)),
                    Value::Object(map) => map.values_mut().try_for_each(|i| strings_aside(i, texts)),
                    _ => Ok(()),
                }
            }
            if let Some(doc) = summary.get_mut("document") {
                strings_aside(doc, texts)?;
            }
            &[]
        }
        Format::DrPgbackrest | Format::DrVelero | Format::DrAwsBackup => &[&["warnings", "*"]],
        Format::Sarif | Format::Cyclonedx | Format::Spdx => &[],
    };
    paths
        .iter()
        .try_for_each(|path| at(summary, path, &mut |v| aside(v, texts)))
}

/// Moves the names and versions a tool reports beside the log, once what stays in the leaf
/// has been judged with them ([`crate::identifier::judge_summary`] still refuses the shapes it
/// knows): a scan's packages, versions, fixed versions and tool; SARIF tools and rule ids; an
/// SBOM's purls and license names; an in-toto statement's subject and material names, its
/// builder id, build type and invocation. A VEX state or an SBOM spec version outside the values its standard defines
/// moves too. Each is a string anyone can craft, and what no rule knows (issue 15:
/// `smith-j-2015-04-12` as a package, `1.0.219451100` as a version) can be purged beside the
/// log but not from a leaf. What stays: ids of an advisory's shape, severities, counts, digests,
/// times, keyed fingerprints (`package_key`, `suite_key`) and references.
fn names_aside(format: Format, summary: &mut Value, texts: &mut crate::documents::Texts) -> Result<(), AppError> {
    let paths: &[&[&str]] = match format {
        Format::Vulns => {
            // A VEX state is an enum of CycloneDX's or OpenVEX's; any other string is a tool's.
            const VEX_STATES: [&str; 9] = [
                "resolved",
                "resolved_with_pedigree",
                "exploitable",
                "in_triage",
                "false_positive",
                "not_affected",
                "affected",
                "fixed",
                "under_investigation",
            ];
            at(summary, &["list", "*", "vex_state"], &mut |v| match v.as_str() {
                Some(s) if !VEX_STATES.contains(&s) => aside(v, texts),
                _ => Ok(()),
            })?;
            &[
                &["tool"],
                &["tool_version"],
                &["skipped_packages", "*", "package"],
                &["list", "*", "package"],
                &["list", "*", "version"],
                &["list", "*", "fixed_versions", "*"],
            ]
        }
        Format::Sarif => &[&["tools", "*", "name"], &["tools", "*", "version"], &["rule_ids", "*"]],
        Format::Cyclonedx | Format::Spdx => {
            // A spec version is `1.6` or `SPDX-2.3`; a license is counted under its name's
            // reference (`LicenseRef-…` names are anyone's text).
            at(summary, &["spec_version"], &mut |v| match v.as_str() {
                Some(s) if !spec_version(s) => aside(v, texts),
                _ => Ok(()),
            })?;
            if let Some(Value::Object(licenses)) = summary.get_mut("licenses") {
                for (name, count) in std::mem::take(licenses) {
                    licenses.insert(texts.put_judged(&name)?, count);
                }
            }
            &[&["purls", "*"]]
        }
        // A backup record's status is the tool's word (`full`, `Completed`), read by no check
        // (`succeeded` is); its store and id stay: the readiness check matches and shows them.
        Format::DrPgbackrest | Format::DrVelero | Format::DrAwsBackup => &[&["records", "*", "status"]],
        Format::Intoto => &[
            &["provenance", "builder_id"],
            &["provenance", "build_type"],
            &["subjects", "*", "name"],
            &["matched_subject"],
            &["materials", "*", "name"],
            &["provenance", "invocation_id"],
        ],
        _ => &[],
    };
    paths
        .iter()
        .try_for_each(|path| at(summary, path, &mut |v| aside(v, texts)))
}

/// Rounds what a tool measured to three significant digits in the leaf: a JUnit report's
/// duration and a backup's size. No check reads more, and a measurement is a number anyone
/// can write (a helper's attack on `22597c7`: `time="219451100"` stored an SSN's digits as
/// seconds); the raw report beside the log keeps the tool's figure.
fn measurements_rounded(format: Format, summary: &mut Value) {
    let round = |v: &mut Value| {
        if let Some(n) = v.as_u64() {
            *v = Value::from(significant_u64(n));
        } else if let Some(x) = v.as_f64() {
            *v = serde_json::Number::from_f64(significant_f64(x)).map_or(Value::Null, Value::Number);
        }
        Ok(())
    };
    let path: &[&str] = match format {
        Format::Junit => &["duration_secs"],
        Format::DrPgbackrest | Format::DrVelero | Format::DrAwsBackup => &["records", "*", "size_bytes"],
        _ => return,
    };
    let _ = at(summary, path, &mut |v| round(v));
}

/// `n` to three significant digits (`219451100` is `219000000`).
fn significant_u64(n: u64) -> u64 {
    let digits = n.checked_ilog10().map_or(1, |d| d + 1);
    match digits.checked_sub(3).filter(|&d| d > 0) {
        Some(extra) => {
            let unit = 10u64.pow(extra);
            (n / unit)
                .saturating_add(u64::from(n % unit >= unit / 2))
                .saturating_mul(unit)
        }
        None => n,
    }
}

/// `x` to three significant digits (`1234.567` is `1230`, `0.4123` is `0.412`).
fn significant_f64(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let e = x.abs().log10().floor() as i32;
    match e >= 2 {
        true => {
            let unit = 10f64.powi(e - 2);
            (x / unit).round() * unit
        }
        false => {
            let scale = 10f64.powi(2 - e);
            (x * scale).round() / scale
        }
    }
}

/// Puts the string `v` beside the log and leaves its reference in its place.
fn aside(v: &mut Value, texts: &mut crate::documents::Texts) -> Result<(), AppError> {
    if let Some(s) = v.as_str() {
        *v = Value::String(texts.put_judged(s)?);
    }
    Ok(())
}

/// Applies `f` to the value at `path` in `v`, where `*` is every element of a list; a missing
/// field is passed over.
fn at(v: &mut Value, path: &[&str], f: &mut dyn FnMut(&mut Value) -> Result<(), AppError>) -> Result<(), AppError> {
    match path.split_first() {
        None => f(v),
        Some((&"*", rest)) => match v.as_array_mut() {
            Some(items) => items.iter_mut().try_for_each(|i| at(i, rest, f)),
            None => Ok(()),
        },
        Some((field, rest)) => match v.get_mut(*field) {
            Some(inner) => at(inner, rest, f),
            None => Ok(()),
        },
    }
}

/// Whether `s` is a spec version as CycloneDX (`1.6`) or SPDX (`SPDX-2.3`) writes one.
fn spec_version(s: &str) -> bool {
    let number = s.strip_prefix("SPDX-").unwrap_or(s);
    matches!(number.split_once('.'), Some((major, minor))
        if (1..=2).contains(&major.len()) && (1..=2).contains(&minor.len())
            && major.bytes().chain(minor.bytes()).all(|b| b.is_ascii_digit()))
}

/// Runs `work` on a blocking thread, off the async workers, with a `stop` it must consult
/// that turns true once `budget` has passed or the caller's future is dropped (the request
/// timed out, or the client went away) — so the CPU is given back, not held to the end.
async fn bounded<T: Send + 'static>(
    file: &str,
    budget: std::time::Duration,
    work: impl FnOnce(&mut dyn FnMut() -> bool) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Sets the flag when the future that owns it is dropped, finished or not.
    struct CancelOnDrop(Arc<AtomicBool>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel = CancelOnDrop(cancelled.clone());
    let deadline = std::time::Instant::now().checked_add(budget);
    let file = file.to_string();
    let job = tokio::task::spawn_blocking(move || {
        let mut stop = || cancelled.load(Ordering::Relaxed) || deadline.is_some_and(|d| std::time::Instant::now() >= d);
        if stop() {
            return Err(out_of_budget(&file));
        }
        work(&mut stop)
    });
    job.await.map_err(AppError::internal)?
}

/// The refusal when scanning and parsing ran out of their budget.
fn out_of_budget(file: &str) -> AppError {
    AppError::new(
        Kind::Unavailable,
        "timeout",
        format!("{file}: scanning and parsing ran out of their work budget and were stopped; nothing was stored"),
        "retry; if it persists, attach a smaller report",
    )
}

/// Refuses a file name in which the guard finds something, naming the detectors only.
fn check_file_name(file: &str, policy: &ward_evidence::guard::GuardConfig) -> Result<(), AppError> {
    let found = ward_evidence::guard::scan(file, policy);
    if found.is_empty() {
        // And as the words it joins (`smith_john_19610412.xml`), as identifiers are.
        return crate::identifier::judge_plain("file name", file);
    }
    Err(AppError::new(
        Kind::Unprocessable,
        "sensitive_content",
        format!(
            "the attestation's file name: possible PHI or secret ({}); nothing was stored",
            ward_evidence::guard::detector_names(&found)
        ),
        "rename the file: its name is stored in the log and shown in messages",
    ))
}

/// A parser's message, or — when the guard finds something in it (a parser may quote a value
/// it decoded, e.g. from an escape the raw scan could not read) — a message that names the
/// detectors only.
fn withhold_findings(message: &str, policy: &ward_evidence::guard::GuardConfig) -> String {
    let found = ward_evidence::guard::scan(message, policy);
    if found.is_empty() {
        return message.to_string();
    }
    format!(
        "the document was refused by its parser; the parser's message is withheld because it quotes possible PHI or a secret ({})",
        ward_evidence::guard::detector_names(&found)
    )
}

/// Runs the PHI/secret guard: refuses with file, line and detector (never the value), or with
/// `redact` returns the redacted bytes and what was removed (fingerprinted under `key`).
fn guard(
    file: &str,
    bytes: Vec<u8>,
    redact: bool,
    key: Option<&ward_evidence::redact::FingerprintKey>,
    policy: &ward_evidence::guard::GuardConfig,
    stop: &mut dyn FnMut() -> bool,
) -> Result<(Vec<u8>, Vec<ward_evidence::redact::Redaction>), AppError> {
    let mut scan = |text: &str, policy: &ward_evidence::guard::GuardConfig| {
        ward_evidence::guard::scan_until(text, policy, stop).map_err(|_| out_of_budget(file))
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(AppError::invalid(
            format!("{file} is not UTF-8 text"),
            "attach the report as the tool wrote it (JUnit XML, SARIF JSON)",
        ));
    };
    if policy.skips(file) {
        return Ok((bytes, Vec::new()));
    }
    // A DSSE envelope is scanned as two texts read the way the in-toto parser reads it: the
    // envelope with its base64 payload and signatures blanked (they are random by design), and
    // the decoded payload. What was signed cannot be redacted without breaking the signature.
    let signed = ward_evidence::intoto::dsse_guard_views(&bytes);
    // A bare in-toto Statement, read without its build event's team identities (parsed once).
    let statement = match signed {
        Some(_) => None,
        None => ward_evidence::intoto::without_team_identities(text),
    };
    let findings = match &signed {
        Some((skeleton, payload)) => {
            let mut f = scan(skeleton, policy)?;
            f.extend(scan(payload, policy)?);
            f
        }
        // A bare in-toto Statement: read without its build event's team identities (see
        // `intoto::without_team_identities`).
        None => match &statement {
            Some(read) => scan(read, policy)?,
            None => scan(text, policy)?,
        },
    };
    if findings.is_empty() {
        return Ok((bytes, Vec::new()));
    }
    if !redact || signed.is_some() {
        let listed: Vec<String> = findings
            .iter()
            .take(5)
            .map(|f| match &f.decoded {
                Some(how) => format!("line {} column {} ({}, decoded: {how})", f.line, f.column, f.detector),
                None => format!("line {} column {} ({})", f.line, f.column, f.detector),
            })
            .collect();
        let more = if findings.len() > 5 {
            format!(" and {} more", findings.len() - 5)
        } else {
            String::new()
        };
        let (place, hint) = if signed.is_some() {
            (
                " of the DSSE envelope or its decoded payload",
                "a signed document cannot be redacted: remove it at the source and sign again",
            )
        } else {
            ("", "remove it at the source, or ask for a redacted copy to be stored")
        };
        return Err(AppError::new(
            Kind::Unprocessable,
            "sensitive_content",
            format!(
                "{file}: possible PHI or secret at {}{more}{place}; nothing was stored",
                listed.join(", ")
            ),
            hint,
        ));
    }
    // Redaction works on the stored text: a bare Statement's findings were made on the text
    // read without its team identities, whose places differ.
    let findings = match statement.is_some() {
        true => scan(text, policy)?,
        false => findings,
    };
    let Some(cleaned) =
        ward_evidence::guard::redact_verified(text, &findings, policy, stop).map_err(|_| out_of_budget(file))?
    else {
        return Err(AppError::new(
            Kind::Unprocessable,
            "sensitive_content",
            format!("{file}: the redacted copy still holds possible PHI or a secret; nothing was stored"),
            "remove it at the source: the redaction could not clear this document",
        ));
    };
    Ok((
        cleaned.into_bytes(),
        ward_evidence::redact::redactions(text, &findings, key),
    ))
}

/// An attestation with its raw document as stored beside the log (base64).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceDocument {
    /// The attestation.
    pub attestation: Attestation,
    /// Base64 of the stored document (what the guard let through, redactions applied).
    pub data: String,
}

/// Reads attestation `id` of `subject` (an artifact's digest, or a change's id for the change's
/// own evidence) with its raw document, as `reader` — refused without the right to read
/// evidence — and records the read (`access.read`, `via` the API or the UI) first, as every
/// read of evidence is (HIPAA §164.312(b)).
pub async fn read_document(
    ledger: &Ledger,
    reader: &Identity,
    subject: &str,
    id: &str,
    via: &str,
) -> Result<(Attestation, Vec<u8>), AppError> {
    if !reader.may(ward_core::Action::EvidenceRead) {
        return Err(AppError::new(
            crate::error::Kind::Forbidden,
            "forbidden",
            format!("{} may not read evidence", reader.id),
            "ask for a role that reads evidence (viewer, auditor, developer, approver, release manager)",
        ));
    }
    if !ward_ledger::documents::is_digest(id) || subject.len() > 200 || subject.contains('/') {
        return Err(AppError::invalid(
            "an attestation is named by its subject and its sha256 digest",
            "take both from the change's evidence list",
        ));
    }
    let missing = || {
        AppError::not_found(
            format!("no attestation {id} of {subject}"),
            "take the attestation from the change's evidence list",
        )
    };
    let doc = ledger
        .store()
        .projection(ATTESTATIONS, &format!("{subject}/{id}"))
        .await?
        .ok_or_else(missing)?;
    // A text of its record purged (a name, a test name, a finding's message) is text of the
    // document too: the purge withholds the document as well.
    if crate::documents::any_purged(ledger, &doc).await? {
        return Err(AppError::new(
            Kind::Conflict,
            "document_purged",
            format!("a text of attestation {id} was purged, so its raw document is withheld"),
            "its record stays in the log with the purged text marked; the document is not served",
        ));
    }
    let attestation: Attestation = serde_json::from_value(doc).map_err(AppError::internal)?;
    // Its file name is free text kept beside the log: shown as people read it.
    let attestation = crate::documents::shown(ledger, attestation).await?;
    ledger
        .append(NewEvent {
            actor: reader.actor(),
            kind: "access.read".into(),
            subject: if subject == DR_TARGET {
                "dr".to_string()
            } else if subject.starts_with("CHG-") {
                format!("change:{subject}")
            } else {
                format!("artifact:{subject}")
            },
            payload: json!({ "attestation": id, "subject": subject, "via": via }),
        })
        .await?;
    // Checked against its digest: a file altered in the store is refused, never served as evidence.
    let bytes = crate::documents::checked_bytes(ledger, id, "the document of attestation").await?;
    Ok((attestation, bytes))
}

/// Attestations of an artifact, in the order they were added.
pub async fn attestations(ledger: &Ledger, artifact: &str) -> Result<Vec<Attestation>, AppError> {
    let prefix = format!("{artifact}/");
    let mut out: Vec<Attestation> = ledger
        .store()
        .projection_prefix(ATTESTATIONS, &prefix)
        .await?
        .into_iter()
        .map(|(_, doc)| serde_json::from_value(doc).map_err(AppError::internal))
        .collect::<Result<_, _>>()?;
    out.sort_by_key(|a| a.seq);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_is_its_version_without_a_v_or_build_metadata() {
        for (version, release) in [
            ("2.0.0", "2.0.0"),
            ("v2.0.0", "2.0.0"),
            ("V2.0.0", "2.0.0"),
            ("2.0.0+build.2", "2.0.0"),
            ("v2.0.0-rc.1+b7", "2.0.0-rc.1"),
            ("vendor-1.0", "vendor-1.0"),
            ("v", "v"),
            ("+build", "+build"),
            ("bookworm-20240513", "bookworm-20240513"),
            // A helper's attack on the ninth session's head: each named another digest.
            ("02.0.0", "2.0.0"),
            ("2.00.0", "2.0.0"),
            ("2.0", "2.0.0"),
            ("2.0.0.0", "2.0.0"),
            ("2.0.0.", "2.0.0"),
            ("2.0.0-", "2.0.0"),
            ("=2.0.0", "2.0.0"),
            ("2.0.0-RC.1", "2.0.0-rc.1"),
            ("2.0.0-rc.01", "2.0.0-rc.1"),
            ("1.4.2.0", "1.4.2"),
            ("1.4.2.1", "1.4.2.1"),
            ("10.0.0", "10.0.0"),
            // A helper's attack on the ninth session's head: odd separators.
            ("v.2.0.0", "2.0.0"),
            ("v-2.0.0", "2.0.0"),
            ("V_2.0.0", "2.0.0"),
            ("2.0.0_", "2.0.0"),
            ("2.0.0--rc.1", "2.0.0-rc.1"),
            ("2.0.0_rc.1", "2.0.0-rc.1"),
            ("2.0.0-.rc.1", "2.0.0-rc.1"),
            ("v.", "v"),
            ("v-next", "v-next"),
        ] {
            assert_eq!(release_of(version), release, "{version}");
        }
        assert!(is_prerelease(&release_of("v2.0.0-rc.1")));
        assert!(
            ArtifactRules {
                mutable_prerelease: true
            }
            .may_rebind("v2.0.0-rc.1+b7")
        );
        assert!(
            !ArtifactRules {
                mutable_prerelease: true
            }
            .may_rebind("v2.0.0+b7")
        );
    }

    /// Measurements keep three significant digits in the leaf, whatever their size.
    #[test]
    fn measurements_keep_three_significant_digits() {
        use super::{significant_f64, significant_u64};
        for (n, rounded) in [
            (0, 0),
            (7, 7),
            (999, 999),
            (1234, 1230),
            (1235, 1240),
            (219_451_100, 219_000_000),
            (u64::MAX, 18_400_000_000_000_000_000),
        ] {
            assert_eq!(significant_u64(n), rounded, "{n}");
        }
        for (x, rounded) in [
            (0.0, 0.0),
            (0.4123, 0.412),
            (12.345, 12.3),
            (1234.567, 1230.0),
            (219_451_100.0, 219_000_000.0),
        ] {
            assert!(
                (significant_f64(x) - rounded).abs() <= rounded * 1e-12,
                "{x}: {}",
                significant_f64(x)
            );
        }
    }
    /// The request timeout drops the handler's future; the blocking work it started must see
    /// that and stop, not hold a core to the end of its (here: hour-long) budget.
    #[tokio::test]
    async fn a_dropped_request_stops_its_blocking_work() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Duration;
        let (started, ended) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (s, e) = (started.clone(), ended.clone());
        let work = bounded("big.json", Duration::from_secs(3600), move |stop| {
            s.store(true, Ordering::SeqCst);
            while !stop() {
                std::thread::sleep(Duration::from_millis(1));
            }
            e.store(true, Ordering::SeqCst);
            Err::<(), _>(out_of_budget("big.json"))
        });
        assert!(tokio::time::timeout(Duration::from_millis(200), work).await.is_err());
        for _ in 0..500 {
            if ended.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            started.load(Ordering::SeqCst) && ended.load(Ordering::SeqCst),
            "the work kept running"
        );
    }

    #[test]
    fn only_semver_pre_releases_are_pre_releases() {
        for v in [
            "1.2.3-rc.1",
            "0.0.1-alpha",
            "1.0.0-0.3.7",
            "1.0.0-x-y.7.z.92+build.5",
            "10.20.30-beta",
        ] {
            assert!(is_prerelease(v), "{v}");
        }
        for v in [
            "3.1.0",
            "1.2.3+build.1",
            "1.2-rc.1",
            "1.2.3-",
            "1.2.3-rc..1",
            "01.2.3-rc",
            "1.2.3-01",
            "v1.2.3-rc.1",
            "1.2.3.4-rc",
            "latest",
            "1.2.3-rc+",
            "1.2.3-r c",
        ] {
            assert!(!is_prerelease(v), "{v}");
        }
    }

    #[test]
    fn mutable_prerelease_never_frees_a_release_version() {
        let open = ArtifactRules {
            mutable_prerelease: true,
        };
        assert!(open.may_rebind("1.2.3-rc.1"));
        assert!(!open.may_rebind("3.1.0"));
        assert!(!ArtifactRules::default().may_rebind("1.2.3-rc.1"));
    }

    #[test]
    fn version_keys_do_not_collide() {
        let k = version_key("a\",b", "1", "sha256:x");
        assert!(!k.starts_with(&version_prefix("a", "b\",\"1")));
        assert!(k.starts_with(&version_prefix("a\",b", "1")));
        assert!(!version_key("svc", "1.0", "d").starts_with(&version_prefix("svc", "1")));
    }
}
