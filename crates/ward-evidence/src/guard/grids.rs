//! Tables written in markups other than delimited text, JSON and HTML, read as the rows a person
//! sees (2026-12-05, ninth round): each row handed to [`super::rows`] as its cells, to be
//! written one line per row with its cells separated by tabs and read under its header by
//! [`super::tables::delimited`].
//!
//! - **LaTeX** (`tabular`, `longtable`, `array`, …): a row ends at `\\`, its cells are separated
//!   by `&` (not `\&`); inside an environment a row may span lines, outside one a line holding
//!   `&` and ending in `\\` is a row. Rules (`\hline`, `\toprule`, `\cline{…}`) are dropped, a
//!   command's braces keep their text (`\textbf{SSN}` reads `SSN`), `~` reads as a space.
//! - **MediaWiki** (`{|` … `|}`): a row ends at `|-` or `|}`; a line starting with `!` holds
//!   header cells separated by `!!` (or `||`), one starting with `|` data cells separated by
//!   `||`; a cell's attributes before a single `|` are dropped; another line continues the
//!   last cell.
//! - **Jira / Confluence wiki**: a line starting with `||` is a header row (cells between `||`),
//!   the lines starting with `|` after it are its rows (a `||` inside one, a header cell, reads
//!   as a separator).
//! - **AsciiDoc** (`|===` … `|===`): cells start at `|` (a cell specifier before it, `2+` or
//!   `a`, is dropped), on one line or one per line; the row width is the `cols` attribute's
//!   count (`[cols="1,1,2"]`, `[cols="3*"]`) or the number of cells on the first line; the cells
//!   are read as rows of that width.
//! - **YAML** sequences of sequences: `- - cell` starts a row, `  - cell` at two more spaces
//!   continues it; a flow sequence `- [a, b]` is a row.
//! - **BBCode** (`[tr][td]…[/td][/tr]`) and **columns aligned with spaces** (a fixed-width
//!   report, a reStructuredText simple table: cells separated by two spaces or more, rules of
//!   `=`/`-` dropped).
//!
//! **Linear**: one pass over the lines; a row holds at most [`MAX_ROW`] bytes and
//! [`MAX_COLUMNS`] cells (more is written as the next row).

use super::tables::{Capped, MAX_COLUMNS, MAX_ROW};

type Span = (usize, usize);

/// Where a row goes: its span in the text and its cells.
pub(super) type Emit<'e> = dyn FnMut(Span, &[String]) -> Result<(), Capped> + 'e;

/// Whether `src` may hold a table in one of these markups (a cheap test before reading).
pub(super) fn may_hold(src: &[u8]) -> bool {
    memchr::memchr3(b'&', b'|', b'!', src).is_some()
        || memchr::memmem::find(src, b"- ").is_some()
        || memchr::memmem::find(src, b"  ").is_some()
        || memchr::memmem::find(src, b"[/t").is_some()
}

/// Reads every table of these markups in `src`, handing each row to `emit`.
pub(super) fn grid_rows(src: &str, emit: &mut Emit<'_>) -> Result<(), Capped> {
    let mut g = Grid::default();
    let mut at = 0;
    let b = src.as_bytes();
    while at < b.len() {
        let end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i);
        let mut line_end = end;
        if line_end > at && b[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        g.line(&src[at..line_end], at, emit)?;
        at = end + 1;
    }
    g.close(src.len(), emit)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Block {
    #[default]
    None,
    Latex,
    Wiki,
    Jira,
    /// AsciiDoc, its cells opened by this separator (`|`, or `!` in a nested table).
    Adoc(char),
    /// AsciiDoc delimited data (`:===`, `,===`): a row a line, its cells split at this separator.
    Dsv(char),
    /// A YAML row of block items, its items at this indent.
    Yaml(usize),
}

#[derive(Default)]
struct Grid {
    block: Block,
    cells: Vec<String>,
    /// Bytes held in `cells`.
    held: usize,
    /// Start of the row being read.
    from: Option<usize>,
    /// End of the last line read into it.
    to: usize,
    /// AsciiDoc: the row width (0: from the first line's cells), and the `cols` attribute seen
    /// before the block.
    width: usize,
    cols: usize,
    /// AsciiDoc: the first line of the block is read.
    first_line: bool,
    /// The first row of the table being read: a row that repeats it is not written again (a
    /// header repeated holds no value; every copy of it is read as text as it stands).
    header: Vec<String>,
}

impl Grid {
    fn add(&mut self, cell: String, line_at: usize, line_end: usize) {
        self.from.get_or_insert(line_at);
        self.to = line_end;
        self.held += cell.len();
        self.cells.push(cell);
    }

    /// Continues the last cell with `text` (a cell written over several lines).
    fn extend_last(&mut self, text: &str, line_end: usize) {
        if let Some(last) = self.cells.last_mut() {
            last.push(' ');
            last.push_str(text.trim());
            self.held += text.len() + 1;
            self.to = line_end;
        }
    }

    fn full(&self) -> bool {
        self.cells.len() >= MAX_COLUMNS || self.held >= MAX_ROW
    }

    fn flush(&mut self, emit: &mut Emit<'_>) -> Result<(), Capped> {
        if let Some(from) = self.from.take()
            && self.cells.iter().any(|c| !c.is_empty())
            && self.cells != self.header
        {
            emit((from, self.to.max(from)), &self.cells)?;
            if self.header.is_empty() {
                self.header = self.cells.clone();
            }
        }
        self.cells.clear();
        self.held = 0;
        Ok(())
    }

    fn close(&mut self, end: usize, emit: &mut Emit<'_>) -> Result<(), Capped> {
        if matches!(self.block, Block::Adoc(_)) {
            self.to = end;
        }
        self.flush(emit)?;
        self.block = Block::None;
        Ok(())
    }

    fn line(&mut self, line: &str, at: usize, emit: &mut Emit<'_>) -> Result<(), Capped> {
        let end = at + line.len();
        let t = line.trim();
        let indent = line.len() - line.trim_start().len();
        match self.block {
            Block::Wiki => return self.wiki_line(t, at, end, emit),
            Block::Adoc(sep) => return self.adoc_line(t, sep, at, end, emit),
            Block::Dsv(sep) => {
                if t.starts_with(":===") || t.starts_with(",===") {
                    self.block = Block::None;
                    return Ok(());
                }
                if !t.is_empty() {
                    for c in t.split(sep) {
                        self.add(c.trim().to_string(), at, end);
                    }
                    return self.flush(emit);
                }
                return Ok(());
            }
            Block::Latex => return self.latex_line(t, at, end, true, emit),
            Block::Jira => {
                if t.starts_with('|') {
                    self.flush(emit)?;
                    jira_cells(t, |c| self.add(c, at, end));
                    return self.flush(emit);
                }
                self.block = Block::None;
            }
            Block::Yaml(item) => {
                if indent == item
                    && let Some(cell) = t.strip_prefix("- ").or((t == "-").then_some(""))
                    && !cell.trim_start().starts_with("- ")
                {
                    self.add(yaml_scalar(cell), at, end);
                    if self.full() {
                        self.flush(emit)?;
                    }
                    return Ok(());
                }
                self.flush(emit)?;
                self.block = Block::None;
            }
            Block::None => {}
        }
        // A markup table opening inside a line: a string's value (`note: {|`, `"note":"{|`)
        // read as the line it stands for.
        // (Once: the line read then starts with a marker.)
        let opens = |rest: &str| OPENINGS.iter().any(|m| rest.starts_with(m));
        let after_label = [t.rfind(['"', '\'']).map(|i| i + 1), t.find(": ").map(|i| i + 2)]
            .into_iter()
            .flatten()
            .map(|i| t[i..].trim_start())
            .find(|rest| opens(rest));
        if !opens(t)
            && let Some(rest) = after_label
        {
            let skip = line.len() - line.trim_start().len() + (t.len() - rest.len());
            let inner = &line[skip..];
            return self.line(inner, at + skip, emit);
        }
        // Openings.
        if t.starts_with("{|") {
            self.header.clear();
            self.block = Block::Wiki;
            return Ok(());
        }
        if let Some(sep) = t.strip_suffix("===").filter(|m| matches!(*m, ":" | ",")) {
            self.header.clear();
            self.block = Block::Dsv(if sep == ":" { ':' } else { ',' });
            return Ok(());
        }
        if t.starts_with("|===") || t.starts_with("!===") {
            self.block = Block::Adoc(if t.starts_with('!') { '!' } else { '|' });
            self.header.clear();
            self.width = std::mem::take(&mut self.cols);
            self.first_line = false;
            return Ok(());
        }
        if let Some(c) = adoc_cols(t) {
            self.cols = c;
            return Ok(());
        }
        if t.starts_with("||") {
            self.header.clear();
            self.block = Block::Jira;
            jira_cells(t, |c| self.add(c, at, end));
            return self.flush(emit);
        }
        if t.contains("\\begin{") && TABULAR.iter().any(|e| t.contains(e)) {
            self.block = Block::Latex;
            self.header.clear();
            // The rest of the line after the column specification may hold a row.
            if let Some(i) = t.rfind('}') {
                return self.latex_line(&t[i + 1..], at, end, true, emit);
            }
            return Ok(());
        }
        if t.contains('&') && latex_row_end(t) {
            return self.latex_line(t, at, end, false, emit);
        }
        // YAML: `- - cell` starts a row of block items, `- [a, b]` is a row.
        if let Some(rest) = t.strip_prefix('-') {
            let rest_trimmed = rest.trim_start();
            // A bare `-` opens a row whose items follow, indented (`-\n  - ssn\n  - dob`).
            if rest.trim().is_empty() {
                self.flush(emit)?;
                self.block = Block::Yaml(indent + 2);
                self.from = Some(at);
                self.to = end;
                return Ok(());
            }
            if rest.starts_with(' ')
                && let Some(cell) = rest_trimmed.strip_prefix("- ").or((rest_trimmed == "-").then_some(""))
            {
                self.flush(emit)?;
                // The inner items stand at the column of the inner dash.
                let item = indent + (line.trim_start().len() - rest_trimmed.len());
                self.block = Block::Yaml(item);
                self.add(yaml_scalar(cell), at, end);
                return Ok(());
            }
            if let Some(flow) = rest_trimmed.strip_prefix('[')
                && let Some(flow) = flow.strip_suffix(']')
                && !flow.contains(['[', '{'])
            {
                for c in flow.split(',') {
                    self.add(yaml_scalar(c), at, end);
                }
                return self.flush(emit);
            }
        }
        // BBCode (`[tr][td]…[/td][/tr]`): its rows and cells, on one line or several.
        if t.contains("[/td]") || t.contains("[/th]") || t.contains("[td]") {
            return self.bbcode_line(t, at, end, emit);
        }
        // Columns aligned with spaces (a fixed-width report, a reStructuredText simple table):
        // cells separated by two spaces or more; a rule of `=`/`-` runs is no row.
        if t.contains("  ") && !t.contains('\t') {
            let cells: Vec<&str> = t.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
            let rule = cells.iter().all(|c| c.bytes().all(|b| matches!(b, b'=' | b'-' | b'+')));
            if cells.len() >= 2 && cells.len() <= MAX_COLUMNS && !rule {
                for c in cells {
                    self.add(c.to_string(), at, end);
                }
                return self.flush(emit);
            }
        }
        Ok(())
    }

    /// A line of BBCode: `[tr]` starts a row (ending the one before), `[td]`/`[th]` a cell,
    /// `[/tr]` and `[/table]` end the row; other tags are dropped.
    fn bbcode_line(&mut self, t: &str, at: usize, end: usize, emit: &mut Emit<'_>) -> Result<(), Capped> {
        let lower = t.to_ascii_lowercase();
        let mut i = 0;
        let mut cell: Option<String> = None;
        while i < t.len() {
            if lower.as_bytes()[i] == b'[' {
                let close = lower[i..].find(']').map(|j| i + j);
                if let Some(close) = close {
                    let tag = &lower[i + 1..close];
                    match tag {
                        "tr" | "/tr" | "/table" => {
                            if let Some(c) = cell.take() {
                                self.add(c.trim().to_string(), at, end);
                            }
                            self.flush(emit)?;
                        }
                        "td" | "th" => {
                            if let Some(c) = cell.take() {
                                self.add(c.trim().to_string(), at, end);
                            }
                            cell = Some(String::new());
                        }
                        "/td" | "/th" => {
                            if let Some(c) = cell.take() {
                                self.add(c.trim().to_string(), at, end);
                                if self.full() {
                                    self.flush(emit)?;
                                }
                            }
                        }
                        _ => {}
                    }
                    i = close + 1;
                    continue;
                }
            }
            let ch = t[i..].chars().next().unwrap_or(' ');
            if let Some(c) = cell.as_mut() {
                c.push(ch);
            }
            i += ch.len_utf8();
        }
        if let Some(c) = cell {
            self.add(c.trim().to_string(), at, end);
        }
        Ok(())
    }

    fn latex_line(&mut self, t: &str, at: usize, end: usize, inside: bool, emit: &mut Emit<'_>) -> Result<(), Capped> {
        if inside && t.contains("\\end{") && TABULAR.iter().any(|e| t.contains(e)) {
            let before = &t[..t.find("\\end{").unwrap_or(0)];
            self.latex_text(before, at, end, emit)?;
            self.block = Block::None;
            return self.flush(emit);
        }
        self.latex_text(t, at, end, emit)?;
        if !inside {
            self.flush(emit)?;
        }
        Ok(())
    }

    /// Cells of `t` joined to the row being read; each `\\` (or `\tabularnewline`, `\cr`)
    /// ends a row; a comment (`%` not escaped) ends the line.
    fn latex_text(&mut self, t: &str, at: usize, end: usize, emit: &mut Emit<'_>) -> Result<(), Capped> {
        let t = latex_code(t);
        let t = t.replace("\\tabularnewline", "\\\\").replace("\\cr", "\\\\");
        let mut rows = t.split("\\\\").peekable();
        while let Some(row) = rows.next() {
            let ended = rows.peek().is_some();
            let mut cells = split_unescaped(row, b'&').into_iter();
            // The first piece continues the row's current cell (a row over several lines).
            if let Some(first) = cells.next() {
                let first = latex_clean(first);
                match (self.from.is_some(), self.cells.last_mut()) {
                    (true, Some(last)) if !first.is_empty() => {
                        if !last.is_empty() {
                            last.push(' ');
                        }
                        last.push_str(&first);
                        self.held += first.len();
                        self.to = end;
                    }
                    (true, Some(_)) => self.to = end,
                    _ if !first.is_empty() || row.contains('&') => self.add(first, at, end),
                    _ => {}
                }
            }
            for c in cells {
                self.add(latex_clean(c), at, end);
            }
            if ended || self.full() {
                self.flush(emit)?;
            }
        }
        Ok(())
    }

    fn wiki_line(&mut self, t: &str, at: usize, end: usize, emit: &mut Emit<'_>) -> Result<(), Capped> {
        if t.starts_with("|}") {
            self.block = Block::None;
            return self.flush(emit);
        }
        if t.starts_with("|-") {
            return self.flush(emit);
        }
        if t.starts_with("|+") {
            return Ok(());
        }
        let (body, sep) = if let Some(b) = t.strip_prefix('!') {
            (b, if b.contains("!!") { "!!" } else { "||" })
        } else if let Some(b) = t.strip_prefix('|') {
            (b, "||")
        } else {
            if !t.is_empty() {
                self.extend_last(t, end);
            }
            return Ok(());
        };
        for cell in body.split(sep) {
            // `style="…" | text`: the attributes before a single bar are dropped.
            let text = match cell.find('|') {
                Some(i) if !cell[i + 1..].starts_with('|') => &cell[i + 1..],
                _ => cell,
            };
            self.add(text.trim().to_string(), at, end);
            if self.full() {
                self.flush(emit)?;
            }
        }
        Ok(())
    }

    fn adoc_line(&mut self, t: &str, sep: char, at: usize, end: usize, emit: &mut Emit<'_>) -> Result<(), Capped> {
        if t.starts_with("|===") || t.starts_with("!===") {
            self.to = end;
            self.flush(emit)?;
            self.block = Block::None;
            self.width = 0;
            return Ok(());
        }
        if t.is_empty() {
            return Ok(());
        }
        let Some(first_bar) = t.find(sep) else {
            self.extend_last(t, end);
            return Ok(());
        };
        let before = &t[..first_bar];
        if !is_cell_spec(before) {
            self.extend_last(before, end);
        }
        let mut cells: Vec<&str> = t[first_bar + 1..].split(sep).collect();
        let new_cells = cells.len();
        if !self.first_line {
            self.first_line = true;
            if self.width == 0 {
                self.width = new_cells;
            }
        }
        let last = cells.len() - 1;
        for (n, cell) in cells.iter_mut().enumerate() {
            // A specifier at a cell's end belongs to the next cell (`a|x 2+|y`).
            let mut text = cell.trim_end();
            if n < last
                && let Some(sp) = text.rfind(' ')
                && is_cell_spec(&text[sp + 1..])
                && !text[sp + 1..].is_empty()
            {
                text = &text[..sp];
            }
            self.add(text.trim().to_string(), at, end);
            if self.cells.len() >= self.width.max(1) || self.full() {
                self.flush(emit)?;
            }
        }
        Ok(())
    }
}

/// How a markup table's first line starts (MediaWiki, AsciiDoc, Jira, YAML).
const OPENINGS: &[&str] = &["{|", "|===", "||", "- -", "- ["];

/// LaTeX environments whose rows are separated by `\\` and cells by `&`.
const TABULAR: &[&str] = &[
    "{tabular",
    "{longtable",
    "{array",
    "{tabu",
    "{supertabular",
    "{xltabular",
    "{tblr",
    "{NiceTabular",
];

/// A LaTeX line without its comment (from a `%` that is not escaped).
fn latex_code(t: &str) -> &str {
    let b = t.as_bytes();
    (0..b.len())
        .find(|&i| b[i] == b'%' && (i == 0 || b[i - 1] != b'\\'))
        .map_or(t, |i| &t[..i])
}

/// Whether a line outside an environment ends a LaTeX row: `\\`, `\tabularnewline` or `\cr`
/// last, before a rule (`\hline`, `\midrule`, …) or a comment.
fn latex_row_end(t: &str) -> bool {
    let mut code = latex_code(t).trim_end();
    for rule in ["\\hline", "\\midrule", "\\bottomrule", "\\toprule"] {
        code = code.strip_suffix(rule).unwrap_or(code).trim_end();
    }
    code.ends_with("\\\\") || code.ends_with("\\tabularnewline") || code.ends_with("\\cr")
}

/// `t` split at `sep` where it is not escaped by a backslash.
fn split_unescaped(t: &str, sep: u8) -> Vec<&str> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..b.len() {
        if b[i] == sep && (i == 0 || b[i - 1] != b'\\') {
            out.push(&t[start..i]);
            start = i + 1;
        }
    }
    out.push(&t[start..]);
    out
}

/// A LaTeX cell as read: rules and command names dropped, braces' text kept, `\&`, `\_`, `\%`,
/// `\#`, `\$` as the character, `~` as a space, spaces folded.
fn latex_clean(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    let mut chars = cell.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n) if n.is_ascii_alphabetic() => {
                    let mut name = String::new();
                    while let Some(&n) = chars.peek() {
                        if !n.is_ascii_alphabetic() {
                            break;
                        }
                        name.push(n);
                        chars.next();
                    }
                    // A rule's arguments (`\cline{2-3}`) are no text.
                    if matches!(name.as_str(), "cline" | "cmidrule") && chars.peek() == Some(&'{') {
                        for n in chars.by_ref() {
                            if n == '}' {
                                break;
                            }
                        }
                    }
                    out.push(' ');
                }
                Some(&n) => {
                    out.push(if matches!(n, ',' | ';' | ' ') { ' ' } else { n });
                    chars.next();
                }
                None => {}
            },
            '{' | '}' => {}
            '~' => out.push(' '),
            c => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Jira/Confluence row's cells (`||h||` header cells, `|c|` data cells), handed to `add`.
fn jira_cells(t: &str, mut add: impl FnMut(String)) {
    let body = t.trim_start_matches('|').trim_end_matches('|');
    for cell in body.split('|').filter(|c| !c.is_empty()) {
        add(cell.trim().to_string());
    }
}

/// The count of an AsciiDoc `cols` attribute line (`[cols="1,1,2"]`, `[%header,cols="3*"]`).
fn adoc_cols(t: &str) -> Option<usize> {
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    let i = inner.find("cols=")?;
    let v = inner[i + 5..].trim_start_matches(['"', '\'']);
    let v = &v[..v.find(['"', '\'']).unwrap_or(v.len())];
    if let Some((n, _)) = v.split_once('*') {
        return n.trim().parse().ok().filter(|&n| n > 0 && n <= MAX_COLUMNS);
    }
    // A plain number is a count of columns (`[cols=2]`).
    if let Ok(n) = v.trim().parse::<usize>() {
        return Some(n).filter(|&n| n > 0 && n <= MAX_COLUMNS);
    }
    let n = v.split([',', ';']).filter(|c| !c.trim().is_empty()).count();
    (n > 0).then_some(n)
}

/// An AsciiDoc cell specifier (`2+`, `.3+`, `a`, `2*`, `^.^h`) or nothing: a style letter
/// alone, or spans and alignments (a digit or one of `+ * . < > ^`) with at most one style.
fn is_cell_spec(s: &str) -> bool {
    let s = s.trim();
    let style = |c: u8| b"aehlmsdv".contains(&c);
    let marks = |c: u8| c.is_ascii_digit() || b"+*.<>^".contains(&c);
    s.len() <= 8
        && s.bytes().all(|c| marks(c) || style(c))
        && s.bytes().filter(|&c| style(c)).count() <= 1
        && (s.len() <= 1 || s.bytes().any(marks))
}

/// A YAML scalar as read: quotes removed (what follows the closing quote dropped), a comment
/// after ` #` dropped.
fn yaml_scalar(s: &str) -> String {
    let s = s.trim();
    if let Some(q) = s.chars().next().filter(|c| matches!(c, '"' | '\''))
        && let Some(close) = s[1..].find(q)
    {
        return s[1..1 + close].trim().to_string();
    }
    match s.find(" #") {
        Some(i) => s[..i].trim_end().to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(src: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        grid_rows(src, &mut |_, cells: &[String]| {
            out.push(cells.to_vec());
            Ok(())
        })
        .unwrap();
        out
    }

    fn r(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    fn detectors(text: &str) -> Vec<String> {
        let cfg = super::super::GuardConfig::default();
        let mut d: Vec<String> = super::super::scan(text, &cfg).into_iter().map(|f| f.detector).collect();
        d.sort();
        d.dedup();
        d
    }

    /// Round 4's table markups (each stored before: an SSN without dashes, a medical record
    /// number, labelled only by its column's header; the first data row holds no PHI).
    #[test]
    fn phi_in_a_markup_table_is_refused() {
        let cases = [
            (
                "latex",
                "\\begin{tabular}{lll}\n\\toprule\nRef & Patient & SSN \\\\\n\\midrule\n1 & test & none \\\\\n2 & Jane Roe & 219451100 \\\\\n\\end{tabular}\n",
            ),
            (
                "mediawiki",
                "{| class=\"wikitable\"\n! Ref !! Patient !! SSN\n|-\n| 1 || test || none\n|-\n| 2 || Jane Roe || 219451100\n|}\n",
            ),
            ("jira", "||Ref||Patient||SSN||\n|1|test|none|\n|2|Jane Roe|219451100|\n"),
            (
                "asciidoc",
                "[cols=\"1,1,1\"]\n|===\n|Ref |Patient |SSN\n\n|1\n|test\n|none\n\n|2\n|Jane Roe\n|219451100\n|===\n",
            ),
            (
                "yaml",
                "rows:\n- - Ref\n  - Patient\n  - SSN\n- - 1\n  - test\n  - none\n- - 2\n  - Jane Roe\n  - '219451100'\n",
            ),
        ];
        for (markup, text) in cases {
            let d = detectors(text);
            assert!(d.iter().any(|x| x == "us-ssn"), "{markup}: {d:?} for {text}");
        }
        // The same words in prose are no table.
        assert!(detectors("Ref & Patient & SSN are columns; the value 219451100 is an order number.").is_empty());
    }

    #[test]
    fn latex_rows_inside_and_outside_an_environment() {
        let t = "\\begin{tabular}{|l|l|}\n\\hline\n\\textbf{Name} & \\textbf{SSN} \\\\\n\\hline\nJane~Roe & 219451100 \\\\\nJohn Roe &\n 219451101 \\\\ \\hline\n\\end{tabular}\n";
        assert_eq!(
            rows(t),
            vec![
                r(&["Name", "SSN"]),
                r(&["Jane Roe", "219451100"]),
                r(&["John Roe", "219451101"])
            ]
        );
        assert_eq!(
            rows("name & dob \\\\\nJane Roe \\& Co & 1980 \\\\"),
            vec![r(&["name", "dob"]), r(&["Jane Roe & Co", "1980"])]
        );
        assert!(rows("a && b; x = y & z").is_empty(), "not a row without \\\\");
    }

    #[test]
    fn mediawiki_rows_inline_and_one_cell_a_line() {
        let t = "{| class=\"wikitable\"\n|+ Patients\n! Name !! SSN\n|-\n| Jane Roe || style=\"x\" | 219451100\n|-\n| John\nRoe\n| 219451101\n|}\n";
        assert_eq!(
            rows(t),
            vec![
                r(&["Name", "SSN"]),
                r(&["Jane Roe", "219451100"]),
                r(&["John Roe", "219451101"])
            ]
        );
    }

    #[test]
    fn jira_rows_after_their_header() {
        let t = "||Name||SSN||\n|Jane Roe|219451100|\n|John Roe|219451101|\n\nafter";
        assert_eq!(
            rows(t),
            vec![
                r(&["Name", "SSN"]),
                r(&["Jane Roe", "219451100"]),
                r(&["John Roe", "219451101"])
            ]
        );
    }

    #[test]
    fn asciidoc_rows_by_width() {
        let t = "[cols=\"1,1\"]\n|===\n|Name |SSN\n\n|Jane Roe\n|219451100\n\na|John Roe |219451101\n|===\n";
        assert_eq!(
            rows(t),
            vec![
                r(&["Name", "SSN"]),
                r(&["Jane Roe", "219451100"]),
                r(&["John Roe", "219451101"])
            ]
        );
        // A plain count of columns (attack round 6).
        let t = "[cols=2]\n|===\n|name\n|ssn\n\n|Jane Roe\n|219451100\n|===";
        assert_eq!(rows(t), vec![r(&["name", "ssn"]), r(&["Jane Roe", "219451100"])]);
        let t = "|===\n|Name |SSN\n|Jane Roe |219451100\n|===";
        assert_eq!(rows(t), vec![r(&["Name", "SSN"]), r(&["Jane Roe", "219451100"])]);
    }

    #[test]
    fn yaml_sequences_of_sequences() {
        let t = "rows:\n  - - name\n    - ssn\n  - - 'Jane Roe'\n    - \"219451100\" # x\n  - [John Roe, 219451101]\nother: 1\n";
        assert_eq!(
            rows(t),
            vec![
                r(&["name", "ssn"]),
                r(&["Jane Roe", "219451100"]),
                r(&["John Roe", "219451101"])
            ]
        );
        assert!(rows("- item\n- other\n").is_empty(), "a plain list is no table");
        // A bare dash opens a row (the review of the ninth round).
        assert_eq!(
            rows("-\n  - name\n  - ssn\n-\n  - Jane Roe\n  - 219451100\n"),
            vec![r(&["name", "ssn"]), r(&["Jane Roe", "219451100"])]
        );
    }

    /// Attack round 5: BBCode, columns aligned with spaces and reStructuredText simple tables.
    #[test]
    fn bbcode_and_aligned_columns_are_rows() {
        assert_eq!(
            rows("[table][tr][td]patient[/td][td]dob[/td][/tr][tr][td]John Smith[/td][td]1961-04-12[/td][/tr][/table]"),
            vec![r(&["patient", "dob"]), r(&["John Smith", "1961-04-12"])]
        );
        assert_eq!(
            rows("========  =========\nmrn       ssn\n========  =========\n00123456  219451100\n========  =========\n"),
            vec![r(&["mrn", "ssn"]), r(&["00123456", "219451100"])]
        );
        for text in [
            "MRN       SSN\n00123456  219451100\n",
            "[table][tr][td]mrn[/td][td]ssn[/td][/tr][tr][td]00123456[/td][td]219451100[/td][/tr][/table]",
        ] {
            let d = detectors(text);
            assert!(d.iter().any(|x| x == "us-ssn"), "{d:?} for {text}");
        }
    }

    #[test]
    fn latex_row_ends_rules_and_comments_and_asciidoc_nested_tables() {
        assert_eq!(
            rows("name & ssn \\\\ \\hline\nJane Roe & 219451100 \\tabularnewline % patient\n"),
            vec![r(&["name", "ssn"]), r(&["Jane Roe", "219451100"])]
        );
        assert_eq!(
            rows("\\begin{tabular}{ll}\nname & ssn \\cr\nJane Roe & 219451100 \\\\ % x & y\n\\end{tabular}"),
            vec![r(&["name", "ssn"]), r(&["Jane Roe", "219451100"])]
        );
        assert_eq!(
            rows("!===\n!name !ssn\n!Jane Roe !219451100\n!===\n"),
            vec![r(&["name", "ssn"]), r(&["Jane Roe", "219451100"])]
        );
        assert_eq!(
            rows(":===\nname:ssn\nJane Roe:219451100\n:===\n"),
            vec![r(&["name", "ssn"]), r(&["Jane Roe", "219451100"])]
        );
    }

    #[test]
    fn a_table_opening_after_a_label_is_read_and_labels_never_recurse() {
        assert_eq!(
            rows("note: ||Name||SSN||\n|Jane Roe|219451100|\n"),
            vec![r(&["Name", "SSN"]), r(&["Jane Roe", "219451100"])]
        );
        // Each label ahead of a marker is read once, not once a level.
        let line = "||: ".repeat(200_000);
        let _ = rows(&line);
    }
}
