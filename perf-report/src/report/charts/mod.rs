//! The report's SVG charts, drawn with plotters' SVG backend.
//!
//! The backend writes text as `<text>` elements with a generic font family
//! and estimates label widths itself (plotters without its `ttf` feature),
//! so no font file is read and the output does not depend on the fonts the
//! drawing machine has: the viewer renders the text. Coordinates are
//! integers computed from the data alone, so the same data gives the same
//! bytes.

mod cdf;
mod load;
mod log_axis;
mod recall_qps;
pub(crate) mod recorded;
mod scaling;
mod stages;
mod throughput;
mod trend;

use plotters::{coord::Shift, prelude::*};

use super::{vector_figures::VectorFigures, Chart, ChartError, ReportInputs, CHART_DIR};

/// Sans-serif everywhere: every viewer has one.
pub(crate) const FONT: &str = "sans-serif";

/// Okabe-Ito colours: distinguishable with the common colour-vision
/// deficiencies.
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
];

pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub(crate) type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws one chart of `size` pixels into an SVG string.
pub(crate) fn svg(
    path: &str,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> DrawResult,
) -> Result<String, ChartError> {
    let failed = |e: &dyn std::fmt::Display| ChartError {
        path: path.to_string(),
        message: e.to_string(),
    };
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        draw(&root).map_err(|e| failed(&e))?;
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(out)
}

/// An axis number with as many decimals as its size needs; whole numbers
/// (most ticks) without any.
pub(crate) fn axis_number(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 || (x - x.round()).abs() < 1e-9 * a.max(1.0) {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// The label of category `i` at an integer axis position, nothing between:
/// categories are drawn at 0, 1, 2 … of a plain numeric axis.
pub(crate) fn category_label(x: f64, labels: &[String]) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    labels.get(i as usize).cloned().unwrap_or_default()
}

/// Name prefixes of the vector-engine and server-load charts, so their
/// sections can link the charts drawn for them.
pub(crate) const VECTOR_CHARTS: &str = "vector_";
pub(crate) const LOAD_CHARTS: &str = "server_load_";

pub(crate) fn chart_path(name: &str) -> String {
    format!("{CHART_DIR}/{name}.svg")
}

/// The charts whose names start with `prefix`.
pub(crate) fn named<'a>(charts: &'a [Chart], prefix: &str) -> impl Iterator<Item = &'a Chart> {
    let start = format!("{CHART_DIR}/{prefix}");
    charts.iter().filter(move |c| c.path.starts_with(&start))
}

/// Every chart the inputs allow, in the order the report shows them.
pub fn all(inputs: &ReportInputs) -> Result<Vec<Chart>, ChartError> {
    let mut out = cdf::charts(&inputs.baseline)?;
    out.extend(throughput::chart(&inputs.baseline)?);
    out.extend(stages::chart(&inputs.baseline)?);
    out.extend(trend::chart(inputs)?);
    out.extend(recorded::chart(inputs)?);
    let vector = VectorFigures::of(&inputs.baseline);
    out.extend(scaling::charts(&vector)?);
    out.extend(recall_qps::chart(&vector, &inputs.baseline.plan.index)?);
    out.extend(load::charts(&inputs.baseline)?);
    Ok(out)
}
