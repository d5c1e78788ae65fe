//! Ward's sample service: a tiny appointment-reminder API the tests and the demo deploy with the
//! local runtime. Standard library only; HTTP/1.1 with keep-alive, one thread per connection.
//!
//! Behaviour comes from environment variables, so one binary gives the good version and the bad
//! ones:
//! - `PORT` (required): listens on `127.0.0.1:PORT`.
//! - `SAMPLE_VERSION`: reported in every answer (`X-Sample-Version` and the JSON body).
//! - `SAMPLE_FAIL_PERCENT` and `SAMPLE_FAIL_TENANT`: answer that share of requests with 500
//!   (only for the tenant in `X-Tenant-ID` when `SAMPLE_FAIL_TENANT` is set).
//! - `SAMPLE_EXTRA_LATENCY_MS`: sleep that long before answering (not `/healthz`).
//! - `SAMPLE_NOT_READY`: `/healthz` answers 503 (a version that never becomes ready).
//! - `SAMPLE_CRASH_AFTER`: exit(3) after that many requests (crash-restart tests).
//!
//! - `WARD_TENANT_CONFIG_DIR`: per-tenant configuration files (`<tenant>.json`) Ward delivers.
//!
//! Routes: `GET /healthz`, `GET /api/reminders` (JSON), `GET /config` (the requesting tenant's
//! configuration file as delivered, byte for byte; 404 without one), anything else 404.
//!
//! Built as the `ward-sample-service` binary (main.rs) and, as `ward_runtime::sample`, run by
//! `ward sample-service` — which is what `ward demo` deploys.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

struct Settings {
    version: String,
    fail_percent: u64,
    fail_tenant: Option<String>,
    extra_latency: Duration,
    not_ready: bool,
    crash_after: Option<u64>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn settings() -> Settings {
    let num = |n: &str| env(n).and_then(|v| v.parse::<u64>().ok());
    Settings {
        version: env("SAMPLE_VERSION").unwrap_or_else(|| "dev".into()),
        fail_percent: num("SAMPLE_FAIL_PERCENT").unwrap_or(0).min(100),
        fail_tenant: env("SAMPLE_FAIL_TENANT"),
        extra_latency: Duration::from_millis(num("SAMPLE_EXTRA_LATENCY_MS").unwrap_or(0)),
        not_ready: env("SAMPLE_NOT_READY").is_some(),
        crash_after: num("SAMPLE_CRASH_AFTER"),
    }
}

static SERVED: AtomicU64 = AtomicU64::new(0);
static FAIL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Runs the service until killed (exits 2 without a usable `PORT`).
pub fn main() {
    let Some(port) = env("PORT") else {
        eprintln!("sample-service: set PORT");
        std::process::exit(2);
    };
    let listener = match TcpListener::bind(format!("127.0.0.1:{port}")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sample-service: cannot listen on {port}: {e}");
            std::process::exit(2);
        }
    };
    let s: &'static Settings = Box::leak(Box::new(settings()));
    eprintln!("sample-service {} listening on {port}", s.version);
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = serve(stream, s);
        });
    }
}

/// Serves requests on one connection until it closes.
fn serve(stream: TcpStream, s: &Settings) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (mut length, mut tenant, mut close) = (0usize, None, false);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let v = v.trim();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => length = v.parse().unwrap_or(0),
                    "x-tenant-id" => tenant = Some(v.to_string()),
                    "connection" => close = v.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        std::io::copy(
            &mut (&mut reader).take(length.min(1 << 20) as u64),
            &mut std::io::sink(),
        )?;
        let (status, body) = answer(&path, tenant.as_deref(), s);
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        };
        write!(
            out,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Sample-Version: {}\r\n\r\n{body}",
            body.len(),
            s.version
        )?;
        out.flush()?;
        if let Some(limit) = s.crash_after
            && SERVED.fetch_add(1, Ordering::SeqCst) + 1 >= limit
        {
            eprintln!("sample-service {}: crashing after {limit} requests", s.version);
            std::process::exit(3);
        }
        if close {
            return Ok(());
        }
    }
}

fn answer(path: &str, tenant: Option<&str>, s: &Settings) -> (u16, String) {
    if path == "/healthz" {
        return if s.not_ready {
            (503, "{\"ready\":false}".into())
        } else {
            (200, "{\"ready\":true}".into())
        };
    }
    if path == "/config" {
        return tenant_config(tenant);
    }
    if !path.starts_with("/api/reminders") {
        return (404, "{\"error\":\"not found\"}".into());
    }
    if !s.extra_latency.is_zero() {
        std::thread::sleep(s.extra_latency);
    }
    let tenant_matches = s.fail_tenant.as_deref().is_none_or(|t| Some(t) == tenant);
    // Evenly spread failures: request n fails when n·p/100 steps up.
    let n = FAIL_COUNTER.fetch_add(1, Ordering::SeqCst);
    if tenant_matches && ((n + 1) * s.fail_percent / 100) > (n * s.fail_percent / 100) {
        return (
            500,
            format!("{{\"error\":\"injected failure\",\"version\":\"{}\"}}", s.version),
        );
    }
    (
        200,
        format!(
            "{{\"version\":\"{}\",\"tenant\":\"{}\",\"reminders\":[]}}",
            s.version,
            tenant.unwrap_or("")
        ),
    )
}

/// The tenant's configuration file from `WARD_TENANT_CONFIG_DIR`, as delivered.
fn tenant_config(tenant: Option<&str>) -> (u16, String) {
    let found = match (env("WARD_TENANT_CONFIG_DIR"), tenant) {
        // Tenant names Ward accepts: [a-z0-9._-], starting with a letter or digit (so no `..`
        // and no `/`); anything else cannot name a file here.
        (Some(dir), Some(t))
            if t.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
        {
            std::fs::read_to_string(std::path::Path::new(&dir).join(format!("{t}.json"))).ok()
        }
        _ => None,
    };
    match found {
        Some(text) => (200, text),
        None => (404, "{\"error\":\"no configuration for this tenant\"}".into()),
    }
}
