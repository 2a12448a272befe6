//! usearch HNSW index over unit vectors, stored as f32 or f16 (the plan's
//! `storage`), ranked by `1 - a·b` (the cosine distance of unit vectors)
//! through this crate's dot kernels: usearch's own f32 kernels widen to
//! f64 and were the index's top function (see `index::dot`), and half the
//! bytes per stored vector is half of what a search waits on (see
//! `index::half`).

use perf_contract::{
    context::IndexInfo,
    plan::{IndexPlan, VectorStorage},
};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::{
    error::WorkloadError,
    index::{
        dot::dot,
        half::{dot_f16_kernel, to_f16_bits},
        Footprint, Hit, VectorEngine, VectorSearch,
    },
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
        let mut index = HnswIndex::empty(dims, plan)?;
        index.add_all(0, vectors)?;
        Ok(index)
    }

    /// An index of `dims`-long vectors holding none yet.
    pub fn empty(dims: usize, plan: &IndexPlan) -> Result<HnswIndex, WorkloadError> {
        let options = IndexOptions {
            dimensions: dims,
            // Replaced by our kernel below; IP names what it computes.
            metric: MetricKind::IP,
            quantization: match plan.storage {
                VectorStorage::F32 => ScalarKind::F32,
                VectorStorage::F16 => ScalarKind::F16,
            },
            connectivity: plan.connectivity,
            expansion_add: plan.expansion_add,
            expansion_search: plan.expansion_search,
            multi: false,
        };
        let mut index = Index::new(&options).map_err(|e| err("create", e))?;
        // Before any add: the graph is built with the metric it is searched
        // by. usearch hands the metric two stored vectors (or the query,
        // cast to the storage type) of the index's `dims` elements each.
        match plan.storage {
            VectorStorage::F32 => index.change_metric::<f32>(Box::new(move |a, b| {
                // SAFETY: two vectors of `dims` f32 elements, as above.
                let (a, b) = unsafe {
                    (
                        std::slice::from_raw_parts(a, dims),
                        std::slice::from_raw_parts(b, dims),
                    )
                };
                1.0 - dot(a, b)
            })),
            VectorStorage::F16 => {
                let dot_f16 = dot_f16_kernel();
                index.change_metric::<usearch::f16>(Box::new(move |a, b| {
                    // SAFETY: two vectors of `dims` f16 elements, as above;
                    // an f16 is its 16-bit pattern.
                    let (a, b) = unsafe {
                        (
                            std::slice::from_raw_parts(a.cast::<u16>(), dims),
                            std::slice::from_raw_parts(b.cast::<u16>(), dims),
                        )
                    };
                    1.0 - dot_f16(a, b)
                }))
            }
        };
        Ok(HnswIndex {
            index,
            plan: plan.clone(),
            dims,
        })
    }

    /// Adds `vectors` under ids `first_id..`, one thread.
    fn add_all(&mut self, first_id: usize, vectors: &[Vec<f32>]) -> Result<(), WorkloadError> {
        let need = self.index.size() + vectors.len();
        if need > self.index.capacity() {
            self.reserve(need)?;
        }
        for (i, v) in vectors.iter().enumerate() {
            if v.len() != self.dims {
                return Err(WorkloadError::Index("vectors of different lengths".into()));
            }
            let key = (first_id + i) as u64;
            match self.plan.storage {
                VectorStorage::F32 => self.index.add(key, v),
                VectorStorage::F16 => self.index.add(key, as_f16(&to_f16_bits(v))),
            }
            .map_err(|e| err("add", e))?;
        }
        Ok(())
    }

    /// Searches from now on keep `ef` candidates (HNSW's ef_search): the
    /// recall/speed knob, changed without rebuilding the graph.
    pub fn set_expansion_search(&mut self, ef: usize) {
        self.index.change_expansion_search(ef);
        self.plan.expansion_search = ef;
    }

    /// Bytes the index holds (graph and vectors), as usearch accounts them.
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_usage()
    }

    pub fn info(&self) -> IndexInfo {
        IndexInfo {
            engine: "usearch-hnsw".into(),
            version: usearch::version().to_string(),
            metric: format!(
                "cosine (1 - dot of unit vectors), {} storage",
                self.plan.storage.as_str()
            ),
            dimensions: self.dims,
            vectors: self.index.size(),
            connectivity: self.plan.connectivity,
            expansion_add: self.plan.expansion_add,
            expansion_search: self.plan.expansion_search,
            hardware_acceleration: format!(
                "perf-workloads dot kernel ({})",
                crate::cpu_dispatch::level().as_str()
            ),
        }
    }
}

impl VectorEngine for HnswIndex {
    fn name(&self) -> &'static str {
        "usearch"
    }

    fn insert(&mut self, first_id: usize, vectors: &[Vec<f32>]) -> Result<(), WorkloadError> {
        self.add_all(first_id, vectors)
    }

    fn reserve(&mut self, total: usize) -> Result<(), WorkloadError> {
        self.index
            .reserve(total.max(self.index.size()))
            .map_err(|e| err("reserve", e))
    }

    fn footprint(&self) -> Footprint {
        Footprint::InProcess(self.memory_bytes() as u64)
    }

    fn describe(&self) -> String {
        let i = self.info();
        format!(
            "usearch {} HNSW in-process (M={}, ef_construction={}, ef_search={}, {} storage, {})",
            i.version,
            i.connectivity,
            i.expansion_add,
            i.expansion_search,
            self.plan.storage.as_str(),
            i.hardware_acceleration
        )
    }
}

impl VectorSearch for HnswIndex {
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, WorkloadError> {
        let m = match self.plan.storage {
            VectorStorage::F32 => self.index.search(query, k),
            VectorStorage::F16 => self.index.search(as_f16(&to_f16_bits(query)), k),
        }
        .map_err(|e| err("search", e))?;
        Ok(m.keys
            .iter()
            .zip(&m.distances)
            .map(|(&key, &d)| Hit {
                id: key as usize,
                // The metric is 1 - similarity.
                similarity: 1.0 - d,
            })
            .collect())
    }
}

/// f16 bit patterns as usearch's f16 elements.
fn as_f16(bits: &[u16]) -> &[usearch::f16] {
    // SAFETY: u16 and i16 have one size and alignment, and an f16 is its
    // bit pattern either way.
    let bits: &[i16] = unsafe { std::slice::from_raw_parts(bits.as_ptr().cast(), bits.len()) };
    usearch::f16::from_i16s(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{recall_at_k, FlatIndex};

    /// Deterministic unit vectors spread over the sphere.
    fn unit_vectors(n: usize, dims: usize, seed: f32) -> Vec<Vec<f32>> {
        (0..n)
            .map(|i| {
                let v: Vec<f32> = (0..dims)
                    .map(|d| ((i * dims + d) as f32 * 0.618 + seed).sin())
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect()
    }

    #[test]
    fn our_metric_ranks_as_exact_search_does_with_either_storage() {
        let data = unit_vectors(500, 96, 0.0);
        let flat = FlatIndex::build(&data).unwrap();
        let queries = unit_vectors(20, 96, 0.5);
        // f16 rounds each stored element to 11 significant bits: a
        // similarity of these vectors moves by well under 1e-3.
        for (storage, tolerance) in [(VectorStorage::F32, 1e-4), (VectorStorage::F16, 1e-3)] {
            let plan = IndexPlan {
                connectivity: 16,
                expansion_add: 128,
                expansion_search: 64,
                storage,
            };
            let hnsw = HnswIndex::build(&data, &plan).unwrap();
            let mut recall = 0.0;
            for q in &queries {
                let approx = hnsw.search(q, 5).unwrap();
                let exact = flat.search(q, 5).unwrap();
                recall += recall_at_k(&approx, &exact);
                // Similarities are cosines, whichever engine reports them.
                for a in &approx {
                    let want: f32 = data[a.id].iter().zip(q).map(|(x, y)| x * y).sum();
                    assert!((a.similarity - want).abs() < tolerance, "{storage:?}");
                }
            }
            let recall = recall / queries.len() as f64;
            assert!(recall >= 0.95, "{storage:?}: recall {recall}");
            // A stored vector is its own nearest neighbour.
            assert_eq!(hnsw.search(&data[42], 1).unwrap()[0].id, 42, "{storage:?}");
            assert!(hnsw.describe().contains(storage.as_str()));
        }
    }
}
