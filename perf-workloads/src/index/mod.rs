//! Vector search: usearch HNSW (the engine under test), exact flat search
//! (the ground truth that recall is measured against), and vector-database
//! servers behind the same [`VectorEngine`] trait, so a workload measures any
//! of them through one interface.

mod chroma;
mod dot;
mod engines;
mod flat;
mod half;
mod hnsw;
mod huge_pages;
mod screened_scan;

pub use chroma::{ChromaConfig, ChromaEngine, ChromaHnsw, ChromaServer};
pub use engines::{EngineHost, OpenError};
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

/// How much room an engine's vectors and index take.
#[derive(Debug, Clone, PartialEq)]
pub enum Footprint {
    /// Bytes as the engine accounts them in this process.
    InProcess(u64),
    /// Bytes of the server's data folder on disk (a local server).
    OnDisk(u64),
    /// The engine cannot tell (a remote server): why.
    Unknown(String),
}

/// A vector-search engine a workload loads and queries: in-process or a
/// server. Ids are positions in the loaded vectors (0, 1, ...), the same
/// for every engine, so hits compare across engines and with exact search.
pub trait VectorEngine: VectorSearch + Send + Sync {
    /// Its name in metrics and flags (`usearch`, `exact`, `chroma`).
    fn name(&self) -> &'static str;

    /// Adds `vectors` under ids `first_id, first_id + 1, ...`, in batches of
    /// the engine's choosing; returns when they are searchable.
    fn insert(
        &mut self,
        first_id: usize,
        vectors: &[Vec<f32>],
    ) -> Result<(), crate::error::WorkloadError>;

    /// Room for `total` vectors in all, before the inserts that bring the
    /// engine there: one allocation instead of one per insert. A hint:
    /// engines without one ignore it.
    fn reserve(&mut self, _total: usize) -> Result<(), crate::error::WorkloadError> {
        Ok(())
    }

    /// Room taken by what was inserted.
    fn footprint(&self) -> Footprint;

    /// Version and where it runs, for the run's context (one line).
    fn describe(&self) -> String;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(ids: &[usize]) -> Vec<Hit> {
        ids.iter()
            .map(|&id| Hit {
                id,
                similarity: 0.0,
            })
            .collect()
    }

    #[test]
    fn recall_counts_exact_ids_found_whatever_their_order() {
        let exact = hits(&[1, 2, 3, 4]);
        assert_eq!(recall_at_k(&hits(&[4, 3, 2, 1]), &exact), 1.0);
        assert_eq!(recall_at_k(&hits(&[1, 9, 3, 8]), &exact), 0.5);
        assert_eq!(recall_at_k(&hits(&[]), &exact), 0.0);
        // A repeated id is one id found, not two.
        assert_eq!(recall_at_k(&hits(&[1, 1, 1, 1]), &exact), 0.25);
        // Nothing to find: nothing missed.
        assert_eq!(recall_at_k(&hits(&[5]), &[]), 1.0);
    }

    #[test]
    fn every_in_process_engine_finds_what_exact_search_finds() {
        let dims = 16;
        let vectors: Vec<Vec<f32>> = (0..300)
            .map(|i| {
                let v: Vec<f32> = (0..dims)
                    .map(|d| ((i * dims + d) as f32 * 0.37).sin())
                    .collect();
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / n).collect()
            })
            .collect();
        let plan = perf_contract::plan::IndexPlan {
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 128,
            storage: Default::default(),
        };
        let truth = FlatIndex::build(&vectors).unwrap();
        let engines: Vec<Box<dyn VectorEngine>> = vec![
            Box::new(HnswIndex::empty(dims, &plan).unwrap()),
            Box::new(FlatIndex::empty(dims)),
        ];
        for mut engine in engines {
            // Loaded in two parts, as the scaling workload loads them.
            engine.insert(0, &vectors[..100]).unwrap();
            engine.insert(100, &vectors[100..]).unwrap();
            let mut recall = 0.0;
            for q in vectors.iter().step_by(30) {
                recall += recall_at_k(
                    &engine.search(q, 10).unwrap(),
                    &truth.search(q, 10).unwrap(),
                );
            }
            assert!(recall / 10.0 >= 0.95, "{}: {recall}", engine.name());
            assert!(matches!(engine.footprint(), Footprint::InProcess(b) if b >= 300 * 64));
        }
        // Exact search keeps rows by id: a gap is refused, not misnumbered.
        let mut flat = FlatIndex::empty(dims);
        assert!(flat.insert(5, &vectors[..1]).is_err());
    }
}
