//! The headline metrics over the baseline history: one small panel per
//! metric, its median and 95% interval in each baseline of the current
//! profile, oldest left. Drawn only when there are at least two baselines.

use plotters::prelude::*;

use super::{axis_number, category_label, chart_path, svg, Area, DrawResult, FONT, PALETTE};
use crate::report::{
    headline::Headline, previous::same_profile_history, Chart, ChartError, ReportInputs,
};
use perf_contract::{
    plan::WorkloadName,
    schema::{Baseline, Metric},
};

const COLUMNS: usize = 2;
const PANEL: (u32, u32) = (450, 270);
/// More x labels than this would overlap; the rest are left blank.
const MAX_X_LABELS: usize = 6;

struct Panel<'a> {
    title: String,
    points: Vec<Option<&'a Metric>>,
}

pub fn chart(inputs: &ReportInputs) -> Result<Option<Chart>, ChartError> {
    let mut runs: Vec<&Baseline> = same_profile_history(inputs)
        .into_iter()
        .map(|h| &h.baseline)
        .collect();
    runs.push(&inputs.baseline);
    if runs.len() < 2 {
        return Ok(None);
    }
    let panels: Vec<Panel> = Headline::of(&inputs.baseline)
        .keys()
        .into_iter()
        .map(|(w, m)| Panel {
            title: format!("{w}.{m}"),
            points: runs.iter().map(|r| metric(r, w, &m)).collect(),
        })
        .collect();
    if panels.is_empty() {
        return Ok(None);
    }
    let step = runs.len().div_ceil(MAX_X_LABELS);
    let labels: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let keep = i % step == 0 || i + 1 == runs.len();
            if keep {
                r.created_at.format("%m-%d %H:%M").to_string()
            } else {
                String::new()
            }
        })
        .collect();
    let rows = panels.len().div_ceil(COLUMNS) as u32;
    let size = (PANEL.0 * COLUMNS as u32, PANEL.1 * rows + 50);
    let path = chart_path("trend");
    let title = format!(
        "headline metrics over {} baselines ({} profile; median, 95% CI)",
        runs.len(),
        inputs.baseline.plan.profile.as_str()
    );
    let svg = svg(&path, size, |root| {
        draw(root, &title, &panels, &labels, rows)
    })?;
    Ok(Some(Chart { path, title, svg }))
}

fn metric<'a>(b: &'a Baseline, workload: WorkloadName, name: &str) -> Option<&'a Metric> {
    b.workloads.get(&workload)?.metrics.get(name)
}

fn draw(root: &Area, title: &str, panels: &[Panel], labels: &[String], rows: u32) -> DrawResult {
    let root = root.titled(title, (FONT, 20))?;
    let areas = root.split_evenly((rows as usize, COLUMNS));
    for (i, (panel, area)) in panels.iter().zip(areas.iter()).enumerate() {
        draw_panel(area, panel, labels, PALETTE[i % PALETTE.len()])?;
    }
    Ok(())
}

fn draw_panel(area: &Area, p: &Panel, labels: &[String], color: RGBColor) -> DrawResult {
    let unit = p.points.iter().flatten().map(|m| m.unit).next();
    let span = |m: &Metric| match m.summary.median_ci {
        Some(ci) => (ci.low, ci.high),
        None => (m.summary.median, m.summary.median),
    };
    let (lo, hi) = p
        .points
        .iter()
        .flatten()
        .map(|m| span(m))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (a, b)| {
            (l.min(a), h.max(b))
        });
    if !lo.is_finite() {
        return Ok(());
    }
    let pad = ((hi - lo) * 0.15).max(hi.abs() * 0.02).max(1e-9);
    let n = labels.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{} ({})", p.title, unit.map_or("", |u| u.symbol())),
            (FONT, 15),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.4..n - 0.6, (lo - pad).max(0.0)..hi + pad)?;
    chart
        .configure_mesh()
        .x_labels(labels.len() + 1)
        .x_label_formatter(&|x| category_label(*x, labels))
        .y_label_formatter(&|y| axis_number(*y))
        .y_labels(5)
        .label_style((FONT, 12))
        .disable_x_mesh()
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    let points: Vec<(f64, f64)> = p
        .points
        .iter()
        .enumerate()
        .filter_map(|(i, m)| Some((i as f64, (*m)?.summary.median)))
        .collect();
    chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
    chart.draw_series(points.iter().map(|&pt| Circle::new(pt, 4, color.filled())))?;
    chart.draw_series(p.points.iter().enumerate().filter_map(|(i, m)| {
        let m = (*m)?;
        let (low, high) = span(m);
        Some(ErrorBar::new_vertical(
            i as f64,
            low,
            m.summary.median,
            high,
            color.stroke_width(1),
            10,
        ))
    }))?;
    Ok(())
}
