//! `vector_query`: HNSW build time and memory at the corpus size, query
//! latency of HNSW and of exact search, and recall@k of HNSW against exact.

use std::time::Instant;

use perf_report::{
    plan::{Plan, WorkloadName},
    protocol::Message,
    schema::{Better, Unit},
};

use crate::{
    error::WorkloadError,
    index::{recall_at_k, FlatIndex, HnswIndex, VectorSearch},
    report::{MetricSet, Reporter},
    workloads::{passes::run_passes, Prepared},
};

pub fn run(
    plan: &Plan,
    p: &Prepared,
    reporter: &mut Reporter<'_>,
) -> Result<Message, WorkloadError> {
    let n = p.chunk_vectors.len();
    let k = plan.rag.top_k;
    let mut build_ms = Vec::new();
    let mut hnsw = None;
    for i in 0..plan.harness.index_builds as usize {
        let start = Instant::now();
        let built = HnswIndex::build(&p.chunk_vectors, &plan.index)?;
        build_ms.push(start.elapsed().as_secs_f64() * 1e3);
        hnsw = Some(built);
        reporter.progress(
            WorkloadName::VectorQuery,
            "build index",
            i + 1,
            plan.harness.index_builds as usize,
        );
    }
    let hnsw = hnsw.expect("index_builds >= 1 is validated");
    let flat = FlatIndex::build(&p.chunk_vectors)?;

    let queries = &p.query_vectors;
    let mut hnsw_us = Vec::new();
    let mut exact_us = Vec::new();
    let mut recall = vec![None; queries.len()];
    run_passes(
        reporter,
        WorkloadName::VectorQuery,
        &plan.harness,
        queries.len(),
        |i, measured| {
            let start = Instant::now();
            let approx = hnsw.search(&queries[i], k)?;
            let t_hnsw = start.elapsed();
            let start = Instant::now();
            let exact = flat.search(&queries[i], k)?;
            let t_exact = start.elapsed();
            if measured {
                hnsw_us.push(t_hnsw.as_secs_f64() * 1e6);
                exact_us.push(t_exact.as_secs_f64() * 1e6);
                recall[i].get_or_insert_with(|| recall_at_k(&approx, &exact));
            }
            Ok(())
        },
    )?;

    let mut m = MetricSet::new(WorkloadName::VectorQuery);
    m.push(
        "hnsw.latency",
        Unit::Microseconds,
        Better::Lower,
        format!("one top-{k} usearch HNSW search over {n} vectors"),
        hnsw_us,
    );
    m.push(
        "exact.latency",
        Unit::Microseconds,
        Better::Lower,
        format!("one top-{k} exact (brute-force) search over {n} vectors"),
        exact_us,
    );
    m.push(
        format!("recall_at_{k}"),
        Unit::Ratio,
        Better::Higher,
        format!("share of the exact top-{k} that HNSW returned, one sample per question"),
        recall.into_iter().flatten().collect(),
    );
    m.push(
        "build_time",
        Unit::Milliseconds,
        Better::Lower,
        format!("building the HNSW index from {n} vectors"),
        build_ms,
    );
    m.push(
        "index_memory",
        Unit::Bytes,
        Better::Lower,
        "memory reserved by the HNSW index (graph + vectors), usearch memory_usage(); it grows in arena steps, so small indexes show the arena size",
        vec![hnsw.memory_bytes() as f64],
    );
    Ok(m.finish())
}
