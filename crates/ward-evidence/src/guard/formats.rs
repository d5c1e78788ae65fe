//! Detectors of healthcare interchange formats, contacts written without a patient label, and
//! vendor secrets (the forms an attacker helper stored past the guard, 2026-12-04). Each is one
//! regex pass (or a bounded check of its match); none leans on a word boundary before a value.
//!
//! - `ccda-patient`: an HL7 v3 / C-CDA `<birthTime value="19800102"/>` (also `"birthTime":`)
//!   with a person's name field (`<name>`, `<given>`, `<family>`, `patient`, a capitalised pair)
//!   within [`super::NAME_WINDOW`] bytes.
//! - `us-ssn`: HL7 v3 `<id root="2.16.840.1.113883.4.1" extension="…"/>` (the OID of the US
//!   SSN), either attribute order.
//! - `dicom-patient`: DICOM JSON `"00100010"`/`"00100020"`/`"00100030"` (PatientName, ID,
//!   BirthDate) with a non-empty `Value`; DICOM XML `<DicomAttribute tag="00100010">` with a
//!   value; `dcmdump`'s `(0010,0010) PN [Roe^Jane]`.
//! - `ncpdp-patient`: an NCPDP telecom patient segment: `AM01` then, among the fields that
//!   follow it (each two capitals or digits and its value, after a space or `\x1c`), two of
//!   `CA` (first name), `CB` (last name), `C4` (birth date); or two of them right after the
//!   field separator `\x1c` within one segment.
//! - `fhir-identifier`: a FHIR `"code": "MR"` (or `SS`, `MB`, `MA`, `MC`, `DL`, `PPN`, `PT`,
//!   `PI`, `JHN`, `SB`) within 512 bytes of `"identifier"` or `v2-0203` and of a `"value": "…"`;
//!   a `"system"` of `http://hl7.org/fhir/sid/us-ssn`, `…/us-mbi`, `…/us-medicare` or the SSN OID
//!   within 512 bytes of a value.
//! - `medicare-mbi`: see [`mbi_patterns`].
//! - `drivers-licence`: a value with a digit after `driver's license`, `drivers_licence_no`,
//!   `driving licence`, `DLN` or `DL` (the short labels only as a key: `dl: …`, `DL#…`).
//! - `hl7-pid`: a `PID` segment whose field separator is not `|` (declared in `MSH`: `PID#1##…`;
//!   see [`HL7_SEPARATORS_NEEDING_MSH`]).
//! - `x12-patient`: X12 `NM1` of an insured or patient person (`NM1*IL*1*ROE…`, `NM1*QC*1*…`), an
//!   `NM1` whose id qualifier is `34` (SSN), `DMG*D8*<date>` and `REF*SY*<ssn>`, with `*`, `|`,
//!   `^`, `:`, `!` or `+` as element separator.
//! - `personal-email`: see [`FREE_MAIL`] (the key also an XML element: `<email>…`); `mail-recipient`: `To:`/`Cc:`/`Bcc:` with a display
//!   name and an address; `phone-number`: see [`phone_pattern`].
//! - `patient-record`: a JSON `"patient": {…}` object (no nested object) whose values hold a
//!   name-like string and a date.
//! - Secrets: `gitlab-token`, `azure-sas` (a `sig=` in a query that also has `sv=`, or `se=` and
//!   `sp=`), `azure-storage-key` (`AccountKey=`, `SharedAccessKey=`), `npm-token`, `pypi-token`,
//!   `openai-key`, `anthropic-key`, `vault-token`, `sendgrid-key`, `twilio-key`, and PuTTY key
//!   files as `private-key`; since the sixth round (2026-12-04) Stripe webhook secrets
//!   (`whsec_…`, as `stripe-key`), `huggingface-token` (`hf_…`), `google-oauth-secret`
//!   (`GOCSPX-…`), `newrelic-key` (`NRAK-…`), `telegram-bot-token`, `shopify-token`
//!   (`shpat_`/`shpss_`/`shpca_`/`shppa_` and 32 hex), `digitalocean-token` (`dop_v1_…`),
//!   `mailgun-key` (`key-` and 32 hex after a `mailgun` or `api_key` label), `otp-secret`
//!   (`otpauth://…?secret=…`), `sentry-dsn` (a key before `@…sentry…/`), `aws-secret-key` (40
//!   characters after `aws_secret_access_key`, `SecretAccessKey`, `secret_key`), `bearer-token`
//!   (`Authorization: Bearer …`, 20 characters or more) and `labelled-secret` (a value of 32
//!   letters, digits, `_` or `-` or more after `*_API_KEY`, `apiKey`, `*_TOKEN`, `*_SECRET`,
//!   `*_SECRET_KEY`, `*_ACCESS_KEY`: `DD_API_KEY=…`; a git SHA labelled `commit` is no secret,
//!   one labelled `*_TOKEN` is). Each such value is letters and digits, or both cases, not a
//!   placeholder (`YOUR_TOKEN_HERE`).

use super::{Context, Detector, Find, always, char_at, char_before, names_a_person, not_a_name};
use regex::Regex;

/// How far (bytes) an identifier's type code may stand from its value and from `identifier`.
pub const FHIR_WINDOW: usize = 512;

/// How far (bytes) either side of an Azure SAS signature its query's other parameters are looked
/// for (a query is about 150 bytes; the check reads at most twice this per signature).
pub const SAS_WINDOW: usize = 256;

/// Consumer and free-mail domains: a mail address there after an `email`/`e-mail`/`mail` key
/// (`email: jane.roe@gmail.com`, `"e-mail": "…"`) is a person's private contact. Not refused:
/// an unlabelled address at any domain (commit authors, SBOM suppliers such as
/// `Organization: Ahmed R. (tahri.ahmed@proton.me)`, OIDC identities are mail addresses), nor a
/// labelled one at another domain (Ward's own users, CycloneDX contacts).
pub const FREE_MAIL: &[&str] = &[
    "126.com",
    "163.com",
    "aol.com",
    "att.net",
    "bellsouth.net",
    "charter.net",
    "comcast.net",
    "cox.net",
    "earthlink.net",
    "fastmail.com",
    "free.fr",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.co.uk",
    "hotmail.com",
    "icloud.com",
    "laposte.net",
    "libero.it",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "optonline.net",
    "orange.fr",
    "outlook.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "sbcglobal.net",
    "t-online.de",
    "tutanota.com",
    "verizon.net",
    "web.de",
    "yahoo.co.uk",
    "yahoo.com",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
];

/// Free-mail providers under any country's domain (`yahoo.fr`, `outlook.de`, `gmx.at`): see
/// [`free_mail_host`].
pub const FREE_MAIL_PROVIDERS: &[&str] = &[
    "aol",
    "gmail",
    "gmx",
    "googlemail",
    "hotmail",
    "icloud",
    "live",
    "msn",
    "outlook",
    "protonmail",
    "yahoo",
    "yandex",
    "ymail",
];

/// Whether a mail host is a consumer provider's: one of [`FREE_MAIL`], a host under one
/// (`mx.gmail.com`), one followed by more labels (a file name `jane@gmail.com.txt`, a
/// look-alike host `gmail.com.evil`), or one of [`FREE_MAIL_PROVIDERS`] under a country's
/// domain (`yahoo.fr`, `outlook.co.uk`) — not a company's host that starts with the same word
/// (`live.acme-health.com`). One list for the guard's `personal-email` detector and for leaf
/// identifiers (`ward-app`'s `identifier`).
pub fn free_mail_host(host: &str) -> bool {
    // A sentence's full stop is no label (`jroe@yahoo.de.`).
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let listed = FREE_MAIL.iter().any(|d| {
        host.strip_prefix(d)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            || host.strip_suffix(d).is_some_and(|rest| rest.ends_with('.'))
    });
    // A provider under a country's domain: `yahoo.fr`, `outlook.co.uk`, `yahoo.com.br` — not a
    // company's or a government's host under the same word (`live.va.gov`, `outlook.bbc.co.uk`:
    // the review of this session).
    let labels: Vec<&str> = host.split('.').collect();
    let country = |l: &str| l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase());
    let under_country = match labels[..] {
        [p, cc] => FREE_MAIL_PROVIDERS.contains(&p) && (country(cc) || cc == "com"),
        [p, second, cc] => FREE_MAIL_PROVIDERS.contains(&p) && matches!(second, "co" | "com") && country(cc),
        _ => false,
    };
    listed || under_country
}

const MBI_L: &str = "[AC-HJKMNP-RT-Yac-hjkmnp-rt-y]";
const MBI_AN: &str = "[AC-HJKMNP-RT-Yac-hjkmnp-rt-y0-9]";

fn re(p: &str) -> Regex {
    Regex::new(p).expect("built-in pattern")
}

fn d(name: &'static str, pattern: &str, check: super::Check) -> Detector {
    Detector {
        name,
        find: Find::Regex(re(pattern), 0),
        check,
    }
}

fn d1(name: &'static str, pattern: &str, check: super::Check) -> Detector {
    Detector {
        name,
        find: Find::Regex(re(pattern), 1),
        check,
    }
}

/// No letter or digit right before `start` or right after `end`.
fn stands_alone(_: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    !alnum(char_before(cx, start)) && !alnum(char_at(cx, end))
}

/// No digit right before `start` or right after `end`.
fn no_digit_beside(_: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    !digit(char_before(cx, start)) && !digit(char_at(cx, end))
}

/// Nine digits (dashes allowed) that are no part of a longer number.
fn nine_digits(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    m.bytes().filter(u8::is_ascii_digit).count() == 9 && no_digit_beside(m, cx, start, end)
}

/// Whether a sorted position list has one in `lo..hi`.
fn any_within(list: &[usize], lo: usize, hi: usize) -> bool {
    let i = list.partition_point(|&p| p < lo);
    list.get(i).is_some_and(|&p| p < hi)
}

/// A FHIR identifier's type code with an `identifier` (or the v2-0203 code system) and a value
/// within [`FHIR_WINDOW`] bytes.
fn fhir_typed_identifier(_: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let (lo, hi) = (start.saturating_sub(FHIR_WINDOW), end.saturating_add(FHIR_WINDOW));
    any_within(cx.fhir_identifiers(), lo, hi) && any_within(cx.fhir_values(), lo, hi)
}

/// A FHIR identifier's system naming an SSN or MBI with a value within [`FHIR_WINDOW`] bytes.
fn fhir_system_identifier(_: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let (lo, hi) = (start.saturating_sub(FHIR_WINDOW), end.saturating_add(FHIR_WINDOW));
    any_within(cx.fhir_values(), lo, hi)
}

/// The positions of `"value": "<something>"` (a FHIR identifier's value).
pub(super) fn fhir_value_re() -> &'static Regex {
    static R: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    R.get_or_init(|| re(r#""value"\s*:\s*"[^"\s]"#))
}

/// The positions of `"identifier"` and of the identifier-type code system `v2-0203`.
pub(super) fn fhir_identifier_re() -> &'static Regex {
    static R: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    R.get_or_init(|| re(r#"(?i:"identifier")|v2-0203"#))
}

/// A value after a driver's licence label: holds a digit, nothing alphanumeric follows it, and
/// no word of four lower-case letters or more is in it (`dl: v1-download` is a download).
fn licence_value(m: &str, cx: &Context<'_>, _: usize, end: usize) -> bool {
    let word = m.as_bytes().split(|b| !b.is_ascii_lowercase()).any(|w| w.len() >= 4);
    m.bytes().any(|b| b.is_ascii_digit()) && !word && !char_at(cx, end).is_some_and(|c| c.is_ascii_alphanumeric())
}

/// An address at a consumer mail domain: its host is one, or starts with one and a dot (a
/// file name `jane@gmail.com.txt`, a look-alike host).
fn free_mail(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    m.rsplit_once('@').is_some_and(|(_, host)| free_mail_host(host))
}

/// A phone number's digits: 10 (11 with a leading `1`), no digit beside it.
fn phone_digits(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let n = m.bytes().filter(u8::is_ascii_digit).count();
    (7..=15).contains(&n) && no_digit_beside(m, cx, start, end) && !fictional_number(m)
}

/// A dotted phone number is no part of a longer dotted run (`3.212.867.5309`, `212.867.5309.1`
/// are versions or addresses) and passes [`phone_digits`].
fn dotted_phone(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let text = cx.text.as_bytes();
    let dotted_digit_before = start >= 2 && text[start - 1] == b'.' && text[start - 2].is_ascii_digit();
    let dotted_digit_after = text.get(end) == Some(&b'.') && text.get(end + 1).is_some_and(u8::is_ascii_digit);
    // Part of a name or a version (`v212.867.5309`, `build-212.867.5309`, `…-rc1`, `…+meta`):
    // a helper's review of the fourteenth session's head. After `/` it is a file's name
    // (`reports/212.867.5309.xml`), as a browser's version would be (`Chrome/…`): refused.
    let named_before = start >= 1 && (text[start - 1].is_ascii_alphanumeric() || text[start - 1] == b'-');
    let named_after =
        matches!(text.get(end), Some(b'-' | b'+' | b'_')) && text.get(end + 1).is_some_and(u8::is_ascii_alphanumeric);
    !dotted_digit_before
        && !dotted_digit_after
        && !named_before
        && !named_after
        && !super::after_version_word(cx, start)
        && phone_digits(m, cx, start, end)
}

/// A North American number in the range set aside for fiction and examples, `555-0100` to
/// `555-0199` (with or without its area code and `+1`), written in North American groups
/// (`555-0123`, `(212) 555-0142`, `+1 212 555 0199`, `2125550100`): nobody's phone. Another
/// country's number with the same digits is grouped otherwise (`0455 501 234`, `98755 50123`)
/// and stays a phone number.
fn fictional_number(m: &str) -> bool {
    let mut groups: Vec<&str> = m
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    if groups.first() == Some(&"1") {
        groups.remove(0);
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let digits: String = groups.concat();
    let local = match (lens.as_slice(), digits.len()) {
        ([7] | [3, 4], 7) => &digits[..],
        ([10] | [3, 3, 4] | [3, 7], 10) if (b'2'..=b'9').contains(&digits.as_bytes()[0]) => &digits[3..],
        _ => return false,
    };
    local.starts_with("55501")
}

/// Phone numbers without a patient label:
/// - a `tel:` URI (`tel:+1-555-123-4567`);
/// - the North American `(555) 123-4567` (area code in brackets) anywhere;
/// - `+1` and ten digits (`+15551234567`, `+1 555 123 4567`, `+1-555-123-4567`) anywhere;
/// - ten digits (`555-123-4567`, `555.123.4567`, `5551234567`), or `+`, a country code and
///   groups of digits (`+44 20 7946 0958`), after `phone`, `tel`, `cell`, `mobile`, `fax`, `ph`,
///   `telephone`, `contact number` (7 to 15 digits in all).
///
/// A bare `555-123-4567` is not refused unlabelled (build numbers, ids and ranges share the
/// shape), nor numbers of other countries (`+44 …`) without a label.
fn phone_pattern() -> String {
    let nanp = r"\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}";
    [
        r"(?:_|(?-u:\b))(?i:tel):\+?\d[\d().-]{6,20}\d",
        r"|\(\d{3}\)[ ]?\d{3}[ .-]\d{4}",
        r"|\+1[ .-]?\(?[2-9]\d{2}\)?[ .-]?\d{3}[ .-]?\d{4}",
        r"|(?i:(?:_|(?-u:\b))(?:phone|tel|telephone|cell|cellphone|mobile|fax|ph|contact[ _-]?(?:number|no)|call|sms|pager|whatsapp|voicemail)(?:_|(?-u:\b))(?:[\W_]{0,6}(?:number|num|no|home|work|mobile|cell|primary)(?-u:\b)[.)\]]?){0,2})[\W_&&[^\n]]{0,6}(?:\+?1[ .-]?)?(?:",
        nanp,
        // Labelled, another country's number: `+` and a country code (`+44 20 7946 0958`).
        r"|\+[1-9]\d{0,2}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){1,4}\d{2,4})",
    ]
    .concat()
}

/// The name-like strings and dates of a JSON `"patient": {…}` object's values.
fn patient_object(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    let (mut name, mut date) = (false, false);
    for (i, s) in m.split('"').enumerate() {
        if i % 2 == 0 || s.len() > 80 {
            continue;
        }
        name |= name_like(s);
        date |= date_like(s);
    }
    name && date
}

/// Two or more capitalised words (or words in capitals), two of them no [`super::NOT_NAMES`].
fn name_like(s: &str) -> bool {
    let words: Vec<&str> = s.split([' ', ',', '^']).filter(|w| !w.is_empty()).collect();
    words.len() >= 2
        && words.len() <= 5
        && words.iter().all(|w| {
            let b = w.as_bytes();
            b[0].is_ascii_uppercase()
                && b.iter()
                    .all(|c| c.is_ascii_alphabetic() || matches!(c, b'\'' | b'-' | b'.'))
        })
        && words.iter().filter(|w| !not_a_name(w)).count() >= 2
}

/// A calendar date: `1980-01-02`, `01/02/1980`, `19800102`.
fn date_like(s: &str) -> bool {
    let digits: Vec<&str> = s.split(['-', '/', '.']).collect();
    let num =
        |p: &str, n: std::ops::RangeInclusive<usize>| n.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    match digits.as_slice() {
        [y, m, d] if num(y, 4..=4) && num(m, 1..=2) && num(d, 1..=2) => true,
        [m, d, y] if num(y, 4..=4) && num(m, 1..=2) && num(d, 1..=2) => true,
        [one] => num(one, 8..=8) && (one.starts_with("19") || one.starts_with("20")),
        _ => false,
    }
}

/// An Azure SAS signature: its query (up to [`SAS_WINDOW`] bytes either side, no line break or quote) also has
/// `sv=` (the signed version), or both `se=` and `sp=`.
fn sas_query(_: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    // Not a space: a decoded view reads `sv=2022` as `sv 22` (quoted-printable `=20`).
    let stop = |b: &u8| matches!(b, b'\n' | b'\r' | b'\t' | b'"' | b'\'' | b'<' | b'>' | b'`');
    let bytes = cx.text.as_bytes();
    let lo = start.saturating_sub(SAS_WINDOW);
    let from = bytes[lo..start].iter().rposition(stop).map_or(lo, |i| lo + i + 1);
    let hi = end.saturating_add(SAS_WINDOW).min(bytes.len());
    let to = bytes[end..hi].iter().position(stop).map_or(hi, |i| end + i);
    let q = &bytes[from..to];
    // A key, then `=` or whatever a decoding made of it (`sv=2022` reads `sv 22` decoded as
    // quoted-printable).
    let has = |k: &[u8]| {
        q.windows(k.len() + 2).any(|w| {
            matches!(w[0], b'?' | b'&' | b';')
                && w[1..=k.len()].eq_ignore_ascii_case(k)
                && !w[k.len() + 1].is_ascii_alphanumeric()
        })
    };
    has(b"sv") || (has(b"se") && has(b"sp"))
}

/// The element separators an X12 interchange declares most (`*` by default).
const X12_SEPARATORS: &[char] = &['*', '|', '^', ':', '!', '+'];

/// HL7 v2 field separators other than `|` (declared as `MSH`'s fourth character). Not `-` or
/// `.`: documentation writes `PID-3` and `PID.5` for field references.
const HL7_SEPARATORS: &[char] = &[
    '#', '!', '$', '%', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '~', '^', '`', '\\',
];

/// Separators common in logs, paths, URLs and prose (`PID:4242: 2026-12-03 10:15:30: ready`,
/// `/proc/PID/1/…`, `a=PID&b=…`): a `PID` segment written with one of them is refused only
/// when an `MSH` segment before it declares it (`MSH:^~\&:…`).
const HL7_SEPARATORS_NEEDING_MSH: &[u8] = b":/,;=?@&";

/// A `PID` segment's separator (its fourth byte) is a rare one, or an `MSH` before it declares
/// it (one pass over the text for every `MSH`, once per scan; then one look-up per match).
fn declared_separator(m: &str, cx: &Context<'_>, start: usize, _: usize) -> bool {
    match m.as_bytes().get(3) {
        Some(&sep) if HL7_SEPARATORS_NEEDING_MSH.contains(&sep) => cx.first_msh(sep).is_some_and(|at| at < start),
        Some(_) => true,
        None => false,
    }
}

/// `PID` then a field separator `s` other than `|`, a set id of up to four digits, and four more
/// fields on its line: the segment, to its line's end.
fn hl7_pid_other_separators() -> String {
    let alts: Vec<String> = HL7_SEPARATORS
        .iter()
        .map(|c| {
            let s = regex::escape(&c.to_string());
            format!(r"{s}\d{{0,4}}{s}(?:[^{s}\r\n]*{s}){{3}}")
        })
        .collect();
    format!(r#"(?:^|[^A-Za-z0-9_])(PID(?:{})[^\r\n\x22<]*)"#, alts.join("|"))
}

fn x12_patterns() -> [String; 4] {
    let each = |f: &dyn Fn(&str) -> String| {
        X12_SEPARATORS
            .iter()
            .map(|c| f(&regex::escape(&c.to_string())))
            .collect::<Vec<_>>()
            .join("|")
    };
    [
        // An insured (`IL`) or patient (`QC`) person (`1`) with a last name.
        format!(
            "(?-u:\\b)(?:{})",
            each(&|s| format!(r"NM1{s}(?:IL|QC){s}1{s}[A-Za-z][^{s}~\r\n]*"))
        ),
        // Any NM1 whose identification code qualifier (NM108) is `34`: an SSN.
        format!(
            "(?-u:\\b)(?:{})",
            each(&|s| format!(r"NM1{s}(?:[^{s}~\r\n]*{s}){{7}}34{s}\d{{3}}-?\d{{2}}-?\d{{4}}"))
        ),
        // Demographics: a date of birth.
        format!("(?-u:\\b)(?:{})", each(&|s| format!(r"DMG{s}D8{s}(?:19|20)\d{{6}}"))),
        // A reference whose qualifier is `SY` (SSN).
        format!(
            "(?-u:\\b)(?:{})",
            each(&|s| format!(r"REF{s}SY{s}\d{{3}}-?\d{{2}}-?\d{{4}}"))
        ),
    ]
}

/// The NCPDP patient fields: first name (`CA`), last name (`CB`), birth date (`C4`).
fn ncpdp_patterns() -> [String; 2] {
    let (sep, other) = (r"[ \t\x1c]+", r"[0-9A-Z]{2}[^\s\x1c\x1e]*");
    let field = r"(?-u:\b)(?:CA[A-Z][A-Za-z'-]{0,34}|CB[A-Z][A-Za-z'-]{0,34}|C4(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(?-u:\b)";
    [
        // Every token between is a field (two capitals or digits, then its value): prose after
        // `AM01` (`AM01 received; CAUTION: CBOR …`) is no segment.
        format!(r"(?-u:\b)AM01(?:{sep}{other})*?{sep}{field}(?:{sep}{other})*?{sep}{field}"),
        r"\x1c(?:CA|CB|C4)[^\x1c\x1e\r\n]+\x1c(?:[^\x1e\r\n]*?\x1c)?(?:CA|CB|C4)[^\x1c\x1e\r\n]".to_string(),
    ]
}

/// A Medicare Beneficiary Identifier (11 characters: `C A AN N A AN N A A N N`; letters never
/// `S`, `L`, `O`, `I`, `B`, `Z`): refused unlabelled only in its official 4-3-4 grouping with
/// dashes (`1EG4-TE5-MK73`, any case), and written plain (`1EG4TE5MK73`) or spaced only after
/// a label (`mbi`, `medicare`, `medicare number`, `beneficiary id`): eleven characters of this
/// shape alone are too often another system's identifier.
fn mbi_patterns() -> [String; 2] {
    let (l, an) = (MBI_L, MBI_AN);
    [
        format!(r"[1-9]{l}{an}\d-{l}{an}\d-{l}{l}\d\d"),
        format!(
            r"(?i)(?:(?:_|(?-u:\b))(?:mbi|medicare(?:[ _-]?beneficiary)?(?:[ _-]?(?:id|identifier|number|num|no))?|beneficiary[ _-]?(?:id|identifier))(?:_|(?-u:\b))|(?-i:[a-z0-9](?:Mbi|MBI|MedicareId|MedicareNumber)))(?:[\W_]{{0,6}}(?i:number|num|no|value|val|id)(?-u:\b)\.?){{0,2}}[\W_]{{0,6}}([1-9]{l}{an}\d[ -]?{l}{an}\d[ -]?{l}{l}\d\d)"
        ),
    ]
}

/// The detectors of this module, in the order they run.
pub(super) fn detectors() -> Vec<Detector> {
    let [mbi_dashed, mbi_labelled] = mbi_patterns();
    let [x12_name, x12_ssn_nm1, x12_dmg, x12_ref] = x12_patterns();
    let [ncpdp_am01, ncpdp_fs] = ncpdp_patterns();
    vec![
        d(
            "ccda-patient",
            r#"(?:<(?:[A-Za-z0-9_]{1,16}:)?birthTime[^>]{0,64}?value\s*=\s*["']?|"birthTime"\s*:\s*(?:\{[^{}]{0,32}?"value"\s*:\s*)?")(?:19|20)\d\d-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])"#,
            names_a_person,
        ),
        d1(
            "us-ssn",
            r#"root\s*=\s*["'](?:urn:oid:)?2\.16\.840\.1\.113883\.4\.1["'][^<>]{0,64}?extension\s*=\s*["']([^"'<>]{9,16})"#,
            nine_digits,
        ),
        d1(
            "us-ssn",
            r#"extension\s*=\s*["']([^"'<>]{9,16})["'][^<>]{0,64}?root\s*=\s*["'](?:urn:oid:)?2\.16\.840\.1\.113883\.4\.1["']"#,
            nine_digits,
        ),
        d(
            "dicom-patient",
            r#""0010(?:0010|0020|0030)"\s*:\s*\{[^{}]{0,64}?"Value"\s*:\s*\[\s*(?:\{\s*"(?:Alphabetic|Ideographic|Phonetic)"\s*:\s*)?"[^"\s]"#,
            always,
        ),
        d(
            "dicom-patient",
            r#"(?i)<DicomAttribute[^>]{0,64}?tag\s*=\s*["']0010(?:0010|0020|0030)["'][^>]{0,64}>\s*(?:<Value[^>]{0,32}>\s*[^<\s]|<PersonName[^>]{0,32}>\s*<Alphabetic>\s*<(?:FamilyName|GivenName)>\s*[^<\s])"#,
            always,
        ),
        d(
            r"dicom-patient",
            r"\(0010,00(?:10|20|30)\)\s+[A-Z]{2}\s+\[[^\]\s]",
            always,
        ),
        d("ncpdp-patient", &ncpdp_am01, always),
        d("ncpdp-patient", &ncpdp_fs, always),
        d(
            "fhir-identifier",
            r#""code"\s*:\s*"(?:MR|MRT|SS|SB|MB|MA|MC|DL|PPN|PT|PI|JHN)""#,
            fhir_typed_identifier,
        ),
        d(
            "fhir-identifier",
            r#""system"\s*:\s*"(?:https?://hl7\.org/fhir/sid/us-(?:ssn|mbi|medicare)|urn:oid:2\.16\.840\.1\.113883\.4\.1)""#,
            fhir_system_identifier,
        ),
        d("medicare-mbi", &mbi_dashed, stands_alone),
        d1("medicare-mbi", &mbi_labelled, stands_alone),
        d1(
            "drivers-licence",
            r#"(?i)(?:(?:_|(?-u:\b))(?:driver'?s?[ _-]?licen[cs]e|driving[ _-]?licen[cs]e|dln)(?:[ _-]?(?:number|num|nbr|no|id|#))?(?:_|(?-u:\b))[\W_&&[^\n]]{0,6}|(?:_|(?-u:\b))(?:dl|dln)(?:[ _-]?(?:number|num|nbr|no|id))?["']?[ \t]*[:=#][ \t]*["']?)([A-Za-z0-9][A-Za-z0-9-]{4,19})"#,
            licence_value,
        ),
        d1("hl7-pid", &hl7_pid_other_separators(), declared_separator),
        d("x12-patient", &x12_name, always),
        d("x12-patient", &x12_ssn_nm1, always),
        d("x12-patient", &x12_dmg, no_digit_beside),
        d("x12-patient", &x12_ref, no_digit_beside),
        d1(
            "personal-email",
            r#"(?i)(?:_|(?-u:\b))(?:e-?mail|mail)(?:[ _-]?(?:address|addr))?["']?[ \t]*[:=>][ \t]*["'<]?(?:mailto:)?([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253})"#,
            free_mail,
        ),
        d(
            "mail-recipient",
            r#"(?:^|[^A-Za-z0-9_-])(?:To|TO|Cc|CC|Bcc|BCC)[ \t]*:[ \t]*"?[A-Z][A-Za-z'.-]{0,30}(?:[ \t]+[A-Z][A-Za-z'.-]{0,30}){1,3}"?[ \t]*<[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}>"#,
            always,
        ),
        d("phone-number", &phone_pattern(), phone_digits),
        // Dotted North American groups with no label (`212.867.5309`; a helper's find on the
        // fourteenth session's head): no version or address has three, three and four digits.
        d("phone-number", r"(?:1\.)?[2-9]\d{2}\.[2-9]\d{2}\.\d{4}", dotted_phone),
        d("patient-record", r#"(?i:"patient")\s*:\s*\{[^{}]*\}"#, patient_object),
        d(
            "gitlab-token",
            r"gl(?:pat|dt|rt|ptt|oas|cbt|soat|ft|imt)-[0-9A-Za-z_-]{20,}",
            always,
        ),
        d1(
            "azure-sas",
            r"(?i)(?:^|[?&;\s])sig=([A-Za-z0-9%+/]{20,}(?:%3D|=){0,2})",
            sas_query,
        ),
        d(
            "azure-storage-key",
            r"(?i)(?:AccountKey|SharedAccessKey)\s*=\s*[A-Za-z0-9+/]{20,}={0,2}",
            always,
        ),
        d("npm-token", r"npm_[A-Za-z0-9]{36}", always),
        d("pypi-token", r"pypi-AgE[A-Za-z0-9_-]{50,}", always),
        d(
            "openai-key",
            r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
            always,
        ),
        d("anthropic-key", r"sk-ant-[a-z0-9]{2,12}-[A-Za-z0-9_-]{32,}", always),
        d("vault-token", r"hv[sbr]\.[A-Za-z0-9_-]{24,}", always),
        // A legacy Vault token (`s.…`) where a Vault token is named (attack round 7).
        d1(
            "vault-token",
            r#"(?i)vault[ _-]?token["']?[ \t]*[:=][ \t]*["']?(s\.[A-Za-z0-9]+)"#,
            long_token,
        ),
        // Under a bare `token`, `secret`, `auth` or `bearer` label (attack round 7): a value of
        // 32 letters and digits (a hex or base62 token; `token:github-actions-deploy-v2`, an
        // identity, has hyphens).
        d1(
            "labelled-secret",
            r#"(?i)(?-u:\b)(?:token|secret|auth|bearer)(?:["']{0,2}[ \t]*(?:=>|[:=])[ \t]*["']{0,2}|>)([A-Za-z0-9]+)(?:[^A-Za-z0-9_-]|$)"#,
            long_token,
        ),
        // More vendors' fixed-prefix secrets (attack round 7): Docker Hub, Square, Atlassian,
        // Netlify, Dropbox, HubSpot, Brevo, 1Password service accounts, Google OAuth access
        // tokens.
        d(
            "vendor-token",
            r"dckr_pat_[A-Za-z0-9_-]+|sq0(?:atp|csp|idp)-[A-Za-z0-9_-]+|ATATT3[A-Za-z0-9_=-]+|nf[pcu]_[A-Za-z0-9]+|sl\.[A-Za-z0-9_-]+|pat-(?:na|eu|ap)1-[0-9a-f-]+|xkeysib-[0-9a-f]+-[A-Za-z0-9]+|ops_[A-Za-z0-9]+|ya29\.[A-Za-z0-9_-]+",
            long_token,
        ),
        // Credentials in the files and commands that hold them (attack round 7): a `.netrc`
        // entry's password, a `.pgpass` line (host, port, database, user, password), `docker`/
        // `podman`/`helm registry login -p`, an `htpasswd` line's hash (crackable), a session
        // cookie's value.
        d1(
            "credential-file",
            r"(?i)(?-u:\b)machine[ \t]+\S+[ \t]+login[ \t]+\S+[ \t]+password[ \t]+(\S{3,})",
            not_masked,
        ),
        d1(
            "credential-file",
            r"(?m)^[ \t]*[A-Za-z0-9*][A-Za-z0-9.*-]*:(?:\d{2,5}|\*):[A-Za-z0-9_.*-]+:[A-Za-z0-9_.@*-]+:((?:[^\s:\\]|\\.){3,})[ \t]*$",
            not_masked,
        ),
        d1(
            "credential-file",
            r"(?i)(?:docker|podman|nerdctl|buildah|helm[ \t]+registry|oras)[ \t]+login(?:[ \t]+-{1,2}[A-Za-z-]+(?:[ \t]+[^-\s]\S*)?)*?[ \t]+(?:-p|--password)[ \t=]+(\S{3,})",
            not_masked,
        ),
        d(
            "credential-file",
            r"(?m)^[ \t]*[A-Za-z0-9._-]+:\$(?:apr1|2[aby]|5|6|y)\$[./A-Za-z0-9$]{8}",
            always,
        ),
        d1(
            "credential-file",
            r"(?i)(?:^|[^A-Za-z-])(?:set-)?cookie[ \t]*:[ \t]*[A-Za-z0-9_.-]{1,64}=([A-Za-z0-9%._~+/-]{20,})",
            token_like,
        ),
        // A token as a URL's user (`https://<40 hex>@github.com/…`, as git takes one).
        d1("password-in-url", r"://([A-Za-z0-9_-]+)@", long_token),
        d("sendgrid-key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", always),
        d("twilio-key", r"SK[0-9a-f]{32}", stands_alone),
        d("private-key", r"PuTTY-User-Key-File-\d", always),
        // The sixth round (2026-12-04): more vendors' fixed-prefix secrets, keys labelled as
        // AWS secret keys, bearer tokens and `*_API_KEY=`/`*_TOKEN=`/`*_SECRET=` assignments.
        d("stripe-key", r"whsec_[A-Za-z0-9+/]{24,}", always),
        d("huggingface-token", r"hf_[A-Za-z0-9]{34,}", token_like),
        d("google-oauth-secret", r"GOCSPX-[A-Za-z0-9_-]{28}", always),
        d("newrelic-key", r"NRAK-[A-Z0-9]{27}", always),
        d("telegram-bot-token", r"\d{8,10}:AA[A-Za-z0-9_-]{33}", telegram_token),
        d("shopify-token", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", always),
        d("digitalocean-token", r"do[opr]_v1_[a-f0-9]{64}", always),
        d1(
            "mailgun-key",
            r"(?i)(?:mailgun|api[_-]?key)(?s:.){0,40}?(key-[0-9a-f]{32})",
            stands_alone,
        ),
        d(
            "otp-secret",
            r#"(?i)otpauth://[th]otp/[^\s"'<>?]{0,256}\?(?:[^\s"'<>#]{0,256}&)?secret=[A-Z2-7]{16,}"#,
            always,
        ),
        d(
            "sentry-dsn",
            r"https?://[0-9a-f]{32}(?::[0-9a-f]{32})?@[A-Za-z0-9.-]{0,128}sentry[A-Za-z0-9.-]{0,128}(?::\d+)?/",
            always,
        ),
        d1(
            "aws-secret-key",
            r#"(?i)(?:aws[ _-]?)?secret[ _-]?(?:access[ _-]?)?key(?:["']{0,2}\s*(?:=>|[:=])\s*["']{0,2}|>)([A-Za-z0-9/+]{40})"#,
            aws_secret_value,
        ),
        d1(
            "bearer-token",
            r#"(?i)authorization["']?\s*[:=]\s*["']?(?:bearer|token)[ \t]+([A-Za-z0-9._~+/-]{20,}=*)"#,
            token_like,
        ),
        d1(
            "labelled-secret",
            r#"(?i)(?:api[ _-]?key|_token|_secret|_secret[_-]?key|_access[_-]?key|secret[ _-]?(?:access[ _-]?)?key|(?:client|app|api|access|refresh|auth|session|private|signing|encryption|master|webhook)[ _-]?(?:secret|token|key))(?:["']{0,2}[ \t]*(?:=>|[:=])[ \t]*["']{0,2}|>)([A-Za-z0-9][A-Za-z0-9_-]{31,})"#,
            token_like,
        ),
    ]
}

/// A random token, not a word or a placeholder: letters and digits, or both cases
/// (`YOUR_TOKEN_HERE`, `xxxxxxxx…` and `replace-with-your-api-key` are neither).
/// A password in a credential file or command that is no placeholder (`***`, `$PASSWORD`,
/// `${{ secrets.X }}`, `<password>`, `xxxx`).
fn not_masked(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    !(m.starts_with(['$', '{', '<', '%', '*', '"', '\''])
        || m.chars().all(|c| matches!(c, '*' | 'x' | 'X' | '#' | '.'))
        || ["password", "redacted", "masked", "secret"].contains(&m.to_ascii_lowercase().as_str()))
}

/// A token of at least 22 characters that is [`token_like`]: the vendor prefixes and labels
/// above are matched by `+` and their length checked here, so that their automata stay small on
/// noise (a counted repetition of 32 multiplies a lazy DFA's states: 26% on `z85-noise`).
fn long_token(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    let min = if m.starts_with(|c: char| c.is_ascii_alphanumeric()) && !m.contains(['_', '-', '.']) {
        32
    } else {
        22
    };
    m.len() >= min && token_like(m, cx, start, end)
}

fn token_like(m: &str, _: &Context<'_>, _: usize, _: usize) -> bool {
    let has = |f: fn(&u8) -> bool| m.as_bytes().iter().any(f);
    (has(u8::is_ascii_digit) && has(u8::is_ascii_alphabetic))
        || (has(u8::is_ascii_lowercase) && has(u8::is_ascii_uppercase))
}

/// A Telegram bot token: the bot's id is no part of a longer number, and nothing of the token's
/// alphabet follows it.
fn telegram_token(_: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    !char_before(cx, start).is_some_and(|c| c.is_ascii_digit())
        && !char_at(cx, end).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// An AWS secret access key after its label: exactly 40 characters of its alphabet (nothing of it
/// follows), letters and digits (a row of `x` is a placeholder).
fn aws_secret_value(m: &str, cx: &Context<'_>, start: usize, end: usize) -> bool {
    !char_at(cx, end).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '+' | '='))
        && token_like(m, cx, start, end)
}
