//! Stage probes: each pipeline stage of a workload run on its own over
//! prepared inputs, so CPU samples (including the model's worker threads)
//! and allocations belong to exactly one stage. Stage names are the ones
//! the baseline's latency breakdown uses (`Stage::as_str`).

use crate::{
    embed::TokenBatch,
    error::WorkloadError,
    index::{FlatIndex, Hit, HnswIndex, VectorSearch},
    rag::RagPipeline,
    stage_timer::Stage,
    workloads::Prepared,
};
use perf_contract::plan::Plan;

/// One stage, as `ops` separate operations (`run(i)` performs the i-th).
pub struct Probe<'a> {
    pub stage: Stage,
    pub ops: usize,
    pub run: Box<dyn FnMut(usize) -> Result<(), WorkloadError> + 'a>,
}

fn probe<'a>(
    stage: Stage,
    ops: usize,
    run: impl FnMut(usize) -> Result<(), WorkloadError> + 'a,
) -> Probe<'a> {
    Probe {
        stage,
        ops,
        run: Box::new(run),
    }
}

/// Inputs of every retrieval stage, computed once per question.
pub struct RetrievalInputs {
    tokens: Vec<TokenBatch>,
    hits: Vec<Vec<Hit>>,
    parents: Vec<Vec<usize>>,
}

pub fn retrieval_inputs(
    p: &Prepared,
    pipeline: &RagPipeline<'_>,
) -> Result<RetrievalInputs, WorkloadError> {
    let mut inputs = RetrievalInputs {
        tokens: Vec::new(),
        hits: Vec::new(),
        parents: Vec::new(),
    };
    for q in &p.queries.questions {
        let r = pipeline.retrieve(q)?;
        inputs.tokens.push(p.embedder.tokenize(&[q.as_str()])?);
        inputs.parents.push(r.parents);
        inputs.hits.push(r.hits);
    }
    Ok(inputs)
}

pub fn rag_query<'a>(
    p: &'a Prepared,
    pipeline: &'a RagPipeline<'a>,
    inputs: &'a RetrievalInputs,
    top_k: usize,
) -> Vec<Probe<'a>> {
    let n = p.queries.questions.len();
    let qv = &p.query_vectors;
    vec![
        probe(Stage::Tokenize, n, move |i| {
            p.embedder
                .tokenize(&[p.queries.questions[i].as_str()])
                .map(drop)
        }),
        probe(Stage::Embed, n, move |i| {
            p.embedder.forward(&inputs.tokens[i]).map(drop)
        }),
        probe(Stage::Search, n, move |i| {
            pipeline.index.search(&qv[i], top_k).map(drop)
        }),
        probe(Stage::FetchParents, n, move |i| {
            std::hint::black_box(pipeline.parents_of(&inputs.hits[i]));
            Ok(())
        }),
        probe(Stage::AssembleContext, n, move |i| {
            std::hint::black_box(pipeline.assemble(&inputs.parents[i]));
            Ok(())
        }),
    ]
}

/// Batches of ten corpus chunks, the middle batch size of the workload.
pub fn embedding<'a>(p: &'a Prepared, batches: &'a [TokenBatch]) -> Vec<Probe<'a>> {
    let texts: Vec<Vec<&'a str>> = p
        .corpus
        .chunks
        .chunks(10)
        .take(batches.len())
        .map(|b| b.iter().map(|c| c.text.as_str()).collect())
        .collect();
    let n = batches.len();
    vec![
        probe(Stage::Tokenize, n, move |i| {
            p.embedder.tokenize(&texts[i]).map(drop)
        }),
        probe(Stage::Embed, n, move |i| {
            p.embedder.forward(&batches[i]).map(drop)
        }),
    ]
}

pub fn embedding_batches(p: &Prepared, count: usize) -> Result<Vec<TokenBatch>, WorkloadError> {
    p.corpus
        .chunks
        .chunks(10)
        .take(count)
        .map(|b| {
            p.embedder
                .tokenize(&b.iter().map(|c| c.text.as_str()).collect::<Vec<_>>())
        })
        .collect()
}

pub fn vector_query<'a>(
    plan: &'a Plan,
    p: &'a Prepared,
    hnsw: &'a HnswIndex,
    flat: &'a FlatIndex,
) -> Vec<Probe<'a>> {
    let n = p.query_vectors.len();
    let k = plan.rag.top_k;
    vec![
        probe(Stage::Search, n, move |i| {
            hnsw.search(&p.query_vectors[i], k).map(drop)
        }),
        probe(Stage::ExactSearch, n, move |i| {
            flat.search(&p.query_vectors[i], k).map(drop)
        }),
        probe(Stage::BuildIndex, 1, move |_| {
            HnswIndex::build(&p.chunk_vectors, &plan.index).map(drop)
        }),
    ]
}
