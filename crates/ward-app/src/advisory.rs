//! Vulnerability ids Ward keeps in the log.
//!
//! A scan's vulnerability ids stay in its leaf (a waiver names one, and the gate matches the
//! waiver to the finding by it), and a leaf cannot be purged. A scanner's report is a file
//! anyone with write access can craft, so an id is kept only when it has a shape an advisory
//! database issues: a fixed prefix, then a year, numbers of bounded length and, for GitHub and
//! Chainguard, groups drawn from an alphabet with no vowels. No such shape holds a name, a
//! number of more than [`crate::identifier::MAX_DIGITS`] digits or a full date beside a name
//! (issue 15: `smith-j-2015-04-12` and `CVE-219451100` as a scan's ids reached the leaf).
//!
//! [`keep_recognised`] rewrites a parsed `vulns` summary before it is stored: a finding whose
//! own id is of another shape (`BIT-…`, `SNYK-…`) is named by its first recognised alias,
//! aliases of other shapes are dropped (the stored report keeps them), and a finding with no
//! recognised id at all refuses the scan, naming its position only. Pure: no I/O.

use crate::AppError;
use serde_json::Value;

/// One part of an id's shape after its prefix.
#[derive(Clone, Copy)]
enum Part {
    /// Four digits, 1999 to 2099 (the first CVEs are of 1999; `CVE-1961-0412` is a birth
    /// date in a CVE's shape).
    Year,
    /// A release number of one to three digits, a dot, one to three digits (`5.10`).
    Release,
    /// `min..=max` ASCII digits.
    Digits(usize, usize),
    /// This byte.
    Sep(u8),
    /// Four characters of GitHub's advisory alphabet (`23456789cfghjmpqrvwx`).
    Quad,
    /// This many upper-case hex digits.
    Hex(usize),
}

use Part::{Digits, Hex, Quad, Release, Sep, Year};

const YEAR_NUMBER: &[Part] = &[Year, Sep(b'-'), Digits(1, 7)];
const DEBIAN_NUMBER: &[Part] = &[Digits(1, 5), Sep(b'-'), Digits(1, 3)];
const ERRATUM: &[Part] = &[Year, Sep(b':'), Digits(4, 5)];
const GITHUB: &[Part] = &[Quad, Sep(b'-'), Quad, Sep(b'-'), Quad];
const CVE: &[Part] = &[Year, Sep(b'-'), Digits(4, 7)];
const SUSE: &[Part] = &[Year, Sep(b':'), Digits(4, 5), Sep(b'-'), Digits(1, 2)];
const KERNEL: &[Part] = &[Release, Sep(b'-'), Year, Sep(b'-'), Digits(1, 5)];
const ORACLE: &[Part] = &[Year, Sep(b'-'), Digits(4, 5)];

/// Every shape Ward keeps: prefix, the database that issues it, the rest.
const SHAPES: &[(&str, &str, &[Part])] = &[
    ("CVE-", "CVE", CVE),
    // A distribution's or a project's record of a CVE (OSV names Debian's and Ubuntu's so).
    ("DEBIAN-CVE-", "Debian (OSV)", CVE),
    ("UBUNTU-CVE-", "Ubuntu (OSV)", CVE),
    ("ALPINE-CVE-", "Alpine (OSV)", CVE),
    ("CURL-CVE-", "curl", CVE),
    ("BELL-CVE-", "BellSoft", CVE),
    ("GHSA-", "GitHub Advisory Database", GITHUB),
    ("CGA-", "Chainguard", GITHUB),
    ("GO-", "Go vulnerability database", &[Year, Sep(b'-'), Digits(4, 5)]),
    ("PYSEC-", "PyPI advisory database", YEAR_NUMBER),
    ("RUSTSEC-", "RustSec", &[Year, Sep(b'-'), Digits(4, 4)]),
    ("HSEC-", "Haskell security advisories", &[Year, Sep(b'-'), Digits(4, 4)]),
    ("OSV-", "OSS-Fuzz", YEAR_NUMBER),
    ("GSD-", "Global Security Database", YEAR_NUMBER),
    ("MAL-", "OpenSSF malicious packages", YEAR_NUMBER),
    ("GMS-", "GitLab advisory database", YEAR_NUMBER),
    ("EUVD-", "EU vulnerability database", YEAR_NUMBER),
    ("PSF-", "Python Software Foundation", YEAR_NUMBER),
    ("RSEC-", "R advisory database", YEAR_NUMBER),
    ("JLSEC-", "Julia advisory database", YEAR_NUMBER),
    ("DSA-", "Debian", DEBIAN_NUMBER),
    ("DLA-", "Debian LTS", DEBIAN_NUMBER),
    ("DTSA-", "Debian testing", DEBIAN_NUMBER),
    ("TEMP-", "Debian security tracker", &[Digits(7, 7), Sep(b'-'), Hex(6)]),
    ("USN-", "Ubuntu", DEBIAN_NUMBER),
    ("ALAS-", "Amazon Linux", YEAR_NUMBER),
    ("ALAS2-", "Amazon Linux 2", YEAR_NUMBER),
    ("ALAS2022-", "Amazon Linux 2022", YEAR_NUMBER),
    ("ALAS2023-", "Amazon Linux 2023", YEAR_NUMBER),
    ("ALASKERNEL-", "Amazon Linux kernel", KERNEL),
    ("ALAS2KERNEL-", "Amazon Linux 2 kernel", KERNEL),
    (
        "PHSA-",
        "Photon OS",
        &[Year, Sep(b'-'), Release, Sep(b'-'), Digits(1, 5)],
    ),
    ("MGASA-", "Mageia", YEAR_NUMBER),
    ("OESA-", "openEuler", YEAR_NUMBER),
    ("openEuler-SA-", "openEuler", YEAR_NUMBER),
    ("RHSA-", "Red Hat", ERRATUM),
    ("RHBA-", "Red Hat", ERRATUM),
    ("RHEA-", "Red Hat", ERRATUM),
    ("RLSA-", "Rocky Linux", ERRATUM),
    ("RXSA-", "Rocky Linux", ERRATUM),
    ("ALSA-", "AlmaLinux", ERRATUM),
    ("ALBA-", "AlmaLinux", ERRATUM),
    ("ALEA-", "AlmaLinux", ERRATUM),
    ("ELSA-", "Oracle Linux", ORACLE),
    ("ELBA-", "Oracle Linux", ORACLE),
    ("SUSE-SU-", "SUSE", SUSE),
    ("SUSE-RU-", "SUSE", SUSE),
    ("SUSE-CU-", "SUSE", SUSE),
    ("SUSE-FU-", "SUSE", SUSE),
    ("openSUSE-SU-", "openSUSE", SUSE),
    ("NSWG-ECO-", "Node.js security working group", &[Digits(1, 4)]),
];

/// The prefixes Ward keeps, for messages and docs (`CVE-, GHSA-, …`).
pub fn prefixes() -> String {
    SHAPES.iter().map(|(p, _, _)| *p).collect::<Vec<_>>().join(", ")
}

/// The database that issues ids of this shape, or `None` when Ward does not keep it.
/// Linear in the id's length; never allocates.
pub fn database(id: &str) -> Option<&'static str> {
    SHAPES.iter().find_map(|(prefix, name, parts)| {
        let rest = id.strip_prefix(prefix)?;
        follows(rest.as_bytes(), parts).then_some(*name)
    })
}

/// A Snyk id (`SNYK-DEBIAN12-ZLIB-6008963`, `SNYK-JS-AXIOS-6032459`): Snyk's reports use it as a
/// SARIF rule id. Not a vulnerability id Ward keeps (its middle names a package); its number
/// is Snyk's, not a person's. Upper-case words and digits, a number of 5 to 8 digits last.
pub fn snyk(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("SNYK-") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    !words.is_empty()
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        && (5..=8).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `rest` is exactly `parts`, in order.
fn follows(mut rest: &[u8], parts: &[Part]) -> bool {
    for part in parts {
        let taken = match *part {
            Year => (rest.starts_with(b"1999")
                || (rest.len() >= 4 && rest.starts_with(b"20") && rest[2..4].iter().all(u8::is_ascii_digit)))
            .then_some(4),
            Release => {
                let run = |r: &[u8]| r.iter().take(4).take_while(|b| b.is_ascii_digit()).count();
                let major = run(rest);
                let minor = rest.get(major + 1..).map_or(0, run);
                ((1..=3).contains(&major) && rest.get(major) == Some(&b'.') && (1..=3).contains(&minor))
                    .then_some(major + 1 + minor)
            }
            Digits(min, max) => {
                let n = rest.iter().take(max + 1).take_while(|b| b.is_ascii_digit()).count();
                (min..=max).contains(&n).then_some(n)
            }
            Sep(b) => (rest.first() == Some(&b)).then_some(1),
            Quad => (rest.len() >= 4 && rest[..4].iter().all(|b| b"23456789cfghjmpqrvwx".contains(b))).then_some(4),
            Hex(n) => (rest.len() >= n
                && rest[..n]
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)))
            .then_some(n),
        };
        match taken {
            Some(n) => rest = &rest[n..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// The refusal of a finding with no id of a kept shape: its position, never the id.
fn unrecognised(at: usize) -> AppError {
    AppError::new(
        crate::Kind::Invalid,
        "unrecognised_vulnerability_id",
        format!(
            "finding {} of the scan has no vulnerability id of a shape Ward keeps in the log (its own id and every alias were of other shapes); nothing was stored",
            at + 1
        ),
        format!(
            "Ward keeps ids of these shapes: {}; have the scanner report the advisory's CVE or GHSA id (most scanners list it as an alias)",
            prefixes()
        ),
    )
}

/// Rewrites a parsed `vulns` summary so that every id it keeps is of a recognised shape (see
/// the module docs); `ids` keeps the kept shapes and the list's ids. Refuses the first
/// finding with none.
pub fn keep_recognised(summary: &mut Value) -> Result<(), AppError> {
    // `ids` lists every distinct id, also of findings past the list's limit: those whose shape
    // is kept stay, with the ids the list names after the rewrite.
    let mut ids: std::collections::BTreeSet<String> = summary
        .get("ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|id| database(id).is_some())
        .map(str::to_string)
        .collect();
    if let Some(list) = summary.get_mut("list").and_then(Value::as_array_mut) {
        for (at, finding) in list.iter_mut().enumerate() {
            let own = finding.get("id").and_then(Value::as_str).map(str::to_string);
            let aliases: Vec<String> = finding
                .get("aliases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|a| database(a).is_some())
                .map(str::to_string)
                .collect();
            let id = match own.filter(|id| database(id).is_some()) {
                Some(id) => id,
                None => aliases.first().cloned().ok_or_else(|| unrecognised(at))?,
            };
            let aliases: Vec<Value> = aliases.into_iter().filter(|a| *a != id).map(Value::from).collect();
            match aliases.is_empty() {
                true => finding.as_object_mut().map(|o| o.remove("aliases")),
                false => finding
                    .as_object_mut()
                    .map(|o| o.insert("aliases".into(), aliases.into())),
            };
            finding["id"] = Value::from(id.clone());
            ids.insert(id);
        }
    }
    if summary.get("ids").is_some() {
        summary["ids"] = ids.into_iter().map(Value::from).collect::<Vec<_>>().into();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_ids_scanners_write_are_kept() {
        for id in [
            "CVE-1999-1338",
            "CVE-2021-44228",
            "CVE-2017-1000117",
            "GHSA-8v27-2fg9-7h62",
            "GHSA-462w-v97r-4m45",
            "GO-2025-3749",
            "PYSEC-2019-217",
            "PYSEC-2018-28",
            "RUSTSEC-2021-0078",
            "DSA-4613-1",
            "DLA-3788-1",
            "USN-6718-1",
            "TEMP-0841856-B18BAF",
            "ALAS2-2023-2005",
            "RHSA-2024:1234",
            "SUSE-SU-2024:0123-1",
            "openSUSE-SU-2024:12345-1",
            "NSWG-ECO-428",
            "MAL-2024-1",
            "CGA-2f7x-9v8q-xm4p",
            "DEBIAN-CVE-2024-5535",
            "UBUNTU-CVE-2024-5535",
            "ALASKERNEL-5.10-2023-039",
            "ALAS2KERNEL-5.4-2022-036",
            "ALAS2022-2022-123",
            "PHSA-2023-4.0-0501",
            "MGASA-2024-0001",
            "SUSE-RU-2024:0123-1",
            "openEuler-SA-2024-1234",
            "PSF-2024-1",
            "RXSA-2024:1234",
        ] {
            assert!(database(id).is_some(), "{id}");
        }
    }

    #[test]
    fn a_name_or_a_long_number_or_a_date_beside_a_name_is_no_vulnerability_id() {
        for id in [
            "smith-j-2015-04-12",
            "CVE-219451100",
            "CVE-2015-04-12",
            "CVE-2015-219451100",
            "CVE-2015-0412-smith",
            "CVE-3015-0412",
            "CVE-1961-0412",
            "CVE-1998-0412",
            "ALASKERNEL-5.10.1-2023-039",
            "ALASKERNEL-5-2023-039",
            "PHSA-2023-4.0000-0501",
            "GHSA-jane-roe0-1980",
            "GHSA-8v27-2fg9-7h62x",
            "PYSEC-2019-",
            "TEMP-0841856-b18baf",
            "cve-2021-44228",
            "CVE-2021-44228\u{200b}",
            "ＣＶＥ-2021-44228",
            "RHSA-2024-1234",
            "BIT-jenkins-2023-1234",
            "",
            "CVE-",
        ] {
            assert_eq!(database(id), None, "{id:?}");
        }
    }

    #[test]
    fn a_finding_named_by_an_unkept_shape_is_named_by_its_first_kept_alias() {
        let mut s = json!({"ids": ["BIT-x-1", "CVE-2024-0001"], "list": [
            {"id": "BIT-x-1", "aliases": ["SNYK-JS-X-1", "CVE-2024-0002", "GHSA-8v27-2fg9-7h62"], "package": "a"},
            {"id": "CVE-2024-0001", "aliases": ["SNYK-JS-X-2"], "package": "b"},
        ]});
        keep_recognised(&mut s).unwrap();
        assert_eq!(s["list"][0]["id"], "CVE-2024-0002");
        assert_eq!(s["list"][0]["aliases"], json!(["GHSA-8v27-2fg9-7h62"]));
        assert_eq!(s["list"][1]["id"], "CVE-2024-0001");
        assert!(s["list"][1].get("aliases").is_none());
        assert_eq!(s["ids"], json!(["CVE-2024-0001", "CVE-2024-0002"]));
    }

    #[test]
    fn a_finding_with_no_kept_id_refuses_the_scan_without_repeating_it() {
        let mut s = json!({"list": [
            {"id": "CVE-2024-0001", "package": "a"},
            {"id": "smith-j-2015-04-12", "aliases": ["CVE-219451100"], "package": "b"},
        ]});
        let before = s.clone();
        let e = keep_recognised(&mut s).unwrap_err();
        assert_eq!(e.code, "unrecognised_vulnerability_id");
        assert!(e.message.contains("finding 2"), "{}", e.message);
        for shown in [&e.message, &e.hint] {
            assert!(
                !shown.contains("smith") && !shown.contains("2015") && !shown.contains("219451100"),
                "{shown}"
            );
        }
        assert_eq!(s["list"][1], before["list"][1], "the refused finding is left as read");
    }

    proptest::proptest! {
        /// Any text: no panic, and what is kept is printable ASCII of at most 40 bytes whose
        /// digit runs are all at most seven long.
        #[test]
        fn whatever_is_kept_is_short_ascii_with_short_numbers(id in "\\PC{0,40}|(CVE|GHSA|TEMP|SUSE-SU)-[0-9a-zA-Z:-]{0,30}") {
            if database(&id).is_some() {
                proptest::prop_assert!(id.len() <= 40 && id.bytes().all(|b| b.is_ascii_graphic()));
                let longest = id.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0);
                proptest::prop_assert!(longest <= crate::identifier::MAX_DIGITS, "{}", id);
            }
        }
    }
}
