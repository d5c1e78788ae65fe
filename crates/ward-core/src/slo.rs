//! Error-budget freezes: service level objectives (`[[slo]]` in `ward.toml`) judged by
//! multi-window, multi-burn-rate alerts, as in the Google SRE workbook ("Alerting on SLOs",
//! approach 6).
//!
//! An objective of 99.9% leaves an error budget of 0.1% of requests over its period. The *burn
//! rate* of a window is its error ratio divided by that budget: 1 spends the budget exactly over
//! the period, 14.4 spends 2% of a 30-day budget in one hour. An alert fires when both its long
//! window (is the burn significant?) and its short window (is it still going on?) burn at or
//! above its rate. A service whose alert fires is *burning*: the gate blocks its non-emergency
//! deployments into the objective's environments (`slo.error_budget`).
//!
//! Fail closed: a window whose ratio cannot be read (Prometheus unreachable, a refused query,
//! no series) leaves the objective *unknown*, which blocks like burning (`slo.unknown`) unless
//! another alert already fires. Everything here is pure: the ratios come in as arguments.

use serde::{Deserialize, Serialize};

/// One burn-rate alert: a long and a short window and the rate both must reach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnAlert {
    /// Long window, a PromQL duration (`1h`).
    pub long: String,
    /// Short window, a PromQL duration (`5m`), shorter than `long`.
    pub short: String,
    /// Burn rate both windows must reach for the alert to fire (`14.4`).
    pub burn_rate: f64,
}

/// The SRE workbook's page alerts for a 30-day objective: 2% of the budget in an hour (14.4×
/// over 1 h and 5 min) and 5% in six hours (6× over 6 h and 30 min).
pub fn default_alerts() -> Vec<BurnAlert> {
    vec![
        BurnAlert {
            long: "1h".into(),
            short: "5m".into(),
            burn_rate: 14.4,
        },
        BurnAlert {
            long: "6h".into(),
            short: "30m".into(),
            burn_rate: 6.0,
        },
    ]
}

fn default_period_days() -> u32 {
    30
}

/// A service level objective: `[[slo]]` in `ward.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// The service (as artifacts are registered).
    pub service: String,
    /// Environments whose deployments of the service the objective gates (at least one).
    pub environments: Vec<String>,
    /// Base URL of the Prometheus server.
    pub prometheus: String,
    /// PromQL giving the error ratio (0–1) over `{{window}}`; `{{service}}` and
    /// `{{environment}}` are filled in too (escaped for a label matcher).
    pub query: String,
    /// Target share of good requests, e.g. `0.999`.
    pub objective: f64,
    /// The period the budget is spent over (informational: the burn rates assume it).
    #[serde(default = "default_period_days")]
    pub period_days: u32,
    /// Burn-rate alerts; the workbook's two page alerts when absent.
    #[serde(default = "default_alerts")]
    pub alerts: Vec<BurnAlert>,
}

/// Seconds in a PromQL duration made of one number and one unit (`30s`, `5m`, `1h`, `7d`).
pub fn window_seconds(w: &str) -> Option<u64> {
    let unit = w.chars().last()?;
    let digits = &w[..w.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    (n > 0).then_some(n * scale)
}

/// Two service names for the same service: equal once trimmed and case-folded.
pub fn same_service(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

impl Objective {
    /// The error budget: the share of requests allowed to fail.
    pub fn budget(&self) -> f64 {
        1.0 - self.objective
    }

    /// Whether the objective gates deployments of `service` into `environment`. Service names
    /// compare trimmed and case-insensitively: `Reminders ` registered for a new build is still
    /// the service the objective freezes.
    pub fn applies(&self, service: &str, environment: &str) -> bool {
        same_service(&self.service, service) && self.environments.iter().any(|e| e == environment)
    }

    /// Checks the objective; the message names what to fix (`[[slo]] SERVICE: …`).
    pub fn validate(&self) -> Result<(), String> {
        let at = format!("[[slo]] {}", self.service);
        if self.service.is_empty() {
            return Err("[[slo]]: `service` is empty; name the service as its artifacts are registered".into());
        }
        if self.environments.is_empty() {
            return Err(format!(
                "{at}: `environments` is empty; name the environments whose deployments it gates (e.g. [\"prod\"])"
            ));
        }
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(format!(
                "{at}: objective {} is not a share between 0 and 1 (e.g. 0.999 for 99.9%)",
                self.objective
            ));
        }
        if !self.query.contains("{{window}}") {
            return Err(format!(
                "{at}: the query has no {{{{window}}}}; write the range as [{{{{window}}}}] so each alert's windows can be asked"
            ));
        }
        if !self.prometheus.starts_with("http://") {
            return Err(format!(
                "{at}: prometheus must be an http:// URL (Ward reads Prometheus over plain HTTP on a trusted network; put a local proxy in front of an https one)"
            ));
        }
        if self.alerts.is_empty() {
            return Err(format!(
                "{at}: `alerts` is empty; remove it for the SRE workbook's defaults, or declare at least one"
            ));
        }
        for a in &self.alerts {
            let (Some(long), Some(short)) = (window_seconds(&a.long), window_seconds(&a.short)) else {
                return Err(format!(
                    "{at}: windows {:?}/{:?} are not PromQL durations like \"1h\" and \"5m\"",
                    a.long, a.short
                ));
            };
            if short >= long {
                return Err(format!(
                    "{at}: the short window {} must be shorter than the long window {}",
                    a.short, a.long
                ));
            }
            if !(a.burn_rate.is_finite() && a.burn_rate > 0.0) {
                return Err(format!("{at}: burn_rate {} must be a positive number", a.burn_rate));
            }
        }
        Ok(())
    }

    /// The query for `window` (label values escaped so they cannot leave a matcher).
    pub fn render(&self, environment: &str, window: &str) -> String {
        let esc = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
        self.query
            .replace("{{service}}", &esc(&self.service))
            .replace("{{environment}}", &esc(environment))
            .replace("{{window}}", window)
    }
}

/// What was read for one window: the error ratio, or why it could not be read. `NaN` is a
/// ratio over a window without requests (0/0).
pub type Reading = Result<f64, String>;

/// One alert, judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    /// Long window.
    pub long: String,
    /// Short window.
    pub short: String,
    /// The rate both windows must reach.
    pub burn_rate: f64,
    /// Burn rate over the long window (`None`: not read).
    pub long_burn: Option<f64>,
    /// Burn rate over the short window (`None`: not read).
    pub short_burn: Option<f64>,
    /// Both windows at or above `burn_rate` — or the long one burning and no request at all
    /// in the short one (traffic gone in the middle of a burn is an outage, not a recovery).
    pub firing: bool,
    /// The short window saw no request (its ratio was `NaN`).
    #[serde(default)]
    pub short_without_requests: bool,
}

/// An objective's state at gate time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloState {
    /// The service.
    pub service: String,
    /// The environment judged.
    pub environment: String,
    /// The objective, e.g. `0.999`.
    pub objective: f64,
    /// `burning` (an alert fires), `unknown` (a window could not be read and none fires) or `ok`.
    pub state: String,
    /// Each alert with its burn rates.
    pub alerts: Vec<AlertState>,
    /// One sentence: which alert fires with its rates and windows, or what could not be read.
    pub reason: String,
}

fn fmt_rate(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// `burn` at or above `rate`, up to rounding (1 − 0.999 is not exactly 0.001 in binary).
fn reaches(burn: Option<f64>, rate: f64) -> bool {
    burn.is_some_and(|x| x >= rate * (1.0 - 1e-9))
}

/// Judges `o` for `environment` from `readings`, one `(long, short)` pair per alert, in order.
pub fn judge(o: &Objective, environment: &str, readings: &[(Reading, Reading)]) -> SloState {
    let budget = o.budget();
    // No requests (NaN) burns nothing by itself; a negative ratio is none.
    let burn = |r: &Reading| {
        r.as_ref()
            .ok()
            .map(|ratio| if ratio.is_nan() { 0.0 } else { ratio.max(0.0) / budget })
    };
    let mut alerts = Vec::new();
    let mut unread = Vec::new();
    for (a, (long, short)) in o.alerts.iter().zip(readings) {
        let (lb, sb) = (burn(long), burn(short));
        for (w, r) in [(&a.long, long), (&a.short, short)] {
            if let Err(e) = r {
                unread.push(format!("{w}: {e}"));
            }
        }
        let short_without_requests = matches!(short, Ok(x) if x.is_nan());
        alerts.push(AlertState {
            long: a.long.clone(),
            short: a.short.clone(),
            burn_rate: a.burn_rate,
            long_burn: lb,
            short_burn: sb,
            firing: reaches(lb, a.burn_rate) && (reaches(sb, a.burn_rate) || short_without_requests),
            short_without_requests,
        });
    }
    if readings.len() < o.alerts.len() {
        unread.push(format!("{} alert(s) were not asked", o.alerts.len() - readings.len()));
    }
    let pct = (o.objective * 100.0 * 1000.0).round() / 1000.0;
    let (state, reason) = if let Some(f) = alerts.iter().find(|a| a.firing) {
        (
            "burning",
            format!(
                "{} in {environment} is burning its {pct}% error budget: {}× over {} and {} over {} (alert at {}×)",
                o.service,
                fmt_rate(f.long_burn.unwrap_or_default()),
                f.long,
                if f.short_without_requests {
                    "no request at all".to_string()
                } else {
                    format!("{}×", fmt_rate(f.short_burn.unwrap_or_default()))
                },
                f.short,
                fmt_rate(f.burn_rate)
            ),
        )
    } else if !unread.is_empty() {
        (
            "unknown",
            format!(
                "the {pct}% objective of {} in {environment} cannot be judged: {}",
                o.service,
                unread.join("; ")
            ),
        )
    } else {
        (
            "ok",
            format!("{} in {environment} is within its {pct}% error budget", o.service),
        )
    };
    SloState {
        service: o.service.clone(),
        environment: environment.to_string(),
        objective: o.objective,
        state: state.to_string(),
        alerts,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective() -> Objective {
        Objective {
            service: "reminders".into(),
            environments: vec!["prod".into()],
            prometheus: "http://127.0.0.1:9090".into(),
            query: "sum(rate(errors{service=\"{{service}}\"}[{{window}}])) / sum(rate(requests[{{window}}]))".into(),
            objective: 0.999,
            period_days: 30,
            alerts: default_alerts(),
        }
    }

    // Ratios as Prometheus answered them for the workbook's two alerts (recorded by hand from
    // the real-Prometheus test's router metrics; a 0.1% budget).
    #[test]
    fn a_fast_burn_in_both_windows_fires_the_first_alert() {
        let s = judge(&objective(), "prod", &[(Ok(0.02), Ok(0.05)), (Ok(0.004), Ok(0.003))]);
        assert_eq!(s.state, "burning");
        assert!(s.alerts[0].firing && !s.alerts[1].firing);
        assert_eq!(
            s.reason,
            "reminders in prod is burning its 99.9% error budget: 20.0× over 1h and 50.0× over 5m (alert at 14.4×)"
        );
    }

    #[test]
    fn a_burn_that_already_stopped_does_not_freeze_the_service() {
        // The long window still remembers an incident; the short window shows it is over.
        let s = judge(&objective(), "prod", &[(Ok(0.02), Ok(0.0001)), (Ok(0.004), Ok(0.0))]);
        assert_eq!(s.state, "ok", "{s:?}");
        assert!(s.alerts.iter().all(|a| !a.firing));
    }

    #[test]
    fn a_slow_burn_fires_the_six_hour_alert() {
        let s = judge(&objective(), "prod", &[(Ok(0.007), Ok(0.009)), (Ok(0.0065), Ok(0.008))]);
        assert_eq!(s.state, "burning");
        assert!(!s.alerts[0].firing && s.alerts[1].firing);
        assert!(
            s.reason.contains("6.5× over 6h and 8.0× over 30m (alert at 6.0×)"),
            "{}",
            s.reason
        );
    }

    #[test]
    fn traffic_gone_in_the_middle_of_a_burn_is_an_outage_not_a_recovery() {
        let s = judge(&objective(), "prod", &[(Ok(0.05), Ok(f64::NAN)), (Ok(0.0), Ok(0.0))]);
        assert_eq!(s.state, "burning", "{s:?}");
        assert!(
            s.reason.contains("50.0× over 1h and no request at all over 5m"),
            "{}",
            s.reason
        );
        // An idle service (no requests in either window) burns nothing.
        let idle = judge(
            &objective(),
            "prod",
            &[(Ok(f64::NAN), Ok(f64::NAN)), (Ok(f64::NAN), Ok(f64::NAN))],
        );
        assert_eq!(idle.state, "ok", "{idle:?}");
    }

    #[test]
    fn a_service_renamed_by_case_or_spaces_is_still_frozen() {
        let o = objective();
        assert!(o.applies("Reminders ", "prod") && o.applies("REMINDERS", "prod"));
        assert!(!o.applies("reminders", "staging") && !o.applies("billing", "prod"));
    }

    #[test]
    fn exactly_the_burn_rate_fires() {
        let s = judge(&objective(), "prod", &[(Ok(0.0144), Ok(0.0144)), (Ok(0.0), Ok(0.0))]);
        assert_eq!(s.state, "burning", "{s:?}");
    }

    #[test]
    fn an_unreadable_window_blocks_as_unknown_never_as_ok() {
        let s = judge(
            &objective(),
            "prod",
            &[(Ok(0.0), Err("cannot reach Prometheus".into())), (Ok(0.0), Ok(0.0))],
        );
        assert_eq!(s.state, "unknown");
        assert!(s.reason.contains("5m: cannot reach Prometheus"), "{}", s.reason);
        // Missing readings altogether are unknown too.
        assert_eq!(judge(&objective(), "prod", &[]).state, "unknown");
    }

    #[test]
    fn a_firing_alert_wins_over_an_unreadable_one() {
        let s = judge(
            &objective(),
            "prod",
            &[(Ok(0.5), Ok(0.5)), (Err("no series".into()), Err("no series".into()))],
        );
        assert_eq!(s.state, "burning");
    }

    #[test]
    fn the_query_is_rendered_per_window_with_escaped_labels() {
        let mut o = objective();
        o.service = "a\"b".into();
        assert_eq!(
            o.render("prod", "5m"),
            "sum(rate(errors{service=\"a\\\"b\"}[5m])) / sum(rate(requests[5m]))"
        );
    }

    #[test]
    fn a_partial_or_nonsensical_objective_is_refused_with_the_fix() {
        let bad = |f: &dyn Fn(&mut Objective)| {
            let mut o = objective();
            f(&mut o);
            o.validate().unwrap_err()
        };
        assert!(bad(&|o| o.environments.clear()).contains("environments"));
        assert!(bad(&|o| o.objective = 1.0).contains("between 0 and 1"));
        assert!(bad(&|o| o.objective = 99.9).contains("between 0 and 1"));
        assert!(bad(&|o| o.query = "sum(errors)".into()).contains("{{window}}"));
        assert!(bad(&|o| o.alerts.clear()).contains("alerts"));
        assert!(bad(&|o| o.alerts[0].short = "2h".into()).contains("shorter"));
        assert!(bad(&|o| o.alerts[0].long = "1 hour".into()).contains("PromQL durations"));
        assert!(bad(&|o| o.alerts[0].burn_rate = 0.0).contains("positive"));
        assert!(bad(&|o| o.prometheus = "127.0.0.1:9090".into()).contains("http://"));
        assert!(bad(&|o| o.prometheus = "https://prom.example".into()).contains("plain HTTP"));
        assert!(objective().validate().is_ok());
        assert_eq!(window_seconds("90s"), Some(90));
        assert_eq!(window_seconds("6h"), Some(21_600));
        assert_eq!(window_seconds("h"), None);
        assert_eq!(window_seconds("0m"), None);
        assert_eq!(window_seconds(""), None);
        assert_eq!(window_seconds("5é"), None);
    }
}
