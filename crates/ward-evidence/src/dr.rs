//! Disaster-recovery evidence: what backup tools say they backed up and restored.
//!
//! - pgBackRest `info --output=json`: an array of stanzas, each with its `status` and its
//!   `backup` list (`label`, `type`, `error`, `timestamp.start`/`stop` in Unix seconds,
//!   `info.size`). The store is the stanza name.
//! - Velero `Backup` and `Restore` objects as JSON (`velero backup get NAME -o json`,
//!   `kubectl get backups.velero.io -o json`): one object or a list with `items`. Succeeded when
//!   `status.phase` is `Completed`; the stores are `spec.includedNamespaces` (`*` when it is
//!   absent, empty or `["*"]`: the whole cluster).
//! - AWS Backup `list-backup-jobs` (`BackupJobs`) and `list-restore-jobs` (`RestoreJobs`):
//!   succeeded when `State` / `Status` is `COMPLETED`; the store is the `ResourceArn` (for a
//!   restore job, its `SourceResourceArn`, else `CreatedResourceArn`). Dates are RFC 3339 text
//!   (AWS CLI v2) or Unix seconds as numbers (the API's own wire format, AWS CLI v1).
//!
//! Every format becomes the same [`DrSummary`]: one [`DrRecord`] per store per job, with its
//! kind (backup or restore), whether it succeeded, and when it started and finished (Unix
//! seconds). A job still running is recorded as not succeeded with no finish: it proves nothing
//! yet. Parsing is one pass over the JSON; nothing here panics.

use crate::{EvidenceError, check_size};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most records in one summary (a document listing more is refused, not truncated).
pub const MAX_RECORDS: usize = 100_000;

/// A backup or a restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A copy was taken.
    Backup,
    /// A copy was restored.
    Restore,
}

/// One job's outcome for one store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrRecord {
    /// The store as the tool names it: a pgBackRest stanza, a Kubernetes namespace, an ARN.
    pub store: String,
    /// Backup or restore.
    pub kind: Kind,
    /// The tool says it completed without error.
    pub succeeded: bool,
    /// When it started (Unix seconds), where the tool says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<i64>,
    /// When it finished (Unix seconds), where the tool says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<i64>,
    /// The tool's id of the job: backup label, object name, job id.
    pub id: String,
    /// The tool's word for the outcome (`full`/`error`, `Completed`, `FAILED`, …).
    pub status: String,
    /// Size in bytes of what was copied, where the tool says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// What a DR document says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrSummary {
    /// `pgbackrest`, `velero` or `aws-backup`.
    pub tool: String,
    /// One record per store per job, in document order.
    pub records: Vec<DrRecord>,
    /// Store-level warnings the tool reports (a pgBackRest stanza whose status is not ok).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn malformed(format: &'static str, reason: impl Into<String>) -> EvidenceError {
    EvidenceError::Malformed {
        format,
        reason: reason.into(),
    }
}

fn parse(bytes: &[u8], limit: usize, format: &'static str) -> Result<Value, EvidenceError> {
    check_size(bytes, limit)?;
    serde_json::from_slice(bytes).map_err(|e| malformed(format, e.to_string()))
}

/// Text a person may read in a store id or status: printable, bounded.
fn text(v: &str) -> String {
    v.chars().filter(|c| !c.is_control()).take(512).collect()
}

fn push(out: &mut DrSummary, format: &'static str, r: DrRecord) -> Result<(), EvidenceError> {
    if out.records.len() >= MAX_RECORDS {
        return Err(malformed(format, format!("more than {MAX_RECORDS} jobs")));
    }
    if let (Some(s), Some(f)) = (r.started, r.finished)
        && f < s
    {
        return Err(EvidenceError::Inconsistent {
            format,
            reason: format!("job {} of {} finished before it started", r.id, r.store),
        });
    }
    if r.store.is_empty() {
        return Err(malformed(format, format!("job {} names no store", r.id)));
    }
    out.records.push(r);
    Ok(())
}

/// Unix seconds from a JSON number (integer or fractional) within ±10,000 years.
fn epoch(v: &Value) -> Option<i64> {
    const BOUND: f64 = 253_402_300_799.0; // 9999-12-31T23:59:59Z
    let x = v.as_f64()?;
    (x.is_finite() && x.abs() <= BOUND).then_some(x.floor() as i64)
}

/// Unix seconds from RFC 3339 text or a number; `Ok(None)` when absent or null.
fn time(format: &'static str, obj: &Value, field: &str) -> Result<Option<i64>, EvidenceError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .parse::<jiff::Timestamp>()
            .map(|t| Some(t.as_second()))
            .map_err(|_| malformed(format, format!("`{field}` is not an RFC 3339 time: {:?}", text(s)))),
        Some(n @ Value::Number(_)) => epoch(n)
            .map(Some)
            .ok_or_else(|| malformed(format, format!("`{field}` is not a time in Unix seconds"))),
        Some(_) => Err(malformed(format, format!("`{field}` is not a time"))),
    }
}

fn string<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get(field).and_then(Value::as_str)
}

const PGBACKREST: &str = "pgBackRest info";

/// pgBackRest `info --output=json`.
pub fn pgbackrest(bytes: &[u8], limit: usize) -> Result<DrSummary, EvidenceError> {
    let top = parse(bytes, limit, PGBACKREST)?;
    let stanzas = top
        .as_array()
        .ok_or_else(|| malformed(PGBACKREST, "expected an array of stanzas"))?;
    let mut out = DrSummary {
        tool: "pgbackrest".into(),
        records: Vec::new(),
        warnings: Vec::new(),
    };
    for stanza in stanzas {
        let name = string(stanza, "name")
            .map(text)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| malformed(PGBACKREST, "a stanza has no `name`"))?;
        let status = stanza
            .get("status")
            .ok_or_else(|| malformed(PGBACKREST, format!("stanza {name} has no `status`")))?;
        let code = status
            .get("code")
            .and_then(Value::as_i64)
            .ok_or_else(|| malformed(PGBACKREST, format!("stanza {name}: `status.code` is not a number")))?;
        if code != 0 {
            let message = string(status, "message").map(text).unwrap_or_default();
            out.warnings.push(format!("stanza {name}: status {code} ({message})"));
        }
        let backups = match stanza.get("backup") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(b)) => b.as_slice(),
            Some(_) => return Err(malformed(PGBACKREST, format!("stanza {name}: `backup` is not a list"))),
        };
        // Failing closed: a backup counts only when the stanza says it is ok, the backup says
        // it had no error (pgBackRest 2.36 and later always say), and every backup it builds
        // on (`reference`, `prior`: the full under a diff or incremental) is in the list and
        // counts too. The list is oldest first, so each backup's base is judged before it.
        let mut counted: std::collections::BTreeMap<String, bool> = std::collections::BTreeMap::new();
        for b in backups {
            let label = string(b, "label")
                .map(text)
                .ok_or_else(|| malformed(PGBACKREST, format!("stanza {name}: a backup has no `label`")))?;
            let kind = string(b, "type").map(text).unwrap_or_else(|| "unknown".into());
            let stamp = b
                .get("timestamp")
                .ok_or_else(|| malformed(PGBACKREST, format!("backup {label} has no `timestamp`")))?;
            let started = time(PGBACKREST, stamp, "start")?;
            let finished = time(PGBACKREST, stamp, "stop")?;
            let error = match b.get("error") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(e)) => Some(*e),
                Some(_) => {
                    return Err(malformed(
                        PGBACKREST,
                        format!("backup {label}: `error` is not true or false"),
                    ));
                }
            };
            let malformed_base = || {
                malformed(
                    PGBACKREST,
                    format!("backup {label}: `prior` or `reference` is not a label or a list of labels"),
                )
            };
            let mut bases: Vec<String> = match b.get("reference") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(r)) => r
                    .iter()
                    .map(|v| v.as_str().map(text).ok_or_else(malformed_base))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(malformed_base()),
            };
            match b.get("prior") {
                None | Some(Value::Null) => {}
                Some(Value::String(p)) => bases.push(text(p)),
                Some(_) => return Err(malformed_base()),
            }
            if counted.contains_key(&label) {
                return Err(malformed(
                    PGBACKREST,
                    format!("stanza {name}: backup {label} is listed twice"),
                ));
            }
            // A differential or incremental backup restores only on top of its base.
            let needs_base = kind == "diff" || kind == "incr";
            let broken_base =
                (needs_base && bases.is_empty()) || bases.iter().any(|base| counted.get(base) != Some(&true));
            let why_not = if code != 0 {
                Some(format!("stanza status {code}"))
            } else if error == Some(true) {
                Some("error".to_string())
            } else if error.is_none() {
                Some("no error flag".to_string())
            } else if broken_base {
                Some("its base backup does not count".to_string())
            } else if finished.is_none() {
                Some("not finished".to_string())
            } else {
                None
            };
            counted.insert(label.clone(), why_not.is_none());
            let size_bytes = b.get("info").and_then(|i| i.get("size")).and_then(Value::as_u64);
            push(
                &mut out,
                PGBACKREST,
                DrRecord {
                    store: name.clone(),
                    kind: Kind::Backup,
                    succeeded: why_not.is_none(),
                    started,
                    finished,
                    id: label,
                    status: match why_not {
                        Some(why) => format!("{kind} ({why})"),
                        None => kind,
                    },
                    size_bytes,
                },
            )?;
        }
    }
    Ok(out)
}

const VELERO: &str = "Velero object";

/// Velero `Backup` / `Restore` objects (one, or a list with `items`).
pub fn velero(bytes: &[u8], limit: usize) -> Result<DrSummary, EvidenceError> {
    let top = parse(bytes, limit, VELERO)?;
    let items: Vec<&Value> = match top.get("items") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(_) => return Err(malformed(VELERO, "`items` is not a list")),
        None => vec![&top],
    };
    let mut out = DrSummary {
        tool: "velero".into(),
        records: Vec::new(),
        warnings: Vec::new(),
    };
    for item in items {
        let kind = match string(item, "kind") {
            Some("Backup") => Kind::Backup,
            Some("Restore") => Kind::Restore,
            other => {
                return Err(malformed(
                    VELERO,
                    format!(
                        "expected kind Backup or Restore, found {}",
                        other.map(text).unwrap_or_else(|| "none".into())
                    ),
                ));
            }
        };
        if !string(item, "apiVersion").is_some_and(|v| v.starts_with("velero.io/")) {
            return Err(malformed(VELERO, "`apiVersion` is not velero.io/…"));
        }
        let id = item
            .get("metadata")
            .and_then(|m| string(m, "name"))
            .map(text)
            .ok_or_else(|| malformed(VELERO, "an object has no `metadata.name`"))?;
        let null = Value::Null;
        let status = item.get("status").unwrap_or(&null);
        let phase = string(status, "phase").map(text).unwrap_or_else(|| "New".into());
        let started = time(VELERO, status, "startTimestamp")?;
        let finished = time(VELERO, status, "completionTimestamp")?;
        let namespaces: Vec<String> = match item.get("spec").and_then(|s| s.get("includedNamespaces")) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(ns)) => ns
                .iter()
                .map(|n| {
                    n.as_str()
                        .map(text)
                        .ok_or_else(|| malformed(VELERO, "a namespace is not text"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(malformed(
                    VELERO,
                    format!("{id}: `spec.includedNamespaces` is not a list"),
                ));
            }
        };
        let stores = if namespaces.is_empty() || namespaces.iter().any(|n| n == "*") {
            vec!["*".to_string()]
        } else {
            namespaces
        };
        for store in stores {
            push(
                &mut out,
                VELERO,
                DrRecord {
                    store,
                    kind,
                    succeeded: phase == "Completed" && finished.is_some(),
                    started,
                    finished,
                    id: id.clone(),
                    status: phase.clone(),
                    size_bytes: None,
                },
            )?;
        }
    }
    Ok(out)
}

const AWS_BACKUP: &str = "AWS Backup job list";

/// AWS Backup `list-backup-jobs` / `list-restore-jobs` output (either list, or both).
pub fn aws_backup(bytes: &[u8], limit: usize) -> Result<DrSummary, EvidenceError> {
    let top = parse(bytes, limit, AWS_BACKUP)?;
    let mut out = DrSummary {
        tool: "aws-backup".into(),
        records: Vec::new(),
        warnings: Vec::new(),
    };
    let mut seen = false;
    for (list, kind, state_field, id_field, stores) in [
        ("BackupJobs", Kind::Backup, "State", "BackupJobId", &["ResourceArn"][..]),
        (
            "RestoreJobs",
            Kind::Restore,
            "Status",
            "RestoreJobId",
            &["ResourceArn", "SourceResourceArn", "CreatedResourceArn"][..],
        ),
    ] {
        let jobs = match top.get(list) {
            None => continue,
            Some(Value::Array(j)) => j,
            Some(_) => return Err(malformed(AWS_BACKUP, format!("`{list}` is not a list"))),
        };
        seen = true;
        for job in jobs {
            let id = string(job, id_field)
                .map(text)
                .ok_or_else(|| malformed(AWS_BACKUP, format!("a job of `{list}` has no `{id_field}`")))?;
            let store = stores
                .iter()
                .find_map(|f| string(job, f).filter(|s| !s.is_empty()))
                .map(text)
                .ok_or_else(|| {
                    malformed(
                        AWS_BACKUP,
                        format!("job {id} names no resource ({})", stores.join(", ")),
                    )
                })?;
            let state = string(job, state_field)
                .map(text)
                .ok_or_else(|| malformed(AWS_BACKUP, format!("job {id} has no `{state_field}`")))?;
            let started = time(AWS_BACKUP, job, "CreationDate")?;
            let finished = time(AWS_BACKUP, job, "CompletionDate")?;
            push(
                &mut out,
                AWS_BACKUP,
                DrRecord {
                    store,
                    kind,
                    succeeded: state == "COMPLETED" && finished.is_some(),
                    started,
                    finished,
                    id,
                    status: state,
                    size_bytes: job.get("BackupSizeInBytes").and_then(Value::as_u64),
                },
            )?;
        }
    }
    if !seen {
        return Err(malformed(AWS_BACKUP, "expected `BackupJobs` or `RestoreJobs`"));
    }
    Ok(out)
}

/// Parses `bytes` as the named tool's output (`pgbackrest`, `velero`, `aws-backup`).
pub fn summarise(tool: &str, bytes: &[u8], limit: usize) -> Result<DrSummary, EvidenceError> {
    match tool {
        "pgbackrest" => pgbackrest(bytes, limit),
        "velero" => velero(bytes, limit),
        "aws-backup" => aws_backup(bytes, limit),
        other => Err(EvidenceError::Unknown(format!(
            "DR tool {:?} (expected pgbackrest, velero or aws-backup)",
            text(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_the_tool_cannot_vouch_for_does_not_count() {
        let backup = |label: &str, error: &str, prior: &str| {
            format!(
                r#"{{"label":"{label}","type":"full"{error},"prior":{prior},"timestamp":{{"start":100,"stop":200}}}}"#
            )
        };
        let counted = |doc: String| -> Vec<(String, bool)> {
            pgbackrest(doc.as_bytes(), 1 << 20)
                .unwrap()
                .records
                .into_iter()
                .map(|r| (r.id, r.succeeded))
                .collect()
        };
        let stanza = |code: u8, backups: &[String]| {
            format!(
                r#"[{{"name":"db","status":{{"code":{code},"message":"m"}},"backup":[{}]}}]"#,
                backups.join(",")
            )
        };
        // A stanza whose status is not ok cannot vouch for its backups.
        let ok = backup("F1", r#","error":false"#, "null");
        assert_eq!(
            counted(stanza(2, std::slice::from_ref(&ok))),
            vec![("F1".into(), false)]
        );
        assert_eq!(counted(stanza(0, std::slice::from_ref(&ok))), vec![("F1".into(), true)]);
        // No error flag is no proof of success.
        assert_eq!(
            counted(stanza(0, &[backup("F1", "", "null")])),
            vec![("F1".into(), false)]
        );
        // A differential on top of a failed full, or of a full not in the list, is not restorable.
        let failed_full = backup("F1", r#","error":true"#, "null");
        let diff = backup("D1", r#","error":false"#, r#""F1""#);
        assert_eq!(
            counted(stanza(0, &[failed_full, diff.clone()])),
            vec![("F1".into(), false), ("D1".into(), false)]
        );
        assert_eq!(
            counted(stanza(0, std::slice::from_ref(&diff))),
            vec![("D1".into(), false)]
        );
        assert_eq!(
            counted(stanza(0, &[ok, diff])),
            vec![("F1".into(), true), ("D1".into(), true)]
        );
        // An incremental without any base, a base that is not a label, a label listed twice.
        let orphan = r#"{"label":"I1","type":"incr","error":false,"prior":null,"timestamp":{"start":100,"stop":200}}"#;
        assert_eq!(counted(stanza(0, &[orphan.to_string()])), vec![("I1".into(), false)]);
        let odd =
            r#"{"label":"D2","type":"diff","error":false,"prior":{"label":"X"},"timestamp":{"start":100,"stop":200}}"#;
        assert!(pgbackrest(stanza(0, &[odd.to_string()]).as_bytes(), 1 << 20).is_err());
        let twice = [
            backup("F1", r#","error":true"#, "null"),
            backup("F1", r#","error":false"#, "null"),
        ];
        assert!(pgbackrest(stanza(0, &twice).as_bytes(), 1 << 20).is_err());
    }

    #[test]
    fn a_backup_that_ends_before_it_starts_is_refused() {
        let doc = br#"[{"name":"db","status":{"code":0,"message":"ok"},"backup":[{"label":"x","type":"full","error":false,"timestamp":{"start":200,"stop":100}}]}]"#;
        assert!(matches!(
            pgbackrest(doc, 1 << 20),
            Err(EvidenceError::Inconsistent { .. })
        ));
    }

    #[test]
    fn an_absurd_epoch_is_refused_not_wrapped() {
        let doc =
            br#"[{"name":"db","status":{"code":0},"backup":[{"label":"x","timestamp":{"start":1e300,"stop":1e300}}]}]"#;
        assert!(pgbackrest(doc, 1 << 20).is_err());
    }

    #[test]
    fn an_oversized_document_is_refused_before_parsing() {
        assert!(matches!(
            pgbackrest(&[b' '; 100], 10),
            Err(EvidenceError::TooLarge { size: 100, limit: 10 })
        ));
    }

    #[test]
    fn an_unknown_tool_is_named_in_the_error() {
        assert!(
            summarise("bacula", b"{}", 10)
                .unwrap_err()
                .to_string()
                .contains("bacula")
        );
    }
}
