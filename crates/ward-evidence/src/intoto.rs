//! in-toto: Statements (v1 and v0.1) in DSSE envelopes, SLSA provenance (v0.2 and v1)
//! predicates, and link metadata as `in-toto-run` writes it — the classic signed metablock
//! (`{"signatures":[…],"signed":{"_type":"link",…}}`) or, with `--use-dsse`, a DSSE envelope.
//!
//! Nothing is believed before a signature is: a document counts only when at least one of its
//! signatures verifies under a key trusted for a builder ([`TrustedKey`]). DSSE signatures cover
//! `PAE(payloadType, payload)`; metablock signatures cover the securesystemslib canonical JSON
//! of `signed` (keys sorted, no whitespace, only `\` and `"` escaped, no floats). Then the
//! artifact must be what the document speaks about: a Statement subject, a link product, or a
//! link material, whose sha256 equals the artifact's digest. A link of a step that *reads* the
//! artifact (a test or scan step: the artifact is among its materials, it makes nothing) is
//! evidence about that artifact just as a build step's link is; the summary says which role the
//! artifact played (`artifact_role`: `subject`, `product` or `material`) and which step the link
//! records (`step`), so policy can require named steps and tell a build from a test. A document
//! that names the artifact in none of these is refused (digest mismatch). Products are matched
//! before materials.

use crate::keys::PublicKey;
use crate::{EvidenceError, check_size};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const FORMAT: &str = "in-toto";
/// DSSE payload type of in-toto documents.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Most subjects kept in a summary.
pub const MAX_SUBJECTS: usize = 1000;
const MAX_SIGNATURES: usize = 32;

/// A key trusted to sign for a builder.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// The builder's name, as given to `ward key trust --builder`.
    pub builder: String,
    /// The key.
    pub key: PublicKey,
}

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedBy {
    /// Builder the key is trusted for.
    pub builder: String,
    /// Ward's key id (`sha256:` of the SubjectPublicKeyInfo).
    pub keyid: String,
    /// Algorithm family.
    pub algorithm: String,
}

/// A subject (Statement) or product (link).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Name or path.
    pub name: String,
    /// Its sha256, hex (absent when the document gives only other algorithms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// SLSA provenance facts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// `v0.2` or `v1`.
    pub slsa_version: String,
    /// `builder.id` (v0.2) / `runDetails.builder.id` (v1).
    pub builder_id: String,
    /// `buildType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_type: Option<String>,
    /// `metadata.buildInvocationId` / `runDetails.metadata.invocationId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// Build start time as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    /// Build end time as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
    /// `materials` (v0.2) / `buildDefinition.resolvedDependencies` (v1).
    pub materials: u64,
}

/// What an in-toto link says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFacts {
    /// The step name.
    pub step: String,
    /// The command that ran.
    pub command: Vec<String>,
    /// Materials recorded.
    pub materials: u64,
    /// Products recorded.
    pub products: u64,
    /// The command's exit code, where recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_value: Option<i64>,
}

/// What a verified in-toto document says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntotoSummary {
    /// `dsse` or `metablock`.
    pub envelope: String,
    /// The statement's or link's `_type`.
    pub statement_type: String,
    /// `predicateType` of a Statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Subjects (Statement) or products (link), at most [`MAX_SUBJECTS`].
    pub subjects: Vec<Subject>,
    /// The subject, product or material that is the artifact.
    pub matched_subject: String,
    /// What the artifact is to the document: `subject` (a Statement's), `product` or
    /// `material` (a link's).
    #[serde(default)]
    pub artifact_role: String,
    /// The link's step name (links only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// A link's materials, at most [`MAX_SUBJECTS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<Subject>,
    /// Signatures on the document.
    pub signatures: u64,
    /// Those that verified under trusted keys.
    pub verified_by: Vec<VerifiedBy>,
    /// SLSA provenance, when the predicate is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// Link facts, when the document is a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkFacts>,
}

fn malformed(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::Malformed {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// Is this JSON object an in-toto document (DSSE envelope, metablock or bare Statement)?
pub(crate) fn looks_like(top: &crate::probe::Probe) -> bool {
    (top.payload_type.is_some() && top.payload.is_some())
        || (top.signed.is_some() && top.signatures.is_some())
        || top
            .statement_type
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("https://in-toto.io/Statement/"))
}

/// What the PHI/secret guard scans of a DSSE envelope, read exactly as [`summarise`] reads it:
/// the envelope as stored — its bytes, not a copy rebuilt from parsed JSON, so a field written
/// twice is read twice — with its base64 `payload` and binary signature values cut out
/// (random-looking by design), and the decoded payload. A signature field holding text is
/// scanned like the payload; one holding bytes that are no text adds its printable stretches
/// (8 bytes or more: text hidden behind a binary prefix). `None` when `bytes` is not a UTF-8
/// JSON object with string `payloadType` and `payload` fields, or when the payload is not
/// base64 UTF-8 text (the raw document is then scanned as it is).
pub fn dsse_guard_views(bytes: &[u8]) -> Option<(String, String)> {
    let raw = std::str::from_utf8(bytes).ok()?;
    let top: Value = serde_json::from_str(raw).ok()?;
    let obj = top.as_object()?;
    obj.get("payloadType")?.as_str()?;
    let encoded = obj.get("payload")?.as_str()?;
    let payload = String::from_utf8(decode_b64(encoded)?).ok()?;
    let mut payload = without_team_identities(&payload).unwrap_or(payload);
    let mut cut: Vec<&str> = vec![encoded];
    if let Some(Value::Array(sigs)) = obj.get("signatures") {
        for sig in sigs {
            let Some(text) = sig.get("sig").and_then(Value::as_str) else {
                continue;
            };
            let Some(raw_sig) = decode_b64(text) else {
                continue; // not base64: scanned as it is, in the envelope
            };
            match String::from_utf8(raw_sig) {
                // Text hidden in a signature field is scanned like the payload.
                Ok(decoded) => {
                    payload.push('\n');
                    payload.push_str(&decoded);
                }
                // Bytes, as a signature is: cut from the envelope's text, their printable
                // stretches scanned.
                Err(e) => {
                    for run in e
                        .as_bytes()
                        .split(|b| !(b.is_ascii_graphic() || *b == b' '))
                        .filter(|r| r.len() >= 8)
                    {
                        payload.push('\n');
                        payload.push_str(&String::from_utf8_lossy(run));
                    }
                    cut.push(text);
                }
            }
        }
    }
    let mut skeleton = raw.to_string();
    for c in cut.into_iter().filter(|c| c.len() >= 8) {
        skeleton = skeleton.replace(c, "");
    }
    Some((skeleton, payload))
}

/// Keys whose object names a person of the development team in a build's event (GitHub's
/// `github_event_payload`: commits' `author` and `committer`, the `pusher`, the `sender`).
const TEAM_IDENTITY_KEYS: [&str; 5] = ["author", "committer", "pusher", "sender", "triggering_actor"];
/// The fields of such an object that identify the person.
const TEAM_IDENTITY_FIELDS: [&str; 4] = ["email", "name", "username", "login"];

/// An in-toto Statement's text with the development team's identities in its build event cut
/// out (their string literals written `""`), for the guard: a provenance records who pushed and
/// who wrote each commit — people of the team, not patients — and a personal mail address there
/// must not make signed provenance impossible to attach. Everything else, and every other
/// `email` or `name`, is read as it is. `None` when `text` is no Statement.
pub fn without_team_identities(text: &str) -> Option<String> {
    fn collect<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if let (true, Value::Object(person)) = (TEAM_IDENTITY_KEYS.contains(&k.as_str()), x) {
                        out.extend(
                            person
                                .iter()
                                .filter(|(f, _)| TEAM_IDENTITY_FIELDS.contains(&f.as_str()))
                                .filter_map(|(_, s)| s.as_str()),
                        );
                    }
                    collect(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    let v: Value = serde_json::from_str(text).ok()?;
    v.get("_type")?
        .as_str()?
        .starts_with("https://in-toto.io/Statement/")
        .then_some(())?;
    let mut found = Vec::new();
    collect(&v, &mut found);
    found.sort_unstable();
    found.dedup();
    let mut out = text.to_string();
    for s in found.into_iter().filter(|s| !s.is_empty()) {
        if let Ok(literal) = serde_json::to_string(s) {
            out = out.replace(&literal, "\"\"");
        }
    }
    Some(out)
}

/// DSSE's pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// securesystemslib's canonical JSON (`encode_canonical`), which classic in-toto signs.
pub fn ssl_canonical(v: &Value) -> Result<Vec<u8>, EvidenceError> {
    fn string(s: &str, out: &mut Vec<u8>) {
        out.push(b'"');
        for c in s.chars() {
            if c == '\\' || c == '"' {
                out.push(b'\\');
            }
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        out.push(b'"');
    }
    fn walk(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), EvidenceError> {
        if depth > 64 {
            return Err(malformed("nested too deeply"));
        }
        match v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Number(n) if n.is_i64() || n.is_u64() => out.extend_from_slice(n.to_string().as_bytes()),
            Value::Number(_) => return Err(malformed("a signed in-toto document holds a float")),
            Value::String(s) => string(s, out),
            Value::Array(a) => {
                out.push(b'[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    walk(x, out, depth + 1)?;
                }
                out.push(b']');
            }
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    string(k, out);
                    out.push(b':');
                    walk(&o[k], out, depth + 1)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(v, &mut out, 0)?;
    Ok(out)
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    #[serde(default)]
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    #[serde(default)]
    sig: String,
}

#[derive(Deserialize)]
struct Metablock {
    signed: Value,
    #[serde(default)]
    signatures: Vec<EnvelopeSignature>,
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(s.trim()).ok())
}

/// Which trusted keys verify any of `sigs` over `message`; refuses when none does.
fn verify(message: &[u8], sigs: &[Vec<u8>], trusted: &[TrustedKey]) -> Result<Vec<VerifiedBy>, EvidenceError> {
    if sigs.is_empty() {
        return Err(EvidenceError::Unverified("the document carries no signature".into()));
    }
    if sigs.len() > MAX_SIGNATURES {
        return Err(malformed(format!("more than {MAX_SIGNATURES} signatures")));
    }
    if trusted.is_empty() {
        return Err(EvidenceError::Unverified(
            "no key is trusted for any builder, so no signature can be checked".into(),
        ));
    }
    let mut out: Vec<VerifiedBy> = Vec::new();
    for sig in sigs {
        for t in trusted {
            if t.key.verify(message, sig) {
                let v = VerifiedBy {
                    builder: t.builder.clone(),
                    keyid: t.key.keyid(),
                    algorithm: t.key.algorithm().as_str().into(),
                };
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(EvidenceError::Unverified(format!(
            "none of its {} signature(s) verifies under a trusted key: forged, altered after signing, or signed by a key not trusted for any builder",
            sigs.len()
        )));
    }
    Ok(out)
}

fn digest_hex(artifact: &str) -> Result<&str, EvidenceError> {
    artifact
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64)
        .ok_or_else(|| malformed(format!("artifact digest {artifact:?} is not sha256:<hex>")))
}

/// Verifies and summarises an in-toto document of at most `limit` bytes about `artifact`
/// (`sha256:<hex>`), against the keys in `trusted`.
pub fn summarise(
    bytes: &[u8],
    limit: usize,
    trusted: &[TrustedKey],
    artifact: &str,
) -> Result<IntotoSummary, EvidenceError> {
    check_size(bytes, limit)?;
    let want = digest_hex(artifact)?.to_ascii_lowercase();
    let top: Value = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let obj = top.as_object().ok_or_else(|| malformed("not a JSON object"))?;
    let (envelope, verified_by, signatures, body) = if obj.contains_key("payloadType") {
        let env: Envelope =
            serde_json::from_value(top.clone()).map_err(|e| malformed(format!("DSSE envelope: {e}")))?;
        if env.payload_type != PAYLOAD_TYPE {
            return Err(malformed(format!(
                "DSSE payloadType {:?}; expected {PAYLOAD_TYPE:?}",
                env.payload_type
            )));
        }
        let payload = decode_b64(&env.payload).ok_or_else(|| malformed("DSSE payload is not base64"))?;
        let sigs: Vec<Vec<u8>> = env
            .signatures
            .iter()
            .map(|s| decode_b64(&s.sig).ok_or_else(|| malformed("a DSSE signature is not base64")))
            .collect::<Result<_, _>>()?;
        let verified = verify(&pae(&env.payload_type, &payload), &sigs, trusted)?;
        let body: Value =
            serde_json::from_slice(&payload).map_err(|e| malformed(format!("DSSE payload is not JSON: {e}")))?;
        ("dsse", verified, sigs.len(), body)
    } else if obj.contains_key("signed") {
        let mb: Metablock = serde_json::from_value(top.clone()).map_err(|e| malformed(format!("metablock: {e}")))?;
        let sigs: Vec<Vec<u8>> = mb
            .signatures
            .iter()
            .map(|s| hex::decode(s.sig.trim()).map_err(|_| malformed("a metablock signature is not hex")))
            .collect::<Result<_, _>>()?;
        let verified = verify(&ssl_canonical(&mb.signed)?, &sigs, trusted)?;
        ("metablock", verified, sigs.len(), mb.signed)
    } else if obj
        .get("_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("https://in-toto.io/Statement/"))
    {
        return Err(EvidenceError::Unverified(
            "a bare in-toto Statement carries no signature; attach the DSSE envelope the builder signed".into(),
        ));
    } else {
        return Err(malformed("neither a DSSE envelope nor an in-toto metablock"));
    };
    let mut out = IntotoSummary {
        envelope: envelope.into(),
        signatures: signatures as u64,
        verified_by,
        ..IntotoSummary::default()
    };
    let kind = body
        .get("_type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match kind.as_str() {
        "https://in-toto.io/Statement/v1" | "https://in-toto.io/Statement/v0.1" => statement(&body, &mut out)?,
        "link" => link(&body, &mut out)?,
        other => {
            return Err(malformed(format!(
                "_type {other:?} (Statement v1/v0.1 and links are read)"
            )));
        }
    }
    out.statement_type = kind;
    let is = |s: &&Subject| s.sha256.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(&want));
    let is_link = out.link.is_some();
    let (matched, role) = match (out.subjects.iter().find(is), out.materials.iter().find(is)) {
        (Some(s), _) => (s.name.clone(), if is_link { "product" } else { "subject" }),
        (None, Some(m)) => (m.name.clone(), "material"),
        (None, None) => {
            let named = |list: &[Subject]| {
                let l: Vec<String> = list
                    .iter()
                    .take(3)
                    .map(|s| format!("{} sha256:{}", s.name, s.sha256.as_deref().unwrap_or("-")))
                    .collect();
                if l.is_empty() { "none".to_string() } else { l.join(", ") }
            };
            return Err(EvidenceError::Mismatch(if is_link {
                format!(
                    "no product or material of step {:?} has the artifact's digest {artifact} (products: {}; materials: {})",
                    out.step.as_deref().unwrap_or_default(),
                    named(&out.subjects),
                    named(&out.materials)
                )
            } else {
                format!(
                    "no subject has the artifact's digest {artifact} (it names {})",
                    named(&out.subjects)
                )
            }));
        }
    };
    out.matched_subject = matched;
    out.artifact_role = role.into();
    Ok(out)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn push_subject(out: &mut IntotoSummary, name: &str, digest: &Value) -> Result<(), EvidenceError> {
    let subject = subject(name, digest)?;
    if out.subjects.len() < MAX_SUBJECTS {
        out.subjects.push(subject);
    }
    Ok(())
}

fn subject(name: &str, digest: &Value) -> Result<Subject, EvidenceError> {
    let digest = digest
        .as_object()
        .ok_or_else(|| malformed(format!("the digest of {name:?} is not an object")))?;
    let sha256 = match digest.get("sha256") {
        Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(h.to_ascii_lowercase())
        }
        Some(_) => return Err(malformed(format!("the sha256 of {name:?} is not 64 hex digits"))),
        None => None,
    };
    Ok(Subject {
        name: name.into(),
        sha256,
    })
}

fn statement(body: &Value, out: &mut IntotoSummary) -> Result<(), EvidenceError> {
    let subjects = body
        .get("subject")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("the Statement has no subject"))?;
    for s in subjects {
        let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
        push_subject(out, name, s.get("digest").unwrap_or(&Value::Null))?;
    }
    let predicate_type = body
        .get("predicateType")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("the Statement has no predicateType"))?;
    let predicate = body.get("predicate").unwrap_or(&Value::Null);
    out.predicate_type = Some(predicate_type.into());
    let count = |v: Option<&Value>| v.and_then(Value::as_array).map_or(0, |a| a.len() as u64);
    out.provenance = match predicate_type {
        "https://slsa.dev/provenance/v1" => Some(Provenance {
            slsa_version: "v1".into(),
            builder_id: str_at(predicate, &["runDetails", "builder", "id"])
                .ok_or_else(|| malformed("SLSA v1 provenance without runDetails.builder.id"))?
                .into(),
            build_type: str_at(predicate, &["buildDefinition", "buildType"]).map(Into::into),
            invocation_id: str_at(predicate, &["runDetails", "metadata", "invocationId"]).map(Into::into),
            started_on: str_at(predicate, &["runDetails", "metadata", "startedOn"]).map(Into::into),
            finished_on: str_at(predicate, &["runDetails", "metadata", "finishedOn"]).map(Into::into),
            materials: count(
                predicate
                    .get("buildDefinition")
                    .and_then(|b| b.get("resolvedDependencies")),
            ),
        }),
        "https://slsa.dev/provenance/v0.2" => Some(Provenance {
            slsa_version: "v0.2".into(),
            builder_id: str_at(predicate, &["builder", "id"])
                .ok_or_else(|| malformed("SLSA v0.2 provenance without builder.id"))?
                .into(),
            build_type: str_at(predicate, &["buildType"]).map(Into::into),
            invocation_id: str_at(predicate, &["metadata", "buildInvocationId"]).map(Into::into),
            started_on: str_at(predicate, &["metadata", "buildStartedOn"]).map(Into::into),
            finished_on: str_at(predicate, &["metadata", "buildFinishedOn"]).map(Into::into),
            materials: count(predicate.get("materials")),
        }),
        _ => None,
    };
    Ok(())
}

fn link(body: &Value, out: &mut IntotoSummary) -> Result<(), EvidenceError> {
    let map = |k: &str| -> Result<serde_json::Map<String, Value>, EvidenceError> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(serde_json::Map::new()),
            Some(Value::Object(o)) => Ok(o.clone()),
            Some(_) => Err(malformed(format!("link {k} is not an object"))),
        }
    };
    let products = map("products")?;
    let materials = map("materials")?;
    for (name, digest) in &products {
        push_subject(out, name, digest)?;
    }
    for (name, digest) in &materials {
        let m = subject(name, digest)?;
        if out.materials.len() < MAX_SUBJECTS {
            out.materials.push(m);
        }
    }
    let step: String = body.get("name").and_then(Value::as_str).unwrap_or_default().into();
    out.step = Some(step.clone());
    let command = match body.get("command") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(|c| c.as_str().unwrap_or_default().to_string()).collect(),
        Some(_) => return Err(malformed("link command is not a list")),
    };
    out.link = Some(LinkFacts {
        step,
        command,
        materials: materials.len() as u64,
        products: products.len() as u64,
        return_value: body
            .get("byproducts")
            .and_then(|b| b.get("return-value"))
            .and_then(Value::as_i64),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use serde_json::json;

    fn key() -> (Ed25519KeyPair, TrustedKey) {
        let kp = Ed25519KeyPair::generate().unwrap();
        let der = kp.public_key().as_der().unwrap();
        let key = PublicKey::from_spki_der(der.as_ref()).unwrap();
        (
            kp,
            TrustedKey {
                builder: "ci".into(),
                key,
            },
        )
    }

    const ART: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn envelope(kp: &Ed25519KeyPair, statement: &Value) -> Vec<u8> {
        let payload = serde_json::to_vec(statement).unwrap();
        let sig = kp.sign(&pae(PAYLOAD_TYPE, &payload));
        let b64 = base64::engine::general_purpose::STANDARD;
        serde_json::to_vec(&json!({"payloadType": PAYLOAD_TYPE, "payload": b64.encode(&payload),
            "signatures": [{"keyid": "", "sig": b64.encode(sig.as_ref())}]}))
        .unwrap()
    }

    fn statement(hex: &str) -> Value {
        json!({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":hex}}],
          "predicateType":"https://slsa.dev/provenance/v1",
          "predicate":{"buildDefinition":{"buildType":"t","resolvedDependencies":[{"uri":"git+x"}]},
                       "runDetails":{"builder":{"id":"https://ci.example/builder"}}}})
    }

    #[test]
    fn dsse_statement_verifies_and_names_the_subject() {
        let (kp, t) = key();
        let doc = envelope(&kp, &statement(&ART[7..]));
        let s = summarise(&doc, 1 << 20, std::slice::from_ref(&t), ART).unwrap();
        assert_eq!(s.matched_subject, "app");
        assert_eq!(s.verified_by[0].builder, "ci");
        let p = s.provenance.unwrap();
        assert_eq!(
            (p.slsa_version.as_str(), p.builder_id.as_str(), p.materials),
            ("v1", "https://ci.example/builder", 1)
        );
    }

    #[test]
    fn refuses_wrong_key_tampering_and_other_subjects() {
        let (kp, t) = key();
        let (_, other) = key();
        let doc = envelope(&kp, &statement(&ART[7..]));
        assert!(matches!(
            summarise(&doc, 1 << 20, &[other], ART),
            Err(EvidenceError::Unverified(_))
        ));
        assert!(matches!(
            summarise(&doc, 1 << 20, &[], ART),
            Err(EvidenceError::Unverified(_))
        ));
        // Change the payload after signing.
        let mut v: Value = serde_json::from_slice(&doc).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        let tampered = serde_json::to_vec(&statement(&"ab".repeat(32))).unwrap();
        v["payload"] = json!(b64.encode(tampered));
        let doc2 = serde_json::to_vec(&v).unwrap();
        assert!(matches!(
            summarise(&doc2, 1 << 20, std::slice::from_ref(&t), ART),
            Err(EvidenceError::Unverified(_))
        ));
        // Signed, but about another artifact.
        let doc3 = envelope(&kp, &statement(&"ab".repeat(32)));
        assert!(matches!(
            summarise(&doc3, 1 << 20, std::slice::from_ref(&t), ART),
            Err(EvidenceError::Mismatch(_))
        ));
        // A bare statement is not evidence.
        let bare = serde_json::to_vec(&statement(&ART[7..])).unwrap();
        assert!(matches!(
            summarise(&bare, 1 << 20, &[t], ART),
            Err(EvidenceError::Unverified(_))
        ));
    }

    fn metablock(kp: &Ed25519KeyPair, signed: &Value) -> Vec<u8> {
        let sig = kp.sign(&ssl_canonical(signed).unwrap());
        serde_json::to_vec(&json!({"signatures": [{"keyid": "k", "sig": hex::encode(sig.as_ref())}], "signed": signed}))
            .unwrap()
    }

    fn link_doc(name: &str, materials: Value, products: Value) -> Value {
        json!({"_type": "link", "name": name, "command": ["pytest"], "materials": materials,
               "products": products, "byproducts": {"return-value": 0}, "environment": {}})
    }

    #[test]
    fn test_step_link_with_the_artifact_as_material_is_evidence_about_it() {
        let (kp, t) = key();
        let doc = metablock(
            &kp,
            &link_doc("test", json!({"app.tar": {"sha256": &ART[7..]}}), json!({})),
        );
        let s = summarise(&doc, 1 << 20, std::slice::from_ref(&t), ART).unwrap();
        assert_eq!(
            (s.matched_subject.as_str(), s.artifact_role.as_str(), s.step.as_deref()),
            ("app.tar", "material", Some("test"))
        );
        // A build link names it as product; a Statement as subject.
        let doc = metablock(
            &kp,
            &link_doc(
                "build",
                json!({"src": {"sha256": "ab".repeat(32)}}),
                json!({"app.tar": {"sha256": &ART[7..]}}),
            ),
        );
        let s = summarise(&doc, 1 << 20, std::slice::from_ref(&t), ART).unwrap();
        assert_eq!(
            (s.artifact_role.as_str(), s.step.as_deref()),
            ("product", Some("build"))
        );
        let s = summarise(
            &envelope(&kp, &statement(&ART[7..])),
            1 << 20,
            std::slice::from_ref(&t),
            ART,
        )
        .unwrap();
        assert_eq!((s.artifact_role.as_str(), s.step), ("subject", None));
    }

    #[test]
    fn link_naming_the_artifact_in_neither_materials_nor_products_is_refused() {
        let (kp, t) = key();
        let doc = metablock(
            &kp,
            &link_doc(
                "test",
                json!({"other": {"sha256": "ab".repeat(32)}}),
                json!({"out": {"sha256": "cd".repeat(32)}}),
            ),
        );
        match summarise(&doc, 1 << 20, std::slice::from_ref(&t), ART) {
            Err(EvidenceError::Mismatch(m)) => assert!(m.contains("no product or material of step \"test\""), "{m}"),
            other => panic!("{other:?}"),
        }
        // A malformed material digest is refused, not skipped.
        let doc = metablock(&kp, &link_doc("test", json!({"app.tar": {"sha256": "xyz"}}), json!({})));
        assert!(matches!(
            summarise(&doc, 1 << 20, &[t], ART),
            Err(EvidenceError::Malformed { .. })
        ));
    }

    #[test]
    fn guard_views_hide_nothing_but_signature_bytes() {
        let (kp, _) = key();
        let doc = envelope(&kp, &statement(&ART[7..]));
        let (skeleton, payload) = dsse_guard_views(&doc).unwrap();
        assert!(payload.contains("https://slsa.dev/provenance/v1"));
        assert!(!skeleton.contains("eyJ") && skeleton.contains("payloadType"));
        // Text smuggled into the envelope, or base64 text in a signature field, is scanned.
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut v: Value = serde_json::from_slice(&doc).unwrap();
        v["note"] = json!("SSN 123-45-6789");
        v["signatures"][0]["sig"] = json!(b64.encode("MRN 12345678"));
        let (skeleton, payload) = dsse_guard_views(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(skeleton.contains("123-45-6789"));
        assert!(payload.contains("MRN 12345678"));
        // Not an envelope: scanned raw by the caller.
        assert!(dsse_guard_views(b"{\"payload\":\"x\"}").is_none());
    }

    /// A real provenance's build event names the team's people (a pusher's personal mail
    /// address): not read as PHI, so it can be attached; the same address anywhere else is.
    #[test]
    fn a_provenances_commit_authors_are_not_read_but_the_same_text_elsewhere_is() {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"name": "api.tar.gz", "digest": {"sha256": "aa"}}],
            "predicate": {"invocation": {"environment": {"github_event_payload": {
                "commits": [{"author": {"email": "dana.dev@gmail.com", "name": "Dana Dev", "username": "dana-dev"},
                             "timestamp": "2026-11-30T10:00:00Z"}],
                "pusher": {"email": "dana.dev@gmail.com", "name": "dana-dev"}}}},
                "note": "patient contact jane.roe1980@gmail.com"}
        })
        .to_string();
        let read = without_team_identities(&statement).unwrap();
        assert!(
            !read.contains("dana.dev@gmail.com") && !read.contains("Dana Dev"),
            "{read}"
        );
        assert!(
            read.contains("jane.roe1980@gmail.com") && read.contains("2026-11-30"),
            "{read}"
        );
        assert!(without_team_identities("{\"author\": {\"email\": \"a@gmail.com\"}}").is_none());
    }

    /// Found by an attack (2026-12-05): the views were rebuilt from parsed JSON, where a field
    /// written twice keeps only its last value, and a signature that is no UTF-8 was blanked
    /// whole; the stored bytes held the text.
    #[test]
    fn text_in_a_duplicate_field_or_behind_a_binary_signature_prefix_is_scanned() {
        let (kp, _) = key();
        let doc = String::from_utf8(envelope(&kp, &statement(&ART[7..]))).unwrap();
        let twice = doc.replacen('{', "{\"note\":\"SSN 219-45-1100\",\"note\":\"\",", 1);
        let (skeleton, _) = dsse_guard_views(twice.as_bytes()).unwrap();
        assert!(skeleton.contains("219-45-1100"), "{skeleton}");
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut hidden = vec![0xff, 0xfe];
        hidden.extend_from_slice(b"Jane Roe DOB 1980-03-04 SSN 219-45-1100");
        let mut v: Value = serde_json::from_str(&doc).unwrap();
        v["signatures"]
            .as_array_mut()
            .unwrap()
            .push(json!({"keyid": "", "sig": b64.encode(&hidden)}));
        let (skeleton, payload) = dsse_guard_views(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(payload.contains("Jane Roe DOB 1980-03-04 SSN 219-45-1100"), "{payload}");
        assert!(!skeleton.contains(&b64.encode(&hidden)), "{skeleton}");
    }

    #[test]
    fn canonical_json_matches_securesystemslib() {
        let v = json!({"b":[1,true,null],"a":"q\"\\\n é"});
        assert_eq!(
            ssl_canonical(&v).unwrap(),
            "{\"a\":\"q\\\"\\\\\n é\",\"b\":[1,true,null]}".as_bytes()
        );
        assert!(ssl_canonical(&json!({"f":1.5})).is_err());
    }
}
