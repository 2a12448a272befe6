//! Exact search in two passes: a screening pass over f16 copies of the
//! rows (half the bytes), then the f32 kernel on the few rows that can
//! still be among the top k. The result is the one-pass f32 scan's
//! (`dot::top_k_rows`), hit for hit: same rows, order, ties and
//! similarities.
//!
//! Why: a scan of a few thousand 384-dimension rows is bound by memory
//! traffic, not arithmetic (7 MB per query for the Rust book's 4,613
//! vectors), so reading half the bytes is what can beat a BLAS
//! matrix-vector product over f32 rows. The price is the f16 copy: 2 bytes
//! per dimension beside the f32 row's 4.
//!
//! Why it stays exact: with unit roundoff u = 2^-11 for f16 and 2^-24 for
//! f32 sums, every screened score `a` is within `eps` of the f32 kernel's
//! score `s` of the same row (`error_bound`). The k-th best screened score
//! `a_k` is at most `S + eps`, where `S` is the k-th best f32 score (else k
//! rows would score above `S`). So every row with `s >= S` has
//! `a >= S - eps >= a_k - 2 eps`: rescoring every row above that floor in
//! f32, in id order, returns exactly the one-pass result.

use crate::index::{
    dot::{dot, offer},
    half::dot_f16_f32_kernel,
    Hit,
};

/// Largest element magnitude the f16 copy may hold. f16's largest finite
/// value is 65504; beyond it rounding gives infinity and the bound fails,
/// so rows or queries outside this range take the one-pass f32 scan.
pub const F16_SAFE: f32 = 60_000.0;

/// Whether every element is finite and within [`F16_SAFE`].
pub fn f16_safe(v: &[f32]) -> bool {
    v.iter().all(|x| x.abs() <= F16_SAFE)
}

/// The largest possible gap between a row's screened score and its f32
/// score, for rows of norm at most `max_norm` and `dims` elements.
///
/// Per element the f16 rounding is relative (u = 2^-11) or, in the
/// subnormal range, absolute (at most 2^-25); each of the two f32 sums
/// (any order of `dims` products) adds at most (dims + 1) * 2^-24 of the
/// sum of |products|, which Cauchy-Schwarz bounds by the norms' product.
/// A quarter more covers the bound's own rounding.
pub fn error_bound(dims: usize, max_norm: f64, query: &[f32]) -> f32 {
    let q_norm = query
        .iter()
        .map(|&x| x as f64 * x as f64)
        .sum::<f64>()
        .sqrt();
    let q_l1: f64 = query.iter().map(|&x| (x as f64).abs()).sum();
    let n = dims as f64;
    let relative = 2f64.powi(-11) + 2.0 * (n + 1.0) * 2f64.powi(-24);
    let subnormal = 2f64.powi(-25) * q_l1;
    (1.25 * (relative * max_norm * q_norm + subnormal)) as f32
}

/// The `k` rows most similar to `query`, best first, ties to the lower id;
/// `rows` and `half` hold the same rows (f32 and f16 bits), each `dims`
/// wide, of norm at most `max_norm`. The caller has checked that both the
/// rows and the query are [`f16_safe`], and that `k` and `dims` are
/// positive.
pub fn screened_top_k(
    rows: &[f32],
    half: &[u16],
    dims: usize,
    max_norm: f64,
    query: &[f32],
    k: usize,
) -> Vec<Hit> {
    debug_assert!(k > 0 && dims > 0 && rows.len() == half.len());
    let margin = 2.0 * error_bound(dims, max_norm, query);
    let screen = dot_f16_f32_kernel();
    // The k best screened scores so far (best first), and every row that
    // passed the floor at the time it was screened. The floor only rises,
    // so a row below it then is below it at the end.
    let mut screened: Vec<f32> = Vec::with_capacity(k + 1);
    let mut floor = f32::NEG_INFINITY;
    let mut candidates: Vec<(usize, f32)> = Vec::new();
    for (id, row) in half.chunks_exact(dims).enumerate() {
        let a = screen(row, query);
        // NaN is skipped too: its f32 score is NaN as well, never a hit.
        if a.is_nan() || a < floor {
            continue;
        }
        candidates.push((id, a));
        if screened.len() < k || a > screened[k - 1] {
            let at = screened.partition_point(|&s| s >= a);
            screened.insert(at, a);
            screened.truncate(k);
            if screened.len() == k {
                floor = screened[k - 1] - margin;
            }
        }
    }
    let mut best = Vec::with_capacity(k + 1);
    for (id, a) in candidates {
        if a >= floor {
            let row = &rows[id * dims..(id + 1) * dims];
            offer(&mut best, k, id, dot(row, query));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{dot::top_k_rows, half::to_f16_bits};

    /// Rows of a seeded walk, unit length, with near-ties: the cases where
    /// a screening margin too small would drop a row.
    fn rows(n: usize, dims: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let mut out: Vec<f32> = (0..n * dims).map(|_| next()).collect();
        for r in out.chunks_exact_mut(dims) {
            let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
            r.iter_mut().for_each(|x| *x /= norm);
        }
        // Copies and near-copies of row 3: equal and almost equal scores.
        for (to, nudge) in [(40, 0.0), (77, 1e-5), (150, -1e-5), (199, 0.0)] {
            let src: Vec<f32> = out[3 * dims..4 * dims].to_vec();
            for (d, x) in out[to * dims..(to + 1) * dims].iter_mut().enumerate() {
                *x = src[d] + if d == 0 { nudge } else { 0.0 };
            }
        }
        out
    }

    fn max_norm(rows: &[f32], dims: usize) -> f64 {
        rows.chunks_exact(dims)
            .map(|r| r.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt())
            .fold(0.0, f64::max)
    }

    #[test]
    fn returns_the_one_pass_scan_hit_for_hit() {
        for (dims, seed) in [(384, 1), (70, 2), (8, 3)] {
            let n = 200;
            let data = rows(n, dims, seed);
            let half = to_f16_bits(&data);
            let norm = max_norm(&data, dims);
            for q in [3, 0, 150, 199] {
                let query = data[q * dims..(q + 1) * dims].to_vec();
                for k in [1, 2, 5, 10, n, n + 3] {
                    let want = top_k_rows(&data, dims, &query, k);
                    let got = screened_top_k(&data, &half, dims, norm, &query, k);
                    assert_eq!(got, want, "dims {dims}, query {q}, k {k}");
                }
            }
        }
    }

    #[test]
    fn a_row_that_rounding_ranks_lower_is_still_found() {
        // Row 0 scores higher in f32, but f16 rounds its first element down
        // and row 1's second element up, so screening ranks row 1 first.
        let data = [0.50024f32, 0.25, 0.5, 0.25023];
        let half = to_f16_bits(&data);
        let query = [std::f32::consts::FRAC_1_SQRT_2; 2];
        let screen = dot_f16_f32_kernel();
        assert!(screen(&half[2..], &query) > screen(&half[..2], &query));
        assert!(dot(&data[..2], &query) > dot(&data[2..], &query));
        let got = screened_top_k(&data, &half, 2, max_norm(&data, 2), &query, 1);
        assert_eq!(got, top_k_rows(&data, 2, &query, 1));
        assert_eq!(got[0].id, 0);
    }

    #[test]
    fn bound_covers_every_screened_score() {
        let dims = 384;
        let data = rows(300, dims, 9);
        let half = to_f16_bits(&data);
        let norm = max_norm(&data, dims);
        let query = data[5 * dims..6 * dims].to_vec();
        let eps = error_bound(dims, norm, &query);
        let screen = dot_f16_f32_kernel();
        for (r32, r16) in data.chunks_exact(dims).zip(half.chunks_exact(dims)) {
            let gap = (screen(r16, &query) - dot(r32, &query)).abs();
            assert!(gap <= eps, "gap {gap} over bound {eps}");
        }
        // Tight enough to screen: about 1e-3 for unit vectors.
        assert!(eps < 2e-3, "{eps}");
    }

    #[test]
    fn only_finite_values_within_range_are_safe() {
        assert!(f16_safe(&[0.5, -60_000.0]));
        assert!(!f16_safe(&[70_000.0]));
        assert!(!f16_safe(&[f32::NAN]));
        assert!(!f16_safe(&[f32::INFINITY]));
    }
}
