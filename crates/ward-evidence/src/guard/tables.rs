//! Records written as tables and file names, read the way a person reads them (2026-12-04,
//! sixth round; the attack review's gaps closed 2026-12-05): the label of a value stands in a
//! header row or a column list, not beside it, and a file name writes its words with `_`, `-`
//! and `.` between them.
//!
//! - [`delimited`] — CSV, TSV, `|`- and `;`-separated tables, Markdown, psql, MySQL and
//!   `tabulate` grid tables: under a header row whose cells all look like field names (1–128
//!   bytes: letters of any script, digits, spaces and `_ . # / ( ) ' - $ * ? & % :`, not
//!   starting with a digit, a space or `-`; 2 to [`MAX_COLUMNS`] of them, empty ones allowed
//!   with at least two named) — or enough of them that an odd cell (`notes [free text]`,
//!   `2nd visit`, `reply@`, a long or wordy one) is a label no detector reads: two field names
//!   a detector reads, or one and more field names than odd cells ([`header_shape`]; since
//!   2026-12-06, one odd cell turned the table off) — each non-empty cell of every following
//!   row with as many cells (or more, all empty) under a label a detector reads is written as
//!   `label: cell` with the label's short canonical form ([`canonical_label`]), one per line,
//!   mapped back to the cell (quotes included). A row that fits no header with any separator
//!   (since 2026-12-06: it was read under none) is read under the table of its separator with
//!   the most labels under its cells when longer (an extra cell, an unquoted comma: from the
//!   first cell on, and from the last filled cell back), else the one of the fewest labels
//!   over them (trailing cells left out: from the first cell on). A table is kept for the rest of the text: a line is a row of the table
//!   whose header had as many cells (`Tables`), so junk lines, blank lines, rule rows
//!   (`|---|`, `---+---`, `+===+`) and other tables' headers between a header and its rows hide
//!   nothing; a header row that is also a row of a table of its width is read both ways (one
//!   more header of it when it has more labels a detector reads than any before; rows are
//!   read under the first header and the latest three). Lines end at
//!   `\n`, `\r\n` or `\r`; a quoted cell holding a line break is read across it (up to
//!   [`MAX_QUOTED`] bytes, not across a line that is itself a header), a quote that never closes
//!   is a character. A header inside a field starts after the field's opening
//!   (`<system-out>last,…`, `"note": "last,…`), a Markdown one too (`<system-out>| SSN | …`,
//!   `"report": "| SSN | …`: [`markdown_in_field`]). Read by [`TABLE_DETECTORS`] only (as is
//!   [`sql_inserts`]).
//! - [`sql_inserts`] — `INSERT INTO t (a, b) VALUES (…), (…)` (also `INSERT [dbo].[t]`,
//!   `INSERT OR REPLACE`, `REPLACE INTO`): each value under a column a detector reads written
//!   as `label: value` (strings without their quotes or prefix, `DATE '…'` as its string, a
//!   function call as its first string, a value that is none of these skipped alone), when the
//!   tuple holds as many values as the column list. An `INSERT` without a column list is left to
//!   the raw text (`name-with-date` reads `'Roe', 'Jane', 'F', DATE '1980-01-02'`).
//! - [`file_names`] — every path-like run (letters, digits, `_ . / \ - + ~ @ ( ) =`, any
//!   length) holding six digits or more and a `_`, a `-`, a `.` after a letter, one of
//!   `+ ~ @ ( ) =` beside a letter, or a word of two capitalised parts: `_` and `+ ~ @ ( ) =`
//!   read as a space (several in a row as one), `-` and `.` too unless between two digits (a
//!   date keeps its dashes, a version its dots), the `_`s of a date written with them as `-`
//!   (`1980_03_04`), a word of two capitalised parts split (`JaneRoe` → `Jane Roe`) and six
//!   digits or more glued after a letter split off (`Roe19800304` → `Roe 19800304`), so
//!   `reports/Roe_Jane_DOB_19800102.pdf` reads `reports/Roe Jane DOB 19800102 pdf` and
//!   `Roe+Jane+19800304.xml`, `Roe(Jane)19800304.xml`, `JaneRoe19800304.xml` and
//!   `Roe__Jane__1980_03_04.xml` read as names beside a date (since 2026-12-06). Read by
//!   [`FILE_NAME_DETECTORS`] only.
//!
//! Each view is one pass over the text (a header is parsed once per table; a row costs its
//! length; quoted cells read ahead at most the text's length in all), and holds only the
//! cells, values or runs it rewrites. **Bounded, fail closed**: a view stops at [`MAX_GROWTH`]
//! times the length of its input plus [`GROWTH_SLACK`]; one that would pass it is not read, and
//! the document is refused as [`LIMIT_DETECTOR`] where the bound was reached ([`Capped`]) —
//! nothing is left judged only raw. Real tables stay far below it: only columns a detector
//! reads are written, under labels of at most 14 bytes.
//!
//! Detectors of record printouts without a table: a pydicom dataset printout
//! (`(0010, 0010) Patient's Name  PN: 'Roe^Jane'`) as `dicom-patient`; HL7 v2 XML encoding of a
//! `PID` (`<PID.5><XPN.1>…`) and the guarantor, insurance and next-of-kin segments `GT1|`,
//! `IN1|`, `NK1|` (five fields or more, holding a `^`) as `hl7-pid`; a patient's number
//! (`patient_00123456`, `"patient_id": "00123456"`, `pt# 1234567`) as `mrn`.

use super::decode::{TokenView, View, kind};
use super::{Context, Detector, Find, always, char_at, char_before};
use regex::Regex;

/// The most columns a header row may have.
pub const MAX_COLUMNS: usize = 4096;

/// The longest string cell and the longest HTML or markup row the table views read
/// (`guard::rows`, `guard::grids`).
pub const MAX_ROW: usize = 64 * 1024;
/// The longest header cell.
pub const MAX_HEADER_CELL: usize = 128;
/// A view of this module is at most this many times as long as its input, plus
/// [`GROWTH_SLACK`]; a view that would grow past it is not built and the document is refused
/// (`table-view-limit`: fail closed).
pub const MAX_GROWTH: usize = 2;
/// Bytes a view may hold beyond [`MAX_GROWTH`] times its input (small documents).
pub const GROWTH_SLACK: usize = 4096;
/// The longest quoted cell read across line breaks.
pub const MAX_QUOTED: usize = 4096;
/// The finding of a view that reached its bound (see [`MAX_GROWTH`]).
pub const LIMIT_DETECTOR: &str = "table-view-limit";
/// The detectors that read [`delimited`] and [`sql_inserts`]: those of labelled values (a
/// cell's header is its label) — not the interchange formats or `high-entropy`, whose values the
/// raw text shows as they are — and the labelled secrets (a `password`, `api_key` or
/// `client_secret` column: `password-assignment` where [`super::GuardConfig::password_assignments`]
/// asks).
pub const TABLE_DETECTORS: &[&str] = &[
    "us-ssn",
    "mrn",
    "dob-with-name",
    "name-with-date",
    "patient-contact",
    "personal-email",
    "phone-number",
    "drivers-licence",
    "medicare-mbi",
    "labelled-secret",
    "aws-secret-key",
    "bearer-token",
    "password-assignment",
];
/// The detectors that read [`file_names`]: a person named, labelled or beside a birth date, and
/// labelled numbers.
pub const FILE_NAME_DETECTORS: &[&str] = &["name-with-date", "dob-with-name", "mrn", "us-ssn", "patient-contact"];

/// A view reached its bound at this span of its input (a cell, a value or a run): the document
/// is refused as [`LIMIT_DETECTOR`], the view is not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capped(pub usize, pub usize);

/// What a view of this module gives: the view (`None` when nothing was rewritten), or where it
/// reached its bound.
pub type Built = Result<Option<View>, Capped>;

/// The words of a label, lower case: split at every byte that is neither a letter nor a digit
/// (non-ASCII bytes are letters), at a capital after a lower-case letter or a digit
/// (`patientSsn`) and before the last capital of a run followed by a lower-case letter
/// (`SSNNumber`); `#` is the word `no` (`MR#`, `Pt #`). On the stack: a label is at most
/// [`MAX_HEADER_CELL`] bytes (rows are tried as headers too, so this runs per cell).
struct Words {
    buf: [u8; 2 * MAX_HEADER_CELL],
    len: usize,
    ranges: [(u8, u8); MAX_HEADER_CELL],
    n: usize,
}

impl Words {
    fn new(label: &[u8]) -> Words {
        let mut w = Words {
            buf: [0; 2 * MAX_HEADER_CELL],
            len: 0,
            ranges: [(0, 0); MAX_HEADER_CELL],
            n: 0,
        };
        let letter = |c: u8| c.is_ascii_alphanumeric() || c >= 0x80;
        let mut start = 0;
        for (i, &c) in label.iter().take(MAX_HEADER_CELL).enumerate() {
            if !letter(c) {
                w.end_word(&mut start);
                if c == b'#' {
                    w.push(b'n');
                    w.push(b'o');
                    w.end_word(&mut start);
                }
                continue;
            }
            let prev = i.checked_sub(1).map(|j| label[j]);
            let next = label.get(i + 1).copied();
            let split = c.is_ascii_uppercase()
                && prev.is_some_and(|p| {
                    p.is_ascii_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
                });
            if split {
                w.end_word(&mut start);
            }
            w.push(c.to_ascii_lowercase());
        }
        w.end_word(&mut start);
        w
    }

    fn push(&mut self, c: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = c;
            self.len += 1;
        }
    }

    fn end_word(&mut self, start: &mut usize) {
        if self.len > *start && self.n < self.ranges.len() {
            self.ranges[self.n] = (*start as u8, (self.len - *start) as u8);
            self.n += 1;
        }
        *start = self.len;
    }

    fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.ranges[..self.n].iter().map(|&(a, l)| {
            let (a, l) = (usize::from(a), usize::from(l));
            std::str::from_utf8(&self.buf[a..a + l]).unwrap_or("")
        })
    }
}

const G_PASS: usize = 0;
const G_SECRET: usize = 1;
const G_TOKEN: usize = 2;
const G_KEY: usize = 3;
const G_AUTH: usize = 4;
const G_SSN: usize = 5;
const G_MBI: usize = 6;
const G_MRN: usize = 7;
const G_DL: usize = 8;
const G_DOB: usize = 9;
const G_ID: usize = 10;
const G_MAIL: usize = 11;
const G_PHONE: usize = 12;
const G_NAME: usize = 13;

/// Which groups of [`canonical_label`]'s rules a label can meet (each pattern a superset of its
/// group's words, in any case), found in one pass: most cells of a table's rows, tried as
/// headers too, meet none and cost no more.
fn label_groups() -> &'static regex::bytes::RegexSet {
    static R: std::sync::OnceLock<regex::bytes::RegexSet> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        regex::bytes::RegexSet::new([
            r"(?i)pass|pwd|pword",
            r"(?i)secret|encryption",
            r"(?i)token|credential",
            r"(?i)key",
            r"(?i)auth",
            r"(?i)ss|soc|tax|s[\W_]*s[\W_]*n",
            r"(?i)mbi|medicare",
            r"(?i)mr|m[\W_]*r[\W_]*n|chart|med",
            r"(?i)dl|driv",
            r"(?i)dob|birth|born|bdate|bday|d[\W_]*o[\W_]*b|b[\W_]*date|date[\W_]*b",
            r"(?i)pat|pt|member|subscriber|beneficiary|insured|employee|person|guarantor|policy",
            r"(?i)mail",
            r"(?i)phone|tel|cell|mobile|fax|ph|contact",
            r"(?i)name|first|last|surname|given|family",
        ])
        .expect("built-in patterns")
    })
}

/// The short label a table view writes for a header cell, when a detector reads that kind of
/// label (`None`: the column's cells are not written — the raw text shows them as they are).
/// Canonical and short, so a view of real tables stays small, and a header of long labels over
/// one-letter cells (built to exhaust the view's bound) costs nothing.
pub fn canonical_label(label: &[u8]) -> Option<&'static str> {
    // Every label read is two letters or more (`ph`, `pt`, `dl#`): one-letter cells and numbers
    // (most of a table's rows, tried as headers too) are none.
    if label.len() < 2 || !label.iter().any(|&c| c.is_ascii_alphabetic() || c >= 0x80) {
        return None;
    }
    if label.len() > MAX_HEADER_CELL {
        return None;
    }
    let g = label_groups().matches(label);
    if !g.matched_any() {
        return None;
    }
    let on = |i: usize| g.matched(i);
    let w = Words::new(label);
    let has = |x: &str| w.iter().any(|y| y == x);
    let any = |xs: &[&str]| xs.iter().any(|x| has(x));
    let word = |f: &dyn Fn(&str) -> bool| w.iter().any(f);
    // One-letter words in a row (`S.S.N.`, `M R N`, `d.o.b.`) joined, runs apart by a space.
    let mut initials = [0u8; MAX_HEADER_CELL + 1];
    let mut k = 0;
    for y in w.iter() {
        let c = if y.len() == 1 { y.as_bytes()[0] } else { b' ' };
        if k < initials.len() {
            initials[k] = c;
            k += 1;
        }
    }
    let initials = &initials[..k];
    let initial = |x: &[u8]| initials.windows(x.len()).any(|win| win == x);
    let num = any(&["id", "identifier", "no", "num", "nbr", "number", "nr"]);
    let fused = |heads: &[&str], tails: &[&str]| {
        word(&|y: &str| {
            heads
                .iter()
                .any(|h| y.strip_prefix(h).is_some_and(|rest| tails.contains(&rest)))
        })
    };
    const NUM: &[&str] = &["id", "identifier", "no", "num", "nbr", "number", "nr"];
    // Secrets.
    if on(G_PASS)
        && (any(&["password", "passwd", "pwd", "passphrase", "passcode", "pword"])
            || word(&|y: &str| y.contains("password") || y.ends_with("passwd"))
            || (has("pass") && has("word")))
    {
        return Some("password");
    }
    // A secret (read by `password-assignment` as in the raw text), a token, a key (read by
    // `labelled-secret` only: a column of words under `token` is no password).
    if on(G_SECRET) && (word(&|y: &str| y.contains("secret")) || (has("encryption") && any(&["key", "keys"]))) {
        return Some("api_secret_key");
    }
    if on(G_TOKEN) && (word(&|y: &str| y.contains("token") || y.starts_with("credential"))) {
        return Some("api_token");
    }
    const KEYS: &[&str] = &[
        "api", "access", "private", "encrypt", "signing", "master", "client", "auth", "session", "app", "license",
        "account", "storage", "shared", "webhook", "ssh",
    ];
    if on(G_KEY)
        && (word(&|y: &str| y.contains("apikey")) || (any(&["key", "keys"]) && any(KEYS)) || fused(KEYS, &["key"]))
    {
        return Some("api_key");
    }
    if on(G_AUTH) && (has("authorization") || (has("auth") && has("header"))) {
        return Some("authorization");
    }
    // A person's numbers.
    if on(G_SSN)
        && (word(&|y: &str| y.starts_with("ssn") || y.ends_with("ssn"))
            || initial(b"ssn")
            || (has("social") && has("security"))
            || (has("soc") && has("sec"))
            || word(&|y: &str| y.contains("socsec") || y.contains("socialsecurity"))
            || (has("ss") && num)
            || (has("social") && num)
            || any(&["tin", "itin"])
            || (has("taxpayer") && num))
    {
        return Some("ssn");
    }
    if on(G_MBI) && (has("mbi") || word(&|y: &str| y.starts_with("medicare"))) {
        return Some("mbi");
    }
    if on(G_MRN)
        && (word(&|y: &str| y.starts_with("mrn") || y.ends_with("mrn") || y.contains("medrec"))
            || initial(b"mrn")
            || (has("mr") && num)
            || has("chart")
            || (word(&|y: &str| y.starts_with("med")) && any(&["rec", "record", "records"]) && num)
            || (has("medical") && any(&["record", "records"])))
    {
        return Some("mrn");
    }
    if on(G_DL)
        && ((any(&["driver", "drivers", "driving", "driver's"]) && word(&|y: &str| y.starts_with("lic")))
            || word(&|y: &str| {
                y.starts_with("driverslic") || y.starts_with("driverlic") || y.starts_with("drivinglic")
            })
            || has("dln")
            || (has("dl") && num)
            || fused(&["dl"], NUM))
    {
        return Some("dln");
    }
    if on(G_DOB)
        && (word(&|y: &str| y == "dob" || y.starts_with("dob") || y.ends_with("dob") || y.contains("birth"))
            || initial(b"dob")
            || any(&["born", "bdate", "bday"])
            || (has("b") && has("date")))
    {
        return Some("dob");
    }
    // A column counting or measuring patients (`patient_count`, `patients_total`) holds no
    // patient's number.
    let tally = any(&[
        "count",
        "counts",
        "total",
        "totals",
        "qty",
        "quantity",
        "sum",
        "avg",
        "mean",
        "median",
        "rate",
        "ratio",
        "pct",
        "percent",
        "percentage",
        "min",
        "max",
    ]);
    let patient = on(G_ID) && !tally && (word(&|y: &str| y.starts_with("patient")) || any(&["pat", "pt"]));
    if on(G_ID) && ((patient && num) || fused(&["patient", "pat", "pt"], NUM)) {
        return Some("patient id");
    }
    let holders = [
        "member",
        "subscriber",
        "beneficiary",
        "insured",
        "employee",
        "person",
        "guarantor",
        "policyholder",
    ];
    if on(G_ID) && (((any(&holders) || (has("policy") && has("holder"))) && num) || fused(&holders, NUM)) {
        return Some(if has("beneficiary") {
            "beneficiary id"
        } else {
            "member id"
        });
    }
    let whose = patient || any(&["member", "subscriber", "beneficiary", "insured"]);
    if on(G_MAIL)
        && (word(&|y: &str| y.contains("email") || y == "mail" || y.starts_with("mailaddr"))
            || (has("e") && has("mail"))
            || (has("mail") && any(&["address", "addr"])))
    {
        return Some(if whose { "patient email" } else { "email" });
    }
    if on(G_PHONE)
        && (word(&|y: &str| {
            y.contains("phone") || y.starts_with("tel") && y.len() <= 9 && !y.starts_with("tele") || y == "telephone"
        }) || any(&["cell", "mobile", "fax", "ph", "cellular"])
            || (has("contact") && num))
    {
        return Some(if whose { "patient phone" } else { "phone" });
    }
    // A person's name, as `guard`'s person keywords read one.
    if on(G_NAME)
        && word(&|y: &str| {
            ["name", "first", "last", "surname", "given", "family", "fname", "lname"]
                .iter()
                .any(|k| y.contains(k))
        })
    {
        return Some("name");
    }
    if patient {
        return Some("patient");
    }
    None
}

/// The cells of one line split at `sep` (quotes respected: `"a,b"` is one cell), as byte
/// ranges of `line` with the spaces around them trimmed; `false` past [`MAX_COLUMNS`] + 1. A
/// quoted cell not closed on the line sets `open` to where it opened; `literal` reads quotes as
/// characters.
fn split_cells(line: &[u8], sep: u8, cells: &mut Vec<(usize, usize)>, open: &mut Option<usize>, literal: bool) -> bool {
    cells.clear();
    *open = None;
    let mut i = 0;
    loop {
        while i < line.len() && (line[i] == b' ' || (line[i] == b'\t' && sep != b'\t')) {
            i += 1;
        }
        let start = i;
        if !literal && line.get(i) == Some(&b'"') {
            i += 1;
            let mut closed = false;
            while i < line.len() {
                if line[i] == b'"' {
                    if line.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    closed = true;
                    break;
                }
                i += 1;
            }
            if !closed && open.is_none() {
                *open = Some(start);
            }
        }
        while i < line.len() && line[i] != sep {
            i += 1;
        }
        let mut end = i;
        while end > start && (line[end - 1] == b' ' || (line[end - 1] == b'\t' && sep != b'\t')) {
            end -= 1;
        }
        cells.push((start, end));
        if cells.len() > MAX_COLUMNS + 1 {
            return false;
        }
        if i >= line.len() {
            return true;
        }
        i += 1;
    }
}

/// A cell without the quotes around it.
fn unquote(cell: &[u8]) -> &[u8] {
    match cell {
        [q @ (b'"' | b'\'' | b'`'), inner @ .., last] if q == last => inner,
        [b'[', inner @ .., b']'] => inner,
        _ => cell,
    }
}

/// A header cell that looks like a field name (see the module's docs): up to
/// [`MAX_HEADER_CELL`] bytes of letters (any script), digits, spaces and
/// `_ . # / ( ) ' - $ * ? & % :`, not starting with a digit, a space or `-`, at most eight
/// words.
fn field_name(cell: &[u8]) -> bool {
    let c = unquote(cell);
    !c.is_empty()
        && c.len() <= MAX_HEADER_CELL
        && (c[0].is_ascii_alphabetic()
            || matches!(c[0], b'_' | b'#' | b'$' | b'%' | b'*' | b'&' | b'?')
            || c[0] >= 0x80)
        && c.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || b >= 0x80
                || matches!(
                    b,
                    b' ' | b'_'
                        | b'.'
                        | b'#'
                        | b'/'
                        | b'('
                        | b')'
                        | b'\''
                        | b'-'
                        | b'$'
                        | b'*'
                        | b'?'
                        | b'&'
                        | b'%'
                        | b':'
                )
        })
        && c.iter().filter(|&&b| b == b' ').count() <= 7
}

/// A rule row: Markdown's (`|---|:---:|`), psql's (`-----+-----`), MySQL's and `tabulate`'s
/// (`+------+======+`).
fn rule_row(line: &[u8]) -> bool {
    line.iter().any(|&b| b == b'-' || b == b'=')
        && line
            .iter()
            .all(|&b| matches!(b, b'|' | b'-' | b':' | b' ' | b'\t' | b'+' | b'='))
}

/// A line of spaces only.
fn blank(line: &[u8]) -> bool {
    line.iter().all(|&b| matches!(b, b' ' | b'\t'))
}

/// The part of a line between a Markdown table's outer pipes (or the line).
fn inner(line: &[u8], markdown: bool) -> (usize, &[u8]) {
    inner_from(line, markdown.then_some(0))
}

/// The part of a line between a Markdown table's outer pipes, the table starting at `from`
/// (after a field's opening: `<system-out>| SSN |`), or the line (`None`).
fn inner_from(line: &[u8], from: Option<usize>) -> (usize, &[u8]) {
    let Some(from) = from else {
        return (0, line);
    };
    let lead = from + line[from..].iter().take_while(|&&b| b == b' ').count();
    let mut l = &line[lead..];
    let mut off = lead;
    if l.first() == Some(&b'|') {
        l = &l[1..];
        off += 1;
    }
    let trimmed = l.len() - l.iter().rev().take_while(|&&b| b == b' ').count();
    l = &l[..trimmed];
    if l.last() == Some(&b'|') {
        l = &l[..l.len() - 1];
    }
    (off, l)
}

struct Table {
    /// The canonical label of each column ([`canonical_label`]; `None`: not written), up to the
    /// last non-empty header cell.
    labels: Vec<Option<&'static str>>,
    /// How many of them a detector reads.
    named: usize,
}

/// A header row: its separator, whether it is a Markdown (or MySQL) row, how many cells it had
/// (empty trailing cells included), its table.
struct Header {
    sep: u8,
    markdown: bool,
    width: usize,
    table: Table,
}

/// The end of the line starting at `at` (a line break is `\n`, `\r\n` or a lone `\r`), and
/// where the next line starts.
fn line_end(bytes: &[u8], at: usize) -> (usize, usize) {
    match bytes[at..].iter().position(|&b| b == b'\n' || b == b'\r') {
        None => (bytes.len(), bytes.len()),
        Some(p) => {
            let e = at + p;
            let next = if bytes[e] == b'\r' && bytes.get(e + 1) == Some(&b'\n') {
                e + 2
            } else {
                e + 1
            };
            (e, next)
        }
    }
}

/// Where a quoted cell opened at `open` closes (after its closing quote), within
/// [`MAX_QUOTED`] bytes, `""` read as a quote; `None` when it does not. `budget` counts the
/// bytes read (each read at most once per row that opens a quote; see [`delimited`]).
fn quote_close(bytes: &[u8], open: usize, budget: &mut usize) -> Option<usize> {
    let limit = bytes.len().min(open + MAX_QUOTED);
    let mut i = open + 1;
    while i < limit {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            *budget = budget.saturating_sub(i - open);
            return Some(i + 1);
        }
        i += 1;
    }
    *budget = budget.saturating_sub(limit - open);
    None
}

/// Where a Markdown table starts inside a field's opening (`<system-out>| SSN | Name |`,
/// `"report": "| SSN | Name |`, `note = '| …`, `<![CDATA[| …`): the first `|` of a line whose
/// first byte other than a space is not one, right after (spaces aside) `>`, `"`, `'`, `[` or `=`.
fn markdown_in_field(line: &[u8]) -> Option<usize> {
    let p = line.iter().position(|&b| b == b'|')?;
    let before = line[..p].iter().rev().find(|&&b| b != b' ')?;
    matches!(before, b'>' | b'"' | b'\'' | b'[' | b'=').then_some(p)
}

/// Whether a row's cells make a header (see the module's docs): at least two named (non-empty)
/// cells, and either every named cell a field name, or enough of them label-shaped that the odd
/// ones (`notes [free text]`, `reply@`, `2nd visit`, a long or wordy cell) are labels no
/// detector reads: two field names a detector reads, or one and more field names than odd
/// cells. Each cell is read once (at most one [`canonical_label`] each).
fn header_shape(row: &[u8], cells: &[(usize, usize)]) -> bool {
    let (mut named, mut fields, mut odd) = (0usize, 0usize, 0usize);
    for &(a, b) in cells {
        if unquote(&row[a..b]).is_empty() {
            continue;
        }
        named += 1;
        if field_name(&row[a..b]) {
            fields += 1;
        } else {
            odd += 1;
        }
    }
    if named < 2 {
        return false;
    }
    if odd == 0 {
        return true;
    }
    let mut read = 0;
    for &(a, b) in cells {
        let c = &row[a..b];
        if !unquote(c).is_empty() && field_name(c) && canonical_label(unquote(c)).is_some() {
            read += 1;
            if read >= 2 || (fields >= 2 && fields > odd) {
                return true;
            }
        }
    }
    false
}

/// The header row a line of field names is (see the module's docs), tried with each separator
/// that occurs in it.
fn header(line: &[u8], cells: &mut Vec<(usize, usize)>) -> Option<Header> {
    let lead = line.iter().find(|&&b| b != b' ') == Some(&b'|');
    // A Markdown table inside a field starts after the field's opening.
    let in_field = if lead { None } else { markdown_in_field(line) };
    let mut open = None;
    for sep in SEPARATORS {
        if !line.contains(&sep) || (lead && sep != b'|') {
            continue;
        }
        let from = match (lead, sep) {
            (true, _) => Some(0),
            (false, b'|') => in_field,
            _ => None,
        };
        let markdown = from.is_some();
        let (_, row) = inner_from(line, from);
        if !split_cells(row, sep, cells, &mut open, false) || !(2..=MAX_COLUMNS).contains(&cells.len()) {
            continue;
        }
        // A table inside a field starts after the field's opening (`<system-out>last,…`,
        // `"note": "last,…`, `note = "last,…`, `<![CDATA[last,…`).
        let (a, b) = cells[0];
        if !field_name(&row[a..b])
            && let Some(p) = row[a..b].iter().rposition(|&c| matches!(c, b'>' | b'"' | b'[' | b'='))
        {
            cells[0].0 = a + p + 1;
        }
        // Empty cells are allowed (pandas' and R's index column, a trailing comma); at least
        // two are field names, and every other is one — or enough are labels a detector reads
        // that an odd cell is a label no detector reads ([`header_shape`]).
        let name = |&(a, b): &(usize, usize)| !unquote(&row[a..b]).is_empty();
        if header_shape(row, cells) {
            let last = cells.iter().rposition(name).map_or(0, |p| p + 1);
            let labels: Vec<Option<&'static str>> = cells[..last]
                .iter()
                .map(|&(a, b)| {
                    if field_name(&row[a..b]) {
                        canonical_label(unquote(&row[a..b]))
                    } else {
                        None
                    }
                })
                .collect();
            let named = labels.iter().flatten().count();
            return Some(Header {
                sep,
                markdown,
                width: cells.len(),
                table: Table { labels, named },
            });
        }
    }
    None
}

/// How many header rows of one width a table's rows are read under (the first and the latest).
const HEADERS_PER_TABLE: usize = 4;

/// The separators of tables, in the order they are tried.
const SEPARATORS: [u8; 4] = [b'\t', b'|', b';', b','];

/// A table's key: its separator, whether its rows are Markdown's, and a count of cells.
type Key = (u8, bool, usize);

/// The tables read so far, each kept for the rest of the text (a line that fits none, a blank
/// line or a rule row ends none): found by the width of their header row or by the number of
/// their labels. Each entry holds the headers its rows are read under: the first, and the
/// latest [`HEADERS_PER_TABLE`] − 1 header rows that fit it with more labels a detector reads
/// than any before (`a,b,c,d` then `last,first,ssn,dob`: both read; a decoy after a real header
/// is read beside it).
#[derive(Default)]
struct Tables {
    entries: Vec<Vec<Table>>,
    by_width: std::collections::BTreeMap<Key, usize>,
    by_labels: std::collections::BTreeMap<Key, usize>,
}

impl Tables {
    /// The entry a row of these cells belongs to, and whether the row fits its header: as many
    /// cells as a header row, or at least as many as a header's labels with only empty cells
    /// after them (a trailing comma). Else (not fitting) a row longer than every header of its
    /// separator (an extra cell, an unquoted comma in a cell) belongs to the table of the most
    /// labels under its cells; a shorter one (trailing cells left out), to the table of the
    /// fewest labels over them. Two range look-ups at most.
    fn find(&self, sep: u8, markdown: bool, row: &[u8], cells: &[(usize, usize)]) -> Option<(usize, bool)> {
        let n = cells.len();
        if let Some(&e) = self.by_width.get(&(sep, markdown, n)) {
            return Some((e, true));
        }
        let filled = cells
            .iter()
            .rposition(|&(a, b)| !unquote(&row[a..b]).is_empty())
            .map_or(0, |p| p + 1)
            .max(1);
        if let Some((_, &e)) = self
            .by_labels
            .range((sep, markdown, filled)..=(sep, markdown, n))
            .next_back()
        {
            return Some((e, true));
        }
        if let Some((_, &e)) = self
            .by_labels
            .range((sep, markdown, 0)..(sep, markdown, filled))
            .next_back()
        {
            return Some((e, false));
        }
        self.by_labels
            .range((sep, markdown, n.saturating_add(1))..=(sep, markdown, usize::MAX))
            .next()
            .map(|(_, &e)| (e, false))
    }

    fn add(&mut self, h: Header, fits: Option<usize>) {
        match fits {
            Some(e) => {
                let list = &mut self.entries[e];
                let most = list.iter().map(|t| t.named).max().unwrap_or(0);
                // More labels a detector reads than any before (as many would make every row
                // of a data dictionary — `ssn,Social Security Number` — a header of its own).
                if h.table.named > most {
                    // The first header and the latest ones are kept.
                    if list.len() == HEADERS_PER_TABLE {
                        list.remove(1);
                    }
                    list.push(h.table);
                }
            }
            None => {
                let e = self.entries.len();
                self.by_width.insert((h.sep, h.markdown, h.width), e);
                self.by_labels.insert((h.sep, h.markdown, h.table.labels.len()), e);
                self.entries.push(vec![h.table]);
            }
        }
    }
}

/// Tables under a header row of field names, each data cell under a label a detector reads
/// written as `label: cell` with the label's canonical form (see the module's docs); `Ok(None)`
/// when there is none, [`Capped`] when the view would pass its bound.
pub fn delimited(src: &str) -> Built {
    let bytes = src.as_bytes();
    if !bytes.iter().any(|&b| matches!(b, b',' | b'\t' | b'|' | b';')) {
        return Ok(None);
    }
    let Some(mut view) = TokenView::new(src, kind::TABLE) else {
        return Ok(None);
    };
    let cap = src.len().saturating_mul(MAX_GROWTH).saturating_add(GROWTH_SLACK);
    // Bytes read looking for the close of quoted cells that span lines: at most the text's
    // length (and a little), then the document is refused (fail closed).
    let mut quote_budget = src.len().saturating_add(GROWTH_SLACK);
    let mut tables = Tables::default();
    let mut cells = Vec::new();
    let mut spare = Vec::new();
    let mut open = None;
    let mut text = String::new();
    let mut seen = Vec::with_capacity(2 * HEADERS_PER_TABLE);
    let mut at = 0;
    // Lines before this were read as part of a row that spanned lines (a quoted cell holding a
    // line break, none of them a header): not read again.
    let mut inside_row = 0;
    while at < bytes.len() {
        let (end, next) = line_end(bytes, at);
        let line = &bytes[at..end];
        let line_at = at;
        at = next;
        if line_at < inside_row || blank(line) || rule_row(line) {
            continue;
        }
        let markdown = line.iter().find(|&&b| b != b' ') == Some(&b'|');
        // A row of a table read so far? A row that fits a header with any separator first, then
        // (a second pass, only when the first met one) a row longer or shorter than its header.
        let mut read = None;
        // The first separator whose row does not fit its header, read in the second pass.
        let mut unfit = None;
        'passes: for pass in 0..2 {
            if pass == 1 && unfit.is_none() {
                break;
            }
            for sep in SEPARATORS {
                if tables.entries.is_empty() {
                    break 'passes;
                }
                if !line.contains(&sep) || (markdown && sep != b'|') || (pass == 1 && unfit != Some(sep)) {
                    continue;
                }
                let (off, mut row) = inner(line, markdown);
                if !split_cells(row, sep, &mut cells, &mut open, false) {
                    continue;
                }
                let mut entry = tables.find(sep, markdown, row, &cells);
                let mut span_to = None;
                // A quoted cell holding a line break: the row is read on to the quote's close.
                if let Some(o) = open {
                    if quote_budget == 0 {
                        // Fail closed: quotes built to make every row read ahead.
                        return Err(Capped(line_at, end));
                    }
                    if let Some(close) = quote_close(bytes, line_at + off + o, &mut quote_budget) {
                        let (e, n) = line_end(bytes, close);
                        let (_, r) = inner(&bytes[line_at..e], markdown);
                        let mut again = None;
                        // Not across a header: a table hidden in a quoted cell is read as one.
                        let mut l = next;
                        let mut headed = false;
                        while l < n && !headed {
                            let (le, ln) = line_end(bytes, l);
                            headed = header(&bytes[l..le], &mut spare).is_some();
                            l = ln;
                        }
                        if !headed
                            && split_cells(r, sep, &mut cells, &mut again, false)
                            && let Some(found) = tables.find(sep, markdown, r, &cells)
                        {
                            row = r;
                            span_to = Some(n);
                            entry = Some(found);
                        }
                    }
                    if span_to.is_none() {
                        // A quote that opens no cell is a character of its cell (`"Roe,Jane`).
                        entry = if split_cells(row, sep, &mut cells, &mut open, true) {
                            tables.find(sep, markdown, row, &cells)
                        } else {
                            None
                        };
                    }
                }
                let Some((e, fits)) = entry else { continue };
                if !fits && pass == 0 {
                    unfit = unfit.or(Some(sep));
                    continue;
                }
                if let Some(n) = span_to {
                    inside_row = n;
                }
                // Could the row be a header too (its cells a header's shape, one of them of two
                // letters or more)? Only then is it tried as one below.
                let header_like =
                    header_shape(row, &cells) && cells.iter().any(|&(a, b)| unquote(&row[a..b]).len() >= 2);
                read = Some((e, sep, fits, header_like));
                write_row(
                    &tables.entries[e],
                    row,
                    &cells,
                    fits,
                    (&mut text, &mut seen),
                    |j, text: &str| {
                        let (c0, c1) = cells[j];
                        let (from, to) = (line_at + off + c0, line_at + off + c1);
                        if view.len() + text.len() > cap {
                            return Err(Capped(from, to));
                        }
                        view.push(from, to, text);
                        Ok(())
                    },
                )?;
                break 'passes;
            }
        }
        // A header row: a new table, or one more header of the table the line fits.
        if inside_row <= line_at
            && read.is_none_or(|(_, _, _, header_like)| header_like)
            && let Some(h) = header(line, &mut cells)
        {
            // Read as a row fitting a header with the same separator (and Markdown or not): one
            // more header of that table, when it has more labels a detector reads; otherwise a
            // new table.
            let fits = read
                .filter(|&(_, sep, fits, _)| fits && sep == h.sep && h.markdown == markdown)
                .map(|(e, _, _, _)| e);
            if fits.is_none() || h.table.named > 0 {
                tables.add(h, fits);
            }
        }
    }
    Ok(view.finish())
}

/// Each non-empty cell of a row under the labels a detector reads of the headers it is read
/// under (each label once), written as `label: cell` lines handed to `push` with the cell's
/// index. A row that does not fit its header (`fits` false) is read under its labels from the
/// first cell on and, when longer than the labels, from the last filled cell back too (an
/// unquoted comma in an earlier cell shifts the later ones): at most two labels a header.
fn write_row(
    list: &[Table],
    row: &[u8],
    cells: &[(usize, usize)],
    fits: bool,
    (text, seen): (&mut String, &mut Vec<&'static str>),
    mut push: impl FnMut(usize, &str) -> Result<(), Capped>,
) -> Result<(), Capped> {
    let filled = cells
        .iter()
        .rposition(|&(a, b)| !unquote(&row[a..b]).is_empty())
        .map_or(0, |p| p + 1);
    for (j, &(c0, c1)) in cells.iter().enumerate() {
        let value = unquote(&row[c0..c1]);
        if value.is_empty() {
            continue;
        }
        seen.clear();
        for t in list {
            let shift = if fits { 0 } else { filled.saturating_sub(t.labels.len()) };
            let left = t.labels.get(j).copied().flatten();
            let right = if shift > 0 {
                j.checked_sub(shift).and_then(|k| t.labels.get(k).copied().flatten())
            } else {
                None
            };
            for label in [left, right].into_iter().flatten() {
                if !seen.contains(&label) {
                    seen.push(label);
                }
            }
        }
        if seen.is_empty() {
            continue;
        }
        text.clear();
        for label in seen.iter() {
            text.push_str(label);
            text.push_str(": ");
            text.push_str(&String::from_utf8_lossy(value));
            text.push('\n');
        }
        push(j, text)?;
    }
    Ok(())
}

fn insert_re() -> &'static Regex {
    static R: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r#"(?i)(?-u:\b)(?:insert|replace)[ \t\r\n]+(?:(?:or[ \t\r\n]+[a-z]{1,10}|ignore|low_priority|delayed|high_priority)[ \t\r\n]+)?(?:into[ \t\r\n]+)?[A-Za-z0-9_."`\[\]]{1,128}[ \t\r\n]*\("#)
            .expect("built-in pattern")
    })
}

/// The end (after the closing quote) of the SQL string whose opening quote is at `i`: `''`
/// and a backslash escape (`\'`, MySQL's) are part of it; `None` when it never closes. A
/// PostgreSQL dollar-quoted string (`$$…$$`, `$tag$…$tag$`) too ([`dollar_string`]).
fn sql_string(b: &[u8], i: usize) -> Option<usize> {
    let q = *b.get(i)?;
    if q == b'$' {
        return dollar_string(b, i).map(|(_, _, end)| end);
    }
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            c if c == q => {
                if b.get(j + 1) == Some(&q) {
                    j += 2;
                    continue;
                }
                return Some(j + 1);
            }
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    None
}

/// A PostgreSQL dollar-quoted string at `i` (`$$…$$`, `$tag$…$tag$`; a tag is a letter or `_`
/// then letters, digits or `_` — `$1` is a parameter, no string): its inside and its end.
fn dollar_string(b: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    if b.get(i) != Some(&b'$') {
        return None;
    }
    let tag_len = b[i + 1..]
        .iter()
        .take(64)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    if tag_len > 0 && !(b[i + 1].is_ascii_alphabetic() || b[i + 1] == b'_') {
        return None;
    }
    if b.get(i + 1 + tag_len) != Some(&b'$') {
        return None;
    }
    let tag = &b[i..i + tag_len + 2];
    let inner = i + tag.len();
    let close = inner + memchr::memmem::find(&b[inner..], tag)?;
    Some((inner, close, close + tag.len()))
}

/// What [`sql_skip`] passed over: the strings in it (at most [`SKIPPED_STRINGS`], in order;
/// not backtick names) and whether they are joined (`||`, or `+` between strings, at its depth).
#[derive(Default)]
struct Skipped {
    strings: Vec<(usize, usize)>,
    joined: bool,
}

/// The most strings [`Skipped`] keeps.
const SKIPPED_STRINGS: usize = 64;

/// How a value of a tuple ended: at `,` or `)` (its position), or the statement cannot be read
/// on (`;`, an unclosed string or bracket: `Err` with how far it was read).
fn sql_skip(b: &[u8], mut i: usize, skipped: &mut Skipped) -> Result<usize, usize> {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' | b'$' => {
                let inside = match b[i] {
                    b'$' => match dollar_string(b, i) {
                        Some(d) => Some(d),
                        None => {
                            i += 1;
                            continue;
                        }
                    },
                    _ => None,
                };
                let Some(e) = sql_string(b, i) else {
                    return Err(b.len());
                };
                if b[i] != b'`' && skipped.strings.len() < SKIPPED_STRINGS {
                    skipped.strings.push(inside.map_or((i + 1, e - 1), |(s, t, _)| (s, t)));
                }
                i = e;
                continue;
            }
            b'|' if b.get(i + 1) == Some(&b'|') && depth == 0 => skipped.joined = true,
            b'+' if depth == 0 => skipped.joined = true,
            b'(' => depth += 1,
            b')' if depth == 0 => return Ok(i),
            b')' => depth -= 1,
            b',' if depth == 0 => return Ok(i),
            b';' => return Err(i),
            _ => {}
        }
        i += 1;
    }
    Err(b.len())
}

/// A value of a tuple: where it stands (start, end) and its text, if it has one.
type SqlValue = (usize, usize, Option<String>);

/// The text of `parts` of `b`, one after another (joined by `sep`).
fn sql_text(b: &[u8], parts: &[(usize, usize)], sep: &str) -> String {
    let mut out = String::new();
    for (n, &(s, e)) in parts.iter().enumerate() {
        if n > 0 {
            out.push_str(sep);
        }
        out.push_str(&String::from_utf8_lossy(&b[s..e.max(s)]));
    }
    out
}

/// One value of a tuple at `i` of `b`: `(start, end, the value's text if it has one)` and
/// where its `,` or `)` stands. A string's value is its inside (`''` kept as written), with
/// its prefix (`N'…'`, `E'…'`) or type (`DATE '…'`) passed over, a dollar-quoted one's too
/// (`$$…$$`); a function call's (`CAST(N'…' AS Date)`, `to_date('…', …)`) is its first
/// string, `CONCAT('219', '451100')`'s all of them joined (`CONCAT_WS`'s by its first); a
/// number or word is itself; strings joined by `||` or `+` after it (`'219' || '451100'`) are
/// joined to it; anything else after it up to the next `,` or `)` (a cast `::date`, `COLLATE
/// …`) is passed over, and a value that is none of these (`now()`, `@v`, `$1`) is skipped with
/// no text — the tuple is read on. `Err` with how far it was read when the statement cannot be
/// read on.
fn sql_value(b: &[u8], mut i: usize) -> Result<(SqlValue, usize), usize> {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let start = i;
    let word = |mut j: usize| {
        while b
            .get(j)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'+'))
        {
            j += 1;
        }
        j
    };
    let mut value: Option<String> = None;
    let mut after = i;
    match b.get(i) {
        Some(b'\'' | b'"') => {
            let e = sql_string(b, i).ok_or(b.len())?;
            value = Some(sql_text(b, &[(i + 1, e - 1)], ""));
            after = e;
        }
        Some(b'$') if dollar_string(b, i).is_some() => {
            let (s, t, e) = dollar_string(b, i).ok_or(b.len())?;
            value = Some(sql_text(b, &[(s, t)], ""));
            after = e;
        }
        Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.') => {
            let j = word(i);
            let mut k = j;
            // `U&'…'`
            if b.get(k) == Some(&b'&') && b.get(k + 1) == Some(&b'\'') {
                k += 1;
            }
            while b.get(k).is_some_and(|c| *c == b' ' || *c == b'\t') {
                k += 1;
            }
            if b.get(k) == Some(&b'\'') && b[i].is_ascii_alphabetic() {
                // A prefixed or typed string: `N'…'`, `E'…'`, `DATE '…'`.
                let e = sql_string(b, k).ok_or(b.len())?;
                value = Some(sql_text(b, &[(k + 1, e - 1)], ""));
                after = e;
            } else if b.get(k) == Some(&b'(') && b[i].is_ascii_alphabetic() {
                // A function call: its first string, if any (`CAST(N'1980-01-02' AS Date)`);
                // `CONCAT`'s strings joined (`CONCAT_WS`'s by its first).
                let mut inside = Skipped::default();
                after = sql_skip(b, k, &mut inside)?;
                let name = &b[i..j];
                value = if name.eq_ignore_ascii_case(b"concat") {
                    Some(sql_text(b, &inside.strings, ""))
                } else if name.eq_ignore_ascii_case(b"concat_ws") && !inside.strings.is_empty() {
                    let sep = sql_text(b, &inside.strings[..1], "");
                    Some(sql_text(b, &inside.strings[1..], &sep))
                } else {
                    inside.strings.first().map(|&p| sql_text(b, &[p], ""))
                };
            } else {
                value = Some(sql_text(b, &[(i, j)], ""));
                after = j;
            }
        }
        _ => {}
    }
    // Whatever follows the value up to its `,` or `)`: strings joined to it are part of it.
    let mut rest = Skipped::default();
    let stop = sql_skip(b, after, &mut rest)?;
    if rest.joined && !rest.strings.is_empty() {
        let mut joined = value.unwrap_or_default();
        joined.push_str(&sql_text(b, &rest.strings, ""));
        value = Some(joined);
    }
    let end = if after > start { after } else { stop };
    Ok(((start, end, value), stop))
}

/// Where the select list of an `INSERT … SELECT` at `i` ends: at a `;` or a `FROM`, `WHERE`,
/// `UNION`, `ORDER`, `GROUP`, `LIMIT` or `RETURNING` outside strings and brackets, or the text's
/// end (at most [`MAX_SELECT`] bytes on); `None` when a string or bracket never closes.
fn select_list_end(b: &[u8], mut i: usize) -> Option<usize> {
    let limit = b.len().min(i + MAX_SELECT);
    let mut depth = 0usize;
    while i < limit {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                i = sql_string(b, i)?;
                continue;
            }
            b'$' => {
                if let Some((_, _, e)) = dollar_string(b, i) {
                    i = e;
                    continue;
                }
            }
            b'(' => depth += 1,
            b')' => depth = depth.checked_sub(1)?,
            b';' if depth == 0 => return Some(i),
            c if depth == 0
                && c.is_ascii_alphabetic()
                && (i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'_') =>
            {
                let w = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                let word = &b[i..i + w];
                if ["from", "where", "union", "order", "group", "limit", "returning"]
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k.as_bytes()))
                {
                    return Some(i);
                }
                i += w;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (depth == 0).then_some(i)
}

/// The longest select list read.
const MAX_SELECT: usize = 64 * 1024;

/// The values of the select list `b[from..to]` (`'Jane', '219451100'`), as a tuple's
/// ([`sql_value`]), their spans in `b`; `None` when it cannot be read.
fn select_values(b: &[u8], from: usize, to: usize, values: &mut Vec<SqlValue>) -> Option<()> {
    values.clear();
    // Read as the tuple it is written as: `(` list `)`.
    let mut tuple = Vec::with_capacity(to - from + 2);
    tuple.push(b'(');
    tuple.extend_from_slice(&b[from..to]);
    tuple.push(b')');
    let back = |at: usize| (from + at).saturating_sub(1).min(to);
    let mut i = 1;
    loop {
        let ((s, e, v), next) = sql_value(&tuple, i).ok()?;
        // A column alias (`'219451100' AS ssn`) is part of the value's tail, passed over.
        values.push((back(s), back(e), v));
        i = next;
        match tuple.get(i) {
            Some(b',') => i += 1,
            _ => return Some(()),
        }
    }
}

/// `INSERT INTO t (columns) VALUES (…), …` (also `INSERT [dbo].[t] (…)`, `INSERT OR REPLACE`,
/// `REPLACE INTO`, and `INSERT INTO t (columns) SELECT …` with its `UNION ALL SELECT …` rows)
/// with each value under a column a detector reads written as `label: value` with the column's
/// canonical label (see the module's docs); `Ok(None)` when there is none.
pub fn sql_inserts(src: &str) -> Built {
    let Some(mut view) = TokenView::new(src, kind::TABLE) else {
        return Ok(None);
    };
    let b = src.as_bytes();
    let cap = src.len().saturating_mul(MAX_GROWTH).saturating_add(GROWTH_SLACK);
    let mut reach = 0;
    // Whether the text from the last statement on could not be read (an unclosed string or
    // bracket): an `INSERT` inside it is refused, never left unread (fail closed).
    let mut unread = false;
    let mut line = String::new();
    let mut columns: Vec<Option<&'static str>> = Vec::new();
    let mut values: Vec<SqlValue> = Vec::new();
    // Writes a tuple's values under the columns, when there are as many.
    let mut write = |values: &[SqlValue], columns: &[Option<&'static str>], named: usize, view: &mut TokenView<'_>| {
        if values.len() != columns.len() || named == 0 {
            return Ok(());
        }
        for ((s, e, value), label) in values.iter().zip(columns) {
            let (Some(value), Some(label)) = (value, label) else {
                continue;
            };
            if value.is_empty() || value.eq_ignore_ascii_case("null") {
                continue;
            }
            line.clear();
            line.push_str(label);
            line.push_str(": ");
            line.push_str(value);
            line.push('\n');
            if view.len() + line.len() > cap {
                return Err(Capped(*s, *e));
            }
            view.push(*s, *e, &line);
        }
        Ok(())
    };
    // One pass of a small DFA up to the column list's `(`; the list (no bracket, at most 4096
    // bytes) and `VALUES` or `SELECT` after it are read by hand.
    for start in insert_re().find_iter(src) {
        let open = start.end();
        let Some(len) = b[open..b.len().min(open + 4097)]
            .iter()
            .position(|&c| c == b')' || c == b'(')
            .filter(|&l| l > 0 && b[open + l] == b')')
        else {
            continue;
        };
        let cols = &src[open..open + len];
        let mut v = open + len + 1;
        let skip_space = |mut v: usize| {
            while b.get(v).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
                v += 1;
            }
            v
        };
        v = skip_space(v);
        let keyword = |v: usize, k: &[u8]| {
            b.get(v..v + k.len()).is_some_and(|w| w.eq_ignore_ascii_case(k))
                && !b
                    .get(v + k.len())
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        };
        let select = keyword(v, b"select");
        if !select && !keyword(v, b"values") {
            continue;
        }
        v = skip_space(v + 6);
        let whole = (start.start(), v);
        if whole.0 < reach {
            if unread {
                return Err(Capped(whole.0, whole.1));
            }
            continue;
        }
        unread = false;
        columns.clear();
        let mut named = 0;
        for part in cols.split(',') {
            let t = part.trim();
            let inner = unquote(t.as_bytes());
            if !field_name(inner) || columns.len() == MAX_COLUMNS {
                columns.clear();
                break;
            }
            let label = canonical_label(inner);
            named += usize::from(label.is_some());
            columns.push(label);
        }
        if columns.len() < 2 {
            continue;
        }
        let mut i = whole.1;
        if select {
            // `SELECT a, b [FROM …] [UNION [ALL] SELECT c, d …]`: each select list one row.
            loop {
                let Some(end) = select_list_end(b, i) else {
                    // A string or bracket that never closes: fail closed, as below.
                    reach = b.len();
                    unread = true;
                    break;
                };
                if select_values(b, i, end, &mut values).is_some() {
                    write(&values, &columns, named, &mut view)?;
                }
                reach = reach.max(end);
                // On to the next `UNION [ALL] SELECT` (past a `FROM …` clause up to it).
                let mut k = end;
                while k < b.len() && b[k] != b';' && !keyword(k, b"union") && k < end + MAX_SELECT {
                    match b[k] {
                        b'\'' | b'"' | b'`' => k = sql_string(b, k).unwrap_or(b.len()),
                        _ => k += 1,
                    }
                }
                if !keyword(k, b"union") {
                    break;
                }
                k = skip_space(k + 5);
                if keyword(k, b"all") || keyword(k, b"distinct") {
                    k = skip_space(k + if keyword(k, b"all") { 3 } else { 8 });
                }
                if !keyword(k, b"select") {
                    break;
                }
                i = skip_space(k + 6);
            }
            continue;
        }
        // Tuples, each `(` values `)`, joined by `,`.
        'tuples: while b.get(i) == Some(&b'(') {
            values.clear();
            i += 1;
            loop {
                match sql_value(b, i) {
                    Err(to) => {
                        reach = reach.max(to);
                        unread = to >= b.len();
                        break 'tuples;
                    }
                    Ok((v, next)) => {
                        values.push(v);
                        i = next;
                    }
                }
                match b.get(i) {
                    Some(b',') => i += 1,
                    _ => {
                        i += 1;
                        break;
                    }
                }
            }
            reach = i;
            write(&values, &columns, named, &mut view)?;
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if b.get(i) != Some(&b',') {
                break;
            }
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
        }
        reach = reach.max(i);
    }
    Ok(view.finish())
}

/// A byte of a path-like run.
fn path_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'\\' | b'-') || other_separator(c)
}

/// A byte other than `_`, `-` and `.` that a file name writes between its words
/// (`Roe+Jane+19800304.xml`, `Roe~Jane~…`, `Roe@Jane@…`, `Roe(Jane)19800304.xml`, `Roe=Jane=…`).
fn other_separator(c: u8) -> bool {
    matches!(c, b'+' | b'~' | b'@' | b'(' | b')' | b'=')
}

/// Marks in `dash` the `_`s of a date written with them (`1980_03_04`, `04_03_1980`: groups of
/// 4, 1–2, 1–2 or 1–2, 1–2, 4 digits), read as `-` so the date stays a date. One pass.
fn date_underscores(run: &[u8], dash: &mut Vec<bool>) {
    dash.clear();
    dash.resize(run.len(), false);
    let mut k = 0;
    while k < run.len() {
        if !run[k].is_ascii_digit() || (k > 0 && run[k - 1].is_ascii_digit()) {
            k += 1;
            continue;
        }
        // Digit groups joined by single `_`s, from `k`.
        let mut groups = [0usize; 3];
        let mut g = 0;
        let mut m = k;
        loop {
            let d = run[m..].iter().take_while(|c| c.is_ascii_digit()).count();
            if g < groups.len() {
                groups[g] = d;
            }
            g += 1;
            m += d;
            if run.get(m) == Some(&b'_') && run.get(m + 1).is_some_and(u8::is_ascii_digit) {
                m += 1;
            } else {
                break;
            }
        }
        if g == 3 && matches!(groups, [4, 1..=2, 1..=2] | [1..=2, 1..=2, 4]) {
            for (x, d) in dash.iter_mut().enumerate().take(m).skip(k) {
                *d = run[x] == b'_';
            }
        }
        k = m.max(k + 1);
    }
}

/// Path-like runs with `_`/`-`/`.` read as spaces (see the module's docs); `Ok(None)` when
/// there is none.
pub fn file_names(src: &str) -> Built {
    let b = src.as_bytes();
    if !b
        .iter()
        .any(|&c| matches!(c, b'_' | b'-' | b'.') || other_separator(c) || c.is_ascii_uppercase())
    {
        return Ok(None);
    }
    let Some(mut view) = TokenView::new(src, kind::FILE_NAME) else {
        return Ok(None);
    };
    let cap = src.len().saturating_mul(MAX_GROWTH).saturating_add(GROWTH_SLACK);
    let mut out = String::new();
    let mut dash = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !path_byte(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && path_byte(b[i]) {
            i += 1;
        }
        let run = &b[start..i];
        let digit = |k: Option<usize>| k.and_then(|k| run.get(k)).is_some_and(u8::is_ascii_digit);
        let letter = |k: Option<usize>| k.and_then(|k| run.get(k)).is_some_and(u8::is_ascii_alphabetic);
        // Words joined by `_`, `-`, a `.` after a letter (`Jane.Roe.1980-01-02.pdf`), another
        // separator beside a letter (`Roe+Jane+…`, `Roe(Jane)1980…`), or glued as two
        // capitalised parts (`JaneRoe19800304.xml`).
        let joined = |j: usize, c: u8| {
            c == b'_'
                || c == b'-'
                || (c == b'.' && letter(j.checked_sub(1)) && j + 1 < run.len())
                || (other_separator(c) && (letter(j.checked_sub(1)) || letter(Some(j + 1))))
                || (c.is_ascii_uppercase() && j > 0 && run[j - 1].is_ascii_lowercase() && two_parts(run, j))
        };
        if run.iter().filter(|c| c.is_ascii_digit()).count() < 6 || !run.iter().enumerate().any(|(j, &c)| joined(j, c))
        {
            continue;
        }
        date_underscores(run, &mut dash);
        out.clear();
        // Separators in a row (`Roe__Jane`) are one space.
        let space = |out: &mut String| {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        };
        for (j, &c) in run.iter().enumerate() {
            match c {
                b'_' if dash[j] => out.push('-'),
                b'_' => space(&mut out),
                b'-' | b'.' if !(digit(j.checked_sub(1)) && digit(Some(j + 1))) => space(&mut out),
                c if other_separator(c) => space(&mut out),
                _ => {
                    // `JaneRoe`: a capital after a lower-case letter, in a word of two
                    // capitalised parts (`[A-Z][a-z]+[A-Z][a-z]+`), starts a second word.
                    if c.is_ascii_uppercase() && j > 0 && run[j - 1].is_ascii_lowercase() && two_parts(run, j) {
                        out.push(' ');
                    }
                    // `Roe19800304`: a date glued after a word (six digits or more, or a date
                    // written with `_`) starts a word of its own.
                    if c.is_ascii_digit() && letter(j.checked_sub(1)) {
                        let d = run[j..].iter().take_while(|c| c.is_ascii_digit()).count();
                        if d >= 6 || dash.get(j + d) == Some(&true) {
                            out.push(' ');
                        }
                    }
                    out.push(char::from(c));
                }
            }
        }
        out.push('\n');
        if view.len() + out.len() > cap {
            return Err(Capped(start, i));
        }
        view.push(start, i, &out);
    }
    Ok(view.finish())
}

/// The letters around `at` (a capital after a lower-case letter) form one word of exactly two
/// capitalised parts of two letters or more each.
fn two_parts(run: &[u8], at: usize) -> bool {
    let first = run[..at].iter().rev().take_while(|c| c.is_ascii_lowercase()).count();
    let head = at - first;
    let starts = head > 0 && run[head - 1].is_ascii_uppercase() && (head < 2 || !run[head - 2].is_ascii_alphabetic());
    let rest = run[at + 1..].iter().take_while(|c| c.is_ascii_lowercase()).count();
    let ends = !run.get(at + 1 + rest).is_some_and(u8::is_ascii_alphabetic);
    starts && first >= 1 && rest >= 1 && ends
}

/// No digit right before `start` or right after `end`.
fn no_digit_beside(_: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    !digit(char_before(cx, start)) && !digit(char_at(cx, end))
}

/// A patient's number stands alone: no digit before it, nothing alphanumeric after it, and no
/// `-` and more after it (`patient-12345678-1234-…` starts a UUID, not a number).
fn patient_number(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let after = cx.text.as_bytes().get(end..).unwrap_or_default();
    let glued = |c: Option<&u8>| c.is_some_and(u8::is_ascii_alphanumeric);
    no_digit_beside(m, cx, start, end)
        && !glued(after.first())
        && !(after.first() == Some(&b'-') && glued(after.get(1)))
}

/// An HL7 guarantor, insurance or next-of-kin segment holds a name's components.
fn holds_components(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    m.contains('^')
}

/// The detectors of record printouts (see the module's docs).
pub(super) fn detectors() -> Vec<Detector> {
    let re = |p: &str| Regex::new(p).expect("built-in pattern");
    vec![
        // pydicom: `(0010, 0010) Patient's Name   PN: 'Roe^Jane'` (ID, birth date too).
        Detector {
            name: "dicom-patient",
            find: Find::Regex(
                re(r#"\(0010, ?00(?:10|20|30)\)[^\r\n]{0,64}?[A-Z]{2}:[ \t]*['"][^'"\s]"#),
                0,
            ),
            check: always,
        },
        // HL7 v2 XML: `<PID.3><CX.1>00123456`, `<PID.5><XPN.1><FN.1>Roe`, `<PID.7><TS.1>1980…`.
        Detector {
            name: "hl7-pid",
            find: Find::Regex(
                re(r"<PID\.(?:3|5|7|11|13|19)>\s*(?:<[A-Z]{2,3}\.\d{1,2}>\s*){0,3}[^<\s]"),
                0,
            ),
            check: always,
        },
        // `GT1|1||Roe^John^^^^||…||19550101|M||||219451100`, `IN1|…`, `NK1|…`.
        Detector {
            name: "hl7-pid",
            find: Find::Regex(
                re(r"(?:^|[^A-Za-z0-9_])((?:GT1|IN1|IN2|NK1)\|(?:[^|\r\n]*\|){4}[^\r\n\x22<]*)"),
                1,
            ),
            check: holds_components,
        },
        // A patient's number: `patient_00123456`, `"patient_id": "00123456"`, `pt# 1234567`.
        Detector {
            name: "mrn",
            find: Find::Regex(
                re(
                    r#"(?i)(?:_|(?-u:\b))(?:patient(?:[ _-]?(?:id|no|num|nbr|number|#))?|(?:pat|pt)[ _-]?(?:id|no|num|nbr|number|#))["']?[ \t]{0,2}[:=#_ -][ \t]{0,2}["']?(\d{6,10})"#,
                ),
                1,
            ),
            check: patient_number,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::super::{GuardConfig, scan};

    fn found(text: &str) -> Vec<String> {
        let mut d: Vec<String> = scan(text, &GuardConfig::default())
            .into_iter()
            .map(|f| f.detector)
            .collect();
        d.sort();
        d.dedup();
        d
    }

    fn refused(attack: &str, text: &str, detectors: &[&str]) {
        let f = found(text);
        for d in detectors {
            assert!(f.iter().any(|x| x == d), "{attack}: {d} not in {f:?} for {text:?}");
        }
    }

    fn clean(text: &str) {
        let f = scan(text, &GuardConfig::default());
        assert!(f.is_empty(), "{text:?}: {f:?}");
    }

    #[test]
    fn a_csv_with_the_ssn_and_birth_date_under_a_header_row_is_refused() {
        let t = "last,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n";
        refused("csv ssn dob", t, &["us-ssn", "dob-with-name"]);
        let f = scan(t, &GuardConfig::default());
        let ssn = f.iter().find(|f| f.detector == "us-ssn").unwrap();
        assert_eq!((ssn.line, ssn.column, ssn.decoded.as_deref()), (2, 10, Some("table")));
        assert_eq!(ssn.span(t), Some("219451100"), "the finding is the cell");
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("219451100") && !json.contains("1980-01-02"), "{json}");
        let red = super::super::redact(t, &f);
        assert!(!red.contains("219451100") && !red.contains("1980-01-02"), "{red}");
    }

    #[test]
    fn a_csv_with_the_mrn_under_a_header_row_is_refused() {
        refused(
            "csv mrn sex dob",
            "mrn,last,first,sex,dob\n00123456,Roe,Jane,F,1980-01-02\n",
            &["mrn", "dob-with-name"],
        );
        refused("csv mrn first last", "mrn,first,last\n00123456,Jane,Roe\n", &["mrn"]);
    }

    #[test]
    fn a_csv_with_a_quoted_name_and_a_sas_date_under_pat_name_and_birth_date_is_refused() {
        refused(
            "PAT_NAME BIRTH_DATE",
            "PAT_NAME,BIRTH_DATE\n\"ROE,JANE\",02JAN1980\n",
            &["dob-with-name"],
        );
    }

    #[test]
    fn tsv_pipe_and_semicolon_tables_are_read_after_their_headers() {
        for sep in ["\t", "|", ";", " | ", ", "] {
            let t = format!("last{sep}first{sep}ssn{sep}dob\nRoe{sep}Jane{sep}219451100{sep}1980-01-02\n");
            refused(&format!("separator {sep:?}"), &t, &["us-ssn", "dob-with-name"]);
            let t = format!("mrn{sep}first{sep}last\n00123456{sep}Jane{sep}Roe\n");
            refused(&format!("separator {sep:?}"), &t, &["mrn"]);
        }
        // CRLF line ends, and rows after other rows.
        refused(
            "csv crlf",
            "id,name,ssn\r\n1,Ann Lee,\r\n2,Jane Roe,219451100\r\n",
            &["us-ssn"],
        );
    }

    #[test]
    fn a_csv_inside_a_report_field_is_read_after_its_header() {
        let csv = "last,first,ssn,dob\nRoe,Jane,219451100,1980-01-02";
        refused(
            "junit system-out",
            &format!("<testcase name=\"export\">\n<system-out>{csv}</system-out>\n</testcase>"),
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "json string",
            &format!("{{\"note\": \"{}\"}}", csv.replace('\n', "\\n")),
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "toml string",
            &format!("note = \"\"\"{csv}\"\"\""),
            &["us-ssn", "dob-with-name"],
        );
    }

    #[test]
    fn a_markdown_table_with_an_ssn_column_is_refused() {
        refused(
            "markdown",
            "| SSN | Patient |\n|---|---|\n| 219451100 | Jane Roe |\n",
            &["us-ssn"],
        );
        refused(
            "markdown aligned",
            "| Patient | DOB |\n|:--------|----:|\n| Jane Roe | 1980-01-02 |\n",
            &["dob-with-name"],
        );
    }

    #[test]
    fn sql_inserts_with_a_column_list_are_read_value_by_value() {
        refused(
            "insert first_name last_name ssn",
            "INSERT INTO patients (first_name, last_name, ssn) VALUES ('Jane', 'Roe', '219451100');",
            &["us-ssn"],
        );
        refused(
            "insert name ssn dob",
            "INSERT INTO patient (name, ssn, dob) VALUES ('Jane Roe', '219451100', '1980-01-02');",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "insert several tuples",
            "insert into `pat` (`id`, `mrn`) values (1, '0012345'),\n  (2, '00123456');",
            &["mrn"],
        );
        refused(
            "insert typed literal",
            "INSERT INTO person (full_name, birth_date) VALUES ('Jane Roe', DATE '1980-01-02');",
            &["dob-with-name"],
        );
    }

    #[test]
    fn rows_without_a_header_naming_a_person_beside_a_sex_and_a_birth_date_are_refused() {
        refused(
            "insert without columns",
            "INSERT INTO patient VALUES (1, 'Roe', 'Jane', 'F', DATE '1980-01-02');",
            &["name-with-date"],
        );
        refused("pipe row", "Roe|Jane|F|1980-01-02|42 Elm St\n", &["name-with-date"]);
        refused("csv row", "Roe,Jane,M,1980-01-02\n", &["name-with-date"]);
    }

    #[test]
    fn file_names_written_last_first_dob_are_refused() {
        for (name, d) in [
            ("reports/Roe_Jane_DOB_19800102.pdf", "dob-with-name"),
            ("reports/ROE_JANE_19800102.pdf", "name-with-date"),
            ("reports/Jane_Roe_1980-01-02.xml", "name-with-date"),
            ("reports/Roe-Jane-1980-01-02.hl7", "name-with-date"),
            ("reports/JaneRoe_01021980.pdf", "name-with-date"),
            ("exports/patient_00123456_Roe_Jane.xml", "mrn"),
        ] {
            refused(name, name, &[d]);
            let f = scan(name, &GuardConfig::default());
            let json = serde_json::to_string(&f).unwrap();
            assert!(!json.contains("Roe") && !json.contains("1980"), "{json}");
        }
    }

    #[test]
    fn a_pydicom_printout_is_refused() {
        refused(
            "pydicom",
            "(0010, 0010) Patient's Name                      PN: 'Roe^Jane'\n(0010, 0020) Patient ID                          LO: '00123456'\n(0010, 0030) Patient's Birth Date                DA: '19800102'",
            &["dicom-patient"],
        );
        clean(
            "(0010, 0010) Patient's Name                      PN: ''\n(0008, 0020) Study Date                          DA: '20260102'",
        );
    }

    #[test]
    fn hl7_v2_xml_and_guarantor_segments_are_refused() {
        refused(
            "hl7 xml",
            "<PID><PID.3><CX.1>00123456</CX.1></PID.3><PID.5><XPN.1><FN.1>Roe</FN.1></XPN.1><XPN.2>Jane</XPN.2></PID.5><PID.7><TS.1>19800102</TS.1></PID.7></PID>",
            &["hl7-pid"],
        );
        refused(
            "gt1",
            "GT1|1||Roe^John^^^^||42 Elm St^^Springfield^IL^62704||||19550101|M||||219451100",
            &["hl7-pid"],
        );
        refused(
            "in1",
            "IN1|1|PLAN01|INS01|ACME INSURANCE||||||||||||Roe^Jane|01|19800102",
            &["hl7-pid"],
        );
        clean("map GT1-3 to the guarantor; <PID.5></PID.5> stays empty");
    }

    #[test]
    fn birth_date_labels_of_clinical_exports_are_read() {
        for label in [
            "BIRTH_DT_TM",
            "birth_datetime",
            "birth_dt",
            "DOB_DT",
            "dateBirth",
            "bdate",
            "dt_of_birth",
            "PAT_BIRTH_DT",
        ] {
            refused(
                label,
                &format!("patient Jane Roe {label}: 1980-01-02"),
                &["dob-with-name"],
            );
        }
    }

    #[test]
    fn mrn_labels_of_clinical_exports_are_read() {
        for t in [
            "MR# 00123456",
            "Med Rec # 00123456",
            "Chart No: 00123456",
            "MRN: 001-234-56",
            r#"{"patient_id": "00123456", "name": "Jane Roe"}"#,
            "pt# 1234567",
        ] {
            refused(t, t, &["mrn"]);
        }
        clean("patient-12345678-1234-4321-8888-abcdefabcdef patient_1234567abc patients 1234567");
    }

    #[test]
    fn a_two_part_camel_case_word_of_software_beside_a_date_in_a_file_name_names_nobody() {
        // Once a known false positive (FP4): `Login` and `Flow` are words of software
        // (`NOT_NAMES`), as are `Integration Suite` and `Google Chrome`.
        clean("junit-LoginFlow_20180102.xml");
        clean("Integration_Suite_2019-06-30.xml");
        refused("a glued name", "JaneRoe19800304.xml", &["name-with-date"]);
    }

    #[test]
    fn a_header_of_long_labels_costs_nothing_and_a_view_past_its_bound_is_refused() {
        // Long labels no detector reads: nothing is written, the cap is never reached.
        let header: Vec<String> = (0..64)
            .map(|i| format!("column_value_number_{i:02}_with_a_long_title"))
            .collect();
        let t = format!(
            "{}\n{}",
            header.join(","),
            format!("{}\n", ["a"; 64].join(",")).repeat(200)
        );
        assert!(matches!(super::delimited(&t), Ok(None)));
        // Short labels a detector reads over one-letter cells grow past twice the input: the
        // view is not built, the document refused where the bound was reached.
        let t = format!("ssn,dob,mrn,name\n{}", "a,b,c,d\n".repeat(2000));
        let Err(super::Capped(start, end)) = super::delimited(&t) else {
            panic!("not capped")
        };
        assert!(start < end && end <= t.len());
        let f = scan(&t, &GuardConfig::default());
        assert!(f.iter().any(|f| f.detector == super::LIMIT_DETECTOR), "{f:?}");
        let lim = f.iter().find(|f| f.detector == super::LIMIT_DETECTOR).unwrap();
        assert_eq!(lim.decoded.as_deref(), Some("table"));
        // Small tables are read whole, with canonical labels.
        let t = "last,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n";
        assert_eq!(
            super::delimited(t).unwrap().unwrap().text,
            "name: Roe\nname: Jane\nssn: 219451100\ndob: 1980-01-02\n"
        );
        let sql = "INSERT INTO p (name, dob) VALUES ('Jane Roe', DATE '1980-01-02'), (NULL, '');";
        assert_eq!(
            super::sql_inserts(sql).unwrap().unwrap().text,
            "name: Jane Roe\ndob: 1980-01-02\n"
        );
        assert_eq!(
            super::file_names("see reports/JaneRoe_01021980.pdf and x-1")
                .unwrap()
                .unwrap()
                .text,
            "reports/Jane Roe 01021980 pdf\n"
        );
    }

    #[test]
    fn a_decoy_table_before_a_real_one_does_not_use_up_the_view() {
        let t = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nx,y\nx,y\nx,y\nx,y\nlast,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n";
        refused("decoy table", t, &["us-ssn", "dob-with-name"]);
        // Many decoys of labels a detector reads, then the real table: refused either way.
        let t = format!(
            "{}last,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n",
            "name,mrn\nx,y\n".repeat(50)
        );
        refused("decoys of read labels", &t, &["us-ssn", "dob-with-name"]);
        let t = format!(
            "note\n{}\nINSERT INTO p (ssn, name) VALUES ('219451100', 'Jane Roe');\n",
            "INSERT INTO d (name, mrn) VALUES ('a', 'b');\n".repeat(40)
        );
        refused("sql decoys", &t, &["us-ssn"]);
    }

    #[test]
    fn canonical_labels_read_the_labels_the_detectors_read() {
        use super::canonical_label as c;
        for (label, want) in [
            ("SSN", Some("ssn")),
            ("patientSsn", Some("ssn")),
            ("S.S.N.", Some("ssn")),
            ("Social Security #", Some("ssn")),
            ("SocSecNo", Some("ssn")),
            ("MRN", Some("mrn")),
            ("MR#", Some("mrn")),
            ("Med Rec #", Some("mrn")),
            ("Chart No", Some("mrn")),
            ("medical_record_number", Some("mrn")),
            ("DOB", Some("dob")),
            ("Date of Birth", Some("dob")),
            ("BIRTH_DT_TM", Some("dob")),
            ("dateBirth", Some("dob")),
            ("PAT_BIRTH_DT", Some("dob")),
            ("d.o.b.", Some("dob")),
            ("patient_id", Some("patient id")),
            ("Pt #", Some("patient id")),
            ("memberId", Some("member id")),
            ("Subscriber No", Some("member id")),
            ("Beneficiary ID", Some("beneficiary id")),
            ("MBI", Some("mbi")),
            ("Driver's License", Some("dln")),
            ("DL#", Some("dln")),
            ("DL No", Some("dln")),
            ("Patient Phone", Some("patient phone")),
            ("Phone (Home)", Some("phone")),
            ("e-mail", Some("email")),
            ("patient_email", Some("patient email")),
            ("last", Some("name")),
            ("PAT_NAME", Some("name")),
            ("Given Name", Some("name")),
            ("Patient", Some("patient")),
            ("password", Some("password")),
            ("client secret", Some("api_secret_key")),
            ("clientSecret", Some("api_secret_key")),
            ("accessToken", Some("api_token")),
            ("token", Some("api_token")),
            ("API_KEY", Some("api_key")),
            ("Access Key", Some("api_key")),
            ("aws_secret_access_key", Some("api_secret_key")),
            ("ENCRYPTION_KEY", Some("api_secret_key")),
            ("Authorization", Some("authorization")),
            ("Prénom du patient", Some("patient")),
            // Labels no detector reads.
            ("DL", None),
            ("Contract Signed", None),
            ("Training Completed", None),
            ("Vendor", None),
            ("status", None),
            ("duration", None),
            ("pass", None),
            ("key", None),
            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", None),
        ] {
            assert_eq!(c(label.as_bytes()), want, "{label}");
        }
    }

    #[test]
    fn a_decoy_header_or_a_junk_line_around_a_real_header_does_not_hide_its_rows() {
        // A decoy of the same width before the real header: the header is read as a row of the
        // decoy and as a header of its own.
        refused(
            "same-width decoy before",
            "a,b,c,d\nlast,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n",
            &["us-ssn", "dob-with-name"],
        );
        // A junk line between the header and the rows: tables are kept for the rest of the text.
        refused(
            "junk line",
            "last,first,ssn,dob\nx\nRoe,Jane,219451100,1980-01-02\n",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "another table's header between",
            "last,first,ssn,dob\nfoo,bar\n1,2\nRoe,Jane,219451100,1980-01-02\n",
            &["us-ssn", "dob-with-name"],
        );
        // A decoy header after the real one, of the same width, with fewer labels a detector
        // reads (or as many): read as a row, the real header stays.
        refused(
            "same-width decoy after",
            "last,first,ssn,dob\nname,x,y,z\nRoe,Jane,219451100,1980-01-02\n",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "decoy with more labels after",
            "last,first,ssn,visit\ndob,dob,dob,dob\nRoe,Jane,219451100,V1\n",
            &["us-ssn"],
        );
    }

    #[test]
    fn a_blank_line_or_a_rule_row_inside_a_table_does_not_end_it() {
        refused(
            "blank line",
            "last,first,ssn,dob\n\nRoe,Jane,219451100,1980-01-02\n",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "blank lines with spaces",
            "last,first,ssn,dob\nAnn,Lee,,\n   \n\t\nRoe,Jane,219451100,1980-01-02\n",
            &["us-ssn"],
        );
        // psql.
        refused(
            "psql",
            " last | first |    ssn    |    dob\n------+-------+-----------+------------\n Roe  | Jane  | 219451100 | 1980-01-02\n(1 row)\n",
            &["us-ssn", "dob-with-name"],
        );
        // MySQL and tabulate's grid.
        refused(
            "mysql",
            "+------+-------+-----------+\n| last | first | ssn       |\n+------+-------+-----------+\n| Roe  | Jane  | 219451100 |\n+------+-------+-----------+\n",
            &["us-ssn"],
        );
        refused(
            "tabulate grid",
            "+--------+-------------+\n| name   | dob         |\n+========+=============+\n| Jane Roe | 1980-01-02 |\n+--------+-------------+\n",
            &["dob-with-name"],
        );
    }

    #[test]
    fn a_trailing_comma_or_empty_header_cells_do_not_hide_a_table() {
        refused(
            "trailing comma on rows",
            "last,first,ssn,dob\nRoe,Jane,219451100,1980-01-02,\n",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "trailing comma everywhere",
            "last,first,ssn,dob,\nRoe,Jane,219451100,1980-01-02,\n",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "empty trailing header cells",
            "last,first,ssn,,,\nRoe,Jane,219451100,x,y,z\n",
            &["us-ssn"],
        );
        // pandas' and R's index column.
        refused(
            "pandas index",
            ",last,first,ssn,dob\n0,Roe,Jane,219451100,1980-01-02\n",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "R index",
            "\"\",\"last\",\"first\",\"ssn\"\n\"1\",\"Roe\",\"Jane\",\"219451100\"\n",
            &["us-ssn"],
        );
    }

    #[test]
    fn headers_with_symbols_non_ascii_letters_many_columns_or_long_labels_are_read() {
        for (label, value, d) in [
            ("SSN #", "219451100", "us-ssn"),
            ("# ssn", "219451100", "us-ssn"),
            ("Patient SSN ($)", "219451100", "us-ssn"),
            ("ssn*", "219451100", "us-ssn"),
            ("ssn?", "219451100", "us-ssn"),
            ("SSN & ID", "219451100", "us-ssn"),
            ("ssn %", "219451100", "us-ssn"),
            ("SSN:", "219451100", "us-ssn"),
            ("Prénom du patient", "Jane Roe", "dob-with-name"),
            (
                "Patient Social Security Number As Recorded At Admission",
                "219451100",
                "us-ssn",
            ),
        ] {
            let t = format!("{label},dob\n{value},1980-01-02\n");
            refused(label, &t, &[d]);
        }
        let mut header: Vec<String> = (0..80).map(|i| format!("c{i}")).collect();
        header.push("ssn".into());
        let mut row: Vec<String> = (0..80).map(|i| i.to_string()).collect();
        row.push("219451100".into());
        refused(
            "81 columns",
            &format!("{}\n{}\n", header.join(","), row.join(",")),
            &["us-ssn"],
        );
    }

    #[test]
    fn cr_only_line_ends_and_quoted_cells_holding_a_line_break_do_not_end_a_table() {
        refused(
            "cr only",
            "last,first,ssn,dob\rRoe,Jane,219451100,1980-01-02\r",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "quoted newline",
            "last,first,note,ssn\nLee,Ann,\"two\nlines\",\nRoe,Jane,\"a\nb\",219451100\n",
            &["us-ssn"],
        );
        refused(
            "quoted newline in the value",
            "name,ssn\n\"Roe,\nJane\",\"219451100\"\n",
            &["us-ssn"],
        );
        // A table hidden inside a decoy row's quoted cell is still read.
        refused(
            "table inside a quoted cell",
            "x,y\n1,\"\nlast,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n\"\n",
            &["us-ssn", "dob-with-name"],
        );
        // A quote that never closes is a character of its cell: the rows after it are read.
        refused("unclosed quote", "name,ssn\n\"Roe,Jane\nRoe,219451100\n", &["us-ssn"]);
        // Quotes that open a cell on every row, each closed on the next line: bounded, and a
        // view past its bound is refused rather than read only raw.
        let t = format!("name,ssn\n{}", "\"a,b\n".repeat(20_000));
        let f = found(&t);
        assert_eq!(f, vec![super::LIMIT_DETECTOR.to_string()], "{f:?}");
    }

    #[test]
    fn sql_casts_function_values_and_prefixed_strings_are_read() {
        for (attack, t, d) in [
            (
                "::date cast",
                "INSERT INTO p (name, dob) VALUES ('Jane Roe', '1980-01-02'::date);",
                "dob-with-name",
            ),
            (
                "now()",
                "INSERT INTO p (created, ssn, name) VALUES (now(), '219451100', 'Jane Roe');",
                "us-ssn",
            ),
            (
                "N string",
                "INSERT INTO p (name, ssn) VALUES (N'Jane Roe', N'219451100');",
                "us-ssn",
            ),
            (
                "E string",
                "INSERT INTO p (name, ssn) VALUES (E'Jane\\'s', E'219451100');",
                "us-ssn",
            ),
            (
                "ssms",
                "INSERT [dbo].[Patient] ([Name], [BirthDate]) VALUES (N'Jane Roe', CAST(N'1980-01-02' AS Date))\nGO\n",
                "dob-with-name",
            ),
            (
                "insert or replace",
                "INSERT OR REPLACE INTO p (name, ssn) VALUES ('Jane Roe', '219451100');",
                "us-ssn",
            ),
            (
                "replace into",
                "REPLACE INTO p (name, ssn) VALUES ('Jane Roe', '219451100');",
                "us-ssn",
            ),
            (
                "backslash escape",
                "INSERT INTO p (note, name, ssn) VALUES ('it\\'s', 'Jane Roe', '219451100');",
                "us-ssn",
            ),
            (
                "long string",
                &format!(
                    "INSERT INTO p (note, ssn) VALUES ('{}', '219451100');",
                    "x".repeat(5000)
                ),
                "us-ssn",
            ),
            (
                "to_date",
                "INSERT INTO p (name, dob) VALUES ('Jane Roe', to_date('02-01-1980', 'DD-MM-YYYY'));",
                "dob-with-name",
            ),
        ] {
            refused(attack, t, &[d]);
        }
    }

    #[test]
    fn sql_insert_select_dollar_quotes_and_concatenation_are_read() {
        for (attack, t, d) in [
            (
                "insert select",
                "INSERT INTO patients (name, ssn) SELECT 'Jane Roe', '219451100';",
                "us-ssn",
            ),
            (
                "insert select from, union all",
                "INSERT INTO p (id, mrn) SELECT 1, 'x' FROM dual UNION ALL SELECT 2, '00123456' FROM dual;",
                "mrn",
            ),
            (
                "insert select with aliases",
                "insert into p (name, dob)\nselect 'Jane Roe' as name, '1980-01-02' as dob",
                "dob-with-name",
            ),
            (
                "dollar quoted",
                "INSERT INTO p (name, ssn) VALUES ($$Jane Roe$$, $q$219451100$q$);",
                "us-ssn",
            ),
            (
                "concatenated with ||",
                "INSERT INTO p (name, ssn) VALUES ('Jane Roe', '219' || '45' || '1100');",
                "us-ssn",
            ),
            (
                "concatenated with +",
                "INSERT INTO p (name, ssn) VALUES (N'Jane Roe', N'219' + N'451100');",
                "us-ssn",
            ),
            (
                "concat()",
                "INSERT INTO p (name, ssn) VALUES ('Jane Roe', CONCAT('219', '451100'));",
                "us-ssn",
            ),
            (
                "concat_ws()",
                "INSERT INTO p (name, ssn) VALUES ('Jane Roe', concat_ws('-', '219', '45', '1100'));",
                "us-ssn",
            ),
        ] {
            refused(attack, t, &[d]);
        }
        // Not strings: a parameter `$1`, an unclosed select list (fail closed: the statement
        // is not read, nothing hidden behind it is stored either — the raw text still is read).
        clean("INSERT INTO p (id, note) SELECT $1, $2;");
        clean("INSERT INTO t (a, b) SELECT 1, 2 FROM x WHERE y = 'z';");
    }

    #[test]
    fn a_table_or_an_insert_written_in_hex_or_base64_is_read_as_one() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        // 32 characters of base64: too short for `high-entropy`, a CSV of two lines inside.
        let short = b64("ssn,last\n219451100,Roe");
        assert!(short.len() <= 32, "{short}");
        refused(
            "csv in short base64",
            &format!("<system-out>{short}</system-out>"),
            &["us-ssn"],
        );
        refused(
            "csv in hex",
            &format!(
                "{{\"blob\": \"{}\"}}",
                hex::encode("last,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n")
            ),
            &["us-ssn"],
        );
        refused(
            "insert in base64",
            &format!(
                "note {}",
                b64("INSERT INTO p (name, ssn) VALUES ('Jane Roe', '219451100');")
            ),
            &["us-ssn"],
        );
        refused(
            "json table in base64",
            &format!("x={}", b64(r#"[["mrn","sex"],["00123456","F"]]"#)),
            &["mrn"],
        );
    }

    #[test]
    fn an_unparsed_sql_value_drops_neither_its_tuple_nor_the_later_ones() {
        refused(
            "unparsed then later tuples",
            "INSERT INTO p (id, ssn) VALUES (@id, '123'), ({x}, '456'), ($1, '219451100');",
            &["us-ssn"],
        );
        refused(
            "expression value",
            "INSERT INTO p (a, ssn) VALUES ('a' || 'b', '219451100'), (1 + 2, '219451101');",
            &["us-ssn"],
        );
        // A string that never closes swallows the rest: an insert inside it is refused, not
        // left to the raw text.
        let t = "INSERT INTO d (a, b) VALUES ('x, 1);\nINSERT INTO p (name, ssn) VALUES ('Jane Roe', '219451100');\n";
        let f = found(t);
        assert!(f.iter().any(|d| d == "us-ssn" || d == super::LIMIT_DETECTOR), "{f:?}");
    }

    #[test]
    fn secrets_in_a_table_column_are_refused() {
        let key = "sk9f8e7d6c5b4a3928171615141312111009f8e7";
        refused(
            "api_key column",
            &format!("service,api_key\nbilling,{key}\n"),
            &["labelled-secret"],
        );
        refused(
            "secret column",
            &format!("name\tsecret\nbilling\t{key}\n"),
            &["labelled-secret"],
        );
        refused(
            "client secret column",
            &format!("| app | Client Secret |\n|---|---|\n| web | {key} |\n"),
            &["labelled-secret"],
        );
        refused(
            "aws secret column",
            "user,aws_secret_access_key\nci,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
            &["aws-secret-key"],
        );
        refused(
            "sql token",
            &format!("INSERT INTO creds (name, token) VALUES ('ci', '{key}');"),
            &["labelled-secret"],
        );
        // A password column: judged where passwords are (people's text and the log).
        let cfg = GuardConfig {
            password_assignments: true,
            ..GuardConfig::default()
        };
        let t = "user,password\nadmin,Hunter2Hunter2\n";
        assert!(scan(t, &cfg).iter().any(|f| f.detector == "password-assignment"), "{t}");
        // A column of words under `token` is no password.
        assert!(scan("token,count\ntokenization,12\n", &cfg).is_empty());
    }

    #[test]
    fn secret_labels_written_other_ways_are_read() {
        let key = "sk9f8e7d6c5b4a3928171615141312111009f8e7";
        let aws = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for (attack, t, d) in [
            (
                "csv doubled quotes",
                format!("id,json\n1,\"{{\"\"api_key\"\": \"\"{key}\"\"}}\"\n"),
                "labelled-secret",
            ),
            (
                "xml element",
                format!("<Credentials><SecretAccessKey>{aws}</SecretAccessKey></Credentials>"),
                "aws-secret-key",
            ),
            ("ruby hash", format!("{{ 'api_key' => '{key}' }}"), "labelled-secret"),
            ("camelCase", format!("clientSecret: {key}"), "labelled-secret"),
            (
                "camelCase token",
                format!("{{\"accessToken\": \"{key}\"}}"),
                "labelled-secret",
            ),
            ("SECRET_KEY", format!("SECRET_KEY={key}"), "labelled-secret"),
            ("ENCRYPTION_KEY", format!("ENCRYPTION_KEY={key}"), "labelled-secret"),
            ("spaces", format!("client secret: {key}"), "labelled-secret"),
        ] {
            refused(attack, &t, &[d]);
        }
        let cfg = GuardConfig {
            password_assignments: true,
            ..GuardConfig::default()
        };
        for t in [
            "'password' => 'Hunter2Hunter2'",
            "<password>Hunter2Hunter2</password>",
            "\"\"password\"\": \"\"Hunter2Hunter2\"\"",
            "client secret: Hunter2Hunter2",
        ] {
            assert!(scan(t, &cfg).iter().any(|f| f.detector == "password-assignment"), "{t}");
        }
        // Look-alikes: a password field's label in HTML, a paging token's name.
        for t in [
            "<label for=\"password\">Password</label> <input type=password>",
            "accessKeyId: AKIA",
            "the client secret is rotated monthly",
        ] {
            assert!(scan(t, &cfg).is_empty(), "{t}");
        }
    }

    #[test]
    fn file_names_over_255_bytes_or_with_dots_between_words_are_read() {
        let long = format!("{}/reports/Roe_Jane_19800102.pdf", "dir/".repeat(80));
        refused("long path", &long, &["name-with-date"]);
        let long_name = format!("{}_Roe_Jane_19800102.pdf", "x".repeat(300));
        refused("long name", &long_name, &["name-with-date"]);
        refused("dots", "Jane.Roe.1980-01-02.pdf", &["name-with-date"]);
        refused(
            "dots compact date",
            "exports/Roe.Jane.19800102.pdf",
            &["name-with-date"],
        );
    }

    #[test]
    fn a_data_dictionary_of_phi_field_names_stays_clean() {
        let fields = [
            ("ssn", "Social Security Number"),
            ("dob", "Date of birth"),
            ("mrn", "Medical record number"),
            ("first_name", "Given name"),
            ("phone", "Phone number"),
            ("email", "E-mail address"),
            ("member_id", "Member identifier"),
            ("dl_number", "Driver's license number"),
            ("mbi", "Medicare beneficiary id"),
        ];
        let mut md = String::from("| Field | Description |\n|---|---|\n");
        let mut csv = String::from("field,description\n");
        for i in 0..30 {
            for (f, d) in fields {
                md.push_str(&format!("| {f}_{i} | {d} |\n"));
                csv.push_str(&format!("{f},{d} ({i})\n"));
            }
        }
        clean(&md);
        clean(&csv);
    }

    #[test]
    fn title_case_headers_over_old_dates_business_file_names_and_a_download_column_stay_clean() {
        for t in [
            "Vendor,Contract Signed\nAcme,2018-04-01\n",
            "Employee Group,Training Completed\nNurses,2019-03-02\n",
            "Course,Training Completed,Policy Signed\nHIPAA,2018-04-01,2019-01-02\n",
            "Vendor_Contract_2018-04-01.pdf",
            "SOC2_Type_II_Report_2019-12-31.pdf",
            "audits/Annual_Security_Assessment_2019-06-30.pdf",
            "package,version,DL\nserde,1.0.219,12345678\nregex,1.11.1,98765432\n",
            "| Package | DL |\n|---|---|\n| serde | 219451100 |\n",
            "ward-cli.1.2.3.2024-01-02.tar.gz",
            "com.example.app.20240102123456",
        ] {
            clean(t);
        }
    }

    #[test]
    fn normal_tables_sql_and_artifact_names_stay_clean() {
        for t in [
            // Test results, pytest's CSV, a dependency list, a coverage table.
            "name,status,duration,date\ntest_login,passed,1.2,2024-01-02\ntest_logout,failed,0.4,2019-03-02\nTestExportFlow,passed,3.1,2018-05-06\n",
            "nodeid,outcome,duration\ntests/test_api.py::test_get_item[219451100],passed,0.0123\ntests/test_api.py::test_list,passed,0.2\n",
            "package,version,license,published\nserde,1.0.219,MIT OR Apache-2.0,2019-01-02\nregex,1.11.1,MIT,2018-03-04\n",
            "file\tlines\tcovered\tpercent\nsrc/lib.rs\t1234567\t1200000\t97.2\n",
            "| Service | Version | Date |\n|---|---|---|\n| Release Notes | 1.2.3 | 2019-03-02 |\n| api | 2.0.0 | 2026-01-02 |\n",
            "| Metric | Value |\n|--------|-------|\n| build_id | 219451100 |\n| run | 123456789 |\n",
            "id;name;created\n100234;Nightly Build;2018-01-02\n",
            "INSERT INTO builds (id, name, started) VALUES (219451100, 'Nightly Build', '2018-01-02');",
            "INSERT INTO releases VALUES (1, 'Release', 'Notes', DATE '2019-03-02');",
            "service,version,date\napi,1.2.3,2026-01-02\nRelease,Notes,2019-03-02\nbuild,passed,2019-03-02",
            // Artifact names.
            "ward-cli_1.2.3_2024-01-02.tar.gz",
            "test_results_2024-05-01.xml",
            "release-notes-2023-11-30.md",
            "junit-TestLoginFlow-20240102.xml",
            "dist/app-1.2.3-x86_64-unknown-linux-gnu_20190102.tar.gz",
            "reports/Release_Notes_2019-03-02.pdf",
            "build_2019-03-02_123456.log",
            "coverage-report-20180102.html",
        ] {
            clean(t);
        }
    }

    #[test]
    fn a_header_with_one_odd_cell_still_labels_its_rows() {
        let long = "x".repeat(200);
        for odd in [
            "notes [free text]",
            "reply@",
            "2nd visit",
            "-delta",
            "cost+tax",
            "x=1",
            "{json}",
            "<b>",
            "!flag",
            "say \"hi\"",
            long.as_str(),
            "comments from the nurse about the visit of today",
        ] {
            let csv = format!("last,first,ssn,mrn,dob,{odd}\nRoe,Jane,219451100,A00123,1980-03-04,ok\n");
            refused(odd, &csv, &["us-ssn", "dob-with-name"]);
            refused(
                odd,
                &format!("<testcase name=\"t\"><system-out>{csv}</system-out></testcase>"),
                &["us-ssn", "dob-with-name"],
            );
            // First, or behind a decoy of its width.
            refused(odd, &format!("{odd},last,ssn\nok,Roe,219451100\n"), &["us-ssn"]);
            refused(odd, &format!("a,b,c,d,e,f\n{csv}"), &["us-ssn", "dob-with-name"]);
        }
        // One label a detector reads, and more field names than odd cells.
        refused(
            "one read label",
            "Height [cm],Visit,ssn\n180,V1,219451100\n",
            &["us-ssn"],
        );
        // An odd cell is a label no detector reads: its column is not written.
        assert_eq!(
            super::delimited("ssn,dob,name [x]\n219451100,1980-01-02,Jane Roe\n")
                .unwrap()
                .unwrap()
                .text,
            "ssn: 219451100\ndob: 1980-01-02\n"
        );
    }

    #[test]
    fn headers_with_units_brackets_and_numbers_over_clean_rows_stay_clean() {
        for t in [
            "Sample,Height [cm],Weight (kg),#visits,2nd visit,last updated\nS-001,180,75,3,no,2024-01-02\nS-002,165,60,1,yes,2019-03-02\n",
            "test,first run [utc],last run [utc],duration (s),result@ci\nTestLoginFlow,2024-01-02,2024-01-03,1.2,passed\ntest_logout,2019-03-02,2019-03-04,0.4,failed\n",
            "| Build | Name [short] | Phone (ext) | Started @ |\n|---|---|---|---|\n| 219451100 | nightly | 4411 | 2019-03-02 |\n",
        ] {
            clean(t);
        }
    }

    #[test]
    fn a_row_longer_or_shorter_than_its_header_is_read_under_its_labels() {
        refused(
            "extra cell",
            "last,first,ssn,mrn,dob\nRoe,Jane,219451100,A00123,1980-03-04,extra\n",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "unquoted comma in the last cell",
            "last,first,ssn,city\n\"Roe\",Jane,219451100,Springfield, IL\n",
            &["us-ssn"],
        );
        // An unquoted comma before the value shifts it: read from the last cell back too.
        refused(
            "unquoted comma in an earlier cell",
            "name,note,ssn\nRoe,seen, then sent home,219451100\n",
            &["us-ssn"],
        );
        refused(
            "junit longer row",
            "<system-out>last,first,ssn,mrn,dob\nRoe,Jane,219451100,A00123,1980-03-04,extra\n</system-out>",
            &["us-ssn", "dob-with-name"],
        );
        refused(
            "markdown longer row",
            "| SSN | Name |\n|---|---|\n| 219451100 | Jane Roe | x |\n",
            &["us-ssn"],
        );
        // Trailing cells left out.
        refused(
            "shorter row",
            "last,first,ssn,dob,visit,notes\nRoe,Jane,219451100\n",
            &["us-ssn"],
        );
        // A row that fits a table with another separator is read under that one first.
        refused(
            "fits another separator first",
            "a;b\nname,ssn\nx;y;Roe,219451100\n",
            &["us-ssn"],
        );
    }

    #[test]
    fn rows_with_extra_or_missing_cells_in_clean_tables_stay_clean() {
        for t in [
            "name,status,duration\ntest_login,passed,1.2,retried, then passed\ntest_logout,failed\n",
            "package,version,published\nserde,1.0.219,2019-01-02,MIT, Apache-2.0\nregex,1.11.1\n",
            "| Service | Version |\n|---|---|\n| api | 1.2.3 | 2019-03-02 |\n| web |\n",
        ] {
            clean(t);
        }
    }

    #[test]
    fn a_markdown_table_opening_a_field_is_read() {
        let md = "| SSN | Name |\n|---|---|\n| 219451100 | Roe |\n";
        refused(
            "junit system-out",
            &format!("<testcase name=\"t\"><system-out>{md}</system-out></testcase>"),
            &["us-ssn"],
        );
        refused(
            "json string",
            &format!("{{\"report\": \"{}\"}}", md.replace('\n', "\\n")),
            &["us-ssn"],
        );
        refused(
            "cdata",
            &format!("<system-out><![CDATA[{md}]]></system-out>"),
            &["us-ssn"],
        );
        refused("toml string", &format!("report = '''{md}'''"), &["us-ssn"]);
        refused(
            "no trailing line break",
            "<system-out>| Patient | DOB |\n|---|---|\n| Jane Roe | 1980-01-02 |</system-out>",
            &["dob-with-name"],
        );
    }

    #[test]
    fn a_clean_markdown_table_opening_a_field_stays_clean() {
        for t in [
            "<system-out>| Service | Version | Date |\n|---|---|---|\n| api | 1.2.3 | 2019-03-02 |\n</system-out>",
            "{\"report\": \"| Metric | Value |\\n|---|---|\\n| build_id | 219451100 |\\n\"}",
        ] {
            clean(t);
        }
    }

    #[test]
    fn file_names_with_other_separators_or_a_glued_name_are_refused() {
        for name in [
            "Roe+Jane+19800304.xml",
            "Roe~Jane~19800304.xml",
            "Roe@Jane@19800304.xml",
            "Roe(Jane)19800304.xml",
            "Roe=Jane=19800304.xml",
            "JaneRoe19800304.xml",
            "Roe__Jane__1980_03_04.xml",
            "reports/Roe_Jane_04_03_1980.pdf",
        ] {
            refused(name, name, &["name-with-date"]);
            let f = scan(name, &GuardConfig::default());
            let json = serde_json::to_string(&f).unwrap();
            assert!(!json.contains("Roe") && !json.contains("1980"), "{json}");
        }
        assert_eq!(
            super::file_names("Roe__Jane__1980_03_04.xml").unwrap().unwrap().text,
            "Roe Jane 1980-03-04 xml\n"
        );
        assert_eq!(
            super::file_names("JaneRoe19800304.xml").unwrap().unwrap().text,
            "Jane Roe 19800304 xml\n"
        );
    }

    #[test]
    fn artifact_names_with_other_separators_stay_clean() {
        for t in [
            "ward-cli+build.20240102.tar.gz",
            "app@1.2.3_20240102.zip",
            "Vendor_Contract(2018-04-01).pdf",
            "Vendor+Contract+2018-04-01.pdf",
            "SOC2~Type~II~Report~2019-12-31.pdf",
            "build=20240102123456",
            "coverage(2019_03_02).html",
            "x86_64_linux_2019_03_02.tar.gz",
            "ward-cli_1.2.3_2024-01-02.tar.gz",
            "junit-TestLoginFlow20240102.xml",
            "release@2019-03-02+build.123456",
            "sha256=9f8e7d6c5b4a39281716151413121110",
        ] {
            clean(t);
        }
    }
}
