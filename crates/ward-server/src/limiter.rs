//! Authentication failures counted per source address in fixed windows (the limiter the auth
//! middleware consults; no HTTP here).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures allowed per source address and window before requests are refused with 429.
pub const FAILURE_LIMIT: u32 = 20;
/// The failure-counting window.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
const MAX_TRACKED: usize = 100_000;

/// Counts authentication failures per source address in fixed windows.
pub struct FailureLimiter {
    limit: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Default for FailureLimiter {
    fn default() -> FailureLimiter {
        FailureLimiter::new(FAILURE_LIMIT)
    }
}

impl FailureLimiter {
    /// A limiter allowing `limit` failures per source and window.
    pub fn new(limit: u32) -> FailureLimiter {
        FailureLimiter {
            limit,
            windows: Mutex::default(),
        }
    }

    /// Failures allowed per source and window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Whether `ip` has used up its failures in the current window.
    pub fn blocked(&self, ip: IpAddr) -> bool {
        let map = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&ip)
            .is_some_and(|(start, n)| start.elapsed() < FAILURE_WINDOW && *n >= self.limit)
    }

    /// Counts one failure; returns the count in the current window.
    pub fn record(&self, ip: IpAddr) -> u32 {
        let mut map = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (start, _)| start.elapsed() < FAILURE_WINDOW);
        }
        let entry = map.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        entry.1
    }
}
