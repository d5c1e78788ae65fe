//! Finding the Prometheus server for the tests that need one (shared with ward-cli's tests).

use std::path::Path;

/// The Prometheus server binary (Debian package `prometheus`). Outside CI a missing one skips
/// the test with a visible `SKIPPED:` line; in CI (`.ci/run` installs it) it is a failure.
pub fn prometheus_binary() -> Option<&'static str> {
    for p in ["/usr/bin/prometheus", "/usr/local/bin/prometheus"] {
        if Path::new(p).exists() {
            return Some(p);
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "prometheus is not installed (apt-get install prometheus); .ci/run installs it"
    );
    eprintln!("SKIPPED: prometheus is not installed (apt-get install prometheus)");
    None
}
