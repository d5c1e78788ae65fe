//! The PHI and secret guard: every text document is scanned before anything is stored.
//!
//! Detectors (rule ideas from gitleaks and detect-secrets):
//! - PHI: `us-ssn` (area/group/serial rules applied; also labelled with spaces, dots or no
//!   separators), `mrn` (configurable patterns; default `MRN` or `medical record number`
//!   followed, within 12 non-word characters such as `":\n    "`, by 6–10 digits), `dob-with-name` (a birth-date field with a date on a line
//!   that also names a person, or within [`NAME_WINDOW`] bytes of a name across line breaks),
//!   `name-with-date` (a name right beside an unlabelled date of 1900–[`LATEST_UNLABELLED_BIRTH_YEAR`]:
//!   `Jane Roe 1980-01-02`, `Roe, Jane (…)`, HL7 `Roe^Jane||19800102`),
//!   `patient-contact` (patient/member phone or e-mail fields), `hl7-pid` (an HL7 v2 `PID|`
//!   segment of five fields or more, or `PID` with another declared separator); and, in
//!   `formats`, `ccda-patient`, `dicom-patient`, `ncpdp-patient`, `fhir-identifier`,
//!   `medicare-mbi`, `drivers-licence`, `x12-patient`, `personal-email`, `mail-recipient`,
//!   `phone-number`, `patient-record` (healthcare interchange formats and contacts without a
//!   patient label; their rules are that module's); and, in `tables` (2026-12-04, sixth
//!   round), pydicom printouts as `dicom-patient`, HL7 v2 XML and `GT1`/`IN1`/`NK1` segments as
//!   `hl7-pid`, a patient's number (`patient_00123456`, `"patient_id": "00123456"`) as `mrn`.
//! - Secrets: `private-key` (PEM/OpenSSH/PGP headers; without one, the base64 start of a
//!   PKCS#8, PKCS#1, SEC1 or OpenSSH key, an age identity, `openssl rsa -text` output),
//!   `stripe-key`, `aws-access-key`,
//!   `github-token`, `slack-token`, `google-api-key`, `ward-token`, `jwt`, `gitlab-token`,
//!   `azure-sas`, `azure-storage-key`, `npm-token`, `pypi-token`, `openai-key`,
//!   `anthropic-key`, `vault-token`, `sendgrid-key`, `twilio-key` (and, in `formats`, the
//!   sixth round's `huggingface-token`, `google-oauth-secret`, `newrelic-key`,
//!   `telegram-bot-token`, `shopify-token`, `digitalocean-token`, `mailgun-key`, `otp-secret`,
//!   `sentry-dsn`, `aws-secret-key`, `bearer-token`, `labelled-secret`), `password-in-url`
//!   (`scheme://user:password@`, and `user:password@host` without a scheme), `high-entropy`
//!   (base64-like runs of ≥ 40 characters with Shannon entropy ≥ 4.8 bits per character; hex
//!   runs are left alone, they are digests, and so are base64 digests of their algorithm's
//!   exact length after `sha256-`/`sha384-`/`sha512-`, go.sum's `h1:` or a CycloneDX `alg`);
//!   `password-assignment` where asked ([`GuardConfig::password_assignments`]).
//!
//! A [`Finding`] names the detector, line and column — never the value, nor a plain hash of it
//! (a short value is recovered from its hash by enumeration; [`crate::redact`] makes keyed
//! fingerprints). [`redact`] replaces each span by `[REDACTED:<detector>]`.
//!
//! **Linear time.** [`scan`] makes one pass of the regex engine (finite automata, no
//! backtracking) per detector over the whole text — never per line, never a re-scan per match;
//! checks cost O(match) or a binary search. [`scan_until`] adds a work budget: a closure asked
//! between passes and every few thousand matches, so a caller's deadline or cancellation ends
//! the work ([`Stopped`], no partial result).
//!
//! **Decoded views.** The detectors judge what is stored and what a person reads, not only the
//! bytes as sent: besides the raw text, [`scan`] reads the views built by [`decode`] — the text
//! with XML references and HTML entities decoded, CDATA sections joined, JSON/TOML escapes,
//! percent-encoding and quoted-printable decoded and Unicode folded (NFKD, invisible characters
//! dropped, hyphens and look-alikes of Latin letters mapped to ASCII); its name/value property
//! pairs read as `name: value` ([`decode::pairs`]); that text with the glue
//! of split values dropped (read by [`SPLIT_DETECTORS`] only); and the text that base64, base32
//! and hex runs decode to, with its own decoded view, again up to [`MAX_NESTING`] levels; base64
//! lines wrapped narrower than 40 joined (`high-entropy` only); Ascii85, uuencode, SARIF
//! messages with their arguments put in and hex dumps read across lines; tables read cell by
//! cell after their header row (`ssn: 219451100`), SQL `INSERT` values after their column
//! list (both read by `tables::TABLE_DETECTORS` only), and path-like runs with `_`/`-`/`.` read
//! as spaces (`Roe Jane 19800102.pdf`, read by `tables::FILE_NAME_DETECTORS` only) — these three
//! hold only what they rewrite, and one that would pass twice its input's length (plus 4 KiB)
//! refuses the document as `table-view-limit` (`tables`: fail closed). Each
//! view is built in one linear pass and is no longer than its input (those three: twice), so
//! the work stays linear
//! (a small constant number of passes of every detector). A finding made in a view says so in
//! [`Finding::decoded`] (`"xml"`, `"escape"`, `"unicode"`, `"xml+unicode"`, `"base64"`,
//! `"split"`, `"base64+hex"`, …) and carries the line and
//! column of the start of the *encoded* span in the original text; its span is the whole
//! encoded span, so [`redact`] removes the encoded value. A finding the raw text already shows
//! is reported once.

pub mod decode;
mod formats;
pub use formats::{FREE_MAIL, FREE_MAIL_PROVIDERS, free_mail_host};
mod grids;
mod rows;
mod tables;

use regex::Regex;
use std::sync::OnceLock;

/// One match, without the matched value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Detector name.
    pub detector: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (bytes).
    pub column: usize,
    /// Which decoding revealed it (`"xml"`, `"cdata"`, `"escape"`, `"unicode"`, `"base64"`,
    /// joined by `+`), or `None` when the raw text shows it. Line and column are those of the
    /// start of the encoded span in the original text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    #[serde(skip)]
    range: (usize, usize),
}

impl Finding {
    /// The matched text, read back from the document the finding was made in (`None` for any
    /// other text). For redaction only: never echo it.
    pub fn span<'a>(&self, text: &'a str) -> Option<&'a str> {
        text.get(self.range.0..self.range.1)
    }
}

/// What the guard lets through.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    /// A finding whose matched text matches one of these is ignored.
    pub patterns: Vec<Regex>,
    /// Detectors switched off.
    pub detectors: Vec<String>,
}

/// Extra PHI patterns (e.g. a hospital's MRN format), named.
#[derive(Clone, Debug, Default)]
pub struct GuardConfig {
    /// `(detector name, pattern)`; replaces the default `mrn` pattern when any is given.
    pub mrn_patterns: Vec<(String, Regex)>,
    /// What to let through.
    pub allow: Allowlist,
    /// File names (globs with `*` and `?`) that are not scanned at all.
    pub skip_paths: Vec<String>,
    /// Largest evidence file accepted, when configured (see [`GuardConfig::max_file_bytes`]).
    pub max_file_bytes: Option<usize>,
    /// Also run `password-assignment` (`password=…`, `pwd: …`, `aws_secret_access_key = …`):
    /// on for people's text and the log (where nothing should quote a credential), off for
    /// evidence files, where a SAST report quotes the hard-coded password it found.
    pub password_assignments: bool,
}

/// Largest evidence file accepted unless `[guard] max_file_bytes` says otherwise (fits, base64
/// encoded, in the server's default 8 MiB request limit).
pub const DEFAULT_MAX_FILE: usize = 5 * 1024 * 1024;
/// The most `[guard] max_file_bytes` may allow.
pub const HARD_MAX_FILE: usize = 16 * 1024 * 1024;

/// The `[guard]` section of `ward.toml`, as written.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSection {
    /// Regexes; a finding whose matched text matches one is let through.
    #[serde(default)]
    pub allow_patterns: Vec<String>,
    /// File-name globs that are not scanned (e.g. `"synthetic-*.xml"`).
    #[serde(default)]
    pub allow_paths: Vec<String>,
    /// Detectors switched off (e.g. `"high-entropy"`).
    #[serde(default)]
    pub disable: Vec<String>,
    /// The site's MRN formats (regexes), replacing the default `MRN 1234567` pattern.
    #[serde(default)]
    pub mrn_patterns: Vec<String>,
    /// Largest evidence file accepted, in bytes (default 5 MiB, at most 16 MiB).
    #[serde(default)]
    pub max_file_bytes: Option<usize>,
}

impl GuardSection {
    /// Compiles the section; an invalid regex is an error naming it.
    pub fn compile(&self) -> Result<GuardConfig, String> {
        let re = |p: &String| Regex::new(p).map_err(|e| format!("[guard] pattern {p:?}: {e}"));
        if let Some(unknown) = self.disable.iter().find(|d| !DETECTOR_NAMES.contains(&d.as_str())) {
            return Err(format!(
                "[guard] disable: {unknown:?} is no detector; use one of {}",
                DETECTOR_NAMES.join(", ")
            ));
        }
        Ok(GuardConfig {
            mrn_patterns: self
                .mrn_patterns
                .iter()
                .map(|p| Ok(("mrn".to_string(), re(p)?)))
                .collect::<Result<_, String>>()?,
            allow: Allowlist {
                patterns: self.allow_patterns.iter().map(re).collect::<Result<_, _>>()?,
                detectors: self.disable.clone(),
            },
            skip_paths: self.allow_paths.clone(),
            max_file_bytes: match self.max_file_bytes {
                Some(n) if n == 0 || n > HARD_MAX_FILE => {
                    return Err(format!("[guard] max_file_bytes = {n}: use 1 to {HARD_MAX_FILE}"));
                }
                n => n,
            },
            password_assignments: false,
        })
    }
}

impl GuardConfig {
    /// Largest evidence file accepted.
    pub fn max_file_bytes(&self) -> usize {
        self.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE)
    }

    /// Whether `file_name` is allowlisted by path (not scanned).
    pub fn skips(&self, file_name: &str) -> bool {
        self.skip_paths
            .iter()
            .any(|g| glob_match(g.as_bytes(), file_name.as_bytes()))
    }
}

/// `*` matches any run of bytes, `?` one byte; everything else matches itself.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// What a detector's match must also satisfy, given the whole text.
type Check = fn(&str, &Context<'_>, usize, usize) -> bool;

struct Detector {
    name: &'static str,
    find: Find,
    check: Check,
}

/// How a detector finds its candidates (`R`: the regex, owned or borrowed).
#[derive(Clone, Copy)]
enum Find<R = Regex> {
    /// One pass of the regex engine; the capture group that is the finding (0: the whole
    /// match), e.g. the number after an `SSN` label.
    Regex(R, usize),
    /// A short hand-written matcher tried at every byte (`text`, `at` → the candidate's end):
    /// a candidate the check refuses does not swallow one that starts inside it (`asia AKIA
    /// IOSF…` read as `asia` + 16 characters must not hide the key after `asia`). Each try reads
    /// a bounded number of bytes, so the pass stays linear, and costs no regex search.
    AtEvery(fn(&[u8], usize) -> Option<usize>),
}

impl Find {
    fn as_ref(&self) -> Find<&Regex> {
        match self {
            Find::Regex(re, group) => Find::Regex(re, *group),
            Find::AtEvery(at) => Find::AtEvery(*at),
        }
    }
}

fn always(_: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    true
}

/// A credential typed into a URL never holds a control character; random bytes read as base32
/// or base64 often do.
fn without_control_characters(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    !m.chars().any(char::is_control)
}

/// `scheme://user:password@` followed by a host (the match ends at the `@`, so that a redaction
/// leaves the host whole), whose password is no template placeholder (`${DB_PASSWORD}`,
/// `{{ pw }}`, `<password>`, `%s`) and holds no control character (random bytes read as
/// base32/base64 often do).
fn url_credential(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let host_follows = cx
        .text
        .get(end..)
        .and_then(|t| t.chars().next())
        .is_some_and(|c| !c.is_whitespace() && c != '/');
    let password = m
        .strip_suffix('@')
        .and_then(|a| a.rsplit_once(':'))
        .map_or("", |(_, pw)| pw);
    let (user, host) = (
        m.split_once("://")
            .map_or("", |(_, r)| r)
            .split(':')
            .next()
            .unwrap_or_default(),
        cx.text.get(end..).unwrap_or_default(),
    );
    host_follows
        && without_control_characters(m, cx, start, end)
        && !password.starts_with(['$', '{', '<', '%'])
        && !masked_password(user, password, host)
}

/// A password in a URL that is none (attack round 7's false positives): masked as CI logs mask
/// it (`***`, `[MASKED]`, `xxxxx`, `REDACTED` in capitals), or the user's own name on the local
/// machine (`postgres:postgres@localhost`: a service container's
/// documented test login).
fn masked_password(user: &str, password: &str, host: &str) -> bool {
    let bracketed = password.len() > 2
        && password.starts_with('[')
        && password.ends_with(']')
        && password[1..password.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_');
    let masked = password
        .chars()
        .all(|c| matches!(c, '*' | 'x' | 'X' | '#' | '.' | '\u{2022}'))
        || bracketed
        || ["MASKED", "REDACTED", "HIDDEN", "FILTERED", "REMOVED"].contains(&password);
    let host = host.to_ascii_lowercase();
    let local = ["localhost", "127.0.0.1", "[::1]"].iter().any(|h| {
        host.strip_prefix(h)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/', ' ', '"', '\'']))
    });
    masked || (local && !user.is_empty() && password == user)
}

/// A password-shaped value that is a reference (`env://`, `file://`, `vault://`), a template
/// placeholder (`${PW}`, `{{ pw }}`, `<password>`, `%(pw)s`), masked (`****`, `xxxxxx`) or a
/// word that says there is none is not a secret.
fn not_a_placeholder(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    let lower = m.to_ascii_lowercase();
    let reference = ["env://", "file://", "vault://"].iter().any(|p| lower.starts_with(p));
    let template = m.starts_with(['$', '{', '<', '%', '*']);
    let masked = m
        .chars()
        .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.' || c == '#');
    let words = [
        "required",
        "optional",
        "redacted",
        "removed",
        "hidden",
        "secret",
        "none",
        "null",
        "false",
        "true",
        "undefined",
        "missing",
        "invalid",
        "incorrect",
        "expired",
        "changed",
        "reset",
    ];
    !(reference || template || masked || words.contains(&lower.trim_end_matches(['.', ':'])))
}

/// The character just before byte `at` of the text, if any.
fn char_before(cx: &Context<'_>, at: usize) -> Option<char> {
    cx.text.get(..at).and_then(|s| s.chars().next_back())
}

/// The character at byte `at` of the text, if any.
fn char_at(cx: &Context<'_>, at: usize) -> Option<char> {
    cx.text.get(at..).and_then(|s| s.chars().next())
}

/// An SSN is not part of a longer number: no digit just before or after it. Letters and `_`
/// beside it do not save it (`ref_123-45-6789`, `id123-45-6789x` are SSNs written in a word),
/// which a regex word boundary would.
fn valid_ssn(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let digit = |c: Option<char>| c.is_some_and(char::is_numeric);
    if digit(char_before(cx, start)) || digit(char_at(cx, end)) {
        return false;
    }
    let mut parts = m.split(|c: char| !c.is_numeric());
    let (Some(area), Some(group), Some(serial), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    ssn_parts_valid(area, group, serial) && !(m.as_bytes().get(3) == Some(&b'.') && after_version_word(cx, start))
}

/// A version word stands right before `at` (`Version 219.45.1100`, `v219.45.1100`, `release:
/// 219.45.1100`): a number written with dots there is a version, not an SSN (sixth round,
/// 2026-12-04; the dashed form stays an SSN wherever it stands).
fn after_version_word(cx: &Context<'_>, at: usize) -> bool {
    let before = &cx.text.as_bytes()[at.saturating_sub(24)..at];
    let mut b = before;
    while let [rest @ .., b' ' | b'\t' | b':' | b'=' | b'"' | b'\''] = b {
        b = rest;
    }
    ["version", "ver", "v", "release", "build", "rev", "revision"]
        .iter()
        .any(|w| {
            b.len() >= w.len()
                && b[b.len() - w.len()..].eq_ignore_ascii_case(w.as_bytes())
                && !b[..b.len() - w.len()].last().is_some_and(u8::is_ascii_alphabetic)
        })
}

fn ssn_parts_valid(area: &str, group: &str, serial: &str) -> bool {
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// A labelled SSN written with spaces, dots or nothing between its parts (the match is the
/// number: 9 digits, perhaps with separators).
fn valid_labelled_ssn(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    let digits: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
    digits.len() == 9 && ssn_parts_valid(&digits[..3], &digits[3..5], &digits[5..])
}

/// An SSN in sibling fields: the runs of two digits or more (a key's own digit, `ssnPart2`, is
/// one) are its three parts — of three, two and four digits, in any order (keys are sorted when
/// stored: `ssn_first`, `ssn_last`, `ssn_middle`) — or its two parts, five and four digits or
/// three and six, in either order; valid.
fn valid_split_ssn(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    let runs: Vec<&str> = m
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| r.len() >= 2)
        .collect();
    let part = |n: usize| runs.iter().find(|r| r.len() == n).copied();
    match (runs.len(), part(3), part(2), part(4)) {
        (3, Some(a), Some(g), Some(s)) => ssn_parts_valid(a, g, s),
        (2, ..) => {
            let whole = match (runs[0].len(), runs[1].len()) {
                (5, 4) | (3, 6) => [runs[0], runs[1]].concat(),
                (4, 5) | (6, 3) => [runs[1], runs[0]].concat(),
                _ => return false,
            };
            ssn_parts_valid(&whole[..3], &whole[3..5], &whole[5..])
        }
        _ => false,
    }
}

/// A spaced-out SSN (`1 2 3 - 4 5 - 6 7 8 9`): valid parts, and no digit beside it, even
/// across one space (`0 1 2 3 - …` is part of a longer list of digits).
fn valid_spaced_ssn(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let before = cx.text.get(..start).unwrap_or_default().trim_end_matches([' ', '\t']);
    let after = cx.text.get(end..).unwrap_or_default().trim_start_matches([' ', '\t']);
    let digit_near = |s: Option<char>, gap: usize| s.is_some_and(|c| c.is_ascii_digit()) && gap <= 2;
    if digit_near(before.chars().next_back(), start - before.len())
        || digit_near(after.chars().next(), cx.text.len() - end - after.len())
    {
        return false;
    }
    valid_labelled_ssn(m, cx, start, end)
}

/// A number with an SSN's label after it ([`valid_id_ssn`]) that is no job, run, build or commit
/// of a CI system (`job 412345678: ssn`, `pipeline #412345678 - SSN`, `Fixed in 219451100;
/// ssn.`: a job or a service named for SSNs; a helper's review of the fifteenth session's head).
fn ssn_labelled_after(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    const REFERENCES: [&str; 18] = [
        "build",
        "change",
        "commit",
        "deploy",
        "deployment",
        "in",
        "issue",
        "job",
        "mr",
        "pipeline",
        "pr",
        "release",
        "run",
        "stage",
        "step",
        "task",
        "ticket",
        "workflow",
    ];
    let before = cx.text[..start].trim_end_matches([' ', '\t']);
    if before.ends_with('#') {
        return false;
    }
    let word = before
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    REFERENCES.binary_search(&word.as_str()).is_err() && valid_id_ssn(m, cx, start, end)
}

/// A nine-digit number labelled as a person's identifier: valid SSN parts, and not part of a
/// longer number.
fn valid_id_ssn(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    !digit(char_before(cx, start)) && !digit(char_at(cx, end)) && valid_labelled_ssn(m, cx, start, end)
}

/// The latest year an unlabelled date beside a name is taken for a birth date (see
/// `name_with_date_pattern`).
pub const LATEST_UNLABELLED_BIRTH_YEAR: u32 = 2019;

/// A person's name right beside a date, with no label, either order (`Jane Roe 1980-01-02`,
/// `1980-01-02 Jane Roe`,
/// `JANE ROE 02/01/1980`, `Roe, Jane (1980-01-02)`, `Jane Q. Roe, January 2, 1980`, HL7
/// `Roe^Jane||19800102`, `<name>Jane Roe</name> 1980-01-02`, `["Jane Roe", "1980-01-02"]`). Only dates from 1900 to [`LATEST_UNLABELLED_BIRTH_YEAR`]: recent dates
/// beside capitalised words are release, sprint and build dates far more often than births (a
/// labelled birth date, `dob`/`born`/…, is found at any year). The name's words are checked by
/// [`name_beside_birth_date`].
fn name_with_date_pattern() -> String {
    let word = r"(?:[A-Z](?:'[A-Z])?[a-z]{1,20}(?:-[A-Z][a-z]{1,20})?|[A-Z]{2,20})";
    // A CSV or TSV row's first and last name (`Jane,Roe,1980-01-02`, `"Jane";"Roe"`). Up to five
    // words, so that words of software after a name (`Jane Roe Login Flow 1980-01-05`, round 3)
    // do not push it out of reach: two words that are no [`NOT_NAMES`] are a name.
    let name = format!(
        r#"{word}(?:,? (?:[A-Z]\.? )?{word}){{1,4}}|{word}\^{word}(?:\^[A-Za-z.]{{0,20}}){{0,4}}|{word}["']?[ \t]{{0,2}}[,;\t|][ \t]{{0,2}}["']?{word}"#
    );
    let year = r"(?:19\d\d|20[01]\d)";
    let month = r"(?:1[0-2]|0?[1-9])";
    let day = r"(?:3[01]|[12]\d|0?[1-9])";
    // Longer alternatives first: the engine takes the first that matches (`31`, not `3`).
    let mon = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-zA-Z]{0,6}\.?";
    let mon3 = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)";
    // Oracle's `DD-MON-RR` and `DD-MON-YYYY` (`02-JAN-80`, `02-Jan-1980`, `02/Jan/1980`): a
    // two-digit year is any year (the name's words decide, as for the others).
    let date = format!(
        r"{year}[-./]{month}[-./]{day}|{day}[-./]{day}[-./]{year}|{year}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]){year}|(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2]){year}|{day}{mon3}{year}|(?i:the )?{day}(?i:st|nd|rd|th)?(?i: of)? {mon},? {year}|{mon}(?i: the)? {day}(?i:st|nd|rd|th)?,? {year}|{day}[-./]{mon3}[-./](?:{year}|\d\d)"
    );
    // Between them: spaces, a quote, up to two XML tags, a word in brackets (`Jane Roe (Login)
    // 1980-01-06`, round 3), a comma, bracket, colon or bar.
    let glue = r#"["']?[ \t]{0,3}(?:</?[A-Za-z][A-Za-z0-9_:.-]{0,31}>[ \t]{0,3}){0,2}(?:[(\[][A-Za-z][A-Za-z .'-]{0,23}[)\]][ \t]{0,3})?[,(\[:;|-]{0,3}[ \t]{0,3}["']?"#;
    // A row's sex cell between name and date (`Roe|Jane|F|1980-01-02`), and SQL's typed
    // literal (`'Roe', 'Jane', 'F', DATE '1980-01-02'`), 2026-12-04 (sixth round).
    let glue = format!(
        r#"{glue}(?:(?i:m|f|u|male|female|unknown)["']?[ \t]{{0,3}}[,;|\t][ \t]{{0,3}}["']?)?(?:(?i:date|timestamp)[ \t]{{1,2}}["'])?"#
    );
    // Or the date first (`1980-01-02 Jane Roe`, a log line): then only spaces and punctuation
    // between, so a time (`2019-03-02 10:15`, `…T10:15`) never reaches a name.
    format!(r"(?-u:\b)(?:(?:{name}){glue}(?:{date})|(?:{date})[ \t]{{0,3}}[,(\[:;|-]{{0,3}}[ \t]{{1,3}}(?:{name}))")
}

/// A name beside a date names a person: two of its words are not [`NOT_NAMES`] (not
/// `Release Notes 2019-03-02`), and the date is a day, not a moment or part of a longer
/// number (`… 2019-03-02T10:15`, `… 2019-03-02 10:15`, `… 19800102345`).
fn name_beside_birth_date(m: &str, cx: &Context<'_>, _: usize, end: usize) -> bool {
    // Date first: the regex allowed no time between date and name; the name's words decide.
    let date_first = m.starts_with(|c: char| c.is_ascii_digit());
    let after = if date_first {
        &[][..]
    } else {
        cx.text.get(end..).unwrap_or_default().as_bytes()
    };
    let digit = |i: usize| after.get(i).is_some_and(u8::is_ascii_digit);
    let moment = match after.first() {
        Some(b'0'..=b'9') => true,
        Some(b'T' | b't' | b':' | b'.' | b'-' | b'/') => digit(1),
        Some(b' ') => digit(1) && (after.get(2) == Some(&b':') || (digit(2) && after.get(3) == Some(&b':'))),
        _ => false,
    };
    if moment {
        return false;
    }
    // The name is what comes before the first digit (or month name) of the date; counting the
    // words that are not [`NOT_NAMES`] over the whole match is the same, since the date's
    // words (month names) are in the list.
    let words: Vec<&str> = m
        .split([
            ' ', ',', '^', '(', ')', '[', ':', ';', '|', '-', '.', '<', '>', '/', '"', '\'', '\t',
        ])
        .filter(|w| w.bytes().next().is_some_and(|b| b.is_ascii_uppercase()))
        .collect();
    // A given name that is also a month or a word of `NOT_NAMES` (`June Roe`, `April Chen`, `Dev
    // Patel`; round 3) is a name when a capitalised word that is no such word follows it, or
    // another given name stands beside it (`June May`; ninth round).
    let namey = |w: &&str| !not_a_name(w) || given_name_word(w);
    words
        .iter()
        .enumerate()
        .filter(|&(i, w)| {
            !not_a_name(w)
                || (given_name_word(w)
                    && (words.get(i + 1).is_some_and(|next| !not_a_name(next))
                        || words.get(i + 1).is_some_and(|n| given_name_word(n))
                        || (i > 0 && words.get(i - 1).is_some_and(namey))))
        })
        .count()
        >= 2
}

/// Words of [`NOT_NAMES`] that are also given names (months, `Jan`, `Dev`, `Sun`, …), written
/// capitalised and not in capitals.
fn given_name_word(word: &str) -> bool {
    const GIVEN: [&str; 12] = [
        "April", "May", "June", "July", "August", "Jan", "Dev", "Sun", "Summer", "Autumn", "Winter", "Dawn",
    ];
    GIVEN.contains(&word)
}

/// `user:password@host` without a scheme is a credential when its host cannot be a mail
/// domain — it has a port (`@db:5432`), is an IPv4 address, a single name (`@db`, `@cache`) or a
/// cluster-internal name (`.internal`, `.svc`, `.cluster.local`) — because a namespaced mail
/// address has exactly this shape: Ward's OIDC identities are `staff:jane@example.org`. Never a
/// mail address after a field name (`mailto:`, `email:`, `Contact:`, SPDX's `Person:`), an
/// image pinned by digest (`alpine:3.18@sha256:…`) or a package at a version
/// (`org.slf4j:slf4j-api@1.7.36`, `@v1.2.3`); the password is at least 3 characters.
fn credentials_at_host(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let Some((user, rest)) = m.split_once(':') else {
        return false;
    };
    let Some((password, host)) = rest.rsplit_once('@') else {
        return false;
    };
    // A credential typed into a URL or a connection string never holds a control character;
    // random bytes read as base32/base64 often do (`token:RV4\u{1}f@Voq`).
    if m.chars().any(|c| c.is_control()) {
        return false;
    }
    // Without a scheme, two adjacent fields joined are too often a name and an address: not read
    // in the joined view (what it shows unjoined, the decoded view showed), nor in the text a
    // view built on it keeps as it was around what it decoded (an OIDC session's
    // `…example.org` glued to `staff:bob@example.org` beside a run read as base64); what such a
    // view decoded is read (a credential in base64 split into array items).
    if cx
        .view
        .is_some_and(|v| v.kinds & decode::kind::SPLIT != 0 && v.kinds_within(start, end) & !decode::kind::SPLIT == 0)
    {
        return false;
    }
    let user = user.to_ascii_lowercase();
    const FIELDS: &[&str] = &[
        "author",
        "bcc",
        "by",
        "cc",
        "co-authored-by",
        "committer",
        "contact",
        "cpe",
        "creator",
        "e-mail",
        "email",
        "from",
        "git",
        "http",
        "https",
        "mail",
        "mailto",
        "maintainer",
        "organisation",
        "organization",
        "originator",
        "owner",
        "person",
        "pkg",
        "recipient",
        "reply-to",
        "sender",
        "signed-off-by",
        "sip",
        "ssh",
        "supplier",
        "tel",
        "to",
        "tool",
        "urn",
        "xmlns",
    ];
    if FIELDS.contains(&user.as_str()) || password.chars().count() < 3 || masked_password(&user, password, host) {
        return false;
    }
    let host_l = host.to_ascii_lowercase();
    let after = cx.text.get(end..).unwrap_or_default().as_bytes();
    let digest = ["sha", "md5", "blake"].iter().any(|p| host_l.starts_with(p)) && after.first() == Some(&b':');
    let numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let ipv4 = numeric && host.split('.').count() == 4 && host.split('.').all(|p| p.parse::<u8>().is_ok());
    let version = host_l.starts_with('v') && host.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
    if digest || (numeric && !ipv4) || version {
        return false;
    }
    let port = after.first() == Some(&b':') && after.get(1).is_some_and(u8::is_ascii_digit);
    let single = !host.contains('.');
    let internal = [".internal", ".svc", ".cluster.local"]
        .iter()
        .any(|s| host_l.ends_with(s));
    port || ipv4 || single || internal
}

/// An AWS key id in capitals is one; written in lower or mixed case (an evasion: the guard must
/// not be beaten by `to_lowercase` or a case toggle) it must also hold a digit, as real ids do,
/// and not be shaped like a camelCase identifier (`asiaSoutheast1Region` is one, not a key).
///
/// In capitals it is a key wherever it stands: glued to a word (`keyAKIA…`) or followed by
/// more characters (`AKIA…X`; the reader drops the extra one). In lower or mixed case no ASCII
/// letter may touch it on either side, or every long identifier would be a key; a digit may
/// (`1980-01-02akia…` glued to a date is still a key).
///
/// In the joined view a letter across dropped glue does not touch it: a key id split across two
/// fields (`"akiaiosfod", "b": "nn7example"`) is glued to the end of the field before it
/// (`<name>lib</name>` + `akia…` reads `libakia…`), which is another value.
/// A key id read across glue (a letter before it across the glue, or glue inside it) must also
/// end its part: nothing alphanumeric after it (`asia` + `southeast1Region2x` is a region glued
/// to the next field, not a key).
fn aws_key(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let b = m.as_bytes();
    if !b.iter().any(u8::is_ascii_lowercase) {
        return true;
    }
    let glued_to_more = cx.read_across_glue(start, end) && char_at(cx, end).is_some_and(char::is_alphanumeric);
    b.get(4..).unwrap_or_default().iter().any(u8::is_ascii_digit)
        && !cx.letter_touches(start, end)
        && !glued_to_more
        && !camel_case(b)
}

/// The prefixes of AWS key ids.
const AWS_PREFIXES: [&[u8; 4]; 5] = [b"AKIA", b"ASIA", b"AGPA", b"AIDA", b"AROA"];

/// An AWS key id at `at`: a prefix and 16 letters or digits, in any case (ASCII; the decoded
/// view folds other scripts' look-alikes) — the candidate's end.
fn aws_key_at(text: &[u8], at: usize) -> Option<usize> {
    if !matches!(text.get(at), Some(b'a' | b'A')) {
        return None;
    }
    let id = text.get(at..at + 20)?;
    let prefix = [id[0], id[1], id[2], id[3]].map(|c| c.to_ascii_uppercase());
    (AWS_PREFIXES.contains(&&prefix) && id[4..].iter().all(u8::is_ascii_alphanumeric)).then_some(at + 20)
}

/// An AWS key id spaced out at `at` (see [`spaced_aws_key`]): between any two of its
/// characters, the prefix's too, a gap ([`aws_gap`]).
/// Twenty letters and digits in a row have no gap: the unspaced form, [`aws_key_at`]'s.
fn spaced_aws_key_at(text: &[u8], at: usize) -> Option<usize> {
    if !matches!(text.get(at), Some(b'a' | b'A'))
        || text
            .get(at..at + 20)
            .is_some_and(|id| id.iter().all(u8::is_ascii_alphanumeric))
    {
        return None;
    }
    let (mut i, mut prefix) = (at, [0u8; 4]);
    for n in 0..20 {
        if n > 0 {
            let gap = aws_gap(text, i);
            if text.get(i + gap).is_some_and(u8::is_ascii_alphanumeric) {
                i += gap;
            }
        }
        let c = *text.get(i)?;
        if n < 4 {
            prefix[n] = c.to_ascii_uppercase();
            if !AWS_PREFIXES.iter().any(|p| p[..=n] == prefix[..=n]) {
                return None;
            }
        } else if !c.is_ascii_alphanumeric() {
            return None;
        }
        i += 1;
    }
    Some(i)
}

/// The separators of a spaced-out key id.
fn aws_gap_char(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'.' | b'_' | b'-' | b':' | b'/' | b'|' | b',' | b'^')
}

/// The gap at `at` between two characters of a spaced-out key id: up to three spaces or tabs
/// and at most one of `.`, `_`, `-`, `:`, `/`, `|`, `,` (`A K`, `A   K`, `A:K`, `A, K`), its
/// length (0: none).
fn aws_gap(text: &[u8], at: usize) -> usize {
    let (mut len, mut spaces, mut marks) = (0, 0, 0);
    while let Some(&c) = text.get(at + len) {
        match c {
            b' ' | b'\t' if spaces < 3 => spaces += 1,
            c if aws_gap_char(c) && !matches!(c, b' ' | b'\t') && marks == 0 => marks += 1,
            _ => break,
        }
        len += 1;
    }
    len
}

/// A spaced-out key id (see [`spaced_aws_key_at`]) is one when, its gaps taken out, its 16
/// characters after the prefix hold a digit (real ids almost always do; words seldom) and
/// nothing alphanumeric follows it (it is not the start of a longer run of words), and its
/// groups are
/// - in capitals: of one length but the last (`AKIAIOSF ODNN7EXA MPLE`), or one of them mixes
///   letters and digits (`AKIA IOSFODNN 7EXAMPLE`) — `ASIA PACIFIC REGION 123` is words;
/// - in lower or mixed case: of one length but the last, no letter touching it (as for the
///   unspaced form) and not camelCase-shaped.
fn spaced_aws_key(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let gap = |c: char| c.is_ascii() && aws_gap_char(c as u8);
    if !m.contains(gap) {
        return false; // the unspaced form is the other pattern's
    }
    let key: Vec<u8> = m.bytes().filter(|&b| !gap(char::from(b))).collect();
    if !key[4..].iter().any(u8::is_ascii_digit) || char_at(cx, end).is_some_and(|c| c.is_alphanumeric()) {
        return false;
    }
    let groups: Vec<&str> = m.split(gap).filter(|g| !g.is_empty()).collect();
    let regular = match groups.split_last() {
        Some((last, [head, rest @ ..])) => rest.iter().all(|g| g.len() == head.len()) && last.len() <= head.len(),
        _ => false,
    };
    if key.iter().all(|c| !c.is_ascii_lowercase()) {
        let mixed = groups
            .iter()
            .any(|g| g.bytes().any(|b| b.is_ascii_digit()) && g.bytes().any(|b| b.is_ascii_alphabetic()));
        return regular || mixed;
    }
    regular && !cx.letter_touches(start, end) && !camel_case(&key)
}

/// An identifier in camelCase (`asiaSoutheast1Region`): two or more capitals, each starting a
/// run of at least two lower-case letters. A key with its case changed (`akiaIOSF…`,
/// `AkIaIoSf…`, `Akiaiosfodnn7example`) is not shaped so.
fn camel_case(b: &[u8]) -> bool {
    let caps: Vec<usize> = (0..b.len()).filter(|&i| b[i].is_ascii_uppercase()).collect();
    caps.len() >= 2
        && caps.iter().all(|&i| {
            b.get(i + 1..i + 3)
                .is_some_and(|w| w.iter().all(u8::is_ascii_lowercase))
        })
}

/// How far (bytes) before or after a birth date a person's name field still counts, across
/// line breaks (pretty-printed documents put `"patient_name"` and `"dob"` on separate lines).
pub const NAME_WINDOW: usize = 256;

/// A birth date names a person when a name keyword is on a line the match touches, or within
/// [`NAME_WINDOW`] bytes of it. One binary search in the keyword positions, found once per
/// scan — never a re-scan of the line or window per match.
fn names_a_person(_: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let lo = cx.line_start(start).min(start.saturating_sub(NAME_WINDOW));
    let hi = cx.line_end(end.saturating_sub(1)).max(end.saturating_add(NAME_WINDOW));
    let kw = cx.person_keywords();
    let i = kw.partition_point(|&p| p < lo);
    kw.get(i).is_some_and(|&p| p < hi)
}

/// The number of bytes a base64 run (standard alphabet, padded to four) decodes to.
fn base64_len(b64: &str) -> Option<usize> {
    let body = b64.trim_end_matches('=');
    let valid = b64.len().is_multiple_of(4)
        && b64.len() - body.len() <= 2
        && body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/');
    valid.then_some(body.len() * 6 / 8)
}

/// A digest written in base64 where package managers and SBOMs write one, of exactly its
/// algorithm's length (sixth round, 2026-12-04): Subresource Integrity and npm/Nix
/// (`sha256-…`, `sha384-…`, `sha512-…`, `sha1-…`: the name is part of the run, `-` being in
/// its alphabet), go.sum's `h1:…` (SHA-256), and a CycloneDX hash's `content` (`"alg"` within
/// 64 bytes, or `<hash alg="…">`) of 16, 20, 32, 48 or 64 bytes. A 64-byte key labelled
/// `AccountKey=` is no digest: only these forms are. The number of bytes of `m` that are the
/// digest (all of it, or — where the quoted-printable decoding read the `=` that ends a line
/// as a soft break and joined the next line to it — its start, the rest judged alone).
fn base64_digest(m: &str, cx: &Context<'_>, start: usize, end: usize) -> Option<usize> {
    let bytes = cx.text.as_bytes();
    let before = &bytes[start.saturating_sub(64)..start];
    // The algorithm's name in the run, or `h1:` before it; the digest's bytes.
    let prefixed = [("sha1-", 20usize), ("sha256-", 32), ("sha384-", 48), ("sha512-", 64)]
        .into_iter()
        .find(|(alg, _)| m.starts_with(alg))
        .or(before.ends_with(b"h1:").then_some(("", 32)));
    if let Some((alg, n)) = prefixed {
        let chars = (n * 4).div_ceil(3);
        let body = &m.as_bytes()[alg.len()..];
        if body.len() < chars
            || !body[..chars]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'))
        {
            return None;
        }
        let pad = body[chars..]
            .iter()
            .take((4 - chars % 4) % 4)
            .take_while(|&&c| c == b'=')
            .count();
        let k = alg.len() + chars + pad;
        let joined = cx
            .view
            .is_some_and(|v| v.kinds_within(start, end) & decode::kind::QP != 0);
        return (k == m.len() || joined).then_some(k);
    }
    let after = &bytes[end..(end + 64).min(bytes.len())];
    let near = |s: &[u8], w: &[u8]| s.windows(w.len()).any(|x| x == w);
    let mut trimmed = before;
    while let [rest @ .., b' ' | b'\t' | b'"'] = trimmed {
        trimmed = rest;
    }
    let json_content = trimmed.ends_with(b"\"content\":") && (near(before, b"\"alg\"") || near(after, b"\"alg\""));
    let xml_hash = before.ends_with(b"\">") && near(before, b"<hash alg=\"");
    ((json_content || xml_hash) && base64_len(m).is_some_and(|n| [16, 20, 32, 48, 64].contains(&n))).then_some(m.len())
}

fn high_entropy(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    if path_of_words(m) {
        return false;
    }
    // A git host's URL names a commit by its whole id beside mixed-case names
    // (`FasterXML/jackson-databind/blob/<sha>/…`: refused as a whole); the path is judged
    // without its commit ids (lower-case hex of 40 or 64: never random-looking alone).
    if m.contains('/') {
        let commit = |p: &str| matches!(p.len(), 40 | 64) && p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if m.split('/').any(commit) {
            let rest: Vec<&str> = m.split('/').filter(|p| !commit(p)).collect();
            let rest = rest.join("/");
            return rest.len() >= 40 && !path_of_words(&rest) && random_looking(&rest);
        }
    }
    // A Google Docs or Drive link names its file by a random-looking id (`/document/d/<id>/edit`,
    // `/drive/folders/<id>`: a ticket's link to a runbook was refused); the path is judged
    // without it. Only right after those hosts, and every other detector still reads the id.
    // The match starts inside the host (`com/document/d/…`: `.` ends a run).
    let parts: Vec<&str> = m.split('/').collect();
    let mut host = cx.text.as_bytes()[start.saturating_sub(16)..start].to_vec();
    host.extend_from_slice(parts[0].as_bytes());
    if parts.len() > 1 && (host.ends_with(b"://docs.google.com") || host.ends_with(b"://drive.google.com")) {
        let google_id = |i: usize| {
            i > 0
                && matches!(parts[i - 1], "d" | "folders")
                && (20..=64).contains(&parts[i].len())
                && parts[i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        };
        let rest: Vec<&str> = (0..parts.len()).filter(|&i| !google_id(i)).map(|i| parts[i]).collect();
        if rest.len() < parts.len() {
            let rest = rest.join("/");
            return rest.len() >= 40 && !path_of_words(&rest) && random_looking(&rest);
        }
    }
    match base64_digest(m, cx, start, end) {
        None => random_looking(m),
        // What the soft break joined after the digest, alone.
        Some(k) => m.len() - k >= 40 && random_looking(&m[k..]),
    }
}

/// A path whose every part is words and numbers written in one case each, joined by `-`
/// (`advisories`, `github-reviewed`, `2023`, `GHSA-9c47-m6qq-7p4h`, `FEDORA-2024-1a2b3c4d5e`):
/// an advisory URL's, not a key's. A key's parts mix cases between two marks
/// (`Zq3mR8vTkP2wX7nL/4bY9…`, a case change every few characters); without a `/` it is no path.
fn path_of_words(m: &str) -> bool {
    let one_case = |s: &str| !(s.bytes().any(|b| b.is_ascii_lowercase()) && s.bytes().any(|b| b.is_ascii_uppercase()));
    m.contains('/') && m.split(['/', '-']).all(one_case)
}

/// Base64-like characters with all three of lower case, upper case and digits, and a Shannon
/// entropy of 4.8 bits per character or more.
fn random_looking(m: &str) -> bool {
    let has = |f: fn(&u8) -> bool| m.as_bytes().iter().any(f);
    if !(has(u8::is_ascii_lowercase) && has(u8::is_ascii_uppercase) && has(u8::is_ascii_digit)) {
        return false;
    }
    let mut counts = [0u32; 256];
    for b in m.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = m.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum();
    entropy >= 4.8
}

/// What every check may ask about the text, each computed at most once per scan (one pass).
struct Context<'t> {
    text: &'t str,
    /// The view `text` is, when it is one (where glue was dropped: [`decode::View::glued_at`]).
    view: Option<&'t decode::View>,
    newlines: OnceLock<Vec<usize>>,
    keywords: OnceLock<Vec<usize>>,
    fhir_values: OnceLock<Vec<usize>>,
    fhir_identifiers: OnceLock<Vec<usize>>,
    msh: OnceLock<[Option<usize>; 128]>,
}

impl<'t> Context<'t> {
    fn new(text: &'t str, view: Option<&'t decode::View>) -> Context<'t> {
        Context {
            text,
            view,
            newlines: OnceLock::new(),
            keywords: OnceLock::new(),
            fhir_values: OnceLock::new(),
            fhir_identifiers: OnceLock::new(),
            msh: OnceLock::new(),
        }
    }

    /// An ASCII letter stands right before `start` or right after `end`, in the same part of
    /// the original (not across glue the joined view dropped).
    fn letter_touches(&self, start: usize, end: usize) -> bool {
        let letter = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphabetic());
        let glued = |at: usize| self.view.is_some_and(|v| v.glued_at(at));
        (letter(char_before(self, start)) && !glued(start)) || (letter(char_at(self, end)) && !glued(end))
    }

    /// `start..end` was read across glue the joined view dropped: inside it, or between it and a
    /// letter before it.
    fn read_across_glue(&self, start: usize, end: usize) -> bool {
        self.view.is_some_and(|v| {
            v.kinds_within(start, end) & decode::kind::SPLIT != 0
                || (v.glued_at(start) && char_before(self, start).is_some_and(|c| c.is_ascii_alphabetic()))
        })
    }

    /// Offsets of every `\n`, in order.
    fn newlines(&self) -> &[usize] {
        self.newlines.get_or_init(|| {
            self.text
                .bytes()
                .enumerate()
                .filter_map(|(i, b)| (b == b'\n').then_some(i))
                .collect()
        })
    }

    /// 0-based line of byte `at`, and the offset where that line starts.
    fn line_of(&self, at: usize) -> (usize, usize) {
        let nl = self.newlines();
        let line = nl.partition_point(|&p| p < at);
        (line, if line == 0 { 0 } else { nl[line - 1] + 1 })
    }

    fn line_start(&self, at: usize) -> usize {
        self.line_of(at).1
    }

    /// Where the line holding byte `at` ends (its `\n`, or the end of the text).
    fn line_end(&self, at: usize) -> usize {
        let nl = self.newlines();
        nl.get(nl.partition_point(|&p| p < at))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Start offsets of the words that name a person (`name`, `patient`, `first`, `last`,
    /// `surname`, `given`, `family`, any case, two capitalised words such as `Jane Roe`, or
    /// words in capitals such as `JANE ROE` — see [`names_someone`]; since attack round 7 an
    /// initial and a surname, `J. Smith`, `Smith J`, `Smith, John`, and `Mr`, `Dr`, `pt`), in
    /// order.
    fn person_keywords(&self) -> &[usize] {
        self.keywords.get_or_init(|| {
            person_keyword_re()
                .find_iter(self.text)
                .filter(|m| names_someone(m.as_str()))
                .map(|m| m.start())
                .collect()
        })
    }
}

impl Context<'_> {
    /// Start offsets of every `"value": "…"` (a FHIR identifier's value), in order.
    fn fhir_values(&self) -> &[usize] {
        self.fhir_values.get_or_init(|| {
            formats::fhir_value_re()
                .find_iter(self.text)
                .map(|m| m.start())
                .collect()
        })
    }

    /// Where the first HL7 `MSH` segment declaring `sep` as its field separator starts.
    fn first_msh(&self, sep: u8) -> Option<usize> {
        let first = self.msh.get_or_init(|| {
            let mut first = [None; 128];
            for (at, _) in self.text.match_indices("MSH") {
                if let Some(&c) = self.text.as_bytes().get(at + 3)
                    && c < 128
                    && first[usize::from(c)].is_none()
                {
                    first[usize::from(c)] = Some(at);
                }
            }
            first
        });
        first.get(usize::from(sep)).copied().flatten()
    }

    /// Start offsets of every `"identifier"` and `v2-0203` (the identifier-type code system).
    fn fhir_identifiers(&self) -> &[usize] {
        self.fhir_identifiers.get_or_init(|| {
            formats::fhir_identifier_re()
                .find_iter(self.text)
                .map(|m| m.start())
                .collect()
        })
    }
}

fn person_keyword_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"(?i:name|patient|first|last|surname|given|family)|[A-Z][a-z]+ [A-Z][a-z]+|[A-Z]{2,20}(?: [A-Z]{2,20})+|(?-u:\b)[A-Z]\.? ?[A-Z][a-z]+|[A-Z][a-z]+,? [A-Z](?-u:\b)|[A-Z][a-z]+, ?[A-Z]|(?-u:\b)(?i:mr|mrs|ms|miss|dr|pt)(?-u:\b)",
        )
        .expect("built-in pattern")
    })
}

/// A keyword match names a person: a keyword or a capitalised pair always; a run of words in
/// capitals (`JANE ROE DOB`) when at least two of its words are not [`NOT_NAMES`] (so
/// `DATE OF BIRTH` or `SSN DOB` name nobody).
fn names_someone(m: &str) -> bool {
    if !m.bytes().all(|b| b.is_ascii_uppercase() || b == b' ') || !m.contains(' ') {
        return true;
    }
    m.split(' ').filter(|w| !not_a_name(w)).count() >= 2
}

/// Capitalised words that stand before a date in titles, test names and reports without naming
/// anyone (`Release Notes 2019-03-02`, `Sprint Review`, `DATE OF BIRTH`), compared ignoring
/// case: a name of two words needs two words not in this list.
pub const NOT_NAMES: &[&str] = &[
    "a",
    "about",
    "acceptance",
    "active",
    "add",
    "added",
    "advisory",
    "after",
    "agreement",
    "aix",
    "alpha",
    "an",
    "and",
    "android",
    "annual",
    "api",
    "app",
    "application",
    "apr",
    "april",
    "archive",
    "archived",
    "as",
    "assessment",
    "at",
    "attestation",
    "audit",
    "aug",
    "august",
    "backup",
    "batch",
    "before",
    "beta",
    "billing",
    "birth",
    "birthdate",
    "born",
    "boundary",
    "branch",
    "browser",
    "bug",
    "build",
    "buildkite",
    "builds",
    "bulletin",
    "bump",
    "by",
    "calendar",
    "cart",
    "century",
    "cert",
    "certificate",
    "certs",
    "change",
    "changed",
    "changelog",
    "changes",
    "check",
    "checkout",
    "chore",
    "christmas",
    "chrome",
    "ci",
    "circleci",
    "claims",
    "cobol",
    "code",
    "commit",
    "company",
    "completed",
    "compliance",
    "contract",
    "copyright",
    "corp",
    "count",
    "coverage",
    "created",
    "cron",
    "cutoff",
    "cutover",
    "cve",
    "cycle",
    "daily",
    "dashboard",
    "data",
    "database",
    "date",
    "dated",
    "dates",
    "day",
    "db",
    "deadline",
    "debug",
    "dec",
    "december",
    "default",
    "demo",
    "deploy",
    "deployed",
    "deployment",
    "dev",
    "dicom",
    "dob",
    "draft",
    "drill",
    "dst",
    "due",
    "dump",
    "dumps",
    "e2e",
    "edition",
    "effective",
    "ehr",
    "emr",
    "end",
    "ended",
    "entry",
    "epoch",
    "error",
    "etl",
    "event",
    "expired",
    "expires",
    "expiry",
    "export",
    "fail",
    "failed",
    "failure",
    "feb",
    "february",
    "fhir",
    "final",
    "firefox",
    "first",
    "fix",
    "fixed",
    "fixture",
    "fixtures",
    "flow",
    "for",
    "freeze",
    "fri",
    "friday",
    "from",
    "functional",
    "ga",
    "gdpr",
    "github",
    "gitlab",
    "gmt",
    "go",
    "golang",
    "google",
    "handling",
    "hello",
    "hipaa",
    "hitrust",
    "hl7",
    "holiday",
    "hotfix",
    "icd",
    "icd10",
    "icu",
    "id",
    "ii",
    "iii",
    "import",
    "in",
    "inc",
    "incident",
    "info",
    "integration",
    "invoice",
    "ios",
    "is",
    "iso",
    "issue",
    "issued",
    "item",
    "iteration",
    "jan",
    "january",
    "java",
    "jenkins",
    "job",
    "jul",
    "july",
    "jun",
    "june",
    "junit",
    "kernel",
    "lab",
    "labs",
    "last",
    "launch",
    "leap",
    "legacy",
    "license",
    "linux",
    "live",
    "llc",
    "log",
    "login",
    "logout",
    "logs",
    "loinc",
    "ltd",
    "lts",
    "macos",
    "mainframe",
    "maintenance",
    "mar",
    "march",
    "may",
    "meeting",
    "merge",
    "merged",
    "migrate",
    "migration",
    "milestone",
    "mobile",
    "modified",
    "mon",
    "monday",
    "month",
    "monthly",
    "mrn",
    "mysql",
    "new",
    "next",
    "nginx",
    "nightly",
    "no",
    "node",
    "nodes",
    "not",
    "note",
    "notes",
    "nov",
    "november",
    "null",
    "number",
    "oct",
    "october",
    "of",
    "ok",
    "old",
    "on",
    "openssl",
    "or",
    "outage",
    "overflow",
    "parse",
    "parsing",
    "pass",
    "passed",
    "patch",
    "payment",
    "pci",
    "performance",
    "pharmacy",
    "phase",
    "php",
    "pipeline",
    "placeholder",
    "plan",
    "planned",
    "policy",
    "portal",
    "posix",
    "postgres",
    "postgresql",
    "prod",
    "production",
    "published",
    "python",
    "qa",
    "quarter",
    "quarterly",
    "rc",
    "record",
    "records",
    "refactor",
    "regression",
    "rel",
    "release",
    "released",
    "releases",
    "remove",
    "removed",
    "renewal",
    "report",
    "reports",
    "results",
    "retro",
    "retrospective",
    "revert",
    "review",
    "rollback",
    "rollout",
    "rollover",
    "rotate",
    "rotation",
    "rule",
    "rules",
    "run",
    "safari",
    "sanity",
    "sarif",
    "sat",
    "saturday",
    "sbom",
    "scan",
    "schedule",
    "scheduled",
    "schema",
    "search",
    "security",
    "seed",
    "seeds",
    "sentinel",
    "sep",
    "sept",
    "september",
    "server",
    "service",
    "settings",
    "sha",
    "signed",
    "signup",
    "since",
    "sla",
    "smoke",
    "snapshot",
    "snomed",
    "soc",
    "solaris",
    "sox",
    "spec",
    "sprint",
    "ssn",
    "stage",
    "staging",
    "standard",
    "start",
    "started",
    "statement",
    "suite",
    "summary",
    "sun",
    "sunday",
    "svc",
    "sync",
    "system",
    "tag",
    "target",
    "task",
    "teamcity",
    "tekton",
    "test",
    "testdata",
    "tested",
    "testing",
    "tests",
    "the",
    "thu",
    "thursday",
    "ticket",
    "time",
    "timezone",
    "to",
    "todo",
    "total",
    "training",
    "travis",
    "tue",
    "tuesday",
    "type",
    "tz",
    "tzdata",
    "underflow",
    "unit",
    "unix",
    "until",
    "update",
    "updated",
    "updates",
    "upgrade",
    "upgraded",
    "user",
    "utc",
    "valid",
    "vault",
    "vendor",
    "version",
    "vulnerability",
    "warn",
    "warning",
    "web",
    "wed",
    "wednesday",
    "week",
    "weekend",
    "weekly",
    "window",
    "windows",
    "world",
    "year",
    "zero",
];

fn not_a_name(word: &str) -> bool {
    let w = word
        .trim_matches(|c: char| !c.is_ascii_alphabetic())
        .to_ascii_lowercase();
    w.len() < 2 || NOT_NAMES.binary_search(&w.as_str()).is_ok()
}

fn detectors() -> &'static [Detector] {
    static D: OnceLock<Vec<Detector>> = OnceLock::new();
    D.get_or_init(|| {
        // No detector leans on a word boundary to start or end a value: `_`, a letter or a
        // digit glued to a value (`ref_123-45-6789`, `keyAKIA…`, `ghp_…_x`) must not hide it.
        // Labels (`ssn`, `dob`, `mrn`, …) may stand after `_` or a boundary (`patient_ssn`);
        // where a boundary is still needed it is ASCII (`(?-u:\b)`): the lazy DFA cannot decide
        // a Unicode one on non-ASCII text and falls back to a slower engine. Checks look at the
        // neighbouring characters instead (an SSN is not part of a longer number).
        // A lazy DFA cache of 16 MiB per pattern (default 2 MiB): noisy encodings (base85, Z85)
        // visit many states, and a cache that fills is cleared and its states determinized again.
        let re = |re: &str| {
            regex::RegexBuilder::new(re)
                .dfa_size_limit(16 << 20)
                .build()
                .expect("built-in pattern")
        };
        let d = |name, pattern: &str, check| Detector {
            name,
            find: Find::Regex(re(pattern), 0),
            check,
        };
        // The finding is the first capture group (the value after its label).
        let d1 = |name, pattern: &str, check| Detector {
            name,
            find: Find::Regex(re(pattern), 1),
            check,
        };
        vec![
            // Written with `-`, `/`, `_`, `.`, `:`, a space or HL7's `^` between its parts (the
            // same one twice), unlabelled.
            d(
                "us-ssn",
                r"\d{3}-\d{2}-\d{4}|\d{3}/\d{2}/\d{4}|\d{3}_\d{2}_\d{4}|\d{3}\.\d{2}\.\d{4}|\d{3}:\d{2}:\d{4}|\d{3} \d{2} \d{4}|\d{3}\^\d{2}\^\d{4}",
                valid_ssn,
            ),
            // Its parts may be the items of a list (`"patient_ssn": ["219", "45", "1100"]`, nine
            // one-digit items) or an object's members (`{"a": "219", "b": "45", "c": "1100"}`;
            // 2026-12-05, eighth round): read as one.
            d1(
                "us-ssn",
                r#"(?i)(?:(?:_|(?-u:\b))(?:ssns?|ss[ _-]?no|s\.s\.n\.?|s[ _-]s[ _-]n|social(?:[ _-]?security)?(?:[ _-]?(?:number|no))?|soc[ _-]?sec(?:[ _-]?(?:no|num|number))?|taxpayer[ _-]?id(?:[ _-]?(?:number|no))?|i?tin)(?:_|(?-u:\b))?|(?-i:[a-z0-9](?:Ssn|SSN|SocSec(?:No)?|TaxpayerId)))(?:[\W_]{0,6}(?i:number|num|nbr|no|value|val|full|primary|id)(?-u:\b)\.?)?[\W_]{0,8}(\d{3}[^0-9A-Za-z\n]?\d{2}[^0-9A-Za-z\n]?\d{4}|\d(?:[ \t]{1,2}(?:[-./][ \t]{0,2})?\d){8}|(?:[A-Za-z_][A-Za-z0-9_]{0,31}["']?[ \t]{0,3}:[ \t]{0,3}["']?)?\d{3}["']?[ \t\r\n]{0,16},[ \t\r\n]{0,16}(?:["']?[A-Za-z_][A-Za-z0-9_]{0,31}["']?[ \t]{0,3}:[ \t]{0,3})?["']?\d{2}["']?[ \t\r\n]{0,16},[ \t\r\n]{0,16}(?:["']?[A-Za-z_][A-Za-z0-9_]{0,31}["']?[ \t]{0,3}:[ \t]{0,3})?["']?\d{4}|\d(?:["']?[ \t\r\n]{0,16},[ \t\r\n]{0,16}["']?\d){8})"#,
                valid_labelled_ssn,
            ),
            // Or sibling fields each named for its part (`"ssn_area": "219", "ssn_group": "45",
            // "ssn_serial": "1100"`, TOML `ssn_area = "219"`, an event's `ssn_area: 219` lines,
            // `ssnPart1`…; ninth round): each key names the SSN (or `social`), the values its
            // three parts — or two, 5 + 4 or 3 + 6 (`ssn_first5`, `ssn_last4`; tenth round).
            d1(
                "us-ssn",
                r#"(?i)(?:ssn|social)[A-Za-z0-9_ -]{0,16}["']?[ \t]{0,3}[:=][ \t]{0,3}["']?(\d{2,6}["']?[ \t\r]{0,3}[,;\n][ \t\r\n]{0,16}["']?[A-Za-z_]{0,16}(?:ssn|social)[A-Za-z0-9_ -]{0,16}["']?[ \t]{0,3}[:=][ \t]{0,3}["']?\d{2,6}(?:["']?[ \t\r]{0,3}[,;\n][ \t\r\n]{0,16}["']?[A-Za-z_]{0,16}(?:ssn|social)[A-Za-z0-9_ -]{0,16}["']?[ \t]{0,3}[:=][ \t]{0,3}["']?\d{2,4})?)"#,
                valid_split_ssn,
            ),
            // Spaced out, digit by digit, with the dashes kept (`1 2 3 - 4 5 - 6 7 8 9`):
            // unlabelled. Without the dashes only a label makes it one (above).
            d(
                "us-ssn",
                r"\d[ \t]\d[ \t]\d[ \t]{0,2}[-./][ \t]{0,2}\d[ \t]\d[ \t]{0,2}[-./][ \t]{0,2}\d[ \t]\d[ \t]\d[ \t]\d",
                valid_spaced_ssn,
            ),
            // The label with words describing the value glued to it (`ssn_on_file=219451100`,
            // `patientSsnValue=219451100`, `ssn_number_on_file: …`) or after the number, ending
            // the phrase (`219451100 # patient SSN`, `219451100 (ss no)`, `219451100 is her
            // ssn`): a helper's find on the fourteenth session's head. Only words describing the
            // value are glued: a metric, a test or a service named for SSNs is no label
            // (`ssn_lookups_total 123456789`, `test_ssn_redaction_412345678`,
            // `commit 219451100 ssn-redaction`); `social` alone and `tin` are no labels here.
            d1(
                "us-ssn",
                &[
                    r#"(?i)(?:(?:_|(?-u:\b))(?:ssn|social[ _-]?security|soc[ _-]?sec|taxpayer[ _-]?id)|(?-i:[a-z0-9](?:Ssn|SSN|SocSec|SocialSecurity|TaxpayerId)))"#,
                    r#"(?:(?:[_.-]|(?-u:\b))(?i:on[_-]?file|of[_-]?record|number|num|nbr|no|value|val|id|full|raw|plain|digits|actual|primary|given|entered|provided|stored)|(?-i:On[Ff]ile|OfRecord|Number|Num|Nbr|No|Value|Val|Id|ID|Full|Raw|Plain|Digits|Actual|Primary|Given|Entered|Provided|Stored)){1,3}"#,
                    // Set off from its value by a mark or a space (`test_ssn_id_412345678` is a
                    // test's name).
                    r#"["']?(?:[^\S\n]{0,3}[:=>][^\S\n]{0,3}["']?|[^\S\n]{1,3})(\d{3}[^0-9A-Za-z\n]?\d{2}[^0-9A-Za-z\n]?\d{4})"#,
                ]
                .concat(),
                valid_id_ssn,
            ),
            d1(
                "us-ssn",
                &[
                    r"(?:^|[^0-9])(\d{3}[ .:/_~-]?\d{2}[ .:/_~-]?\d{4})[\W_&&[^\n]]{0,12}",
                    r"(?i:(?:(?:is|was|her|his|their|the|my|your|a)[ \t]+){0,3}(?:(?:patient|member|person)(?:'s)?[ \t_-]{0,3})?",
                    r"(?:ssn|ss[ _-]?no|s\.s\.n\.?|social[ _-]?security(?:[ _-]?(?:number|no))?|soc\.?[ _-]?sec\.?|taxpayer[ _-]?id(?:[ _-]?(?:number|no))?))",
                    r#"[ \t]*(?:(?m:$)|[)\]}"',;.])"#,
                ]
                .concat(),
                ssn_labelled_after,
            ),
            // Written in words, digit by digit (`two one nine four five one one zero zero`,
            // `five five five - one two three - four five six seven`: a configuration value's
            // prose, a helper's find on the thirteenth session's head). Nine words are an SSN
            // when its groups are valid; ten, or eleven after `one`, a phone number.
            d("us-ssn", DIGITS_IN_WORDS, ssn_in_words),
            d("phone-number", DIGITS_IN_WORDS, phone_in_words),
            // A bare nine-digit number is an SSN only where a person's identifier stands:
            // `patient_id: 219451100`, `member no 219-45-1100`, `subscriberId=…` (never a
            // build number, port, epoch time or digest: those carry no such label).
            d1(
                "us-ssn",
                &[
                    r"(?i)(?:(?:_|(?-u:\b))(?:patient|member|subscriber|beneficiary|insured|employee|person|guarantor|policy[ _-]?holder)[ _-]?(?:id|identifier|number|num|no)(?:_|(?-u:\b))?|(?-i:[a-z0-9](?:Patient|Member|Subscriber|Beneficiary|Insured|Employee|Person)(?:Id|ID|No|Number)))",
                    QUALIFIER,
                    r"\W{0,6}(\d{3}[ .:/_-]?\d{2}[ .:/_-]?\d{4})",
                ]
                .concat(),
                valid_id_ssn,
            ),
            d(
                "dob-with-name",
                &[
                    r"(?i)(?:(?:_|(?-u:\b))(?:dob|(?:date|dt)[ _-]?of[ _-]?birth|birth[ _-]?(?:date|day|dt|dttm|datetime|date[ _-]?time|time|ts)|date[ _-]?birth|b_?date|born(?:[ _-]on)?)(?:_|(?-u:\b))|(?-u:\b)d\.o\.b\.?|(?-i:[a-z0-9](?:Dob|DOB|BirthDate|DateOfBirth)))",
                    DATE_QUALIFIER,
                    r"\W{0,6}(\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|(?:19|20)\d{6}|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:19|20)\d\d|\d{1,2}(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(?:\d{4}|\d{2})|(?:the\s+)?\d{1,2}(?:st|nd|rd|th)?(?:\s+of)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+\d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+the)?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}(?:st|nd|rd|th)?[-/. ](?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?[-/. ,]\s?(?:\d{4}|\d{2})|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[-/. ]\d{1,2}[-/. ,]\s?(?:\d{4}|\d{2}))",
                ]
                .concat(),
                names_a_person,
            ),
            d("name-with-date", &name_with_date_pattern(), name_beside_birth_date),
            d(
                "patient-contact",
                &[
                    r#"(?i)(?:_|(?-u:\b))(patient|member)[ _-]?(phone|tel|telephone|mobile|email|e-mail)(?:[ _-]?(?:number|no|address|addr))?(?:_|(?-u:\b))"#,
                    CONTACT_QUALIFIER,
                    // A phone written with spaces (`+1 555 123 4567`), or any value without.
                    r#"["')\]]{0,2}\s*[:=]\s*"?(?:\+?\d{1,3}[ .-]?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}|[^\s",<]{5,})"#,
                ]
                .concat(),
                always,
            ),
            // An HL7 v2 patient identification segment (`PID|1||…^^^HOSP^MR||Roe^Jane||19800102`):
            // identifiers, name and birth date by definition, once it holds five fields. At a
            // segment's start (a line break or carriage return) or after any character that
            // is not a letter, digit or `_` (a quote, a space: the segment inside a field).
            d1(
                "hl7-pid",
                r"(?:^|[^A-Za-z0-9_])(PID\|(?:[^|\r\n]*\|){4}[^\r\n\x22<]*)",
                always,
            ),
            // The header in any case, any run of dashes or none, any spacing.
            d("private-key", r"(?i)BEGIN\s+(?:[A-Z0-9]+\s+){0,2}PRIVATE\s+KEY", always),
            // Without its header (sixth round, 2026-12-04): the base64 of a private key's DER
            // start at each of its three alignments — PKCS#8 RSA (`MIIEvQIBADANBgkqhkiG9w0B…`)
            // and EC, PKCS#1 RSA of 1024 to 4096 bits (`MIIEowIBAAKCAQEA`, `…AgEAAoIBAQ…`
            // inside PKCS#8), SEC1 EC (`MHcCAQEEI…`), Ed25519 PKCS#8 — OpenSSH's
            // `openssh-key-v1` (`b3BlbnNzaC1rZXktdjE`), an age identity, and `openssl rsa -text`
            // or `openssl ec -text` output (`privateExponent:`/`priv:` and hex lines).
            d(
                "private-key",
                r"b3BlbnNzaC1rZXktdjE|AgEAMA0GCSqGSIb3DQEBAQUA|IBADANBgkqhkiG9w0BAQEFAAS|CAQAwDQYJKoZIhvcNAQEBBQAE|AgEAMBMGByqGSM49AgE|IBADATBgcqhkjOPQIB|CAQAwEwYHKoZIzj0C|AgEAAoI[BC][AQg]|AgEAAoGBA|IBAAKCA[Qg]EA|IBAAKBgQ|CAQACggEB|CAQACggIB|CAQACgYEA|MHcCAQEEI|MIGkAgEBBDA|MIHcAgEBBEI|MC4CAQAwBQYDK2VwBCIEI|AGE-SECRET-KEY-1[0-9A-Z]{58}|(?:privateExponent|priv):\s{0,16}(?:[0-9a-f]{2}:\s{0,16}){8}",
                always,
            ),
            d("stripe-key", r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}", always),
            Detector {
                name: "aws-access-key",
                find: Find::AtEvery(aws_key_at),
                check: aws_key,
            },
            // Written in groups of four (`AKIA IOSF ODNN 7EXA MPLE`, `AKIA-IOSF-…`), capitals.
            d(
                "aws-access-key",
                r"(?:AKIA|ASIA|AGPA|AIDA|AROA)(?:[ \t._-][0-9A-Z]{4}){4}",
                always,
            ),
            // Spaced out any other way (other groups, lower or mixed case, a gap everywhere).
            Detector {
                name: "aws-access-key",
                find: Find::AtEvery(spaced_aws_key_at),
                check: spaced_aws_key,
            },
            d("github-token", r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,}", always),
            d("slack-token", r"xox[baprs]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{20,}", always),
            d("google-api-key", r"AIza[0-9A-Za-z_-]{35}", always),
            d("ward-token", r"ward_[0-9a-f]{12}_[0-9a-f]{64}", always),
            d("jwt", r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", always),
            d(
                "password-in-url",
                r"[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@]{0,64}:[^\s:/@]{1,128}@",
                url_credential,
            ),
            // `user:password@host` without a scheme (a proxy/libpq/redis-style target): the
            // credential from the start of a word (one pass of the DFA, no capture), at a host that
            // cannot be a mail domain — namespaced mail addresses (`staff:jane@example.org`),
            // image digests and package coordinates are not ([`credentials_at_host`]).
            d(
                "password-in-url",
                r#"(?-u:\b)[A-Za-z0-9][A-Za-z0-9._%+~-]{0,63}:[^\s:/@"'<>()\[\]{},;|]{1,128}@[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63}){0,8}"#,
                credentials_at_host,
            ),
            d("high-entropy", r"[A-Za-z0-9+/_-]{40,}={0,2}", high_entropy),
        ]
        .into_iter()
        .chain(formats::detectors())
        .chain(tables::detectors())
        .collect()
    })
}

/// Nine or more digits written as words, one word a digit, parted by spaces and marks (a run
/// of any length: a word before or after the number must not hide it — a reviewer's find).
const DIGITS_IN_WORDS: &str = r"(?i)(?-u:\b)(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)[ \t,.\-_/]{1,3}){8,}(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?-u:\b)";

/// The digits a run of digit words spells (`oh` is 0).
fn digits_of_words(m: &str) -> String {
    m.split(|c: char| !c.is_ascii_alphabetic())
        .filter_map(|w| {
            let d = match w.to_ascii_lowercase().as_str() {
                "zero" | "oh" => '0',
                "one" => '1',
                "two" => '2',
                "three" => '3',
                "four" => '4',
                "five" => '5',
                "six" => '6',
                "seven" => '7',
                "eight" => '8',
                "nine" => '9',
                _ => return None,
            };
            Some(d)
        })
        .collect()
}

/// Nine digit words in a row spelling an SSN whose groups are valid, wherever in the run.
fn ssn_in_words(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    let d = digits_of_words(m);
    (0..d.len().saturating_sub(8)).any(|i| ssn_parts_valid(&d[i..i + 3], &d[i + 3..i + 5], &d[i + 5..i + 9]))
}

/// Ten digit words or more in a row: a phone number (with its country code, or within more).
fn phone_in_words(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    digits_of_words(m).len() >= 10
}

/// `password=…`, `pwd: …`, `aws_secret_access_key = …`, and the label spelled with look-alike
/// symbols (`p@ssword`, `pa$$w0rd`, `p4ss`): a credential assigned in text (a
/// reference such as `env://NAME` or a placeholder such as `${PW}` or `****` is not one). Run
/// only where [`GuardConfig::password_assignments`] asks.
fn password_assignment() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r#"(?i)(?:_|(?-u:\b))(?:p[a@4][s$5][s$5](?:w[o0]r[dt]|wd)?|pwd|pgpassword|mysql_pwd|(?:aws[ _-]?)?secret(?:[ _-]?access)?[ _-]?key|(?:client|api|app)[ _-]?secret|encryption[ _-]?key)(?:_|(?-u:\b))?(?:[\W_]{0,6}(?:value|val|plain|plaintext|text|raw|string)(?-u:\b)[)\]]?)?(?:["']{0,2}\s*(?:=>|[:=])\s*["']{0,2}|>)([^\s"'`;&,<>)\]}]{6,})"#,
        )
        .expect("built-in pattern")
    })
}

/// A password told in words rather than assigned: `pw is hunter2hunter2`, `the password was
/// Tr0ub4dor`, `passphrase set to …` (a configuration value's prose, a helper's find on the
/// thirteenth session's head). What follows is judged by [`secret_in_prose`]: prose goes on
/// with words (`the password is required`, `… is rotated monthly`).
fn password_in_prose() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r#"(?i)(?:_|(?-u:\b))(?:p[a@4][s$5][s$5](?:w[o0]r[dt]|wd|phrase|code)|pw)(?-u:\b)[ \t]+(?:is|was|(?:is[ \t]+)?(?:now|set[ \t]+to|equal[ \t]+to)|equals|reads)[ \t]*:?[ \t]+["'`]?([^\s"'`;,<>)\]}]{6,})"#,
        )
        .expect("built-in pattern")
    })
}

/// A password told in words after `pass` alone (`the pass is hunter2hunter2`, `wifi pass:
/// Tr0ub4dor`): `pass` is also a step (`the second pass is arm64-only`), so what follows is
/// judged more strictly ([`pass_told_in_prose`]). A helper's find on the fourteenth session's head.
fn pass_in_prose() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r#"(?i)(?:_|(?-u:\b))p[a@4][s$5][s$5](?-u:\b)[ \t]*(?:(?:is|was|(?:is[ \t]+)?(?:now|set[ \t]+to|equal[ \t]+to)|equals|reads)[ \t]*:?|:|\u{2014}|\u{2013})[ \t]+["'`]?([^\s"'`;,<>)\]}]{6,})"#,
        )
        .expect("built-in pattern")
    })
}

/// After `pass` alone a secret is what [`secret_in_prose`] takes for one and, besides, reads as
/// no step of a build: eight characters or more, one word (`hunter2hunter2`, `Tr0ub4dor`,
/// `Winter2026!`), not words joined by `-` (`k8s-only`, `i18n-focused`, `100%-green`), a
/// duration (`1h30m12s`), a version (`v1.2.3+build.5`), a platform or a tool with its number
/// (`x86_64+arm64`, `arm64@v8`, `ubuntu2204`, `gcc13/clang17`) or a count (`42tests`): two
/// helpers' reviews of the fourteenth and fifteenth sessions' heads.
fn pass_told_in_prose(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    // Platforms, each a whole word (`x86_64+arm64`, `arm64@v8`); names of tools, systems and
    // types that a number follows (`ubuntu2204`, `python3only`, `gcc13`, `fp16`,
    // `win11compatible`), compared with a word's letters before its first digit. Sorted.
    const PLATFORMS: [&str; 12] = [
        "aarch64", "amd64", "arm64", "armv7", "darwin", "i386", "i686", "linux", "musl", "win32", "win64", "x86",
    ];
    const TOOLS: [&str; 35] = [
        "alpine", "android", "api", "bf", "centos", "clang", "cuda", "debian", "dotnet", "el", "es", "fedora", "fp",
        "gcc", "go", "http", "int", "ios", "ipv", "java", "jdk", "llvm", "macos", "node", "php", "py", "python",
        "rhel", "ruby", "sm", "ubuntu", "uint", "utf", "win", "windows",
    ];
    let value = m.trim_end_matches(['.', ':', '!', '?', ',']);
    let joined_words = value
        .split('-')
        .skip(1)
        .any(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_alphabetic()));
    let duration = !value.is_empty()
        && value
            .split(['h', 'm', 's', 'd', 'w'])
            .all(|n| n.bytes().all(|b| b.is_ascii_digit()));
    // `1.2.3`, `v1.2.3+build.5`: digits, a dot, digits at the start.
    let bytes = value.trim_start_matches(['v', 'V']).as_bytes();
    let lead = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let version = lead > 0 && bytes.get(lead) == Some(&b'.') && bytes.get(lead + 1).is_some_and(u8::is_ascii_digit);
    let named = value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| {
            let w = w.to_ascii_lowercase();
            let letters = w.split(|c: char| c.is_ascii_digit()).next().unwrap_or("");
            PLATFORMS.binary_search(&w.as_str()).is_ok()
                || (letters.len() < w.len() && TOOLS.binary_search(&letters).is_ok())
                // A count: digits, then a word (`42tests`).
                || (w.as_bytes()[0].is_ascii_digit()
                    && w.trim_start_matches(|c: char| c.is_ascii_digit()).bytes().all(|b| b.is_ascii_alphabetic()))
        });
    value.chars().count() >= 8 && !joined_words && !duration && !version && !named && secret_in_prose(m, cx, start, end)
}

/// A value told in prose is a secret when it holds a letter and a digit (`hunter2hunter2`,
/// `s3cret!`, `Tr0ub4dor&3`) and is no placeholder or reference ([`not_a_placeholder`]); a
/// word alone (`required`, `rotated`, `stored-in-vault`), a number alone, and a value naming how
/// passwords are kept (`argon2id-hashed`, `sha256`, `base64`) are prose.
fn secret_in_prose(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    const HOW_KEPT: [&str; 24] = [
        "2fa", "aes128", "aes256", "argon2", "argon2i", "argon2id", "base32", "base64", "ed25519", "es256", "hs256",
        "md5", "oauth2", "pbkdf2", "pkcs12", "rs256", "rsa2048", "rsa4096", "sha1", "sha256", "sha512", "tls12",
        "tls13", "utf8",
    ];
    // A length or a size told in words: `12-character`, `16-chars`, `6-digit`, `256-bit`.
    const UNITS: [&str; 12] = [
        "bit",
        "bits",
        "byte",
        "bytes",
        "char",
        "character",
        "characters",
        "chars",
        "digit",
        "digits",
        "letter",
        "letters",
    ];
    let m = m.trim_end_matches(['.', ':', '!', '?']);
    let letter = m.chars().any(char::is_alphabetic);
    let digit = m.chars().any(|c| c.is_ascii_digit());
    // `SHA-256`, `AES_256`: read without the marks inside a name.
    let lower = m.to_ascii_lowercase().replace(['-', '_'], "");
    let names_how_kept = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .chain(m.split(|c: char| !c.is_ascii_alphanumeric()))
        .any(|part| HOW_KEPT.binary_search(&part.to_ascii_lowercase().as_str()).is_ok());
    let unit = m
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start_matches('-');
    let a_length = unit.len() < m.len() && UNITS.binary_search(&unit.to_ascii_lowercase().as_str()).is_ok();
    letter && digit && !names_how_kept && !a_length && not_a_placeholder(m, cx, start, end) && !m.contains("://")
}

/// Credentials in the forms commands and headers write them: `Authorization: Basic <base64>`
/// (user and password), `curl -u user:password` / `--user user:password`, the MySQL and
/// MariaDB clients' `-pPASSWORD` (glued: `-p` alone asks for it), `-p'PASSWORD'` and
/// `--password=PASSWORD` / `--password PASSWORD` within ten arguments of the command, and
/// `sshpass -p PASSWORD`.
fn credential_forms() -> &'static [Regex; 4] {
    static R: OnceLock<[Regex; 4]> = OnceLock::new();
    R.get_or_init(|| {
        [
            Regex::new(r"(?i)(?-u:\b)authorization\s*[:=]\s*basic\s+([A-Za-z0-9+/]{8,}={0,2})")
                .expect("built-in pattern"),
            Regex::new(r#"(?:^|[\s"'])(?:-u|--user)[\s=]+["']?[^\s:@"']{1,64}:([^\s@"']{6,})"#)
                .expect("built-in pattern"),
            Regex::new(
                r#"(?-u:\b)(?i:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlpump|mysqlsh|mariadb|mariadb-dump|mariadb-admin)(?:[ \t]+[^\s]+){0,10}?[ \t]+(?:-p["']?|--password(?:=|[ \t]+)["']?)([^\s"'-][^\s"']{3,})"#,
            )
            .expect("built-in pattern"),
            Regex::new(r#"(?-u:\b)sshpass(?:[ \t]+-[a-oq-zA-Z]\S*){0,4}[ \t]+-p[ \t]*["']?([^\s"'-][^\s"']{3,})"#)
                .expect("built-in pattern"),
        ]
    })
}

/// Up to two qualifying words between a label and its value, each after up to six separators:
/// `mrn_number:`, `{"mrn": {"value": …}}`, `MRN (primary):`, `patient_id_number:` (what the
/// labelled SSN allows, for the other labelled detectors).
const QUALIFIER: &str =
    r"(?:[\W_]{0,6}(?i:number|num|nbr|no|value|val|full|primary|id|identifier|code)(?-u:\b)\.?){0,2}";

/// The same for a birth date: a qualifying word or the date's format (`DOB (yyyy-mm-dd):`,
/// `date_of_birth_value=`, `dob_iso:`, `{"dob": {"value": …}}`).
const DATE_QUALIFIER: &str = r"(?:[\W_]{0,6}(?i:value|val|full|date|dt|tm|dttm|datetime|time|ts|iso|iso8601|utc|local|format|fmt|[ymd]{1,4}(?:[-./ ]?[ymd]{1,4}){1,2})(?-u:\b)\.?){0,2}";

/// The same for a patient's phone or e-mail (`patient_phone_primary:`, `patient phone (home):`,
/// `{"patient_phone": {"value": …}}`).
const CONTACT_QUALIFIER: &str = r"(?:[\W_]{0,6}(?i:number|num|no|value|val|primary|home|work|mobile|cell|main|address|addr|id)(?-u:\b)[.)\]]?){0,2}";

fn default_mrn() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(&format!(r"(?i)(?:(?:_|(?-u:\b))(?:MRN|M[ .]R[ .]N\.?|MR ?#|med(?:ical)?[ _-]?rec(?:ord)?s?[ _-]?(?:number|num|no|#)|chart(?:[ _-]?(?:number|num|no|id|#))?)(?:_|(?-u:\b))?|(?-i:[a-z0-9](?:Mrn|MRN|MedRecNo))){QUALIFIER}\W{{0,12}}[A-Za-z]{{0,2}}(?:\d{{6,10}}|\d{{2,4}}-\d{{2,4}}-\d{{2,4}})"))
            .expect("built-in pattern")
    })
}

/// A record number after its label written with letters drawn like digits (`MRN 0O123456`,
/// `patient 00l23456`: a helper's attack on the thirteenth session's head published them in a
/// configuration bundle): the label, then a run of digits and `O`/`o`/`I`/`l`/`L` holding at
/// least one such letter ([`lookalike_record_number`] checks the run).
fn lookalike_mrn() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(&format!(
            r"(?i)(?:(?:_|(?-u:\b))(?:MRN|M[ .]R[ .]N\.?|med(?:ical)?[ _-]?rec(?:ord)?s?(?:[ _-]?(?:number|num|no|#))?|patient(?:[ _-]?(?:id|identifier|number|num|no))?|member[ _-]?(?:id|identifier|number|num|no))(?:_|(?-u:\b))?){QUALIFIER}\W{{0,12}}([0-9OoIlL]{{6,12}})(?-u:\b)"
        ))
        .expect("built-in pattern")
    })
}

/// The run [`lookalike_mrn`] matched read as a number: six to ten digits once `O`/`o` read as 0
/// and `I`/`i`/`l`/`L` as 1 (the pattern's class is case-insensitive and takes runs of up to 12,
/// so that a longer run is not cut into a match), at least half of them written as digits, at least one letter (a run of
/// digits alone is the plain pattern's).
fn lookalike_record_number(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    let run = m
        .rsplit(|c: char| !(c.is_ascii_digit() || "OoIilL".contains(c)))
        .next()
        .unwrap_or_default();
    let digits = run.bytes().filter(u8::is_ascii_digit).count();
    let letters = run.len() - digits;
    (6..=10).contains(&run.len()) && letters >= 1 && digits * 2 >= run.len()
}

/// A scan stopped before the end because its caller's work budget ran out (a deadline passed,
/// or the request that wanted it was dropped). Nothing it found so far is returned: a partial
/// scan proves nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the PHI/secret scan was stopped before the end: its work budget ran out")]
pub struct Stopped;

/// How deep encodings are unwrapped: base64 of base64 of base64 of hex is four levels. Each
/// level is at most about 0.83 of the one before (base64: three quarters plus a line break per
/// run), or about its size where a compressed stream inflates (never past the run's length), so
/// the views together stay within a few passes over the text (the worst case,
/// `base64-nested-4` of [`adversarial_inputs`], is measured in BENCHMARKS.md).
pub const MAX_NESTING: usize = 4;

/// Every built-in detector's name, as findings, refusals ([`detector_names`]) and
/// `[guard] disable` name them. `GuardSection::compile` refuses any other name in `disable`: a
/// misspelt detector would otherwise be switched off nowhere, silently.
pub const DETECTOR_NAMES: &[&str] = &[
    "us-ssn",
    "mrn",
    "dob-with-name",
    "name-with-date",
    "patient-contact",
    "hl7-pid",
    "private-key",
    "stripe-key",
    "aws-access-key",
    "github-token",
    "slack-token",
    "vendor-token",
    "credential-file",
    "google-api-key",
    "ward-token",
    "jwt",
    "password-in-url",
    "high-entropy",
    "password-assignment",
    "ccda-patient",
    "dicom-patient",
    "ncpdp-patient",
    "fhir-identifier",
    "medicare-mbi",
    "drivers-licence",
    "x12-patient",
    "personal-email",
    "mail-recipient",
    "phone-number",
    "patient-record",
    "gitlab-token",
    "azure-sas",
    "azure-storage-key",
    "npm-token",
    "pypi-token",
    "openai-key",
    "anthropic-key",
    "vault-token",
    "sendgrid-key",
    "twilio-key",
    "huggingface-token",
    "google-oauth-secret",
    "newrelic-key",
    "telegram-bot-token",
    "shopify-token",
    "digitalocean-token",
    "mailgun-key",
    "otp-secret",
    "sentry-dsn",
    "aws-secret-key",
    "bearer-token",
    "labelled-secret",
    "table-view-limit",
];

/// The detectors that read the joined view ([`decode::joined`]): values an attacker splits
/// across lines, fields or tags to hide them. Names, dates, contacts and credentials are not
/// joined (two adjacent fields of a report are not one value), nor `high-entropy` (base64
/// wrapped over lines would become one long run).
pub const SPLIT_DETECTORS: &[&str] = &[
    "us-ssn",
    "aws-access-key",
    "private-key",
    "github-token",
    "slack-token",
    "google-api-key",
    "stripe-key",
    "ward-token",
    // A URL's credentials split across fields (`{"url": "postgres://u:", "rest": "pw@db/x"}`):
    // the scheme form only (`credentials_at_host` reads no glue).
    "password-in-url",
    // Vendor tokens with a fixed prefix (2026-12-04, fifth round): `"glpat-AbCd", "b": "Ef…"`.
    "gitlab-token",
    "npm-token",
    "pypi-token",
    "openai-key",
    "anthropic-key",
    "vault-token",
    "vendor-token",
    "sendgrid-key",
];

/// Which detectors read a view: all (`None`) or those named.
type Only = Option<&'static [&'static str]>;

/// How many matches of one detector are taken between two calls of the caller's `stop`.
const STOP_EVERY: usize = 1024;

/// The detectors that made `found`, sorted, each once: all a refusal may say about a finding.
pub fn detector_names(found: &[Finding]) -> String {
    let mut names: Vec<&str> = found.iter().map(|f| f.detector.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

/// Scans a text document; returns every finding, in order.
///
/// Linear time: each detector is one left-to-right pass of the regex engine over the whole text
/// (finite automata, no backtracking), every check costs O(match) or one binary search, and
/// lines are located by a binary search in the newline offsets found once. There is no
/// per-line and no per-match re-scan, so neither one 5 MiB line nor five million short ones
/// costs more than a few passes over the bytes. The same passes run over the decoded view and
/// the base64 view when the text has them ([`decode`]; each no longer than the text), and their
/// findings are mapped back to the encoded spans of the original.
pub fn scan(text: &str, cfg: &GuardConfig) -> Vec<Finding> {
    let Ok(found) = run::<std::convert::Infallible>(text, cfg, &mut || Ok(()));
    found
}

/// [`scan`] under a work budget: `stop` is asked before each detector's pass and every
/// 1,024 matches; when it answers `true` the scan ends with [`Stopped`]. Pass a
/// closure that reads a deadline or a cancellation flag (the clock stays with the caller).
pub fn scan_until(text: &str, cfg: &GuardConfig, stop: &mut dyn FnMut() -> bool) -> Result<Vec<Finding>, Stopped> {
    run(text, cfg, &mut || if stop() { Err(Stopped) } else { Ok(()) })
}

/// A finding's decodings and span: in a view, and in the text.
type Mapped = (u32, (usize, usize));

/// What the detectors found in a text: `(detector, start, end)`.
type Hits<'c> = Vec<(&'c str, usize, usize)>;

/// [`Hits`] kept for a view read again ([`Seen`]).
type Found<'c> = std::rc::Rc<Hits<'c>>;

/// Records a finding: detector, span in the text, the decodings that revealed it.
type Record<'r> = dyn FnMut(&str, (usize, usize), Option<String>) + 'r;

/// The views of the text as sent that are read beside the decoded view's (see `run`).
const SIDE_VIEWS: [fn(&str) -> Option<decode::View>; 5] = [
    decode::ascii85_uuencode,
    decode::base85,
    decode::char_codes,
    decode::message_arguments,
    decode::hex_dumps,
];

fn run<E>(text: &str, cfg: &GuardConfig, stop: &mut dyn FnMut() -> Result<(), E>) -> Result<Vec<Finding>, E> {
    std::thread::scope(|s| run_in(s, text, cfg, stop))
}

/// The side views of `text` built on a second thread of `s` (where there is a second core, for
/// a long text), or `None` (then built where they are read).
fn side_views_beside<'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    text: impl AsRef<str> + Send + 'scope,
) -> Option<std::thread::ScopedJoinHandle<'scope, [Option<decode::View>; 5]>> {
    if text.as_ref().len() < PARALLEL_TEXT || !second_core() {
        return None;
    }
    std::thread::Builder::new()
        .spawn_scoped(s, move || SIDE_VIEWS.map(|make| make(text.as_ref())))
        .ok()
}

/// The joined view of a long text and the encoded runs of the joined view (see `run_in`),
/// built on a second thread; each depends on the text alone.
type JoinedViews = (Option<decode::View>, Option<decode::View>);

/// A view of `base` built on a second thread of `s` by `make` (where there is a second core,
/// for a long text), or `None` (then built where it is read).
fn beside<'scope, T: Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    base: impl AsRef<str> + Send + 'scope,
    make: fn(&str) -> T,
) -> Option<std::thread::ScopedJoinHandle<'scope, T>> {
    if base.as_ref().len() < PARALLEL_TEXT || !second_core() {
        return None;
    }
    std::thread::Builder::new()
        .spawn_scoped(s, move || make(base.as_ref()))
        .ok()
}

/// The joined view of `base` and that view's encoded runs.
fn joined_views(base: &str) -> JoinedViews {
    let joined = decode::joined(base);
    let runs = joined.as_ref().and_then(|v| decode::encoded_runs(&v.text));
    (joined, runs)
}

fn run_in<'scope, 'env, E>(
    s: &'scope std::thread::Scope<'scope, 'env>,
    text: &'env str,
    cfg: &GuardConfig,
    stop: &mut dyn FnMut() -> Result<(), E>,
) -> Result<Vec<Finding>, E> {
    // The side views of a long text depend on nothing else: built on a second thread while this
    // one reads the text and its other views — those of the text as sent, and those of its
    // decoded view (built first for that; read in the same order as ever).
    let mut side_views = side_views_beside(s, text);
    let decoded = decode::decoded(text).map(|view| {
        let again = decode::decoded(&view.text);
        (view, again)
    });
    let mut decoded_side_views = decoded
        .as_ref()
        .and_then(|(view, again)| side_views_beside(s, again.as_ref().unwrap_or(view).text.clone()));
    // The joined view and the encoded runs (of the joined view, and of the decoded view or the
    // text: the first level of nesting) are read last but depend only on that text: built on
    // another thread while this one reads the views before them (each a single pass that would
    // otherwise leave the second core idle).
    let base_of_runs = decoded
        .as_ref()
        .map(|(view, again)| &again.as_ref().unwrap_or(view).text);
    let mut joined_beside = match base_of_runs {
        Some(base) => beside(s, base.clone(), joined_views),
        None => beside(s, text, joined_views),
    };
    let mut first_runs_beside = match base_of_runs {
        Some(base) => beside(s, base.clone(), decode::encoded_runs),
        None => beside(s, text, decode::encoded_runs),
    };
    let cx = Context::new(text, None);
    let mut out = Vec::new();
    let mut record = |name: &str, (start, end): (usize, usize), decoded: Option<String>| {
        let (line, line_start) = cx.line_of(start);
        out.push(Finding {
            detector: name.to_string(),
            line: line + 1,
            column: start - line_start + 1,
            decoded,
            range: (start, end),
        });
    };
    for (name, start, end) in detect(text, None, cfg, stop, None)? {
        record(name, (start, end), None);
    }
    // The views: each built in one pass, never longer than its input (see `decode`). `chain`
    // holds them in order, each mapping into the one before it (the first into the text): the
    // decoded view, then per level of nesting the encoded runs and their decoded view.
    let mut chain: Vec<decode::View> = Vec::new();
    // What the detectors found in the large views read so far, by their text (see `Seen`).
    let mut seen = Seen::default();
    let mut scan_view = |chain: &[decode::View], record: &mut Record<'_>, only: Only| {
        let Some(top) = chain.last() else { return Ok(()) };
        stop()?;
        let found = match seen.get(top, only) {
            Some(found) => found,
            None => {
                let found = detect(&top.text, Some(top), cfg, stop, only)?;
                seen.put(top, only, found)
            }
        };
        // Many matches inside one decoded token (an encoded run) map to the same span of the
        // text: recorded once, not once per match (a 5 MiB run of text holds 280k SSNs). The
        // way down the chain is taken once per token, not once per match (a token of a view
        // under the joined view spans thousands of its segments).
        let mut last: Option<(&str, (usize, usize))> = None;
        let mut mapped: Option<(Mapped, Mapped)> = None;
        for &(name, start, end) in found.iter() {
            let key = (top.kinds_in(start, end), top.to_original(start, end));
            let (kinds, span) = match mapped {
                Some((k, to)) if k == key => to,
                _ => {
                    let (mut kinds, mut span) = key;
                    for v in chain.iter().rev().skip(1) {
                        kinds |= v.kinds_within(span.0, span.1);
                        span = v.to_original(span.0, span.1);
                    }
                    mapped = Some((key, (kinds, span)));
                    (kinds, span)
                }
            };
            if last == Some((name, span)) {
                continue;
            }
            last = Some((name, span));
            record(name, span, Some(decode::label(kinds)));
        }
        stop()
    };
    // The decoded view, and (escapes written one level down: a JSON string whose text is
    // `\x31\x32…`, or `&amp;amp;#45;`) the decoded view decoded once more.
    if let Some((view, again)) = decoded {
        chain.push(view);
        scan_view(&chain, &mut record, None)?;
        if let Some(again) = again {
            chain.push(again);
            scan_view(&chain, &mut record, None)?;
        }
    }
    // Name/value property pairs read as `name: value` (`{"name": "ssn", "value": …}`,
    // `<property name="ssn" value="…"/>`): every detector, the name as the value's label.
    if let Some(view) = decode::pairs(chain.last().map_or(text, |v| v.text.as_str())) {
        chain.push(view);
        scan_view(&chain, &mut record, None)?;
        chain.pop();
    }
    // Tables, SQL values and file names (`read_tables`).
    read_tables(&mut chain, text, true, cfg, &mut record, &mut scan_view)?;
    // Values split across lines, fields or tags, joined: only the detectors of values worth
    // splitting (see `SPLIT_DETECTORS`); built on the other thread already (else here, as a
    // panic there would have been here).
    let (joined, mut joined_runs) = match joined_beside.take().and_then(|h| h.join().ok()) {
        Some((joined, runs)) => (joined, Some(runs)),
        None => (decode::joined(chain.last().map_or(text, |v| v.text.as_str())), None),
    };
    if let Some(view) = joined {
        chain.push(view);
        scan_view(&chain, &mut record, Some(SPLIT_DETECTORS))?;
        // An encoded value split into short items (`["MTIz", "LTQ1", "LTY3", "ODk="]`, one
        // character a line): its runs, joined, decoded (one level), read by every detector.
        let runs = match joined_runs.take() {
            Some(runs) => runs,
            None => decode::encoded_runs(&chain[chain.len() - 1].text),
        };
        if let Some(mut runs) = runs {
            // Built on the joined view, the runs view keeps its glue between fields around what
            // it decodes: what is read there without a scheme is read across fields (a session's
            // `…example.org` glued to the next line's `staff:bob@example.org`, read as
            // `example.orgstaff:bob@example` beside a decoded run: an OIDC sign-in refused), and
            // so does the runs' decoded view.
            runs.kinds |= decode::kind::SPLIT;
            let depth = chain.len();
            chain.push(runs);
            scan_view(&chain, &mut record, None)?;
            if let Some(mut again) = chain.last().and_then(|v| decode::decoded(&v.text)) {
                again.kinds |= decode::kind::SPLIT;
                chain.push(again);
                scan_view(&chain, &mut record, None)?;
            }
            chain.truncate(depth);
        }
        chain.pop();
    }
    // Base64 lines wrapped narrower than the `high-entropy` floor, joined (a private key's body
    // without its header, wrapped at 32 columns or fewer): `high-entropy` only.
    if let Some(view) = decode::wrapped_lines(chain.last().map_or(text, |v| v.text.as_str())) {
        chain.push(view);
        scan_view(&chain, &mut record, Some(&["high-entropy"]))?;
        chain.pop();
    }
    // Views of the text as sent (the decoded view would have decoded their `%`, `&`, `\` and
    // `=`) — and again of the decoded view, where there is one (Ascii85 in an XML document is
    // written with `&lt;` and `&amp;`): Ascii85 and uuencode, SARIF messages with their
    // `arguments` put in, and hex dumps read across their lines; each with its own decoded view.
    let mut raw_chain: Vec<decode::View> = Vec::new();
    for on_decoded in [false, true] {
        if on_decoded && chain.is_empty() {
            break;
        }
        let side = if on_decoded { &mut chain } else { &mut raw_chain };
        let depth = side.len();
        // Built already on the second thread (the text's own; else here, as a panic there
        // would have been here).
        let mut built = match on_decoded {
            false => side_views.take(),
            true => decoded_side_views.take(),
        }
        .and_then(|h| h.join().ok());
        for (k, make) in SIDE_VIEWS.into_iter().enumerate() {
            let view = match built.as_mut() {
                Some(views) => views[k].take(),
                None => make(side.last().map_or(text, |v| v.text.as_str())),
            };
            let Some(view) = view else {
                continue;
            };
            side.push(view);
            scan_view(side, &mut record, None)?;
            if let Some(again) = side.last().and_then(|v| decode::decoded(&v.text)) {
                side.push(again);
                scan_view(side, &mut record, None)?;
            }
            side.truncate(depth);
        }
    }
    for _ in 0..MAX_NESTING {
        let base = chain.last().map_or(text, |v| v.text.as_str());
        let runs = match first_runs_beside.take().and_then(|h| h.join().ok()) {
            Some(runs) => runs,
            None => decode::encoded_runs(base),
        };
        let Some(runs) = runs else { break };
        chain.push(runs);
        scan_view(&chain, &mut record, None)?;
        let runs_at = chain.len();
        let runs = chain.last().map_or(text, |v| v.text.as_str());
        if let Some(view) = decode::decoded(runs) {
            chain.push(view);
            scan_view(&chain, &mut record, None)?;
        }
        // A table, an `INSERT` or a file name written in hex, base32 or base64 (a CSV of two
        // lines is 32 characters of base64): the table views of the decoded runs.
        read_tables(&mut chain, text, false, cfg, &mut record, &mut scan_view)?;
        // Ascii85, uuencode, base85 and character codes inside a decoded run (each a side view
        // of this level, no deeper): of the runs as decoded (their `%`, `=` and `&` are
        // Ascii85's), then of the runs' decoded view where there is one.
        let mut top = (chain.len() > runs_at).then(|| chain.pop()).flatten();
        loop {
            let depth = chain.len();
            for make in [decode::ascii85_uuencode, decode::base85, decode::char_codes] {
                let Some(view) = make(&chain[depth - 1].text) else {
                    continue;
                };
                chain.push(view);
                scan_view(&chain, &mut record, None)?;
                if let Some(again) = chain.last().and_then(|v| decode::decoded(&v.text)) {
                    chain.push(again);
                    scan_view(&chain, &mut record, None)?;
                }
                chain.truncate(depth);
            }
            match top.take() {
                Some(view) => chain.push(view),
                None => break,
            }
        }
    }
    stop()?;
    // In order; a finding overlapping one of the same detector that starts earlier (or at the
    // same place in the raw text) is the same finding seen again, through a view.
    out.sort_by(|a, b| {
        (a.range.0, a.decoded.is_some(), std::cmp::Reverse(a.range.1)).cmp(&(
            b.range.0,
            b.decoded.is_some(),
            std::cmp::Reverse(b.range.1),
        ))
    });
    let mut reach: Vec<(String, usize)> = Vec::new();
    out.retain(|f| match reach.iter_mut().find(|(d, _)| *d == f.detector) {
        Some((_, end)) if *end > f.range.0 => {
            *end = (*end).max(f.range.1);
            false
        }
        Some((_, end)) => {
            *end = f.range.1;
            true
        }
        None => {
            reach.push((f.detector.clone(), f.range.1));
            true
        }
    });
    Ok(out)
}

/// How [`run_in`] reads a view: the chain (its last the view), where findings go, and which
/// detectors read it.
type ScanView<'a, 'r, E> = dyn FnMut(&[decode::View], &mut Record<'r>, Only) -> Result<(), E> + 'a;

/// The table views of `chain`'s last view (or of `text`, when the chain is empty), each read
/// and taken off again: the chain is left as it was. The file-name view only where `file_names`
/// (not inside decoded runs: a run's label glued to its text reads as a file name, and the
/// run's own reading already judged its values).
fn read_tables<'r, E>(
    chain: &mut Vec<decode::View>,
    text: &str,
    file_names: bool,
    cfg: &GuardConfig,
    record: &mut Record<'r>,
    scan_view: &mut ScanView<'_, 'r, E>,
) -> Result<(), E> {
    // Tables read cell by cell after their headers, SQL values after their columns, file
    // names with `_`/`-` read as spaces (`tables`): each view only the cells, values or runs.
    // A view that would pass its bound is not read: the document is refused where it was
    // reached (`table-view-limit`, fail closed), so nothing is left judged only raw.
    for (make, only, kind) in [
        (
            tables::delimited as fn(&str) -> tables::Built,
            Some(tables::TABLE_DETECTORS),
            decode::kind::TABLE,
        ),
        (tables::sql_inserts, Some(tables::TABLE_DETECTORS), decode::kind::TABLE),
        (
            tables::file_names,
            Some(tables::FILE_NAME_DETECTORS),
            decode::kind::FILE_NAME,
        ),
    ] {
        if kind == decode::kind::FILE_NAME && !file_names {
            continue;
        }
        match make(chain.last().map_or(text, |v| v.text.as_str())) {
            Ok(Some(view)) => {
                chain.push(view);
                scan_view(chain, record, only)?;
                chain.pop();
            }
            Ok(None) => {}
            Err(tables::Capped(start, end)) => {
                record_capped(chain, (start, end), kind, cfg, record);
            }
        }
    }
    // Tables written as JSON or HTML (`rows`): the rows of tables by columns read by the table
    // detectors as they stand (a name beside a birth date once columns are rows), then every
    // row as a tab-separated table under its header (`tables::delimited`).
    match rows::rows(chain.last().map_or(text, |v| v.text.as_str())) {
        Ok((all, by_columns)) => {
            if let Some(view) = by_columns {
                chain.push(view);
                scan_view(chain, record, Some(tables::TABLE_DETECTORS))?;
                chain.pop();
            }
            if let Some(view) = all {
                under_headers(chain, view, cfg, record, scan_view)?;
            }
        }
        Err(tables::Capped(start, end)) => record_capped(chain, (start, end), decode::kind::TABLE, cfg, record),
    }
    // Markup tables (`grids`: LaTeX, MediaWiki, …) and JSON tables written as a string are read
    // in the text as written too, not only as decoded: the decoded view reads LaTeX's `\\` and
    // `\toprule` as escapes, and a string's `\"` as a quote that ends it.
    if file_names && !chain.is_empty() {
        let decoded = std::mem::take(chain);
        let read = match rows::raw_view(text) {
            Ok(Some(view)) => under_headers(chain, view, cfg, record, scan_view),
            Ok(None) => Ok(()),
            Err(tables::Capped(start, end)) => {
                record_capped(chain, (start, end), decode::kind::TABLE, cfg, record);
                Ok(())
            }
        };
        *chain = decoded;
        read?;
    }
    Ok(())
}

/// Reads `rows` (one row a line, cells separated by tabs, over `chain`) under their headers
/// (`tables::delimited`) with the table detectors.
fn under_headers<'r, E>(
    chain: &mut Vec<decode::View>,
    rows: decode::View,
    cfg: &GuardConfig,
    record: &mut Record<'r>,
    scan_view: &mut ScanView<'_, 'r, E>,
) -> Result<(), E> {
    chain.push(rows);
    let read = match tables::delimited(&chain[chain.len() - 1].text) {
        Ok(Some(view)) => {
            chain.push(view);
            let read = scan_view(chain, record, Some(tables::TABLE_DETECTORS));
            chain.pop();
            read
        }
        Ok(None) => Ok(()),
        Err(tables::Capped(start, end)) => {
            record_capped(chain, (start, end), decode::kind::TABLE, cfg, record);
            Ok(())
        }
    };
    chain.pop();
    read
}

/// A table view of `chain`'s last view reached its bound at `start..end` of that view: the
/// document is refused there as [`tables::LIMIT_DETECTOR`] (fail closed), unless allowed.
fn record_capped(
    chain: &[decode::View],
    (start, end): (usize, usize),
    kind: u32,
    cfg: &GuardConfig,
    record: &mut Record<'_>,
) {
    if cfg.allow.detectors.iter().any(|d| d == tables::LIMIT_DETECTOR) {
        return;
    }
    let (mut span, mut kinds) = ((start, end), kind);
    for v in chain.iter().rev() {
        kinds |= v.kinds_within(span.0, span.1);
        span = v.to_original(span.0, span.1);
    }
    record(tables::LIMIT_DETECTOR, span, Some(decode::label(kinds)));
}

/// A view's text is at times the same as one read before (the encoded runs of the joined view
/// and of the text itself, when the text is one wrapped block): what the detectors found in it
/// is kept and read again rather than found again. Only large views are kept (at most
/// [`Seen::KEPT`], each with a copy of its text: the copies add at most twice the text to what a
/// scan holds), and only views whose findings depend on
/// their text alone: the detectors look at a view's own segments only where glue was dropped
/// (`SPLIT`) or a quoted-printable soft break joined lines (`QP`).
#[derive(Default)]
struct Seen<'c> {
    kept: Vec<(String, Only, Found<'c>)>,
}

impl<'c> Seen<'c> {
    const KEPT: usize = 2;
    /// Smaller views are cheap to read again.
    const MIN_TEXT: usize = 64 * 1024;

    fn keeps(view: &decode::View) -> bool {
        view.text.len() >= Self::MIN_TEXT && view.kinds & (decode::kind::SPLIT | decode::kind::QP) == 0
    }

    fn get(&self, view: &decode::View, only: Only) -> Option<Found<'c>> {
        if !Self::keeps(view) {
            return None;
        }
        self.kept
            .iter()
            .find(|(text, o, _)| *o == only && *text == view.text)
            .map(|(_, _, found)| found.clone())
    }

    fn put(&mut self, view: &decode::View, only: Only, found: Vec<(&'c str, usize, usize)>) -> Found<'c> {
        let found = std::rc::Rc::new(found);
        if Self::keeps(view) {
            if self.kept.len() == Self::KEPT {
                self.kept.remove(0);
            }
            self.kept.push((view.text.clone(), only, found.clone()));
        }
        found
    }
}

/// Texts at least this long have their detectors' passes shared with a second thread (where the
/// machine has a second core): each pass is independent of the others and the findings are put
/// together in the passes' order, so the result is the same as from one thread.
pub const PARALLEL_TEXT: usize = 256 * 1024;

/// One detector's pass over a text: its name, how it finds candidates, its check.
type Pass<'c> = (&'c str, Find<&'c Regex>, Check);

/// Every detector's matches in `text` (one pass each), after checks and allowlists, as
/// `(detector, start, end)` in `text`; `view` is the view `text` is, if it is one.
fn detect<'c, E>(
    text: &str,
    view: Option<&decode::View>,
    cfg: &'c GuardConfig,
    stop: &mut dyn FnMut() -> Result<(), E>,
    only: Only,
) -> Result<Vec<(&'c str, usize, usize)>, E> {
    let cx = Context::new(text, view);
    let markers = redaction_markers(text, cfg);
    let enabled =
        |name: &str| !cfg.allow.detectors.iter().any(|d| d == name) && only.is_none_or(|only| only.contains(&name));
    let mut passes: Vec<Pass<'c>> = detectors().iter().map(|d| (d.name, d.find.as_ref(), d.check)).collect();
    if cfg.password_assignments {
        passes.push((
            "password-assignment",
            Find::Regex(password_assignment(), 1),
            not_a_placeholder,
        ));
        for re in credential_forms() {
            passes.push(("password-assignment", Find::Regex(re, 1), not_a_placeholder));
        }
        passes.push((
            "password-assignment",
            Find::Regex(password_in_prose(), 1),
            secret_in_prose,
        ));
        passes.push((
            "password-assignment",
            Find::Regex(pass_in_prose(), 1),
            pass_told_in_prose,
        ));
    }
    if cfg.mrn_patterns.is_empty() {
        passes.push(("mrn", Find::Regex(default_mrn(), 0), always));
        passes.push(("mrn", Find::Regex(lookalike_mrn(), 0), lookalike_record_number));
    }
    for (name, re) in &cfg.mrn_patterns {
        passes.push((name, Find::Regex(re, 0), always));
    }
    passes.retain(|&(name, _, _)| enabled(name));
    let pass = |i: usize, stop: &mut dyn FnMut() -> Result<(), E>, out: &mut Vec<(&'c str, usize, usize)>| {
        detector_pass(text, &cx, &markers, cfg, passes[i], stop, out)
    };
    let mut out = Vec::new();
    if text.len() < PARALLEL_TEXT || passes.len() < 2 || !second_core() {
        for i in 0..passes.len() {
            pass(i, stop, &mut out)?;
        }
        return Ok(out);
    }
    // Two threads take the passes one at a time; this one alone asks `stop` (before each of its
    // passes and every `STOP_EVERY` matches, as above) and, when it says stop, tells the other
    // to end at its next such point.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let abort = std::sync::atomic::AtomicBool::new(false);
    let take = || next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut parts: Vec<(usize, Hits<'c>)> = Vec::with_capacity(passes.len());
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new().spawn_scoped(s, || {
            let mut halt = || match abort.load(std::sync::atomic::Ordering::Relaxed) {
                true => Err(()),
                false => Ok(()),
            };
            let mut done = Vec::new();
            loop {
                let i = take();
                let mut found = Vec::new();
                if i >= passes.len()
                    || detector_pass(text, &cx, &markers, cfg, passes[i], &mut halt, &mut found).is_err()
                {
                    return done;
                }
                done.push((i, found));
            }
        });
        // When no thread could be started, this one takes every pass.
        let mine = (|| loop {
            let i = take();
            if i >= passes.len() {
                return Ok(());
            }
            let mut found = Vec::new();
            pass(i, stop, &mut found)?;
            parts.push((i, found));
        })();
        if mine.is_err() {
            abort.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if let Ok(helper) = helper {
            match helper.join() {
                Ok(done) => parts.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        mine
    })?;
    parts.sort_unstable_by_key(|&(i, _)| i);
    for (_, found) in parts {
        out.extend(found);
    }
    Ok(out)
}

/// Whether the machine has a second core to share a scan's passes with ([`PARALLEL_TEXT`]).
fn second_core() -> bool {
    static N: OnceLock<bool> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

/// One detector's pass over `text` (see [`detect`]): its matches, checked and not allowed, into
/// `out`. `stop` is asked first and every [`STOP_EVERY`] candidates.
fn detector_pass<'c, E>(
    text: &str,
    cx: &Context<'_>,
    markers: &[(usize, usize)],
    cfg: &GuardConfig,
    (name, find, check): Pass<'c>,
    stop: &mut dyn FnMut() -> Result<(), E>,
    out: &mut Vec<(&'c str, usize, usize)>,
) -> Result<(), E> {
    let in_marker = |at: usize| {
        let i = markers.partition_point(|&(_, end)| end <= at);
        markers.get(i).is_some_and(|&(start, _)| start <= at)
    };
    stop()?;
    let mut keep = |i: usize, start: usize, end: usize| {
        if i % STOP_EVERY == STOP_EVERY - 1 {
            stop()?;
        }
        let span = &text[start..end];
        let kept = check(span, cx, start, end) && !cfg.allow.patterns.iter().any(|p| p.is_match(span));
        if kept {
            out.push((name, start, end));
        }
        Ok(kept)
    };
    match find {
        Find::AtEvery(at) => {
            let (bytes, mut from, mut i) = (text.as_bytes(), 0, 0);
            while from < bytes.len() {
                match at(bytes, from).filter(|&end| text.is_char_boundary(end)) {
                    Some(end) => {
                        from = if keep(i, from, end)? { end } else { from + 1 };
                        i += 1;
                    }
                    None => from += 1,
                }
            }
        }
        Find::Regex(re, 0) => {
            for (i, m) in re.find_iter(text).enumerate() {
                if !in_marker(m.start()) {
                    keep(i, m.start(), m.end())?;
                }
            }
        }
        Find::Regex(re, group) => {
            for (i, c) in re.captures_iter(text).enumerate() {
                let whole = c.get(0).map_or(0, |m| m.start());
                if let Some(m) = c.get(group).filter(|m| !in_marker(whole) && !in_marker(m.start())) {
                    keep(i, m.start(), m.end())?;
                }
            }
        }
    }
    Ok(())
}

/// Where `text` holds the marks [`redact`] leaves (`[REDACTED:<detector>]` naming a detector
/// of `cfg`), as sorted `(start, end)` ranges. A match that starts inside one is not judged: the
/// detector's name in it is not a label (`[REDACTED:us-ssn]; 123-45-67895` is not an SSN
/// labelled `ssn`, `[REDACTED:dob-with-name] 1980-01-02` is not a labelled birth date), so a
/// redacted text scans clean; nor is a value that starts with one (`password=[REDACTED:…]` is
/// the mark, not a password). The value after a mark is still judged by itself.
fn redaction_markers(text: &str, cfg: &GuardConfig) -> Vec<(usize, usize)> {
    const MARK: &str = "[REDACTED:";
    let known = |name: &[u8]| {
        DETECTOR_NAMES.iter().any(|d| d.as_bytes() == name)
            || cfg.mrn_patterns.iter().any(|(n, _)| n.as_bytes() == name)
    };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(MARK).map(|i| from + i) {
        let name_start = at + MARK.len();
        let rest = &text.as_bytes()[name_start..text.len().min(name_start + 65)];
        match rest.iter().position(|&b| b == b']') {
            Some(len) if known(&rest[..len]) => {
                out.push((at, name_start + len + 1));
                from = name_start + len + 1;
            }
            _ => from = name_start,
        }
    }
    out
}

/// Replaces every finding's span by `[REDACTED:<detector>]`; overlapping spans are merged into
/// the first, which then reaches to the end of the last (no tail of a span survives).
pub fn redact(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    for f in findings {
        let (start, end) = f.range;
        if start < at {
            at = at.max(end);
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(&format!("[REDACTED:{}]", f.detector));
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// [`redact`], then the redacted copy scanned again under the same work budget: `Ok(None)` when
/// anything is still found in it (a value revealed only once its neighbours were replaced), so
/// the caller refuses rather than store it. Fail closed: the copy stored is the copy judged.
pub fn redact_verified(
    text: &str,
    findings: &[Finding],
    cfg: &GuardConfig,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Option<String>, Stopped> {
    let cleaned = redact(text, findings);
    Ok(scan_until(&cleaned, cfg, stop)?.is_empty().then_some(cleaned))
}

/// A real-shaped Semgrep SARIF log of about `target` bytes: the benign baseline the adversarial
/// inputs are measured beside (`benches/guard.rs`, `examples/guard_sweep.rs`).
pub fn realistic_sarif(target: usize) -> String {
    let mut s = String::from(r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Semgrep OSS"}},"results":["#);
    let mut i = 0usize;
    while s.len() < target {
        s.push_str(&format!(
            r#"{{"ruleId":"rule-{r}","level":"warning","message":{{"text":"finding {i} in a file that does something"}},"locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"src/module_{m}/file_{i}.py"}},"region":{{"startLine":{i},"snippet":{{"text":"    value = eval(user_input)  # finding {i}"}}}}}}}}],"fingerprints":{{"matchBasedId/v1":"{i:064x}"}}}},
"#,
            r = i % 40,
            m = i % 17
        ));
        i += 1;
    }
    s.push_str("{}]}]}");
    s
}

/// Adversarial inputs for the guard's benchmark, tests and fuzz seeds: each is `bytes` long
/// (within a few bytes) and built to defeat a naive scanner — one giant line, matches every few
/// bytes, near-misses that make a detector look far ahead, millions of lines.
#[doc(hidden)]
pub fn adversarial_inputs(bytes: usize) -> Vec<(&'static str, String)> {
    let repeat = |unit: &str| unit.repeat(bytes / unit.len().max(1) + 1);
    let cut = |mut s: String| {
        let mut n = bytes.min(s.len());
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
        s
    };
    // Deterministic base64-alphabet noise (xorshift), no line breaks.
    let noise = |alphabet: &[u8]| {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..bytes)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(alphabet[(x % alphabet.len() as u64) as usize])
            })
            .collect::<String>()
    };
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b64 = |s: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let text = "ssn 123-45-6789 ; ";
    // 57 bytes: one 76-column MIME line, no padding, so lines repeat as the block of the
    // repeated text would.
    let wrapped = format!("{}\r\n", b64(format!("{}ok ", text.repeat(3)).as_bytes()));
    let spaced = b64(text.as_bytes())
        .as_bytes()
        .chunks(4)
        .map(|g| format!("{} ", String::from_utf8_lossy(g)))
        .collect::<String>();
    // 81 bytes (3^4): each level's encoding has no padding, so the unit repeats.
    let mut nested4 = format!("{}patient; ", text.repeat(4));
    for _ in 0..4 {
        nested4 = b64(nested4.as_bytes());
    }
    // The attacker's slow input: text encoded four times over, each level wrapped at 76
    // columns (MIME), built at the size asked (not a repeated unit: each level wraps the next).
    let wrap76 = |s: String| {
        s.as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let mut nested4_wrapped = text.repeat(bytes / 3 / text.len() + 1);
    for _ in 0..4 {
        nested4_wrapped = wrap76(b64(nested4_wrapped.as_bytes()));
    }
    let hex_colons: String = text.bytes().map(|b| format!("{b:02x}:")).collect();
    let dotted = b64(text.repeat(3).as_bytes())
        .as_bytes()
        .chunks(4)
        .map(|g| format!("{}.", String::from_utf8_lossy(g)))
        .collect::<String>();
    let narrow = b64(text.repeat(3).as_bytes())
        .as_bytes()
        .chunks(4)
        .map(|g| format!("{}\n", String::from_utf8_lossy(g)))
        .collect::<String>();
    let utf16: Vec<u8> = text.repeat(3).encode_utf16().flat_map(u16::to_le_bytes).collect();
    let words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";
    // Base64 of text wrapped at 8 columns, every line quoted (`> `).
    let quoted8 = b64(text.repeat(6).as_bytes())
        .as_bytes()
        .chunks(8)
        .map(|g| format!("> {}\n", String::from_utf8_lossy(g)))
        .collect::<String>();
    // Raw DEFLATE stored blocks (not final, 65,535 bytes each) of a control character.
    let mut stored = Vec::with_capacity(bytes);
    while stored.len() < bytes {
        stored.extend_from_slice(&[0x00, 0xff, 0xff, 0x00, 0x00]);
        stored.extend(std::iter::repeat_n(1u8, 65_535));
    }
    // 24 UTF-16 units of mostly Cyrillic text (48 bytes: base64 without padding).
    let utf16_cyrillic: Vec<u8> = "Иван Петров 123-45-6789 "
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let wrapped32 = noise(B64)
        .as_bytes()
        .chunks(32)
        .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
        .collect::<String>();
    let ascii85 = |b: &[u8]| {
        let mut out = String::new();
        for chunk in b.chunks(4) {
            let mut g = [0u8; 4];
            g[..chunk.len()].copy_from_slice(chunk);
            let mut v = u32::from_be_bytes(g);
            let mut digits = [0u8; 5];
            for d in digits.iter_mut().rev() {
                *d = (v % 85) as u8 + b'!';
                v /= 85;
            }
            out.extend(digits[..chunk.len() + 1].iter().map(|&d| char::from(d)));
        }
        out
    };
    let uuencode = |b: &[u8]| {
        let c = |v: u32| char::from(if v == 0 { b'`' } else { v as u8 + b' ' });
        let mut out = String::from("begin 644 f\n");
        for line in b.chunks(45) {
            out.push(char::from(line.len() as u8 + b' '));
            for q in line.chunks(3) {
                let mut g = [0u8; 3];
                g[..q.len()].copy_from_slice(q);
                let w = u32::from(g[0]) << 16 | u32::from(g[1]) << 8 | u32::from(g[2]);
                out.extend([w >> 18, w >> 12 & 63, w >> 6 & 63, w & 63].map(c));
            }
            out.push('\n');
        }
        out.push_str("`\nend\n");
        out
    };
    // `xxd` of the text repeated: about 4.3 bytes of dump per byte of text.
    let xxd_dump = text
        .repeat(bytes / 4 / text.len() + 1)
        .as_bytes()
        .chunks(16)
        .enumerate()
        .map(|(i, line)| {
            let hex: Vec<String> = line
                .chunks(2)
                .map(|p| p.iter().map(|c| format!("{c:02x}")).collect())
                .collect();
            format!(
                "{:08x}: {:<39}  {}\n",
                i * 16,
                hex.join(" "),
                String::from_utf8_lossy(line)
            )
        })
        .collect::<String>();
    let sarif_args = "\"arguments\":[\"abc\"],".repeat(100);
    let sarif_shared = format!("{sarif_args}\"text\":\"{}\",{sarif_args}\n", "{0}".repeat(5400));
    vec![
        ("dob-line", cut(repeat("dob 1980-01-02 "))),
        ("dob-line-with-name", cut(repeat("patient_name dob 1980-01-02 "))),
        (
            "name-then-dobs",
            cut(format!("patient_name {}", repeat("dob 1980-01-02 "))),
        ),
        ("digits", cut(repeat("0123456789"))),
        ("ssn-near-miss", cut(repeat("123-45-678"))),
        ("ssn-many", cut(repeat("123-45-6789 "))),
        ("at-signs", cut(repeat("@"))),
        ("url-userinfo", cut(format!("ab://{}", repeat("user:")))),
        ("url-many", cut(repeat("a://b:c"))),
        ("base64-run", cut(noise(B64))),
        (
            "base64-39",
            cut(noise(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ",
            )),
        ),
        ("key-eq", cut(repeat("key="))),
        ("mrn", cut(repeat("MRN 12345 "))),
        ("jwt-prefix", cut(repeat("eyJabcdefghijk."))),
        ("pem-prefix", cut(repeat("-----BEGIN "))),
        ("patient-phone", cut(repeat("patient_phone="))),
        ("aws-prefix", cut(repeat("AKIA"))),
        ("one-line-words", cut(repeat(words))),
        ("non-ascii", cut(repeat("é日本 dob ١٩٨٠ "))),
        ("newlines", cut(repeat("\n"))),
        ("short-lines", cut(repeat("a\n"))),
        ("short-dob-lines", cut(repeat("dob 1980-01-02\n"))),
        // The decoders' worst cases: a token every few bytes, one giant base64 run of text.
        ("xml-refs", cut(repeat("&#x2D;"))),
        ("xml-amp-refs", cut(repeat("&amp;#45;"))),
        ("cdata-markers", cut(repeat("<![CDATA[1]]>"))),
        ("json-escapes", cut(repeat("\\u002d"))),
        ("json-surrogates", cut(repeat("\\uD83D\\uDE00"))),
        ("cyrillic-lookalikes", cut(repeat("ЅЅN Ρatient "))),
        ("fullwidth-digits", cut(repeat("１２３－４５－６７８ "))),
        ("zero-width", cut(repeat("1\u{200B}"))),
        // base64 of `ssn 123-45-6789 ; ` (18 bytes, 24 characters, no padding), one run.
        ("base64-text", cut(repeat("c3NuIDEyMy00NS02Nzg5IDsg"))),
        ("base64-short-runs", cut(repeat("c3NuIDEyMy00NS02 "))),
        // The detectors and decoders added for the remaining evasions (2026-12-03): names
        // without dates, dates that almost complete, HL7 names, every encoding a token every
        // few bytes, nested and other encodings of text in one run, split values everywhere,
        // tags that never close, credentials that never reach a host.
        ("names-no-date", cut(repeat("Jane Roe "))),
        ("caps-names", cut(repeat("JANE ROE "))),
        ("name-date-near-miss", cut(repeat("Jane Roe 1980-01-"))),
        ("hl7-names", cut(repeat("Wynn^Xena^"))),
        ("html-entities", cut(repeat("&hyphen;"))),
        ("percent", cut(repeat("%2D"))),
        ("percent-utf8", cut(repeat("%E2%80%91"))),
        ("quoted-printable", cut(repeat("=2D"))),
        ("qp-soft-breaks", cut(repeat("=\n"))),
        ("spaced-digits", cut(repeat("1 2 3 - "))),
        ("user-pass-at", cut(repeat(" u:pw1@h"))),
        ("creds-near-miss", cut(repeat(" user:pass"))),
        ("pass-symbols", cut(repeat("p@ss="))),
        // base32 of `ssn 123-45-6789 ; x ` (20 bytes, 32 characters), one run.
        ("base32-text", cut(repeat("ONZW4IBRGIZS2NBVFU3DOOBZEA5SA6BA"))),
        // hex of `ssn 123-45-6789 ; `, one run.
        ("hex-text", cut(repeat("73736e203132332d34352d36373839203b20"))),
        // base64 of base64 of `ssn 123-45-6789 ; `, one run.
        ("base64-nested", cut(repeat("YzNOdUlERXlNeTAwTlMwMk56ZzVJRHNn"))),
        ("split-lines", cut(repeat("123-45\n-6789 ;\n"))),
        ("json-glue", cut(repeat("\"a\",\n\"b\": \""))),
        ("open-tags", cut(repeat("<abcdefghij"))),
        ("tags", cut(repeat("<b>"))),
        // Wrapped and spaced encodings, four levels of nesting, spaced key ids (2026-12-03):
        // MIME lines of base64 of text (one block of 5 MiB, CRLF), base64 of text in groups of
        // four, hex pairs, a block of equal words that is no text (joined, then each run read
        // alone), 16-character lines that are no text, one run of base64 four times over.
        ("base64-wrapped", cut(repeat(&wrapped))),
        ("base64-spaced-groups", cut(repeat(&spaced))),
        (
            "hex-pairs",
            cut(repeat("73 73 6e 20 31 32 33 2d 34 35 2d 36 37 38 39 20 3b 20 ")),
        ),
        ("equal-words", cut(repeat("abcd "))),
        ("wrapped-no-text", cut(repeat("abcdefghijklmnop\n"))),
        ("base64-nested-4", cut(repeat(&nested4))),
        ("base64-nested-4-wrapped-76", cut(nested4_wrapped)),
        ("hex-colon-pairs", cut(repeat(&hex_colons))),
        ("base64-dot-groups", cut(repeat(&dotted))),
        ("base64-wrapped-at-4", cut(repeat(&narrow))),
        (
            "zlib-runs",
            cut(repeat("eJwrSCzJTM0rUSguzlMwNDLWNTHVNTO3sAQAXjQGwQ== ")),
        ),
        ("utf16-base64", cut(repeat(&b64(&utf16)))),
        ("aws-spaced", cut(repeat("AKIA 7 "))),
        // Key-id near misses in lower case, every one refused and searched again.
        ("aws-prefix-lower", cut(repeat("asia"))),
        ("aws-spaced-lower", cut(repeat("a k i a 7 "))),
        // The forms of the third attack (2026-12-04): a control character every other byte.
        ("nul-between", cut(repeat("1\0"))),
        // Octal, braced and `;`-less escapes, a token every few bytes, and near misses.
        ("octal-escapes", cut(repeat("\\055"))),
        ("brace-escapes", cut(repeat("\\u{2d}"))),
        ("brace-near-miss", cut(repeat("\\u{2d"))),
        ("refs-no-semi", cut(repeat("&#45"))),
        ("lisu-coptic-lookalikes", cut(repeat("ꓢꓢꓠ Ⲣatient "))),
        ("hl7-pid-near-miss", cut(repeat("PID|a|b|c\r"))),
        // Name/value pairs every few bytes, and names that never reach a value.
        ("name-value-pairs", cut(repeat(r#"{"name": "ssn", "value": "1"}, "#))),
        ("names-no-value", cut(repeat(r#""name": "a", "#))),
        ("pair-attributes", cut(repeat(r#"<property name="a" b="c" "#))),
        // Labels kept before encoded runs; one-line concatenations; wraps with a prefix on
        // every line, numbered or joined by `<br/>`; raw DEFLATE (a run of text, and one run
        // of stored blocks that inflates to the run's length of bytes that are no text).
        ("labelled-runs", cut(repeat(r#""ssn": "MTIzNDU2Nzg5", "#))),
        ("adjacent-literals", cut(repeat(r#""a" "b" "#))),
        ("sql-concat", cut(repeat("'1' || '"))),
        ("quoted-wrap-8", cut(repeat(&quoted8))),
        ("numbered-lines", cut(repeat("12: abcd\n"))),
        ("br-lines", cut(repeat("U1NO<br/>"))),
        ("raw-deflate-runs", cut(repeat("K0gsyUzNK1EoLs5TMDQy1jUx1TUzt7AEAA== "))),
        ("raw-deflate-stored", cut(b64(&stored))),
        // The decoders added for the fourth round (2026-12-04): processing instructions and
        // comments, closed and never closed; RFC 2047 words one after another and never
        // closed; separately padded chunks in one run; UTF-16 of Cyrillic text; base64 wrapped
        // at 32 columns (no text: joined for `high-entropy` only); Ascii85 bare, delimited and
        // never closed; uuencoded files and `begin` lines that start none; SARIF messages with
        // arguments; values split between a key and its value.
        ("xml-pis", cut(repeat("1<?x?>"))),
        ("pi-open", cut(repeat("<?"))),
        ("comment-open", cut(repeat("<!--"))),
        (
            "rfc2047-words",
            cut(repeat("=?UTF-8?B?c3NuIDEyMy00NQ==?= =?UTF-8?Q?-6789_;?= ")),
        ),
        ("rfc2047-open", cut(repeat("=?UTF-8?B?"))),
        (
            "padded-chunks",
            cut(repeat(&format!("{}{}", b64(b"ssn 123-"), b64(b"45-6789 ; ")))),
        ),
        ("padded-chunk-run", cut(repeat("QQ=="))),
        ("utf16-cyrillic-base64", cut(repeat(&b64(&utf16_cyrillic)))),
        ("narrow-wrapped-noise", cut(wrapped32)),
        ("ascii85-bare", cut(repeat(&ascii85(text.repeat(4).as_bytes())))),
        (
            "ascii85-delimited",
            cut(repeat(&format!("<~{}~> ", ascii85(text.as_bytes())))),
        ),
        ("ascii85-open", cut(repeat("<~abc"))),
        ("uuencode-files", cut(repeat(&uuencode(text.as_bytes())))),
        ("uuencode-begins", cut(repeat("begin 644 f\n"))),
        (
            "sarif-arguments",
            cut(repeat(
                r#"{"text": "v {0}-{1}-{2}", "arguments": ["123", "45", "6789"]}, "#,
            )),
        ),
        ("key-value-split", cut(repeat(r#"{"123-45-": "6789"}, "#))),
        // Names and values with a field between them; one long `xxd` dump of text.
        (
            "pairs-apart",
            cut(repeat(r#"{"name": "ssn", "type": "string", "value": "1"}, "#)),
        ),
        ("xxd-dump", cut(xxd_dump)),
        // The sixth round's blow-up (2026-12-04): one long SARIF text shared by two hundred
        // `arguments` arrays, each of which once rebuilt the whole text (work and memory ~100×
        // the input).
        ("sarif-shared-text", cut(repeat(&sarif_shared))),
        // The detectors of healthcare formats, contacts and vendor secrets (2026-12-04): objects,
        // segments and headers opened every few bytes and never completed, candidates whose
        // checks look around them (type codes without an identifier, signatures without a
        // SAS query), separators that change every segment.
        ("patient-objects-open", cut(repeat(r#""patient": {"n": "Jane Roe", "#))),
        ("birth-times-open", cut(repeat(r#"<birthTime value="1980"#))),
        ("dicom-tags-no-value", cut(repeat(r#""00100010": {"vr": "PN", "#))),
        ("ncpdp-fields", cut(repeat("AM01 C52 CAJ"))),
        ("ncpdp-separators", cut(repeat("\x1cCA\x1c"))),
        ("fhir-codes", cut(repeat(r#""code": "MR", "#))),
        ("pid-separators", cut(repeat("PID#1#PID!1!PID$1$PID%1%PID&1&PID*1*"))),
        ("x12-prefixes", cut(repeat("NM1*NM1|DMG*D8*REF^SY^"))),
        ("sas-signatures", cut(repeat("&sig=abcdefghijklmnopqrstuvwxyz"))),
        ("mail-headers-open", cut(repeat("To: Jane Roe "))),
        ("email-labels", cut(repeat("email: a@"))),
        ("phone-labels", cut(repeat("cell 555-123-45"))),
        ("mbi-near-miss", cut(repeat("1EG4-TE5-MK7"))),
        // Tables, SQL values and file names (2026-12-04, sixth round): rows under a header
        // (a one-letter cell under each of 64 long labels, until the view's cap), headers and
        // rows that alternate, inserts with many tuples and never closed, path runs.
        (
            "table-wide-header",
            cut(format!(
                "{}\n{}",
                (0..64)
                    .map(|i| format!("column_name_number_{i:02}_with_a_long_label"))
                    .collect::<Vec<_>>()
                    .join(","),
                repeat(&format!("{}\n", ["a"; 64].join(",")))
            )),
        ),
        ("table-short-rows", cut(repeat("a,b\n"))),
        (
            "sql-tuples",
            cut(format!("INSERT INTO t (a, b) VALUES {}", repeat("(1, 'x'), "))),
        ),
        ("sql-insert-open", cut(repeat("insert into t (a) values ("))),
        ("path-runs", cut(repeat("a_b_1234567 "))),
        // The attack review's fixes (2026-12-05): cells under labels a detector reads, just under
        // the views' bound (read in full) and past it (refused); rows that look like headers,
        // and header rows of read labels (refused: each row read under four); rows whose
        // quoted cells hold a
        // line break (each tried for a header inside); quotes that open a cell and close far
        // ahead; SQL function values, casts and prefixed strings; a string that never closes
        // before more inserts; dots between a path's words.
        (
            "table-read-labels",
            cut(format!("name,ssn\n{}", repeat("abcdef,123456\n"))),
        ),
        ("table-past-bound", cut(format!("ssn,dob\n{}", repeat("a,b\n")))),
        // Rows that look like headers, each tried as one (a decoy header before a real one).
        ("table-word-rows", cut(format!("aa,bb\n{}", repeat("ab,cd\n")))),
        // Header rows of one width with as many read labels, each pushing out an earlier one.
        (
            "table-header-churn",
            cut(format!(
                "x,y\n{}",
                repeat("name,ssn\nssn,name\ndob,mrn\nmrn,dob\nphone,email\n")
            )),
        ),
        (
            "table-quoted-rows",
            cut(format!("name,note\n{}", repeat("\"a\nb,c\",d\n"))),
        ),
        (
            "table-quotes-far",
            cut(format!(
                "name,note\n{}",
                repeat(&format!("\"{}\n", "x,y\n".repeat(1000)))
            )),
        ),
        (
            "sql-function-values",
            cut(format!(
                "INSERT INTO t (name, dob) VALUES {}",
                repeat("(now(), CAST(N'x' AS d)::date), ")
            )),
        ),
        (
            "sql-unclosed-string",
            cut(format!(
                "INSERT INTO t (name, dob) VALUES ('x {}",
                repeat("insert into t (name, dob) values (1, ' ")
            )),
        ),
        ("path-dots", cut(repeat("Ab.Cd.1234567 "))),
        // The JSON and HTML table views (2026-12-05, eighth round): rows of labels read under
        // themselves, arrays of arrays, strings full of brackets, tables by columns, rows of
        // cells, rows opened and never closed.
        ("json-rows-of-labels", cut(repeat(r#"["ssn","dob"],"#))),
        ("json-arrays-nested", cut(repeat("[[1,2],[3,[4,5]]],"))),
        ("json-brackets-in-strings", cut(repeat(r#"["[","[1,","x"],"#))),
        (
            "json-by-columns",
            cut(repeat(r#"{"ssn":{"0":"a","1":"b"},"dob":{"0":"c"}},"#)),
        ),
        ("json-columns-unclosed", cut(repeat(r#"{"a":{"0":"#))),
        ("html-rows", cut(repeat("<tr><th>ssn</th><td>x</td>"))),
        ("html-rows-open", cut(repeat("<tr><td><td><b>"))),
        // The ninth round's readers (2026-12-05): markup tables (LaTeX rows without an end,
        // MediaWiki cells without rows, AsciiDoc cells of one column, Jira headers, YAML rows,
        // labels ahead of markers), cells spanning rows, columns under `values`, headers held
        // after their rows at every level.
        (
            "latex-cells",
            cut(format!("\\begin{{tabular}}{{ll}}\n{}", repeat("ssn & a "))),
        ),
        ("latex-rows", cut(repeat("ssn & dob \\\\ "))),
        ("wiki-cells", cut(format!("{{|\n{}", repeat("| ssn || x\n")))),
        ("adoc-cells", cut(format!("[cols=\"1\"]\n|===\n{}", repeat("|ssn\n")))),
        (
            "adoc-one-column",
            cut(format!("[cols=\"1\"]\n|===\n|ssn\n{}", repeat("|ab\n"))),
        ),
        ("wiki-one-column", cut(format!("{{|\n! ssn\n{}", repeat("|-\n| a\n")))),
        ("jira-headers", cut(repeat("||ssn||dob||\n|a|b|\n"))),
        ("yaml-rows", cut(repeat("- - ssn\n  - dob\n"))),
        ("aligned-columns", cut(repeat("ssn  dob  mrn\n1  2  3\n"))),
        ("bbcode-cells", cut(repeat("[tr][td]ssn[/td][td]"))),
        ("markers-after-labels", cut(repeat("note: ||: "))),
        (
            "html-rowspans",
            cut(repeat(
                r#"<tr><td rowspan="64">a</td><td colspan="64" rowspan="64">b</td>"#,
            )),
        ),
        (
            "json-values-columns",
            cut(repeat(r#"{"values":[["ssn","a"],["dob","b"]]},"#)),
        ),
        (
            "json-late-headers",
            cut(format!(
                "{}{}",
                "{\"rows\":".repeat(400),
                repeat(r#"[["a","b"]],"schema":[{"name":"ssn"}],"#)
            )),
        ),
        // The attack review of 2026-12-06: rows shaped as headers with an odd cell (each tried as
        // one), rows longer than their header (read a second time, from both ends) and shorter
        // ones, Markdown headers after a field's opening, file names with other separators, glued
        // names and dates written with `_`.
        (
            "table-odd-headers",
            cut(format!("ssn,dob,[x]\n{}", repeat("ssn,dob,[x]\n"))),
        ),
        ("table-long-rows", cut(format!("ssn,note\n{}", repeat("a;b,c,d,e,f\n")))),
        (
            "table-rows-under-wide",
            cut(format!(
                "{}\n{}",
                (0..64).map(|i| format!("c{i}")).collect::<Vec<_>>().join(","),
                repeat("a,b\n")
            )),
        ),
        ("table-markdown-in-field", cut(repeat("<a>| ssn | [x] |\n"))),
        ("path-separators", cut(repeat("Ab+Cd(1234567)=Ef~Gh@ "))),
        ("path-glued-dates", cut(repeat("AbCd1234567_1980_03_04__1_2_3"))),
        // The decoders added for the fifth round (2026-12-04): UTF-7 (values, one endless
        // shifted sequence, `+` after `+`), `%uXXXX`, CSS escapes, lower-case quoted-printable,
        // base85 and Z85 (values, noise), base32hex, character codes (values, endless lists,
        // openings that hold none), base64 items, one character a line, symbols between groups,
        // the braille blank, Ascii85 inside base64.
        ("utf7-values", cut(repeat("ssn 123+AC0-45+AC0-6789 ; "))),
        ("utf7-long-run", cut(format!("+{}", noise(&B64[..63])))),
        ("utf7-plus-runs", cut(repeat("+AAA"))),
        ("percent-u", cut(repeat("ssn 123%u002D45%u002D6789 ; "))),
        (
            "css-escapes",
            cut(repeat("\\31 \\32 \\33 \\2d \\34 \\35 \\2d \\36 \\37 \\38 \\39 ; ")),
        ),
        ("qp-lower", cut(repeat("ssn 123=2d45=2d6789 ; "))),
        ("base85-values", cut(repeat("b8~JWF)}kPG&L<YH#j*UJ0N%< "))),
        (
            "base85-noise",
            cut(noise(
                b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~",
            )),
        ),
        (
            "z85-noise",
            cut(noise(
                b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#",
            )),
        ),
        ("base32hex-text", cut(repeat("EDPMS81H68PIQD1L5KR3EE1P40TI0U10"))),
        (
            "from-char-code",
            cut(repeat("String.fromCharCode(49,50,51,45,52,53,45,54,55,56,57); ")),
        ),
        ("from-char-code-open", cut(repeat("fromCharCode("))),
        ("digit-list", cut(repeat("49, "))),
        ("binary-octets", cut(repeat("00110001 "))),
        ("sql-char-plus", cut(repeat("CHAR(49)+"))),
        (
            "base64-items",
            cut(repeat("\"MTIz\", \"LTQ1\", \"LTY3\", \"ODk=\", \"IDsg\", ")),
        ),
        ("one-char-lines", cut(repeat("1\n"))),
        (
            "one-char-lines-ssn",
            cut(repeat("1\n2\n3\n-\n4\n5\n-\n6\n7\n8\n9\n;\n")),
        ),
        ("times-sign", cut(repeat("ssn 123\u{d7}45\u{d7}6789 ; "))),
        ("braille-blank", cut(repeat("1\u{2800}"))),
        (
            "ascii85-in-base64",
            cut(repeat(&format!(
                "{} ",
                b64(format!("<~{}~>", ascii85(text.as_bytes())).as_bytes())
            ))),
        ),
        // The sixth round (2026-12-04): one UTF-7 run holding `+` every eight characters (each
        // `+` a start of the same class reading text to the run's end, where `=` makes it no
        // UTF-7), the same with three-byte punctuation (past the characters read: spaces), base85
        // with no punctuation beyond base64's, a word glued before base64 holding `+`.
        ("utf7-plus-inside", padded(cut(format!("+{}", repeat("AEEAQQA+"))))),
        (
            "utf7-dense-plus",
            padded(cut(format!("+{}", repeat("ICAgICAgICAgIAD+")))),
        ),
        ("base85-unmarked", cut(repeat("VIVOwGc7bVEjBkeIUqYA "))),
        (
            "mixed-alphabet-runs",
            cut(repeat("SPDXRef-libc3NuIDEyMy00NS02Nzg5IH4+ ")),
        ),
        // The tenth round's readers (2026-12-05): rows headed by their label, terms and
        // definitions (and terms without one, each looking ahead for its definition), values
        // under chains of nested keys with other keys between the label and the numbers.
        ("html-headed-rows", cut(repeat("<tr><th>ssn</th><td>x</td></tr>"))),
        ("definition-terms", cut(repeat("<dt>ssn<dd>x"))),
        ("terms-without-definitions", cut(repeat("<dt><b>ssn</b> "))),
        (
            "json-key-chains",
            cut(repeat(r#"{"ssn":{"a":{"1":{"22":{"333":1}}}}}, "#)),
        ),
    ]
}

/// `s` with its last character `=` (base64's padding after a UTF-7 run: no UTF-7).
fn padded(mut s: String) -> String {
    if s.pop().is_some() {
        s.push('=');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detectors_of(text: &str) -> Vec<String> {
        scan(text, &GuardConfig::default())
            .into_iter()
            .map(|f| f.detector)
            .collect()
    }

    /// A URL's credential is found and redacted up to its `@`, the host left whole; a template
    /// placeholder in the password's place (a scanner rule's example) is no credential.
    #[test]
    fn a_url_credential_is_redacted_to_its_at_and_a_placeholder_is_none() {
        let text = "connect postgres://app:Tr0ub4dor3x@db.internal:5432/x now";
        let found = scan(text, &GuardConfig::default());
        assert!(found.iter().any(|f| f.detector == "password-in-url"), "{found:?}");
        let shown = redact(text, &found);
        assert!(
            shown.contains("db.internal:5432") && !shown.contains("Tr0ub4"),
            "{shown}"
        );
        for clean in [
            "postgres://user:${DB_PASSWORD}@host/db",
            "mysql://root:{{ db_password }}@localhost/app",
            "amqp://guest:<password>@rabbit/",
            "redis://:****@cache:6379",
        ] {
            assert!(!detectors_of(clean).contains(&"password-in-url".to_string()), "{clean}");
        }
    }

    #[test]
    fn phi_is_found() {
        assert_eq!(detectors_of("patient ssn 123-45-6789 in fixture"), vec!["us-ssn"]);
        assert!(detectors_of("invalid 000-12-3456 and 666-12-3456 and 900-12-3456").is_empty());
        assert_eq!(detectors_of("MRN: 00123456"), vec!["mrn"]);
        assert_eq!(
            detectors_of(r#"{"patient_name": "Jane Roe", "dob": "1984-03-02"}"#),
            vec!["dob-with-name"]
        );
        assert!(detectors_of(r#"{"build_date": "2024-03-02"}"#).is_empty());
        assert_eq!(
            detectors_of(r#""patient_email": "jane@example.org""#),
            vec!["patient-contact"]
        );
    }

    #[test]
    fn secrets_are_found() {
        let cases = [
            ("-----BEGIN OPENSSH PRIVATE KEY-----", "private-key"),
            ("key=AKIAIOSFODNN7EXAMPLE", "aws-access-key"),
            ("token ghp_abcdefghijklmnopqrstuvwxyzABCDEF0123", "github-token"),
            (
                "DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/app",
                "password-in-url",
            ),
            (
                "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
                "jwt",
            ),
            ("secret: 9fK2mQ7xLp4RtZ8vWc3NbY6hJd1SgE5aUe0OiXq7TrKm", "high-entropy"),
        ];
        for (text, det) in cases {
            assert!(
                detectors_of(text).contains(&det.to_string()),
                "{text}: {:?}",
                detectors_of(text)
            );
        }
        // Digests and ordinary identifiers are not secrets.
        for clean in [
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "test_sample::test_uses_broken_fixture_with_a_very_long_descriptive_name",
            "https://github.com/acme/api/actions/runs/42",
        ] {
            assert!(detectors_of(clean).is_empty(), "{clean}: {:?}", detectors_of(clean));
        }
    }

    #[test]
    fn values_glued_to_words_are_still_found() {
        let cases = [
            ("ref_123-45-6789", "us-ssn"),
            ("id123-45-6789x", "us-ssn"),
            ("patient_ssn=123456789", "us-ssn"),
            ("patient_ssn: 123 45 6789 0", "us-ssn"),
            ("keyAKIAIOSFODNN7EXAMPLE", "aws-access-key"),
            ("AKIAIOSFODNN7EXAMPLEX", "aws-access-key"),
            ("x_akiaiosfodnn7example", "aws-access-key"),
            ("tokenghp_abcdefghijklmnopqrstuvwxyzABCDEF0123_x", "github-token"),
            ("cfgxoxb-1234567890-abcdef", "slack-token"),
            ("patient_mrn: 00123456", "mrn"),
            ("patient_mrn 0012345678901", "mrn"),
            ("the_patient_phone_number=5551234567", "patient-contact"),
            ("patient_name Jane Roe, patient_dob 1984-03-02", "dob-with-name"),
        ];
        for (text, det) in cases {
            assert!(
                detectors_of(text).contains(&det.to_string()),
                "{text}: {:?}",
                detectors_of(text)
            );
        }
        // Forms found attacking the built binary: other separators and labels, other date
        // formats, MRN spellings, credentials in URLs without a user, any PEM header.
        let more = [
            ("ref 219/45/1120", "us-ssn"),
            ("ref 219_45_1120", "us-ssn"),
            ("ref 219 45 1120", "us-ssn"),
            ("SSN 219:45:1130", "us-ssn"),
            ("patientSsn: 219451120", "us-ssn"),
            ("note.ssn219451191", "us-ssn"),
            ("mrn44556678", "mrn"),
            ("taxpayer id 219451120", "us-ssn"),
            ("S.S.N. 219451120", "us-ssn"),
            ("SocSecNo 219451120", "us-ssn"),
            ("Mary Quill dob 19800102", "dob-with-name"),
            ("Lena Pratt born 1 Feb 1980", "dob-with-name"),
            ("Eve Park dob: 1980.01.02", "dob-with-name"),
            ("Ola Zinn D.O.B. 02-01-1980", "dob-with-name"),
            ("Uma Voss, DOB: January 10, 1980", "dob-with-name"),
            ("patientName: Jane Roe, patientDob: 1980-01-02", "dob-with-name"),
            ("patientMrn=44556678", "mrn"),
            ("MedRecNo 44556679", "mrn"),
            ("M R N 44556681", "mrn"),
            ("mrn: A1234567", "mrn"),
            ("redis://:R3disS3cretPw@cache:6379", "password-in-url"),
            ("----BEGIN OPENSSH PRIVATE KEY----", "private-key"),
            ("BEGIN EC PRIVATE  KEY MHcCAQEE", "private-key"),
            ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe-key"),
        ];
        for (text, det) in more {
            assert!(
                detectors_of(text).contains(&det.to_string()),
                "{text}: {:?}",
                detectors_of(text)
            );
        }
        // Credentials assigned in text are found where asked (people's text, the log), and a
        // reference or a placeholder is not a credential.
        let people = GuardConfig {
            password_assignments: true,
            ..GuardConfig::default()
        };
        let found = |t: &str| scan(t, &people).into_iter().map(|f| f.detector).collect::<Vec<_>>();
        for text in [
            "Server=db;Password=Dsn5ecretPw;",
            "host=db user=ehr password=L1bpqSecretPw dbname=x",
            "jdbc:postgresql://db/ehr?user=a&password=JdbcS3cret",
            "password: Tr0ub4dor&3xyz",
            "aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        ] {
            assert!(
                found(text).contains(&"password-assignment".to_string()),
                "{text}: {:?}",
                found(text)
            );
        }
        for clean in [
            "password = env://DB_PASSWORD",
            "password: ${DB_PASSWORD}",
            "password=********",
            "password: required",
        ] {
            assert!(found(clean).is_empty(), "{clean}: {:?}", found(clean));
        }
        assert!(
            detectors_of("password=hunter2x").is_empty(),
            "evidence files may quote a found password"
        );
        // Longer numbers and lower-case identifiers are not findings.
        for clean in [
            "order 1123-45-67890",
            "2024-123-45-67891",
            "myakiaiosfodnn7examplevalue",
        ] {
            assert!(detectors_of(clean).is_empty(), "{clean}: {:?}", detectors_of(clean));
        }
    }

    #[test]
    fn findings_never_carry_the_value_and_redaction_removes_it() {
        let text = "line one\nuser ssn 123-45-6789 and key AKIAIOSFODNN7EXAMPLE\n";
        let f = scan(text, &GuardConfig::default());
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].line, f[0].column), (2, 10));
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("123-45-6789") && !json.contains("AKIA"));
        let r = redact(text, &f);
        assert_eq!(
            r,
            "line one\nuser ssn [REDACTED:us-ssn] and key [REDACTED:aws-access-key]\n"
        );
        assert!(scan(&r, &GuardConfig::default()).is_empty());
    }

    #[test]
    fn config_sections_and_path_globs() {
        let section: GuardSection = toml_like();
        let cfg = section.compile().unwrap();
        assert!(cfg.skips("synthetic-patients.xml"));
        assert!(cfg.skips("fixtures/a.json"));
        assert!(!cfg.skips("report.xml"));
        assert!(
            scan("MRN 12345678 and ACME-7654321", &cfg)
                .iter()
                .all(|f| f.detector == "mrn")
        );
        assert_eq!(
            scan("MRN 12345678 and ACME-7654321", &cfg).len(),
            1,
            "custom MRN replaces the default"
        );
        let bad = GuardSection {
            allow_patterns: vec!["(".into()],
            ..GuardSection::default()
        };
        assert!(bad.compile().unwrap_err().contains("[guard]"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a*b?d", b"axxxbcd"));
        assert!(!glob_match(b"a*b?d", b"axxxbd"));
    }

    #[test]
    fn a_name_on_the_line_before_still_flags_the_birth_date() {
        // Pretty-printed JSON puts the name and the date of birth on separate lines.
        let pretty = "{\n  \"patient_name\": \"Jane Roe\",\n  \"dob\": \"1984-03-02\"\n}\n";
        assert_eq!(detectors_of(pretty), vec!["dob-with-name"]);
        let f = scan(pretty, &GuardConfig::default());
        assert_eq!((f[0].line, f[0].column), (3, 4));
        // Far away (beyond the window, on another line) a name does not count.
        let far = format!("patient_name: x\n{}\ndob: 1984-03-02\n", "x".repeat(2 * NAME_WINDOW));
        assert!(detectors_of(&far).is_empty(), "{:?}", detectors_of(&far));
        // On the same line it counts however far.
        let same = format!("patient_name {} dob: 1984-03-02\n", "x".repeat(4 * NAME_WINDOW));
        assert_eq!(detectors_of(&same), vec!["dob-with-name"]);
    }

    #[test]
    fn a_repeated_birth_date_line_is_judged_once_per_match_not_once_per_line() {
        // The attack: one line of `dob 1980-01-02 ` repeated. Without a name nothing is found;
        // with a name at its start every date is (same line), and the work is one pass.
        let line = "dob 1980-01-02 ".repeat(20_000);
        assert!(detectors_of(&line).is_empty());
        let named = format!("patient_name {line}");
        let f = scan(&named, &GuardConfig::default());
        assert_eq!(f.len(), 20_000);
        assert!(f.iter().all(|f| f.detector == "dob-with-name" && f.line == 1));
    }

    #[test]
    fn ascii_word_boundaries_still_find_what_unicode_ones_did() {
        // Other scripts' digits keep their Unicode boundaries; a non-ASCII letter glued to a
        // key no longer hides it.
        assert_eq!(detectors_of("ssn ١٢٣-٤٥-٦٧٨٩ here"), vec!["us-ssn"]);
        assert_eq!(detectors_of("clé=éAKIAIOSFODNN7EXAMPLE"), vec!["aws-access-key"]);
        assert_eq!(detectors_of("é MRN: 00123456 é"), vec!["mrn"]);
    }

    #[test]
    fn a_stopped_scan_reports_no_partial_result() {
        let text = "ssn 123-45-6789\n".repeat(10_000);
        assert_eq!(scan_until(&text, &GuardConfig::default(), &mut || true), Err(Stopped));
        // The budget is asked during a long pass, not only between detectors: a stop that
        // fires on its third question ends the scan inside the SSN pass (10,000 matches).
        let mut asked = 0;
        let r = scan_until(&text, &GuardConfig::default(), &mut || {
            asked += 1;
            asked >= 3
        });
        assert_eq!(r, Err(Stopped));
        assert_eq!(asked, 3);
        let mut never = || false;
        assert_eq!(
            scan_until(&text, &GuardConfig::default(), &mut never).unwrap().len(),
            10_000
        );
    }

    #[test]
    fn a_long_text_shares_its_passes_and_still_stops_when_asked() {
        // Past `PARALLEL_TEXT` a second thread takes passes too: the findings are the same as
        // a text's halves give alone, and a stop asked of this thread ends both.
        let unit = "ssn 123-45-6789\nAKIAIOSFODNN7EXAMPLE x\n";
        let text = unit.repeat(PARALLEL_TEXT / unit.len() + 1);
        assert!(text.len() >= PARALLEL_TEXT);
        let found = scan(&text, &GuardConfig::default());
        let count = |name: &str| found.iter().filter(|f| f.detector == name).count();
        assert_eq!(count("us-ssn"), PARALLEL_TEXT / unit.len() + 1);
        assert_eq!(count("aws-access-key"), PARALLEL_TEXT / unit.len() + 1);
        assert!(found.windows(2).all(|w| w[0].range.0 <= w[1].range.0));
        assert_eq!(scan_until(&text, &GuardConfig::default(), &mut || true), Err(Stopped));
        for after in [2, 5, 40] {
            let mut asked = 0;
            let r = scan_until(&text, &GuardConfig::default(), &mut || {
                asked += 1;
                asked >= after
            });
            assert_eq!(r, Err(Stopped));
            assert_eq!(asked, after);
        }
    }

    #[test]
    fn a_redaction_mark_is_not_read_as_the_label_of_the_value_after_it() {
        // Found by the fuzz target: `[REDACTED:us-ssn]` labelled the number after it, so a
        // redacted copy scanned dirty (a value not an SSN before redaction was one after).
        let text =
            "DОB 1980-01-02 Jane Roe; １２３‑４５‑６７８９; 12\u{200b}3-45-6789５‑６７８９; 12\u{200b}3-45-6789\n";
        let cfg = GuardConfig::default();
        let found = scan(text, &cfg);
        assert!(found.iter().any(|f| f.detector == "us-ssn"), "{found:?}");
        let cleaned = redact(text, &found);
        assert_eq!(scan(&cleaned, &cfg), vec![], "{cleaned}");
        for marked in [
            "[REDACTED:us-ssn]; 123-45-67895-6789",
            "[REDACTED:dob-with-name] 1980-01-02 x",
        ] {
            assert_eq!(detectors_of(marked), Vec::<&str>::new(), "{marked}");
        }
        // The value after a mark is still judged by itself, and a mark naming no detector is
        // no cover.
        assert_eq!(detectors_of("[REDACTED:us-ssn] 123-45-6789"), vec!["us-ssn"]);
        // A labelled value replaced by its mark: the mark is no value.
        let cfg = GuardConfig {
            password_assignments: true,
            ..GuardConfig::default()
        };
        let text = "helm failed\npassword=hunter2secret\n";
        let found = scan(text, &cfg);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            redact_verified(text, &found, &cfg, &mut || false),
            Ok(Some("helm failed\npassword=[REDACTED:password-assignment]\n".into()))
        );
        assert_eq!(detectors_of("[REDACTED:ssn] 123456789"), vec!["us-ssn"]);
        assert_eq!(detectors_of("[REDACTED:us-ssn ssn 123456789"), vec!["us-ssn"]);
    }

    #[test]
    fn a_redacted_copy_that_still_scans_dirty_is_not_returned() {
        let text = "ssn 123-45-6789 and 219-45-1120";
        let all = scan(text, &GuardConfig::default());
        assert_eq!(all.len(), 2, "{all:?}");
        let cfg = GuardConfig::default();
        // Redacting only some of the findings leaves a value: refused, not returned.
        assert_eq!(redact_verified(text, &all[..1], &cfg, &mut || false), Ok(None));
        assert_eq!(
            redact_verified(text, &all, &cfg, &mut || false),
            Ok(Some("ssn [REDACTED:us-ssn] and [REDACTED:us-ssn]".into()))
        );
        assert_eq!(redact_verified(text, &all, &cfg, &mut || true), Err(Stopped));
    }

    /// The evasions an attacker helper stored past the guard (CONTROLS known gaps, 2026-12-03):
    /// each written the way the attacker wrote it, each now refused.
    #[test]
    fn encodings_an_attacker_stored_are_refused() {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
        let utf16be = |s: &str| s.encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<u8>>();
        let utf32 = |s: &str| s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect::<Vec<u8>>();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>();
        let secret = "patient ssn 123-45-6789";
        let wrap = |s: &str, n: usize| {
            s.as_bytes()
                .chunks(n)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let groups = |s: &str, sep: &str| {
            s.as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(sep)
        };
        let enc = b64(secret.as_bytes());
        let mut cases: Vec<(String, String)> = vec![
            ("utf-16le in base64".into(), format!("cmd: {}", b64(&utf16(secret)))),
            (
                "utf-16le with BOM in base64".into(),
                format!("cmd: {}", b64(&[&[0xFF, 0xFE][..], &utf16(secret)].concat())),
            ),
            ("utf-16be in base64".into(), format!("cmd: {}", b64(&utf16be(secret)))),
            ("utf-32le in base64".into(), format!("cmd: {}", b64(&utf32(secret)))),
            (
                "utf-16le in hex".into(),
                format!("cmd: {}", hex(&utf16(secret)).concat()),
            ),
            (
                "hex pairs joined by :".into(),
                format!("v={}", hex(secret.as_bytes()).join(":")),
            ),
            (
                "hex pairs joined by -".into(),
                format!("v={}", hex(secret.as_bytes()).join("-")),
            ),
            (
                "0x bytes with commas".into(),
                format!(
                    "v=[{}]",
                    hex(secret.as_bytes())
                        .iter()
                        .map(|h| format!("0x{h}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            (
                "0x bytes with spaces".into(),
                format!(
                    "v={}",
                    hex(secret.as_bytes())
                        .iter()
                        .map(|h| format!("0x{h}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ),
        ];
        let escaped: String = secret.bytes().map(|b| format!("\\\\x{b:02x}")).collect();
        cases.push((
            "\\xNN one level down in JSON".into(),
            format!("{{\"v\": \"{escaped}\"}}"),
        ));
        // Compressed (python3: zlib.compress / gzip.compress(mtime=0), then base64).
        for (what, z) in [
            ("zlib in base64", "eJwrSCzJTM0rUSguzlMwNDLWNTHVNTO3sAQAXjQGwQ=="),
            (
                "gzip in base64",
                "H4sIAAAAAAACAytILMlMzStRKC7OUzA0MtY1MdU1M7ewBAAIpPl3FwAAAA==",
            ),
            ("short zlib in base64", "eJwzNDLWNTHVNTO3sAQADP4COA=="),
            ("zlib cut short in base64", "eJwrSCzJTM0rUSguzlMwNDLWNTHVNTO3sAQ="),
            (
                "gzip file name in base64",
                "H4sICAAAAAAC/0phbmUgUm9lIHNzbiAxMjMtNDUtNjc4OS50eHQAy0jNyclXKM8vyknRUcjLL8nIzEtXyEgtSgUAfSjBsBkAAAA=",
            ),
        ] {
            cases.push((what.into(), format!("v: {z}")));
        }
        let key = "AKIAIOSFODNN7EXAMPLE";
        for (what, doc) in [
            (
                "aws key split across nested objects",
                r#"{"a": "AKIAIOSFOD", "b": {"c": "NN7EXAMPLE"}}"#,
            ),
            (
                "aws key split around a number field",
                r#"{"a": "akiaiosfod", "n": 42, "b": "nn7example"}"#,
            ),
            (
                "aws key split across array elements",
                r#"{"a": ["AKIAIOSFOD"], "b": [{"c": "NN7EXAMPLE"}]}"#,
            ),
            (
                "aws key split across pretty-printed nested objects",
                "{\n  \"a\": {\n    \"k\": \"AKIAIOSFOD\"\n  },\n  \"b\": {\n    \"n\": 1,\n    \"k\": \"NN7EXAMPLE\"\n  }\n}\n",
            ),
        ] {
            cases.push((what.into(), doc.into()));
        }
        // Credentials as commands and headers write them (with password assignments on, as
        // for people's text and log events).
        let creds = GuardConfig {
            password_assignments: true,
            ..GuardConfig::default()
        };
        for line in [
            "PGPASSWORD=S3cr3tPassw0rd! psql -h db",
            "MYSQL_PWD=S3cr3tPassw0rd! mysql",
            "Authorization: Basic YWRtaW46UzNjcjN0UGFzc3cwcmQh",
            "curl -u admin:S3cr3tPassw0rd! https://api.example.org",
            "curl --user=admin:S3cr3tPassw0rd! https://api.example.org",
            "mysql -u root -pS3cr3tPassw0rd! app",
            "mysql -h db -u root -p'S3cr3t Passw0rd' app",
            "mysqldump --user=root --password=S3cr3tPassw0rd! app",
            "mariadb -uroot --password S3cr3tPassw0rd! app",
            "sshpass -p S3cr3tPassw0rd! ssh deploy@host",
        ] {
            let found = scan(line, &creds);
            assert!(
                found.iter().any(|f| f.detector == "password-assignment"),
                "{line}: {found:?}"
            );
        }
        for clean in [
            "curl -u admin https://api.example.org",
            "Authorization: Basic realm=\"x\"",
            "mysql -u root -p app",
            "mysql -u root -P3306 -h db app",
            "mysql -u root -p\"$MYSQL_PASSWORD\" app",
            "mkdir -p build/output",
        ] {
            assert_eq!(scan(clean, &creds), vec![], "{clean}");
        }
        // A label, then a qualifying word or a nesting, then the number (second attack).
        for labelled in [
            "ssn_number: 123456789",
            "SSN_NO 123456789",
            "ssnNumber=123456789",
            "SSN-Number: 123456789",
            "ssn no. 123456789",
            "SSN (full): 123456789",
            r#"{"ssn": {"value": 123456789}}"#,
            r#"{"SSN_NUMBER": 123456789}"#,
            "patient ssn: 123·45·6789",
            "ssn: 123•45•6789",
            "ssn: 123~45~6789",
            "ssn: 123|45|6789",
            "ssn: 123+45+6789",
            "ssn: 123゠45゠6789",
            "ref 123\u{1806}45\u{1806}6789",
            "ref 123\u{2E17}45\u{2E17}6789",
        ] {
            cases.push((format!("labelled: {labelled}"), labelled.to_string()));
        }
        // NUL and other C0 controls between the characters (third attack).
        let key_nul: String = key.chars().flat_map(|c| [c, '\0']).collect();
        cases.push(("aws key id with NULs between".into(), format!("id {key_nul}")));
        cases.push(("ssn with NULs between".into(), "ssn 1\u{0}2\u{0}3-45-6\u{0}789".into()));
        cases.push((
            "ssn with controls between".into(),
            "ref 1\u{1}23\u{7f}-4\u{1b}5-67\u{c}89".into(),
        ));
        // Octal, braced and HTML5 legacy escapes (third attack).
        for (what, text) in [
            ("aws key id with an octal escape", r"id \101KIAIOSFODNN7EXAMPLE"),
            ("aws key id with a braced escape", r"id AKIA\u{49}OSFODNN7EXAMPLE"),
            ("aws key id with &# and no ;", "id &#65KIAIOSFODNN7EXAMPLE"),
            ("aws key id with &#x and no ;", "id AKIA&#x49OSFODNN7EXAMPLE"),
            ("ssn in octal escapes", r"v \061\062\063\05545\0556789"),
            ("ssn in braced escapes", r"v \u{31}\u{32}\u{33}\u{2d}45\u{2D}6789"),
            (
                "ssn in references without ;",
                "v &#49&#50&#51&#45&#52&#53&#45&#54&#55&#56&#57",
            ),
            (
                "ssn in hex references without ;",
                "v &#x31&#x32&#x33&#x2d&#x34&#x35&#x2d&#x36&#x37&#x38&#x39",
            ),
        ] {
            cases.push((what.into(), text.into()));
        }
        // Lisu and Coptic look-alikes (third attack).
        for (what, text) in [
            ("aws key id in Lisu capitals", "id ꓮꓗꓲꓮꓲꓳꓢꓝꓳꓓꓠꓠ7ꓰꓫꓮꓟꓑꓡꓰ"),
            ("aws key id in Coptic capitals", "id ⲀⲔⲒⲀⲒⲞSFⲞDⲚⲚ7ⲈⲬⲀⲘⲢLⲈ"),
            ("ssn labelled in Lisu", "ꓢꓢꓠ: 123456789"),
        ] {
            cases.push((what.into(), text.into()));
        }
        // One-line adjacent string literals and concatenations (third attack).
        for (what, text) in [
            ("aws key id in adjacent literals", r#"k = "AKIAIOSF" "ODNN7EXAMPLE""#),
            ("aws key id concatenated with +", r#"k = "AKIAIOSF" + "ODNN7EXAMPLE";"#),
            ("aws key id concatenated in PHP", r#"$k = 'AKIAIOSF' . 'ODNN7EXAMPLE';"#),
            ("aws key id concatenated in Lua", r#"k = "AKIAIOSF" .. "ODNN7EXAMPLE""#),
            ("ssn concatenated in SQL", "SELECT '123-45' || '-6789'"),
            ("ssn concatenated in VB", r#"s = "123-45" & "-6789""#),
            ("ssn in HL7 components split", "PID|1||A1^^^H||R^J||123-45^-6789"),
        ] {
            cases.push((what.into(), text.into()));
        }
        // HL7 components joining a value (third attack).
        cases.push(("ssn in HL7 components".into(), "PID|1||A1^^^H||R^J||123^45^6789".into()));
        cases.push((
            "aws key id in HL7 components".into(),
            "OBX|1|ST|k||AKIAIOSF^ODNN7EXAMPLE".into(),
        ));
        cases.push((
            "ssn split around a literal".into(),
            r#"{"a": "123-45", "ok": true, "b": "-6789"}"#.into(),
        ));
        for sep in [":", "/", "|", ",", "   ", ", ", " : "] {
            let spaced: Vec<String> = key.chars().map(String::from).collect();
            cases.push((
                format!("aws key id spaced by {sep:?}"),
                format!("id {}", spaced.join(sep)),
            ));
            let grouped: Vec<String> = key
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect();
            cases.push((
                format!("aws key id in groups by {sep:?}"),
                format!("id {}", grouped.join(sep)),
            ));
        }
        for n in [4, 8, 12] {
            cases.push((format!("base64 wrapped at {n}"), format!("blob:\n{}\n", wrap(&enc, n))));
        }
        // Narrow wraps with a prefix on every line, or joined by U+2028/U+2029 or `<br>` (third
        // attack).
        for n in [4, 8, 12, 16] {
            for prefix in ["> ", ">> ", "# ", "// ", "  * "] {
                let lines = wrap(&enc, n).replace('\n', &format!("\n{prefix}"));
                cases.push((
                    format!("base64 wrapped at {n} after {prefix:?}"),
                    format!("blob:\n{prefix}{lines}\n"),
                ));
            }
            let numbered: Vec<String> = wrap(&enc, n)
                .lines()
                .enumerate()
                .map(|(i, l)| format!("{:>3}: {l}", i + 10))
                .collect();
            cases.push((
                format!("base64 wrapped at {n} with line numbers"),
                format!("blob:\n{}\n", numbered.join("\n")),
            ));
            for sep in ["\u{2028}", "\u{2029}", "<br/>", "<br>", "<BR />", "&lt;br/&gt;"] {
                cases.push((
                    format!("base64 wrapped at {n} joined by {sep:?}"),
                    format!("blob: {}", wrap(&enc, n).replace('\n', sep)),
                ));
            }
        }
        for (what, text) in [
            ("aws key id split over quoted lines", "> AKIAIOSFOD\n> NN7EXAMPLE\n"),
            (
                "aws key id split over commented lines",
                "// AKIAIOSFOD\n// NN7EXAMPLE\n",
            ),
            (
                "aws key id split over numbered lines",
                "12: AKIAIOSFOD\n13: NN7EXAMPLE\n",
            ),
            ("ssn split over quoted lines", "> patient 123-45\n> -6789\n"),
            ("ssn split over lines joined by U+2028", "patient 123-45\u{2028}-6789"),
            ("ssn split by <br/>", "patient 123-45<br/>-6789"),
        ] {
            cases.push((what.into(), text.into()));
        }
        for sep in [".", ",", ";", "|", ":", "·", ", "] {
            cases.push((
                format!("base64 groups joined by {sep:?}"),
                format!("v {}", groups(&enc, sep)),
            ));
        }
        // Other detectors than the SSN's and key ids' (`true`: with password assignments on).
        let mut more: Vec<(String, &str, bool)> = Vec::new();
        // A label, then a qualifying word, a format or a nesting, then the value (third attack).
        for (text, detector) in [
            ("mrn_number: 12345678", "mrn"),
            ("MRN_NO=A1234567", "mrn"),
            (r#"{"mrn": {"value": 12345678}}"#, "mrn"),
            ("MRN (primary): 12345678", "mrn"),
            ("patient Jane Roe DOB (yyyy-mm-dd): 1980-01-02", "dob-with-name"),
            (
                "patient_name: Jane Roe, date_of_birth_value=1980-01-02",
                "dob-with-name",
            ),
            (
                r#"{"patient_name": "Jane Roe", "dob": {"value": "1980-01-02"}}"#,
                "dob-with-name",
            ),
            ("name Jane Roe dob_iso: 1980-01-02", "dob-with-name"),
            (r#"{"patient_phone": {"value": "555-123-4567"}}"#, "patient-contact"),
            ("patient phone (home): 5551234567", "patient-contact"),
            ("patient_phone_primary=555-123-4567", "patient-contact"),
            ("patient_id_number: 219451100", "us-ssn"),
            (r#"{"member_id": {"value": 219451100}}"#, "us-ssn"),
        ] {
            more.push((text.to_string(), detector, false));
        }
        // An HL7 v2 patient identification segment with five fields or more (third attack).
        for text in [
            "MSH|^~\\&|EPIC|HOSP|||202612040101||ADT^A01|1|P|2.5\rPID|1||00123456^^^HOSP^MR||Roe^Jane||19800102|F\r",
            "{\"msg\": \"MSH|^~\\\\&|A|B\\rPID|1||00123456^^^HOSP^MR||Roe^Jane\"}",
            "PID|1||X||Y\n",
        ] {
            more.push((text.to_string(), "hl7-pid", false));
        }
        // Name/value property pairs (third attack).
        for (text, detector) in [
            (r#"{"name": "ssn", "value": "123456789"}"#, "us-ssn"),
            (r#"{"key": "SSN", "value": 123456789}"#, "us-ssn"),
            (r#"{"value": "123456789", "name": "ssn"}"#, "us-ssn"),
            (
                r#"{"components": [{"name": "lib", "properties": [{"name": "patient:ssn", "value": "123456789"}]}]}"#,
                "us-ssn",
            ),
            (
                r#"<properties><property name="ssn" value="123456789"/></properties>"#,
                "us-ssn",
            ),
            (r#"<property value="123456789" name="ssn"/>"#, "us-ssn"),
            (r#"<property name="ssn">123456789</property>"#, "us-ssn"),
            (r#"{"name": "mrn", "value": "00123456"}"#, "mrn"),
            (
                r#"<property name="patient_name" value="Jane Roe"/><property name="dob" value="1980-01-02"/>"#,
                "dob-with-name",
            ),
        ] {
            more.push((text.to_string(), detector, false));
        }
        // Birth dates as DD-MON-RR, DD-Mon-YYYY, Mon-DD-YYYY and in words; a phone with spaces
        // (third attack).
        for text in [
            "patient Jane Roe DOB: 02-JAN-80",
            "patient Jane Roe DOB: 02-Jan-1980",
            "patient Jane Roe DOB 02/Jan/1980",
            "patient Jane Roe DOB: Jan-02-1980",
            "patient Jane Roe DOB: January 2, 1980",
            "patient Jane Roe DOB: 2 Jan 1980",
            // Ordinal days (attack on `b782046`: accepted, and as a configuration value kept
            // for good).
            "Jane Roe, DOB 12th April 1961",
            "Patient Jane Roe born 1st April 1961",
            "patient Jane Roe DOB: 2nd of Jan 1980",
            // Attack on `4039005`: `the`, the day after the month, hyphens.
            "Jane Roe, DOB the 12th of April 1961",
            "Patient Jane Roe was born on the 12th of April 1961",
            "Jane Roe, DOB April the 12th, 1961",
            "Jane Roe, DOB 12th-Apr-1961",
        ] {
            more.push((text.to_string(), "dob-with-name", false));
        }
        for text in [
            "patient phone (home): +1 555 123 4567",
            r#""patient_phone": "+1 (555) 123-4567""#,
            "patient_mobile=+44 207 123 4567",
        ] {
            more.push((text.to_string(), "patient-contact", false));
        }
        // Raw DEFLATE (no zlib header) in base64, zlib in base32 (third attack).
        for text in [
            "v: K0gsyUzNK1EoLs5TMDQy1jUx1TUzt7AEAA==",
            "v: y0xRMDQy1jUx1TUzt7BUSM1LUbBWAAA=",
            "v: PCOCWSBMZFGM2K2RFAXM4UZQGQZNMNJR2U2THN5QAQAF4NAGYE======",
        ] {
            more.push((text.to_string(), "us-ssn", false));
        }
        // A label with an encoded value (third attack): the label is kept before the value.
        for (text, detector) in [
            (r#"{"ssn": "MTIzNDU2Nzg5"}"#, "us-ssn"),
            ("SSN=MTIzNDU2Nzg5", "us-ssn"),
            ("ssn: GEZDGNBVGY3TQOI=", "us-ssn"),
            ("ssn: 313233343536373839", "us-ssn"),
            (r#"{"patient_id": "MjE5NDUxMTAw"}"#, "us-ssn"),
            (r#"{"mrn": "MDAxMjM0NTY3OA=="}"#, "mrn"),
            (
                r#"{"patient_name": "Jane Roe", "dob": "MTk4MC0wMS0wMg=="}"#,
                "dob-with-name",
            ),
        ] {
            more.push((text.to_string(), detector, false));
        }
        more.push((
            r#"{"password": {"value": "S3cr3tPassw0rd!"}}"#.into(),
            "password-assignment",
            true,
        ));
        more.push(("db_password_plain: S3cr3tPassw0rd!".into(), "password-assignment", true));
        // The classes left open after the third attack (2026-12-04, fourth round).
        let a85 = |b: &[u8]| -> String {
            let mut out = String::new();
            for chunk in b.chunks(4) {
                let mut g = [0u8; 4];
                g[..chunk.len()].copy_from_slice(chunk);
                let mut v = u32::from_be_bytes(g);
                let mut digits = [0u8; 5];
                for d in digits.iter_mut().rev() {
                    *d = (v % 85) as u8 + b'!';
                    v /= 85;
                }
                out.extend(digits[..chunk.len() + 1].iter().map(|&d| char::from(d)));
            }
            out
        };
        let uu = |b: &[u8]| -> String {
            let c = |v: u32| char::from(if v == 0 { b'`' } else { v as u8 + b' ' });
            let mut out = String::from("begin 644 notes.txt\n");
            for line in b.chunks(45) {
                out.push(char::from(line.len() as u8 + b' '));
                for q in line.chunks(3) {
                    let mut g = [0u8; 3];
                    g[..q.len()].copy_from_slice(q);
                    let w = u32::from(g[0]) << 16 | u32::from(g[1]) << 8 | u32::from(g[2]);
                    out.extend([w >> 18, w >> 12 & 63, w >> 6 & 63, w & 63].map(c));
                }
                out.push('\n');
            }
            out.push_str("`\nend\n");
            out
        };
        // `xxd` (or, `canonical`, `hexdump -C`) of `b`, 16 bytes a line.
        let xxd = |b: &[u8], canonical: bool| -> String {
            b.chunks(16)
                .enumerate()
                .map(|(i, line)| {
                    let text: String = line
                        .iter()
                        .map(|&c| {
                            if c.is_ascii_graphic() || c == b' ' {
                                char::from(c)
                            } else {
                                '.'
                            }
                        })
                        .collect();
                    if canonical {
                        let hex: Vec<String> = line.iter().map(|c| format!("{c:02x}")).collect();
                        let (a, b) = hex.split_at(hex.len().min(8));
                        format!("{:08x}  {:<23}  {:<23}  |{text}|\n", i * 16, a.join(" "), b.join(" "))
                    } else {
                        let hex: Vec<String> = line
                            .chunks(2)
                            .map(|p| p.iter().map(|c| format!("{c:02x}")).collect())
                            .collect();
                        format!("{:08x}: {:<39}  {text}\n", i * 16, hex.join(" "))
                    }
                })
                .collect()
        };
        // Deterministic key material (xorshift): a private key's body.
        let mut x: u64 = 0x51af_d7ed_558c_cd8d;
        let key: Vec<u8> = (0..600)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for width in [32, 30, 24, 16, 8] {
            more.push((wrap(&b64(&key), width), "high-entropy", false));
            more.push((
                format!("key: |\n{}\n", wrap(&b64(&key), width).replace('\n', "\n  ")),
                "high-entropy",
                false,
            ));
        }
        more.push((
            format!("{{\"k\": \"{}\"}}", wrap(&b64(&key), 32).replace('\n', "\\n")),
            "high-entropy",
            false,
        ));
        // One string a line: a JSON array, a concatenation.
        for (open, close) in [("  \"", "\","), ("  '", "' +")] {
            let lines: Vec<String> = wrap(&b64(&key), 32)
                .lines()
                .map(|l| format!("{open}{l}{close}"))
                .collect();
            more.push((format!("key = [\n{}\n]", lines.join("\n")), "high-entropy", false));
        }
        for (text, detector) in [
            // `password-in-url` split across fields.
            (
                r#"{"url": "postgres://u:", "rest": "hunter2@db/x"}"#.to_string(),
                "password-in-url",
            ),
            (
                "url: \"postgres://app:s3\"\n  + \"cr3t@db.internal:5432/app\"".to_string(),
                "password-in-url",
            ),
            // UTF-16 of mostly non-Latin text.
            (format!("v: {}", b64(&utf16("Иван Петров 123-45-6789"))), "us-ssn"),
            (
                format!("v: {}", b64(&utf16("山田太郎様の社会保障番号は 123-45-6789 です"))),
                "us-ssn",
            ),
            (format!("v: {}", b64(&utf16be("Пациент Иванов: 123-45-6789"))), "us-ssn"),
            (
                format!("v: {}", b64(&utf16("患者山田太郎社会保障番号１２３－４５－６７８９"))),
                "us-ssn",
            ),
            (
                format!("v: {}", hex(&utf16("Мария Петрова AKIAIOSFODNN7EXAMPLE")).concat()),
                "aws-access-key",
            ),
            // Ascii85 and uuencode.
            (format!("<~{}~>", a85(b"ssn 123-45-6789")), "us-ssn"),
            (format!("note: {}", a85(b"patient ssn 123-45-6789")), "us-ssn"),
            (format!("<x>{}</x>", a85(b"key AKIAIOSFODNN7EXAMPLE")), "aws-access-key"),
            (
                format!("<~{}~>", wrap(&a85(b"id AKIAIOSFODNN7EXAMPLE end"), 10)),
                "aws-access-key",
            ),
            (uu(b"ssn 123-45-6789\n"), "us-ssn"),
            (
                format!("attachment:\n{}", uu(b"key AKIAIOSFODNN7EXAMPLE")),
                "aws-access-key",
            ),
            // Split RFC 2047 encoded words, B and Q.
            (
                format!(
                    "Subject: =?UTF-8?B?{}?= =?UTF-8?B?{}?=",
                    b64(b"ssn 123-45"),
                    b64(b"-6789")
                ),
                "us-ssn",
            ),
            (
                "Subject: =?utf-8?q?ssn_123-45?=\r\n =?utf-8?q?=2D6789?=".to_string(),
                "us-ssn",
            ),
            (
                "Subject: =?ISO-8859-1?Q?AKIAIOSF?= =?ISO-8859-1?Q?ODNN7EXAMPLE?=".to_string(),
                "aws-access-key",
            ),
            // B words cut inside a base64 quantum.
            (
                "Subject: =?UTF-8?B?c3NuIDEyMy0?= =?UTF-8?B?0NS02Nzg5?=".to_string(),
                "us-ssn",
            ),
            (
                "Subject: =?UTF-8?B?QUtJQUlPU0ZPRE?=\r\n =?utf-8?b?5ON0VYQU1QTEU=?=".to_string(),
                "aws-access-key",
            ),
            // Separately padded base64 chunks in one run.
            (format!("v: {}{}", b64(b"123-4"), b64(b"5-6789")), "us-ssn"),
            (format!("ssn: {}{}", b64(b"123-"), b64(b"45-6789")), "us-ssn"),
            (
                format!("{}{}{}", b64(b"AKIAI"), b64(b"OSFODNN"), b64(b"7EXAMPLE")),
                "aws-access-key",
            ),
            // SARIF `message.arguments` put into the text's placeholders.
            (
                r#"{"message": {"text": "value {0}-{1}-{2} leaked", "arguments": ["123", "45", "6789"]}}"#.to_string(),
                "us-ssn",
            ),
            (
                r#"{"message": {"arguments": ["AKIAIOSF", "7EXAMPLE"], "text": "key {0}ODNN{1}"}}"#.to_string(),
                "aws-access-key",
            ),
            // An XML processing instruction or comment inside a value.
            ("<id>123-4<?x?>5-6789</id>".to_string(), "us-ssn"),
            ("<id>123-45<!-- c -->-6789</id>".to_string(), "us-ssn"),
            ("<k>AKIAIOSF<?pi data?>ODNN7EXAMPLE</k>".to_string(), "aws-access-key"),
            // A value split between a JSON key and its value.
            (r#"{"123-45-": "6789"}"#.to_string(), "us-ssn"),
            (r#"{"AKIAIOSFOD": "NN7EXAMPLE"}"#.to_string(), "aws-access-key"),
            // A name/value pair with another field between name and value.
            (
                r#"{"name": "ssn", "type": "string", "value": "123456789"}"#.to_string(),
                "us-ssn",
            ),
            (
                r#"<property name="ssn" type="string" value="123456789"/>"#.to_string(),
                "us-ssn",
            ),
            // Hex dumps whose offset column splits the value's hex.
            (xxd(b"patient ssn 123-45-6789 end\n", false), "us-ssn"),
            (xxd(b"key: AKIAIOSFODNN7EXAMPLE\n", true), "aws-access-key"),
            // Unlabelled `DD-MON-RR` and `DD-MON-YYYY` dates beside a name.
            ("Jane Roe 02-JAN-80".to_string(), "name-with-date"),
            ("Roe, Jane (02-Jan-1980)".to_string(), "name-with-date"),
            ("02-JAN-1980 Jane Roe".to_string(), "name-with-date"),
            ("JANE ROE 02/Jan/1980".to_string(), "name-with-date"),
        ] {
            more.push((text, detector, false));
        }
        let mut missed = Vec::new();
        let plain = GuardConfig::default();
        for (text, detector, creds_on) in &more {
            let found = scan(text, if *creds_on { &creds } else { &plain });
            if !found.iter().any(|f| f.detector == *detector) {
                missed.push(format!("{detector}: {text} -> {found:?}"));
            }
        }
        for short in ["PID|1||A\n", "RAPID|1|2|3|4|5", "ps: PID PPID CMD"] {
            if detectors_of(short).iter().any(|d| d == "hl7-pid") {
                missed.push(format!("hl7-pid found in {short:?}"));
            }
        }
        for (what, text) in &cases {
            let found = detectors_of(text);
            let wanted = if what.starts_with("aws") {
                "aws-access-key"
            } else {
                "us-ssn"
            };
            if !found.iter().any(|d| d == wanted) {
                missed.push(format!("{what}: {text} -> {found:?}"));
            }
        }
        assert!(missed.is_empty(), "not refused:\n{}", missed.join("\n"));
    }

    #[test]
    fn redaction_leaves_no_tail_of_an_overlapping_span() {
        let text = "aaaa bbbb cccc";
        let f = |d: &str, start, end| Finding {
            detector: d.into(),
            line: 1,
            column: start + 1,
            decoded: None,
            range: (start, end),
        };
        let r = redact(text, &[f("a", 0, 7), f("b", 5, 12)]);
        assert_eq!(r, "[REDACTED:a]cc");
    }

    #[test]
    fn adversarial_inputs_are_the_size_asked() {
        for (name, text) in adversarial_inputs(4096) {
            assert!(text.len() <= 4096 && text.len() + 8 >= 4096, "{name}: {}", text.len());
        }
    }

    /// `(detector, decoded label)` of each finding.
    fn seen(text: &str) -> Vec<(String, Option<String>)> {
        scan(text, &GuardConfig::default())
            .into_iter()
            .map(|f| (f.detector, f.decoded))
            .collect()
    }

    #[test]
    fn encoded_values_are_judged_decoded() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let cases: Vec<(String, &str, &str)> = vec![
            (
                r#"<testcase name="ssn 123&#x2D;45&#x2D;6789"/>"#.into(),
                "us-ssn",
                "xml",
            ),
            (r#"<testcase name="id 123&#45;45&#45;6789"/>"#.into(), "us-ssn", "xml"),
            (
                r#"<testcase name="id 123&amp;#45;45&amp;#45;6789"/>"#.into(),
                "us-ssn",
                "xml",
            ),
            ("<m><![CDATA[123-45]]><![CDATA[-6789]]></m>".into(), "us-ssn", "cdata"),
            (r#"{"note": "123\u002d45\u002d6789"}"#.into(), "us-ssn", "escape"),
            // An escaped first dash no longer hides the header: the header is found as written.
            (r#"{"k": "\u002d----BEGIN PRIVATE KEY-----"}"#.into(), "private-key", ""),
            (
                "v = \"\\u002D----BEGIN RSA PRIVATE KEY-----\"".into(),
                "private-key",
                "",
            ),
            ("ssn １２３-４５-６７８９".into(), "us-ssn", ""),
            ("ЅЅN 123 45 6789".into(), "us-ssn", ""), // spaced parts are found unlabelled too
            ("SSN: 123.45.6789".into(), "us-ssn", ""),
            ("ssn 123 45 6789".into(), "us-ssn", ""),
            ("Ρatient_email: jane@example.org".into(), "patient-contact", "unicode"),
            ("patient_name Jane, DОB 1980-01-02".into(), "dob-with-name", "unicode"),
            ("Jane Roe, born 1980-01-02".into(), "dob-with-name", ""),
            (
                "patient Jane Roe; date of birth: 02/01/1980".into(),
                "dob-with-name",
                "",
            ),
            ("key akiaiosfodnn7example".into(), "aws-access-key", ""),
            (
                "key ａｋｉａｉｏｓｆｏｄｎｎ７ｅｘａｍｐｌｅ".into(),
                "aws-access-key",
                "unicode",
            ),
            (format!("blob {}", b64("SSN 123-45-6789")), "us-ssn", "base64"),
            (
                format!("k={}", b64("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n")),
                "private-key",
                "base64",
            ),
        ];
        for dash in ['\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2212}'] {
            let t = format!("id 123{dash}45{dash}6789");
            assert_eq!(seen(&t), vec![("us-ssn".into(), Some("unicode".into()))], "{t:?}");
        }
        for zw in ['\u{200B}', '\u{200C}', '\u{200D}', '\u{FEFF}', '\u{AD}'] {
            let t = format!("id 123-4{zw}5-6789");
            assert_eq!(seen(&t), vec![("us-ssn".into(), Some("unicode".into()))], "{t:?}");
        }
        for (text, detector, label) in cases {
            let found = seen(&text);
            let expected = (detector.to_string(), (!label.is_empty()).then(|| label.to_string()));
            assert!(found.contains(&expected), "{text:?}: {found:?}");
        }
    }

    #[test]
    fn a_decoded_finding_points_at_and_redacts_the_encoded_span() {
        let text = "line one\n<t name=\"x 123&#x2D;45&#x2D;6789 y\"/>\n";
        let f = scan(text, &GuardConfig::default());
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].line, f[0].column, f[0].decoded.as_deref()), (2, 12, Some("xml")));
        assert_eq!(f[0].span(text), Some("123&#x2D;45&#x2D;6789"));
        let json = serde_json::to_string(&f).unwrap();
        assert!(json.contains(r#""decoded":"xml""#) && !json.contains("6789"), "{json}");
        assert!(!format!("{f:?}").contains("6789"));
        let r = redact(text, &f);
        assert_eq!(r, "line one\n<t name=\"x [REDACTED:us-ssn] y\"/>\n");
        assert!(scan(&r, &GuardConfig::default()).is_empty());
        // Base64: the whole run goes.
        let text = "data U1NOIDEyMy00NS02Nzg5 end";
        let f = scan(text, &GuardConfig::default());
        assert_eq!(redact(text, &f), "data [REDACTED:us-ssn] end");
        // Seen raw and through a view: reported once, as raw.
        assert_eq!(seen("ssn 123-45-6789 caf\u{e9}"), vec![("us-ssn".into(), None)]);
    }

    #[test]
    fn digests_uuids_and_signatures_are_not_findings_in_any_view() {
        let clean = r#"{"digest": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "id": "550e8400-e29b-41d4-a716-446655440000",
  "version": "1.2.3-rc.1+build.5", "time": "2026-12-03T10:15:00Z", "name": "caf\u00e9 r\u00e9sum\u00e9",
  "sig": "MEUCIQDx3pGz8hV2kq7b0S3zJ8Yl5g0fP8vX1nT0m3Jq9wIgYb2c4k7Vh8Q1aZ3f5nR6m0tL2pX9sW4eD7uC1vB3yE=",
  "payload": "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==", "a": "x &amp; y &lt; z",
  "zone": "asiaSoutheast1Region"}"#;
        // The random signature and payload are high-entropy in the raw text (DSSE envelopes are
        // scanned with them blanked, `intoto::dsse_guard_views`); no view adds anything.
        let found = seen(clean);
        assert!(
            found.iter().all(|(d, v)| d == "high-entropy" && v.is_none()),
            "{found:?}"
        );
        let cfg = GuardConfig {
            allow: Allowlist {
                detectors: vec!["high-entropy".into()],
                ..Allowlist::default()
            },
            ..GuardConfig::default()
        };
        assert!(scan(clean, &cfg).is_empty());
    }

    /// Asserts each text is found by `detector` (default configuration unless `cfg`).
    fn assert_found(cases: &[&str], detector: &str, cfg: &GuardConfig) {
        for text in cases {
            let found: Vec<String> = scan(text, cfg).into_iter().map(|f| f.detector).collect();
            assert!(found.iter().any(|d| d == detector), "{text:?}: {found:?}");
        }
    }

    fn assert_clean(cases: &[&str], cfg: &GuardConfig) {
        for text in cases {
            let found = scan(text, cfg);
            assert!(found.is_empty(), "{text:?}: {found:?}");
        }
    }

    fn people() -> GuardConfig {
        GuardConfig {
            password_assignments: true,
            ..GuardConfig::default()
        }
    }

    #[test]
    fn a_name_right_beside_a_birth_date_without_a_label_is_phi() {
        assert_found(
            &[
                "Jane Roe 1980-01-02",
                "Dee Orr 1980-01-02",
                "Vance, Olga (1980-01-04)",
                "PID|1||12345^^^HOSP^MR||Wynn^Xena||19800112|F",
                "JANE ROE 02/01/1980",
                "Jane Q. Roe, January 2, 1980",
                "Uma Voss 12 Mar 1975",
                "<name>Jane O'Neil-Roe</name> 1980.01.02",
                "test_export[Jane Roe 1980-01-02]",
                "[\"Jane Roe\", \"1980-01-02\"]",
                "Jane Roe 2019-12-31",
                "1980-01-02 Jane Roe",
                "02/01/1980, ROE, JANE",
                "Jane Roe (12th Apr 1961)",
                "Jane Roe 3rd of March 1961",
                "Jane Roe 12TH APRIL 1961",
                "Jane Roe 12TH OF APRIL 1961",
                "Jane Roe 12 APRIL 1961",
            ],
            "name-with-date",
            &GuardConfig::default(),
        );
        // The finding is the name and the date, and never shows either.
        let f = scan("x Jane Roe 1980-01-02 y", &GuardConfig::default());
        assert_eq!(f[0].span("x Jane Roe 1980-01-02 y"), Some("Jane Roe 1980-01-02"));
        assert!(!format!("{f:?}").contains("Roe") && !format!("{f:?}").contains("1980"));
    }

    #[test]
    fn release_dates_timestamps_and_versions_beside_capitalised_words_are_not_names() {
        assert_clean(
            &[
                "Release Notes 2019-03-02",
                "Sprint Review 2018-05-01",
                "Hotfix Release 2026-12-03",
                "Cutover Weekend 2026-12-05",
                "Alice Smith 2026-12-03",
                "Jane Roe 2015-03-02T10:15:00Z",
                "Jane Roe 2015-03-02 10:15",
                "Jane Roe 19800102345",
                "DATE OF BIRTH: 1980-01-02",
                "SSN DOB 1980-01-02",
                "Python Runtime 3.11.2",
                "Node Version 18.04.1",
                "Build 1.2.3-rc.1+build.5 2026-12-03T10:15:00Z",
                "Copyright Acme 2015-2019",
                "Monday, March 4, 2019",
                "Created 2019-03-02 by Jane",
                "2019-03-02 10:15 Jane Roe",
                "2019-03-02T10:15:00Z Jane Roe",
                "2019-03-02 INFO Server Started",
                "2026-12-03 Alice Smith",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn names_written_in_capitals_name_a_person_for_a_birth_date() {
        assert_found(
            &[
                "JANE ROE DOB 1980-01-02",
                "MARY XU DOB: 1980-01-02",
                "DOB 1980-01-02 JANE ROE",
                "{\n  \"n\": \"JANE ROE\",\n  \"dob\": \"1980-01-02\"\n}",
            ],
            "dob-with-name",
            &GuardConfig::default(),
        );
        // Capitals that name nobody: a birth date without a person stays unreported.
        assert_clean(
            &["DATE OF BIRTH: 1980-01-02", "SSN DOB 1980-01-02", "TODO DOB 1980-01-02"],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn detector_names_lists_every_detector_and_disable_refuses_others() {
        let mut built_in: Vec<&str> = detectors().iter().map(|d| d.name).collect();
        built_in.extend(["mrn", "password-assignment", tables::LIMIT_DETECTOR]);
        built_in.sort_unstable();
        built_in.dedup();
        let mut listed = DETECTOR_NAMES.to_vec();
        listed.sort_unstable();
        assert_eq!(built_in, listed);
        assert!(SPLIT_DETECTORS.iter().all(|d| DETECTOR_NAMES.contains(d)));
        let typo = GuardSection {
            disable: vec!["high-entrpy".into()],
            ..GuardSection::default()
        };
        let e = typo.compile().unwrap_err();
        assert!(e.contains("[guard] disable") && e.contains("high-entropy"), "{e}");
    }

    #[test]
    fn not_names_is_sorted_for_its_binary_search() {
        assert!(NOT_NAMES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn html_entities_percent_encoding_and_quoted_printable_hide_nothing() {
        let cases: &[(&str, &str)] = &[
            ("id 123&hyphen;45&dash;6789", "xml+unicode"),
            ("id 123&minus;45&ndash;6789", "xml+unicode"),
            ("id 123&amp;hyphen;45&amp;hyphen;6789", "xml+unicode"),
            ("ssn 123%2D45%2d6789", "percent"),
            ("id 123%E2%80%9145%E2%80%916789", "percent+unicode"),
            ("id 123=2D45=2D6789", "quoted-printable"),
            ("id =31=32=33=2D=34=35=2D=36=37=38=39", "quoted-printable"),
            ("id 123-45=\n-6789", "quoted-printable"),
            ("id 123=E2=80=9145=E2=80=916789", "quoted-printable+unicode"),
        ];
        for (text, label) in cases {
            let found = seen(text);
            assert!(
                found.contains(&("us-ssn".into(), Some(label.to_string()))),
                "{text:?}: {found:?}"
            );
        }
        assert_found(
            &[
                "-----BEGIN&nbsp;PRIVATE&nbsp;KEY-----",
                "k=%2D%2D%2D%2D%2DBEGIN%20PRIVATE%20KEY",
            ],
            "private-key",
            &GuardConfig::default(),
        );
        assert_found(
            &["patient&lowbar;email&colon; jane&commat;example.org"],
            "patient-contact",
            &GuardConfig::default(),
        );
        // Look-alikes: assignments, sizes, printf formats and URLs with ordinary escapes.
        assert_clean(
            &[
                "width=20px height=3D depth=0A",
                "done 100%25, next %d items, %20s padded",
                "https://example.org/search?q=release%20notes&page=2",
                "a &amp; b &nbsp; c &copy; d &unknown; e",
                "x =\n  y",
                "coverage=85 threshold=80",
            ],
            &GuardConfig::default(),
        );
        // A labelled SSN after `=` keeps its digits (`=31` alone is not decoded).
        assert_found(&["ssn=312456789", "ssn=219451120"], "us-ssn", &GuardConfig::default());
    }

    #[test]
    fn nested_short_base32_and_hex_encodings_are_unwrapped() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let hex = |s: &str| hex::encode(s);
        let b32 = |s: &str| {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0u32);
            for b in s.bytes() {
                acc = (acc << 8) | u32::from(b);
                bits += 8;
                while bits >= 5 {
                    bits -= 5;
                    out.push(char::from(A[((acc >> bits) & 31) as usize]));
                }
            }
            if bits > 0 {
                out.push(char::from(A[((acc << (5 - bits)) & 31) as usize]));
            }
            out
        };
        let ssn = "SSN 123-45-6789";
        let cases = [
            (format!("v={}", b64(&b64(ssn))), "base64"),
            (format!("v={}", b64(&b64(&b64(ssn)))), "base64"),
            (format!("v={}", b32(ssn)), "base32"),
            (format!("v={}", b32(ssn).to_lowercase()), "base32"),
            (format!("v={}", hex(ssn)), "hex"),
            (format!("v={}", b64(&hex(ssn))), "base64+hex"),
            (format!("v={}", hex(&b64(ssn))), "base64+hex"),
            (format!("v={}", b64("123-45-6789")), "base64"),
            (format!("v={}", b64("123%2D45%2D6789")), "percent+base64"),
        ];
        for (text, label) in &cases {
            let found = seen(text);
            assert!(
                found.contains(&("us-ssn".into(), Some(label.to_string()))),
                "{text:?}: {found:?}"
            );
            // Redaction removes the whole outer run.
            let f = scan(text, &GuardConfig::default());
            assert_eq!(redact(text, &f), "v=[REDACTED:us-ssn]", "{text}");
        }
        // Digests, SHAs, UUIDs, constants in capitals, identifiers and short words are no text.
        assert_clean(
            &[
                "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 md5 d41d8cd98f00b204e9800998ecf8427e",
                "id 550e8400-e29b-41d4-a716-446655440000",
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567 MAX_CONNECTIONS_PER_HOST DEFAULTTIMEOUTSECONDS",
                "deadbeefcafebabe0123456789abcdef 0011223344556677",
                "getUserById TestCaseNumber12 parseHttpHeaders2 testLoginRedirects",
                "2026-12-03T10:15:00Z 1733220000 port 5432 version 1.2.3-rc.1+build.5",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn base64_glued_behind_other_base64_characters_is_read() {
        use base64::Engine as _;
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        // 24 random-looking bytes, then the value: the run is mostly not text.
        let mut bytes: Vec<u8> = (0u8..24).map(|i| i.wrapping_mul(97).wrapping_add(151)).collect();
        bytes.extend_from_slice(b"SSN 123-45-6789 and more text");
        let text = format!("blob {}", b64(&bytes));
        assert!(
            seen(&text).contains(&("us-ssn".into(), Some("base64".into()))),
            "{:?}",
            seen(&text)
        );
        assert!(
            seen(&format!(
                "k=AkIaIoSfOdNn7ExAmPlE{}",
                b64(b"SSN 123-45-6789 and more text")
            ))
            .iter()
            .any(|(d, _)| d == "us-ssn")
        );
    }

    #[test]
    fn spaced_out_ssn_digits_are_an_ssn() {
        assert_found(
            &[
                "id 1 2 3 - 4 5 - 6 7 8 9",
                "id 1 2 3-4 5-6 7 8 9",
                "SSN: 1 2 3 4 5 6 7 8 9",
                "ssn 1  2  3 - 4  5 - 6  7  8  9",
            ],
            "us-ssn",
            &GuardConfig::default(),
        );
        assert_clean(
            &[
                "1 2 3 4 5 6 7 8 9 10",
                "0 1 2 3 - 4 5 - 6 7 8 9 0",
                "table 1 2 3 - 4 5 - 6 7 8",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn a_bare_nine_digit_number_is_an_ssn_when_labelled_as_a_persons_id() {
        assert_found(
            &[
                "patient_id: 219451100",
                "memberId=219451100",
                "subscriber number 219-45-1100",
                "{\"patientId\": \"219451100\"}",
                "SSN 219451100",
            ],
            "us-ssn",
            &GuardConfig::default(),
        );
        assert_clean(
            &[
                "build_id: 219451100",
                "run 219451100 took 3s",
                "member count 219451100",
                "port 5432 pid 219451100",
            ],
            &GuardConfig::default(),
        );
        // No SSN (ten digits; area 000) — but a patient's number all the same, refused as
        // `mrn` since 2026-12-04 (sixth round, `guard::tables`).
        for text in ["patient_id: 2194511001", "patient_id: 000451100"] {
            let found: Vec<String> = scan(text, &GuardConfig::default())
                .into_iter()
                .map(|f| f.detector)
                .collect();
            assert_eq!(found, ["mrn"], "{text:?}");
        }
    }

    #[test]
    fn credentials_before_a_host_without_a_scheme_are_found() {
        assert_found(
            &[
                "admin:hunter2@db.internal",
                "connect app:s3cr3t@10.0.0.5",
                "target=\"app:S3cret!@cache\"",
                "rsync backup:Backup2026@files.example.org:873",
                "proxy=user:Pr0xyPass@proxy.corp.example:3128",
                "app:pw123@api.default.svc",
            ],
            "password-in-url",
            &GuardConfig::default(),
        );
        assert_clean(
            &[
                "image alpine:3.18@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "org.slf4j:slf4j-api@1.7.36",
                "mailto:jane@example.org",
                "Contact:jane@example.org",
                "git@github.com:acme/api.git",
                "pkg:npm/%40angular/core@17.0.0",
                "ssh deploy@host -p 22; user@host:22",
                "tool:gotestsum@v1.11.0",
                "PackageSupplier: Organization:Acme (acme@example.org)",
                // Ward's OIDC identities are namespaced mail addresses.
                "actor staff:jane@example.org",
                "by staff:jane.roe2@hospital.example.org",
                "a:b@c",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn aws_key_ids_with_their_case_toggled_are_keys() {
        assert_found(
            &[
                "key akiaIOSFODNN7EXAMPLE",
                "key AkIaIoSfOdNn7ExAmPlE",
                "key Akiaiosfodnn7example",
                "key=asiaIOSFODNN7EXAMPL3",
                "1980-01-02AkIaIoSfOdNn7ExAmPlE",
                "key AKIA IOSF ODNN 7EXA MPLE",
                "key AKIA-IOSF-ODNN-7EXA-MPLE",
            ],
            "aws-access-key",
            &GuardConfig::default(),
        );
        assert_clean(
            &[
                "zone asiaSoutheast1Region",
                "role aidaServiceRole2Test",
                "myakiaIOSFODNN7EXAMPLEvalue",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn password_labels_spelled_with_symbols_are_found_in_peoples_text() {
        assert_found(
            &[
                "p@ssword=Tr0ub4dor",
                "pa$$w0rd: Tr0ub4dor&3",
                "P4SS=Tr0ub4dorX",
                "pa$$=hunter22",
                "p@sswd=hunter22",
            ],
            "password-assignment",
            &people(),
        );
        assert_clean(
            &[
                "p@ssword=${PW}",
                "passage=abcdefgh",
                "bypass=abcdefgh",
                "compass: northwest",
                "pa$$word: required",
            ],
            &people(),
        );
        assert_clean(&["p@ssword=Tr0ub4dor"], &GuardConfig::default());
    }

    #[test]
    fn a_number_written_digit_by_digit_in_words_is_found() {
        let cfg = GuardConfig::default();
        assert_found(
            &[
                "two one nine four five one one zero zero",
                "oncall: Two-One-Nine, Four-Five, One-One-Zero-Zero",
                // A word before or after it (a reviewer's find).
                "oh oh two one nine four five one one zero zero",
                "nine nine nine two one nine four five one one zero zero",
            ],
            "us-ssn",
            &cfg,
        );
        // After a word asking to call or text (a tag `call-212-867-5309` reached a leaf: a
        // helper's attack on the fourteenth session's head).
        assert_found(
            &["call-212-867-5309", "sms: 212.867.5309", "pager 212 867 5309"],
            "phone-number",
            &cfg,
        );
        // Dotted with no label at all (a helper's find on the fourteenth session's head).
        assert_found(
            &["reach her at 212.867.5309", "x=1.212.867.5309;", "(212.867.5309)"],
            "phone-number",
            &cfg,
        );
        assert_clean(
            &[
                "release 3.212.867.5309",
                "build 212.867.5309.4",
                "v12.867.5309",
                // Versions and names (a helper's review of the fourteenth session's head).
                "v212.867.5309",
                "version: 212.867.5309",
                "build-212.867.5309",
                "app-212.867.5309-rc1",
                "release 212.867.5309+meta",
            ],
            &cfg,
        );
        assert_found(
            &[
                "call five five five - one two three - four five six seven",
                "phone one five five five one two three four five six seven",
                "seven two one two eight six seven five three zero nine",
                "five five five one two three four five six seven eight",
            ],
            "phone-number",
            &cfg,
        );
        assert_clean(
            &[
                // An invalid SSN group (area 000), too few words, counting words in prose.
                "zero zero zero four five one one zero zero",
                "one two three four five six seven eight",
                "retry one two three times, then give up",
            ],
            &cfg,
        );
    }

    #[test]
    fn a_password_told_in_prose_is_found_and_prose_about_passwords_is_not() {
        // A configuration value's prose (a helper's find on the thirteenth session's head).
        assert_found(
            &[
                "pw is hunter2hunter2",
                "the admin password is Tr0ub4dor&3 until Friday",
                "db passwd was s3cretpass",
                "Passphrase set to: 'blue42horse'",
                "the password is now Winter2026!",
                "password equals hunter22",
                // After `pass` alone, a made-up value (a helper's find on the fourteenth
                // session's head).
                "the pass is hunter2hunter2",
                "wifi pass: Tr0ub4dor",
                "vpn pass is now blue42horse!",
                "the pass is now Winter2026!",
                "the pass is: Summer2024",
                "the pass was hunter22",
                "the pass is v3ryS3cret",
                "the pass is Darwin2024!",
                "the pass was linux4ever!",
                "pass \u{2014} Tr0ub4dor!",
            ],
            "password-assignment",
            &people(),
        );
        assert_clean(
            &[
                "the password is required",
                "password is rotated monthly",
                "the password is stored-in-vault",
                "password is argon2id-hashed",
                "stored password is sha256 of the secret",
                "password is env://DB_PASSWORD",
                "the passphrase is ${PASSPHRASE}",
                "compass is north42west",
                "password is 12345678",
                // A reviewer's finds: `pass` and `pwd` alone are other words, lengths and how
                // passwords are kept are prose.
                "the second pass is arm64-only",
                "lint pass is now py311-compatible",
                "pwd is /builds/ci-runner01",
                "password is 12-character minimum",
                "the password is 16-chars long now",
                "the passcode is 6-digit",
                "password is SHA-256 hashed",
                "the password is AES-256 encrypted at rest",
                "the final pass is x86_64-only",
                "pass: v2",
                "the lint pass was py311.",
                // A helper's review of the fourteenth session's head.
                "the final pass is k8s-only",
                "the second pass was i18n-focused",
                "the nightly pass is e2e-heavy",
                "this pass is a11y-related",
                "the fuzz pass was 1h30m12s",
                "the third pass was 2x2-tiled",
                "the pass is utf16le-only",
                "the second pass is c++20-only",
                "the second pass is now x86_64+arm64",
                "the next pass is arm64@v8",
                "the release pass is v1.2.3+build.5",
                "the pass was #1234-blocking",
                "the pass was 100%-green",
                "the pass is ubuntu2204",
                "the pass is python3only",
                "the pass is ipv6only",
                "the pass is gcc13/clang17",
                "the pass is int8/fp16",
                "the pass is win11compatible",
            ],
            &people(),
        );
    }

    #[test]
    fn a_value_split_across_lines_fields_or_tags_is_joined() {
        let cases = [
            ("note 123-45\n-6789 end", "us-ssn"),
            ("{\n  \"a\": \"123-45\",\n  \"b\": \"-6789\"\n}\n", "us-ssn"),
            ("{\"a\":\"123-45\",\"b\":\"-6789\"}", "us-ssn"),
            ("a: 123-45\nb: -6789\n", "us-ssn"),
            ("<td>123-45</td>\n<td>-6789</td>", "us-ssn"),
            ("id 123-45<b/>-6789", "us-ssn"),
            ("s = \"123-45\" + \"-6789\"", "us-ssn"),
            ("[\"123-45\", \"-6789\"]", "us-ssn"),
            ("k = \"AKIAIOSFOD\" +\n    \"NN7EXAMPLE\"", "aws-access-key"),
            ("-----BEGIN PRIV\nATE KEY-----", "private-key"),
        ];
        for (text, detector) in cases {
            let found = seen(text);
            assert!(
                found
                    .iter()
                    .any(|(d, v)| d == detector && v.as_deref().is_some_and(|v| v.contains("split"))),
                "{text:?}: {found:?}"
            );
            let f = scan(text, &GuardConfig::default());
            assert!(!format!("{f:?}").contains("6789"));
            // Redaction removes both parts.
            let r = redact(text, &f);
            assert!(
                !r.contains("123-45") && !r.contains("6789") && !r.contains("AKIA"),
                "{r}"
            );
        }
        // Names and dates in adjacent fields are not joined; numbers in a pretty-printed report
        // are not an SSN; wrapped base64 is not one high-entropy run.
        assert_clean(
            &[
                "{\n  \"name\": \"Jane Roe\",\n  \"released\": \"2015-03-02\"\n}",
                "{\n  \"startLine\": 123,\n  \"startColumn\": 45,\n  \"endLine\": 6789\n}",
                "<testcase name=\"a\" time=\"0.123\"/>\n<testcase name=\"b\" time=\"45\"/>",
                "a < b and c > d\nx <= 123-45\n",
            ],
            &GuardConfig::default(),
        );
    }

    /// `text` in base64, wrapped at `width` columns, each line after `indent` and ended by
    /// `newline`.
    fn wrapped_base64(text: &str, width: usize, newline: &str, indent: &str) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        b64.as_bytes()
            .chunks(width)
            .map(|line| format!("{indent}{}", String::from_utf8_lossy(line)))
            .collect::<Vec<_>>()
            .join(newline)
    }

    /// A note whose SSN straddles the first line break once it is base64 wrapped at `width`.
    fn note_across_the_wrap(width: usize) -> String {
        format!(
            "{} SSN 123-45-6789 and the rest of the note",
            "a".repeat(width * 3 / 4 - 6)
        )
    }

    #[test]
    fn base64_wrapped_over_lines_or_written_in_groups_is_read_as_one_run() {
        use base64::Engine as _;
        let (n76, n64) = (note_across_the_wrap(76), note_across_the_wrap(64));
        let spaced = |s: &str, group: usize| {
            s.as_bytes()
                .chunks(group)
                .map(|g| String::from_utf8_lossy(g).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let b64 = base64::engine::general_purpose::STANDARD.encode("SSN 123-45-6789 kept");
        let cases: Vec<(&str, String)> = vec![
            ("mime-76-crlf", wrapped_base64(&n76, 76, "\r\n", "")),
            (
                "mime-76-lf",
                format!(
                    "Content-Transfer-Encoding: base64\n\n{}\n",
                    wrapped_base64(&n76, 76, "\n", "")
                ),
            ),
            (
                "pem-64",
                format!(
                    "-----BEGIN NOTE-----\n{}\n-----END NOTE-----\n",
                    wrapped_base64(&n64, 64, "\n", "")
                ),
            ),
            (
                "yaml-block",
                format!("note: |\n{}\nnext: 1\n", wrapped_base64(&n64, 64, "\n", "  ")),
            ),
            (
                "xml-element",
                format!("<note>\n{}\n</note>", wrapped_base64(&n76, 76, "\r\n", "\t\t")),
            ),
            (
                "xml-inline",
                format!("<note>{}</note>", wrapped_base64(&n76, 76, "\n", "")),
            ),
            (
                "json-escapes",
                format!("{{\"note\": \"{}\"}}", wrapped_base64(&n76, 76, "\\r\\n", "")),
            ),
            (
                "json-escapes-indented",
                format!("{{\"note\": \"{}\"}}", wrapped_base64(&n64, 64, "\\n", "    ")),
            ),
            ("groups-of-4", format!("note: {}", spaced(&b64, 4))),
            ("groups-of-8", format!("note: {}.", spaced(&b64, 8))),
            (
                "groups-of-4-wrapped",
                format!(
                    "<n>{}</n>",
                    spaced(&b64, 4)
                        .split(' ')
                        .collect::<Vec<_>>()
                        .chunks(2)
                        .map(|line| line.join(" "))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            ),
            (
                "hex-pairs",
                format!("dump: {}", spaced(&hex::encode("SSN 123-45-6789"), 2)),
            ),
        ];
        for (form, text) in &cases {
            let found = seen(text);
            assert!(
                found
                    .iter()
                    .any(|(d, v)| d == "us-ssn"
                        && v.as_deref().is_some_and(|v| v.contains("base64") || v.contains("hex"))),
                "{form}: {found:?}\n{text}"
            );
            // Redaction removes the whole block: no line or group of it is left.
            let f = scan(text, &GuardConfig::default());
            let r = redact(text, &f);
            assert!(scan(&r, &GuardConfig::default()).is_empty(), "{form}: {r}");
            assert!(!r.contains(&b64[..8]) && !r.contains("MTIz"), "{form}: {r}");
        }
        // One line only, or a value on one line of its own, was read before and still is.
        assert!(
            seen(&format!("a {b64}\nb {b64}"))
                .iter()
                .filter(|(d, _)| d == "us-ssn")
                .count()
                == 2
        );
    }

    #[test]
    fn wrapped_certificates_binary_attachments_and_hash_lists_stay_clean() {
        use base64::Engine as _;
        let pem = include_str!("../tests/fixtures/ca-roots.pem");
        // Deterministic binary data (xorshift), as an e-mail attachment: 76 columns, CRLF.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let binary: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&binary);
        let lines = |s: &str, w: usize, nl: &str| {
            s.as_bytes()
                .chunks(w)
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>()
                .join(nl)
        };
        let mime = format!(
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nBuild log attached.\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            lines(&b64, 76, "\r\n")
        );
        let digest = |i: usize| hex::encode(sha2::Sha256::digest(format!("file {i}").as_bytes()));
        let sums: String = (0..12)
            .map(|i| format!("{}  dist/app-{i}.tar.gz\n", digest(i)))
            .collect();
        let hashes: String = (0..12).map(|i| format!("    {}\n", digest(i))).collect();
        let sri: String = (0..6)
            .map(|i| {
                let h = base64::engine::general_purpose::STANDARD
                    .encode(sha2::Sha512::digest(format!("pkg {i}").as_bytes()));
                format!("  sha512-{h}\n")
            })
            .collect();
        let spaced_hex: String = (0..8).map(|i| format!("{} ", &digest(i)[..8])).collect();
        let log: String = (0..40)
            .map(|i| {
                format!(
                    "2026-12-03T10:{:02}:00Z INFO  req={} user=svc-{i:04} path=/api/v1/items took={}ms\n",
                    i % 60,
                    &digest(i)[..16],
                    i * 7 % 300
                )
            })
            .collect();
        let words = "The quick brown fox jumps over the lazy dog and then some more text\nfrom a log file with many lines of prose that wrap at sixteen\n";
        use sha2::Digest as _;
        let no_entropy = GuardConfig {
            allow: Allowlist {
                detectors: vec!["high-entropy".into()],
                ..Allowlist::default()
            },
            ..GuardConfig::default()
        };
        for (name, text) in [
            ("pem-certificates", pem.to_string()),
            ("mime-binary-attachment", mime),
            ("sha256sums", sums),
            ("sbom-hash-lines", hashes),
            ("sri-hashes", sri),
            ("spaced-hex-ids", spaced_hex),
            ("log", log),
            ("prose", words.repeat(3)),
        ] {
            // Random bytes are high-entropy in the raw text (each 64- or 76-column line); no view
            // adds a finding.
            let found = seen(&text);
            assert!(found.iter().all(|(_, v)| v.is_none()), "{name}: {found:?}");
            assert!(
                scan(&text, &no_entropy).is_empty(),
                "{name}: {:?}",
                scan(&text, &no_entropy)
            );
        }
    }

    #[test]
    fn encodings_nested_four_levels_deep_are_unwrapped() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let ssn = "SSN 123-45-6789";
        let four = b64(&b64(&b64(&b64(ssn))));
        assert!(
            seen(&four).contains(&("us-ssn".into(), Some("base64".into()))),
            "{:?}",
            seen(&four)
        );
        let text = format!("v={}", b64(&b64(&b64(&hex::encode(ssn)))));
        assert!(
            seen(&text).contains(&("us-ssn".into(), Some("base64+hex".into()))),
            "{:?}",
            seen(&text)
        );
        // The whole run goes (the raw run is high-entropy as well: one span, the first name).
        assert_eq!(
            redact(&text, &scan(&text, &GuardConfig::default())),
            "v=[REDACTED:high-entropy]"
        );
        // Five levels is past the depth limit: documented, no SSN found (the raw run is long
        // enough to be high-entropy).
        assert!(
            !seen(&b64(&four)).iter().any(|(d, _)| d == "us-ssn"),
            "{:?}",
            seen(&b64(&four))
        );
    }

    #[test]
    fn an_aws_key_id_in_lower_or_mixed_case_split_across_two_json_fields_is_found() {
        for text in [
            "<name>lib</name>\n<description>akiaiosfod\", \"b\": \"nn7example</description>",
            "PackageName: lib\nPackageComment: AkIaIoSfOd\", \"b\": \"Nn7ExAmPlE\n",
            "{\"a\": \"lib\",\n \"b\": \"akiaiosfod\", \"c\": \"nn7example\"}",
        ] {
            let found = seen(text);
            assert!(found.iter().any(|(d, _)| d == "aws-access-key"), "{text:?}: {found:?}");
        }
        // Identifiers across fields and lower-case words are not glued into key ids.
        assert_clean(
            &[
                "{\"zone\": \"asia\",\n \"b\": \"southeast1regionx\"}",
                "<r>asia</r>\n<z>southeast1Region2x</z>",
                "{\n  \"name\": \"lib\",\n  \"region\": \"asiaSoutheast1Region\"\n}",
                "region: myasia\nzone: iosfodnn7examplex\n",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn an_aws_key_id_spaced_out_other_than_in_groups_of_four_capitals_is_found() {
        assert_found(
            &[
                "key AKIA IOSFODNN 7EXAMPLE",
                "key AKIAIOSF ODNN7EXA MPLE",
                "key akia iosf odnn 7exa mple",
                "key AkIa IoSf OdNn 7ExA mPlE",
                "key A K I A I O S F O D N N 7 E X A M P L E",
                "key a.k.i.a.i.o.s.f.o.d.n.n.7.e.x.a.m.p.l.e",
                "key akiaiosf-odnn7exa-mple",
                "key AKIA  IOSF  ODNN  7EXA  MPLE",
                "id=AKIA_IOSFODNN7EXAMPLE",
            ],
            "aws-access-key",
            &GuardConfig::default(),
        );
        assert_clean(
            &[
                "ASIA PACIFIC REGION 123",
                "Asia Pacific Region 123",
                "asia pacific region 12 north",
                "AIDA SERVICE ROLE 2 ADMINS",
                "aida is an opera in four acts 1871",
                "ASIA-PACIFIC-DATACENTER-2",
                "AKIA 7 AKIA 7 AKIA 7 AKIA 7",
                "zone asia southeast1 region",
            ],
            &GuardConfig::default(),
        );
    }

    fn toml_like() -> GuardSection {
        GuardSection {
            allow_patterns: vec![],
            allow_paths: vec!["synthetic-*.xml".into(), "fixtures/*".into()],
            disable: vec!["high-entropy".into()],
            mrn_patterns: vec![r"\bACME-\d{7}\b".into()],
            max_file_bytes: None,
        }
    }

    #[test]
    fn allowlists_and_custom_mrn() {
        let cfg = GuardConfig {
            mrn_patterns: vec![("mrn-acme".into(), Regex::new(r"\bACME-\d{7}\b").unwrap())],
            allow: Allowlist {
                patterns: vec![Regex::new(r"^AKIAIOSFODNN7EXAMPLE$").unwrap()],
                detectors: vec!["high-entropy".into()],
            },
            skip_paths: vec![],
            max_file_bytes: None,
            password_assignments: false,
        };
        let f = scan("id ACME-1234567 key AKIAIOSFODNN7EXAMPLE MRN 12345678", &cfg);
        let names: Vec<&str> = f.iter().map(|x| x.detector.as_str()).collect();
        assert_eq!(
            names,
            vec!["mrn-acme"],
            "custom MRN replaces the default, allowlisted key passes"
        );
    }

    /// A record number after its label with letters drawn like digits (a helper's attack on
    /// the thirteenth session's head); words and versions after the same labels are not.
    #[test]
    fn a_labelled_record_number_written_with_look_alike_letters_is_found() {
        let cfg = GuardConfig::default();
        for text in [
            "MRN 0O123456",
            "MRN: 00l23456",
            "MRN 00i23456",
            "patient 00l23456",
            "patient_id=0012345O",
            "{\"member_no\": \"O0I23456\"}",
        ] {
            let f = scan(text, &cfg);
            assert!(f.iter().any(|x| x.detector == "mrn"), "{text}: {f:?}");
        }
        for text in [
            "patient portal v1.2.3",
            "MRN lookup service",
            "patient 123 of 4",
            "member login",
            "patient_id column added",
        ] {
            let f = scan(text, &cfg);
            assert!(!f.iter().any(|x| x.detector == "mrn"), "{text}: {f:?}");
        }
    }

    // The forms an attacker helper stored past the guard (2026-12-04, 07:00): healthcare
    // interchange formats, contacts without a patient label, vendor secrets.
    fn found_and_not_echoed(cases: &[&str], detector: &str) {
        let cfg = GuardConfig::default();
        for text in cases {
            let found = scan(text, &cfg);
            assert!(found.iter().any(|f| f.detector == detector), "{text:?}: {found:?}");
            let json = serde_json::to_string(&found).unwrap();
            assert!(!json.contains("Roe") && !json.contains("1980"), "{json}");
        }
    }

    #[test]
    fn a_ccda_patient_with_birth_time_is_refused() {
        found_and_not_echoed(
            &[
                r#"<recordTarget><patientRole><patient><name><given>Jane</given><family>Roe</family></name><birthTime value="19800102"/></patient></patientRole></recordTarget>"#,
                "<patient>\n  <name use=\"L\">\n    <given>Jane</given>\n    <family>Roe</family>\n  </name>\n  <administrativeGenderCode code=\"F\"/>\n  <birthTime value=\"19800102\"/>\n</patient>\n",
                r#"<hl7:patient><hl7:name>Jane Roe</hl7:name><hl7:birthTime value='198001021200'/></hl7:patient>"#,
                r#"<patient><name>Jane Roe</name><birthTime value="1980-01-02"/></patient>"#,
            ],
            "ccda-patient",
        );
        // A birth time with no name near it, an effective time beside a name: no person.
        assert_clean(
            &[
                r#"<observation><effectiveTime value="19800102"/></observation>"#,
                r#"<name>Jane Roe</name><effectiveTime value="19800102"/>"#,
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn an_hl7_v3_id_rooted_at_the_ssn_oid_is_an_ssn() {
        found_and_not_echoed(
            &[
                r#"<id root="2.16.840.1.113883.4.1" extension="123456789"/>"#,
                r#"<id extension="123456789" root="2.16.840.1.113883.4.1"/>"#,
                r#"<id assigningAuthorityName="SSA" root='2.16.840.1.113883.4.1' extension='123-45-6789'/>"#,
            ],
            "us-ssn",
        );
        // Another OID (an MRN authority, `.4.10`), a template id.
        assert_clean(
            &[
                r#"<id root="2.16.840.1.113883.4.10" extension="12345678"/>"#,
                r#"<templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>"#,
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn a_dicom_patient_name_birth_date_or_id_with_a_value_is_refused() {
        found_and_not_echoed(
            &[
                r#"{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Roe^Jane"}]}, "00100030": {"vr": "DA", "Value": ["19800102"]}}"#,
                "{\n  \"00100030\": {\n    \"vr\": \"DA\",\n    \"Value\": [\n      \"19800102\"\n    ]\n  }\n}",
                r#"{"00100020": {"vr": "LO", "Value": ["00123456"]}}"#,
                r#"<DicomAttribute tag="00100010" vr="PN" keyword="PatientName"><PersonName number="1"><Alphabetic><FamilyName>Roe</FamilyName></Alphabetic></PersonName></DicomAttribute>"#,
                r#"<DicomAttribute keyword="PatientBirthDate" tag="00100030" vr="DA"><Value number="1">19800102</Value></DicomAttribute>"#,
                "(0010,0010) PN [Roe^Jane]                               #   8, 1 PatientName",
            ],
            "dicom-patient",
        );
        // The tag without a value (anonymised), other tags.
        assert_clean(
            &[
                r#"{"00100010": {"vr": "PN"}, "00100030": {"vr": "DA", "Value": []}, "00080020": {"vr": "DA", "Value": ["19800102"]}}"#,
                "(0010,0010) PN (no value available)                     #   0, 0 PatientName",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn an_ncpdp_patient_segment_is_refused() {
        found_and_not_echoed(
            &[
                "AM01 C419800102 C52 CAJANE CBROE",
                "\x1eAM01\x1cC419800102\x1cC52\x1cCAJANE\x1cCBROE\x1e",
                "\x1cCAJANE\x1cCBROE\x1c",
            ],
            "ncpdp-patient",
        );
        assert_clean(
            &[
                "AM01 received; CAUTION follows",
                "AM01 received; CAUTION: CBOR parser and CA bundle updated",
                "Read the CBOR spec, CA certificates and C4 model",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn a_fhir_identifier_typed_mr_or_ssn_with_a_value_is_refused() {
        found_and_not_echoed(
            &[
                "{\n  \"identifier\": [\n    {\n      \"use\": \"usual\",\n      \"type\": {\n        \"coding\": [\n          {\n            \"system\": \"http://terminology.hl7.org/CodeSystem/v2-0203\",\n            \"code\": \"MR\"\n          }\n        ]\n      },\n      \"system\": \"urn:oid:1.2.36.146.595.217.0.1\",\n      \"value\": \"00123456\"\n    }\n  ]\n}",
                r#"{"identifier": [{"value": "00123456", "type": {"coding": [{"code": "DL"}]}}]}"#,
                r#"{"identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123456789"}]}"#,
                r#"{"identifier": [{"system": "http://hl7.org/fhir/sid/us-mbi", "value": "1EG4TE5MK73"}]}"#,
            ],
            "fhir-identifier",
        );
        // A code `MR` with no identifier or value near it; an identifier typed by another code.
        assert_clean(
            &[
                r#"{"coding": [{"system": "http://loinc.org", "code": "MR"}]}"#,
                r#"{"identifier": [{"type": {"coding": [{"code": "XX"}]}, "value": "00123456"}]}"#,
                r#"{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}"#,
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn a_medicare_beneficiary_identifier_is_refused_dashed_or_labelled() {
        found_and_not_echoed(
            &[
                "id 1EG4-TE5-MK73 x",
                "mbi: 1EG4TE5MK73",
                "Medicare number 1EG4 TE5 MK73",
                "medicareId=1eg4te5mk73",
            ],
            "medicare-mbi",
        );
        // Plain and unlabelled; letters an MBI never holds (`S`, `L`, `O`, `I`, `B`, `Z`).
        assert_clean(
            &["build 1EG4TE5MK73 done", "1SG4-TE5-MK73", "1EG4-TE5-MK73X"],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn a_labelled_drivers_licence_number_is_refused() {
        found_and_not_echoed(
            &[
                "driver's license: D1234567",
                r#"{"drivers_licence_no": "D123-4567-8901"}"#,
                "DLN S12345678",
                "dl: A7654321",
                "Driving licence number ROE99801024JA9AB",
            ],
            "drivers-licence",
        );
        assert_clean(
            &[
                "dl: pending",
                "curl dl 10 files",
                "the driver's license page",
                "<dl><dt>x</dt></dl>",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn an_hl7_pid_segment_with_another_declared_separator_is_refused() {
        found_and_not_echoed(
            &[
                "MSH#^~\\&#LAB#HOSP\rPID#1##00123456^^^HOSP^MR##Roe^Jane##19800102#F",
                "MSH!^~\\&!A\nPID!1!!00123456^^^HOSP^MR!!Roe^Jane!!19800102",
                "MSH:^~\\&:LAB\rPID:1::00123456::Roe^Jane::19800102",
                "PID$1$$00123456$$Roe^Jane$$19800102",
            ],
            "hl7-pid",
        );
        // Field references in documentation, a process list.
        assert_clean(
            &[
                "map PID-3 to the MRN, PID-5 to the name, PID-7 to the birth date, PID-8 - sex",
                "PID,PPID,CMD,%CPU,%MEM",
                "PID: 4242 exited",
                "PID:4242: 2026-12-03 10:15:30: ready: ok",
                "cat /proc/PID/1/fd/3/x",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn an_x12_837_subscriber_or_patient_segment_is_refused() {
        found_and_not_echoed(
            &[
                "ISA*00*~NM1*IL*1*ROE*JANE****MI*123456789~",
                "NM1|QC|1|ROE|JANE~",
                "DMG*D8*19800102*F~",
                "REF^SY^123456789~",
                "NM1:IL:2:ACME INSURANCE:::::34:123456789~",
            ],
            "x12-patient",
        );
        // An organisation (`2`) as billing provider; a payer.
        assert_clean(
            &[
                "NM1*85*2*ACME CLINIC*****XX*1234567893~",
                "NM1*PR*2*PAYER*****PI*12345~",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn a_labelled_free_mail_address_or_a_named_recipient_is_refused() {
        let cfg = GuardConfig::default();
        assert_found(
            &[
                "email: jane.roe@gmail.com",
                r#"{"e-mail": "jane.roe@yahoo.com"}"#,
                "mail=jroe@proton.me",
                "<email>Jane.Roe@GMAIL.COM</email>",
                // The consumer providers leaf identifiers refuse too (one list), a country's
                // domain, a host under a provider's.
                "email: jroe@comcast.net",
                "email: jroe@yahoo.fr",
                "email: jroe@outlook.co.uk",
                "email: jroe@mx.gmail.com",
            ],
            "personal-email",
            &cfg,
        );
        assert_found(
            &["To: Jane Roe <jane@x.org>", "Cc: \"Jane Roe\" <jane@x.org>"],
            "mail-recipient",
            &cfg,
        );
        // Ward's own identities, commit authors, SBOM suppliers, a labelled work address.
        assert_clean(
            &[
                "author: dana@users.noreply.github.com",
                "author: jane.roe@gmail.com",
                "Signed-off-by: Jane Roe <jane@example.org>",
                "email: alice@example.org",
                "PackageSupplier: Organization: Ahmed R. (tahri.ahmed@proton.me)",
                "email: jane@gmailcom.example.org",
                "email: ops@live.acme-health.com",
                "email: ops@live.va.gov",
                "email: ops@outlook.bbc.co.uk",
                "email: ops@matt.net",
                "To: ops@example.org",
            ],
            &cfg,
        );
    }

    #[test]
    fn a_phone_number_without_a_patient_label_is_refused() {
        assert_found(
            &[
                "cell 555-123-4567",
                "call (555) 123-4567 today",
                "+15551234567",
                "tel:+1-555-123-4567",
                "phone: 555.123.4567",
                r#"{"mobile_number": "5551234567"}"#,
                "phone: +44 20 7946 0958",
            ],
            "phone-number",
            &GuardConfig::default(),
        );
        assert_clean(
            &[
                "version 555-123-4567",
                "took 1234567890 ns",
                "listening on 0.0.0.0:8443",
                "2026-12-03T10:15:00+01:00",
                "sha 5551234567aa",
                "ports 8080-8090, 5432",
                "hotel:12345678901 intel:5551234567",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn a_csv_row_of_a_name_and_a_birth_date_is_refused() {
        found_and_not_echoed(
            &[
                "Jane,Roe,1980-01-02",
                "Jane\tRoe\t1980-01-02",
                "\"Jane\",\"Roe\",\"1980-01-02\"",
            ],
            "name-with-date",
        );
        assert_clean(
            &["Release,Notes,2019-03-02", "build,passed,2019-03-02"],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn a_patient_object_holding_a_name_and_a_date_is_refused() {
        found_and_not_echoed(
            &[
                r#"{"patient": {"n": "Jane Roe", "d": "1980-01-02"}}"#,
                "{\n  \"Patient\": {\n    \"x\": \"1980-01-02\",\n    \"y\": \"JANE ROE\"\n  }\n}",
            ],
            "patient-record",
        );
        assert_clean(
            &[
                r#"{"patient": {"id": "p-1", "created": "2026-01-02"}}"#,
                r#"{"patient": {"n": "Release Notes", "d": "2019-01-02"}}"#,
            ],
            &GuardConfig::default(),
        );
    }

    /// Attack round 7 (2026-12-05): vendor tokens without a detector, hex tokens under short
    /// labels or as a URL's user, format characters outside the dropped list, dingbat digits,
    /// small capitals and Cherokee or Canadian syllabics look-alikes, each accepted before.
    #[test]
    fn attack_round_7_secrets_invisible_characters_and_look_alikes_are_refused() {
        let hex = "7b7258e83695daa131e378851610996c";
        for (detector, text) in [
            (
                "slack-token",
                "xapp-1-A05EE07GL2H-6180045873496-eee7e9968d69182419d76c2a1cc3e825e1d6480e34c76cd22828cfba78c41ba6"
                    .to_string(),
            ),
            ("vendor-token", "dckr_pat_AsjOzemwOmOFtUcfzBxuGHFIwYW".into()),
            ("vendor-token", "sq0atp-CkbuttJxjjQpEX3Iy0ODdj".into()),
            (
                "vendor-token",
                "ATATT3xFfGF0oDjZnO_Abt9nAMo5dN0CCuWheDKxaeOAFGdjAvfb".into(),
            ),
            ("vendor-token", "nfp_0qb5zcIi1GYrQRQhTr5BuiOUD31Bfdf3Cigr".into()),
            ("vendor-token", "pat-na1-4b2a05e9-0cc6-ac7a-a593-5662395394e8".into()),
            ("vendor-token", "ops_zjGhbnaDioNoV7JpAJK9kHfYAYkxoazJ2Ok78xBj".into()),
            (
                "vendor-token",
                "ya29.a0AfH6SMBhiVi0K2OJVQ8TgKw76UxUCdL9k1WGF05V8UVe0j4Qif".into(),
            ),
            ("labelled-secret", format!("token={hex}")),
            ("labelled-secret", format!("secret: {hex}")),
            ("bearer-token", format!("Authorization: token {hex}")),
            (
                "password-in-url",
                format!("https://{hex}7b7258e8@github.com/acme/repo.git"),
            ),
            ("vault-token", "X-Vault-Token: s.7b7258e83695daa131e378".into()),
            ("us-ssn", "ssn:219\u{1D173}-45-1100".into()),
            ("us-ssn", "ssn:219\u{FFF9}-45-1100".into()),
            ("us-ssn", "ssn:219\u{13430}-45-1100".into()),
            (
                "us-ssn",
                "ssn: \u{2777}\u{2776}\u{277E}-\u{2779}\u{277A}-\u{2776}\u{2776}\u{24FF}\u{24FF}".into(),
            ),
            (
                "us-ssn",
                "ssn: \u{2781}\u{2780}\u{2788}-\u{2783}\u{2784}-\u{2780}\u{2780}\u{1F10B}\u{1F10B}".into(),
            ),
            ("aws-access-key", "AKIA\u{1BCA0}IOSFODNN7EXAMPLE".into()),
            (
                "name-with-date",
                "\u{1D0A}\u{1D0F}\u{29C}\u{274} \u{A731}\u{1D0D}\u{26A}\u{1D1B}\u{29C} 1961-04-12".into(),
            ),
            ("name-with-date", "\u{13AB}ohn Smith 1961-04-12".into()),
            ("name-with-date", "\u{148D}ohn Smith 1961-04-12".into()),
        ] {
            let found = detectors_of(&text);
            assert!(found.iter().any(|d| d == detector), "{text:?}: {found:?}");
        }
    }

    /// Attack round 7: credentials in the files and commands that hold them.
    #[test]
    fn credentials_in_netrc_pgpass_docker_login_htpasswd_and_cookies_are_refused() {
        for text in [
            "machine api.example.com login deploy password Hunter2Secret!",
            "db.internal:5432:app:appuser:Hunter2Secret!",
            "db.internal:5432:app:appuser:Hunter2\\:Secret",
            "docker login -u deploy -p Hunter2Secret! registry.example.com",
            "podman login --username deploy --password Hunter2Secret! reg.io",
            "deploy:$apr1$ruca84Hq$mbjdMZBAG.KWn7vfN/SNK/",
            "Cookie: session=7b7258e83695daa131e378851610996c",
            "Set-Cookie: JSESSIONID=7b7258e83695daa131e378; HttpOnly",
        ] {
            let found = detectors_of(text);
            assert!(found.iter().any(|d| d == "credential-file"), "{text:?}: {found:?}");
            let shown = redact(text, &scan(text, &GuardConfig::default()));
            assert!(!shown.contains("Hunter2") && !shown.contains("7b7258e8"), "{shown}");
        }
        assert_clean(
            &[
                "docker login -u deploy -p $DOCKER_PASSWORD reg.io",
                "docker login --password-stdin reg.io",
                "machine github.com login x password ***",
                "localhost:5432:*:postgres:*",
                "ERROR 2026-12-05 12:30:45 failed",
                "Cookie: theme=dark",
            ],
            &GuardConfig::default(),
        );
    }

    /// CI logs mask a URL's password (`***` on GitHub Actions, `[MASKED]` on GitLab); a
    /// service container's documented login is the user's own name on localhost (attack round
    /// 7's false positives). A real password beside them still is one.
    #[test]
    fn a_masked_password_in_a_url_is_no_credential() {
        assert_clean(
            &[
                "postgres://app:***@db:5432/app",
                "postgres://app:[MASKED]@db/app",
                "postgres://app:REDACTED@db/app",
                "postgres://app:xxxxx@db/app",
                "app:***@db:5432",
                "postgres://postgres:postgres@localhost:5432/test_db",
                "commit: 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                "auth: required",
            ],
            &GuardConfig::default(),
        );
        for text in [
            "postgres://app:Hunter2Secret@db:5432/app",
            "postgres://postgres:postgres@db.prod:5432/x",
            "postgres://user:user@localhost.attacker.example/x",
            "postgres://app:secret@db:5432/app",
        ] {
            assert!(detectors_of(text).iter().any(|d| d == "password-in-url"), "{text}");
        }
    }

    /// A URL path of words and advisory ids is no secret, however long: osv-scanner records
    /// where each advisory came from (`database_specific.source`) and Grype a distribution's
    /// advisory page; such reports were refused as `high-entropy` (the fourth session's false
    /// refusals). A key with `/` in it still is one: its parts mix cases.
    #[test]
    fn an_advisory_urls_path_is_no_secret_and_a_key_with_slashes_still_is() {
        let ids = [
            "GHSA-9c47-m6qq-7p4h",
            "GHSA-h5c8-rqwp-cp95",
            "GHSA-4374-p667-p6c8",
            "GHSA-xvch-5gv4-984h",
        ];
        let mut clean: Vec<String> = ids
            .iter()
            .map(|id| format!("\"source\": \"https://github.com/github/advisory-database/blob/main/advisories/github-reviewed/2023/07/{id}/{id}.json\""))
            .collect();
        clean.extend([
            "https://bodhi.fedoraproject.org/updates/FEDORA-2024-1a2b3c4d5e".to_string(),
            "https://bodhi.fedoraproject.org/updates/FEDORA-EPEL-2024-9f8e7d6c5b/advisories".to_string(),
            "https://osv-vulnerabilities.storage.googleapis.com/PyPI/PYSEC-2023-117/all.json".to_string(),
        ]);
        // A commit beside mixed-case names on a git host (a helper's review of the first
        // reading: still refused, up to every time).
        for sha in [
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
        ] {
            clean.extend([
                format!("https://github.com/Azure/azure-sdk-for-go/blob/{sha}/sdk/azidentity/CHANGELOG.md"),
                format!("https://github.com/FasterXML/jackson-databind/blob/{sha}/src/main/java/com/fasterxml/jackson/databind/jsontype/impl/SubTypeValidator.java"),
                format!("https://github.com/OpenAPITools/openapi-generator/pull/1234/commits/{sha}"),
                format!("https://github.com/NixOS/nixpkgs/blob/{sha}/pkgs/development/libraries/openssl/default.nix"),
            ]);
        }
        let clean: Vec<&str> = clean.iter().map(String::as_str).collect();
        assert_clean(&clean, &GuardConfig::default());
        for text in [
            "token = Zq3mR8vTkP2wX7nL/4bY9cH6jD1sF5gA0eU3/iO8tK2mWq7Rb",
            "key: 9fK2mQ7xLp4RtZ8v/Wc3NbY6hJd1SgE5aUe0OiXq7TrKm",
            "https://example.com/a/9fK2mQ7xLp4RtZ8vWc3NbY6hJd1SgE5aUe0OiXq7TrKm",
            // A key beside a commit id is still one.
            "https://github.com/o/r/blob/4b825dc642cb6eb9a060e54bf8d69288fbee4904/9fK2mQ7xLp4RtZ8vWc3NbY6hJd1SgE5aUe0OiXq7TrKm",
        ] {
            assert!(detectors_of(text).iter().any(|d| d == "high-entropy"), "{text}");
        }
    }

    /// A Google Docs, Sheets, Slides or Drive link names its file by a random-looking id; a
    /// ticket linking the runbook was refused as `high-entropy`. Only after those hosts, and
    /// only the id after `d/` or `folders/`: a key elsewhere in the path, or on another host
    /// in the same shape, is still one.
    #[test]
    fn a_google_docs_or_drive_links_id_is_no_secret_and_a_key_beside_it_still_is() {
        let id = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";
        let clean = [
            format!("https://docs.google.com/document/d/{id}/edit"),
            format!("https://docs.google.com/spreadsheets/d/{id}/edit#gid=0"),
            format!("https://docs.google.com/presentation/d/{id}/edit?usp=sharing"),
            "https://drive.google.com/drive/folders/1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVw".to_string(),
            "https://drive.google.com/file/d/1Xq9Zk3vB7mN2pL5rT8wY4cA6dF0gH1jK/view?usp=sharing".to_string(),
        ];
        let clean: Vec<&str> = clean.iter().map(String::as_str).collect();
        assert_clean(&clean, &GuardConfig::default());
        let key = "9fK2mQ7xLp4RtZ8vWc3NbY6hJd1SgE5aUe0OiXq7TrKm";
        for text in [
            format!("https://docs.google.com/document/d/{id}/{key}"),
            format!("https://docs.google.com.attacker.example/document/d/{key}/edit"),
            format!("https://example.com/document/d/{key}/edit"),
            format!("https://drive.google.com/open?id={key}"),
        ] {
            assert!(detectors_of(&text).iter().any(|d| d == "high-entropy"), "{text}");
        }
    }

    #[test]
    fn vendor_tokens_and_azure_signatures_are_secrets() {
        let cfg = GuardConfig::default();
        for (detector, text) in [
            ("gitlab-token", "glpat-AbCdEfGhIjKlMnOpQrSt"),
            ("gitlab-token", "token=glrt-t1_AbCdEfGhIjKlMnOpQrSt"),
            (
                "azure-sas",
                "https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-01-01T00:00:00Z&sig=abcdEFGH1234ijklMNOP5678qrst%2Bef%3D",
            ),
            (
                "azure-storage-key",
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd==;EndpointSuffix=core.windows.net",
            ),
            (
                "npm-token",
                "//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            ),
            (
                "pypi-token",
                "pypi-AgEIcHlwaS5vcmcCJGE0ZjY5ZmI1LTNhZTItNDYxNi04ZmMxLTU0ZjBhOGQ1ZTJhMgACKlsz",
            ),
            ("openai-key", "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGh"),
            ("anthropic-key", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"),
            ("vault-token", "VAULT_TOKEN=hvs.CAESIAbCdEfGhIjKlMnOpQrStUvWx"),
            (
                "sendgrid-key",
                "SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfG",
            ),
            ("twilio-key", "key SKa1b2c3d4e5f60718293a4b5c6d7e8f90"),
            ("private-key", "PuTTY-User-Key-File-3: ssh-ed25519"),
        ] {
            let found = scan(text, &cfg);
            assert!(found.iter().any(|f| f.detector == detector), "{text}: {found:?}");
        }
        // A SAS-looking `sig=` outside a SAS query; a blob URL without a signature.
        assert_clean(
            &[
                "https://example.org/x?sig=abcdEFGH1234ijklMNOP",
                "https://acct.blob.core.windows.net/c?sv=2022-11-02&restype=container",
                "skeleton: sk-learn",
            ],
            &cfg,
        );
    }

    /// Asserts `text` is refused by `detector` and its redaction removes the encoded value.
    fn refused_and_redacted(text: &str, detector: &str) {
        let cfg = GuardConfig::default();
        let f = scan(text, &cfg);
        assert!(f.iter().any(|f| f.detector == detector), "{text:?}: {f:?}");
        let r = redact(text, &f);
        let again = scan(&r, &cfg);
        assert!(
            !again.iter().any(|f| f.detector == detector),
            "{text:?} redacted {r:?}: {again:?}"
        );
    }

    /// Base85 of `b` in an alphabet of 85 (RFC 1924's or Z85's), a last partial group as Python
    /// writes it.
    fn base85_of(alphabet: &[u8], b: &[u8]) -> String {
        let mut out = String::new();
        for chunk in b.chunks(4) {
            let mut g = [0u8; 4];
            g[..chunk.len()].copy_from_slice(chunk);
            let mut v = u32::from_be_bytes(g);
            let mut digits = [0u8; 5];
            for d in digits.iter_mut().rev() {
                *d = alphabet[(v % 85) as usize];
                v /= 85;
            }
            out.extend(digits[..chunk.len() + 1].iter().map(|&d| char::from(d)));
        }
        out
    }

    const RFC1924: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
    const Z85: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

    #[test]
    fn an_ssn_in_ascii85_or_uuencode_inside_base64_is_found() {
        // `<~…~>` and bare Ascii85 of the SSN, and a uuencoded file, each base64-encoded.
        refused_and_redacted("note: PH5GKXU0QTBldE86MWM2akMyYE5lfj4=", "us-ssn");
        refused_and_redacted("note: REpzVy4rRU1VQSs+R1ctL01vPToyRSpUVQ==", "us-ssn");
        refused_and_redacted(
            "file: YmVnaW4gNjQ0IGYKMDxXLU4oIyRSLFJUVC0yVFYtU0BZIkAgIApgCmVuZAo=",
            "us-ssn",
        );
    }

    #[test]
    fn an_ssn_and_a_key_header_in_base85_are_found() {
        // Python's `base64.b85encode(b"ssn 123-45-6789")`.
        refused_and_redacted("v: b8~JWF)}kPG&L<YH#j)", "us-ssn");
        refused_and_redacted(
            &format!("<x>{}</x>", base85_of(RFC1924, b"ssn 123-45-6789 end")),
            "us-ssn",
        );
        refused_and_redacted(&base85_of(RFC1924, b"-----BEGIN PRIVATE KEY-----"), "private-key");
        // Z85 (ZeroMQ).
        refused_and_redacted(&format!("z: {}", base85_of(Z85, b"ssn 123-45-6789 end")), "us-ssn");
        refused_and_redacted(&base85_of(Z85, b"key AKIAIOSFODNN7EXAMPLE"), "aws-access-key");
    }

    #[test]
    fn an_ssn_in_base32hex_or_lower_case_base32_is_found() {
        refused_and_redacted("v EDPMS81H68PIQD1L5KR3EE1P", "us-ssn");
        refused_and_redacted("v edpms81h68piqd1l5kr3ee1p", "us-ssn");
        refused_and_redacted("v onzw4ibrgizs2nbvfu3doobz", "us-ssn");
    }

    #[test]
    fn an_ssn_in_lower_case_quoted_printable_is_found() {
        refused_and_redacted("ssn 123=2d45=2d6789", "us-ssn");
        refused_and_redacted("id =31=32=33=2d=34=35=2d=36=37=38=39", "us-ssn");
        // A name before `=`: an assignment (`a=2d`, `?id=3e`), left alone.
        let v = decode::decoded("https://x.test/q?a=2d&id=3e45").map(|v| v.text);
        assert_eq!(v, None);
    }

    #[test]
    fn an_ssn_in_utf7_is_found() {
        refused_and_redacted("ssn 123+AC0-45+AC0-6789", "us-ssn");
        refused_and_redacted("ssn +ADEAMgAzAC0ANAA1AC0ANgA3ADgAOQ-", "us-ssn");
        refused_and_redacted("+AC0ALQAtAC0ALQ-BEGIN PRIVATE KEY-----", "private-key");
        // A phone number, C++ and base64 holding `+` are no UTF-7.
        assert_eq!(decode::decoded("call +15551234567, C++ or a+b").map(|v| v.text), None);
    }

    #[test]
    fn a_utf7_sequence_holding_plus_is_found() {
        // `DMG*D8*19800102*F~` whole: `~` is `+AH4-`, here `…ARgB+-` (RFC 2152's set B holds `+`).
        refused_and_redacted("+AEQATQBHACoARAA4ACoAMQA5ADgAMAAwADEAMAAyACoARgB+-", "x12-patient");
        refused_and_redacted(
            r#"{"note": "+AEQATQBHACoARAA4ACoAMQA5ADgAMAAwADEAMAAyACoARgB+-"}"#,
            "x12-patient",
        );
        // `ssn 123-45-6789 ~~`: a `+` inside, no `-` after.
        refused_and_redacted("v +AHMAcwBuACAAMQAyADMALQA0ADUALQA2ADcAOAA5ACAAfgB+ end", "us-ssn");
        // Base64 padding after the run: base64, not UTF-7.
        assert_eq!(decode::decoded("x+AGEAYgBj+AGE=").map(|v| v.text), None);
        // Three-byte punctuation past the characters read becomes spaces: never longer.
        let dense = format!("+{}-", "ICAgICAgICAgIAD+".repeat(8));
        let v = decode::decoded(&dense).expect("UTF-7");
        assert!(v.text.len() <= dense.len(), "{} > {}", v.text.len(), dense.len());
        assert!(v.text.contains('\u{2020}') && v.text.contains(' '));
    }

    #[test]
    fn base85_with_no_punctuation_beyond_base64s_is_read_as_ascii_text_only() {
        // `b85encode(b"a 123-45-6789 ; ")` and `b85encode(b"id DMG*D8*19800102*F~ end")`: no
        // character outside letters, digits and `+-=_`.
        refused_and_redacted(r#"{"note": "VIVOwGc7bVEjBkeIUqYA"}"#, "us-ssn");
        refused_and_redacted("Fix X=EToO-Cw3I4UtYI503VFfuAeejsITWB before release", "x12-patient");
        refused_and_redacted("reports/X=EToO-Cw3I4UtYI503VFfuAeejsITWB.xml", "x12-patient");
        // Identifiers, digests and base64 of binary are no ASCII text.
        assert!(
            decode::base85(
                "SPDXRef-DOCUMENT-1 0123456789abcdef0123456789abcdef01234567 \
                 MEUCIQDgYb9dX3VkN2q1xD8v9G7k2eCqA5d0t3mQ-Z_4 getPatientRecordById"
            )
            .is_none()
        );
    }

    #[test]
    fn a_word_glued_before_base64_holding_plus_is_no_mixed_run() {
        // The joined view glues `SPDXRef-lib` (the field before) to the comment's base64 items.
        let items: String = "c3NuIDEyMy00NS02Nzg5IH4+"
            .as_bytes()
            .chunks(4)
            .map(|g| format!("<i>{}</i>", std::str::from_utf8(g).unwrap()))
            .collect();
        refused_and_redacted(
            &format!(r#"{{"packages":[{{"SPDXID":"SPDXRef-lib","name":"lib","comment":"{items}"}}]}}"#),
            "us-ssn",
        );
        refused_and_redacted(
            &format!("SPDXID: SPDXRef-lib\nPackageComment: <text>{items}</text>\n"),
            "us-ssn",
        );
        refused_and_redacted("SPDXRef-libc3NuIDEyMy00NS02Nzg5IH4+", "us-ssn");
    }

    #[test]
    fn an_ssn_in_percent_u_escapes_is_found() {
        refused_and_redacted("ssn 123%u002D45%u002d6789", "us-ssn");
        refused_and_redacted("%u0031%u0032%u0033-45-6789", "us-ssn");
    }

    #[test]
    fn a_base64_value_split_into_short_items_is_found() {
        refused_and_redacted(r#"{"parts": ["MTIz", "LTQ1", "LTY3", "ODk="]}"#, "us-ssn");
        refused_and_redacted("<p><i>MTIz</i><i>LTQ1</i><i>LTY3</i><i>ODk=</i></p>", "us-ssn");
        let per_line: String = "MTIzLTQ1LTY3ODk=".chars().map(|c| format!("{c}\n")).collect();
        refused_and_redacted(&per_line, "us-ssn");
        let key: String = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"
            .as_bytes()
            .chunks(4)
            .map(|c| format!("  \"{}\",\n", std::str::from_utf8(c).unwrap()))
            .collect();
        refused_and_redacted(&format!("[\n{key}]"), "private-key");
    }

    #[test]
    fn an_ssn_spelled_as_character_codes_is_found() {
        refused_and_redacted("String.fromCharCode(49,50,51,45,52,53,45,54,55,56,57)", "us-ssn");
        refused_and_redacted("SELECT CHAR(49,50,51,45,52,53,45,54,55,56,57)", "us-ssn");
        refused_and_redacted(
            "CHAR(49)+CHAR(50)+CHAR(51)+CHAR(45)+CHAR(52)+CHAR(53)+CHAR(45)+CHAR(54)+CHAR(55)+CHAR(56)+CHAR(57)",
            "us-ssn",
        );
        refused_and_redacted(
            "chr(49)||chr(50)||chr(51)||chr(45)||chr(52)||chr(53)||chr(45)||chr(54)||chr(55)||chr(56)||chr(57)",
            "us-ssn",
        );
        refused_and_redacted("v = [49, 50, 51, 45, 52, 53, 45, 54, 55, 56, 57]", "us-ssn");
        let bits: Vec<String> = "123-45-6789".bytes().map(|b| format!("{b:08b}")).collect();
        refused_and_redacted(&bits.join(" "), "us-ssn");
        // CSS escapes.
        refused_and_redacted(r"content: '\31 \32 \33 \2d \34 \35 \2d \36 \37 \38 \39 '", "us-ssn");
        refused_and_redacted(r"content: '\31\32\33\2d\34\35\2d\36\37\38\39'", "us-ssn");
        // Real numbers stay numbers.
        assert_clean(
            &[
                "latencies_ms: [120, 98, 101, 87, 93, 110, 95, 99, 102, 88, 91]",
                "scores 45 50 52 48 51 55 49 53 50",
            ],
            &GuardConfig::default(),
        );
    }

    #[test]
    fn an_ssn_in_python_string_concatenation_is_found() {
        refused_and_redacted("x = '123'+'-45'+'-6789'", "us-ssn");
        refused_and_redacted("x = '123' '-45' '-6789'", "us-ssn");
        refused_and_redacted("x = \"AKIAIOSF\" + \"ODNN7EXAMPLE\"", "aws-access-key");
    }

    #[test]
    fn an_ssn_with_symbols_between_its_groups_or_one_digit_a_line_is_found() {
        refused_and_redacted("ssn 123\u{d7}45\u{d7}6789", "us-ssn");
        refused_and_redacted("ssn 123\u{b7}45\u{2022}6789", "us-ssn");
        refused_and_redacted("ssn 1\u{2800}2\u{2800}3-4\u{2800}5-6789", "us-ssn");
        refused_and_redacted("1\n2\n3\n-\n4\n5\n-\n6\n7\n8\n9\n", "us-ssn");
        refused_and_redacted("ssn:\n 1\n 2\n 3\n -\n 4\n 5\n -\n 6\n 7\n 8\n 9\n", "us-ssn");
        refused_and_redacted(
            "[\n \"1\",\n \"2\",\n \"3\",\n \"-\",\n \"4\",\n \"5\",\n \"-\",\n \"6\",\n \"7\",\n \"8\",\n \"9\"\n]",
            "us-ssn",
        );
        assert_clean(&["screen 1920\u{d7}1080, 3\u{d7}3 grid"], &GuardConfig::default());
    }

    /// Change payloads that the guard once refused as holding credentials or a driver's licence:
    /// a JSON document of hex digests read as bare Ascii85 gave a stretch spelling
    /// `user:pass@host` (12 in 1,000,000 documents of one digest), and `dln` inside a base64
    /// salt read as a licence label. Found by scanning a million generated payloads.
    #[test]
    fn random_digests_in_json_are_not_read_as_ascii85_credentials() {
        use sha2::{Digest, Sha256};
        let cfg = GuardConfig::default();
        let payload = |i: u64, salt: &str| {
            let d = hex::encode(Sha256::digest(i.to_le_bytes()));
            format!(
                "{{\"artifacts\":[\"sha256:{d}\"],\"title\":\"t\",\"salt\":\"{salt}\",\"id\":\"CHG-{}\"}}",
                &d[..8]
            )
        };
        let salt = |i: u64| {
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                Sha256::digest((i + 7).to_le_bytes()),
            )[..20]
                .to_string()
        };
        let mut texts: Vec<String> = [22087, 51773, 62426, 167003, 198034, 307729, 317319, 771057, 777881]
            .into_iter()
            .map(|i| payload(i, &"x".repeat(20)))
            .collect();
        texts.extend(
            [30987u64, 73981, 97021, 99354]
                .into_iter()
                .map(|i| payload(i, &salt(i))),
        );
        texts.extend((0..2000u64).map(|i| payload(i, &salt(i))));
        for text in &texts {
            let found: Vec<_> = scan(text, &cfg)
                .into_iter()
                .filter(|f| f.detector != "high-entropy")
                .collect();
            assert!(found.is_empty(), "{text}: {found:?}");
        }
    }

    /// The sixth round's blow-up (2026-12-04): a SARIF `text` of 16 KiB shared by two hundred
    /// short `arguments` arrays was rebuilt once per array (5 MiB: 4.5 s and 1.07 GB). The view
    /// is now no longer than its input, and the arrays that share a short text each get their
    /// line (a decoy array before the real one once hid it).
    #[test]
    fn sarif_arguments_sharing_one_long_text_do_not_blow_up_the_view() {
        let args = "\"arguments\":[\"abc\"],".repeat(100);
        let unit = format!("{args}\"text\":\"{}\",{args}\n", "{0}".repeat(5400));
        let text = unit.repeat(16);
        let view = decode::message_arguments(&text).expect("the arrays are read");
        assert!(view.text.len() <= text.len(), "{} > {}", view.text.len(), text.len());
        assert!(scan(&text, &GuardConfig::default()).is_empty());
        let (_, five_mib) = adversarial_inputs(5 * 1024 * 1024)
            .into_iter()
            .find(|(name, _)| *name == "sarif-shared-text")
            .expect("in the adversarial inputs");
        let view = decode::message_arguments(&five_mib).expect("the arrays are read");
        assert!(view.text.len() <= five_mib.len());

        // A decoy `arguments` before the real one, both taking the same text.
        refused_and_redacted(
            r#"{"message": {"text": "note {0}-{1}-{2}", "arguments": ["a", "b", "c"]}, "m": {"arguments": ["123", "45", "6789"]}}"#,
            "us-ssn",
        );
        // Past the budget, the values are judged as they stand.
        let long = format!(
            r#"{{"text": "{}{{0}}", "arguments": ["x"], "arguments": ["ssn 123-45-6789"]}}"#,
            "{0}".repeat(2000)
        );
        refused_and_redacted(&long, "us-ssn");
    }

    /// Asserts each text is refused by `detector`, and no finding holds the text's `value`.
    fn refused_without_echo(cases: &[(&str, &str)], detector: &str) {
        let cfg = GuardConfig::default();
        for (text, value) in cases {
            let found = scan(text, &cfg);
            assert!(found.iter().any(|f| f.detector == detector), "{text:?}: {found:?}");
            let shown = format!("{found:?}{}", serde_json::to_string(&found).unwrap());
            assert!(!shown.contains(value), "{text:?}: {shown}");
        }
    }

    /// The sixth round (2026-12-04): vendor secrets the guard let through, each found and never
    /// echoed.
    #[test]
    fn vendor_secrets_of_the_sixth_round_are_refused() {
        let hex32 = "0123456789abcdef0123456789abcdef";
        let do_token = format!("dop_v1_{hex32}{hex32}");
        let shopify = format!("shpat_{hex32}");
        let mailgun = format!("MAILGUN_API_KEY=key-{hex32}");
        let dd = format!("DD_API_KEY={hex32}");
        let gh = format!("GITHUB_TOKEN={}", "0a1b2c3d4e".repeat(4));
        let sentry = format!("dsn: https://{hex32}@o123456.ingest.sentry.io/4504");
        for (detector, text, value) in [
            (
                "stripe-key",
                "STRIPE_WEBHOOK=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
            (
                "stripe-key",
                "key: rk_live_51H8AbCdEfGhIjKlMnOpQr",
                "51H8AbCdEfGhIjKlMnOpQr",
            ),
            (
                "huggingface-token",
                "token hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
                "AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
            ),
            (
                "google-oauth-secret",
                "\"client_secret\":\"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\"",
                "1a2B3c4D5e6F7g8H9i0J1k2L3m4N",
            ),
            (
                "newrelic-key",
                "NEW_RELIC=NRAK-ABCDEFGHIJ0123456789KLMNOPQ",
                "ABCDEFGHIJ0123456789KLMNOPQ",
            ),
            (
                "telegram-bot-token",
                "bot 123456789:AAbCdEfGhIjKlMnOpQrStUvWxYz01234567 ok",
                "AAbCdEfGhIjKlMnOpQrStUvWxYz01234567",
            ),
            ("shopify-token", shopify.as_str(), hex32),
            ("digitalocean-token", do_token.as_str(), hex32),
            ("mailgun-key", mailgun.as_str(), hex32),
            ("mailgun-key", &format!("mailgun:\n  key: key-{hex32}\n"), hex32),
            (
                "private-key",
                "AGE-SECRET-KEY-10GH7YQ7SWV77EFWFCQY2ZNP37CMEUGHXZGLDSMN6CK6W4P325XD3J8Y779",
                "0GH7YQ7SWV77EFWFCQY2ZNP37",
            ),
            (
                "otp-secret",
                "otpauth://totp/Example:alice@example.org?secret=JBSWY3DPEHPK3PXP&issuer=Example",
                "JBSWY3DPEHPK3PXP",
            ),
            ("sentry-dsn", sentry.as_str(), hex32),
            (
                "aws-secret-key",
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            (
                "aws-secret-key",
                "AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "wJalrXUtnFEMI",
            ),
            (
                "aws-secret-key",
                r#"{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#,
                "wJalrXUtnFEMI",
            ),
            (
                "bearer-token",
                "curl -H 'Authorization: Bearer 3f9a7c2e1b8d4f6a0c5e9b7d2a4f8c1e' https://api",
                "3f9a7c2e1b8d4f6a0c5e9b7d2a4f8c1e",
            ),
            ("labelled-secret", dd.as_str(), hex32),
            ("labelled-secret", gh.as_str(), "0a1b2c3d4e"),
            (
                "labelled-secret",
                "JWT_SECRET: \"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo\"",
                "Zm9vYmFyYmF6cXV4MTIz",
            ),
        ] {
            refused_without_echo(&[(text, value)], detector);
        }
        // What looks like them and is none: a git SHA labelled as a commit, placeholders and
        // references, a Stripe test key's publishable half, a DSN-less URL. (Under a plain
        // `token` label 40 hex is a secret since attack round 7: a GitHub OAuth token is one.)
        assert_clean(
            &[
                r#"{"commit": "0a1b2c3d4e0a1b2c3d4e0a1b2c3d4e0a1b2c3d4e", "sha": "0a1b2c3d4e0a1b2c3d4e0a1b2c3d4e0a1b2c3d4e"}"#,
                "DD_API_KEY=${DD_API_KEY}",
                "API_KEY=your-api-key-goes-here-xxxxxxxxxxxxxxxx",
                "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
                "Authorization: Bearer $TOKEN",
                "Authorization: Bearer <your-access-token-here>",
                "aws_secret_access_key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                "hf_hub_download(repo_id, filename)",
                "see https://docs.sentry.io/product/",
            ],
            &GuardConfig::default(),
        );
    }

    /// The sixth round (2026-12-04): a private key's body stored without its `BEGIN` line.
    #[test]
    fn private_keys_without_a_begin_line_are_refused() {
        for (text, value) in [
            (
                "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
                "MIIEvQIBADANBgkq",
            ),
            (
                "key: MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
                "MIIEowIBAAKCAQEA",
            ),
            ("MIIJQgIBADANBgkqhkiG9w0BAQEFAASCCSwwggkoAgEAAoICAQDN", "MIIJQgIBADAN"),
            (
                "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oMo0WjVr6bjNoAoGCCqGSM49",
                "MHcCAQEEIBkg",
            ),
            (
                "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF",
                "MC4CAQAwBQYD",
            ),
            (
                "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
                "b3BlbnNzaC1rZXktdjE",
            ),
            (
                "Private-Key: (2048 bit, 2 primes)\npublicExponent: 65537 (0x10001)\nprivateExponent:\n    4c:9a:3e:11:22:33:44:55:66:77:88:99:aa:bb:cc:\n    dd:ee:ff\n",
                "4c:9a:3e:11",
            ),
            (
                "read EC key\npriv:\n    00:a1:b2:c3:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e:\n    8f:90\n",
                "a1:b2:c3",
            ),
        ] {
            refused_without_echo(&[(text, value)], "private-key");
        }
        // Public keys and certificates are no private key.
        for text in [
            "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0t",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci@host",
            "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJRTESMBAGA1UE",
            "modulus:\n    00:c3:a1:b2:c3:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e\npublicExponent: 65537 (0x10001)\n",
        ] {
            let found = scan(text, &GuardConfig::default());
            assert!(!found.iter().any(|f| f.detector == "private-key"), "{text}: {found:?}");
        }
    }

    /// The sixth round's false positives (2026-12-04): base64 digests where lock files and SBOMs
    /// write them, a version with dots, a download label.
    #[test]
    fn base64_digests_versions_and_download_labels_are_not_secrets_or_phi() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let sha256 = b64(&sha2::Sha256::digest(b"ward"));
        let sha384 = b64(&sha2::Sha384::digest(b"ward"));
        let sha512 = b64(&sha2::Sha512::digest(b"ward"));
        let cases = [
            "github.com/google/uuid v1.6.0 h1:CcVxjf3Q8PM0mHUKJCdn+eZZtm5yQwehR5yeSVQQcUk=\ngithub.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n".to_string(),
            format!("{{\n  \"integrity\": \"sha512-{sha512}\",\n  \"resolved\": \"https://registry.npmjs.org/x/-/x-1.0.0.tgz\"\n}}"),
            format!("<script src=\"x.js\" integrity=\"sha384-{sha384}\" crossorigin=\"anonymous\"></script>"),
            format!("  src = fetchurl {{ url = \"https://x/y.tar.gz\"; hash = \"sha256-{sha256}\"; }};"),
            format!("\"hashes\": [{{\"alg\": \"SHA-256\", \"content\": \"{sha256}\"}}, {{\"alg\": \"SHA-512\", \"content\": \"{sha512}\"}}]"),
            format!("<hashes><hash alg=\"SHA-384\">{sha384}</hash></hashes>"),
            "Version 219.45.1100 released".to_string(),
            "see v219.45.1100 and release: 219.45.1100".to_string(),
            "dl: v1-download".to_string(),
        ];
        let cases: Vec<&str> = cases.iter().map(String::as_str).collect();
        assert_clean(&cases, &GuardConfig::default());
        // The same lengths elsewhere, or other lengths there, are judged as before: an Azure key
        // (64 bytes) is no digest, nor a run one byte short after `sha256-`.
        for text in [
            format!("AccountKey={sha512}"),
            format!("value {sha512}"),
            format!("sha256-{}", &sha512[..40]),
        ] {
            assert!(!scan(&text, &GuardConfig::default()).is_empty(), "{text}");
        }
        // A dotted SSN with no version word before it is still one; a dashed one always.
        found_and_not_echoed(&["note 219.45.1100 here", "Version 219-45-1100"], "us-ssn");
        found_and_not_echoed(&["dl: D1234567"], "drivers-licence");
        // The label glued into a longer word, or after the number (a helper's find on the
        // fourteenth session's head).
        found_and_not_echoed(
            &[
                "ssn_on_file=219451100",
                "ssnOnFile: 219451100",
                "patientSsnValue=219451100",
                "patient.ssn.digits: 219451100",
                "ssn_number_on_file: 219451100",
                "219451100 # ssn",
                "219451100 (patient SSN)",
                "219451100 (patient's SSN)",
                "ref_219451100_ssn",
                "219451100 is her ssn",
                "219451100 (ss no)",
                "219451100 - taxpayer id",
                "219~45~1100 ssn",
                "219451100   --   patient   ssn",
                "SSNs: 219451100",
                "patient_ssns=[219451100]",
            ],
            "us-ssn",
        );
        for clean in [
            "social_media_reach: 219451100",
            "tinyint_max: 219451100",
            "itinerary_id: 219451100",
            "ssn_total: 4",
            "219451100 bytes; ssn redacted",
            "ssn_count: 000451100",
            // A metric, a test, an artifact or a service named for SSNs, and a build or a
            // commit before one (a helper's review of the fourteenth session's head).
            "ssn_lookups_total 123456789",
            "ssn_validation_duration_ns 219451100",
            "social_security_tab_render_ms 412345678",
            "taxpayer_id_lookup_bytes: 512345678",
            "artifact ssn-mask-412345678.tar.gz",
            "test_ssn_redaction_412345678 PASSED",
            "test_ssn_redaction[412345678] PASSED",
            "Fixed in 219451100 (SSN masking)",
            "build 219451100 - ssn-service deployed",
            "commit 219451100 ssn-redaction",
            "PR #219451100: ssn_mask regression",
            "GitLab job 412345678 ssn-validator passed",
            "pipeline 412345678 / ssn_mask_test OK",
            // A job named for SSNs (a second review).
            "job 412345678: ssn",
            "run 412345678 (ssn)",
            "pipeline #412345678 - SSN",
            "Fixed in 219451100; ssn.",
        ] {
            assert!(!detectors_of(clean).contains(&"us-ssn".to_string()), "{clean}");
        }
    }

    #[test]
    fn fictional_phone_numbers_and_test_suite_file_names_are_no_phi() {
        // FP3: the range set aside for fiction (555-0100 to 555-0199), in a pytest parameter.
        for clean in [
            "test_call[phone 555-0123]",
            "phone: (212) 555-0142",
            "tel:+1-212-555-0199",
            "contact number +1 212 555 0100",
        ] {
            assert!(!detectors_of(clean).contains(&"phone-number".to_string()), "{clean}");
        }
        // Just outside the range, other exchanges, and another country's number whose digits
        // happen to match (round 3, F-8) are phone numbers.
        for phone in [
            "phone: (212) 555-0200",
            "tel:+1-212-555-1234",
            "phone 212-867-5309",
            "phone: +91 98755 50123",
            "phone: +61 455 501 234",
        ] {
            assert!(detectors_of(phone).contains(&"phone-number".to_string()), "{phone}");
        }
        // FP4: test-suite and browser file names with a run's date name nobody.
        for clean in [
            "reports/Integration_Suite_2019-06-30.xml",
            "Google_Chrome_20190101.xml",
            "LoginFlow_20180102.xml",
            "Smoke_Regression_2024-01-02.json",
        ] {
            assert!(detectors_of(clean).is_empty(), "{clean}: {:?}", detectors_of(clean));
        }
        // An SSN labelled and split into the items of a list (config bundles, event payloads).
        for phi in [
            r#"{"patient_ssn": ["219", "45", "1100"]}"#,
            r#"{"ssn": [219, 45, 1100]}"#,
            "ssn = [\n  \"219\",\n  \"45\",\n  \"1100\"\n]",
            r#"{"SocialSecurityNumber": ["2","1","9","4","5","1","1","0","0"]}"#,
            // Or the members of an object (round 4).
            r#"{"ssn": {"a": "219", "b": "45", "c": "1100"}}"#,
            r#"{"patient_ssn": {"area": 219, "group": 45, "serial": 1100}}"#,
            // Or sibling fields each named for its part (round 4), in JSON, TOML and the
            // `key: value` lines an event is judged as.
            r#"{"ssn_area": "219", "ssn_group": "45", "ssn_serial": "1100"}"#,
            "ssn_area = \"219\"\nssn_group = \"45\"\nssn_serial = \"1100\"\n",
            "ssn_area: 219\nssn_group: 45\nssn_serial: 1100\n",
            r#"{"ssnPart1": "219", "ssnPart2": "45", "ssnPart3": "1100"}"#,
            // Sorted keys put the parts out of order (the review of the ninth round).
            r#"{"ssn_first":"219","ssn_last":"1100","ssn_middle":"45"}"#,
            "ssn1: 219\nssn2: 45\nssn3: 1100\n",
        ] {
            assert!(detectors_of(phi).contains(&"us-ssn".to_string()), "{phi}");
        }
        for clean in [r#"{"ssn_parts": [3, 2, 4]}"#, r#"{"version": ["219", "45", "1100"]}"#] {
            assert!(detectors_of(clean).is_empty(), "{clean}: {:?}", detectors_of(clean));
        }
        // Words of software after a name, a word in brackets between it and the date, and a
        // given name that is also a month do not hide it (round 3, F-7).
        for phi in [
            "Jane Roe Login Flow 1980-01-05",
            "Jane Roe Integration Suite Smoke 1980-01-05",
            "Jane Roe (Login) 1980-01-06",
            "June Roe 1980-01-04",
            "April Chen 1980-01-02",
            "Dev Patel 1980-01-02",
            // Two such given names in a row (round 3, ninth round).
            "June May 1980-01-04",
        ] {
            assert!(detectors_of(phi).contains(&"name-with-date".to_string()), "{phi}");
        }
        // A person's name in a file name still is one.
        for phi in ["reports/Roe_Jane_DOB_19800102.pdf", "Jane_Roe_1980-01-02.xml"] {
            assert!(!detectors_of(phi).is_empty(), "{phi}");
        }
        // A month before a date, and a month beside words of software, name nobody.
        for clean in [
            "Release June 2019-06-30",
            "June Release 2019-06-30",
            "Sprint Review (June) 2019-06-30",
        ] {
            assert!(detectors_of(clean).is_empty(), "{clean}: {:?}", detectors_of(clean));
        }
    }
}
