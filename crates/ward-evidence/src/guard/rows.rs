//! Tables written as JSON or HTML, read as the rows a person sees (2026-12-05, eighth round):
//! one line per row, its cells separated by tabs, for [`super::tables::delimited`] to read
//! under their header — the label of a value stands in a header row, not beside it.
//!
//! JSON is read in one pass with a stack of the open arrays and objects (text around it, or
//! that is no JSON, is passed over: a syntax error empties the stack and the reading starts
//! again at the next `[` or `{`). When an array or an object closes:
//! - an array holding a scalar (a string, a number, `true`/`false`/`null`) or a cell object
//!   (`{"v": …}`: BigQuery's and Google Charts' cells) is a row, its other items empty cells:
//!   Google Sheets' `values`, pandas' `split` and `values` orients, BigQuery's `{"f": [{"v": …}]}`,
//!   Google Charts' `{"c": [{"v": …}]}`, DataTables' `data`;
//! - an array of objects that each name a column (`label`, `title`, `name` or `fieldName`) is a
//!   header row: BigQuery's `schema.fields`, Google Charts' `cols`, DataTables' `columns`;
//! - an object holding objects is a table by columns written row by row (pandas' default
//!   `to_json()`: `{"ssn": {"0": …}, "dob": {"0": …}}`): a header of those members' names, row
//!   `r` the `r`-th value of each (an item that is no scalar, an empty cell);
//! - an object with a `name` and a `data` array is a column (pandas' `Series` in the `split`
//!   orient).
//!
//! A table of one column gets a second, [`FILLER`], so that it has a header row. HTML: a row
//! is a `<tr>` (or an element with `role="row"`), its cells `<td>`/`<th>` (or `role="cell"`,
//! `"gridcell"`, `"columnheader"`, `"rowheader"`), a namespace prefix allowed (`<html:td>`);
//! attribute values may hold `>`, a cell's `colspan` adds empty cells after it, a table nested
//! in a cell is part of the cell's text, tags inside a cell are dropped and its spaces folded;
//! a row ends at `</tr>`, the next row or `</table>`.
//!
//! Each row is mapped back to its span (the array, the `<tr>`, a table by columns' object).
//! Strings keep their escapes (the guard's decoded view decoded them before this one is built);
//! a tab or line break inside a cell is read as a space. The rows of tables by columns also
//! form a view of their own, read by the table detectors as it stands (a name beside a birth
//! date once columns are rows), [`Rows`]. **Linear and bounded**: one pass for JSON, one for
//! HTML (a row reads at most [`MAX_ROW`] bytes); each view at most twice its input plus
//! [`super::tables::GROWTH_SLACK`], past that the document is refused where it was reached
//! (`table-view-limit`, fail closed), as the other table views are.

use super::decode::{TokenView, View, kind};
use super::tables::{Capped, GROWTH_SLACK, MAX_COLUMNS};

/// The longest string cell and the longest HTML row read.
pub const MAX_ROW: usize = 64 * 1024;
/// Items kept of one array or object (a longer one is read on, its items past this not kept).
const MAX_ITEMS: usize = 1 << 20;
/// Arrays and objects open at once (deeper: the reading starts again).
const MAX_DEPTH: usize = 512;
/// The second column of a table of one column (a header row has two cells or more).
pub const FILLER: &str = "row";

/// What [`rows`] gives: every row, and the rows of tables by columns alone (`None` when there
/// are none), or where a view reached its bound.
pub type Rows = Result<(Option<View>, Option<View>), Capped>;

type Span = (usize, usize);

/// The JSON and HTML rows of `src` (see the module).
pub fn rows(src: &str) -> Rows {
    let bytes = src.as_bytes();
    if !bytes.iter().any(|&b| matches!(b, b'[' | b'{' | b'<')) {
        return Ok((None, None));
    }
    let (Some(all), Some(by_columns)) = (TokenView::new(src, kind::TABLE), TokenView::new(src, kind::TABLE)) else {
        return Ok((None, None));
    };
    let mut out = Out {
        all,
        by_columns,
        cap: src.len().saturating_mul(2).saturating_add(GROWTH_SLACK),
        line: String::new(),
        budget: src.len().saturating_mul(2).saturating_add(GROWTH_SLACK),
    };
    json_rows(bytes, &mut out)?;
    html_rows(bytes, &mut out)?;
    Ok((out.all.finish(), out.by_columns.finish()))
}

/// Where rows are written.
struct Out<'a> {
    all: TokenView<'a>,
    by_columns: TokenView<'a>,
    cap: usize,
    line: String,
    /// Bytes that reads which found nothing (a string that never closes, a tag that never
    /// ends) may still read: twice the text. Past it the document is refused (fail closed).
    budget: usize,
}

impl Out<'_> {
    /// Writes a row of `cells` (`None`: an empty cell) standing for `span`, when one is filled.
    fn row(&mut self, b: &[u8], span: Span, cells: &[Option<Span>], how: Cell, by_columns: bool) -> Result<(), Capped> {
        if cells.is_empty() || cells.len() > MAX_COLUMNS || cells.iter().all(Option::is_none) {
            return Ok(());
        }
        self.line.clear();
        write_cells(b, cells, &mut self.line, how);
        if cells.len() == 1 {
            self.line.push('\t');
            self.line.push_str(FILLER);
        }
        self.line.push('\n');
        let view = if by_columns {
            &mut self.by_columns
        } else {
            &mut self.all
        };
        if view.len() + self.line.len() > self.cap {
            return Err(Capped(span.0, span.1));
        }
        view.push(span.0, span.1, &self.line);
        if by_columns {
            // A table by columns is a table too: read under its header as well.
            if self.all.len() + self.line.len() > self.cap {
                return Err(Capped(span.0, span.1));
            }
            self.all.push(span.0, span.1, &self.line);
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Cell {
    Json,
    Html,
}

/// What a closed JSON value is to the array or object holding it.
enum Item {
    Scalar(Span),
    Object(Summary),
    Array(Vec<Option<Span>>),
}

/// What an object is to its parent: its cell value (`v`), the column it names (`label`,
/// `title`, `name`, `fieldName`) and its members' scalar values in order (`None` for others).
struct Summary {
    v: Option<Span>,
    label: Option<Span>,
    values: Vec<Option<Span>>,
}

enum Frame {
    Array {
        start: usize,
        items: Vec<Item>,
    },
    Object {
        start: usize,
        key: Option<Span>,
        members: Vec<(Span, Item)>,
    },
}

/// The string at `i` (its opening quote, `"` or a Python/JavaScript printout's `'`): the span of
/// its contents and the index after its closing quote; `None` when it never closes. A line
/// break inside is part of it (the decoded view writes `\n` as one), and so is any length (a
/// cell of 100 KiB is a cell): the reading goes on after it, so each byte is read once.
fn json_string(b: &[u8], i: usize, budget: &mut usize) -> Option<(Span, usize)> {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q => return Some(((i + 1, j), j + 1)),
            _ => j += 1,
        }
    }
    *budget = budget.saturating_sub(j - i);
    None
}

/// Hands a closed value to the array or object that holds it.
fn give(stack: &mut [Frame], item: Item) {
    match stack.last_mut() {
        Some(Frame::Array { items, .. }) if items.len() < MAX_ITEMS => items.push(item),
        Some(Frame::Object { key, members, .. }) => {
            if let Some(k) = key.take()
                && members.len() < MAX_ITEMS
            {
                members.push((k, item));
            }
        }
        _ => {}
    }
}

/// The JSON rows of `b` (see the module): one pass.
fn json_rows(b: &[u8], out: &mut Out<'_>) -> Result<(), Capped> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if stack.is_empty() {
            match c {
                b'[' => stack.push(Frame::Array {
                    start: i,
                    items: Vec::new(),
                }),
                b'{' => stack.push(Frame::Object {
                    start: i,
                    key: None,
                    members: Vec::new(),
                }),
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' => i += 1,
            b'[' | b'{' if stack.len() >= MAX_DEPTH => {
                stack.clear();
                i += 1;
            }
            b'[' => {
                stack.push(Frame::Array {
                    start: i,
                    items: Vec::new(),
                });
                i += 1;
            }
            b'{' => {
                stack.push(Frame::Object {
                    start: i,
                    key: None,
                    members: Vec::new(),
                });
                i += 1;
            }
            b']' => {
                i += 1;
                match stack.pop() {
                    Some(Frame::Array { start, items }) => {
                        let item = close_array(b, (start, i), &items, out)?;
                        give(&mut stack, item);
                    }
                    _ => stack.clear(),
                }
            }
            b'}' => {
                i += 1;
                match stack.pop() {
                    Some(Frame::Object { start, members, .. }) => {
                        let item = close_object(b, (start, i), &members, out)?;
                        give(&mut stack, item);
                    }
                    _ => stack.clear(),
                }
            }
            b'"' | b'\'' => match json_string(b, i, &mut out.budget) {
                Some((span, after)) => {
                    match stack.last_mut() {
                        Some(Frame::Object { key: key @ None, .. }) => *key = Some(span),
                        _ => give(&mut stack, Item::Scalar(span)),
                    }
                    i = after;
                }
                None => {
                    if out.budget == 0 {
                        return Err(Capped(i, (i + MAX_ROW).min(b.len())));
                    }
                    stack.clear();
                    i += 1;
                }
            },
            c if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.') => {
                let len = b[i..]
                    .iter()
                    .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                    .count();
                if len <= 64 {
                    match stack.last_mut() {
                        // A key written bare (`{0: '219451100'}`, a Python printout).
                        Some(Frame::Object { key: key @ None, .. }) => *key = Some((i, i + len)),
                        _ => give(&mut stack, Item::Scalar((i, i + len))),
                    }
                } else {
                    give(&mut stack, Item::Array(Vec::new()));
                }
                i += len;
            }
            _ => {
                // No JSON here: start again.
                stack.clear();
                i += 1;
            }
        }
    }
    Ok(())
}

/// A closed array: a row, a header row of column objects, or nothing (see the module); what it
/// is to its parent.
fn close_array(b: &[u8], span: Span, items: &[Item], out: &mut Out<'_>) -> Result<Item, Capped> {
    let cells: Vec<Option<Span>> = items
        .iter()
        .map(|it| match it {
            Item::Scalar(s) => Some(*s),
            Item::Object(o) => o.v,
            Item::Array(_) => None,
        })
        .collect();
    if cells.iter().any(Option::is_some) {
        out.row(b, span, &cells, Cell::Json, false)?;
    } else if !items.is_empty()
        && items
            .iter()
            .all(|it| matches!(it, Item::Object(o) if o.label.is_some()))
    {
        let labels: Vec<Option<Span>> = items
            .iter()
            .map(|it| match it {
                Item::Object(o) => o.label,
                _ => None,
            })
            .collect();
        out.row(b, span, &labels, Cell::Json, false)?;
    }
    Ok(Item::Array(cells))
}

/// A closed object: a table by columns, a column (`name` and `data`), or nothing (see the
/// module); what it is to its parent.
fn close_object(b: &[u8], span: Span, members: &[(Span, Item)], out: &mut Out<'_>) -> Result<Item, Capped> {
    let scalar = |name: &[u8]| {
        members.iter().find_map(|(k, it)| match it {
            Item::Scalar(s) if &b[k.0..k.1] == name => Some(*s),
            _ => None,
        })
    };
    // A table by columns: the members that are objects, when one holds a scalar.
    // (Or arrays: ClickHouse's `JSONColumns`, `to_dict("list")`: `{"ssn": ["219451100", …]}`.)
    let columns: Vec<(Span, &[Option<Span>])> = members
        .iter()
        .filter_map(|(k, it)| match it {
            Item::Object(o) => Some((*k, o.values.as_slice())),
            Item::Array(cells) if !cells.is_empty() => Some((*k, cells.as_slice())),
            _ => None,
        })
        .collect();
    if columns.len() <= MAX_COLUMNS && columns.iter().any(|(_, values)| values.iter().any(Option::is_some)) {
        let header: Vec<Option<Span>> = columns.iter().map(|(k, _)| Some(*k)).collect();
        out.row(b, span, &header, Cell::Json, true)?;
        let rows = columns.iter().map(|(_, values)| values.len()).max().unwrap_or(0);
        let mut cells = Vec::with_capacity(columns.len());
        for r in 0..rows {
            out.budget = out.budget.saturating_sub(columns.len());
            if out.budget == 0 {
                return Err(Capped(span.0, span.1));
            }
            cells.clear();
            cells.extend(columns.iter().map(|(_, values)| values.get(r).copied().flatten()));
            out.row(b, span, &cells, Cell::Json, true)?;
        }
    }
    // A column: pandas' `Series` (`{"name": "ssn", "index": […], "data": […]}`).
    let data = members.iter().find_map(|(k, it)| match it {
        Item::Array(cells) if &b[k.0..k.1] == b"data" => Some(cells),
        _ => None,
    });
    if let (Some(name), Some(data)) = (scalar(b"name"), data) {
        out.row(b, span, &[Some(name)], Cell::Json, false)?;
        for cell in data.iter().filter(|c| c.is_some()) {
            out.row(b, span, &[*cell], Cell::Json, false)?;
        }
    }
    // A cell object: its value (BigQuery's and Google Charts' `v`, AWS' `stringValue`, Athena's
    // `VarCharValue`, Sheets' `formattedValue`, …), or its only scalar.
    let any = |names: &[&[u8]]| {
        members.iter().find_map(|(k, it)| match it {
            Item::Scalar(s) if names.iter().any(|n| b[k.0..k.1].eq_ignore_ascii_case(n)) => Some(*s),
            _ => None,
        })
    };
    let scalars: Vec<Span> = members
        .iter()
        .filter_map(|(_, it)| match it {
            Item::Scalar(s) => Some(*s),
            _ => None,
        })
        .collect();
    let v = any(&[
        b"v",
        b"value",
        b"formattedValue",
        b"stringValue",
        b"VarCharValue",
        b"longValue",
        b"doubleValue",
        b"text",
    ])
    .or_else(|| (members.len() == 1 && scalars.len() == 1).then(|| scalars[0]));
    Ok(Item::Object(Summary {
        v,
        label: any(&[
            b"label",
            b"title",
            b"headerName",
            b"name",
            b"fieldName",
            b"ColumnName",
            b"field",
            b"text",
        ]),
        values: members
            .iter()
            .map(|(_, it)| match it {
                Item::Scalar(s) => Some(*s),
                _ => None,
            })
            .collect(),
    }))
}

/// An HTML tag at `at` (`<`): its name without a namespace prefix (lower case), whether it
/// closes, its attributes' span and the index after its `>` (attribute values may hold `>`);
/// `None` when none opens there (within 4 KiB).
fn tag(b: &[u8], at: usize, budget: &mut usize) -> Option<(Vec<u8>, bool, Span, usize)> {
    let mut j = at + 1;
    let closing = b.get(j) == Some(&b'/');
    j += usize::from(closing);
    let name_start = j;
    if !b.get(j)?.is_ascii_alphabetic() {
        return None;
    }
    while b
        .get(j)
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b':' | b'-' | b'_'))
    {
        j += 1;
    }
    let full = &b[name_start..j];
    let name = full.rsplit(|&c| c == b':').next().unwrap_or(full).to_ascii_lowercase();
    let attrs_start = j;
    let limit = b.len().min(at + 16 * 1024);
    let mut quote = None;
    while j < limit {
        match (b[j], quote) {
            (q @ (b'"' | b'\''), None) => quote = Some(q),
            (c, Some(q)) if c == q => quote = None,
            (b'>', None) => return Some((name, closing, (attrs_start, j), j + 1)),
            // No tag: a `<` outside quotes opens the next one.
            (b'<', None) => break,
            _ => {}
        }
        j += 1;
    }
    *budget = budget.saturating_sub(j - at);
    None
}

/// The value of attribute `name` in `attrs` (any case; quoted or not).
fn attribute<'b>(b: &'b [u8], (s, e): Span, name: &[u8]) -> Option<&'b [u8]> {
    let a = &b[s..e];
    let lower = a.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = memchr::memmem::find(&lower[from..], name) {
        let at = from + p;
        from = at + 1;
        let before_ok = at == 0 || a[at - 1].is_ascii_whitespace();
        let mut k = at + name.len();
        while a.get(k).is_some_and(u8::is_ascii_whitespace) {
            k += 1;
        }
        if !before_ok || a.get(k) != Some(&b'=') {
            continue;
        }
        k += 1;
        while a.get(k).is_some_and(u8::is_ascii_whitespace) {
            k += 1;
        }
        return Some(match a.get(k) {
            Some(&q @ (b'"' | b'\'')) => {
                let rest = &a[k + 1..];
                &rest[..rest.iter().position(|&c| c == q).unwrap_or(rest.len())]
            }
            _ => {
                let rest = &a[k..];
                &rest[..rest.iter().position(|c| c.is_ascii_whitespace()).unwrap_or(rest.len())]
            }
        });
    }
    None
}

/// The elements that are a table's rows: HTML's `<tr>`, Excel's SpreadsheetML and XLSX `<row>`,
/// ODS' `<table:table-row>`, DocBook's `<row>`, DOCX's `<w:tr>` (a namespace prefix dropped).
macro_rules! ROW_TAGS {
    () => {
        b"tr" | b"row" | b"table-row"
    };
}
/// The elements that are cells: `<td>`, `<th>`, `<Cell>`, XLSX's `<c>`, ODS' `<table:table-cell>`,
/// DocBook's `<entry>`, DOCX's `<w:tc>`.
macro_rules! CELL_TAGS {
    () => {
        b"td" | b"th" | b"cell" | b"c" | b"table-cell" | b"entry" | b"tc"
    };
}

/// What a tag is to a table: a row's start, a cell's start (with its `colspan`), or neither.
enum Role {
    Row,
    Cell(usize),
    Other,
}

fn role(b: &[u8], name: &[u8], closing: bool, attrs: Span) -> Role {
    if closing {
        return Role::Other;
    }
    let aria = attribute(b, attrs, b"role").map(|r| r.to_ascii_lowercase());
    let span = || {
        attribute(b, attrs, b"colspan")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 64)
    };
    match (name, aria.as_deref()) {
        (ROW_TAGS!(), _) | (_, Some(b"row")) => Role::Row,
        (CELL_TAGS!(), _) | (_, Some(b"cell" | b"gridcell" | b"columnheader" | b"rowheader")) => Role::Cell(span()),
        _ => Role::Other,
    }
}

/// The HTML rows of `b` (see the module): each `<` looked at once, a row read from its start to
/// its end (at most [`MAX_ROW`] bytes).
fn html_rows(b: &[u8], out: &mut Out<'_>) -> Result<(), Capped> {
    let mut cells: Vec<Option<Span>> = Vec::new();
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'<', &b[i..]) {
        let at = i + p;
        let found = tag(b, at, &mut out.budget);
        if out.budget == 0 {
            return Err(Capped(at, (at + 1).min(b.len())));
        }
        match found {
            Some((name, closing, attrs, after)) if matches!(role(b, &name, closing, attrs), Role::Row) => {
                let end = html_row(b, after, &mut cells, &mut out.budget);
                if out.budget == 0 {
                    return Err(Capped(at, end.max(at + 1).min(b.len())));
                }
                out.row(b, (at, end), &cells, Cell::Html, false)?;
                i = end.max(at + 1);
            }
            // A table's caption labels its one column (`<caption>SSN</caption>`): a row of its
            // own, a header of one cell.
            Some((name, false, _, after)) if name == b"caption" => {
                let limit = b.len().min(after + MAX_ROW);
                let end = memchr::memmem::find(&b[after..limit], b"</").map_or(limit, |p| after + p);
                out.row(b, (at, end), &[Some((after, end))], Cell::Html, false)?;
                i = end.max(at + 1);
            }
            _ => i = at + 1,
        }
    }
    Ok(())
}

/// The cells of the row whose start tag ends at `from`, into `cells`: where the row ends (at
/// `</tr>`'s end, or at the next row's start or `</table>`, or [`MAX_ROW`] bytes on).
fn html_row(b: &[u8], from: usize, cells: &mut Vec<Option<Span>>, budget: &mut usize) -> usize {
    cells.clear();
    let limit = b.len().min(from + MAX_ROW);
    // The open cell: where its text starts and how many columns it spans.
    let mut open: Option<(usize, usize)> = None;
    let close = |open: &mut Option<(usize, usize)>, cells: &mut Vec<Option<Span>>, at: usize| {
        if let Some((s, span)) = open.take()
            && cells.len() < MAX_COLUMNS
        {
            cells.push(Some((s, at)));
            cells.extend(std::iter::repeat_n(None, span - 1));
        }
    };
    let mut j = from;
    while j < limit {
        let Some(p) = memchr::memchr(b'<', &b[j..limit]) else {
            break;
        };
        let at = j + p;
        let Some((name, closing, attrs, after)) = tag(b, at, budget) else {
            if *budget == 0 {
                return limit;
            }
            j = at + 1;
            continue;
        };
        match (name.as_slice(), closing, role(b, &name, closing, attrs)) {
            (_, false, Role::Row) | (b"table" | b"tbody" | b"thead" | b"tfoot" | b"sheetdata" | b"tgroup", true, _) => {
                close(&mut open, cells, at);
                return at;
            }
            (ROW_TAGS!(), true, _) => {
                close(&mut open, cells, at);
                return after;
            }
            (CELL_TAGS!(), true, _) => close(&mut open, cells, at),
            (_, false, Role::Cell(span)) => {
                close(&mut open, cells, at);
                open = Some((after, span));
            }
            (b"table", false, _) if open.is_some() => {
                // A table inside a cell: its text is the cell's.
                let mut depth = 1usize;
                let mut k = after;
                while depth > 0 && k < limit {
                    let Some(q) = memchr::memchr(b'<', &b[k..limit]) else {
                        k = limit;
                        break;
                    };
                    let t = k + q;
                    if *budget == 0 {
                        return limit;
                    }
                    match tag(b, t, budget) {
                        Some((n, c, _, a)) if n == b"table" => {
                            depth = if c { depth - 1 } else { depth + 1 };
                            k = a;
                        }
                        Some((_, _, _, a)) => k = a,
                        None => k = t + 1,
                    }
                }
                j = k;
                continue;
            }
            _ => {}
        }
        j = after;
    }
    close(&mut open, cells, limit.min(b.len()));
    limit
}

/// The cells, separated by tabs, into `line`: a JSON cell as written (a tab or line break in it
/// as a space), an HTML cell without its tags and with its spaces folded; `None` as nothing.
fn write_cells(b: &[u8], cells: &[Option<Span>], line: &mut String, how: Cell) {
    for (n, cell) in cells.iter().enumerate() {
        if n > 0 {
            line.push('\t');
        }
        let Some((s, e)) = *cell else { continue };
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
    fn a_table_with_a_cell_that_is_no_scalar_is_still_read() {
        // The attack (round 3, F-2): one list, struct or empty object dropped the whole table.
        for (attack, t, values) in [
            (
                "pandas columns with a list column",
                r#"{"ssn":{"0":"219451102"},"mrn":{"0":"00123402"},"tags":{"0":["smoke"]}}"#,
                &["219451102"][..],
            ),
            (
                "pandas columns beside a scalar and an empty object",
                r#"{"ssn":{"0":"219451102"},"mrn":{"0":"00123402"},"n":1,"extra":{},"meta":{"source":{"x":1}}}"#,
                &["219451102"],
            ),
            (
                "bigquery record column",
                r#"{"schema":{"fields":[{"name":"ssn","type":"STRING"},{"name":"addr","type":"RECORD","fields":[{"name":"zip","type":"STRING"}]}]},"rows":[{"f":[{"v":"219451103"},{"v":{"f":[{"v":"02139"}]}}]}]}"#,
                &["219451103"],
            ),
            (
                "sheets row with an object cell",
                r#"{"values":[["ssn","mrn","note"],["219451100","00123456",{"x":1}]]}"#,
                &["219451100"],
            ),
        ] {
            refused(attack, t, &["us-ssn"], values);
        }
    }

    #[test]
    fn headers_written_as_column_objects_label_their_rows() {
        // The attack (round 3, F-3): Google Charts, DataTables.
        refused(
            "google charts datatable",
            r#"{"cols":[{"id":"A","label":"SSN","type":"string"},{"id":"B","label":"MRN","type":"string"}],"rows":[{"c":[{"v":"219451104","f":"219-45-1104"},{"v":"00123404"}]}]}"#,
            &["us-ssn", "mrn"],
            &["219451104", "00123404"],
        );
        refused(
            "datatables",
            r#"{"columns":[{"title":"SSN"},{"title":"MRN"}],"data":[["219451114","00123414"]]}"#,
            &["us-ssn", "mrn"],
            &["219451114", "00123414"],
        );
        refused(
            "numbers under their label",
            r#"{"cols":[{"id":"A","label":"SSN","type":"number"},{"id":"B","label":"Zip","type":"number"}],"rows":[{"c":[{"v":219451100},{"v":2139}]}]}"#,
            &["us-ssn"],
            &["219451100"],
        );
    }

    #[test]
    fn html_tables_with_spans_nested_tables_quoted_brackets_and_aria_grids_are_read() {
        // The attack (round 3, F-4).
        for (attack, t) in [
            (
                "colspan",
                r#"<table><tr><th>Last</th><th>First</th><th>SSN</th></tr><tr><td colspan="2">Roe Jane</td><td>219451105</td></tr></table>"#,
            ),
            (
                "nested table in a cell",
                "<table><tr><th>SSN</th><th>MRN</th></tr><tr><td><table><tr><td>219451106</td></tr></table></td><td>00123406</td></tr></table>",
            ),
            (
                "> in an attribute",
                r#"<table><tr><th>SSN</th><th>Note</th></tr><tr><td title="a>b">219451107</td><td>y</td></tr></table>"#,
            ),
            (
                "aria grid",
                r#"<div role="grid"><div role="row"><span role="columnheader">SSN</span><span role="columnheader">Note</span></div><div role="row"><span role="gridcell">219451108</span><span role="gridcell">x</span></div></div>"#,
            ),
            (
                "a caption over one column",
                "<table><caption>SSN</caption><tr><td>219451109</td></tr></table>",
            ),
            (
                "xhtml prefix",
                "<html:table><html:tr><html:th>SSN</html:th><html:th>Note</html:th></html:tr><html:tr><html:td>219451109</html:td><html:td>x</html:td></html:tr></html:table>",
            ),
        ] {
            refused(attack, t, &["us-ssn"], &["2194511"]);
        }
    }

    #[test]
    fn tables_of_one_column_are_read_under_their_label() {
        // The attack (round 3, F-5).
        for (attack, t) in [
            (
                "pandas series split",
                r#"{"name":"ssn","index":[0,1],"data":["219451109","219451119"]}"#,
            ),
            (
                "pandas split of one column",
                r#"{"columns":["ssn"],"index":[0],"data":[["219451129"]]}"#,
            ),
            (
                "pandas columns of one column",
                r#"{"ssn":{"0":"219451100","1":"219451101"}}"#,
            ),
        ] {
            refused(attack, t, &["us-ssn"], &["2194511"]);
        }
    }

    #[test]
    fn round_four_tables_are_read() {
        for (attack, t, d) in [
            // F1: a line break in a cell (as the decoded view writes `\n`).
            (
                "a cell with a line break",
                "{\"values\":[[\"ssn\",\"mrn\",\"note\"],[\"219451100\",\"00123456\",\"seen twice\nfollow-up booked\"]]}",
                "us-ssn",
            ),
            // F3: cells and headers of other names.
            (
                "redshift data api",
                r#"{"ColumnMetadata":[{"name":"patient_name"},{"name":"birth_date"}],"Records":[[{"stringValue":"Jane Roe"},{"stringValue":"1980-01-02"}]]}"#,
                "dob-with-name",
            ),
            (
                "athena",
                r#"{"ResultSet":{"Rows":[{"Data":[{"VarCharValue":"mrn"},{"VarCharValue":"ssn"}]},{"Data":[{"VarCharValue":"00123456"},{"VarCharValue":"219451100"}]}],"ResultSetMetadata":{"ColumnInfo":[{"Name":"mrn","Label":"mrn"},{"Name":"ssn","Label":"ssn"}]}}}"#,
                "us-ssn",
            ),
            (
                "ag-grid column definitions",
                r#"{"columnDefs":[{"field":"mrn","headerName":"MRN"},{"field":"ssn","headerName":"SSN"}],"rowData":[["x1","n/a"],["00123456","219451100"]]}"#,
                "us-ssn",
            ),
            // F4: an object of arrays.
            (
                "clickhouse columns",
                r#"{"mrn":[null,"00123456"],"ssn":[null,"219451100"]}"#,
                "us-ssn",
            ),
            // F5: Python and Node printouts.
            (
                "python list printout",
                "[['mrn', 'ssn'], ['x1', 'n/a'], ['00123456', '219451100']]",
                "us-ssn",
            ),
            (
                "pandas to_dict printout",
                "{'ssn': {0: '219451100', 1: '219451101'}}",
                "us-ssn",
            ),
            // F6: other markups.
            (
                "spreadsheetml",
                "<Table><Row><Cell><Data ss:Type=\"String\">SSN</Data></Cell><Cell><Data>Note</Data></Cell></Row><Row><Cell><Data>219451100</Data></Cell><Cell><Data>x</Data></Cell></Row></Table>",
                "us-ssn",
            ),
            (
                "ods",
                "<table:table-row><table:table-cell><text:p>SSN</text:p></table:table-cell><table:table-cell><text:p>Note</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell><text:p>219451100</text:p></table:table-cell><table:table-cell><text:p>x</text:p></table:table-cell></table:table-row>",
                "us-ssn",
            ),
            (
                "docx",
                "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>SSN</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Note</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>219451100</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc></w:tr></w:tbl>",
                "us-ssn",
            ),
            (
                "docbook",
                "<tgroup cols=\"2\"><row><entry>SSN</entry><entry>Note</entry></row><row><entry>219451100</entry><entry>x</entry></row></tgroup>",
                "us-ssn",
            ),
            // F8: a cell over 64 KiB.
            (
                "a long cell",
                &format!(
                    "{{\"values\":[[\"ssn\",\"mrn\",\"notes\"],[\"219451100\",\"00123456\",\"{}\"]]}}",
                    "x".repeat(70_000)
                ),
                "us-ssn",
            ),
        ] {
            refused(attack, t, &[d], &["219451100"]);
        }
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
            // A release history of this decade: an owner's name beside a release date (one of
            // 2019 or before is refused by the raw reading, the documented rule of old dates).
            r#"{"values":[["Release","Owner","Date"],["2.14.0","Quinn Adams","2024-05-01"],["2.13.0","Rhea Brown","2024-04-02"]]}"#,
        ] {
            let f = scan(text, &GuardConfig::default());
            assert!(f.is_empty(), "{text}: {f:?}");
        }
    }

    #[test]
    fn hostile_json_and_html_stay_bounded() {
        // Deep nesting, unclosed strings and tags, columns of very different lengths, rows of
        // thousands of cells: each view within its bound, or the document refused (fail closed),
        // never longer than twice the input plus the slack.
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
            if let Ok((all, by_columns)) = rows(&text) {
                for view in [all, by_columns].into_iter().flatten() {
                    assert!(view.text.len() <= 2 * text.len() + GROWTH_SLACK);
                }
            }
            let _ = scan(&text, &GuardConfig::default());
        }
    }

    proptest::proptest! {
        #[test]
        fn rows_never_panic_and_stay_within_their_bound(
            s in "\\PC{0,300}",
            t in "[\\[\\]{}\",: 0-9a-zA-Z\\\\\n<>/=']{0,300}",
            h in "(<(/)?(tr|td|th|table|html:td|div role=\"row\"|span role=\"cell\"|td colspan=\"3\"|td title=\"a>b\")>|[a-z0-9 ]{0,5}){0,40}",
        ) {
            for src in [s.as_str(), t.as_str(), h.as_str()] {
                if let Ok((all, by_columns)) = rows(src) {
                    for v in [all, by_columns].into_iter().flatten() {
                        proptest::prop_assert!(v.text.len() <= 2 * src.len() + GROWTH_SLACK);
                        let (x, y) = v.to_original(0, v.text.len());
                        proptest::prop_assert!(x <= y && y <= src.len());
                        proptest::prop_assert!(src.is_char_boundary(x) && src.is_char_boundary(y));
                    }
                }
            }
        }
    }
}
