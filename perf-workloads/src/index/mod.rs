//! Vector search: usearch HNSW (the engine under test) and exact flat search
//! (the ground truth that recall is measured against).

mod dot;
mod flat;
mod hnsw;

pub use flat::FlatIndex;
pub use hnsw::HnswIndex;

/// One search hit: the chunk id and its cosine similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: usize,
    pub similarity: f32,
}

/// What every vector engine offers the pipeline.
pub trait VectorSearch {
    /// The `k` nearest chunks, most similar first.
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, crate::error::WorkloadError>;
}

/// Fraction of the exact top-k that the approximate top-k found.
pub fn recall_at_k(approx: &[Hit], exact: &[Hit]) -> f64 {
    if exact.is_empty() {
        return 1.0;
    }
    let found = exact
        .iter()
        .filter(|e| approx.iter().any(|a| a.id == e.id))
        .count();
    found as f64 / exact.len() as f64
}
