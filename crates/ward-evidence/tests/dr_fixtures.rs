//! The DR parsers on fixtures written to the tools' published schemas (see
//! tests/fixtures/dr/README.md for provenance and the facts asserted here).

use ward_evidence::dr::{self, Kind};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/dr/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn a_failed_pgbackrest_backup_is_not_counted_as_a_success() {
    let s = dr::pgbackrest(&fixture("pgbackrest-info.json"), 1 << 20).unwrap();
    assert_eq!(s.tool, "pgbackrest");
    assert_eq!(s.records.len(), 3);
    assert!(
        s.records
            .iter()
            .all(|r| r.store == "orders-db" && r.kind == Kind::Backup)
    );
    let ok: Vec<_> = s
        .records
        .iter()
        .filter(|r| r.succeeded)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ok, ["20261130-010001F", "20261130-010001F_20261202-010003D"]);
    let failed = &s.records[1];
    assert_eq!(failed.status, "incr (error)");
    let last = &s.records[2];
    assert_eq!((last.started, last.finished), (Some(1796173203), Some(1796173245)));
    assert_eq!(last.size_bytes, Some(31461376));
    // A stanza without a valid backup is reported, and yields no record that could cover it.
    assert_eq!(s.warnings, ["stanza billing-db: status 2 (no valid backups)"]);
}

#[test]
fn a_velero_backup_covers_each_included_namespace() {
    let s = dr::velero(&fixture("velero-backup.json"), 1 << 20).unwrap();
    let stores: Vec<_> = s.records.iter().map(|r| r.store.as_str()).collect();
    assert_eq!(stores, ["clinic-records", "reminders"]);
    assert!(s.records.iter().all(|r| r.succeeded && r.kind == Kind::Backup));
    // 2026-12-02T02:00:00Z to 02:03:41Z.
    assert_eq!(s.records[0].started, Some(1796176800));
    assert_eq!(s.records[0].finished, Some(1796176800 + 221));
}

#[test]
fn a_partially_failed_or_running_velero_backup_proves_nothing() {
    let s = dr::velero(&fixture("velero-backups-list.json"), 1 << 20).unwrap();
    let seen: Vec<_> = s
        .records
        .iter()
        .map(|r| (r.store.as_str(), r.status.as_str(), r.succeeded, r.finished.is_some()))
        .collect();
    assert_eq!(
        seen,
        [
            ("clinic-records", "PartiallyFailed", false, true),
            ("*", "Completed", true, true),
            ("clinic-records", "InProgress", false, false),
        ]
    );
}

#[test]
fn a_velero_restore_is_a_restore_with_its_duration() {
    let s = dr::velero(&fixture("velero-restore.json"), 1 << 20).unwrap();
    assert_eq!(s.records.len(), 1);
    let r = &s.records[0];
    assert_eq!(
        (r.kind, r.store.as_str(), r.succeeded),
        (Kind::Restore, "clinic-records", true)
    );
    assert_eq!(r.finished.unwrap() - r.started.unwrap(), 17 * 60 + 5);
}

#[test]
fn only_a_completed_aws_backup_job_counts() {
    let s = dr::aws_backup(&fixture("aws-backup-jobs.json"), 1 << 20).unwrap();
    let seen: Vec<_> = s.records.iter().map(|r| (r.status.as_str(), r.succeeded)).collect();
    assert_eq!(seen, [("CREATED", false), ("COMPLETED", true), ("FAILED", false)]);
    let ok = &s.records[1];
    assert_eq!(ok.store, "arn:aws:rds:eu-west-1:123456789012:db:orders");
    // Fractions of a second are dropped: 1796004000.5 → 1796004000.
    assert_eq!((ok.started, ok.finished), (Some(1796004000), Some(1796004912)));
    assert_eq!(ok.size_bytes, Some(21474836480));
}

#[test]
fn aws_restore_jobs_read_iso_dates_with_offsets() {
    let s = dr::aws_backup(&fixture("aws-restore-jobs.json"), 1 << 20).unwrap();
    assert!(s.records.iter().all(|r| r.kind == Kind::Restore));
    let done = &s.records[0];
    assert!(done.succeeded);
    assert_eq!(done.finished.unwrap() - done.started.unwrap(), 42 * 60 + 30);
    let running = &s.records[1];
    assert!(!running.succeeded && running.finished.is_none());
    // 2026-12-01T12:00:00+01:00 is 11:00 UTC.
    assert_eq!(running.started, Some(1796122800));
}

#[test]
fn a_document_of_another_tool_is_refused_not_read_as_empty() {
    assert!(dr::pgbackrest(&fixture("velero-backup.json"), 1 << 20).is_err());
    assert!(dr::velero(&fixture("pgbackrest-info.json"), 1 << 20).is_err());
    assert!(dr::aws_backup(&fixture("velero-backup.json"), 1 << 20).is_err());
    assert!(dr::velero(br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#, 1 << 20).is_err());
}

#[test]
fn a_bad_time_is_refused_with_its_field_name() {
    let doc =
        br#"{"BackupJobs":[{"BackupJobId":"j","ResourceArn":"arn:x","State":"COMPLETED","CreationDate":"yesterday"}]}"#;
    let e = dr::aws_backup(doc, 1 << 20).unwrap_err().to_string();
    assert!(e.contains("CreationDate"), "{e}");
}
