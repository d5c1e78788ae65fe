//! The web UI against a real `ward serve` over loopback, spoken to as a browser would (plain
//! HTTP/1.1, cookies by hand): security headers on every page, sign-in with the API's password
//! check, CSRF tokens on every form, escaping of what people wrote, the access read of a change
//! page, separation of duties in the approvals inbox, and sign-out.

mod common;
use common::{Serving, add_user, as_user, json, ok, open_change, pw, register, run, serve_with, ward};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

const DIGEST: &str = "sha256:4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899";
const SCRIPT_TITLE: &str = "<script>alert('pwned')</script> reminder window";

/// One HTTP response: status, headers (names lower case) and body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value a `Set-Cookie` gives cookie `name` (none when it is not set or is cleared).
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .filter_map(|c| c.split(';').next()?.split_once('='))
            .find(|(k, v)| *k == name && !v.is_empty())
            .map(|(_, v)| v.to_string())
    }

    /// The CSRF token of the first form on the page.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + 19;
        self.body[at..].split('"').next().expect("token").to_string()
    }
}

/// A request to the server at `base` (`http://127.0.0.1:PORT`): `cookie` is the Cookie header,
/// `form` an urlencoded body (POST).
fn http(base: &str, method: &str, path: &str, cookie: Option<&str>, form: Option<&[(&str, &str)]>) -> Reply {
    let body = form.map(|f| {
        f.iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    });
    request(
        base,
        method,
        path,
        cookie,
        body.map(|b| ("application/x-www-form-urlencoded", b)),
    )
}

/// A request with an optional body of the given content type.
fn request(base: &str, method: &str, path: &str, cookie: Option<&str>, body: Option<(&str, String)>) -> Reply {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .expect("timeout");
    let (content_type, body) = match body {
        Some((t, b)) => (Some(t), Some(b)),
        None => (None, None),
    };
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let (Some(t), Some(b)) = (content_type, &body) {
        req.push_str(&format!("Content-Type: {t}\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    req.push_str(body.as_deref().unwrap_or_default());
    s.write_all(req.as_bytes()).expect("send");
    // Read the head, then exactly the body it announces: a server may keep the connection open.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "the connection closed before the response head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut rest = raw[head_end + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    loop {
        let done = match (length, chunked) {
            (Some(n), _) => rest.len() >= n,
            (None, true) => rest.ends_with(b"0\r\n\r\n"),
            (None, false) => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        rest.extend_from_slice(&buf[..n]);
    }
    let rest = String::from_utf8_lossy(&rest).into_owned();
    let body = if chunked { dechunk(&rest) } else { rest };
    Reply { status, headers, body }
}

/// Whether the only script of a page is the vendored file (`/ui/live.js`, empty element): no
/// inline script, nothing a person wrote turned into a script.
fn no_inline_script(body: &str) -> bool {
    !body
        .replace(r#"<script src="/ui/live.js" defer></script>"#, "")
        .contains("<script")
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A served data dir: alice (developer and approver) opened a change whose title holds a
/// script; bob is another approver.
struct Site {
    _tmp: tempfile::TempDir,
    d: PathBuf,
    _server: Serving,
    url: String,
    change: String,
}

fn site() -> Site {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    add_user(&d, None, "alice", &["developer", "approver"]);
    add_user(&d, None, "bob", &["approver"]);
    register(&d, DIGEST, "reminders", "1.2.0");
    let change = open_change(as_user(&d, None, "alice", &[]), SCRIPT_TITLE, DIGEST);
    let (server, url) = serve_with(&d, &[]);
    Site {
        _tmp: tmp,
        d,
        _server: server,
        url,
        change,
    }
}

/// Signs `user` in through the sign-in form; returns the session cookie (`ward_session=…`).
fn sign_in(url: &str, user: &str, password: &str) -> Reply {
    let form = http(url, "GET", "/ui/sign-in", None, None);
    assert_eq!(form.status, 200, "{}", form.body);
    let nonce = form
        .cookie("ward_sign_in")
        .expect("the sign-in form sets its nonce cookie");
    let csrf = form.csrf();
    http(
        url,
        "POST",
        "/ui/sign-in",
        Some(&format!("ward_sign_in={nonce}")),
        Some(&[("user", user), ("password", password), ("csrf", &csrf)]),
    )
}

fn session(url: &str, user: &str) -> String {
    let r = sign_in(url, user, &pw(user));
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/"));
    let token = r.cookie("ward_session").expect("a session cookie");
    let set = r
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("ward_session="))
        .expect("set-cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP over loopback: {set}");
    format!("ward_session={token}")
}

#[test]
fn every_page_carries_the_security_headers() {
    let s = site();
    let me = session(&s.url, "bob");
    let pages = [
        http(&s.url, "GET", "/ui/sign-in", None, None),
        http(&s.url, "GET", "/", None, None),
        http(&s.url, "GET", "/", Some(&me), None),
        http(&s.url, "GET", "/?service=reminders", Some(&me), None),
        http(&s.url, "GET", &format!("/ui/changes/{}", s.change), Some(&me), None),
        http(&s.url, "GET", "/ui/changes/CHG-00000000", Some(&me), None),
        http(&s.url, "GET", "/ui/inbox", Some(&me), None),
        http(&s.url, "GET", "/ui/style.css", None, None),
        http(&s.url, "POST", "/ui/sign-out", Some(&me), Some(&[("csrf", "00")])),
    ];
    for p in &pages {
        assert_eq!(
            p.header("content-security-policy"),
            Some(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
            ),
            "{}",
            p.body
        );
        assert_eq!(p.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(p.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(p.header("x-frame-options"), Some("DENY"));
        assert_eq!(p.header("cache-control"), Some("no-store"));
        assert!(no_inline_script(&p.body), "no script but the vendored file: {}", p.body);
    }
    assert_eq!(pages[5].status, 404, "an unknown change is a 404 page");
    assert!(pages[5].body.contains("CHG-00000000"), "{}", pages[5].body);
}

#[test]
fn an_unauthenticated_page_redirects_to_sign_in() {
    let s = site();
    for path in ["/", "/ui/inbox", &format!("/ui/changes/{}", s.change)] {
        for cookie in [
            None,
            Some("ward_session=ward_000000000000_0000000000000000000000000000000000000000000000000000000000000000"),
            Some("ward_session=not-a-token"),
        ] {
            let r = http(&s.url, "GET", path, cookie, None);
            assert_eq!(r.status, 303, "{path} {cookie:?}: {}", r.body);
            assert_eq!(r.header("location"), Some("/ui/sign-in"), "{path}");
            assert!(
                !r.body.contains(SCRIPT_TITLE) && !r.body.contains("reminder window"),
                "{path}"
            );
        }
    }
}

#[test]
fn a_wrong_password_is_refused_and_sets_no_session_cookie() {
    let s = site();
    for (user, password) in [
        ("bob", "wrong-horse-battery-staple"),
        ("nobody", "whatever-password"),
        ("bob", ""),
    ] {
        let r = sign_in(&s.url, user, password);
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.cookie("ward_session").is_none(), "{:?}", r.cookies());
        assert!(r.body.contains("Unknown user or wrong password"), "{}", r.body);
        assert!(!password.is_empty() && !r.body.contains(password) || password.is_empty());
    }
    // The failures are the API's: recorded as auth.failed under the UI's route.
    let log = json(&ok(run({
        let mut c = ward(&s.d, None);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    let failed = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["event"]["kind"] == "auth.failed" && e["event"]["subject"] == "route:POST /ui/sign-in")
        .count();
    assert_eq!(failed, 3, "{log}");
}

#[test]
fn a_cross_site_form_post_is_refused() {
    let s = site();
    let me = session(&s.url, "bob");
    // Sign-out without a token, with a wrong one, with the token of another session: refused.
    let other = session(&s.url, "alice");
    let others_token = http(&s.url, "GET", "/", Some(&other), None).csrf();
    for form in [
        vec![],
        vec![("csrf", "")],
        vec![("csrf", "deadbeef")],
        vec![("csrf", others_token.as_str())],
    ] {
        let r = http(&s.url, "POST", "/ui/sign-out", Some(&me), Some(&form));
        assert_eq!(r.status, 403, "{form:?}: {}", r.body);
        assert!(r.body.contains("CSRF"), "{}", r.body);
        assert!(r.cookie("ward_session").is_none());
    }
    // The session survived every forged post.
    assert_eq!(http(&s.url, "GET", "/", Some(&me), None).status, 200);
    // A sign-in form posted from elsewhere (no nonce cookie, or a token for another nonce).
    let form = http(&s.url, "GET", "/ui/sign-in", None, None);
    let csrf = form.csrf();
    let bob = pw("bob");
    let fields = [("user", "bob"), ("password", bob.as_str()), ("csrf", csrf.as_str())];
    let r = http(&s.url, "POST", "/ui/sign-in", None, Some(&fields));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.cookie("ward_session").is_none());
    let r = http(&s.url, "POST", "/ui/sign-in", Some("ward_sign_in=00ff"), Some(&fields));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.cookie("ward_session").is_none());
}

#[test]
fn a_change_title_holding_a_script_is_escaped() {
    let s = site();
    let me = session(&s.url, "bob");
    for path in [
        "/".to_string(),
        format!("/ui/changes/{}", s.change),
        "/ui/inbox".to_string(),
    ] {
        let r = http(&s.url, "GET", &path, Some(&me), None);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(no_inline_script(&r.body), "{path}: {}", r.body);
        assert!(
            r.body
                .contains("&lt;script&gt;alert('pwned')&lt;/script&gt; reminder window"),
            "{path}: the title is shown, escaped: {}",
            r.body
        );
    }
}

/// The change page links each piece of evidence to its raw document: the download is the
/// document as stored, sent as an attachment (never rendered in the page's origin), and the read
/// is recorded; a role that does not read evidence (an administrator) is refused, recorded too.
#[test]
fn a_change_pages_evidence_links_to_its_raw_document_and_the_download_is_recorded() {
    let s = site();
    let report = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures/jest-junit.xml");
    ok(run({
        let mut c = ward(&s.d, None);
        c.args(["attest", "add", "--artifact", DIGEST, "--type", "junit"])
            .arg(&report);
        c
    }));
    add_user(&s.d, None, "ada", &["admin"]);
    let bob = session(&s.url, "bob");
    let page = http(&s.url, "GET", &format!("/ui/changes/{}", s.change), Some(&bob), None);
    assert_eq!(page.status, 200, "{}", page.body);
    let link = page
        .body
        .split("href=\"")
        .filter_map(|x| x.split('"').next())
        .find(|h| h.starts_with("/ui/evidence/"))
        .unwrap_or_else(|| panic!("no link to the raw document: {}", page.body))
        .to_string();
    let doc = http(&s.url, "GET", &link, Some(&bob), None);
    assert_eq!(doc.status, 200, "{}", doc.body);
    assert_eq!(doc.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        doc.header("content-disposition"),
        Some("attachment; filename=\"jest-junit.xml\"")
    );
    assert_eq!(
        doc.body,
        std::fs::read_to_string(&report).unwrap(),
        "the document as stored"
    );
    let log = json(&ok(run({
        let mut c = ward(&s.d, None);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    let events: Vec<serde_json::Value> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["event"].clone())
        .collect();
    assert!(
        events.iter().any(|e| e["kind"] == "access.read"
            && e["actor"]["id"] == "user:bob"
            && e["payload"]["inline"]["via"] == "ui"
            && e["payload"]["inline"]["attestation"]
                .as_str()
                .is_some_and(|a| link.ends_with(a))),
        "the download is recorded"
    );
    let ada = session(&s.url, "ada");
    let refused = http(&s.url, "GET", &link, Some(&ada), None);
    assert_eq!(refused.status, 403, "{}", refused.body);
}

#[test]
fn opening_a_change_page_records_an_access_read() {
    let s = site();
    let me = session(&s.url, "bob");
    let reads = |d: &Path| -> Vec<serde_json::Value> {
        let log = json(&ok(run({
            let mut c = ward(d, None);
            c.args(["log", "show", "--limit", "1000", "--output", "json"]);
            c
        })));
        log["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["event"].clone())
            .filter(|e| e["kind"] == "access.read")
            .collect()
    };
    assert!(reads(&s.d).is_empty());
    let r = http(&s.url, "GET", &format!("/ui/changes/{}", s.change), Some(&me), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let reads = reads(&s.d);
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["actor"]["id"], "user:bob");
    assert_eq!(reads[0]["subject"], format!("change:{}", s.change));
    assert_eq!(reads[0]["payload"]["inline"]["via"], "ui");
    assert_eq!(reads[0]["payload"]["inline"]["evidence"], true);
}

#[test]
fn the_authors_inbox_leaves_out_their_own_change_while_another_approvers_lists_it() {
    let s = site();
    let alice = session(&s.url, "alice");
    let bob = session(&s.url, "bob");
    let link = format!("/ui/changes/{}", s.change);
    let hers = http(&s.url, "GET", "/ui/inbox", Some(&alice), None);
    assert_eq!(hers.status, 200, "{}", hers.body);
    assert!(!hers.body.contains(&link), "separation of duties: {}", hers.body);
    assert!(hers.body.contains("Nothing waits for your signature"), "{}", hers.body);
    let his = http(&s.url, "GET", "/ui/inbox", Some(&bob), None);
    assert!(his.body.contains(&link), "{}", his.body);
    assert!(
        his.body.contains("<td>an approval toward the quorum</td>"),
        "what waits for him: {}",
        his.body
    );
    // Once bob has signed, it no longer waits for him.
    ok(run({
        let mut c = ward(&s.d, None);
        c.args([
            "--server",
            &s.url,
            "approve",
            "--change",
            &s.change,
            "--meaning",
            "approved",
        ])
        .env("WARD_TOKEN", bob.trim_start_matches("ward_session="))
        .env("WARD_PASSWORD", pw("bob"));
        c
    }));
    let his = http(&s.url, "GET", "/ui/inbox", Some(&bob), None);
    assert!(!his.body.contains(&link), "{}", his.body);
}

/// The value of the hidden field `name` of the page's form.
fn field(page: &Reply, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}: {}", page.body))
        + marker.len();
    page.body[at..].split('"').next().expect("value").to_string()
}

/// Signing in the browser: the page shows the manifest the signature covers; a wrong password,
/// a manifest that changed after the page was read, and the change's own author are refused in
/// plain words and sign nothing; the right password signs, and the page shows the printed name,
/// the meaning and the UTC time, as the API's list of signatures does.
#[test]
fn a_person_signs_in_the_browser_and_stale_manifests_wrong_passwords_and_authors_are_refused() {
    let s = site();
    let bob = session(&s.url, "bob");
    let sign_path = format!("/ui/changes/{}/sign", s.change);
    let page = http(&s.url, "GET", &sign_path, Some(&bob), None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(DIGEST),
        "the artifact is listed in full: {}",
        page.body
    );
    let manifest = field(&page, "manifest");
    assert!(manifest.starts_with("sha256:") && page.body.contains(&manifest));
    let csrf = page.csrf();
    let submit = |cookie: &str, csrf: &str, manifest: &str, password: &str| {
        http(
            &s.url,
            "POST",
            &sign_path,
            Some(cookie),
            Some(&[
                ("csrf", csrf),
                ("manifest", manifest),
                ("meaning", "approved"),
                ("decision", "approve"),
                ("comment", "reviewed the reminder window"),
                ("password", password),
            ]),
        )
    };
    let signatures = || {
        let out = ok(run({
            let mut c = ward(&s.d, None);
            c.args(["--server", &s.url, "change", "approvals", &s.change, "--output", "json"])
                .env("WARD_TOKEN", bob.trim_start_matches("ward_session="));
            c
        }));
        json(&out)["approvals"].as_array().expect("approvals").clone()
    };

    // A wrong password signs nothing and says so.
    let wrong = submit(&bob, &csrf, &manifest, "not-bobs-password");
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("did not confirm it is you"), "{}", wrong.body);
    assert!(signatures().is_empty());

    // The change is edited after bob read the page: his signature would cover what he has not
    // seen, so it is refused as stale.
    let alice = session(&s.url, "alice");
    ok(run({
        let mut c = ward(&s.d, None);
        c.args([
            "--server",
            &s.url,
            "change",
            "update",
            &s.change,
            "--ticket",
            "https://tickets.example.org/T-9",
        ])
        .env("WARD_TOKEN", alice.trim_start_matches("ward_session="));
        c
    }));
    let stale = submit(&bob, &csrf, &manifest, &pw("bob"));
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(
        stale.body.contains("changed while you were reviewing"),
        "{}",
        stale.body
    );
    assert!(signatures().is_empty());

    // Read again, then sign: the manifestation shows who, what meaning, when (UTC).
    let page = http(&s.url, "GET", &sign_path, Some(&bob), None);
    let fresh = field(&page, "manifest");
    assert_ne!(fresh, manifest);
    let signed = submit(&bob, &csrf, &fresh, &pw("bob"));
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert!(signed.body.contains("Signed"), "{}", signed.body);
    assert!(signed.body.contains("approved"), "{}", signed.body);
    assert!(signed.body.contains(&fresh), "{}", signed.body);
    let list = signatures();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["signer"], "user:bob");
    assert_eq!(list[0]["manifest_digest"], fresh.as_str());
    assert_eq!(list[0]["reauth"], "password");
    let printed = list[0]["printed_name"].as_str().expect("printed name");
    assert!(signed.body.contains(printed), "{}", signed.body);
    // The same form submitted again (a browser's resubmit) signs nothing more.
    let again = submit(&bob, &csrf, &fresh, &pw("bob"));
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already signed"), "{}", again.body);
    assert_eq!(signatures().len(), 1);

    // The author cannot sign her own change from the browser either.
    let page = http(&s.url, "GET", &sign_path, Some(&alice), None);
    let hers = submit(&alice, &page.csrf(), &field(&page, "manifest"), &pw("alice"));
    assert_eq!(hers.status, 403, "{}", hers.body);
    assert_eq!(signatures().len(), 1);

    // A form without this session's CSRF token is refused before anything is judged.
    let forged = submit(&bob, "0000", &fresh, &pw("bob"));
    assert_eq!(forged.status, 403, "{}", forged.body);
}

/// The delivery metrics page over the demo's log: DORA's five figures and the governance
/// figures of prod, each with its sample size and the log entries it was computed from; a role
/// the API refuses metrics (an administrator) is refused the page too.
#[test]
fn the_metrics_page_traces_each_figure_to_its_log_entries() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("demo");
    ok(run({
        let mut c = ward(&tmp.path().join("unused"), None);
        c.arg("demo").arg("--keep").arg(&d);
        c
    }));
    add_user(&d, None, "val", &["approver"]);
    add_user(&d, None, "ada", &["admin"]);
    let (_server, url) = serve_with(&d, &[]);
    let val = session(&url, "val");
    let page = http(&url, "GET", "/ui/metrics?env=prod", Some(&val), None);
    assert_eq!(page.status, 200, "{}", page.body);
    for figure in [
        "deployment_frequency",
        "change_lead_time",
        "change_fail_rate",
        "failed_deployment_recovery_time",
        "deployment_rework_rate",
        "approval_latency",
        "automated_rollback_time_to_stable",
        "evidence_complete_at_deployment",
        "rollback_drill_time_to_restore",
    ] {
        assert!(page.body.contains(figure), "{figure}: {}", page.body);
    }
    assert!(
        page.body.contains("deployment.recorded"),
        "entries listed: {}",
        page.body
    );
    assert!(page.body.contains("<svg"), "a ratio drawn: {}", page.body);
    // An undeclared environment is a plain refusal page, not a crash.
    let bad = http(&url, "GET", "/ui/metrics?env=nope", Some(&val), None);
    assert_eq!(bad.status, 404, "{}", bad.body);
    let ada = session(&url, "ada");
    let refused = http(&url, "GET", "/ui/metrics", Some(&ada), None);
    assert_eq!(refused.status, 403, "{}", refused.body);
}

#[test]
fn sign_out_ends_the_session_so_the_cookie_no_longer_works() {
    let s = site();
    let me = session(&s.url, "bob");
    let board = http(&s.url, "GET", "/", Some(&me), None);
    assert_eq!(board.status, 200);
    let r = http(
        &s.url,
        "POST",
        "/ui/sign-out",
        Some(&me),
        Some(&[("csrf", &board.csrf())]),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/ui/sign-in"));
    assert!(
        r.cookies()
            .iter()
            .any(|c| c.starts_with("ward_session=;") && c.contains("Max-Age=0")),
        "{:?}",
        r.cookies()
    );
    // The old cookie, replayed, no longer works: the session token was revoked on the server.
    let again = http(&s.url, "GET", "/", Some(&me), None);
    assert_eq!(again.status, 303);
    assert_eq!(again.header("location"), Some("/ui/sign-in"));
    let token = me.trim_start_matches("ward_session=");
    let api = {
        let mut c = ward(&s.d, None);
        c.args(["--server", &s.url, "change", "list"]).env("WARD_TOKEN", token);
        run(c)
    };
    assert!(!api.status.success(), "the revoked session is refused by the API too");
}

/// `GET path` with a cookie: the status, the headers' text and the body's bytes, as sent.
fn get_bytes(base: &str, path: &str, cookie: &str) -> (u16, String, Vec<u8>) {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&raw[..at]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head, raw[at + 4..].to_vec())
}

/// An auditor finds a change with the audit search, downloads its bundle from the page, and the
/// bundle verifies offline (`ward verify bundle`) with the key the log page shows.
#[test]
fn an_auditor_downloads_a_bundle_from_the_search_page_and_it_verifies_offline() {
    let s = site();
    add_user(&s.d, None, "audrey", &["auditor"]);
    let me = session(&s.url, "audrey");
    let found = http(
        &s.url,
        "GET",
        &format!("/ui/audit?change={}", s.change),
        Some(&me),
        None,
    );
    assert_eq!(found.status, 200, "{}", found.body);
    let link = format!("/ui/audit/bundle?change={}", s.change);
    assert!(found.body.contains(&link), "{}", found.body);
    let key = ok(run({
        let mut c = ward(&s.d, None);
        c.args(["log", "key"]);
        c
    }));
    let key = key.trim();
    let log = http(&s.url, "GET", "/ui/audit/log", Some(&me), None);
    assert!(log.body.contains(key), "the log page shows the key: {}", log.body);
    let (status, head, tar) = get_bytes(&s.url, &link, &me);
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-type: application/x-tar"),
        "{head}"
    );
    let file = s.d.parent().expect("tmp").join("from-the-page.tar");
    std::fs::write(&file, &tar).expect("write the bundle");
    ok(run({
        let mut c = ward(&s.d, None);
        c.args(["verify", "bundle"]).arg(&file).args(["--key", key]);
        c
    }));
}

#[test]
fn a_role_the_api_refuses_is_refused_the_pages_and_the_refusal_is_recorded() {
    let s = site();
    add_user(&s.d, None, "adam", &["admin"]);
    add_user(&s.d, None, "pia", &["privacy-officer"]);
    // An administrator manages identities and may not read changes (Role::permits): not in the
    // UI either, and the refusal is recorded as the API's are.
    let adam = session(&s.url, "adam");
    for path in [
        "/".to_string(),
        format!("/ui/changes/{}", s.change),
        "/ui/inbox".to_string(),
    ] {
        let r = http(&s.url, "GET", &path, Some(&adam), None);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(!r.body.contains("reminder window"), "{path}: {}", r.body);
    }
    let log = json(&ok(run({
        let mut c = ward(&s.d, None);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    let denied: Vec<&serde_json::Value> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["event"])
        .filter(|e| e["kind"] == "access.denied" && e["actor"]["id"] == "user:adam")
        .collect();
    assert_eq!(denied.len(), 3, "{denied:?}");
    assert!(
        denied.iter().any(|e| e["subject"] == "route:GET /ui/changes/{id}"),
        "{denied:?}"
    );
    // A privacy officer reads changes but not evidence: the change page says it is withheld.
    let pia = session(&s.url, "pia");
    let r = http(&s.url, "GET", &format!("/ui/changes/{}", s.change), Some(&pia), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Your roles may not read evidence"), "{}", r.body);
}

/// The Debian `chromium-driver` (WebDriver for the Debian `chromium`). Outside CI a missing one
/// skips the browser test with a visible `SKIPPED:` line; in CI (`.ci/run` installs it) it is a
/// failure.
fn chromedriver() -> Option<&'static str> {
    let found = ["/usr/bin/chromedriver"]
        .into_iter()
        .find(|p| Path::new(p).exists() && Path::new("/usr/bin/chromium").exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromedriver is not installed (apt-get install chromium chromium-driver); .ci/run installs it"
        );
        eprintln!("SKIPPED: chromedriver is not installed (apt-get install chromium chromium-driver)");
    }
    found
}

/// The router port of the demo's prod environment (its `ward.toml`).
fn demo_router_port(d: &Path) -> u16 {
    let toml = std::fs::read_to_string(d.join("ward.toml")).expect("the demo's ward.toml");
    let at = toml.find("listen = \"127.0.0.1:").expect("a runtime listen address") + 20;
    toml[at..]
        .split('"')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port")
}

/// Steady requests to a router from 50 tenants until dropped (what a canary is judged on).
struct Load(
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    Vec<std::thread::JoinHandle<()>>,
);

impl Load {
    fn start(router: u16) -> Load {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let threads = (0..2u32)
            .map(|k| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut i = k;
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", router)) {
                            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                            let _ = write!(
                                s,
                                "GET /api/reminders HTTP/1.1\r\nHost: x\r\nx-tenant-id: clinic-{}\r\nConnection: close\r\n\r\n",
                                i % 50
                            );
                            let _ = s.read_to_end(&mut Vec::new());
                        }
                        i += 2;
                        std::thread::sleep(std::time::Duration::from_millis(3));
                    }
                })
            })
            .collect();
        Load(stop, threads)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.1.drain(..) {
            let _ = t.join();
        }
    }
}

/// axe-core's script (the npm package pinned in `tests/axe/`, installed by `npm ci` there — by
/// `.ci/run` or here); `None` (skipped with a `SKIPPED:` line) when it cannot be installed
/// outside CI.
fn axe_source() -> Option<String> {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/axe");
    let script = dir.join("node_modules/axe-core/axe.min.js");
    if !script.exists() {
        let installed = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "npm ci in {} failed (Node.js and npm are needed); .ci/run installs axe-core",
                dir.display()
            );
            eprintln!("SKIPPED: the accessibility check (could not install axe-core)");
            return None;
        }
    }
    Some(std::fs::read_to_string(&script).expect("axe.min.js"))
}

/// A WebDriver session of headless Chromium, driven over HTTP (the W3C protocol, JSON bodies).
struct Browser {
    _driver: Serving,
    base: String,
    session: String,
    /// The profile directory; downloads land in its `downloads/`.
    profile: tempfile::TempDir,
    /// axe-core's script, when each screenshot also checks the page's accessibility.
    axe: Option<String>,
}

impl Browser {
    fn start(bin: &str) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let driver = std::process::Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let driver = Serving(driver);
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                ready = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(ready, "chromedriver did not listen on {port}");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                // --no-sandbox: Chromium refuses to run as root with its sandbox (CI runs as root).
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--hide-scrollbars",
                         format!("--user-data-dir={}", profile.path().display())],
                // A link with `download` saves into the profile, without asking.
                "prefs": {
                    "download.default_directory": profile.path().join("downloads").display().to_string(),
                    "download.prompt_for_download": false
                }
            }
        }}});
        let r = wd_call(&base, "POST", "/session", Some(caps));
        let session = r["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        // Finding an element waits up to 10 s for it (the next page may still be loading).
        wd_call(
            &base,
            "POST",
            &format!("/session/{session}/timeouts"),
            Some(serde_json::json!({ "implicit": 10_000 })),
        );
        Browser {
            _driver: driver,
            base,
            session,
            profile,
            axe: None,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        wd_call(&self.base, method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(serde_json::json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    /// Waits (up to 30 s) until the page's URL satisfies `done` — a click that submits a form
    /// returns before the next page has loaded; returns the URL.
    fn wait_for_url(&self, done: impl Fn(&str) -> bool) -> String {
        let mut url = self.url();
        for _ in 0..300 {
            if done(&url)
                && self.call(
                    "POST",
                    "/execute/sync",
                    Some(serde_json::json!({
                        "script": "return document.readyState", "args": []
                    })),
                ) == "complete"
            {
                return url;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            url = self.url();
        }
        url
    }

    fn title(&self) -> String {
        self.call("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn find(&self, css: &str) -> String {
        let r = self.call(
            "POST",
            "/element",
            Some(serde_json::json!({"using": "css selector", "value": css})),
        );
        r["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {r}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(serde_json::json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(serde_json::json!({})));
    }

    fn css_value(&self, css: &str, property: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/css/{property}"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` in the page (a WebDriver command, not page content: the CSP does not apply).
    fn exec(&self, script: &str) -> serde_json::Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(serde_json::json!({ "script": script, "args": [] })),
        )
    }

    /// Runs axe-core (WCAG 2.x A/AA rules and best practices) on the page and asserts it finds
    /// no serious or critical violation. The script is given to the browser by the driver, not by
    /// the page (the page's CSP still forbids any script but its own).
    fn assert_accessible(&self, page: &str) {
        let Some(axe) = &self.axe else { return };
        self.exec(&format!("{axe}\n;window.__axe = axe; return true"));
        let found = self.call(
            "POST",
            "/execute/async",
            Some(serde_json::json!({
                "script": "const done = arguments[arguments.length - 1];
                    window.__axe.run(document, { resultTypes: ['violations'] })
                      .then(r => done(r.violations
                        .filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                     nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')) }))))
                      .catch(e => done([{ id: 'axe-error', help: String(e) }]));",
                "args": []
            })),
        );
        assert_eq!(
            found,
            serde_json::json!([]),
            "{page}: serious or critical accessibility violations (axe-core)"
        );
    }

    /// The live rollout region's status line, read in one script call (the region is replaced
    /// by each server-sent event, so an element found first may be gone when it is read).
    fn live_status(&self) -> String {
        self.exec("const s = document.querySelector('.rollout-status'); return s ? s.textContent : ''")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Resizes the window (the viewport follows in headless Chromium).
    fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(serde_json::json!({ "width": width, "height": height })),
        );
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (up to 15 s) for the page titled `title` (a form's answer); returns the title.
    fn wait_for_title(&self, title: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while self.title() != title && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.title()
    }

    /// Signs `user` in with the sign-in form (password [`pw`]), landing on the board at `url`.
    fn sign_in_as(&self, url: &str, user: &str) {
        self.go(&format!("{url}/ui/sign-in"));
        self.type_into("#user", user);
        self.type_into("#password", &pw(user));
        self.click("button[type=submit]");
        let board = format!("{url}/");
        assert_eq!(self.wait_for_url(|u| u == board), board, "{user} signed in");
        assert!(
            self.text("header").contains(&format!("Signed in as user:{user}")),
            "{}",
            self.text("header")
        );
    }

    /// Signs out with the header's button on the board at `url` (a refusal's page has no header).
    fn sign_out(&self, url: &str) {
        self.go(&format!("{url}/"));
        self.click("header form button[type=submit]");
        let after = self.wait_for_url(|u| u.ends_with("/ui/sign-in"));
        assert!(after.ends_with("/ui/sign-in"), "signed out: {after}");
    }

    /// The file `name` once the browser has finished downloading it (up to 60 s).
    fn downloaded(&self, name: &str) -> PathBuf {
        let file = self.profile.path().join("downloads").join(name);
        let partial = self.profile.path().join("downloads").join(format!("{name}.crdownload"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !file.exists() || partial.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "{name} was not downloaded: {:?}",
                std::fs::read_dir(self.profile.path().join("downloads"))
                    .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect::<Vec<_>>())
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        file
    }

    /// Saves a PNG of the viewport to `docs/ui/NAME.png` (after checking the page with axe-core
    /// when [`Browser::axe`] is set).
    fn screenshot(&self, name: &str) {
        self.assert_accessible(name);
        use base64::Engine as _;
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64 PNG"))
            .expect("a PNG");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui");
        std::fs::create_dir_all(&dir).expect("docs/ui");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = request(&self.base, "DELETE", &format!("/session/{}", self.session), None, None);
    }
}

/// One WebDriver command; its `value`, or a panic with the driver's error.
fn wd_call(base: &str, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let r = request(
        base,
        method,
        path,
        None,
        body.map(|b| ("application/json", b.to_string())),
    );
    let v: serde_json::Value =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {}", r.body));
    assert_eq!(r.status, 200, "{method} {path}: {v}");
    v["value"].clone()
}

/// Signs in, opens the board, a change and the inbox in headless Chromium against the demo's
/// data, signs the change, checks the stylesheet applied under the CSP, and saves the
/// screenshots in docs/ui/.
#[test]
fn a_person_signs_in_and_reads_the_board_and_a_change_in_chromium() {
    let Some(driver) = chromedriver() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("demo");
    ok(run({
        let mut c = ward(&tmp.path().join("unused"), None);
        c.arg("demo").arg("--keep").arg(&d);
        c
    }));
    add_user(&d, None, "val", &["approver"]);
    add_user(&d, None, "audrey", &["auditor"]);
    add_user(&d, None, "rm", &["release-manager"]);
    let (_server, url) = serve_with(&d, &[]);
    let mut browser = Browser::start(driver);
    // Every page screenshotted is checked with axe-core: no serious or critical violation.
    browser.axe = axe_source();

    browser.go(&format!("{url}/"));
    assert!(browser.url().ends_with("/ui/sign-in"), "{}", browser.url());
    assert_eq!(
        browser.css_value(".brand", "font-weight"),
        "700",
        "the stylesheet applies under the CSP"
    );
    browser.screenshot("sign-in");
    browser.type_into("#user", "val");
    browser.type_into("#password", "wrong-password-entirely");
    browser.click("button[type=submit]");
    assert!(browser.text(".error").contains("Unknown user or wrong password"));
    browser.type_into("#password", &pw("val"));
    browser.click("button[type=submit]");
    let board = format!("{url}/");
    assert_eq!(browser.wait_for_url(|u| u == board), board, "signed in, on the board");
    assert_eq!(browser.title(), "Release board · Ward");
    assert!(browser.text("main").contains("prod"), "{}", browser.text("main"));
    browser.screenshot("board");

    browser.click("main table tbody tr td a[href^='/ui/changes/']");
    let change = browser.wait_for_url(|u| u.contains("/ui/changes/CHG-"));
    assert!(change.contains("/ui/changes/CHG-"), "{change}");
    let page = browser.text("main");
    for section in ["Evidence", "Gate decisions", "Approvals", "Deployments"] {
        assert!(page.contains(section), "{section}: {page}");
    }
    browser.screenshot("change");

    browser.go(&format!("{url}/ui/inbox"));
    assert_eq!(browser.title(), "Approvals inbox · Ward");
    browser.screenshot("inbox");

    browser.go(&format!("{url}/ui/metrics?env=prod"));
    assert_eq!(browser.title(), "Delivery metrics · Ward");
    assert!(
        browser.text("main").contains("change_fail_rate"),
        "{}",
        browser.text("main")
    );
    browser.screenshot("metrics");

    // Rollouts: the demo's bad canary, rolled back automatically, with its analyses and its time
    // to stable; times shown in the viewer's zone by the vendored script, UTC on hover.
    browser.go(&format!("{url}/ui/rollouts"));
    assert_eq!(browser.title(), "Rollouts · Ward");
    let list = browser.text("main");
    assert!(list.contains("failed") && list.contains("completed"), "{list}");
    browser.screenshot("rollouts");
    let failed = browser.exec(
        "const row = [...document.querySelectorAll('main tbody tr')].find(r => r.textContent.includes('failed')); return row ? row.querySelector('a').href : null",
    );
    let failed = failed.as_str().unwrap_or_else(|| panic!("a failed rollout: {list}"));
    browser.go(failed);
    let rollout = browser.text("main");
    for shown in [
        "Automated rollback",
        "All traffic back on stable",
        "Analyses",
        "Traffic split",
        "fail",
    ] {
        assert!(rollout.contains(shown), "{shown}: {rollout}");
    }
    let when = browser.exec("const t = document.querySelector('main time[title]'); return [t.textContent, t.title]");
    let (local, utc) = (
        when[0].as_str().unwrap_or_default(),
        when[1].as_str().unwrap_or_default(),
    );
    assert!(utc.ends_with(" UTC"), "{when}");
    assert_ne!(local, utc, "the script ran under the CSP and showed the viewer's time");
    assert!(
        browser.text("#live-state").contains("Finished"),
        "{}",
        browser.text("#live-state")
    );
    browser.screenshot("rollout");

    // A release manager starts the bad release again while the page is open on it: the canary
    // breaches under load, is rolled back automatically, and the page shows it as it happens —
    // over server-sent events, without a reload.
    let bad_change =
        browser.exec("return document.querySelector('main dl.facts a[href^=\"/ui/changes/\"]').textContent");
    let bad_change = bad_change.as_str().expect("the rollout's change").to_string();
    let rm = session(&url, "rm");
    let started = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "--server",
            &url,
            "rollout",
            "start",
            "--change",
            &bad_change,
            "--env",
            "prod",
            "--output",
            "json",
        ])
        .env("WARD_TOKEN", rm.trim_start_matches("ward_session="));
        c
    })));
    let live_id = started["id"].as_str().expect("a rollout id").to_string();
    browser.go(&format!("{url}/ui/rollouts/{live_id}"));
    browser.exec("window.__sameDocument = true; return true");
    // No traffic yet: the canary waits for a verdict (several windows before it would pause).
    let before = browser.live_status();
    assert!(before.contains("running"), "{before}");
    let load = Load::start(demo_router_port(&d));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let status = browser.live_status();
        let state = browser.exec("return document.getElementById('live-state').textContent");
        if status.contains("failed") && state.as_str().unwrap_or_default().contains("Finished") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page did not show the rollback: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        browser.exec("return window.__sameDocument === true"),
        serde_json::json!(true),
        "updated in place, not reloaded"
    );
    let live = browser.text("#live");
    assert!(live.contains("Automated rollback") && live.contains("fail"), "{live}");
    browser.screenshot("rollout-live");
    drop(load);

    for (path, title, shot) in [
        ("/ui/deployments", "Deployments · Ward", "deployments"),
        ("/ui/waivers", "Waivers · Ward", "waivers"),
        ("/ui/reviews", "Break-glass reviews · Ward", "reviews"),
    ] {
        browser.go(&format!("{url}{path}"));
        assert_eq!(browser.title(), title);
        browser.screenshot(shot);
    }

    // A 390 px phone: the board wraps, its tables scroll inside their containers, the page does
    // not scroll sideways.
    browser.resize(390, 844);
    browser.go(&format!("{url}/"));
    let overflow = browser.exec("return document.documentElement.scrollWidth - document.documentElement.clientWidth");
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the board scrolls sideways by {overflow} px at 390 px"
    );
    browser.screenshot("board-phone");
    browser.go(failed);
    let overflow = browser.exec("return document.documentElement.scrollWidth - document.documentElement.clientWidth");
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the rollout page scrolls sideways by {overflow} px at 390 px"
    );
    browser.resize(1280, 1000);

    // Sign the change in the browser: the manifest is shown, the password asked for, and the
    // signature's manifestation shown once signed.
    browser.go(&change);
    browser.click("a.button[href$='/sign']");
    let sign = browser.wait_for_url(|u| u.ends_with("/sign"));
    assert!(sign.ends_with("/sign"), "{sign}");
    let shown = browser.text("main");
    assert!(shown.contains("What you sign") && shown.contains("sha256:"), "{shown}");
    browser.type_into("#comment", "reviewed in the browser");
    browser.type_into("#password", &pw("val"));
    browser.screenshot("sign");
    browser.click("form.sign button[type=submit]");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while browser.title() != "Signed · Ward" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(browser.title(), "Signed · Ward", "{}", browser.text("main"));
    let signed = browser.text("main");
    assert!(signed.contains("user:val") && signed.contains("(UTC)"), "{signed}");
    browser.screenshot("signed");

    browser.click("header form button[type=submit]");
    let after = browser.wait_for_url(|u| u.ends_with("/ui/sign-in"));
    assert!(after.ends_with("/ui/sign-in"), "{after}");
    browser.go(&format!("{url}/"));
    let again = browser.url();
    assert!(again.ends_with("/ui/sign-in"), "signed out: {again}");

    // An auditor: search by change, a period's population and a sample, the checkpoint and key.
    browser.type_into("#user", "audrey");
    browser.type_into("#password", &pw("audrey"));
    browser.click("button[type=submit]");
    browser.wait_for_url(|u| u == board);
    let change_id = change.rsplit('/').next().unwrap_or_default().to_string();
    browser.go(&format!("{url}/ui/audit?change={change_id}"));
    assert_eq!(browser.title(), "Audit search · Ward");
    let found = browser.text("main");
    assert!(
        found.contains("entries found") && found.contains(&format!("bundle-{change_id}.tar")),
        "{found}"
    );
    browser.screenshot("audit-search");
    browser.go(&format!(
        "{url}/ui/audit/population?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&n=2&seed=FY26"
    ));
    let population = browser.text("main");
    assert!(
        population.contains("Sample: 2 of") && population.contains("population.csv"),
        "{population}"
    );
    browser.screenshot("audit-population");
    browser.go(&format!("{url}/ui/audit/log"));
    let log = browser.text("main");
    assert!(log.contains("Tree size") && log.contains("ward verify bundle"), "{log}");
    browser.screenshot("audit-log");
    // An auditor has no operator actions on a running rollout (the API's Promote).
    let running = json(&ok(run({
        let mut c = ward(&d, None);
        c.args([
            "--server",
            &url,
            "rollout",
            "start",
            "--change",
            &bad_change,
            "--env",
            "prod",
            "--output",
            "json",
        ])
        .env("WARD_TOKEN", rm.trim_start_matches("ward_session="));
        c
    })));
    let running = running["id"].as_str().expect("a rollout id").to_string();
    browser.go(&format!("{url}/ui/rollouts/{running}"));
    assert!(browser.live_status().contains("running"));
    let forms = browser.exec("return document.querySelectorAll('form.operator').length");
    assert_eq!(forms, serde_json::json!(0), "no operator form for an auditor");

    // The release manager aborts it from the page: the form posts through the API's engine
    // command, and the rollout is rolled back by her.
    browser.click("header form button[type=submit]");
    browser.wait_for_url(|u| u.ends_with("/ui/sign-in"));
    browser.type_into("#user", "rm");
    browser.type_into("#password", &pw("rm"));
    browser.click("button[type=submit]");
    browser.wait_for_url(|u| u == board);
    browser.go(&format!("{url}/ui/rollouts/{running}"));
    browser.type_into("#reason", "aborted from the web UI by the release manager");
    browser.screenshot("rollout-operator");
    browser.click("form.operator button.danger");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = browser.exec("const s = document.querySelector('.rollout-status'); return s ? s.textContent : ''");
        if status.as_str().unwrap_or_default().contains("aborted") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not aborted: {status}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let page = browser.text("main");
    assert!(
        page.contains("Aborted") && page.contains("by user:rm") && page.contains("aborted from the web UI"),
        "{page}"
    );
}

/// The log's events of `kind`, oldest first (read with the CLI, as an operator would).
fn events_of(d: &Path, kind: &str) -> Vec<serde_json::Value> {
    let log = json(&ok(run({
        let mut c = ward(d, None);
        c.args(["log", "show", "--limit", "100000", "--output", "json"]);
        c
    })));
    log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["event"].clone())
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// The issue's "Done when", tried as each person would, in headless Chromium against `ward
/// serve` over the demo's data: a developer opens a PHI change with the CLI (as developers do);
/// then, in the browser only, the privacy officer finds it in her inbox and signs the privacy
/// review, an approver is refused that meaning and signs the approval, the developer is refused
/// signing his own change, the release manager reads the gate's reasons and fixes, signs, checks
/// the gate again, is refused a promotion that skips staging, deploys to staging and runs a
/// rollback drill, and an auditor finds the change, downloads its bundle and it verifies
/// offline. Every action and refusal is checked on the page and in the log.
#[test]
fn four_people_do_their_jobs_in_chromium_without_the_cli() {
    let Some(driver) = chromedriver() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("demo");
    ok(run({
        let mut c = ward(&tmp.path().join("unused"), None);
        c.arg("demo").arg("--keep").arg(&d);
        c
    }));
    // The demo's fixed scheduling-api build (tests, SAST, SBOM, Trivy, provenance and rollback
    // plan attached by its CI): the artifact of its PHI change.
    let listed = json(&ok(run({
        let mut c = ward(&d, None);
        c.args(["change", "list", "--output", "json"]);
        c
    })));
    let fixed = listed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["title"] == "Patient lookup by date of birth")
        .and_then(|c| c["artifacts"][0].as_str())
        .unwrap_or_else(|| panic!("the demo's PHI change: {listed}"))
        .to_string();
    // A developer (who also approves other people's changes), and the four people.
    add_user(&d, None, "devon", &["developer", "approver"]);
    add_user(&d, None, "pia", &["privacy-officer"]);
    add_user(&d, None, "val", &["approver"]);
    add_user(&d, None, "rm", &["release-manager"]);
    add_user(&d, None, "audrey", &["auditor"]);
    // The developer opens a change touching a PHI path ([risk] of the demo's ward.toml: **/phi/**).
    let opened = json(&ok(run(as_user(
        &d,
        None,
        "devon",
        &[
            "change",
            "open",
            "--title",
            "Allergies on the appointment card",
            "--ticket",
            "https://tickets.example.org/SCHED-431",
            "--artifact",
            &fixed,
            "--path",
            "src/phi/appointment_card.py",
            "--env",
            "staging",
            "--env",
            "prod",
            "--output",
            "json",
        ],
    ))));
    let id = opened["id"].as_str().expect("change id").to_string();
    assert_eq!(opened["tier"], "high", "{opened}");
    assert!(
        opened["classification"]["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "phi")),
        "{opened}"
    );
    let (_server, url) = serve_with(&d, &[]);
    let mut browser = Browser::start(driver);
    browser.axe = axe_source();
    let change_page = format!("{url}/ui/changes/{id}");
    let sign_page = format!("{change_page}/sign");
    let meanings = |b: &Browser| -> Vec<String> {
        let v = b.exec("return [...document.querySelectorAll('#meaning option')].map(o => o.value)");
        serde_json::from_value(v).expect("the meanings offered")
    };
    let refusals = |who: &str| -> Vec<String> {
        events_of(&d, "approval.refused")
            .iter()
            .filter(|e| e["actor"]["id"] == who && e["subject"] == format!("change:{id}"))
            .map(|e| e["payload"]["inline"]["code"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let signatures = || -> Vec<(String, String)> {
        events_of(&d, "approval.signed")
            .iter()
            .filter(|e| e["subject"] == format!("change:{id}"))
            .map(|e| {
                (
                    e["actor"]["id"].as_str().unwrap_or_default().to_string(),
                    e["payload"]["inline"]["meaning"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    };
    // Signs on the open sign page with `meaning`; returns the page's title.
    let sign = |b: &Browser, user: &str, meaning: &str, comment: &str| -> String {
        b.click(&format!("#meaning option[value='{meaning}']"));
        b.type_into("#comment", comment);
        b.type_into("#password", &pw(user));
        b.click("form.sign button[type=submit]");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !["Signed · Ward", "Not signed · Ward"].contains(&b.title().as_str()) {
            assert!(std::time::Instant::now() < deadline, "{}", b.text("main"));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        b.title()
    };

    // 1. The privacy officer: the change waits in her inbox; the sign page shows the manifest;
    //    she signs the privacy review with her password and sees the manifestation.
    browser.sign_in_as(&url, "pia");
    browser.click("header nav a[href='/ui/inbox']");
    browser.wait_for_url(|u| u.ends_with("/ui/inbox"));
    let inbox = browser.text("main");
    assert!(
        inbox.contains(&id) && inbox.contains("Allergies on the appointment card"),
        "{inbox}"
    );
    // Her row says what waits for her: the privacy review, not the quorum she cannot complete.
    let row = inbox.lines().find(|l| l.contains(&id)).unwrap_or_default();
    assert!(row.contains("privacy-review") && !row.contains("quorum"), "{row}");
    browser.click(&format!("main a[href='/ui/changes/{id}/sign']"));
    assert_eq!(browser.wait_for_url(|u| u.ends_with("/sign")), sign_page);
    let shown = browser.text("main");
    for part in [
        "What you sign",
        "Manifest",
        "Change content",
        "Artifacts",
        "Evidence",
        "Policy",
        fixed.as_str(),
    ] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    let manifest = browser.exec("return document.querySelector('input[name=manifest]').value");
    let manifest = manifest.as_str().expect("the manifest digest").to_string();
    assert!(manifest.starts_with("sha256:") && shown.contains(&manifest), "{shown}");
    assert_eq!(
        meanings(&browser),
        ["privacy-review"],
        "a privacy officer signs the privacy review, not toward the quorum"
    );
    assert_eq!(
        sign(&browser, "pia", "privacy-review", "no PHI leaves the clinic"),
        "Signed · Ward"
    );
    let signed = browser.text("main");
    for part in ["pia Example", "privacy-review", "(UTC)", &manifest, "user:pia"] {
        assert!(signed.contains(part), "{part}: {signed}");
    }
    let at = browser.exec("return document.querySelector('p.signature time').getAttribute('datetime')");
    assert!(
        at.as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()),
        "the signature's time: {at}"
    );
    assert_eq!(signatures(), [("user:pia".to_string(), "privacy-review".to_string())]);
    browser.sign_out(&url);

    // 2. The approver: not offered the privacy review; a form forged to ask for it is refused
    //    in plain words and recorded; then she signs her approval.
    browser.sign_in_as(&url, "val");
    browser.go(&format!("{url}/ui/inbox"));
    assert!(browser.text("main").contains(&id), "{}", browser.text("main"));
    browser.click(&format!("main a[href='/ui/changes/{id}/sign']"));
    browser.wait_for_url(|u| u.ends_with("/sign"));
    let offered = meanings(&browser);
    assert!(
        offered.iter().any(|m| m == "approved") && !offered.iter().any(|m| m == "privacy-review"),
        "{offered:?}"
    );
    browser.exec(
        "const s = document.getElementById('meaning'); const o = document.createElement('option');
         o.value = o.textContent = 'privacy-review'; s.appendChild(o); return true",
    );
    assert_eq!(sign(&browser, "val", "privacy-review", "forged"), "Not signed · Ward");
    let refused = browser.text("main");
    assert!(
        refused.contains("Your role does not sign with this meaning")
            && refused.contains("A privacy review is signed by a privacy officer")
            && refused.contains("Nothing was signed"),
        "{refused}"
    );
    assert_eq!(refusals("user:val"), ["meaning_needs_role"]);
    assert_eq!(signatures().len(), 1, "nothing signed by the refusal");
    browser.click("main a[href$='/sign']");
    browser.wait_for_url(|u| u.ends_with("/sign"));
    assert_eq!(
        sign(&browser, "val", "approved", "allergy list reviewed"),
        "Signed · Ward"
    );
    let signed = browser.text("main");
    assert!(
        signed.contains("val Example") && signed.contains("approved") && signed.contains("(UTC)"),
        "{signed}"
    );
    assert_eq!(signatures().last().map(|s| s.1.as_str()), Some("approved"));
    browser.sign_out(&url);

    // 3. The developer who opened it: his inbox leaves it out; signing it anyway from its page is
    //    refused (separation of duties) in plain words, and recorded.
    browser.sign_in_as(&url, "devon");
    browser.go(&format!("{url}/ui/inbox"));
    assert!(!browser.text("main").contains(&id), "{}", browser.text("main"));
    browser.go(&change_page);
    browser.click("a.button[href$='/sign']");
    browser.wait_for_url(|u| u.ends_with("/sign"));
    assert_eq!(
        sign(&browser, "devon", "approved", "my own change"),
        "Not signed · Ward"
    );
    let refused = browser.text("main");
    assert!(
        refused.contains("You opened this change, so you cannot sign it")
            && refused.contains("Separation of duties")
            && refused.contains("Nothing was signed"),
        "{refused}"
    );
    browser.screenshot("sign-refused");
    assert_eq!(refusals("user:devon"), ["opener_cannot_sign"]);
    assert_eq!(signatures().len(), 2);
    browser.sign_out(&url);

    // 4. The release manager: the change on the board; its page shows the two signatures; the
    //    gate's remaining reasons with their fixes; she follows "do it here", signs, and the gate
    //    allows; prod before staging is refused; she deploys to staging and runs a drill.
    browser.sign_in_as(&url, "rm");
    assert!(
        browser.text("main").contains(&id),
        "on the board: {}",
        browser.text("main")
    );
    browser.click(&format!("main a[href='/ui/changes/{id}']"));
    assert_eq!(browser.wait_for_url(|u| u.contains("/ui/changes/")), change_page);
    let page = browser.text("main");
    for part in [
        "**/phi/**",
        "pia Example",
        "privacy-review",
        "val Example",
        "current",
        "Release",
    ] {
        assert!(page.contains(part), "{part}: {page}");
    }
    let choose = |b: &Browser, env: &str| b.click(&format!("#release-env option[value='{env}']"));
    choose(&browser, "staging");
    browser.click("#release button[formaction$='/gate']");
    browser.wait_for_url(|u| u.ends_with("#decisions"));
    let page = browser.text("main");
    assert!(page.contains("staging: blocked"), "{page}");
    assert!(
        page.contains("approvals.role.release-manager") && page.contains("fix: ask a release-manager to sign it"),
        "the remaining reason and its fix: {page}"
    );
    assert!(
        !page.contains("checklist.privacy-review"),
        "the privacy review counts: {page}"
    );
    let blocked = events_of(&d, "gate.evaluated");
    let blocked = blocked.last().expect("a decision");
    assert_eq!(blocked["actor"]["id"], "user:rm");
    assert_eq!(blocked["payload"]["inline"]["allow"], false);
    // Deploying while the gate blocks is refused, with the gate's reasons; nothing is deployed.
    let deployments = |env: &str| -> Vec<serde_json::Value> {
        events_of(&d, "deployment.recorded")
            .into_iter()
            .filter(|e| e["payload"]["inline"]["change"] == id.as_str() && e["payload"]["inline"]["environment"] == env)
            .collect()
    };
    choose(&browser, "staging");
    browser.click("#release button[formaction$='/promote']");
    browser.wait_for_title("Ward · Ward");
    let refused = browser.text("main");
    assert!(
        refused.contains("the staging gate blocks") && refused.contains("approvals.role.release-manager"),
        "the refusal says why: {refused}"
    );
    assert!(deployments("staging").is_empty(), "{refused}");
    // Its link leads back to the change's decisions, where each reason has its fix.
    browser.click("main a[href$='#decisions']");
    browser.wait_for_url(|u| u.ends_with("#decisions"));
    assert!(browser.url().starts_with(&change_page), "{}", browser.url());
    // The reason's own link to where it is fixed.
    browser.exec(
        "[...document.querySelectorAll('main li')].find(l => l.textContent.includes('approvals.role.release-manager'))
           .querySelector('a').click(); return true",
    );
    browser.wait_for_url(|u| u.ends_with("/sign"));
    let offered = meanings(&browser);
    assert!(offered.iter().any(|m| m == "release-authority"), "{offered:?}");
    assert_eq!(
        sign(&browser, "rm", "release-authority", "release approved"),
        "Signed · Ward"
    );
    assert!(browser.text("main").contains("rm Example"), "{}", browser.text("main"));
    browser.click("main a[href^='/ui/changes/']");
    browser.wait_for_url(|u| u == change_page);
    choose(&browser, "staging");
    browser.click("#release button[formaction$='/gate']");
    browser.wait_for_url(|u| u.ends_with("#decisions"));
    let page = browser.text("main");
    assert!(page.contains("staging: allowed"), "{page}");
    let allowed = events_of(&d, "gate.evaluated");
    let allowed = allowed.last().expect("a decision");
    assert_eq!(allowed["payload"]["inline"]["allow"], true, "{allowed}");
    assert_eq!(allowed["actor"]["id"], "user:rm");
    browser.exec("document.getElementById('release').scrollIntoView(); return true");
    browser.screenshot("release");
    browser.go(&change_page);
    choose(&browser, "staging");
    browser.click("#release button[formaction$='/promote']");
    browser.wait_for_url(|u| u.ends_with("#deployments"));
    let page = browser.text("main");
    assert!(page.contains("succeeded") && page.contains("user:rm"), "{page}");
    let staged = deployments("staging");
    assert_eq!(staged.len(), 1, "{staged:?}");
    assert_eq!(staged[0]["payload"]["inline"]["status"], "succeeded");
    assert_eq!(staged[0]["payload"]["inline"]["executed_by"], "user:rm");
    let approvals = &staged[0]["payload"]["inline"]["approvals"];
    for who in ["user:pia", "user:val", "user:rm"] {
        assert!(
            approvals.as_array().is_some_and(|a| a.iter().any(|x| x == who)),
            "{who}: {approvals}"
        );
    }
    // The board shows it running in staging, and waiting to be promoted to prod.
    browser.click("header nav a[href='/']");
    browser.wait_for_url(|u| u == format!("{url}/"));
    let section = |b: &Browser, env: &str| -> String {
        let text = b.exec(&format!(
            "const h = [...document.querySelectorAll('main h2')].find(h => h.firstChild.textContent === '{env}');
             let t = ''; for (let e = h.nextElementSibling; e && e.tagName !== 'H2'; e = e.nextElementSibling) t += e.textContent + '\\n';
             return t"
        ));
        text.as_str().unwrap_or_default().to_string()
    };
    let staging = section(&browser, "staging");
    assert!(staging.contains(&id), "{staging}");
    let prod = section(&browser, "prod");
    assert!(prod.contains("Waiting to be promoted") && prod.contains(&id), "{prod}");
    // A rollback drill in prod from the rollouts page.
    let drills = events_of(&d, "drill.recorded").len();
    browser.click("header nav a[href='/ui/rollouts']");
    browser.wait_for_url(|u| u.ends_with("/ui/rollouts"));
    browser.click("form.operator[action='/ui/environments/prod/drill'] button[type=submit]");
    assert_eq!(
        browser.wait_for_title("Rollback drill · Ward"),
        "Rollback drill · Ward",
        "{}",
        browser.text("main")
    );
    let drill = browser.text("main");
    assert!(
        drill.contains("Time to restore") && drill.contains("returned to"),
        "{drill}"
    );
    let recorded = events_of(&d, "drill.recorded");
    assert_eq!(recorded.len(), drills + 1);
    assert_eq!(
        recorded.last().map(|e| &e["actor"]["id"]),
        Some(&serde_json::json!("user:rm"))
    );
    browser.sign_out(&url);

    // 5. The auditor: searches for the change, sees its signatures and refusals, downloads its
    //    bundle from the page; it verifies offline with the key the log page shows.
    browser.sign_in_as(&url, "audrey");
    browser.click("header nav a[href='/ui/audit']");
    browser.wait_for_url(|u| u.ends_with("/ui/audit"));
    browser.type_into("#change", &id);
    browser.click("form.search button[type=submit]");
    browser.wait_for_url(|u| u.contains("change="));
    let found = browser.text("main");
    for part in [
        "entries found",
        "approval.signed",
        "approval.refused",
        "deployment.recorded",
        "user:pia",
    ] {
        assert!(found.contains(part), "{part}: {found}");
    }
    let name = format!("bundle-{id}.tar");
    browser.click(&format!("main a[download][href='/ui/audit/bundle?change={id}']"));
    let file = browser.downloaded(&name);
    let bundles: Vec<serde_json::Value> = events_of(&d, "access.bundle")
        .into_iter()
        .filter(|e| e["actor"]["id"] == "user:audrey")
        .collect();
    assert_eq!(bundles.len(), 1, "the download is recorded: {bundles:?}");
    browser.click("nav.sub a[href='/ui/audit/log']");
    browser.wait_for_url(|u| u.ends_with("/ui/audit/log"));
    let key = browser.exec("return [...document.querySelectorAll('main pre.note')].pop().textContent");
    let key = key.as_str().expect("the verifier key").trim().to_string();
    let cli_key = ok(run({
        let mut c = ward(&d, None);
        c.args(["log", "key"]);
        c
    }));
    assert_eq!(key, cli_key.trim(), "the page shows the log's key");
    let verified = ok(run({
        let mut c = ward(&d, None);
        c.args(["verify", "bundle"]).arg(&file).args(["--key", &key]);
        c
    }));
    assert!(verified.contains(&id), "{verified}");
}

// ---------------------------------------------------------------------------------------------
// OIDC sign-in in the browser, against a real OpenID provider (the npm package oidc-provider,
// crates/ward-cli/tests/oidc/provider.mjs), driven as a browser would (plain HTTP, cookies by
// hand): the authorization-code flow with PKCE.

/// The test provider's directory, its node modules installed (`npm ci`); `None` (the test is
/// skipped, visibly) when they cannot be installed outside CI, where `.ci/run` installs them.
fn oidc_provider_dir() -> Option<PathBuf> {
    // One install at a time: `npm ci` starts by removing node_modules, under another test's feet.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    if dir.join("node_modules/oidc-provider/package.json").exists() {
        return Some(dir);
    }
    let installed = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "npm ci in {} failed (Node.js and npm are needed); .ci/run installs the test provider",
        dir.display()
    );
    eprintln!(
        "SKIPPED: could not install the test OpenID provider (npm ci in {})",
        dir.display()
    );
    None
}

/// The provider, killed when dropped; `issuer` is `http://127.0.0.1:PORT`.
struct OpenIdProvider {
    _process: Serving,
    issuer: String,
}

fn start_provider(dir: &Path, redirect_uri: &str, secret: &str, issuer_host: &str) -> OpenIdProvider {
    use std::io::BufRead;
    let mut child = std::process::Command::new("node")
        .arg("provider.mjs")
        .current_dir(dir)
        .env("WARD_REDIRECT_URI", redirect_uri)
        .env("WARD_CLIENT_SECRET", secret)
        .env("WARD_ISSUER_HOST", issuer_host)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn node provider.mjs");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the provider's first line");
    let process = Serving(child);
    let issuer = json(&line)["issuer"].as_str().expect("issuer").to_string();
    OpenIdProvider {
        _process: process,
        issuer,
    }
}

/// A browser's cookies, by name (paths ignored: every cookie goes to every request of its host).
#[derive(Default)]
struct Jar(std::collections::BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, r: &Reply) {
        for c in r.cookies() {
            let Some((k, v)) = c.split(';').next().and_then(|kv| kv.split_once('=')) else {
                continue;
            };
            let cleared = v.is_empty() || c.contains("Max-Age=0") || c.contains("expires=Thu, 01 Jan 1970");
            match cleared {
                true => self.0.remove(k),
                false => self.0.insert(k.to_string(), v.to_string()),
            };
        }
    }

    fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// `http://host:port/path?q` → (`http://host:port`, `/path?q`); a relative location keeps `base`.
fn split_url<'a>(base: &'a str, location: &'a str) -> (&'a str, &'a str) {
    match location.strip_prefix("http://") {
        Some(rest) => {
            let at = rest.find('/').map_or(location.len(), |i| i + 7);
            (&location[..at], &location[at..])
        }
        None => (base, location),
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Signs `login` in at the provider from its authorization URL, as a browser would: the
/// development login form (any login), then the consent form; returns the callback URL the
/// provider redirects to (Ward's, not yet followed).
fn provider_sign_in(authorize: &str, login: &str, ward_base: &str) -> String {
    let mut jar = Jar::default();
    let (base, path) = split_url("", authorize);
    let base = base.to_string();
    let mut next = (String::from("GET"), path.to_string(), None::<Vec<(String, String)>>);
    for _ in 0..12 {
        let (method, path, form) = &next;
        let form_ref: Option<Vec<(&str, &str)>> = form
            .as_ref()
            .map(|f| f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect());
        let r = http(&base, method, path, jar.header().as_deref(), form_ref.as_deref());
        jar.take(&r);
        if let Some(location) = r.header("location") {
            assert!(r.status == 302 || r.status == 303, "{} {}", r.status, r.body);
            if location.starts_with(ward_base) {
                return location.to_string();
            }
            let (_, p) = split_url(&base, location);
            next = ("GET".into(), p.to_string(), None);
            continue;
        }
        assert_eq!(r.status, 200, "provider page {path}: {}", r.body);
        let action = r
            .body
            .split("action=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a form on the provider's page")
            .to_string();
        let prompt = if r.body.contains("name=\"prompt\" value=\"login\"") {
            "login"
        } else {
            "consent"
        };
        let mut fields = vec![("prompt".to_string(), prompt.to_string())];
        if prompt == "login" {
            fields.push(("login".into(), login.into()));
            fields.push(("password".into(), "any password".into()));
        }
        let (_, p) = split_url(&base, &action);
        next = ("POST".into(), p.to_string(), Some(fields));
    }
    panic!("the provider never redirected back to Ward");
}

fn auth_failures(d: &Path) -> Vec<serde_json::Value> {
    let log = json(&ok(run({
        let mut c = ward(d, None);
        c.args(["log", "show", "--limit", "1000", "--output", "json"]);
        c
    })));
    log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["event"].clone())
        .collect()
}

/// A `ward serve` whose `[[oidc]]` provider `staff-idp` (people, `staff:{email}`, alice a
/// viewer, bob an approver) is the test OpenID provider, which announces itself as `http://ISSUER_HOST:PORT`.
struct OidcSite {
    _tmp: tempfile::TempDir,
    d: PathBuf,
    ward: String,
    idp: OpenIdProvider,
    _server: Serving,
}

fn oidc_site(dir: &Path, issuer_host: &str) -> OidcSite {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("data");
    ok(run({
        let mut c = ward(&d, None);
        c.arg("init");
        c
    }));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let ward_base = format!("http://127.0.0.1:{port}");
    let redirect_uri = format!("{ward_base}/ui/sign-in/oidc/callback");
    let secret = "test-client-secret-4f1c9a";
    let secret_file = tmp.path().join("client-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).expect("secret file");
    let idp = start_provider(dir, &redirect_uri, secret, issuer_host);
    std::fs::write(
        d.join("ward.toml"),
        format!(
            r#"
[[oidc]]
name = "staff-idp"
issuer = "{issuer}"
audience = "ward"
jwks_url = "{issuer}/jwks"
kind = "human"
identity = "staff:{{email}}"
client_id = "ward"
client_secret = "file://{secret_file}"
redirect_uri = "{redirect_uri}"
[[oidc.roles]]
claim = "email"
equals = "alice@example.org"
roles = ["viewer"]
[[oidc.roles]]
claim = "email"
equals = "bob@example.org"
roles = ["approver"]
"#,
            issuer = idp.issuer,
            secret_file = secret_file.display(),
        ),
    )
    .expect("ward.toml");
    let mut c = ward(&d, None);
    c.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().expect("spawn ward serve");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("the serving line");
    let server = Serving(child);
    assert!(line.contains(&ward_base), "{line}");
    OidcSite {
        _tmp: tmp,
        d,
        ward: ward_base,
        idp,
        _server: server,
    }
}

#[test]
fn a_person_signs_in_with_a_real_openid_provider_and_bad_state_and_replayed_codes_are_refused() {
    let Some(dir) = oidc_provider_dir() else {
        return;
    };
    let site = oidc_site(&dir, "127.0.0.1");
    let (d, ward_base, idp) = (&site.d, site.ward.as_str(), &site.idp);

    // The sign-in page offers the provider.
    let page = http(ward_base, "GET", "/ui/sign-in", None, None);
    assert!(page.body.contains("Sign in with staff-idp"), "{}", page.body);
    assert!(
        page.body.contains("href=\"/ui/sign-in/oidc/staff-idp\""),
        "{}",
        page.body
    );

    // Ward sends the browser to the provider with state, nonce and an S256 challenge.
    let start = http(ward_base, "GET", "/ui/sign-in/oidc/staff-idp", None, None);
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.header("location").expect("location").to_string();
    assert!(authorize.starts_with(&format!("{}/auth?", idp.issuer)), "{authorize}");
    for (k, v) in [
        ("response_type", "code"),
        ("client_id", "ward"),
        ("code_challenge_method", "S256"),
    ] {
        assert_eq!(query_param(&authorize, k).as_deref(), Some(v), "{authorize}");
    }
    let state = query_param(&authorize, "state").expect("state");
    assert!(state.len() >= 22 && query_param(&authorize, "nonce").is_some_and(|n| n.len() >= 22));
    assert!(query_param(&authorize, "code_challenge").is_some_and(|c| c.len() == 43));
    assert!(query_param(&authorize, "scope").is_some_and(|s| s.starts_with("openid")));
    let set = start
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("ward_oidc="))
        .expect("the attempt's cookie")
        .to_string();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/ui/sign-in/oidc"] {
        assert!(set.contains(attr), "{set}");
    }
    let binding = format!("ward_oidc={}", start.cookie("ward_oidc").expect("binding"));

    // The person signs in at the provider, which sends the browser back with a code.
    let callback = provider_sign_in(&authorize, "alice", ward_base);
    let (_, callback_path) = split_url(ward_base, &callback);
    let code = query_param(&callback, "code").expect("a code");
    assert_eq!(query_param(&callback, "state").as_deref(), Some(state.as_str()));

    // A callback whose state is not the attempt's is refused, recorded, and sets no session.
    let forged = format!("/ui/sign-in/oidc/callback?code={code}&state=forged-{state}");
    let r = http(ward_base, "GET", &forged, Some(&binding), None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.cookie("ward_session").is_none());
    assert!(!r.body.contains(&code), "the code is never echoed");
    let events = auth_failures(d);
    let failed: Vec<_> = events.iter().filter(|e| e["kind"] == "auth.failed").collect();
    assert!(
        failed.iter().any(|e| e["payload"]["inline"]["reason"] == "oidc_state"),
        "{failed:?}"
    );
    assert!(
        !serde_json::to_string(&events).expect("json").contains(&code),
        "no code in the log"
    );

    // Without the browser's cookie the real callback is refused too (and uses up the attempt).
    // So: a new attempt for the other refusals; first the real one, with its cookie.
    let r = http(ward_base, "GET", callback_path, Some(&binding), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let session_set = r
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("ward_session="))
        .expect("a session cookie")
        .to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session_set.contains(attr), "{session_set}");
    }
    assert!(r.body.contains("http-equiv=\"refresh\""), "{}", r.body);
    let session = format!("ward_session={}", r.cookie("ward_session").expect("session"));
    let board = http(ward_base, "GET", "/", Some(&session), None);
    assert_eq!(board.status, 200, "{}", board.body);
    assert!(
        board.body.contains("Signed in as staff:alice@example.org"),
        "{}",
        board.body
    );
    let events = auth_failures(d);
    let started: Vec<_> = events.iter().filter(|e| e["kind"] == "session.started").collect();
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(started[0]["actor"]["id"], "staff:alice@example.org");
    assert_eq!(started[0]["actor"]["kind"], "human");
    assert_eq!(started[0]["payload"]["inline"]["roles"], serde_json::json!(["viewer"]));
    assert!(
        !serde_json::to_string(&events).expect("json").contains(&code),
        "no code in the log"
    );

    // The same callback replayed is refused: the attempt was used.
    let r = http(ward_base, "GET", callback_path, Some(&binding), None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.cookie("ward_session").is_none());

    // The used code under a fresh attempt: Ward exchanges it and the provider refuses it.
    let again = http(ward_base, "GET", "/ui/sign-in/oidc/staff-idp", None, None);
    let fresh_state = query_param(again.header("location").expect("location"), "state").expect("state");
    let fresh_binding = format!("ward_oidc={}", again.cookie("ward_oidc").expect("binding"));
    let replay = format!("/ui/sign-in/oidc/callback?code={code}&state={fresh_state}");
    let r = http(ward_base, "GET", &replay, Some(&fresh_binding), None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.cookie("ward_session").is_none());
    let events = auth_failures(d);
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "auth.failed" && e["payload"]["inline"]["reason"] == "oidc_code"),
        "{events:?}"
    );

    // An attempt finished in another browser (without its cookie) is refused.
    let other = http(ward_base, "GET", "/ui/sign-in/oidc/staff-idp", None, None);
    let other_state = query_param(other.header("location").expect("location"), "state").expect("state");
    let r = http(
        ward_base,
        "GET",
        &format!("/ui/sign-in/oidc/callback?code=whatever&state={other_state}"),
        Some(&binding),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let sessions = auth_failures(d)
        .iter()
        .filter(|e| e["kind"] == "session.started")
        .count();
    assert_eq!(sessions, 1, "no other session was started");

    // Signing out ends the OIDC session as it ends a password one.
    let board = http(ward_base, "GET", "/", Some(&session), None);
    let r = http(
        ward_base,
        "POST",
        "/ui/sign-out",
        Some(&session),
        Some(&[("csrf", &board.csrf())]),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let after = http(ward_base, "GET", "/", Some(&session), None);
    assert_eq!(after.status, 303, "the old cookie no longer works");
    assert_eq!(after.header("location"), Some("/ui/sign-in"));
}

/// The same sign-in in headless Chromium, the provider on another site (`localhost`, Ward on
/// `127.0.0.1`): the `ward_oidc` cookie (SameSite=Lax) comes back on the provider's cross-site
/// redirect, and the session cookie (SameSite=Strict) set on that navigation's page is sent by
/// the page's own continuation to `/`.
#[test]
fn a_person_signs_in_with_the_openid_provider_across_sites_in_chromium() {
    let Some(driver) = chromedriver() else { return };
    let Some(dir) = oidc_provider_dir() else { return };
    let site = oidc_site(&dir, "localhost");
    assert!(site.idp.issuer.starts_with("http://localhost:"), "{}", site.idp.issuer);
    let browser = Browser::start(driver);
    browser.go(&format!("{}/", site.ward));
    assert!(browser.url().ends_with("/ui/sign-in"), "{}", browser.url());
    browser.click("a[href='/ui/sign-in/oidc/staff-idp']");
    let login = browser.wait_for_url(|u| u.contains("/interaction/"));
    assert!(login.starts_with(&site.idp.issuer), "{login}");
    browser.type_into("input[name=login]", "alice");
    browser.type_into("input[name=password]", "any password");
    browser.click("button[type=submit]");
    // The consent page (its button has autofocus; the login form's does not).
    browser.click("button[autofocus]");
    let board = format!("{}/", site.ward);
    assert_eq!(browser.wait_for_url(|u| u == board), board, "signed in, on the board");
    assert!(
        browser.text("header").contains("Signed in as staff:alice@example.org"),
        "{}",
        browser.text("header")
    );
}

/// Approves (or, with `abort`, declines) a device sign-in at the provider as a person in a
/// browser would: the confirmation page of `verification_uri_complete`, then the development
/// login form (any login) and the consent form, submitting each page's form with its hidden
/// fields; returns the provider's last page (its success or abort page).
fn provider_device_approval(complete: &str, login: &str, abort: bool) -> String {
    let mut jar = Jar::default();
    let (base, path) = split_url("", complete);
    let base = base.to_string();
    let mut next = (String::from("GET"), path.to_string(), None::<Vec<(String, String)>>);
    let mut declined = false;
    for _ in 0..16 {
        let (method, path, form) = &next;
        let form_ref: Option<Vec<(&str, &str)>> = form
            .as_ref()
            .map(|f| f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect());
        let r = http(&base, method, path, jar.header().as_deref(), form_ref.as_deref());
        jar.take(&r);
        if let Some(location) = r.header("location") {
            assert!(r.status == 302 || r.status == 303, "{} {}", r.status, r.body);
            let (_, p) = split_url(&base, location);
            next = ("GET".into(), p.to_string(), None);
            continue;
        }
        assert_eq!(r.status, 200, "provider page {path}: {}", r.body);
        let Some(form) = r
            .body
            .split("<form")
            .nth(1)
            .map(|f| f.split("</form>").next().unwrap_or(f))
        else {
            return r.body;
        };
        if declined {
            // The provider's answer to the abort (it offers to enter a code again).
            return r.body;
        }
        let attr = |tag: &str, name: &str| {
            tag.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(str::to_string)
        };
        let action = attr(form, "action").expect("the form's action");
        let mut fields: Vec<(String, String)> = form
            .split("<input")
            .skip(1)
            .filter(|i| i.contains("type=\"hidden\""))
            .filter_map(|i| Some((attr(i, "name")?, attr(i, "value").unwrap_or_default())))
            .collect();
        if form.contains("name=\"login\"") {
            fields.push(("login".into(), login.into()));
            fields.push(("password".into(), "any password".into()));
        }
        if abort && form.contains("name=\"confirm\"") {
            fields.push(("abort".into(), "yes".into()));
            declined = true;
        }
        let (_, p) = split_url(&base, &action);
        next = ("POST".into(), p.to_string(), Some(fields));
    }
    panic!("the provider's pages never ended");
}

/// `ward login --oidc staff-idp` against `site`: the child, with the first lines it printed on
/// stderr up to the verification URL with the code filled in.
fn device_login(site: &OidcSite, config: &Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut c = ward(&site.d, None);
    c.args([
        "--server",
        &site.ward,
        "login",
        "--oidc",
        "staff-idp",
        "--output",
        "json",
    ])
    .env("WARD_CONFIG_DIR", config)
    .env_remove("WARD_TOKEN")
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("spawn ward login");
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut complete = None;
    let mut said = String::new();
    for _ in 0..6 {
        let mut line = String::new();
        if err.read_line(&mut line).expect("stderr line") == 0 {
            break;
        }
        said.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("(or open ").and_then(|l| l.strip_suffix(')')) {
            complete = Some(url.to_string());
            break;
        }
    }
    let complete = complete.unwrap_or_else(|| panic!("no verification URL printed: {said}"));
    assert!(said.contains("enter the code "), "{said}");
    // The rest of stderr is drained so the child never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (child, complete)
}

/// A person signs in on a terminal through the identity provider's device flow (RFC 8628,
/// the real `oidc-provider`): `ward login --oidc` prints where to go and the code; once they
/// approve it there, the session is the provider's person with the roles their claims map to,
/// kept for the server. Declining at the provider starts no session and is recorded as a
/// failed sign-in; an unknown provider is refused before anything is asked of one.
#[test]
fn a_person_signs_in_on_a_terminal_with_the_providers_device_flow_and_a_declined_code_starts_no_session() {
    let Some(dir) = oidc_provider_dir() else {
        return;
    };
    let site = oidc_site(&dir, "127.0.0.1");
    let tmp = tempfile::tempdir().expect("tmp");
    let config = tmp.path().join("config");

    let (child, complete) = device_login(&site, &config);
    assert!(complete.starts_with(&site.idp.issuer), "{complete}");
    let page = provider_device_approval(&complete, "alice", false);
    assert!(page.contains("Sign-in Success"), "{page}");
    let out = child.wait_with_output().expect("ward login ends");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let signed = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(signed["identity"], "staff:alice@example.org", "{signed}");
    assert!(signed["expires_at"].as_i64().is_some(), "{signed}");
    let who = json(&ok(run({
        let mut c = ward(&site.d, None);
        c.args(["--server", &site.ward, "whoami", "--output", "json"])
            .env("WARD_CONFIG_DIR", &config)
            .env_remove("WARD_TOKEN");
        c
    })));
    assert_eq!(who["identity"], "staff:alice@example.org", "{who}");
    assert_eq!(who["roles"], serde_json::json!(["viewer"]), "{who}");

    // Declined at the provider: no session, the refusal recorded, nothing kept.
    let other = tmp.path().join("other");
    let (child, complete) = device_login(&site, &other);
    let page = provider_device_approval(&complete, "bob", true);
    assert!(!page.contains("Sign-in Success"), "{page}");
    let out = child.wait_with_output().expect("ward login ends");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        !other.join("credentials.json").exists(),
        "a declined sign-in keeps nothing"
    );
    let failures = auth_failures(&site.d);
    assert!(
        failures
            .iter()
            .any(|e| e["kind"] == "auth.failed" && e["payload"]["inline"]["reason"] == "oidc_denied"),
        "{failures:?}"
    );
    let sessions = failures.iter().filter(|e| e["kind"] == "session.started").count();
    assert_eq!(sessions, 1, "only alice's sign-in started a session");

    // An unknown provider: refused at once.
    let out = run({
        let mut c = ward(&site.d, None);
        c.args(["--server", &site.ward, "login", "--oidc", "nobody-idp"])
            .env("WARD_CONFIG_DIR", tmp.path().join("third"))
            .env_remove("WARD_TOKEN");
        c
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown_provider")
            || String::from_utf8_lossy(&out.stderr).contains("no OIDC provider of that name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Signs `login` in through the provider over HTTP; returns the session cookie (`ward_session=…`).
fn oidc_session(site: &OidcSite, login: &str) -> String {
    let start = http(&site.ward, "GET", "/ui/sign-in/oidc/staff-idp", None, None);
    let binding = format!("ward_oidc={}", start.cookie("ward_oidc").expect("binding"));
    let callback = provider_sign_in(start.header("location").expect("location"), login, &site.ward);
    let (_, path) = split_url(&site.ward, &callback);
    let r = http(&site.ward, "GET", path, Some(&binding), None);
    assert_eq!(r.status, 200, "{}", r.body);
    format!("ward_session={}", r.cookie("ward_session").expect("session"))
}

/// An OIDC site with a change opened by the local user alice, and bob (`staff:bob@example.org`,
/// an approver by the provider's claims) signed in through the provider.
struct OidcSigning {
    site: OidcSite,
    change: String,
    bob: String,
}

fn oidc_signing(dir: &Path) -> OidcSigning {
    let site = oidc_site(dir, "127.0.0.1");
    add_user(&site.d, None, "alice", &["developer", "approver"]);
    register(&site.d, DIGEST, "reminders", "1.2.0");
    let change = open_change(as_user(&site.d, None, "alice", &[]), "reminder window", DIGEST);
    let bob = oidc_session(&site, "bob");
    OidcSigning { site, change, bob }
}

impl OidcSigning {
    /// Opens the sign page as bob and submits its OIDC re-authentication form; returns the
    /// provider's authorization URL Ward sent the browser to and the attempt's binding cookie.
    fn start_signature(&self) -> (String, String) {
        let sign_path = format!("/ui/changes/{}/sign", self.change);
        let page = http(&self.site.ward, "GET", &sign_path, Some(&self.bob), None);
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("Re-authenticate with staff-idp and sign"),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains("type=\"password\""),
            "no password for an OIDC person"
        );
        assert!(!page.body.contains("for now"), "{}", page.body);
        let r = http(
            &self.site.ward,
            "POST",
            &sign_path,
            Some(&self.bob),
            Some(&[
                ("csrf", &page.csrf()),
                ("manifest", &field(&page, "manifest")),
                ("meaning", "approved"),
                ("decision", "approve"),
                ("comment", "re-authenticated at the provider"),
                ("reauth", "oidc"),
            ]),
        );
        // A page that goes on to the provider (its link and a Refresh), not a redirect, which
        // the sign page's `form-action 'self'` would stop in a browser.
        assert_eq!(r.status, 200, "{}", r.body);
        let refresh = r.header("refresh").expect("refresh").to_string();
        let authorize = refresh.strip_prefix("0; url=").expect("0; url=").to_string();
        assert!(
            r.body.contains(&authorize.replace('&', "&amp;")),
            "the page links to the provider too: {}",
            r.body
        );
        assert!(
            authorize.starts_with(&format!("{}/auth?", self.site.idp.issuer)),
            "{authorize}"
        );
        assert_eq!(
            query_param(&authorize, "prompt").as_deref(),
            Some("login"),
            "{authorize}"
        );
        assert_eq!(query_param(&authorize, "max_age").as_deref(), Some("0"), "{authorize}");
        assert_eq!(
            query_param(&authorize, "code_challenge_method").as_deref(),
            Some("S256")
        );
        assert!(query_param(&authorize, "nonce").is_some_and(|n| n.len() >= 22));
        // Nothing of the signature travels to the provider.
        assert!(
            !authorize.contains("re-authenticated") && !authorize.contains("sha256"),
            "{authorize}"
        );
        let binding = format!("ward_oidc={}", r.cookie("ward_oidc").expect("binding"));
        (authorize, binding)
    }

    /// The provider's callback, as the browser follows it: with the attempt's cookie and
    /// without the session's (SameSite=Strict, not sent on a redirect from another site).
    fn callback(&self, callback: &str, binding: &str) -> Reply {
        let (_, path) = split_url(&self.site.ward, callback);
        http(&self.site.ward, "GET", path, Some(binding), None)
    }

    fn signatures(&self) -> Vec<serde_json::Value> {
        let out = ok(run(as_user(
            &self.site.d,
            None,
            "alice",
            &["change", "approvals", &self.change, "--output", "json"],
        )));
        json(&out)["approvals"].as_array().expect("approvals").clone()
    }

    fn refusals(&self) -> Vec<serde_json::Value> {
        auth_failures(&self.site.d)
            .into_iter()
            .filter(|e| e["kind"] == "approval.refused")
            .collect()
    }
}

/// An OIDC person signs in the browser: the sign page's button sends them to the provider with
/// `prompt=login` and `max_age=0`; they sign in again there, and the callback signs with the
/// fresh ID token (re-authentication `oidc`, the provider's printed name), once.
#[test]
fn an_oidc_person_re_authenticates_at_the_provider_and_signs_in_the_browser() {
    let Some(dir) = oidc_provider_dir() else { return };
    let s = oidc_signing(&dir);
    let (authorize, binding) = s.start_signature();
    let callback = provider_sign_in(&authorize, "bob", &s.site.ward);
    let r = s.callback(&callback, &binding);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Signed"), "{}", r.body);
    assert!(r.body.contains("bob Example"), "{}", r.body);
    let list = s.signatures();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["signer"], "staff:bob@example.org");
    assert_eq!(list[0]["reauth"], "oidc");
    assert_eq!(list[0]["printed_name"], "bob Example");
    assert_eq!(list[0]["meaning"], "approved");
    assert_eq!(list[0]["decision"], "approved");
    assert_eq!(list[0]["stale"], false);
    let signed: Vec<_> = auth_failures(&s.site.d)
        .into_iter()
        .filter(|e| e["kind"] == "approval.signed")
        .collect();
    assert_eq!(signed.len(), 1);
    let credential = signed[0]["payload"]["inline"]["reauth_credential"]
        .as_str()
        .expect("the ID token's digest, so it signs once");
    assert!(credential.starts_with("sha256:"));
    assert!(
        !serde_json::to_string(&signed).expect("json").contains(&callback),
        "no code in the log"
    );
}

/// The provider signs in someone else (carol) for bob's pending signature: nothing is signed,
/// the page says so, and the refusal is recorded against bob.
#[test]
fn an_id_token_of_another_person_than_the_session_signs_nothing() {
    someone_elses_sign_in_signs_nothing_for_bob("carol");
}

/// Bob's pending signature, answered by the provider's sign-in of `login`: refused as someone
/// else's (401), nothing signed, the refusal recorded against bob.
fn someone_elses_sign_in_signs_nothing_for_bob(login: &str) {
    let Some(dir) = oidc_provider_dir() else { return };
    let s = oidc_signing(&dir);
    let (authorize, binding) = s.start_signature();
    let callback = provider_sign_in(&authorize, login, &s.site.ward);
    let r = s.callback(&callback, &binding);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("signed in someone else, not you"), "{}", r.body);
    assert!(r.body.contains("Nothing was signed"), "{}", r.body);
    assert!(s.signatures().is_empty());
    let refused = s.refusals();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["payload"]["inline"]["by"], "staff:bob@example.org");
    assert_eq!(refused[0]["payload"]["inline"]["code"], "reauthentication_failed");
}

/// The address bob@example.org is given to another account at the provider (another `sub`),
/// which Ward's identity template (`staff:{email}`) maps to bob's identity: that account's fresh
/// sign-in is not bob's re-authentication. The session keeps the issuer and subject it was
/// started for; nothing is signed and the refusal is recorded.
#[test]
fn a_reassigned_address_at_the_provider_does_not_sign_for_the_session() {
    someone_elses_sign_in_signs_nothing_for_bob("bob~new-hire");
}

/// The provider's callback for a pending signature, replayed after it signed (its state used),
/// signs nothing more; so does a callback naming a state Ward never issued. (A pending signature
/// older than the re-authentication window is dropped: the activity module's unit test.)
#[test]
fn a_replayed_pending_signature_is_refused() {
    let Some(dir) = oidc_provider_dir() else { return };
    let s = oidc_signing(&dir);
    let (authorize, binding) = s.start_signature();
    let callback = provider_sign_in(&authorize, "bob", &s.site.ward);
    assert_eq!(s.callback(&callback, &binding).status, 200);
    let replay = s.callback(&callback, &binding);
    assert_eq!(replay.status, 403, "{}", replay.body);
    assert!(
        replay.body.contains("unknown, expired or already used"),
        "{}",
        replay.body
    );
    let code = query_param(&callback, "code").expect("code");
    let forged = s.callback(
        &format!(
            "{}/ui/sign-in/oidc/callback?code={code}&state=never-issued",
            s.site.ward
        ),
        &binding,
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(s.signatures().len(), 1);
    assert!(
        auth_failures(&s.site.d)
            .iter()
            .any(|e| e["kind"] == "auth.failed" && e["payload"]["inline"]["reason"] == "oidc_state"),
        "the replay is recorded"
    );
}

/// Evidence is attached to the change's artifact while bob is at the provider: the signature
/// would cover what he did not see, so it is refused as `stale_manifest` and recorded.
#[test]
fn evidence_added_between_the_form_and_the_callback_is_refused_as_a_stale_manifest() {
    let Some(dir) = oidc_provider_dir() else { return };
    let s = oidc_signing(&dir);
    let (authorize, binding) = s.start_signature();
    ok(run({
        let mut c = ward(&s.site.d, None);
        c.args(["attest", "add", "--artifact", DIGEST, "--type", "junit"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures/jest-junit.xml"));
        c
    }));
    let callback = provider_sign_in(&authorize, "bob", &s.site.ward);
    let r = s.callback(&callback, &binding);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("changed while you were reviewing"), "{}", r.body);
    assert!(s.signatures().is_empty());
    let refused = s.refusals();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["payload"]["inline"]["code"], "stale_manifest");
}
