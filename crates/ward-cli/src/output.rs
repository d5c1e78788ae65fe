//! Printing results as text or JSON, and progress bars on long work.

use crate::cli::Output;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;

/// Directories a command removes when it ends, also when it ends early on a closed stdout
/// (`ward demo | head` must not leave its temporary data directory, log key included).
static REMOVED_AT_EXIT: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes `dir` when the program ends through [`write_out`]'s early exit (the caller removes it
/// on its normal path and then calls [`keep_at_exit`]).
pub fn remove_at_exit(dir: &std::path::Path) {
    REMOVED_AT_EXIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(dir.to_path_buf());
}

/// Forgets a directory given to [`remove_at_exit`].
pub fn keep_at_exit(dir: &std::path::Path) {
    REMOVED_AT_EXIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|d| d != dir);
}

/// Ends the program with `code`, removing the directories given to [`remove_at_exit`] first.
fn exit_removing(code: i32) -> ! {
    let dirs = std::mem::take(
        &mut *REMOVED_AT_EXIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    std::process::exit(code)
}

/// Writes `text` to stdout. A reader that went away (`ward log show | head`) ends the program
/// quietly with success, as other Unix tools do; any other write error is reported and exits 1.
pub fn write_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            exit_removing(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        exit_removing(1);
    }
}

/// [`write_out`] with a newline.
pub fn write_line(text: &str) {
    write_out(&format!("{text}\n"));
}

/// What a break-glass's end means now, before its time: `active until`, `VOID (…) until` once
/// the change was edited since it was broken (it bypasses nothing), else `ended`.
pub fn breakglass_state(b: &ward_app::exceptions::Breakglass) -> &'static str {
    match (b.active, b.stale) {
        (true, _) => "active until",
        (false, true) => {
            "VOID (the change was edited since the glass was broken: it bypasses nothing; break glass again on the change as it is) until"
        }
        (false, false) => "ended",
    }
}

/// A waiver's state now: `active`, `VOID` once its change was edited since it was granted (it
/// excuses nothing), else `EXPIRED`.
pub fn waiver_state(w: &ward_app::exceptions::Waiver) -> &'static str {
    match (w.active, w.stale) {
        (true, _) => "active",
        (false, true) => {
            "VOID (the change was edited since the waiver was granted: it excuses nothing; ask for a waiver of the change as it is)"
        }
        (false, false) => "EXPIRED",
    }
}

/// A time for people: RFC 3339 in UTC, and how far it is from `now` ("in 3 h 20 min",
/// "2 d ago").
pub fn when(secs: i64, now: i64) -> String {
    let at = jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| secs.to_string());
    let d = secs - now;
    let a = d.unsigned_abs();
    let span = if a >= 2 * 86_400 {
        format!("{} d {} h", a / 86_400, a % 86_400 / 3_600)
    } else if a >= 3_600 {
        format!("{} h {} min", a / 3_600, a % 3_600 / 60)
    } else if a >= 60 {
        format!("{} min", a / 60)
    } else {
        format!("{a} s")
    };
    if d == 0 {
        format!("{at} (now)")
    } else if d > 0 {
        format!("{at} (in {span})")
    } else {
        format!("{at} ({span} ago)")
    }
}

/// [`when`] for a time written as RFC 3339 (any precision): `2026-12-05T02:50:12Z (3 min ago)`;
/// a text that is not a time is returned as it is.
pub fn when_text(t: &str, now: i64) -> String {
    match t.parse::<jiff::Timestamp>() {
        Ok(at) => when(at.as_second(), now),
        Err(_) => t.to_string(),
    }
}

/// The end of a period that runs up to the present (`now` or the second after it, as a
/// period's exclusive end is given): `2026-12-05T02:50:13Z (now)`; any other end as [`when_text`].
pub fn period_end(t: &str, now: i64) -> String {
    match t.parse::<jiff::Timestamp>() {
        Ok(at) if (now..=now + 1).contains(&at.as_second()) => {
            format!("{} (now)", at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        }
        _ => when_text(t, now),
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
    use super::{period_end, when, when_text};

    #[test]
    fn times_read_as_dates_with_their_distance() {
        let now = 1_796_287_044;
        assert_eq!(when(now, now), "2026-12-03T08:37:24Z (now)");
        assert_eq!(when(now + 1, now), "2026-12-03T08:37:25Z (in 1 s)");
        assert_eq!(
            when(now + 3 * 3600 + 59 * 60, now),
            "2026-12-03T12:36:24Z (in 3 h 59 min)"
        );
        assert_eq!(when(now + 90, now), "2026-12-03T08:38:54Z (in 1 min)");
        assert_eq!(when(now - 3 * 86_400, now), "2026-11-30T08:37:24Z (3 d 0 h ago)");
    }

    #[test]
    fn recorded_times_lose_their_fraction_and_a_period_up_to_now_ends_now() {
        let now = 1_796_287_044;
        assert_eq!(
            when_text("2026-12-03T08:36:24.123456789Z", now),
            "2026-12-03T08:36:24Z (1 min ago)"
        );
        assert_eq!(when_text("not a time", now), "not a time");
        // A period's end is exclusive: the second after now is still "now".
        assert_eq!(period_end("2026-12-03T08:37:25Z", now), "2026-12-03T08:37:25Z (now)");
        assert_eq!(
            period_end("2026-12-03T08:37:44Z", now),
            "2026-12-03T08:37:44Z (in 20 s)"
        );
    }
}
