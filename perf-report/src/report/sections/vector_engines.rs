//! Part of section 4: the vector engines at every corpus size (one row
//! per size and engine), the HNSW recall/speed sweep with its Pareto front
//! and the plan's operating point, links to their charts, and the run's
//! notes (skipped engines, synthetic vectors) as it wrote them. Without
//! any such figure, one line says how to measure them.

use super::run_notes;
use crate::{
    export::markdown_table::MarkdownTable,
    report::{
        charts::{named, VECTOR_CHARTS},
        numbers::bare_value,
        vector_figures::{ScaleRow, VectorFigures},
        Chart, ReportInputs,
    },
    table::format_value,
};
use perf_contract::{
    plan::{IndexPlan, WorkloadName},
    schema::{Metric, Unit},
};

/// The recall column's k.
const RECALL_K: u32 = 10;

pub const HINT: &str = "No vector-engine figures in this baseline: run `cargo xtask perf baseline --workload vector_query --vector-engine usearch --vector-engine exact --vector-engine chroma`.";

pub fn section(inputs: &ReportInputs, charts: &[Chart]) -> String {
    let f = VectorFigures::of(&inputs.baseline);
    let mut out = String::from("### Vector engines by corpus size, and the HNSW sweep\n\n");
    if f.is_empty() {
        out.push_str(HINT);
        out.push_str("\n\n");
    } else {
        out.push_str(&engines(&f));
        out.push_str(&sweep(&f, &inputs.baseline.plan.index));
        let links: Vec<String> = named(charts, VECTOR_CHARTS)
            .map(|c| format!("[{}]({})", c.title, c.path))
            .collect();
        if !links.is_empty() {
            out.push_str(&format!("Charts (section 5): {}.\n\n", links.join(" · ")));
        }
    }
    out.push_str(&run_notes(inputs, WorkloadName::VectorQuery, f.notes));
    out
}

/// `value (n = count)` in the column's unit; a metric in another unit
/// keeps its own symbol.
fn cell(value: f64, m: &Metric, unit: Unit) -> String {
    let v = if m.unit == unit {
        bare_value(value, unit)
    } else {
        format_value(value, m.unit)
    };
    format!("{v} (n = {})", m.summary.count)
}

fn median(m: Option<&Metric>, unit: Unit) -> String {
    m.map_or("–".into(), |m| cell(m.summary.median, m, unit))
}

fn engines(f: &VectorFigures) -> String {
    if f.rows.is_empty() {
        return "No engine was measured at a corpus size (only the sweep): set `[vector] sizes` or `--vector-engine`.\n\n".into();
    }
    let (ks, clients) = (f.ks(), f.clients());
    let mut titles: Vec<String> = vec![
        "vectors".into(),
        "engine".into(),
        "build (ms)".into(),
        "inserts/s".into(),
        "bytes/vector".into(),
        "RSS growth/vector".into(),
    ];
    titles.extend(
        ks.iter()
            .map(|k| format!("latency k={k} p50 / p95 / p99 (µs)")),
    );
    titles.extend(clients.iter().map(|c| match c {
        1 => "QPS, 1 client".to_string(),
        c => format!("QPS, {c} clients"),
    }));
    titles.push(format!("recall@{RECALL_K} (mean)"));
    let columns: Vec<(&str, bool)> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i != 1))
        .collect();
    let mut t = MarkdownTable::new(&columns);
    for r in &f.rows {
        t.row(row(r, &ks, &clients));
    }
    format!(
        "One row per corpus size and engine, sizes ascending. Build time, inserts/s, bytes/vector and QPS are medians (QPS: one sample per pass). Bytes/vector is what the engine accounts for (in-process) or its data folder's growth on disk (a local server); RSS growth/vector is this process's resident-set growth while loading, after the allocator handed back freed memory (in-process engines only). Latency percentiles are over every query; recall@{RECALL_K} is the mean over questions against exact search. n is the samples behind each figure.\n\n{}\n",
        t.render()
    )
}

/// A per-vector byte figure with its n.
fn bytes(m: Option<&Metric>) -> String {
    m.map_or("–".into(), |m| {
        format!("{:.0} (n = {})", m.summary.median, m.summary.count)
    })
}

fn row(r: &ScaleRow, ks: &[u32], clients: &[u32]) -> Vec<String> {
    let mut cells = vec![
        r.size.to_string(),
        format!("`{}`", r.engine),
        median(r.build_time, Unit::Milliseconds),
        median(r.inserts_per_s, Unit::PerSecond),
        bytes(r.bytes_per_vector),
        bytes(r.rss_per_vector),
    ];
    for k in ks {
        cells.push(r.latency.get(k).map_or("–".into(), |m| {
            let s = &m.summary;
            let v = |x| {
                if m.unit == Unit::Microseconds {
                    bare_value(x, m.unit)
                } else {
                    format_value(x, m.unit)
                }
            };
            format!(
                "{} / {} / {} (n = {})",
                v(s.p50),
                v(s.p95),
                v(s.p99),
                s.count
            )
        }));
    }
    for c in clients {
        cells.push(median(r.qps.get(c).copied(), Unit::PerSecond));
    }
    cells.push(
        r.recall
            .get(&RECALL_K)
            .map_or("–".into(), |m| cell(m.summary.mean, m, Unit::Ratio)),
    );
    cells
}

fn sweep(f: &VectorFigures, index: &IndexPlan) -> String {
    if f.sweep.is_empty() {
        return "No HNSW sweep in this baseline: set `[vector] sweep_connectivity` and `sweep_expansion_search`.\n\n".into();
    }
    let front = f.pareto_front();
    let operating = f.operating_point(index);
    let mut t = MarkdownTable::new(&[
        ("M", true),
        ("ef", true),
        ("recall@10 (mean)", true),
        ("QPS (median)", true),
        ("", false),
    ]);
    for (i, p) in f.sweep.iter().enumerate() {
        let mut marks = Vec::new();
        if front.contains(&i) {
            marks.push("Pareto front");
        }
        if operating == Some(i) {
            marks.push("**operating point**");
        }
        t.row(vec![
            p.connectivity.to_string(),
            p.ef.to_string(),
            p.recall
                .map_or("–".into(), |m| cell(m.summary.mean, m, Unit::Ratio)),
            median(p.qps, Unit::PerSecond),
            marks.join(", "),
        ]);
    }
    let plan = format!(
        "`index.connectivity` = {}, `index.expansion_search` = {}",
        index.connectivity, index.expansion_search
    );
    let said = match operating {
        Some(i) if front.contains(&i) => {
            format!("The operating point ({plan}) is on the Pareto front.")
        }
        Some(_) => format!(
            "The operating point ({plan}) is not on the Pareto front: another setting has at least its recall and more QPS, or more recall at its QPS."
        ),
        None => format!(
            "The operating point ({plan}) is not among the sweep's settings: add its M and ef to `[vector] sweep_connectivity` and `sweep_expansion_search` to place it."
        ),
    };
    format!(
        "#### HNSW recall/speed sweep\n\nEvery setting's mean recall@10 against exact search and its QPS with one client; the Pareto front holds the settings no other beats on both.\n\n{}\n{said}\n\n",
        t.render()
    )
}
