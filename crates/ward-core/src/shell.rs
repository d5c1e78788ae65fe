//! Values written into commands a person copies (`ward …` printed by the CLI, shown by the web
//! UI): one quoting rule for every adapter.

/// A value as a POSIX shell word: as it is when it holds nothing a shell reads, else
/// single-quoted (a `'` inside written `'\''`).
pub fn word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@,+=".contains(&b));
    match plain {
        true => value.to_string(),
        false => format!("'{}'", value.replace('\'', r"'\''")),
    }
}
