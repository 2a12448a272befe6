//! A fixed set of report inputs, written the way the other commands write
//! them (baseline, history, profile folder with a `latest` link), so the
//! report tests exercise the real loading path. Every sample comes from a
//! seeded generator: the files are the same on every run.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::{collections::BTreeMap, fs, path::Path};

use perf_contract::{
    context::{CorpusStats, IndexInfo, ModelInfo, QuerySetInfo, RunContext},
    environment::Environment,
    plan::{Plan, ProfileName, WorkloadName},
    protocol::{RawMetric, WorkloadSamples},
    schema::{Baseline, Better, Unit, WorkloadResult, SCHEMA_VERSION},
};
use perf_profile::{AllocStats, Bottleneck, ProfileSummary, StageProfile, WorkloadProfile};
use perf_report::{
    policy::Policy,
    report::{
        inputs::{load, InputPaths},
        ReportInputs,
    },
};

pub const BASELINE: &str = "baselines/performance_baselines.json";
pub const HISTORY: &str = "baselines/history";
pub const PROFILES: &str = "profiles/latest";
pub const PROFILE_DIGEST: &str = "baselines/profile.json";
pub const OPTIMISATIONS: &str = "baselines/optimisations.toml";
pub const OUTPUT: &str = "reports/performance_analysis.md";

/// Deterministic samples around `median` with a right tail, as latencies
/// have: xorshift, so no crate and no platform dependence.
pub fn samples(seed: u64, n: usize, median: f64, spread: f64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            // Exponential tail scaled so the median lands near `median`.
            median * (1.0 + spread * (-(1.0 - u).ln() - std::f64::consts::LN_2))
        })
        .collect()
}

fn plan(profile: ProfileName) -> Plan {
    let mut p = perf_contract::fixture::plan();
    p.profile = profile;
    p.corpus.dir = "/data/book".into();
    p.corpus.exclude = vec!["print.html".into()];
    p.corpus.max_chunks = None;
    p.queries = "/data/queries.txt".into();
    p.harness.passes = 2;
    p.embedding.batch_sizes = vec![1, 10];
    p.embedding.docs_per_batch_size = 60;
    p.embedding.min_batches = 6;
    p
}

fn environment(at: &str, commit: &str) -> Environment {
    Environment {
        cpu_signature: String::new(),
        timestamp: at.parse().unwrap(),
        hostname: "fixture".into(),
        cpu_model: "Fixture CPU".into(),
        logical_cores: 2,
        physical_cores: Some(2),
        memory_bytes: 24 << 30,
        os: "Fixture OS".into(),
        kernel: "6.0".into(),
        arch: "x86_64".into(),
        rustc: "rustc 1.95.0".into(),
        git_commit: Some(commit.into()),
        git_dirty: Some(false),
    }
}

fn context() -> RunContext {
    RunContext {
        models: vec![ModelInfo {
            role: "embedding".into(),
            id: "sentence-transformers/all-MiniLM-L6-v2".into(),
            source: "fixture".into(),
            path: "/models/minilm".into(),
            weights_sha256: "ab".repeat(32),
            runtime: "candle 0.11 (cpu, f32)".into(),
            max_seq_length: 256,
            dimensions: 384,
        }],
        corpus: Some(CorpusStats {
            content_sha256: String::new(),
            dir: "/data/book".into(),
            files: 3,
            parents: 3,
            chunks: 120,
            bytes: 50_000,
            chunk_chars: 40_000,
            subset: false,
            cache_hits: 120,
            cache_misses: 0,
        }),
        index: Some(IndexInfo {
            engine: "usearch-hnsw".into(),
            version: "2.26.6".into(),
            metric: "cosine".into(),
            dimensions: 384,
            vectors: 120,
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            hardware_acceleration: "haswell".into(),
        }),
        queries: Some(QuerySetInfo {
            path: "/data/queries.txt".into(),
            count: 30,
            sha256: "cd".repeat(32),
        }),
        threads: 2,
        counting: "time only".into(),
        llm_engines: Vec::new(),
    }
}

pub fn metric(name: &str, unit: Unit, better: Better, samples: Vec<f64>) -> RawMetric {
    RawMetric {
        name: perf_contract::metric_key::MetricKey::parse(name),
        unit,
        better,
        description: format!("fixture {name}"),
        samples,
    }
}

/// A baseline whose timings are `scale` times the reference ones.
pub fn baseline(at: &str, commit: &str, profile: ProfileName, scale: f64, seed: u64) -> Baseline {
    use Better::*;
    use Unit::*;
    let ms = |s: u64, med: f64| samples(seed + s, 60, med * scale, 0.3);
    let stages = [
        ("embed", 9.0),
        ("search", 0.3),
        ("tokenize", 0.08),
        ("fetch_parents", 0.001),
    ];
    let mut rag = vec![metric("context_chars", Count, Neither, vec![8000.0; 60])];
    let mut latency = vec![0.0; 60];
    for (i, (stage, med)) in stages.iter().enumerate() {
        let xs = ms(i as u64 + 1, *med);
        for (l, x) in latency.iter_mut().zip(&xs) {
            *l += x;
        }
        rag.push(metric(&format!("stage.{stage}"), Milliseconds, Lower, xs));
    }
    rag.push(metric(
        "latency",
        Milliseconds,
        Lower,
        latency.iter().map(|l| l + 0.01).collect(),
    ));
    let rate = |s: u64, n: usize, med: f64| samples(seed + s, n, med / scale, 0.1);
    let embedding = vec![
        metric(
            "native.sentences.batch_1.docs_per_s",
            DocsPerSecond,
            Higher,
            rate(10, 60, 80.0),
        ),
        metric(
            "native.sentences.batch_10.docs_per_s",
            DocsPerSecond,
            Higher,
            rate(11, 6, 170.0),
        ),
        metric(
            "native.chunks.batch_1.docs_per_s",
            DocsPerSecond,
            Higher,
            rate(12, 60, 31.0),
        ),
        metric(
            "native.chunks.batch_10.docs_per_s",
            DocsPerSecond,
            Higher,
            rate(13, 6, 26.0),
        ),
        metric("quality.parity_cosine", Ratio, Higher, vec![1.0; 6]),
    ];
    let mut recall = vec![1.0; 30];
    recall[3] = 0.8;
    let vector = vec![
        metric(
            "hnsw.latency",
            Microseconds,
            Lower,
            samples(seed + 20, 60, 300.0 * scale, 0.2),
        ),
        metric(
            "exact.latency",
            Microseconds,
            Lower,
            samples(seed + 21, 60, 380.0 * scale, 0.2),
        ),
        metric("recall_at_5", Ratio, Higher, recall),
        metric(
            "build_time",
            Milliseconds,
            Lower,
            samples(seed + 22, 3, 700.0 * scale, 0.1),
        ),
        metric(
            "index_memory",
            Bytes,
            Lower,
            vec![16.0 * 1024.0 * 1024.0; 3],
        ),
    ];
    let mut workloads = BTreeMap::new();
    for (w, metrics) in [
        (WorkloadName::RagQuery, rag),
        (WorkloadName::Embedding, embedding),
        (WorkloadName::VectorQuery, vector),
    ] {
        let r = WorkloadResult::from_samples(WorkloadSamples {
            workload: w,
            metrics,
            notes: vec![],
        })
        .unwrap();
        workloads.insert(w, r);
    }
    let environment = environment(at, commit);
    Baseline {
        schema_version: SCHEMA_VERSION,
        created_at: environment.timestamp,
        machine_fingerprint: environment.fingerprint(),
        environment,
        plan: plan(profile),
        context: context(),
        workloads,
    }
}

fn alloc(bytes: u64) -> AllocStats {
    AllocStats {
        allocations: bytes / 1000,
        deallocations: bytes / 1000,
        bytes_allocated: bytes,
        peak_bytes: bytes / 10,
        net_live_bytes: 0,
    }
}

fn stage(name: &str, ops: usize, median: f64, cpu: u64, top: &[(&str, u64)]) -> StageProfile {
    StageProfile {
        stage: name.into(),
        ops,
        passes: 3,
        wall_ms_total: median * ops as f64 * 3.0,
        wall_ms_median: median,
        cpu_samples: cpu,
        alloc: alloc(cpu * 10_000),
        top_functions: top.iter().map(|(f, n)| (f.to_string(), *n)).collect(),
    }
}

fn bottleneck(
    rank: usize,
    w: &str,
    s: &str,
    shares: (f64, f64, f64),
    functions: &[&str],
) -> Bottleneck {
    let (wall, cpu, alloc) = shares;
    Bottleneck {
        rank,
        workload: w.into(),
        stage: s.into(),
        score: 0.5 * wall + 0.3 * cpu + 0.2 * alloc,
        wall_share: wall,
        cpu_share: cpu,
        alloc_share: alloc,
        functions: functions.iter().map(|f| f.to_string()).collect(),
        reason: format!("{:.0}% of {w} wall time", wall * 100.0),
    }
}

pub fn profile_summary() -> ProfileSummary {
    let workload = |name: &str, wall: f64, stages: Vec<StageProfile>| WorkloadProfile {
        workload: name.into(),
        wall_s_plain: wall,
        wall_s_profiled: wall * 1.02,
        overhead_pct: 2.0,
        cpu_samples: stages.iter().map(|s| s.cpu_samples).sum(),
        peak_rss_bytes: Some(500 << 20),
        alloc: alloc(1 << 30),
        files: vec![format!("/elsewhere/{name}/flamegraph.svg").into()],
        stages,
    };
    let bottlenecks = vec![
        bottleneck(1, "rag_query", "embed", (0.95, 0.96, 0.9), &["pack_generic_inner_loop<f32, 8, 16>", "_mm256_fmadd_ps", "erfc2"]),
        bottleneck(2, "vector_query", "build_index", (0.9, 0.9, 0.0), &["_mm256_loadu_ps", "unum::usearch::max_heap_gt<unum::usearch::index_gt<float> >::shift_down(unsigned long)"]),
        bottleneck(3, "vector_query", "exact_search", (0.05, 0.05, 0.99), &["mul"]),
        bottleneck(4, "rag_query", "search", (0.03, 0.03, 0.01), &["_mm512_cvtps_pd"]),
        bottleneck(5, "rag_query", "assemble_context", (0.01, 0.01, 0.05), &["next_code_point<core::slice::iter::Iter<u8>>"]),
    ];
    ProfileSummary {
        frequency_hz: 997,
        workloads: vec![
            workload(
                "rag_query",
                5.0,
                vec![
                    stage(
                        "embed",
                        30,
                        9.5,
                        200,
                        &[
                            ("pack_generic_inner_loop<f32, 8, 16>", 120),
                            ("_mm256_fmadd_ps", 40),
                            ("erfc2", 10),
                        ],
                    ),
                    stage("search", 30, 0.3, 8, &[("_mm512_cvtps_pd", 6)]),
                    stage(
                        "assemble_context",
                        30,
                        0.01,
                        3,
                        &[("next_code_point<core::slice::iter::Iter<u8>>", 3)],
                    ),
                ],
            ),
            workload(
                "vector_query",
                2.0,
                vec![
                    stage("build_index", 1, 600.0, 150, &[("_mm256_loadu_ps", 80)]),
                    stage("exact_search", 30, 0.3, 8, &[("mul", 7)]),
                ],
            ),
        ],
        bottlenecks,
    }
}

/// The folded stacks of the profile run, consistent with the stages' top
/// functions above; GELU's `expf` and the spinning worker appear only here.
const RAG_QUERY_STACKS: &str = "\
main;rag::embed;gemm_common::gemm::gemm_basic_generic;pack_generic_inner_loop<f32, 8, 16> 120
main;rag::embed;gemm_common::gemm::gemm_basic_generic;_mm256_fmadd_ps 40
main;rag::embed;f32_vec<candle_core::op::GeluErf>;erf_f32;erfc2 10
main;rag::embed;f32_vec<candle_core::op::GeluErf>;erf_f32;erfc2;expf 14
main;rag::embed;candle_nn::ops::softmax;exp 6
worker;spin_loop;_mm_pause 10
main;rag::search;unum::usearch::index_gt::search;_mm512_cvtps_pd 8
main;rag::assemble_context;next_code_point<core::slice::iter::Iter<u8>> 3
";

const VECTOR_QUERY_STACKS: &str = "\
main;unum::usearch::index_gt::add;_mm256_loadu_ps 150
main;perf_workloads::index::flat::search;mul 8
";

/// One carried-out opportunity, so section 7 shows a measured figure.
const OPTIMISATIONS_DONE: &str = r#"# fixture
[[done]]
kind = "gelu_erf"
workload = "rag_query"
predicted_pct = 2.2
measured_pct = 5.3
interval_pct = [3.1, 7.4]
pairs = 54
date = 2026-01-02
command = "cargo xtask perf compare HEAD~1 HEAD --workload rag_query"
"#;

/// Writes the fixture under `root` with the project's layout; `history` and
/// `profile` choose which optional inputs exist.
pub fn write_fixture(root: &Path, history: bool, profile: bool) {
    let current = baseline(
        "2026-01-02T10:00:00Z",
        "c0ffee0000000000",
        ProfileName::Full,
        1.0,
        1,
    );
    current.save(&root.join(BASELINE)).unwrap();
    if history {
        let older = baseline(
            "2026-01-01T10:00:00Z",
            "abc1230000000000",
            ProfileName::Full,
            1.25,
            7,
        );
        older
            .save(&root.join(HISTORY).join("20260101T100000Z-full.json"))
            .unwrap();
        // Another profile: part of the history, never the one compared.
        let quick = baseline(
            "2026-01-01T12:00:00Z",
            "def4560000000000",
            ProfileName::Quick,
            0.5,
            9,
        );
        quick
            .save(&root.join(HISTORY).join("20260101T120000Z-quick.json"))
            .unwrap();
    }
    if profile {
        let run = root.join("profiles/20260102T110000Z");
        fs::create_dir_all(run.join("rag_query")).unwrap();
        fs::create_dir_all(run.join("vector_query")).unwrap();
        fs::write(run.join("rag_query/flamegraph.svg"), "<svg/>").unwrap();
        fs::write(run.join("rag_query/stacks.folded"), RAG_QUERY_STACKS).unwrap();
        fs::write(run.join("vector_query/stacks.folded"), VECTOR_QUERY_STACKS).unwrap();
        fs::write(root.join(OPTIMISATIONS), OPTIMISATIONS_DONE).unwrap();
        let summary = profile_summary();
        let json = serde_json::to_string_pretty(&summary).unwrap();
        fs::write(run.join("summary.json"), json).unwrap();
        let json = serde_json::to_string_pretty(&summary.bottlenecks).unwrap();
        fs::write(run.join("bottlenecks.json"), json).unwrap();
        std::os::unix::fs::symlink("20260102T110000Z", root.join(PROFILES)).unwrap();
    }
}

pub fn paths(root: &Path) -> InputPaths {
    InputPaths {
        baseline: root.join(BASELINE),
        scale_points: Vec::new(),
        profiles: root.join(PROFILES),
        profile_digest: root.join(PROFILE_DIGEST),
        history: root.join(HISTORY),
        optimisations: root.join(OPTIMISATIONS),
        output: root.join(OUTPUT),
        root: root.to_path_buf(),
    }
}

pub fn inputs(root: &Path) -> ReportInputs {
    load(&paths(root), Policy::default()).unwrap()
}
