//! Ward's local runtime: the first target of the deployment-target trait.
//!
//! - [`artifact`]: installs an artifact (an executable or a tar archive) addressed by its sha256
//!   digest into the data directory, checking the digest.
//! - [`supervisor`]: runs service instances as OS processes on loopback ports, checks readiness
//!   over HTTP and restarts crashed instances with back-off.
//! - [`router`]: the reverse proxy in front of them — weighted split between stable and canary,
//!   routing by tenant header, sticky assignment per tenant — whose route table is swapped
//!   atomically (a rollback is one swap).
//! - [`stats`]: per-version and per-tenant request, error and latency counters, as Prometheus
//!   text and as snapshots whose differences are measurement windows.
//! - [`analysis`]: judges a canary window against thresholds and the stable version: pass, fail
//!   (with the measurement) or inconclusive (too few samples).
//! - [`prometheus`]: the same verdicts from PromQL queries templated by version and tenant.
//! - [`sample`]: the sample service of `examples/sample-service`, which tests and `ward demo`
//!   deploy.
//!
//! Nothing here knows about the ledger: the promotion engine drives these pieces and records
//! what they did.

pub mod analysis;
pub mod artifact;
pub mod prometheus;
pub mod router;
#[path = "../../../examples/sample-service/service.rs"]
pub mod sample;
pub mod stats;
pub mod supervisor;

/// Pins the calling thread to `cpus` (Linux `sched_setaffinity`); threads and processes it
/// starts afterwards inherit the set. Used by benchmarks to keep the load generator off the
/// cores of the system under test.
pub fn pin_current_thread(cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: `set` is a plain bit set owned by this frame; CPU_SET only writes inside it (the
    // index is checked against its size first), and sched_setaffinity reads `size_of` bytes.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            if c >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("no CPU {c}"),
                ));
            }
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What went wrong in the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The artifact's bytes do not hash to the digest it was deployed as.
    #[error("artifact digest mismatch: expected {expected}, found {found}")]
    DigestMismatch {
        /// Digest asked for.
        expected: String,
        /// Digest of the bytes.
        found: String,
    },
    /// An artifact that cannot be run (bad archive, no entry point, too large).
    #[error("artifact: {0}")]
    Artifact(String),
    /// An artifact refused as unsafe to install (an entry or link leaving it, a device, …).
    #[error("artifact refused: {0}")]
    Unsafe(artifact::Unsafe),
    /// An instance did not become ready in time.
    #[error("{name} did not become ready within {waited_ms} ms: {detail}")]
    NotReady {
        /// Instance.
        name: String,
        /// How long we waited.
        waited_ms: u64,
        /// The last thing seen (status or error).
        detail: String,
    },
    /// Filesystem or process error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

impl RuntimeError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
        let context = context.into();
        move |source| RuntimeError::Io { context, source }
    }
}
