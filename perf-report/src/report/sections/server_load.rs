//! Part of section 4: the open-loop load test per target: the SLO and the
//! highest offered rate meeting it, a table of each rate's achieved rate,
//! goodput, SLO share and latency percentiles (TTFT too for the LLM
//! targets), links to the latency-against-load charts, and the run's notes
//! as it wrote them. Without any such figure, one line says how to
//! measure them.

use super::run_notes;
use crate::{
    export::markdown_table::MarkdownTable,
    report::{
        charts::{named, LOAD_CHARTS},
        load_figures::{curves, is_llm, notes, LoadCurve, Slo},
        numbers::bare_value,
        Chart, ReportInputs,
    },
    table::format_value,
};
use perf_contract::{
    plan::{LoadPlan, WorkloadName},
    schema::{Metric, Unit},
};

pub const HINT: &str = "No server-load figures in this baseline: run `cargo xtask perf baseline --workload server_load --openai-serve` (or `--openai-url URL` for a server of your own).";

pub fn section(inputs: &ReportInputs, charts: &[Chart]) -> String {
    let b = &inputs.baseline;
    let all = curves(b);
    let mut out = String::from("### Server load (open loop)\n\n");
    if all.is_empty() {
        out.push_str(HINT);
        out.push_str("\n\n");
    } else {
        out.push_str("Requests arrive on a schedule whatever the server's state; latency counts from each request's scheduled time, so queueing is included. Goodput is requests per second that met the SLO.\n\n");
        for c in &all {
            out.push_str(&target(c, &b.plan.vector.load, charts));
        }
    }
    out.push_str(&run_notes(inputs, WorkloadName::ServerLoad, notes(b)));
    out
}

/// Milliseconds under a column that names the unit.
fn ms(x: f64, m: &Metric) -> String {
    if m.unit == Unit::Milliseconds {
        bare_value(x, m.unit)
    } else {
        format_value(x, m.unit)
    }
}

fn percentiles(m: Option<&Metric>) -> String {
    m.map_or("–".into(), |m| {
        let s = &m.summary;
        format!("{} / {} (n = {})", ms(s.p50, m), ms(s.p99, m), s.count)
    })
}

fn rate(m: Option<&Metric>) -> String {
    m.map_or("–".into(), |m| {
        bare_value(m.summary.median, Unit::PerSecond)
    })
}

fn target(c: &LoadCurve, load: &LoadPlan, charts: &[Chart]) -> String {
    let slo = Slo::of(c.target, load);
    let llm = is_llm(c.target);
    let mut out = format!("#### `{}`\n\nSLO: {}. ", c.target, slo.describe());
    match c.max_rate {
        Some(m) => out.push_str(&format!(
            "Highest offered rate meeting it: **{}/s** (n = {}).\n\n",
            m.summary.median, m.summary.count
        )),
        None => out.push_str("No offered rate met it.\n\n"),
    }
    let mut columns = vec![
        ("offered (/s)", true),
        ("achieved (/s)", true),
        ("goodput (/s)", true),
        ("met the SLO", true),
        ("E2E p50 / p99 (ms)", true),
    ];
    if llm {
        columns.push(("TTFT p50 / p99 (ms)", true));
    }
    let mut t = MarkdownTable::new(&columns);
    for l in &c.levels {
        let mut cells = vec![
            // As offered: 0.25, 50.
            l.rate.per_s().to_string(),
            rate(l.achieved_rps),
            rate(l.goodput_rps),
            l.slo_share.map_or("–".into(), |m| {
                format!("{:.1}%", m.summary.median * 100.0)
            }),
            percentiles(l.e2e),
        ];
        if llm {
            cells.push(percentiles(l.ttft));
        }
        t.row(cells);
    }
    if !t.is_empty() {
        out.push_str(&t.render());
        out.push('\n');
    }
    let start = format!("{LOAD_CHARTS}{}", c.target);
    for chart in named(charts, &start) {
        out.push_str(&format!(
            "Chart (section 5): [{}]({}).\n\n",
            chart.title, chart.path
        ));
    }
    out
}
