//! Exact (brute-force) cosine search over unit vectors: every query is
//! compared with every vector, in one pass of `index::dot`'s kernel over
//! the rows. It is the ground truth recall is measured against, and a
//! real engine in its own right (what a small corpus needs).

use crate::{
    error::WorkloadError,
    index::{dot::top_k_rows, Footprint, Hit, VectorEngine, VectorSearch},
};

pub struct FlatIndex {
    dims: usize,
    /// Row-major, one unit vector per chunk id.
    data: Vec<f32>,
}

impl FlatIndex {
    pub fn build(vectors: &[Vec<f32>]) -> Result<FlatIndex, WorkloadError> {
        let mut index = FlatIndex::empty(vectors.first().map_or(0, Vec::len));
        index.insert(0, vectors)?;
        Ok(index)
    }

    /// An index of `dims`-long vectors holding none yet.
    pub fn empty(dims: usize) -> FlatIndex {
        FlatIndex {
            dims,
            data: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dims).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl VectorEngine for FlatIndex {
    fn name(&self) -> &'static str {
        "exact"
    }

    /// Ids are row positions, so vectors must arrive in id order.
    fn insert(&mut self, first_id: usize, vectors: &[Vec<f32>]) -> Result<(), WorkloadError> {
        if first_id != self.len() {
            return Err(WorkloadError::Index(format!(
                "exact search stores rows in id order: got id {first_id} after {} rows",
                self.len()
            )));
        }
        // Exactly: the footprint is what a user's process would hold, not
        // a doubling Vec's spare room.
        self.data.reserve_exact(vectors.len() * self.dims);
        for v in vectors {
            if v.len() != self.dims {
                return Err(WorkloadError::Index("vectors of different lengths".into()));
            }
            self.data.extend_from_slice(v);
        }
        Ok(())
    }

    fn footprint(&self) -> Footprint {
        Footprint::InProcess((self.data.capacity() * std::mem::size_of::<f32>()) as u64)
    }

    fn describe(&self) -> String {
        format!(
            "exact scan in-process (f32 rows, perf-workloads dot kernel, {})",
            crate::cpu_dispatch::level().as_str()
        )
    }
}

impl VectorSearch for FlatIndex {
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, WorkloadError> {
        if query.len() != self.dims {
            return Err(WorkloadError::Index(format!(
                "query has {} dimensions, index has {}",
                query.len(),
                self.dims
            )));
        }
        Ok(top_k_rows(&self.data, self.dims, query, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn finds_nearest_by_cosine_in_order() {
        let vs = vec![
            unit(&[1.0, 0.0]),
            unit(&[0.0, 1.0]),
            unit(&[1.0, 1.0]),
            unit(&[-1.0, 0.0]),
        ];
        let idx = FlatIndex::build(&vs).unwrap();
        let hits = idx.search(&unit(&[1.0, 0.2]), 2).unwrap();
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [0, 2]);
        assert!(hits[0].similarity > hits[1].similarity);
        assert_eq!(idx.search(&unit(&[1.0, 0.0]), 10).unwrap().len(), 4);
    }

    #[test]
    fn wrong_dimension_query_is_an_error() {
        let idx = FlatIndex::build(&[vec![1.0, 0.0]]).unwrap();
        assert!(idx.search(&[1.0], 1).is_err());
    }
}
