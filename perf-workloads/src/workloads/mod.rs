//! The workloads by name, the state they share, and the run of a plan.
//!
//! Preparation (load corpus, provision model, embed the corpus through the
//! cache, build the index) happens once and is never measured; each workload
//! then measures only its own operation.

mod embedding;
mod inference;
mod passes;
mod rag_answer;
mod rag_query;
mod vector_query;

use std::cell::RefCell;

use perf_contract::{
    context::{CorpusStats, ModelInfo, QuerySetInfo, RunContext},
    plan::{Plan, WorkloadName},
    protocol::Message,
};

use crate::{
    corpus::{chunk_documents, load_documents, load_queries, Corpus, QuerySet},
    counters,
    embed::{embed_with_cache, provision_minilm, Embedder, EmbeddingCache, MINILM_ID},
    error::WorkloadError,
    index::HnswIndex,
    llm::{open_engines, LlmSet},
    reporter::{Reporter, Sink},
};

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
const PREPARE_BATCH: usize = 32;

pub fn prepare(plan: &Plan, reporter: &mut Reporter<'_>) -> Result<Prepared, WorkloadError> {
    let (documents, source_bytes) = load_documents(&plan.corpus.dir, &plan.corpus.exclude)?;
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
    let embedder = Embedder::load(&files)?;

    let needs_vectors = plan.workloads.iter().any(|w| {
        matches!(
            w,
            WorkloadName::RagQuery | WorkloadName::VectorQuery | WorkloadName::RagAnswer
        )
    });
    let (chunk_vectors, cache_hits) = if needs_vectors {
        let mut cache = EmbeddingCache::open(
            &plan.embedding_cache_dir,
            &files.weights_sha256,
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
    let query_vectors = embedder.embed(&question_refs)?;
    let llm = if plan.workloads.iter().any(|w| w.uses_llm()) {
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
        runtime: "candle 0.11 (cpu, f32)".into(),
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

/// Runs every workload of `plan`, sending context, progress and results to
/// `sink`. An error stops the run; results already sent stay valid.
pub fn run_plan(plan: &Plan, sink: &mut dyn Sink) -> Result<(), WorkloadError> {
    plan.validate().map_err(WorkloadError::Config)?;
    // Before prepare(): the model's worker threads must start after the
    // counter exists to be counted.
    let counting = counters::mode_description(&counters::open());
    let mut reporter = Reporter::new(sink);
    let (prepared, index) = prepare_with_index(plan, &mut reporter)?;
    reporter.send(Message::Context(Box::new(context_of(
        plan,
        &prepared,
        index.as_ref(),
        counting,
    ))));
    for &workload in &plan.workloads {
        let result = run_workload(plan, &prepared, index.as_ref(), workload, &mut reporter)?;
        reporter.send(result);
    }
    Ok(())
}

/// Preparation for `plan`, plus the index when a workload needs one.
pub fn prepare_with_index(
    plan: &Plan,
    reporter: &mut Reporter<'_>,
) -> Result<(Prepared, Option<HnswIndex>), WorkloadError> {
    let prepared = prepare(plan, reporter)?;
    let index = if prepared.chunk_vectors.is_empty() {
        None
    } else {
        Some(HnswIndex::build(&prepared.chunk_vectors, &plan.index)?)
    };
    Ok((prepared, index))
}

/// Runs one workload over prepared state, returning its result message.
pub fn run_workload(
    plan: &Plan,
    prepared: &Prepared,
    index: Option<&HnswIndex>,
    workload: WorkloadName,
    reporter: &mut Reporter<'_>,
) -> Result<Message, WorkloadError> {
    match workload {
        WorkloadName::RagQuery => {
            let index = index.expect("index built for rag_query");
            rag_query::run(plan, prepared, index, reporter)
        }
        WorkloadName::Embedding => embedding::run(plan, prepared, reporter),
        WorkloadName::VectorQuery => vector_query::run(plan, prepared, reporter),
        WorkloadName::Inference => {
            let mut llm = prepared
                .llm
                .as_ref()
                .expect("engines opened for inference")
                .borrow_mut();
            inference::run(plan, prepared, &mut llm, reporter)
        }
        WorkloadName::RagAnswer => {
            let index = index.expect("index built for rag_answer");
            let mut llm = prepared
                .llm
                .as_ref()
                .expect("engines opened for rag_answer")
                .borrow_mut();
            rag_answer::run(plan, prepared, index, &mut llm, reporter)
        }
    }
}
