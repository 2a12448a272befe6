//! The comparison rows of a judgement, as a terminal table and as a
//! GitHub markdown table.
//!
//! Both are built from the same rows, so the terminal and a pull-request
//! comment cannot disagree about a figure. Pure functions of their input: no
//! clock, no environment, so the output is reproducible and snapshot-tested.

use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, ContentArrangement, Table};

use perf_contract::schema::Better;

use crate::{
    compare::{Basis, Comparison, MetricChange, Status, Verdict},
    export::markdown_table::MarkdownTable,
    table::format_value,
};

const HEADER: [&str; 10] = [
    "workload",
    "metric",
    "baseline (median)",
    "current (median)",
    "change",
    "95% interval",
    "MDE",
    "threshold",
    "verdict",
    "n (base / cur)",
];

/// Columns holding figures, aligned right so digits line up.
const NUMERIC: [usize; 7] = [2, 3, 4, 5, 6, 7, 9];

/// Shown where a figure does not exist (missing side, unjudged metric).
const NONE: &str = "–";

/// One row per comparison, in the order given.
pub fn comparison_table(comparisons: &[Comparison]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(HEADER.to_vec());
    for c in comparisons {
        table.add_row(row(c).to_vec());
    }
    for i in NUMERIC {
        if let Some(col) = table.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// The same table as GitHub-flavoured markdown, one line per row and a
/// trailing newline.
pub fn comparison_markdown(comparisons: &[Comparison]) -> String {
    let columns: Vec<(&str, bool)> = HEADER
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, NUMERIC.contains(&i)))
        .collect();
    let mut t = MarkdownTable::new(&columns);
    for c in comparisons {
        t.row(row(c).to_vec());
    }
    t.render()
}

fn row(c: &Comparison) -> [String; 10] {
    let none = || NONE.to_string();
    let (workload, metric) = (c.workload.to_string(), c.metric.to_string());
    let Some(m) = &c.change else {
        let verdict = match c.status {
            Status::Missing => "missing from current run",
            Status::New => "new (no baseline)",
            Status::Compared => "not compared",
        };
        return [
            workload,
            metric,
            none(),
            none(),
            none(),
            none(),
            none(),
            none(),
            verdict.into(),
            none(),
        ];
    };
    let value = |v: Option<f64>| v.map_or_else(none, |v| format_value(v, c.unit));
    // An unjudged metric has no threshold worth showing.
    let threshold = match c.better {
        Better::Neither => none(),
        Better::Lower | Better::Higher => format!("±{:.1}%", m.threshold_pct),
    };
    [
        workload,
        metric,
        value(m.baseline_median),
        value(m.current_median),
        m.change_pct.map_or_else(none, |p| format!("{p:+.1}%")),
        m.ratio_ci.map_or_else(none, |ci| {
            format!(
                "{:+.1}% … {:+.1}%",
                (ci.low - 1.0) * 100.0,
                (ci.high - 1.0) * 100.0
            )
        }),
        m.mde_pct.map_or_else(none, |p| format!("{p:.1}%")),
        threshold,
        verdict_label(m),
        samples(m),
    ]
}

/// `n / n` samples, `rounds×pairs` when the figures rest on process
/// pairs, `processes×samples` a side when on processes: every row says what
/// its interval's replicates are.
fn samples(m: &MetricChange) -> String {
    let per = |n: usize, r: usize| {
        if r > 0 && n.is_multiple_of(r) {
            format!("{r}×{}", n / r)
        } else {
            format!("{n} in {r}")
        }
    };
    if let Some((rb, rc)) = m.processes {
        return format!("{} / {}", per(m.n_baseline, rb), per(m.n_current, rc));
    }
    match m.rounds {
        0 => format!("{} / {}", m.n_baseline, m.n_current),
        r if m.n_current.is_multiple_of(r) => per(m.n_current, r),
        r => format!("{} in {r} rounds", m.n_current),
    }
}

pub(crate) fn verdict_label(m: &MetricChange) -> String {
    let label = match &m.verdict {
        Verdict::Regressed => "regressed",
        Verdict::Improved => "improved",
        Verdict::NotSignificant => "not significant",
        Verdict::WithinNoise if matches!(m.basis, Basis::Paired | Basis::Processes) => "no change",
        Verdict::WithinNoise => "within noise",
        Verdict::Inconclusive => "inconclusive",
        Verdict::Informational => return "informational".into(),
        Verdict::Incomparable { reason } => return format!("incomparable: {reason}"),
    };
    // A reader must see that a judgement rests on two numbers, not on an
    // interval, or on an interval that sees one process a side: the spread
    // within a process is narrower than between processes (Zen 4 VM: two
    // full baselines 13 hours apart, llama.cpp decode "-15.6% [-16.5,
    // -14.5]", where quick runs minutes apart moved it 63-82 tok/s).
    match m.basis {
        Basis::Paired | Basis::Processes => label.to_string(),
        Basis::Bootstrap => format!("{label} (one process a side)"),
        Basis::PointEstimate => format!("{label} (medians only)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_contract::{metric_key::MetricKey, plan::WorkloadName, schema::Unit};

    fn compared(
        workload: WorkloadName,
        metric: &str,
        (unit, better): (Unit, Better),
        (base, cur, n): (f64, f64, usize),
        (basis, verdict): (Basis, Verdict),
    ) -> Comparison {
        let change = MetricChange {
            rounds: 0,
            processes: None,
            floor_pct: None,
            baseline_median: Some(base),
            current_median: Some(cur),
            change_pct: Some((cur - base) / base * 100.0),
            threshold_pct: 10.0,
            n_baseline: n,
            n_current: n,
            ratio_ci: None,
            p_value: None,
            mde_pct: None,
            basis,
            verdict,
        };
        let (metric, change) = (MetricKey::parse(metric), Some(change));
        let status = Status::Compared;
        Comparison {
            workload,
            metric,
            unit,
            better,
            change,
            status,
        }
    }

    fn fixture() -> Vec<Comparison> {
        use {Basis::*, Better::*, Unit::*, WorkloadName::*};
        let mut incomparable = compared(
            RagQuery,
            "p95",
            (Milliseconds, Lower),
            (1.0, 1.0, 9),
            (Bootstrap, Verdict::WithinNoise),
        );
        let m = incomparable.change.as_mut().unwrap();
        (m.baseline_median, m.change_pct) = (None, None);
        m.verdict = Verdict::Incomparable {
            reason: "baseline has no samples | fix".into(),
        };
        let mut missing = compared(
            Embedding,
            "old",
            (Count, Neither),
            (1.0, 1.0, 1),
            (PointEstimate, Verdict::Informational),
        );
        (missing.change, missing.status) = (None, Status::Missing);
        let mut new = missing.clone();
        (new.metric, new.status) = (MetricKey::parse("fresh"), Status::New);
        let mut latency = compared(
            RagQuery,
            "latency",
            (Milliseconds, Lower),
            (10.0, 12.0, 30),
            (Bootstrap, Verdict::Regressed),
        );
        let m = latency.change.as_mut().unwrap();
        m.ratio_ci = Some(perf_contract::summary::Interval {
            low: 1.15,
            high: 1.25,
        });
        m.mde_pct = Some(5.0);
        vec![
            latency,
            incomparable,
            compared(
                RagQuery,
                "index_memory",
                (Bytes, Neither),
                (2048.0, 2048.0, 1),
                (PointEstimate, Verdict::Informational),
            ),
            compared(
                Embedding,
                "throughput",
                (DocsPerSecond, Higher),
                (500.0, 400.0, 6),
                (Bootstrap, Verdict::NotSignificant),
            ),
            compared(
                VectorQuery,
                "build_time",
                (Seconds, Lower),
                (2.0, 1.5, 1),
                (PointEstimate, Verdict::Improved),
            ),
            missing,
            new,
        ]
    }

    #[test]
    fn markdown_of_a_fixed_comparison() {
        let expected = "\
| workload | metric | baseline (median) | current (median) | change | 95% interval | MDE | threshold | verdict | n (base / cur) |
| --- | --- | --: | --: | --: | --: | --: | --: | --- | --: |
| rag_query | latency | 10.00 ms | 12.00 ms | +20.0% | +15.0% … +25.0% | 5.0% | ±10.0% | regressed (one process a side) | 30 / 30 |
| rag_query | p95 | – | 1.000 ms | – | – | – | ±10.0% | incomparable: baseline has no samples \\| fix | 9 / 9 |
| rag_query | index_memory | 2.0 KiB | 2.0 KiB | +0.0% | – | – | – | informational | 1 / 1 |
| embedding | throughput | 500.0 docs/s | 400.0 docs/s | -20.0% | – | – | ±10.0% | not significant (one process a side) | 6 / 6 |
| vector_query | build_time | 2.000 s | 1.500 s | -25.0% | – | – | ±10.0% | improved (medians only) | 1 / 1 |
| embedding | old | – | – | – | – | – | – | missing from current run | – |
| embedding | fresh | – | – | – | – | – | – | new (no baseline) | – |
";
        assert_eq!(comparison_markdown(&fixture()), expected);
    }

    #[test]
    fn table_has_one_row_per_comparison_with_the_same_cells() {
        let cs = fixture();
        let table = comparison_table(&cs);
        let header: Vec<String> = table
            .header()
            .unwrap()
            .cell_iter()
            .map(|c| c.content())
            .collect();
        assert_eq!(header, HEADER);
        assert_eq!(table.row_count(), cs.len());
        let first: Vec<String> = table
            .row(0)
            .unwrap()
            .cell_iter()
            .map(|c| c.content())
            .collect();
        assert_eq!(first, row(&cs[0]));
        assert!(table.to_string().contains("improved (medians only)"));
    }
}
