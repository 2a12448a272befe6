//! Latency distribution per workload: the empirical CDF of every latency
//! metric's raw samples, with the p50, p95 and p99 levels marked.

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{axis_number, chart_path, svg, Area, DrawResult, FONT, PALETTE};
use crate::report::{Chart, ChartError};
use perf_contract::schema::{Baseline, Unit};

/// Fewer samples than this make a staircase, not a distribution.
const MIN_SAMPLES: usize = 10;
const MAX_SERIES: usize = PALETTE.len();

/// One chart's data: workload, unit, and `(metric, sorted samples)` lines.
struct Workload {
    name: String,
    unit: Unit,
    lines: Vec<(String, Vec<f64>)>,
}

/// Per workload, the latency metrics (times, not stages: those have their
/// own chart) with enough samples, in the unit of the first one.
fn series(b: &Baseline) -> Vec<Workload> {
    let mut out = Vec::new();
    for (w, result) in &b.workloads {
        let mut unit = None;
        let mut lines = Vec::new();
        for (name, m) in &result.metrics {
            let is_duration = matches!(
                m.unit,
                Unit::Milliseconds | Unit::Microseconds | Unit::Seconds
            );
            if !is_duration || name.kind().stage().is_some() || m.samples.len() < MIN_SAMPLES {
                continue;
            }
            if *unit.get_or_insert(m.unit) != m.unit || lines.len() == MAX_SERIES {
                continue;
            }
            let mut xs: Vec<f64> = m
                .samples
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect();
            xs.sort_by(f64::total_cmp);
            lines.push((name.to_string(), xs));
        }
        if let (Some(unit), false) = (unit, lines.is_empty()) {
            out.push(Workload {
                name: w.as_str().to_string(),
                unit,
                lines,
            });
        }
    }
    out
}

pub fn charts(b: &Baseline) -> Result<Vec<Chart>, ChartError> {
    series(b)
        .into_iter()
        .map(|w| {
            let path = chart_path(&format!("latency_cdf_{}", w.name));
            let title = format!("{}: latency distribution (CDF of raw samples)", w.name);
            let svg = svg(&path, (900, 540), |root| {
                draw(root, &title, w.unit, &w.lines)
            })?;
            Ok(Chart { path, title, svg })
        })
        .collect()
}

fn draw(root: &Area, title: &str, unit: Unit, lines: &[(String, Vec<f64>)]) -> DrawResult {
    let all = lines.iter().flat_map(|(_, xs)| xs.iter().copied());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
        (l.min(x), h.max(x))
    });
    let pad = ((hi - lo) * 0.03).max(hi.abs() * 1e-3).max(1e-9);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(lo..hi, 0f64..1.0)?;
    chart
        .configure_mesh()
        .x_desc(format!("latency ({})", unit.symbol()))
        .y_desc("share of samples ≤ x")
        .x_label_formatter(&|x| axis_number(*x))
        .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    let grey = BLACK.mix(0.7);
    for q in [0.5, 0.95, 0.99] {
        chart.draw_series(LineSeries::new([(lo, q), (hi, q)], BLACK.mix(0.35)))?;
        let style = TextStyle::from((FONT, 13).into_font())
            .color(&grey)
            .pos(Pos::new(HPos::Left, VPos::Bottom));
        let label = format!("p{}", (q * 100.0).round());
        chart.draw_series([Text::new(label, (lo, q), style)])?;
    }
    for (i, (name, xs)) in lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let n = xs.len() as f64;
        // A step function: the CDF jumps by 1/n at each sample.
        let steps = xs
            .iter()
            .enumerate()
            .flat_map(|(k, &x)| [(x, k as f64 / n), (x, (k + 1) as f64 / n)]);
        chart
            .draw_series(LineSeries::new(steps, color.stroke_width(2)))?
            .label(format!("{name} (n = {})", xs.len()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}
