//! Records written as tables and file names, read the way a person reads them (2026-12-04,
//! sixth round): the label of a value stands in a header row or a column list, not beside it,
//! and a file name writes its words with `_` and `-` between them.
//!
//! - [`delimited`] — CSV, TSV, `|`- and `;`-separated tables and Markdown tables: under a header
//!   row whose cells all look like field names (1–40 characters: letters, digits, spaces and
//!   `_ . # / ( ) ' -`, starting with a letter or `_`; 2 to [`MAX_COLUMNS`] of them), each
//!   non-empty cell of every following row with as many cells is read as `header: cell`, one
//!   per line, mapped back to the cell (quotes included). A row with another number of cells
//!   ends the table (and may start the next one). Quoted cells (`"ROE,JANE"`) are read without
//!   their quotes; Markdown's rule row (`|---|:--:|`) is passed over. A header inside a field
//!   starts after the field's opening (`<system-out>last,…`, `"note": "last,…`).
//!   Read by [`TABLE_DETECTORS`] only (as is [`sql_inserts`]).
//! - [`sql_inserts`] — `INSERT INTO t (a, b) VALUES (…), (…)`: each value read as
//!   `column: value` (strings without their quotes, `DATE '…'` as its string), when the tuple
//!   holds as many values as the column list. An `INSERT` without a column list is left to the
//!   raw text (`name-with-date` reads `'Roe', 'Jane', 'F', DATE '1980-01-02'`).
//! - [`file_names`] — every path-like run (letters, digits, `_ . / \ -`, at most
//!   [`MAX_PATH`] bytes) holding six digits or more and a `_` or `-`: `_` read as a space, `-`
//!   too unless between two digits (a date keeps its dashes), and a word of two capitalised
//!   parts split (`JaneRoe` → `Jane Roe`), so `reports/Roe_Jane_DOB_19800102.pdf` reads
//!   `reports/Roe Jane DOB 19800102.pdf`. Read by [`FILE_NAME_DETECTORS`] only.
//!
//! Each view is one pass over the text (a header is parsed once per table; a row costs its
//! length), and holds only the cells, values or runs it rewrites. **Bounded**: a view stops at
//! [`MAX_GROWTH`] times the length of its input; what comes after (a table of hundreds of long
//! headers over one-letter cells, built to exhaust it) is judged as it stands only — listed in
//! docs/CONTROLS.md "Known gaps".
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
pub const MAX_COLUMNS: usize = 64;
/// The longest header cell.
pub const MAX_HEADER_CELL: usize = 40;
/// The longest path-like run [`file_names`] reads.
pub const MAX_PATH: usize = 255;
/// A view of this module is at most this many times as long as its input (plus one line).
pub const MAX_GROWTH: usize = 2;
/// The detectors that read [`delimited`] and [`sql_inserts`]: those of labelled values (a
/// cell's header is its label) — not the secrets, the interchange formats or `high-entropy`,
/// whose values the raw text shows as they are.
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
];
/// The detectors that read [`file_names`]: a person named, labelled or beside a birth date, and
/// labelled numbers.
pub const FILE_NAME_DETECTORS: &[&str] = &["name-with-date", "dob-with-name", "mrn", "us-ssn", "patient-contact"];

/// The cells of one line split at `sep` (quotes respected: `"a,b"` is one cell), as byte
/// ranges of `line` with the spaces around them trimmed; `None` past [`MAX_COLUMNS`] + 1.
fn split_cells(line: &[u8], sep: u8, cells: &mut Vec<(usize, usize)>) -> bool {
    cells.clear();
    let mut i = 0;
    loop {
        while i < line.len() && (line[i] == b' ' || (line[i] == b'\t' && sep != b'\t')) {
            i += 1;
        }
        let start = i;
        if line.get(i) == Some(&b'"') {
            i += 1;
            while i < line.len() {
                if line[i] == b'"' {
                    if line.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
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

/// A header cell that looks like a field name (see the module's docs).
fn field_name(cell: &[u8]) -> bool {
    let c = unquote(cell);
    !c.is_empty()
        && c.len() <= MAX_HEADER_CELL
        && (c[0].is_ascii_alphabetic() || c[0] == b'_')
        && c.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'.' | b'#' | b'/' | b'(' | b')' | b'\'' | b'-')
        })
        && c.iter().filter(|&&b| b == b' ').count() <= 3
}

/// A Markdown table's rule row (`|---|:---:|`).
fn markdown_rule(line: &[u8]) -> bool {
    line.contains(&b'-') && line.iter().all(|&b| matches!(b, b'|' | b'-' | b':' | b' ' | b'\t'))
}

/// The part of a line between a Markdown table's outer pipes (or the line).
fn inner(line: &[u8], markdown: bool) -> (usize, &[u8]) {
    if !markdown {
        return (0, line);
    }
    let lead = line.iter().take_while(|&&b| b == b' ').count();
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
    /// The header's labels (byte ranges of the text, quotes dropped).
    labels: Vec<(usize, usize)>,
    sep: u8,
    markdown: bool,
}

/// Tables under a header row of field names, each data cell read as `header: cell` (see the
/// module's docs); `None` when there is none.
pub fn delimited(src: &str) -> Option<View> {
    let bytes = src.as_bytes();
    if !bytes.iter().any(|&b| matches!(b, b',' | b'\t' | b'|' | b';')) {
        return None;
    }
    let mut view = TokenView::new(src, kind::TABLE)?;
    let cap = src.len().saturating_mul(MAX_GROWTH);
    let mut table: Option<Table> = None;
    let mut cells = Vec::new();
    let mut line_text = String::new();
    let mut at = 0;
    'lines: while at < bytes.len() {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| at + p);
        let mut line_end = end;
        if line_end > at && bytes[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let line = &bytes[at..line_end];
        let line_at = at;
        at = end + 1;
        if let Some(t) = &table {
            if t.markdown && markdown_rule(line) {
                continue;
            }
            let (off, row) = inner(line, t.markdown);
            if split_cells(row, t.sep, &mut cells) && cells.len() == t.labels.len() && !line.is_empty() {
                for (&(c0, c1), &(l0, l1)) in cells.iter().zip(&t.labels) {
                    let value = unquote(&row[c0..c1]);
                    if value.is_empty() {
                        continue;
                    }
                    line_text.clear();
                    line_text.push_str(&src[l0..l1]);
                    line_text.push_str(": ");
                    line_text.push_str(&String::from_utf8_lossy(value));
                    line_text.push('\n');
                    if view.len() + line_text.len() > cap {
                        break 'lines;
                    }
                    let from = line_at + off + c0;
                    view.push(from, line_at + off + c1, &line_text);
                }
                continue;
            }
            table = None;
        }
        // A header row? Tried once per line, with each separator that occurs in it.
        let markdown = line.iter().find(|&&b| b != b' ') == Some(&b'|');
        for sep in [b'\t', b'|', b';', b','] {
            if !line.contains(&sep) || (markdown && sep != b'|') {
                continue;
            }
            let (off, row) = inner(line, markdown);
            if !split_cells(row, sep, &mut cells) || !(2..=MAX_COLUMNS).contains(&cells.len()) {
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
            if cells.iter().all(|&(a, b)| field_name(&row[a..b])) {
                let labels = cells
                    .iter()
                    .map(|&(a, b)| {
                        let cell = &row[a..b];
                        let q = usize::from(unquote(cell).len() < cell.len());
                        (line_at + off + a + q, line_at + off + b - q)
                    })
                    .collect();
                table = Some(Table { labels, sep, markdown });
                break;
            }
        }
    }
    view.finish()
}

fn insert_re() -> &'static Regex {
    static R: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r#"(?i)(?-u:\b)insert[ \t\r\n]+(?:ignore[ \t\r\n]+)?into[ \t\r\n]+[A-Za-z0-9_."`\[\]]{1,128}[ \t\r\n]*\(([^()]{1,4096})\)[ \t\r\n]*values[ \t\r\n]*"#)
            .expect("built-in pattern")
    })
}

/// One SQL literal at `i` of `b` (after spaces): `(start, end, value start, value end, next)`,
/// or `None` where no literal stands. A string's value is its inside (`''` kept as written); a
/// typed literal (`DATE '…'`) is its string.
fn sql_value(b: &[u8], mut i: usize) -> Option<(usize, usize, usize, usize, usize)> {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let start = i;
    let string = |i: usize| -> Option<usize> {
        let q = *b.get(i)?;
        let mut j = i + 1;
        while j < b.len() && j - i <= 4096 {
            if b[j] == q {
                if b.get(j + 1) == Some(&q) {
                    j += 2;
                    continue;
                }
                return Some(j + 1);
            }
            j += 1;
        }
        None
    };
    match b.get(i)? {
        b'\'' | b'"' => {
            let e = string(i)?;
            Some((start, e, i + 1, e - 1, e))
        }
        c if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.') => {
            let mut j = i;
            while j < b.len()
                && j - i <= 64
                && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'-' | b'+' | b'.' | b'_'))
            {
                j += 1;
            }
            // A typed literal: a word, spaces, a string.
            let mut k = j;
            while b.get(k).is_some_and(|c| *c == b' ' || *c == b'\t') {
                k += 1;
            }
            if k > j && b.get(k) == Some(&b'\'') && b[i].is_ascii_alphabetic() {
                let e = string(k)?;
                return Some((start, e, k + 1, e - 1, e));
            }
            Some((start, j, i, j, j))
        }
        _ => None,
    }
}

/// `INSERT INTO t (columns) VALUES (…), …` with each value read as `column: value` (see the
/// module's docs); `None` when there is none.
pub fn sql_inserts(src: &str) -> Option<View> {
    let mut view = TokenView::new(src, kind::TABLE)?;
    let b = src.as_bytes();
    let cap = src.len().saturating_mul(MAX_GROWTH);
    let mut reach = 0;
    let mut line = String::new();
    let mut columns: Vec<(usize, usize)> = Vec::new();
    let mut values: Vec<(usize, usize, usize, usize)> = Vec::new();
    for c in insert_re().captures_iter(src) {
        let (Some(whole), Some(cols)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if whole.start() < reach {
            continue;
        }
        columns.clear();
        for part in cols.as_str().split(',') {
            let off = part.as_ptr() as usize - src.as_ptr() as usize;
            let t = part.trim();
            let lead = part.len() - part.trim_start().len();
            let inner = unquote(t.as_bytes());
            let q = usize::from(inner.len() < t.len());
            if !field_name(inner) || columns.len() == MAX_COLUMNS {
                columns.clear();
                break;
            }
            columns.push((off + lead + q, off + lead + q + inner.len()));
        }
        if columns.len() < 2 {
            continue;
        }
        let mut i = whole.end();
        // Tuples, each `(` values `)`, joined by `,`.
        'tuples: while b.get(i) == Some(&b'(') {
            values.clear();
            i += 1;
            loop {
                let Some((s, e, v0, v1, next)) = sql_value(b, i) else {
                    break 'tuples;
                };
                values.push((s, e, v0, v1));
                i = next;
                while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                match b.get(i) {
                    Some(b',') if values.len() < MAX_COLUMNS => i += 1,
                    Some(b')') => {
                        i += 1;
                        break;
                    }
                    _ => break 'tuples,
                }
            }
            reach = i;
            if values.len() == columns.len() {
                for (&(s, e, v0, v1), &(c0, c1)) in values.iter().zip(&columns) {
                    if v1 <= v0 || src[v0..v1].eq_ignore_ascii_case("null") {
                        continue;
                    }
                    line.clear();
                    line.push_str(&src[c0..c1]);
                    line.push_str(": ");
                    line.push_str(&src[v0..v1]);
                    line.push('\n');
                    if view.len() + line.len() > cap {
                        return view.finish();
                    }
                    view.push(s, e, &line);
                }
            }
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
    view.finish()
}

/// A byte of a path-like run.
fn path_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'\\' | b'-')
}

/// Path-like runs with `_`/`-` read as spaces (see the module's docs); `None` when there is
/// none.
pub fn file_names(src: &str) -> Option<View> {
    let b = src.as_bytes();
    if !b.iter().any(|&c| c == b'_' || c == b'-') {
        return None;
    }
    let mut view = TokenView::new(src, kind::FILE_NAME)?;
    let cap = src.len().saturating_mul(MAX_GROWTH);
    let mut out = String::new();
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
        if run.len() > MAX_PATH
            || run.iter().filter(|c| c.is_ascii_digit()).count() < 6
            || !run.iter().any(|&c| c == b'_' || c == b'-')
        {
            continue;
        }
        out.clear();
        for (j, &c) in run.iter().enumerate() {
            let digit = |k: Option<usize>| k.and_then(|k| run.get(k)).is_some_and(u8::is_ascii_digit);
            match c {
                b'_' => out.push(' '),
                b'-' if !(digit(j.checked_sub(1)) && digit(Some(j + 1))) => out.push(' '),
                _ => {
                    // `JaneRoe`: a capital after a lower-case letter, in a word of two
                    // capitalised parts (`[A-Z][a-z]+[A-Z][a-z]+`), starts a second word.
                    if c.is_ascii_uppercase() && j > 0 && run[j - 1].is_ascii_lowercase() && two_parts(run, j) {
                        out.push(' ');
                    }
                    out.push(char::from(c));
                }
            }
        }
        out.push('\n');
        if view.len() + out.len() > cap {
            break;
        }
        view.push(start, i, &out);
    }
    view.finish()
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
    fn a_two_part_camel_case_word_beside_an_old_date_in_a_file_name_is_a_known_false_positive() {
        refused(
            "known false positive",
            "junit-LoginFlow_20180102.xml",
            &["name-with-date"],
        );
    }

    #[test]
    fn the_views_stop_at_twice_their_input() {
        let header: Vec<String> = (0..64)
            .map(|i| format!("column_name_number_{i:02}_with_a_long_label"))
            .collect();
        let t = format!(
            "{}\n{}",
            header.join(","),
            format!("{}\n", ["a"; 64].join(",")).repeat(200)
        );
        let v = super::delimited(&t).unwrap();
        assert!(
            v.text.len() <= super::MAX_GROWTH * t.len(),
            "{} > 2 × {}",
            v.text.len(),
            t.len()
        );
        // Small tables are read whole.
        let t = "last,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n";
        assert_eq!(
            super::delimited(t).unwrap().text,
            "last: Roe\nfirst: Jane\nssn: 219451100\ndob: 1980-01-02\n"
        );
        let sql = "INSERT INTO p (name, dob) VALUES ('Jane Roe', DATE '1980-01-02'), (NULL, '');";
        assert_eq!(
            super::sql_inserts(sql).unwrap().text,
            "name: Jane Roe\ndob: 1980-01-02\n"
        );
        assert_eq!(
            super::file_names("see reports/JaneRoe_01021980.pdf and x-1")
                .unwrap()
                .text,
            "reports/Jane Roe 01021980.pdf\n"
        );
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
}
