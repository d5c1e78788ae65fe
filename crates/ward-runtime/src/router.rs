//! The router: an HTTP/1.1 reverse proxy in front of the stable and canary instances.
//!
//! Each request goes to a side chosen from the current [`RouteTable`]:
//! 1. a tenant (header `X-Tenant-ID` by default) pinned to a side goes there (tenant rings);
//! 2. otherwise, with a canary, `canary_percent` of traffic goes to it — sticky per tenant (the
//!    tenant's hash picks its bucket, so raising the percentage only adds tenants) and evenly
//!    spread for requests without a tenant, or for every request when the table says
//!    `by_request` (few tenants, none of them in the canary's buckets);
//! 3. everything else goes to stable.
//!
//! The table is swapped atomically ([`Router::set_routes`]): putting all traffic back on stable
//! is one pointer swap, effective for the next request. Every request is measured in [`Stats`]
//! by version and tenant; the admin listener serves them on `/metrics` (Prometheus text) and the
//! table on `/routes`.
//!
//! **A hung instance fails its requests.** An instance must send its response headers within
//! the upstream timeout, and then never leave its body idle longer than that: otherwise the
//! client gets 504 (no headers) or a cut response, and the request counts as an error for its
//! version. A request is measured when its response has been delivered whole (latency to the
//! last byte); a response whose body errors, stalls or is abandoned before its end counts as an
//! error, whatever its status said — a canary that answers `200` and then hangs is failing.

use crate::stats::Stats;
use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
pub use ward_core::canary::{TENANT_HEADER, UPSTREAM_TIMEOUT, bucket_of};

/// The error of a response body the router passes on.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;
/// Response body type of the router.
pub type Body = BoxBody<Bytes, BodyError>;

/// Response header naming the version that answered.
pub const VERSION_HEADER: &str = "x-ward-version";

/// A version's instance the router sends traffic to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    /// Version label (recorded in metrics): usually the artifact digest.
    pub version: String,
    /// Loopback address of the instance.
    pub addr: SocketAddr,
}

/// Stable or canary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The known-good version.
    Stable,
    /// The version being exposed.
    Canary,
}

/// Where traffic goes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    /// The known-good version.
    pub stable: Option<Upstream>,
    /// The version being exposed, if any.
    pub canary: Option<Upstream>,
    /// Share (0–100) of traffic not pinned by tenant that goes to the canary.
    pub canary_percent: u8,
    /// Tenants pinned to a side (rings).
    pub tenants: BTreeMap<String, Side>,
    /// The canary share is spread by request, tenants or not, instead of sticky per tenant:
    /// for a step where sticky assignment would give the canary none of the environment's few
    /// tenants (and so no traffic to judge).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_request: bool,
}

impl RouteTable {
    /// Everything on `stable`.
    pub fn stable_only(stable: Upstream) -> RouteTable {
        RouteTable {
            stable: Some(stable),
            ..RouteTable::default()
        }
    }
}

/// The proxy.
pub struct Router {
    table: ArcSwap<RouteTable>,
    stats: Stats,
    client: Client<HttpConnector, Incoming>,
    counter: AtomicU64,
    tenant_header: HeaderName,
    upstream_timeout: Duration,
}

fn plain(status: StatusCode, msg: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(format!("{{\"error\":\"{msg}\"}}\n")))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// Hop-by-hop headers, not forwarded.
const HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

impl Router {
    /// A router with an empty table (503 until routes are set) and the default
    /// [`UPSTREAM_TIMEOUT`].
    pub fn new(tenant_header: &str) -> Arc<Router> {
        Router::with_upstream_timeout(tenant_header, UPSTREAM_TIMEOUT)
    }

    /// A router whose instances must answer (headers, then each part of the body) within
    /// `upstream_timeout`.
    pub fn with_upstream_timeout(tenant_header: &str, upstream_timeout: Duration) -> Arc<Router> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Arc::new(Router {
            table: ArcSwap::from_pointee(RouteTable::default()),
            stats: Stats::default(),
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(std::time::Duration::from_secs(30))
                .build(connector),
            counter: AtomicU64::new(0),
            tenant_header: HeaderName::from_bytes(tenant_header.as_bytes())
                .unwrap_or(HeaderName::from_static(TENANT_HEADER)),
            upstream_timeout,
        })
    }

    /// Replaces the route table (atomic: the next request sees the new one).
    pub fn set_routes(&self, t: RouteTable) {
        self.table.store(Arc::new(t));
    }

    /// The current route table.
    pub fn routes(&self) -> Arc<RouteTable> {
        self.table.load_full()
    }

    /// The measurements.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The upstream for a request from `tenant` under the current table.
    pub fn choose(&self, tenant: Option<&str>) -> Option<Upstream> {
        let t = self.table.load();
        let side = match tenant.and_then(|x| t.tenants.get(x)) {
            Some(side) => *side,
            None if t.canary.is_some() && t.canary_percent > 0 => {
                let bucket = match tenant.filter(|_| !t.by_request) {
                    Some(x) => bucket_of(x),
                    None => self.counter.fetch_add(1, Ordering::Relaxed).wrapping_mul(37) % 100,
                };
                if bucket < u64::from(t.canary_percent) {
                    Side::Canary
                } else {
                    Side::Stable
                }
            }
            None => Side::Stable,
        };
        match side {
            Side::Canary => t.canary.clone().or_else(|| t.stable.clone()),
            Side::Stable => t.stable.clone().or_else(|| t.canary.clone()),
        }
    }

    fn tenant_of(&self, req: &Request<Incoming>) -> Option<String> {
        let v = req.headers().get(&self.tenant_header)?.to_str().ok()?;
        let ok = !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        ok.then(|| v.to_string())
    }

    /// Proxies one request.
    pub async fn handle(&self, mut req: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let tenant = self.tenant_of(&req);
        let Some(up) = self.choose(tenant.as_deref()) else {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "no version is deployed here");
        };
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
        let uri = match format!("http://{}{path}", up.addr).parse::<hyper::Uri>() {
            Ok(u) => u,
            Err(_) => return plain(StatusCode::BAD_REQUEST, "bad request target"),
        };
        *req.uri_mut() = uri;
        for h in HOP {
            req.headers_mut().remove(h);
        }
        // In flight from now until measured: an analysis treats a request still unanswered as
        // possibly failed (a canary does not pass while its requests hang).
        self.stats.start(&up.version, tenant.as_deref());
        let result = tokio::time::timeout(self.upstream_timeout, self.client.request(req)).await;
        match result {
            Ok(Ok(resp)) => {
                let error = resp.status().is_server_error();
                let (mut parts, body) = resp.into_parts();
                for h in HOP {
                    parts.headers.remove(h);
                }
                if let Ok(v) = HeaderValue::from_str(&up.version) {
                    parts.headers.insert(VERSION_HEADER, v);
                }
                let pending = Pending {
                    stats: self.stats.clone(),
                    version: up.version,
                    tenant,
                    started,
                    error,
                };
                Response::from_parts(parts, Measured::new(body, pending, self.upstream_timeout).boxed())
            }
            Ok(Err(e)) => {
                self.stats
                    .observe(&up.version, tenant.as_deref(), started.elapsed(), true);
                tracing::debug!(version = %up.version, error = %e, "upstream failed");
                plain(StatusCode::BAD_GATEWAY, "the instance did not answer")
            }
            Err(_) => {
                self.stats
                    .observe(&up.version, tenant.as_deref(), started.elapsed(), true);
                plain(StatusCode::GATEWAY_TIMEOUT, "the instance did not answer in time")
            }
        }
    }

    /// Serves the proxy on `listener` until the task is aborted.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        serve_with(listener, move |req| {
            let r = self.clone();
            async move { r.handle(req).await }
        })
        .await;
    }

    /// Serves `/metrics` (Prometheus text) and `/routes` (JSON) on `listener`.
    pub async fn serve_admin(self: Arc<Self>, listener: TcpListener) {
        serve_with(listener, move |req: Request<Incoming>| {
            let r = self.clone();
            async move {
                let (ctype, body) = match req.uri().path() {
                    "/metrics" => ("text/plain; version=0.0.4", r.stats.prometheus_text()),
                    "/routes" => (
                        "application/json",
                        serde_json::to_string(&*r.routes()).unwrap_or_default(),
                    ),
                    _ => return plain(StatusCode::NOT_FOUND, "try /metrics or /routes"),
                };
                let mut resp = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
                resp.headers_mut()
                    .insert("content-type", HeaderValue::from_static(ctype));
                resp
            }
        })
        .await;
    }
}

/// Sends `n` GET requests for `path` through a router at `addr`, one after the other; the
/// versions that answered (its version header), for proving where traffic goes.
pub async fn probe_versions(addr: SocketAddr, path: &str, n: usize) -> Vec<String> {
    let client: Client<HttpConnector, http_body_util::Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut out = Vec::new();
    let Ok(uri) = format!("http://{addr}{path}").parse::<hyper::Uri>() else {
        return out;
    };
    for _ in 0..n {
        if let Ok(Ok(r)) = tokio::time::timeout(std::time::Duration::from_secs(2), client.get(uri.clone())).await
            && let Some(v) = r.headers().get(VERSION_HEADER)
        {
            out.push(v.to_str().unwrap_or_default().to_string());
        }
    }
    out
}

/// A request whose measurement waits for the end of its response body.
struct Pending {
    stats: Stats,
    version: String,
    tenant: Option<String>,
    started: Instant,
    /// The status was a server error.
    error: bool,
}

impl Pending {
    fn observe(self, failed: bool) {
        self.stats.observe(
            &self.version,
            self.tenant.as_deref(),
            self.started.elapsed(),
            self.error || failed,
        );
    }
}

/// An instance's response body, passed on frame by frame: the request is measured at its end,
/// as an error if the body failed, stayed idle longer than the timeout, or was dropped before
/// its end.
struct Measured {
    inner: Incoming,
    idle: Duration,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    pending: Option<Pending>,
}

impl Measured {
    fn new(inner: Incoming, pending: Pending, idle: Duration) -> Measured {
        let mut m = Measured {
            deadline: Box::pin(tokio::time::sleep(idle)),
            idle,
            pending: Some(pending),
            inner,
        };
        if hyper::body::Body::is_end_stream(&m.inner) {
            m.finish(false);
        }
        m
    }

    fn finish(&mut self, failed: bool) {
        if let Some(p) = self.pending.take() {
            p.observe(failed);
        }
    }
}

impl hyper::body::Body for Measured {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BodyError>>> {
        use std::future::Future as _;
        use std::task::Poll;
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.finish(false);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if hyper::body::Body::is_end_stream(&this.inner) {
                    this.finish(false);
                } else {
                    let next = tokio::time::Instant::now() + this.idle;
                    this.deadline.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish(true);
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Pending => {
                if this.pending.is_some() && this.deadline.as_mut().poll(cx).is_ready() {
                    this.finish(true);
                    return Poll::Ready(Some(Err("the instance left its response body idle too long".into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Measured {
    fn drop(&mut self) {
        // Abandoned before its end (the client gave up on a slow body, or the connection
        // broke): not delivered whole.
        let ended = hyper::body::Body::is_end_stream(&self.inner);
        self.finish(!ended);
    }
}

async fn serve_with<F, Fut>(listener: TcpListener, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let h = handler.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let h = h.clone();
                async move { Ok::<_, std::convert::Infallible>(h(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(v: &str, port: u16) -> Upstream {
        Upstream {
            version: v.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    #[tokio::test]
    async fn weighted_sticky_and_pinned_choices() {
        let r = Router::new(TENANT_HEADER);
        assert_eq!(r.choose(None), None);
        r.set_routes(RouteTable {
            stable: Some(up("v1", 1)),
            canary: Some(up("v2", 2)),
            canary_percent: 20,
            tenants: BTreeMap::from([("clinic-a".to_string(), Side::Canary)]),
            by_request: false,
        });
        let canary = (0..1000)
            .filter(|_| r.choose(None).is_some_and(|u| u.version == "v2"))
            .count();
        assert_eq!(canary, 200, "untenanted traffic splits exactly");
        assert_eq!(r.choose(Some("clinic-a")).unwrap().version, "v2");
        // Sticky: a tenant always lands on the same side; raising the share only adds tenants.
        let tenants: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
        let on_canary = |r: &Router| -> Vec<String> {
            tenants
                .iter()
                .filter(|t| r.choose(Some(t)).unwrap().version == "v2")
                .cloned()
                .collect()
        };
        let at20 = on_canary(&r);
        assert_eq!(at20, on_canary(&r));
        assert!((20..=60).contains(&at20.len()), "{}", at20.len());
        let mut t = (*r.routes()).clone();
        t.canary_percent = 50;
        r.set_routes(t);
        let at50 = on_canary(&r);
        assert!(at20.iter().all(|x| at50.contains(x)) && at50.len() > at20.len());
        r.set_routes(RouteTable::stable_only(up("v1", 1)));
        assert!(tenants.iter().all(|t| r.choose(Some(t)).unwrap().version == "v1"));
    }

    /// Five clinics, none of them in the buckets below 10: sticky, a 10% canary would get no
    /// request at all; by request it gets a tenth of every clinic's traffic.
    #[tokio::test]
    async fn a_canary_no_tenant_hashes_into_still_gets_its_share_by_request() {
        let clinics = ["clinic-a", "clinic-b", "clinic-c", "clinic-d", "clinic-e"];
        assert!(clinics.iter().all(|c| bucket_of(c) >= 10));
        let r = Router::new(TENANT_HEADER);
        let table = RouteTable {
            stable: Some(up("v1", 1)),
            canary: Some(up("v2", 2)),
            canary_percent: 10,
            ..RouteTable::default()
        };
        let canary = |r: &Router| {
            (0..1000)
                .filter(|i| r.choose(Some(clinics[i % 5])).is_some_and(|u| u.version == "v2"))
                .count()
        };
        r.set_routes(table.clone());
        assert_eq!(canary(&r), 0, "sticky: no clinic is in the canary's buckets");
        r.set_routes(RouteTable {
            by_request: true,
            ..table
        });
        assert_eq!(canary(&r), 100);
    }

    /// An instance that accepts connections and then behaves as `answer` says, for every
    /// request: raw HTTP/1.1 written by hand, so it can stall where a real server would not.
    async fn misbehaving_instance(answer: &'static [u8]) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else { return };
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(answer).await;
                    // Hold the connection open, saying nothing more.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                });
            }
        });
        port
    }

    async fn get_through(router: &Arc<Router>) -> (Option<u16>, bool) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(router.clone().serve(l));
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut got)).await;
        task.abort();
        let text = String::from_utf8_lossy(&got).to_string();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok());
        (status, read.is_ok())
    }

    /// A canary that never sends its headers would otherwise hold every request it gets and
    /// never count as failing: the router answers 504 after the upstream timeout and counts
    /// an error for that version.
    #[tokio::test]
    async fn a_canary_that_never_answers_is_counted_failing() {
        let port = misbehaving_instance(b"").await;
        let r = Router::with_upstream_timeout(TENANT_HEADER, Duration::from_millis(200));
        r.set_routes(RouteTable::stable_only(up("hung", port)));
        let before = r.stats().snapshot();
        let (status, finished) = get_through(&r).await;
        assert!(finished, "the client got an answer");
        assert_eq!(status, Some(504));
        let w = r.stats().snapshot().window(&before, "hung", None);
        assert_eq!((w.requests, w.errors), (1, 1));
    }

    /// A canary that answers `200` and then stalls in the middle of its body: the response
    /// is cut after the idle timeout and the request counts as an error, not a success.
    #[tokio::test]
    async fn a_canary_that_answers_200_then_stalls_is_counted_failing() {
        let port = misbehaving_instance(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello").await;
        let r = Router::with_upstream_timeout(TENANT_HEADER, Duration::from_millis(200));
        r.set_routes(RouteTable::stable_only(up("stalls", port)));
        let before = r.stats().snapshot();
        let (status, finished) = get_through(&r).await;
        assert!(finished, "the router cut the response instead of holding the client");
        assert_eq!(status, Some(200), "the headers had been passed on");
        let w = r.stats().snapshot().window(&before, "stalls", None);
        assert_eq!((w.requests, w.errors), (1, 1));
    }

    /// The measured body changes nothing for a healthy answer: counted once, as a success.
    #[tokio::test]
    async fn a_whole_answer_counts_once_as_a_success() {
        let port =
            misbehaving_instance(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello").await;
        let r = Router::with_upstream_timeout(TENANT_HEADER, Duration::from_millis(500));
        r.set_routes(RouteTable::stable_only(up("fine", port)));
        let before = r.stats().snapshot();
        let (status, finished) = get_through(&r).await;
        assert!(finished);
        assert_eq!(status, Some(200));
        let w = r.stats().snapshot().window(&before, "fine", None);
        assert_eq!((w.requests, w.errors), (1, 0));
    }
}
