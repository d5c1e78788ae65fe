//! Governance metrics, computed exactly from what Ward recorded (issue 18, part 2).
//!
//! Pure, like [`crate::dora`]: the caller reads the log into [`Facts`] (each keeping the `seq` of
//! its entry) and passes the period; [`compute`] returns each figure with its sample size and the
//! entries it rests on. Definitions (docs/METRICS.md):
//!
//! - **Approval latency**: from a change's opening to the approval that completed its quorum (the
//!   tier's number of distinct approving signers), for quorums completed in the period (median).
//! - **Deployments under a waiver** / **under break-glass**: of the successful deployments in the
//!   period, those whose gate decision relied on a waiver / a break-glass (ratio).
//! - **Overdue reviews**: break-glass invocations before the period's end whose retrospective
//!   review is overdue (count).
//! - **Evidence complete at deployment**: of the successful deployments in the period, those
//!   whose gate decision is recorded, judged that change into that environment, allowed it, and
//!   excused no `evidence.*` reason (ratio; the entries are every deployment counted, each saying
//!   which).
//! - **Rollback drill age**: how long before the period's end the environment's latest drill
//!   ran (seconds); none without a drill.
//! - **Rollback drill time to restore**: of the latest drill before the period's end whose time
//!   to restore was recorded, that time (seconds); none without one.
//! - **Automated rollback time to stable**: for rollouts Ward rolled back (or halted at a ring)
//!   in the period, the time from the breaching measurement to all traffic on stable (median).

use crate::dora::{Figure, median};
use serde::{Deserialize, Serialize};

/// A signature on a change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// Log entry.
    pub seq: u64,
    /// When (Unix seconds).
    pub time: i64,
    /// Who signed.
    pub signer: String,
    /// An approval (not a rejection).
    pub approved: bool,
}

/// A change with its approvals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeApprovals {
    /// Log entry that opened it.
    pub seq: u64,
    /// Change id.
    pub change: String,
    /// When it was opened.
    pub opened_at: i64,
    /// Distinct approving signers its tier requires.
    pub quorum: u32,
    /// Its signatures, any order.
    pub signatures: Vec<Signature>,
}

/// A successful deployment and the exceptions its gate decision relied on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployed {
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: i64,
    /// A waiver excused a reason of its gate decision.
    pub waiver: bool,
    /// A break-glass excused a reason of its gate decision.
    pub breakglass: bool,
    /// The evidence its tier requires was present at its gate decision (nothing excused).
    #[serde(default)]
    pub evidence_complete: bool,
}

/// A break-glass and its retrospective review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Log entry of the break-glass.
    pub seq: u64,
    /// When it was invoked.
    pub invoked_at: i64,
    /// When its review was due.
    pub due: i64,
    /// Closed (by an independent `retrospective-review` signature).
    pub closed: bool,
}

/// A rollback drill.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drill {
    /// Log entry (its deployment record).
    pub seq: u64,
    /// When.
    pub time: i64,
    /// Milliseconds from the drill's start to every probe answered by the previous release, and
    /// the `drill.recorded` entry that says so; none when no such entry was recorded.
    #[serde(default)]
    pub restored: Option<(u64, f64)>,
}

/// A rollback Ward made on a breaching measurement (a rollout rolled back or a ring halted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoRollback {
    /// Log entry (`rollout.rolled_back` or `rollout.halted`).
    pub seq: u64,
    /// When.
    pub time: i64,
    /// Milliseconds from the breaching measurement to all traffic on stable.
    pub to_stable_ms: f64,
}

/// What governance metrics are computed from (one environment's deployments and drills; every
/// change and break-glass).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Changes and their signatures.
    pub changes: Vec<ChangeApprovals>,
    /// Successful deployments.
    pub deployments: Vec<Deployed>,
    /// Break-glass invocations.
    pub reviews: Vec<Review>,
    /// Rollback drills.
    pub drills: Vec<Drill>,
    /// Automated rollbacks.
    #[serde(default)]
    pub rollbacks: Vec<AutoRollback>,
}

/// The governance figures over one period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Median seconds from opening to quorum.
    pub approval_latency: Figure,
    /// Successful deployments relying on a waiver, over all successful deployments.
    pub under_waiver: Figure,
    /// Successful deployments relying on a break-glass, over all successful deployments.
    pub under_breakglass: Figure,
    /// Break-glass reviews overdue at the period's end (a count).
    pub overdue_reviews: Figure,
    /// Successful deployments whose required evidence was complete at their gate decision,
    /// over all successful deployments.
    pub evidence_complete: Figure,
    /// Seconds from the latest drill to the period's end.
    pub drill_age: Figure,
    /// Seconds the latest drill (with a recorded time to restore) took to restore.
    pub drill_time_to_restore: Figure,
    /// Median seconds from a breaching measurement to all traffic on stable.
    pub rollback_to_stable: Figure,
}

fn figure(value: Option<f64>, samples: usize, mut entries: Vec<u64>) -> Figure {
    entries.sort_unstable();
    entries.dedup();
    Figure {
        value,
        samples: samples as u64,
        band: None,
        entries,
    }
}

/// The time a change's quorum was completed: the approval that brought the distinct approving
/// signers to `quorum`, in log order. None for a quorum of 0 or one never reached.
pub fn quorum_at(c: &ChangeApprovals) -> Option<&Signature> {
    if c.quorum == 0 {
        return None;
    }
    let mut sigs: Vec<&Signature> = c.signatures.iter().filter(|s| s.approved).collect();
    sigs.sort_by_key(|s| (s.time, s.seq));
    let mut seen: Vec<&str> = Vec::new();
    for s in sigs {
        if !seen.contains(&s.signer.as_str()) {
            seen.push(&s.signer);
            if seen.len() as u32 == c.quorum {
                return Some(s);
            }
        }
    }
    None
}

/// Computes the governance figures over `[from, to)`. Pure: the period is the clock.
pub fn compute(facts: &Facts, from: i64, to: i64) -> Report {
    let in_period = |t: i64| t >= from && t < to;

    let mut latencies = Vec::new();
    let mut latency_entries = Vec::new();
    for c in &facts.changes {
        if let Some(s) = quorum_at(c).filter(|s| in_period(s.time)) {
            latencies.push((s.time - c.opened_at).max(0));
            latency_entries.extend([c.seq, s.seq]);
        }
    }
    let n = latencies.len();
    let approval_latency = figure(median(latencies), n, latency_entries);

    let deployed: Vec<&Deployed> = facts.deployments.iter().filter(|d| in_period(d.time)).collect();
    let share = |pick: fn(&Deployed) -> bool| {
        let hits: Vec<u64> = deployed.iter().filter(|d| pick(d)).map(|d| d.seq).collect();
        let value = (!deployed.is_empty()).then(|| hits.len() as f64 / deployed.len() as f64);
        figure(value, deployed.len(), hits)
    };
    let under_waiver = share(|d| d.waiver);
    let under_breakglass = share(|d| d.breakglass);
    // Every deployment counted is an entry (each says whether it was complete): an auditor reads
    // the incomplete ones as well as the share.
    let complete = deployed.iter().filter(|d| d.evidence_complete).count();
    let evidence_complete = figure(
        (!deployed.is_empty()).then(|| complete as f64 / deployed.len() as f64),
        deployed.len(),
        deployed.iter().map(|d| d.seq).collect(),
    );

    let invoked: Vec<&Review> = facts.reviews.iter().filter(|r| r.invoked_at < to).collect();
    let overdue: Vec<u64> = invoked
        .iter()
        .filter(|r| !r.closed && r.due < to)
        .map(|r| r.seq)
        .collect();
    let overdue_reviews = figure(Some(overdue.len() as f64), invoked.len(), overdue);

    let latest = facts
        .drills
        .iter()
        .filter(|d| d.time < to)
        .max_by_key(|d| (d.time, d.seq));
    let drill_age = match latest {
        Some(d) => figure(Some((to - d.time) as f64), 1, vec![d.seq]),
        None => figure(None, 0, vec![]),
    };
    let latest_restored = facts
        .drills
        .iter()
        .filter(|d| d.time < to)
        .filter_map(|d| d.restored.map(|r| (d, r)))
        .max_by_key(|(d, _)| (d.time, d.seq));
    let drill_time_to_restore = match latest_restored {
        Some((d, (seq, ms))) => figure(Some(ms / 1000.0), 1, vec![d.seq, seq]),
        None => figure(None, 0, vec![]),
    };

    let mut to_stable: Vec<f64> = Vec::new();
    let mut rollback_entries = Vec::new();
    for r in facts.rollbacks.iter().filter(|r| in_period(r.time)) {
        to_stable.push(r.to_stable_ms / 1000.0);
        rollback_entries.push(r.seq);
    }
    to_stable.sort_by(f64::total_cmp);
    let median_secs = match to_stable.len() {
        0 => None,
        n if n % 2 == 1 => Some(to_stable[n / 2]),
        n => Some((to_stable[n / 2 - 1] + to_stable[n / 2]) / 2.0),
    };
    let rollback_to_stable = figure(median_secs, to_stable.len(), rollback_entries);

    Report {
        rollback_to_stable,
        approval_latency,
        under_waiver,
        under_breakglass,
        overdue_reviews,
        evidence_complete,
        drill_age,
        drill_time_to_restore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600;
    const T0: i64 = 1_796_000_000;

    fn sig(seq: u64, time: i64, signer: &str, approved: bool) -> Signature {
        Signature {
            seq,
            time,
            signer: signer.into(),
            approved,
        }
    }

    fn history() -> Facts {
        Facts {
            changes: vec![
                // Quorum 2: rita approves twice (counts once), a rejection does not count, quinn
                // completes it 5 h after opening.
                ChangeApprovals {
                    seq: 1,
                    change: "CHG-1".into(),
                    opened_at: T0,
                    quorum: 2,
                    signatures: vec![
                        sig(3, T0 + H, "user:rita", true),
                        sig(4, T0 + 2 * H, "user:rita", true),
                        sig(5, T0 + 3 * H, "user:sam", false),
                        sig(6, T0 + 5 * H, "user:quinn", true),
                    ],
                },
                // Quorum 1 reached 1 h after opening.
                ChangeApprovals {
                    seq: 10,
                    change: "CHG-2".into(),
                    opened_at: T0 + 10 * H,
                    quorum: 1,
                    signatures: vec![sig(11, T0 + 11 * H, "user:quinn", true)],
                },
                // Never reached.
                ChangeApprovals {
                    seq: 20,
                    change: "CHG-3".into(),
                    opened_at: T0,
                    quorum: 2,
                    signatures: vec![sig(21, T0 + H, "user:quinn", true)],
                },
                // Reached after the period.
                ChangeApprovals {
                    seq: 30,
                    change: "CHG-4".into(),
                    opened_at: T0,
                    quorum: 1,
                    signatures: vec![sig(31, T0 + 100 * H, "user:quinn", true)],
                },
                // Reached 3 h after opening.
                ChangeApprovals {
                    seq: 40,
                    change: "CHG-5".into(),
                    opened_at: T0 + 20 * H,
                    quorum: 1,
                    signatures: vec![sig(41, T0 + 23 * H, "user:quinn", true)],
                },
            ],
            deployments: vec![
                Deployed {
                    seq: 50,
                    time: T0 + 30 * H,
                    waiver: true,
                    breakglass: false,
                    evidence_complete: false,
                },
                Deployed {
                    seq: 51,
                    time: T0 + 31 * H,
                    waiver: false,
                    breakglass: true,
                    evidence_complete: true,
                },
                Deployed {
                    seq: 52,
                    time: T0 + 32 * H,
                    waiver: false,
                    breakglass: false,
                    evidence_complete: true,
                },
                Deployed {
                    seq: 53,
                    time: T0 + 33 * H,
                    waiver: true,
                    breakglass: true,
                    evidence_complete: true,
                },
                // Outside the period.
                Deployed {
                    seq: 54,
                    time: T0 + 90 * H,
                    waiver: true,
                    breakglass: false,
                    evidence_complete: false,
                },
            ],
            reviews: vec![
                Review {
                    seq: 60,
                    invoked_at: T0,
                    due: T0 + 48 * H,
                    closed: false,
                },
                Review {
                    seq: 61,
                    invoked_at: T0,
                    due: T0 + 48 * H,
                    closed: true,
                },
                // Not yet due at the period's end.
                Review {
                    seq: 62,
                    invoked_at: T0 + 40 * H,
                    due: T0 + 88 * H,
                    closed: false,
                },
                // Invoked after the period.
                Review {
                    seq: 63,
                    invoked_at: T0 + 80 * H,
                    due: T0 + 81 * H,
                    closed: false,
                },
            ],
            drills: vec![
                Drill {
                    seq: 70,
                    time: T0 + 2 * H,
                    restored: Some((69, 850.0)),
                },
                Drill {
                    seq: 71,
                    time: T0 + 50 * H,
                    restored: Some((73, 1_250.0)),
                },
                // Later, but its drill entry was never recorded: it has an age, no restore time.
                Drill {
                    seq: 74,
                    time: T0 + 51 * H,
                    restored: None,
                },
                // After the period's end: not yet run then.
                Drill {
                    seq: 72,
                    time: T0 + 75 * H,
                    restored: Some((75, 10.0)),
                },
            ],
            rollbacks: vec![
                AutoRollback {
                    seq: 80,
                    time: T0 + 5 * H,
                    to_stable_ms: 120.0,
                },
                AutoRollback {
                    seq: 81,
                    time: T0 + 6 * H,
                    to_stable_ms: 30.0,
                },
                AutoRollback {
                    seq: 82,
                    time: T0 + 7 * H,
                    to_stable_ms: 2_000.0,
                },
                // After the period.
                AutoRollback {
                    seq: 83,
                    time: T0 + 80 * H,
                    to_stable_ms: 1.0,
                },
            ],
        }
    }

    #[test]
    fn a_scripted_history_gives_the_governance_figures_worked_out_by_hand() {
        let r = compute(&history(), T0, T0 + 72 * H);
        // Quorums in the period: 5 h (CHG-1), 1 h (CHG-2), 3 h (CHG-5) → median 3 h.
        assert_eq!(r.approval_latency.samples, 3);
        assert_eq!(r.approval_latency.value, Some((3 * H) as f64));
        assert_eq!(r.approval_latency.entries, vec![1, 6, 10, 11, 40, 41]);
        // Deployments in the period: 50, 51, 52, 53.
        assert_eq!(r.under_waiver.samples, 4);
        assert_eq!(r.under_waiver.value, Some(0.5));
        assert_eq!(r.under_waiver.entries, vec![50, 53]);
        assert_eq!(r.under_breakglass.value, Some(0.5));
        assert_eq!(r.under_breakglass.entries, vec![51, 53]);
        // Reviews invoked by the end: 60 (overdue), 61 (closed), 62 (not yet due).
        assert_eq!(r.overdue_reviews.value, Some(1.0));
        assert_eq!(r.overdue_reviews.samples, 3);
        assert_eq!(r.overdue_reviews.entries, vec![60]);
        // Of the four deployments in the period, 50 relied on a waiver of an evidence rule: 3/4,
        // and all four are listed.
        assert_eq!(r.evidence_complete.value, Some(0.75));
        assert_eq!(r.evidence_complete.samples, 4);
        assert_eq!(r.evidence_complete.entries, vec![50, 51, 52, 53]);
        // The latest drill before the end ran 21 h before it.
        assert_eq!(r.drill_age.value, Some((21 * H) as f64));
        assert_eq!(r.drill_age.entries, vec![74]);
        // The latest drill with a recorded restore (71, entry 73) took 1.25 s; 72 is after the end.
        assert_eq!(r.drill_time_to_restore.value, Some(1.25));
        assert_eq!(r.drill_time_to_restore.samples, 1);
        assert_eq!(r.drill_time_to_restore.entries, vec![71, 73]);
        // Automated rollbacks in the period: 120 ms, 30 ms, 2 s → median 0.12 s.
        assert_eq!(r.rollback_to_stable.samples, 3);
        assert_eq!(r.rollback_to_stable.value, Some(0.12));
        assert_eq!(r.rollback_to_stable.entries, vec![80, 81, 82]);
    }

    #[test]
    fn nothing_recorded_gives_no_figures_rather_than_zeros() {
        let r = compute(&Facts::default(), T0, T0 + H);
        assert_eq!(r.approval_latency.value, None);
        assert_eq!(r.under_waiver.value, None);
        assert_eq!(r.drill_age.value, None);
        assert_eq!(r.drill_time_to_restore.value, None);
        assert_eq!(r.evidence_complete.value, None);
        assert_eq!(r.overdue_reviews.value, Some(0.0), "no review is overdue: a count");
        let zero_quorum = ChangeApprovals {
            seq: 1,
            change: "CHG-1".into(),
            opened_at: T0,
            quorum: 0,
            signatures: vec![sig(2, T0 + 1, "user:quinn", true)],
        };
        assert!(quorum_at(&zero_quorum).is_none());
    }
}
