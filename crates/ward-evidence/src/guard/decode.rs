//! The views of a text the guard judges besides the raw bytes: what a parser stores after
//! decoding, and what a person reads after Unicode folding.
//!
//! - [`decoded`] — one left-to-right pass that (a) decodes XML character references
//!   (`&#45;`, `&#x2D;`) and the five predefined entities, with one more level after `&amp;`
//!   (`&amp;#45;` is stored by an XML parser as `&#45;`, which any HTML or XML view renders as
//!   `-`), (b) drops CDATA markers so that `<![CDATA[123-45]]><![CDATA[-6789]]>` reads as one
//!   value, (c) decodes JSON and TOML backslash escapes (`\u002d`, surrogate pairs, `\U0001F600`,
//!   `\x2d`, `\n`, `\"`, …) and (d) folds Unicode: zero-width and other invisible characters
//!   (U+200B–U+200F, U+FEFF, soft hyphen U+00AD, bidi controls, variation selectors, tags) are
//!   dropped, Unicode hyphens and minus signs become `-`, Unicode spaces a space, every other
//!   character its NFKD compatibility decomposition without combining marks (fullwidth
//!   `１２３` → `123`, `ﬁ` → `fi`, `é` → `e`) — only when that is no longer than the character
//!   itself, so the view never grows — and Cyrillic, Greek and other look-alikes of Latin letters
//!   their Latin letter ([`confusable`], a subset of Unicode TR39 `confusables.txt`).
//!   `None` when nothing changed: the raw scan already judged that text.
//! - [`base64`] — every run of at least [`MIN_BASE64`] base64 characters (standard or URL-safe
//!   alphabet, padding optional; not a hex digest, git SHA or UUID) that decodes — at one of the
//!   four alignments — to mostly printable UTF-8, one run per line. One level: a decoded run is
//!   not decoded again.
//!
//! Each view is built in one pass, linear in its input, and is never longer than it (base64:
//! three quarters of it, plus a newline per run). A [`View`] maps every span of its text back to
//! the span of the original it came from: a decoded token maps to the whole encoded token (so a
//! redaction of that span removes the encoded value), a run of unchanged bytes byte for byte.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Shortest base64 run that is decoded (12 bytes once decoded).
pub const MIN_BASE64: usize = 16;

/// What produced a part of a view (bits of [`View::kinds`]).
pub mod kind {
    /// An XML character reference or predefined entity.
    pub const XML: u8 = 1;
    /// A CDATA marker (dropped).
    pub const CDATA: u8 = 2;
    /// A JSON or TOML backslash escape.
    pub const ESCAPE: u8 = 4;
    /// Unicode folding: NFKD, invisible characters, look-alikes.
    pub const UNICODE: u8 = 8;
    /// A decoded base64 run.
    pub const BASE64: u8 = 16;
}

/// The name of a set of kinds, e.g. `xml+unicode` (static words only: never any text).
pub fn label(kinds: u8) -> String {
    let names = [
        (kind::XML, "xml"),
        (kind::CDATA, "cdata"),
        (kind::ESCAPE, "escape"),
        (kind::UNICODE, "unicode"),
        (kind::BASE64, "base64"),
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
    kind: u8,
}

/// A decoded text and the way back to the original.
#[derive(Debug)]
pub struct View {
    /// The text the detectors read.
    pub text: String,
    segs: Vec<Seg>,
    /// Every kind of decoding that changed something.
    pub kinds: u8,
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
    pub fn kinds_in(&self, start: usize, end: usize) -> u8 {
        let first = self
            .segs
            .partition_point(|s| (s.view as usize) <= start)
            .saturating_sub(1);
        let k = self.segs[first.min(self.segs.len())..]
            .iter()
            .take_while(|s| (s.view as usize) < end)
            .take(4096)
            .fold(0, |k, s| k | s.kind);
        if k == 0 { self.kinds } else { k }
    }
}

struct Builder<'a> {
    src: &'a str,
    out: String,
    segs: Vec<Seg>,
    kinds: u8,
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
    fn token(&mut self, from: usize, to: usize, kind: u8, text: &str) {
        self.flush(from);
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
    while i < bytes.len() {
        let c = bytes[i];
        // A token: its end, what it decodes to (a char), its kind.
        let token: Option<(usize, Option<char>, u8)> = match c {
            b'&' => xml_reference(bytes, i).map(|(end, ch)| (end, Some(ch), kind::XML)),
            b'<' if bytes[i..].starts_with(b"<![CDATA[") => Some((i + 9, None, kind::CDATA)),
            b']' if bytes[i..].starts_with(b"]]>") => Some((i + 3, None, kind::CDATA)),
            b'\\' => escape(bytes, i).map(|(end, ch)| (end, Some(ch), kind::ESCAPE)),
            _ if c >= 0x80 => {
                let ch = src[i..].chars().next().unwrap_or('\u{FFFD}');
                let end = i + ch.len_utf8();
                buf.clear();
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

/// The reference whose body (after `&`) starts at `at`.
fn reference_body(bytes: &[u8], at: usize) -> Option<(usize, char)> {
    let rest = bytes.get(at..)?;
    let semi = rest.iter().take(12).position(|&b| b == b';')?;
    let body = &rest[..semi];
    let end = at + semi + 1;
    let ch = match body {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        [b'#', b'x' | b'X', hex @ ..] if !hex.is_empty() && hex.len() <= 8 => {
            char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)?
        }
        [b'#', dec @ ..] if !dec.is_empty() && dec.len() <= 8 && dec.iter().all(u8::is_ascii_digit) => {
            char::from_u32(std::str::from_utf8(dec).ok()?.parse().ok()?)?
        }
        _ => return None,
    };
    Some((end, ch))
}

/// A JSON or TOML escape at `at` (a backslash): its end and its character. `\\` is a token
/// too, so `\\u002d` stays the six characters it stands for.
fn escape(bytes: &[u8], at: usize) -> Option<(usize, char)> {
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

/// Writes what `c` reads as to `out`; `false` (and `c` written) when that is `c` itself.
fn fold(c: char, out: &mut String) -> bool {
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

/// Characters that render as nothing: dropped from the folded view.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The Latin letter, digit, hyphen or space a character is drawn like: a subset of Unicode TR39
/// `confusables.txt` (Cyrillic, Greek, Armenian and Cherokee look-alikes of ASCII letters;
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
        | '\u{2E3B}' => '-',
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
        'ı' => 'i',
        'ȷ' => 'j',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ɩ' => 'i',
        'ʏ' => 'y',
        'ᴀ' => 'A',
        'ᴄ' => 'c',
        'ᴏ' => 'o',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ᴢ' => 'z',
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

/// Text that base64 runs of `src` decode to, one run per line, or `None` when there is none.
pub fn base64(src: &str) -> Option<View> {
    if u32::try_from(src.len()).is_err() {
        return None;
    }
    let (standard, url_safe) = (base64_engine(false), base64_engine(true));
    let bytes = src.as_bytes();
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
    let mut b = Builder::new(src);
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        let run = &bytes[start..i];
        let mut end = i;
        while end < bytes.len() && end - i < 2 && bytes[end] == b'=' {
            end += 1;
        }
        if run.len() < MIN_BASE64 || run.iter().all(|&b| b.is_ascii_hexdigit() || b == b'-') {
            continue;
        }
        let std_chars = run.iter().any(|&b| b == b'+' || b == b'/');
        let url_chars = run.iter().any(|&b| b == b'-' || b == b'_');
        let engine = match (std_chars, url_chars) {
            (true, true) => continue,
            (false, true) => &url_safe,
            _ => &standard,
        };
        // The four alignments: a value glued to a word (`idU1NO…`) starts mid-quantum.
        for skip in 0..4 {
            let mut part = &run[skip..];
            if part.len() % 4 == 1 {
                part = &part[..part.len() - 1];
            }
            decoded.clear();
            if engine.decode_vec(part, &mut decoded).is_err() || decoded.len() < 12 {
                continue;
            }
            if mostly_printable(&decoded) {
                // Invalid UTF-8 becomes one `?` per bad sequence (not U+FFFD, three bytes): the
                // view stays within three quarters of the run.
                let mut line = String::with_capacity(decoded.len() + 1);
                for chunk in decoded.utf8_chunks() {
                    line.push_str(chunk.valid());
                    if !chunk.invalid().is_empty() {
                        line.push('?');
                    }
                }
                line.push('\n');
                b.pending = start;
                b.token(start, end, kind::BASE64, &line);
                break;
            }
        }
        // Nothing but the decoded runs is in the view.
        b.pending = end;
        i = end;
    }
    b.pending = bytes.len();
    b.finish()
}

/// At least 80% of the characters are printable (not controls other than tab and line breaks,
/// not the replacement character of invalid UTF-8).
/// Counted without allocating; random bytes (a signature) are given up on early.
fn mostly_printable(bytes: &[u8]) -> bool {
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
            return false;
        }
    }
    bad * 5 <= all
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let v = base64(src).unwrap();
        assert!(
            v.text.len() <= src.len() * 3 / 4 + src.len() / MIN_BASE64 + 1,
            "{}",
            v.text.len()
        );
        let bytes = [b'A'; 3]
            .iter()
            .chain(b"\xff\xfe SSN 123-45-6789 text")
            .copied()
            .collect::<Vec<u8>>();
        let run = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let v = base64(&run).unwrap();
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
        let v = base64(&src).unwrap();
        assert_eq!(v.text, "SSN 123-45-6789\n");
        let (a, b) = v.to_original(4, 15);
        assert_eq!(&src[a..b], b64);
        // URL-safe, unpadded, glued to a word.
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("-----BEGIN PRIVATE KEY-----??>>");
        assert!(b64.contains(['-', '_']), "{b64}");
        assert!(base64(&format!("k={b64}")).unwrap().text.contains("BEGIN PRIVATE KEY"));
        assert!(base64(&format!("k=x{b64}")).unwrap().text.contains("PRIVATE KEY"));
        // Digests, SHAs, UUIDs and random signatures are not text.
        for clean in [
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
            "id 550e8400-e29b-41d4-a716-446655440000",
            "sig MEUCIQDx3pGz8hV2kq7b0S3zJ8Yl5g0fP8vX1nT0m3Jq9wIgYb2c4k7Vh8Q1aZ3f5nR6m0tL2pX9sW4eD7uC1vB3yE=",
            "test_sample::test_uses_broken_fixture_with_a_very_long_descriptive_name",
        ] {
            assert!(base64(clean).is_none(), "{clean}: {:?}", base64(clean).map(|v| v.text));
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics_and_never_grows(s in "\\PC{0,200}", t in "[&#x;0-9a-fA-F\\\\u<!\\[CDATA\\]>=+/A-Za-z\u{200B}\u{2010}Ѕ１]{0,200}") {
            for src in [s.as_str(), t.as_str()] {
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
                if let Some(v) = base64(src) {
                    proptest::prop_assert!(v.text.len() <= src.len() * 3 / 4 + src.len() / MIN_BASE64 + 1);
                    let (x, y) = v.to_original(0, v.text.len());
                    proptest::prop_assert!(x <= y && y <= src.len());
                }
            }
        }
    }
}
