//! Allocation figures of a base and a candidate run side by side, for the
//! explanation of a regression next to the CPU profile diff.

use crate::AllocStats;

/// One row per figure: `(figure, base, candidate, change in percent)`, the
/// figure named as its [`AllocStats`] field. The change is `None` when the
/// base is zero, where a percentage has no meaning.
pub fn alloc_diff_rows(
    base: &AllocStats,
    cand: &AllocStats,
) -> Vec<(String, f64, f64, Option<f64>)> {
    [
        ("allocations", base.allocations, cand.allocations),
        (
            "bytes_allocated",
            base.bytes_allocated,
            cand.bytes_allocated,
        ),
        ("peak_bytes", base.peak_bytes, cand.peak_bytes),
    ]
    .into_iter()
    .map(|(figure, base, cand)| {
        let (base, cand) = (base as f64, cand as f64);
        let change = (base != 0.0).then(|| 100.0 * (cand - base) / base);
        (figure.to_owned(), base, cand, change)
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_both_sides_and_the_change() {
        let base = AllocStats {
            allocations: 100,
            bytes_allocated: 4096,
            peak_bytes: 0,
            ..AllocStats::default()
        };
        let cand = AllocStats {
            allocations: 150,
            bytes_allocated: 2048,
            peak_bytes: 512,
            ..AllocStats::default()
        };
        assert_eq!(
            alloc_diff_rows(&base, &cand),
            [
                ("allocations".to_owned(), 100.0, 150.0, Some(50.0)),
                ("bytes_allocated".to_owned(), 4096.0, 2048.0, Some(-50.0)),
                ("peak_bytes".to_owned(), 0.0, 512.0, None),
            ]
        );
    }
}
