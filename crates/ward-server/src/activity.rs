//! The web UI's per-process state: the idle clock (the last page view of each session) and the
//! OIDC sign-in attempts waiting for their provider. A leaf module (the server state holds
//! them; the UI's pages use them), so `state` does not depend on `ui`.

use std::collections::HashMap;
use std::sync::Mutex as AttemptsLock;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const MAX_TRACKED_SESSIONS: usize = 100_000;

/// A web UI session idle this long (seconds) is refused.
pub const IDLE_SECS: i64 = 30 * 60;
/// [`IDLE_SECS`] as a duration.
pub const IDLE: Duration = Duration::from_secs(IDLE_SECS as u64);

/// The last page view of each web UI session (by token id) in this process.
#[derive(Default)]
pub struct Activity(Mutex<HashMap<String, Instant>>);

impl Activity {
    /// Records a page view of session `id` at `now`. False when the session's previous page
    /// view here was more than `idle` ago: the session has timed out (and stays out while this
    /// process remembers it). A session this process has not seen (after a
    /// restart, or served by another replica until now) starts its idle clock here.
    pub fn touch(&self, id: &str, now: Instant, idle: Duration) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TRACKED_SESSIONS {
            map.retain(|_, seen| now.saturating_duration_since(*seen) <= idle);
        }
        match map.get(id) {
            Some(seen) if now.saturating_duration_since(*seen) > idle => false,
            _ => {
                map.insert(id.to_string(), now);
                true
            }
        }
    }

    /// For a bearer request on the API: true unless session `id` was started by the web UI in
    /// this process and has been idle longer than `idle` — a web session's token used as a
    /// bearer token (taken from the cookie) lives by the same idle clock, and using it renews
    /// it like a page view. A token this process did not start for the web UI is not judged here.
    pub fn bearer_allowed(&self, id: &str, now: Instant, idle: Duration) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(id) {
            None => true,
            Some(seen) if now.saturating_duration_since(*seen) > idle => false,
            Some(_) => {
                map.insert(id.to_string(), now);
                true
            }
        }
    }

    /// Forgets session `id` (signed out).
    pub fn forget(&self, id: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

/// How long an attempt waits for the provider's answer.
pub const PENDING: Duration = Duration::from_secs(600);
/// At most this many attempts wait at once (older expired ones are dropped first).
pub const MAX_PENDING: usize = 10_000;

/// One OIDC sign-in attempt waiting for the provider.
pub(crate) struct Attempt {
    pub(crate) provider: String,
    pub(crate) nonce: String,
    pub(crate) verifier: String,
    pub(crate) browser_sha256: [u8; 32],
    pub(crate) started: Instant,
}

/// Sign-in attempts waiting for the provider, by `state` (held by the `ward serve` process: a
/// sign-in must come back to the replica that started it).
#[derive(Default)]
pub struct Pending {
    attempts: AttemptsLock<HashMap<String, Attempt>>,
}

impl Pending {
    pub(crate) fn insert(&self, state: String, attempt: Attempt) -> bool {
        let mut map = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_PENDING {
            map.retain(|_, a| a.started.elapsed() < PENDING);
        }
        if map.len() >= MAX_PENDING {
            return false;
        }
        map.insert(state, attempt);
        true
    }

    /// Removes and returns the attempt under `state`, unless it expired.
    pub(crate) fn take(&self, state: &str) -> Option<Attempt> {
        self.attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(state)
            .filter(|a| a.started.elapsed() < PENDING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The web session's token, taken from the cookie and sent as a bearer token, would
    /// otherwise live its whole 12 hours past the UI's idle timeout.
    #[test]
    fn a_web_session_token_used_as_a_bearer_keeps_the_idle_timeout() {
        let a = Activity::default();
        let (t0, idle) = (Instant::now(), Duration::from_secs(1800));
        assert!(a.touch("web", t0, idle), "signed in through the UI");
        assert!(
            a.bearer_allowed("web", t0 + Duration::from_secs(1700), idle),
            "within the timeout"
        );
        assert!(
            a.bearer_allowed("web", t0 + Duration::from_secs(3400), idle),
            "the bearer use renewed it"
        );
        assert!(
            !a.bearer_allowed("web", t0 + Duration::from_secs(5300), idle),
            "idle too long"
        );
        assert!(
            !a.touch("web", t0 + Duration::from_secs(5300), idle),
            "and the UI agrees"
        );
        // A CLI session (never a web session here) is judged by its expiry alone.
        assert!(a.bearer_allowed("cli", t0 + Duration::from_secs(40_000), idle));
    }
}
