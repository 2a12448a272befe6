//! `vector_query`: HNSW build time and memory at the corpus size, query
//! latency of HNSW and of exact search, and recall@k of HNSW against exact.

use perf_contract::{
    plan::{Plan, WorkloadName},
    protocol::Message,
    schema::{Better, Unit},
};

use crate::{
    callgrind,
    error::WorkloadError,
    index::{recall_at_k, FlatIndex, HnswIndex, VectorSearch},
    reporter::{MetricSet, Reporter},
    stage_timer::{timed, Stage, StageTimes},
    workloads::{passes::run_passes, Prepared},
};

pub fn run(
    plan: &Plan,
    p: &Prepared,
    reporter: &mut Reporter<'_>,
) -> Result<Message, WorkloadError> {
    let n = p.chunk_vectors.len();
    let k = plan.rag.top_k;
    // Every build is kept and searched: search latency moved 13-20% between
    // otherwise identical runs (the cause is not pinned down; each build's
    // memory placement is one candidate), so the samples span several builds
    // and their spread, and the regression check's interval, includes it.
    let mut build_ms = Vec::new();
    let mut hnsws = Vec::new();
    let mut flats = Vec::new();
    let builds = plan.harness.index_builds as usize;
    for i in 0..builds {
        let mut times = StageTimes::default();
        let built = callgrind::region(Some("vector_query/build"), || {
            timed(&mut times, Stage::BuildIndex, || {
                HnswIndex::build(&p.chunk_vectors, &plan.index)
            })
        })?;
        build_ms.push(times.get(Stage::BuildIndex).as_secs_f64() * 1e3);
        hnsws.push(built);
        flats.push(FlatIndex::build(&p.chunk_vectors)?);
        reporter.progress(WorkloadName::VectorQuery, "build index", i + 1, builds);
    }

    let queries = &p.query_vectors;
    let mut hnsw_us = Vec::new();
    let mut exact_us = Vec::new();
    let mut recall = vec![None; queries.len()];
    let mut calls = 0usize;
    run_passes(
        reporter,
        WorkloadName::VectorQuery,
        &plan.harness,
        queries.len(),
        |i, measured| {
            // Searches rotate over the builds.
            let b = calls % builds;
            calls += 1;
            let (hnsw, flat) = (&hnsws[b], &flats[b]);
            let mut times = StageTimes::default();
            // Warm-up searches run outside callgrind regions.
            let label = |name| measured.then_some(name);
            let approx = callgrind::region(label("vector_query/hnsw"), || {
                timed(&mut times, Stage::Search, || hnsw.search(&queries[i], k))
            })?;
            let exact = callgrind::region(label("vector_query/exact"), || {
                timed(&mut times, Stage::ExactSearch, || {
                    flat.search(&queries[i], k)
                })
            })?;
            if measured {
                hnsw_us.push(times.get(Stage::Search).as_secs_f64() * 1e6);
                exact_us.push(times.get(Stage::ExactSearch).as_secs_f64() * 1e6);
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
        hnsws.iter().map(|h| h.memory_bytes() as f64).collect(),
    );
    Ok(m.finish())
}
