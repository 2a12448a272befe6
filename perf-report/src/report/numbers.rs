//! Figures without their unit symbol, for table cells under a column that
//! names the unit and for chart labels beside a labelled axis. Precision is
//! `table::format_value`'s, so a figure reads the same everywhere.

use crate::table::format_value;
use perf_contract::schema::Unit;

/// `format_value` without the trailing unit symbol; bytes keep their
/// scaled unit (KiB, MiB), which is part of the number.
pub fn bare_value(value: f64, unit: Unit) -> String {
    let full = format_value(value, unit);
    if unit == Unit::Bytes {
        return full;
    }
    match unit.symbol() {
        "" => full,
        sym => full
            .strip_suffix(sym)
            .map(|s| s.trim_end().to_string())
            .unwrap_or(full),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_symbols_are_dropped_but_scaled_bytes_kept() {
        assert_eq!(bare_value(12.3456, Unit::Milliseconds), "12.35");
        assert_eq!(bare_value(306.0, Unit::Microseconds), "306.0");
        assert_eq!(bare_value(0.98765, Unit::Ratio), "0.988");
        assert_eq!(bare_value(3.0 * 1024.0 * 1024.0, Unit::Bytes), "3.0 MiB");
    }
}
