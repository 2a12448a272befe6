//! Latency against offered load, one chart per `server_load` target,
//! log-log: p50 and p99 end to end (solid) and, for the LLM targets, time
//! to first token (dashed) at each offered rate, with the SLO's limits as
//! grey lines and the highest rate meeting it as a vertical line.

use plotters::{
    element::DashedPathElement,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{
    chart_path,
    log_axis::{decade_range, log_log_chart},
    svg, Area, DrawResult, FONT, LOAD_CHARTS, PALETTE,
};
use crate::report::{
    load_figures::{curves, is_llm, LoadCurve, Slo},
    Chart, ChartError,
};
use perf_contract::schema::{Baseline, Metric};

/// One drawn line: label, colour, dashed, `(rate, ms)` points.
struct Series {
    label: String,
    color: RGBColor,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

fn series(c: &LoadCurve) -> Vec<Series> {
    // (figure, TTFT rather than E2E, p99 rather than p50)
    let mut wanted = vec![("E2E p50", false, false), ("E2E p99", false, true)];
    if is_llm(c.target) {
        wanted.extend([("TTFT p50", true, false), ("TTFT p99", true, true)]);
    }
    wanted
        .into_iter()
        .filter_map(|(label, ttft, p99)| {
            let points: Vec<(f64, f64)> = c
                .levels
                .iter()
                .filter_map(|l| {
                    let m: &Metric = if ttft { l.ttft? } else { l.e2e? };
                    let y = if p99 { m.summary.p99 } else { m.summary.p50 };
                    Some((l.rate.per_s(), y))
                })
                .filter(|&(x, y)| x > 0.0 && y.is_finite() && y > 0.0)
                .collect();
            (!points.is_empty()).then(|| Series {
                label: label.to_string(),
                color: if p99 { PALETTE[3] } else { PALETTE[0] },
                dashed: ttft,
                points,
            })
        })
        .collect()
}

pub fn charts(b: &Baseline) -> Result<Vec<Chart>, ChartError> {
    let mut out = Vec::new();
    for c in curves(b) {
        let lines = series(&c);
        if lines.is_empty() {
            continue;
        }
        let slo = Slo::of(c.target, &b.plan.vector.load);
        let max_rate = c.max_rate.map(|m| m.summary.median);
        let path = chart_path(&format!("{LOAD_CHARTS}{}", c.target));
        let title = format!(
            "server_load, {}: latency against offered rate, log-log",
            c.target
        );
        let svg = svg(&path, (900, 560), |root| {
            draw(root, &title, &lines, &slo, max_rate)
        })?;
        out.push(Chart { path, title, svg });
    }
    Ok(out)
}

fn draw(
    root: &Area,
    title: &str,
    lines: &[Series],
    slo: &Slo,
    max_rate: Option<f64>,
) -> DrawResult {
    let rates = lines.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let xs = decade_range(rates.chain(max_rate));
    let mut limits = vec![("E2E", slo.e2e_ms)];
    if let (Some(t), true) = (slo.ttft_ms, lines.iter().any(|s| s.dashed)) {
        limits.push(("TTFT", t));
    }
    let values = lines.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let ys = decade_range(values.chain(limits.iter().map(|l| l.1)));
    let mut chart = log_log_chart(
        root,
        title,
        (xs.clone(), "offered rate (requests/s, log scale)"),
        (ys.clone(), "latency from scheduled arrival (ms, log scale)"),
    )?;
    let grey = BLACK.mix(0.5);
    let note = |h: HPos, v: VPos| {
        TextStyle::from((FONT, 13).into_font())
            .color(&grey)
            .pos(Pos::new(h, v))
    };
    for (what, ms) in &limits {
        let (a, b) = ((xs.start, *ms), (xs.end, *ms));
        chart.draw_series(DashedLineSeries::new([a, b], 3, 5, grey.stroke_width(1)))?;
        chart.draw_series([Text::new(
            format!("SLO {what} ≤ {ms} ms"),
            (xs.start * 1.05, *ms),
            note(HPos::Left, VPos::Bottom),
        )])?;
    }
    if let Some(r) = max_rate.filter(|r| *r > 0.0) {
        let (a, b) = ((r, ys.start), (r, ys.end));
        chart.draw_series(DashedLineSeries::new([a, b], 6, 4, grey.stroke_width(2)))?;
        chart.draw_series([Text::new(
            format!("max rate meeting the SLO: {r}/s"),
            (r * 1.04, ys.end / 1.1),
            note(HPos::Left, VPos::Top),
        )])?;
    }
    for s in lines {
        let style = s.color.stroke_width(2);
        let anno = if s.dashed {
            chart.draw_series(DashedLineSeries::new(s.points.iter().copied(), 8, 5, style))?
        } else {
            chart.draw_series(LineSeries::new(s.points.iter().copied(), style))?
        };
        let dashed = s.dashed;
        anno.label(s.label.as_str()).legend(move |(x, y)| {
            if dashed {
                DashedPathElement::new(vec![(x, y), (x + 24, y)], 6, 3, style).into_dyn()
            } else {
                PathElement::new(vec![(x, y), (x + 24, y)], style).into_dyn()
            }
        });
        chart.draw_series(s.points.iter().map(|&p| {
            if dashed {
                TriangleMarker::new(p, 5, s.color.filled()).into_dyn()
            } else {
                Circle::new(p, 4, s.color.filled()).into_dyn()
            }
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
