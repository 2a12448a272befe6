//! `vector_query`: every planned engine over the corpus (`vector_corpus`:
//! load time and memory, search latency and recall@k against exact search;
//! searches rotate over several loads of each engine, so these are
//! cold-cache figures), then every planned engine at every planned size
//! (`vector_scale`, warm figures), and the HNSW recall/speed sweep
//! (`hnsw_sweep`). Every engine is reached through `EngineHost` and the
//! `VectorEngine` trait: one added there is measured and judged like
//! usearch.

use perf_contract::plan::WorkloadName;

use crate::{
    error::WorkloadError,
    index::{EngineHost, FlatIndex, HnswIndex, VectorSearch},
    probe::Probe,
    reporter::{MetricSet, Reporter},
    scaling::{scaling_vectors, ScalingInputs},
    stage_timer::Stage,
    workloads::{hnsw_sweep, vector_corpus, vector_scale, Cx, Needs, Workload},
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
        let host = EngineHost::new(plan, p.embedder.dims());
        let mut m = MetricSet::new(WorkloadName::VectorQuery);
        vector_corpus::measure_corpus(cx, &host, reporter, &mut m)?;
        scale_and_sweep(cx, &host, reporter, &mut m)?;
        Ok(m)
    }
}

/// The engines × sizes curve and the sweep, over the scaling vectors.
fn scale_and_sweep(
    cx: &Cx<'_>,
    host: &EngineHost<'_>,
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
    vector_scale::measure_scaling(host, &set, &p.query_vectors, reporter, m)?;
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
