//! The web UI's session state: the idle clock (the last page view of each session, cached here
//! and persisted in the store) and the
//! OIDC sign-in attempts waiting for their provider. A leaf module (the server state holds
//! them; the UI's pages use them), so `state` does not depend on `ui`.

use std::collections::HashMap;
use std::sync::Mutex as AttemptsLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use ward_store::{Store, StoreError};

const MAX_TRACKED_SESSIONS: usize = 100_000;

/// A web UI session idle this long (seconds) is refused.
pub const IDLE_SECS: i64 = 30 * 60;
/// [`IDLE_SECS`] as a duration.
pub const IDLE: Duration = Duration::from_secs(IDLE_SECS as u64);
/// A session's clock is written to the store at most this often (seconds) by one process;
/// between writes this process's memory is the cache. Another process may therefore judge a
/// session up to this much idler than it is (it refuses early, never late).
pub const PERSIST_EVERY_SECS: i64 = 60;
/// Clocks last written longer ago than this are deleted from the store: every session token
/// ends [`ward_app::identities::SESSION_TTL_SECS`] after sign-in, and its clock is never older
/// than its sign-in (the idle timeout is added for clocks of replicas a little apart).
pub const PRUNE_AFTER_SECS: i64 = ward_app::identities::SESSION_TTL_SECS + IDLE_SECS;
const PRUNE_EVERY_SECS: i64 = 3600;

/// The wall clock the idle rule reads: Unix seconds. Supplied, so a test can move it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The rule (pure): a session last seen at `last` is idle at `now` (Unix seconds) once more
/// than `idle` seconds have passed. A time more than [`PERSIST_EVERY_SECS`] ahead of `now`
/// (written by a replica whose clock runs ahead) is not believed: the session is refused, since
/// such a time would otherwise hold it open past its timeout (keep the replicas' clocks in sync).
pub fn idle_at(last: i64, now: i64, idle: i64) -> bool {
    now.saturating_sub(last) > idle || last.saturating_sub(now) > PERSIST_EVERY_SECS
}

/// Unix seconds now.
pub fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What a session is being judged for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// A page view: renews the clock; a session never seen anywhere starts it.
    View,
    /// The token sent to the API as a bearer: renews a web session's clock; a token no process
    /// ever saw as a web session is not judged here.
    Bearer,
    /// A check from inside a live stream: renews nothing.
    Check,
}

/// This process's view of one session's clock.
#[derive(Clone, Copy)]
struct Seen {
    /// The last page view known here (this process's, or the store's when it was later).
    at: i64,
    /// When this process last wrote the clock to the store.
    written: i64,
}

/// The web UI sessions' idle clock (by token id). The store holds it for every process sharing
/// it ([`Store::ui_session_seen`]), written at most every [`PERSIST_EVERY_SECS`] per session;
/// this process's memory is the cache in between. A session is refused once the later of the
/// two says it has been idle longer than the timeout, whichever process saw it last: a restart
/// or another replica refuses it too.
pub struct Activity {
    seen: Mutex<HashMap<String, Seen>>,
    /// Bearer tokens the store held no web clock for, by when that was read.
    plain: Mutex<HashMap<String, i64>>,
    pruned: AtomicI64,
    clock: Clock,
}

impl Default for Activity {
    fn default() -> Activity {
        Activity::with_clock(Arc::new(system_now))
    }
}

impl Activity {
    /// An idle clock reading `clock` (Unix seconds) for the time now.
    pub fn with_clock(clock: Clock) -> Activity {
        Activity {
            seen: Mutex::default(),
            plain: Mutex::default(),
            pruned: AtomicI64::new(i64::MIN),
            clock,
        }
    }

    /// The time now by this clock (Unix seconds).
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Records a page view of session `id` at `now`. False when the session has been idle
    /// longer than `idle` seconds by the later of this process's memory and the store: it has
    /// timed out, and stays out (nothing renews a refused session). A session no process has
    /// seen starts its clock here.
    pub async fn touch(&self, store: &dyn Store, id: &str, now: i64, idle: i64) -> Result<bool, StoreError> {
        self.judge(store, id, now, idle, Use::View).await
    }

    /// For a bearer request on the API: true unless session `id` is a web session (one whose
    /// clock is in this process or the store) idle longer than `idle` — a web session's token
    /// used as a bearer token (taken from the cookie) lives by the same idle clock, and using it
    /// renews it like a page view. A token never used as a web session is not judged here.
    pub async fn bearer_allowed(&self, store: &dyn Store, id: &str, now: i64, idle: i64) -> Result<bool, StoreError> {
        self.judge(store, id, now, idle, Use::Bearer).await
    }

    /// Whether session `id` is still within its idle timeout at `now`, without renewing it:
    /// what an open live stream asks every few seconds, so that watching a page does not keep
    /// an unattended session alive. False for a session with no clock anywhere.
    pub async fn still_active(&self, store: &dyn Store, id: &str, now: i64, idle: i64) -> Result<bool, StoreError> {
        self.judge(store, id, now, idle, Use::Check).await
    }

    async fn judge(&self, store: &dyn Store, id: &str, now: i64, idle: i64, how: Use) -> Result<bool, StoreError> {
        let mem = self.seen_lock().get(id).copied();
        if let Some(m) = mem
            && !idle_at(m.at, now, idle)
        {
            // Seen here within the timeout: the memory answers, and the store is written only
            // when this process last wrote it a while ago.
            if how == Use::Check {
                return Ok(true);
            }
            if now.saturating_sub(m.written) < PERSIST_EVERY_SECS {
                if let Some(m) = self.seen_lock().get_mut(id) {
                    m.at = m.at.max(now);
                }
                return Ok(true);
            }
        }
        if mem.is_none()
            && how == Use::Bearer
            && self
                .plain_lock()
                .get(id)
                .is_some_and(|checked| now.saturating_sub(*checked) < PERSIST_EVERY_SECS)
        {
            return Ok(true);
        }
        // The store decides: this process never saw the session, last wrote it a while ago, or
        // would refuse it (another replica may have seen it since).
        let stored = store.ui_session_seen(id).await?;
        let last = mem.map(|m| m.at).max(stored);
        match (last, how) {
            (Some(t), _) if idle_at(t, now, idle) => return Ok(false),
            (None, Use::Check) => return Ok(false),
            (None, Use::Bearer) => {
                let mut plain = self.plain_lock();
                if plain.len() >= MAX_TRACKED_SESSIONS {
                    plain.retain(|_, checked| now.saturating_sub(*checked) < PERSIST_EVERY_SECS);
                }
                plain.insert(id.to_string(), now);
                return Ok(true);
            }
            (Some(t), Use::Check) => {
                // Learnt, not renewed: the store's time (another replica's page view).
                let written = stored.unwrap_or(i64::MIN);
                self.remember(id, Seen { at: t, written }, now, idle);
                return Ok(true);
            }
            _ => {}
        }
        store.see_ui_session(id, now).await?;
        self.plain_lock().remove(id);
        self.remember(id, Seen { at: now, written: now }, now, idle);
        self.prune(store, now).await;
        Ok(true)
    }

    fn remember(&self, id: &str, seen: Seen, now: i64, idle: i64) {
        let mut map = self.seen_lock();
        if map.len() >= MAX_TRACKED_SESSIONS {
            map.retain(|_, s| !idle_at(s.at, now, idle));
        }
        let entry = map.entry(id.to_string()).or_insert(seen);
        entry.at = entry.at.max(seen.at);
        entry.written = entry.written.max(seen.written);
    }

    /// At most hourly: deletes the store's clocks of sessions past their lifetime.
    async fn prune(&self, store: &dyn Store, now: i64) {
        let last = self.pruned.load(Ordering::Relaxed);
        if now.saturating_sub(last) < PRUNE_EVERY_SECS
            || self
                .pruned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = store.prune_ui_sessions(now.saturating_sub(PRUNE_AFTER_SECS)).await {
            tracing::warn!(error = %e, "the web sessions' old idle clocks were not pruned");
        }
    }

    /// Forgets session `id` here (signed out: its token is revoked, which refuses it anywhere).
    pub fn forget(&self, id: &str) {
        self.seen_lock().remove(id);
    }

    fn seen_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Seen>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn plain_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.plain.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// A signature waiting for this re-authentication (the web UI's sign page), when the
    /// attempt is one; otherwise a sign-in.
    pub(crate) sign: Option<Box<PendingSignature>>,
}

/// How long a pending signature waits for its re-authentication: the freshness window of a
/// re-authentication ([`ward_app::reauth::REAUTH_MAX_AGE_SECS`]).
pub const SIGN_PENDING: Duration = Duration::from_secs(ward_app::reauth::REAUTH_MAX_AGE_SECS as u64);

/// A signature the sign page's form asked for, kept here (never sent to the identity provider
/// and back) while the signer re-authenticates there: bound to the session that submitted it
/// and to the manifest digest the signer saw.
pub(crate) struct PendingSignature {
    /// The session's token (checked again, live, when the provider sends the browser back).
    pub(crate) session: String,
    /// The session's identity when the form was submitted.
    pub(crate) identity: String,
    pub(crate) change: String,
    pub(crate) meaning: String,
    pub(crate) reject: bool,
    pub(crate) comment: String,
    /// The manifest digest the sign page showed.
    pub(crate) manifest: String,
    /// When the form was submitted (Unix seconds): the provider's sign-in must be later
    /// (`auth_time`), so a single-sign-on session the provider reused is not a re-authentication.
    pub(crate) asked_at: i64,
}

impl Attempt {
    fn live(&self) -> bool {
        let limit = if self.sign.is_some() { SIGN_PENDING } else { PENDING };
        self.started.elapsed() < limit
    }
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
            map.retain(|_, a| a.live());
        }
        // One pending signature per session: a new one replaces the one before (a script
        // cannot fill the pool that sign-ins share).
        if let Some(session) = attempt.sign.as_ref().map(|p| p.session.clone()) {
            map.retain(|_, a| a.sign.as_ref().is_none_or(|p| p.session != session));
        }
        if map.len() >= MAX_PENDING {
            return false;
        }
        map.insert(state, attempt);
        true
    }

    /// Removes and returns the attempt under `state` when `bound` holds for it (the callback's
    /// browser is the one that started it), unless it expired. An attempt that `bound` refuses
    /// stays: knowing a `state` alone does not cancel someone's sign-in or signature.
    pub(crate) fn take_if(&self, state: &str, bound: impl Fn(&Attempt) -> bool) -> Taken {
        let mut map = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(state) {
            None => Taken::Unknown,
            Some(a) if !a.live() => {
                map.remove(state);
                Taken::Unknown
            }
            Some(a) if !bound(a) => Taken::OtherBrowser(a.provider.clone()),
            Some(_) => map.remove(state).map_or(Taken::Unknown, Taken::Attempt),
        }
    }
}

/// What [`Pending::take_if`] found.
pub(crate) enum Taken {
    /// No live attempt under that state.
    Unknown,
    /// One, started in another browser (its provider); left in place.
    OtherBrowser(String),
    /// The attempt, removed.
    Attempt(Attempt),
}

#[cfg(test)]
mod pending_tests {
    use super::*;

    fn attempt(session: Option<&str>) -> Attempt {
        Attempt {
            provider: "staff".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            browser_sha256: [7; 32],
            started: Instant::now(),
            sign: session.map(|s| {
                Box::new(PendingSignature {
                    session: s.into(),
                    identity: "staff:bob".into(),
                    change: "CHG-1".into(),
                    meaning: "approved".into(),
                    reject: false,
                    comment: String::new(),
                    manifest: "sha256:00".into(),
                    asked_at: 0,
                })
            }),
        }
    }

    /// Someone who learnt a victim's `state` cannot cancel the victim's pending signature by
    /// calling back from another browser; and one session holds one pending signature.
    #[test]
    fn a_known_state_from_another_browser_cancels_nothing_and_a_session_holds_one_pending_signature() {
        let p = Pending::default();
        assert!(p.insert("s1".into(), attempt(Some("ward_a"))));
        assert!(matches!(p.take_if("s1", |_| false), Taken::OtherBrowser(_)));
        assert!(matches!(
            p.take_if("s1", |a| a.browser_sha256 == [7; 32]),
            Taken::Attempt(_)
        ));
        assert!(matches!(p.take_if("s1", |_| true), Taken::Unknown), "used once");
        assert!(p.insert("s2".into(), attempt(Some("ward_a"))));
        assert!(p.insert("s3".into(), attempt(Some("ward_a"))));
        assert!(p.insert("s4".into(), attempt(None)));
        assert!(matches!(p.take_if("s2", |_| true), Taken::Unknown), "replaced by s3");
        assert!(matches!(p.take_if("s3", |_| true), Taken::Attempt(_)));
        assert!(
            matches!(p.take_if("s4", |_| true), Taken::Attempt(_)),
            "sign-ins are not touched"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_store::testing::TestDb;

    const IDLE: i64 = IDLE_SECS;
    const T0: i64 = 1_800_000_000;

    async fn store() -> (TestDb, Arc<dyn Store>) {
        let db = TestDb::sqlite();
        let store = ward_store::open(&db.url).await.expect("store");
        (db, store)
    }

    #[test]
    fn the_rule_refuses_only_past_the_timeout() {
        assert!(!idle_at(T0, T0 + IDLE, IDLE), "exactly the timeout");
        assert!(idle_at(T0, T0 + IDLE + 1, IDLE));
        assert!(!idle_at(T0, T0 - 5, IDLE), "a clock a little behind the store's");
        assert!(
            idle_at(T0 + 2 * 3600, T0, IDLE),
            "a time hours ahead (a replica's clock running fast) does not hold the session open"
        );
        assert!(idle_at(i64::MIN, i64::MAX, IDLE), "no overflow");
    }

    /// A session left idle past the timeout must stay out: a page view after it renews nothing.
    #[tokio::test]
    async fn a_session_idle_longer_than_the_timeout_is_refused_and_stays_refused() {
        let (db, s) = store().await;
        let a = Activity::default();
        assert!(a.touch(&*s, "s1", T0, IDLE).await.unwrap(), "first page");
        assert!(a.touch(&*s, "s1", T0 + 1799, IDLE).await.unwrap(), "within the timeout");
        assert!(
            a.touch(&*s, "s1", T0 + 3598, IDLE).await.unwrap(),
            "each page renews it"
        );
        assert!(!a.touch(&*s, "s1", T0 + 5399, IDLE).await.unwrap(), "idle too long");
        assert!(!a.touch(&*s, "s1", T0 + 5400, IDLE).await.unwrap(), "and it stays out");
        assert!(
            a.touch(&*s, "s2", T0 + 5400, IDLE).await.unwrap(),
            "another session is not affected"
        );
        a.forget("s1");
        assert!(
            !a.touch(&*s, "s1", T0 + 5401, IDLE).await.unwrap(),
            "forgetting it here does not forget the store's clock"
        );
        db.cleanup().await;
    }

    /// An open live stream checks its session every few seconds; if the check renewed the
    /// clock, a page left open on an unattended screen would keep its session alive forever.
    #[tokio::test]
    async fn watching_a_live_stream_does_not_keep_an_unattended_session_alive() {
        let (db, s) = store().await;
        let a = Activity::default();
        assert!(
            a.touch(&*s, "web", T0, IDLE).await.unwrap(),
            "the page that opened the stream"
        );
        for t in (T0 + 5..=T0 + IDLE).step_by(5) {
            assert!(a.still_active(&*s, "web", t, IDLE).await.unwrap(), "at {t}");
        }
        assert!(
            !a.still_active(&*s, "web", T0 + IDLE + 1, IDLE).await.unwrap(),
            "idle out"
        );
        assert!(
            !a.touch(&*s, "web", T0 + IDLE + 1, IDLE).await.unwrap(),
            "the checks renewed nothing: the next page is refused"
        );
        assert_eq!(s.ui_session_seen("web").await.unwrap(), Some(T0), "nor wrote anything");
        assert!(
            !Activity::default().still_active(&*s, "never", T0, IDLE).await.unwrap(),
            "no clock anywhere: not a live web session"
        );
        db.cleanup().await;
    }

    /// A restarted process, or another replica, must not take an idle session for a new one
    /// (which would give it its whole token lifetime again): the store's clock refuses it.
    #[tokio::test]
    async fn a_process_that_never_saw_a_session_refuses_it_when_the_store_says_it_is_idle() {
        let (db, s) = store().await;
        let a = Activity::default();
        assert!(a.touch(&*s, "web", T0, IDLE).await.unwrap());
        assert!(a.touch(&*s, "web", T0 + 30, IDLE).await.unwrap());
        assert_eq!(
            s.ui_session_seen("web").await.unwrap(),
            Some(T0),
            "not written each view"
        );
        assert!(a.touch(&*s, "web", T0 + 61, IDLE).await.unwrap());
        assert_eq!(
            s.ui_session_seen("web").await.unwrap(),
            Some(T0 + 61),
            "written once a minute"
        );
        let fresh = Activity::default;
        assert!(
            !fresh().touch(&*s, "web", T0 + 61 + IDLE + 1, IDLE).await.unwrap(),
            "a page"
        );
        assert!(
            !fresh()
                .bearer_allowed(&*s, "web", T0 + 61 + IDLE + 1, IDLE)
                .await
                .unwrap(),
            "the token as a bearer"
        );
        assert!(
            !fresh()
                .still_active(&*s, "web", T0 + 61 + IDLE + 1, IDLE)
                .await
                .unwrap(),
            "a stream"
        );
        assert!(
            fresh().touch(&*s, "web", T0 + 61 + IDLE - 1, IDLE).await.unwrap(),
            "within the timeout another process accepts it"
        );
        db.cleanup().await;
    }

    /// The other way round: a person moving between replicas is not signed out by a process
    /// whose own memory of them is old, when another one saw them since.
    #[tokio::test]
    async fn a_session_used_on_another_replica_is_not_idle_here() {
        let (db, s) = store().await;
        let (a, b) = (Activity::default(), Activity::default());
        assert!(a.touch(&*s, "web", T0, IDLE).await.unwrap());
        assert!(b.touch(&*s, "web", T0 + 1700, IDLE).await.unwrap());
        assert!(a.still_active(&*s, "web", T0 + 1900, IDLE).await.unwrap());
        assert!(a.touch(&*s, "web", T0 + 1900, IDLE).await.unwrap());
        db.cleanup().await;
    }

    /// The web session's token, taken from the cookie and sent as a bearer token, would
    /// otherwise live its whole 12 hours past the UI's idle timeout.
    #[tokio::test]
    async fn a_web_session_token_used_as_a_bearer_keeps_the_idle_timeout() {
        let (db, s) = store().await;
        let a = Activity::default();
        assert!(a.touch(&*s, "web", T0, IDLE).await.unwrap(), "signed in through the UI");
        assert!(
            a.bearer_allowed(&*s, "web", T0 + 1700, IDLE).await.unwrap(),
            "within the timeout"
        );
        assert!(
            a.bearer_allowed(&*s, "web", T0 + 3400, IDLE).await.unwrap(),
            "the bearer use renewed it"
        );
        assert!(
            !a.bearer_allowed(&*s, "web", T0 + 5300, IDLE).await.unwrap(),
            "idle too long"
        );
        assert!(
            !a.touch(&*s, "web", T0 + 5300, IDLE).await.unwrap(),
            "and the UI agrees"
        );
        // A CLI session (never a web session anywhere) is judged by its expiry alone, and
        // starts no clock.
        assert!(a.bearer_allowed(&*s, "cli", T0 + 40_000, IDLE).await.unwrap());
        assert!(a.bearer_allowed(&*s, "cli", T0 + 90_000, IDLE).await.unwrap());
        assert_eq!(s.ui_session_seen("cli").await.unwrap(), None);
        db.cleanup().await;
    }

    /// Clocks of sessions past any token's lifetime are deleted; a live one is kept.
    #[tokio::test]
    async fn clocks_past_every_sessions_lifetime_are_pruned() {
        let (db, s) = store().await;
        s.see_ui_session("old", T0 - PRUNE_AFTER_SECS - 1).await.unwrap();
        let a = Activity::default();
        assert!(a.touch(&*s, "web", T0, IDLE).await.unwrap());
        assert_eq!(s.ui_session_seen("old").await.unwrap(), None);
        assert_eq!(s.ui_session_seen("web").await.unwrap(), Some(T0));
        db.cleanup().await;
    }
}
