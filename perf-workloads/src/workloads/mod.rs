//! The workloads: each one a registered unit ([`Workload`]) that says what
//! it needs prepared, how it runs and which stages it has; the state they
//! share; and the run of a plan.
//!
//! Preparation (load corpus, provision model, embed the corpus through the
//! cache, build the index) happens once and is never measured; each workload
//! then measures only its own operation, through the run's [`Meter`].
//! Measurement modes are hooks around the same code (`crate::hook`): adding
//! a workload means its own file and one line in [`REGISTRY`] (plus its name
//! in the contract's `WorkloadName`), nothing in profiling or callgrind.

mod embedding;
mod hnsw_sweep;
mod inference;
mod memory;
mod passes;
mod rag_answer;
mod rag_query;
mod server_load;
mod vector_corpus;
mod vector_query;
mod vector_scale;

use std::cell::{RefCell, RefMut};

use perf_contract::{
    context::{CorpusStats, ModelInfo, QuerySetInfo, RunContext},
    plan::{Plan, WorkloadName},
    protocol::Message,
};

use crate::{
    callgrind::{self, CallgrindRegions},
    corpus::{chunk_documents, load_documents, load_queries, Corpus, QuerySet},
    counters::{self, InstructionCounter},
    embed::{
        embed_with_cache, provision_minilm, EmbedEngine, Embedder, EmbeddingCache, KernelPath,
        ModelFiles, MINILM_ID,
    },
    error::WorkloadError,
    hook::WorkloadHook,
    index::HnswIndex,
    llm::{open_engines, LlmSet},
    lockstep::Lockstep,
    meter::Meter,
    probe::Probe,
    rag::RagPipeline,
    reporter::{MetricSet, Reporter, Sink},
};

/// What a workload needs prepared beyond the corpus, the query set and the
/// embedding model, which every workload gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Unit vectors of every corpus chunk (through the embedding cache).
    pub corpus_vectors: bool,
    /// The HNSW index over them.
    pub index: bool,
    /// The GGUF model and the plan's LLM engines.
    pub llm: bool,
}

impl Needs {
    /// The corpus, the queries and the embedding model only.
    pub const NOTHING_MORE: Needs = Needs {
        corpus_vectors: false,
        index: false,
        llm: false,
    };
    /// The corpus vectors.
    pub const VECTORS: Needs = Needs {
        corpus_vectors: true,
        ..Needs::NOTHING_MORE
    };
    /// The corpus vectors and the shared HNSW index: the retrieval path.
    pub const RETRIEVAL: Needs = Needs {
        index: true,
        ..Needs::VECTORS
    };
    /// The LLM engines.
    pub const LLM: Needs = Needs {
        llm: true,
        ..Needs::NOTHING_MORE
    };

    pub const fn and(self, other: Needs) -> Needs {
        Needs {
            corpus_vectors: self.corpus_vectors || other.corpus_vectors,
            index: self.index || other.index,
            llm: self.llm || other.llm,
        }
    }
}

/// One workload, registered in [`REGISTRY`].
pub trait Workload: Sync {
    fn name(&self) -> WorkloadName;

    fn needs(&self) -> Needs;

    /// Measures the workload: warm-up and measured passes, every measured
    /// operation through `cx.meter`, and the metrics it reports.
    fn run(&self, cx: &Cx<'_>, reporter: &mut Reporter<'_>) -> Result<MetricSet, WorkloadError>;

    /// Its stages, each runnable alone over prepared inputs: profile mode's
    /// per-stage evidence. None by default (the whole-workload profile is
    /// then the evidence).
    fn stages<'a>(&self, _cx: &Cx<'a>) -> Result<Vec<Probe<'a>>, WorkloadError> {
        Ok(Vec::new())
    }
}

/// Every workload, in the contract's order.
pub static REGISTRY: [&dyn Workload; 6] = [
    &rag_query::RagQuery,
    &embedding::Embedding,
    &vector_query::VectorQuery,
    &inference::Inference,
    &rag_answer::RagAnswer,
    &server_load::ServerLoad,
];

/// The registered workload of that name.
pub fn workload(name: WorkloadName) -> &'static dyn Workload {
    *REGISTRY
        .iter()
        .find(|w| w.name() == name)
        .expect("every WorkloadName is registered (tested)")
}

/// What a workload runs with: the plan, the prepared state and the meter.
pub struct Cx<'a> {
    pub plan: &'a Plan,
    pub prepared: &'a Prepared,
    pub index: Option<&'a HnswIndex>,
    pub meter: &'a Meter,
}

impl<'a> Cx<'a> {
    /// The HNSW index; a workload that declared `needs().index` has one.
    pub fn index(&self) -> &'a HnswIndex {
        self.index
            .expect("index prepared for a workload that needs it")
    }

    /// The retrieval path over the shared index, its context cut at
    /// `max_context_chars`.
    pub fn pipeline(&self, max_context_chars: usize) -> RagPipeline<'a> {
        RagPipeline {
            embedder: &self.prepared.embedder,
            index: self.index(),
            corpus: &self.prepared.corpus,
            top_k: self.plan.rag.top_k,
            max_context_chars,
        }
    }

    /// The LLM engines; a workload that declared `needs().llm` has them.
    pub fn llm(&self) -> RefMut<'a, LlmSet> {
        self.prepared
            .llm
            .as_ref()
            .expect("engines opened for a workload that needs them")
            .borrow_mut()
    }
}

/// State shared by the workloads of one run.
pub struct Prepared {
    pub corpus: Corpus,
    pub queries: QuerySet,
    pub embedder: Embedder,
    /// Unit vectors of `corpus.chunks`, by chunk id.
    pub chunk_vectors: Vec<Vec<f32>>,
    /// Unit vectors of `queries.questions`.
    pub query_vectors: Vec<Vec<f32>>,
    pub cache_hits: usize,
    /// The GGUF model and engines, when an LLM workload is planned. The
    /// engines keep per-prompt state (their KV caches), hence the cell.
    pub llm: Option<RefCell<LlmSet>>,
}

/// Batch size used to embed the corpus during preparation.
pub const PREPARE_BATCH: usize = 32;

/// The stack's embedder: the plan's first engine (a validated plan names
/// one), on its kernel path.
pub fn stack_embedder(plan: &Plan, files: &ModelFiles) -> Result<Embedder, WorkloadError> {
    let engine = plan
        .embedding
        .engines
        .first()
        .copied()
        .ok_or_else(|| WorkloadError::Config("`[embedding] engines` names no engine".into()))?;
    load_embedder(plan, files, engine)
}

/// `engine` loaded as the plan says (the native one on `[embedding] kernel`).
pub fn load_embedder(
    plan: &Plan,
    files: &ModelFiles,
    engine: EmbedEngine,
) -> Result<Embedder, WorkloadError> {
    let kernel = KernelPath::of(plan.embedding.kernel)
        .map_err(|e| WorkloadError::Config(format!("`[embedding] kernel`: {e}")))?;
    Embedder::load_with(files, engine, kernel)
}

/// What the plan's workloads need, together.
fn needs_of(plan: &Plan) -> Needs {
    plan.workloads
        .iter()
        .map(|&w| workload(w).needs())
        .fold(Needs::NOTHING_MORE, Needs::and)
}

pub fn prepare(plan: &Plan, reporter: &mut Reporter<'_>) -> Result<Prepared, WorkloadError> {
    let loaded = load_documents(&plan.corpus.dir, &plan.corpus.exclude)?;
    if let Some(skipped) = loaded.skipped_note(&plan.corpus.dir) {
        reporter.note(skipped);
    }
    let (documents, source_bytes) = (loaded.documents, loaded.source_bytes);
    let chunks = chunk_documents(
        &documents,
        plan.corpus.chunk_size,
        plan.corpus.chunk_overlap,
        plan.corpus.max_chunks,
    )?;
    let subset = plan.corpus.max_chunks.is_some_and(|m| chunks.len() >= m);
    let corpus = Corpus {
        documents,
        chunks,
        source_bytes,
        subset,
    };
    let mut queries = load_queries(&plan.queries)?;
    if let Some(n) = plan.max_queries {
        queries.questions.truncate(n);
    }

    let files = provision_minilm(
        plan.embedding_model.path.as_deref(),
        &plan.embedding_model.cache_dir,
        &mut |e| reporter.provision(plan.workloads[0], "download MiniLM (MB)", e),
    )?;
    let embedder = stack_embedder(plan, &files)?;

    let needs = needs_of(plan);
    let (chunk_vectors, cache_hits) = if needs.corpus_vectors {
        let mut cache = EmbeddingCache::open(
            &plan.embedding_cache_dir,
            &files.weights_sha256,
            &embedder.cache_tag(),
            embedder.max_seq_length(),
            embedder.dims(),
            &mut |n| reporter.note(n),
        );
        let texts: Vec<&str> = corpus.chunks.iter().map(|c| c.text.as_str()).collect();
        let first = plan.workloads[0];
        embed_with_cache(
            &embedder,
            &mut cache,
            &texts,
            PREPARE_BATCH,
            &mut |done, total| reporter.progress(first, "embed corpus (cached)", done, total),
        )?
    } else {
        (Vec::new(), 0)
    };
    let question_refs: Vec<&str> = queries.questions.iter().map(String::as_str).collect();
    // In batches, with progress: a query file of many thousand lines in
    // one batch held gigabytes of padded activations and said nothing.
    let query_vectors =
        embedder.embed_batched(&question_refs, PREPARE_BATCH, &mut |done, total| {
            reporter.progress(plan.workloads[0], "embed queries", done, total)
        })?;
    let llm = if needs.llm {
        Some(RefCell::new(open_engines(
            &plan.llm,
            plan.threads,
            &mut |e| reporter.provision(WorkloadName::Inference, "download GGUF (MB)", e),
        )?))
    } else {
        None
    };
    Ok(Prepared {
        corpus,
        queries,
        embedder,
        chunk_vectors,
        query_vectors,
        cache_hits,
        llm,
    })
}

fn context_of(
    plan: &Plan,
    p: &Prepared,
    index: Option<&HnswIndex>,
    counting: String,
) -> RunContext {
    let files = p.embedder.files();
    let mut models = vec![ModelInfo {
        role: "embedding".into(),
        id: MINILM_ID.into(),
        source: files.source.clone(),
        path: files.dir.clone(),
        weights_sha256: files.weights_sha256.clone(),
        runtime: p.embedder.describe(),
        max_seq_length: p.embedder.max_seq_length(),
        dimensions: p.embedder.dims(),
    }];
    let mut llm_engines = Vec::new();
    if let Some(llm) = &p.llm {
        let llm = llm.borrow();
        models.push(ModelInfo {
            role: "generation".into(),
            id: if llm.gguf.sha256 == crate::llm::gguf_provision::GEMMA_SHA256 {
                crate::llm::gguf_provision::GEMMA_ID.into()
            } else {
                format!(
                    "{} ({})",
                    llm.gguf.path.display(),
                    llm.gguf.summary.architecture
                )
            },
            source: llm.gguf.source.clone(),
            path: llm.gguf.path.clone(),
            weights_sha256: llm.gguf.sha256.clone(),
            runtime: plan
                .llm
                .engines
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            max_seq_length: plan.llm.context_tokens,
            dimensions: llm.tokenizer.vocab_size(),
        });
        llm_engines = llm.engines.iter().map(|e| e.info()).collect();
    }
    RunContext {
        models,
        corpus: Some(CorpusStats {
            dir: plan.corpus.dir.clone(),
            files: p.corpus.documents.len(),
            parents: p.corpus.parents_used(),
            chunks: p.corpus.chunks.len(),
            bytes: p.corpus.source_bytes,
            chunk_chars: p.corpus.chunks.iter().map(|c| c.text.chars().count()).sum(),
            subset: p.corpus.subset,
            cache_hits: p.cache_hits,
            cache_misses: p.chunk_vectors.len().saturating_sub(p.cache_hits),
            content_sha256: p.corpus.content_sha256(),
        }),
        index: index.map(HnswIndex::info),
        queries: Some(QuerySetInfo {
            path: plan.queries.clone(),
            count: p.queries.questions.len(),
            sha256: p.queries.sha256.clone(),
        }),
        threads: candle_core::utils::get_num_threads(),
        counting,
        llm_engines,
    }
}

/// How the front end asked for a plan to be run, beyond the plan itself.
#[derive(Clone, Copy, Default)]
pub struct RunOptions {
    /// Announce every step and wait for `go` (`--lockstep`, `perf compare`).
    pub lockstep: bool,
    /// The process's counting global allocator, when the build has one:
    /// measured operations then report their allocations.
    pub allocator: Option<&'static perf_profile::CountingAllocator>,
}

/// Runs every workload of `plan`, sending context, progress and results to
/// `sink`. An error stops the run; results already sent stay valid.
pub fn run_plan(plan: &Plan, sink: &mut dyn Sink, opts: RunOptions) -> Result<(), WorkloadError> {
    run_plan_with(plan, sink, opts, &mut [])
}

/// [`run_plan`] with workload hooks around every workload (dhat's heap
/// profiler in the `dhat-heap` build).
pub fn run_plan_with(
    plan: &Plan,
    sink: &mut dyn Sink,
    opts: RunOptions,
    hooks: &mut [&mut dyn WorkloadHook],
) -> Result<(), WorkloadError> {
    plan.validate().map_err(WorkloadError::Config)?;
    let mut reporter = Reporter::new(sink);
    // First: a server the run starts outlives every workload, and the
    // plan the workloads see holds its address. Dropped (stopped and
    // reaped) when this function returns, however it returns.
    let served = crate::llm::openai::serve::serve_if_asked(plan, &mut |e| {
        reporter.provision(WorkloadName::ServerLoad, "openai server", e)
    })?;
    let plan = served.as_ref().map_or(plan, |s| &s.plan);
    // Before prepare(): the model's worker threads must start after the
    // counter exists to be counted.
    let counting = counters::open();
    // The handshake first, so its wait is outside every other hook's count.
    let mut meter = if opts.lockstep {
        Meter::plain().with(Lockstep)
    } else {
        Meter::plain()
    };
    meter = with_counters(meter, &counting);
    if let Some(a) = opts.allocator {
        meter = meter.counting_allocations(a);
    }
    let counting = counters::mode_description(&counting);
    let (prepared, index) = prepare_with_index(plan, &mut reporter)?;
    reporter.send(Message::Context(Box::new(context_of(
        plan,
        &prepared,
        index.as_ref(),
        counting,
    ))));
    if opts.lockstep {
        Lockstep.wait("prepared");
    }
    let cx = Cx {
        plan,
        prepared: &prepared,
        index: index.as_ref(),
        meter: &meter,
    };
    for &name in &plan.workloads {
        if opts.lockstep {
            Lockstep.wait(&format!("{name}/start"));
        }
        let rss = memory::PeakRssWatch::start();
        let mut metrics = run_workload(&cx, workload(name), hooks, &mut reporter)?;
        memory::push_memory_metrics(&mut metrics, &rss, meter.take_allocations(name));
        reporter.send(metrics.finish());
    }
    Ok(())
}

/// The meter of a run: instruction counts where the hardware counter
/// opened, callgrind regions where the process runs under callgrind.
pub fn meter_for(counting: &Result<(), String>) -> Meter {
    with_counters(Meter::plain(), counting)
}

fn with_counters(mut meter: Meter, counting: &Result<(), String>) -> Meter {
    if counting.is_ok() {
        meter = meter.with(InstructionCounter::default());
    }
    if callgrind::active() {
        meter = meter.with(CallgrindRegions::default());
    }
    meter
}

/// Preparation for `plan`, plus the index when a workload needs one.
pub fn prepare_with_index(
    plan: &Plan,
    reporter: &mut Reporter<'_>,
) -> Result<(Prepared, Option<HnswIndex>), WorkloadError> {
    let prepared = prepare(plan, reporter)?;
    let index = if needs_of(plan).index {
        Some(HnswIndex::build(&prepared.chunk_vectors, &plan.index)?)
    } else {
        None
    };
    Ok((prepared, index))
}

/// Runs one workload with `hooks` around it, returning its metrics.
/// Every hook that started is stopped, also when the workload fails.
pub fn run_workload(
    cx: &Cx<'_>,
    workload: &dyn Workload,
    hooks: &mut [&mut dyn WorkloadHook],
    reporter: &mut Reporter<'_>,
) -> Result<MetricSet, WorkloadError> {
    let name = workload.name();
    let mut started = 0;
    let mut result = Ok(());
    for h in hooks.iter_mut() {
        result = h.start(name);
        if result.is_err() {
            break;
        }
        started += 1;
    }
    let run = result.and_then(|()| workload.run(cx, reporter));
    let mut stopped = Ok(());
    for h in hooks[..started].iter_mut().rev() {
        let r = h.stop(name);
        stopped = stopped.and(r);
    }
    let metrics = run?;
    stopped?;
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_name_is_registered_once() {
        for name in WorkloadName::ALL {
            let n = REGISTRY.iter().filter(|w| w.name() == name).count();
            assert_eq!(n, 1, "{name}");
            assert_eq!(workload(name).needs().llm, name.uses_llm(), "{name}");
        }
        assert_eq!(REGISTRY.len(), WorkloadName::ALL.len());
    }
}
