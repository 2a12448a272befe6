//! The dot product both vector engines rank by (the vectors are unit
//! length, so it is their cosine similarity).
//!
//! Why our own: usearch's f32 cosine and inner-product kernels (numkong's
//! `nk_angular_f32_skylake`, `nk_dot_f32_skylake`) widen every element to
//! f64 and run one accumulator chain, eight lanes at a time, so one
//! 384-dimension distance waits on 48 dependent FMAs; the profile of
//! `vector_query` showed `_mm512_cvtps_pd` as the top function of index
//! builds and searches. Exact search summed eight lanes in the baseline
//! target's SSE registers, one dependent add chain per four lanes. Here
//! 64 partial sums (four 16-lane AVX-512 registers, eight AVX2 ones or
//! sixteen SSE ones) run as independent chains, in f32: the MiniLM vectors' similarities
//! agree with an f64 sum to about 1e-7, far below any gap that decides a
//! ranking (the recall guard would show one that did).

use crate::{cpu_dispatch::simd_dispatch, index::Hit};

/// Partial sums per step: enough independent chains to cover the add
/// latency on either compilation.
const LANES: usize = 64;

/// `a · b` over equal-length slices, `LANES` partial sums at a time.
#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let split = a.len() - a.len() % LANES;
    let mut acc = [0.0f32; LANES];
    for (x, y) in a[..split]
        .chunks_exact(LANES)
        .zip(b[..split].chunks_exact(LANES))
    {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    // Pairwise halving keeps the reduction vectorised too.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] += acc[i + width];
        }
    }
    let tail: f32 = a[split..].iter().zip(&b[split..]).map(|(x, y)| x * y).sum();
    acc[0] + tail
}

simd_dispatch! {
    /// `a · b`; for one distance at a time (usearch calls it per pair).
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_body(a, b)
    }
}

simd_dispatch! {
    /// The `k` rows of `rows` (each `dims` wide, row i is id i) most
    /// similar to `query`, best first, ties to the lower id. One pass that
    /// keeps only the current best `k`: a row that cannot enter costs one
    /// comparison, so a scan writes and sorts nothing per row (scoring
    /// every row into a list and selecting from it cost a 16-byte store
    /// per row and a select over thousands).
    pub fn top_k_rows(rows: &[f32], dims: usize, query: &[f32], k: usize) -> Vec<Hit> {
        let mut best: Vec<Hit> = Vec::with_capacity(k + 1);
        if k == 0 || dims == 0 {
            return best;
        }
        for (id, row) in rows.chunks_exact(dims).enumerate() {
            offer(&mut best, k, id, dot_body(row, query));
        }
        best
    }
}

/// Offers row `id` to `best` (at most `k` hits, best first). Rows must be
/// offered in id order: an equal similarity never displaces an earlier id,
/// so only a strictly better one enters (NaN never). `k` must be positive.
#[inline(always)]
pub(crate) fn offer(best: &mut Vec<Hit>, k: usize, id: usize, similarity: f32) {
    if similarity.is_nan() || (best.len() == k && similarity <= best[k - 1].similarity) {
        return;
    }
    let at = best.partition_point(|h| h.similarity >= similarity);
    best.insert(at, Hit { id, similarity });
    best.truncate(k);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    #[test]
    fn matches_an_f64_sum_for_any_length() {
        for n in [0, 1, 7, 63, 64, 65, 128, 384, 1000] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want = plain(&a, &b);
            assert!((dot(&a, &b) as f64 - want).abs() < 1e-4, "n = {n}");
            assert!((dot_body(&a, &b) as f64 - want).abs() < 1e-4, "n = {n}");
        }
    }

    #[test]
    fn top_rows_match_scoring_every_row_then_sorting() {
        let dims = 70;
        let n = 300;
        let mut rows: Vec<f32> = (0..dims * n).map(|i| (i as f32 * 0.37).sin()).collect();
        for r in rows.chunks_exact_mut(dims) {
            let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
            r.iter_mut().for_each(|x| *x /= norm);
        }
        // Two rows equal to an earlier one: ties must go to the lower id.
        rows.copy_within(5 * dims..6 * dims, 200 * dims);
        rows.copy_within(5 * dims..6 * dims, 7 * dims);
        let q: Vec<f32> = rows[5 * dims..6 * dims].to_vec();
        let mut all: Vec<(usize, f64)> = rows
            .chunks_exact(dims)
            .enumerate()
            .map(|(id, r)| (id, plain(r, &q)))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for k in [0, 1, 3, 10, n, n + 5] {
            let got = top_k_rows(&rows, dims, &q, k);
            assert_eq!(got.len(), k.min(n), "k = {k}");
            if k >= 3 {
                // The query's own row and its two copies, in id order.
                let first: Vec<usize> = got[..3].iter().map(|h| h.id).collect();
                assert_eq!(first, [5, 7, 200]);
            }
            for (h, (id, want)) in got.iter().zip(&all) {
                assert_eq!(h.id, *id, "k = {k}");
                assert!(
                    (h.similarity as f64 - want).abs() < 1e-4,
                    "k = {k}, id {id}"
                );
            }
            assert!(got.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        }
    }
}
