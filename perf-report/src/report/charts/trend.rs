//! The headline metrics over the baseline history: one small panel per
//! metric, its median and 95% interval in each baseline of the current
//! profile, oldest left. Drawn only when there are at least two baselines.
//!
//! One series per machine (fingerprint and processor signature, as `check`
//! tells machines apart): a line joins only baselines of one machine, so a
//! change of host (a Zen 4 baseline followed by a Zen 3 one) is never drawn
//! as a step of the code; each machine has its colour, named in a legend.

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

/// The machines of `runs` in order of first appearance, and which one
/// each run was measured on.
fn machines(runs: &[&Baseline]) -> (Vec<String>, Vec<usize>) {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let of = runs
        .iter()
        .map(|r| {
            let key = (
                r.machine_fingerprint.as_str(),
                r.environment.cpu_signature.as_str(),
            );
            keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                keys.push(key);
                let mut name = r.environment.machine_label();
                if names.contains(&name) {
                    name = format!("{name} (#{})", keys.len());
                }
                names.push(name);
                keys.len() - 1
            })
        })
        .collect();
    (names, of)
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
    let (names, machine_of) = machines(&runs);
    let rows = panels.len().div_ceil(COLUMNS) as u32;
    let size = (PANEL.0 * COLUMNS as u32, PANEL.1 * rows + 50);
    let path = chart_path("trend");
    let title = format!(
        "headline metrics over {} baselines ({} profile; median, 95% CI){}",
        runs.len(),
        inputs.baseline.plan.profile.as_str(),
        if names.len() > 1 {
            format!("; one line per machine ({})", names.len())
        } else {
            String::new()
        }
    );
    let series = Series {
        labels: &labels,
        names: &names,
        machine_of: &machine_of,
    };
    let svg = svg(&path, size, |root| {
        draw(root, &title, &panels, &series, rows)
    })?;
    Ok(Some(Chart { path, title, svg }))
}

fn metric<'a>(b: &'a Baseline, workload: WorkloadName, name: &str) -> Option<&'a Metric> {
    b.workloads.get(&workload)?.metrics.get(name)
}

/// What every panel shares: the x labels, the machines' names and which
/// machine each run was measured on.
struct Series<'a> {
    labels: &'a [String],
    names: &'a [String],
    machine_of: &'a [usize],
}

fn draw(root: &Area, title: &str, panels: &[Panel], series: &Series, rows: u32) -> DrawResult {
    let root = root.titled(title, (FONT, 20))?;
    let areas = root.split_evenly((rows as usize, COLUMNS));
    for (i, (panel, area)) in panels.iter().zip(areas.iter()).enumerate() {
        // The legend once, in the first panel, when there is a choice.
        let legend = i == 0 && series.names.len() > 1;
        draw_panel(area, panel, series, legend)?;
    }
    Ok(())
}

fn draw_panel(area: &Area, p: &Panel, series: &Series, legend: bool) -> DrawResult {
    let labels = series.labels;
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
    for (machine, name) in series.names.iter().enumerate() {
        let color = PALETTE[machine % PALETTE.len()];
        let mine = |i: usize| series.machine_of[i] == machine;
        let points: Vec<(f64, f64)> = p
            .points
            .iter()
            .enumerate()
            .filter(|(i, _)| mine(*i))
            .filter_map(|(i, m)| Some((i as f64, (*m)?.summary.median)))
            .collect();
        let line = chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
        if legend {
            line.label(name.as_str()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled())
            });
        }
        chart.draw_series(points.iter().map(|&pt| Circle::new(pt, 4, color.filled())))?;
        chart.draw_series(p.points.iter().enumerate().filter_map(|(i, m)| {
            let m = (*m).filter(|_| mine(i))?;
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
    }
    if legend {
        chart
            .configure_series_labels()
            .label_font((FONT, 11))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    Ok(())
}
