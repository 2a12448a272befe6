//! Micro-benchmarks of the RAG stack's hot functions with criterion:
//! tokenize, embed one batch, HNSW search, exact search, chunking.
//!
//! `cargo bench -p perf-workloads` measures; `cargo bench -p perf-workloads
//! -- --profile-time 5` instead samples each benchmark with perf-profile's
//! sampler (the one `perf profile` uses, behind criterion's profiler hook)
//! and writes `flamegraph.svg` and `profile.pb.gz` (for `go tool pprof`) to
//! `target/criterion/<group>/<bench>/profile/`.
//! The real model and the first 300 chunks of the default corpus are used,
//! prepared once (model and vectors come from the same caches as the tool).

#[path = "../tests/common/mod.rs"]
mod common;

use std::{hint::black_box, path::Path};

use criterion::{criterion_group, criterion_main, profiler::Profiler, BenchmarkId, Criterion};
use perf_contract::plan::WorkloadName;
use perf_profile::{CpuProfiler, CpuSession};
use perf_workloads::{
    corpus::chunk_documents,
    index::{FlatIndex, HnswIndex, VectorSearch},
    reporter::Reporter,
    workloads::{prepare, Prepared},
};

fn prepared() -> (perf_contract::plan::Plan, Prepared) {
    let mut plan = common::plan(
        &common::rust_book(),
        &common::default_queries(),
        vec![WorkloadName::RagQuery],
    );
    plan.corpus.max_chunks = Some(300);
    let mut sink = Vec::new();
    let p = prepare(&plan, &mut Reporter::new(&mut sink)).expect("prepare the default corpus");
    (plan, p)
}

fn hot_paths(c: &mut Criterion) {
    let (plan, p) = prepared();
    let chunks: Vec<&str> = p.corpus.chunks.iter().map(|c| c.text.as_str()).collect();
    let question = p.queries.questions[0].as_str();

    let mut g = c.benchmark_group("embedding");
    g.bench_function("tokenize/10_chunks", |b| {
        b.iter(|| p.embedder.tokenize(black_box(&chunks[..10])).unwrap())
    });
    g.bench_function("tokenize/question", |b| {
        b.iter(|| p.embedder.tokenize(black_box(&[question])).unwrap())
    });
    for n in [1usize, 10] {
        let batch = p.embedder.tokenize(&chunks[..n]).unwrap();
        g.bench_with_input(BenchmarkId::new("forward_chunks", n), &batch, |b, batch| {
            b.iter(|| p.embedder.forward(black_box(batch)).unwrap())
        });
    }
    g.finish();

    let hnsw = HnswIndex::build(&p.chunk_vectors, &plan.index).unwrap();
    let flat = FlatIndex::build(&p.chunk_vectors).unwrap();
    let q = &p.query_vectors[0];
    let mut g = c.benchmark_group("search");
    g.bench_function("hnsw/top5", |b| {
        b.iter(|| hnsw.search(black_box(q), 5).unwrap())
    });
    g.bench_function("exact/top5", |b| {
        b.iter(|| flat.search(black_box(q), 5).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("corpus");
    let docs = &p.corpus.documents[..p.corpus.parents_used()];
    g.bench_function("chunk/400_chars", |b| {
        b.iter(|| chunk_documents(black_box(docs), 400, 0, None).unwrap())
    });
    g.finish();
}

/// Criterion's profiler hook on perf-profile's sampler. Why not pprof's own
/// hook (its `criterion` feature): that feature, switched on for the
/// benches, changed pprof's build for the whole test run, so `cargo xtask
/// test` and `perf baseline` compiled candle twice.
#[derive(Default)]
struct StackProfiler {
    session: Option<CpuSession>,
}

impl Profiler for StackProfiler {
    fn start_profiling(&mut self, id: &str, _dir: &Path) {
        // 997 Hz: a prime, so sampling does not lock onto periodic work.
        match CpuProfiler::start(997) {
            Ok(session) => self.session = Some(session),
            Err(e) => eprintln!("{id}: cannot start the CPU profiler: {e}"),
        }
    }

    fn stop_profiling(&mut self, id: &str, dir: &Path) {
        let Some(session) = self.session.take() else {
            return;
        };
        let written = std::fs::create_dir_all(dir)
            .map_err(|e| e.to_string())
            .and_then(|()| session.finish().map_err(|e| e.to_string()))
            .and_then(|profile| {
                profile
                    .write_flamegraph(&dir.join("flamegraph.svg"))
                    .and_then(|()| profile.write_pprof(&dir.join("profile.pb.gz")))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            eprintln!("{id}: profile not written to {}: {e}", dir.display());
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .with_profiler(StackProfiler::default());
    targets = hot_paths
}
criterion_main!(benches);
