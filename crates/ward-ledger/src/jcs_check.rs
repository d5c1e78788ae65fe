//! A zero-allocation check that bytes are already in RFC 8785 (JCS) canonical form.
//!
//! The offline verifier reads millions of leaves; parsing each into a value tree and
//! serialising it again costs far more than hashing it. This module walks the bytes once and
//! answers [`Canonicity::Yes`] only when the canonicaliser would reproduce them exactly,
//! [`Canonicity::No`] when it provably would not (or the bytes are not JSON), and
//! [`Canonicity::Undecided`] for the rare inputs whose check needs real number formatting
//! (fractions, exponents, integers of 16 or more digits) or escaped object keys; callers then
//! fall back to the full canonicaliser.

/// The answer of [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canonicity {
    /// The bytes are canonical JSON.
    Yes,
    /// The bytes are not JSON, or not in canonical form.
    No,
    /// The bytes may be canonical; the full canonicaliser must decide.
    Undecided,
}

/// Deepest nesting accepted (serde_json's default recursion limit is 128).
const MAX_DEPTH: usize = 128;
/// Integers with up to this many digits are exact as IEEE doubles and print as themselves.
const EXACT_DIGITS: usize = 15;

/// Checks whether `bytes` is one JSON value in RFC 8785 canonical form.
pub fn check(bytes: &[u8]) -> Canonicity {
    if !plausible(bytes) {
        return Canonicity::No;
    }
    let mut p = Parser {
        b: bytes,
        i: 0,
        undecided: false,
    };
    match p.value(0) {
        Ok(()) if p.i == bytes.len() => {
            if p.undecided {
                Canonicity::Undecided
            } else {
                Canonicity::Yes
            }
        }
        _ => Canonicity::No,
    }
}

/// Whether `bytes` could be canonical JSON at all: valid UTF-8 without a byte below 0x20.
/// Canonical JSON has no whitespace between tokens and escapes control characters inside
/// strings, so ruling such bytes out up front (one vectorised scan) lets string scanning look
/// for just '"' and '\\'.
fn plausible(bytes: &[u8]) -> bool {
    !bytes.iter().fold(false, |seen, &c| seen | (c < 0x20)) && std::str::from_utf8(bytes).is_ok()
}

/// A cursor for reading a document of known shape while checking that it is canonical, in one
/// pass: the caller matches the fixed parts (keys in canonical order, punctuation) with
/// [`Cursor::lit`] and reads the variable parts with the checking readers.
pub(crate) struct Cursor<'a>(Parser<'a>);

impl<'a> Cursor<'a> {
    /// Starts at the beginning of `bytes`; `None` if they cannot be canonical JSON.
    pub(crate) fn new(bytes: &'a [u8]) -> Option<Cursor<'a>> {
        plausible(bytes).then_some(Cursor(Parser {
            b: bytes,
            i: 0,
            undecided: false,
        }))
    }

    /// Consumes exactly `expected`.
    pub(crate) fn lit(&mut self, expected: &[u8]) -> Option<()> {
        self.0.literal(expected).ok()
    }

    /// Consumes one of `choices`, whichever matches.
    pub(crate) fn one_of(&mut self, choices: &[&[u8]]) -> Option<()> {
        choices.iter().find_map(|c| self.lit(c))
    }

    /// A canonical string; returns its contents when it holds no escape.
    pub(crate) fn string(&mut self) -> Option<Option<&'a str>> {
        let (raw, escaped) = self.0.string().ok()?;
        if escaped {
            return Some(None);
        }
        // Valid UTF-8: the whole input was checked and '"' never splits a character.
        Some(std::str::from_utf8(raw).ok())
    }

    /// Any canonical value.
    pub(crate) fn value(&mut self) -> Option<()> {
        self.0.value(0).ok()
    }

    /// A non-negative integer that prints as itself (at most 15 digits).
    pub(crate) fn uint(&mut self) -> Option<u64> {
        let rest = &self.0.b[self.0.i..];
        let len = rest.iter().position(|c| !c.is_ascii_digit()).unwrap_or(rest.len());
        if len == 0 || len > EXACT_DIGITS || (len > 1 && rest[0] == b'0') {
            return None;
        }
        let value = std::str::from_utf8(&rest[..len]).ok()?.parse().ok()?;
        self.0.i += len;
        Some(value)
    }

    /// Whether everything was consumed and every part was decidedly canonical.
    pub(crate) fn finished(&self) -> bool {
        self.0.i == self.0.b.len() && !self.0.undecided
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    undecided: bool,
}

/// Marker for "not canonical JSON".
struct NotCanonical;

type Step = Result<(), NotCanonical>;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Step {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(NotCanonical)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Step {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(NotCanonical)
        }
    }

    fn value(&mut self, depth: usize) -> Step {
        if depth > MAX_DEPTH {
            return Err(NotCanonical);
        }
        match self.peek().ok_or(NotCanonical)? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(NotCanonical),
        }
    }

    fn array(&mut self, depth: usize) -> Step {
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(NotCanonical),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Step {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        let mut previous: Option<&'a [u8]> = None;
        let mut ordered = true;
        loop {
            if self.peek() != Some(b'"') {
                return Err(NotCanonical);
            }
            let (key, escaped) = self.string()?;
            if escaped {
                // Ordering escaped keys needs decoding; leave this object to the canonicaliser.
                self.undecided = true;
                ordered = false;
            } else if ordered {
                if previous.is_some_and(|prev| !key_less(prev, key)) {
                    return Err(NotCanonical);
                }
                previous = Some(key);
            }
            self.eat(b':')?;
            self.value(depth + 1)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(NotCanonical),
            }
        }
    }

    /// Reads a string; returns its raw contents and whether it held an escape.
    fn string(&mut self) -> Result<(&'a [u8], bool), NotCanonical> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Skip plain characters in one tight scan.
            let rest = &self.b[self.i..];
            self.i += memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
            let c = self.peek().ok_or(NotCanonical)?;
            match c {
                b'"' => {
                    let raw = &self.b[start..self.i];
                    self.i += 1;
                    return Ok((raw, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                0x00..=0x1f => return Err(NotCanonical),
                _ => self.i += 1,
            }
        }
    }

    /// Only the escapes JCS itself writes are canonical: `\"`, `\\`, the five short control
    /// escapes, and `\u00xx` (lower-case hex) for the other control characters.
    fn escape(&mut self) -> Step {
        self.eat(b'\\')?;
        let c = self.peek().ok_or(NotCanonical)?;
        self.i += 1;
        match c {
            b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => {
                let hex = self.b.get(self.i..self.i + 4).ok_or(NotCanonical)?;
                self.i += 4;
                let lower_hex = |d: u8| d.is_ascii_digit() || (b'a'..=b'f').contains(&d);
                if hex[0] != b'0' || hex[1] != b'0' || !hex[2..].iter().all(|&d| lower_hex(d)) {
                    return Err(NotCanonical);
                }
                let value = (hex_value(hex[2]) << 4) | hex_value(hex[3]);
                let has_short_form = matches!(value, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
                if value < 0x20 && !has_short_form {
                    Ok(())
                } else {
                    Err(NotCanonical)
                }
            }
            _ => Err(NotCanonical),
        }
    }

    fn number(&mut self) -> Step {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits_start = self.i;
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
            }
            _ => return Err(NotCanonical),
        }
        let digits = &self.b[digits_start..self.i];
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            // A fraction or exponent: consume a valid JSON tail and let the canonicaliser decide.
            self.fraction_and_exponent()?;
            self.undecided = true;
            return Ok(());
        }
        if digits == b"0" && self.i - start == 2 {
            return Err(NotCanonical); // "-0" is written "0"
        }
        if digits.len() > EXACT_DIGITS {
            self.undecided = true;
        }
        Ok(())
    }

    fn fraction_and_exponent(&mut self) -> Step {
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) -> Step {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == start { Err(NotCanonical) } else { Ok(()) }
    }
}

fn hex_value(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        _ => d - b'a' + 10,
    }
}

/// Whether key `a` sorts strictly before `b` in JCS order (UTF-16 code units). Both are raw,
/// unescaped, valid UTF-8 (checked up front).
fn key_less(a: &[u8], b: &[u8]) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a < b;
    }
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(a), Ok(b)) => a.encode_utf16().lt(b.encode_utf16()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jcs(v: &serde_json::Value) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(v).expect("canonicalise")
    }

    #[test]
    fn canonical_forms_pass() {
        for s in [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"x\"y\\z\n\u001f"}}"#,
            r#"[]"#,
            r#"{}"#,
            r#""é€😀""#,
            r#"-12"#,
            r#"0"#,
            r#"{"\u0000":1}"#,
        ] {
            let v: serde_json::Value = serde_json::from_str(s).expect("json");
            let expected = if s.contains(r#"{"\u"#) {
                Canonicity::Undecided
            } else {
                Canonicity::Yes
            };
            assert_eq!(check(s.as_bytes()), expected, "{s}");
            assert_eq!(jcs(&v), s.as_bytes(), "{s}");
        }
    }

    #[test]
    fn non_canonical_forms_fail() {
        for s in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{ "a":1}"#,
            r#"[1 ]"#,
            r#""\/""#,
            r#""\u0041""#,
            r#""\u000A""#,
            r#""\u000a""#,
            r#"-0"#,
            r#"01"#,
            r#"{"a":1}x"#,
            r#"{"a":1"#,
            r#"tru"#,
            "\"\u{1}\"",
            r#"[1,]"#,
            "",
        ] {
            assert_eq!(check(s.as_bytes()), Canonicity::No, "{s}");
        }
        assert_eq!(check(b"\"\xff\""), Canonicity::No);
    }

    #[test]
    fn numbers_needing_formatting_are_undecided() {
        for s in ["1.5", "1e3", "1234567890123456", "[0.1]"] {
            assert_eq!(check(s.as_bytes()), Canonicity::Undecided, "{s}");
        }
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+FB01 sorts after U+1F600 in UTF-8 byte order but before it in UTF-16.
        let s = "{\"\u{1F600}\":1,\"\u{FB01}\":2}";
        let v: serde_json::Value = serde_json::from_str(s).expect("json");
        let canonical = jcs(&v);
        assert_eq!(canonical, s.as_bytes());
        assert_eq!(check(s.as_bytes()), Canonicity::Yes);
        let swapped = "{\"\u{FB01}\":2,\"\u{1F600}\":1}";
        assert_eq!(check(swapped.as_bytes()), Canonicity::No);
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let s = "[".repeat(100_000);
        assert_eq!(check(s.as_bytes()), Canonicity::No);
    }
}
