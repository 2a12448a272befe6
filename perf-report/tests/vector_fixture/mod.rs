//! The vector-engine and server-load figures the report tests add to the
//! report fixture's baseline: three engines at three sizes (chroma skipped
//! at the largest, the largest partly synthetic), an HNSW sweep with a
//! known Pareto front, open-loop runs of chroma and the LLM server, and
//! the notes the workloads would write; plus readers of the rendered
//! markdown and SVG.

pub mod read;

use perf_contract::{
    plan::WorkloadName,
    protocol::{RawMetric, WorkloadSamples},
    schema::{Baseline, Better, Unit, WorkloadResult},
};
use perf_report::report::{render, Report};

use crate::support::{inputs, metric, samples, write_fixture, BASELINE};

pub const SIZES: [u32; 3] = [1_000, 10_000, 100_000];
pub const VECTOR_NOTES: [&str; 2] = [
    "chroma: skipped at 100000 vectors: the server ran out of memory",
    "n100000: 90000 of 100000 vectors are synthetic (random unit vectors)",
];
pub const LOAD_NOTES: [&str; 2] = [
    "rag: skipped: no Chroma server for the RAG target",
    "openai: no offered rate met the SLO (TTFT <= 1000 ms and E2E <= 5000 ms) for 90% of requests",
];
/// The sweep: `(M, ef, recall, QPS)`. The front, by recall: m8.ef16,
/// m16.ef16, m8.ef64, m16.ef64, m16.ef128; m8.ef128 is beaten by m16.ef64.
pub const SWEEP: [(u32, u32, f64, f64); 6] = [
    (8, 16, 0.80, 9000.0),
    (8, 64, 0.90, 5000.0),
    (8, 128, 0.93, 2500.0),
    (16, 16, 0.85, 7000.0),
    (16, 64, 0.95, 4000.0),
    (16, 128, 0.99, 2000.0),
];
pub const FRONT: usize = 5;

pub fn result(w: WorkloadName, metrics: Vec<RawMetric>, notes: &[&str]) -> WorkloadResult {
    WorkloadResult::from_samples(WorkloadSamples {
        workload: w,
        metrics,
        notes: notes.iter().map(|n| n.to_string()).collect(),
    })
    .unwrap()
}

pub fn vector_metrics() -> Vec<RawMetric> {
    use Better::*;
    let mut out = Vec::new();
    let mut seed = 100;
    for (s, size) in SIZES.into_iter().enumerate() {
        let grow = 10f64.powi(s as i32);
        for (e, engine) in ["usearch", "exact", "chroma"].into_iter().enumerate() {
            if engine == "chroma" && size == 100_000 {
                continue;
            }
            let slow = 1.0 + e as f64;
            let name = |figure: &str| format!("{engine}.n{size}.{figure}");
            seed += 10;
            out.extend([
                metric(
                    &name("build_time"),
                    Unit::Milliseconds,
                    Lower,
                    vec![50.0 * grow * slow],
                ),
                metric(
                    &name("inserts_per_s"),
                    Unit::PerSecond,
                    Higher,
                    vec![20_000.0 / slow],
                ),
                metric(
                    &name("bytes_per_vector"),
                    Unit::Bytes,
                    Neither,
                    vec![1536.0 + 100.0 * slow],
                ),
                metric(
                    &name("rss_per_vector"),
                    Unit::Bytes,
                    Lower,
                    vec![1600.0 + 100.0 * slow],
                ),
                metric(
                    &name("k5.latency"),
                    Unit::Microseconds,
                    Lower,
                    samples(seed, 40, 50.0 * slow * grow.sqrt(), 0.2),
                ),
                metric(
                    &name("k10.latency"),
                    Unit::Microseconds,
                    Lower,
                    samples(seed + 1, 40, 60.0 * slow * grow.sqrt(), 0.2),
                ),
                metric(
                    &name("k10.recall"),
                    Unit::Ratio,
                    Higher,
                    vec![1.0 - 0.01 * e as f64; 30],
                ),
                metric(
                    &name("c1.qps"),
                    Unit::PerSecond,
                    Higher,
                    samples(seed + 2, 3, 9000.0 / slow, 0.05),
                ),
                metric(
                    &name("c4.qps"),
                    Unit::PerSecond,
                    Higher,
                    samples(seed + 3, 3, 30000.0 / slow, 0.05),
                ),
            ]);
        }
    }
    for (m, ef, recall, qps) in SWEEP {
        out.push(metric(
            &format!("sweep.m{m}.ef{ef}.recall_at_10"),
            Unit::Ratio,
            Higher,
            vec![recall; 30],
        ));
        out.push(metric(
            &format!("sweep.m{m}.ef{ef}.qps"),
            Unit::PerSecond,
            Higher,
            vec![qps * 0.98, qps, qps * 1.02],
        ));
    }
    out
}

/// chroma at 50, 200 and 800 requests/s (the SLO met up to 200), openai
/// at 0.5 and 1 (never met).
pub fn load_metrics() -> Vec<RawMetric> {
    use Better::*;
    let mut out = Vec::new();
    let levels = [
        ("chroma", "r50", 50.0, 5.0, None, 0.99),
        ("chroma", "r200", 200.0, 20.0, None, 0.95),
        ("chroma", "r800", 800.0, 400.0, None, 0.2),
        ("openai", "r0p5", 0.5, 3000.0, Some(900.0), 0.7),
        ("openai", "r1", 1.0, 6000.0, Some(2500.0), 0.3),
    ];
    for (i, (target, rate, per_s, e2e, ttft, share)) in levels.into_iter().enumerate() {
        let name = |figure: &str| format!("load.{target}.{rate}.{figure}");
        let seed = 500 + 10 * i as u64;
        out.push(metric(
            &name("e2e"),
            Unit::Milliseconds,
            Lower,
            samples(seed, 40, e2e, 0.4),
        ));
        if let Some(t) = ttft {
            out.push(metric(
                &name("ttft"),
                Unit::Milliseconds,
                Lower,
                samples(seed + 1, 40, t, 0.4),
            ));
            out.push(metric(
                &name("itl"),
                Unit::Milliseconds,
                Lower,
                samples(seed + 2, 200, 20.0, 0.2),
            ));
        }
        out.push(metric(
            &name("achieved_rps"),
            Unit::PerSecond,
            Higher,
            vec![per_s * 0.97],
        ));
        out.push(metric(
            &name("goodput_rps"),
            Unit::PerSecond,
            Higher,
            vec![per_s * 0.97 * share],
        ));
        out.push(metric(&name("slo_share"), Unit::Ratio, Higher, vec![share]));
    }
    out.push(metric(
        "load.chroma.max_rate",
        Unit::PerSecond,
        Higher,
        vec![200.0],
    ));
    out
}

/// The report fixture with the figures above added to its baseline.
pub fn with_figures() -> (tempfile::TempDir, Baseline, Report) {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), false, false);
    let path = dir.path().join(BASELINE);
    let mut b = Baseline::load(&path).unwrap();
    let vq = b.workloads.get_mut(&WorkloadName::VectorQuery).unwrap();
    let added = result(WorkloadName::VectorQuery, vector_metrics(), &VECTOR_NOTES);
    vq.metrics.extend(added.metrics);
    vq.notes = added.notes;
    b.workloads.insert(
        WorkloadName::ServerLoad,
        result(WorkloadName::ServerLoad, load_metrics(), &LOAD_NOTES),
    );
    b.save(&path).unwrap();
    let report = render(&inputs(dir.path())).unwrap();
    let b = Baseline::load(&path).unwrap();
    (dir, b, report)
}
