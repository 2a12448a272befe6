//! Embedding throughput against batch size: the median docs/s of every
//! `<kind>.batch_<N>.docs_per_s` metric with its 95% confidence interval,
//! one line per input kind.

use std::collections::{BTreeMap, BTreeSet};

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{axis_number, category_label, chart_path, svg, Area, DrawResult, FONT, PALETTE};
use crate::report::{headline::batch_metric, numbers::bare_value, Chart, ChartError};
use perf_contract::{
    plan::WorkloadName,
    schema::{Baseline, Metric},
};

/// kind → batch size → metric.
type Series<'a> = BTreeMap<String, BTreeMap<usize, &'a Metric>>;

fn series(b: &Baseline) -> Series<'_> {
    let mut out: Series = BTreeMap::new();
    for (w, result) in &b.workloads {
        if *w != WorkloadName::Embedding {
            continue;
        }
        for (name, m) in &result.metrics {
            if let Some((kind, batch)) = batch_metric(name) {
                out.entry(kind.to_string()).or_default().insert(batch, m);
            }
        }
    }
    out
}

pub fn chart(b: &Baseline) -> Result<Option<Chart>, ChartError> {
    let s = series(b);
    if s.is_empty() {
        return Ok(None);
    }
    let path = chart_path("embedding_throughput_vs_batch");
    let title = "embedding: throughput vs batch size (median, 95% CI)".to_string();
    let svg = svg(&path, (900, 540), |root| draw(root, &title, &s))?;
    Ok(Some(Chart { path, title, svg }))
}

fn draw(root: &Area, title: &str, s: &Series) -> DrawResult {
    // Batch sizes are categories, evenly spaced: 1, 10 and 50 on a linear
    // axis would crowd the small ones together.
    let batches: Vec<usize> = s
        .values()
        .flat_map(|m| m.keys().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let labels: Vec<String> = batches.iter().map(|b| b.to_string()).collect();
    let x_of = |batch: usize| batches.iter().position(|&b| b == batch).unwrap_or(0) as f64;
    let unit = s.values().flat_map(|m| m.values()).next().map(|m| m.unit);
    let top = s
        .values()
        .flat_map(|m| m.values())
        .map(|m| m.summary.median_ci.map_or(m.summary.median, |ci| ci.high))
        .fold(0.0_f64, f64::max)
        // An all-zero series still needs a non-empty axis.
        .max(1e-9);
    let k = batches.len() as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..k - 0.5, 0.0..top * 1.15)?;
    chart
        .configure_mesh()
        .x_labels(batches.len() + 1)
        .x_label_formatter(&|x| category_label(*x, &labels))
        .y_label_formatter(&|y| axis_number(*y))
        .x_desc("batch size (documents per forward pass)")
        .y_desc(format!("throughput ({})", unit.map_or("", |u| u.symbol())))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .disable_x_mesh()
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    for (i, (kind, by_batch)) in s.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<(f64, f64)> = by_batch
            .iter()
            .map(|(&b, m)| (x_of(b), m.summary.median))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(kind.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], color.stroke_width(3)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        chart.draw_series(by_batch.iter().filter_map(|(&b, m)| {
            let ci = m.summary.median_ci?;
            Some(ErrorBar::new_vertical(
                x_of(b),
                ci.low,
                m.summary.median,
                ci.high,
                color.stroke_width(2),
                12,
            ))
        }))?;
        // Each label goes on the side of its point the line leaves free:
        // below-right where the line rises to the right, above-right where
        // it falls (the last point follows its incoming segment).
        let medians: Vec<f64> = by_batch.values().map(|m| m.summary.median).collect();
        chart.draw_series(by_batch.iter().enumerate().map(|(j, (&b, m))| {
            let y = m.summary.median;
            let rising = match (medians.get(j + 1), j.checked_sub(1).map(|k| medians[k])) {
                (Some(&next), _) => next >= y,
                (None, Some(before)) => y >= before,
                (None, None) => true,
            };
            let (v, dy) = if rising {
                (VPos::Top, 6)
            } else {
                (VPos::Bottom, -6)
            };
            let style = TextStyle::from((FONT, 13).into_font())
                .color(&color)
                .pos(Pos::new(HPos::Left, v));
            let label = format!("{} (n = {})", bare_value(y, m.unit), m.summary.count);
            EmptyElement::at((x_of(b), y)) + Text::new(label, (10, dy), style)
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}
