//! `vector_query`: HNSW build time and memory at the corpus size, query
//! latency of HNSW and of exact search, and recall@k of HNSW against exact
//! (searches rotate over several builds, so these are cold-cache figures);
//! then every planned engine at every planned size (`vector_scale`, warm
//! figures) and the HNSW recall/speed sweep (`hnsw_sweep`).

use perf_contract::{
    metric_key::{CountedOp, MetricKind, SearchKind},
    plan::WorkloadName,
};

use crate::{
    error::WorkloadError,
    hook::Op,
    index::{recall_at_k, FlatIndex, HnswIndex, VectorSearch},
    probe::Probe,
    reporter::{MetricSet, Reporter},
    scaling::{scaling_vectors, ScalingInputs},
    stage_timer::{timed, Stage, StageTimes},
    workloads::{hnsw_sweep, passes::run_passes, vector_scale, Cx, Needs, Workload},
};

pub struct VectorQuery;

impl Workload for VectorQuery {
    fn name(&self) -> WorkloadName {
        WorkloadName::VectorQuery
    }

    /// Its measurements build and search indexes of their own; the shared
    /// index is what the run context describes (settings, memory) and what
    /// the stage probes search.
    fn needs(&self) -> Needs {
        Needs::RETRIEVAL
    }

    fn stages<'a>(&self, cx: &Cx<'a>) -> Result<Vec<Probe<'a>>, WorkloadError> {
        let (plan, p) = (cx.plan, cx.prepared);
        let hnsw = cx.index();
        let flat = FlatIndex::build(&p.chunk_vectors)?;
        let n = p.query_vectors.len();
        let k = plan.rag.top_k;
        Ok(vec![
            Probe::new(Stage::Search, n, move |i| {
                hnsw.search(&p.query_vectors[i], k).map(drop)
            }),
            Probe::new(Stage::ExactSearch, n, move |i| {
                flat.search(&p.query_vectors[i], k).map(drop)
            }),
            Probe::new(Stage::BuildIndex, 1, move |_| {
                HnswIndex::build(&p.chunk_vectors, &plan.index).map(drop)
            }),
        ])
    }

    fn run(&self, cx: &Cx<'_>, reporter: &mut Reporter<'_>) -> Result<MetricSet, WorkloadError> {
        let (plan, p) = (cx.plan, cx.prepared);
        let n = p.chunk_vectors.len();
        let k = plan.rag.top_k;
        let op = |op| Op::new(WorkloadName::VectorQuery, op);
        // Every build is kept and searched: search latency moved 13-20%
        // between otherwise identical runs (the cause is not pinned down;
        // each build's memory placement is one candidate), so the samples
        // span several builds and their spread, and the regression check's
        // interval, includes it.
        let mut build_ms = Vec::new();
        let mut hnsws = Vec::new();
        let mut flats = Vec::new();
        let builds = plan.harness.index_builds as usize;
        for i in 0..builds {
            let mut times = StageTimes::default();
            let (built, _) = cx.meter.measure(op(CountedOp::Build), true, || {
                timed(&mut times, Stage::BuildIndex, || {
                    HnswIndex::build(&p.chunk_vectors, &plan.index)
                })
            });
            build_ms.push(times.get(Stage::BuildIndex).as_secs_f64() * 1e3);
            hnsws.push(built?);
            flats.push(FlatIndex::build(&p.chunk_vectors)?);
            reporter.progress(WorkloadName::VectorQuery, "build index", i + 1, builds);
        }

        let queries = &p.query_vectors;
        let mut hnsw_us = Vec::new();
        let mut exact_us = Vec::new();
        let mut recall = vec![None; queries.len()];
        let mut calls = 0usize;
        let hnsw_op = op(CountedOp::Search(SearchKind::Hnsw));
        let exact_op = op(CountedOp::Search(SearchKind::Exact));
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
                // Warm-up searches are timed but not hooked.
                let (approx, _) = cx.meter.measure(hnsw_op, measured, || {
                    timed(&mut times, Stage::Search, || hnsw.search(&queries[i], k))
                });
                let (exact, _) = cx.meter.measure(exact_op, measured, || {
                    timed(&mut times, Stage::ExactSearch, || {
                        flat.search(&queries[i], k)
                    })
                });
                let (approx, exact) = (approx?, exact?);
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
            MetricKind::SearchLatency(SearchKind::Hnsw),
            format!("k = {k}, usearch HNSW over {n} vectors"),
            hnsw_us,
        );
        m.push(
            MetricKind::SearchLatency(SearchKind::Exact),
            format!("k = {k}, brute force over {n} vectors"),
            exact_us,
        );
        m.push(
            MetricKind::RecallAt(k as u32),
            "",
            recall.into_iter().flatten().collect(),
        );
        m.push(MetricKind::BuildTime, format!("{n} vectors"), build_ms);
        m.push(
            MetricKind::IndexMemory,
            "",
            hnsws.iter().map(|h| h.memory_bytes() as f64).collect(),
        );
        drop((hnsws, flats));
        scale_and_sweep(cx, reporter, &mut m)?;
        Ok(m)
    }
}

/// The engines × sizes curve and the sweep, over the scaling vectors.
fn scale_and_sweep(
    cx: &Cx<'_>,
    reporter: &mut Reporter<'_>,
    m: &mut MetricSet,
) -> Result<(), WorkloadError> {
    let (plan, p) = (cx.plan, cx.prepared);
    let v = &plan.vector;
    let sweep_size = if v.sweep_size == 0 {
        p.chunk_vectors.len()
    } else {
        v.sweep_size
    };
    let want = v
        .sizes
        .iter()
        .copied()
        .chain([sweep_size])
        .max()
        .unwrap_or(0);
    if v.sizes.is_empty() && v.sweep_connectivity.is_empty() {
        return Ok(());
    }
    let texts: Vec<&str> = p.corpus.chunks.iter().map(|c| c.text.as_str()).collect();
    let inputs = ScalingInputs {
        main_vectors: &p.chunk_vectors,
        main_texts: &texts,
        folders: &v.scaling_corpus,
        exclude: &plan.corpus.exclude,
        chunk_size: plan.corpus.chunk_size,
        chunk_overlap: plan.corpus.chunk_overlap,
        cache_dir: &plan.embedding_cache_dir,
        embedder: &p.embedder,
    };
    let mut notes = Vec::new();
    let set = scaling_vectors(
        &inputs,
        want,
        &mut |phase, done, total| reporter.progress(WorkloadName::VectorQuery, phase, done, total),
        &mut |n| notes.push(n),
    )?;
    for n in notes {
        reporter.note(n);
    }
    let sources: Vec<String> = set
        .sources
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| format!("{f} ({n})"))
        .collect();
    m.note(format!(
        "scaling vectors: {} real, from {}",
        set.real,
        sources.join(", ")
    ));
    let host = crate::index::EngineHost::new(plan, p.embedder.dims());
    vector_scale::measure_scaling(&host, &set, &p.query_vectors, reporter, m)?;
    if let Some(label) = set.label(sweep_size) {
        m.note(format!("sweep {label}"));
    }
    hnsw_sweep::measure_sweep(
        &plan.index,
        v,
        &set.vectors[..sweep_size.min(set.vectors.len())],
        &p.query_vectors,
        reporter,
        m,
    )
}
