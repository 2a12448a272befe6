//! The HNSW sweep as ann-benchmarks draws it: every setting's mean
//! recall@10 against its median QPS (log y), coloured by connectivity (M)
//! and labelled by ef, the Pareto front as a line, and the plan's own
//! setting circled (or said to be missing).

use std::collections::BTreeSet;

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{
    axis_number, chart_path,
    log_axis::{decade_label, decade_range, label_count},
    svg, Area, DrawResult, FONT, PALETTE, VECTOR_CHARTS,
};
use crate::report::{vector_figures::VectorFigures, Chart, ChartError};
use perf_contract::plan::IndexPlan;

/// The operating point's ring: vermillion, apart from the M colours'
/// first entries.
const MARK: RGBColor = RGBColor(213, 94, 0);

/// One drawn point: recall, QPS, M, ef.
type Point = (f64, f64, u32, u32);

pub fn chart(f: &VectorFigures, index: &IndexPlan) -> Result<Option<Chart>, ChartError> {
    let points: Vec<Point> = f
        .sweep
        .iter()
        .filter_map(|p| {
            let (r, q) = p.xy()?;
            (r.is_finite() && q.is_finite() && q > 0.0).then_some((r, q, p.connectivity, p.ef))
        })
        .collect();
    if points.is_empty() {
        return Ok(None);
    }
    let front: Vec<(f64, f64)> = f
        .pareto_front()
        .into_iter()
        .filter_map(|i| f.sweep[i].xy())
        .collect();
    let operating = f.operating_point(index).and_then(|i| f.sweep[i].xy());
    let path = chart_path(&format!("{VECTOR_CHARTS}recall_qps"));
    let title =
        "HNSW sweep: recall@10 against QPS (log y), Pareto front, operating point".to_string();
    let svg = svg(&path, (900, 560), |root| {
        draw(root, &title, &points, &front, operating, index)
    })?;
    Ok(Some(Chart { path, title, svg }))
}

fn draw(
    root: &Area,
    title: &str,
    points: &[Point],
    front: &[(f64, f64)],
    operating: Option<(f64, f64)>,
    index: &IndexPlan,
) -> DrawResult {
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.0), h.max(p.0))
        });
    let span = hi - lo;
    // Room on the right for the ef labels of the best-recall points.
    let xs = (lo - (span * 0.08).max(0.005)).max(0.0)..hi + (span * 0.15).max(0.01);
    let ys = decade_range(points.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 20))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(xs, ys.clone().log_scale())?;
    chart
        .configure_mesh()
        .y_labels(label_count(&ys))
        .x_label_formatter(&|x| axis_number(*x))
        .y_label_formatter(&|y| decade_label(*y))
        .x_desc("recall@10 (mean over questions)")
        .y_desc("queries per second (median of passes, log scale)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            front.iter().copied(),
            BLACK.mix(0.8).stroke_width(2),
        ))?
        .label("Pareto front (no setting beats it on both)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 22, y)], BLACK.mix(0.8).stroke_width(2)));
    let ms: BTreeSet<u32> = points.iter().map(|p| p.2).collect();
    for (i, &m) in ms.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mine: Vec<&Point> = points.iter().filter(|p| p.2 == m).collect();
        chart
            .draw_series(
                mine.iter()
                    .map(|p| Circle::new((p.0, p.1), 6, color.filled())),
            )?
            .label(format!("M = {m}"))
            .legend(move |(x, y)| Circle::new((x + 11, y), 6, color.filled()));
        let style = TextStyle::from((FONT, 13).into_font())
            .color(&color)
            .pos(Pos::new(HPos::Left, VPos::Bottom));
        chart.draw_series(mine.iter().map(|p| {
            EmptyElement::at((p.0, p.1)) + Text::new(format!("ef{}", p.3), (8, -6), style.clone())
        }))?;
    }
    let said = format!(
        "operating point (plan: M = {}, ef = {})",
        index.connectivity, index.expansion_search
    );
    match operating {
        Some(p) => {
            chart
                .draw_series([Circle::new(p, 12, MARK.stroke_width(3))])?
                .label(said)
                .legend(|(x, y)| Circle::new((x + 11, y), 6, MARK.stroke_width(2)));
        }
        None => {
            let style = TextStyle::from((FONT, 14).into_font())
                .color(&MARK)
                .pos(Pos::new(HPos::Left, VPos::Top));
            root.draw(&Text::new(
                format!("{said}: not among the sweep's settings"),
                (100, 52),
                style,
            ))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}
