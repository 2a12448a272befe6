//! Section 4: every metric of every workload as a table (any workload,
//! known or not, gets the generic table), then the RAG query's stage
//! breakdown and the embedding throughput by batch size.

use std::collections::BTreeMap;

use super::heading;
use crate::export::markdown_table::MarkdownTable;
use crate::{
    report::{
        headline::batch_metric,
        numbers::bare_value,
        stage_breakdown::{self, StageBreakdown},
        ReportInputs,
    },
    table::format_value,
};
use perf_contract::{
    plan::WorkloadName,
    schema::{Better, Metric, WorkloadResult},
    summary::Interval,
};

pub fn section(inputs: &ReportInputs) -> String {
    let mut out = heading(4);
    if inputs.baseline.workloads.is_empty() {
        out.push_str("The baseline holds no workload results.\n\n");
    }
    for (w, result) in &inputs.baseline.workloads {
        out.push_str(&format!("### `{w}`\n\n"));
        out.push_str(&metric_table(result));
        out.push('\n');
        out.push_str(&descriptions(result));
        if let Some(b) = stage_breakdown::of_workload(w.as_str(), result) {
            out.push_str(&stages(&b));
        }
        if *w == WorkloadName::Embedding {
            out.push_str(&batches(result));
        }
    }
    out
}

fn interval(ci: Option<Interval>, m: &Metric) -> String {
    ci.map_or("n too small".into(), |ci| {
        format!(
            "{} – {}",
            bare_value(ci.low, m.unit),
            bare_value(ci.high, m.unit)
        )
    })
}

fn better(b: Better) -> &'static str {
    match b {
        Better::Lower => "lower",
        Better::Higher => "higher",
        Better::Neither => "info",
    }
}

fn metric_table(result: &WorkloadResult) -> String {
    let mut t = MarkdownTable::new(&[
        ("metric", false),
        ("unit", false),
        ("better", false),
        ("n", true),
        ("median", true),
        ("95% CI (median)", true),
        ("p95", true),
        ("95% CI (p95)", true),
        ("p99", true),
        ("min", true),
        ("max", true),
        ("mean", true),
        ("stdev", true),
    ]);
    for (name, m) in &result.metrics {
        let s = &m.summary;
        let v = |x: f64| bare_value(x, m.unit);
        let unit = match m.unit.symbol() {
            "" => "–".to_string(),
            // Cells carry their own KiB/MiB scale.
            "B" => "bytes".to_string(),
            sym => sym.to_string(),
        };
        t.row(vec![
            format!("`{name}`"),
            unit,
            better(m.better).into(),
            s.count.to_string(),
            v(s.median),
            interval(s.median_ci, m),
            v(s.p95),
            interval(s.p95_ci, m),
            v(s.p99),
            v(s.min),
            v(s.max),
            v(s.mean),
            v(s.stdev),
        ]);
    }
    t.render()
}

fn descriptions(result: &WorkloadResult) -> String {
    let lines: Vec<String> = result
        .metrics
        .iter()
        .filter(|(_, m)| !m.description.is_empty())
        .map(|(name, m)| format!("- `{name}`: {}\n", m.description.trim()))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    format!("What one sample is:\n\n{}\n", lines.concat())
}

fn stages(b: &StageBreakdown) -> String {
    let mut t = MarkdownTable::new(&[
        ("stage", false),
        ("n", true),
        ("median", true),
        ("mean", true),
        ("p95", true),
        ("share of mean latency", true),
    ]);
    let v = |x: f64| format_value(x, b.unit);
    for r in &b.rows {
        t.row(vec![
            format!("`{}`", r.stage),
            r.n.to_string(),
            v(r.median),
            v(r.mean),
            v(r.p95),
            format!("{:.1}%", r.share * 100.0),
        ]);
    }
    let rest = b.unattributed_mean / b.latency_mean.max(f64::MIN_POSITIVE);
    t.row(vec![
        "(between stages)".into(),
        "".into(),
        "".into(),
        v(b.unattributed_mean),
        "".into(),
        format!("{:.1}%", rest * 100.0),
    ]);
    t.row(vec![
        "**`latency`**".into(),
        "".into(),
        v(b.latency_median),
        v(b.latency_mean),
        "".into(),
        "100.0%".into(),
    ]);
    format!(
        "#### Stage breakdown of one query\n\n\
         Shares are of the mean latency: means add up across stages, medians do not (the median of the total is not the sum of the stages' medians). \"Between stages\" is time inside the query but outside every timed stage.\n\n{}\n",
        t.render()
    )
}

fn batches(result: &WorkloadResult) -> String {
    // batch size → kind → figure
    let mut grid: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut kinds: Vec<String> = Vec::new();
    for (name, m) in &result.metrics {
        let Some((kind, batch)) = batch_metric(name) else {
            continue;
        };
        if !kinds.contains(&kind) {
            kinds.push(kind.to_string());
        }
        let cell = format!(
            "{} (n = {})",
            format_value(m.summary.median, m.unit),
            m.summary.count
        );
        grid.entry(batch)
            .or_default()
            .insert(kind.to_string(), cell);
    }
    if grid.is_empty() {
        return String::new();
    }
    kinds.sort();
    let mut columns: Vec<(&str, bool)> = vec![("batch size", true)];
    columns.extend(kinds.iter().map(|k| (k.as_str(), true)));
    let mut t = MarkdownTable::new(&columns);
    for (batch, cells) in &grid {
        let mut row = vec![batch.to_string()];
        row.extend(
            kinds
                .iter()
                .map(|k| cells.get(k).cloned().unwrap_or_else(|| "–".into())),
        );
        t.row(row);
    }
    format!(
        "#### Throughput by batch size (median docs/s)\n\n{}\n",
        t.render()
    )
}
