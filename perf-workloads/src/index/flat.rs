//! Exact (brute-force) cosine search over unit vectors: every query is
//! compared with every vector. It is the ground truth recall is measured
//! against, and a real engine in its own right (what a small corpus
//! needs). A search screens f16 copies of the rows first and rescores the
//! few that can still rank in f32 (`screened_scan.rs`, provably the same
//! hits as one f32 pass, which rows or queries beyond f16's range take).

use crate::{
    error::WorkloadError,
    index::{
        dot::top_k_rows,
        half::to_f16_bits,
        huge_pages,
        screened_scan::{f16_safe, screened_top_k},
        Footprint, Hit, VectorEngine, VectorSearch,
    },
};

pub struct FlatIndex {
    dims: usize,
    /// Row-major, one unit vector per chunk id.
    data: Vec<f32>,
    /// The same rows rounded to f16 (bit patterns), for screening.
    half: Vec<u16>,
    /// The largest row norm: the screening bound scales with it.
    max_norm: f64,
    /// Whether every row fits f16's range (else one f32 pass).
    screenable: bool,
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
            half: Vec::new(),
            max_norm: 0.0,
            screenable: true,
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
        if let Some(v) = vectors.iter().find(|v| v.len() != self.dims) {
            return Err(WorkloadError::Index(format!(
                "vectors of different lengths: {} after {}",
                v.len(),
                self.dims
            )));
        }
        // Without a `reserve` for the whole load, room doubles like a Vec's:
        // growing exactly per insert copied every row (and faulted fresh
        // pages) once per slice, 15x the build time of 100k rows in 20 slices.
        let need = self.len() + vectors.len();
        if need * self.dims > self.data.capacity() {
            self.reserve(need.max(2 * self.len()))?;
        }
        for v in vectors {
            self.data.extend_from_slice(v);
            self.half.extend_from_slice(&to_f16_bits(v));
            let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
            self.max_norm = self.max_norm.max(norm);
            self.screenable &= f16_safe(v);
        }
        Ok(())
    }

    /// Exactly `total` rows: the footprint is then what the rows take, not
    /// a doubling Vec's spare room. Huge-page advice before the rows are
    /// written, so they are faulted in as huge pages.
    fn reserve(&mut self, total: usize) -> Result<(), WorkloadError> {
        let more = total.saturating_sub(self.len()) * self.dims;
        self.data.reserve_exact(more);
        self.half.reserve_exact(more);
        huge_pages::advise(&self.data);
        huge_pages::advise(&self.half);
        Ok(())
    }

    fn footprint(&self) -> Footprint {
        Footprint::InProcess(
            (self.data.capacity() * std::mem::size_of::<f32>()
                + self.half.capacity() * std::mem::size_of::<u16>()) as u64,
        )
    }

    fn describe(&self) -> String {
        format!(
            "exact scan in-process (f16 screening, then f32 rescoring; perf-workloads kernels, {})",
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
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        if self.screenable && f16_safe(query) {
            return Ok(screened_top_k(
                &self.data,
                &self.half,
                self.dims,
                self.max_norm,
                query,
                k,
            ));
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
    fn a_reserved_load_holds_exactly_its_rows_and_an_unreserved_one_grows() {
        let vs: Vec<Vec<f32>> = (0..40)
            .map(|i| unit(&[(i as f32).sin(), (i as f32).cos(), 0.5]))
            .collect();
        // f32 row and f16 copy: 6 bytes a dimension.
        let exact = 40 * 3 * 6;
        let mut reserved = FlatIndex::empty(3);
        reserved.reserve(40).unwrap();
        for (i, part) in vs.chunks(7).enumerate() {
            reserved.insert(i * 7, part).unwrap();
        }
        assert_eq!(reserved.footprint(), Footprint::InProcess(exact));
        // Without: room at least doubles, so 40 rows in slices of 7 take
        // a handful of growths, not one per slice, and the hits agree.
        let mut grown = FlatIndex::empty(3);
        let mut growths = 0;
        for (i, part) in vs.chunks(7).enumerate() {
            let before = grown.data.capacity();
            grown.insert(i * 7, part).unwrap();
            growths += usize::from(grown.data.capacity() != before);
        }
        assert!(growths <= 4, "{growths} growths for 6 slices");
        assert!(matches!(grown.footprint(), Footprint::InProcess(b) if b >= exact));
        let q = unit(&[0.3, 0.9, 0.5]);
        assert_eq!(
            grown.search(&q, 5).unwrap(),
            reserved.search(&q, 5).unwrap()
        );
    }

    #[test]
    fn rows_beyond_f16_range_are_still_ranked_exactly() {
        // 1e5 rounds to infinity in f16: the index must scan in f32.
        let vs = vec![vec![1.0e5, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]];
        let idx = FlatIndex::build(&vs).unwrap();
        assert!(!idx.screenable);
        let hits = idx.search(&[1.0, 0.0], 3).unwrap();
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [0, 2, 1]);
        assert_eq!(hits[0].similarity, 1.0e5);
    }

    #[test]
    fn wrong_dimension_query_is_an_error() {
        let idx = FlatIndex::build(&[vec![1.0, 0.0]]).unwrap();
        assert!(idx.search(&[1.0], 1).is_err());
    }
}
