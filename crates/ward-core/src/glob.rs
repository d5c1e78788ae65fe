//! Path globs for risk rules: `*` matches within one path segment, `**` matches any number of
//! whole segments (including none), `?` one character; everything else matches itself.
//! Paths use `/`; a leading `./` is ignored.

/// Whether `path` matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.trim_start_matches("./").split('/').collect();
    let segs: Vec<&str> = path.trim_start_matches("./").split('/').collect();
    match_segments(&pat, &segs)
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| match_segments(rest, &segs[i..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, srest)) => match_segment(p.as_bytes(), s.as_bytes()) && match_segments(rest, srest),
            None => false,
        },
    }
}

/// One segment: `*` any run, `?` one byte (iterative, no backtracking blow-up).
fn match_segment(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("migrations/**", "migrations/0001_init.sql"));
        assert!(matches("migrations/**", "migrations/pg/0001.sql"));
        assert!(!matches("migrations/**", "src/migrations.rs"));
        assert!(matches("**/migrations/**", "services/api/migrations/1.sql"));
        assert!(matches("**/*.tf", "main.tf"));
        assert!(matches("**/*.tf", "infra/prod/main.tf"));
        assert!(!matches("*.tf", "infra/main.tf"));
        assert!(matches("src/fhir/*.rs", "src/fhir/patient.rs"));
        assert!(!matches("src/fhir/*.rs", "src/fhir/r4/patient.rs"));
        assert!(matches("./docs/?.md", "docs/a.md"));
        assert!(matches("**", "anything/at/all"));
    }
}
