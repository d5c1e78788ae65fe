//! Printing results as text or JSON, and progress bars on long work.

use crate::cli::Output;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;

/// Writes `text` to stdout. A reader that went away (`ward log show | head`) ends the program
/// quietly with success, as other Unix tools do; any other write error is reported and exits 1.
pub fn write_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// [`write_out`] with a newline.
pub fn write_line(text: &str) {
    write_out(&format!("{text}\n"));
}

/// A time for people: UTC to the minute, and how far it is from `now` ("in 3h 20m", "2d ago").
pub fn when(secs: i64, now: i64) -> String {
    let at = jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| secs.to_string());
    let d = secs - now;
    let a = d.unsigned_abs();
    let span = if a >= 2 * 86_400 {
        format!("{}d", a / 86_400)
    } else if a >= 3_600 {
        format!("{}h {}m", a / 3_600, a % 3_600 / 60)
    } else {
        format!("{}m", a / 60)
    };
    if d >= 0 {
        format!("{at} (in {span})")
    } else {
        format!("{at} ({span} ago)")
    }
}

/// Prints `json` (JSON mode) or the text produced by `text`.
pub fn emit(out: Output, json: Value, text: impl FnOnce() -> String) {
    match out {
        Output::Json => write_line(&serde_json::to_string_pretty(&json).unwrap_or_default()),
        Output::Text => {
            let t = text();
            if !t.is_empty() {
                write_line(t.trim_end());
            }
        }
    }
}

/// A progress bar on stderr, hidden unless stderr is a terminal and the output is text.
pub fn progress(out: Output, label: &str) -> ProgressBar {
    if out == Output::Json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(label.to_string());
    pb
}

#[cfg(test)]
mod tests {
    use super::when;

    #[test]
    fn times_read_as_dates_with_their_distance() {
        let now = 1_796_287_044;
        assert_eq!(when(now, now), "2026-12-03 08:37 UTC (in 0m)");
        assert_eq!(when(now + 4 * 3600 + 120, now), "2026-12-03 12:39 UTC (in 4h 2m)");
        assert_eq!(when(now - 3 * 86_400, now), "2026-11-30 08:37 UTC (3d ago)");
    }
}
