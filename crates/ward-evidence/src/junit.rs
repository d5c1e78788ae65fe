//! JUnit XML, as pytest (`--junitxml`), cargo-nextest, Maven Surefire and jest-junit write it.
//!
//! Outcomes are counted from the `<testcase>` elements themselves (a `<failure>` child is a
//! failure, `<error>` an error, `<skipped>` a skip; nextest's `<flakyFailure>`/`<rerunFailure>`
//! on a test that finally passed are not failures), then checked against every count the file
//! states about itself (`tests`, `failures`, `errors`, `skipped` on each `<testsuite>` and on the
//! root `<testsuites>`): a file whose numbers disagree is refused. A document type declaration
//! is refused outright, so no entity is ever expanded.

use crate::{EvidenceError, check_size};
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

const FORMAT: &str = "JUnit XML";
/// Most failing test names kept in a summary.
pub const MAX_NAMES: usize = 1000;
const MAX_DEPTH: usize = 64;
const MAX_NAME_LEN: usize = 512;

/// What a JUnit report says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JunitSummary {
    /// Test cases.
    pub tests: u64,
    /// Passed.
    pub passed: u64,
    /// Failed (assertions).
    pub failed: u64,
    /// Errored (the test could not run to an assertion).
    pub errored: u64,
    /// Skipped.
    pub skipped: u64,
    /// Sum of the test cases' `time`, seconds.
    pub duration_secs: f64,
    /// `classname::name` of failed and errored tests (at most [`MAX_NAMES`]).
    pub failing: Vec<String>,
    /// Test suites seen.
    pub suites: u64,
    /// The names of the `<testsuite>` elements (nested ones too), sorted, without duplicates
    /// (at most [`MAX_NAMES`], each cut to 512 bytes): with the artifact and the report type, the
    /// gate's identity of a suite (a later report of the same suites supersedes an earlier one).
    #[serde(default)]
    pub suite_names: Vec<String>,
}

/// Counts in the order tests, failures, errors, skipped.
type Counts = [u64; 4];
const COUNT_ATTRS: [&[u8]; 4] = [b"tests", b"failures", b"errors", b"skipped"];

struct Suite {
    name: String,
    claimed: [Option<u64>; 4],
    counted: Counts,
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Outcome {
    Passed,
    Skipped,
    Failed,
    Errored,
}

struct Case {
    outcome: Outcome,
    time: f64,
}

/// An attribute's text: borrowed when it holds no entity reference, unescaped otherwise.
fn attr_text<'a>(
    a: &'a quick_xml::events::attributes::Attribute<'a>,
) -> Result<std::borrow::Cow<'a, str>, EvidenceError> {
    if a.value.contains(&b'&') {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| malformed(format!("bad attribute value: {err}")))
    } else {
        std::str::from_utf8(&a.value)
            .map(std::borrow::Cow::Borrowed)
            .map_err(|_| malformed("attribute value is not UTF-8"))
    }
}

/// `classname::name`, cut to [`MAX_NAME_LEN`] bytes.
fn display_name(class: &str, name: &str) -> String {
    let mut full = if class.is_empty() {
        name.to_string()
    } else {
        format!("{class}::{name}")
    };
    if full.len() > MAX_NAME_LEN {
        let mut cut = MAX_NAME_LEN;
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        full.truncate(cut);
    }
    full
}

/// The elements the parser cares about (others are `Other`).
#[derive(Clone, Copy, PartialEq)]
enum Elem {
    Suites,
    Suite,
    Case,
    Failure,
    Error,
    Skipped,
    Other,
}

impl Elem {
    fn of(name: &[u8]) -> Elem {
        match name {
            b"testsuites" => Elem::Suites,
            b"testsuite" => Elem::Suite,
            b"testcase" => Elem::Case,
            b"failure" => Elem::Failure,
            b"error" => Elem::Error,
            b"skipped" => Elem::Skipped,
            _ => Elem::Other,
        }
    }
}

#[derive(Default)]
struct Parser {
    stack: Vec<Elem>,
    suites: Vec<Suite>,
    case: Option<Case>,
    /// The open test case's name and class, in buffers reused from case to case.
    case_name: String,
    case_class: String,
    root_claims: Option<[Option<u64>; 4]>,
    out: JunitSummary,
}

fn malformed(reason: impl Into<String>) -> EvidenceError {
    EvidenceError::Malformed {
        format: FORMAT,
        reason: reason.into(),
    }
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>, EvidenceError> {
    for a in e.attributes() {
        let a = a.map_err(|err| malformed(format!("bad attribute: {err}")))?;
        if a.key.as_ref() == name {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| malformed(format!("bad attribute value: {err}")))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn claims(e: &BytesStart<'_>) -> Result<[Option<u64>; 4], EvidenceError> {
    let mut out = [None; 4];
    for (slot, name) in out.iter_mut().zip(COUNT_ATTRS) {
        if let Some(v) = attr(e, name)? {
            *slot = Some(v.trim().parse::<u64>().map_err(|_| {
                malformed(format!(
                    "attribute {} is not a count: {v:?}",
                    String::from_utf8_lossy(name)
                ))
            })?);
        }
    }
    Ok(out)
}

fn check_claims(what: &str, claimed: &[Option<u64>; 4], counted: &Counts) -> Result<(), EvidenceError> {
    for ((c, n), name) in claimed
        .iter()
        .zip(counted)
        .zip(["tests", "failures", "errors", "skipped"])
    {
        if let Some(c) = c
            && c != n
        {
            return Err(EvidenceError::Inconsistent {
                format: FORMAT,
                reason: format!("{what} says {name}=\"{c}\" but holds {n}"),
            });
        }
    }
    Ok(())
}

impl Parser {
    fn open(&mut self, e: &BytesStart<'_>) -> Result<(), EvidenceError> {
        let elem = Elem::of(e.local_name().as_ref());
        if self.stack.is_empty() && !matches!(elem, Elem::Suites | Elem::Suite) {
            return Err(malformed(format!(
                "the root element is <{}>, not <testsuites> or <testsuite>",
                String::from_utf8_lossy(e.local_name().as_ref())
            )));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(malformed("elements nested too deeply"));
        }
        let parent_is_case = self.stack.last() == Some(&Elem::Case);
        match elem {
            Elem::Suites if self.stack.is_empty() => self.root_claims = Some(claims(e)?),
            Elem::Suite => {
                self.out.suites += 1;
                let name = attr(e, b"name")?.unwrap_or_default();
                if self.out.suite_names.len() < MAX_NAMES {
                    self.out.suite_names.push(display_name("", &name));
                }
                self.suites.push(Suite {
                    name,
                    claimed: claims(e)?,
                    counted: [0; 4],
                });
            }
            Elem::Case => {
                if self.case.is_some() {
                    return Err(malformed("a <testcase> inside a <testcase>"));
                }
                let mut case = Case {
                    outcome: Outcome::Passed,
                    time: 0.0,
                };
                self.case_name.clear();
                self.case_class.clear();
                let mut named = false;
                for a in e.attributes() {
                    let a = a.map_err(|err| malformed(format!("bad attribute: {err}")))?;
                    match a.key.as_ref() {
                        b"name" => {
                            self.case_name.push_str(&attr_text(&a)?);
                            named = true;
                        }
                        b"classname" => self.case_class.push_str(&attr_text(&a)?),
                        b"time" => {
                            let t = attr_text(&a)?;
                            let trimmed = t.trim();
                            let parsed = if trimmed.contains(',') {
                                trimmed.replace(',', "").parse::<f64>()
                            } else {
                                trimmed.parse::<f64>()
                            };
                            case.time = parsed
                                .ok()
                                .filter(|t| t.is_finite() && *t >= 0.0)
                                .ok_or_else(|| malformed(format!("testcase time {t:?} is not a duration")))?;
                        }
                        _ => {}
                    }
                }
                if !named {
                    self.case_name.push_str("(unnamed)");
                }
                self.case = Some(case);
            }
            Elem::Failure | Elem::Error | Elem::Skipped if parent_is_case => {
                let outcome = match elem {
                    Elem::Failure => Outcome::Failed,
                    Elem::Error => Outcome::Errored,
                    _ => Outcome::Skipped,
                };
                if let Some(c) = &mut self.case
                    && outcome > c.outcome
                {
                    c.outcome = outcome;
                }
            }
            _ => {}
        }
        self.stack.push(elem);
        Ok(())
    }

    fn close(&mut self) -> Result<(), EvidenceError> {
        let elem = self.stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
        match elem {
            Elem::Case => {
                let c = self.case.take().ok_or_else(|| malformed("unbalanced </testcase>"))?;
                let slot = match c.outcome {
                    Outcome::Passed => None,
                    Outcome::Failed => Some(1),
                    Outcome::Errored => Some(2),
                    Outcome::Skipped => Some(3),
                };
                self.out.tests += 1;
                self.out.duration_secs += c.time;
                match c.outcome {
                    Outcome::Passed => self.out.passed += 1,
                    Outcome::Skipped => self.out.skipped += 1,
                    Outcome::Failed => self.out.failed += 1,
                    Outcome::Errored => self.out.errored += 1,
                }
                if matches!(c.outcome, Outcome::Failed | Outcome::Errored) && self.out.failing.len() < MAX_NAMES {
                    self.out.failing.push(display_name(&self.case_class, &self.case_name));
                }
                if let Some(s) = self.suites.last_mut() {
                    s.counted[0] += 1;
                    if let Some(i) = slot {
                        s.counted[i] += 1;
                    }
                }
            }
            Elem::Suite => {
                let s = self.suites.pop().ok_or_else(|| malformed("unbalanced </testsuite>"))?;
                check_claims(&format!("testsuite {:?}", s.name), &s.claimed, &s.counted)?;
                if let Some(parent) = self.suites.last_mut() {
                    for (p, c) in parent.counted.iter_mut().zip(s.counted) {
                        *p += c;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Result<JunitSummary, EvidenceError> {
        if !self.stack.is_empty() {
            return Err(malformed("the document ends inside an element"));
        }
        if self.out.suites == 0 && self.out.tests == 0 && self.root_claims.is_none() {
            return Err(malformed("no <testsuites> or <testsuite> element"));
        }
        if let Some(root) = self.root_claims {
            let o = &self.out;
            check_claims("testsuites", &root, &[o.tests, o.failed, o.errored, o.skipped])?;
        }
        self.out.duration_secs = (self.out.duration_secs * 1e6).round() / 1e6;
        self.out.suite_names.sort();
        self.out.suite_names.dedup();
        Ok(self.out)
    }
}

/// Parses and summarises a JUnit XML report of at most `limit` bytes.
pub fn summarise(bytes: &[u8], limit: usize) -> Result<JunitSummary, EvidenceError> {
    check_size(bytes, limit)?;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut p = Parser::default();
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(format!("at byte {pos}: {e}")))?;
        match event {
            Event::DocType(_) => {
                return Err(malformed(
                    "document type declarations (DTDs, entities) are not accepted",
                ));
            }
            Event::Start(e) => p.open(&e)?,
            Event::Empty(e) => {
                p.open(&e)?;
                p.close()?;
            }
            Event::End(_) => p.close()?,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUREFIRE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.AppTest" tests="4" failures="1" errors="1" skipped="1" time="0.5">
  <testcase name="adds" classname="com.acme.AppTest" time="0.1"/>
  <testcase name="divides" classname="com.acme.AppTest" time="0.2"><failure message="expected 2">trace</failure></testcase>
  <testcase name="io" classname="com.acme.AppTest" time="0.1"><error type="IOException"/></testcase>
  <testcase name="later" classname="com.acme.AppTest" time="0"><skipped/></testcase>
</testsuite>"#;

    #[test]
    fn surefire_style_report() {
        let s = summarise(SUREFIRE.as_bytes(), 1 << 20).unwrap();
        assert_eq!((s.tests, s.passed, s.failed, s.errored, s.skipped), (4, 1, 1, 1, 1));
        assert_eq!(s.failing, vec!["com.acme.AppTest::divides", "com.acme.AppTest::io"]);
        assert!((s.duration_secs - 0.4).abs() < 1e-9);
    }

    #[test]
    fn contradictions_and_hostile_input_are_refused() {
        let lying = SUREFIRE.replace(r#"tests="4""#, r#"tests="5""#);
        assert!(matches!(
            summarise(lying.as_bytes(), 1 << 20),
            Err(EvidenceError::Inconsistent { .. })
        ));
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><testsuite tests="1"><testcase name="&lol2;"/></testsuite>"#;
        assert!(matches!(
            summarise(bomb.as_bytes(), 1 << 20),
            Err(EvidenceError::Malformed { .. })
        ));
        let external =
            r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&e;"/></testsuite>"#;
        assert!(summarise(external.as_bytes(), 1 << 20).is_err());
        for bad in [
            "",
            "<html/>",
            "<testsuite>",
            "<testsuite><testcase></testsuite>",
            "not xml",
            "<testsuite tests=\"x\"/>",
        ] {
            assert!(summarise(bad.as_bytes(), 1 << 20).is_err(), "{bad}");
        }
        assert!(matches!(
            summarise(SUREFIRE.as_bytes(), 10),
            Err(EvidenceError::TooLarge { .. })
        ));
        let deep = format!("<testsuites>{}", "<testsuite>".repeat(100));
        assert!(summarise(deep.as_bytes(), 1 << 20).is_err());
    }

    #[test]
    fn nested_suites_and_flaky_reruns() {
        let xml = r#"<testsuites tests="3" failures="1" errors="0">
  <testsuite name="outer" tests="3" failures="1">
    <testsuite name="inner" tests="2" failures="1">
      <testcase name="a"><flakyFailure message="first try"/></testcase>
      <testcase name="b"><failure/></testcase>
    </testsuite>
    <testcase name="c"/>
  </testsuite>
</testsuites>"#;
        let s = summarise(xml.as_bytes(), 1 << 20).unwrap();
        assert_eq!((s.tests, s.passed, s.failed, s.suites), (3, 2, 1, 2));
        assert_eq!(s.failing, vec!["b"]);
        assert_eq!(s.suite_names, vec!["inner", "outer"]);
    }
}
