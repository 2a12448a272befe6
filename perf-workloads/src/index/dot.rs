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
//! 64 partial sums (four 16-lane AVX-512 registers, or sixteen SSE ones)
//! run as independent chains, in f32: the MiniLM vectors' similarities
//! agree with an f64 sum to about 1e-7, far below any gap that decides a
//! ranking (the recall guard would show one that did).

use crate::{cpu_dispatch::avx512_or_baseline, index::Hit};

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

avx512_or_baseline! {
    /// `a · b`; for one distance at a time (usearch calls it per pair).
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_body(a, b)
    }
}

avx512_or_baseline! {
    /// Sets `hits[i].similarity` to `query · row i` for every `dims`-wide
    /// row of `rows`: one dispatch for a whole scan, written in place so a
    /// scan allocates nothing beyond its hit list.
    pub fn score_rows(rows: &[f32], dims: usize, query: &[f32], hits: &mut [Hit]) {
        for (row, hit) in rows.chunks_exact(dims).zip(hits.iter_mut()) {
            hit.similarity = dot_body(row, query);
        }
    }
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
    fn rows_are_dotted_in_order() {
        let dims = 70;
        let rows: Vec<f32> = (0..dims * 3).map(|i| (i as f32 * 0.013).sin()).collect();
        let q: Vec<f32> = (0..dims).map(|i| (i as f32 * 0.029).cos()).collect();
        let mut hits: Vec<Hit> = (0..3)
            .map(|id| Hit {
                id,
                similarity: f32::NAN,
            })
            .collect();
        score_rows(&rows, dims, &q, &mut hits);
        for (id, (r, h)) in rows.chunks_exact(dims).zip(&hits).enumerate() {
            assert_eq!(h.id, id);
            assert!((h.similarity as f64 - plain(r, &q)).abs() < 1e-4);
        }
    }
}
