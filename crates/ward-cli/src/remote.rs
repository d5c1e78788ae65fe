//! The client side of `--server`: the same commands against a Ward server over HTTP(S).

use crate::cli::Global;
use crate::failure::Failure;
use anyhow::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A Ward server and the caller's token.
pub struct Remote {
    base: String,
    token: Option<String>,
    client: reqwest::Client,
    /// The stored session the token came from (`ward login`), when no token was given.
    session: Option<crate::credentials::Session>,
}

/// Percent-encodes a query value: unreserved characters (RFC 3986) pass, every other byte is
/// `%XX`.
fn query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How long the CLI waits for a promotion, rollback or drill through a server: the targets of
/// every tenant in turn, each at most ten minutes.
const DEPLOYMENT_WAIT: Duration = Duration::from_secs(6 * 60 * 60);

impl Remote {
    /// The server named by `--server` / `WARD_SERVER`, if any.
    pub fn from_global(g: &Global) -> Result<Option<Remote>> {
        let Some(server) = &g.server else {
            return Ok(None);
        };
        // `--as` names a local user; through a server every action is the token holder's. Told
        // rather than ignored: a person who typed `--as dana` must not believe Dana signed.
        if g.as_user.is_some() {
            return Err(Failure::new(
                "as_with_server",
                "--as names a local user of the data directory; through a server you act as the identity of your token or sign-in",
                "drop --as (and unset WARD_AS); to act as another person, use their own sign-in or token",
            )
            .into());
        }
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(60));
        if let Some(path) = &g.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                Failure::new(
                    "bad_ca_cert",
                    format!("{}: {e}", path.display()),
                    "pass a readable PEM file to --ca-cert",
                )
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                Failure::new(
                    "bad_ca_cert",
                    format!("{}: {e}", path.display()),
                    "pass a PEM certificate",
                )
            })?;
            builder = builder.tls_certs_only([cert]);
        }
        let client = builder.build().map_err(|e| {
            Failure::new(
                "client",
                format!("cannot build the HTTP client: {e}"),
                "check the TLS set-up",
            )
        })?;
        let base = crate::credentials::server_key(server);
        // No token given: the session `ward login` stored for this server, if any. An ended
        // one is refused here, naming the fix, rather than sent to earn a bare 401.
        let session = match &g.token {
            Some(_) => None,
            None => crate::credentials::get(&base)?,
        };
        if let Some(s) = &session
            && let Some(end) = s.expires_at
        {
            let now = jiff::Timestamp::now().as_second();
            if end <= now {
                return Err(Failure::new(
                    "session_expired",
                    format!(
                        "your session at {base} as {} ended {}",
                        s.identity,
                        crate::output::when(end, now)
                    ),
                    format!("sign in again: ward --server {base} login --user NAME"),
                )
                .into());
            }
        }
        Ok(Some(Remote {
            token: g.token.clone().or_else(|| session.as_ref().map(|s| s.token.clone())),
            base,
            client,
            session,
        }))
    }

    /// The server's URL (without a trailing `/`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The stored session in use, when the token came from `ward login`.
    pub fn session(&self) -> Option<&crate::credentials::Session> {
        self.session.as_ref()
    }

    /// The same server with `token` instead (e.g. a pasted token being checked).
    pub fn with_token(mut self, token: Option<String>) -> Remote {
        self.token = token;
        self.session = None;
        self
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// GET with query parameters (names are plain tokens; values are percent-encoded, so a time
    /// with `+01:00` or a service name with spaces arrives as written).
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        let mut url = path.to_string();
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&query_value(v));
        }
        self.send(self.request(reqwest::Method::GET, &url)).await
    }

    /// GET raw bytes (a download), with query parameters as [`Remote::get`]; an error answer
    /// is reported as for JSON requests.
    pub async fn get_bytes(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<u8>> {
        let mut url = path.to_string();
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(v);
        }
        let resp = self.request(reqwest::Method::GET, &url).send().await.map_err(|e| {
            Failure::new(
                "server_unreachable",
                format!("cannot reach {}: {e}", self.base),
                "check --server / WARD_SERVER and that `ward serve` is running",
            )
        })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Failure::new("server_error", format!("reading the response: {e}"), "retry"))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        match serde_json::from_slice::<ward_server::error::ErrorBody>(&bytes) {
            Ok(body) => Err(Failure::remote(body.error.code, body.error.message, body.error.hint).into()),
            Err(_) => Err(Failure::new(
                "server_error",
                format!("the server answered {status}"),
                "check the server log",
            )
            .into()),
        }
    }

    /// POST a JSON body.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    /// POST a JSON body asking for work that changes what runs (a promotion, a rollback, a
    /// drill): waited for as long as the server works on it, which it does to its record
    /// whatever the client does (a client giving up at a minute could not know whether it ran,
    /// and running it again ran it twice).
    pub async fn post_deployment<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.send(
            self.request(reqwest::Method::POST, path)
                .json(body)
                .timeout(DEPLOYMENT_WAIT),
        )
        .await
    }

    /// PUT a JSON body.
    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.request(reqwest::Method::PUT, path).json(body)).await
    }

    /// PATCH a JSON body.
    pub async fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.send(self.request(reqwest::Method::PATCH, path).json(body)).await
    }

    /// DELETE.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T> {
        let resp = req.send().await.map_err(|e| {
            Failure::new(
                "server_unreachable",
                format!("cannot reach {}: {e}", self.base),
                "check --server / WARD_SERVER and that `ward serve` is running",
            )
        })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Failure::new("server_error", format!("reading the response: {e}"), "retry"))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                Failure::new(
                    "bad_response",
                    format!("unexpected response from the server: {e}"),
                    "check that the server runs the same Ward version",
                )
                .into()
            });
        }
        match serde_json::from_slice::<ward_server::error::ErrorBody>(&bytes) {
            Ok(body) => Err(Failure::remote(body.error.code, body.error.message, body.error.hint).into()),
            Err(_) => Err(Failure::new(
                "server_error",
                format!("the server answered {status}"),
                "check the server log",
            )
            .into()),
        }
    }
}

fn store_err(e: anyhow::Error) -> ward_store::StoreError {
    ward_store::StoreError::Invalid(e.to_string())
}

#[async_trait::async_trait]
impl ward_store::ExportSource for Remote {
    async fn checkpoints(&self) -> Result<Vec<ward_store::StoredCheckpoint>, ward_store::StoreError> {
        let list: ward_app::ops::Checkpoints = self.get("/api/v1/log/checkpoints", &[]).await.map_err(store_err)?;
        list.checkpoints
            .into_iter()
            .map(|c| {
                let root = ward_ledger::Hash::from_hex(&c.root)
                    .ok_or_else(|| ward_store::StoreError::Invalid("server sent a malformed root".into()))?;
                Ok(ward_store::StoredCheckpoint {
                    size: c.size,
                    root,
                    note: c.note,
                    created_at: String::new(),
                })
            })
            .collect()
    }

    async fn entries(&self, start: u64, limit: u64) -> Result<Vec<ward_store::StoredEntry>, ward_store::StoreError> {
        use base64::Engine;
        let page: ward_app::ops::RawEntries = self
            .get(
                "/api/v1/log/entries",
                &[("from", start.to_string()), ("limit", limit.to_string())],
            )
            .await
            .map_err(store_err)?;
        page.entries
            .into_iter()
            .map(|e| {
                let bad = || ward_store::StoreError::Invalid(format!("server sent a malformed entry {}", e.seq));
                Ok(ward_store::StoredEntry {
                    seq: e.seq,
                    leaf: base64::engine::general_purpose::STANDARD
                        .decode(&e.leaf)
                        .map_err(|_| bad())?,
                    leaf_hash: ward_ledger::Hash::from_hex(&e.leaf_hash).ok_or_else(bad)?,
                })
            })
            .collect()
    }

    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, ward_store::StoreError> {
        use base64::Engine;
        let blob: ward_app::ops::Blob = self
            .get(&format!("/api/v1/log/blobs/{digest}"), &[])
            .await
            .map_err(store_err)?;
        base64::engine::general_purpose::STANDARD
            .decode(&blob.data)
            .map(Some)
            .map_err(|_| ward_store::StoreError::Invalid(format!("server sent a malformed payload {digest}")))
    }

    async fn document(&self, digest: &str) -> Result<Option<Vec<u8>>, ward_store::StoreError> {
        use base64::Engine;
        let doc: ward_app::ops::DocumentBytes = self
            .get(&format!("/api/v1/log/documents/{digest}"), &[])
            .await
            .map_err(store_err)?;
        doc.data
            .map(|d| {
                base64::engine::general_purpose::STANDARD
                    .decode(d)
                    .map_err(|_| ward_store::StoreError::Invalid(format!("server sent a malformed document {digest}")))
            })
            .transpose()
    }

    async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<ward_ledger::Hash>, ward_store::StoreError> {
        let p: ward_app::ops::ConsistencyProof = self
            .get(
                "/api/v1/log/consistency",
                &[("from", from.to_string()), ("to", to.to_string())],
            )
            .await
            .map_err(store_err)?;
        p.proof
            .iter()
            .map(|h| {
                ward_ledger::Hash::from_hex(h).ok_or_else(|| ward_store::StoreError::Invalid("malformed proof".into()))
            })
            .collect()
    }
}
