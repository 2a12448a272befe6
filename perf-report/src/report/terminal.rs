//! The report's tables for the terminal (comfy-table), built from the same
//! figures as the markdown and reusing the crate's existing tables where one
//! exists (metric summary, comparison, bottlenecks).

use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, ContentArrangement, Table};
use perf_contract::schema::Unit;

use super::{
    headline::Headline,
    opportunities::opportunities,
    optimisations::{entry_for, Done},
    previous::compare_with_previous,
    stage_breakdown, ReportInputs,
};
use crate::{
    bottleneck_table::bottleneck_table,
    export::comparisons::comparison_table,
    table::{format_value, summary_table},
};

/// A table whose columns `right` (figures) are right-aligned.
fn table(header: &[&str], right: std::ops::Range<usize>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    for i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// `(title, table)` pairs in the report's order; sections without data
/// are left out (the markdown says why).
pub fn tables(inputs: &ReportInputs) -> Vec<(String, Table)> {
    let mut out = Vec::new();
    out.push(("headline".to_string(), headline(inputs)));
    out.push(("every metric".to_string(), summary_table(&inputs.baseline)));
    if let Some(b) = stage_breakdown::rag_query(&inputs.baseline) {
        let mut t = table(
            &["stage", "n", "median", "mean", "share of mean latency"],
            1..5,
        );
        for r in &b.rows {
            t.add_row(vec![
                r.stage.clone(),
                r.n.to_string(),
                format_value(r.median, b.unit),
                format_value(r.mean, b.unit),
                format!("{:.1}%", r.share * 100.0),
            ]);
        }
        out.push((format!("{} stage breakdown", b.workload), t));
    }
    if let Some(p) = &inputs.profile {
        let bottlenecks = p.bottlenecks.as_deref().unwrap_or_default();
        if !bottlenecks.is_empty() {
            out.push(("top bottlenecks".to_string(), bottleneck_table(bottlenecks)));
            let done = inputs.optimisations.as_deref().unwrap_or_default();
            let mut t = table(
                &[
                    "priority",
                    "opportunity",
                    "workload / stage",
                    "p",
                    "assumed s",
                    "predicted",
                    "measured",
                    "effort (d)",
                ],
                3..8,
            );
            for (i, o) in opportunities(bottlenecks, p.summary.as_ref(), &p.family_shares)
                .iter()
                .enumerate()
            {
                let entry = entry_for(done, o);
                t.add_row(vec![
                    (i + 1).to_string(),
                    o.kind.label().to_string(),
                    format!("{} / {}", o.workload, o.stage),
                    format!("{:.1}%", o.share * 100.0),
                    format!("{:.1}×", o.speedup),
                    match entry {
                        Some(d) => format!("{:.1}% (now {:.1}%)", d.predicted_pct, o.saved * 100.0),
                        None => format!("{:.1}%", o.saved * 100.0),
                    },
                    entry.map_or_else(|| "–".to_string(), Done::measured),
                    o.effort_days.to_string(),
                ]);
            }
            out.push(("optimisation opportunities".to_string(), t));
        }
    }
    if let Some(p) = compare_with_previous(inputs) {
        if let Ok(j) = &p.result {
            out.push((
                format!("compared with {}", p.previous.name),
                comparison_table(&j.comparisons),
            ));
        }
    }
    out
}

fn headline(inputs: &ReportInputs) -> Table {
    let h = Headline::of(&inputs.baseline);
    let mut t = table(&["figure", "value", "n"], 1..3);
    if let Some(r) = &h.rag {
        for (label, v) in [("p50", r.p50), ("p95", r.p95), ("p99", r.p99)] {
            t.add_row(vec![
                format!("RAG query latency {label}"),
                format_value(v, r.unit),
                r.n.to_string(),
            ]);
        }
    }
    for b in &h.embedding {
        t.add_row(vec![
            format!("embedding {} (best: batch {})", b.kind, b.batch),
            format_value(b.median, b.unit),
            b.n.to_string(),
        ]);
    }
    for (label, f) in [
        ("HNSW query (median)", &h.hnsw),
        ("exact query (median)", &h.exact),
    ] {
        if let Some(f) = f {
            t.add_row(vec![
                label.to_string(),
                format_value(f.median, f.unit),
                f.n.to_string(),
            ]);
        }
    }
    if let Some(r) = &h.recall {
        t.add_row(vec![
            format!("recall@{} (mean)", r.k),
            format_value(r.mean, Unit::Ratio),
            r.n.to_string(),
        ]);
    }
    for e in &h.inference {
        let figures = [
            ("decode", &e.decode),
            ("TTFT", &e.ttft),
            ("ITL", &e.itl),
            ("end to end", &e.e2e),
        ];
        for (label, f) in figures {
            if let Some(f) = f {
                t.add_row(vec![
                    format!("inference {} {label}", e.name),
                    format_value(f.median, f.unit),
                    f.n.to_string(),
                ]);
            }
        }
    }
    t
}
