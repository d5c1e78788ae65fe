//! Tables written as JSON or HTML, read as the rows a person sees (2026-12-05, eighth round):
//! one line per row, its cells separated by tabs, for [`super::tables::delimited`] to read
//! under their header — the label of a value stands in a header row, not beside it.
//!
//! - a JSON array of two or more scalars (strings, numbers, `true`/`false`/`null`, or BigQuery's
//!   `{"v": …}` cells) is a row: Google Sheets' `values` (`[["Name","DOB"],["Jane Roe",…]]`,
//!   the header its first row), pandas' `split` and `values` orients (`"columns": […]` before
//!   `"data": [[…]]`), BigQuery's `{"f": [{"v": …}, …]}` rows;
//! - a JSON object of two or more objects of scalars is a table by columns, written row by
//!   row: pandas' default `columns` orient (`{"name": {"0": "Jane Roe"}, "dob": {"0": …}}`:
//!   a header of the member names, row `i` the `i`-th value of each);
//! - BigQuery's schema (`"fields": [{"name": "ssn", …}, …]`) is a header row of its names;
//! - an HTML `<tr>` with two or more `<td>`/`<th>` cells is a row (tags inside a cell dropped,
//!   spaces folded; a row ends at `</tr>`, the next `<tr` or `</table>`).
//!
//! Each row is mapped back to its span (the array, the `<tr>`; a row by columns to the whole
//! object). Strings keep their escapes (the guard's decoded view decoded them before this one
//! is built); a tab or line break inside a cell is read as a space. **Bounded**: the view is
//! never longer than its input plus [`super::tables::GROWTH_SLACK`]; a row attempt reads at most
//! [`MAX_ROW`] bytes, and the attempts that fail read at most four times the text's length in all — past
//! that the document is refused where it was reached (`table-view-limit`, fail closed), as the
//! other table views are.

use super::decode::{TokenView, kind};
use super::tables::{Built, Capped, GROWTH_SLACK, MAX_COLUMNS};

/// The longest row read (a JSON array, an object by columns, a `<tr>`).
pub const MAX_ROW: usize = 64 * 1024;

/// The JSON and HTML rows of `src` (see the module), or `None` when it holds none.
pub fn rows(src: &str) -> Built {
    let bytes = src.as_bytes();
    if !bytes.iter().any(|&b| matches!(b, b'[' | b'{' | b'<')) {
        return Ok(None);
    }
    let Some(mut view) = TokenView::new(src, kind::TABLE) else {
        return Ok(None);
    };
    let cap = src.len().saturating_add(GROWTH_SLACK);
    // Bytes read by attempts that were no row: at most four times the text's length (and a
    // little; a JSON document's objects and arrays, each tried, read about its length).
    let mut budget = src.len().saturating_mul(4).saturating_add(GROWTH_SLACK);
    let mut cells: Vec<(usize, usize)> = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    let mut line = String::new();
    let mut at = 0;
    while at < bytes.len() {
        let found = match bytes[at] {
            b'[' => array_row(bytes, at, &mut cells).map(|end| (end, Shape::Row)),
            b'{' => by_columns(bytes, at, &mut columns).map(|end| (end, Shape::Columns)),
            b'"' if bytes[at..].starts_with(b"\"fields\"") => {
                schema(bytes, at, &mut cells).map(|end| (end, Shape::Row))
            }
            b'<' if tag_at(bytes, at, b"tr") => Ok((html_row(bytes, at, &mut cells), Shape::Html)),
            _ => {
                at += 1;
                continue;
            }
        };
        match found {
            Ok((end, shape)) => {
                let texts = match shape {
                    Shape::Row => {
                        line.clear();
                        write_cells(bytes, &cells, &mut line, Cell::Json);
                        vec![line.clone()]
                    }
                    Shape::Html => {
                        line.clear();
                        write_cells(bytes, &cells, &mut line, Cell::Html);
                        vec![line.clone()]
                    }
                    Shape::Columns => match transposed(bytes, &columns, cap.saturating_sub(view.len())) {
                        Some(rows) => rows,
                        None => return Err(Capped(at, end)),
                    },
                };
                for text in texts.iter().filter(|t| t.matches('\t').count() >= 1) {
                    if view.len() + text.len() + 1 > cap {
                        return Err(Capped(at, end));
                    }
                    view.push(at, end, &format!("{text}\n"));
                }
                // An HTML row's cells are read; a JSON row's nested arrays are none (a row is
                // scalars only): on after it either way.
                at = end.max(at + 1);
            }
            Err(read) => {
                budget = budget.saturating_sub(read);
                if budget == 0 {
                    return Err(Capped(at, (at + read).min(bytes.len())));
                }
                at += 1;
            }
        }
    }
    Ok(view.finish())
}

#[derive(Clone, Copy)]
enum Shape {
    Row,
    Columns,
    Html,
}

#[derive(Clone, Copy)]
enum Cell {
    Json,
    Html,
}

/// A column of a table by columns: its name's span and its values' spans.
struct Column {
    name: (usize, usize),
    values: Vec<(usize, usize)>,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// The JSON string at `i` (its opening quote): the span of its contents and the index after its
/// closing quote; `None` when it does not close on its line within [`MAX_ROW`] bytes.
fn json_string(b: &[u8], i: usize) -> Option<((usize, usize), usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    let limit = b.len().min(i + MAX_ROW);
    while j < limit {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(((i + 1, j), j + 1)),
            b'\n' => return None,
            _ => j += 1,
        }
    }
    None
}

/// A JSON scalar at `i`: a string (its contents), a number or `true`/`false`/`null` (its
/// characters), or BigQuery's `{"v": scalar}` (the scalar's): its span and the index after it.
fn scalar(b: &[u8], i: usize) -> Option<((usize, usize), usize)> {
    match b.get(i)? {
        b'"' => json_string(b, i),
        b'{' => {
            let k = skip_ws(b, i + 1);
            let (key, after) = json_string(b, k)?;
            if &b[key.0..key.1] != b"v" {
                return None;
            }
            let colon = skip_ws(b, after);
            if b.get(colon) != Some(&b':') {
                return None;
            }
            let (span, after) = scalar_plain(b, skip_ws(b, colon + 1))?;
            let close = skip_ws(b, after);
            (b.get(close) == Some(&b'}')).then_some((span, close + 1))
        }
        _ => scalar_plain(b, i),
    }
}

/// A string, a number or a literal at `i` (no object).
fn scalar_plain(b: &[u8], i: usize) -> Option<((usize, usize), usize)> {
    if b.get(i) == Some(&b'"') {
        return json_string(b, i);
    }
    let len = b[i.min(b.len())..]
        .iter()
        .take(64)
        .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
        .count();
    (len > 0).then_some(((i, i + len), i + len))
}

/// A JSON array of two or more scalars at `i` (its `[`): the cells into `cells`, and the index
/// after its `]`; else how many bytes the attempt read.
fn array_row(b: &[u8], i: usize, cells: &mut Vec<(usize, usize)>) -> Result<usize, usize> {
    cells.clear();
    let mut j = skip_ws(b, i + 1);
    loop {
        if j - i > MAX_ROW || cells.len() >= MAX_COLUMNS {
            return Err(j - i);
        }
        let Some((span, after)) = scalar(b, j) else {
            return Err(j - i + 1);
        };
        cells.push(span);
        j = skip_ws(b, after);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b']') if cells.len() >= 2 => return Ok(j + 1),
            _ => return Err(j - i + 1),
        }
    }
}

/// BigQuery's schema at `i` (`"fields": [{"name": "ssn", "type": …}, …]`): each field's name a
/// cell; the index after the array.
fn schema(b: &[u8], i: usize, cells: &mut Vec<(usize, usize)>) -> Result<usize, usize> {
    cells.clear();
    let colon = skip_ws(b, i + b"\"fields\"".len());
    if b.get(colon) != Some(&b':') {
        return Err(colon - i + 1);
    }
    let open = skip_ws(b, colon + 1);
    if b.get(open) != Some(&b'[') {
        return Err(open - i + 1);
    }
    let mut j = skip_ws(b, open + 1);
    loop {
        if j - i > MAX_ROW || cells.len() >= MAX_COLUMNS || b.get(j) != Some(&b'{') {
            return Err(j - i + 1);
        }
        // One field: scalar members only, one of them `name`.
        let mut name = None;
        let mut k = skip_ws(b, j + 1);
        loop {
            let Some((key, after)) = json_string(b, k) else {
                return Err(k - i + 1);
            };
            let colon = skip_ws(b, after);
            if b.get(colon) != Some(&b':') {
                return Err(colon - i + 1);
            }
            let Some((value, after)) = scalar_plain(b, skip_ws(b, colon + 1)) else {
                return Err(colon - i + 1);
            };
            if &b[key.0..key.1] == b"name" {
                name = Some(value);
            }
            k = skip_ws(b, after);
            match b.get(k) {
                Some(b',') => k = skip_ws(b, k + 1),
                Some(b'}') => break,
                _ => return Err(k - i + 1),
            }
        }
        let Some(name) = name else { return Err(k - i + 1) };
        cells.push(name);
        j = skip_ws(b, k + 1);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b']') if cells.len() >= 2 => return Ok(j + 1),
            _ => return Err(j - i + 1),
        }
    }
}

/// A JSON object of two or more objects of scalars at `i` (a table by columns): its columns into
/// `columns`, and the index after its `}`; else how many bytes the attempt read.
fn by_columns(b: &[u8], i: usize, columns: &mut Vec<Column>) -> Result<usize, usize> {
    columns.clear();
    let mut j = skip_ws(b, i + 1);
    loop {
        if j - i > MAX_ROW || columns.len() >= MAX_COLUMNS {
            return Err(j - i);
        }
        let Some((name, after)) = json_string(b, j) else {
            return Err(j - i + 1);
        };
        let colon = skip_ws(b, after);
        let open = skip_ws(b, colon + 1);
        if b.get(colon) != Some(&b':') || b.get(open) != Some(&b'{') {
            return Err(open - i + 1);
        }
        let mut values = Vec::new();
        let mut k = skip_ws(b, open + 1);
        loop {
            if k - i > MAX_ROW {
                return Err(k - i);
            }
            let Some((_, after)) = json_string(b, k) else {
                return Err(k - i + 1);
            };
            let colon = skip_ws(b, after);
            if b.get(colon) != Some(&b':') {
                return Err(colon - i + 1);
            }
            let Some((value, after)) = scalar_plain(b, skip_ws(b, colon + 1)) else {
                return Err(colon - i + 1);
            };
            values.push(value);
            k = skip_ws(b, after);
            match b.get(k) {
                Some(b',') => k = skip_ws(b, k + 1),
                Some(b'}') => break,
                _ => return Err(k - i + 1),
            }
        }
        columns.push(Column { name, values });
        j = skip_ws(b, k + 1);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b'}') if columns.len() >= 2 => return Ok(j + 1),
            _ => return Err(j - i + 1),
        }
    }
}

/// A table by columns written row by row: the header (the columns' names), then row `r` the
/// `r`-th value of each column (an empty cell where a column has fewer); `None` past `room`
/// bytes (columns of very different lengths written as rows are mostly tabs).
fn transposed(b: &[u8], columns: &[Column], room: usize) -> Option<Vec<String>> {
    let names: Vec<(usize, usize)> = columns.iter().map(|c| c.name).collect();
    let mut out = Vec::new();
    let mut line = String::new();
    write_cells(b, &names, &mut line, Cell::Json);
    let mut len = line.len();
    out.push(line.clone());
    let rows = columns.iter().map(|c| c.values.len()).max().unwrap_or(0);
    let mut cells = Vec::with_capacity(columns.len());
    for r in 0..rows {
        cells.clear();
        cells.extend(columns.iter().map(|c| c.values.get(r).copied().unwrap_or((0, 0))));
        line.clear();
        write_cells(b, &cells, &mut line, Cell::Json);
        len += line.len() + 1;
        if len > room {
            return None;
        }
        out.push(line.clone());
    }
    Some(out)
}

/// Whether an HTML tag named `name` (any case) opens at `at` (`<tr>`, `<TR class=…>`).
fn tag_at(b: &[u8], at: usize, name: &[u8]) -> bool {
    b.get(at) == Some(&b'<')
        && b.get(at + 1..at + 1 + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
        && b.get(at + 1 + name.len())
            .is_some_and(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace())
}

/// Whether an HTML end tag `</name` (any case) is at `at`.
fn end_tag_at(b: &[u8], at: usize, name: &[u8]) -> bool {
    b.get(at..at + 2) == Some(b"</")
        && b.get(at + 2..at + 2 + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
}

/// The `<tr>` at `at`: its cells' spans (each from after its `<td…>`/`<th…>` to before the
/// next cell or the row's end) into `cells`, and where the row ends (after `</tr>`, or at the
/// next `<tr`, `</table>` or [`MAX_ROW`] bytes on).
fn html_row(b: &[u8], at: usize, cells: &mut Vec<(usize, usize)>) -> usize {
    cells.clear();
    let limit = b.len().min(at + MAX_ROW);
    let mut j = at + 1;
    let mut open: Option<usize> = None;
    let end = loop {
        if j >= limit {
            break limit;
        }
        if b[j] == b'<' {
            let row_end = tag_at(b, j, b"tr") || end_tag_at(b, j, b"table");
            if end_tag_at(b, j, b"tr") || row_end {
                if let Some(s) = open.take() {
                    cells.push((s, j));
                }
                if row_end {
                    break j;
                }
                let close = b[j..limit].iter().position(|&c| c == b'>').map_or(limit, |p| j + p + 1);
                break close;
            }
            if (tag_at(b, j, b"td") || tag_at(b, j, b"th")) && cells.len() < MAX_COLUMNS {
                if let Some(s) = open.take() {
                    cells.push((s, j));
                }
                let close = b[j..limit].iter().position(|&c| c == b'>').map_or(limit, |p| j + p + 1);
                open = Some(close);
                j = close;
                continue;
            }
        }
        j += 1;
    };
    if let Some(s) = open {
        cells.push((s, end.min(limit)));
    }
    if cells.len() < 2 {
        cells.clear();
    }
    end
}

/// The cells, separated by tabs, into `line`: a JSON cell as written (a tab or line break in it
/// as a space), an HTML cell without its tags and with its spaces folded.
fn write_cells(b: &[u8], cells: &[(usize, usize)], line: &mut String, how: Cell) {
    for (n, &(s, e)) in cells.iter().enumerate() {
        if n > 0 {
            line.push('\t');
        }
        let cell = String::from_utf8_lossy(&b[s..e.max(s)]);
        match how {
            Cell::Json => line.extend(
                cell.chars()
                    .map(|c| if matches!(c, '\t' | '\r' | '\n') { ' ' } else { c }),
            ),
            Cell::Html => {
                let mut in_tag = false;
                let mut space = false;
                let start = line.len();
                for c in cell.chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' if in_tag => in_tag = false,
                        _ if in_tag => {}
                        c if c.is_whitespace() => space = line.len() > start,
                        c => {
                            if space {
                                line.push(' ');
                                space = false;
                            }
                            line.push(c);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{GuardConfig, redact, scan};
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let mut d: Vec<String> = scan(text, &GuardConfig::default())
            .into_iter()
            .map(|f| f.detector)
            .collect();
        d.sort();
        d.dedup();
        d
    }

    /// Refused with each of `detectors`, and neither the finding nor the redacted text repeats
    /// any of `values`.
    fn refused(attack: &str, text: &str, detectors: &[&str], values: &[&str]) {
        let f = found(text);
        for d in detectors {
            assert!(f.iter().any(|x| x == d), "{attack}: {d} not in {f:?} for {text}");
        }
        let findings = scan(text, &GuardConfig::default());
        let json = serde_json::to_string(&findings).unwrap();
        let red = redact(text, &findings);
        for v in values {
            assert!(!json.contains(v), "{attack}: the finding repeats {v}: {json}");
            assert!(!red.contains(v), "{attack}: redaction keeps {v}: {red}");
        }
    }

    #[test]
    fn json_tables_with_their_header_as_a_row_or_a_column_list_are_refused() {
        // Google Sheets' `values` (the header its first row).
        refused(
            "sheets values",
            r#"{"range": "Sheet1!A1:C3", "majorDimension": "ROWS", "values": [["last", "first", "ssn", "dob"], ["Roe", "Jane", "219451100", "1980-01-02"]]}"#,
            &["us-ssn", "dob-with-name"],
            &["219451100", "1980-01-02"],
        );
        // pandas `to_json(orient="split")`: the columns, the index, then the rows.
        refused(
            "pandas split",
            r#"{"columns":["mrn","sex","ssn"],"index":[0,1],"data":[["00123456","F","219451100"],["00123457","M","219451101"]]}"#,
            &["us-ssn", "mrn"],
            &["219451100", "00123456"],
        );
        // Pretty-printed, one cell a line.
        refused(
            "pandas split pretty",
            "{\n  \"columns\": [\n    \"patient\",\n    \"ssn\"\n  ],\n  \"data\": [\n    [\n      \"r1\",\n      \"219451100\"\n    ]\n  ]\n}",
            &["us-ssn"],
            &["219451100"],
        );
    }

    #[test]
    fn a_json_table_by_columns_is_read_row_by_row() {
        // pandas' default `to_json()`: {column: {index: value}}.
        refused(
            "pandas columns",
            r#"{"ssn":{"0":"219451100","1":"219451101"},"dob":{"0":"1980-01-02","1":"1981-02-03"},"name":{"0":"Jane Roe","1":"John Roe"}}"#,
            &["us-ssn", "dob-with-name"],
            &["219451100", "219451101", "1980-01-02"],
        );
        // Without labels a detector reads: the name beside the birth date, once written as a row.
        refused(
            "pandas columns, no labels",
            r#"{"a":{"0":"Jane Roe","1":"John Roe"},"b":{"0":"1980-01-02","1":"1981-02-03"}}"#,
            &["name-with-date"],
            &["1980-01-02"],
        );
    }

    #[test]
    fn bigquery_rows_under_their_schema_are_refused() {
        refused(
            "bigquery",
            r#"{"kind":"bigquery#queryResponse","schema":{"fields":[{"name":"ssn","type":"STRING","mode":"NULLABLE"},{"name":"birth_date","type":"DATE"}]},"rows":[{"f":[{"v":"219451100"},{"v":"1980-01-02"}]}],"totalRows":"1"}"#,
            &["us-ssn"],
            &["219451100"],
        );
    }

    #[test]
    fn html_tables_are_read_after_their_header_row() {
        refused(
            "html",
            "<table><tr><th>Last</th><th>First</th><th>SSN</th><th>DOB</th></tr>\n<tr><td>Roe</td><td>Jane</td><td>219451100</td><td>1980-01-02</td></tr></table>",
            &["us-ssn", "dob-with-name"],
            &["219451100", "1980-01-02"],
        );
        // Attributes, upper case, tags inside cells, end tags left out, a `<thead>`.
        refused(
            "html, loose",
            "<TABLE class=x><thead><TR class=\"h\"><TH scope=col>MRN<TH>Patient</TR></thead>\n<tbody><tr>\n  <td><b>00123456</b>\n  <td><span>Jane</span> Roe\n</table>",
            &["mrn"],
            &["00123456"],
        );
        // An HTML report inside a JUnit field, its markup escaped (the decoded view reads it).
        refused(
            "html escaped in xml",
            "<testcase name=\"t\"><system-out>&lt;table&gt;&lt;tr&gt;&lt;th&gt;ssn&lt;/th&gt;&lt;th&gt;mrn&lt;/th&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;219451100&lt;/td&gt;&lt;td&gt;00123456&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</system-out></testcase>",
            &["us-ssn", "mrn"],
            &["219451100", "00123456"],
        );
    }

    #[test]
    fn json_and_html_tables_without_phi_stay_clean() {
        for text in [
            r#"{"values": [["service", "version", "region"], ["billing", "1.4.2", "us-east-1"]]}"#,
            r#"{"columns":["test","duration_ms","status"],"index":[0,1],"data":[["login works","12","passed"],["logout works","9","passed"]]}"#,
            r#"{"duration_ms":{"0":12,"1":9},"status":{"0":"passed","1":"passed"}}"#,
            r#"{"dependencies": {"serde": "1.0.200", "tokio": "1.38"}, "dev-dependencies": {"criterion": "0.5"}}"#,
            "<table><tr><th>Test</th><th>Result</th></tr><tr><td>login</td><td>passed</td></tr></table>",
            r#"{"tags": ["security", "external/cwe/cwe-79"], "ranges": [[1, 2], [3, 4]]}"#,
        ] {
            let f = scan(text, &GuardConfig::default());
            assert!(f.is_empty(), "{text}: {f:?}");
        }
    }

    #[test]
    fn hostile_json_and_html_stay_bounded() {
        // Deep nesting, unclosed strings and tags, columns of very different lengths, rows of
        // thousands of cells: each view within its bound, or the document refused (fail closed),
        // never longer than the input plus the slack.
        let wide = format!("[{}\"x\"]", "\"a\",".repeat(20_000));
        let ragged = format!(
            "{{\"a\":{{{}\"z\":1}},{}\"end\":{{\"0\":1}}}}",
            (0..5000).map(|i| format!("\"{i}\":1,")).collect::<String>(),
            (0..400).map(|i| format!("\"c{i}\":{{\"0\":1}},")).collect::<String>()
        );
        for text in [
            "[".repeat(100_000),
            "{".repeat(100_000),
            "<tr>".repeat(50_000),
            "<tr><td>".repeat(50_000),
            format!("[\"{}", "a".repeat(200_000)),
            "[\"[\",".repeat(50_000),
            wide,
            ragged,
        ] {
            if let Ok(Some(view)) = rows(&text) {
                assert!(view.text.len() <= text.len() + GROWTH_SLACK);
            }
            let _ = scan(&text, &GuardConfig::default());
        }
    }
}
