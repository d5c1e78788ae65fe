//! The guard's corpus (issue 15 item 11): every detector's value, plain and in every evasive
//! encoding the guard decodes, inside every kind of document Ward stores — JUnit XML, SARIF,
//! CycloneDX JSON and XML, SPDX JSON and tag-value, custom JSON (pretty-printed), TOML
//! configuration, change titles and file names — generated as values × encodings × carriers.
//! Every case must be found by `guard::scan` (the entry point of evidence files, file names,
//! people's free text and configuration values), and no finding's `Debug` or serde form may hold
//! the value in any form. A negative corpus of realistic clean documents (digests, git SHAs,
//! UUIDs, timestamps, semver, DSSE envelopes with base64 signatures and payloads, the real
//! tools' fixtures) must give no finding.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use ward_evidence::guard::{Finding, GuardConfig, scan};

/// `(detector, value)`: the value is what must never be stored or echoed.
fn values() -> Vec<(&'static str, String)> {
    vec![
        ("us-ssn", "123-45-6789".into()),
        ("us-ssn", "SSN 123 45 6789".into()),
        ("mrn", "MRN 00123456".into()),
        ("dob-with-name", "patient_name Jane Roe dob 1980-01-02".into()),
        ("dob-with-name", "Jane Roe, born 1980-01-02".into()),
        ("patient-contact", "patient_email: jane.roe@example.org".into()),
        ("private-key", "-----BEGIN PRIVATE KEY-----".into()),
        ("private-key", "-----BEGIN OPENSSH PRIVATE KEY-----".into()),
        ("aws-access-key", "AKIAIOSFODNN7EXAMPLE".into()),
        ("aws-access-key", "akiaiosfodnn7example".into()),
        (
            "github-token",
            format!("ghp_{}", "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"),
        ),
        ("slack-token", "xoxb-1234567890-abcdefghijkl".into()),
        (
            "google-api-key",
            format!("AIza{}", "SyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
        ),
        ("ward-token", format!("ward_{}_{}", "0123456789ab", "cd".repeat(32))),
        (
            "jwt",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl".into(),
        ),
        ("password-in-url", "postgres://app:s3cr3t@db.internal:5432/app".into()),
        // The forms found attacking the binary at the end of the last session.
        ("name-with-date", "Jane Roe 1980-01-02".into()),
        ("name-with-date", "Roe^Jane||19800102".into()),
        ("dob-with-name", "JANE ROE DOB 1980-01-02".into()),
        ("us-ssn", "patient_id 219451100".into()),
        ("us-ssn", "1 2 3 - 4 5 - 6 7 8 9".into()),
        ("password-in-url", "admin:hunter2@db.internal:5432".into()),
        ("aws-access-key", "AkIaIoSfOdNn7ExAmPlE".into()),
        // A label, a qualifying word or format, then the value (third attack, 2026-12-04).
        ("mrn", "mrn_number: 00123456".into()),
        ("hl7-pid", "PID|1||00123456^^^HOSP^MR||Roe^Jane||19800102|F".into()),
        ("dob-with-name", "patient Jane Roe DOB (yyyy-mm-dd): 1980-01-02".into()),
        // Healthcare formats, contacts without a patient label and vendor secrets (an attacker
        // helper, 2026-12-04 07:00).
        (
            "ccda-patient",
            r#"<patient><name><given>Jane</given><family>Roe</family></name><birthTime value="19800102"/></patient>"#
                .into(),
        ),
        (
            "us-ssn",
            r#"<id root="2.16.840.1.113883.4.1" extension="123456789"/>"#.into(),
        ),
        (
            "dicom-patient",
            r#"{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Roe^Jane"}]}}"#.into(),
        ),
        (
            "dicom-patient",
            r#"{"00100030": {"vr": "DA", "Value": ["19800102"]}}"#.into(),
        ),
        ("ncpdp-patient", "AM01 C419800102 CAJANE CBROE".into()),
        (
            "fhir-identifier",
            r#"{"identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "00123456"}]}"#.into(),
        ),
        (
            "fhir-identifier",
            r#"{"identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123456789"}]}"#.into(),
        ),
        ("medicare-mbi", "1EG4-TE5-MK73".into()),
        ("medicare-mbi", "mbi: 1EG4TE5MK73".into()),
        ("drivers-licence", "driver's license: D1234567".into()),
        ("hl7-pid", "PID#1##00123456^^^HOSP^MR##Roe^Jane##19800102#F".into()),
        ("x12-patient", "NM1*IL*1*ROE*JANE****MI*123456789~".into()),
        ("x12-patient", "DMG*D8*19800102*F~".into()),
        ("x12-patient", "REF|SY|123456789~".into()),
        ("personal-email", "email: jane.roe@gmail.com".into()),
        ("mail-recipient", "To: Jane Roe <jane@x.org>".into()),
        ("phone-number", "cell 555-123-4567".into()),
        ("phone-number", "(555) 123-4567".into()),
        ("phone-number", "+15551234567".into()),
        ("phone-number", "tel:+1-555-123-4567".into()),
        ("name-with-date", "Jane,Roe,1980-01-02".into()),
        (
            "patient-record",
            r#"{"patient": {"n": "Jane Roe", "d": "1980-01-02"}}"#.into(),
        ),
        ("gitlab-token", format!("glpat-{}", "AbCdEfGhIjKlMnOpQrSt")),
        (
            "azure-sas",
            format!(
                "?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-01-01T00:00:00Z&sig={}%2Bef%3D",
                "abcdEFGH1234ijklMNOP5678qrst"
            ),
        ),
        (
            "azure-storage-key",
            format!(
                "AccountName=acct;AccountKey={}==",
                "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"
            ),
        ),
        ("npm-token", format!("npm_{}", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789")),
        (
            "pypi-token",
            format!(
                "pypi-AgEIcHlwaS5vcmc{}",
                "CJGE0ZjY5ZmI1LTNhZTItNDYxNi04ZmMxLTU0ZjBhOGQ1ZTJhMg"
            ),
        ),
        (
            "openai-key",
            format!("sk-proj-{}", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGh"),
        ),
        (
            "anthropic-key",
            format!("sk-ant-api03-{}", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"),
        ),
        ("vault-token", format!("hvs.{}", "CAESIAbCdEfGhIjKlMnOpQrStUvWx")),
        (
            "sendgrid-key",
            format!(
                "SG.{}.{}",
                "AbCdEfGhIjKlMnOpQrStUv", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfG"
            ),
        ),
        ("twilio-key", format!("SK{}", "a1b2c3d4e5f60718293a4b5c6d7e8f90")),
        ("private-key", "PuTTY-User-Key-File-3: ssh-ed25519".into()),
        // The guard's misses named at the end of the fourteenth session.
        ("us-ssn", "patient_ssn_on_file > 219451100".into()),
        ("us-ssn", "219451100 (patient SSN)".into()),
        ("phone-number", "212.867.5309".into()),
    ]
}

/// HTML's named entity for a character, where it has one.
fn html_entity(c: char) -> Option<&'static str> {
    Some(match c {
        '-' => "&hyphen;",
        ':' => "&colon;",
        '@' => "&commat;",
        '_' => "&lowbar;",
        '.' => "&period;",
        '/' => "&sol;",
        '|' => "&verbar;",
        '^' => "&Hat;",
        ' ' => "&nbsp;",
        _ => return None,
    })
}

fn b32(s: &str) -> String {
    b32_bytes(s.as_bytes())
}

fn b32_bytes(s: &[u8]) -> String {
    b32_in(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", s)
}

/// Base32 of `s` in the alphabet `A` (RFC 4648's, base32hex's), without padding.
#[allow(non_snake_case)]
fn b32_in(A: &[u8], s: &[u8]) -> String {
    let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0u32);
    for &b in s {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(A[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(A[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The character to encode: the first hyphen, else the middle one.
fn pick(value: &str) -> usize {
    value.find('-').unwrap_or_else(|| {
        value
            .char_indices()
            .nth(value.chars().count() / 2)
            .map_or(0, |(i, _)| i)
    })
}

fn replace_at(value: &str, at: usize, with: &str) -> String {
    let c = value[at..].chars().next().expect("a character");
    format!("{}{with}{}", &value[..at], &value[at + c.len_utf8()..])
}

fn cyrillic(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'c' => 'с',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'x' => 'х',
        'y' => 'у',
        'A' => 'А',
        'B' => 'В',
        'E' => 'Е',
        'K' => 'К',
        'M' => 'М',
        'N' => 'Ν', // Greek capital nu
        'O' => 'О',
        'P' => 'Р',
        'S' => 'Ѕ',
        'T' => 'Т',
        _ => return None,
    })
}

/// Lisu and Coptic look-alikes of Latin capitals (third attack, 2026-12-04).
fn lisu(c: char) -> Option<char> {
    Some(match c {
        'A' => 'ꓮ',
        'B' => 'ꓐ',
        'D' => 'ꓓ',
        'E' => 'ꓰ',
        'I' => 'ꓲ',
        'K' => 'ꓗ',
        'M' => 'ꓟ',
        'N' => 'ꓠ',
        'O' => 'ꓳ',
        'P' => 'ꓑ',
        'R' => 'ꓣ',
        'S' => 'ꓢ',
        'T' => 'ꓔ',
        _ => return None,
    })
}

fn coptic(c: char) -> Option<char> {
    Some(match c {
        'A' => 'Ⲁ',
        'E' => 'Ⲉ',
        'I' => 'Ⲓ',
        'K' => 'Ⲕ',
        'M' => 'Ⲙ',
        'N' => 'Ⲛ',
        'O' => 'Ⲟ',
        'P' => 'Ⲣ',
        'T' => 'Ⲧ',
        'o' => 'ⲟ',
        'p' => 'ⲣ',
        _ => return None,
    })
}

/// `(encoding, encoded)`: only the encodings that apply to the value.
fn encodings(detector: &str, value: &str) -> Vec<(&'static str, String)> {
    let at = pick(value);
    let c = value[at..].chars().next().expect("a character");
    let code = u32::from(c);
    let mut out = vec![
        ("plain", value.to_string()),
        ("xml-hex", replace_at(value, at, &format!("&#x{code:X};"))),
        ("xml-dec", replace_at(value, at, &format!("&#{code};"))),
        ("xml-amp", replace_at(value, at, &format!("&amp;#{code};"))),
        ("json-u", replace_at(value, at, &format!("\\u{code:04x}"))),
        ("toml-U", replace_at(value, at, &format!("\\U{code:08X}"))),
        (
            "zero-width",
            format!("{}\u{200B}{}", &value[..at + 1], &value[at + 1..]),
        ),
        ("soft-hyphen", format!("{}\u{AD}{}", &value[..at + 1], &value[at + 1..])),
        (
            "fullwidth",
            value
                .chars()
                .map(|c| match c {
                    '!'..='~' => char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap_or(c),
                    c => c,
                })
                .collect(),
        ),
        (
            "base64",
            base64::engine::general_purpose::STANDARD.encode(format!("id {value} end")),
        ),
        (
            "base64url",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("note: {value}")),
        ),
    ];
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let next = value[at + c.len_utf8()..].chars().next();
    out.push(("percent", replace_at(value, at, &format!("%{:02X}", code & 0xff))));
    // Octal, braced and HTML5 legacy escapes (third attack, 2026-12-04); a reference without
    // its `;` only where the next character ends it.
    if code < 0x100 {
        out.push(("octal", replace_at(value, at, &format!("\\{code:03o}"))));
    }
    out.push(("u-brace", replace_at(value, at, &format!("\\u{{{code:x}}}"))));
    if !next.is_some_and(|n| n.is_ascii_digit()) {
        out.push(("xml-dec-no-semi", replace_at(value, at, &format!("&#{code}"))));
    }
    if !next.is_some_and(|n| n.is_ascii_hexdigit()) {
        out.push(("xml-hex-no-semi", replace_at(value, at, &format!("&#x{code:X}"))));
    }
    if code < 0x80 {
        // Quoted-printable: the character and the next as a run (`=31=32`), a soft break.
        let two = match next {
            Some(n) if n.is_ascii() => format!("={code:02X}={:02X}", u32::from(n)),
            _ => format!("={code:02X}"),
        };
        let skip = next.filter(char::is_ascii).map_or(0, char::len_utf8);
        out.push((
            "quoted-printable",
            format!("{}{two}{}", &value[..at], &value[at + c.len_utf8() + skip..]),
        ));
        out.push(("qp-soft-break", format!("{}=\n{}", &value[..at + 1], &value[at + 1..])));
    }
    if let Some(e) = html_entity(c) {
        out.push(("html-entity", replace_at(value, at, e)));
    }
    out.push(("base64-twice", b64(&b64(&format!("id {value} end")))));
    out.push(("base64-four-levels", b64(&b64(&b64(&b64(&format!("id {value} end")))))));
    // Wrapped over lines with the value across the first line break: MIME (76 columns, CRLF),
    // PEM indented as in a YAML or XML block (64, LF), a JSON string with `\n` escapes; and
    // written in groups with spaces between them (base64 in fours, hex in pairs).
    out.push(("base64-mime", wrap(&b64(&across(value, 76)), 76, "\r\n", "")));
    out.push(("base64-pem-indented", wrap(&b64(&across(value, 64)), 64, "\n", "    ")));
    out.push(("base64-json-lines", wrap(&b64(&across(value, 76)), 76, "\\n", "")));
    out.push(("base64-groups", wrap(&b64(&format!("id {value} end")), 4, " ", "")));
    out.push(("hex-pairs", wrap(&hex::encode(format!("id {value} end")), 2, " ", "")));
    // The forms an attacker helper stored past the guard (2026-12-03): narrow wraps, groups
    // joined by punctuation, hex spelled with separators or `0x`, wide text, compressed text,
    // escapes one level down.
    let plain = format!("id {value} end");
    let wide: Vec<u8> = plain.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let b64_bytes = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    for width in [4, 8, 12] {
        out.push((
            ["base64-wrap-4", "base64-wrap-8", "base64-wrap-12"][width / 4 - 1],
            wrap(&b64(&plain), width, "\n", ""),
        ));
    }
    out.push(("base64-groups-dots", wrap(&b64(&plain), 4, ".", "")));
    out.push(("base64-groups-pipes", wrap(&b64(&plain), 4, "|", "")));
    out.push(("hex-colons", wrap(&hex::encode(&plain), 2, ":", "")));
    out.push(("hex-dashes", wrap(&hex::encode(&plain), 2, "-", "")));
    out.push((
        "hex-0x",
        plain
            .bytes()
            .map(|b| format!("0x{b:02x}"))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    out.push(("utf16-base64", b64_bytes(&wide)));
    out.push(("utf16-hex", hex::encode(&wide)));
    out.push((
        "zlib-base64",
        b64_bytes(&miniz_oxide::deflate::compress_to_vec_zlib(plain.as_bytes(), 6)),
    ));
    // Raw DEFLATE in base64, zlib in base32 (third attack, 2026-12-04). A stream inflates to at
    // most its run's length (a view never grows): base32 is never `high-entropy`, so it is
    // planted only where the text fits (a longer one is a known gap, CONTROLS.md).
    out.push((
        "deflate-raw-base64",
        b64_bytes(&miniz_oxide::deflate::compress_to_vec(plain.as_bytes(), 6)),
    ));
    let z32 = b32_bytes(&miniz_oxide::deflate::compress_to_vec_zlib(plain.as_bytes(), 6));
    if plain.len() <= z32.len() {
        out.push(("zlib-base32", z32));
    }
    if value.is_ascii() {
        let escaped: String = value.bytes().map(|b| format!("\\\\x{b:02x}")).collect();
        out.push(("escape-two-levels", escaped));
    }
    // NUL between the characters (third attack, 2026-12-04).
    out.push(("nul-between", value.chars().flat_map(|c| [c, '\0']).collect()));
    out.push(("base32", b32(&format!("id {value} end"))));
    out.push(("hex", hex::encode(format!("id {value} end"))));
    out.push((
        "percent-in-base64",
        b64(&format!(
            "id {} end",
            replace_at(value, at, &format!("%{:02X}", code & 0xff))
        )),
    ));
    // Split over two lines, and over two JSON fields, where the detector reads the joined view
    // (values, not names and dates) and the cut is not beside a space. A key id in lower or
    // mixed case glued to the previous field's value across the dropped glue still stands
    // alone (`guard::decode::View::glued_at`).
    // A value that is a document fragment (it holds quotes: an XML element, a JSON object) is
    // not one value to split across fields.
    let splittable = ward_evidence::guard::SPLIT_DETECTORS.contains(&detector)
        && !value.contains('"')
        && c != ' '
        && value[..at].chars().next_back().is_some_and(|p| p != ' ');
    if splittable {
        out.push(("split-line", format!("{}\n{}", &value[..at], &value[at..])));
        out.push(("split-fields", format!("{}\", \"b\": \"{}", &value[..at], &value[at..])));
        // Adjacent literals and concatenations on one line (third attack, 2026-12-04).
        out.push(("adjacent-literals", format!("{}\" \"{}", &value[..at], &value[at..])));
        out.push(("sql-concat", format!("{}' || '{}", &value[..at], &value[at..])));
        out.push(("php-concat", format!("{}' . '{}", &value[..at], &value[at..])));
    }
    // The classes left open after the third attack (fourth round, 2026-12-04): a processing
    // instruction or comment inside the value, split RFC 2047 words, Ascii85, uuencode,
    // separately padded base64 chunks, UTF-16 of mostly non-Latin text.
    let (head, tail) = value.split_at(at);
    out.push(("xml-pi", format!("{head}<?x?>{tail}")));
    out.push(("xml-comment", format!("{head}<!-- c -->{tail}")));
    out.push((
        "rfc2047-b-split",
        format!("=?UTF-8?B?{}?= =?UTF-8?B?{}?=", b64(head), b64(tail)),
    ));
    out.push((
        "rfc2047-q-split",
        format!("=?utf-8?q?{}?=\r\n =?utf-8?q?{}?=", q_encode(head), q_encode(tail)),
    ));
    // One base64 text cut in two words inside a quantum.
    let whole = b64(&plain);
    let cut = whole.len() / 2 / 4 * 4 + 2;
    out.push((
        "rfc2047-b-cut",
        format!("=?UTF-8?B?{}?= =?UTF-8?B?{}?=", &whole[..cut], &whole[cut..]),
    ));
    out.push(("ascii85", format!("<~{}~>", ascii85(plain.as_bytes()))));
    out.push(("ascii85-bare", ascii85(plain.as_bytes())));
    out.push(("uuencode", uuencode(format!("{plain}\n").as_bytes())));
    out.push((
        "base64-padded-chunks",
        format!("{}{}", b64(&format!("id {head}")), b64(&format!("{tail} end"))),
    ));
    let cyrillic_note = format!("Пациентка Иванова Мария Петровна, запись: {value}");
    let wide_cyrillic: Vec<u8> = cyrillic_note.encode_utf16().flat_map(u16::to_le_bytes).collect();
    out.push(("utf16-non-latin-base64", b64_bytes(&wide_cyrillic)));
    if splittable {
        // A value split between a JSON key and its value.
        out.push(("key-value-split", format!("{head}\": \"{tail}")));
    }
    // The fifth round (2026-12-04): encodings one step further.
    let b64_of = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    out.push((
        "ascii85-in-base64",
        b64_of(format!("<~{}~>", ascii85(plain.as_bytes())).as_bytes()),
    ));
    out.push(("ascii85-bare-in-base64", b64_of(ascii85(plain.as_bytes()).as_bytes())));
    out.push((
        "uuencode-in-base64",
        b64_of(uuencode(format!("{plain}\n").as_bytes()).as_bytes()),
    ));
    out.push(("base85", base85(RFC1924, plain.as_bytes())));
    out.push(("z85", base85(Z85, plain.as_bytes())));
    out.push((
        "base32hex",
        b32_in(b"0123456789ABCDEFGHIJKLMNOPQRSTUV", plain.as_bytes()),
    ));
    out.push(("base32-lower", b32(&plain).to_ascii_lowercase()));
    if code < 0x80 {
        let two = match next {
            Some(n) if n.is_ascii() => format!("={code:02x}={:02x}", u32::from(n)),
            _ => format!("={code:02x}"),
        };
        let skip = next.filter(char::is_ascii).map_or(0, char::len_utf8);
        out.push((
            "quoted-printable-lower",
            format!("{}{two}{}", &value[..at], &value[at + c.len_utf8() + skip..]),
        ));
        out.push(("css-escape", replace_at(value, at, &format!("\\{code:x} "))));
    }
    out.push(("utf7", replace_at(value, at, &utf7(&c.to_string()))));
    out.push(("utf7-all", utf7(value)));
    out.push(("percent-u", replace_at(value, at, &format!("%u{code:04X}"))));
    let codes: Vec<String> = plain.bytes().map(|b| b.to_string()).collect();
    if plain.is_ascii() {
        out.push(("from-char-code", format!("String.fromCharCode({})", codes.join(","))));
        out.push(("sql-char", format!("CHAR({})", codes.join(", "))));
        out.push(("sql-char-plus", format!("CHAR({})", codes.join(")+CHAR("))));
        out.push(("sql-chr-pipes", format!("CHR({})", codes.join(") || CHR("))));
        out.push(("byte-list", format!("[{}]", codes.join(", "))));
        let bits: Vec<String> = plain.bytes().map(|b| format!("{b:08b}")).collect();
        out.push(("binary-octets", bits.join(" ")));
    }
    let items: Vec<String> = b64(&plain)
        .as_bytes()
        .chunks(4)
        .map(|g| format!("\"{}\"", String::from_utf8_lossy(g)))
        .collect();
    out.push(("base64-array-items", format!("[{}]", items.join(", "))));
    out.push((
        "base64-xml-items",
        b64(&plain)
            .as_bytes()
            .chunks(4)
            .map(|g| format!("<i>{}</i>", String::from_utf8_lossy(g)))
            .collect(),
    ));
    out.push((
        "base64-char-per-line",
        b64(&plain).chars().map(|c| format!("{c}\n")).collect(),
    ));
    if splittable {
        out.push(("python-plus", format!("{head}'+'{tail}")));
        out.push(("python-implicit", format!("{head}' '{tail}")));
        // Credentials without a scheme are not read across glue (`guard::SPLIT_DETECTORS`).
        let schemeless = detector == "password-in-url" && !value.contains("://");
        if !value.contains(char::is_whitespace) && !schemeless {
            out.push(("char-per-line", value.chars().map(|c| format!("{c}\n")).collect()));
        }
    }
    out.push((
        "braille-blank",
        format!("{}\u{2800}{}", &value[..at + 1], &value[at + 1..]),
    ));
    // A symbol between the groups of a number (`123×45×6789`).
    let b = value.as_bytes();
    if value.contains('-')
        && b.iter().enumerate().all(|(i, &x)| {
            x != b'-' || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        })
    {
        out.push(("times-sign", value.replace('-', "\u{d7}")));
        out.push(("bullet", value.replace('-', "\u{2022}")));
    }
    if value.contains('-') {
        out.push(("unicode-hyphen", value.replacen('-', "\u{2011}", 1)));
        out.push(("minus-sign", value.replace('-', "\u{2212}")));
    }
    if let Some((i, l)) = value.char_indices().find_map(|(i, c)| cyrillic(c).map(|l| (i, l))) {
        out.push(("cyrillic", replace_at(value, i, &l.to_string())));
    }
    let all = |f: fn(char) -> Option<char>| value.chars().map(|c| f(c).unwrap_or(c)).collect::<String>();
    if value.chars().any(|c| lisu(c).is_some()) {
        out.push(("lisu", all(lisu)));
    }
    if value.chars().any(|c| coptic(c).is_some()) {
        out.push(("coptic", all(coptic)));
    }
    out
}

const RFC1924: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
const Z85: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Base85 in an alphabet of 85 (RFC 1924's, Python's `b85encode`; Z85), a last partial group
/// as Python writes it.
fn base85(alphabet: &[u8], b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.chunks(4) {
        let mut g = [0u8; 4];
        g[..chunk.len()].copy_from_slice(chunk);
        let mut v = u32::from_be_bytes(g);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = alphabet[(v % 85) as usize];
            v /= 85;
        }
        out.extend(digits[..chunk.len() + 1].iter().map(|&d| char::from(d)));
    }
    out
}

/// UTF-7 of `s`, every character in one shifted sequence (`-` → `+AC0-`).
fn utf7(s: &str) -> String {
    let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
    format!("+{}-", base64::engine::general_purpose::STANDARD_NO_PAD.encode(units))
}

/// RFC 2047's Q encoding: letters and digits as they are, a space as `_`, any other byte `=XX`.
fn q_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' => "_".to_string(),
            b if b.is_ascii_alphanumeric() => char::from(b).to_string(),
            b => format!("={b:02X}"),
        })
        .collect()
}

/// Adobe's Ascii85, without its `<~ ~>` delimiters and without the `z` shortcut.
fn ascii85(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.chunks(4) {
        let mut g = [0u8; 4];
        g[..chunk.len()].copy_from_slice(chunk);
        let mut v = u32::from_be_bytes(g);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = (v % 85) as u8 + b'!';
            v /= 85;
        }
        out.extend(digits[..chunk.len() + 1].iter().map(|&d| char::from(d)));
    }
    out
}

/// A uuencoded file (`begin 644 notes.txt` … `` ` `` … `end`).
fn uuencode(b: &[u8]) -> String {
    let c = |v: u32| char::from(if v == 0 { b'`' } else { v as u8 + b' ' });
    let mut out = String::from("begin 644 notes.txt\n");
    for line in b.chunks(45) {
        out.push(char::from(line.len() as u8 + b' '));
        for q in line.chunks(3) {
            let mut g = [0u8; 3];
            g[..q.len()].copy_from_slice(q);
            let w = u32::from(g[0]) << 16 | u32::from(g[1]) << 8 | u32::from(g[2]);
            out.extend([w >> 18, w >> 12 & 63, w >> 6 & 63, w & 63].map(c));
        }
        out.push('\n');
    }
    out.push_str("`\nend\n");
    out
}

/// `text` cut into lines (or groups) of `width`, each after `indent`, joined by `newline`.
fn wrap(text: &str, width: usize, newline: &str, indent: &str) -> String {
    text.as_bytes()
        .chunks(width)
        .map(|line| format!("{indent}{}", String::from_utf8_lossy(line)))
        .collect::<Vec<_>>()
        .join(newline)
}

/// `value` in a note placed so that, base64-encoded and wrapped at `width` columns, it crosses
/// the first line break.
fn across(value: &str, width: usize) -> String {
    format!("{} {value} end", "a".repeat(width * 3 / 4 - 4))
}

/// `(carrier, document)` holding `x`; `cdata` wraps `x` split in two CDATA sections where the
/// carrier is XML.
fn carriers(x: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "junit",
            format!(
                "<?xml version=\"1.0\"?>\n<testsuite name=\"api\" tests=\"1\" failures=\"0\">\n  <testcase classname=\"t\" name=\"export\">\n    <system-out>{x}</system-out>\n  </testcase>\n</testsuite>\n"
            ),
        ),
        (
            "sarif",
            format!(
                "{{\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{{\"driver\":{{\"name\":\"semgrep\"}}}},\"results\":[{{\"ruleId\":\"r1\",\"message\":{{\"text\":\"{x}\"}}}}]}}]}}"
            ),
        ),
        (
            "cyclonedx-json",
            format!(
                "{{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.5\",\n  \"components\": [\n    {{\n      \"name\": \"lib\",\n      \"version\": \"1.0.0\",\n      \"description\": \"{x}\"\n    }}\n  ]\n}}\n"
            ),
        ),
        (
            "cyclonedx-xml",
            format!(
                "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\" version=\"1\">\n  <components>\n    <component type=\"library\">\n      <name>lib</name>\n      <description>{x}</description>\n    </component>\n  </components>\n</bom>\n"
            ),
        ),
        (
            "spdx-json",
            format!(
                "{{\"spdxVersion\":\"SPDX-2.3\",\"SPDXID\":\"SPDXRef-DOCUMENT\",\"packages\":[{{\"SPDXID\":\"SPDXRef-lib\",\"name\":\"lib\",\"comment\":\"{x}\"}}]}}"
            ),
        ),
        (
            "spdx-tag-value",
            format!("SPDXVersion: SPDX-2.3\nPackageName: lib\nSPDXID: SPDXRef-lib\nPackageComment: <text>{x}</text>\n"),
        ),
        ("custom-json", format!("{{\n  \"run\": 42,\n  \"note\": \"{x}\"\n}}\n")),
        ("toml-config", format!("[app]\nreplicas = 3\nnote = \"{x}\"\n")),
        ("change-title", format!("Fix the export for {x} before release")),
        ("file-name", format!("reports/{x}.xml")),
    ]
}

fn never_shows(found: &[Finding], forms: &[&str]) -> Result<(), String> {
    let debug = format!("{found:?}");
    let json = serde_json::to_string(found).map_err(|e| e.to_string())?;
    for form in forms {
        if debug.contains(form) || json.contains(form) {
            return Err(format!("a finding shows the value: {debug}"));
        }
    }
    Ok(())
}

#[test]
fn every_value_in_every_encoding_and_carrier_is_found_without_echo() {
    let cfg = GuardConfig::default();
    let (mut cases, mut missed) = (0usize, Vec::new());
    let mut per_encoding = std::collections::BTreeMap::<&str, usize>::new();
    for (detector, value) in values() {
        for (encoding, encoded) in encodings(detector, &value) {
            for (carrier, doc) in carriers(&encoded) {
                cases += 1;
                *per_encoding.entry(encoding).or_default() += 1;
                let found = scan(&doc, &cfg);
                // A compressed value is read up to its stream's length (a view never grows):
                // a long token that compresses well is cut there, but its stream is refused as
                // `high-entropy` (random-looking base64 of 40 characters or more) all the same.
                let refused = found.iter().any(|f| f.detector == detector)
                    || (matches!(encoding, "zlib-base64" | "deflate-raw-base64" | "zlib-base32")
                        && found.iter().any(|f| f.detector == "high-entropy"));
                if !refused {
                    missed.push(format!("{detector} / {encoding} / {carrier}: {found:?}"));
                }
                if let Err(e) = never_shows(&found, &[&value, &encoded]) {
                    missed.push(format!("{detector} / {encoding} / {carrier}: {e}"));
                }
            }
        }
        // A value split across two CDATA sections, in the XML carriers.
        let (a, b) = value.split_at(pick(&value));
        let split = format!("<![CDATA[{a}]]><![CDATA[{b}]]>");
        for (carrier, doc) in carriers(&split) {
            if !matches!(carrier, "junit" | "cyclonedx-xml") {
                continue;
            }
            cases += 1;
            *per_encoding.entry("cdata-split").or_default() += 1;
            let found = scan(&doc, &cfg);
            if !found.iter().any(|f| f.detector == detector) {
                missed.push(format!("{detector} / cdata-split / {carrier}: {found:?}"));
            }
        }
    }
    // A SARIF message whose arguments, put into its text's placeholders, spell the value
    // (fourth round, 2026-12-04): each argument alone is no finding.
    for (detector, value) in values() {
        let (a, b) = value.split_at(pick(&value));
        // Each argument a JSON string (a value holding quotes is escaped, as SARIF writes it).
        let (a, b) = (serde_json::Value::from(a), serde_json::Value::from(b));
        let doc = format!(
            "{{\"version\":\"2.1.0\",\"runs\":[{{\"results\":[{{\"ruleId\":\"r1\",\"message\":{{\"text\":\"note {{0}}{{1}} end\",\"arguments\":[{a},{b}]}}}}]}}]}}"
        );
        cases += 1;
        *per_encoding.entry("sarif-arguments").or_default() += 1;
        let found = scan(&doc, &cfg);
        if !found.iter().any(|f| f.detector == detector) {
            missed.push(format!("{detector} / sarif-arguments: {found:?}"));
        }
        if let Err(e) = never_shows(&found, &[&value]) {
            missed.push(format!("{detector} / sarif-arguments: {e}"));
        }
    }
    eprintln!("{cases} cases: {per_encoding:?}");
    assert!(cases >= 200, "{cases}");
    assert!(
        missed.is_empty(),
        "{} of {cases} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

#[test]
fn a_private_keys_body_wrapped_narrow_without_its_header_is_found_in_every_carrier() {
    // Key material (xorshift) without `BEGIN`/`END` lines, wrapped at 32 columns or fewer: no
    // line reaches the 40-character `high-entropy` floor alone.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let key: Vec<u8> = (0..1190)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let body = base64::engine::general_purpose::STANDARD.encode(&key);
    let mut missed = Vec::new();
    for width in [32, 28, 20, 12] {
        for (name, wrapped) in [
            ("lines", wrap(&body, width, "\n", "")),
            ("indented", wrap(&body, width, "\n", "      ")),
            ("json-escaped-lines", wrap(&body, width, "\\n", "")),
        ] {
            for (carrier, doc) in carriers(&wrapped) {
                if matches!(carrier, "change-title" | "file-name") && name != "json-escaped-lines" {
                    continue;
                }
                let found = scan(&doc, &GuardConfig::default());
                if !found.iter().any(|f| f.detector == "high-entropy") {
                    missed.push(format!("{width} / {name} / {carrier}: {found:?}"));
                }
            }
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

#[test]
fn pretty_printed_names_and_values_on_separate_lines_are_found() {
    let cfg = GuardConfig::default();
    for (doc, detector) in [
        (
            "{\n  \"patient_name\": \"Jane Roe\",\n  \"mrn_hint\": null,\n  \"dob\": \"1980-01-02\"\n}\n",
            "dob-with-name",
        ),
        (
            "{\n  \"resourceType\": \"Patient\",\n  \"name\": [{\"family\": \"Roe\", \"given\": [\"Jane\"]}],\n  \"birthDate\": \"1980-01-02\"\n}\n",
            "dob-with-name",
        ),
        (
            "{\n  \"patient_email\":\n      \"jane.roe@example.org\"\n}\n",
            "patient-contact",
        ),
        ("{\n  \"mrn\":\n      \"00123456\"\n}\n", "mrn"),
        (
            "<patient>\n  <medical_record_number>\n    00123456\n  </medical_record_number>\n</patient>\n",
            "mrn",
        ),
        (
            "<patient>\n  <name>Jane Roe</name>\n  <dob>1980&#x2D;01&#x2D;02</dob>\n</patient>\n",
            "dob-with-name",
        ),
        (
            "{\n  \"name\": \"Jane Roe\",\n  \"birth\\u0044ate\": \"1980-01-02\"\n}\n",
            "dob-with-name",
        ),
    ] {
        let found = scan(doc, &cfg);
        assert!(found.iter().any(|f| f.detector == detector), "{doc}: {found:?}");
        assert!(!format!("{found:?}").contains("1980"), "{found:?}");
    }
}

/// Records written as tables, SQL and file names that the attack review of 2026-12-05 found
/// stored past the guard: each must be refused, and no finding may show the value.
#[test]
fn table_sql_and_file_name_evasions_of_the_attack_review_are_found() {
    let cfg = GuardConfig::default();
    let key = "sk9f8e7d6c5b4a3928171615141312111009f8e7";
    let docs: Vec<(String, &str)> = vec![
        (
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nx,y\nx,y\nx,y\nx,y\nlast,first,ssn,dob\nRoe,Jane,219451100,1980-01-02\n".into(),
            "us-ssn",
        ),
        ("last,first,ssn,dob\n\nRoe,Jane,219451100,1980-01-02\n".into(), "us-ssn"),
        (
            "+------+-------+-----------+\n| last | first | ssn       |\n+------+-------+-----------+\n| Roe  | Jane  | 219451100 |\n+------+-------+-----------+\n".into(),
            "us-ssn",
        ),
        (" last | first |    ssn\n------+-------+-----------\n Roe  | Jane  | 219451100\n".into(), "us-ssn"),
        ("last,first,ssn,dob\nRoe,Jane,219451100,1980-01-02,\n".into(), "us-ssn"),
        (",last,first,ssn,dob\n0,Roe,Jane,219451100,1980-01-02\n".into(), "us-ssn"),
        ("last,first,ssn,,,\nRoe,Jane,219451100,x,y,z\n".into(), "us-ssn"),
        ("Patient SSN #,dob\n219451100,1980-01-02\n".into(), "us-ssn"),
        ("Prénom du patient,dob\nJane Roe,1980-01-02\n".into(), "dob-with-name"),
        ("last,first,ssn,dob\rRoe,Jane,219451100,1980-01-02\r".into(), "us-ssn"),
        ("name,ssn\n\"Roe,\nJane\",\"219451100\"\n".into(), "us-ssn"),
        ("INSERT INTO p (name, dob) VALUES ('Jane Roe', '1980-01-02'::date);".into(), "dob-with-name"),
        ("INSERT INTO p (created, ssn) VALUES (now(), '219451100');".into(), "us-ssn"),
        ("INSERT [dbo].[Patient] ([Name], [BirthDate]) VALUES (N'Jane Roe', CAST(N'1980-01-02' AS Date))".into(), "dob-with-name"),
        ("REPLACE INTO p (name, ssn) VALUES ('Jane Roe', '219451100');".into(), "us-ssn"),
        ("INSERT INTO p (note, ssn) VALUES ('it\\'s', '219451100');".into(), "us-ssn"),
        (format!("INSERT INTO p (note, ssn) VALUES ('{}', '219451100');", "x".repeat(5000)), "us-ssn"),
        ("INSERT INTO p (id, ssn) VALUES (@id, '123'), ($1, '219451100');".into(), "us-ssn"),
        (format!("service,api_key\nbilling,{key}\n"), "labelled-secret"),
        (format!("id,json\n1,\"{{\"\"api_key\"\": \"\"{key}\"\"}}\"\n"), "labelled-secret"),
        ("<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>".into(), "aws-secret-key"),
        (format!("{{ 'api_key' => '{key}' }}"), "labelled-secret"),
        (format!("clientSecret: {key}"), "labelled-secret"),
        (format!("ENCRYPTION_KEY={key}"), "labelled-secret"),
        (format!("client secret: {key}"), "labelled-secret"),
        (format!("{}/reports/Roe_Jane_19800102.pdf", "dir/".repeat(80)), "name-with-date"),
        ("Jane.Roe.1980-01-02.pdf".into(), "name-with-date"),
    ];
    let mut missed = Vec::new();
    for (doc, detector) in &docs {
        let found = scan(doc, &cfg);
        if !found.iter().any(|f| f.detector == *detector) {
            missed.push(format!("{detector}: {doc:?} gave {found:?}"));
        }
        let shown = format!("{found:?}{}", serde_json::to_string(&found).unwrap());
        for value in ["219451100", "1980-01-02", key, "wJalrXUtnFEMI"] {
            assert!(!shown.contains(value), "{shown}");
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

fn hex_of(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

fn uuid_of(seed: &str) -> String {
    let h = hex_of(seed);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Realistic clean documents: the fixtures real tools wrote, and generated reports full of
/// digests, SHAs, UUIDs, timestamps, semver and base64.
fn clean_documents() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for name in [
        "pytest.xml",
        "pytest-passing.xml",
        "nextest.xml",
        "jest-junit.xml",
        "semgrep.sarif",
        "bandit.sarif",
        "checkov.sarif",
        "cyclonedx-py-1.4.json",
        "cyclonedx-py-1.6.json",
        "cyclonedx-py-1.4.xml",
        "cyclonedx-py-1.6.xml",
        "sbom4python-2.3.spdx",
        "sbom4python-2.3.spdx.json",
        "pip-audit-all-skipped.json",
        "public/surefire.xml",
        "public/trivy.json",
        "public/grype.json",
        "public/cyclonedx-vex.json",
        "statement-v1-slsa1.ed25519.dsse.json",
        "statement-v1-slsa1.rsa.dsse.json",
        "statement-v01-slsa02.ecdsa.dsse.json",
        "intoto-link-ed25519.dsse.json",
        "intoto-link-ed25519.link",
        "intoto-link-rsa.link",
        "intoto-link-ecdsa.link",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
        out.push((name.to_string(), text));
    }
    // Look-alikes of the forms added for the last evasions: image digests, package coordinates,
    // mail addresses with a field name, release titles with dates, ports, versions, camelCase
    // region names, percent-encoded URLs, hex digests in paths.
    out.push((
        "look-alikes.json".into(),
        format!(
            "{{\n  \"image\": \"alpine:3.18@sha256:{}\",\n  \"maven\": \"org.slf4j:slf4j-api@1.7.36\",\n  \"author\": \"mailto:jane@example.org\",\n  \"title\": \"Release Notes 2019-03-02\",\n  \"sprint\": \"Sprint Review 2026-12-03\",\n  \"built\": \"Jane Roe 2015-03-02T10:15:00Z\",\n  \"listen\": \"0.0.0.0:8443\",\n  \"zone\": \"asiaSoutheast1Region\",\n  \"url\": \"https://example.org/a%20b?q=release%2Dnotes\",\n  \"path\": \"cache/{}/index.json\",\n  \"coverage\": \"width=20 threshold=85\",\n  \"build_id\": 219451100,\n  \"startLine\": 123,\n  \"startColumn\": 45,\n  \"endLine\": 6789\n}}\n",
            hex_of("image"),
            hex_of("cache")
        ),
    ));
    // Look-alikes of the healthcare formats, contacts and vendor secrets (2026-12-04): ports,
    // durations, epoch times, versions and ids in tool output; a CSV of builds; git trailers
    // and SBOM contacts with mail addresses; anonymised DICOM; an HL7 code system listing `MR`;
    // an interface spec naming PID fields; X12 provider and payer segments; Azure URLs with no
    // signature; process tables.
    out.push((
        "formats-look-alikes.txt".into(),
        [
            "2026-12-03T10:15:00+01:00 INFO listening on 0.0.0.0:8443 (pid 4242), took 1234567890 ns",
            "elapsed 00:01:23.456, epoch 1700000000123, build #5551234567, range 555-123-4567",
            "service,version,date\napi,1.2.3,2026-01-02\nRelease,Notes,2019-03-02\nbuild,passed,2019-03-02",
            "Signed-off-by: Jane Roe <jane@example.org>\nCo-authored-by: Dana Q <dana@users.noreply.github.com>",
            "Author: Jane Roe <jane.roe@gmail.com>\nauthor: jane.roe@gmail.com\nemail: security@acme.example",
            r#"{"authors": [{"name": "ACME Security", "email": "security@acme.example"}]}"#,
            r#"{"00100010": {"vr": "PN"}, "00100030": {"vr": "DA", "Value": []}, "00080020": {"vr": "DA", "Value": ["20260102"]}}"#,
            r#"{"resourceType": "CodeSystem", "url": "http://terminology.hl7.org/CodeSystem/v2-0203", "concept": [{"code": "MR", "display": "Medical record number"}, {"code": "DL", "display": "Driver's license number"}]}"#,
            "map PID-3 to the MRN, PID-5 to the name, PID-7 to the birth date, PID-8 - sex",
            "NM1*85*2*ACME CLINIC*****XX*1234567893~NM1*PR*2*PAYER*****PI*12345~",
            "https://acct.blob.core.windows.net/c?sv=2022-11-02&restype=container&comp=list",
            "PID   PPID CMD\n4242  1    /usr/bin/ward serve --listen 0.0.0.0:8443",
            "PID,PPID,CMD,%CPU,%MEM",
            "PID:4242: 2026-12-03 10:15:30: ready: ok; cat /proc/PID/1/fd/3/x",
            "dl: pending; the driver's license page; <dl><dt>term</dt></dl>",
            "AM01 received; CAUTION: CBOR parser and CA bundle updated",
            "sk-learn 1.5.0, skeleton 2.0, SKU 12345, glpat docs, hvs docs",
        ]
        .join("\n"),
    ));
    // Look-alikes of tables, SQL and file names (2026-12-04, sixth round): test results and
    // pytest's CSV, a dependency list, a Markdown release table, SQL migrations and seed data,
    // a TSV of coverage, artifact and report names with dates and build numbers.
    out.push((
        "test-results.csv".into(),
        "name,status,duration,date\ntest_login,passed,1.204,2024-01-02\ntest_logout,failed,0.4,2019-03-02\nTestExportFlow,passed,3.1,2018-05-06\ntest_patient_search,skipped,0,2026-12-04\n".into(),
    ));
    out.push((
        "pytest.csv".into(),
        "nodeid,outcome,duration,when\ntests/test_api.py::test_get_item[219451100],passed,0.0123,call\ntests/test_api.py::test_list_patients,passed,0.2,call\ntests/test_dates.py::test_parse[1980-01-02],passed,0.001,call\n".into(),
    ));
    out.push((
        "dependencies.csv".into(),
        "package;version;license;published\nserde;1.0.219;MIT OR Apache-2.0;2019-01-02\nregex;1.11.1;MIT;2018-03-04\nbase64;0.22.1;MIT;2017-05-06\n".into(),
    ));
    out.push((
        "releases.md".into(),
        "# Releases\n\n| Service | Version | Date | Owner |\n|---|---|---|---|\n| Release Notes | 1.2.3 | 2019-03-02 | platform |\n| api | 2.0.0 | 2026-01-02 | payments |\n\n| Metric | Value |\n|--------|-------|\n| build_id | 219451100 |\n| run | 123456789 |\n".into(),
    ));
    out.push((
        "migrations.sql".into(),
        "CREATE TABLE builds (id BIGINT, name TEXT, started DATE);\nINSERT INTO builds (id, name, started) VALUES (219451100, 'Nightly Build', '2018-01-02'), (219451101, 'Release Candidate', DATE '2019-03-04');\nINSERT INTO releases VALUES (1, 'Release', 'Notes', DATE '2019-03-02');\nINSERT INTO settings (key, value) VALUES ('retention_days', '3650');\n".into(),
    ));
    out.push((
        "coverage.tsv".into(),
        "file\tlines\tcovered\tpercent\nsrc/lib.rs\t1234567\t1200000\t97.2\nsrc/guard.rs\t4441\t4000\t90.1\n".into(),
    ));
    out.push((
        "artifact-names.txt".into(),
        [
            "ward-cli_1.2.3_2024-01-02.tar.gz",
            "test_results_2024-05-01.xml",
            "release-notes-2023-11-30.md",
            "junit-TestLoginFlow-20240102.xml",
            "dist/app-1.2.3-x86_64-unknown-linux-gnu_20190102.tar.gz",
            "reports/Release_Notes_2019-03-02.pdf",
            "build_2019-03-02_123456.log",
            "coverage-report-20180102.html",
            "sbom/cyclonedx-1.6_app_1234567.json",
        ]
        .join("\n"),
    ));
    // Look-alikes the attack review of the table views found refused (2026-12-05): Title Case
    // headers over old dates, business documents' file names, a download column, a wide CSV of
    // flags and counts, a psql printout of builds, a SQL seed with function values and casts.
    out.push((
        "vendors.csv".into(),
        "Vendor,Contract Signed,Training Completed,DL\nAcme,2018-04-01,2019-03-02,12345678\nGlobex,2017-01-02,2018-12-31,98765432\n".into(),
    ));
    out.push((
        "compliance-files.txt".into(),
        [
            "Vendor_Contract_2018-04-01.pdf",
            "SOC2_Type_II_Report_2019-12-31.pdf",
            "audits/Annual_Security_Assessment_2019-06-30.pdf",
            "ward-cli.1.2.3.2024-01-02.tar.gz",
        ]
        .join("\n"),
    ));
    let flags: Vec<String> = (0..80).map(|i| format!("feature_flag_{i:02}_enabled")).collect();
    let rows: String = (0..50)
        .map(|r| {
            format!(
                "{}\n",
                (0..80).map(|i| ((r + i) % 2).to_string()).collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    out.push(("flags.csv".into(), format!("{}\n{rows}", flags.join(","))));
    out.push((
        "builds.psql".into(),
        " id        | name           | started\n-----------+----------------+------------\n 219451100 | Nightly Build  | 2018-01-02\n 219451101 | Release Notes  | 2019-03-02\n(2 rows)\n".into(),
    ));
    out.push((
        "seed.sql".into(),
        "INSERT INTO builds (id, name, started, created) VALUES (219451100, N'Nightly Build', '2018-01-02'::date, now()), (219451101, 'Release Candidate', CAST(N'2019-03-04' AS Date), now());\nINSERT OR REPLACE INTO settings (key, value) VALUES ('retention_days', '3650');\n".into(),
    ));
    // Look-alikes of wrapped and spaced encodings: PEM certificates (no private key), an e-mail
    // with a binary attachment (76 columns, CRLF), checksum lists and SBOM hashes one per line,
    // a pretty-printed DSSE envelope, an application log without JWTs, spaced hex ids.
    out.push((
        "ca-roots.pem".into(),
        std::fs::read_to_string(dir.join("ca-roots.pem")).expect("fixture"),
    ));
    let binary: Vec<u8> = (0..64u32)
        .flat_map(|i| Sha256::digest(i.to_be_bytes()).to_vec())
        .collect();
    out.push((
        "attachment.eml".into(),
        format!(
            "From: ci@example.org\r\nSubject: Build 2026-12-03 artefacts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe build log is attached.\r\n--b1\r\nContent-Type: application/octet-stream; name=\"app.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            wrap(&base64::engine::general_purpose::STANDARD.encode(&binary), 76, "\r\n", "")
        ),
    ));
    out.push((
        "SHA256SUMS".into(),
        (0..16)
            .map(|i| format!("{}  dist/app-1.{i}.0.tar.gz\n", hex_of(&format!("dist {i}"))))
            .collect(),
    ));
    out.push((
        "hashes.spdx".into(),
        (0..8)
            .map(|i| {
                format!(
                    "PackageName: lib{i}\nPackageChecksum: SHA256: {}\nPackageChecksum: SHA1: {}\nFileChecksum: SHA256:\n    {}\n",
                    hex_of(&format!("pkg {i}")),
                    &hex_of(&format!("sha1 {i}"))[..40],
                    hex_of(&format!("file {i}"))
                )
            })
            .collect(),
    ));
    out.push((
        "dsse-pretty.json".into(),
        format!(
            "{{\n  \"payloadType\": \"application/vnd.in-toto+json\",\n  \"payload\": \"{}\",\n  \"signatures\": []\n}}\n",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{{\"name\":\"app\",\"digest\":{{\"sha256\":\"{}\"}}}}],\"predicateType\":\"https://slsa.dev/provenance/v1\"}}",
                hex_of("subject")
            ))
        ),
    ));
    out.push((
        "app.log".into(),
        (0..40)
            .map(|i| {
                format!(
                    "2026-12-03T10:{:02}:{:02}.{:03}Z INFO  req={} span={} user=svc-{i:04} GET /api/v1/items/{} 200 {}ms\n",
                    i % 60,
                    (i * 7) % 60,
                    i * 13 % 1000,
                    &hex_of(&format!("req {i}"))[..16],
                    &hex_of(&format!("span {i}"))[..8],
                    uuid_of(&format!("item {i}")),
                    i * 7 % 300
                )
            })
            .collect(),
    ));
    out.push((
        "hexdump.txt".into(),
        (0..8)
            .map(|i| {
                let h = hex_of(&format!("dump {i}"));
                format!("{:08x}  {}\n", i * 16, wrap(&h[..32], 2, " ", ""))
            })
            .collect(),
    ));
    for i in 0..16 {
        let sha = hex_of(&format!("artifact {i}"));
        let git = &hex_of(&format!("commit {i}"))[..40];
        let uuid = uuid_of(&format!("serial {i}"));
        let time = format!("2026-{:02}-{:02}T{:02}:15:{:02}.123Z", i % 12 + 1, i + 1, i, i * 3);
        let b64_hash = base64::engine::general_purpose::STANDARD.encode(&Sha256::digest(sha.as_bytes())[..18]);
        let payload = base64::engine::general_purpose::STANDARD.encode(format!(
            "{{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{{\"name\":\"app\",\"digest\":{{\"sha256\":\"{sha}\"}}}}]}}"
        ));
        out.push((
            format!("junit-{i}.xml"),
            format!(
                "<?xml version=\"1.0\"?>\n<testsuite name=\"svc-{i}\" tests=\"2\" timestamp=\"{time}\" hostname=\"runner-{git}\">\n  <properties><property name=\"commit\" value=\"{git}\"/><property name=\"build\" value=\"{uuid}\"/></properties>\n  <testcase classname=\"tests.test_api_{i}\" name=\"test_digest_sha256_{sha}\" time=\"0.{i}12\"/>\n  <testcase classname=\"tests.test_api_{i}\" name=\"test_release_1.{i}.0-rc.{i}+build.{i}\"><system-out>&lt;ok&gt; version 2.{i}.1 &amp; dated {time}</system-out></testcase>\n</testsuite>\n"
            ),
        ));
        out.push((
            format!("cyclonedx-{i}.json"),
            format!(
                "{{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.6\",\n  \"serialNumber\": \"urn:uuid:{uuid}\",\n  \"metadata\": {{\"timestamp\": \"{time}\"}},\n  \"components\": [{{\"name\": \"requests\", \"version\": \"2.32.{i}\", \"purl\": \"pkg:pypi/requests@2.32.{i}\", \"hashes\": [{{\"alg\": \"SHA-256\", \"content\": \"{sha}\"}}], \"properties\": [{{\"name\": \"cdx:hash:b64\", \"value\": \"{b64_hash}\"}}, {{\"name\": \"vcs\", \"value\": \"git+https://github.com/psf/requests@{git}\"}}]}}]\n}}\n"
            ),
        ));
        if i < 8 {
            out.push((
                format!("statement-{i}.dsse.json"),
                format!(
                    "{{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"{payload}\",\"signatures\":[{{\"keyid\":\"{sha}\",\"sig\":\"{}\"}}]}}",
                    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(format!("sig {i}").as_bytes()).repeat(2))
                ),
            ));
        }
    }
    // Base64 digests where lock files and SBOMs write them, versions with dots, labels that
    // hold no secret (sixth round, 2026-12-04): go.sum, package-lock.json, SRI, Nix, CycloneDX
    // hashes in base64, a `.env` of references, git SHAs labelled `commit`.
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut go_sum = String::new();
    let mut lock = String::from("{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n");
    let mut nix = String::from("{ fetchurl }: [\n");
    let mut cdx = String::from("{\"bomFormat\": \"CycloneDX\", \"components\": [\n");
    for i in 0..16 {
        let h = |alg: &str| Sha256::digest(format!("{alg} {i}").as_bytes());
        let h512 = [h("a").as_slice(), h("b").as_slice()].concat();
        let h384 = &h512[..48];
        go_sum.push_str(&format!(
            "github.com/acme/mod{i} v1.{i}.0 h1:{}\ngithub.com/acme/mod{i} v1.{i}.0/go.mod h1:{}\n",
            b64(&h("go")),
            b64(&h("mod"))
        ));
        lock.push_str(&format!(
            "    \"node_modules/pkg{i}\": {{\n      \"version\": \"1.{i}.0\",\n      \"resolved\": \"https://registry.npmjs.org/pkg{i}/-/pkg{i}-1.{i}.0.tgz\",\n      \"integrity\": \"sha512-{}\"\n    }},\n",
            b64(&h512)
        ));
        nix.push_str(&format!(
            "  (fetchurl {{ url = \"https://example.org/src-{i}.tar.gz\"; hash = \"sha256-{}\"; }})\n",
            b64(&h("nix"))
        ));
        cdx.push_str(&format!(
            "  {{\"name\": \"lib{i}\", \"version\": \"2.{i}.0\", \"hashes\": [{{\"alg\": \"SHA-256\", \"content\": \"{}\"}}, {{\"alg\": \"SHA-384\", \"content\": \"{}\"}}]}},\n",
            b64(&h("cdx")),
            b64(h384)
        ));
    }
    lock.push_str("  }\n}\n");
    nix.push_str("]\n");
    cdx.push_str("  {}\n]}\n");
    out.push(("go.sum".into(), go_sum));
    out.push(("package-lock.json".into(), lock));
    out.push(("sources.nix".into(), nix));
    out.push(("cyclonedx-base64-hashes.json".into(), cdx));
    out.push((
        "sri.html".into(),
        format!(
            "<script src=\"https://cdn.example.org/lib.js\" integrity=\"sha384-{}\" crossorigin=\"anonymous\"></script>\n",
            b64(&[Sha256::digest(b"sri").as_slice(), &Sha256::digest(b"sri2")[..16]].concat())
        ),
    ));
    out.push((
        "release.env".into(),
        format!(
            "VERSION=219.45.1100\nRELEASE_NOTES=\"Version 219.45.1100 released\"\nDD_API_KEY=${{DD_API_KEY}}\nGITHUB_TOKEN=${{{{ secrets.GITHUB_TOKEN }}}}\ncommit: {}\ndl: v1-download\nAuthorization: Bearer $TOKEN\n",
            &hex_of("release")[..40]
        ),
    ));
    out
}

#[test]
fn clean_documents_give_no_finding_in_any_view() {
    let cfg = GuardConfig::default();
    let docs = clean_documents();
    assert!(docs.len() >= 30, "{}", docs.len());
    let mut noisy = Vec::new();
    for (name, text) in &docs {
        // DSSE envelopes are scanned the way the server scans them: signatures blanked, the
        // payload decoded (`evidence::guard`).
        let found = match ward_evidence::intoto::dsse_guard_views(text.as_bytes()) {
            Some((skeleton, payload)) => {
                let mut f = scan(&skeleton, &cfg);
                f.extend(scan(&payload, &cfg));
                f
            }
            None => scan(text, &cfg),
        };
        // Known and older than the views: Grype's Fedora advisory URLs end in a 32-character
        // upper-case message id, which the raw high-entropy detector flags.
        // Random bytes in base64 lines (certificates, a binary attachment) are high-entropy in
        // the raw text, line by line, as they were before; no view may add anything.
        let known = |f: &Finding| {
            matches!(name.as_str(), "public/grype.json" | "ca-roots.pem" | "attachment.eml")
                && f.detector == "high-entropy"
                && f.decoded.is_none()
        };
        let found: Vec<&Finding> = found.iter().filter(|f| !known(f)).collect();
        if !found.is_empty() {
            noisy.push(format!("{name}: {found:?}"));
        }
    }
    assert!(noisy.is_empty(), "{}", noisy.join("\n"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// What the fuzz target checks, on text made of the decoders' tokens: scanning never panics,
    /// findings are in order and each span reads back from the original on character
    /// boundaries, and redaction never panics and leaves none of the spans found.
    #[test]
    fn scanning_and_redacting_token_soup_never_panics(parts in proptest::collection::vec(
        proptest::sample::select(vec![
            "&#x2D;", "&amp;#45;", "&#", "&", ";", "<![CDATA[", "]]>", "\\u002d", "\\uD83D", "\\uDE00",
            "\\U0000002D", "\\", "123", "45", "6789", "-", " ", "\n", "ssn ", "Ѕ", "Ρ", "\u{200B}",
            "\u{AD}", "\u{2011}", "１", "é", "e\u{301}", "ﷺ", "U1NOIDEyMy00NS02Nzg5", "=", "+", "/",
            "_", "AKIA", "akia", "IOSFODNN7EXAMPLE", "dob ", "born ", "1980-01-02", "Jane Roe ",
            "-----BEGIN ", "PRIVATE KEY-----", "%2D", "%E2%80%91", "=2D", "=31=32", "=\n", "&hyphen;",
            "&nbsp;", "<b/>", "</td><td>", "\",\n  \"b\": \"", "\" + \"", "GEZDGLJUGUWTMNZYHE", "3132332d3435",
            "MTIzLTQ1LTY3ODk=", "1 2 3 - ", "4 5 - 6 7 8 9", "admin:pw@db", "Roe^Jane||", "19800102", "JANE ROE ",
            "AkIaIoSfOdNn7ExAmPlE",
        ]),
        0..60,
    )) {
        let text: String = parts.concat();
        let found = scan(&text, &GuardConfig::default());
        for w in found.windows(2) {
            proptest::prop_assert!((w[0].line, w[0].column) <= (w[1].line, w[1].column), "{found:?}");
        }
        for f in &found {
            proptest::prop_assert!(f.span(&text).is_some(), "{f:?}");
        }
        let cleaned = ward_evidence::guard::redact(&text, &found);
        let spans: Vec<&str> = found.iter().filter_map(|f| f.span(&text)).collect();
        // Where each finding starts in the original: a span found again after redaction
        // survived only if none of its occurrences in the original was left unfound (a value
        // glued to a neighbour — `…PlEU1NO…` — can stand alone once the neighbour is redacted:
        // another occurrence, not a survivor).
        let line_starts: Vec<usize> =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let covered: Vec<(usize, usize)> = found
            .iter()
            .filter_map(|f| {
                let start = line_starts.get(f.line - 1)? + f.column - 1;
                Some((start, start + f.span(&text)?.len()))
            })
            .collect();
        let unfound_elsewhere = |s: &str| {
            text.match_indices(s)
                .any(|(i, _)| !covered.iter().any(|&(a, b)| a <= i && i + s.len() <= b))
        };
        for f in scan(&cleaned, &GuardConfig::default()) {
            let survived = f.span(&cleaned).is_some_and(|s| spans.contains(&s) && !unfound_elsewhere(s));
            proptest::prop_assert!(!survived, "{f:?} survived");
        }
    }
}
