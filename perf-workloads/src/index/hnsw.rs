//! usearch HNSW index with the cosine metric, f32 storage.

use perf_contract::{context::IndexInfo, plan::IndexPlan};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::{
    error::WorkloadError,
    index::{Hit, VectorSearch},
};

pub struct HnswIndex {
    index: Index,
    plan: IndexPlan,
    dims: usize,
}

fn err(context: &str, e: impl std::fmt::Display) -> WorkloadError {
    WorkloadError::Index(format!("usearch {context}: {e}"))
}

impl HnswIndex {
    /// Builds the graph from `vectors`, keyed by their position.
    pub fn build(vectors: &[Vec<f32>], plan: &IndexPlan) -> Result<HnswIndex, WorkloadError> {
        let dims = vectors.first().map_or(0, Vec::len);
        let options = IndexOptions {
            dimensions: dims,
            metric: MetricKind::Cos,
            quantization: ScalarKind::F32,
            connectivity: plan.connectivity,
            expansion_add: plan.expansion_add,
            expansion_search: plan.expansion_search,
            multi: false,
        };
        let index = Index::new(&options).map_err(|e| err("create", e))?;
        index
            .reserve(vectors.len())
            .map_err(|e| err("reserve", e))?;
        for (id, v) in vectors.iter().enumerate() {
            index.add(id as u64, v).map_err(|e| err("add", e))?;
        }
        Ok(HnswIndex {
            index,
            plan: plan.clone(),
            dims,
        })
    }

    /// Bytes the index holds (graph and vectors), as usearch accounts them.
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_usage()
    }

    pub fn info(&self) -> IndexInfo {
        IndexInfo {
            engine: "usearch-hnsw".into(),
            version: usearch::version().to_string(),
            metric: "cosine".into(),
            dimensions: self.dims,
            vectors: self.index.size(),
            connectivity: self.plan.connectivity,
            expansion_add: self.plan.expansion_add,
            expansion_search: self.plan.expansion_search,
            hardware_acceleration: self.index.hardware_acceleration(),
        }
    }
}

impl VectorSearch for HnswIndex {
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, WorkloadError> {
        let m = self.index.search(query, k).map_err(|e| err("search", e))?;
        Ok(m.keys
            .iter()
            .zip(&m.distances)
            .map(|(&key, &d)| Hit {
                id: key as usize,
                // usearch's cosine distance is 1 - similarity.
                similarity: 1.0 - d,
            })
            .collect())
    }
}
