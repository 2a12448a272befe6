//! Self-attention fused per sequence and head: scores, softmax and the
//! weighted sum of values for one query row at a time, in a scratch row,
//! with no padding (each sequence attends over its own tokens only) and no
//! mask. Every (sequence, head) pair is one task, so both cores work on
//! attention even for a single query (12 heads).

use rayon::prelude::*;

use super::{
    shared_out::SharedOut,
    simd::{exp, lane_sum, simd_dispatch},
};

/// Head width of all-MiniLM-L6-v2 (and every BERT-base-like model).
pub const HEAD: usize = 32;

/// `ctx[t × hidden]` from `qkv[t × 3·hidden]` (queries, keys, values side
/// by side) for sequences at `spans` (start, length) of the token rows.
pub fn attention(qkv: &[f32], spans: &[(usize, usize)], hidden: usize, ctx: &mut [f32]) {
    let heads = hidden / HEAD;
    assert_eq!(hidden % HEAD, 0);
    // Each task writes the rows of its sequence in its head's columns.
    let out = SharedOut(ctx.as_mut_ptr());
    let ctx_len = ctx.len();
    (0..spans.len() * heads).into_par_iter().for_each_init(
        || (Vec::new(), Vec::new(), Vec::new()),
        |(keys_t, scores, mine), task| {
            let (start, len) = spans[task / heads];
            let head = task % heads;
            keys_t.resize(HEAD * len, 0.0);
            scores.resize(len, 0.0);
            mine.resize(HEAD * len, 0.0);
            let rows = &qkv[start * 3 * hidden..(start + len) * 3 * hidden];
            one_head(rows, hidden, head, keys_t, scores, mine);
            for (i, row) in mine.chunks_exact(HEAD).enumerate() {
                let at = (start + i) * hidden + head * HEAD;
                assert!(at + HEAD <= ctx_len);
                // SAFETY: rows start..start+len, columns head·32.. of `ctx`
                // are this task's alone, and inside `ctx` (checked above).
                unsafe {
                    out.ptr()
                        .add(at)
                        .copy_from_nonoverlapping(row.as_ptr(), HEAD)
                };
            }
        },
    );
}

simd_dispatch! {
    fn one_head(
        rows: &[f32],
        hidden: usize,
        head: usize,
        keys_t: &mut [f32],
        scores: &mut [f32],
        out: &mut [f32],
    ) {
        let stride = 3 * hidden;
        let len = scores.len();
        let (q_col, k_col, v_col) = (head * HEAD, hidden + head * HEAD, 2 * hidden + head * HEAD);
        // Keys transposed, so a query's scores are 32 axpys over the row.
        for j in 0..len {
            for d in 0..HEAD {
                keys_t[d * len + j] = rows[j * stride + k_col + d];
            }
        }
        let scale = 1.0 / (HEAD as f32).sqrt();
        for i in 0..len {
            let q = &rows[i * stride + q_col..i * stride + q_col + HEAD];
            scores.fill(0.0);
            for d in 0..HEAD {
                let qd = q[d] * scale;
                for (s, k) in scores.iter_mut().zip(&keys_t[d * len..(d + 1) * len]) {
                    *s += qd * k;
                }
            }
            let max = lane_max(scores);
            for s in scores.iter_mut() {
                *s = exp(*s - max);
            }
            let inv = 1.0 / lane_sum(scores, |s| s);
            // Two running sums over alternate keys: one chain of dependent
            // multiply-adds would wait on each add's latency.
            let mut acc = [[0f32; HEAD]; 2];
            for (j, &p) in scores.iter().enumerate() {
                let v = &rows[j * stride + v_col..j * stride + v_col + HEAD];
                for (a, v) in acc[j % 2].iter_mut().zip(v) {
                    *a += p * v;
                }
            }
            let dst = &mut out[i * HEAD..(i + 1) * HEAD];
            for ((o, a), b) in dst.iter_mut().zip(&acc[0]).zip(&acc[1]) {
                *o = (a + b) * inv;
            }
        }
    }
}

/// The largest value, over 16 running lanes (vectorises; a fold does not).
#[inline(always)]
fn lane_max(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 16];
    let mut chunks = xs.chunks_exact(16);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane = if *x > *lane { *x } else { *lane };
        }
    }
    let head = lanes.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    chunks.remainder().iter().fold(head, |m, &x| m.max(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_plain_softmax_attention() {
        let hidden = 64;
        let spans = [(0, 3), (3, 5)];
        let t = 8;
        let qkv: Vec<f32> = (0..t * 3 * hidden)
            .map(|i| ((i * 29 % 31) as f32 - 15.0) / 15.0)
            .collect();
        let mut ctx = vec![0f32; t * hidden];
        attention(&qkv, &spans, hidden, &mut ctx);
        for &(start, len) in &spans {
            for h in 0..hidden / HEAD {
                for i in 0..len {
                    let q = |d: usize| qkv[(start + i) * 3 * hidden + h * HEAD + d];
                    let k =
                        |j: usize, d: usize| qkv[(start + j) * 3 * hidden + hidden + h * HEAD + d];
                    let v = |j: usize, d: usize| {
                        qkv[(start + j) * 3 * hidden + 2 * hidden + h * HEAD + d]
                    };
                    let s: Vec<f64> = (0..len)
                        .map(|j| {
                            (0..HEAD).map(|d| (q(d) * k(j, d)) as f64).sum::<f64>()
                                / (HEAD as f64).sqrt()
                        })
                        .collect();
                    let m = s.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    for d in 0..HEAD {
                        let want: f64 = (0..len).map(|j| e[j] / z * v(j, d) as f64).sum();
                        let got = ctx[(start + i) * hidden + h * HEAD + d];
                        assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
                    }
                }
            }
        }
    }
}
