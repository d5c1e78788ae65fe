//! The views of a text the guard judges besides the raw bytes: what a parser stores after
//! decoding, and what a person reads after Unicode folding.
//!
//! - [`decoded`] — one left-to-right pass that (a) decodes XML character references
//!   (`&#45;`, `&#x2D;`), the five predefined entities and HTML's named entities for punctuation,
//!   spaces, dashes and invisible characters (`&hyphen;`, `&minus;`, `&nbsp;`, `&shy;`), with one
//!   more level after `&amp;` (`&amp;#45;` is stored by an XML parser as `&#45;`, which any HTML
//!   or XML view renders as `-`), (b) drops CDATA markers so that
//!   `<![CDATA[123-45]]><![CDATA[-6789]]>` reads as one value, (c) decodes JSON and TOML
//!   backslash escapes (`\u002d`, surrogate pairs, `\U0001F600`, `\x2d`, `\n`, `\"`, …), URL
//!   percent-encoding (`%2D`, `%E2%80%91`) and quoted-printable (`=2D`, soft line breaks; see
//!   `quoted_printable` for when `=XX` is left alone) and (d) folds Unicode: zero-width and
//!   other invisible characters (U+200B–U+200F, U+FEFF, soft hyphen U+00AD, bidi controls,
//!   variation selectors, tags) are dropped, Unicode hyphens and minus signs become `-`, Unicode
//!   spaces a space, every other character its NFKD compatibility decomposition without combining
//!   marks (fullwidth `１２３` → `123`, `ﬁ` → `fi`, `é` → `e`) — only when that is no longer than
//!   the character itself, so the view never grows — and Cyrillic, Greek and other look-alikes of
//!   Latin letters their Latin letter ([`confusable`], a subset of Unicode TR39
//!   `confusables.txt`). `None` when nothing changed: the raw scan already judged that text.
//! - [`pairs`] — name/value property pairs (`{"name": "ssn", "value": …}`,
//!   `<property name="ssn" value="…"/>`) read as `ssn: …`, one per line.
//! - [`joined`] — the glue between the parts of a split value dropped (line breaks with the
//!   indentation and field name after them, tags, string concatenations).
//! - [`encoded_runs`] — every run of at least [`MIN_RUN`] base64 characters that decodes, as
//!   hex, base32 or base64 (standard or URL-safe alphabet, padding optional, at one of the four
//!   alignments), to printable UTF-8, one run per line after the label before it on its line;
//!   a block wrapped over lines or written in
//!   groups with spaces is one run (`wrapped_block`). One level: the guard calls it again on
//!   its result for nested encodings. Runs met again in the same view are decoded once
//!   (`Decoder`); separately padded chunks glued in one run are read chunk by chunk
//!   (`padded_chunks`); UTF-16 of mostly non-Latin text is made UTF-8 (`wide`).
//! - [`wrapped_lines`] — lines of base64 characters wrapped narrower than the `high-entropy`
//!   floor, joined (read by `high-entropy` only).
//! - [`ascii85_uuencode`] — Ascii85 (`<~…~>` and bare) and uuencode (`begin` … `end`) decoded.
//! - [`message_arguments`] — SARIF messages with their `arguments` put into the text's `{n}`.
//! - [`hex_dumps`] — `xxd` and `hexdump -C` dumps read across their lines.
//! - [`base85`] — RFC 1924 / Python `b85encode` and Z85 runs decoded.
//! - [`char_codes`] — `String.fromCharCode(…)`, SQL `CHAR(…)`/`CHR(…)`, decimal and binary byte
//!   lists read as the text they spell.
//!
//! [`decoded`] also reads UTF-7 (`+AC0-`), `%uXXXX`, CSS escapes (`\2d `), lower-case
//! quoted-printable and symbols between digits (`123×45×6789`) as `-`; [`joined`] joins nine or
//! more one-character lines; the guard reads Ascii85, uuencode, base85 and character codes
//! inside decoded runs too, and the encoded runs of the joined view.
//!
//! [`decoded`] also drops XML processing instructions and comments inside a value and decodes
//! RFC 2047 encoded words (the space between two adjacent ones dropped).
//!
//! Each view is built in one pass, linear in its input, and is never longer than it (encoded
//! runs: three quarters of it, plus a newline per run; a compressed stream inside a run
//! inflates to at most the run's length). A [`View`] maps every span of its text back to
//! the span of the original it came from: a decoded token maps to the whole encoded token (so a
//! redaction of that span removes the encoded value), a run of unchanged bytes byte for byte.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Shortest encoded run that is decoded: 12 base64 characters (9 bytes once decoded, a
/// nine-digit SSN), 15 base32 or 18 hex characters give as much.
pub const MIN_RUN: usize = 12;

/// What produced a part of a view (bits of [`View::kinds`]).
pub mod kind {
    /// An XML character reference, predefined entity or HTML named entity.
    pub const XML: u32 = 1;
    /// A CDATA marker (dropped).
    pub const CDATA: u32 = 2;
    /// A JSON or TOML backslash escape.
    pub const ESCAPE: u32 = 4;
    /// Unicode folding: NFKD, invisible characters, look-alikes.
    pub const UNICODE: u32 = 8;
    /// A decoded base64 run.
    pub const BASE64: u32 = 16;
    /// URL percent-encoding (`%2D`, `%E2%80%91`).
    pub const PERCENT: u32 = 32;
    /// Quoted-printable (`=2D`, a soft line break `=` + newline).
    pub const QP: u32 = 64;
    /// A decoded base32 run.
    pub const BASE32: u32 = 128;
    /// A decoded hex run.
    pub const HEX: u32 = 256;
    /// Glue between two parts of a split value (a line break and the field name after it, a
    /// tag, a string concatenation), dropped.
    pub const SPLIT: u32 = 512;
    /// A name/value property pair read as `name: value` ([`super::pairs`]).
    pub const PAIR: u32 = 1024;
    /// An RFC 2047 encoded word (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`), the space between two
    /// adjacent ones dropped.
    pub const MIME_WORD: u32 = 2048;
    /// Lines of base64 characters wrapped narrower than the `high-entropy` floor, joined
    /// ([`super::wrapped_lines`]).
    pub const WRAPPED: u32 = 4096;
    /// Ascii85 (`<~…~>` or bare).
    pub const ASCII85: u32 = 8192;
    /// uuencode (`begin 644 f` … `end`).
    pub const UUENCODE: u32 = 16384;
    /// A SARIF message's `arguments` put into its text's placeholders
    /// ([`super::message_arguments`]).
    pub const ARGUMENTS: u32 = 32768;
    /// UTF-7 (`+AC0-`).
    pub const UTF7: u32 = 1 << 16;
    /// Base85 of RFC 1924 / Python's `b85encode`, or ZeroMQ's Z85.
    pub const BASE85: u32 = 1 << 17;
    /// Character codes spelled as numbers (`String.fromCharCode(49,50)`, SQL `CHAR(49)+CHAR(50)`,
    /// `[49, 50]`, binary octets `00110001 00110010`).
    pub const CHAR_CODES: u32 = 1 << 18;
    /// A table's data cell read after its column's header (`ssn: 219451100`), see
    /// `guard::tables` (high bits: kept apart from the decoders' kinds).
    pub const TABLE: u32 = 1 << 28;
    /// A path's `_` and `-` read as spaces (`Roe Jane 19800102.pdf`), see `guard::tables`.
    pub const FILE_NAME: u32 = 1 << 29;
}

/// The name of a set of kinds, e.g. `xml+unicode` (static words only: never any text).
pub fn label(kinds: u32) -> String {
    let names = [
        (kind::XML, "xml"),
        (kind::CDATA, "cdata"),
        (kind::ESCAPE, "escape"),
        (kind::PERCENT, "percent"),
        (kind::QP, "quoted-printable"),
        (kind::UNICODE, "unicode"),
        (kind::BASE64, "base64"),
        (kind::BASE32, "base32"),
        (kind::HEX, "hex"),
        (kind::SPLIT, "split"),
        (kind::PAIR, "pair"),
        (kind::MIME_WORD, "rfc2047"),
        (kind::WRAPPED, "wrapped"),
        (kind::ASCII85, "ascii85"),
        (kind::UUENCODE, "uuencode"),
        (kind::ARGUMENTS, "arguments"),
        (kind::UTF7, "utf-7"),
        (kind::BASE85, "base85"),
        (kind::CHAR_CODES, "char-codes"),
        (kind::TABLE, "table"),
        (kind::FILE_NAME, "file-name"),
    ];
    names
        .iter()
        .filter(|(k, _)| kinds & k != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join("+")
}

/// One stretch of a view: view bytes from `view` to the next segment's `view` came from the
/// original's `orig..orig_end`, byte for byte when `kind` is 0, else as one decoded token.
/// `u32` offsets keep a segment at 16 bytes; inputs over 4 GiB get no views (the guard takes at
/// most 16 MiB).
#[derive(Clone, Copy, Debug)]
struct Seg {
    view: u32,
    orig: u32,
    orig_end: u32,
    kind: u32,
}

/// A decoded text and the way back to the original.
#[derive(Debug)]
pub struct View {
    /// The text the detectors read.
    pub text: String,
    segs: Vec<Seg>,
    /// Every kind of decoding that changed something.
    pub kinds: u32,
}

impl View {
    fn seg_at(&self, at: usize) -> Option<&Seg> {
        let i = self.segs.partition_point(|s| s.view as usize <= at);
        self.segs.get(i.checked_sub(1)?)
    }

    /// The span of the original that the view's `start..end` came from: a position inside a
    /// decoded token widens to the whole token.
    pub fn to_original(&self, start: usize, end: usize) -> (usize, usize) {
        let from = |s: &Seg, at: usize, is_end: bool| match (s.kind, is_end) {
            (0, _) => (s.orig as usize + (at - s.view as usize)).min(s.orig_end as usize),
            (_, false) => s.orig as usize,
            (_, true) => s.orig_end as usize,
        };
        let a = self.seg_at(start).map_or(0, |s| from(s, start, false));
        let b = match end.checked_sub(1).and_then(|last| self.seg_at(last).map(|s| (s, last))) {
            Some((s, last)) if s.kind == 0 => from(s, last, false) + 1,
            Some((s, last)) => from(s, last, true),
            None => a,
        };
        (a, b.max(a))
    }

    /// The kinds of decoding inside the view's `start..end` (at most 4,096 segments looked at;
    /// the view's kinds when none is inside, e.g. a name keyword decoded elsewhere).
    pub fn kinds_in(&self, start: usize, end: usize) -> u32 {
        match self.kinds_within(start, end) {
            0 => self.kinds,
            k => k,
        }
    }

    /// Whether the glue between two parts of a split value ([`joined`]) was dropped right at the
    /// view's byte `at`: the characters on either side of `at` were apart in the original (a
    /// letter there belongs to the previous field, not to the value).
    pub fn glued_at(&self, at: usize) -> bool {
        let first = self.segs.partition_point(|s| (s.view as usize) < at);
        self.segs[first..]
            .iter()
            .take_while(|s| s.view as usize == at)
            .any(|s| s.kind & kind::SPLIT != 0)
    }

    /// The kinds of decoding inside the view's `start..end` (at most 4,096 segments looked at),
    /// 0 when the span is unchanged bytes.
    pub fn kinds_within(&self, start: usize, end: usize) -> u32 {
        let first = self
            .segs
            .partition_point(|s| (s.view as usize) <= start)
            .saturating_sub(1);
        self.segs[first.min(self.segs.len())..]
            .iter()
            .take_while(|s| (s.view as usize) < end)
            .take(4096)
            .fold(0, |k, s| k | s.kind)
    }
}

/// A view made only of tokens, for the guard's other view modules (`guard::tables`): each
/// pushed text stands for its span of the original; what lies between tokens is dropped.
pub(super) struct TokenView<'a> {
    b: Builder<'a>,
    kind: u32,
}

impl<'a> TokenView<'a> {
    /// `None` for an input the views' `u32` offsets cannot hold.
    pub(super) fn new(src: &'a str, kind: u32) -> Option<TokenView<'a>> {
        u32::try_from(src.len()).ok()?;
        Some(TokenView {
            b: Builder::new(src),
            kind,
        })
    }

    /// The original's `from..to` (not before the previous token's end) read as `text`.
    pub(super) fn push(&mut self, from: usize, to: usize, text: &str) {
        self.b.pending = from;
        self.b.token(from, to, self.kind, text);
    }

    /// Bytes of view text so far.
    pub(super) fn len(&self) -> usize {
        self.b.out.len()
    }

    pub(super) fn finish(mut self) -> Option<View> {
        self.b.pending = self.b.src.len();
        self.b.finish()
    }
}

struct Builder<'a> {
    src: &'a str,
    out: String,
    segs: Vec<Seg>,
    kinds: u32,
    /// Start of the bytes not yet copied (unchanged since the last token).
    pending: usize,
}

impl<'a> Builder<'a> {
    fn new(src: &'a str) -> Builder<'a> {
        Builder {
            src,
            out: String::with_capacity(src.len()),
            segs: Vec::new(),
            kinds: 0,
            pending: 0,
        }
    }

    /// Copies the unchanged bytes up to `to`.
    fn flush(&mut self, to: usize) {
        if to > self.pending {
            let (view, orig) = (self.out.len() as u32, self.pending as u32);
            match self.segs.last_mut() {
                Some(s) if s.kind == 0 && s.orig_end == orig => s.orig_end = to as u32,
                _ => self.segs.push(Seg {
                    view,
                    orig,
                    orig_end: to as u32,
                    kind: 0,
                }),
            }
            self.out.push_str(&self.src[self.pending..to]);
        }
        self.pending = to;
    }

    /// The original's `from..to` is read as `text` (a decoded token).
    fn token(&mut self, from: usize, to: usize, kind: u32, text: &str) {
        self.flush(from);
        // Dropped tokens one after another (blank lines, CDATA markers, invisible characters)
        // are one segment: a run of them costs one, not one each.
        if text.is_empty()
            && let Some(s) = self.segs.last_mut()
            && s.kind != 0
            && s.view as usize == self.out.len()
            && s.orig_end as usize == from
        {
            s.orig_end = to as u32;
            s.kind |= kind;
            self.kinds |= kind;
            self.pending = to;
            return;
        }
        self.segs.push(Seg {
            view: self.out.len() as u32,
            orig: from as u32,
            orig_end: to as u32,
            kind,
        });
        self.out.push_str(text);
        self.kinds |= kind;
        self.pending = to;
    }

    fn finish(mut self) -> Option<View> {
        if self.kinds == 0 {
            return None;
        }
        self.flush(self.src.len());
        Some(View {
            text: self.out,
            segs: self.segs,
            kinds: self.kinds,
        })
    }
}

/// The decoded and Unicode-folded view of `src`, or `None` when it reads the same.
pub fn decoded(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let bytes = src.as_bytes();
    let mut b = Builder::new(src);
    let mut buf = String::new();
    let mut i = 0;
    // Where the last quoted-printable token ended (a run of them is decoded whatever it holds).
    let mut qp_end = usize::MAX;
    // The next `?>` and `-->` at or after the last place looked (each searched for once per
    // close found: linear however many `<?` never close).
    let (mut pi_close, mut comment_close) = (Close::new("?>"), Close::new("-->"));
    // Base64 characters of an RFC 2047 B word left over for the next word, which starts at
    // `mime_carry_at`.
    let (mut mime_carry, mut mime_carry_at) = (Vec::new(), usize::MAX);
    // Where UTF-7 starts are known to fail, per class of start (`utf7`).
    let mut utf7_failed = [0usize; 8];
    while i < bytes.len() {
        let c = bytes[i];
        // An XML processing instruction or comment inside a value (`123-4<?x?>5-6789`,
        // `123-45<!-- -->-6789`): an XML parser stores the text around it as one value.
        if c == b'<' {
            let close = match bytes.get(i + 1) {
                Some(b'?') => pi_close.within(src, i + 2, MARKUP),
                Some(b'!') if bytes[i..].starts_with(b"<!--") => comment_close.within(src, i + 4, MARKUP),
                _ => None,
            };
            if let Some(end) = close {
                b.token(i, end, kind::XML, "");
                i = end;
                continue;
            }
        }
        // RFC 2047 encoded words (`=?UTF-8?B?MTIz?= =?UTF-8?Q?-45?=`), the space between two
        // adjacent ones dropped.
        if c == b'='
            && bytes.get(i + 1) == Some(&b'?')
            && let Some(word) = mime_word(bytes, i)
        {
            let next = mime_gap(bytes, word.end).and_then(|n| mime_word(bytes, n).map(|w| (n, w)));
            if mime_carry_at != i {
                mime_carry.clear();
            }
            // A B word cut inside a base64 quantum: its last characters carried into the next
            // B word of the same charset (`=?UTF-8?B?MTIzLT?= =?UTF-8?B?Q1LTY3ODk=?=`).
            let keep =
                next.is_some_and(|(_, w)| w.b && word.b && w.charset(bytes).eq_ignore_ascii_case(word.charset(bytes)));
            if let Some(text) = word.text(bytes, i, &mut mime_carry, keep) {
                let end = next.map_or(word.end, |(n, _)| n);
                mime_carry_at = end;
                b.token(i, end, kind::MIME_WORD, &text);
                i = end;
                continue;
            }
        }
        // UTF-7 (`+AC0-` is `-`, `+ADEAMgAz-` is `123`): several characters from one token.
        if c == b'+'
            && let Some(end) = utf7(bytes, i, &mut buf, &mut utf7_failed)
        {
            let text = std::mem::take(&mut buf);
            b.token(i, end, kind::UTF7, &text);
            buf = text;
            i = end;
            continue;
        }
        // A token: its end, what it decodes to (a char), its kind.
        let token: Option<(usize, Option<char>, u32)> = match c {
            b'&' => xml_reference(bytes, i).map(|(end, ch)| (end, Some(ch), kind::XML)),
            b'<' if bytes[i..].starts_with(b"<![CDATA[") => Some((i + 9, None, kind::CDATA)),
            // HTML's line break `<br>`, `<br/>`, `<br />`: a line break.
            b'<' => line_break_tag(bytes, i).map(|end| (end, Some('\n'), kind::XML)),
            b']' if bytes[i..].starts_with(b"]]>") => Some((i + 3, None, kind::CDATA)),
            b'\\' => escape(bytes, i).map(|(end, ch)| (end, Some(ch), kind::ESCAPE)),
            b'%' => encoded_char(bytes, i, b'%', false)
                .or_else(|| percent_u(bytes, i))
                .map(|(end, ch)| (end, Some(ch), kind::PERCENT)),
            b'=' => quoted_printable(bytes, i, qp_end == i).inspect(|t| qp_end = t.0),
            // NUL and the other C0 controls but tab and line breaks, and DEL: they render as
            // nothing (`1\u{0}2\u{0}3-…`, `A\0K\0I\0A…`), dropped.
            _ if control(c) => Some((i + 1, None, kind::UNICODE)),
            _ if c >= 0x80 => {
                let ch = src[i..].chars().next().unwrap_or('\u{FFFD}');
                let end = i + ch.len_utf8();
                buf.clear();
                // A symbol written between the groups of a number (`123×45×6789`,
                // `123·45•6789`): a hyphen. Between digits only (`·` also joins base64 groups).
                if number_separator(ch)
                    && i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && bytes.get(end).is_some_and(u8::is_ascii_digit)
                {
                    b.token(i, end, kind::UNICODE, "-");
                    i = end;
                    continue;
                }
                if fold(ch, &mut buf) {
                    let text = std::mem::take(&mut buf);
                    b.token(i, end, kind::UNICODE, &text);
                    buf = text;
                }
                i = end;
                continue;
            }
            _ => None,
        };
        match token {
            Some((end, ch, k)) => {
                buf.clear();
                let mut k = k;
                if let Some(ch) = ch
                    && fold(ch, &mut buf)
                {
                    k |= kind::UNICODE;
                } else if let Some(ch) = ch {
                    buf.clear();
                    buf.push(ch);
                }
                let text = std::mem::take(&mut buf);
                b.token(i, end, k, &text);
                buf = text;
                i = end;
            }
            None => i += 1,
        }
    }
    b.finish()
}

/// How far a processing instruction or comment dropped from a value may reach.
const MARKUP: usize = 1024;

/// The next occurrence of a closing mark (`?>`, `-->`) in a text, remembered: each search
/// starts where the last one found nothing before, so a pass that asks at every opening mark
/// reads the text once.
struct Close {
    mark: &'static str,
    /// `(searched from, found at)`; found at `usize::MAX` when there is none after.
    at: Option<(usize, usize)>,
}

impl Close {
    fn new(mark: &'static str) -> Close {
        Close { mark, at: None }
    }

    /// The end of the mark closing what opens before `from`, when it ends within `limit` bytes.
    fn within(&mut self, src: &str, from: usize, limit: usize) -> Option<usize> {
        let found = match self.at {
            Some((_, found)) if found >= from => found,
            _ => {
                let found = src
                    .get(from..)
                    .and_then(|s| s.find(self.mark))
                    .map_or(usize::MAX, |p| from + p);
                self.at = Some((from, found));
                found
            }
        };
        if found == usize::MAX || found + self.mark.len() - from > limit {
            return None;
        }
        Some(found + self.mark.len())
    }
}

/// An RFC 2047 encoded word (`=?charset?B?base64?=` or `=?charset?Q?text?=`, any case), parsed.
#[derive(Clone, Copy)]
struct MimeWord {
    /// Where the charset is (offsets in the text), the body, and the word ends.
    charset: (usize, usize),
    body: (usize, usize),
    end: usize,
    /// B (base64), else Q.
    b: bool,
}

impl MimeWord {
    fn charset<'b>(&self, bytes: &'b [u8]) -> &'b [u8] {
        &bytes[self.charset.0..self.charset.1]
    }

    /// The text the word stands for (UTF-8 and ASCII as such, one `?` per byte that is not ASCII
    /// in any other charset or per invalid UTF-8 sequence), never longer than the word (from
    /// `at`) — after the base64 characters `carry` held over from the word before; with `keep`
    /// (a B word follows), the characters after the last whole quantum are held over in turn.
    fn text(&self, bytes: &[u8], at: usize, carry: &mut Vec<u8>, keep: bool) -> Option<String> {
        let body = &bytes[self.body.0..self.body.1];
        let mut raw = Vec::with_capacity(body.len());
        if self.b {
            carry.extend_from_slice(body);
            let cut = if keep && !body.ends_with(b"=") {
                carry.len() - carry.len() % 4
            } else {
                carry.len() - usize::from(carry.len() % 4 == 1)
            };
            static ENGINE: std::sync::OnceLock<GeneralPurpose> = std::sync::OnceLock::new();
            let ok = ENGINE
                .get_or_init(|| base64_engine(false))
                .decode_vec(&carry[..cut], &mut raw)
                .is_ok();
            if !ok {
                carry.clear();
                return None;
            }
            carry.drain(..cut);
            if !keep {
                carry.clear();
            }
        } else {
            carry.clear();
            let mut j = 0;
            while j < body.len() {
                match body[j] {
                    b'_' => raw.push(b' '),
                    b'=' => {
                        raw.push(hex_byte(body, j + 1, false)?);
                        j += 2;
                    }
                    c => raw.push(c),
                }
                j += 1;
            }
        }
        let charset = self.charset(bytes);
        let utf8 = charset.eq_ignore_ascii_case(b"utf-8") || charset.eq_ignore_ascii_case(b"us-ascii");
        let mut text = String::with_capacity(raw.len());
        if utf8 {
            for chunk in raw.utf8_chunks() {
                text.push_str(chunk.valid());
                if !chunk.invalid().is_empty() {
                    text.push('?');
                }
            }
        } else {
            text.extend(raw.iter().map(|&b| if b.is_ascii() { char::from(b) } else { '?' }));
        }
        let mut cut = text.len().min(self.end - at);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        Some(text)
    }
}

/// An RFC 2047 encoded word at `at`, parsed (the body at most 1,024 bytes).
fn mime_word(bytes: &[u8], at: usize) -> Option<MimeWord> {
    let rest = bytes.get(at + 2..)?;
    let charset_len = rest.iter().take(41).position(|&b| b == b'?')?;
    let charset = &rest[..charset_len];
    if charset.is_empty()
        || !charset
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*' | b'.' | b':'))
    {
        return None;
    }
    let b = match *rest.get(charset_len + 1)? {
        b'B' | b'b' => true,
        b'Q' | b'q' => false,
        _ => return None,
    };
    if rest.get(charset_len + 2) != Some(&b'?') {
        return None;
    }
    let body_at = charset_len + 3;
    let body_len = rest
        .get(body_at..)?
        .iter()
        .take(1024)
        .position(|&b| b == b'?' || b.is_ascii_whitespace())?;
    if rest.get(body_at + body_len..body_at + body_len + 2) != Some(b"?=") {
        return None;
    }
    Some(MimeWord {
        charset: (at + 2, at + 2 + charset_len),
        body: (at + 2 + body_at, at + 2 + body_at + body_len),
        end: at + 2 + body_at + body_len + 2,
        b,
    })
}

/// After an encoded word ending at `at`: where the next one would start when only linear
/// white space (spaces, tabs, a folded line break) separates them.
fn mime_gap(bytes: &[u8], at: usize) -> Option<usize> {
    let n = bytes
        .get(at..)?
        .iter()
        .take(GLUE)
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count();
    (n > 0 && bytes.get(at + n..at + n + 2) == Some(b"=?")).then_some(at + n)
}

/// The end of `<br>`, `<br/>` or `<br />` (any case) at `at`.
fn line_break_tag(bytes: &[u8], at: usize) -> Option<usize> {
    let rest = bytes.get(at + 1..(at + 7).min(bytes.len()))?.to_ascii_lowercase();
    let rest = rest.as_slice();
    let len = match rest {
        [b'b', b'r', b'>', ..] => 3,
        [b'b', b'r', b'/', b'>', ..] => 4,
        [b'b', b'r', b' ', b'/', b'>', ..] => 5,
        _ => return None,
    };
    Some(at + 1 + len)
}

/// Two hex digits at `at` (upper case only when `upper`), as a byte.
fn hex_byte(bytes: &[u8], at: usize, upper: bool) -> Option<u8> {
    let digits = bytes.get(at..at + 2)?;
    let ok = |b: &u8| b.is_ascii_digit() || (b'A'..=b'F').contains(b) || (!upper && (b'a'..=b'f').contains(b));
    if !digits.iter().all(ok) {
        return None;
    }
    u8::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// `%XX` (or `=XX`: `mark`) at `at`, with as many more as a UTF-8 sequence needs
/// (`%E2%80%91`): its end and its character. Never more bytes out than in (three per byte in).
fn encoded_char(bytes: &[u8], at: usize, mark: u8, upper: bool) -> Option<(usize, char)> {
    let lead = hex_byte(bytes, at + 1, upper)?;
    let n = match lead {
        0..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let mut seq = [lead, 0, 0, 0];
    let mut end = at + 3;
    for b in seq.iter_mut().take(n).skip(1) {
        if bytes.get(end) != Some(&mark) {
            return None;
        }
        *b = hex_byte(bytes, end + 1, upper)?;
        end += 3;
    }
    let ch = std::str::from_utf8(&seq[..n]).ok()?.chars().next()?;
    Some((end, ch))
}

/// Quoted-printable at `at` (an `=`): a soft line break (`=` before a line break: dropped, the
/// lines joined) or `=XX` in upper-case hex. `=XX` standing for a letter or a digit is decoded
/// only inside a run of them (`after_qp`: one ended at `at`, or another follows) — so
/// `ssn=312…` and `width=20px` keep their meaning — while one standing for punctuation, a space
/// or a non-ASCII character (`123=2D45`, `=E2=80=91`) always is; a lone one standing for a
/// control character (`v=123…` of a label before a decoded run) is not.
fn quoted_printable(bytes: &[u8], at: usize, after_qp: bool) -> Option<(usize, Option<char>, u32)> {
    match bytes.get(at + 1..) {
        Some([b'\n', ..]) => return Some((at + 2, None, kind::QP)),
        Some([b'\r', b'\n', ..]) => return Some((at + 3, None, kind::QP)),
        _ => {}
    }
    // Lower-case hex (`=2d`) only where no name stands before the `=` (a letter, `_`, `.`
    // or `]`: `a=2d`, `?id=3e…`, `x.y=ff` are assignments in a URL or a configuration) or in
    // a run of two or more: `123=2d45=2d6789`, `AKIA=49=4fSF…`.
    let named = at > 0 && (bytes[at - 1].is_ascii_alphabetic() || matches!(bytes[at - 1], b'_' | b'.' | b']'));
    let lower_ok = after_qp
        || !named
        || (bytes.get(at + 3) == Some(&b'=')
            && hex_byte(bytes, at + 1, false).is_some()
            && hex_byte(bytes, at + 4, false).is_some());
    let (end, ch) = encoded_char(bytes, at, b'=', true)
        .or_else(|| lower_ok.then(|| encoded_char(bytes, at, b'=', false)).flatten())?;
    let run = after_qp || (bytes.get(end) == Some(&b'=') && hex_byte(bytes, end + 1, !lower_ok).is_some());
    (run || !(ch.is_ascii_alphanumeric() || ch.is_ascii_control())).then_some((end, Some(ch), kind::QP))
}

/// `&…;` at `at`: a decimal or hex character reference, or one of XML's five entities; after
/// `&amp;`, one more reference that follows (`&amp;#45;` → `-`). Its end and its character.
fn xml_reference(bytes: &[u8], at: usize) -> Option<(usize, char)> {
    let (end, ch) = reference_body(bytes, at + 1)?;
    if ch == '&'
        && let Some(second) = reference_body(bytes, end)
    {
        return Some(second);
    }
    Some((end, ch))
}

/// The reference whose body (after `&`) starts at `at`. A numeric reference may end without
/// its `;` (HTML5 reads `&#65` and `&#x41` so: the digits end it).
fn reference_body(bytes: &[u8], at: usize) -> Option<(usize, char)> {
    let rest = bytes.get(at..)?;
    if rest.first() == Some(&b'#') {
        let hex = matches!(rest.get(1), Some(b'x' | b'X'));
        let from = 1 + usize::from(hex);
        let n = rest
            .iter()
            .skip(from)
            .take(9)
            .take_while(|b| if hex { b.is_ascii_hexdigit() } else { b.is_ascii_digit() })
            .count();
        if n == 0 || n > 8 {
            return None;
        }
        let digits = std::str::from_utf8(&rest[from..from + n]).ok()?;
        let ch = char::from_u32(u32::from_str_radix(digits, if hex { 16 } else { 10 }).ok()?)?;
        let end = at + from + n;
        return Some((end + usize::from(bytes.get(end) == Some(&b';')), ch));
    }
    let semi = rest.iter().take(20).position(|&b| b == b';')?;
    let body = &rest[..semi];
    let end = at + semi + 1;
    let ch = match body {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        named => html_entity(named)?,
    };
    Some((end, ch))
}

/// HTML's named entities for punctuation, spaces, dashes and invisible characters — what an
/// HTML view of a report renders as the character an attacker spelled out (`&hyphen;`,
/// `&dash;`, `&minus;`, `&commat;`, `&nbsp;`, `&shy;`). Letters have no such entities (HTML's
/// `&Afr;`-style ones are math letters that NFKD folds, not handled here). Case-sensitive, as
/// in HTML.
fn html_entity(name: &[u8]) -> Option<char> {
    Some(match name {
        b"hyphen" | b"dash" => '\u{2010}',
        b"minus" => '\u{2212}',
        b"ndash" => '\u{2013}',
        b"mdash" => '\u{2014}',
        b"horbar" => '\u{2015}',
        b"hybull" => '\u{2043}',
        b"nbsp" | b"NonBreakingSpace" => '\u{A0}',
        b"ensp" => '\u{2002}',
        b"emsp" => '\u{2003}',
        b"thinsp" | b"ThinSpace" => '\u{2009}',
        b"hairsp" | b"VeryThinSpace" => '\u{200A}',
        b"shy" => '\u{AD}',
        b"ZeroWidthSpace" | b"NegativeThinSpace" | b"NegativeMediumSpace" => '\u{200B}',
        b"zwnj" => '\u{200C}',
        b"zwj" => '\u{200D}',
        b"lrm" => '\u{200E}',
        b"rlm" => '\u{200F}',
        b"NoBreak" | b"wj" => '\u{2060}',
        b"Tab" => '\t',
        b"NewLine" => '\n',
        b"excl" => '!',
        b"num" => '#',
        b"dollar" => '$',
        b"percnt" => '%',
        b"lpar" => '(',
        b"rpar" => ')',
        b"ast" | b"midast" => '*',
        b"plus" => '+',
        b"comma" => ',',
        b"period" => '.',
        b"sol" => '/',
        b"colon" => ':',
        b"semi" => ';',
        b"equals" => '=',
        b"quest" => '?',
        b"commat" => '@',
        b"lsqb" | b"lbrack" => '[',
        b"bsol" => '\\',
        b"rsqb" | b"rbrack" => ']',
        b"Hat" => '^',
        b"lowbar" | b"UnderBar" => '_',
        b"grave" | b"DiacriticalGrave" => '`',
        b"lcub" | b"lbrace" => '{',
        b"verbar" | b"vert" | b"VerticalLine" => '|',
        b"rcub" | b"rbrace" => '}',
        _ => return None,
    })
}

/// A JSON or TOML escape at `at` (a backslash): its end and its character. `\\` is a token
/// too, so `\\u002d` stays the six characters it stands for.
fn escape(bytes: &[u8], at: usize) -> Option<(usize, char)> {
    backslash_escape(bytes, at).or_else(|| css_escape(bytes, at))
}

/// A CSS escape at `at` (a backslash): one to six hex digits ended by one whitespace character
/// (dropped with it: `\31 \32 \33 \2d `) or by the backslash of another such escape
/// (`\31\32\33`); its end and its character (not a control).
fn css_escape(bytes: &[u8], at: usize) -> Option<(usize, char)> {
    let rest = bytes.get(at + 1..)?;
    let n = rest.iter().take(7).take_while(|b| b.is_ascii_hexdigit()).count();
    if n == 0 || n > 6 {
        return None;
    }
    let end = at + 1 + n;
    let v = u32::from_str_radix(std::str::from_utf8(&rest[..n]).ok()?, 16).ok()?;
    let ch = char::from_u32(v).filter(|c| !c.is_control())?;
    match bytes.get(end) {
        Some(b' ' | b'\t' | b'\n') => Some((end + 1, ch)),
        Some(b'\r') => Some((end + 1 + usize::from(bytes.get(end + 1) == Some(&b'\n')), ch)),
        Some(b'\\') if bytes.get(end + 1).is_some_and(u8::is_ascii_hexdigit) => Some((end, ch)),
        // The end of the text or of a string (`\2d"`, `\2d;`): nothing can lengthen it.
        None => Some((end, ch)),
        Some(c) if !c.is_ascii_alphanumeric() && *c != b'\\' => Some((end, ch)),
        _ => None,
    }
}

/// `%uXXXX` at `at` (JavaScript's non-standard `escape()`; a surrogate pair as two): its end
/// and its character. Six bytes in, at most four out.
fn percent_u(bytes: &[u8], at: usize) -> Option<(usize, char)> {
    let unit = |from: usize| -> Option<u32> {
        if !matches!(bytes.get(from)?, b'u' | b'U') {
            return None;
        }
        let digits = bytes.get(from + 1..from + 5)?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let first = unit(at + 1)?;
    if (0xD800..0xDC00).contains(&first) {
        let low = (bytes.get(at + 6) == Some(&b'%')).then(|| unit(at + 7)).flatten()?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        return Some((
            at + 12,
            char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))?,
        ));
    }
    Some((at + 6, char::from_u32(first)?))
}

/// UTF-7 at `at` (a `+`): a shifted sequence of modified base64 characters (RFC 2152's set B,
/// `+` and `/` included: `~` is `+AH4-`, `DMG*F~` ends `ARgB+-`) up to the next character that
/// is none, its `-` dropped, decoded as UTF-16 and folded into `out`. Not taken when the run is
/// followed by `=` (base64's padding: `…abc+AC0xyz==` is base64, not UTF-7), nor unless its
/// leftover bits are zero (as an encoder writes them) and every character is printable ASCII,
/// Latin-1 or Latin Extended, general punctuation, a minus sign, the braille blank or a
/// fullwidth form (about 1% of random units: random base64 after a `+`, a phone number
/// `+15551234567`, reads as CJK or controls). A character that would make the text longer than
/// the characters read so far (three-byte punctuation, `†` after `†`) is written as a space: the
/// text is never longer than the token. Its end.
///
/// Linear however many `+` a run holds: `failed` holds, per class of start (`at % 8`), where the
/// last start of that class that failed is known to fail again. Two starts eight characters
/// apart (48 bits, three units) read the same units from the later one on — and the same run
/// end, so the same leftover bits, surrogates and padding — so a later start of the class
/// before the unit ahead of the one that was no text, or anywhere in a run whose end was wrong,
/// fails as the earlier one did and is not read again (each character is read by at most eight
/// starts, one per class, and a unit or so more).
fn utf7(bytes: &[u8], at: usize, out: &mut String, failed: &mut [usize; 8]) -> Option<usize> {
    let class = at % 8;
    if at < failed[class] {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    out.clear();
    let (mut acc, mut bits, mut units) = (0u32, 0u32, 0usize);
    let mut high: Option<u32> = None;
    let mut tmp = String::new();
    let mut end = at + 1;
    while let Some(v) = bytes.get(end).and_then(|&c| value(c)) {
        end += 1;
        acc = (acc << 6) | v;
        bits += 6;
        if bits < 16 {
            continue;
        }
        bits -= 16;
        let unit = (acc >> bits) & 0xFFFF;
        acc &= (1 << bits) - 1;
        let this = units;
        units += 1;
        let ch = match (high.take(), unit) {
            (None, 0xD800..=0xDBFF) => {
                high = Some(unit);
                continue;
            }
            (Some(h), 0xDC00..=0xDFFF) => char::from_u32(0x10000 + ((h - 0xD800) << 10) + (unit - 0xDC00)),
            (None, u) => char::from_u32(u),
            (Some(_), _) => None,
        };
        let latin = |ch: &char| {
            matches!(u32::from(*ch), 0x20..=0x7E | 0xA0..=0x24F | 0x2000..=0x206F | 0x2212 | 0x2800 | 0xFF01..=0xFF5E)
                || matches!(ch, '\t' | '\n')
        };
        let Some(ch) = ch.filter(latin) else {
            // No text at unit `this`: so for every start of this class up to the first
            // character of the unit before it (unit `3m` of this start is a later start's
            // first, `m` starts on).
            if this > 0 {
                failed[class] = failed[class].max(at + 1 + 16 * (this - 1) / 6);
            }
            return None;
        };
        tmp.clear();
        fold(ch, &mut tmp);
        // Each unit takes two characters or more: a space always fits.
        if out.len() + tmp.len() > end - at {
            tmp.clear();
            tmp.push(' ');
        }
        out.push_str(&tmp);
    }
    // One UTF-16 unit takes three characters.
    if end - at - 1 < 3 {
        return None;
    }
    // Ended by `-` (dropped) or by a character outside base64 and its padding.
    let padded = bytes.get(end) == Some(&b'=');
    let run_end = end;
    if bytes.get(end) == Some(&b'-') {
        end += 1;
    }
    if padded || high.is_some() || acc != 0 || out.is_empty() {
        failed[class] = failed[class].max(run_end);
        return None;
    }
    debug_assert!(out.len() <= end - at);
    Some(end)
}

/// A JSON, TOML, C or Rust backslash escape at `at`: its end and its character.
fn backslash_escape(bytes: &[u8], at: usize) -> Option<(usize, char)> {
    let hex = |from: usize, n: usize| -> Option<u32> {
        let digits = bytes.get(from..from + n)?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let ch = match *bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'e' => '\u{1b}',
        b'x' => return Some((at + 4, char::from_u32(hex(at + 2, 2)?)?)),
        b'U' => return Some((at + 10, char::from_u32(hex(at + 2, 8)?)?)),
        // Rust's and ES6's `\u{41}`: one to six hex digits in braces.
        b'u' if bytes.get(at + 2) == Some(&b'{') => {
            let n = bytes.get(at + 3..)?.iter().take(7).position(|&b| b == b'}')?;
            return (n > 0).then_some((at + 4 + n, char::from_u32(hex(at + 3, n)?)?));
        }
        // C's, Python's and the shell's octal `\101`: three digits, at most `\377`.
        b'0'..=b'3' => {
            let digits = bytes.get(at + 1..at + 4)?;
            if !digits.iter().all(|b| (b'0'..=b'7').contains(b)) {
                return None;
            }
            let v = digits.iter().fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
            return Some((at + 4, char::from_u32(v)?));
        }
        b'u' => {
            let unit = hex(at + 2, 4)?;
            if (0xD800..0xDC00).contains(&unit) {
                // A high surrogate wants its low one: `\uD83D\uDE00`.
                if bytes.get(at + 6..at + 8) == Some(b"\\u")
                    && let Some(low) = hex(at + 8, 4)
                    && (0xDC00..0xE000).contains(&low)
                {
                    let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    return Some((at + 12, char::from_u32(c)?));
                }
                return None;
            }
            return Some((at + 6, char::from_u32(unit)?));
        }
        _ => return None,
    };
    Some((at + 2, ch))
}

/// A C0 control other than tab, line feed and carriage return, or DEL: renders as nothing.
fn control(c: u8) -> bool {
    matches!(c, 0..=8 | 0x0b | 0x0c | 0x0e..=0x1f | 0x7f)
}

/// Writes what `c` reads as to `out`; `false` (and `c` written) when that is `c` itself.
fn fold(c: char, out: &mut String) -> bool {
    if c.is_ascii() && control(c as u8) {
        return true;
    }
    if c.is_ascii() {
        out.push(c);
        return false;
    }
    if invisible(c) {
        return true;
    }
    if let Some(a) = confusable(c) {
        out.push(a);
        return true;
    }
    let start = out.len();
    let mut changed = false;
    unicode_normalization::char::decompose_compatible(c, |d| {
        if unicode_normalization::char::is_combining_mark(d) || invisible(d) {
            changed = true;
        } else if let Some(a) = confusable(d) {
            changed = true;
            out.push(a);
        } else {
            changed |= d != c;
            out.push(d);
        }
    });
    if changed && out.len() - start <= c.len_utf8() {
        return true;
    }
    out.truncate(start);
    out.push(c);
    false
}

/// The ASCII digit of `c`, the `c - first + 1`-th of a run of dingbats for 1 to 9.
fn digit(c: char, first: u32) -> char {
    char::from_digit((c as u32 - first + 1) % 10, 10).unwrap_or('0')
}

/// Symbols an attacker writes between the groups of a number instead of a hyphen: `×`, `·`,
/// `•`, `∙`, `⋅`, `‧`, `・`, `✕`, `✖`, `⨯`, `÷`, `¦`.
fn number_separator(c: char) -> bool {
    matches!(
        c,
        '\u{D7}'
            | '\u{B7}'
            | '\u{F7}'
            | '\u{A6}'
            | '\u{2022}'
            | '\u{2219}'
            | '\u{22C5}'
            | '\u{2027}'
            | '\u{30FB}'
            | '\u{FF65}'
            | '\u{2715}'
            | '\u{2716}'
            | '\u{2A2F}'
    )
}

/// Characters that render as nothing: dropped from the folded view (C1 controls too, but NEL).
/// Also what Ward's identifier rules drop before they read a token.
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{84}' | '\u{86}'..='\u{9F}' | '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{2800}' | '\u{E0000}'..='\u{E0FFF}'
        // The other format characters and default-ignorable code points (attack round 7):
        // Arabic number signs and other prepended concatenation marks, interlinear annotation,
        // Egyptian hieroglyph, shorthand and musical format controls, emoji skin tones.
        | '\u{600}'..='\u{605}' | '\u{6DD}' | '\u{70F}' | '\u{890}' | '\u{891}' | '\u{8E2}'
        | '\u{FFF0}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1345F}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{1F3FB}'..='\u{1F3FF}')
}

/// The Latin letter, digit, hyphen or space a character is drawn like: a subset of Unicode TR39
/// `confusables.txt` (Cyrillic, Greek, Armenian, Cherokee, Lisu and Coptic look-alikes of ASCII letters;
/// hyphens, dashes and minus signs; spaces) — what NFKD leaves alone.
pub fn confusable(c: char) -> Option<char> {
    Some(match c {
        // Hyphens, dashes, minus signs.
        '\u{2010}'..='\u{2015}'
        | '\u{2212}'
        | '\u{2043}'
        | '\u{02D7}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF0D}'
        | '\u{2796}'
        | '\u{2E3A}'
        | '\u{2E3B}'
        | '\u{2E17}'
        | '\u{2E40}'
        | '\u{30A0}'
        | '\u{1806}'
        | '\u{058A}'
        | '\u{05BE}'
        | '\u{1400}'
        | '\u{301C}'
        | '\u{FF5E}' => '-',
        // Digits drawn as dingbats, which NFKD leaves alone (attack round 7): negative circled,
        // circled and negative circled sans-serif, double circled.
        '\u{2776}'..='\u{277E}' => digit(c, 0x2776),
        '\u{2780}'..='\u{2788}' => digit(c, 0x2780),
        '\u{278A}'..='\u{2792}' => digit(c, 0x278A),
        '\u{24F5}'..='\u{24FD}' => digit(c, 0x24F5),
        '\u{24FF}' | '\u{1F10B}' | '\u{1F10C}' => '0',
        // Line and paragraph separators, NEL: line breaks.
        '\u{2028}' | '\u{2029}' | '\u{85}' => '\n',
        // Spaces.
        '\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => ' ',
        // Cyrillic capitals.
        'А' => 'A',
        'В' => 'B',
        'С' => 'C',
        'Е' => 'E',
        'Н' => 'H',
        'І' => 'I',
        'Ј' => 'J',
        'К' => 'K',
        'М' => 'M',
        'О' => 'O',
        'Р' => 'P',
        'Ѕ' => 'S',
        'Т' => 'T',
        'Х' => 'X',
        'У' => 'Y',
        'Ү' => 'Y',
        'Ԁ' => 'D',
        'Ԍ' => 'G',
        'Ԛ' => 'Q',
        'Ԝ' => 'W',
        'Ӏ' => 'I',
        'Ƶ' => 'Z',
        // Cyrillic small letters.
        'а' => 'a',
        'с' => 'c',
        'ԁ' => 'd',
        'е' => 'e',
        'һ' => 'h',
        'і' => 'i',
        'ј' => 'j',
        'ӏ' => 'l',
        'о' => 'o',
        'р' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'ԝ' => 'w',
        'х' => 'x',
        'у' => 'y',
        'ү' => 'y',
        'ԍ' => 'g',
        'ь' => 'b',
        'г' => 'r',
        'п' => 'n',
        // Greek capitals and small letters.
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        'Ϲ' => 'C',
        'Ϳ' => 'J',
        'α' => 'a',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'υ' => 'u',
        'χ' => 'x',
        'ϲ' => 'c',
        'ϳ' => 'j',
        'γ' => 'y',
        // Armenian, Cherokee, Latin extensions that NFKD keeps.
        'օ' => 'o',
        'ս' => 'u',
        'ց' => 'g',
        'զ' => 'q',
        'Ꭺ' => 'A',
        'Ᏼ' => 'B',
        'Ꮯ' => 'C',
        'Ꭼ' => 'E',
        'Ꮋ' => 'H',
        'Ꮶ' => 'K',
        'Ꮇ' => 'M',
        'Ꮲ' => 'P',
        'Ꮪ' => 'S',
        'Ꭲ' => 'T',
        'Ꮃ' => 'W',
        'Ꮓ' => 'Z',
        // Lisu (U+A4D0–U+A4FF: capitals drawn as Latin ones, and its tone marks).
        'ꓐ' => 'B',
        'ꓑ' => 'P',
        'ꓒ' => 'd',
        'ꓓ' => 'D',
        'ꓔ' => 'T',
        'ꓖ' => 'G',
        'ꓗ' => 'K',
        'ꓙ' => 'J',
        'ꓚ' => 'C',
        'ꓜ' => 'Z',
        'ꓝ' => 'F',
        'ꓟ' => 'M',
        'ꓠ' => 'N',
        'ꓡ' => 'L',
        'ꓢ' => 'S',
        'ꓣ' => 'R',
        'ꓦ' => 'V',
        'ꓧ' => 'H',
        'ꓪ' => 'W',
        'ꓫ' => 'X',
        'ꓬ' => 'Y',
        'ꓮ' => 'A',
        'ꓰ' => 'E',
        'ꓲ' => 'I',
        'ꓳ' => 'O',
        'ꓴ' => 'U',
        '\u{A4F8}' => '.',
        '\u{A4F9}' => ',',
        '\u{A4FD}' => ':',
        // Coptic (U+2C80–U+2CFF).
        'Ⲁ' => 'A',
        'ⲁ' => 'a',
        'Ⲃ' => 'B',
        'ⲅ' => 'r',
        'Ⲉ' => 'E',
        'Ⲍ' => 'Z',
        'Ⲏ' => 'H',
        'Ⲓ' => 'I',
        'ⲓ' => 'i',
        'Ⲕ' => 'K',
        'ⲕ' => 'k',
        'Ⲙ' => 'M',
        'Ⲛ' => 'N',
        'Ⲟ' => 'O',
        'ⲟ' => 'o',
        'Ⲣ' => 'P',
        'ⲣ' => 'p',
        'Ⲥ' => 'C',
        'ⲥ' => 'c',
        'Ⲧ' => 'T',
        'Ⲩ' => 'Y',
        'ⲩ' => 'y',
        'Ⲭ' => 'X',
        'ⲭ' => 'x',
        'ⲽ' => 'w',
        'Ⳏ' => 'P',
        'ⳏ' => 'p',
        'Ⳑ' => 'L',
        'ı' => 'i',
        'ȷ' => 'j',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ɩ' => 'i',
        // Latin small capitals: drawn as capitals (attack round 7, `ᴊᴏʜɴ ꜱᴍɪᴛʜ`).
        'ᴀ' => 'A',
        'ʙ' => 'B',
        'ᴄ' => 'C',
        'ᴅ' => 'D',
        'ᴇ' => 'E',
        'ꜰ' => 'F',
        'ɢ' => 'G',
        'ʜ' => 'H',
        'ɪ' => 'I',
        'ᴊ' => 'J',
        'ᴋ' => 'K',
        'ʟ' => 'L',
        'ᴍ' => 'M',
        'ɴ' => 'N',
        'ᴏ' => 'O',
        'ᴘ' => 'P',
        'ʀ' => 'R',
        'ꜱ' => 'S',
        'ᴛ' => 'T',
        'ᴜ' => 'U',
        'ᴠ' => 'V',
        'ᴡ' => 'W',
        'ʏ' => 'Y',
        'ᴢ' => 'Z',
        // Cherokee and Canadian syllabics drawn as Latin capitals (TR39).
        'Ꭻ' => 'J',
        'Ꮮ' => 'L',
        'Ꮢ' => 'R',
        'Ꮩ' => 'V',
        'Ꮤ' => 'W',
        'ᒍ' => 'J',
        'ᑕ' => 'C',
        'ᑭ' => 'P',
        'ᗅ' => 'A',
        'ᗷ' => 'B',
        'ᗞ' => 'D',
        'ᕼ' => 'H',
        'ᒪ' => 'L',
        'ᗰ' => 'M',
        'ᑎ' => 'N',
        'ᖇ' => 'R',
        'ᔕ' => 'S',
        'ᐯ' => 'V',
        'ᗯ' => 'W',
        '᙭' => 'X',
        'ℓ' => 'l',
        'ø' => 'o',
        'đ' => 'd',
        'ħ' => 'h',
        'ł' => 'l',
        _ => return None,
    })
}

fn base64_engine(url_safe: bool) -> GeneralPurpose {
    let cfg = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let alphabet = if url_safe {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, cfg)
}

/// How far the glue between two parts of a split value may reach on either side of a line
/// break (indentation, a field name, quotes): bounded, so the pass stays linear.
const GLUE: usize = 64;

/// `src` with the glue between the parts of a split value dropped, or `None` when it has none:
/// a value written across two lines or fields (`"123-45",\n  "b": "-6789"`, `123-45\n-6789`,
/// `AKIAIOSFOD\nNN7EXAMPLE`), across tags (`123-45<b/>-6789`, `</td><td>`) or as a string
/// concatenation (`"123-45" + "-6789"`, `"123-45", "-6789"`) reads as one. Dropped: every tag
/// (`<`, a letter, `/` or `!`, up to 64 bytes, `>`); at a line break, the spaces, `,`, `;`, `+`,
/// `\\` and quote before it and the blank lines, indentation, one field name with its `:`
/// or `=`, and the quote after it; between two quoted strings, a `,` or `+` (and a field name).
/// Glue between two digits becomes a line break (no detector reads one as a separator inside
/// a number): two numbers on adjacent lines stay two (so a value
/// split inside a group of digits, `123-4` + `5-6789`, is not joined).
/// The guard reads this view only with the detectors of values that are worth splitting
/// (SSNs, key ids, tokens, key headers): names and dates in adjacent fields are not joined.
pub fn joined(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let bytes = src.as_bytes();
    let mut b = Builder::new(src);
    let mut i = 0;
    // Lines before this were walked as one-character lines already (each walked once).
    let mut walked = 0;
    while i < bytes.len() {
        // A block of one-character lines starting at the text's start or after this line break.
        let line = if i == 0 {
            Some(0)
        } else {
            (bytes[i] == b'\n').then_some(i + 1)
        };
        if let Some(line) = line.filter(|&l| l >= walked) {
            let mut chars: Vec<(usize, usize)> = Vec::new();
            let mut at = line;
            while let Some((c, next)) = one_char_line(src, at) {
                chars.push(c);
                at = next;
            }
            walked = at.max(line + 1);
            if chars.len() >= MIN_CHAR_LINES {
                // The value's first character may end the line before (`<pre>1` + `2` …).
                if line > 0 {
                    let mut end = line - 1;
                    while end > b.pending && matches!(bytes[end - 1], b'\r' | b' ' | b'\t') {
                        end -= 1;
                    }
                    if end > b.pending && !bytes[end - 1].is_ascii_whitespace() {
                        b.token(end, chars[0].0, kind::SPLIT, "");
                    }
                }
                for w in chars.windows(2) {
                    b.token(w[0].1, w[1].0, kind::SPLIT, "");
                }
                // The line break after the last one stays: the next line is not the value's.
                i = at;
                continue;
            }
        }
        let glue = match bytes[i] {
            b'<' => tag_end(bytes, i).map(|end| (i, end)),
            b'\n' => Some(line_glue(bytes, b.pending, i)),
            b'"' | b'\'' => concatenation(bytes, i).map(|end| (i, end)),
            // HL7 v2's component separator: `123-45^-6789`, `AKIAIOSF^ODNN7EXAMPLE`.
            b'^' => Some((i, i + bytes[i..].iter().take(GLUE).take_while(|&&c| c == b'^').count())),
            _ => None,
        };
        match glue {
            Some((from, to)) => {
                // Two numbers are not glued into one (`6789` + `123` on the next line).
                let digits =
                    from > 0 && bytes[from - 1].is_ascii_digit() && bytes.get(to).is_some_and(u8::is_ascii_digit);
                b.token(from, to, kind::SPLIT, if digits { "\n" } else { "" });
                i = to;
            }
            None => i += 1,
        }
    }
    b.finish()
}

/// Fewest lines of one character each joined into one value ([`joined`]): an SSN's nine
/// digits, written one a line.
pub const MIN_CHAR_LINES: usize = 9;

/// The line starting at `at` holds one character (indentation, a trailing `\r`, quotes around it
/// and a `,` after it aside: `  "1",`): the character's span and the next line's start.
fn one_char_line(src: &str, at: usize) -> Option<((usize, usize), usize)> {
    let bytes = src.as_bytes();
    let end = at + bytes.get(at..)?.iter().take(GLUE + 1).position(|&c| c == b'\n')?;
    let mut from = at;
    while from < end && matches!(bytes[from], b' ' | b'\t') {
        from += 1;
    }
    let mut to = end;
    while to > from && matches!(bytes[to - 1], b' ' | b'\t' | b'\r') {
        to -= 1;
    }
    if to > from && bytes[to - 1] == b',' {
        to -= 1;
    }
    if to >= from + 3 && matches!(bytes[from], b'"' | b'\'') && bytes[to - 1] == bytes[from] {
        from += 1;
        to -= 1;
    }
    let c = src.get(from..to)?;
    let mut it = c.chars();
    (it.next().is_some_and(|c| !c.is_whitespace()) && it.next().is_none()).then_some(((from, to), end + 1))
}

/// The end of a tag starting at `at` (`<b/>`, `</td>`, `<br>`, `<!-- x -->` when short).
fn tag_end(bytes: &[u8], at: usize) -> Option<usize> {
    let first = *bytes.get(at + 1)?;
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'!') {
        return None;
    }
    let rest = bytes.get(at + 1..)?;
    let close = rest.iter().take(GLUE).position(|&c| matches!(c, b'>' | b'<' | b'\n'))?;
    (rest[close] == b'>').then_some(at + 1 + close + 1)
}

/// The glue around the line break at `at`: back to `floor` at most (what is already in the
/// view), forward past blank lines, indentation, one field name and an opening quote.
fn line_glue(bytes: &[u8], floor: usize, at: usize) -> (usize, usize) {
    let mut from = at;
    let low = floor.max(at.saturating_sub(8));
    while from > low
        && matches!(
            bytes[from - 1],
            b' ' | b'\t' | b'\r' | b',' | b';' | b'+' | b'\\' | b'"' | b'\''
        )
    {
        from -= 1;
    }
    let limit = (at + GLUE).min(bytes.len());
    let mut to = at + 1;
    while to < limit && matches!(bytes[to], b' ' | b'\t' | b'\r' | b'\n') {
        to += 1;
    }
    // A quoting or comment prefix on the next line (`> `, `# `, `// `, a line number).
    to = line_prefix_end(bytes, to, limit);
    let after = field_name_end(bytes, to, limit)
        .unwrap_or_else(|| to + usize::from(matches!(bytes.get(to), Some(b'"' | b'\''))));
    (from, after)
}

/// After a field name at `at` (`"b": "`, `b = `, `'b':`): where its value starts.
fn field_name_end(bytes: &[u8], at: usize, limit: usize) -> Option<usize> {
    let mut j = at;
    let quote = matches!(bytes.get(j), Some(b'"' | b'\''));
    j += usize::from(quote);
    let name = j;
    while j < limit && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'_' | b'.' | b'-')) {
        j += 1;
    }
    if j == name || !bytes[name].is_ascii_alphabetic() {
        return None;
    }
    if quote {
        if !matches!(bytes.get(j), Some(b'"' | b'\'')) {
            return None;
        }
        j += 1;
    }
    while j < limit && matches!(bytes[j], b' ' | b'\t') {
        j += 1;
    }
    if !matches!(bytes.get(j), Some(b':' | b'=')) {
        return None;
    }
    j += 1;
    while j < limit && matches!(bytes[j], b' ' | b'\t') {
        j += 1;
    }
    j += usize::from(matches!(bytes.get(j), Some(b'"' | b'\'')));
    Some(j.min(bytes.len()))
}

/// A closing quote at `at` followed by `,` or `+` and another quoted string (perhaps a field
/// name and its `:` first, or brackets and fields whose values are not strings, within
/// [`GLUE`] bytes): where the second string's text starts.
fn concatenation(bytes: &[u8], at: usize) -> Option<usize> {
    let limit = (at + GLUE).min(bytes.len());
    let mut j = at + 1;
    while j < limit && matches!(bytes[j], b' ' | b'\t') {
        j += 1;
    }
    // Adjacent literals on one line (`"AKIAIOSF" "ODNN7EXAMPLE"`: C, Python, the shell), after
    // a quote that closes a value (a letter, digit or one of `-_./+=` before it).
    let closes = at > 0
        && (bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'-' | b'_' | b'.' | b'/' | b'+' | b'='));
    if closes && j > at + 1 && j < limit && matches!(bytes[j], b'"' | b'\'') {
        return Some(j + 1);
    }
    // A value split between a JSON key and its value (`{"123-45-": "6789"}`): the key's closing
    // quote, its `:` and the value's opening quote.
    if closes && bytes.get(j) == Some(&b':') {
        let mut k = j + 1;
        while k < limit && matches!(bytes[k], b' ' | b'\t') {
            k += 1;
        }
        if k < limit && matches!(bytes[k], b'"' | b'\'') {
            return Some(k + 1);
        }
    }
    while j < limit && matches!(bytes[j], b' ' | b'\t' | b'\r' | b'\n' | b']' | b'}') {
        j += 1;
    }
    // The operators: `,`, `+`, PHP's `.`, Lua's `..`, SQL's `||`, VB's `&`, D's `~`.
    j += match bytes.get(j..) {
        Some([b'|', b'|', ..] | [b'.', b'.', ..]) => 2,
        Some([b',' | b'+' | b'.' | b'&' | b'~', ..]) => 1,
        _ => return None,
    };
    // The structure of one document between two string values: brackets, commas, field names
    // and values that are not strings (`, "b": {"c": "`, `, "n": 42, "b": "`, `}, {"c": "`).
    loop {
        while j < limit
            && matches!(
                bytes[j],
                b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b'[' | b']' | b','
            )
        {
            j += 1;
        }
        if !matches!(bytes.get(j), Some(b'"' | b'\'')) || j >= limit {
            return None;
        }
        match field_name_end(bytes, j, limit) {
            Some(end) if matches!(bytes[end - 1], b'"' | b'\'') => return Some(end),
            Some(end) => {
                // A field whose value is a number, a literal or an object: past it.
                j = end;
                while j < limit && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'.' | b'-' | b'+')) {
                    j += 1;
                }
            }
            None => return Some(j + 1),
        }
    }
}

/// The regexes of [`pairs`]: a name then its value (JSON or XML attributes), a value then its
/// name, and an XML element whose `name` attribute names its text.
fn pair_patterns() -> &'static [regex::Regex; 3] {
    static R: std::sync::OnceLock<[regex::Regex; 3]> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        // Case-sensitive word lists (a few literals: the regex engine's prefilter skips text
        // without them, as a realistic report mostly is).
        let names = r"(?:name|Name|NAME|key|Key|KEY|label|property|field|attribute)";
        let values = r"(?:value|Value|VALUE|content)";
        // Side by side (another field between them is a known gap: a bounded repetition of
        // fields made the automaton too large to stay fast).
        let re = |p: String| regex::Regex::new(&p).expect("built-in pattern");
        [
            re(format!(
                r#"(?-u:\b){names}["']?\s*[:=]\s*["']([^"'\r\n]{{1,64}})["']\s*,?\s*["']?{values}["']?\s*[:=]\s*["']?([^"'\r\n,}}\]<>]{{1,128}})"#
            )),
            re(format!(
                r#"(?-u:\b){values}["']?\s*[:=]\s*["']([^"'\r\n]{{1,128}})["']\s*,?\s*["']?{names}["']?\s*[:=]\s*["']([^"'\r\n]{{1,64}})["']"#
            )),
            re(
                r#"<(?:property|entry|field|attribute|param|item)\s+(?:name|key)\s*=\s*["']([^"'\r\n]{1,64})["'][^>]{0,64}>\s*([^<\r\n]{1,128})<"#
                    .to_string(),
            ),
        ]
    })
}

/// How far after a name its value is looked for when other fields stand between them.
const PAIR_REACH: usize = 256;

/// A name field (JSON or an XML attribute) and a value field, for [`pairs`]' reading of a name
/// and value apart.
fn apart_patterns() -> &'static [regex::Regex; 2] {
    static R: std::sync::OnceLock<[regex::Regex; 2]> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        let re = |p: &str| regex::Regex::new(p).expect("built-in pattern");
        [
            re(r#"(?-u:\b)(?:name|Name|NAME|key|Key|KEY|label|property|field|attribute)["']?\s*[:=]\s*["']([^"'\r\n]{1,64})["']"#),
            re(r#"(?-u:\b)(?:value|Value|VALUE|content)["']?\s*[:=]\s*["']?([^"'\r\n,}\]<>]{1,128})"#),
        ]
    })
}

/// Name/value property pairs read as `name: value`, one per line, or `None` when there is
/// none: JSON `{"name": "ssn", "value": "123-45-6789"}` (also `key`/`value`, CycloneDX
/// `properties`, either order), XML attributes
/// `<property name="ssn" value="123456789"/>` and `<property name="ssn">123456789</property>`
/// — so the labelled detectors read the name as the label it is. Each line maps back to the
/// value's span (a redaction removes the value, not the pair). One pass of three regexes; each
/// line is shorter than the pair it came from.
pub fn pairs(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let mut found: Vec<(usize, usize, usize, usize, usize)> = Vec::new();
    for (i, re) in pair_patterns().iter().enumerate() {
        for c in re.captures_iter(src) {
            let (Some(whole), Some(a), Some(b)) = (c.get(0), c.get(1), c.get(2)) else {
                continue;
            };
            // (start of the pair, value start, value end, name start, name end)
            let (name, value) = if i == 1 { (b, a) } else { (a, b) };
            found.push((whole.start(), value.start(), value.end(), name.start(), name.end()));
        }
    }
    // A name and its value with other fields between them (`{"name": "ssn", "type": "string",
    // "value": "123456789"}`): from each name, the first value before the next name, the end
    // of its object or [`PAIR_REACH`] bytes — each byte looked at for one name only, so linear.
    let [names, values] = apart_patterns();
    let mut name_at: Vec<(usize, usize, usize)> = names
        .captures_iter(src)
        .filter_map(|c| Some((c.get(0)?.start(), c.get(1)?.start(), c.get(1)?.end())))
        .collect();
    name_at.push((src.len(), src.len(), src.len()));
    for w in name_at.windows(2) {
        let ((start, n0, n1), (next, _, _)) = (w[0], w[1]);
        let from = n1 + 1;
        let mut to = next.min(from + PAIR_REACH).min(src.len());
        if let Some(p) = src
            .as_bytes()
            .get(from..to)
            .and_then(|w| w.iter().position(|&c| matches!(c, b'{' | b'}' | b'>')))
        {
            to = from + p;
        }
        let Some(window) = src.get(from..to) else { continue };
        if let Some(v) = values.captures(window).and_then(|c| c.get(1)) {
            found.push((start, from + v.start(), from + v.end(), n0, n1));
        }
    }
    if found.is_empty() {
        return None;
    }
    found.sort_unstable();
    let mut b = Builder::new(src);
    let mut line = String::new();
    let mut reach = 0;
    for (_, v0, v1, n0, n1) in found {
        if v0 < reach {
            continue;
        }
        line.clear();
        line.push_str(&src[n0..n1]);
        line.push_str(": ");
        line.push_str(&src[v0..v1]);
        line.push('\n');
        b.pending = v0;
        b.token(v0, v1, kind::PAIR, &line);
        reach = v1;
    }
    b.pending = src.len();
    b.finish()
}

/// Text that the encoded runs of `src` decode to, one run per line, or `None` when there is
/// none. A run is a maximal stretch of base64 characters (standard or URL-safe alphabet, padding
/// optional) of at least [`MIN_RUN`] characters, read as:
/// - **hex** when it is only hex digits, of even length: taken only when it decodes to printable
///   text (a digest or git SHA decodes to random bytes and is left alone; so is a UUID, whose
///   dashes make it no hex run);
/// - **base32** (RFC 4648, upper or lower case, not mixed) when it is only `A–Z`/`2–7` and decodes
///   to printable text;
/// - else **base64**, at one of the four alignments (a value glued to a word starts
///   mid-quantum).
///
/// A **wrapped block** is read as one run first (see [`wrapped_block`]): base64 wrapped over
/// lines (MIME's 76 columns, PEM's 64, CRLF or LF, indented) or written in groups with spaces
/// between them (`U1NO IDEy My00`, hex pairs `31 32 33`); when the block as a whole is no text,
/// its runs are read one by one as above.
///
/// "Printable": at least 80% printable UTF-8 — every character, for runs shorter than
/// [`STRICT_RUN`] (9 to 17 bytes once decoded: an SSN is 9; ten random bytes are 80% printable
/// about once in 140 tries, all printable once in 20,000). One level: the guard calls this again on the result
/// (and its decoded view) for nested encodings, up to its depth limit.
pub fn encoded_runs(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let (standard, url_safe) = (base64_engine(false), base64_engine(true));
    let engines = &mut Decoder::new((&standard, &url_safe));
    let bytes = src.as_bytes();
    let mut b = Builder::new(src);
    let mut decoded = Vec::new();
    let (mut joined, mut scratch) = (Vec::new(), Vec::new());
    let mut at = 0;
    // Runs before this were walked as separately padded chunks already (each walked once).
    let mut chunks_walked = 0;
    while let Some(first) = next_run(bytes, at) {
        if first.padded() && first.start >= chunks_walked {
            match padded_chunks(bytes, first, &mut decoded) {
                Ok(whole) => {
                    push_line(&mut b, whole.start, whole.end, kind::BASE64, &decoded);
                    at = whole.end;
                    continue;
                }
                Err(walked) => chunks_walked = walked,
            }
        }
        if let Some(block) = wrapped_block(bytes, first, &mut joined) {
            if let Some(k) = engines.decode(&joined, &mut decoded) {
                if block.start > first.start {
                    let head = Run {
                        chars: block.start,
                        end: block.start,
                        ..first
                    };
                    read_run(&mut b, bytes, head, engines, &mut scratch);
                }
                push_line(&mut b, block.start, block.end, k, &decoded);
            } else if block.start > first.start {
                // The first run was no line with a prefix (`for` before hex pairs): read it
                // alone and try again from the next run (so each run is walked at most twice).
                read_run(&mut b, bytes, first, engines, &mut decoded);
                at = first.end;
                continue;
            } else {
                // No text as a whole: each of its runs on its own (each read once).
                let mut run = Some(first);
                while let Some(r) = run.filter(|r| r.end <= block.end) {
                    read_run(&mut b, bytes, r, engines, &mut decoded);
                    run = next_run(bytes, r.end);
                }
            }
            at = block.end;
        } else {
            read_run(&mut b, bytes, first, engines, &mut decoded);
            at = first.end;
        }
        // Nothing but the decoded runs (and the label before each) is in the view: `b.pending`
        // stays at the end of the last run read, the floor of the next label.
    }
    b.pending = bytes.len();
    b.finish()
}

/// A maximal run of base64 characters: `start..chars` the characters, `chars..end` its padding.
#[derive(Clone, Copy, Debug)]
struct Run {
    start: usize,
    chars: usize,
    end: usize,
}

impl Run {
    fn len(&self) -> usize {
        self.chars - self.start
    }

    fn padded(&self) -> bool {
        self.end > self.chars
    }
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// The next run at or after `from`, with its padding (`=`, up to 2; 6 for base32).
fn next_run(bytes: &[u8], from: usize) -> Option<Run> {
    let start = from + bytes.get(from..)?.iter().position(|&b| is_b64(b))?;
    let chars = start
        + bytes[start..]
            .iter()
            .position(|&b| !is_b64(b))
            .unwrap_or(bytes.len() - start);
    let pad = if base32_alphabet(&bytes[start..chars]) || base32hex_alphabet(&bytes[start..chars]) {
        6
    } else {
        2
    };
    let mut end = chars;
    while end < bytes.len() && end - chars < pad && bytes[end] == b'=' {
        end += 1;
    }
    Some(Run { start, chars, end })
}

/// Base64 written as separately padded chunks in one run (`MTIzLTQ=NS02Nzg5`: each part
/// encoded on its own, padded, the encodings concatenated — a decoder that reads chunk by
/// chunk stores `123-45-6789`): `first` (padded, a whole number of quanta, not a word in one
/// case such as the label `SSN=`) and the chunks glued behind it, each decoded on its own into `decoded`,
/// taken when there are two or more and together they read as text. The span they cover, or
/// (not taken) where the walk ended: the caller does not walk those chunks again.
fn padded_chunks(bytes: &[u8], first: Run, decoded: &mut Vec<u8>) -> Result<Run, usize> {
    static ENGINES: std::sync::OnceLock<(GeneralPurpose, GeneralPurpose)> = std::sync::OnceLock::new();
    let (standard, url_safe) = ENGINES.get_or_init(|| (base64_engine(false), base64_engine(true)));
    let chunk = |r: &Run| (r.end - r.start).is_multiple_of(4);
    // A label (`SSN=`, `dob=`, `token=`): letters in one case, as base64 seldom is.
    let head = &bytes[first.start..first.chars];
    let word = head.iter().all(u8::is_ascii_lowercase) || head.iter().all(u8::is_ascii_uppercase);
    if !chunk(&first) || word || !bytes.get(first.end).is_some_and(|&c| is_b64(c)) {
        return Err(first.end);
    }
    decoded.clear();
    let (mut r, mut count, mut ok) = (first, 0usize, true);
    loop {
        let part = &bytes[r.start..r.end];
        let url = part.iter().any(|&b| b == b'-' || b == b'_');
        let engine = if url { url_safe } else { standard };
        ok &= engine.decode_vec(part, decoded).is_ok();
        count += 1;
        if !r.padded() || !bytes.get(r.end).is_some_and(|&c| is_b64(c)) {
            break;
        }
        match next_run(bytes, r.end) {
            Some(next) if !next.padded() || chunk(&next) => r = next,
            _ => break,
        }
    }
    let whole = Run {
        start: first.start,
        chars: r.chars,
        end: r.end,
    };
    if !ok || count < 2 {
        return Err(r.end);
    }
    expand(decoded, whole.end - whole.start, false);
    if printable(decoded, decoded.len() < 12) {
        Ok(whole)
    } else {
        Err(r.end)
    }
}

/// Reads one run on its own: a path (`reports/GEZDG….xml`, at most [`MAX_PATH`] bytes) first
/// segment by segment (the whole run may decode, as base64, to something printable that is not
/// the text), the whole run when no segment reads as text.
fn read_run(b: &mut Builder<'_>, bytes: &[u8], r: Run, engines: &mut Decoder<'_>, decoded: &mut Vec<u8>) {
    let run = &bytes[r.start..r.chars];
    if run.len() < MIN_RUN {
        return;
    }
    let mut segments = false;
    // A compressed stream's base64 (`eJ…`, `H4sI…`) holds `/` as any other character: read whole.
    let compressed = run.get(..4).is_some_and(|head| {
        let mut buf = [0u8; 8];
        engines
            .engines
            .0
            .decode_slice(head, &mut buf)
            .is_ok_and(|n| compressed_header(&buf[..n]))
    });
    // So does a raw DEFLATE stream's (no header to tell it by): the whole run, or the run after
    // its first segment (`reports/` + a stream), inflates to text.
    let path = run.len() <= MAX_PATH && run.contains(&b'/') && !compressed;
    // Base64 of text holding `/` as any other character (`PH5Cay8/IUJR…` is `<~Bk/?!BQ…`):
    // read whole when the whole run, at its own alignment, is text throughout (every byte: no
    // stretch of text cut out of it), not segment by segment.
    // The same after a path's first segment (`reports/PH5Cay8/IUJR…`).
    let first_slash = run.iter().position(|&c| c == b'/').map_or(0, |i| i + 1);
    for from in [0, first_slash] {
        let part = &run[from..];
        if path
            && part.len() >= MIN_RUN
            && let Some(k) = engines.decode(part, decoded)
            && k == kind::BASE64
            && decoded.len() == part.len() * 3 / 4
            && std::str::from_utf8(decoded)
                .is_ok_and(|t| t.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')))
        {
            push_line(b, r.start + from, r.end, k, decoded);
            return;
        }
    }
    let standard = engines.engines.0;
    let inflates = |part: &[u8]| {
        let part = &part[..part.len() - usize::from(part.len() % 4 == 1)];
        standard
            .decode(part)
            .ok()
            .is_some_and(|bytes| inflate_raw(&bytes, run.len()).is_some())
    };
    let after_first = run.iter().position(|&c| c == b'/').map_or(0, |i| i + 1);
    let deflated = if !path {
        None
    } else if inflates(run) {
        Some(0)
    } else {
        (after_first > 0)
            .then_some(after_first)
            .filter(|&from| run.len() - from >= MIN_RUN && inflates(&run[from..]))
    };
    match deflated {
        Some(from) if from > 0 => {
            if let Some(k) = engines.decode(&run[from..], decoded) {
                push_line(b, r.start + from, r.end, k, decoded);
                segments = true;
            }
        }
        Some(_) => {}
        None if path => {
            let mut at = r.start;
            for seg in run.split(|&c| c == b'/') {
                let from = one_alphabet_tail(seg);
                if seg.len() - from >= MIN_RUN
                    && let Some(k) = engines.decode(&seg[from..], decoded)
                {
                    push_line(b, at + from, at + seg.len(), k, decoded);
                    segments = true;
                }
                at += seg.len() + 1;
            }
        }
        None => {}
    }
    let from = one_alphabet_tail(run);
    if !segments
        && run.len() - from >= MIN_RUN
        && let Some(k) = engines.decode(&run[from..], decoded)
    {
        push_line(b, r.start + from, r.end, k, decoded);
    }
}

/// Where the longest tail of `run` in one base64 alphabet starts: 0 unless the run holds both
/// URL-safe (`-`, `_`) and standard (`+`, `/`) characters, which no encoder writes — then a word
/// glued before an encoding (the joined view glues a field's value, `SPDXRef-lib`, before the
/// next field's base64 items `<i>aWQg</i><i>KkZ+</i>`; `sha384-` before a digest), read from
/// after the last character of the alphabet that comes first.
fn one_alphabet_tail(run: &[u8]) -> usize {
    let url = run.iter().rposition(|&c| c == b'-' || c == b'_');
    let standard = run.iter().rposition(|&c| c == b'+' || c == b'/');
    match (url, standard) {
        (Some(u), Some(s)) => u.min(s) + 1,
        _ => 0,
    }
}

/// The shortest line of a block wrapped over lines (MIME wraps at 76 columns, PEM at 64; a
/// shorter line is a word, not a wrapped encoding).
pub const MIN_WRAPPED_LINE: usize = 16;

/// The part of the original a wrapped block covers (its runs and the whitespace between them).
struct Block {
    start: usize,
    end: usize,
}

/// A wrapped block starting with `first`: `first`, then runs of one same length `L`, then
/// perhaps one shorter last run, each separated from the one before by whitespace only — spaces
/// and tabs (groups: `U1NO IDEy My00`, hex pairs `31 32 33`) or one line break with the
/// indentation around it (`\r\n` or `\n`; a blank line ends the block). Its characters are
/// written to `joined`. Taken only when
/// - `first` is no longer than `L` (a shorter first line: a prefix on it) and unpadded — or, when
///   `L` is a line (≥ [`MIN_WRAPPED_LINE`], a multiple of 4) and a third run no longer than it
///   follows, longer: a prefix glued to the first line (`reports/` + a line) is cut off, the
///   block starts `L` characters before the end of `first` and the caller reads the head alone —
///   and
///   every run but the last is a whole number of base64 quanta (`L` and `first` multiples of 4)
///   or too short to be read alone (`L` < [`MIN_RUN`]): so joining never misaligns a run that
///   would have been read on its own;
/// - across a line break, `L` ≥ [`MIN_WRAPPED_LINE`], unless the block is groups written with
///   spaces (then wrapped over lines too);
/// - two runs of length `L` at least, or one and a last run after a line break (two lines);
/// - at least [`MIN_RUN`] characters in all.
///
/// Linear: the block is walked once; a block that is not taken stops after at most two runs.
fn wrapped_block(bytes: &[u8], first: Run, joined: &mut Vec<u8>) -> Option<Block> {
    if first.padded() {
        return None;
    }
    let (second, line_break) = next_after_whitespace(bytes, first)?;
    // Bytes spelled `0x69, 0x64, …` after a word (`for 0x69`): the word is no part of them.
    let spelled = |r: Run| r.len() == 4 && bytes[r.start] == b'0' && matches!(bytes[r.start + 1], b'x' | b'X');
    if spelled(second) && !spelled(first) {
        return None;
    }
    let mut first = first;
    // A prefix glued to the first line (`reports/` + a line): when the second run is a line
    // (a whole number of quanta, at least `MIN_WRAPPED_LINE`) followed by another no longer
    // than it, the first line is the last `width` characters of the first run (its head is
    // read on its own). Not for groups: `for` before `69 64 …` is a word.
    if second.len() < first.len()
        && second.len() >= 4
        && second.len().is_multiple_of(4)
        && !second.padded()
        && next_after_whitespace(bytes, second).is_some_and(|(third, _)| third.len() <= second.len())
    {
        first.start = first.chars - second.len();
    }
    let width = if second.len() < first.len() {
        first.len()
    } else {
        second.len()
    };
    let quanta = |n: usize| n.is_multiple_of(4) || width < MIN_RUN;
    // A narrow wrap (4, 8 or 12 columns: a multiple of 4) is read too; what it decodes to must
    // still read as text.
    let narrow_ok = width.is_multiple_of(4) && width >= 4;
    if !quanta(width) || !quanta(first.len()) || (line_break && width < MIN_WRAPPED_LINE && !narrow_ok) {
        return None;
    }
    let mut full = usize::from(first.len() == width);
    let mut spaces = !line_break;
    let mut last = first;
    let mut last_after_line = false;
    let mut next = Some((second, line_break));
    // Extend while the last run taken is a full one.
    while let Some((run, line_break)) = next.take() {
        // A last run may be a word after the block (`key` of `key: …` on the next line): it
        // adds a few bytes, never hides the block's text.
        let fits = run.len() <= width
            && (!line_break || width >= MIN_WRAPPED_LINE || narrow_ok || spaces)
            && (spelled(run) || !spelled(first));
        if !fits {
            break;
        }
        spaces |= !line_break;
        last = run;
        last_after_line = line_break;
        if run.len() < width || run.padded() {
            break;
        }
        full += 1;
        next = next_after_whitespace(bytes, run);
    }
    let two_lines = full >= 1 && last_after_line && last.start != first.start;
    if last.start == first.start || !(full >= 2 || two_lines) {
        return None;
    }
    joined.clear();
    let mut run = Some(first);
    while let Some(r) = run.filter(|r| r.start <= last.start) {
        joined.extend_from_slice(&bytes[r.start..r.chars]);
        run = next_after_whitespace(bytes, r).map(|(r, _)| r);
    }
    (joined.len() >= MIN_RUN).then_some(Block {
        start: first.start,
        end: last.end,
    })
}

/// The run after `r` when only whitespace and at most one separator (`.`, `,`, `;`, `|`, `:`,
/// `·`: groups written `U1NO.IDEy`, hex pairs `31:32`, bytes `0x31, 0x32`) separate them (at
/// most one line break, and not with a separator: a blank line ends a block, and `key:` on the
/// line before a block is no part of it), and whether a line break does.
fn next_after_whitespace(bytes: &[u8], r: Run) -> Option<(Run, bool)> {
    let mut i = r.end;
    let (mut breaks, mut separators) = (0, 0);
    while let Some(&c) = bytes.get(i) {
        match c {
            b' ' | b'\t' | b'\r' => {}
            b'\n' if breaks == 0 && separators == 0 => {
                // A prefix on every line (`> `, `# `, `// `, a line number): no part of the run.
                breaks = 1;
                let indent = i
                    + 1
                    + bytes[i + 1..]
                        .iter()
                        .take(GLUE)
                        .take_while(|&&c| matches!(c, b' ' | b'\t'))
                        .count();
                i = line_prefix_end(bytes, indent, (indent + GLUE).min(bytes.len()));
                continue;
            }
            b'.' | b',' | b';' | b'|' | b':' if separators == 0 && breaks == 0 => separators = 1,
            0xC2 if separators == 0 && breaks == 0 && bytes.get(i + 1) == Some(&0xB7) => {
                separators = 1;
                i += 1;
            }
            _ => break,
        }
        i += 1;
    }
    if i == r.end || !bytes.get(i).is_some_and(|&c| is_b64(c)) {
        return None;
    }
    Some((next_run(bytes, i)?, breaks == 1))
}

/// Where a quoting or comment prefix at `at` (after a line break and its indentation) ends,
/// with the spaces after it: `> ` (any number of `>`), `# `, `// `, `; `, `* `, `% `, or a
/// line number `12: `, `12| `, `12. `, `12) ` (then a space or tab must follow); `at` when there
/// is none. At most `limit`.
fn line_prefix_end(bytes: &[u8], at: usize, limit: usize) -> usize {
    let rest = bytes.get(at..limit).unwrap_or_default();
    let len = match rest {
        [b'/', b'/', ..] => 2,
        [b'>' | b'#' | b';' | b'*' | b'%', ..] => 1,
        _ => {
            let n = rest.iter().take(6).take_while(|b| b.is_ascii_digit()).count();
            if n == 0
                || !matches!(rest.get(n), Some(b':' | b'|' | b'.' | b')'))
                || !matches!(rest.get(n + 1), Some(b' ' | b'\t'))
            {
                return at;
            }
            n + 1
        }
    };
    let mut j = at + len;
    while j < limit && matches!(bytes[j], b' ' | b'\t' | b'>') {
        j += 1;
    }
    j
}

/// How far back on its line the label before an encoded run is kept ([`push_line`]).
pub const LABEL: usize = 32;

/// Adds the decoded bytes of the original's `start..end` to the view as one line, after the
/// label before the run: up to [`LABEL`] bytes of its line since the last run read
/// (`{"ssn": "` + `MTIzNDU2Nzg5` reads `{"ssn": "123456789`), copied unchanged — so a labelled
/// detector judges the decoded value with its label, as it would the plain one. Invalid
/// UTF-8 becomes one `?` per bad sequence (not U+FFFD, three bytes): the view stays within
/// three quarters of the run, plus the label (bytes between runs, each copied once).
fn push_line(b: &mut Builder<'_>, start: usize, end: usize, k: u32, decoded: &[u8]) {
    let src = b.src.as_bytes();
    let floor = b.pending.min(start).max(start.saturating_sub(LABEL));
    let mut from = start;
    while from > floor && !matches!(src[from - 1], b'\n' | b'\r') {
        from -= 1;
    }
    while !b.src.is_char_boundary(from) {
        from += 1;
    }
    let mut line = String::with_capacity(decoded.len() + 1);
    for chunk in decoded.utf8_chunks() {
        line.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            line.push('?');
        }
    }
    line.push('\n');
    b.pending = from;
    b.token(start, end, k, &line);
}

/// Runs longer than this are decoded every time they occur (a repeat of a long run is rare, and
/// costs its length to look up).
const MEMO_RUN: usize = 4096;

/// The most bytes (runs and what they decode to) [`Decoder`] keeps for one view.
const MEMO_BYTES: usize = 8 << 20;

/// What a run decoded to, remembered: how and the bytes, or `None` when it is no text.
type Decoded = Option<(u32, Box<[u8]>)>;

/// [`decode_run`] with a memory: a run met again in the same view (a document of one encoded
/// stream repeated, a zlib or raw DEFLATE stream every few bytes) is decoded twice at most (the
/// second time it is remembered) — the answer is a pure function of the run's bytes. Bounded: runs of at most [`MEMO_RUN`] characters,
/// at most [`MEMO_BYTES`] kept (then further runs are decoded each time, as before).
struct Decoder<'e> {
    engines: (&'e GeneralPurpose, &'e GeneralPurpose),
    memo: std::collections::HashMap<Box<[u8]>, Decoded>,
    /// Hashes of the runs seen once: a run is remembered the second time it is met (a document
    /// of distinct runs, random base64, pays a hash per run and no copies).
    seen: std::collections::HashSet<u64>,
    hasher: std::collections::hash_map::RandomState,
    held: usize,
}

impl<'e> Decoder<'e> {
    fn new(engines: (&'e GeneralPurpose, &'e GeneralPurpose)) -> Decoder<'e> {
        Decoder {
            engines,
            memo: std::collections::HashMap::new(),
            seen: std::collections::HashSet::new(),
            hasher: std::collections::hash_map::RandomState::new(),
            held: 0,
        }
    }

    fn decode(&mut self, run: &[u8], decoded: &mut Vec<u8>) -> Option<u32> {
        let remember = run.len() <= MEMO_RUN;
        if remember && let Some(seen) = self.memo.get(run) {
            decoded.clear();
            return seen.as_ref().map(|(k, text)| {
                decoded.extend_from_slice(text);
                *k
            });
        }
        let k = decode_run(run, self.engines, decoded);
        let again = remember && {
            use std::hash::BuildHasher as _;
            // One hash per run: at most one per 12 bytes of the text.
            !self.seen.insert(self.hasher.hash_one(run))
        };
        if again && self.held + 2 * run.len() <= MEMO_BYTES {
            self.held += run.len() + k.map_or(0, |_| decoded.len());
            self.memo.insert(run.into(), k.map(|k| (k, decoded.as_slice().into())));
        }
        k
    }
}

/// Runs shorter than this decode to text only when every character is printable: a random
/// hex id glued to a word on the next line (`a9b380b681b6` + `user`) is base32hex for 10 bytes,
/// 80% printable once in 140, and Ward writes such ids in every event.
const STRICT_RUN: usize = 24;

/// A run of hex digits as long as a digest (MD5, SHA-1, SHA-256, SHA-384, SHA-512) decodes to
/// text only when every character is printable: Ward writes such digests in nearly every event,
/// and one random SHA-256 in tens of thousands reads as 80% printable bytes (valid two-byte UTF-8
/// sequences count as letters), one in millions with an `@` and a `:` placed as a credential.
fn digest_length(run: &[u8]) -> bool {
    matches!(run.len(), 32 | 40 | 64 | 96 | 128) && run.iter().all(u8::is_ascii_hexdigit)
}

/// What a run decodes to (into `decoded`) and how, when it reads as text (see
/// [`encoded_runs`]).
fn decode_run(
    run: &[u8],
    (standard, url_safe): (&GeneralPurpose, &GeneralPurpose),
    decoded: &mut Vec<u8>,
) -> Option<u32> {
    let strict = run.len() < STRICT_RUN || digest_length(run);
    // Bytes written `0x31` (joined from `0x31, 0x32` or `0x31 0x32`), or hex pairs joined by
    // dashes (`31-32-33`): the hex digits alone.
    let mut digits = Vec::new();
    let run = match hex_spelled(run, &mut digits) {
        true => &digits[..],
        false => run,
    };
    let hexish = run.iter().all(|&b| b.is_ascii_hexdigit() || b == b'-');
    if hexish {
        // Digests, git SHAs, UUIDs: read only when they decode to text.
        // An odd last digit (a cut run) is dropped, as a base64 run's lone last character is.
        let even = &run[..run.len() & !1];
        return (!run.contains(&b'-')
            && hex_decode(even, decoded)
            && expand(decoded, run.len(), true)
            && printable(decoded, strict))
        .then_some(kind::HEX)
        .or_else(|| {
            (base32_alphabet(run)
                && base32_decode(run, decoded)
                && expand(decoded, run.len(), true)
                && printable(decoded, strict))
            .then_some(kind::BASE32)
        });
    }
    if base32_alphabet(run)
        && base32_decode(run, decoded)
        && expand(decoded, run.len(), true)
        && printable(decoded, strict)
    {
        return Some(kind::BASE32);
    }
    // base32hex (RFC 4648's `0-9A-V`, either case), tried before base64 as base32 is.
    if base32hex_alphabet(run)
        && base32hex_decode(run, decoded)
        && expand(decoded, run.len(), true)
        && printable(decoded, strict)
    {
        return Some(kind::BASE32);
    }
    let std_chars = run.iter().any(|&b| b == b'+' || b == b'/');
    let url_chars = run.iter().any(|&b| b == b'-' || b == b'_');
    let engine = match (std_chars, url_chars) {
        (true, true) => return None,
        (false, true) => url_safe,
        _ => standard,
    };
    let decode = |skip: usize, decoded: &mut Vec<u8>| {
        let Some(mut part) = run.get(skip..) else { return false };
        if part.len() % 4 == 1 {
            part = &part[..part.len() - 1];
        }
        decoded.clear();
        engine.decode_vec(part, decoded).is_ok() && expand(decoded, run.len(), skip == 0)
    };
    // Text glued behind other base64 characters (`AkIa…PlEU1NO…`): the run as a whole is not
    // mostly printable, but it holds a stretch of text; only such stretches are kept (random
    // bytes hold 11 printable ASCII characters in a row about once in 50,000 positions, so a
    // signature rarely adds a few bytes to the view, never its whole run). Judged on the same
    // decoding, so each alignment is decoded once (again only for the rare stretch).
    // The alignment that reads best: the first that is all text, else the one with the fewest
    // characters that are not (a misaligned decoding of repetitive text can pass as mostly
    // printable: `Y2Rj ZGNk` three characters off reads `6F6F…`).
    let (mut best, mut stretch): (Option<(usize, usize, usize)>, Option<usize>) = (None, None);
    for skip in 0..4 {
        if !decode(skip, decoded) {
            continue;
        }
        match printable_share(decoded, strict) {
            Some((0, _)) => return Some(kind::BASE64),
            Some((bad, all)) if best.is_none_or(|(_, b, a)| bad * a < b * all) => best = Some((skip, bad, all)),
            _ => {}
        }
        if stretch.is_none() && !strict && printable_stretch(decoded) >= MIN_STRETCH {
            stretch = Some(skip);
        }
    }
    if let Some((skip, _, _)) = best {
        return decode(skip, decoded).then_some(kind::BASE64);
    }
    let skip = stretch?;
    if !decode(skip, decoded) {
        return None;
    }
    keep_stretches(decoded);
    Some(kind::BASE64)
}

/// `run` spells hex bytes with a mark around each: `0x31` after `0x31` (at least two), or pairs
/// or quads joined by dashes (`31-32-33`, `3132-332d`; a UUID's 8-4-4-4-12 is not one width).
/// The hex digits are written to `digits`.
fn hex_spelled(run: &[u8], digits: &mut Vec<u8>) -> bool {
    let prefixed = run.len() >= 8
        && run.len().is_multiple_of(4)
        && run.chunks_exact(4).all(|c| {
            c[0] == b'0' && matches!(c[1], b'x' | b'X') && c[2].is_ascii_hexdigit() && c[3].is_ascii_hexdigit()
        });
    if prefixed {
        digits.extend(run.chunks_exact(4).flat_map(|c| [c[2], c[3]]));
        return true;
    }
    for width in [2, 4] {
        let dashed = run.len() > width
            && (run.len() + 1).is_multiple_of(width + 1)
            && run.iter().enumerate().all(|(i, &b)| {
                if (i + 1).is_multiple_of(width + 1) {
                    b == b'-'
                } else {
                    b.is_ascii_hexdigit()
                }
            });
        if dashed {
            digits.extend(run.iter().filter(|&&b| b != b'-'));
            return true;
        }
    }
    false
}

/// What a reader gets from decoded bytes with one more step: a zlib or gzip stream inflated
/// ([`inflate`], at most `limit` bytes: the encoded run's length), else, when the bytes are no
/// text and `raw` (the run read from its first character: a stream starts there), a raw
/// DEFLATE stream ([`inflate_raw`]); then wide text made narrow ([`narrow`]).
/// Always `true` (a step of the decodings above).
fn expand(bytes: &mut Vec<u8>, limit: usize, raw: bool) -> bool {
    if let Some(text) = inflate(bytes, limit).or_else(|| raw.then(|| inflate_raw(bytes, limit)).flatten()) {
        *bytes = text;
    }
    wide(bytes);
    narrow(bytes);
    true
}

/// UTF-16 of text that is mostly not Latin (a Cyrillic or CJK name beside an SSN: too few NULs
/// for [`narrow`]), made UTF-8: taken when the bytes are no UTF-8 text, every unit (after a
/// byte-order mark, else little-endian first, then big-endian) is a character of the common
/// scripts — ASCII, Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, CJK punctuation, kana,
/// CJK ideographs, Hangul, fullwidth forms, no surrogates, no controls but tab and line
/// breaks — and at least a fifth of them are ASCII or fullwidth ASCII (the digits of an SSN;
/// random bytes pass all of this about once in 10^5 for the shortest, 8 units). Fullwidth ASCII
/// becomes ASCII (`１` → `1`), any other character longer in UTF-8 than its unit (CJK, kana,
/// Hangul) `?`: never longer than before.
fn wide(bytes: &mut Vec<u8>) {
    if bytes.len() < 16 || mostly_printable(bytes).is_some() {
        return;
    }
    let (body, orders): (&[u8], &[bool]) = match bytes.as_slice() {
        [0xFF, 0xFE, rest @ ..] => (rest, &[false]),
        [0xFE, 0xFF, rest @ ..] => (rest, &[true]),
        all => (all, &[false, true]),
    };
    for &big in orders {
        let units = body.chunks_exact(2).map(|p| {
            if big {
                u16::from_be_bytes([p[0], p[1]])
            } else {
                u16::from_le_bytes([p[0], p[1]])
            }
        });
        if let Some(text) = wide_text(units) {
            *bytes = text.into_bytes();
            return;
        }
    }
}

/// The text of UTF-16 `units` when it reads as text (see [`wide`]): one pass to judge, one to
/// write (nothing is written for bytes that are no such text).
fn wide_text(units: impl Iterator<Item = u16> + Clone) -> Option<String> {
    let (mut latin, mut n) = (0usize, 0usize);
    for u in units.clone() {
        n += 1;
        match u {
            0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0xFF01..=0xFF5E => latin += 1,
            0xA0..=0x6FF | 0x3000..=0x30FF | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3 | 0xFF5F..=0xFFEF => {}
            _ => return None,
        }
    }
    if n < 8 || latin * 5 < n {
        return None;
    }
    let mut out = String::with_capacity(2 * n);
    for u in units {
        match char::from_u32(u32::from(u)) {
            // Fullwidth ASCII folds to ASCII.
            _ if (0xFF01..=0xFF5E).contains(&u) => out.push(char::from((u - 0xFEE0) as u8)),
            Some(c) if c.len_utf8() <= 2 => out.push(c),
            _ => out.push('?'),
        }
    }
    Some(out)
}

/// Raw DEFLATE (RFC 1951, no zlib or gzip header: `zlib.compressobj(wbits=-15)`, ZIP entries),
/// tried only on bytes that are no text and not wide text, whose first block header is valid
/// (not the reserved type; a stored block's length and its complement agree), and taken only
/// when the stream ends within `limit` bytes out (the encoded run's length: a view never grows
/// past its text) and gives at least [`MIN_RAW`] bytes, all printable, of at least five
/// different characters — random bytes (a digest, a signature, a word read as base64) almost
/// never do (a back-reference repeating one character is the usual near miss). Linear: one
/// pass over the input, at most `limit` bytes out.
fn inflate_raw(bytes: &[u8], limit: usize) -> Option<Vec<u8>> {
    use miniz_oxide::inflate::TINFLStatus;
    let nuls = bytes.iter().filter(|&&b| b == 0).count();
    let header_ok = match bytes.first().map(|b| (b >> 1) & 3) {
        Some(0) => bytes.get(1..5).is_some_and(|h| h[0] == !h[2] && h[1] == !h[3]),
        Some(1) => fixed_starts_with_text(bytes),
        Some(2) => dynamic_header_complete(bytes),
        _ => false,
    };
    if !header_ok || bytes.len() < 4 || nuls * 3 >= bytes.len() || mostly_printable(bytes).is_some() {
        return None;
    }
    let (status, out) = inflate_deflate(bytes, limit);
    if status != TINFLStatus::Done {
        return None;
    }
    let mut seen = [false; 256];
    out.iter().for_each(|&b| seen[usize::from(b)] = true);
    let text = out.len() >= MIN_RAW
        && seen.iter().filter(|&&s| s).count() >= 5
        && mostly_printable(&out).is_some_and(|(bad, _)| bad == 0);
    text.then_some(out)
}

/// Inflates the raw DEFLATE stream `bytes` into at most `limit` bytes (the buffer doubling from
/// 4 KiB as output comes) with this thread's decompressor, reset first: a fresh one zeroes ~11 KB of tables, which per short run of a
/// document full of them cost more than the inflating. The status, and what came out (also
/// when the stream was cut short or the limit reached).
fn inflate_deflate(bytes: &[u8], limit: usize) -> (miniz_oxide::inflate::TINFLStatus, Vec<u8>) {
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
    thread_local! {
        static STATE: std::cell::RefCell<Box<DecompressorOxide>> = std::cell::RefCell::new(Box::default());
    }
    use miniz_oxide::inflate::TINFLStatus;
    // The output grows as the stream gives (a stream that fails early costs no zeroed buffer of
    // the run's length).
    let mut out = vec![0u8; limit.min(4096)];
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.init();
        let (mut read, mut written) = (0, 0);
        loop {
            let (status, r, w) = decompress(
                &mut state,
                &bytes[read..],
                &mut out,
                written,
                inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
            );
            (read, written) = (read + r, written + w);
            if status == TINFLStatus::HasMoreOutput && out.len() < limit {
                out.resize((out.len() * 2).min(limit), 0);
                continue;
            }
            out.truncate(written);
            return (status, out);
        }
    })
}

/// Bit `at` of a DEFLATE stream (least significant bit of each byte first).
fn deflate_bit(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at / 8).map(|b| u32::from(b >> (at % 8)) & 1)
}

/// A fixed-Huffman block's first symbol is a literal of printable ASCII (or a tab or line
/// break): a stream of text starts so (nothing precedes it to repeat). Checked before the
/// decompressor builds its tables (which, per short run of a document full of them, cost more
/// than anything else the guard does): most random bytes fail here.
fn fixed_starts_with_text(bytes: &[u8]) -> bool {
    let mut code = 0u32;
    for at in 3..10 {
        let Some(bit) = deflate_bit(bytes, at) else {
            return false;
        };
        code = code << 1 | bit;
    }
    if code <= 0b001_0111 {
        return false; // end of block or a length: no literal
    }
    let Some(bit) = deflate_bit(bytes, 10) else {
        return false;
    };
    code = code << 1 | bit;
    match code {
        0x30..=0xBF => matches!(code - 0x30, 9 | 10 | 13 | 32..=126),
        _ => false, // a length (280–287) or a literal above 143: not ASCII text
    }
}

/// A dynamic-Huffman block's code-length code is a complete prefix code (RFC 1951 3.2.7; the
/// lengths of the code-length alphabet, read in its fixed order, sum to exactly one in
/// Kraft's inequality) — checked before the decompressor builds its tables; random bytes
/// rarely pass.
fn dynamic_header_complete(bytes: &[u8]) -> bool {
    let bits = |at: usize, n: usize| -> Option<u32> {
        (0..n).try_fold(0u32, |v, i| deflate_bit(bytes, at + i).map(|b| v | b << i))
    };
    let Some(hclen) = bits(13, 4) else { return false };
    let mut kraft = 0u32; // in units of 2^-7
    for i in 0..(hclen as usize + 4) {
        match bits(17 + 3 * i, 3) {
            Some(0) => {}
            Some(len) => kraft += 1 << (7 - len),
            None => return false,
        }
    }
    kraft == 1 << 7
}

/// The least a raw DEFLATE stream must give to be read ([`inflate_raw`]).
const MIN_RAW: usize = 9;

/// A zlib (`eJ…` in base64) or gzip (`H4sI…`) stream, inflated: the gzip header's file name
/// and comment (text too), a line break, then what the stream holds, at most `limit` bytes
/// (the encoded run's length: the view never grows past its text; a longer payload is cut
/// there, and a long compressed run is `high-entropy` anyway). A stream cut short or broken
/// gives what it held up to the cut when that is all printable. `None` when `bytes` is no such stream or nothing came out of it.
fn inflate(bytes: &[u8], limit: usize) -> Option<Vec<u8>> {
    use miniz_oxide::inflate::TINFLStatus;
    if !compressed_header(bytes) {
        return None;
    }
    let (mut head, body) = match bytes {
        [0x1f, 0x8b, 8, flags, ..] => gzip_body(bytes, *flags)?,
        [_, _, body @ ..] => (Vec::new(), body),
        _ => return None,
    };
    let out = match inflate_deflate(body, limit) {
        (TINFLStatus::BadParam, _) => return None,
        (TINFLStatus::Done | TINFLStatus::HasMoreOutput, out) => out,
        // Cut short or broken: text up to the cut only when every character of it is printable.
        // Random bytes pass the zlib header check once in 2,000 and then inflate as a fixed-code
        // block of mostly ASCII literals until an invalid code; an encoded value glued to the next
        // line's field name (`…a2` + `commit`) was read as such a stream.
        (_, out) => match out.len() >= MIN_RAW && mostly_printable(&out).is_some_and(|(bad, _)| bad == 0) {
            true => out,
            false => return None,
        },
    };
    if out.is_empty() {
        return None;
    }
    if !head.is_empty() {
        head.push(b'\n');
    }
    head.extend_from_slice(&out);
    head.truncate(limit);
    Some(head)
}

/// `bytes` start as a gzip member (RFC 1952: `1f 8b 08`) or a zlib stream (RFC 1950: deflate,
/// a window of at most 32 KiB, no preset dictionary, the header check).
fn compressed_header(bytes: &[u8]) -> bool {
    match bytes {
        [0x1f, 0x8b, 8, ..] => true,
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && flg & 0x20 == 0 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// A gzip member's header read (RFC 1952): its file name and comment, and the deflate stream
/// after it.
fn gzip_body(bytes: &[u8], flags: u8) -> Option<(Vec<u8>, &[u8])> {
    let mut at = 10;
    if flags & 4 != 0 {
        let len = usize::from(u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        at += 2 + len;
    }
    let mut text = Vec::new();
    for bit in [8, 16] {
        if flags & bit != 0 {
            let rest = bytes.get(at..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            if !text.is_empty() {
                text.push(b' ');
            }
            text.extend_from_slice(&rest[..end]);
            at += end + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    Some((text, bytes.get(at..)?))
}

/// Wide text made narrow: when at least a third of the bytes are NUL — UTF-16 (PowerShell's
/// `-EncodedCommand`, Windows tools) or UTF-32 text of ASCII characters, where every other or
/// every fourth byte is zero — the NULs and a byte-order mark are dropped, so the text reads as
/// its characters (never longer than before). Random bytes are almost never a third NUL.
fn narrow(bytes: &mut Vec<u8>) {
    let nuls = bytes.iter().filter(|&&b| b == 0).count();
    if bytes.len() >= 4 && nuls * 3 >= bytes.len() {
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            bytes.drain(..2);
        }
        bytes.retain(|&b| b != 0);
    }
}

/// The printable stretch that makes a base64 run worth reading although most of it is not text
/// (a bare SSN is 11 characters).
const MIN_STRETCH: usize = 11;

/// Keeps only the printable stretches of at least [`MIN_STRETCH`] bytes, one per line: the
/// detectors read the text, not the random bytes around it (never longer than before).
fn keep_stretches(bytes: &mut Vec<u8>) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut start = 0;
    for i in 0..=bytes.len() {
        let printable = bytes.get(i).is_some_and(|&b| (b' '..=b'~').contains(&b) || b == b'\t');
        if printable {
            continue;
        }
        if i - start >= MIN_STRETCH {
            if !out.is_empty() {
                out.push(b'\n');
            }
            out.extend_from_slice(&bytes[start..i]);
        }
        start = i + 1;
    }
    *bytes = out;
}

/// The longest run of printable ASCII (space to `~`, tab) in `bytes`, stopping early at
/// [`MIN_STRETCH`].
fn printable_stretch(bytes: &[u8]) -> usize {
    let (mut best, mut cur) = (0usize, 0usize);
    for &b in bytes {
        if (b' '..=b'~').contains(&b) || b == b'\t' {
            cur += 1;
            if cur >= MIN_STRETCH {
                return cur;
            }
        } else {
            best = best.max(cur);
            cur = 0;
        }
    }
    best.max(cur)
}

/// Longest run read as a path, segment by segment (a longer one is a blob, read whole).
const MAX_PATH: usize = 1024;

/// Only base32 characters, in one case (`A–Z2–7` or `a–z2–7`), and at least one letter.
fn base32_alphabet(run: &[u8]) -> bool {
    let upper = run
        .iter()
        .all(|&b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    let lower = run
        .iter()
        .all(|&b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    (upper || lower) && run.iter().any(u8::is_ascii_alphabetic)
}

/// Only base32hex characters (`0-9A-V` or `0-9a-v`), at least one digit, and at least a fifth
/// of them letters past `F`. A run of hex digits is hex; hex digits with a few such letters are
/// a digest glued to a word (`…a2` + `commit` on the next line), and read as base32hex their
/// 5-bit groups all below 16 give bytes that are mostly ASCII — text, to a reader that only
/// counts printable characters. The encoding of text puts about half its characters past `F`.
fn base32hex_alphabet(run: &[u8]) -> bool {
    let upper = run.iter().all(|&b| b.is_ascii_digit() || (b'A'..=b'V').contains(&b));
    let lower = || run.iter().all(|&b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b));
    // Counted only for a run of the alphabet (most runs are not: given up at their first
    // other character).
    let past_f = || {
        let n = run
            .iter()
            .filter(|b| (b'G'..=b'V').contains(&b.to_ascii_uppercase()))
            .count();
        n > 0 && n * 5 >= run.len()
    };
    (upper || lower()) && run.iter().any(u8::is_ascii_digit) && past_f()
}

/// RFC 4648 base32 without padding (trailing bits dropped), either case.
fn base32_decode(run: &[u8], out: &mut Vec<u8>) -> bool {
    base32_with(run, out, |c| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    })
}

/// RFC 4648 base32hex without padding (trailing bits dropped), either case.
fn base32hex_decode(run: &[u8], out: &mut Vec<u8>) -> bool {
    base32_with(run, out, |c| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'V' => Some(c - b'A' + 10),
        b'a'..=b'v' => Some(c - b'a' + 10),
        _ => None,
    })
}

fn base32_with(run: &[u8], out: &mut Vec<u8>, value: impl Fn(u8) -> Option<u8>) -> bool {
    out.clear();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in run {
        let Some(v) = value(c) else { return false };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    true
}

fn hex_decode(run: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    for pair in run.chunks_exact(2) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return false,
        }
    }
    true
}

/// Decoded bytes that read as text: at least 9 bytes, and mostly printable — or, for a short
/// run (`strict`), all printable.
fn printable(bytes: &[u8], strict: bool) -> bool {
    printable_share(bytes, strict).is_some()
}

/// How many of the characters are not printable, and how many there are, when the bytes read
/// as text (see [`printable`]); `None` when they do not.
fn printable_share(bytes: &[u8], strict: bool) -> Option<(usize, usize)> {
    if bytes.len() < 9 {
        return None;
    }
    if strict {
        let text = std::str::from_utf8(bytes).ok()?;
        return text
            .chars()
            .all(|c| !c.is_control() || c == '\t')
            .then_some((0, text.len()));
    }
    mostly_printable(bytes)
}

/// At least 80% of the characters are printable (not controls other than tab and line breaks,
/// not the replacement character of invalid UTF-8): how many are not, of how many.
/// Counted without allocating; random bytes (a signature) are given up on early.
///
/// Read byte by byte as `<[u8]>::utf8_chunks` reads them (each invalid sequence — the longest
/// start of a valid one, or one byte — counts once), without its per-chunk cost: random bytes
/// are an invalid sequence every few bytes.
fn mostly_printable(bytes: &[u8]) -> Option<(usize, usize)> {
    let (mut all, mut bad) = (0usize, 0usize);
    let limit = bytes.len() / 5 + 1;
    let within = |at: usize, lo: u8, hi: u8| bytes.get(at).is_some_and(|b| (lo..=hi).contains(b));
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        all += 1;
        if b < 0x80 {
            bad += usize::from((b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F);
            i += 1;
        } else {
            // The sequence's length, and whether it is a valid character (else it is one
            // invalid sequence of that length).
            let (len, valid) = match b {
                0xC2..=0xDF => match within(i + 1, 0x80, 0xBF) {
                    true => (2, true),
                    false => (1, false),
                },
                0xE0..=0xEF => {
                    let (lo, hi) = match b {
                        0xE0 => (0xA0, 0xBF),
                        0xED => (0x80, 0x9F),
                        _ => (0x80, 0xBF),
                    };
                    match (within(i + 1, lo, hi), within(i + 2, 0x80, 0xBF)) {
                        (false, _) => (1, false),
                        (true, false) => (2, false),
                        (true, true) => (3, true),
                    }
                }
                0xF0..=0xF4 => {
                    let (lo, hi) = match b {
                        0xF0 => (0x90, 0xBF),
                        0xF4 => (0x80, 0x8F),
                        _ => (0x80, 0xBF),
                    };
                    match (
                        within(i + 1, lo, hi),
                        within(i + 2, 0x80, 0xBF),
                        within(i + 3, 0x80, 0xBF),
                    ) {
                        (false, _, _) => (1, false),
                        (true, false, _) => (2, false),
                        (true, true, false) => (3, false),
                        (true, true, true) => (4, true),
                    }
                }
                _ => (1, false),
            };
            // Of the valid characters, the C1 controls (U+0080–U+009F) and U+FFFD are not
            // printable.
            let not_printable = !valid
                || (b == 0xC2 && bytes[i + 1] < 0xA0)
                || (b == 0xEF && bytes[i + 1] == 0xBF && bytes[i + 2] == 0xBD);
            bad += usize::from(not_printable);
            i += len;
        }
        if bad > limit {
            return None;
        }
    }
    (bad * 5 <= all).then_some((bad, all))
}

/// Lines of base64 characters wrapped narrower than the `high-entropy` floor of 40 (a private
/// key's body without its `BEGIN`/`END` lines wrapped at 32 columns or fewer: no line is long
/// enough to be judged alone), joined: one line of the view per block. A block is two lines or
/// more, each nothing but base64 characters (indentation, a trailing `\r` and one quoted string
/// a line, `"MIIE…",`, aside) and at least
/// 4 of them, the first unpadded and narrower than [`WRAP_FLOOR`], the others as wide but the
/// last (which may be narrower and padded); at least [`WRAP_FLOOR`] characters in all. The guard
/// reads this view with `high-entropy` only (what the line-by-line reading misses). One pass;
/// the view is never longer than its input.
pub fn wrapped_lines(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let bytes = src.as_bytes();
    let mut b = Builder::new(src);
    let mut joined = String::new();
    // The open block: where it starts, its width, where its last line ends, whether it is closed
    // (a shorter or padded last line was taken), how many lines.
    let mut block: Option<(usize, usize, usize, bool, usize)> = None;
    let emit = |b: &mut Builder<'_>, block: Option<(usize, usize, usize, bool, usize)>, joined: &mut String| {
        if let Some((start, _, end, _, lines)) = block
            && lines >= 2
            && joined.len() >= WRAP_FLOOR
        {
            joined.push('\n');
            b.pending = start;
            b.token(start, end, kind::WRAPPED, joined);
        }
        joined.clear();
    };
    let mut i = 0;
    while i < bytes.len() {
        let line_end = bytes[i..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(bytes.len(), |p| i + p);
        let mut cs = i;
        while cs < line_end && matches!(bytes[cs], b' ' | b'\t') {
            cs += 1;
        }
        let mut ce = line_end;
        while ce > cs && matches!(bytes[ce - 1], b'\r' | b' ' | b'\t') {
            ce -= 1;
        }
        // One string a line (`"MIIEvQIB…",`, `'…' +`): the quotes and the `,` or `+` after.
        if ce > cs + 2 && matches!(bytes[cs], b'"' | b'\'') {
            let mut q = ce;
            if matches!(bytes[q - 1], b',' | b'+') {
                q -= 1;
                while q > cs + 1 && bytes[q - 1] == b' ' {
                    q -= 1;
                }
            }
            if q > cs + 1 && bytes[q - 1] == bytes[cs] {
                cs += 1;
                ce = q - 1;
            }
        }
        let mut chars = ce;
        while chars > cs && ce - chars < 2 && bytes[chars - 1] == b'=' {
            chars -= 1;
        }
        let line = &bytes[cs..chars];
        let padded = chars < ce;
        let is_line = line.len() >= 4 && line.iter().all(|&c| is_b64(c));
        match block {
            Some((start, width, _, false, lines)) if is_line && line.len() <= width => {
                joined.push_str(&src[cs..chars]);
                let closed = padded || line.len() < width;
                block = Some((start, width, ce, closed, lines + 1));
            }
            _ => {
                emit(&mut b, block.take(), &mut joined);
                if is_line && !padded && line.len() < WRAP_FLOOR {
                    joined.push_str(&src[cs..chars]);
                    block = Some((cs, line.len(), ce, false, 1));
                }
            }
        }
        i = line_end + 1;
    }
    emit(&mut b, block.take(), &mut joined);
    b.pending = bytes.len();
    b.finish()
}

/// The `high-entropy` floor: runs shorter than this are not judged; narrower wrapped lines are
/// joined ([`wrapped_lines`]).
pub const WRAP_FLOOR: usize = 40;

/// The longest Ascii85 block between `<~` and `~>` read.
const MAX_ASCII85: usize = 1 << 20;

/// A character of bare Ascii85 (`!` to `u`).
fn is_a85(c: u8) -> bool {
    (b'!'..=b'u').contains(&c)
}

/// A run of a base-85 alphabet (`run`, at least [`MIN_ASCII85`] long) read as text into `out`:
/// at the alignment that reads as text, or else — in a run an encoder wrote
/// ([`strongly_marked`]) — the printable stretches of the first alignment that holds one (the
/// run's start is often not the value's: `<tag>` or `"text":"` glued before it). A run longer
/// than [`LONG_ASCII85`] is read at its own alignment only. Text is mostly ASCII here: a
/// repeated group that spells one non-ASCII character is no text. Returns the characters
/// skipped, or `None` when the run holds no text.
fn base85_text(run: &[u8], decode: impl Fn(&[u8], &mut Vec<u8>), out: &mut Vec<u8>) -> Option<usize> {
    let alignments = if run.len() > LONG_ASCII85 { 1 } else { 5 };
    // Outside an encoder's output (a file name of hex digits, an id) a reading must be ASCII
    // text: five alignments of random characters read as 80% printable text about once in 20
    // tries.
    let marked = strongly_marked(run);
    let mut stretch = None;
    let mut last = None;
    for skip in 0..alignments.min(run.len()) {
        decode(&run[skip..], out);
        last = Some(skip);
        let reads = match marked {
            true => {
                let ascii = out
                    .iter()
                    .map(|&c| usize::from(text_byte(c) || c == b'\n'))
                    .sum::<usize>();
                let reads = ascii * 2 >= out.len() && printable(out, out.len() < 12);
                if !reads && stretch.is_none() && has_stretch(out) {
                    stretch = Some(skip);
                }
                reads
            }
            // Unmarked: ASCII text only (two-byte UTF-8 letters in random bytes, `ȗ`, `ɓ`, are
            // folded to Latin ones by the Unicode view and completed a `user:pw@host`).
            false => out.len() >= 9 && out.iter().all(|&c| text_byte(c) || c == b'\n'),
        };
        if reads {
            return Some(skip);
        }
    }
    let skip = stretch.filter(|_| marked)?;
    // The alignment read last is still in `out` (a long run's only one: not decoded twice).
    if last != Some(skip) {
        decode(&run[skip..], out);
    }
    keep_stretches(out);
    Some(skip)
}

/// A printable ASCII byte (space to `~`) or a tab.
fn text_byte(c: u8) -> bool {
    c.wrapping_sub(b' ') < 95 || c == b'\t'
}

/// Whether `bytes` holds a printable stretch (see [`text_byte`]) of at least [`MIN_STRETCH`]
/// bytes. Such a stretch covers one of every `MIN_STRETCH` positions: only those are looked at,
/// and around a printable one at most `MIN_STRETCH - 1` bytes on each side (random bytes, about
/// a third printable, cost a fifth of their length).
fn has_stretch(bytes: &[u8]) -> bool {
    let mut at = MIN_STRETCH - 1;
    while at < bytes.len() {
        if text_byte(bytes[at]) {
            let before = bytes[..at]
                .iter()
                .rev()
                .take(MIN_STRETCH - 1)
                .take_while(|&&c| text_byte(c))
                .count();
            let after = bytes[at + 1..]
                .iter()
                .take(MIN_STRETCH - 1)
                .take_while(|&&c| text_byte(c))
                .count();
            if before + 1 + after >= MIN_STRETCH {
                return true;
            }
        }
        at += MIN_STRETCH;
    }
    false
}

/// Whether a run of base-85 characters holds one that JSON, paths, hex, base64 and identifiers
/// never write (`!#$%&()*;<>?^` and the backtick): the mark of an encoder's output. Not `@`:
/// image references (`app@sha256:…`) and identities (`staff:jane@example.org`) write it in
/// nearly every event Ward records.
///
/// Binary read for a printable stretch (`keep_stretches`) is judged only in such a run. A JSON
/// document of hex digests and base64 values is a run of Ascii85 characters too (`"`, `:`, `,`
/// are in its alphabet); read as Ascii85 it is noise, and about one in 80,000 such documents
/// held a stretch spelling `user:pass@host` — a refusal of a legitimate change
/// (`random_digests_in_json_are_not_read_as_ascii85_credentials`). An encoder's output of 15
/// characters holds one of these with a probability above 93%, of 30 above 99.5%.
fn strongly_marked(run: &[u8]) -> bool {
    run.iter().any(|c| {
        matches!(
            c,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'(' | b')' | b'*' | b';' | b'<' | b'>' | b'?' | b'^' | b'`'
        )
    })
}

/// Ascii85 at the start of `chars` (whitespace skipped; `z` for four zero bytes when `z_ok`)
/// into `out`, at most `limit` bytes: how many characters were read before the first that is
/// not Ascii85 (or the end). A group past 2^32 gives four NULs (no text).
fn ascii85_decode(chars: &[u8], z_ok: bool, limit: usize, out: &mut Vec<u8>) -> usize {
    out.clear();
    let (mut group, mut n) = (0u64, 0usize);
    let mut read = 0;
    for &c in chars {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' if z_ok => {}
            b'z' if z_ok && n == 0 => out.extend_from_slice(&[0; 4]),
            c if is_a85(c) => {
                group = group * 85 + u64::from(c - b'!');
                n += 1;
                if n == 5 {
                    // A group past 2^32 is no Ascii85: four bytes that are no text.
                    out.extend_from_slice(&u32::try_from(group).map_or([0; 4], u32::to_be_bytes));
                    (group, n) = (0, 0);
                }
            }
            _ => break,
        }
        read += 1;
        if out.len() >= limit {
            break;
        }
    }
    if n >= 2 {
        let k = n;
        while n < 5 {
            group = group * 85 + 84;
            n += 1;
        }
        out.extend_from_slice(&u32::try_from(group).map_or([0; 4], u32::to_be_bytes)[..k - 1]);
    }
    out.truncate(limit);
    read
}

/// A uuencoded file at `at` (a `begin MODE NAME` line at a line's start): its lines decoded
/// into `out` up to the first that is not a data line (the `` ` `` or `end` line, or anything
/// else). The end of the last line read, when a data line was.
fn uudecode(bytes: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    out.clear();
    let line_end = |from: usize| {
        bytes[from..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(bytes.len(), |p| from + p)
    };
    let header = &bytes[at..line_end(at)];
    let mode = header.get(6..)?;
    let digits = mode.iter().take_while(|b| (b'0'..=b'7').contains(b)).count();
    if !(3..=4).contains(&digits) || mode.get(digits) != Some(&b' ') {
        return None;
    }
    let mut i = line_end(at) + 1;
    let mut end = None;
    while i < bytes.len() {
        let e = line_end(i);
        let mut line = &bytes[i..e];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let Some(&first) = line.first() else { break };
        let n = usize::from(first.wrapping_sub(b' ') & 63);
        let need = n.div_ceil(3) * 4;
        let data = line
            .get(1..1 + need)
            .filter(|d| d.iter().all(|c| (b' '..=b'`').contains(c)));
        let (true, Some(data)) = (n > 0, data) else { break };
        let v = |c: u8| u32::from(c.wrapping_sub(b' ') & 63);
        let start = out.len();
        for q in data.chunks_exact(4) {
            let w = v(q[0]) << 18 | v(q[1]) << 12 | v(q[2]) << 6 | v(q[3]);
            out.extend_from_slice(&w.to_be_bytes()[1..]);
        }
        out.truncate(start + n);
        end = Some(e);
        i = e + 1;
    }
    end
}

/// The text that Ascii85 (`<~…~>`, Adobe's, whitespace and `z` allowed; or a bare run of at
/// least [`MIN_ASCII85`] characters from `!` to `u` holding one that is neither a letter nor a
/// digit, at one of five alignments) and uuencode (`begin 644 f` … `end`) decode to, one line
/// per block after the label before it, when it reads as text (as [`encoded_runs`] judges
/// text). `None` when there is none. One pass: each character is decoded at most five times
/// (the bare alignments), the `~>` closing a block searched for once; the view is never longer
/// than its input (four bytes per five characters, three per four).
pub fn ascii85_uuencode(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let bytes = src.as_bytes();
    let mut b = Builder::new(src);
    let mut out = Vec::new();
    let mut close = Close::new("~>");
    let mut i = 0;
    while i < bytes.len() {
        // `begin` at a line's start, or after a quote or tag in a document holding the file.
        let after_word_break = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if bytes[i] == b'<'
            && bytes.get(i + 1) == Some(&b'~')
            && let Some(end) = close.within(src, i + 2, MAX_ASCII85)
        {
            let body = &bytes[i + 2..end - 2];
            if ascii85_decode(body, true, body.len(), &mut out) == body.len() {
                if printable(&out, out.len() < 12) {
                    push_line(&mut b, i, end, kind::ASCII85, &out);
                }
                i = end;
                continue;
            }
        }
        if after_word_break
            && bytes[i..].starts_with(b"begin ")
            && let Some(end) = uudecode(bytes, i, &mut out)
        {
            if printable(&out, out.len() < 12) {
                push_line(&mut b, i, end, kind::UUENCODE, &out);
            }
            i = end;
            continue;
        }
        if is_a85(bytes[i]) {
            let mut len = bytes[i..].iter().take_while(|&&c| is_a85(c)).count();
            // A run that ends in the `begin` of a uuencoded file glued behind a tag or quote
            // (`<pre>begin 644 f`) stops before it: the next turn reads the file.
            if len > 5
                && bytes[i..i + len].ends_with(b"begin")
                && bytes.get(i + len) == Some(&b' ')
                && !bytes[i + len - 6].is_ascii_alphanumeric()
            {
                len -= 5;
            }
            let run = &bytes[i..i + len];
            let marked = run
                .iter()
                .any(|&c| !c.is_ascii_alphanumeric() && !matches!(c, b'+' | b'/' | b'=' | b'_' | b'-'));
            if len >= MIN_ASCII85 && marked {
                // Every character of a bare run is Ascii85 (no `z`, no whitespace): decoded as
                // `ascii85_decode` decodes it, through a table.
                let decode = |part: &[u8], out: &mut Vec<u8>| base85_decode(part, ascii85_table(), out);
                if let Some(skip) = base85_text(run, decode, &mut out) {
                    push_line(&mut b, i + skip, i + len, kind::ASCII85, &out);
                }
            }
            i += len;
            continue;
        }
        i += 1;
    }
    b.pending = bytes.len();
    b.finish()
}

/// The shortest bare Ascii85 run read: 14 characters, 11 bytes (an SSN with its dashes).
pub const MIN_ASCII85: usize = 14;

/// A bare Ascii85 run longer than this is read at its own alignment only (a value glued behind
/// more than this many other Ascii85 characters at another alignment is not read).
pub const LONG_ASCII85: usize = 1024;

/// How far a SARIF message's `arguments` may stand from its `text` (the same message object).
const ARGUMENTS_REACH: usize = 2048;

/// The end (after its closing quote) of the JSON string whose opening quote is at `at`, when
/// it closes within `max` bytes.
fn json_string_end(bytes: &[u8], at: usize, max: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut j = at + 1;
    let limit = (at + 1 + max).min(bytes.len());
    while j < limit {
        match bytes[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            b'\n' => return None,
            _ => j += 1,
        }
    }
    None
}

/// Past spaces and line breaks at `at`.
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|c| c.is_ascii_whitespace()) {
        at += 1;
    }
    at
}

/// `text` with its `{n}` placeholders replaced by `args`, appended to `line`, at most `cap`
/// bytes of it (cut at a character boundary): the work is bounded by `cap`, however long the
/// text or the arguments.
fn fill_placeholders(text: &str, args: &[&str], cap: usize, line: &mut String) {
    let limit = line.len() + cap;
    // Appends `s`, or as much of it as fits; `false` when the line is full.
    let push = |line: &mut String, s: &str| {
        let room = limit - line.len();
        if s.len() <= room {
            line.push_str(s);
            return true;
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        line.push_str(&s[..cut]);
        false
    };
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if !push(line, &rest[..open]) {
            return;
        }
        let after_open = &rest[open + 1..];
        let digits = after_open.bytes().take_while(u8::is_ascii_digit).count();
        let fits = match (digits, after_open.as_bytes().get(digits)) {
            (1..=3, Some(b'}')) => {
                let n: usize = after_open[..digits].parse().unwrap_or(usize::MAX);
                let fits = push(line, args.get(n).copied().unwrap_or(&rest[open..open + digits + 2]));
                rest = &after_open[digits + 1..];
                fits
            }
            _ => {
                rest = after_open;
                push(line, "{")
            }
        };
        if !fits {
            return;
        }
    }
    push(line, rest);
}

/// SARIF messages with `arguments` (values a viewer puts into the `{0}`, `{1}`, … placeholders
/// of the message's `text`), read as the text a person sees: each placeholder replaced by its
/// argument, one line per `arguments`, mapped to the span from the text to the arguments. The
/// `text` is the one of the same message: the nearest before the `arguments` (or after it),
/// within [`ARGUMENTS_REACH`] bytes. Still JSON-escaped (the guard decodes the view again).
/// `None` when there is none.
///
/// Bounded by its input (2026-12-04, sixth round): the `arguments` that take the same text
/// are one token, from the first of them (or the text) to the last, and their lines together
/// are no longer than that span — a text of 16 KiB shared by two hundred short `arguments` once
/// cost 16 KiB each, about a hundred times the input in work and memory. An `arguments` past
/// that budget gets no line of its own (the first ones, in the document's order, are filled):
/// its values are still judged as they stand, by the raw text and the other views, like any
/// other field. One pass to find the texts, one per `arguments`, and the lines built cost no
/// more than their length.
pub fn message_arguments(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() || !src.contains("\"arguments\"") {
        return None;
    }
    let bytes = src.as_bytes();
    let value_of = |key_end: usize| {
        let j = skip_space(bytes, key_end);
        (bytes.get(j) == Some(&b':')).then(|| skip_space(bytes, j + 1))
    };
    // (key start, string start, string end)
    let texts: Vec<(usize, usize, usize)> = src
        .match_indices("\"text\"")
        .filter_map(|(p, k)| {
            let v = value_of(p + k.len())?;
            Some((p, v, json_string_end(bytes, v, 16 * 1024)?))
        })
        .collect();
    // (the text's index, key start, end, the arguments), in the document's order.
    let mut arrays: Vec<(usize, usize, usize, Vec<&str>)> = Vec::new();
    for (p, k) in src.match_indices("\"arguments\"") {
        let Some(mut j) = value_of(p + k.len()).filter(|&j| bytes.get(j) == Some(&b'[')) else {
            continue;
        };
        let mut args: Vec<&str> = Vec::new();
        j = skip_space(bytes, j + 1);
        let mut closed = false;
        while args.len() < 64 {
            match bytes.get(j) {
                Some(b']') => {
                    closed = true;
                    j += 1;
                    break;
                }
                Some(b'"') => {
                    let Some(e) = json_string_end(bytes, j, 4096) else {
                        break;
                    };
                    args.push(&src[j + 1..e - 1]);
                    j = skip_space(bytes, e);
                    if bytes.get(j) == Some(&b',') {
                        j = skip_space(bytes, j + 1);
                    }
                }
                _ => break,
            }
        }
        if !closed || args.is_empty() {
            continue;
        }
        let args_end = j;
        let i = texts.partition_point(|t| t.0 < p);
        let before = i
            .checked_sub(1)
            .filter(|&i| texts[i].2 <= p && p - texts[i].2 <= ARGUMENTS_REACH);
        let after = Some(i).filter(|&i| {
            texts
                .get(i)
                .is_some_and(|t| t.0 >= args_end && t.0 - args_end <= ARGUMENTS_REACH)
        });
        let Some(t) = before.or(after) else { continue };
        arrays.push((t, p, args_end, args));
    }
    // Grouped by text (stable: each group in the document's order).
    arrays.sort_by_key(|a| a.0);
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    for group in arrays.chunk_by(|a, b| a.0 == b.0) {
        let (t0, v0, v1) = texts[group[0].0];
        let start = t0.min(group[0].1);
        let end = group.iter().map(|a| a.2).max().unwrap_or(v1).max(v1);
        let text = &src[v0 + 1..v1 - 1];
        let budget = end - start;
        let mut line = String::new();
        for (_, _, _, args) in group {
            // Each line and its line break within the span's length.
            let Some(room) = budget.checked_sub(line.len() + 1).filter(|&r| r > 0) else {
                break;
            };
            fill_placeholders(text, args, room, &mut line);
            line.push('\n');
        }
        found.push((start, end, line));
    }
    found.sort_by_key(|f| f.0);
    let mut b = Builder::new(src);
    let mut reach = 0;
    for (start, end, line) in found {
        if start < reach {
            continue;
        }
        b.pending = start;
        b.token(start, end, kind::ARGUMENTS, &line);
        reach = end;
    }
    b.pending = bytes.len();
    b.finish()
}

/// The bytes of one line of a hex dump (`xxd`: `00000010: 3435 2d36 …  45-6789`, `hexdump -C`:
/// `00000010  34 35 2d 36 …  |45-6789|`) into `out`: the offset (4 to 16 hex digits, then `:`
/// or two spaces), then groups of hex digits (an even number, at most 8) separated by one or
/// two spaces, at most 16 bytes, up to a gap of three spaces or more, or what is no group (the
/// text column). `false` when the line is no dump line.
fn dump_line(line: &[u8], out: &mut Vec<u8>) -> bool {
    let offset = line.iter().take(17).take_while(|c| c.is_ascii_hexdigit()).count();
    if !(4..=16).contains(&offset) {
        return false;
    }
    let mut j = match &line[offset..] {
        [b':', b' ', ..] => offset + 2,
        [b' ', b' ', ..] => offset + 2,
        _ => return false,
    };
    let start = out.len();
    while out.len() - start < 16 {
        let digits = line[j..].iter().take(9).take_while(|c| c.is_ascii_hexdigit()).count();
        let ends = matches!(line.get(j + digits), None | Some(b' '));
        if digits == 0 || digits > 8 || !digits.is_multiple_of(2) || !ends {
            break;
        }
        let nibble = |c: u8| (c as char).to_digit(16).map_or(0, |d| d as u8);
        out.extend(
            line[j..j + digits]
                .chunks_exact(2)
                .map(|p| nibble(p[0]) << 4 | nibble(p[1])),
        );
        j += digits;
        let gap = line[j..].iter().take(3).take_while(|&&c| c == b' ').count();
        if gap == 0 || gap >= 3 {
            break;
        }
        j += gap;
    }
    out.truncate(start + 16);
    out.len() > start
}

/// Hex dumps (`xxd`, `hexdump -C`) of two lines or more, their bytes read across the lines —
/// the offset column splits a value's hex in two, and the text column shows only each line's
/// part — one line of the view per dump when the bytes read as text. `None` when there is none.
/// One pass over the lines; the view is no longer than its input (two hex digits per byte).
pub fn hex_dumps(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let bytes = src.as_bytes();
    let mut b = Builder::new(src);
    let mut out = Vec::new();
    // The open dump: where it starts, where its last line ends, how many lines.
    let mut dump: Option<(usize, usize, usize)> = None;
    let flush = |b: &mut Builder<'_>, dump: Option<(usize, usize, usize)>, out: &mut Vec<u8>| {
        if let Some((start, end, lines)) = dump
            && lines >= 2
            && printable(out, out.len() < 12)
        {
            push_line(b, start, end, kind::HEX, out);
        }
        out.clear();
    };
    let mut i = 0;
    while i < bytes.len() {
        let line_end = bytes[i..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(bytes.len(), |p| i + p);
        let mut from = i;
        while from < line_end && matches!(bytes[from], b' ' | b'\t') {
            from += 1;
        }
        let before = out.len();
        if dump_line(&bytes[from..line_end], &mut out) {
            dump = Some(match dump {
                Some((start, _, lines)) => (start, line_end, lines + 1),
                None => (from, line_end, 1),
            });
        } else {
            out.truncate(before);
            flush(&mut b, dump.take(), &mut out);
        }
        i = line_end + 1;
    }
    flush(&mut b, dump.take(), &mut out);
    b.pending = bytes.len();
    b.finish()
}

/// Fewest character codes read as text ([`char_codes`]): nine, an SSN's digits.
pub const MIN_CODES: usize = 9;

/// Most bytes of glue between two character codes (`)+CHAR(`, `) || CHR(`, `, `).
const CODE_GLUE: usize = 16;

/// The glue between two character codes: spaces, `,`, `+`, `|`, `&`, `;`, parentheses and at
/// most one of the words `CHAR`, `CHR` or `NCHAR` (any case).
fn code_glue(g: &[u8]) -> bool {
    if g.is_empty() || g.len() > CODE_GLUE {
        return false;
    }
    let (mut word, mut n) = ([0u8; 5], 0);
    for &c in g {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b'+' | b'|' | b'(' | b')' | b'&' | b';' => {}
            c if c.is_ascii_alphabetic() && n < 5 => {
                word[n] = c.to_ascii_lowercase();
                n += 1;
            }
            _ => return false,
        }
    }
    matches!(&word[..n], b"" | b"char" | b"chr" | b"nchar")
}

/// Character codes spelled as numbers, read as the text they spell: JavaScript's
/// `String.fromCharCode(49,50,51)`, SQL's `CHAR(49,50,51)`, `CHAR(49)+CHAR(50)` and
/// `CHR(49)||CHR(50)`, decimal byte lists (`[49, 50, 51]`) and binary octets
/// (`00110001 00110010`). A run is at least [`MIN_CODES`] numbers, each of one to three decimal
/// digits or eight binary ones standing alone (no letter, `_` or decimal point touching it) and
/// spelling printable ASCII (or a tab or line break), each two joined by [`code_glue`]; one line
/// per run after the label before it. A list of real numbers (scores, timings) reads as noise
/// that no detector takes; any number out of range ends a run. One pass; every code is at least
/// two bytes with its glue, so the view is never longer than its input.
pub fn char_codes(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let bytes = src.as_bytes();
    let mut b = Builder::new(src);
    let mut out = Vec::new();
    // The open run: where it starts, where its last code ends.
    let mut run: Option<(usize, usize)> = None;
    let flush = |b: &mut Builder<'_>, run: Option<(usize, usize)>, out: &mut Vec<u8>| {
        if let Some((start, end)) = run
            && out.len() >= MIN_CODES
        {
            push_line(b, start, end, kind::CHAR_CODES, out);
        }
        out.clear();
    };
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && (word(bytes[i - 1]) || bytes[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        let k = bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let end = i + k;
        let float = bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        let alone = !(bytes.get(end).is_some_and(|&c| word(c)) || float);
        let digits = &bytes[i..end];
        let value = match k {
            _ if !alone => None,
            8 if digits.iter().all(|&c| c == b'0' || c == b'1') => {
                Some(digits.iter().fold(0u32, |v, &c| v << 1 | u32::from(c - b'0')))
            }
            1..=3 => Some(digits.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'))),
            _ => None,
        }
        .and_then(|v| u8::try_from(v).ok())
        .filter(|&v| (b' '..=b'~').contains(&v) || matches!(v, b'\t' | b'\n' | b'\r'));
        match (value, run) {
            (Some(v), Some((start, last))) if code_glue(&bytes[last..i]) => {
                out.push(v);
                run = Some((start, end));
            }
            (Some(v), _) => {
                flush(&mut b, run.take(), &mut out);
                out.push(v);
                run = Some((i, end));
            }
            (None, _) => flush(&mut b, run.take(), &mut out),
        }
        i = end;
    }
    flush(&mut b, run.take(), &mut out);
    b.pending = bytes.len();
    b.finish()
}

/// The alphabet of RFC 1924 and Python's `base64.b85encode` (also git's binary patches).
const RFC1924: &[u8; 85] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

/// ZeroMQ's Z85 alphabet.
const Z85: &[u8; 85] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Ascii85's digits (`!` to `u`) as a table for [`base85_decode`].
fn ascii85_table() -> &'static [u8; 256] {
    static TABLE: std::sync::OnceLock<[u8; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut alphabet = [0u8; 85];
        for (v, c) in alphabet.iter_mut().zip(b'!'..=b'u') {
            *v = c;
        }
        base85_table(&alphabet)
    })
}

/// The value of each byte in an alphabet of 85 (255: none).
fn base85_table(alphabet: &[u8; 85]) -> [u8; 256] {
    let mut t = [255u8; 256];
    for (v, &c) in alphabet.iter().enumerate() {
        t[usize::from(c)] = v as u8;
    }
    t
}

/// Base85 of `chars` (every one in the alphabet of `table`) into `out`: groups of five
/// characters, big-endian, a last partial group padded as Python pads it; a group past 2^32
/// gives four NULs (no text).
fn base85_decode(chars: &[u8], table: &[u8; 256], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(chars.len() / 5 * 4 + 4);
    let value = |c: u8| u64::from(table[usize::from(c)]);
    let mut groups = chars.chunks_exact(5);
    for g in &mut groups {
        let v = (((value(g[0]) * 85 + value(g[1])) * 85 + value(g[2])) * 85 + value(g[3])) * 85 + value(g[4]);
        out.extend_from_slice(&u32::try_from(v).map_or([0; 4], u32::to_be_bytes));
    }
    let tail = groups.remainder();
    if tail.len() >= 2 {
        let mut v = 0u64;
        for i in 0..5 {
            v = v * 85 + tail.get(i).map_or(84, |&c| value(c));
        }
        let four = u32::try_from(v).map_or([0; 4], u32::to_be_bytes);
        out.extend_from_slice(&four[..tail.len() - 1]);
    }
}

/// The alignment (characters skipped, of the first five; only the run's own past
/// [`LONG_ASCII85`]) at which a run of a base-85 alphabet with no punctuation beyond base64's
/// decodes to ASCII text throughout (printable, tab or line feed; at least 9 bytes), as
/// `base85_text` requires of a run that is not strongly marked. Each alignment is given up at
/// its first other byte: random letters and digits (identifiers, digests, base64) cost a group
/// or two per alignment, not a decoding of the whole run.
fn base85_ascii_alignment(run: &[u8], table: &[u8; 256]) -> Option<usize> {
    let alignments = if run.len() > LONG_ASCII85 { 1 } else { 5 };
    (0..alignments.min(run.len())).find(|&skip| {
        let part = &run[skip..];
        let mut bytes = 0;
        for group in part.chunks(5) {
            if group.len() < 2 {
                break;
            }
            let mut v = 0u64;
            for i in 0..5 {
                v = v * 85 + u64::from(group.get(i).map_or(84, |&c| table[usize::from(c)]));
            }
            let Ok(v) = u32::try_from(v) else { return false };
            let four = v.to_be_bytes();
            let text = &four[..group.len() - 1];
            if !text
                .iter()
                .all(|&c| (b' '..=b'~').contains(&c) || c == b'\n' || c == b'\t')
            {
                return false;
            }
            bytes += text.len();
        }
        bytes >= 9
    })
}

/// The text that bare base85 runs decode to: RFC 1924's alphabet (Python's `b85encode`) or
/// Z85's, a run of at least [`MIN_ASCII85`] characters holding one that is neither a letter, a
/// digit nor base64's punctuation, read as Ascii85's bare runs are (five alignments, or one for
/// a run longer than [`LONG_ASCII85`]; the alignment that reads as text, else the stretches of
/// text in one that holds some); a run without such a character only at an alignment that
/// reads as ASCII text throughout ([`base85_ascii_alignment`]). One line per run after the
/// label before it (where runs of the two alphabets overlap, the first to start). One pass per
/// alphabet; the view is never longer than its input (four bytes per five characters).
pub fn base85(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    static TABLES: std::sync::OnceLock<[[u8; 256]; 2]> = std::sync::OnceLock::new();
    let tables = TABLES.get_or_init(|| [base85_table(RFC1924), base85_table(Z85)]);
    let bytes = src.as_bytes();
    // What each alphabet reads, run by run (each maximal run of an alphabet tried once):
    // `(start, end, text)`, then merged in order, a run overlapping one taken before left out.
    let mut hits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut out = Vec::new();
    for table in tables {
        let mut i = 0;
        while i < bytes.len() {
            if table[usize::from(bytes[i])] == 255 {
                i += 1;
                continue;
            }
            let len = bytes[i..].iter().take_while(|&&c| table[usize::from(c)] != 255).count();
            let run = &bytes[i..i + len];
            let marked = run
                .iter()
                .any(|&c| !c.is_ascii_alphanumeric() && !matches!(c, b'+' | b'/' | b'=' | b'_' | b'-'));
            if len >= MIN_ASCII85 && marked {
                let decode = |part: &[u8], out: &mut Vec<u8>| {
                    base85_decode(part, table, out);
                };
                if let Some(skip) = base85_text(run, decode, &mut out) {
                    hits.push((i + skip, i + len, std::mem::take(&mut out)));
                }
            } else if len >= MIN_ASCII85
                && let Some(skip) = base85_ascii_alignment(run, table)
            {
                // No punctuation beyond base64's (`X=EToO-Cw3I4UtYI503VFfuAeejsITWB` is
                // `b85encode(b"id DMG*D8*19800102*F~ end")`; about one encoding of 24 bytes of
                // text in 400, of 16 bytes in 60): read only as ASCII text throughout, as
                // `base85_text` reads a run that is not strongly marked.
                base85_decode(&run[skip..], table, &mut out);
                hits.push((i + skip, i + len, std::mem::take(&mut out)));
            }
            i += len;
        }
    }
    if hits.is_empty() {
        return None;
    }
    hits.sort_by_key(|h| h.0);
    let mut b = Builder::new(src);
    let mut reach = 0;
    for (start, end, text) in hits {
        if start >= reach {
            push_line(&mut b, start, end, kind::BASE85, &text);
            reach = end;
        }
    }
    b.pending = bytes.len();
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    /// [`mostly_printable`] as it was written first, over `utf8_chunks`.
    fn mostly_printable_by_chunks(bytes: &[u8]) -> Option<(usize, usize)> {
        let (mut all, mut bad) = (0usize, 0usize);
        let limit = bytes.len() / 5 + 1;
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                all += 1;
                if c == '\u{FFFD}' || (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
                    bad += 1;
                }
            }
            if !chunk.invalid().is_empty() {
                all += 1;
                bad += 1;
            }
            if bad > limit {
                return None;
            }
        }
        (bad * 5 <= all).then_some((bad, all))
    }

    #[test]
    fn printable_counts_as_utf8_chunks_count() {
        // Every sequence of up to three bytes from a set of boundary values, then random bytes
        // weighted towards UTF-8 lead and continuation bytes, mostly text and mostly not.
        let edges = [
            0x00u8, 0x09, 0x0A, 0x1F, 0x20, 0x41, 0x7E, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBD, 0xBF, 0xC0, 0xC1,
            0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
        ];
        for &a in &edges {
            for &b in &edges {
                for &c in &edges {
                    for text in [&b"text"[..], b"a longer printable text of words"] {
                        for at in [0, 2, text.len()] {
                            let mut v = text.to_vec();
                            v.splice(at..at, [a, b, c]);
                            assert_eq!(mostly_printable(&v), mostly_printable_by_chunks(&v), "{v:x?}");
                            v.truncate(at + 2);
                            assert_eq!(mostly_printable(&v), mostly_printable_by_chunks(&v), "{v:x?}");
                        }
                    }
                }
            }
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000 {
            let len = (next() % 64) as usize;
            let v: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    match (r >> 8) % 8 {
                        0..=3 if round % 2 == 0 => b"abc 12-"[(r % 7) as usize],
                        0 | 1 => edges[(r % edges.len() as u64) as usize],
                        2 => 0x80 | (r % 64) as u8,
                        _ => r as u8,
                    }
                })
                .collect();
            assert_eq!(mostly_printable(&v), mostly_printable_by_chunks(&v), "{v:x?}");
        }
    }

    /// [`base85_decode`] as it was written first (a group at a time through `chunks(5)`).
    fn base85_decode_by_chunks(chars: &[u8], table: &[u8; 256], out: &mut Vec<u8>) {
        out.clear();
        for group in chars.chunks(5) {
            if group.len() < 2 {
                break;
            }
            let mut v = 0u64;
            for i in 0..5 {
                v = v * 85 + u64::from(group.get(i).map_or(84, |&c| table[usize::from(c)]));
            }
            let four = u32::try_from(v).map_or([0; 4], u32::to_be_bytes);
            out.extend_from_slice(&four[..group.len() - 1]);
        }
    }

    #[test]
    fn a_stretch_is_found_wherever_it_stands() {
        // Every placement of a printable stretch of each length around the bound, in bytes that
        // are otherwise not printable or printable in short runs: found exactly when it is long
        // enough, as a byte-by-byte count finds it.
        let longest = |b: &[u8]| b.split(|&c| !text_byte(c)).map(<[u8]>::len).max().unwrap_or(0);
        for filler in [
            &[0u8][..],
            &[0x80, b'a', b'b', 0x01],
            &[b'x'; 10].iter().chain(&[0u8]).copied().collect::<Vec<_>>(),
        ] {
            for total in [0usize, 5, 11, 12, 23, 40, 77] {
                for len in [0usize, 1, 9, 10, 11, 12, 30] {
                    for at in 0..=total {
                        let mut v: Vec<u8> = filler.iter().copied().cycle().take(total).collect();
                        v.splice(at..at, std::iter::repeat_n(b'q', len));
                        assert_eq!(has_stretch(&v), longest(&v) >= MIN_STRETCH, "{v:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn base85_decoding_by_table_reads_as_before_and_as_ascii85() {
        // Random runs of each alphabet, every length up to 64 (each tail of a group), and runs
        // of the highest digit (groups past 2^32): the table decoding reads what the first one
        // read, and a bare Ascii85 run what `ascii85_decode` reads.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let a85: Vec<u8> = (b'!'..=b'u').collect();
        let alphabets: [(&[u8], [u8; 256]); 3] = [
            (RFC1924, base85_table(RFC1924)),
            (Z85, base85_table(Z85)),
            (&a85, *ascii85_table()),
        ];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (alphabet, table) in &alphabets {
            for len in 0..=64 {
                for round in 0..40 {
                    let run: Vec<u8> = (0..len)
                        .map(|_| match round {
                            0 => alphabet[84],
                            _ => alphabet[(next() % 85) as usize],
                        })
                        .collect();
                    base85_decode(&run, table, &mut a);
                    base85_decode_by_chunks(&run, table, &mut b);
                    assert_eq!(a, b, "{run:?}");
                    if alphabet.len() == a85.len() && alphabet[0] == b'!' {
                        ascii85_decode(&run, false, run.len(), &mut b);
                        assert_eq!(a, b, "{run:?}");
                    }
                }
            }
        }
    }

    fn text(src: &str) -> String {
        decoded(src).map_or_else(|| src.to_string(), |v| v.text)
    }

    #[test]
    fn xml_references_and_cdata_are_decoded() {
        assert_eq!(text("123&#x2D;45&#45;6789"), "123-45-6789");
        assert_eq!(text("123&amp;#45;45&amp;#x2d;6789"), "123-45-6789");
        assert_eq!(
            text("a &lt;b&gt; &quot;c&quot; &apos;d&apos; &amp; e"),
            "a <b> \"c\" 'd' & e"
        );
        assert_eq!(text("<![CDATA[123-45]]><![CDATA[-6789]]>"), "123-45-6789");
        // Not references: left alone.
        assert_eq!(
            text("a & b &#xZZ; &#; &unknown; &#x110000;"),
            "a & b &#xZZ; &#; &unknown; &#x110000;"
        );
    }

    #[test]
    fn json_and_toml_escapes_are_decoded() {
        assert_eq!(text(r#""123\u002d45\u002D6789""#), "\"123-45-6789\"");
        assert_eq!(
            text(r"\u002d\u002d-\x2d-BEGIN \U00000050RIVATE KEY"),
            "-----BEGIN PRIVATE KEY"
        );
        assert_eq!(text(r"a\nb\t\/\\u002d"), "a\nb\t/\\u002d");
        assert_eq!(text(r"\uD83D\uDE00 \uD83D alone"), "\u{1F600} \\uD83D alone");
        assert_eq!(text(r"regex \d{3}"), r"regex \d{3}");
    }

    #[test]
    fn unicode_is_folded() {
        assert_eq!(text("ЅЅN Ρatient DОB"), "SSN Patient DOB");
        assert_eq!(text("１２３-４５-６７８９"), "123-45-6789");
        for dash in ['\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2212}'] {
            assert_eq!(text(&format!("123{dash}45{dash}6789")), "123-45-6789");
        }
        for zw in ['\u{200B}', '\u{200C}', '\u{200D}', '\u{FEFF}', '\u{AD}'] {
            assert_eq!(text(&format!("12{zw}3-45-67{zw}89")), "123-45-6789");
        }
        assert_eq!(text("e\u{301}té ﬁle"), "ete file");
        // Scripts without look-alikes stay as they are; a long decomposition is not taken.
        assert_eq!(text("日本 한국 ١٢٣ ﷺ"), "日本 한국 ١٢٣ ﷺ");
        assert!(decoded("plain ascii, nothing to do").is_none());
    }

    #[test]
    fn spans_map_back_to_the_encoded_token() {
        let src = "id 123&#x2D;45&#x2D;6789 end";
        let v = decoded(src).unwrap();
        let at = v.text.find("123-45-6789").unwrap();
        let (a, b) = v.to_original(at, at + 11);
        assert_eq!(&src[a..b], "123&#x2D;45&#x2D;6789");
        assert_eq!(label(v.kinds_in(at, at + 11)), "xml");
        let src = "x &#x2D;&#x2D;&#x2D;&#x2D;&#x2D;BEGIN";
        let v = decoded(src).unwrap();
        assert_eq!(v.to_original(2, 7), (2, 32));
        let src = "é\u{200B}é";
        let v = decoded(src).unwrap();
        assert_eq!(v.text, "ee");
        assert_eq!(v.to_original(0, 2), (0, src.len()));
    }

    #[test]
    fn a_base64_view_with_invalid_utf8_never_outgrows_its_input() {
        // Found by the fuzz target: U+FFFD for each bad byte made the view longer than the text.
        let src =
            "0-010-0--100LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0\u{1b} U1NOIDEyMy00NS02Nzg5 k=LS0tLS1CRUdJTiBQUklWQVRFIEtF2 ";
        let v = encoded_runs(src).unwrap();
        assert!(v.text.len() <= src.len() + src.len() / MIN_RUN + 1, "{}", v.text.len());
        let bytes = [b'A'; 3]
            .iter()
            .chain(b"\xff\xfe SSN 123-45-6789 text")
            .copied()
            .collect::<Vec<u8>>();
        let run = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let v = encoded_runs(&run).unwrap();
        assert!(
            v.text.len() <= run.len() * 3 / 4 + 2 && v.text.contains("123-45-6789"),
            "{:?}",
            v.text
        );
    }

    #[test]
    fn base64_runs_that_decode_to_text_are_read() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("SSN 123-45-6789");
        let src = format!("value: {b64} and more");
        let v = encoded_runs(&src).unwrap();
        // The label before the run is kept, unchanged, and maps back byte for byte.
        assert_eq!(v.text, "value: SSN 123-45-6789\n");
        let (a, b) = v.to_original(11, 22);
        assert_eq!(&src[a..b], b64);
        assert_eq!(v.to_original(0, 5), (0, 5));
        // URL-safe, unpadded, glued to a word.
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("-----BEGIN PRIVATE KEY-----??>>");
        assert!(b64.contains(['-', '_']), "{b64}");
        assert!(
            encoded_runs(&format!("k={b64}"))
                .unwrap()
                .text
                .contains("BEGIN PRIVATE KEY")
        );
        assert!(encoded_runs(&format!("k=x{b64}")).unwrap().text.contains("PRIVATE KEY"));
        // Digests, SHAs, UUIDs and random signatures are not text.
        for clean in [
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
            "id 550e8400-e29b-41d4-a716-446655440000",
            "sig MEUCIQDx3pGz8hV2kq7b0S3zJ8Yl5g0fP8vX1nT0m3Jq9wIgYb2c4k7Vh8Q1aZ3f5nR6m0tL2pX9sW4eD7uC1vB3yE=",
            "test_sample::test_uses_broken_fixture_with_a_very_long_descriptive_name",
        ] {
            assert!(
                encoded_runs(clean).is_none(),
                "{clean}: {:?}",
                encoded_runs(clean).map(|v| v.text)
            );
        }
    }

    #[test]
    fn html_entities_percent_and_quoted_printable_are_decoded() {
        assert_eq!(
            text("123&hyphen;45&dash;6789 &minus; &commat; &lowbar;"),
            "123-45-6789 - @ _"
        );
        assert_eq!(text("a&nbsp;b&shy;c&ZeroWidthSpace;d"), "a bcd");
        assert_eq!(text("123%2D45%2d6789 %E2%80%91 %41"), "123-45-6789 - A");
        assert_eq!(text("123=2D45=2D6789 =E2=80=91"), "123-45-6789 -");
        assert_eq!(text("=31=32=33 x=41 y=3D z=20"), "123 x=41 y= z ");
        assert_eq!(text("line one=\nline two"), "line oneline two");
        // Lower-case hex where no name stands before the `=`: decoded; after a name, an
        // assignment (`a=2d`): left alone.
        assert_eq!(text("caf =c3=a9 123=2d45"), "caf e 123-45");
        assert_eq!(text("a=2d&b=3e&c=ff"), "a=2d&b=3e&c=ff");
        // Not encodings: left alone.
        assert_eq!(
            text("100% %zz =zz =2 %E2%80 &Hyphen;"),
            "100% %zz =zz =2 %E2%80 &Hyphen;"
        );
    }

    #[test]
    fn split_values_are_joined_and_map_back_to_both_parts() {
        let join = |s: &str| joined(s).map_or_else(|| s.to_string(), |v| v.text);
        assert_eq!(join("{\n  \"a\": \"123-45\",\n  \"b\": \"-6789\"\n}"), "{123-45-6789}");
        assert_eq!(join("x 123-45<i>-6789</i> y"), "x 123-45-6789 y");
        assert_eq!(join("\"123-45\" + \"-6789\""), "\"123-45-6789\"");
        assert_eq!(join("a < b\nc"), "a < bc");
        let src = "a: 123-45\nb: -6789\n";
        let v = joined(src).unwrap();
        let at = v.text.find("123-45-6789").unwrap();
        let (x, y) = v.to_original(at, at + 11);
        assert_eq!(&src[x..y], "123-45\nb: -6789");
        assert_eq!(label(v.kinds_in(at, at + 11)), "split");
    }

    #[test]
    fn base32_hex_and_short_base64_runs_are_read() {
        let v = encoded_runs("v=MTIzLTQ1LTY3ODk= w=GEZDGLJUGUWTMNZYHE====== x=3132332d34352d36373839").unwrap();
        assert_eq!(v.text, "v=123-45-6789\n w=123-45-6789\n x=123-45-6789\n");
        // Short runs must decode to printable text only; shorter than 12 is never read.
        assert!(encoded_runs("getUserById parseHeaders TestCaseNo12").is_none());
        assert!(encoded_runs("MTIzNDU2Nzg").is_none());
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics_and_never_grows(s in "\\PC{0,200}", t in "[&#x;0-9a-fA-F\\\\u<!\\[CDATA\\]>=+/A-Za-z\u{200B}\u{2010}Ѕ１%\"', \n]{0,200}") {
            for src in [s.as_str(), t.as_str()] {
                if let Some(v) = joined(src) {
                    proptest::prop_assert!(v.text.len() <= src.len());
                    let (x, y) = v.to_original(0, v.text.len());
                    proptest::prop_assert!(x <= y && y <= src.len());
                    proptest::prop_assert!(src.is_char_boundary(x) && src.is_char_boundary(y));
                }
                if let Some(v) = decoded(src) {
                    proptest::prop_assert!(v.text.len() <= src.len());
                    let mut mid = v.text.len() / 2;
                    while !v.text.is_char_boundary(mid) {
                        mid -= 1;
                    }
                    for (a, b) in [(0, v.text.len()), (mid, v.text.len()), (0, mid)] {
                        let (x, y) = v.to_original(a, b);
                        proptest::prop_assert!(x <= y && y <= src.len());
                        proptest::prop_assert!(src.is_char_boundary(x) && src.is_char_boundary(y));
                    }
                }
                if let Some(v) = encoded_runs(src) {
                    proptest::prop_assert!(v.text.len() <= src.len() + src.len() / MIN_RUN + 1);
                    let (x, y) = v.to_original(0, v.text.len());
                    proptest::prop_assert!(x <= y && y <= src.len());
                }
            }
        }
    }
}
