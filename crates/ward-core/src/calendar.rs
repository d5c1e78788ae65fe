//! Change windows and freezes (`[[calendar.windows]]`, `[[calendar.freezes]]` in `ward.toml`).
//!
//! A window is a cron-like expression over *local wall-clock time* in its time zone —
//! `minute hour day-of-month month day-of-week`, each `*`, a number, a range `a-b`, a list
//! `a,b` or a step `*/n` / `a-b/n`; day-of-week 0–6 from Sunday (7 is Sunday too). A minute is
//! inside the window when its local time matches. Because matching is on local time converted
//! by the time-zone database, "09:00–17:00 Monday–Friday in America/New_York" means the same
//! wall-clock hours on both sides of a daylight-saving change.
//!
//! A freeze is a range of local dates (inclusive) in its time zone.
//!
//! ```toml
//! [[calendar.windows]]
//! name = "business-hours"
//! cron = "* 9-16 * * 1-5"
//! tz = "America/New_York"
//! environments = ["prod"]
//! tiers = ["medium", "high"]          # optional: which risk tiers wait for the window
//!
//! [[calendar.freezes]]
//! name = "year-end"
//! from = "2026-12-20"
//! to = "2027-01-04"
//! tz = "America/New_York"
//! environments = ["prod"]
//! ```

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// A recurring change window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Name.
    pub name: String,
    /// `minute hour day-of-month month day-of-week`.
    pub cron: String,
    /// IANA time zone, e.g. `America/New_York`.
    pub tz: String,
    /// Environments it governs (empty: all).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Risk tiers it governs (empty: all), e.g. only `high` changes wait for the window.
    #[serde(default)]
    pub tiers: Vec<String>,
}

/// A freeze: no changes between two local dates, inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Freeze {
    /// Name.
    pub name: String,
    /// First frozen day (`YYYY-MM-DD`).
    pub from: String,
    /// Last frozen day.
    pub to: String,
    /// IANA time zone.
    pub tz: String,
    /// Environments it governs (empty: all).
    #[serde(default)]
    pub environments: Vec<String>,
}

/// The `[calendar]` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// Windows.
    #[serde(default)]
    pub windows: Vec<Window>,
    /// Freezes.
    #[serde(default)]
    pub freezes: Vec<Freeze>,
}

/// The calendar's verdict for one environment at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarState {
    /// Some window governs this environment.
    pub windows_apply: bool,
    /// The instant is inside one of them (always true when none applies).
    pub in_window: bool,
    /// The windows open now.
    pub open_windows: Vec<String>,
    /// The freezes in force now.
    pub freezes: Vec<String>,
    /// When each freeze in force ends (the start of the day after its last day, in its zone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freeze_ends: Vec<FreezeEnd>,
}

/// The end of a freeze in force: as an instant in UTC and as the local time in its zone, both
/// RFC 3339 (the local one with the zone's name, RFC 9557).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeEnd {
    /// The freeze's name.
    pub name: String,
    /// The instant it ends, e.g. `2027-01-05T05:00:00Z`.
    pub until: String,
    /// The same instant in the freeze's zone, e.g. `2027-01-05T00:00:00-05:00[America/New_York]`.
    pub local: String,
}

/// One cron field: allowed values as a bitmask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field(u64);

fn field(spec: &str, min: u32, max: u32) -> Result<Field, String> {
    let mut mask = 0u64;
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in {part:?}"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("zero step in {part:?}"));
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                a.parse().map_err(|_| format!("bad number in {part:?}"))?,
                b.parse().map_err(|_| format!("bad number in {part:?}"))?,
            )
        } else {
            let v: u32 = range.parse().map_err(|_| format!("bad number in {part:?}"))?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{part:?} is outside {min}-{max}"));
        }
        let mut v = lo;
        while v <= hi {
            mask |= 1 << v;
            v += step;
        }
    }
    Ok(Field(mask))
}

impl Field {
    fn has(self, v: u32) -> bool {
        v < 64 && self.0 & (1 << v) != 0
    }
}

/// A parsed cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
    dom_any: bool,
    dow_any: bool,
}

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week`.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let f: Vec<&str> = expr.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!(
                "{expr:?}: expected 5 fields (minute hour day-of-month month day-of-week)"
            ));
        }
        let mut dow = field(f[4], 0, 7)?;
        if dow.has(7) {
            dow.0 |= 1;
        }
        Ok(Cron {
            minute: field(f[0], 0, 59)?,
            hour: field(f[1], 0, 23)?,
            dom: field(f[2], 1, 31)?,
            month: field(f[3], 1, 12)?,
            dow,
            dom_any: f[2] == "*",
            dow_any: f[4] == "*",
        })
    }

    /// Whether the local civil time matches (cron's rule: when both day fields are restricted,
    /// either may match).
    pub fn matches(&self, t: &jiff::civil::DateTime) -> bool {
        let dow = t.weekday().to_sunday_zero_offset() as u32;
        let day_ok = match (self.dom_any, self.dow_any) {
            (true, true) => true,
            (false, true) => self.dom.has(t.day() as u32),
            (true, false) => self.dow.has(dow),
            (false, false) => self.dom.has(t.day() as u32) || self.dow.has(dow),
        };
        day_ok
            && self.minute.has(t.minute() as u32)
            && self.hour.has(t.hour() as u32)
            && self.month.has(t.month() as u32)
    }
}

fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| format!("time zone {name:?}: {e}"))
}

fn applies(envs: &[String], env: &str) -> bool {
    envs.is_empty() || envs.iter().any(|e| e == env)
}

impl Calendar {
    /// Checks every expression, zone and date, so a broken calendar fails at load, not at a gate.
    pub fn validate(&self) -> Result<(), String> {
        // What was written is not repeated (a value may be anything; the names are judged
        // before this runs).
        let no_zone = "its tz is not an IANA time zone name (e.g. America/New_York)";
        for w in &self.windows {
            Cron::parse(&w.cron).map_err(|_| {
                format!(
                    "window {}: its cron is not five fields `minute hour day-of-month month day-of-week` (e.g. \"* 9-16 * * 1-5\")",
                    w.name
                )
            })?;
            zone(&w.tz).map_err(|_| format!("window {}: {no_zone}", w.name))?;
        }
        for f in &self.freezes {
            let (a, b) = dates(f)?;
            if a > b {
                return Err(format!("freeze {}: from is after to", f.name));
            }
            zone(&f.tz).map_err(|_| format!("freeze {}: {no_zone}", f.name))?;
        }
        Ok(())
    }

    /// The calendar's state for a change of `tier` entering `env` at `now`.
    pub fn state(&self, env: &str, tier: &str, now: Timestamp) -> Result<CalendarState, String> {
        let mut s = CalendarState::default();
        for w in self
            .windows
            .iter()
            .filter(|w| applies(&w.environments, env) && applies(&w.tiers, tier))
        {
            s.windows_apply = true;
            let local = now.to_zoned(zone(&w.tz)?).datetime();
            if Cron::parse(&w.cron)?.matches(&local) {
                s.open_windows.push(w.name.clone());
            }
        }
        s.in_window = !s.windows_apply || !s.open_windows.is_empty();
        for f in self.freezes.iter().filter(|f| applies(&f.environments, env)) {
            let (a, b) = dates(f)?;
            let tz = zone(&f.tz)?;
            let today = now.to_zoned(tz.clone()).date();
            if a <= today && today <= b {
                s.freezes.push(f.name.clone());
                // A freeze to the last representable day has no end to name.
                if let Ok(end) = b.tomorrow().and_then(|d| d.to_zoned(tz)) {
                    s.freeze_ends.push(FreezeEnd {
                        name: f.name.clone(),
                        until: end.timestamp().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                        local: end.to_string(),
                    });
                }
            }
        }
        Ok(s)
    }
}

fn dates(f: &Freeze) -> Result<(Date, Date), String> {
    let p = |d: &str| {
        d.parse::<Date>()
            .map_err(|_| format!("freeze {}: from and to are dates YYYY-MM-DD (e.g. 2026-12-20)", f.name))
    };
    Ok((p(&f.from)?, p(&f.to)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calendar {
        Calendar {
            windows: vec![Window {
                name: "business-hours".into(),
                cron: "* 9-16 * * 1-5".into(),
                tz: "America/New_York".into(),
                environments: vec!["prod".into()],
                tiers: vec!["medium".into(), "high".into()],
            }],
            freezes: vec![Freeze {
                name: "year-end".into(),
                from: "2026-12-20".into(),
                to: "2027-01-04".into(),
                tz: "America/New_York".into(),
                environments: vec![],
            }],
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn windows_follow_local_time_across_daylight_saving() {
        let c = cal();
        c.validate().unwrap();
        let open = |t: &str| c.state("prod", "high", at(t)).unwrap().in_window;
        // 13:30 UTC is 08:30 EST on Friday 6 March 2026 (closed) but 09:30 EDT on Monday
        // 9 March, after clocks went forward on the 8th (open).
        assert!(!open("2026-03-06T13:30:00Z"));
        assert!(open("2026-03-09T13:30:00Z"));
        // 20:30 UTC: 16:30 EDT on Friday 30 October (open), 15:30 EST on Monday 2 November.
        assert!(open("2026-10-30T20:30:00Z"));
        assert!(open("2026-11-02T20:30:00Z"));
        // 21:30 UTC: 17:30 EDT on 30 October (closed), 16:30 EST on 2 November (open).
        assert!(!open("2026-10-30T21:30:00Z"));
        assert!(open("2026-11-02T21:30:00Z"));
        // Weekends are closed; other environments are not governed.
        assert!(!open("2026-11-07T15:00:00Z"));
        let staging = c.state("staging", "high", at("2026-11-07T15:00:00Z")).unwrap();
        assert!(staging.in_window && !staging.windows_apply);
        // Low-risk changes are not bound by this window.
        let low = c.state("prod", "low", at("2026-11-07T15:00:00Z")).unwrap();
        assert!(low.in_window && !low.windows_apply);
    }

    #[test]
    fn freezes_are_local_dates_inclusive() {
        let c = cal();
        let frozen = |t: &str| !c.state("prod", "low", at(t)).unwrap().freezes.is_empty();
        // 04:00 UTC on 20 December is still 19 December in New York.
        assert!(!frozen("2026-12-20T04:00:00Z"));
        assert!(frozen("2026-12-20T05:00:00Z"));
        assert!(frozen("2027-01-05T04:59:00Z"));
        assert!(!frozen("2027-01-05T05:00:00Z"));
        // A freeze in force says when it ends, in UTC and in its own zone.
        let s = c.state("prod", "low", at("2026-12-24T12:00:00Z")).unwrap();
        assert_eq!(
            s.freeze_ends,
            vec![FreezeEnd {
                name: "year-end".into(),
                until: "2027-01-05T05:00:00Z".into(),
                local: "2027-01-05T00:00:00-05:00[America/New_York]".into(),
            }]
        );
    }

    #[test]
    fn cron_fields() {
        let c = Cron::parse("*/15 9,17 1-7 * 0").unwrap();
        let t = |s: &str| s.parse::<jiff::civil::DateTime>().unwrap();
        assert!(c.matches(&t("2026-11-01T09:45")), "a Sunday");
        assert!(c.matches(&t("2026-11-03T17:00")), "day of month 3 (either day field)");
        assert!(!c.matches(&t("2026-11-03T17:01")));
        assert!(!c.matches(&t("2026-11-10T09:00")), "a Tuesday, day 10");
        for bad in ["* * * *", "60 * * * *", "* * * * 8", "*/0 * * * *", "a * * * *"] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
        let mut broken = cal();
        broken.windows[0].tz = "Mars/Olympus".into();
        assert!(broken.validate().is_err());
    }
}
