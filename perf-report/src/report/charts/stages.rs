//! Where a RAG query's time goes: one horizontal bar per stage, its mean
//! time and share of the mean latency, largest first.

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{axis_number, category_label, chart_path, svg, Area, DrawResult, FONT, PALETTE};
use crate::{
    report::{
        stage_breakdown::{self, StageBreakdown},
        Chart, ChartError,
    },
    table::format_value,
};
use perf_contract::schema::Baseline;

/// Time between stages is drawn only when it is visible at all.
const MIN_UNATTRIBUTED_SHARE: f64 = 0.001;

pub fn chart(b: &Baseline) -> Result<Option<Chart>, ChartError> {
    let Some(breakdown) = stage_breakdown::rag_query(b) else {
        return Ok(None);
    };
    let path = chart_path("rag_query_stages");
    let title = format!(
        "{}: stage breakdown (mean per question, share of mean latency)",
        breakdown.workload
    );
    let svg = svg(&path, (900, 460), |root| draw(root, &title, &breakdown))?;
    Ok(Some(Chart { path, title, svg }))
}

fn draw(root: &Area, title: &str, s: &StageBreakdown) -> DrawResult {
    let mut bars: Vec<(String, f64, f64)> = s
        .rows
        .iter()
        .map(|r| (r.stage.clone(), r.mean, r.share))
        .collect();
    let rest = s.unattributed_mean / s.latency_mean.max(f64::MIN_POSITIVE);
    if rest >= MIN_UNATTRIBUTED_SHARE {
        bars.push(("(between stages)".into(), s.unattributed_mean, rest));
    }
    // The largest bar at the top: category 0 is drawn at the bottom.
    bars.reverse();
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-9);
    let k = bars.len() as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 20))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(150)
        // Room right of the longest bar for its label.
        .build_cartesian_2d(0.0..max * 1.45, -0.5..k - 0.5)?;
    chart
        .configure_mesh()
        .y_labels(bars.len() + 1)
        .y_label_formatter(&|y| category_label(*y, &labels))
        .x_label_formatter(&|x| axis_number(*x))
        .x_desc(format!("mean time per question ({})", s.unit.symbol()))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .disable_y_mesh()
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    let color = PALETTE[0];
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let y = i as f64;
        Rectangle::new([(0.0, y - 0.32), (b.1, y + 0.32)], color.filled())
    }))?;
    let style = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let label = format!("{} · {:.1}%", format_value(b.1, s.unit), b.2 * 100.0);
        Text::new(label, (b.1 + max * 0.015, i as f64), style.clone())
    }))?;
    Ok(())
}
