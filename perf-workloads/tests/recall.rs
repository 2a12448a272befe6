//! HNSW (usearch) against exact search on the whole default corpus, with
//! the default index settings and query set: recall@5 must stay ≥ 0.95.

mod common;

use perf_contract::plan::WorkloadName;
use perf_workloads::{
    index::{recall_at_k, FlatIndex, HnswIndex, VectorSearch},
    reporter::Reporter,
    workloads::prepare,
};

#[test]
fn hnsw_recall_at_5_on_the_default_corpus_is_at_least_0_95() {
    let plan = common::plan(
        &common::rust_book(),
        &common::default_queries(),
        vec![WorkloadName::VectorQuery],
    );
    let mut sink = Vec::new();
    let prepared = prepare(&plan, &mut Reporter::new(&mut sink)).unwrap();
    let n = prepared.chunk_vectors.len();
    assert!(n > 1000, "the whole book, not a subset: {n} chunks");
    let hnsw = HnswIndex::build(&prepared.chunk_vectors, &plan.index).unwrap();
    let flat = FlatIndex::build(&prepared.chunk_vectors).unwrap();
    let k = plan.rag.top_k;
    let recalls: Vec<f64> = prepared
        .query_vectors
        .iter()
        .map(|q| recall_at_k(&hnsw.search(q, k).unwrap(), &flat.search(q, k).unwrap()))
        .collect();
    let mean = recalls.iter().sum::<f64>() / recalls.len() as f64;
    eprintln!(
        "recall@{k} = {mean:.4} over {} questions, {n} chunks",
        recalls.len()
    );
    assert!(mean >= 0.95, "recall@{k} {mean} < 0.95");
}
