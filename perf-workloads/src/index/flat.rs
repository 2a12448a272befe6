//! Exact (brute-force) cosine search over unit vectors: every query is
//! compared with every vector. Slow by design; it is the ground truth.

use crate::{
    error::WorkloadError,
    index::{Hit, VectorSearch},
};

pub struct FlatIndex {
    dims: usize,
    /// Row-major, one unit vector per chunk id.
    data: Vec<f32>,
}

impl FlatIndex {
    pub fn build(vectors: &[Vec<f32>]) -> Result<FlatIndex, WorkloadError> {
        let dims = vectors.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(vectors.len() * dims);
        for v in vectors {
            if v.len() != dims {
                return Err(WorkloadError::Index("vectors of different lengths".into()));
            }
            data.extend_from_slice(v);
        }
        Ok(FlatIndex { dims, data })
    }

    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dims).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
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
        let mut hits: Vec<Hit> = self
            .data
            .chunks_exact(self.dims)
            .enumerate()
            .map(|(id, v)| Hit {
                id,
                similarity: dot(v, query),
            })
            .collect();
        let k = k.min(hits.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        // Ties broken by id so the ground truth is deterministic.
        let order = |a: &Hit, b: &Hit| b.similarity.total_cmp(&a.similarity).then(a.id.cmp(&b.id));
        hits.select_nth_unstable_by(k - 1, order);
        hits.truncate(k);
        hits.sort_by(order);
        Ok(hits)
    }
}

/// Dot product with eight independent partial sums: the compiler may not
/// reorder a single float accumulator, so a plain `.sum()` runs one scalar
/// add at a time; eight lanes let it use SIMD (about 5x here). Exact search
/// is the ground truth, but its latency is reported too and should reflect
/// a sane implementation.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (a8, a_rest) = a.split_at(a.len() - a.len() % 8);
    let (b8, b_rest) = b.split_at(a8.len());
    for (x, y) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn dot_matches_the_plain_sum_for_any_length() {
        for n in [0, 1, 7, 8, 9, 384] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "n = {n}");
        }
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
