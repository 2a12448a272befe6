//! Terminal tables (comfy-table) of a baseline's metrics.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, ContentArrangement, Table};

use perf_contract::{
    schema::{Baseline, Metric, Unit},
    summary::Interval,
};

/// Formats a value with about four significant digits, the precision that
/// run-to-run noise leaves meaningful.
pub fn format_value(value: f64, unit: Unit) -> String {
    if unit == Unit::Bytes {
        return format_bytes(value);
    }
    let body = format_number(value, unit);
    match unit.symbol() {
        "" => body,
        sym => format!("{body} {sym}"),
    }
}

/// [`format_value`] without the unit, for a figure whose unit is written
/// beside it; bytes keep theirs (each value picks its own multiple).
pub fn format_number(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Ratio => format!("{value:.3}"),
        Unit::Bytes => format_bytes(value),
        Unit::Count => format!("{value:.0}"),
        _ => {
            let abs = value.abs();
            if abs >= 1000.0 {
                format!("{value:.0}")
            } else if abs >= 100.0 {
                format!("{value:.1}")
            } else if abs >= 10.0 {
                format!("{value:.2}")
            } else {
                format!("{value:.3}")
            }
        }
    }
}

fn format_bytes(value: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = value;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

fn format_interval(ci: Option<Interval>, unit: Unit) -> String {
    match ci {
        Some(ci) => format!(
            "{} – {}",
            format_value(ci.low, unit),
            format_value(ci.high, unit)
        ),
        None => "n too small".into(),
    }
}

/// A confidence interval as `low – high` without the unit, for a table
/// that writes it in the column beside.
pub fn format_range(ci: Option<Interval>, unit: Unit) -> String {
    match ci {
        Some(ci) => format!(
            "{} – {}",
            format_number(ci.low, unit),
            format_number(ci.high, unit)
        ),
        None => "n too small".into(),
    }
}

/// One row per metric: the figures a reader needs to judge a number, with
/// the sample count beside every percentile.
pub fn summary_table(baseline: &Baseline) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "workload",
            "metric",
            "n",
            "median",
            "95% CI (median)",
            "p95",
            "p99",
            "min",
            "max",
        ]);
    for (workload, result) in &baseline.workloads {
        for (name, metric) in &result.metrics {
            table.add_row(metric_row(workload.as_str(), name.as_str(), metric));
        }
    }
    for i in 2..9 {
        if let Some(col) = table.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

fn metric_row(workload: &str, name: &str, m: &Metric) -> Vec<Cell> {
    let s = &m.summary;
    let v = |x: f64| format_value(x, m.unit);
    vec![
        Cell::new(workload),
        Cell::new(name),
        Cell::new(m.count_label()),
        Cell::new(v(s.median)),
        Cell::new(format_interval(s.median_ci, m.unit)),
        Cell::new(v(s.p95)),
        Cell::new(v(s.p99)),
        Cell::new(v(s.min)),
        Cell::new(v(s.max)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_four_significant_digits() {
        assert_eq!(format_value(12.3456, Unit::Milliseconds), "12.35 ms");
        assert_eq!(format_value(1234.5, Unit::DocsPerSecond), "1234 docs/s");
        assert_eq!(format_value(0.98765, Unit::Ratio), "0.988");
        assert_eq!(format_value(3.0 * 1024.0 * 1024.0, Unit::Bytes), "3.0 MiB");
        let ci = Interval {
            low: 12.3456,
            high: 123.456,
        };
        assert_eq!(format_range(Some(ci), Unit::Milliseconds), "12.35 – 123.5");
        assert_eq!(format_range(None, Unit::Milliseconds), "n too small");
    }
}
