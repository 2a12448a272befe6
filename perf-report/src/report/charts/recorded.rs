//! The recorded history of the baseline's machine (`baselines/records/`):
//! one panel per headline metric, each recorded commit's median and 95%
//! interval along the branch's first-parent line, oldest left, and every
//! change point `perf history` reports as a dashed line before its commit,
//! labelled with its size. Drawn when some metric has two recorded
//! commits. One machine only, so nothing here joins two machines.

use plotters::prelude::*;

use super::{axis_number, chart_path, svg, Area, DrawResult, FONT, PALETTE};
use crate::{
    history::{markdown::short, series::Series},
    report::{Chart, ChartError, ReportInputs},
};

const COLUMNS: usize = 2;
const PANEL: (u32, u32) = (450, 270);
/// More x labels than this would overlap; the rest are left blank.
const MAX_X_LABELS: usize = 6;
/// Change points: Okabe-Ito vermillion, apart from the series' blue.
const STEP: RGBColor = PALETTE[3];

/// The chart's path, for section 8 to name.
pub(crate) const NAME: &str = "recorded";

pub fn chart(inputs: &ReportInputs) -> Result<Option<Chart>, ChartError> {
    let Some(recorded) = &inputs.recorded else {
        return Ok(None);
    };
    let series: Vec<&Series> = recorded
        .series
        .iter()
        .filter(|s| s.points.len() >= 2)
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let marked: usize = series.iter().map(|s| s.change_points.len()).sum();
    let path = chart_path(NAME);
    let title = format!(
        "recorded history of {} (median, 95% CI per commit; {marked} change point{} dashed)",
        recorded.machine,
        if marked == 1 { "" } else { "s" }
    );
    let columns = series.len().min(COLUMNS);
    let rows = series.len().div_ceil(columns);
    // Full width even for one panel: the title names the machine.
    let size = (PANEL.0 * COLUMNS as u32, PANEL.1 * rows as u32 + 50);
    let svg = svg(&path, size, |root| {
        let root = root.titled(&title, (FONT, 18))?;
        let areas = root.split_evenly((rows, columns));
        for (s, area) in series.iter().zip(areas.iter()) {
            panel(area, s)?;
        }
        Ok(())
    })?;
    Ok(Some(Chart { path, title, svg }))
}

fn panel(area: &Area, s: &Series) -> DrawResult {
    // x is the commit's place among this series' records, so commits
    // without a record take no room; labels are short commit ids.
    let span = |i: usize| {
        let p = &s.points[i];
        p.interval
            .map_or((p.median, p.median), |ci| (ci.low, ci.high))
    };
    let (lo, hi) = (0..s.points.len())
        .map(span)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (a, b)| {
            (l.min(a), h.max(b))
        });
    let pad = ((hi - lo) * 0.2).max(hi.abs() * 0.02).max(1e-9);
    let n = s.points.len();
    let every = n.div_ceil(MAX_X_LABELS);
    let label = |x: &f64| {
        let i = x.round();
        let keep = (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n;
        match keep && (i as usize).is_multiple_of(every) {
            true => short(&s.points[i as usize].commit.id)[..7].to_string(),
            false => String::new(),
        }
    };
    let y = (lo - pad).max(0.0)..hi + pad;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{} ({})", s.metric, s.unit.symbol()), (FONT, 15))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, y.clone())?;
    chart
        .configure_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| axis_number(*v))
        .y_labels(5)
        .label_style((FONT, 12))
        .disable_x_mesh()
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    for c in &s.change_points {
        let x = c.index as f64 - 0.5;
        chart.draw_series(DashedLineSeries::new(
            [(x, y.start), (x, y.end)],
            5,
            4,
            STEP.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{:+.1}%", c.change_pct),
            (x, y.end),
            (FONT, 12).into_font().color(&STEP),
        )))?;
    }
    let color = PALETTE[0];
    let points: Vec<(f64, f64)> = s
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64, p.median))
        .collect();
    chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
    chart.draw_series(points.iter().map(|&pt| Circle::new(pt, 3, color.filled())))?;
    chart.draw_series((0..n).map(|i| {
        let (low, high) = span(i);
        ErrorBar::new_vertical(
            i as f64,
            low,
            s.points[i].median,
            high,
            color.stroke_width(1),
            8,
        )
    }))?;
    Ok(())
}
