//! The report's vector-engine and server-load parts over a baseline that
//! holds them (three engines at three sizes, chroma skipped at the
//! largest; an HNSW sweep; open-loop runs of chroma and the LLM server):
//! the engines-by-sizes table and its values, the three kinds of chart
//! (well-formed SVG, decade ticks, the Pareto line, the operating point),
//! the load tables and the run's notes; and, over a baseline without
//! them, the one-line hints and no chart.

mod support;
mod vector_fixture;

use perf_contract::{
    plan::WorkloadName,
    protocol::RawMetric,
    schema::{Baseline, Metric, Unit},
};
use perf_report::report::{numbers::bare_value, render};
use support::{inputs, write_fixture, BASELINE};
use vector_fixture::{
    read::{assert_well_formed, part, table, texts},
    result, vector_metrics, with_figures, FRONT, LOAD_NOTES, SIZES, SWEEP, VECTOR_NOTES,
};

fn vector_metric<'a>(b: &'a Baseline, name: &str) -> &'a Metric {
    &b.workloads[&WorkloadName::VectorQuery].metrics[name]
}

#[test]
fn engines_by_sizes_table_has_a_row_per_size_and_engine_with_its_figures() {
    let (_dir, b, report) = with_figures();
    let section = part(&report.markdown, "### Vector engines by corpus size");
    let rows = table(section, "| vectors | engine |");
    // Three sizes by three engines, chroma skipped at the largest.
    assert_eq!(rows.len(), 8, "{section}");
    let order: Vec<(String, String)> = rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    let expected: Vec<(String, String)> = SIZES
        .iter()
        .flat_map(|s| {
            ["usearch", "exact", "chroma"]
                .into_iter()
                .filter(move |e| !(*e == "chroma" && *s == 100_000))
                .map(move |e| (s.to_string(), format!("`{e}`")))
        })
        .collect();
    assert_eq!(order, expected, "sizes ascending, engines in list order");
    let header = section
        .lines()
        .find(|l| l.starts_with("| vectors |"))
        .unwrap();
    for column in [
        "build (ms)",
        "inserts/s",
        "bytes/vector",
        "RSS growth/vector",
        "latency k=5 p50 / p95 / p99 (µs)",
        "latency k=10 p50 / p95 / p99 (µs)",
        "QPS, 1 client",
        "QPS, 4 clients",
        "recall@10 (mean)",
    ] {
        assert!(header.contains(column), "{column} missing: {header}");
    }
    // Every figure of one row, against the baseline's summaries.
    let row = &rows[4];
    assert_eq!((row[0].as_str(), row[1].as_str()), ("10000", "`exact`"));
    let m = |f: &str| vector_metric(&b, &format!("exact.n10000.{f}"));
    let n = |m: &Metric| format!("(n = {})", m.summary.count);
    let median = |m: &Metric| format!("{} {}", bare_value(m.summary.median, m.unit), n(m));
    let pcts = |m: &Metric| {
        let s = &m.summary;
        let v = |x| bare_value(x, Unit::Microseconds);
        format!("{} / {} / {} {}", v(s.p50), v(s.p95), v(s.p99), n(m))
    };
    assert_eq!(row[2], median(m("build_time")));
    assert_eq!(row[3], median(m("inserts_per_s")));
    assert_eq!(row[4], "1736 (n = 1)");
    assert_eq!(row[5], "1800 (n = 1)");
    assert_eq!(row[6], pcts(m("k5.latency")));
    assert_eq!(row[7], pcts(m("k10.latency")));
    assert!(row[7].ends_with("(n = 40)"), "{}", row[7]);
    assert_eq!(row[8], median(m("c1.qps")));
    assert_eq!(row[9], median(m("c4.qps")));
    assert_eq!(row[10], "0.990 (n = 30)");
}

#[test]
fn the_sweep_table_marks_the_front_and_the_operating_point() {
    let (_dir, _b, report) = with_figures();
    let section = part(&report.markdown, "#### HNSW recall/speed sweep");
    let rows = table(section, "| M | ef |");
    assert_eq!(rows.len(), SWEEP.len());
    let on_front = rows
        .iter()
        .filter(|r| r[4].contains("Pareto front"))
        .count();
    assert_eq!(on_front, FRONT, "{section}");
    let beaten = rows.iter().find(|r| r[0] == "8" && r[1] == "128").unwrap();
    assert_eq!(beaten[4], "", "m8.ef128 is beaten by m16.ef64");
    let op = rows
        .iter()
        .find(|r| r[4].contains("operating point"))
        .unwrap();
    assert_eq!((op[0].as_str(), op[1].as_str()), ("16", "64"));
    assert_eq!(op[2], "0.950 (n = 30)");
    assert_eq!(op[3], "4000 (n = 3)");
    assert!(section.contains("is on the Pareto front."), "{section}");
}

#[test]
fn the_charts_are_drawn_well_formed_with_decade_ticks_the_front_and_the_mark() {
    let (_dir, _b, report) = with_figures();
    let paths: Vec<&str> = report.charts.iter().map(|c| c.path.as_str()).collect();
    let new = [
        "charts/vector_scaling_latency.svg",
        "charts/vector_scaling_bytes_per_vector.svg",
        "charts/vector_scaling_build_time.svg",
        "charts/vector_recall_qps.svg",
        "charts/server_load_chroma.svg",
        "charts/server_load_openai.svg",
        "charts/vector_scaling_rss_per_vector.svg",
    ];
    for p in new {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
        assert!(
            report.markdown.contains(&format!("]({p})")),
            "{p} not linked"
        );
    }
    for c in report
        .charts
        .iter()
        .filter(|c| new.contains(&c.path.as_str()))
    {
        // Beside the other charts, so the CI screenshot script finds them.
        assert!(c.path.starts_with("charts/"), "{}", c.path);
        assert_well_formed(&c.path, &c.svg);
        assert!(c.svg.contains("<circle"), "{}: no points", c.path);
    }
    let chart = |p: &str| report.charts.iter().find(|c| c.path == p).unwrap();

    // Log-log scaling: decade ticks on the size axis, none between.
    let latency = texts(&chart(new[0]).svg);
    for tick in ["1k", "10k", "100k"] {
        assert!(
            latency.iter().any(|t| t == tick),
            "no {tick} tick: {latency:?}"
        );
    }
    assert!(
        !latency.iter().any(|t| t == "2k" || t == "2000"),
        "{latency:?}"
    );
    assert!(
        latency.iter().any(|t| t.starts_with("usearch (n = 40")),
        "{latency:?}"
    );
    assert!(
        latency.iter().any(|t| t.starts_with("chroma")),
        "{latency:?}"
    );
    let bytes = texts(&chart(new[1]).svg);
    assert!(
        bytes.iter().any(|t| t == "1k") && bytes.iter().any(|t| t == "10k"),
        "{bytes:?}"
    );

    // The front: one black line through exactly its points, and the ring
    // of the operating point.
    let front = &chart(new[3]).svg;
    let lines: Vec<&str> = front
        .split("<polyline")
        .skip(1)
        .filter(|l| l.contains("opacity=\"0.8\" stroke=\"#000000\" stroke-width=\"2\""))
        .collect();
    let points = |l: &str| {
        let at = l.find("points=\"").unwrap() + 8;
        l[at..l[at..].find('"').unwrap() + at]
            .split_whitespace()
            .count()
    };
    assert!(
        lines.iter().any(|l| points(l) == FRONT),
        "no front line of {FRONT} points: {lines:?}"
    );
    assert!(
        front.contains("r=\"12\" opacity=\"1\" fill=\"none\" stroke=\"#D55E00\""),
        "no operating-point ring"
    );
    let labels = texts(front);
    for l in [
        "Pareto front (no setting beats it on both)",
        "operating point (plan: M = 16, ef = 64)",
        "M = 8",
        "M = 16",
        "ef128",
        "10k",
        "1k",
    ] {
        assert!(labels.iter().any(|t| t == l), "no `{l}` in {labels:?}");
    }

    // Load: p50/p99 lines, TTFT only for the LLM target, the SLO and the
    // highest rate meeting it.
    let chroma = texts(&chart(new[4]).svg);
    for l in [
        "E2E p50",
        "E2E p99",
        "SLO E2E ≤ 50 ms",
        "max rate meeting the SLO: 200/s",
        "100",
        "1k",
    ] {
        assert!(chroma.iter().any(|t| t == l), "no `{l}` in {chroma:?}");
    }
    assert!(!chroma.iter().any(|t| t.starts_with("TTFT")), "{chroma:?}");
    let openai = texts(&chart(new[5]).svg);
    for l in [
        "TTFT p50",
        "TTFT p99",
        "SLO TTFT ≤ 1000 ms",
        "SLO E2E ≤ 5000 ms",
        "0.1",
        "1",
    ] {
        assert!(openai.iter().any(|t| t == l), "no `{l}` in {openai:?}");
    }
}

#[test]
fn the_load_tables_give_goodput_the_max_rate_and_ttft() {
    let (_dir, b, report) = with_figures();
    let section = part(&report.markdown, "### Server load (open loop)");
    let chroma = part(section, "#### `chroma`");
    assert!(
        chroma.contains("SLO: E2E ≤ 50 ms for at least 90% of requests. Highest offered rate meeting it: **200/s** (n = 1)."),
        "{chroma}"
    );
    let rows = table(chroma, "| offered (/s) |");
    let rates: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(rates, ["50", "200", "800"]);
    assert_eq!(rows[1].len(), 5, "no TTFT column for chroma");
    assert_eq!(rows[1][1], "194.0");
    assert_eq!(rows[1][2], "184.3");
    assert_eq!(rows[1][3], "95.0%");
    let e2e = &b.workloads[&WorkloadName::ServerLoad].metrics["load.chroma.r200.e2e"].summary;
    let ms = |x| bare_value(x, Unit::Milliseconds);
    assert_eq!(
        rows[1][4],
        format!("{} / {} (n = 40)", ms(e2e.p50), ms(e2e.p99))
    );

    let openai = part(section, "#### `openai`");
    assert!(
        openai.contains("TTFT ≤ 1000 ms and E2E ≤ 5000 ms"),
        "{openai}"
    );
    assert!(openai.contains("No offered rate met it."), "{openai}");
    let rows = table(openai, "| offered (/s) |");
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["0.5", "1"]
    );
    let ttft = &b.workloads[&WorkloadName::ServerLoad].metrics["load.openai.r0p5.ttft"].summary;
    assert_eq!(
        rows[0][5],
        format!("{} / {} (n = 40)", ms(ttft.p50), ms(ttft.p99))
    );
    assert!(
        !section.contains("#### `rag`"),
        "rag was skipped: no figures"
    );
}

#[test]
fn the_runs_notes_are_printed_verbatim_under_their_sections() {
    let (_dir, _b, report) = with_figures();
    let md = &report.markdown;
    let vector = part(md, "### Vector engines by corpus size");
    for n in VECTOR_NOTES {
        assert!(
            vector.contains(&format!("\n- {n}\n")),
            "{n} not in\n{vector}"
        );
    }
    let load = part(md, "### Server load (open loop)");
    for n in LOAD_NOTES {
        assert!(load.contains(&format!("\n- {n}\n")), "{n} not in\n{load}");
    }
}

#[test]
fn an_operating_point_outside_the_sweep_is_said_to_be_missing() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), false, false);
    let path = dir.path().join(BASELINE);
    let mut b = Baseline::load(&path).unwrap();
    b.plan.index.expansion_search = 96;
    let sweep: Vec<RawMetric> = vector_metrics()
        .into_iter()
        .filter(|m| m.name.as_str().starts_with("sweep."))
        .collect();
    let vq = b.workloads.get_mut(&WorkloadName::VectorQuery).unwrap();
    vq.metrics
        .extend(result(WorkloadName::VectorQuery, sweep, &[]).metrics);
    b.save(&path).unwrap();
    let report = render(&inputs(dir.path())).unwrap();
    assert!(report.markdown.contains(
        "The operating point (`index.connectivity` = 16, `index.expansion_search` = 96) is not among the sweep's settings"
    ));
    let front = report
        .charts
        .iter()
        .find(|c| c.path == "charts/vector_recall_qps.svg")
        .unwrap();
    assert!(texts(&front.svg).iter().any(
        |t| t == "operating point (plan: M = 16, ef = 96): not among the sweep&apos;s settings"
    ));
    assert!(!front.svg.contains("r=\"12\""), "no ring without the point");
    // Only the sweep: no scaling chart, and the table says why it is absent.
    assert!(!report.charts.iter().any(|c| c.path.contains("scaling")));
    assert!(report
        .markdown
        .contains("No engine was measured at a corpus size"));
}

#[test]
fn a_baseline_without_the_figures_gets_one_line_hints_and_no_chart() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), false, false);
    let report = render(&inputs(dir.path())).unwrap();
    let md = &report.markdown;
    let vector = part(md, "### Vector engines by corpus size, and the HNSW sweep");
    assert_eq!(
        vector.trim(),
        "No vector-engine figures in this baseline: run `cargo xtask perf baseline --workload vector_query --vector-engine usearch --vector-engine exact --vector-engine chroma`."
    );
    let load = part(md, "### Server load (open loop)");
    assert_eq!(
        load.trim(),
        "No server-load figures in this baseline: run `cargo xtask perf baseline --workload server_load --openai-serve` (or `--openai-url URL` for a server of your own)."
    );
    assert!(
        !report
            .charts
            .iter()
            .any(|c| c.path.starts_with("charts/vector_")
                || c.path.starts_with("charts/server_load_")),
        "{:?}",
        report.charts.iter().map(|c| &c.path).collect::<Vec<_>>()
    );
}
