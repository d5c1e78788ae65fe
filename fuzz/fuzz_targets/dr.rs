//! `dr::summarise` (pgBackRest info, Velero objects, AWS Backup job lists) on arbitrary bytes,
//! the first byte choosing the tool: never panics, and what it accepts is consistent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_evidence::dr;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else { return };
    let tool = ["pgbackrest", "velero", "aws-backup"][usize::from(*first) % 3];
    if let Ok(s) = dr::summarise(tool, rest, 1 << 20) {
        assert_eq!(s.tool, tool);
        assert!(s.records.len() <= dr::MAX_RECORDS);
        for r in &s.records {
            assert!(!r.store.is_empty(), "a record names its store");
            assert!(!r.succeeded || r.finished.is_some(), "a success has a finish: {r:?}");
            if let (Some(a), Some(b)) = (r.started, r.finished) {
                assert!(a <= b, "started after it finished: {r:?}");
            }
        }
    }
});
