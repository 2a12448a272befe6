//! Self-attention fused per sequence and head, with no padding between
//! sequences (each attends over its own tokens only) and no mask. Every
//! (sequence, head) pair is one task, so both cores work on attention even
//! for a single query (12 heads).
//!
//! A task copies its head's queries (pre-scaled by 1/√d), keys (transposed
//! to `[HEAD × keys]`) and values into contiguous scratch, then walks the
//! queries in blocks of [`ROWS`]: the block's scores are computed [`COLS`]
//! keys at a time in registers (`ROWS × COLS` running sums, each key vector
//! loaded once for all the block's rows) with the row maxima on the way,
//! one pass takes `exp` and the sums, and `P·V` keeps `ROWS × HEAD` sums in
//! registers while it streams the values. The loops are plain Rust on
//! fixed-size arrays (so LLVM keeps the sums in vector registers),
//! compiled per dispatch level as `simd_dispatch!` does, but by hand so
//! the FMA copies can use `mul_add` (see `one_head`). On the 2-vCPU Sapphire Rapids
//! VM this took 6 layers' attention over 10 × 72 tokens from about 15 ms
//! to about 4 ms (it did one query row at a time, its scores in memory,
//! with separate multiplies and adds: Rust does not fuse them).

use std::cell::RefCell;

use rayon::prelude::*;

use super::{shared_out::SharedOut, simd::exp};
use crate::cpu_dispatch::{self, Level};

/// Head width of all-MiniLM-L6-v2 (384 hidden / 12 heads).
pub const HEAD: usize = 32;

/// Query rows per block: enough independent sums (`ROWS` chains of FMAs
/// per key vector) to hide the FMA latency; 4 was about 1.3× slower.
const ROWS: usize = 8;

/// Keys per block of scores, one AVX-512 vector; the keys are padded to a
/// multiple of it.
const COLS: usize = 16;

/// One worker's scratch, kept across calls (no allocation per task).
#[derive(Default)]
struct Scratch {
    queries: Vec<f32>,
    keys_t: Vec<f32>,
    values: Vec<f32>,
    probs: Vec<f32>,
    out: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// `ctx[t × hidden]` from `qkv[t × 3·hidden]` (queries, keys, values side
/// by side) for sequences at `spans` (start, length) of the token rows.
pub fn attention(qkv: &[f32], spans: &[(usize, usize)], hidden: usize, ctx: &mut [f32]) {
    attention_at(cpu_dispatch::level(), qkv, spans, hidden, ctx)
}

/// [`attention`] on the copy of the kernel built for `level`, which this
/// CPU must run (the tests try each one it does).
fn attention_at(
    level: Level,
    qkv: &[f32],
    spans: &[(usize, usize)],
    hidden: usize,
    ctx: &mut [f32],
) {
    assert!(level_runs(level));
    let heads = hidden / HEAD;
    assert_eq!(hidden % HEAD, 0);
    // Each task writes the rows of its sequence in its head's columns.
    let out = SharedOut(ctx.as_mut_ptr());
    let ctx_len = ctx.len();
    (0..spans.len() * heads).into_par_iter().for_each(|task| {
        let (start, len) = spans[task / heads];
        let head = task % heads;
        SCRATCH.with_borrow_mut(|s| {
            let keys = len.next_multiple_of(COLS);
            let queries = len.next_multiple_of(ROWS);
            s.queries.resize(queries * HEAD, 0.0);
            s.keys_t.resize(HEAD * keys, 0.0);
            s.values.resize(keys * HEAD, 0.0);
            s.probs.resize(ROWS * keys, 0.0);
            s.out.resize(len * HEAD, 0.0);
            let rows = &qkv[start * 3 * hidden..(start + len) * 3 * hidden];
            one_head(
                level,
                rows,
                hidden,
                head,
                &mut s.queries,
                &mut s.keys_t,
                &mut s.values,
                &mut s.probs,
                &mut s.out,
            );
            for (i, row) in s.out.chunks_exact(HEAD).enumerate() {
                let at = (start + i) * hidden + head * HEAD;
                assert!(at + HEAD <= ctx_len);
                // SAFETY: rows start..start+len, columns head·HEAD.. of `ctx`
                // are this task's alone, and inside `ctx` (checked above).
                unsafe {
                    out.ptr()
                        .add(at)
                        .copy_from_nonoverlapping(row.as_ptr(), HEAD)
                };
            }
        });
    });
}

/// One (sequence, head): `out[len × HEAD]` from the sequence's `rows` of
/// qkv. `queries` holds `len` rounded up to `ROWS` rows; `keys_t` and
/// `values` `len` rounded up to `COLS` keys, `probs` `ROWS` rows of those.
///
/// Dispatched by hand rather than through `simd_dispatch!`: the copies for
/// FMA CPUs use `mul_add` (Rust never fuses `a * b + c` itself, and two
/// instructions halve the throughput), while on the baseline target
/// `mul_add` would be a call to a software `fmaf`.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn one_head(
    level: Level,
    rows: &[f32],
    hidden: usize,
    head: usize,
    queries: &mut [f32],
    keys_t: &mut [f32],
    values: &mut [f32],
    probs: &mut [f32],
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        // One `head_body::<true>` copy compiled for `$features`.
        macro_rules! fma_copy {
            ($name:ident, $features:literal) => {
                #[target_feature(enable = $features)]
                #[allow(clippy::too_many_arguments)]
                unsafe fn $name(
                    rows: &[f32],
                    hidden: usize,
                    head: usize,
                    queries: &mut [f32],
                    keys_t: &mut [f32],
                    values: &mut [f32],
                    probs: &mut [f32],
                    out: &mut [f32],
                ) {
                    head_body::<true>(rows, hidden, head, queries, keys_t, values, probs, out)
                }
            };
        }
        fma_copy!(wide, "avx512f,avx512bw,avx512dq,avx512vl,fma");
        fma_copy!(avx2, "avx2,fma");
        match level {
            // SAFETY: the CPU has the features each copy is built for
            // (`attention_at` checked that it runs `level`).
            Level::Avx512 => {
                return unsafe { wide(rows, hidden, head, queries, keys_t, values, probs, out) }
            }
            Level::Avx2 => {
                return unsafe { avx2(rows, hidden, head, queries, keys_t, values, probs, out) }
            }
            Level::Baseline => {}
        }
    }
    head_body::<false>(rows, hidden, head, queries, keys_t, values, probs, out)
}

/// Whether this CPU runs the copies built for `level`.
fn level_runs(level: Level) -> bool {
    let here = cpu_dispatch::level();
    match level {
        Level::Avx512 => here == Level::Avx512,
        Level::Avx2 => here != Level::Baseline,
        Level::Baseline => true,
    }
}

/// `a·b + c`, fused where the copy is built for FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn head_body<const FMA: bool>(
    rows: &[f32],
    hidden: usize,
    head: usize,
    queries: &mut [f32],
    keys_t: &mut [f32],
    values: &mut [f32],
    probs: &mut [f32],
    out: &mut [f32],
) {
    let stride = 3 * hidden;
    let len = out.len() / HEAD;
    let keys = keys_t.len() / HEAD;
    let (q_col, k_col, v_col) = (head * HEAD, hidden + head * HEAD, 2 * hidden + head * HEAD);
    let scale = 1.0 / (HEAD as f32).sqrt();
    for ((q, v), row) in queries
        .chunks_exact_mut(HEAD)
        .zip(values.chunks_exact_mut(HEAD))
        .zip(rows.chunks_exact(stride))
    {
        for (q, x) in q.iter_mut().zip(&row[q_col..q_col + HEAD]) {
            *q = x * scale;
        }
        v.copy_from_slice(&row[v_col..v_col + HEAD]);
    }
    // Keys transposed a dimension at a time: a strided read down the
    // rows, a contiguous write.
    for (d, kt) in keys_t.chunks_exact_mut(keys).enumerate() {
        for (k, row) in kt.iter_mut().zip(rows.chunks_exact(stride)) {
            *k = row[k_col + d];
        }
        // Zero keys past the end give finite scores, masked below.
        kt[len..].fill(0.0);
    }
    // Zero queries give a uniform softmax in rows never written out; zero
    // values make the padded keys' (tiny) probabilities add nothing.
    queries[len * HEAD..].fill(0.0);
    values[len * HEAD..].fill(0.0);

    for i0 in (0..len).step_by(ROWS) {
        let q: &[f32; ROWS * HEAD] = (&queries[i0 * HEAD..(i0 + ROWS) * HEAD])
            .try_into()
            .unwrap();
        let mut max = [[f32::NEG_INFINITY; COLS]; ROWS];
        for j0 in (0..keys).step_by(COLS) {
            let mut acc = [[0f32; COLS]; ROWS];
            for (d, k) in keys_t.chunks_exact(keys).enumerate() {
                let k: &[f32; COLS] = (&k[j0..j0 + COLS]).try_into().unwrap();
                for (r, acc) in acc.iter_mut().enumerate() {
                    let qd = q[r * HEAD + d];
                    for (a, k) in acc.iter_mut().zip(k) {
                        *a = madd::<FMA>(qd, *k, *a);
                    }
                }
            }
            if j0 + COLS > len {
                // Padded keys score -∞: out of the maximum, and exp gives
                // them ~1e-38 (times zero values), far below one ulp of a
                // sum that is at least 1.
                for acc in &mut acc {
                    acc[len - j0..].fill(f32::NEG_INFINITY);
                }
            }
            for (r, (acc, max)) in acc.iter().zip(&mut max).enumerate() {
                probs[r * keys + j0..r * keys + j0 + COLS].copy_from_slice(acc);
                for (m, &a) in max.iter_mut().zip(acc) {
                    *m = if a > *m { a } else { *m };
                }
            }
        }
        let mut inv = [0f32; ROWS];
        for ((inv, max), row) in inv.iter_mut().zip(&max).zip(probs.chunks_exact_mut(keys)) {
            let max = reduce(*max, |a, b| if a > b { a } else { b });
            let mut sums = [0f32; COLS];
            for chunk in row.chunks_exact_mut(COLS) {
                for (p, s) in chunk.iter_mut().zip(&mut sums) {
                    *p = exp(*p - max);
                    *s += *p;
                }
            }
            *inv = 1.0 / reduce(sums, |a, b| a + b);
        }
        // P·V a block of COLS keys at a time, so every probability is at a
        // constant offset of arrays checked once per block.
        let mut acc = [[0f32; HEAD]; ROWS];
        for (j0, v) in (0..keys)
            .step_by(COLS)
            .zip(values.chunks_exact(COLS * HEAD))
        {
            let p: [&[f32; COLS]; ROWS] = std::array::from_fn(|r| {
                (&probs[r * keys + j0..r * keys + j0 + COLS])
                    .try_into()
                    .unwrap()
            });
            for (jj, v) in v.chunks_exact(HEAD).enumerate() {
                let v: &[f32; HEAD] = v.try_into().unwrap();
                for (acc, p) in acc.iter_mut().zip(&p) {
                    let p = p[jj];
                    for (a, v) in acc.iter_mut().zip(v) {
                        *a = madd::<FMA>(p, *v, *a);
                    }
                }
            }
        }
        for (r, (acc, inv)) in acc.iter().zip(&inv).enumerate().take(len - i0) {
            let dst = &mut out[(i0 + r) * HEAD..(i0 + r + 1) * HEAD];
            for (o, a) in dst.iter_mut().zip(acc) {
                *o = a * inv;
            }
        }
    }
}

/// `f` over the lanes pairwise, halving the width each step: a fold, one
/// lane after another, is a chain of dependent scalar operations.
#[inline(always)]
fn reduce(mut lanes: [f32; COLS], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut width = COLS / 2;
    while width > 0 {
        for i in 0..width {
            lanes[i] = f(lanes[i], lanes[i + width]);
        }
        width /= 2;
    }
    lanes[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_plain_softmax_attention() {
        // Lengths below, at and past the blocks of rows and keys.
        let hidden = 64;
        let spans = [(0, 3), (3, 5), (8, 16), (24, 17), (41, 40)];
        let t = 81;
        let qkv: Vec<f32> = (0..t * 3 * hidden)
            .map(|i| ((i * 29 % 31) as f32 - 15.0) / 15.0)
            .collect();
        for level in [Level::Avx512, Level::Avx2, Level::Baseline] {
            if level_runs(level) {
                check(&qkv, &spans, hidden, level);
            }
        }
    }

    fn check(qkv: &[f32], spans: &[(usize, usize)], hidden: usize, level: Level) {
        let mut ctx = vec![0f32; qkv.len() / 3];
        attention_at(level, qkv, spans, hidden, &mut ctx);
        for &(start, len) in spans {
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
                        assert!(
                            (got as f64 - want).abs() < 1e-5,
                            "{got} vs {want} at {level:?}"
                        );
                    }
                }
            }
        }
    }
}
