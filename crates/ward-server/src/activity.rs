//! The web UI's idle clock: the last page view of each session in this process. A leaf module
//! (the server state holds one; the UI's pages touch it), so `state` does not depend on `ui`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const MAX_TRACKED_SESSIONS: usize = 100_000;

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

    /// Forgets session `id` (signed out).
    pub fn forget(&self, id: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}
