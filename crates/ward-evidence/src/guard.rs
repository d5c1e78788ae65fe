//! The PHI and secret guard: every text document is scanned before anything is stored.
//!
//! Detectors (rule ideas from gitleaks and detect-secrets):
//! - PHI: `us-ssn` (area/group/serial rules applied), `mrn` (configurable patterns; default
//!   `MRN` followed by 6–10 digits), `dob-with-name` (a birth-date field with a date on a line
//!   that also names a person), `patient-contact` (patient/member phone or e-mail fields).
//! - Secrets: `private-key` (PEM/OpenSSH/PGP headers), `aws-access-key`, `github-token`,
//!   `slack-token`, `google-api-key`, `ward-token`, `jwt`, `password-in-url`
//!   (`scheme://user:password@`), `high-entropy` (base64-like runs of ≥ 40 characters with
//!   Shannon entropy ≥ 4.8 bits per character; hex runs are left alone, they are digests).
//!
//! A [`Finding`] names the detector, line and column — never the value, nor a plain hash of it
//! (a short value is recovered from its hash by enumeration; [`crate::redact`] makes keyed
//! fingerprints). [`redact`] replaces each span by `[REDACTED:<detector>]`.

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

struct Detector {
    name: &'static str,
    re: Regex,
    check: fn(&str, &str) -> bool,
}

fn always(_: &str, _: &str) -> bool {
    true
}

fn valid_ssn(m: &str, _: &str) -> bool {
    let parts: Vec<&str> = m.split('-').collect();
    let [area, group, serial] = parts.as_slice() else {
        return false;
    };
    *area != "000" && *area != "666" && !area.starts_with('9') && *group != "00" && *serial != "0000"
}

fn names_a_person(_: &str, line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    ["name", "patient", "first", "last", "surname"]
        .iter()
        .any(|k| l.contains(k))
}

fn high_entropy(m: &str, _: &str) -> bool {
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

fn detectors() -> &'static [Detector] {
    static D: OnceLock<Vec<Detector>> = OnceLock::new();
    D.get_or_init(|| {
        let d = |name, re: &str, check| Detector {
            name,
            re: Regex::new(re).expect("built-in pattern"),
            check,
        };
        vec![
            d("us-ssn", r"\b\d{3}-\d{2}-\d{4}\b", valid_ssn),
            d(
                "dob-with-name",
                r"(?i)\b(dob|date[ _-]?of[ _-]?birth|birth[ _-]?date)\b\W{0,6}(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})",
                names_a_person,
            ),
            d(
                "patient-contact",
                r#"(?i)\b(patient|member)[ _-]?(phone|tel|telephone|mobile|email|e-mail)\b"?\s*[:=]\s*"?[^\s",<]{5,}"#,
                always,
            ),
            d(
                "private-key",
                r"-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----",
                always,
            ),
            d("aws-access-key", r"\b(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b", always),
            d("github-token", r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})\b", always),
            d("slack-token", r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b", always),
            d("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b", always),
            d("ward-token", r"\bward_[0-9a-f]{12}_[0-9a-f]{64}\b", always),
            d("jwt", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", always),
            d(
                "password-in-url",
                r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@]{1,64}:[^\s:/@]{1,128}@[^\s/]",
                always,
            ),
            d("high-entropy", r"[A-Za-z0-9+/_-]{40,}={0,2}", high_entropy),
        ]
    })
}

fn default_mrn() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"(?i)\bMRN\b\W{0,3}\d{6,10}\b").expect("built-in pattern"))
}

/// Scans a text document; returns every finding, in order.
pub fn scan(text: &str, cfg: &GuardConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut line_start = 0usize;
    for (i, line) in text.split('\n').enumerate() {
        let mut push = |name: &str, start: usize, end: usize| {
            let span = &line[start..end];
            if cfg.allow.detectors.iter().any(|d| d == name) || cfg.allow.patterns.iter().any(|p| p.is_match(span)) {
                return;
            }
            out.push(Finding {
                detector: name.to_string(),
                line: i + 1,
                column: start + 1,
                range: (line_start + start, line_start + end),
            });
        };
        for d in detectors() {
            for m in d.re.find_iter(line) {
                if (d.check)(m.as_str(), line) {
                    push(d.name, m.start(), m.end());
                }
            }
        }
        if cfg.mrn_patterns.is_empty() {
            for m in default_mrn().find_iter(line) {
                push("mrn", m.start(), m.end());
            }
        }
        for (name, re) in &cfg.mrn_patterns {
            for m in re.find_iter(line) {
                push(name, m.start(), m.end());
            }
        }
        line_start += line.len() + 1;
    }
    out.sort_by_key(|f| (f.range.0, std::cmp::Reverse(f.range.1)));
    out
}

/// Replaces every finding's span by `[REDACTED:<detector>]` (overlaps merged into the first).
pub fn redact(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    for f in findings {
        let (start, end) = f.range;
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(&format!("[REDACTED:{}]", f.detector));
        at = end;
    }
    out.push_str(&text[at..]);
    out
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
        };
        let f = scan("id ACME-1234567 key AKIAIOSFODNN7EXAMPLE MRN 12345678", &cfg);
        let names: Vec<&str> = f.iter().map(|x| x.detector.as_str()).collect();
        assert_eq!(
            names,
            vec!["mrn-acme"],
            "custom MRN replaces the default, allowlisted key passes"
        );
    }
}
