//! Logarithmic axes with a tick at every decade (1, 10, 100, 1k, 10k,
//! 100k, 1M) and nothing between: sizes, latencies and rates that span
//! orders of magnitude, read as powers of ten.

use std::ops::Range;

use plotters::{coord::combinators::LogCoord, prelude::*};

use super::{Area, FONT};

/// A chart whose both axes are log scales.
pub(crate) type LogLogChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<LogCoord<f64>, LogCoord<f64>>>;

/// The frame every log-log chart shares: caption, decade ticks and labels
/// on both axes, the axis descriptions, faint minor grid.
pub(crate) fn log_log_chart<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    (xs, x_desc): (Range<f64>, &str),
    (ys, y_desc): (Range<f64>, &str),
) -> Result<LogLogChart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 20))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(xs.clone().log_scale(), ys.clone().log_scale())?;
    chart
        .configure_mesh()
        .x_labels(label_count(&xs))
        .y_labels(label_count(&ys))
        .x_label_formatter(&|x| decade_label(*x))
        .y_label_formatter(&|y| decade_label(*y))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    Ok(chart)
}

/// How far past the outer decades an axis reaches, as a power of ten, so
/// a point on a decade is not drawn on the frame.
const MARGIN_DECADES: f64 = 0.12;

/// A log axis over every decade from the one at or below the smallest
/// value to the one at or above the largest (at least one decade wide),
/// a little wider so end points stay inside. Values that are not finite
/// and positive cannot be drawn on a log axis and are ignored; with none
/// left the axis is 1 to 10.
pub(crate) fn decade_range(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    let (mut first, mut last) = if lo.is_finite() {
        (lo.log10().floor(), hi.log10().ceil())
    } else {
        (0.0, 1.0)
    };
    // A value just below a decade (999.9999 from floating point) counts
    // as that decade.
    if lo.is_finite() && (lo.log10() - lo.log10().round()).abs() < 1e-9 {
        first = lo.log10().round();
    }
    if hi.is_finite() && (hi.log10() - hi.log10().round()).abs() < 1e-9 {
        last = hi.log10().round();
    }
    if last <= first {
        last = first + 1.0;
    }
    10f64.powf(first - MARGIN_DECADES)..10f64.powf(last + MARGIN_DECADES)
}

/// Labels to ask plotters for on an axis of `range`: one per decade and
/// one spare. Plotters fills a log axis with intermediate points when
/// asked for ten or more labels per decade; this keeps it to decades.
pub(crate) fn label_count(range: &Range<f64>) -> usize {
    (range.end / range.start).log10().ceil().max(1.0) as usize + 1
}

/// A decade as the axis prints it (`1k`, `10k`, `100k`, `1M`, `0.1`);
/// anything between decades gets no label.
pub(crate) fn decade_label(x: f64) -> String {
    if !(x.is_finite() && x > 0.0) {
        return String::new();
    }
    let e = x.log10();
    if (e - e.round()).abs() > 1e-6 {
        return String::new();
    }
    let e = e.round() as i32;
    let (mantissa, suffix) = match e {
        12.. => (10f64.powi(e - 12), "T"),
        9..=11 => (10f64.powi(e - 9), "G"),
        6..=8 => (10f64.powi(e - 6), "M"),
        3..=5 => (10f64.powi(e - 3), "k"),
        _ => (10f64.powi(e), ""),
    };
    if e < 0 {
        return format!("{mantissa:.*}", (-e) as usize);
    }
    format!("{mantissa:.0}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_are_labelled_and_nothing_between() {
        let labels: Vec<String> = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 0.1, 0.01]
            .into_iter()
            .map(decade_label)
            .collect();
        assert_eq!(
            labels,
            ["1", "10", "100", "1k", "10k", "100k", "1M", "10M", "0.1", "0.01"]
        );
        assert_eq!(decade_label(2000.0), "");
        assert_eq!(decade_label(0.0), "");
    }

    #[test]
    fn the_range_covers_whole_decades_with_a_margin() {
        let r = decade_range([1000.0, 250_000.0]);
        assert!(r.start < 1000.0 && r.start > 500.0, "{r:?}");
        assert!(r.end > 1e6 && r.end < 2e6, "{r:?}");
        assert_eq!(label_count(&r), 5);
        // One size alone still gets a decade to sit in.
        let one = decade_range([1000.0]);
        assert!(one.start < 1000.0 && one.end > 1e4, "{one:?}");
        // Nothing drawable: a default axis, not a panic.
        let none = decade_range([0.0, f64::NAN]);
        assert!(none.start < 1.0 && none.end > 10.0);
    }
}
