//! The vector engines against corpus size, log-log: p50 query latency at
//! k = 10, bytes per vector and build time, one line per engine (colours
//! by `VectorEngineName::ALL`, the same in every chart).

use plotters::prelude::*;

use super::{
    chart_path,
    log_axis::{decade_range, log_log_chart},
    svg, Area, DrawResult, FONT, PALETTE, VECTOR_CHARTS,
};
use crate::report::{vector_figures::VectorFigures, Chart, ChartError};
use perf_contract::{
    metric_key::{ScaleFigure, VectorEngineName},
    schema::Metric,
};

/// The k the latency curve is drawn at when the run measured it.
const LATENCY_K: u32 = 10;

/// One engine's points: `(size, figure)`, with the fewest and most
/// samples behind a point.
struct Line {
    engine: VectorEngineName,
    points: Vec<(f64, f64)>,
    n: (usize, usize),
}

/// One chart: which figure, which statistic of it, and its words.
struct Spec {
    name: &'static str,
    figure: ScaleFigure,
    stat: fn(&Metric) -> f64,
    title: String,
    y_desc: &'static str,
}

fn lines(f: &VectorFigures, figure: ScaleFigure, stat: fn(&Metric) -> f64) -> Vec<Line> {
    f.engines()
        .into_iter()
        .filter_map(|engine| {
            let curve = f.curve(engine, figure);
            let points: Vec<(f64, f64)> = curve
                .iter()
                .map(|(size, m)| (f64::from(*size), stat(m)))
                .filter(|&(_, y)| y.is_finite() && y > 0.0)
                .collect();
            if points.is_empty() {
                return None;
            }
            let counts = curve.iter().map(|(_, m)| m.summary.count);
            let n = (counts.clone().min()?, counts.max()?);
            Some(Line { engine, points, n })
        })
        .collect()
}

pub fn charts(f: &VectorFigures) -> Result<Vec<Chart>, ChartError> {
    let ks = f.ks();
    let k = if ks.contains(&LATENCY_K) {
        Some(LATENCY_K)
    } else {
        ks.first().copied()
    };
    let mut specs = Vec::new();
    if let Some(k) = k {
        specs.push(Spec {
            name: "latency",
            figure: ScaleFigure::Latency { k },
            stat: |m| m.summary.p50,
            title: format!(
                "vector engines: p50 query latency (k = {k}) against corpus size, log-log"
            ),
            y_desc: "p50 latency of one query (µs)",
        });
    }
    specs.push(Spec {
        name: "bytes_per_vector",
        figure: ScaleFigure::BytesPerVector,
        stat: |m| m.summary.median,
        title: "vector engines: bytes per vector against corpus size, log-log".into(),
        y_desc: "bytes per vector (B)",
    });
    specs.push(Spec {
        name: "rss_per_vector",
        figure: ScaleFigure::RssPerVector,
        stat: |m| m.summary.median,
        title: "in-process engines: resident-set growth per vector against corpus size, log-log"
            .into(),
        y_desc: "RSS growth while loading, per vector (B)",
    });
    specs.push(Spec {
        name: "build_time",
        figure: ScaleFigure::BuildTime,
        stat: |m| m.summary.median,
        title: "vector engines: build time against corpus size, log-log".into(),
        y_desc: "time to load every vector (ms)",
    });
    let mut out = Vec::new();
    for s in specs {
        let lines = lines(f, s.figure, s.stat);
        if lines.is_empty() {
            continue;
        }
        let path = chart_path(&format!("{VECTOR_CHARTS}scaling_{}", s.name));
        let svg = svg(&path, (900, 540), |root| {
            draw(root, &s.title, s.y_desc, &lines)
        })?;
        out.push(Chart {
            path,
            title: s.title,
            svg,
        });
    }
    Ok(out)
}

fn engine_color(engine: VectorEngineName) -> RGBColor {
    let i = VectorEngineName::ALL
        .iter()
        .position(|&e| e == engine)
        .unwrap_or(0);
    PALETTE[i % PALETTE.len()]
}

fn draw(root: &Area, title: &str, y_desc: &str, lines: &[Line]) -> DrawResult {
    let xs = decade_range(lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)));
    let ys = decade_range(lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)));
    let mut chart = log_log_chart(
        root,
        title,
        (xs, "vectors held (log scale)"),
        (ys, &format!("{y_desc}, log scale")),
    )?;
    for line in lines {
        let color = engine_color(line.engine);
        let n = match line.n {
            (a, b) if a == b => format!("n = {a} per point"),
            (a, b) => format!("n = {a}–{b} per point"),
        };
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(format!("{} ({n})", line.engine))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], color.stroke_width(3)));
        chart.draw_series(
            line.points
                .iter()
                .map(|&p| Circle::new(p, 5, color.filled())),
        )?;
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
