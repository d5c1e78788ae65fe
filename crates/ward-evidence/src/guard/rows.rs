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

pub use super::tables::MAX_ROW;
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
    let grids = super::grids::may_hold(bytes);
    if !grids && !bytes.iter().any(|&b| matches!(b, b'[' | b'{' | b'<')) {
        return Ok((None, None));
    }
    let Some(mut out) = Out::new(src) else {
        return Ok((None, None));
    };
    json_rows(bytes, &mut out)?;
    html_rows(bytes, &mut out)?;
    if grids {
        super::grids::grid_rows(src, &mut |span, cells: &[String]| out.text_row(span, cells))?;
    }
    Ok((out.all.finish(), out.by_columns.finish()))
}

/// The rows `src` holds as written, before any decoding: its markup tables
/// ([`super::grids`]; the decoded view reads LaTeX's `\\` as an escape) and the JSON tables
/// written as a string (`{"body": "{\"values\": [[\"ssn\"], …]}"}`: an API Gateway
/// response; decoded, its quotes no longer read as JSON), each row standing for the string;
/// or where the view reached its bound.
pub fn raw_view(src: &str) -> Result<Option<View>, Capped> {
    let bytes = src.as_bytes();
    let grids = super::grids::may_hold(bytes);
    let embedded = memchr::memmem::find(bytes, b"\\\"").is_some();
    if !grids && !embedded {
        return Ok(None);
    }
    let Some(mut out) = Out::new(src) else {
        return Ok(None);
    };
    if grids {
        super::grids::grid_rows(src, &mut |span, cells: &[String]| out.text_row(span, cells))?;
    }
    if embedded {
        embedded_json_rows(src, &mut out)?;
    }
    Ok(out.all.finish())
}

/// The rows of each JSON string of `src` that holds a JSON document (it starts with `{` or `[`
/// and holds an escaped quote): decoded once, read by [`rows`], each row written standing for
/// the string. Each string is read once; what the rows add is bounded by the view's cap.
fn embedded_json_rows(src: &str, out: &mut Out<'_>) -> Result<(), Capped> {
    let b = src.as_bytes();
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'"', &b[i..]) {
        let at = i + p;
        let mut budget = usize::MAX;
        let Some(((start, end), after)) = json_string(b, at, &mut budget) else {
            return Ok(());
        };
        i = after;
        let inner = src[start..end].trim_start();
        if !(inner.starts_with('{') || inner.starts_with('[')) || !inner.contains("\\\"") {
            continue;
        }
        let Ok(decoded) = serde_json::from_str::<String>(&src[at..after]) else {
            continue;
        };
        // A table inside that passes its bound is refused where it stands (fail closed).
        let (view, _) = rows(&decoded).map_err(|_| Capped(at, after))?;
        if let Some(view) = view {
            for line in view.text.split_inclusive('\n') {
                if out.all.len() + line.len() > out.cap {
                    return Err(Capped(at, after));
                }
                out.all.push(at, after, line);
            }
        }
    }
    Ok(())
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
    /// While JSON is read: the rows of the values not yet closed at the top, held so that a
    /// header written after its rows in the same object is written before them
    /// ([`Out::header_first`]); and their bytes for each view (counted against `cap`).
    pending: Option<Vec<Pending>>,
    pending_all: usize,
    pending_by_columns: usize,
    /// The held rows' text, one after another.
    pending_text: String,
    /// Bytes the markup tables' rows may write ([`Out::text_row`]): the text's length (and a
    /// little). Their rows are never longer than their lines but for a one-column table's
    /// [`FILLER`]: a document made of such tiny rows is refused (fail closed) rather than read
    /// at nearly twice its size.
    grid_cap: usize,
    grid_len: usize,
}

/// Which views a row is written to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dest {
    /// Every row: read under its header (`tables::delimited`).
    Rows,
    /// A table by columns' row: read as it stands, and under its header too.
    Both,
    /// Read as it stands only: a value under the keys of nested objects (`ssn`, `219`, `45`,
    /// `1100`, `true`), which is no table.
    Standing,
}

impl Dest {
    fn rows(self) -> bool {
        self != Dest::Standing
    }

    fn standing(self) -> bool {
        self != Dest::Rows
    }
}

/// A row held until the JSON value holding it closes.
struct Pending {
    span: Span,
    /// Its line in [`Out::pending_text`].
    line: (usize, usize),
    dest: Dest,
    /// A header row (of column objects).
    header: bool,
}

impl<'a> Out<'a> {
    /// Empty views of `src` (`None` for an input the views' offsets cannot hold).
    fn new(src: &'a str) -> Option<Out<'a>> {
        let bound = src.len().saturating_mul(2).saturating_add(GROWTH_SLACK);
        Some(Out {
            all: TokenView::new(src, kind::TABLE)?,
            by_columns: TokenView::new(src, kind::TABLE)?,
            cap: bound,
            line: String::new(),
            budget: bound,
            pending: None,
            pending_all: 0,
            pending_by_columns: 0,
            pending_text: String::new(),
            grid_cap: src.len().saturating_add(GROWTH_SLACK),
            grid_len: 0,
        })
    }

    /// Writes a row of a markup table ([`super::grids`]): its cells as read, standing for
    /// `span`, when one is filled.
    fn text_row(&mut self, span: Span, cells: &[String]) -> Result<(), Capped> {
        if cells.is_empty() || cells.len() > MAX_COLUMNS || cells.iter().all(String::is_empty) {
            return Ok(());
        }
        self.line.clear();
        for (n, c) in cells.iter().enumerate() {
            if n > 0 {
                self.line.push('\t');
            }
            self.line
                .extend(c.chars().map(|c| if matches!(c, '\t' | '\r' | '\n') { ' ' } else { c }));
        }
        if cells.len() == 1 {
            self.line.push('\t');
            self.line.push_str(FILLER);
        }
        self.line.push('\n');
        self.grid_len += self.line.len();
        if self.all.len() + self.line.len() > self.cap || self.grid_len > self.grid_cap {
            return Err(Capped(span.0, span.1));
        }
        self.all.push(span.0, span.1, &self.line);
        Ok(())
    }

    /// Writes a row of `cells` (`None`: an empty cell) standing for `span`, when one is filled
    /// (held while JSON is read, see [`Out::pending`]).
    fn row(
        &mut self,
        b: &[u8],
        span: Span,
        cells: &[Option<Span>],
        how: Cell,
        dest: Dest,
        header: bool,
    ) -> Result<(), Capped> {
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
        if let Some(pending) = self.pending.as_mut() {
            let n = self.line.len();
            if (dest.rows() && self.all.len() + self.pending_all + n > self.cap)
                || (dest.standing() && self.by_columns.len() + self.pending_by_columns + n > self.cap)
            {
                return Err(Capped(span.0, span.1));
            }
            if dest.rows() {
                self.pending_all += n;
            }
            if dest.standing() {
                self.pending_by_columns += n;
            }
            let at = self.pending_text.len();
            self.pending_text.push_str(&self.line);
            pending.push(Pending {
                span,
                line: (at, at + n),
                dest,
                header,
            });
            return Ok(());
        }
        self.write(span, dest)
    }

    /// Writes `self.line` standing for `span`.
    fn write(&mut self, span: Span, dest: Dest) -> Result<(), Capped> {
        let line = std::mem::take(&mut self.line);
        let written = self.write_line(span, &line, dest);
        self.line = line;
        written
    }

    /// Writes `line` standing for `span`.
    fn write_line(&mut self, span: Span, line: &str, dest: Dest) -> Result<(), Capped> {
        if dest.standing() {
            if self.by_columns.len() + line.len() > self.cap {
                return Err(Capped(span.0, span.1));
            }
            self.by_columns.push(span.0, span.1, line);
        }
        // A table by columns is a table too: read under its header as well.
        if dest.rows() {
            if self.all.len() + line.len() > self.cap {
                return Err(Capped(span.0, span.1));
            }
            self.all.push(span.0, span.1, line);
        }
        Ok(())
    }

    /// Writes the rows held (the JSON value holding them closed at the top, or the reading
    /// starts again).
    fn flush_pending(&mut self) -> Result<(), Capped> {
        let Some(held) = self.pending.replace(Vec::new()) else {
            return Ok(());
        };
        self.pending_all = 0;
        self.pending_by_columns = 0;
        let text = std::mem::take(&mut self.pending_text);
        for p in held {
            self.write_line(p.span, &text[p.line.0..p.line.1], p.dest)?;
        }
        self.pending_text = text;
        self.pending_text.clear();
        Ok(())
    }

    /// An object of `span` closed whose rows are held from `first` on, in its members' ranges
    /// (`(from, to, header)`): the rows of its header members are moved before the others (a
    /// header after its rows in the same object: `{"rows": […], "schema": {"fields": […]}}`).
    /// Each row moved costs one of the budget: past it the document is refused.
    fn header_first(&mut self, span: Span, first: usize, ranges: &[(usize, usize, bool)]) -> Result<(), Capped> {
        let Some(pending) = self.pending.as_mut() else {
            return Ok(());
        };
        let mut plain_before = false;
        let needed = ranges.iter().filter(|r| r.0 < r.1).any(|&(_, _, header)| {
            let late = header && plain_before;
            plain_before |= !header;
            late
        });
        if !needed || first >= pending.len() {
            return Ok(());
        }
        self.budget = self.budget.saturating_sub(pending.len() - first);
        if self.budget == 0 {
            return Err(Capped(span.0, span.1));
        }
        let mut slots: Vec<Option<Pending>> = pending.drain(first..).map(Some).collect();
        for &(from, to, _) in ranges.iter().filter(|r| r.2) {
            for slot in slots
                .get_mut(from.saturating_sub(first)..to.saturating_sub(first))
                .into_iter()
                .flatten()
            {
                pending.extend(slot.take());
            }
        }
        pending.extend(slots.into_iter().flatten());
        Ok(())
    }
}

/// Keys whose value is a table's header (`schema`, `columns`, `fields`, …), compared without
/// case: their rows are written before their siblings' ([`Out::header_first`]).
const HEADER_KEYS: &[&[u8]] = &[
    b"schema",
    b"columns",
    b"cols",
    b"fields",
    b"header",
    b"headers",
    b"head",
    b"columnHeaders",
    b"columnNames",
    b"columnInfo",
    b"names",
    b"labels",
    b"meta",
    b"metadata",
    b"resultSetMetadata",
];

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
    /// An object of one member down to a scalar (`{"219": {"45": {"1100": true}}}`): its keys
    /// and the scalar, at most [`MAX_CHAIN`] (the outer four and the inner ones), else empty.
    chain: Vec<Span>,
}

/// Keys and value kept of a chain of objects of one member (see [`Summary::chain`]).
const MAX_CHAIN: usize = 12;

/// `chain` under `key`: the outer four and the inner ones kept, at most [`MAX_CHAIN`].
fn under_key(key: Span, chain: &[Span]) -> Vec<Span> {
    let mut under = Vec::with_capacity(chain.len() + 1);
    under.push(key);
    under.extend_from_slice(chain);
    if under.len() > MAX_CHAIN {
        under.remove(4);
    }
    under
}

/// Writes the keys of nested objects of one member and the value under them as a row read as
/// it stands (`ssn\t219\t45\t1100\ttrue`: an SSN split by nesting under its label), when a key
/// of digits stands between the outermost key and the value.
fn write_chain(b: &[u8], span: Span, chain: &[Span], out: &mut Out<'_>) -> Result<(), Capped> {
    let number = |k: &Span| {
        b[k.0..k.1]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_punctuation())
    };
    // Only chains holding a key of digits: a value under keys of words (`{"message": {"text":
    // …}}`, all over SARIF) is read where it stands, its label and qualifier beside it.
    if chain.len() < 3 || !chain[1..chain.len() - 1].iter().any(number) {
        return Ok(());
    }
    let cells: Vec<Option<Span>> = chain.iter().copied().map(Some).collect();
    out.row(b, span, &cells, Cell::Json, Dest::Standing, false)?;
    // And the outermost key beside the numbers its innermost keys spell, when other keys stand
    // between (`{"ssn": {"a": {"b": {"21945": {"1100": 1}}}}}`).
    let keys = &chain[..chain.len() - 1];
    let numbers = keys.iter().rev().take_while(|k| number(k)).count();
    if numbers >= 1 && numbers + 1 < keys.len() {
        let mut short = Vec::with_capacity(numbers + 2);
        short.push(Some(chain[0]));
        short.extend(chain[chain.len() - 1 - numbers..].iter().copied().map(Some));
        out.row(b, span, &short, Cell::Json, Dest::Standing, false)?;
    }
    Ok(())
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
        /// Rows held when it opened, and when its current member's key was read.
        first: usize,
        member_from: usize,
        /// Each member's held rows, `(from, to, header)`.
        ranges: Vec<(usize, usize, bool)>,
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

/// Hands a closed value to the array or object that holds it (`held`: the rows held so far).
fn give(stack: &mut [Frame], item: Item, b: &[u8], held: &[Pending]) {
    match stack.last_mut() {
        Some(Frame::Array { items, .. }) if items.len() < MAX_ITEMS => items.push(item),
        Some(Frame::Object {
            key,
            members,
            member_from,
            ranges,
            ..
        }) => {
            if let Some(k) = key.take()
                && members.len() < MAX_ITEMS
            {
                let from = (*member_from).min(held.len());
                if from < held.len() {
                    let name = &b[k.0..k.1];
                    let header = HEADER_KEYS.iter().any(|h| name.eq_ignore_ascii_case(h))
                        || held[from..].iter().any(|p| p.header);
                    ranges.push((from, held.len(), header));
                }
                members.push((k, item));
            }
        }
        _ => {}
    }
}

/// An object opening at `start` with `held` rows held.
fn object(start: usize, held: usize) -> Frame {
    Frame::Object {
        start,
        key: None,
        members: Vec::new(),
        first: held,
        member_from: held,
        ranges: Vec::new(),
    }
}

/// The JSON rows of `b` (see the module): one pass. Rows are held until the value holding
/// them closes at the top (or the reading starts again), so that an object's header members
/// are written before their siblings' rows.
fn json_rows(b: &[u8], out: &mut Out<'_>) -> Result<(), Capped> {
    out.pending = Some(Vec::new());
    let read = json_values(b, out);
    let flushed = out.flush_pending();
    out.pending = None;
    read.and(flushed)
}

fn json_values(b: &[u8], out: &mut Out<'_>) -> Result<(), Capped> {
    let mut stack: Vec<Frame> = Vec::new();
    let held = |out: &Out<'_>| out.pending.as_ref().map_or(0, Vec::len);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if stack.is_empty() {
            match c {
                b'[' => stack.push(Frame::Array {
                    start: i,
                    items: Vec::new(),
                }),
                b'{' => stack.push(object(i, held(out))),
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' => i += 1,
            b'[' | b'{' if stack.len() >= MAX_DEPTH => {
                stack.clear();
                out.flush_pending()?;
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
                stack.push(object(i, held(out)));
                i += 1;
            }
            b']' => {
                i += 1;
                match stack.pop() {
                    Some(Frame::Array { start, items }) => {
                        // Under a key `values`, arrays of arrays may be columns (Grafana's data
                        // frames, Sheets' `majorDimension: COLUMNS`): read both ways.
                        let columns = matches!(stack.last(), Some(Frame::Object { key: Some(k), .. })
                            if b[k.0..k.1].eq_ignore_ascii_case(b"values"));
                        let item = close_array(b, (start, i), &items, columns, out)?;
                        give(&mut stack, item, b, out.pending.as_deref().unwrap_or_default());
                    }
                    _ => stack.clear(),
                }
                if stack.is_empty() {
                    out.flush_pending()?;
                }
            }
            b'}' => {
                i += 1;
                match stack.pop() {
                    Some(Frame::Object {
                        start,
                        members,
                        first,
                        ranges,
                        ..
                    }) => {
                        out.header_first((start, i), first, &ranges)?;
                        let item = close_object(b, (start, i), &members, out)?;
                        if let (true, Item::Object(o)) = (stack.is_empty(), &item) {
                            write_chain(b, (start, i), &o.chain, out)?;
                        }
                        give(&mut stack, item, b, out.pending.as_deref().unwrap_or_default());
                    }
                    _ => stack.clear(),
                }
                if stack.is_empty() {
                    out.flush_pending()?;
                }
            }
            b'"' | b'\'' => match json_string(b, i, &mut out.budget) {
                Some((span, after)) => {
                    let n = held(out);
                    match stack.last_mut() {
                        Some(Frame::Object {
                            key: key @ None,
                            member_from,
                            ..
                        }) => {
                            *key = Some(span);
                            *member_from = n;
                        }
                        _ => give(&mut stack, Item::Scalar(span), b, &[]),
                    }
                    i = after;
                }
                None => {
                    if out.budget == 0 {
                        return Err(Capped(i, (i + MAX_ROW).min(b.len())));
                    }
                    stack.clear();
                    out.flush_pending()?;
                    i += 1;
                }
            },
            c if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.') => {
                let len = b[i..]
                    .iter()
                    .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                    .count();
                let n = held(out);
                if len <= 64 {
                    match stack.last_mut() {
                        // A key written bare (`{0: '219451100'}`, a Python printout).
                        Some(Frame::Object {
                            key: key @ None,
                            member_from,
                            ..
                        }) => {
                            *key = Some((i, i + len));
                            *member_from = n;
                        }
                        _ => give(&mut stack, Item::Scalar((i, i + len)), b, &[]),
                    }
                } else {
                    give(&mut stack, Item::Array(Vec::new()), b, &[]);
                }
                i += len;
            }
            _ => {
                // No JSON here: start again.
                stack.clear();
                out.flush_pending()?;
                i += 1;
            }
        }
    }
    Ok(())
}

/// A closed array: a row, a header row of column objects, or nothing (see the module); what it
/// is to its parent.
fn close_array(b: &[u8], span: Span, items: &[Item], columns: bool, out: &mut Out<'_>) -> Result<Item, Capped> {
    let cells: Vec<Option<Span>> = items
        .iter()
        .map(|it| match it {
            Item::Scalar(s) => Some(*s),
            Item::Object(o) => o.v,
            Item::Array(_) => None,
        })
        .collect();
    for item in items {
        if let Item::Object(o) = item {
            write_chain(b, span, &o.chain, out)?;
        }
    }
    if cells.iter().any(Option::is_some) {
        out.row(b, span, &cells, Cell::Json, Dest::Rows, false)?;
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
        out.row(b, span, &labels, Cell::Json, Dest::Rows, true)?;
    }
    // Arrays of columns: row `r` the `r`-th cell of each.
    let arrays: Vec<&[Option<Span>]> = items
        .iter()
        .filter_map(|it| match it {
            Item::Array(cells) => Some(cells.as_slice()),
            _ => None,
        })
        .collect();
    if columns && arrays.len() >= 2 && arrays.len() == items.len() && arrays.len() <= MAX_COLUMNS {
        columns_as_rows(b, span, &arrays, Dest::Rows, out)?;
    }
    Ok(Item::Array(cells))
}

/// Columns written row by row: row `r` the `r`-th value of each (none past a column's end).
/// Each row is charged to the budget, one a column: past it the document is refused.
fn columns_as_rows(
    b: &[u8],
    span: Span,
    columns: &[&[Option<Span>]],
    dest: Dest,
    out: &mut Out<'_>,
) -> Result<(), Capped> {
    let rows = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut row = Vec::with_capacity(columns.len());
    for r in 0..rows {
        out.budget = out.budget.saturating_sub(columns.len());
        if out.budget == 0 {
            return Err(Capped(span.0, span.1));
        }
        row.clear();
        row.extend(columns.iter().map(|c| c.get(r).copied().flatten()));
        out.row(b, span, &row, Cell::Json, dest, false)?;
    }
    Ok(())
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
        out.row(b, span, &header, Cell::Json, Dest::Both, false)?;
        let values: Vec<&[Option<Span>]> = columns.iter().map(|(_, v)| *v).collect();
        columns_as_rows(b, span, &values, Dest::Both, out)?;
    }
    // A column: pandas' `Series` (`{"name": "ssn", "index": […], "data": […]}`).
    let data = members.iter().find_map(|(k, it)| match it {
        Item::Array(cells) if &b[k.0..k.1] == b"data" => Some(cells),
        _ => None,
    });
    if let (Some(name), Some(data)) = (scalar(b"name"), data) {
        out.row(b, span, &[Some(name)], Cell::Json, Dest::Rows, false)?;
        for cell in data.iter().filter(|c| c.is_some()) {
            out.row(b, span, &[*cell], Cell::Json, Dest::Rows, false)?;
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
    // A chain of objects of one member goes on up; one that ends here, under this object's
    // key, is written.
    let chain = match members {
        [(k, Item::Scalar(s))] => vec![*k, *s],
        [(k, Item::Object(o))] if !o.chain.is_empty() => under_key(*k, &o.chain),
        _ => {
            for (k, it) in members {
                if let Item::Object(o) = it
                    && !o.chain.is_empty()
                {
                    write_chain(b, span, &under_key(*k, &o.chain), out)?;
                }
            }
            Vec::new()
        }
    };
    Ok(Item::Object(Summary {
        chain,
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
    /// A cell spanning `colspan` columns and `rowspan` rows.
    Cell(usize, usize),
    Other,
}

fn role(b: &[u8], name: &[u8], closing: bool, attrs: Span) -> Role {
    if closing {
        return Role::Other;
    }
    let aria = attribute(b, attrs, b"role").map(|r| r.to_ascii_lowercase());
    let span = |name: &[u8]| {
        attribute(b, attrs, name)
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 64)
    };
    match (name, aria.as_deref()) {
        (ROW_TAGS!(), _) | (_, Some(b"row")) => Role::Row,
        (CELL_TAGS!(), _) | (_, Some(b"cell" | b"gridcell" | b"columnheader" | b"rowheader")) => {
            Role::Cell(span(b"colspan"), span(b"rowspan"))
        }
        _ => Role::Other,
    }
}

/// The HTML rows of `b` (see the module): each `<` looked at once, a row read from its start to
/// its end (at most [`MAX_ROW`] bytes).
fn html_rows(b: &[u8], out: &mut Out<'_>) -> Result<(), Capped> {
    let mut cells: Vec<Option<Span>> = Vec::new();
    // Rows each column is still covered for by a cell above it (`rowspan`).
    let mut covered: Vec<usize> = Vec::new();
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'<', &b[i..]) {
        let at = i + p;
        let found = tag(b, at, &mut out.budget);
        if out.budget == 0 {
            return Err(Capped(at, (at + 1).min(b.len())));
        }
        match found {
            Some((name, closing, attrs, after)) if matches!(role(b, &name, closing, attrs), Role::Row) => {
                let (end, headed) = html_row(b, after, &mut cells, &mut covered, &mut out.budget);
                if out.budget == 0 {
                    return Err(Capped(at, end.max(at + 1).min(b.len())));
                }
                // A row headed by its label (`<tr><th>SSN</th><td>…</td></tr>`) is read as it
                // stands too: the label beside its value.
                let dest = if headed { Dest::Both } else { Dest::Rows };
                out.row(b, (at, end), &cells, Cell::Html, dest, false)?;
                i = end.max(at + 1);
            }
            // A term and its definition (`<dt>SSN</dt><dd>…</dd>`): the label beside its value,
            // read as it stands.
            Some((name, false, _, after)) if name == b"dt" => {
                let definition = term_and_definition(b, after, &mut out.budget);
                if out.budget == 0 {
                    return Err(Capped(at, (at + MAX_ROW).min(b.len())));
                }
                match definition {
                    Some((term, definition)) => {
                        out.row(
                            b,
                            (at, definition.1),
                            &[Some(term), Some(definition)],
                            Cell::Html,
                            Dest::Standing,
                            false,
                        )?;
                        i = definition.1.max(at + 1);
                    }
                    None => i = at + 1,
                }
            }
            // A table's caption labels its one column (`<caption>SSN</caption>`): a row of its
            // own, a header of one cell.
            Some((name, false, _, after)) if name == b"caption" => {
                let limit = b.len().min(after + MAX_ROW);
                let end = memchr::memmem::find(&b[after..limit], b"</").map_or(limit, |p| after + p);
                out.row(b, (at, end), &[Some((after, end))], Cell::Html, Dest::Rows, false)?;
                i = end.max(at + 1);
            }
            // A new table: no cell above reaches into it.
            Some((name, _, _, _)) if name == b"table" => {
                covered.clear();
                i = at + 1;
            }
            _ => i = at + 1,
        }
    }
    Ok(())
}

/// The term whose `<dt>` ends at `from` and its definition: their texts' spans. The term ends at
/// the next `<dd>` (after `</dt>` and white space only), the definition at the next `<dt>`,
/// `<dd>`, `</dd>` or `</dl>` — each within [`MAX_ROW`] bytes; `None` when no definition
/// follows the term. Each tag is looked at once here.
fn term_and_definition(b: &[u8], from: usize, budget: &mut usize) -> Option<(Span, Span)> {
    // The next tag that is no inline markup inside the text: where it starts, its name, whether
    // it closes, and where it ends.
    let next = |at: usize, budget: &mut usize| -> Option<(usize, Vec<u8>, bool, usize)> {
        let limit = b.len().min(at + MAX_ROW);
        let mut j = at;
        // A tag may end past the limit (a tag reads up to 16 KiB): the loop stops there.
        while j < limit {
            let Some(p) = memchr::memchr(b'<', &b[j..limit]) else {
                break;
            };
            let t = j + p;
            match tag(b, t, budget) {
                Some((name, closing, _, after)) if matches!(name.as_slice(), b"dt" | b"dd" | b"dl") => {
                    return Some((t, name, closing, after));
                }
                Some((_, _, _, after)) => j = after,
                None if *budget == 0 => return None,
                None => j = t + 1,
            }
        }
        None
    };
    let (at, mut name, mut closing, mut after) = next(from, budget)?;
    let term = (from, at);
    if name == b"dt" && closing {
        // `</dt>`, white space, then the `<dd>`.
        let gap = b[after..].iter().take_while(|c| c.is_ascii_whitespace()).count();
        if b.get(after + gap) != Some(&b'<') {
            return None;
        }
        let (n, c, _, a) = tag(b, after + gap, budget)?;
        (name, closing, after) = (n, c, a);
    }
    if name != b"dd" || closing {
        return None;
    }
    let start = after;
    let end = next(start, budget).map_or_else(|| b.len().min(start + MAX_ROW), |(t, _, _, _)| t);
    Some((term, (start, end)))
}

/// The cells of the row whose start tag ends at `from`, into `cells`: where the row ends (at
/// `</tr>`'s end, or at the next row's start or `</table>`, or [`MAX_ROW`] bytes on), and
/// whether it is headed by its label (a header cell, `<th>` or `role="rowheader"`, before a
/// data cell). A column a cell above still covers (`rowspan`, counted in `covered`) is an
/// empty cell here, so the cells after it stay under their own labels.
fn html_row(
    b: &[u8],
    from: usize,
    cells: &mut Vec<Option<Span>>,
    covered: &mut Vec<usize>,
    budget: &mut usize,
) -> (usize, bool) {
    cells.clear();
    // Whether the first cell is a header cell, and whether a data cell follows it.
    let mut first_header: Option<bool> = None;
    let mut data_after = false;
    let limit = b.len().min(from + MAX_ROW);
    // Columns covered by the rows above, as this row starts.
    let above = std::mem::take(covered);
    covered.resize(above.len(), 0);
    // Empty cells for the covered columns at the current position.
    let skip = |cells: &mut Vec<Option<Span>>, covered: &mut Vec<usize>| {
        while cells.len() < above.len().min(MAX_COLUMNS) && above[cells.len()] > 0 {
            covered[cells.len()] = above[cells.len()] - 1;
            cells.push(None);
        }
    };
    // The open cell: where its text starts, how many columns and rows it spans.
    let mut open: Option<(usize, usize, usize)> = None;
    let close = |open: &mut Option<(usize, usize, usize)>,
                 cells: &mut Vec<Option<Span>>,
                 covered: &mut Vec<usize>,
                 at: usize| {
        skip(cells, covered);
        if let Some((s, colspan, rowspan)) = open.take()
            && cells.len() < MAX_COLUMNS
        {
            let first = cells.len();
            cells.push(Some((s, at)));
            cells.extend(std::iter::repeat_n(None, colspan - 1));
            if covered.len() < cells.len() {
                covered.resize(cells.len(), 0);
            }
            for c in &mut covered[first..cells.len()] {
                *c = rowspan - 1;
            }
            skip(cells, covered);
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
                return (limit, false);
            }
            j = at + 1;
            continue;
        };
        match (name.as_slice(), closing, role(b, &name, closing, attrs)) {
            (_, false, Role::Row) | (b"table" | b"tbody" | b"thead" | b"tfoot" | b"sheetdata" | b"tgroup", true, _) => {
                close(&mut open, cells, covered, at);
                return (at, first_header == Some(true) && data_after);
            }
            (ROW_TAGS!(), true, _) => {
                close(&mut open, cells, covered, at);
                return (after, first_header == Some(true) && data_after);
            }
            (CELL_TAGS!(), true, _) => close(&mut open, cells, covered, at),
            (_, false, Role::Cell(colspan, rowspan)) => {
                close(&mut open, cells, covered, at);
                let header = name == b"th"
                    || attribute(b, attrs, b"role").is_some_and(|r| {
                        r.eq_ignore_ascii_case(b"rowheader") || r.eq_ignore_ascii_case(b"columnheader")
                    });
                match first_header {
                    None => first_header = Some(header),
                    Some(_) => data_after |= !header,
                }
                open = Some((after, colspan, rowspan));
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
                        return (limit, false);
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
    close(&mut open, cells, covered, limit.min(b.len()));
    (limit, first_header == Some(true) && data_after)
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

    /// Held until the object closes, a header member is written before its siblings' rows:
    /// without it the rows came first and were read under no header.
    #[test]
    fn a_header_after_its_rows_in_the_same_object_is_read_first() {
        refused(
            "bigquery rows before schema",
            r#"{"rows": [{"f": [{"v": "Jane Roe"}, {"v": "219451100"}]}], "schema": {"fields": [{"name": "patient"}, {"name": "ssn"}]}}"#,
            &["us-ssn"],
            &["219451100"],
        );
        refused(
            "pandas split, columns last",
            r#"{"data":[["00123456","219451100"]],"index":[0],"columns":["mrn","ssn"]}"#,
            &["us-ssn", "mrn"],
            &["219451100", "00123456"],
        );
        // The order of the rows view itself.
        let (all, _) = rows(r#"{"data": [["a", "b"]], "note": [["c", "d"]], "columns": ["x", "y"]}"#).unwrap();
        let text = all.unwrap().text;
        assert!(text.starts_with("x\ty\na\tb\nc\td\n"), "{text}");
        // Nested objects each with a late header: every move is paid from the budget.
        let mut deep = String::new();
        for _ in 0..300 {
            deep.push_str(r#"{"rows": "#);
        }
        deep.push_str(&"[[\"1\", \"2\"]],".repeat(2000));
        deep.push_str("[[\"1\", \"2\"]]");
        for _ in 0..300 {
            deep.push_str(r#", "schema": [{"name": "x"}, {"name": "y"}]}"#);
        }
        let _ = rows(&deep);
    }

    /// A cell spanning rows (`rowspan`) covers its column in the rows below: their cells stay
    /// under their own labels (they shifted left, the SSN under `name`, before).
    #[test]
    fn a_cell_spanning_rows_keeps_the_cells_below_under_their_labels() {
        refused(
            "rowspan",
            r#"<table><tr><th>ward</th><th>patient</th><th>ssn</th></tr><tr><td rowspan="2">4B</td><td>test</td><td>none</td></tr><tr><td>Jane Roe</td><td>219451100</td></tr></table>"#,
            &["us-ssn"],
            &["219451100"],
        );
        let (all, _) = rows(
            r#"<table><tr><td rowspan="3">a</td><td>b</td></tr><tr><td>c</td></tr><tr><td>d</td></tr><tr><td>e</td><td>f</td></tr></table><table><tr><td>g</td></tr></table>"#,
        )
        .unwrap();
        assert_eq!(all.unwrap().text, "a\tb\n\tc\n\td\ne\tf\ng\trow\n");
    }

    /// A JSON table written as a string (an API Gateway response's `body`), in evidence: its
    /// quotes decoded no longer read as JSON; read in the text as written.
    #[test]
    fn a_json_table_written_as_a_string_is_read() {
        refused(
            "api gateway body",
            r#"{"statusCode": 200, "body": "{\"columns\": [\"mrn\", \"ssn\"], \"data\": [[\"x1\", \"n/a\"], [\"00123456\", \"219451100\"]]}"}"#,
            &["us-ssn"],
            &["219451100"],
        );
    }

    /// Grafana's data frames hold one array per column under `data.values`, their names in
    /// `schema.fields`: read as columns too (one patient's SSN read under `name` before).
    #[test]
    fn a_grafana_data_frame_is_read_by_columns() {
        refused(
            "grafana frame",
            r#"{"results": {"A": {"frames": [{"schema": {"fields": [{"name": "patient"}, {"name": "ssn"}]}, "data": {"values": [["Jane Roe"], ["219451100"]]}}]}}}"#,
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

    /// Attack rounds 5 and 6: a value split into the keys of nested objects of one member, and
    /// a label beside its value in an HTML row headed by it or in a definition list, with text
    /// before them (the first row of a text was read as a header and caught by chance).
    #[test]
    fn a_value_under_nested_keys_or_beside_its_label_in_a_row_or_a_definition_is_refused() {
        for (attack, t) in [
            ("nesting", r#"{"ssn":{"219":{"45":{"1100":true}}}}"#),
            ("nesting 5+4", r#"{"ssn":{"21945":{"1100":null}}}"#),
            ("nesting with a value", r#"{"ssn":{"219":"45-1100"}}"#),
            (
                "nesting under a sibling",
                r#"{"n":1,"patient":{"ssn":{"219":{"45":{"1100":1}}}}}"#,
            ),
            ("nesting in a list", r#"[{"ssn":{"219":{"45":"1100"}}}, 2]"#),
            ("th beside td", "report\n<tr><th>SSN</th><td>219451100</td></tr>"),
            (
                "rowheader",
                "report\n<tr><td role=\"rowheader\">ssn</td><td>219451100</td></tr>",
            ),
            ("definition", "report\n<dl><dt>ssn</dt>\n  <dd>219451100</dd></dl>"),
            (
                "definition without ends",
                "report\n<dl><dt><b>SSN</b><dd>219451100<dt>site<dd>north</dl>",
            ),
        ] {
            refused(attack, t, &["us-ssn"], &["219451100", "1100"]);
        }
        // Other keys between the label and the numbers its inner keys spell.
        let deep = format!(
            r#"{{"ssn":{}{{"219":{{"45":{{"1100":1}}}}}}{}}}"#,
            r#"{"a":"#.repeat(3),
            "}".repeat(3)
        );
        refused("deep nesting", &deep, &["us-ssn"], &["1100"]);
    }

    #[test]
    fn json_and_html_tables_without_phi_stay_clean() {
        for text in [
            r#"{"version":{"major":{"2":{"14":0}}}}"#,
            r#"{"limits":{"cpu":{"500":"m"}},"replicas":{"3":true}}"#,
            "<dl><dt>Build</dt><dd>8812</dd><dt>Commit</dt><dd>4b825dc6</dd></dl>",
            "<table><tr><th>Service</th><td>billing</td></tr><tr><th>Version</th><td>2.14.0</td></tr></table>",
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
            // A tag straddling a term's reading limit (the review of the tenth round: it
            // panicked).
            format!(
                "<dt>{}<i {}>{}",
                "A".repeat(MAX_ROW - 6),
                "x".repeat(20),
                "b".repeat(100)
            ),
            format!("<dt>{}<dd>x", "<b>".repeat(MAX_ROW / 3 + 10)),
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
            h in "(<(/)?(tr|td|th|table|html:td|div role=\"row\"|span role=\"cell\"|td colspan=\"3\"|td title=\"a>b\"|td rowspan=\"2\")>|[a-z0-9 ]{0,5}){0,40}",
            g in "(\\{\\||\\|\\}|\\|-|!!|\\|\\||\\|===|&|\\\\\\\\|\\\\begin\\{tabular\\}|\\\\end\\{tabular\\}|- - |- \\[|\\]|\n|  |: |\"|\\\\\"|\\[cols=\"2\"\\]|[a-zé0-9 ]{0,4}){0,60}",
        ) {
            for src in [s.as_str(), t.as_str(), h.as_str(), g.as_str()] {
                if let Ok(Some(v)) = raw_view(src) {
                    proptest::prop_assert!(v.text.len() <= 2 * src.len() + GROWTH_SLACK);
                    let (x, y) = v.to_original(0, v.text.len());
                    proptest::prop_assert!(x <= y && y <= src.len());
                }
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
