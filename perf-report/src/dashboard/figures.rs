//! How the dashboard writes its figures: medians, intervals, percent
//! changes, times and short commit ids.
//!
//! Written once here, in Rust, for both the fallback tables and the data
//! block the script reads, so the table row and the detail panel of a
//! point can never disagree on a digit.

use chrono::{DateTime, Utc};
use perf_contract::{schema::Unit, summary::Interval};

use crate::history::{change_points::ChangePoint, series::StepSummary};

/// Characters of a commit id shown where space is short: git's default.
const SHORT_ID: usize = 7;

/// Four significant digits (at least the integer part): enough to see a
/// one-percent step, few enough to read at a glance.
pub fn value(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 12) as usize;
    format!("{v:.decimals$}")
}

/// `v` followed by the unit's symbol (none for a ratio or a count).
pub fn with_unit(v: f64, unit: Unit) -> String {
    match unit.symbol() {
        "" => value(v),
        symbol => format!("{} {symbol}", value(v)),
    }
}

/// `[low, high] unit`.
pub fn interval(i: &Interval, unit: Unit) -> String {
    let bounds = format!("[{}, {}]", value(i.low), value(i.high));
    match unit.symbol() {
        "" => bounds,
        symbol => format!("{bounds} {symbol}"),
    }
}

/// A signed percent, one decimal: `+5.2`.
fn pct(v: f64) -> String {
    format!("{v:+.1}")
}

/// `+5.2% [+3.1, +7.4]`: a change and its 95% interval.
pub fn change(change_pct: f64, low_pct: f64, high_pct: f64) -> String {
    format!("{}% [{}, {}]", pct(change_pct), pct(low_pct), pct(high_pct))
}

/// A recorded compare against the parent: the change and the verdict.
pub fn step(s: &StepSummary) -> String {
    format!(
        "{}, {}",
        change(s.change_pct, s.low_pct, s.high_pct),
        s.verdict
    )
}

/// The label of a change point's marker.
pub fn change_point(c: &ChangePoint) -> String {
    change(c.change_pct, c.low_pct, c.high_pct)
}

pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn short_id(id: &str) -> &str {
    id.char_indices()
        .nth(SHORT_ID)
        .map_or(id, |(end, _)| &id[..end])
}

/// The commit's web page: the template with `{commit}` replaced.
pub fn commit_url(template: Option<&str>, id: &str) -> Option<String> {
    template.map(|t| t.replace("{commit}", id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_digits() {
        assert_eq!(value(12.3456), "12.35");
        assert_eq!(value(1234.56), "1235");
        assert_eq!(value(98765.4), "98765");
        assert_eq!(value(0.012345), "0.01235");
        assert_eq!(value(0.0), "0");
        assert_eq!(with_unit(3.0, Unit::Milliseconds), "3.000 ms");
        assert_eq!(with_unit(0.5, Unit::Ratio), "0.5000");
    }

    #[test]
    fn changes_are_signed() {
        assert_eq!(change(5.24, 3.06, 7.4), "+5.2% [+3.1, +7.4]");
        assert_eq!(change(-2.0, -3.5, -0.5), "-2.0% [-3.5, -0.5]");
        assert_eq!(short_id("0123456789abcdef"), "0123456");
        assert_eq!(short_id("abc"), "abc");
    }
}
