//! One behavioural suite, run against SQLite and PostgreSQL alike.

use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use ward_ledger::export::{VerifyError, verify_export};
use ward_ledger::proof::{verify_consistency, verify_inclusion};
use ward_ledger::{Actor, ActorKind, Ed25519Signer, MemoryTree, NewEvent, NoteSigner, leaf_hash};
use ward_store::projection::default_projectors;
use ward_store::testing::TestDb;
use ward_store::{Ledger, StoreError};

const ORIGIN: &str = "test.ward/log";

fn event(i: u64) -> NewEvent {
    NewEvent {
        actor: Actor {
            id: format!("user:u{}", i % 3),
            kind: if i.is_multiple_of(2) {
                ActorKind::Human
            } else {
                ActorKind::Automation
            },
        },
        kind: "test.event".into(),
        subject: format!("change:{}", i % 5),
        payload: json!({ "i": i, "note": "hello" }),
    }
}

async fn ledger(url: &str) -> Ledger {
    Ledger::new(ward_store::open(url).await.expect("open store"), default_projectors())
}

fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(ORIGIN, [42u8; 32])
}

macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use ward_store::testing::TestDb;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = TestDb::sqlite();
                super::$name(&db.url).await;
                db.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = TestDb::postgres().await {
                    super::$name(&db.url).await;
                    db.cleanup().await;
                }
            }
        }
    )*};
}

both_stores!(
    appends_are_sequenced_and_hash_like_the_reference,
    proofs_from_the_store_verify,
    group_commit_under_concurrency,
    two_handles_writing_at_once_never_fork,
    export_verifies_and_names_tampered_entry,
    projections_rebuild_to_the_same_state,
    bad_events_write_nothing,
    tampered_rows_are_found,
    checkpoints_are_idempotent_and_conflicts_refused,
    projection_deletes_apply_in_order,
    projection_prefix_reads_byte_ordered_ranges,
    projection_array_and_last_before_read_byte_ordered_ranges,
    named_locks_exclude_other_handles_until_dropped,
    locks_stay_exclusive_under_contention_and_leave_no_files,
    forged_admin_token_row_is_found_by_fsck,
    forged_approval_row_is_found_by_fsck,
    tampered_evidence_blob_is_found_by_fsck,
    deleted_and_edited_projection_rows_are_found_by_fsck,
    state_check_sees_one_snapshot_while_others_append,
    purged_document_leaves_the_chain_whole_and_no_bytes_behind,
    purged_raw_evidence_leaves_no_bytes_and_its_return_is_found,
    a_configuration_or_output_a_deployment_needs_deleted_behind_the_logs_back_is_missing,
    an_oversized_event_is_refused_before_any_projector_reads_it,
    an_idle_web_session_is_idle_for_every_handle_and_no_writer_winds_its_clock_back,
    a_lease_is_seen_by_every_handle_with_its_age_on_one_clock,
    a_payload_kept_out_of_line_is_projected_as_an_inline_one,
);

/// A lease renewed through one handle is seen through another (as by another replica), with
/// its holder and an age that grows until it is renewed again; another holder takes it only
/// once it lapsed, and the old holder then finds it lost; a lease is no entry in the log. Only PostgreSQL's locks can be lost while their
/// process lives (a session cut), so only there does Ward renew leases (rule 25).
async fn a_lease_is_seen_by_every_handle_with_its_age_on_one_clock(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..2).map(event).collect()).await.unwrap();
    let a = ward_store::open(url).await.unwrap();
    let b = ward_store::open(url).await.unwrap();
    assert_eq!(
        a.locks_end_with_their_process(),
        !url.starts_with("postgres"),
        "a file lock ends with its process; an advisory lock with its session"
    );
    let lapse = std::time::Duration::from_secs(30);
    assert_eq!(b.lease("ward.promote:dev").await.unwrap(), None, "never renewed");
    assert!(
        a.renew_lease("ward.promote:dev", "7", lapse).await.unwrap(),
        "free: taken"
    );
    let seen = b
        .lease("ward.promote:dev")
        .await
        .unwrap()
        .expect("renewed through another handle");
    assert_eq!(seen.holder, "7");
    assert!(seen.age < std::time::Duration::from_secs(5), "{seen:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let older = b.lease("ward.promote:dev").await.unwrap().unwrap();
    assert!(older.age >= std::time::Duration::from_millis(250), "it ages: {older:?}");
    assert!(
        !b.renew_lease("ward.promote:dev", "9", lapse).await.unwrap(),
        "another holder renewed it within the lapse: not taken (attack on 0d02fbc: a revived \
         process overwrote the lease of the deployment running after it)"
    );
    assert_eq!(a.lease("ward.promote:dev").await.unwrap().unwrap().holder, "7");
    assert!(
        a.renew_lease("ward.promote:dev", "7", lapse).await.unwrap(),
        "its holder renews it"
    );
    let renewed = a.lease("ward.promote:dev").await.unwrap().unwrap();
    assert!(renewed.age < older.age, "{renewed:?} after {older:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let short = std::time::Duration::from_millis(200);
    assert!(
        b.renew_lease("ward.promote:dev", "9", short).await.unwrap(),
        "lapsed: taken over"
    );
    assert_eq!(
        a.lease("ward.promote:dev").await.unwrap().unwrap().holder,
        "9",
        "the last holder"
    );
    assert!(
        !a.renew_lease("ward.promote:dev", "7", lapse).await.unwrap(),
        "the old holder finds it lost"
    );
    a.end_lease("ward.promote:dev", "7").await.unwrap();
    assert_eq!(
        b.lease("ward.promote:dev").await.unwrap().unwrap().holder,
        "9",
        "not its holder: kept"
    );
    b.end_lease("ward.promote:dev", "9").await.unwrap();
    assert_eq!(a.lease("ward.promote:dev").await.unwrap(), None, "ended by its holder");
    assert!(
        a.renew_lease("ward.promote:dev", "7", lapse).await.unwrap(),
        "free again: taken"
    );
    assert_eq!(a.lease("ward.promote:prod").await.unwrap(), None, "one lease per name");
    assert_eq!(l.store().head().await.unwrap().size(), 2, "no log entry for a lease");
    let (r, state) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(state.difference_count, 0, "{:?}", state.differences);
}

/// The web UI's idle clock is shared by every handle on the store (as by every replica), so a
/// restarted or other process sees how long a session has been idle; a late or slow writer
/// with an older time cannot make an idle session look fresh; old clocks are pruned; and none
/// of it is an entry in the log (fsck stays clean).
async fn an_idle_web_session_is_idle_for_every_handle_and_no_writer_winds_its_clock_back(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..3).map(event).collect()).await.unwrap();
    let a = ward_store::open(url).await.unwrap();
    let b = ward_store::open(url).await.unwrap();
    assert_eq!(b.ui_session_seen("s1").await.unwrap(), None, "never seen");
    a.see_ui_session("s1", 1_000).await.unwrap();
    assert_eq!(
        b.ui_session_seen("s1").await.unwrap(),
        Some(1_000),
        "seen through another handle"
    );
    b.see_ui_session("s1", 900).await.unwrap();
    assert_eq!(a.ui_session_seen("s1").await.unwrap(), Some(1_000), "not wound back");
    b.see_ui_session("s1", 2_500).await.unwrap();
    a.see_ui_session("s2", 2_000).await.unwrap();
    assert_eq!(a.ui_session_seen("s1").await.unwrap(), Some(2_500));
    assert_eq!(a.prune_ui_sessions(2_100).await.unwrap(), 1, "only s2 is older");
    assert_eq!(b.ui_session_seen("s2").await.unwrap(), None);
    assert_eq!(b.ui_session_seen("s1").await.unwrap(), Some(2_500));
    assert_eq!(
        l.store().head().await.unwrap().size(),
        3,
        "no log entry for a page view"
    );
    let (r, state) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(state.difference_count, 0, "{:?}", state.differences);
}

/// A projector whose `admit` counts the events it was asked about (the guard reads every byte).
struct CountingAdmit(Arc<std::sync::atomic::AtomicUsize>);

impl ward_store::Projector for CountingAdmit {
    fn name(&self) -> &'static str {
        "counting_admit"
    }
    fn project(&self, _: &ward_ledger::EventEnvelope) -> Vec<ward_store::ProjectionOp> {
        vec![]
    }
    fn admit(&self, _: &NewEvent) -> Result<(), String> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// An event over the payload limit (4 MiB) is refused for its size by every append path before
/// a projector — the guard, which scans what it is given — reads it, and nothing is written.
async fn an_oversized_event_is_refused_before_any_projector_reads_it(url: &str) {
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let l = Ledger::new(
        ward_store::open(url).await.unwrap(),
        vec![Arc::new(CountingAdmit(asked.clone()))],
    );
    let mut big = event(1);
    big.payload = json!({ "note": "y".repeat(ward_ledger::envelope::MAX_PAYLOAD + 10) });
    let refusals = [
        l.append(big.clone()).await.map(|_| ()).unwrap_err().to_string(),
        l.append_batch(vec![event(0), big.clone()])
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string(),
        l.append_with_documents(vec![big.clone()], &Default::default())
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string(),
    ];
    for r in &refusals {
        assert!(r.contains("payload exceeds"), "{r}");
    }
    // Only the small event of the batch was shown to the projector, and nothing was appended.
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(l.head().await.unwrap().size(), 0);
}

/// A title event referencing a salted document, written in one transaction with it.
fn titled(text: &str, salt: u8) -> (NewEvent, String, Vec<u8>) {
    let (digest, bytes) = ward_ledger::documents::make(text, [salt; 16]);
    let mut e = event(7);
    e.payload = json!({ "title": ward_ledger::documents::reference(&digest) });
    (e, digest, bytes)
}

/// Free text planted in a document (standing in for PHI that slipped past the guard) is
/// deleted with a `document.purged` event: fsck stays clean, a new export verifies and reports
/// the document purged by that entry, and no byte of it remains in the database or the export.
/// A document deleted without a purge entry, or stored without a reference, is found by fsck.
async fn purged_document_leaves_the_chain_whole_and_no_bytes_behind(url: &str) {
    let l = ledger(url).await;
    let s = signer();
    l.append_batch((0..5).map(event).collect()).await.unwrap();
    let (e, digest, bytes) = titled("PLANTED-7f3a9c title", 1);
    let (keep, keep_digest, keep_bytes) = titled("kept title", 2);
    let changes = ward_store::DocumentChanges {
        put: vec![(digest.clone(), bytes.clone()), (keep_digest.clone(), keep_bytes)],
        ..Default::default()
    };
    l.append_with_documents(vec![e, keep], &changes).await.unwrap();
    assert_eq!(l.store().document(&digest).await.unwrap(), Some(bytes));
    let (r, state) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(state.blobs, 2, "two documents checked");
    let tmp = tempfile::tempdir().unwrap();
    let before = export_to(&l, tmp.path(), "before").await;
    let report = verify_export(&before, &s.verifier()).unwrap();
    assert_eq!((report.documents, report.purged.len()), (2, 0));

    let purge = NewEvent {
        kind: ward_ledger::documents::PURGED_KIND.into(),
        subject: format!("document:{digest}"),
        payload: json!({ "digest": digest }),
        ..event(9)
    };
    let del = ward_store::DocumentChanges {
        delete: vec![digest.clone()],
        ..Default::default()
    };
    let receipts = l.append_with_documents(vec![purge], &del).await.unwrap();
    let purge_seq = receipts[0].seq;
    assert_eq!(l.store().document(&digest).await.unwrap(), None);
    // Purging it again finds nothing to delete, and writes nothing.
    let again = NewEvent {
        kind: ward_ledger::documents::PURGED_KIND.into(),
        subject: format!("document:{digest}"),
        payload: json!({ "digest": digest }),
        ..event(9)
    };
    assert!(l.append_with_documents(vec![again], &del).await.is_err());
    assert_eq!(l.head().await.unwrap().size(), purge_seq + 1);

    let (r, _) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    let after = export_to(&l, tmp.path(), "after").await;
    let report = verify_export(&after, &s.verifier()).unwrap();
    assert_eq!(report.documents, 1);
    assert_eq!(
        report.purged,
        vec![ward_ledger::export::PurgedDocument {
            digest: digest.clone(),
            purged_by: purge_seq
        }]
    );
    assert_eq!(grep_dir(&after, b"PLANTED-7f3a9c"), Vec::<String>::new());
    assert!(
        !grep_dir(&before, b"PLANTED-7f3a9c").is_empty(),
        "the marker is findable"
    );
    if url.starts_with("postgres") {
        let n = raw_count(
            url,
            &format!("SELECT count(*) FROM documents WHERE digest = '{digest}'"),
        )
        .await;
        assert_eq!(n, 0);
    } else {
        let db = std::path::Path::new(url.strip_prefix("sqlite://").unwrap_or(url));
        assert_eq!(grep_dir(db.parent().unwrap(), b"PLANTED-7f3a9c"), Vec::<String>::new());
    }

    // A document deleted behind the log's back: missing, by digest.
    raw_exec(
        url,
        &format!("DELETE FROM documents WHERE digest = '{keep_digest}'"),
        &format!("DELETE FROM documents WHERE digest = '{keep_digest}'"),
    )
    .await;
    let state = l.check_state().await.unwrap();
    let d = only_diff(&state);
    assert_eq!(
        (d.collection.as_str(), d.key.as_str(), d.kind),
        ("documents", keep_digest.as_str(), ward_store::DiffKind::Missing)
    );
    let gone = export_to(&l, tmp.path(), "gone").await;
    let err = verify_export(&gone, &s.verifier()).unwrap_err();
    assert!(matches!(err, VerifyError::BadEntry { index: 6, .. }), "{err:?}");
}

/// Raw evidence (a file the guard missed) deleted with a `document.purged` event: gone from
/// the store with no byte left in the database files (SQLite) or the table (PostgreSQL), fsck
/// clean; raw evidence an entry references deleted behind the log's back is found by fsck as
/// missing, and the purged bytes stored again as extra.
async fn purged_raw_evidence_leaves_no_bytes_and_its_return_is_found(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..3).map(event).collect()).await.unwrap();
    let raw = b"<testsuite tests=\"1\"><system-out>PLANTED-e7d1 raw</system-out></testsuite>".to_vec();
    let digest = format!("sha256:{}", ward_ledger::hash::sha256(&raw).to_hex());
    l.store().put_evidence(&digest, &raw).await.unwrap();
    let kept = b"<testsuite tests=\"2\"/>".to_vec();
    let kept_digest = format!("sha256:{}", ward_ledger::hash::sha256(&kept).to_hex());
    l.store().put_evidence(&kept_digest, &kept).await.unwrap();
    let attested = |id: &str, n: u64| NewEvent {
        kind: "attestation.added".into(),
        subject: "artifact:a".into(),
        payload: json!({ "artifact": "a", "id": id }),
        ..event(n)
    };
    l.append_batch(vec![attested(&digest, 10), attested(&kept_digest, 11)])
        .await
        .unwrap();
    let (r, _) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    if !url.starts_with("postgres") {
        let db = std::path::Path::new(url.strip_prefix("sqlite://").unwrap_or(url));
        assert!(
            !grep_dir(db.parent().unwrap(), b"PLANTED-e7d1").is_empty(),
            "the marker is findable"
        );
    }
    let purge = || NewEvent {
        kind: ward_ledger::documents::PURGED_KIND.into(),
        subject: format!("document:{digest}"),
        payload: json!({ "digest": digest, "of": "evidence" }),
        ..event(9)
    };
    let del = ward_store::DocumentChanges {
        delete_evidence: vec![digest.clone()],
        ..Default::default()
    };
    let receipts = l.append_with_documents(vec![purge()], &del).await.unwrap();
    assert_eq!(l.store().evidence(&digest).await.unwrap(), None);
    // Nothing left to delete: refused, nothing written.
    assert!(l.append_with_documents(vec![purge()], &del).await.is_err());
    assert_eq!(l.head().await.unwrap().size(), receipts[0].seq + 1);
    let (r, _) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    if url.starts_with("postgres") {
        let n = raw_count(
            url,
            &format!("SELECT count(*) FROM evidence_blobs WHERE digest = '{digest}'"),
        )
        .await;
        assert_eq!(n, 0);
    } else {
        let db = std::path::Path::new(url.strip_prefix("sqlite://").unwrap_or(url));
        assert_eq!(grep_dir(db.parent().unwrap(), b"PLANTED-e7d1"), Vec::<String>::new());
    }
    // Referenced evidence deleted behind the log's back: missing, by digest.
    raw_exec(
        url,
        &format!("DELETE FROM evidence_blobs WHERE digest = '{kept_digest}'"),
        &format!("DELETE FROM evidence_blobs WHERE digest = '{kept_digest}'"),
    )
    .await;
    let state = l.check_state().await.unwrap();
    let d = only_diff(&state);
    assert_eq!(
        (d.collection.as_str(), d.key.as_str(), d.kind),
        ("evidence_blobs", kept_digest.as_str(), ward_store::DiffKind::Missing)
    );
    l.store().put_evidence(&kept_digest, &kept).await.unwrap();
    // Stored again behind the purge's back: extra, by digest.
    l.store().put_evidence(&digest, &raw).await.unwrap();
    let state = l.check_state().await.unwrap();
    let d = only_diff(&state);
    assert_eq!(
        (d.collection.as_str(), d.key.as_str(), d.kind),
        ("evidence_blobs", digest.as_str(), ward_store::DiffKind::Extra)
    );
}

/// Attack on `1391f59`: a purge deleted an effective configuration a deployment recorded, the
/// rollback to it failed, and `ward log fsck` still said OK — fsck knew only an attestation's
/// file and a gate decision's input and policy as references. Every file Ward keeps as its own
/// record (`ward_ledger::bundle::OWN_RECORD_FIELDS`: a published configuration, a deployment's
/// or rollout's configurations and outputs at any depth, a large observation; inline or out of
/// line) deleted behind the log's back is now `missing`, by digest.
async fn a_configuration_or_output_a_deployment_needs_deleted_behind_the_logs_back_is_missing(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..3).map(event).collect()).await.unwrap();
    let stored = |name: &str| {
        let bytes = format!("{{\"kept\":\"{name}\"}}").into_bytes();
        (format!("sha256:{}", ward_ledger::hash::sha256(&bytes).to_hex()), bytes)
    };
    let files: Vec<(String, Vec<u8>)> = [
        "published",
        "effective",
        "output",
        "tenant",
        "rollout-output",
        "observation",
    ]
    .iter()
    .map(|n| stored(n))
    .collect();
    for (digest, bytes) in &files {
        l.store().put_evidence(digest, bytes).await.unwrap();
    }
    let d = |i: usize| files[i].0.clone();
    let entry = |kind: &str, payload: serde_json::Value, n: u64| NewEvent {
        kind: kind.into(),
        subject: "env:prod".into(),
        payload,
        ..event(n)
    };
    l.append_batch(vec![
        entry("config.published", json!({ "environment": "prod", "digest": d(0) }), 20),
        entry(
            "deployment.recorded",
            json!({ "environment": "prod", "targets": [
                { "tenant": null, "config_digest": d(1), "output_digest": d(2) }] }),
            21,
        ),
        entry(
            "rollout.started",
            // Out of line (over 8 KiB): read from its blob.
            json!({ "environment": "prod", "tenant_configs": { "clinic-a": d(3) }, "padding": "x".repeat(9000) }),
            22,
        ),
        entry("rollout.step", json!({ "runs": [{ "output_digest": d(4) }] }), 23),
        entry(
            "drift.observed",
            json!({ "full_observation": d(5), "source": "argo" }),
            24,
        ),
    ])
    .await
    .unwrap();
    let (r, _) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    for (digest, bytes) in &files {
        raw_exec(
            url,
            &format!("DELETE FROM evidence_blobs WHERE digest = '{digest}'"),
            &format!("DELETE FROM evidence_blobs WHERE digest = '{digest}'"),
        )
        .await;
        let state = l.check_state().await.unwrap();
        let diff = only_diff(&state);
        assert_eq!(
            (diff.collection.as_str(), diff.key.as_str(), diff.kind),
            ("evidence_blobs", digest.as_str(), ward_store::DiffKind::Missing)
        );
        l.store().put_evidence(digest, bytes).await.unwrap();
    }
    let (r, _) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
fn grep_dir(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            hits.extend(grep_dir(&p, needle));
        } else if let Ok(data) = std::fs::read(&p)
            && data.windows(needle.len()).any(|w| w == needle)
        {
            hits.push(p.display().to_string());
        }
    }
    hits
}

/// A projector that keeps open items and removes them when closed.
struct OpenItems;

impl ward_store::Projector for OpenItems {
    fn name(&self) -> &'static str {
        "open_items"
    }
    fn project(&self, e: &ward_ledger::EventEnvelope) -> Vec<ward_store::ProjectionOp> {
        let key = e.subject.clone();
        match e.kind.as_str() {
            "item.opened" => vec![ward_store::ProjectionOp::Put {
                collection: "open".into(),
                key,
                doc: json!({ "seq": e.seq }),
            }],
            "item.closed" => vec![ward_store::ProjectionOp::Delete {
                collection: "open".into(),
                key,
            }],
            _ => vec![],
        }
    }
}

async fn projection_prefix_reads_byte_ordered_ranges(url: &str) {
    let l = Ledger::new(ward_store::open(url).await.unwrap(), vec![Arc::new(OpenItems)]);
    let subjects = [
        "art:ab/2",
        "art:ab0",
        "art:ab.x",
        "Art:ab/3",
        "art:ab/\u{e9}",
        "art:ab/1",
        "art:ab",
        "art:abc/1",
    ];
    l.append_batch(
        subjects
            .iter()
            .map(|s| NewEvent {
                actor: Actor {
                    id: "user:a".into(),
                    kind: ActorKind::Human,
                },
                kind: "item.opened".into(),
                subject: (*s).into(),
                payload: json!(null),
            })
            .collect(),
    )
    .await
    .unwrap();
    let keys = |v: Vec<(String, serde_json::Value)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(
        keys(l.store().projection_prefix("open", "art:ab/").await.unwrap()),
        vec!["art:ab/1", "art:ab/2", "art:ab/\u{e9}"]
    );
    assert_eq!(
        keys(l.store().projection_prefix("open", "art:ab").await.unwrap()).len(),
        7,
        "every key starting art:ab, in byte order"
    );
    assert_eq!(
        keys(l.store().projection_prefix("open", "").await.unwrap()).len(),
        subjects.len()
    );
    assert!(l.store().projection_prefix("open", "zzz").await.unwrap().is_empty());
    // The text variant reads the same rows, each document as the JSON the parsed one holds.
    for prefix in ["art:ab/", "art:ab", ""] {
        let parsed = l.store().projection_prefix("open", prefix).await.unwrap();
        let text = l.store().projection_prefix_text("open", prefix).await.unwrap();
        let reparsed: Vec<(String, serde_json::Value)> = text
            .into_iter()
            .map(|(k, t)| (k, serde_json::from_str(&t).unwrap()))
            .collect();
        assert_eq!(reparsed, parsed, "prefix {prefix:?}");
    }
}

/// The one-row array read and the "latest before" seek see the same byte-ordered ranges as the
/// prefix read: the array holds exactly the prefix read's documents in its order, and the seek
/// finds the greatest key in `[from, below)` — never one outside it.
async fn projection_array_and_last_before_read_byte_ordered_ranges(url: &str) {
    let l = Ledger::new(ward_store::open(url).await.unwrap(), vec![Arc::new(OpenItems)]);
    let subjects = [
        "art:ab/2",
        "art:ab0",
        "Art:ab/3",
        "art:ab/\u{e9}",
        "art:ab/1",
        "art:ab",
        "art:abc/1",
    ];
    l.append_batch(
        subjects
            .iter()
            .map(|s| NewEvent {
                actor: Actor {
                    id: "user:a".into(),
                    kind: ActorKind::Human,
                },
                kind: "item.opened".into(),
                subject: (*s).into(),
                payload: json!(null),
            })
            .collect(),
    )
    .await
    .unwrap();
    for prefix in ["art:ab/", "art:ab", "", "zzz"] {
        let listed: Vec<serde_json::Value> = l
            .store()
            .projection_prefix("open", prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        let array = l.store().projection_prefix_array("open", prefix).await.unwrap();
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&array).unwrap();
        assert_eq!(parsed, listed, "prefix {prefix:?}");
    }
    assert_eq!(l.store().projection_prefix_array("open", "zzz").await.unwrap(), "[]");
    async fn last(l: &Ledger, from: &str, below: &str) -> Option<(String, serde_json::Value)> {
        l.store()
            .projection_last_before("open", from, below)
            .await
            .unwrap()
            .map(|(k, d)| (k, d["seq"].clone()))
    }
    assert_eq!(
        last(&l, "art:ab/", "art:ab/2").await,
        Some(("art:ab/1".to_string(), json!(4)))
    );
    assert_eq!(
        last(&l, "art:ab/", "art:ab0").await,
        Some(("art:ab/\u{e9}".to_string(), json!(3)))
    );
    assert_eq!(
        last(&l, "art:ab/", "art:ab/1").await,
        None,
        "nothing at or after `from` below the bound"
    );
    assert_eq!(
        last(&l, "art:ab/2", "art:ab/2").await,
        None,
        "the bound itself is excluded"
    );
    assert_eq!(last(&l, "A", "b").await.map(|(k, _)| k), Some("art:abc/1".to_string()));
}

async fn projection_deletes_apply_in_order(url: &str) {
    let l = Ledger::new(ward_store::open(url).await.unwrap(), vec![Arc::new(OpenItems)]);
    let item = |kind: &str, subject: &str| NewEvent {
        actor: Actor {
            id: "user:a".into(),
            kind: ActorKind::Human,
        },
        kind: kind.into(),
        subject: subject.into(),
        payload: json!(null),
    };
    // In one batch: open a, b, c; close b; reopen b; close c.
    l.append_batch(vec![
        item("item.opened", "a"),
        item("item.opened", "b"),
        item("item.opened", "c"),
        item("item.closed", "b"),
        item("item.opened", "b"),
        item("item.closed", "c"),
    ])
    .await
    .unwrap();
    let keys =
        |v: Vec<(String, serde_json::Value)>| v.into_iter().map(|(k, d)| (k, d["seq"].clone())).collect::<Vec<_>>();
    let expected = vec![("a".to_string(), json!(0)), ("b".to_string(), json!(4))];
    assert_eq!(keys(l.store().projection_list("open").await.unwrap()), expected);
    // Across batches too, and a rebuild gives the same.
    l.append(item("item.closed", "a")).await.unwrap();
    assert_eq!(
        keys(l.store().projection_list("open").await.unwrap()),
        vec![("b".to_string(), json!(4))]
    );
    l.rebuild_projections().await.unwrap();
    assert_eq!(
        keys(l.store().projection_list("open").await.unwrap()),
        vec![("b".to_string(), json!(4))]
    );
}

async fn appends_are_sequenced_and_hash_like_the_reference(url: &str) {
    let l = ledger(url).await;
    let mut reference = MemoryTree::new();
    let receipts = l.append_batch((0..10).map(event).collect()).await.unwrap();
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
    }
    for i in 10..25 {
        assert_eq!(l.append(event(i)).await.unwrap().seq, i);
    }
    let entries = l.store().entries(0, 100).await.unwrap();
    assert_eq!(entries.len(), 25);
    for e in &entries {
        assert_eq!(leaf_hash(&e.leaf), e.leaf_hash);
        reference.push(e.leaf_hash);
    }
    let head = l.head().await.unwrap();
    assert_eq!(head.size(), 25);
    assert_eq!(head.root(), reference.root());
    for s in 0..=25 {
        assert_eq!(l.root_at(s).await.unwrap(), reference.root_at(s).unwrap());
    }
    assert!(l.root_at(26).await.is_err());
}

async fn proofs_from_the_store_verify(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..70).map(event).collect()).await.unwrap();
    let entries = l.store().entries(0, 100).await.unwrap();
    for size in [1u64, 2, 3, 7, 8, 9, 31, 64, 65, 70] {
        let root = l.root_at(size).await.unwrap();
        for index in 0..size {
            let p = l.inclusion_proof(index, size).await.unwrap();
            verify_inclusion(&entries[index as usize].leaf_hash, index, size, &p, &root).unwrap();
        }
        for from in 0..=size {
            let p = l.consistency_proof(from, size).await.unwrap();
            verify_consistency(from, size, &p, &l.root_at(from).await.unwrap(), &root).unwrap();
        }
    }
    assert!(matches!(l.inclusion_proof(70, 70).await, Err(StoreError::Invalid(_))));
    assert!(matches!(l.inclusion_proof(0, 71).await, Err(StoreError::Invalid(_))));
    assert!(matches!(l.consistency_proof(5, 4).await, Err(StoreError::Invalid(_))));
}

async fn group_commit_under_concurrency(url: &str) {
    let l = ledger(url).await;
    let mut tasks = Vec::new();
    for i in 0..400u64 {
        let l = l.clone();
        tasks.push(tokio::spawn(async move { l.append(event(i)).await.unwrap().seq }));
    }
    let mut seqs = HashSet::new();
    for t in tasks {
        assert!(seqs.insert(t.await.unwrap()), "duplicate sequence number");
    }
    assert_eq!(seqs, (0..400).collect());
    let report = l.fsck(None, ORIGIN, &|_, _| {}).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

/// Attack on `e7ad2ee`: a SQLite database reached through a symlink took lock files of its own
/// beside the link, so two deployments into one environment ran at once (and the second
/// recorded the live first one as interrupted). The locks are taken beside the file itself.
#[tokio::test]
async fn a_database_reached_through_a_symlink_shares_its_locks() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("ward.db");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let link = elsewhere.join("ward.db");
    let a = ward_store::open(&format!("sqlite://{}", real.display())).await.unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let b = ward_store::open(&format!("sqlite://{}", link.display())).await.unwrap();
    let held = a.lock("ward.promote:prod").await.unwrap();
    let waiting = tokio::spawn(async move { b.lock("ward.promote:prod").await.map(drop) });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(
        !waiting.is_finished(),
        "the handle through the symlink took a held lock"
    );
    drop(held);
    tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .expect("the lock was not released")
        .unwrap()
        .unwrap();
}

/// Two handles on one store (as two processes would have) take the same named lock one after
/// the other; a different name is not blocked.
async fn named_locks_exclude_other_handles_until_dropped(url: &str) {
    let a = ward_store::open(url).await.unwrap();
    let b = ward_store::open(url).await.unwrap();
    let held = a.lock("promote:prod").await.unwrap();
    let other = tokio::time::timeout(std::time::Duration::from_secs(5), b.lock("promote:dev")).await;
    assert!(other.is_ok_and(|r| r.is_ok()), "a different name must not wait");
    // Measured from before the spawn: the lock is released only after the 400 ms sleep below,
    // however late the task first runs.
    let started = std::time::Instant::now();
    let waiting = tokio::spawn(async move {
        let _g = b.lock("promote:prod").await.unwrap();
        started.elapsed()
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(!waiting.is_finished(), "the second handle took a held lock");
    drop(held);
    let waited = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .expect("the lock was not released")
        .unwrap();
    assert!(waited >= std::time::Duration::from_millis(400));
}

/// Many tasks on two handles take the same lock, and a fresh name each, over and over: no two
/// ever hold the same name at once (the lock file is removed as each holder releases it, and a
/// waiter granted a removed file tries again), and once every lock is released no lock file
/// is left beside a SQLite database.
async fn locks_stay_exclusive_under_contention_and_leave_no_files(url: &str) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let handles = [
        ward_store::open(url).await.unwrap(),
        ward_store::open(url).await.unwrap(),
    ];
    let inside = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for k in 0..8 {
        let store = handles[k % 2].clone();
        let inside = inside.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let _g = store.lock("promote:prod").await.unwrap();
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(_g);
                let _own = store.lock(&format!("change:CHG-{k}-{i}")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        tokio::time::timeout(std::time::Duration::from_secs(60), t)
            .await
            .expect("a lock was never granted")
            .unwrap();
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        let dir = std::path::Path::new(path).parent().unwrap();
        let left: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.contains(".lock-"))
            .collect();
        assert!(left.is_empty(), "lock files left behind: {left:?}");
    }
}

async fn two_handles_writing_at_once_never_fork(url: &str) {
    let a = ledger(url).await;
    let b = ledger(url).await;
    let ta = tokio::spawn(async move {
        for i in 0..60 {
            a.append_batch(vec![event(i), event(i + 1000)]).await.unwrap();
        }
    });
    let tb = tokio::spawn(async move {
        for i in 0..60 {
            b.append(event(i + 2000)).await.unwrap();
        }
    });
    ta.await.unwrap();
    tb.await.unwrap();
    let l = ledger(url).await;
    assert_eq!(l.head().await.unwrap().size(), 180);
    let report = l.fsck(None, ORIGIN, &|_, _| {}).await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

async fn export_verifies_and_names_tampered_entry(url: &str) {
    let l = ledger(url).await;
    let s = signer();
    l.append_batch((0..100).map(event).collect()).await.unwrap();
    l.checkpoint(&s, ORIGIN).await.unwrap();
    let mut big = event(100);
    big.payload = json!({ "blob": "z".repeat(20_000) });
    l.append(big).await.unwrap();
    l.append_batch((101..300).map(event).collect()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    let m = l.export(&dir, &s, ORIGIN, &|_, _| {}).await.unwrap();
    assert_eq!(m.size, 300);
    assert_eq!(m.checkpoints, vec![100, 300]);
    let report = verify_export(&dir, &s.verifier()).unwrap();
    assert_eq!(
        (report.size, report.checkpoints, report.consistency_proofs, report.blobs),
        (300, 2, 1, 1)
    );
    // A second export of the same state verifies too.
    let dir2 = tmp.path().join("export2");
    l.export(&dir2, &s, ORIGIN, &|_, _| {}).await.unwrap();
    // Flip one byte of entry 0 in the first bundle.
    let path = dir2.join("tile/entries/000");
    let mut data = std::fs::read(&path).unwrap();
    data[10] ^= 0x20;
    std::fs::write(&path, data).unwrap();
    match verify_export(&dir2, &s.verifier()) {
        Err(VerifyError::BadEntry { index: 0, .. }) => {}
        other => panic!("expected entry 0 to be named, got {other:?}"),
    }
}

async fn projections_rebuild_to_the_same_state(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..23).map(event).collect()).await.unwrap();
    let doc = l.store().projection("subjects", "change:2").await.unwrap().unwrap();
    assert_eq!(doc["last_seq"], json!(22));
    let before = l.store().projection_list("subjects").await.unwrap();
    let actors_before = l.store().projection_list("actors").await.unwrap();
    assert_eq!(before.len(), 5);
    assert_eq!(actors_before.len(), 3);
    assert_eq!(l.rebuild_projections().await.unwrap(), 23);
    assert_eq!(l.store().projection_list("subjects").await.unwrap(), before);
    assert_eq!(l.store().projection_list("actors").await.unwrap(), actors_before);
}

async fn bad_events_write_nothing(url: &str) {
    let l = ledger(url).await;
    l.append(event(0)).await.unwrap();
    let mut bad = event(1);
    bad.kind = "Not A Kind".into();
    assert!(l.append(bad.clone()).await.is_err());
    // In a batch, one bad event refuses the whole batch and writes nothing.
    assert!(l.append_batch(vec![event(1), bad]).await.is_err());
    let mut huge = event(2);
    huge.payload = json!("x".repeat(5 * 1024 * 1024));
    assert!(l.append(huge).await.is_err());
    assert_eq!(l.head().await.unwrap().size(), 1);
    assert_eq!(l.store().entries(0, 10).await.unwrap().len(), 1);
    assert!(l.store().projection("subjects", "change:1").await.unwrap().is_none());
}

async fn tampered_rows_are_found(url: &str) {
    let l = ledger(url).await;
    let s = signer();
    l.append_batch((0..600).map(event).collect()).await.unwrap();
    l.checkpoint(&s, ORIGIN).await.unwrap();
    let v = s.verifier();
    assert!(l.fsck(Some(&v), ORIGIN, &|_, _| {}).await.unwrap().ok());
    // Leaf bytes.
    raw_exec(url, "UPDATE ledger_entries SET leaf = CAST(REPLACE(CAST(leaf AS TEXT), '\"i\":417', '\"i\":418') AS BLOB) WHERE seq = 417", "UPDATE ledger_entries SET leaf = convert_to(replace(convert_from(leaf, 'UTF8'), '\"i\":417', '\"i\":418'), 'UTF8') WHERE seq = 417").await;
    let r = l.fsck(Some(&v), ORIGIN, &|_, _| {}).await.unwrap();
    assert_eq!(r.first_bad_entry, Some(417), "{:?}", r.problems);
    let tmp = tempfile::tempdir().unwrap();
    let err = verify_export(&export_to(&l, tmp.path(), "a").await, &v).unwrap_err();
    assert!(matches!(err, VerifyError::BadEntry { index: 417, .. }), "{err:?}");
}

async fn export_to(l: &Ledger, base: &std::path::Path, name: &str) -> std::path::PathBuf {
    let dir = base.join(name);
    l.export(&dir, &signer(), ORIGIN, &|_, _| {}).await.unwrap();
    dir
}

async fn checkpoints_are_idempotent_and_conflicts_refused(url: &str) {
    let l = ledger(url).await;
    let s = signer();
    l.append_batch((0..5).map(event).collect()).await.unwrap();
    let a = l.checkpoint(&s, ORIGIN).await.unwrap();
    let b = l.checkpoint(&s, ORIGIN).await.unwrap();
    assert_eq!(a, b);
    let mut forged = a.clone();
    forged.root = ward_ledger::hash::sha256(b"other");
    forged.note = "different".into();
    assert!(matches!(
        l.store().add_checkpoint(&forged).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(l.store().checkpoints().await.unwrap().len(), 1);
    // The latest and the one at a size, without reading them all.
    l.append_batch((5..8).map(event).collect()).await.unwrap();
    let c = l.checkpoint(&s, ORIGIN).await.unwrap();
    assert_eq!(l.store().latest_checkpoint().await.unwrap(), Some(c.clone()));
    assert_eq!(l.store().checkpoint_at(5).await.unwrap(), Some(a));
    assert_eq!(l.store().checkpoint_at(8).await.unwrap(), Some(c));
    assert_eq!(l.store().checkpoint_at(6).await.unwrap(), None);
}

/// Runs one statement directly against the database, bypassing Ward (SQLite or PostgreSQL form).
pub async fn raw_exec(url: &str, sqlite_sql: &str, pg_sql: &str) {
    use sqlx::Connection;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(pg_sql.to_string()))
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite_sql.to_string()))
            .execute(&mut c)
            .await
            .unwrap();
    }
}

/// One number from a PostgreSQL query.
async fn raw_count(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut c)
        .await
        .unwrap()
}

#[allow(dead_code)]
fn _assert_send(_: Arc<dyn ward_store::Store>) {}
#[allow(dead_code)]
fn _unused(_: &dyn NoteSigner, _: TestDb) {}

/// fsck with a verifier, asserting the log itself is intact (only state is wrong).
async fn fsck_state(l: &Ledger) -> (ward_store::ledger::FsckReport, ward_store::StateReport) {
    let s = signer();
    l.checkpoint(&s, ORIGIN).await.unwrap();
    let r = l.fsck(Some(&s.verifier()), ORIGIN, &|_, _| {}).await.unwrap();
    assert_eq!(r.first_bad_entry, None, "{:?}", r.problems);
    let state = r.state.clone().expect("state was checked");
    (r, state)
}

/// The one difference a report lists.
fn only_diff(s: &ward_store::StateReport) -> &ward_store::StateDiff {
    assert_eq!(s.difference_count, 1, "{:?}", s.differences);
    &s.differences[0]
}

/// A row inserted straight into `projections` (here: an admin token carrying a secret hash) is
/// reported as extra, by collection and key, with digests only; fsck writes nothing.
async fn forged_admin_token_row_is_found_by_fsck(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..40).map(event).collect()).await.unwrap();
    let (r, state) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(state.entries, 40);
    assert_eq!(state.documents, 5 + 3);
    let doc = r#"{"id":"forged","role":"admin","subject":"user:mallory","hash":"SECRET-HASH-0123"}"#;
    raw_exec(
        url,
        &format!("INSERT INTO projections (collection, key, doc, updated_seq) VALUES ('tokens', 'forged', '{doc}', 3)"),
        &format!(
            "INSERT INTO projections (collection, key, doc, updated_seq) VALUES ('tokens', 'forged', '{doc}'::jsonb, 3)"
        ),
    )
    .await;
    let (r, state) = fsck_state(&l).await;
    assert!(!r.ok());
    let d = only_diff(&state);
    assert_eq!((d.collection.as_str(), d.key.as_str()), ("tokens", "forged"));
    assert_eq!(d.kind, ward_store::DiffKind::Extra);
    assert!(d.stored.as_deref().is_some_and(|s| s.starts_with("sha256:")));
    assert_eq!(d.expected, None);
    let printed = format!("{:?} {}", r.problems, serde_json::to_string(&r.state).unwrap());
    assert!(
        printed.contains("tokens") && printed.contains("forged") && printed.contains("extra"),
        "{printed}"
    );
    assert!(
        !printed.contains("SECRET-HASH") && !printed.contains("mallory"),
        "fsck printed a document: {printed}"
    );
    // fsck never repairs: the forged row is still there, until a rebuild drops it.
    assert!(l.store().projection("tokens", "forged").await.unwrap().is_some());
    assert_eq!(l.head().await.unwrap().size(), 40, "fsck appended nothing");
    l.rebuild_projections().await.unwrap();
    assert!(l.check_state().await.unwrap().ok());
}

/// A forged approval (the gate counts rows of `approvals`) is found the same way, and so is a
/// forged approval that overwrites a real document.
async fn forged_approval_row_is_found_by_fsck(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..10).map(event).collect()).await.unwrap();
    raw_exec(
        url,
        r#"INSERT INTO projections (collection, key, doc, updated_seq) VALUES ('approvals', 'change:1/999', '{"signer":"user:boss","meaning":"approval"}', 9)"#,
        r#"INSERT INTO projections (collection, key, doc, updated_seq) VALUES ('approvals', 'change:1/999', '{"signer":"user:boss","meaning":"approval"}'::jsonb, 9)"#,
    )
    .await;
    let (r, state) = fsck_state(&l).await;
    assert!(!r.ok());
    let d = only_diff(&state);
    assert_eq!(
        (d.collection.as_str(), d.key.as_str(), d.kind),
        ("approvals", "change:1/999", ward_store::DiffKind::Extra)
    );
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("approvals") && p.contains("change:1/999")),
        "{:?}",
        r.problems
    );
    // Rewriting the document of a real key: "different", with both digests.
    raw_exec(
        url,
        r#"DELETE FROM projections WHERE collection = 'approvals'; UPDATE projections SET doc = '{"kind":"human","last_seq":9,"last_time":"x"}' WHERE collection = 'actors' AND key = 'user:u0'"#,
        r#"DELETE FROM projections WHERE collection = 'approvals'; UPDATE projections SET doc = '{"kind":"human","last_seq":9,"last_time":"x"}'::jsonb WHERE collection = 'actors' AND key = 'user:u0'"#,
    )
    .await;
    let (_, state) = fsck_state(&l).await;
    let d = only_diff(&state);
    assert_eq!(
        (d.collection.as_str(), d.key.as_str(), d.kind),
        ("actors", "user:u0", ward_store::DiffKind::Different)
    );
    assert!(d.stored.is_some() && d.expected.is_some() && d.stored != d.expected);
}

/// A raw evidence document altered after it was stored (evidence lives beside the log, so an
/// export cannot show it) is reported against its digest; so are payload blobs.
async fn tampered_evidence_blob_is_found_by_fsck(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..5).map(event).collect()).await.unwrap();
    let data = b"<testsuite tests=\"1\" failures=\"1\"/>";
    let digest = format!("sha256:{}", ward_ledger::hash::sha256(data).to_hex());
    l.store().put_evidence(&digest, data).await.unwrap();
    let mut big = event(5);
    big.payload = json!("p".repeat(20_000));
    l.append(big).await.unwrap();
    let (r, _) = fsck_state(&l).await;
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(
        r.state.as_ref().unwrap().blobs,
        2,
        "one evidence blob and one payload blob"
    );
    raw_exec(
        url,
        &format!("UPDATE evidence_blobs SET data = CAST('<testsuite tests=\"1\" failures=\"0\"/>' AS BLOB) WHERE digest = '{digest}'"),
        &format!("UPDATE evidence_blobs SET data = convert_to('<testsuite tests=\"1\" failures=\"0\"/>', 'UTF8') WHERE digest = '{digest}'"),
    )
    .await;
    let (r, state) = fsck_state(&l).await;
    assert!(!r.ok());
    let d = only_diff(&state);
    assert_eq!(
        (d.collection.as_str(), d.key.as_str(), d.kind),
        ("evidence_blobs", digest.as_str(), ward_store::DiffKind::Different)
    );
    assert_eq!(d.expected.as_deref(), Some(digest.as_str()));
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("evidence_blobs") && p.contains(&digest)),
        "{:?}",
        r.problems
    );
    // Evidence stored under a digest that is not its own is refused too.
    raw_exec(
        url,
        "INSERT INTO evidence_blobs (digest, data, created_at) VALUES ('sha256:00', CAST('x' AS BLOB), 'now')",
        "INSERT INTO evidence_blobs (digest, data, created_at) VALUES ('sha256:00', convert_to('x', 'UTF8'), 'now')",
    )
    .await;
    assert_eq!(l.check_state().await.unwrap().difference_count, 2);
    // A payload blob the log refers to, deleted: missing.
    raw_exec(url, "DELETE FROM ledger_blobs", "DELETE FROM ledger_blobs").await;
    let state = l.check_state().await.unwrap();
    assert!(
        state
            .differences
            .iter()
            .any(|d| d.collection == "ledger_blobs" && d.kind == ward_store::DiffKind::Missing),
        "{:?}",
        state.differences
    );
}

/// Rows deleted from, or with their sequence number changed in, `projections`.
async fn deleted_and_edited_projection_rows_are_found_by_fsck(url: &str) {
    let l = ledger(url).await;
    l.append_batch((0..12).map(event).collect()).await.unwrap();
    raw_exec(
        url,
        "DELETE FROM projections WHERE collection = 'subjects' AND key = 'change:3'",
        "DELETE FROM projections WHERE collection = 'subjects' AND key = 'change:3'",
    )
    .await;
    let d = only_diff(&l.check_state().await.unwrap()).clone();
    assert_eq!(
        (d.collection.as_str(), d.key.as_str(), d.kind),
        ("subjects", "change:3", ward_store::DiffKind::Missing)
    );
    l.rebuild_projections().await.unwrap();
    raw_exec(
        url,
        "UPDATE projections SET updated_seq = 0 WHERE collection = 'subjects' AND key = 'change:4'",
        "UPDATE projections SET updated_seq = 0 WHERE collection = 'subjects' AND key = 'change:4'",
    )
    .await;
    let d = only_diff(&l.check_state().await.unwrap()).clone();
    assert_eq!(d.kind, ward_store::DiffKind::Different);
}

/// Another handle appending all the while never makes the check see state ahead of the log.
async fn state_check_sees_one_snapshot_while_others_append(url: &str) {
    let l = ledger(url).await;
    let other = ledger(url).await;
    l.append_batch((0..200).map(event).collect()).await.unwrap();
    let writer = tokio::spawn(async move {
        for i in 0..30u64 {
            other
                .append_batch((0..50).map(|j| event(1000 + i * 50 + j)).collect())
                .await
                .unwrap();
        }
    });
    let mut checks = 0;
    while !writer.is_finished() || checks == 0 {
        let s = l.check_state().await.unwrap();
        assert!(s.ok(), "false alarm under concurrent appends: {:?}", s.differences);
        checks += 1;
    }
    writer.await.unwrap();
    assert!(l.check_state().await.unwrap().ok());
}

/// Projects each event's `name` member (`named` / subject).
struct Named;

impl ward_store::Projector for Named {
    fn name(&self) -> &'static str {
        "named"
    }
    fn project(&self, e: &ward_ledger::EventEnvelope) -> Vec<ward_store::ProjectionOp> {
        let ward_ledger::Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        match p.get("name") {
            Some(name) => vec![ward_store::ProjectionOp::Put {
                collection: "named".into(),
                key: e.subject.clone(),
                doc: json!({ "name": name }),
            }],
            None => vec![],
        }
    }
}

/// A payload larger than the leaf keeps inline is stored out of line; projectors still see it
/// whole — on append, when the state tables are rebuilt, and when fsck derives them again — so
/// a large event is no event without its state (before, a change of sixty authors or a large
/// scan was recorded and never projected: a helper's find on the eleventh session).
async fn a_payload_kept_out_of_line_is_projected_as_an_inline_one(url: &str) {
    let mut projectors = default_projectors();
    projectors.push(Arc::new(Named));
    let l = Ledger::new(ward_store::open(url).await.expect("open store"), projectors);
    let big = "x".repeat(ward_ledger::envelope::MAX_INLINE_PAYLOAD + 1);
    let mut events = Vec::new();
    for (subject, filler) in [("change:big", big.as_str()), ("change:small", "")] {
        let mut e = event(1);
        e.subject = subject.into();
        e.payload = json!({ "name": subject, "filler": filler });
        events.push(e);
    }
    l.append_batch(events).await.unwrap();
    let leaf = l.store().entries(0, 1).await.unwrap().remove(0).leaf;
    assert!(!String::from_utf8_lossy(&leaf).contains("xxxx"), "kept out of line");
    for subject in ["change:big", "change:small"] {
        let doc = l.store().projection("named", subject).await.unwrap();
        assert_eq!(doc, Some(json!({ "name": subject })), "{subject} projected on append");
    }
    let (_, state) = fsck_state(&l).await;
    assert_eq!(state.difference_count, 0, "{:?}", state.differences);
    l.rebuild_projections().await.unwrap();
    let doc = l.store().projection("named", "change:big").await.unwrap();
    assert_eq!(doc, Some(json!({ "name": "change:big" })), "projected on rebuild");
    // The row deleted behind the log's back: fsck, which derives it from the stored payload,
    // finds it missing.
    raw_exec(
        url,
        "DELETE FROM projections WHERE collection = 'named' AND key = 'change:big'",
        "DELETE FROM projections WHERE collection = 'named' AND key = 'change:big'",
    )
    .await;
    let (_, state) = fsck_state(&l).await;
    assert_eq!(only_diff(&state).collection, "named", "{:?}", state.differences);
    // The payload itself deleted: a rebuild fails and names the entry, and the tables stay as
    // they were (before, the change was rebuilt as `{"digest": …}` and silently left out).
    l.rebuild_projections().await.unwrap();
    raw_exec(url, "DELETE FROM ledger_blobs", "DELETE FROM ledger_blobs").await;
    let e = l.rebuild_projections().await.expect_err("a payload is missing");
    assert!(e.to_string().contains("entry 0: its out-of-line payload"), "{e}");
    for subject in ["change:big", "change:small"] {
        let doc = l.store().projection("named", subject).await.unwrap();
        assert_eq!(doc, Some(json!({ "name": subject })), "{subject} kept");
    }
}
